"""How the rotations and reflections of the pixel grid act on images and regular feature fields.

The isometries of the square grid Z² that fix the image centre form the
dihedral group D4 (four rotations by multiples of 90° and four reflections);
its subgroups C1, C2, C4, D1, D2 are supported too.  This is the point group of
the wallpaper groups p4 = Z² ⋊ C4 and p4m = Z² ⋊ D4 of G-CNNs (Cohen & Welling
2016, *Group equivariant convolutional networks*, ICML).

Coordinates.  Pixel ``(i, j)`` (row ``i``, column ``j``) of an ``H×W`` image sits
at ``u = (x, y) = (j − (W−1)/2, (H−1)/2 − i)``: ``x`` to the right, ``y`` up,
the origin at the image centre (a pixel centre for odd sizes, a pixel corner
for even ones).  ``R`` is the counterclockwise quarter turn ``(x, y) ↦ (−y, x)``
and ``M`` the reflection across the first axis, ``(x, y) ↦ (x, −y)`` (top ↔
bottom).  Element ``k`` of ``C_n`` (``n ∈ {1, 2, 4}``) is ``R^{4k/n}``; element
``(f, k)`` of ``D_n`` is ``R^{4k/n} M^f`` (reflect first), so that
``(f₁, k₁)∘(f₂, k₂) = (f₁ ⊕ f₂, k₁ + (−1)^{f₁} k₂)`` as in
:class:`~gdl_zoo.symmetry.groups.DihedralGroup`.

Scalar fields ``x: Z² → R^C`` transform as ``(g.x)(u) = x(g⁻¹u)``: the grid is
rotated about its centre (``torch.rot90`` over the last two axes) after an
optional ``torch.flip`` of the rows.  A non-square ``H×W`` image becomes
``W×H`` under a quarter turn.

Regular fields ``f: Z² × G → R^C`` (the outputs of lifting and group
convolutions) store the fibre next to the channel: with ``g_0, …, g_{|G|−1}``
the elements in the order of ``group.elements()``, channel ``c·|G| + i`` holds
``f_c(·, g_i)``, i.e. the channel axis is the flattened ``(C, |G|)`` layout.
They transform as ``(g.f)(u, h) = f(g⁻¹u, g⁻¹h)``: the grid moves as for scalar
fields and the fibre is permuted by the regular representation,
``(g.f)[c·|G| + i] = f[c·|G| + index(g⁻¹ g_i)]``.

Shapes:
    B: batch size.  C: fields (channels per group element).  |G|: group order.
    H, W: image height and width.  T: time steps of a sequence of images.
"""

from __future__ import annotations

from typing import Any

import torch

from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import CyclicGroup, DihedralGroup, Group

__all__ = ["SQUARE_GROUPS", "square_group", "Rot90Images"]

#: The names of the point groups of the square grid that :func:`square_group` accepts.
SQUARE_GROUPS: tuple[str, ...] = ("C1", "C2", "C4", "D1", "D2", "D4")

_FIBRES = ("scalar", "regular")


def square_group(group: str | Group) -> CyclicGroup | DihedralGroup:
    """The point group of the square grid called ``group``: ``"C4"``, ``"D4"``, ….

    Args:
        group: a name in :data:`SQUARE_GROUPS`, or a ``CyclicGroup``/``DihedralGroup``
            of order 1, 2 or 4.

    Raises:
        ValueError: for any other group (rotations by other angles do not map the
            pixel grid to itself).
    """
    if isinstance(group, (CyclicGroup, DihedralGroup)) and group.order in (1, 2, 4):
        return group
    if isinstance(group, str) and group in SQUARE_GROUPS:
        order = int(group[1])
        return CyclicGroup(order) if group[0] == "C" else DihedralGroup(order)
    raise ValueError(
        f"group: expected one of {SQUARE_GROUPS} (rotations by 90° and reflections of the "
        f"pixel grid), got {group!r}"
    )


