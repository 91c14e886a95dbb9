"""The weightspace domain's model cards."""

from __future__ import annotations

__all__: list[str] = []
