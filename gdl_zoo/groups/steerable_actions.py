"""Rotations and mirror flips of images about their centre: exact on the pixel grid or resampled.

A planar steerable CNN (Weiler & Cesa 2019) is built equivariant to ``C_N`` or
``D_N``, but on a square pixel grid only the rotations by multiples of 90° and
the axis flips move pixels onto pixels.  :class:`ImageRotation` therefore acts
in two ways:

- ``order ∈ {1, 2, 4}``: the cyclic group ``C_order`` of quarter turns
  (``torch.rot90``), with ``flips=True`` the dihedral group ``D_order`` — exact
  permutations of the pixels, for exact equivariance checks;
- ``order=None``: every angle (:class:`RotationGroup2D`, SO(2) or O(2)); angles
  that are multiples of 90° still use ``torch.rot90``, all others resample the
  image bilinearly about its centre (``grid_sample``, zeros outside), for
  approximate checks with a declared tolerance.

Conventions: pixel ``(i, j)`` (row down, column right) has centred coordinates
``(a, b) = (i − (H−1)/2, j − (W−1)/2)``.  Rotating by ``θ`` gives
``(g.x)(a, b) = x(a cos θ + b sin θ, −a sin θ + b cos θ)``, which at
``θ = π/2`` is ``torch.rot90(x, 1, dims)`` (counter-clockwise on screen).  The
flip ``M`` mirrors the columns, ``b ↦ −b`` (``torch.flip`` on the last axis).
A dihedral element ``(f, k)`` of :class:`~gdl_zoo.symmetry.groups.DihedralGroup`
is ``R_k M^f``: flip first, then rotate.

Shapes:
    B: batch.  C: channels.  H, W: height and width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from gdl_zoo._validation import check_floating
from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import CyclicGroup, DihedralGroup, Group

__all__ = ["RotationGroup2D", "ImageRotation", "rotate_image"]

_QUARTER = math.pi / 2


class RotationGroup2D(Group):
    """Rotations of the plane by any angle (SO(2)), with ``flips`` also reflections (O(2)).

    Elements are angles ``θ ∈ [0, 2π)`` (Python floats), or ``(f, θ)`` with
    ``f ∈ {0, 1}`` when ``flips=True``, meaning ``R_θ M^f`` as for
    :class:`~gdl_zoo.symmetry.groups.DihedralGroup`:
    ``(f₁, θ₁)∘(f₂, θ₂) = (f₁ ⊕ f₂, θ₁ + (−1)^{f₁} θ₂)``.  The generators are the
    quarter turn (and the flip); random elements have uniform angles.

    Args:
        flips: include reflections.
    """

    def __init__(self, flips: bool = False):
        self.flips = bool(flips)
        self.name = "O(2)" if self.flips else "SO(2)"

    def identity(self):
        return (0, 0.0) if self.flips else 0.0

    def compose(self, g, h):
        if not self.flips:
            return (g + h) % (2 * math.pi)
        (f1, t1), (f2, t2) = g, h
        return (f1 ^ f2, (t1 + (-1) ** f1 * t2) % (2 * math.pi))

    def inverse(self, g):
        if not self.flips:
            return (-g) % (2 * math.pi)
        f, t = g
        return (f, t) if f else (0, (-t) % (2 * math.pi))

    def sample(self, generator: torch.Generator | None = None):
        angle = 2 * math.pi * float(torch.rand((), generator=generator, dtype=torch.float64))
        if not self.flips:
            return angle
        return (int(torch.randint(0, 2, (1,), generator=generator).item()), angle)

    def generators(self) -> list:
        return [(0, _QUARTER), (1, 0.0)] if self.flips else [_QUARTER]


def _quarter_turns(angle: float) -> int | None:
    """``k`` when ``angle = kπ/2`` (to 1e-12), else ``None``."""
    turns = angle / _QUARTER
    k = round(turns)
    return k % 4 if abs(turns - k) < 1e-12 else None


def rotate_image(x: torch.Tensor, angle: float, dims: Sequence[int] = (-2, -1)) -> torch.Tensor:
    """Rotate images about their centre by ``angle`` (radians, counter-clockwise on screen).

    Multiples of 90° are exact (``torch.rot90``); other angles resample with
    bilinear interpolation, zeros outside the image:
    ``(g.x)(a, b) = x(a cos θ + b sin θ, −a sin θ + b cos θ)`` in centred pixel
    coordinates.  Interpolated rotations need square images (a rotated
    rectangle does not fit its grid).

    Args:
        x: images; ``dims`` are the (height, width) axes.
        angle: ``θ`` in radians.
        dims: the two spatial axes.

    Shapes:
        x: ``(..., H, W)`` on ``dims``; output ``(..., H, W)``, or ``(..., W, H)``
        for odd multiples of 90°.
    """
    k = _quarter_turns(float(angle))
    if k is not None:
        return torch.rot90(x, k, dims)
    rows, cols = x.shape[dims[0]], x.shape[dims[1]]
    if rows != cols:
        raise ValueError(
            f"expected square images for a rotation by {angle!r} rad (not a multiple of 90°), "
            f"got {rows}×{cols}"
        )
    images = x.movedim(dims, (-2, -1))
    batch_shape = images.shape[:-2]
    images = images.reshape(-1, 1, rows, cols)
    cos, sin = math.cos(angle), math.sin(angle)
    centre = (rows - 1) / 2
    offsets = torch.arange(rows, dtype=torch.float64) - centre
    a, b = torch.meshgrid(offsets, offsets, indexing="ij")
    source_row, source_col = a * cos + b * sin, -a * sin + b * cos
    # grid_sample (align_corners=True): normalised (x, y) = (column, row) / centre
    grid = torch.stack([source_col, source_row], dim=-1) / max(centre, 1.0)
    grid = grid.to(dtype=x.dtype, device=x.device).expand(images.shape[0], rows, cols, 2)
    rotated = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return rotated.reshape(*batch_shape, rows, cols).movedim((-2, -1), dims)


class ImageRotation(Action):
    """Rotations (and mirror flips) of images about their centre, exact or interpolated.

    ``order ∈ {1, 2, 4}``: ``C_order`` (or ``D_order`` with ``flips``), elements
    ``k`` (rotation by ``k·2π/order``) or ``(f, k)``, applied with
    ``torch.rot90``/``torch.flip``: exact.  ``order=None``:
    :class:`RotationGroup2D` with angles in radians, interpolated unless the
    angle is a multiple of 90° (see :func:`rotate_image`).  The same action moves
    inputs and equivariant outputs (invariant feature maps, scalar fields).

    Args:
        order: ``1``, ``2``, ``4`` or ``None`` (every angle).
        flips: include the flip ``M`` (columns mirrored), applied before the rotation.
        dims: the (height, width) axes.

    Shapes:
        input: ``(B, C, H, W)`` by default (any axes named by ``dims``); output
        ``(B, C, H, W)``, or ``(B, C, W, H)`` after an odd number of quarter turns.
    """

    def __init__(self, order: int | None = 4, flips: bool = False, dims: Sequence[int] = (-2, -1)):
        if order not in (1, 2, 4, None):
            raise ValueError(
                f"order: expected 1, 2 or 4 (rotations of the pixel grid) or None, got {order!r}"
            )
        dims = tuple(dims)
        if len(dims) != 2 or any(isinstance(d, bool) or not isinstance(d, int) for d in dims):
            raise ValueError(f"dims: expected two integer axes, got {dims!r}")
        self.order, self.flips, self.dims = order, bool(flips), dims
        if order is None:
            self.group = RotationGroup2D(flips)
        else:
            self.group = DihedralGroup(order) if flips else CyclicGroup(order)

    def act(self, g, inputs: torch.Tensor) -> torch.Tensor:
        check_floating(inputs, "ImageRotation input")
        if inputs.dim() < 2:
            raise ValueError(
                f"expected an image tensor (..., H, W), got shape {tuple(inputs.shape)}"
            )
        flip, turn = g if self.flips else (0, g)
        if flip:
            inputs = torch.flip(inputs, (self.dims[1],))
        if self.order is None:
            return rotate_image(inputs, turn, self.dims)
        return torch.rot90(inputs, turn * (4 // self.order), self.dims)

    def __repr__(self) -> str:
        return f"ImageRotation(order={self.order}, flips={self.flips}, dims={self.dims})"
