"""Benchmark suites of the weightspace domain."""

from __future__ import annotations

__all__: list[str] = []
