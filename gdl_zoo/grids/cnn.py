"""Convolutional networks on periodic grids: exact shift equivariance, and where it ends.

A convolution with circular padding commutes with every cyclic shift of a
periodic signal, so a stack of them is exactly shift-equivariant and global
average pooling after it is exactly shift-invariant (LeCun et al. 1998; GDL book
§4.2, §5.1).  Strided pooling by ``s`` subsamples the grid: it commutes only
with shifts by multiples of ``s``, and a shift by one pixel changes the output
by more than a shift (aliasing; Azulay & Weiss 2019, Zhang 2019).  A network
with pooling strides ``s_1, …, s_k`` is therefore exactly invariant to shifts by
multiples of ``s_1·…·s_k`` on grids whose size is divisible by that product.

Shapes:
    B: batch size.  C: channels.  D: spatial dimension (1 or 2).
    L: length of a 1D signal.  H, W: height and width of a 2D signal.
    K: classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo._validation import check_signal

__all__ = ["CircularConv", "StridedPool", "ShiftCNN", "signal_layout"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d}


def signal_layout(ndim: int) -> str:
    """``"(B, C, L)"`` or ``"(B, C, H, W)"``, the layout of a ``ndim``-dimensional signal."""
    if ndim not in _CONV:
        raise ValueError(f"expected ndim 1 or 2, got {ndim!r}")
    return "(B, C, L)" if ndim == 1 else "(B, C, H, W)"


class CircularConv(nn.Module):
    """Convolution with circular padding, exactly equivariant to cyclic shifts.

    ``y[c', u] = b[c'] + Σ_c Σ_v w[c', c, v] · x[c, (u + v) mod n]``, the output
    on the same grid as the input, so ``conv(shift_g x) = shift_g conv(x)``.

    Args:
        in_channels: ``C`` of the input.
        out_channels: ``C'`` of the output.
        kernel_size: odd filter size (an even one would shift the grid by half a cell).
        ndim: 1 for ``(B, C, L)`` signals, 2 for ``(B, C, H, W)`` images.
        bias: add a learned bias per output channel.

    Shapes:
        input: ``(B, C, L)`` or ``(B, C, H, W)``.
        output: ``(B, C', L)`` or ``(B, C', H, W)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        ndim: int = 2,
        bias: bool = True,
    ):
        super().__init__()
        self.layout = signal_layout(ndim)
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"expected an odd positive kernel_size, got {kernel_size!r}")
        self.in_channels = in_channels
        self.conv = _CONV[ndim](
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            padding_mode="circular",
            bias=bias,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", self.layout, self.in_channels, like=self)
        return self.conv(x)


class StridedPool(nn.Module):
    """Max or average pooling over non-overlapping windows of size ``stride``.

    Equivariant to shifts by multiples of ``stride`` (a shift by ``m·stride``
    becomes a shift by ``m`` of the output) when every spatial size is divisible
    by ``stride``; other shifts alias.

    Args:
        stride: window size and step.
        ndim: 1 or 2.
        mode: ``"max"`` or ``"avg"``.

    Shapes:
        input: ``(B, C, L)`` or ``(B, C, H, W)``.
        output: ``(B, C, L // s)`` or ``(B, C, H // s, W // s)``.
    """

    def __init__(self, stride: int = 2, ndim: int = 2, mode: str = "max"):
        super().__init__()
        self.layout = signal_layout(ndim)
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f"expected a positive integer stride, got {stride!r}")
        if mode not in ("max", "avg"):
            raise ValueError(f"expected mode 'max' or 'avg', got {mode!r}")
        self.stride = stride
        self.pool = (_MAX_POOL if mode == "max" else _AVG_POOL)[ndim]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", self.layout, like=self)
        if any(n < self.stride for n in x.shape[2:]):
            raise ValueError(
                f"expected spatial sizes of at least the stride {self.stride}, got {tuple(x.shape)}"
            )
        return self.pool(x, self.stride, self.stride)


class ShiftCNN(nn.Module):
    """A shift-invariant classifier: circular convolutions, strided pooling, global mean.

    ``f = A ∘ σ ∘ B_k ∘ P ∘ … ∘ P ∘ σ ∘ B_1`` with circular convolutions ``B``,
    batch norm and ReLU ``σ``, strided pooling ``P`` between stages and global
    average pooling ``A`` followed by a linear classifier (GDL book §5.1).  Exactly
    invariant to cyclic shifts by multiples of :attr:`total_stride` on grids whose
    sizes are divisible by it; :meth:`features` is exactly equivariant to them.

    Args:
        in_channels: input channels ``C``.
        num_classes: ``K``.
        channels: output channels of each stage.
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
        channels: Sequence[int] = (16, 32),
        kernel_size: int = 3,
        ndim: int = 2,
        pool_stride: int = 2,
    ):
        super().__init__()
        channels = tuple(channels)
        if not channels:
            raise ValueError("expected at least one stage in channels, got ()")
        self.layout = signal_layout(ndim)
        self.in_channels = in_channels
        norm = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
        layers: list[nn.Module] = []
        width = in_channels
        for k, out in enumerate(channels):
            if k > 0 and pool_stride > 1:
                layers.append(StridedPool(pool_stride, ndim))
            layers += [CircularConv(width, out, kernel_size, ndim), norm(out), nn.ReLU()]
            width = out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)
        self.total_stride = pool_stride ** (len(channels) - 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map, equivariant to shifts by multiples of :attr:`total_stride`."""
        check_signal(x, "x", self.layout, self.in_channels, like=self)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.features(x)
        return self.head(feats.mean(dim=tuple(range(2, feats.dim()))))
