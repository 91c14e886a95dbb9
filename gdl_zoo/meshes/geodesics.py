"""Geodesic distance by the heat method, differentiable with respect to the edge lengths.

Reference: Crane, Weischedel & Wardetzky 2013, *Geodesics in heat: a new
approach to computing distance based on heat flow*.

From sources ``s`` and a time ``t`` (default ``h²``, ``h`` the mean edge length):

1. heat flow: ``(M + t L) u = δ_s`` (one backward Euler step, ``M`` lumped);
2. normalised direction: ``X = −∇u / |∇u|`` on every face;
3. Poisson: ``L φ = −div X`` (since ``div ∇ = −L``), then ``d = φ − φ_s``.

Both solves go through :class:`~gdl_zoo.meshes.sparse.Factorization`, so the
distances are differentiable with respect to the lengths (adjoint solves).

Shapes:
    N: vertices.
    E: edges.
    S: sources.
"""

from __future__ import annotations

import torch

from gdl_zoo.meshes.geometry import (
    cotan_laplacian,
    divergence,
    face_gradient,
    lumped_mass,
)
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.metric import check_lengths
from gdl_zoo.meshes.sparse import Factorization, SparsityPattern

__all__ = ["HeatGeodesics", "heat_geodesic_distance"]


class HeatGeodesics:
    """The heat method for one metric: two factorisations reused for every set of sources.

    Reference: Crane, Weischedel & Wardetzky 2013.

    Args:
        mesh: the topology.
        lengths: the metric (validated by :func:`~gdl_zoo.meshes.metric.check_lengths`).
        t: the heat time; default ``m · h²`` with ``h`` the mean edge length.
        time_factor: ``m`` (1 in the paper).
        pattern: the mesh's :class:`SparsityPattern` if already built.

    Shapes:
        lengths: (E,).
    """

    def __init__(
        self,
        mesh: TriangleMesh,
        lengths: torch.Tensor,
        t: float | None = None,
        time_factor: float = 1.0,
        pattern: SparsityPattern | None = None,
    ):
        check_lengths(mesh, lengths)
        self.mesh, self.lengths = mesh, lengths
        self.pattern = SparsityPattern.of_mesh(mesh) if pattern is None else pattern
        if t is None:
            t = time_factor * float(lengths.detach().mean()) ** 2
        if not t > 0:
            raise ValueError(f"t: expected a positive heat time, got {t!r}")
        self.t = t
        lap = cotan_laplacian(mesh, lengths, self.pattern)
        self.mass = lumped_mass(mesh, lengths)
        zeros = lengths.new_zeros(mesh.num_edges)
        mass_values = self.pattern.symmetric_values(self.mass, zeros)
        self._heat = Factorization(self.pattern, mass_values + t * lap)
        # L is singular (constants); a tiny mass shift fixes the constant without bias elsewhere.
        # It is added in float64: float32 rounds it away, and SuperLU then solves a singular L
        # (distances wrong by O(1), silently); the solve returns in the dtype of the rhs.
        shift = 1e-10 * float(lap.detach().abs().max()) / float(self.mass.detach().max())
        wide = torch.float64
        self._poisson = Factorization(self.pattern, lap.to(wide) + shift * mass_values.to(wide))

    def __call__(self, sources: torch.Tensor) -> torch.Tensor:
        """Distances from each source to every vertex.

        Args:
            sources: (S,) vertex indices.

        Returns:
            (S, N) distances, zero at each source.
        """
        if not isinstance(sources, torch.Tensor) or sources.dtype != torch.long:
            raise TypeError(f"sources: expected a LongTensor, got {sources!r:.80}")
        n = self.mesh.num_vertices
        if sources.dim() != 1 or len(sources) == 0 or bool(((sources < 0) | (sources >= n)).any()):
            raise ValueError(f"sources: expected (S,) vertex indices in [0, {n}), got {sources}")
        s = len(sources)
        delta = self.lengths.new_zeros(n, s)
        sources, cols = sources.to(delta.device), torch.arange(s, device=delta.device)
        delta[sources, cols] = 1.0
        u = self._heat.solve(delta)  # (N, S)
        grad = face_gradient(self.mesh, self.lengths, u)  # (F, S, 2)
        norm = grad.pow(2).sum(-1, keepdim=True).add(torch.finfo(grad.dtype).tiny).sqrt()
        field = -grad / norm
        phi = self._poisson.solve(-divergence(self.mesh, self.lengths, field))  # (N, S)
        phi = phi - phi[sources, cols]
        return phi.T


def heat_geodesic_distance(
    mesh: TriangleMesh, lengths: torch.Tensor, sources: torch.Tensor, t: float | None = None
) -> torch.Tensor:
    """Geodesic distances from ``sources`` by the heat method (see :class:`HeatGeodesics`).

    Shapes:
        lengths: (E,); sources: (S,); returns (S, N).
    """
    return HeatGeodesics(mesh, lengths, t)(sources)
