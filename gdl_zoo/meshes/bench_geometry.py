"""Benchmark suites of the meshes domain (geometry)."""

from __future__ import annotations

__all__: list[str] = []
