"""Steerable CNNs on the plane with escnn: C_N and D_N regular feature fields.

Weiler & Cesa 2019 (*General E(2)-Equivariant Steerable CNNs*, NeurIPS) build
convolutions between feature fields ``f: R² → R^c`` that transform under a
representation ``ρ`` of ``G ≤ O(2)``, ``[g.f](x) = ρ(g) f(g⁻¹x)``, from filters
in the space solving the kernel constraint::

    κ(gx) = ρ_out(g) κ(x) ρ_in(g)⁻¹      for all g ∈ G, x ∈ R²,

so that ``κ ⋆ [g.f] = g.[κ ⋆ f]``.  escnn (the ``escnn`` extra) solves the
constraint analytically and samples the basis on the filter grid; this module
uses its ``R2Conv`` with ``G = C_N`` or ``D_N`` acting on regular fields (``|G|``
channels permuted by ``G``), inner batch norm, ReLU and max pooling, then pools
over the group (max over each field's ``|G|`` channels) and over space: the
C8 and D16 models of Weiler & Cesa's MNIST experiments, in small.

**What is exact.**  On a pixel grid only the elements of ``G`` that map the
square filter grid to itself (the quarter turns in ``C_N`` for ``4 | N``, and the
axis flips in ``D_N``) move pixels onto pixels.  escnn samples its basis in
float32, so even these hold only to about 1e-7 (also after ``.double()``).
:func:`steerable_conv` projects each sampled basis onto the filters that are
*exactly* invariant under this grid subgroup (average over each orbit of
(output channel, input channel, pixel), then copy the orbit's value; the
basis moves by ~1e-7), so that the network is equivariant to it to round-off
in float32 and float64.  Other rotations are approximate (resampled images,
discretised filters); :func:`~gdl_zoo.groups.steerable_actions.rotate_image`
and a disk mask on the input make that error measurable (see
:class:`SteerableCNN`).

**Basis cache.**  A first ``D16`` 5×5 layer takes 64–129 s here, nearly all in
escnn's numerical Clebsch–Gordan coefficients of ``D16``, which escnn caches
with joblib *inside its own package directory* (``escnn/group/_cache``, created
at import); later builds in any process take ~2 s.  ``basis_cache=DIR``
(opt-in, never a default location) stores each sampled block of the basis,
keyed by the escnn version, group, representations, filter size and radial
profile, as a ``torch.save`` file, and rebuilds from it without escnn's kernel
solver: ~1–1.3 s for ``D16`` 5×5 (0.4 s of it the symmetrisation), ~0.1–0.2 s
for ``C8``, whatever the state of escnn's cache (see
:mod:`gdl_zoo.groups.bench_steerable`).
Entries are loaded with ``torch.load(weights_only=True)``.

Shapes:
    B: batch.  C: input channels.  F: regular fields (channels ``F·|G|``).
    H, W: image size.  K: classes.  |G|: the group order (``N`` or ``2N``).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import os
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int, check_signal

__all__ = [
    "ESCNN_INSTALL",
    "require_escnn",
    "steerable_conv",
    "DiskMask",
    "GroupMaxPool",
    "SteerableCNN",
]

#: the command that installs the optional dependency
ESCNN_INSTALL = 'pip install "gdl-zoo[escnn]"'


def require_escnn():
    """Import and return escnn (the optional extra), or raise one ``ImportError`` naming it."""
    try:
        import escnn
        import escnn.gspaces
        import escnn.nn
    except ImportError as error:
        raise ImportError(
            f"steerable CNNs need escnn, an optional dependency of gdl-zoo: {ESCNN_INSTALL}"
        ) from error
    return escnn


# ----------------------------------------------------------------------------------------------
# exact symmetry of the sampled basis under the grid-preserving subgroup


def _permutation(matrix: Any, what: str) -> torch.Tensor:
    """``s`` with ``matrix[s[b], b] = 1`` for a permutation matrix (a representation of ``g``)."""
    m = torch.as_tensor(matrix, dtype=torch.float64)
    target = m.argmax(0)
    permutation = torch.zeros_like(m)
    permutation[target, torch.arange(m.shape[1])] = 1.0
    if (m - permutation).abs().max() > 1e-6 or len(set(target.tolist())) != m.shape[1]:
        raise ValueError(
            f"expected fields whose group acts by permuting channels (trivial, regular or "
            f"quotient representations), got {what}"
        )
    return target


def _grid_symmetries(gspace, points: torch.Tensor) -> list[tuple[Any, torch.Tensor]]:
    """Elements of the fibre group that map the filter grid onto itself, with the point map.

    Returns ``(g, π)`` pairs, ``π[p]`` the index of the point ``g·x_p``.
    """
    pairs = []
    for g in gspace.fibergroup.elements:
        action = torch.as_tensor(gspace.basespace_action(g), dtype=torch.float64)
        moved = points @ action.T
        distance = (moved[:, None, :] - points[None, :, :]).abs().amax(-1)  # (P, P)
        nearest = distance.argmin(1)
        if distance.gather(1, nearest[:, None]).max() < 1e-6:
            pairs.append((g, nearest))
    return pairs


def _symmetrise(sampled: torch.Tensor, in_repr, out_repr, symmetries) -> torch.Tensor:
    """Project a sampled block basis onto filters exactly invariant under the grid subgroup.

    The constraint ``κ(gx) = ρ_out(g) κ(x) ρ_in(g)⁻¹`` with permutation
    representations says that entry ``(o, i, p)`` equals entry
    ``(s_out(o), s_in(i), π(p))``.  Every entry gets the mean (float64) of its
    orbit, one number per orbit, so the result is orbit-constant bit for bit in
    every dtype.

    Shapes:
        sampled: ``(D, o, i, P)`` (escnn's layout); output the same.
    """
    dim, n_out, n_in, n_points = sampled.shape
    index = torch.arange(n_out * n_in * n_points).reshape(n_out, n_in, n_points)
    images = []
    for g, point_map in symmetries:
        s_out = _permutation(out_repr(g), f"{out_repr.name} of {out_repr.group.name}")
        s_in = _permutation(in_repr(g), f"{in_repr.name} of {in_repr.group.name}")
        images.append(index[s_out][:, s_in][:, :, point_map].reshape(-1))
    # the orbit of entry e is {h·e}; label it by its smallest member
    _, orbit = torch.unique(torch.stack(images).amin(0), return_inverse=True)  # (E,)
    values = sampled.reshape(dim, -1).to(torch.float64)
    sums = torch.zeros(dim, int(orbit.max()) + 1, dtype=torch.float64).index_add_(1, orbit, values)
    means = sums / torch.bincount(orbit).to(torch.float64)  # (D, orbits)
    return means.index_select(1, orbit).reshape(sampled.shape).to(sampled.dtype)


# ----------------------------------------------------------------------------------------------
# the basis cache


def _plain(value: Any) -> Any:
    """Basis attributes as plain Python values (numpy scalars become numbers) for weights_only."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return value


def _save_atomically(entry: dict, path: Path) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(descriptor)
    try:
        torch.save(entry, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class _SampledBasis:
    """One block of escnn's kernel basis, reduced to what escnn's basis expansion uses.

    escnn's ``SingleBlockBasisExpansion`` needs ``len(basis)``, iteration over
    the attribute dicts of the elements and ``basis.sample(points)``; this
    object provides them from an escnn basis (optionally writing a cache entry
    when sampled) or from a cache entry (checking the points).
    """

    def __init__(self, in_repr, out_repr, attrs: list[dict], sample):
        self.in_repr, self.out_repr = in_repr, out_repr
        self.attrs = attrs
        self.dim, self.shape = len(attrs), (out_repr.size, in_repr.size)
        self._sample = sample

    def __len__(self) -> int:
        return self.dim

    def __iter__(self):
        return (dict(a) for a in self.attrs)

    def sample(self, points: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        return self._sample(points)


def _from_escnn(basis, in_repr, out_repr, key: str, path: Path | None) -> _SampledBasis:
    attrs = [_plain(a) for a in basis]

    def sample(points: torch.Tensor) -> torch.Tensor:
        samples = basis.sample(points)
        if path is not None:
            entry = {"key": key, "points": points, "samples": samples, "attrs": attrs}
            _save_atomically(entry, path)
        return samples

    return _SampledBasis(in_repr, out_repr, attrs, sample)


def _from_entry(path: Path, in_repr, out_repr, key: str) -> _SampledBasis:
    entry = torch.load(path, weights_only=True)
    if entry.get("key") != key:
        raise ValueError(
            f"basis cache entry {path} holds {entry.get('key')!r}, expected {key!r}; delete it"
        )

    def sample(points: torch.Tensor) -> torch.Tensor:
        if not torch.equal(points, entry["points"]):
            raise ValueError(f"basis cache entry {path} was sampled on another filter grid")
        return entry["samples"].clone()

    return _SampledBasis(in_repr, out_repr, entry["attrs"], sample)


@functools.cache
def _field_batch_norm():
    """escnn's ``InnerBatchNorm`` with its field slices as Python ints (built on first use).

    escnn keeps the channel range of each field size in a buffer and slices with
    it, which reads the bounds with ``.item()`` on every call: one graph break per
    layer under ``torch.compile``.  The bounds never change, so this subclass reads
    them once; the statistics, parameters and ``export()`` are escnn's.
    """
    escnn = require_escnn()

    class FieldBatchNorm(escnn.nn.InnerBatchNorm):
        """``InnerBatchNorm`` over contiguous fields, sliced by fixed ``int`` bounds."""

        def __init__(self, in_type, **kwargs):
            super().__init__(in_type, **kwargs)
            if not all(self._contiguous.values()):
                raise ValueError(
                    "FieldBatchNorm: expected the fields of each size to be contiguous, got "
                    f"the field type {in_type}"
                )
            self._bounds = {
                size: tuple(int(i) for i in getattr(self, f"indices_{size}"))
                for size in self._contiguous
            }

        def forward(self, input):
            if input.type != self.in_type:
                raise ValueError(
                    f"expected features of the field type {self.in_type}, got {input.type}"
                )
            tensor = input.tensor  # (B, C, H, W)
            b, spatial = tensor.shape[0], tensor.shape[2:]
            output = torch.empty_like(tensor)
            for size, (start, stop) in self._bounds.items():
                batch_norm = getattr(self, f"batch_norm_[{size}]")
                fields = tensor[:, start:stop].reshape(b, -1, size, *spatial)
                output[:, start:stop] = batch_norm(fields).reshape(b, -1, *spatial)
            return escnn.nn.GeometricTensor(output, self.out_type, input.coords)

    return FieldBatchNorm


@functools.cache
def _grid_exact_r2conv():
    """escnn's ``R2Conv`` with a cacheable, grid-exact basis (the class is built on first use)."""
    escnn = require_escnn()

    class GridExactR2Conv(escnn.nn.R2Conv):
        """``R2Conv`` whose sampled basis is exactly invariant under the grid's symmetries."""

        def __init__(self, *args, basis_cache: Path | None = None, **kwargs):
            self._basis_cache = basis_cache  # read by _build_kernel_basis during __init__
            super().__init__(*args, recompute=True, **kwargs)  # private blocks: safe to edit
            blocks = list(self.basisexpansion.children())
            points = torch.as_tensor(self.basisexpansion.points, dtype=torch.float64)
            symmetries = _grid_symmetries(self.space, points)
            with torch.no_grad():
                for block in blocks:
                    block.sampled_basis = _symmetrise(
                        block.sampled_basis,
                        block.basis.in_repr,
                        block.basis.out_repr,
                        symmetries,
                    )

        def _build_kernel_basis(self, in_repr, out_repr) -> _SampledBasis:
            sigma = self._sigma if isinstance(self._sigma, (list, tuple)) else [self._sigma]
            key = repr(
                (
                    escnn.__version__,
                    self.space.name,
                    in_repr.name,
                    out_repr.name,
                    self.kernel_size,
                    self.dilation,
                    [float(r) for r in self._rings],
                    [float(s) for s in sigma],
                    self._maximum_frequency,
                )
            )
            path = None
            if self._basis_cache is not None:
                digest = hashlib.sha256(key.encode()).hexdigest()[:32]
                path = self._basis_cache / f"escnn-r2-basis-{digest}.pt"
                if path.exists():
                    return _from_entry(path, in_repr, out_repr, key)
            basis = super()._build_kernel_basis(in_repr, out_repr)
            return _from_escnn(basis, in_repr, out_repr, key, path)

    return GridExactR2Conv


def _cache_dir(basis_cache: str | os.PathLike | None) -> Path | None:
    if basis_cache is None:
        return None
    if not isinstance(basis_cache, (str, os.PathLike)):
        raise TypeError(
            f"basis_cache: expected a directory path or None, got {type(basis_cache).__name__}"
        )
    path = Path(basis_cache)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_kernel_size(kernel_size: int) -> int:
    odd = isinstance(kernel_size, int) and kernel_size > 0 and kernel_size % 2 == 1
    if isinstance(kernel_size, bool) or not odd:
        raise ValueError(f"kernel_size: expected an odd positive integer, got {kernel_size!r}")
    return kernel_size


def steerable_conv(
    in_type,
    out_type,
    kernel_size: int,
    *,
    padding: int | None = None,
    bias: bool = True,
    basis_cache: str | os.PathLike | None = None,
):
    """A G-steerable convolution (escnn ``R2Conv``), exact under the grid's symmetries.

    Weiler & Cesa 2019: ``y = κ ⋆ x`` with ``κ = Σ_k w_k κ_k`` in the
    basis of solutions of ``κ(gx) = ρ_out(g) κ(x) ρ_in(g)⁻¹``.  The sampled basis
    is made exactly invariant under the elements of ``G`` that preserve the
    square filter grid (see the module notes), so the layer commutes with
    ``torch.rot90`` (``4 | N``) and the axis flips (``D_N``) to round-off.

    Args:
        in_type: escnn ``FieldType`` of the input; fields must be permutation
            representations (trivial, regular, quotient) of a finite group.
        out_type: escnn ``FieldType`` of the output (same gspace).
        kernel_size: odd filter size ``s``.
        padding: zero padding (default ``s // 2``: same size).
        bias: learn a bias on the invariant part of each output field.
        basis_cache: a directory for the opt-in basis cache, or ``None``.

    Returns:
        an ``escnn.nn.R2Conv``; ``.export()`` gives a ``torch.nn.Conv2d``.

    Shapes:
        input: ``GeometricTensor`` ``(B, in_type.size, H, W)``.
        output: ``(B, out_type.size, H', W')``.
    """
    escnn = require_escnn()
    kernel_size = _check_kernel_size(kernel_size)
    for name, field_type in (("in_type", in_type), ("out_type", out_type)):
        if not isinstance(field_type, escnn.nn.FieldType):
            raise TypeError(f"{name}: expected an escnn FieldType, got {type(field_type).__name__}")
        if field_type.fibergroup.order() < 1:
            raise ValueError(
                f"{name}: expected a finite group (C_N or D_N), got {field_type.fibergroup.name}"
            )
    if in_type.gspace != out_type.gspace:
        raise ValueError(
            f"expected in_type and out_type on the same gspace, got {in_type.gspace.name} "
            f"and {out_type.gspace.name}"
        )
    padding = kernel_size // 2 if padding is None else padding
    return _grid_exact_r2conv()(
        in_type,
        out_type,
        kernel_size,
        padding=padding,
        bias=bias,
        basis_cache=_cache_dir(basis_cache),
    )


# ----------------------------------------------------------------------------------------------
# plain torch modules shared by the escnn model and its export


class DiskMask(nn.Module):
    """Multiply images by a disk: what a rotation keeps inside the frame (escnn's ``MaskModule``).

    ``m(u) = 1`` for ``|u − c| ≤ R`` and ``exp((R² − |u − c|²)/σ²)`` outside, with
    the centre ``c`` of the image and ``R = (min(H, W) − 1)/2 · (1 − margin/100)``
    (escnn's mask, for any size).  Rotating the image rotates the mask into itself.

    Args:
        margin: margin inside the inscribed circle, in percent of its radius.
        sigma: fall-off width in pixels.

    Shapes:
        input: ``(B, C, H, W)``; output the same.
    """

    def __init__(self, margin: float = 1.0, sigma: float = 2.0):
        super().__init__()
        if not 0 <= margin < 100:
            raise ValueError(f"margin: expected a percentage in [0, 100), got {margin!r}")
        if not sigma > 0:
            raise ValueError(f"sigma: expected a positive width, got {sigma!r}")
        self.margin, self.sigma = float(margin), float(sigma)

    def mask(self, height: int, width: int, dtype: torch.dtype, device) -> torch.Tensor:
        """The ``(H, W)`` mask."""
        rows = torch.arange(height, dtype=dtype, device=device) - (height - 1) / 2
        cols = torch.arange(width, dtype=dtype, device=device) - (width - 1) / 2
        squared = rows[:, None] ** 2 + cols[None, :] ** 2
        radius = (min(height, width) - 1) / 2 * (1 - self.margin / 100)
        return torch.exp(((radius**2 - squared) / self.sigma**2).clamp(max=0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask(x.shape[-2], x.shape[-1], x.dtype, x.device)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, sigma={self.sigma}"


class GroupMaxPool(nn.Module):
    """Max over the ``|G|`` channels of each regular field: invariant (scalar) feature maps.

    ``y_f(u) = max_{g ∈ G} x_{f, g}(u)`` (Weiler & Cesa 2019, group pooling); ``G``
    permutes the channels of a regular field, so ``y`` is a scalar field.

    Args:
        group_order: ``|G|``.

    Shapes:
        input: ``(B, F·|G|, H, W)``.
        output: ``(B, F, H, W)``.
    """

    def __init__(self, group_order: int):
        super().__init__()
        self.group_order = check_positive_int(group_order, "group_order")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] % self.group_order:
            raise ValueError(
                f"x: expected channels divisible by |G|={self.group_order}, got shape "
                f"{tuple(x.shape)}"
            )
        return x.unflatten(1, (-1, self.group_order)).amax(2)  # (B, F·|G|, …) -> (B, F, …)

    def extra_repr(self) -> str:
        return f"group_order={self.group_order}"


def _copy_field_statistics(source: nn.Module, target: nn.BatchNorm2d, group_order: int) -> None:
    """Copy an ``InnerBatchNorm`` over regular fields into ``target``, each field's value
    repeated over its ``|G|`` channels, in ``target``'s dtype (no float32 round trip)."""
    norm = getattr(source, f"batch_norm_[{group_order}]")
    with torch.no_grad():
        for name in ("running_mean", "running_var", "weight", "bias"):
            value = getattr(norm, name)
            if value is not None:
                getattr(target, name).copy_(value.repeat_interleave(group_order))


class SteerableCNN(nn.Module):
    """A C_N- or D_N-steerable CNN classifier (escnn), with export to plain torch.

    Weiler & Cesa 2019: ``f = A ∘ P_G ∘ σ ∘ B_J ∘ … ∘ P ∘ σ ∘ B_1 ∘ mask`` with
    steerable convolutions ``B`` (:func:`steerable_conv`, trivial input fields,
    ``channels[k]`` regular fields after layer ``k``), inner batch norm and ReLU
    ``σ``, 2×2 max pooling ``P`` between layers, group max pooling ``P_G``
    (:class:`GroupMaxPool`), spatial mean and a linear classifier ``A``.

    Symmetry: exactly invariant (float32 and float64, to round-off) to the
    subgroup of ``G`` that preserves the pixel grid — quarter turns
    (:attr:`grid_rotation_order` ``= gcd(N, 4)``) and, for ``D_N``, the mirror
    flips — on images whose sizes are divisible by ``2^(J−1)``; :meth:`features`
    is equivariant to it (the maps rotate).  Other rotations are approximate:
    on smooth 33×33 images (bicubic upsampling of 9×9 noise) rotated by random
    angles with bilinear interpolation, the relative error of the logits was at
    most 8e-2 for this default model and 7e-2 for ``channels=(4, 8)`` (12 angles
    × 3 seeds; a C4 model gives 5e-2: most of it is the resampling of the image).

    Args:
        n: ``N``, rotations in ``G`` (``C_N``, or ``D_N`` with ``dihedral``).
        dihedral: add reflections (``D_N``, ``|G| = 2N``).
        in_channels: ``C``, scalar input channels.
        num_classes: ``K``.
        channels: regular fields after each convolution.
        kernel_size: odd filter size.
        mask_margin: margin of the :class:`DiskMask` on the input, in percent.
        basis_cache: directory of the opt-in basis cache (see the module notes).

    Shapes:
        input: ``(B, C, H, W)``.
        output: ``(B, K)``.
    """

    def __init__(
        self,
        n: int = 8,
        dihedral: bool = False,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: Sequence[int] = (8, 16, 32),
        kernel_size: int = 5,
        mask_margin: float = 1.0,
        basis_cache: str | os.PathLike | None = None,
    ):
        super().__init__()
        escnn = require_escnn()
        self.n = check_positive_int(n, "n")
        self.dihedral = bool(dihedral)
        self.in_channels = check_positive_int(in_channels, "in_channels")
        check_positive_int(num_classes, "num_classes")
        channels = tuple(channels)
        if not channels:
            raise ValueError(f"channels: expected at least one layer, got {channels!r}")
        for c in channels:
            check_positive_int(c, "channels entry")
        _check_kernel_size(kernel_size)
        gspace = (escnn.gspaces.flipRot2dOnR2 if dihedral else escnn.gspaces.rot2dOnR2)(n)
        self.group_order = gspace.fibergroup.order()
        self.in_type = escnn.nn.FieldType(gspace, [gspace.trivial_repr] * in_channels)
        layers, field_type = [], self.in_type
        for k, fields in enumerate(channels):
            out_type = escnn.nn.FieldType(gspace, [gspace.regular_repr] * fields)
            layers += [
                steerable_conv(field_type, out_type, kernel_size, basis_cache=basis_cache),
                _field_batch_norm()(out_type),
                escnn.nn.ReLU(out_type, inplace=True),
            ]
            if k < len(channels) - 1:
                layers.append(escnn.nn.PointwiseMaxPool2D(out_type, 2))
            field_type = out_type
        # the smallest H and W whose 2×2 poolings leave at least one pixel
        self.min_size = 2 ** (len(channels) - 1)
        self.mask = DiskMask(mask_margin)
        self.body = escnn.nn.SequentialModule(*layers)
        self.group_pool = GroupMaxPool(self.group_order)
        self.head = nn.Linear(channels[-1], num_classes)

    @property
    def grid_rotation_order(self) -> int:
        """The quarter turns in ``G`` (``gcd(N, 4)``): the exact rotations on the pixel grid."""
        return math.gcd(self.n, 4)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Group-pooled feature maps ``(B, F_J, H', W')``, equivariant to the grid subgroup."""
        check_signal(x, "x", "(B, C, H, W)", self.in_channels, like=self)
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"x: expected H and W of at least {self.min_size} (each 2×2 pooling between "
                f"layers halves them), got {tuple(x.shape[-2:])}"
            )
        y = self.body(self.in_type(self.mask(x))).tensor  # (B, F·|G|, H', W')
        return self.group_pool(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((-2, -1)))

    def _apply(self, fn, recurse=True):
        """Cast or move, then re-expand the filters escnn caches in eval mode in the new dtype."""
        super()._apply(fn, recurse)
        if not self.training:
            self.body.train(True)
            self.body.train(False)
        return self

    def export(self) -> nn.Sequential:
        """The same network as plain torch modules (escnn's ``.export()``), in eval mode.

        ``R2Conv`` becomes ``Conv2d`` with the expanded filters, ``InnerBatchNorm``
        ``BatchNorm2d``, the rest their torch counterparts; the result needs no
        escnn and gives the same outputs as this model in eval mode (float64: to
        round-off).  escnn builds each ``BatchNorm2d`` in the default float32 and
        copies the statistics and affine parameters into it, so they are copied
        again here from the inner batch norms in this model's dtype.  This
        model's train/eval mode is kept.  It is also the form ``torch.export``
        exports (the ``steerable_cnn`` card's ``export_form``): escnn's own
        modules guard on data-dependent sizes and do not export.
        """
        was_training = self.training
        dtype = self.head.weight.dtype
        try:
            body = copy.deepcopy(self.body.export())
        finally:
            self.train(was_training)
        body = body.to(dtype)
        for source, target in zip(self.body.children(), body.children(), strict=True):
            if isinstance(target, nn.BatchNorm2d):
                _copy_field_statistics(source, target, self.group_order)
        exported = nn.Sequential(
            OrderedDict(
                mask=copy.deepcopy(self.mask),
                body=body,
                group_pool=GroupMaxPool(self.group_order),
                spatial_mean=nn.AdaptiveAvgPool2d(1),
                flatten=nn.Flatten(),
                head=copy.deepcopy(self.head),
            )
        )
        return exported.to(dtype).eval()
