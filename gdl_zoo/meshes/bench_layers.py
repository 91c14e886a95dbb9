"""Benchmark suites of the meshes domain (layers)."""

from __future__ import annotations

__all__: list[str] = []
