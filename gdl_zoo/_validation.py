"""Input validation shared by layers: errors that say what was expected and what came."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["check_device", "check_floating", "check_like", "check_positive_int", "check_signal"]


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


def check_device(
    x: torch.Tensor, name: str, device: torch.device | None, where: str = "the other inputs"
) -> torch.Tensor:
    """Require ``x`` on ``device`` (``None``: any), the device of ``where``.

    Args:
        x: the input.
        name: how the error message calls it.
        device: the expected device.
        where: what lives on ``device``, for the message.

    Raises:
        ValueError: another device, naming both.
    """
    if device is not None and x.device != device:
        raise ValueError(
            f"{name}: expected a tensor on {device} (where {where} are), got one on {x.device}; "
            "move the input or the module with .to()"
        )
    return x


def check_like(x: torch.Tensor, name: str, like: torch.Tensor | nn.Module | None) -> torch.Tensor:
    """Require ``x`` on the device and in the dtype of ``like``.

    Args:
        x: the input.
        name: how the error message calls it.
        like: a reference tensor, or a module whose first parameter is the
            reference (a module without parameters, or ``None``, accepts any).

    Raises:
        ValueError: another device, naming both (checked first: a tensor on
            another device cannot be inspected further).
        TypeError: another dtype, naming both.
    """
    if isinstance(like, nn.Module):
        like = next(like.parameters(), None)
    if like is None:
        return x
    check_device(x, name, like.device, "the module's parameters")
    if x.dtype != like.dtype:
        raise TypeError(
            f"{name}: expected dtype {like.dtype} (the dtype of the module's parameters), "
            f"got {x.dtype}; convert the input or the module with .to()"
        )
    return x


def check_floating(
    x: Any, name: str, like: torch.Tensor | nn.Module | None = None
) -> torch.Tensor:
    """Require a floating-point tensor with only finite values, on the device and dtype of ``like``.

    Args:
        x: the input.
        name: how the error message calls it.
        like: see :func:`check_like` (``None``: any device and floating dtype).

    Raises:
        TypeError: not a tensor, not floating point, or another dtype than ``like``.
        ValueError: another device than ``like``, NaN or infinite values.  The
            value check (one reduction, data-dependent) is skipped under
            ``torch.compile`` and for ``meta`` tensors, which hold no values.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    check_like(x, name, like)
    if not torch.compiler.is_compiling() and not x.is_meta and not _all_finite(x):
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    return x


def check_signal(
    x: Any,
    name: str,
    layout: str,
    channels: int | None = None,
    channel_dim: int = 1,
    like: torch.Tensor | nn.Module | None = None,
) -> torch.Tensor:
    """Require a floating tensor shaped like ``layout`` with ``channels`` channels.

    Args:
        x: the input.
        name: how the error message calls it.
        layout: the expected axes in letters, e.g. ``"(B, C, H, W)"``; its rank is
            the number of comma-separated letters.
        channels: the expected size of axis ``channel_dim`` (``None``: any).
        channel_dim: which axis holds the channels.
        like: the module (or a tensor) whose device and dtype ``x`` must have;
            see :func:`check_like`.

    Raises:
        TypeError: not a tensor, not floating point, or another dtype than ``like``.
        ValueError: another device than ``like``, wrong rank, wrong channel
            count, an empty axis, non-finite values.
    """
    check_floating(x, name, like)
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
