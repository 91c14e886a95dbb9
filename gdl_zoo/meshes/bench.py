"""Benchmark suites of the meshes domain."""

from __future__ import annotations

__all__: list[str] = []
