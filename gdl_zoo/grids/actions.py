"""How translations and time warps act on signals on grids and sequences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import DilationMonoid, TranslationGroup

__all__ = ["CyclicShift", "TimeWarp"]


class CyclicShift(Action):
    """Translations of periodic signals: ``(g.x)[…, u] = x[…, (u - g) mod n]``.

    Args:
        dims: the translated axes, e.g. ``(-2, -1)`` for ``(B, C, H, W)`` images,
            ``(-1,)`` for ``(B, C, L)`` signals, ``(1,)`` for ``(B, T, C)`` sequences.
        multiple: only shifts by multiples of this are group elements (strided
            pooling by ``s`` is equivariant to the subgroup of shifts by ``s``).
        downsample: the element ``g`` moves this signal by ``g / downsample``
            (the action on the output of a layer with total stride ``downsample``);
            ``g`` must then be divisible by it.
        max_shift: random elements shift by up to ``multiple·max_shift`` per axis.
    """

    def __init__(
        self,
        dims: Sequence[int] = (-2, -1),
        multiple: int = 1,
        downsample: int = 1,
        max_shift: int = 64,
    ):
        self.dims = tuple(dims)
        if not self.dims:
            raise ValueError("dims must name at least one axis")
        if not isinstance(downsample, int) or downsample < 1:
            raise ValueError(f"downsample must be a positive integer, got {downsample!r}")
        self.downsample = downsample
        self.group = TranslationGroup(len(self.dims), multiple, max_shift)

    def act(self, g: Sequence[int], inputs: torch.Tensor) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"CyclicShift acts on a tensor, got {type(inputs).__name__}")
        if len(g) != len(self.dims):
            raise ValueError(f"expected a shift with {len(self.dims)} entries, got {g!r}")
        if any(s % self.downsample for s in g):
            raise ValueError(
                f"shift {tuple(g)} is not divisible by the downsampling factor {self.downsample}"
            )
        shifts = tuple(s // self.downsample for s in g)
        return torch.roll(inputs, shifts=shifts, dims=self.dims)

    def __repr__(self) -> str:
        return (
            f"CyclicShift(dims={self.dims}, multiple={self.group.multiple}, "
            f"downsample={self.downsample})"
        )


class TimeWarp(Action):
    """Slowing a sequence down ``k`` times: every step is held for ``k`` steps.

    On a pair ``(z, time_scale)`` the sequence is stretched and the clock rate
    ``time_scale`` (the warp derivative ``dτ/dt``: a number, ``(B,)``, or a
    per-step ``(B, T)`` clock, which is stretched too) divided by ``k``, which is the
    input a time-warp-aware recurrence such as
    :class:`~gdl_zoo.grids.gated_rnn.GatedRNN` needs to reach the same states.
    On a lone tensor only the sequence is stretched.

    Args:
        factors: the slow-down factors random elements are drawn from.
        time_dim: the time axis of ``z`` (``1`` for ``(B, T, C)``).
    """

    def __init__(self, factors: Sequence[int] = (2, 3), time_dim: int = 1):
        self.group = DilationMonoid(factors)
        self.time_dim = time_dim

    def act(self, g: int, inputs: Any) -> Any:
        if isinstance(inputs, torch.Tensor):
            return inputs.repeat_interleave(g, dim=self.time_dim)
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise ValueError(
                "TimeWarp acts on a tensor z or a pair (z, time_scale), "
                f"got {type(inputs).__name__}"
            )
        z, time_scale = inputs
        if isinstance(time_scale, torch.Tensor) and time_scale.dim() == 2:  # a per-step clock
            time_scale = time_scale.repeat_interleave(g, dim=1)
        return z.repeat_interleave(g, dim=self.time_dim), time_scale / g

    def __repr__(self) -> str:
        return f"TimeWarp(factors={self.group.factors}, time_dim={self.time_dim})"
