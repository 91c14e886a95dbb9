"""Benchmark suites of the gauges domain."""

from __future__ import annotations

__all__: list[str] = []
