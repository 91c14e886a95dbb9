"""G-CNNs on the pixel grid: the P4CNN of rotated MNIST and a p4m residual network.

Cohen & Welling 2016, *Group equivariant convolutional networks* (ICML), §8.1
(P4CNN) and §8.2 (p4m ResNets).  Both follow the blueprint
``f = A ∘ σ ∘ B_J ∘ P ∘ … ∘ σ ∘ B_1``: a lifting convolution and group
convolutions ``B`` (:mod:`gdl_zoo.groups.gconv`), batch norm shared over the
fibre and ReLU ``σ`` (pointwise, so they commute with fibre permutations),
spatial max pooling ``P``, and an invariant head ``A``: max over the fibre
(rotations, or rotations and reflections), global spatial mean, linear layer.
The logits are therefore invariant to quarter turns (and reflections for
p4m) of the input image about its centre, exactly for the input sizes on which
every strided window is centred (:meth:`P4CNN.is_exact_for`; even sizes for the
defaults), and :meth:`features` is exactly equivariant on those sizes.

Shapes:
    B: batch size.  C: input channels.  C': fields of the last layer.
    |G|: group order.  H, W: image size.  H', W': size of the last feature map.
    K: classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int, check_signal
from gdl_zoo.grids.cnn import StridedPool
from gdl_zoo.groups.gconv import (
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    LiftingConv,
    is_rotation_exact,
)
from gdl_zoo.symmetry.groups import Group

__all__ = ["P4CNN", "GroupResidualBlock", "P4MResNet"]


def _windows(modules: Iterable[nn.Module]) -> list[tuple[int, int, int]]:
    """``(kernel_size, stride, padding)`` of every size-changing layer, in order."""
    windows = []
    for m in modules:
        if isinstance(m, (LiftingConv, GroupConv)):
            windows.append((m.kernel_size, m.stride, m.padding))
        elif isinstance(m, StridedPool):
            windows.append((m.stride, m.stride, 0))
    return windows


def _is_exact_for(windows: list[tuple[int, int, int]], sizes: tuple[int, ...]) -> bool:
    for size in sizes:
        for k, s, p in windows:
            if not is_rotation_exact(size, k, s, p):
                return False
            size = (size + 2 * p - k) // s + 1
    return True


def _min_size(windows: list[tuple[int, int, int]]) -> int:
    """The smallest input length every window fits into."""
    size = 1
    while True:
        length = size
        for k, s, p in windows:
            if length + 2 * p < k:
                break
            length = (length + 2 * p - k) // s + 1
        else:
            return size
        size += 1


def _check_image(x: torch.Tensor, in_channels: int, min_size: int, like: nn.Module) -> None:
    check_signal(x, "x", "(B, C, H, W)", in_channels, like=like)
    if min(x.shape[-2:]) < min_size:
        raise ValueError(
            f"x: expected H and W of at least {min_size} for this network, "
            f"got {tuple(x.shape[-2:])}"
        )


class P4CNN(nn.Module):
    """The P4CNN of Cohen & Welling 2016 for rotated MNIST: invariant to quarter turns.

    Cohen & Welling 2016, §8.1: the Z2CNN (7 layers of 3×3 convolutions, 20
    channels, batch norm, ReLU, max pooling after layer 2) with every
    convolution replaced by a p4 convolution and the width divided by √4
    (10 fields × 4), so the parameter count stays the same.  Layer ``l``::

        f_1 = σ(BN(lift(x)))           f_l = σ(BN(gconv_l(f_{l−1})))   (P after layer 2)
        logits = W · mean_t max_{h∈G} f_L(t, h) + b

    ``group="D4"`` gives the p4m version, ``group="C1"`` the plain Z2CNN of the
    same architecture (the paper's baseline).  Exactly invariant for sizes where
    :meth:`is_exact_for` holds: with the default pooling and an odd
    ``kernel_size``, even ``H`` and ``W`` (28×28 MNIST is exact, 27×27 is not);
    without pooling, every size.

    Args:
        in_channels: ``C``.
        num_classes: ``K``.
        channels: fields per layer (the paper: 10 for p4, 20 for Z2).
        num_layers: convolutions, the lifting one included (the paper: 7).
        kernel_size: ``k`` of every convolution.
        pool_after: 2×2 max pooling after this many convolutions (``None``: none).
        padding: zero padding of every convolution (0: the paper's valid convolutions).
        group: ``"C4"`` (p4), ``"D4"`` (p4m) or another point group of the grid.

    Shapes:
        input: ``(B, C, H, W)``.
        output: ``(B, K)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: int = 10,
        num_layers: int = 7,
        kernel_size: int = 3,
        pool_after: int | None = 2,
        padding: int = 0,
        group: str | Group = "C4",
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        check_positive_int(num_classes, "num_classes")
        check_positive_int(channels, "channels")
        check_positive_int(num_layers, "num_layers")
        if pool_after is not None and not (
            isinstance(pool_after, int) and 1 <= pool_after < num_layers
        ):
            raise ValueError(
                f"pool_after: expected None or an integer in [1, num_layers = {num_layers}), "
                f"got {pool_after!r}"
            )
        layers: list[nn.Module] = [
            LiftingConv(in_channels, channels, kernel_size, group, padding=padding),
            GroupBatchNorm(channels, group),
            nn.ReLU(),
        ]
        for layer in range(1, num_layers):
            if layer == pool_after:
                layers.append(StridedPool(2, mode="max"))
            layers += [
                GroupConv(channels, channels, kernel_size, group, padding=padding),
                GroupBatchNorm(channels, group),
                nn.ReLU(),
            ]
        self.body = nn.Sequential(*layers)
        self.pool = GroupPool(group, "max")
        self.head = nn.Linear(channels, num_classes)
        self.group = self.pool.group
        self.min_size = _min_size(_windows(self.body))

    def is_exact_for(self, height: int, width: int | None = None) -> bool:
        """Whether rotations (and reflections) of ``height×width`` inputs stay exact.

        True iff every convolution and pooling window is centred on both axes
        (:func:`~gdl_zoo.groups.gconv.is_rotation_exact`, layer by layer).
        """
        sizes = (height, height if width is None else width)
        return _is_exact_for(_windows(self.body), sizes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last regular feature map, ``(B, C'·|G|, H', W')``; equivariant."""
        _check_image(x, self.in_channels, self.min_size, self)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(self.features(x))  # (B, C'·|G|, H', W') -> (B, C', H', W')
        return self.head(pooled.mean(dim=(-2, -1)))


class GroupResidualBlock(nn.Module):
    """Pre-activation residual block of group convolutions: ``f + gconv(σ(BN(gconv(σ(BN(f))))))``.

    He et al. 2016 (*Identity mappings in deep residual networks*) with p4/p4m
    convolutions as in Cohen & Welling 2016, §8.2.  Both branches are
    equivariant and keep the grid (``padding = k // 2``), so the block is.

    Args:
        channels: fields ``C`` kept by the block.
        kernel_size: odd ``k``.
        group: the point group.

    Shapes:
        input: ``(B, C·|G|, H, W)``.
        output: same as input.
    """

    def __init__(self, channels: int, kernel_size: int = 3, group: str | Group = "D4"):
        super().__init__()
        check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd integer, got {kernel_size}")
        self.residual = nn.Sequential(
            GroupBatchNorm(channels, group),
            nn.ReLU(),
            GroupConv(channels, channels, kernel_size, group, padding=kernel_size // 2),
            GroupBatchNorm(channels, group),
            nn.ReLU(),
            GroupConv(channels, channels, kernel_size, group, padding=kernel_size // 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)


class P4MResNet(nn.Module):
    """A p4m residual classifier: lifting stem, residual stages, fibre max, global mean, linear.

    Cohen & Welling 2016, §8.2 (p4m-ResNet on CIFAR-10).  Between stages a 1×1
    group convolution changes the width and 2×2 max pooling halves the grid::

        f = lift(x);  f ← GroupConv_1×1 then P between stages;  f ← f + F(f) per block
        logits = W · mean_t max_{h∈G} σ(BN(f))(t, h) + b

    Invariant to the 8 rotations and reflections of the image about its centre
    (``group="D4"``), exactly when :meth:`is_exact_for` holds: ``H`` and ``W``
    divisible by ``pool_stride^(stages − 1)``.

    Args:
        in_channels: ``C``.
        num_classes: ``K``.
        widths: fields of each stage.
        blocks_per_stage: residual blocks per stage.
        kernel_size: odd ``k``.
        pool_stride: pooling between stages (1: none).
        group: ``"D4"`` (p4m), ``"C4"`` (p4) or another point group of the grid.

    Shapes:
        input: ``(B, C, H, W)``.
        output: ``(B, K)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        widths: Sequence[int] = (8, 16, 32),
        blocks_per_stage: int = 1,
        kernel_size: int = 3,
        pool_stride: int = 2,
        group: str | Group = "D4",
    ):
        super().__init__()
        widths = tuple(widths)
        if not widths:
            raise ValueError("widths: expected at least one stage, got ()")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        check_positive_int(blocks_per_stage, "blocks_per_stage")
        check_positive_int(pool_stride, "pool_stride")
        check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd integer, got {kernel_size}")
        pad = kernel_size // 2
        layers: list[nn.Module] = [
            LiftingConv(in_channels, widths[0], kernel_size, group, padding=pad)
        ]
        for stage, width in enumerate(widths):
            if stage > 0:
                layers.append(GroupConv(widths[stage - 1], width, 1, group))
                if pool_stride > 1:
                    layers.append(StridedPool(pool_stride, mode="max"))
            layers += [
                GroupResidualBlock(width, kernel_size, group) for _ in range(blocks_per_stage)
            ]
        layers += [GroupBatchNorm(widths[-1], group), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.pool = GroupPool(group, "max")
        self.head = nn.Linear(widths[-1], num_classes)
        self.group = self.pool.group
        self.total_stride = pool_stride ** (len(widths) - 1)
        self.min_size = _min_size(_windows(self.body.modules()))

    def is_exact_for(self, height: int, width: int | None = None) -> bool:
        """Whether rotations and reflections of ``height×width`` inputs stay exact."""
        sizes = (height, height if width is None else width)
        return _is_exact_for(_windows(self.body.modules()), sizes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last regular feature map, ``(B, C'·|G|, H', W')``; equivariant."""
        _check_image(x, self.in_channels, self.min_size, self)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(self.features(x))  # (B, C'·|G|, H', W') -> (B, C', H', W')
        return self.head(pooled.mean(dim=(-2, -1)))