class Rot90Images(Action):
    """Quarter turns and reflections of images: scalar or regular feature fields.

    Cohen & Welling 2016 (*Group equivariant convolutional networks*, ICML).
    For ``g = R^{4k/n} M^f``::

        scalar:   (g.x)[b, c, ·, ·]         = rot90(flip_rows^f(x[b, c]), 4k/n)
        regular:  (g.x)[b, c·|G| + i, ·, ·] = rot90(flip_rows^f(x[b, c·|G| + j]), 4k/n),
                  g_j = g⁻¹ g_i

    i.e. ``(g.x)(u) = x(g⁻¹u)`` and ``(g.f)(u, h) = f(g⁻¹u, g⁻¹h)`` in the
    coordinates of the module docstring.  Integer tensors are moved too (the
    layers build their filter indices with this action).

    Args:
        group: ``"C4"`` (p4), ``"D4"`` (p4m) or another name in
            :data:`SQUARE_GROUPS`, or a matching group object.
        fibre: ``"scalar"`` (the channels are invariant) or ``"regular"`` (each
            of ``C`` fields has ``|G|`` channels, permuted by the group).
        channel_dim: the axis holding ``C`` (scalar) or ``C·|G|`` (regular)
            channels, e.g. ``1`` for ``(B, C, H, W)``, ``2`` for ``(B, T, C, H, W)``;
            it cannot be one of the last two (spatial) axes.

    Shapes:
        scalar input: ``(…, H, W)``, e.g. ``(B, C, H, W)`` or ``(B, T, C, H, W)``.
        regular input: ``(B, C·|G|, H, W)`` or ``(B, T, C·|G|, H, W)``.
        output: the input's shape, with ``H`` and ``W`` swapped by odd quarter turns.
    """

    def __init__(self, group: str | Group = "C4", fibre: str = "scalar", channel_dim: int = 1):
        if fibre not in _FIBRES:
            raise ValueError(f"fibre: expected one of {_FIBRES}, got {fibre!r}")
        if isinstance(channel_dim, bool) or not isinstance(channel_dim, int):
            raise ValueError(f"channel_dim: expected an integer axis, got {channel_dim!r}")
        self.group = square_group(group)
        self.fibre = fibre
        self.channel_dim = channel_dim
        self.dihedral = isinstance(self.group, DihedralGroup)
        self.quarter_turns = 4 // self.group.order  # quarter turns of the rotation generator
        elements = self.group.elements()
        self._index = {g: i for i, g in enumerate(elements)}
        # _fibre_perm[index(g)][i] = index(g⁻¹ g_i): the regular representation as gathers
        self._fibre_perm = torch.tensor(
            [
                [self._index[self.group.compose(self.group.inverse(g), h)] for h in elements]
                for g in elements
            ]
        )

    @property
    def order(self) -> int:
        """``|G|``, the number of group elements (the fibre size of regular fields)."""
        return len(self._index)

    def index(self, g: Any) -> int:
        """The position of element ``g`` in ``group.elements()`` (its fibre channel)."""
        key = tuple(g) if isinstance(g, (tuple, list)) else g
        if key not in self._index:
            raise ValueError(f"expected an element of {self.group.name}, got {g!r}")
        return self._index[key]

    def act(self, g: Any, inputs: torch.Tensor) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"Rot90Images acts on a tensor, got {type(inputs).__name__}")
        position = self.index(g)
        flip, turns = g if self.dihedral else (0, g)
        if self.fibre == "scalar":
            if inputs.dim() < 2:
                raise ValueError(
                    f"expected an image of shape (…, H, W), got shape {tuple(inputs.shape)}"
                )
        else:
            inputs = self._permute_fibre(position, inputs)
        if flip:
            inputs = torch.flip(inputs, dims=(-2,))
        return torch.rot90(inputs, turns * self.quarter_turns, dims=(-2, -1))

    def _permute_fibre(self, position: int, x: torch.Tensor) -> torch.Tensor:
        """``x`` with channel ``c·|G| + i`` replaced by ``c·|G| + index(g⁻¹ g_i)``."""
        dim = self.channel_dim if self.channel_dim >= 0 else self.channel_dim + x.dim()
        if not 0 <= dim < x.dim() - 2:
            raise ValueError(
                f"channel_dim: expected an axis before the last two (spatial) axes of a "
                f"tensor of shape {tuple(x.shape)}, got {self.channel_dim}"
            )
        n = self.order
        if x.shape[dim] % n:
            raise ValueError(
                f"expected C·|G| channels on axis {dim}, a multiple of |G| = {n} "
                f"({self.group.name} regular fields), got {x.shape[dim]} (shape {tuple(x.shape)})"
            )
        fields = x.unflatten(dim, (x.shape[dim] // n, n))  # (…, C·|G|, …) -> (…, C, |G|, …)
        perm = self._fibre_perm[position].to(x.device)
        return fields.index_select(dim + 1, perm).flatten(dim, dim + 1)

    def __repr__(self) -> str:
        return (
            f"Rot90Images(group={self.group.name!r}, fibre={self.fibre!r}, "
            f"channel_dim={self.channel_dim})"
        )
