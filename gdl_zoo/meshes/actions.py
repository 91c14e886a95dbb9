"""How isometries and vertex relabellings act on signals on meshes.

A mesh model takes ``(x, positions, faces)``: features ``x`` (*, N, C) on the
vertices, an embedding ``positions`` (N, 3) and the faces (F, 3).

- a rigid motion ``(Q, t)`` moves the embedding, ``x_i ↦ Q x_i + t``
  (:class:`RigidMotion`);
- an isometric re-embedding bends the surface without stretching it; here a
  hinge fold rotates the vertices on one side of a straight chain of edges
  about that chain (:class:`HingeFold`);
- a relabelling ``π`` renames vertex ``π[i]`` to ``i`` everywhere: rows of
  ``x`` and ``positions`` are permuted and faces re-indexed (:class:`VertexRelabel`).

Intrinsic models are invariant to the first two and equivariant to the
third (their per-vertex outputs are permuted, :class:`VertexOutputs`).
:class:`MeshSymmetry` is the product of rigid motions and relabellings, the
group the zoo's mesh cards are checked under.

Shapes:
    N: vertices.
    F: faces.
    C: channels.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import DirectProduct, EuclideanGroup, Group, SymmetricGroup

__all__ = [
    "RigidMotion",
    "HingeGroup",
    "HingeFold",
    "VertexRelabel",
    "MeshSymmetryGroup",
    "MeshSymmetry",
    "VertexOutputs",
]


def _unpack(inputs: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 3:
        size = f" of length {len(inputs)}" if isinstance(inputs, (tuple, list)) else ""
        raise ValueError(
            f"mesh actions act on (x, positions, faces); got {type(inputs).__name__}{size}"
        )
    return tuple(inputs)


def _rigid(g, positions: torch.Tensor) -> torch.Tensor:
    q, t = g
    return positions @ q.to(positions).T + t.to(positions)


def _relabel(perm: torch.Tensor, x, positions, faces):
    perm = perm.to(faces.device)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm), device=perm.device)
    return x.index_select(-2, perm.to(x.device)), positions[perm], inverse[faces]


class RigidMotion(Action):
    """E(3) (or SE(3)) moving the embedding: ``positions ↦ positions Qᵀ + t``; ``x``, faces fixed.

    Args:
        parity: include reflections.
    """

    def __init__(self, parity: bool = True):
        self.group = EuclideanGroup(parity=parity, translations=True)

    def act(self, g, inputs):
        x, positions, faces = _unpack(inputs)
        return x, _rigid(g, positions), faces


class HingeGroup(Group):
    """SO(2) as rotation angles about a hinge: elements are floats, composed by addition."""

    name = "SO(2) hinge"

    def identity(self) -> float:
        return 0.0

    def compose(self, g: float, h: float) -> float:
        return g + h

    def inverse(self, g: float) -> float:
        return -g

    def sample(self, generator: torch.Generator | None = None) -> float:
        return float((torch.rand((), generator=generator, dtype=torch.float64) - 0.5) * math.pi)

    def generators(self) -> list[float]:
        return [math.pi / 2]


class HingeFold(Action):
    """An isometric re-embedding: rotate the vertices on one side of a hinge line about it.

    Every face must lie entirely on one side: a face with a moving vertex may
    have fixed vertices only on the hinge line.  Then each face moves
    rigidly, so every edge length is preserved while the embedding changes
    non-rigidly; :meth:`act` checks this and names a face that straddles the
    hinge.

    Args:
        moving: (N,) bool, the vertices that rotate.
        point: (3,) a point on the hinge line.
        direction: (3,) the line's direction.
    """

    def __init__(self, moving: torch.Tensor, point, direction):
        if not isinstance(moving, torch.Tensor) or moving.dtype != torch.bool:
            raise TypeError(f"moving: expected a bool tensor, got {moving!r:.60}")
        self.group = HingeGroup()
        self.moving = moving
        self.point = torch.as_tensor(point, dtype=torch.float64)
        d = torch.as_tensor(direction, dtype=torch.float64)
        if self.point.shape != (3,) or d.shape != (3,) or not d.norm() > 0:
            raise ValueError(
                f"point, direction: expected two (3,) vectors, the direction non-zero; got "
                f"{self.point.tolist()} and {d.tolist()}"
            )
        self.direction = d / d.norm()

    def act(self, g: float, inputs):
        x, positions, faces = _unpack(inputs)
        if positions.shape[0] != self.moving.shape[0]:
            raise ValueError(
                f"HingeFold: expected {self.moving.shape[0]} vertices, got {positions.shape[0]}"
            )
        k = self.direction
        cross = torch.tensor(
            [[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]], dtype=torch.float64
        )
        rot = torch.eye(3, dtype=torch.float64) + math.sin(g) * cross
        rot = rot + (1 - math.cos(g)) * cross @ cross  # Rodrigues
        p = self.point.to(positions)
        self._check_faces(positions, faces, p)
        moved = (positions - p) @ rot.to(positions).T + p
        return x, torch.where(self.moving.unsqueeze(-1), moved, positions), faces

    def _check_faces(self, positions: torch.Tensor, faces: torch.Tensor, p: torch.Tensor) -> None:
        """Raise unless every face with a moving vertex has its fixed vertices on the hinge."""
        rel, k = positions - p, self.direction.to(positions)
        off_line = rel - (rel @ k).unsqueeze(-1) * k
        scale = rel.abs().max().clamp_min(torch.finfo(positions.dtype).tiny)
        on_hinge = off_line.norm(dim=-1) <= 1e3 * torch.finfo(positions.dtype).eps * scale
        moving = self.moving.to(faces.device)[faces]  # (F, 3)
        fixed_off = ~moving & ~on_hinge.to(faces.device)[faces]
        bad = torch.nonzero(moving.any(1) & fixed_off.any(1)).flatten()
        if len(bad):
            f = int(bad[0])
            raise ValueError(
                f"HingeFold: faces {bad[:5].tolist()} straddle the hinge (face {f} = "
                f"{faces[f].tolist()} has moving and fixed vertices off the hinge line), so the "
                "fold would stretch them"
            )


class VertexRelabel(Action):
    """Σ_N renaming vertices: ``x ↦ x[..., π, :]``, ``positions ↦ positions[π]``, faces re-indexed.

    With ``π`` a permutation (``SymmetricGroup`` convention: new vertex ``i``
    is old vertex ``π[i]``), face ``(a, b, c)`` becomes ``(π⁻¹a, π⁻¹b, π⁻¹c)``.

    Args:
        num_vertices: ``N``.
    """

    def __init__(self, num_vertices: int):
        self.group = SymmetricGroup(num_vertices)

    def act(self, g: torch.Tensor, inputs):
        return _relabel(g, *_unpack(inputs))


class MeshSymmetryGroup(DirectProduct):
    """The product E(3) × Σ_N, elements ``((Q, t), π)`` composed componentwise."""

    def __init__(self, num_vertices: int, parity: bool = True):
        self.euclidean = EuclideanGroup(parity=parity, translations=True)
        self.symmetric = SymmetricGroup(num_vertices)
        super().__init__(self.euclidean, self.symmetric)


class MeshSymmetry(Action):
    """Rigid motions and vertex relabellings together, acting on ``(x, positions, faces)``.

    Args:
        num_vertices: ``N``.
        parity: include reflections.
    """

    def __init__(self, num_vertices: int, parity: bool = True):
        self.group = MeshSymmetryGroup(num_vertices, parity)

    def act(self, g, inputs):
        rigid, perm = g
        x, positions, faces = _relabel(perm, *_unpack(inputs))
        return x, _rigid(rigid, positions), faces


class VertexOutputs(Action):
    """How :class:`MeshSymmetry` (or :class:`VertexRelabel`) acts on per-vertex outputs.

    Rigid motions leave them unchanged; relabellings permute axis ``-2``
    (outputs ``(*, N, C)``).

    Args:
        num_vertices: ``N``.
    """

    def __init__(self, num_vertices: int, parity: bool = True):
        self.group = MeshSymmetryGroup(num_vertices, parity)

    def act(self, g, inputs: torch.Tensor) -> torch.Tensor:
        perm = g[1] if isinstance(g, tuple) else g
        if inputs.dim() < 2 or inputs.shape[-2] != len(perm):
            raise ValueError(
                f"expected outputs of shape (*, {len(perm)}, C), got {tuple(inputs.shape)}"
            )
        return inputs.index_select(-2, perm.to(inputs.device))
