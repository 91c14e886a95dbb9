"""Group convolutions on the pixel grid (p4, p4m): lifting, group convolution, pooling, batch norm.

Cohen & Welling 2016, *Group equivariant convolutional networks* (ICML), Eq. 10–11;
GDL book (Bronstein et al. 2021, arXiv 2104.13478) §5.2.  With ``G`` a point group of the
square grid (C4 for p4, D4 for p4m; see :mod:`gdl_zoo.groups.planar_actions`
for coordinates and the fibre layout), a lifting convolution turns scalar
fields on Z² into regular fields on Z² × G, and a group convolution maps
regular fields to regular fields (both are correlations, as in torch)::

    lifting:  [f ⋆ ψ](t, h) = Σ_y Σ_c f_c(y) ψ_c(h⁻¹(y − t))
    group:    [f ⋆ ψ](t, h) = Σ_y Σ_{k∈G} Σ_c f_c(y, k) ψ_c(h⁻¹(y − t), h⁻¹k)

so the output for fibre ``h`` is an ordinary correlation with the filter
``L_h ψ`` (``ψ`` rotated/reflected by ``h`` and, for regular inputs, its fibre
permuted by ``h``).  Both commute with the action of the point group:
``(L_g f) ⋆ ψ = L_g (f ⋆ ψ)``.

Implementation ("transform the filters, then one planar convolution"): the
filter bank of all ``|G|`` transformed filters is gathered from the learned
weights through one precomputed index tensor (built in ``__init__`` by applying
:class:`~gdl_zoo.groups.planar_actions.Rot90Images` to ``arange``), then one
``conv2d`` computes every output fibre at once.  There is no Python loop over
group elements in ``forward``; :func:`lifting_conv_reference` and
:func:`group_conv_reference` are the slow, explicit versions.

Which input sizes keep the symmetry exact.  The point group acts by rotating
the image about its centre.  A window of size ``k`` with stride ``s`` and
padding ``p`` (zero or circular) on an axis of length ``n`` places its windows
symmetrically about the centre iff ``(n + 2p − k)`` is divisible by ``s``
(:func:`is_rotation_exact`).  Hence: stride 1 is exact for every size, odd or
even, and every kernel size (odd and even kernels turn about their own
centres); a stride-2 ``3×3`` convolution with ``p = 1`` needs odd ``n``; a
``2×2`` pooling with stride 2 needs even ``n``.  Other sizes drop a border row
on one side only, and equivariance then holds only approximately.

Shapes:
    B: batch size.  C: input fields.  C': output fields.  |G|: group order.
    H, W: input size.  H', W': output size, ``⌊(H + 2p − k)/s⌋ + 1``.  k: kernel size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo._validation import check_positive_int, check_signal
from gdl_zoo.groups.planar_actions import Rot90Images, square_group
from gdl_zoo.symmetry.groups import DihedralGroup, Group

__all__ = [
    "is_rotation_exact",
    "check_field",
    "LiftingConv",
    "GroupConv",
    "GroupPool",
    "GroupBatchNorm",
    "lifting_conv_reference",
    "group_conv_reference",
]

_PADDING_MODES = ("zeros", "circular")
_POOL_MODES = ("max", "mean")


def is_rotation_exact(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> bool:
    """Whether a sliding window keeps rotations about the image centre exact on one axis.

    True iff the windows fit (``size + 2·padding ≥ kernel_size``) and
    ``(size + 2·padding − kernel_size)`` is divisible by ``stride``: then the
    output grid is symmetric about the input's centre and a quarter turn or a
    reflection of the input is the same quarter turn or reflection of the output.

    Args:
        size: the input length ``n`` of the axis.
        kernel_size: the window ``k`` (a convolution or a pooling window).
        stride: the step ``s``.
        padding: ``p`` on each side.
    """
    span = size + 2 * padding - kernel_size
    return span >= 0 and span % stride == 0


def check_field(
    x: torch.Tensor,
    name: str,
    fields: int,
    order: int,
    layout: str = "(B, C·|G|, H, W)",
    channel_dim: int = 1,
    like: torch.Tensor | nn.Module | None = None,
) -> torch.Tensor:
    """Require a floating tensor holding ``fields`` fields of fibre size ``order``.

    Args:
        x: the input.
        name: how the error message calls it.
        fields: the expected number of fields ``C``.
        order: the fibre size ``|G|`` (1 for scalar fields).
        layout: the expected axes, e.g. ``"(B, C·|G|, H, W)"``.
        channel_dim: the axis of the ``C·|G|`` channels.
        like: the layer (or a tensor) whose device and dtype ``x`` must have;
            see :func:`gdl_zoo._validation.check_like`.

    Raises:
        TypeError: not a floating tensor, or another dtype than ``like``.
        ValueError: another device than ``like``, wrong rank, an empty or non-finite
            tensor, or a channel count other than ``fields·order`` (the message
            gives both, and whether the fibre size is the culprit).
    """
    check_signal(x, name, layout, like=like)
    got, expected = x.shape[channel_dim], fields * order
    if got != expected:
        if order == 1:
            detail = ""
        elif got % order:
            detail = f", not a multiple of the fibre size |G| = {order}"
        else:
            detail = f" = {got // order} fields × |G| = {order}"
        raise ValueError(
            f"{name}: expected {expected} channels (C = {fields} fields × |G| = {order}) on "
            f"axis {channel_dim} of {layout}, got {got}{detail} (shape {tuple(x.shape)})"
        )
    return x


class _PlanarGroupConv(nn.Module):
    """Shared machinery of :class:`LiftingConv` and :class:`GroupConv` (see those)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group: str | Group,
        stride: int,
        padding: int,
        padding_mode: str,
        bias: bool,
        in_fibre: str,
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.stride = check_positive_int(stride, "stride")
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding: expected a non-negative integer, got {padding!r}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode: expected one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        self.padding = padding
        self.padding_mode = padding_mode
        self.group = square_group(group)
        self.order = len(self.group.elements())
        self.in_fibre = in_fibre
        self.in_order = self.order if in_fibre == "regular" else 1
        k, n_in = kernel_size, self.in_order
        fibre_shape = (n_in,) if in_fibre == "regular" else ()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *fibre_shape, k, k))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        # filter_index[h·C·P + c·P + q] = c·P + (source of entry q of L_h ψ), P = n_in·k·k
        per_filter = n_in * k * k
        source = torch.arange(per_filter).reshape(1, n_in, k, k)
        action = Rot90Images(self.group, in_fibre)
        rows = torch.stack(
            [action.act(h, source).reshape(per_filter) for h in self.group.elements()]
        )  # (|G|, P)
        index = torch.arange(in_channels)[:, None] * per_filter + rows[:, None, :]
        self.register_buffer("filter_index", index.reshape(-1), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Conv2d``'s default: uniform ``±1/√fan_in`` with ``fan_in = C·|G_in|·k²``."""
        fan_in = self.in_channels * self.in_order * self.kernel_size**2
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def filter_bank(self) -> torch.Tensor:
        """The ``conv2d`` weight of every filter under every group element, by one gather.

        Row ``c'·|G| + i`` is the filter ``L_{g_i} ψ_{c'}``.

        Shapes:
            output: ``(C'·|G|, C·|G_in|, k, k)`` with ``|G_in| = 1`` for lifting.
        """
        k = self.kernel_size
        bank = self.weight.reshape(self.out_channels, -1).index_select(1, self.filter_index)
        # (C', |G|·C·P) -> (C'·|G|, C·|G_in|, k, k)
        return bank.reshape(self.out_channels * self.order, self.in_channels * self.in_order, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layout = "(B, C·|G|, H, W)" if self.in_fibre == "regular" else "(B, C, H, W)"
        check_field(x, "x", self.in_channels, self.in_order, layout, like=self)
        p, k = self.padding, self.kernel_size
        if min(x.shape[-2:]) + 2 * p < k:
            raise ValueError(
                f"x: expected H and W of at least kernel_size − 2·padding = {k - 2 * p}, "
                f"got {tuple(x.shape[-2:])}"
            )
        bias = None
        if self.bias is not None:
            bias = self.bias[:, None].expand(-1, self.order).reshape(-1)  # shared over the fibre
        weight = self.filter_bank()
        if self.padding_mode == "circular" and p > 0:
            x = F.pad(x, (p, p, p, p), mode="circular")
            p = 0
        return F.conv2d(x, weight, bias, self.stride, p)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"group={self.group.name}, stride={self.stride}, padding={self.padding}, "
            f"padding_mode={self.padding_mode}, bias={self.bias is not None}"
        )


class LiftingConv(_PlanarGroupConv):
    """Lifting convolution Z² → G: scalar fields in, regular fields out.

    Cohen & Welling 2016, Eq. 10: ``[f ⋆ ψ](t, h) = Σ_y Σ_c f_c(y) ψ_c(h⁻¹(y − t)) + b``,
    one filter ``ψ`` per output field, shared (rotated, reflected) over the ``|G|``
    outputs of the field; the bias ``b`` is shared over the fibre.  Equivariant:
    ``lift(g.x) = g.lift(x)`` for scalar ``g.x`` and regular ``g.lift(x)``, exactly
    when the sizes satisfy :func:`is_rotation_exact`.

    Args:
        in_channels: scalar input channels ``C``.
        out_channels: output fields ``C'`` (``C'·|G|`` tensor channels).
        kernel_size: ``k`` (odd or even).
        group: ``"C4"`` (p4), ``"D4"`` (p4m), or another point group of the grid.
        stride: ``s``.
        padding: ``p``, on every side.
        padding_mode: ``"zeros"`` or ``"circular"`` (periodic images: then cyclic
            shifts are symmetries too, and p4/p4m act on the torus).
        bias: add a learned bias per output field.

    Shapes:
        input: ``(B, C, H, W)``.
        output: ``(B, C'·|G|, H', W')``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        group: str | Group = "C4",
        stride: int = 1,
        padding: int = 0,
        padding_mode: str = "zeros",
        bias: bool = True,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            group,
            stride,
            padding,
            padding_mode,
            bias,
            "scalar",
        )


class GroupConv(_PlanarGroupConv):
    """Group convolution G → G: regular fields in, regular fields out.

    Cohen & Welling 2016, Eq. 11:
    ``[f ⋆ ψ](t, h) = Σ_y Σ_{k∈G} Σ_c f_c(y, k) ψ_c(h⁻¹(y − t), h⁻¹k) + b``.
    The learned filter has a ``|G|`` fibre axis; for output fibre ``h`` it is
    rotated/reflected by ``h`` and its fibre permuted by ``k ↦ h⁻¹k``.  Equivariant
    to the regular action on both sides, exactly when the sizes satisfy
    :func:`is_rotation_exact`.

    Args:
        in_channels: input fields ``C`` (``C·|G|`` tensor channels).
        out_channels: output fields ``C'``.
        kernel_size: ``k`` (odd or even).
        group: ``"C4"`` (p4), ``"D4"`` (p4m), or another point group of the grid.
        stride: ``s``.
        padding: ``p``, on every side.
        padding_mode: ``"zeros"`` or ``"circular"``.
        bias: add a learned bias per output field.

    Shapes:
        input: ``(B, C·|G|, H, W)``.
        output: ``(B, C'·|G|, H', W')``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        group: str | Group = "C4",
        stride: int = 1,
        padding: int = 0,
        padding_mode: str = "zeros",
        bias: bool = True,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            group,
            stride,
            padding,
            padding_mode,
            bias,
            "regular",
        )


class GroupPool(nn.Module):
    """Pooling over the fibre: regular fields → invariant scalar fields.

    Cohen & Welling 2016 (subgroup pooling over the whole point group ``G``):
    ``y_c(t) = max_{h∈G} f_c(t, h)`` (or the mean).  A permutation of the fibre
    leaves the max and the mean unchanged, so ``pool(g.f) = g.pool(f)`` with the
    scalar action on the output: rotation-invariant features on a rotating grid.

    Args:
        group: the point group whose fibre is pooled (sets ``|G|``).
        mode: ``"max"`` or ``"mean"``.

    Shapes:
        input: ``(B, C·|G|, H, W)``.
        output: ``(B, C, H, W)``.
    """

    def __init__(self, group: str | Group = "C4", mode: str = "max"):
        super().__init__()
        if mode not in _POOL_MODES:
            raise ValueError(f"mode: expected one of {_POOL_MODES}, got {mode!r}")
        self.group = square_group(group)
        self.order = len(self.group.elements())
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", "(B, C·|G|, H, W)", like=self)
        if x.shape[1] % self.order:
            raise ValueError(
                f"x: expected C·|G| channels, a multiple of the fibre size |G| = {self.order} "
                f"({self.group.name}), got {x.shape[1]} (shape {tuple(x.shape)})"
            )
        fields = x.unflatten(1, (-1, self.order))  # (B, C·|G|, H, W) -> (B, C, |G|, H, W)
        return fields.amax(dim=2) if self.mode == "max" else fields.mean(dim=2)

    def extra_repr(self) -> str:
        return f"group={self.group.name}, mode={self.mode}"


class GroupBatchNorm(nn.Module):
    """Batch normalisation of regular fields, statistics and affine shared across the fibre.

    Cohen & Welling 2016 (one scale and bias per G-feature map): one mean and
    variance per field ``c``, taken over the batch, the grid and all ``|G|``
    fibre channels, and one scale and shift per field::

        y_c(t, h) = γ_c (f_c(t, h) − μ_c) / √(σ²_c + ε) + β_c

    A fibre permutation and a grid rotation leave ``μ_c, σ²_c`` unchanged, so the
    layer is equivariant in training and in evaluation mode (per-channel
    statistics, as ``nn.BatchNorm2d`` on the ``C·|G|`` channels, would break it).

    Args:
        num_fields: ``C``.
        group: the point group (sets ``|G|``).
        eps, momentum, affine, track_running_stats: as in ``nn.BatchNorm3d``.

    Shapes:
        input: ``(B, C·|G|, H, W)``.
        output: same as input.
    """

    def __init__(
        self,
        num_fields: int,
        group: str | Group = "C4",
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        super().__init__()
        self.num_fields = check_positive_int(num_fields, "num_fields")
        self.group = square_group(group)
        self.order = len(self.group.elements())
        self.norm = nn.BatchNorm3d(num_fields, eps, momentum, affine, track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, "x", self.num_fields, self.order, like=self)
        fields = x.unflatten(1, (self.num_fields, self.order))  # -> (B, C, |G|, H, W)
        return self.norm(fields).flatten(1, 2)

    def extra_repr(self) -> str:
        return f"{self.num_fields}, group={self.group.name}"


def _transform_filter(weight: torch.Tensor, g, group: Group) -> torch.Tensor:
    """``w(g⁻¹y)`` on the last two axes: reflect the rows if ``g`` does, then quarter-turn."""
    flip, turns = g if isinstance(group, DihedralGroup) else (0, g)
    if flip:
        weight = torch.flip(weight, dims=(-2,))
    return torch.rot90(weight, turns * 4 // group.order, dims=(-2, -1))


def lifting_conv_reference(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    group: str | Group = "C4",
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """Slow lifting convolution: rotate the filters explicitly, one ``conv2d`` per element.

    The obviously-correct reference for :class:`LiftingConv` (zero padding):
    ``out[:, c', i] = conv2d(x, ψ_{c'}(g_i⁻¹ ·)) + b_{c'}`` for each element ``g_i``.

    Shapes:
        x: ``(B, C, H, W)``.  weight: ``(C', C, k, k)``.  bias: ``(C',)``.
        output: ``(B, C'·|G|, H', W')``.
    """
    group = square_group(group)
    outputs = [
        F.conv2d(x, _transform_filter(weight, h, group), bias, stride, padding)
        for h in group.elements()
    ]
    return torch.stack(outputs, dim=2).flatten(1, 2)  # (B, C', |G|, H', W') -> (B, C'·|G|, …)


def group_conv_reference(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    group: str | Group = "C4",
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """Slow group convolution: filters rotated and permuted explicitly, one ``conv2d`` each.

    The obviously-correct reference for :class:`GroupConv` (zero padding): for
    each output element ``h`` the filter is ``ψ_h(y, g_j) = ψ(h⁻¹y, h⁻¹g_j)``,
    computed with ``torch.flip``/``torch.rot90`` and the group law.

    Shapes:
        x: ``(B, C·|G|, H, W)``.  weight: ``(C', C, |G|, k, k)``.  bias: ``(C',)``.
        output: ``(B, C'·|G|, H', W')``.
    """
    group = square_group(group)
    elements = group.elements()
    outputs = []
    for h in elements:
        h_inv = group.inverse(h)
        fibre = [elements.index(group.compose(h_inv, g)) for g in elements]
        filters = _transform_filter(weight[:, :, fibre], h, group)  # (C', C, |G|, k, k)
        outputs.append(F.conv2d(x, filters.flatten(1, 2), bias, stride, padding))
    return torch.stack(outputs, dim=2).flatten(1, 2)
