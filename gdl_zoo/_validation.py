"""Input validation shared by layers: errors that say what was expected and what came."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_floating", "check_positive_int", "check_signal"]


def check_positive_int(value: Any, name: str) -> int:
    """Require a positive ``int`` (not a bool) and return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def _all_finite(x: torch.Tensor) -> bool:
    """Whether every entry is finite: one fast reduction, the exact test only if it overflows.

    A NaN or infinity makes the sum non-finite, so a finite sum proves the tensor
    finite; a non-finite sum (possibly an overflow of finite values) is settled by
    the elementwise test, which is several times slower.
    """
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def check_floating(x: Any, name: str) -> torch.Tensor:
    """Require a floating-point tensor with only finite values."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    if not torch.compiler.is_compiling() and not _all_finite(x):
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    return x


def check_signal(
    x: Any,
    name: str,
    layout: str,
    channels: int | None = None,
    channel_dim: int = 1,
) -> torch.Tensor:
    """Require a floating tensor shaped like ``layout`` with ``channels`` channels.

    Args:
        x: the input.
        name: how the error message calls it.
        layout: the expected axes in letters, e.g. ``"(B, C, H, W)"``; its rank is
            the number of comma-separated letters.
        channels: the expected size of axis ``channel_dim`` (``None``: any).
        channel_dim: which axis holds the channels.

    Raises:
        TypeError: not a tensor, or not floating point.
        ValueError: wrong rank, wrong channel count, an empty axis, non-finite values.
    """
    check_floating(x, name)
    rank = layout.count(",") + 1
    if x.dim() != rank:
        raise ValueError(f"{name}: expected shape {layout} (rank {rank}), got {tuple(x.shape)}")
    if channels is not None and x.shape[channel_dim] != channels:
        raise ValueError(
            f"{name}: expected {channels} channels on axis {channel_dim} of {layout}, "
            f"got {x.shape[channel_dim]} (shape {tuple(x.shape)})"
        )
    if x.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty {layout} tensor, got {tuple(x.shape)}")
    return x
