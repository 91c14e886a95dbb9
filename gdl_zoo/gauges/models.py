"""The gauges domain's model cards."""

from __future__ import annotations

__all__: list[str] = []
