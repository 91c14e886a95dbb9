"""How the Euclidean group E(3) acts on point clouds, irreps features, energies and forces.

An element ``g = (Q, t)`` of :class:`~gdl_zoo.symmetry.groups.EuclideanGroup`
maps ``x ↦ Q x + t`` (``Q`` orthogonal: rotations and, with ``parity``,
reflections).  The E(3) models of the zoo take the inputs of
:mod:`gdl_zoo.groups.point_graphs`::

    (positions (N, 3), features (N, F), batch (N,))

and the same element acts on each part of that tuple and of the outputs:

- positions ``x_i ↦ Q x_i + t`` (:class:`E3PointCloud`);
- features typed by e3nn irreps ``f_i ↦ D(Q) f_i`` (scalars ``0e`` unchanged,
  ``1o`` vectors rotate with ``Q``, pseudo-scalars ``0o`` flip sign under
  reflections), translations ignored (:class:`E3Irreps`);
- ``batch`` (which cloud a point is in) untouched;
- energies invariant and forces ``F_i ↦ Q F_i`` (:class:`EnergyForces`).

``D(Q)`` is :func:`~gdl_zoo.groups.irreps.exact_D_from_matrix`, e3nn's
representation computed exactly (e3nn's own ``D_from_matrix`` is accurate to
~1e-7 only).  e3nn is imported inside :meth:`act`, never when an action is
built, so listing the zoo stays light; actions on scalar features never import it.

Shapes:
    N: points over the batch.
    B: point clouds.
    F: features per point (``irreps.dim``).
"""

from __future__ import annotations

from typing import Any

import torch

from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import EuclideanGroup

__all__ = ["E3PointCloud", "E3Irreps", "EnergyForces"]


def _check_irreps(irreps: Any, allow_none: bool) -> str | None:
    """Require an irreps string (parsed lazily by e3nn in ``act``), or ``None`` if allowed."""
    if irreps is None and allow_none:
        return None
    if not isinstance(irreps, str) or not irreps.strip():
        expected = "an e3nn irreps string or None" if allow_none else "an e3nn irreps string"
        raise ValueError(f"irreps: expected {expected}, got {irreps!r}")
    return irreps


def _rotate(g: tuple[torch.Tensor, torch.Tensor], vectors: torch.Tensor) -> torch.Tensor:
    """``v ↦ Q v`` on the last axis, in the dtype and device of ``vectors``."""
    q, _ = g
    return vectors @ q.to(dtype=vectors.dtype, device=vectors.device).T


def _act_on_irreps(
    irreps: str | None, g: tuple[torch.Tensor, torch.Tensor], features: torch.Tensor, name: str
) -> torch.Tensor:
    """``f ↦ D(Q) f`` on the last axis; ``irreps=None`` means invariant features."""
    if irreps is None:
        return features
    from gdl_zoo.groups.irreps import exact_D_from_matrix  # imports e3nn

    D = exact_D_from_matrix(irreps, g[0])
    if features.shape[-1] != D.shape[0]:
        raise ValueError(
            f"{name}: expected {D.shape[0]} features on the last axis for irreps {irreps!r}, "
            f"got shape {tuple(features.shape)}"
        )
    return features @ D.to(dtype=features.dtype, device=features.device).T


class E3PointCloud(Action):
    """E(3) on a point cloud ``(positions, features[, batch])``: ``(Qx + t, D(Q) f, batch)``.

    The input convention of the zoo's E(3) models (EGNN, TFN, SE(3)-Transformer)
    and of EGNN's output pair ``(positions, features)``.

    Args:
        irreps: e3nn irreps of the features, e.g. ``"4x0e + 1x1o"``; ``None``
            (the default) for invariant features of any width (one-hot species).
        parity: include reflections (O(3) rather than SO(3)).
        translations: include translations.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, F)``; batch: ``(N,)`` (left as is).
    """

    def __init__(self, irreps: str | None = None, parity: bool = True, translations: bool = True):
        self.irreps = _check_irreps(irreps, allow_none=True)
        self.group = EuclideanGroup(parity=parity, translations=translations)

    def act(self, g: tuple[torch.Tensor, torch.Tensor], inputs: Any) -> tuple:
        if not isinstance(inputs, (tuple, list)) or len(inputs) not in (2, 3):
            got = type(inputs).__name__
            if isinstance(inputs, (tuple, list)):
                got += f" of length {len(inputs)}"
            raise ValueError(f"E3PointCloud acts on (positions, features[, batch]), got a {got}")
        positions, features, *rest = inputs
        if not isinstance(positions, torch.Tensor) or positions.shape[-1:] != (3,):
            got = tuple(positions.shape) if isinstance(positions, torch.Tensor) else positions
            raise ValueError(f"positions: expected shape (N, 3), got {got}")
        t = g[1].to(dtype=positions.dtype, device=positions.device)
        moved = _rotate(g, positions) + t
        return (moved, _act_on_irreps(self.irreps, g, features, "features"), *rest)

    def __repr__(self) -> str:
        return (
            f"E3PointCloud(irreps={self.irreps!r}, parity={self.group.parity}, "
            f"translations={self.group.translations})"
        )


class E3Irreps(Action):
    """E(3) on a tensor of e3nn irreps features: ``f ↦ D(Q) f`` (translations do nothing).

    The output action of equivariant node-level models (TFN, SE(3)-Transformer):
    ``"8x0e"`` outputs are invariant, ``"1x1o"`` outputs rotate like forces.

    Args:
        irreps: e3nn irreps of the last axis.
        parity: include reflections.
        translations: include translations (they act trivially; keep the
            element type of the input action).

    Shapes:
        features: ``(..., irreps.dim)``.
    """

    def __init__(self, irreps: str, parity: bool = True, translations: bool = True):
        self.irreps = _check_irreps(irreps, allow_none=False)
        self.group = EuclideanGroup(parity=parity, translations=translations)

    def act(self, g: tuple[torch.Tensor, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"E3Irreps acts on a tensor, got {type(inputs).__name__}")
        return _act_on_irreps(self.irreps, g, inputs, "features")

    def __repr__(self) -> str:
        return (
            f"E3Irreps(irreps={self.irreps!r}, parity={self.group.parity}, "
            f"translations={self.group.translations})"
        )


class EnergyForces(Action):
    """E(3) on the outputs of a potential: ``(E, F) ↦ (E, F Qᵀ)``.

    Energies are invariant; forces ``F = −∂E/∂x`` rotate and reflect with the
    positions (polar vectors) and ignore translations.

    Args:
        parity: include reflections.
        translations: include translations (acting trivially).

    Shapes:
        energy: ``(B,)``; forces: ``(N, 3)``.
    """

    def __init__(self, parity: bool = True, translations: bool = True):
        self.group = EuclideanGroup(parity=parity, translations=translations)

    def act(self, g: tuple[torch.Tensor, torch.Tensor], inputs: Any) -> tuple:
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise ValueError(
                f"EnergyForces acts on a pair (energy, forces), got {type(inputs).__name__}"
                + (f" of length {len(inputs)}" if isinstance(inputs, (tuple, list)) else "")
            )
        energy, forces = inputs
        if not isinstance(forces, torch.Tensor) or forces.shape[-1:] != (3,):
            got = tuple(forces.shape) if isinstance(forces, torch.Tensor) else forces
            raise ValueError(f"forces: expected shape (N, 3), got {got}")
        return energy, _rotate(g, forces)

    def __repr__(self) -> str:
        return f"EnergyForces(parity={self.group.parity}, translations={self.group.translations})"
