"""Gauge changes: an independent rotation of the tangent frame at every vertex.

de Haan et al. (ICLR 2021), §3: changing the reference direction at vertex
``p`` by an angle ``g_p`` changes, for an edge from neighbour ``q`` to ``p``,

    features          f_p      ↦ ρ(−g_p) f_p
    log-map angle     θ_pq     ↦ θ_pq − g_p            (direction of q seen from p)
    transport angle   g_{q→p}  ↦ g_{q→p} − g_p + g_q   (q's frame to p's frame)

while the mesh and everything intrinsic (distances, areas) stay as they are.
A gauge-equivariant layer maps features transforming by ``ρ_in(−g_p)`` to
features transforming by ``ρ_out(−g_p)``; its invariant (``ρ_0``) outputs do
not change at all.

Inputs of the gauge layers are tuples ``(features, edge_index, log_angle,
transport, *rest)`` with ``edge_index[0]`` the neighbours ``q`` (sources) and
``edge_index[1]`` the vertices ``p`` (targets), as in PyTorch Geometric.

Inputs of the mesh models (:class:`~gdl_zoo.gauges.mesh_network.MeshGaugeNetwork`)
are ``(features, positions, faces, frame)``: the gauge is computed from the
metric, and ``frame_p`` turns ``p``'s reference direction
(:func:`~gdl_zoo.gauges.frames.mesh_gauge`).  On them act

- :class:`GaugeMeshSymmetry`: gauge changes (``frame ↦ frame + g``,
  ``f_p ↦ ρ(−g_p) f_p``), rigid motions of the embedding and vertex
  relabellings together; per-vertex outputs transform by
  :class:`GaugeVertexOutputs` (``y ↦ ρ(−g) y[π]``);
- :class:`EmbeddingChange`: any action of the meshes domain that only moves
  the embedding, e.g. an isometric re-embedding
  (:class:`~gdl_zoo.meshes.actions.HingeFold`), under which intrinsic
  outputs do not change at all.

Shapes:
    N: vertices.  E: directed edges.  F: faces.  C: feature dimension of the irreps.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gdl_zoo.gauges.so2_irreps import SO2Irreps, check_so2_irreps
from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import EuclideanGroup, Group, SymmetricGroup

__all__ = [
    "LocalSO2",
    "GaugeChange",
    "GaugeMeshGroup",
    "GaugeMeshSymmetry",
    "GaugeVertexOutputs",
    "EmbeddingChange",
]


class LocalSO2(Group):
    """``SO(2)^N``: one rotation angle per vertex, elements float64 tensors ``(N,)``.

    Composition adds angles (mod 2π is left to the trigonometric functions).
    Random elements are uniform on ``[0, 2π)`` at every vertex; the generators
    are a quarter turn at every vertex and an irrational, vertex-dependent
    pattern ``g_p = 2π·frac(p·φ)`` (φ the golden ratio).

    Args:
        num_vertices: ``N``.
    """

    def __init__(self, num_vertices: int):
        if isinstance(num_vertices, bool) or not isinstance(num_vertices, int) or num_vertices < 1:
            raise ValueError(f"num_vertices: expected a positive int, got {num_vertices!r}")
        self.num_vertices = num_vertices
        self.name = f"SO(2)^{num_vertices}"

    def identity(self) -> torch.Tensor:
        return torch.zeros(self.num_vertices, dtype=torch.float64)

    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return g + h

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return -g

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return 2 * math.pi * torch.rand(self.num_vertices, generator=generator, dtype=torch.float64)

    def generators(self) -> list[torch.Tensor]:
        golden = (1 + math.sqrt(5)) / 2
        pattern = torch.arange(self.num_vertices, dtype=torch.float64) * golden
        return [
            torch.full((self.num_vertices,), math.pi / 2, dtype=torch.float64),
            2 * math.pi * (pattern - pattern.floor()),
        ]


class GaugeChange(Action):
    """The gauge group ``SO(2)^N`` acting on features and on the connection of a mesh.

    On a tensor of features ``(N, C)`` (or a 1-tuple of it): ``f_p ↦ ρ(−g_p) f_p``.  On a tuple
    ``(features, edge_index, log_angle, transport, *rest)``: the features as
    above, ``θ_pq ↦ θ_pq − g_p`` and ``g_{q→p} ↦ g_{q→p} − g_p + g_q``; the
    rest (e.g. edge weights) is gauge-invariant and left alone.

    Args:
        irreps: the :class:`SO2Irreps` of the features.
        num_vertices: ``N``.
    """

    def __init__(self, irreps: SO2Irreps, num_vertices: int):
        check_so2_irreps(irreps)
        self.irreps = irreps
        self.group = LocalSO2(num_vertices)

    def _features(self, g: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        if features.shape[0] != self.group.num_vertices:
            raise ValueError(
                f"features: expected {self.group.num_vertices} vertices, "
                f"got shape {tuple(features.shape)}"
            )
        return self.irreps.rotate(features, -g.to(features))

    def act(self, g: torch.Tensor, inputs: Any) -> Any:
        if isinstance(inputs, torch.Tensor):
            return self._features(g, inputs)
        if isinstance(inputs, tuple) and len(inputs) == 1:
            return (self._features(g, inputs[0]),)
        if not isinstance(inputs, tuple) or len(inputs) < 4:
            raise ValueError(
                "inputs: expected features or a tuple (features, edge_index, log_angle, "
                f"transport, ...), got {type(inputs).__name__}"
            )
        features, edge_index, log_angle, transport, *rest = inputs
        source, target = edge_index
        g = g.to(device=features.device)
        new_log = log_angle - g[target].to(log_angle)
        new_transport = transport - g[target].to(transport) + g[source].to(transport)
        return (self._features(g, features), edge_index, new_log, new_transport, *rest)

    def __repr__(self) -> str:
        return f"GaugeChange(irreps={self.irreps}, num_vertices={self.group.num_vertices})"


def _mesh_inputs(inputs: Any, num_vertices: int):
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 4:
        raise ValueError(
            f"inputs: expected (features, positions, faces, frame), got {type(inputs).__name__}"
        )
    features, positions, faces, frame = inputs
    for name, value in (("features", features), ("positions", positions), ("frame", frame)):
        if value.shape[0] != num_vertices:
            raise ValueError(
                f"{name}: expected {num_vertices} vertices, got shape {tuple(value.shape)}"
            )
    return features, positions, faces, frame


class GaugeMeshGroup(Group):
    """Gauge changes, rigid motions and relabellings: elements ``(g, (Q, t), π)``.

    Acting by ``(g, (Q, t), π)`` first renames the vertices by ``π`` (new
    vertex ``i`` is old ``π[i]``), then moves the embedding and changes the
    gauge by ``g`` (indexed by the new labels).  Hence
    ``(g₁, r₁, π₁)∘(g₂, r₂, π₂) = (g₁ + g₂[π₁], r₁∘r₂, π₂[π₁])`` and
    ``(g, r, π)⁻¹ = (−g[π⁻¹], r⁻¹, π⁻¹)``.

    Args:
        num_vertices: ``N``.
        parity: include reflections in the rigid motions.
    """

    def __init__(self, num_vertices: int, parity: bool = True):
        self.gauge = LocalSO2(num_vertices)
        self.euclidean = EuclideanGroup(parity=parity, translations=True)
        self.symmetric = SymmetricGroup(num_vertices)
        self.name = f"{self.gauge.name} x {self.euclidean.name} x {self.symmetric.name}"

    def identity(self):
        return self.gauge.identity(), self.euclidean.identity(), self.symmetric.identity()

    def compose(self, g, h):
        (a, r, p), (b, s, q) = g, h
        return a + b[p], self.euclidean.compose(r, s), self.symmetric.compose(p, q)

    def inverse(self, g):
        a, r, p = g
        p_inv = self.symmetric.inverse(p)
        return -a[p_inv], self.euclidean.inverse(r), p_inv

    def sample(self, generator: torch.Generator | None = None):
        return (
            self.gauge.sample(generator),
            self.euclidean.sample(generator),
            self.symmetric.sample(generator),
        )

    def generators(self) -> list:
        e_gauge, e_rigid, e_perm = self.identity()
        return (
            [(g, e_rigid, e_perm) for g in self.gauge.generators()]
            + [(e_gauge, r, e_perm) for r in self.euclidean.generators()]
            + [(e_gauge, e_rigid, p) for p in self.symmetric.generators()]
        )


class GaugeMeshSymmetry(Action):
    """:class:`GaugeMeshGroup` acting on mesh inputs ``(features, positions, faces, frame)``.

    ``features ↦ ρ(−g) features[π]``, ``positions ↦ positions[π] Qᵀ + t``,
    faces re-indexed by ``π⁻¹``, ``frame ↦ frame[π] + g``.

    Args:
        irreps: the :class:`SO2Irreps` of the input features.
        num_vertices: ``N``.
        parity: include reflections in the rigid motions.
    """

    def __init__(self, irreps: SO2Irreps, num_vertices: int, parity: bool = True):
        check_so2_irreps(irreps)
        self.irreps = irreps
        self.group = GaugeMeshGroup(num_vertices, parity)

    def act(self, g, inputs: Any) -> tuple:
        gauge, (q, t), perm = g
        features, positions, faces, frame = _mesh_inputs(inputs, self.group.gauge.num_vertices)
        perm = perm.to(features.device)
        inverse = torch.argsort(perm)
        gauge = gauge.to(device=features.device)
        features = self.irreps.rotate(features[perm], -gauge.to(features))
        positions = positions[perm] @ q.to(positions).T + t.to(positions)
        return features, positions, inverse.to(faces.device)[faces], frame[perm] + gauge.to(frame)

    def __repr__(self) -> str:
        return f"GaugeMeshSymmetry(irreps={self.irreps}, group={self.group.name})"


class GaugeVertexOutputs(Action):
    """How :class:`GaugeMeshSymmetry` acts on per-vertex outputs: ``y ↦ ρ(−g) y[π]``.

    Rigid motions leave intrinsic outputs alone.

    Args:
        irreps: the :class:`SO2Irreps` of the outputs.
        num_vertices: ``N``.
        parity: as in :class:`GaugeMeshSymmetry`.
    """

    def __init__(self, irreps: SO2Irreps, num_vertices: int, parity: bool = True):
        check_so2_irreps(irreps)
        self.irreps = irreps
        self.group = GaugeMeshGroup(num_vertices, parity)

    def act(self, g, inputs: torch.Tensor) -> torch.Tensor:
        gauge, _, perm = g
        if not isinstance(inputs, torch.Tensor) or inputs.shape[0] != len(perm):
            got = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs)
            raise ValueError(f"outputs: expected shape ({len(perm)}, C), got {got}")
        rotated = inputs[perm.to(inputs.device)]
        return self.irreps.rotate(rotated, -gauge.to(device=inputs.device).to(inputs))

    def __repr__(self) -> str:
        return f"GaugeVertexOutputs(irreps={self.irreps}, group={self.group.name})"


class EmbeddingChange(Action):
    """Lift an action on ``(x, positions, faces)`` to mesh inputs, leaving ``frame`` alone.

    Meant for actions that only move the embedding (rigid motions, the
    isometric re-embedding :class:`~gdl_zoo.meshes.actions.HingeFold`); models
    built on the metric are invariant to the isometric ones.

    Args:
        action: an action of :mod:`gdl_zoo.meshes.actions` that keeps the labels.
    """

    def __init__(self, action: Action):
        if not isinstance(action, Action):
            raise TypeError(f"action: expected an Action, got {type(action).__name__}")
        self.action = action
        self.group = action.group

    def act(self, g, inputs: Any) -> tuple:
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 4:
            raise ValueError(
                f"inputs: expected (features, positions, faces, frame), got {type(inputs).__name__}"
            )
        *triple, frame = inputs
        return (*self.action.act(g, tuple(triple)), frame)

    def __repr__(self) -> str:
        return f"EmbeddingChange({self.action!r})"
