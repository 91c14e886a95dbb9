"""Residual networks on periodic grids, exactly shift-invariant up to the pooling stride.

Residual blocks (He et al. 2016; GDL book Eq. 30) add a learned correction to
the identity, ``x ↦ x + F(x)``; with circular convolutions both terms commute
with cyclic shifts, so the block does too.  Between stages a 1×1 convolution
changes the width and strided pooling halves the grid, which restricts exact
invariance to shifts by multiples of the total stride (see :mod:`gdl_zoo.grids.cnn`).

Shapes:
    B: batch size.  C: channels.  L: length of a 1D signal.  H, W: image size.
    K: classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gdl_zoo._validation import check_signal
from gdl_zoo.grids.cnn import CircularConv, StridedPool, signal_layout

__all__ = ["ResidualBlock", "ShiftResNet"]


class ResidualBlock(nn.Module):
    """Pre-activation residual block ``x + conv(σ(BN(conv(σ(BN(x))))))`` (He et al. 2016).

    Args:
        channels: ``C``, kept by the block.
        kernel_size: odd filter size.
        ndim: 1 or 2.

    Shapes:
        input: ``(B, C, L)`` or ``(B, C, H, W)``.
        output: same as input.
    """

    def __init__(self, channels: int, kernel_size: int = 3, ndim: int = 2):
        super().__init__()
        norm = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
        self.layout = signal_layout(ndim)
        self.channels = channels
        self.residual = nn.Sequential(
            norm(channels),
            nn.ReLU(),
            CircularConv(channels, channels, kernel_size, ndim),
            norm(channels),
            nn.ReLU(),
            CircularConv(channels, channels, kernel_size, ndim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", self.layout, self.channels, like=self)
        return x + self.residual(x)


class ShiftResNet(nn.Module):
    """A residual classifier on periodic grids: stem, residual stages, global mean, linear.

    Exactly invariant to cyclic shifts by multiples of :attr:`total_stride` on
    grids divisible by it.

    Args:
        in_channels: input channels ``C``.
        num_classes: ``K``.
        widths: channels of each stage.
        blocks_per_stage: residual blocks in each stage.
        kernel_size: odd filter size.
        ndim: 1 or 2.
        pool_stride: pooling stride between stages (1 disables pooling).

    Shapes:
        input: ``(B, C, L)`` or ``(B, C, H, W)``.
        output: ``(B, K)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        widths: Sequence[int] = (16, 32),
        blocks_per_stage: int = 1,
        kernel_size: int = 3,
        ndim: int = 2,
        pool_stride: int = 2,
    ):
        super().__init__()
        widths = tuple(widths)
        if not widths:
            raise ValueError("expected at least one stage in widths, got ()")
        if not isinstance(blocks_per_stage, int) or blocks_per_stage < 1:
            raise ValueError(f"expected blocks_per_stage ≥ 1, got {blocks_per_stage!r}")
        self.layout = signal_layout(ndim)
        self.in_channels = in_channels
        layers: list[nn.Module] = [CircularConv(in_channels, widths[0], kernel_size, ndim)]
        for k, width in enumerate(widths):
            if k > 0:
                layers.append(CircularConv(widths[k - 1], width, 1, ndim))
                if pool_stride > 1:
                    layers.append(StridedPool(pool_stride, ndim))
            layers += [ResidualBlock(width, kernel_size, ndim) for _ in range(blocks_per_stage)]
        norm = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
        layers += [norm(widths[-1]), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], num_classes)
        self.total_stride = pool_stride ** (len(widths) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", self.layout, self.in_channels, like=self)
        feats = self.body(x)
        return self.head(feats.mean(dim=tuple(range(2, feats.dim()))))
