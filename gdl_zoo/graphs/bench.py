"""Benchmark suites of the graphs domain."""

from __future__ import annotations

__all__: list[str] = []
