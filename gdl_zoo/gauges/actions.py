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

Shapes:
    N: vertices.  E: directed edges.  C: feature dimension of the irreps.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import Group

__all__ = ["LocalSO2", "GaugeChange"]


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
        if not isinstance(irreps, SO2Irreps):
            raise TypeError(f"irreps: expected SO2Irreps, got {type(irreps).__name__}")
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
