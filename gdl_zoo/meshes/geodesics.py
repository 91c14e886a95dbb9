"""Geodesic distance by the heat method, differentiable with respect to the edge lengths.

Reference: Crane, Weischedel & Wardetzky 2013, *Geodesics in heat: a new
approach to computing distance based on heat flow*.

From sources ``s`` and a time ``t`` (default ``h²``, ``h`` the mean edge length):

1. heat flow: ``(M + t L) u = δ_s`` (one backward Euler step, ``M`` lumped);
2. normalised direction: ``X = −∇u / |∇u|`` on every face;
3. Poisson: ``L φ = −div X`` (since ``div ∇ = −L``), then ``d = φ − φ_s``.

Vertices in other connected components than a source are unreachable: their
distance is ``+inf`` (the heat never gets there, and ``φ`` on their component
is only fixed by the solver's regularisation, not by the source).

Both solves go through :class:`~gdl_zoo.meshes.sparse.Factorization`, so the
distances are differentiable with respect to the lengths (adjoint solves).
The heat solve is always an LU factorisation (SuperLU; CUDA tensors make one
host round trip): far from a source ``u`` decays like ``e^{−d/√t}``, and its
direction ``∇u/|∇u|`` needs every entry to a few digits, which a direct solve
gives and an iterative solve stopped at ``‖r‖ ≤ 1e-12 ‖b‖`` does not (conjugate
gradients there moved the distances on the 2930-vertex Spot mesh by 24% of
their maximum).  The Poisson solve needs only norm-wise accuracy and takes the
device-native conjugate gradients off the CPU (``method="auto"``).

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


def _direction(v: torch.Tensor) -> torch.Tensor:
    """``v / |v|`` over the last axis, 0 where ``v = 0``, without under- or overflow.

    ``|v|²`` underflows once ``|v| < 1e-154`` (float64), which the heat gradient
    reaches a few hundred rings from its source; dividing by the largest component
    first keeps the direction exact down to the smallest subnormal.  The direction
    is 0-homogeneous, so the gradient through the rescaling cancels.
    """
    scale = v.abs().amax(-1, keepdim=True)
    v = v / torch.where(scale > 0, scale, torch.ones_like(scale))
    squared = v.pow(2).sum(-1, keepdim=True)  # in [1, 2] unless v = 0
    # the square root only where v ≠ 0: its derivative at 0 is infinite (0·inf = NaN gradients
    # on the faces where the heat is exactly 0, e.g. every face of another component)
    return v / torch.where(squared > 0, squared, torch.ones_like(squared)).sqrt()


class HeatGeodesics:
    """The heat method for one metric: two factorisations reused for every set of sources.

    Reference: Crane, Weischedel & Wardetzky 2013.

    Args:
        mesh: the topology.
        lengths: the metric (validated by :func:`~gdl_zoo.meshes.metric.check_lengths`).
        t: the heat time (a constant); default ``m · h²`` with ``h`` the mean edge
            length, differentiated as the function of the lengths it is.
        time_factor: ``m`` (1 in the paper).
        pattern: the mesh's :class:`SparsityPattern` if already built.

    The method runs in float64 whatever the dtype of ``lengths`` (the heat decays
    by about ``e^{-0.85}`` per ring at the default time, so float32 underflows some
    100 rings from a source) and returns distances in that dtype.

    Raises:
        ValueError: invalid lengths or ``t``; on a call, the heat underflowing to 0
            in a source's component (several hundred ``√t`` away): pass a larger time.

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
        wide = lengths.to(torch.float64)
        # the default time is a function of the metric, so the gradient follows it too
        # (the distances are then exactly 1-homogeneous in the lengths)
        heat_time = time_factor * wide.mean().square() if t is None else t
        t = float(heat_time.detach()) if isinstance(heat_time, torch.Tensor) else float(t)
        if not t > 0:
            raise ValueError(f"t: expected a positive heat time, got {t!r}")
        self.t = t
        # float64 inside whatever the dtype of the lengths: the heat u decays like
        # e^{-d/√t}, about e^{-0.85} per ring at the default t, and float32 underflows to
        # an exactly zero u some 100 rings from a source; float32 would also round away the
        # Poisson shift below.  The result comes back in the dtype of the lengths.
        self._wide = wide
        lap = cotan_laplacian(mesh, wide, self.pattern)
        mass = lumped_mass(mesh, wide)
        self.mass = mass.to(lengths.dtype)
        mass_values = self.pattern.symmetric_values(mass, wide.new_zeros(mesh.num_edges))
        self._heat = Factorization(self.pattern, mass_values + heat_time * lap, method="lu")
        # L is singular (constants); a tiny mass shift fixes the constant without bias elsewhere
        shift = 1e-10 * float(lap.detach().abs().max()) / float(mass.detach().max())
        self._poisson = Factorization(self.pattern, lap + shift * mass_values)

    def __call__(self, sources: torch.Tensor) -> torch.Tensor:
        """Distances from each source to every vertex.

        Args:
            sources: (S,) vertex indices.

        Returns:
            (S, N) distances, zero at each source and ``+inf`` at the vertices of
            other connected components.
        """
        if not isinstance(sources, torch.Tensor) or sources.dtype != torch.long:
            raise TypeError(f"sources: expected a LongTensor, got {sources!r:.80}")
        n = self.mesh.num_vertices
        if sources.dim() != 1 or len(sources) == 0 or bool(((sources < 0) | (sources >= n)).any()):
            raise ValueError(f"sources: expected (S,) vertex indices in [0, {n}), got {sources}")
        s = len(sources)
        delta = self._wide.new_zeros(n, s)
        sources, cols = sources.to(delta.device), torch.arange(s, device=delta.device)
        delta[sources, cols] = 1.0
        u = self._heat.solve(delta)  # (N, S)
        self._check_underflow(u.detach(), sources)
        grad = face_gradient(self.mesh, self._wide, u)  # (F, S, 2)
        field = -_direction(grad)
        phi = self._poisson.solve(-divergence(self.mesh, self._wide, field))  # (N, S)
        phi = phi - phi[sources, cols]
        # other components: φ there is the regularisation's constant, not a distance
        labels = self.mesh.connected_components[1].to(phi.device)
        unreachable = labels.unsqueeze(1) != labels[sources].unsqueeze(0)  # (N, S)
        phi = phi.masked_fill(unreachable, float("inf"))
        return phi.T.to(self.lengths.dtype)


    def _check_underflow(self, u: torch.Tensor, sources: torch.Tensor) -> None:
        """Raise where the heat ``u`` underflowed to 0 in a source's component (no direction)."""
        labels = self.mesh.connected_components[1].to(u.device)
        dead = (u == 0) & (labels.unsqueeze(1) == labels[sources].unsqueeze(0))  # (N, S)
        if bool(dead.any()):
            vertex, column = (int(i) for i in torch.nonzero(dead)[0])
            raise ValueError(
                f"heat method: the heat from source {int(sources[column])} underflowed to 0 at "
                f"{int(dead[:, column].sum())} vertices (e.g. {vertex}), several hundred diffusion "
                f"lengths √t = {self.t ** 0.5:.3g} away; the distances there would be wrong: "
                "pass a larger t or time_factor"
            )


def heat_geodesic_distance(
    mesh: TriangleMesh, lengths: torch.Tensor, sources: torch.Tensor, t: float | None = None
) -> torch.Tensor:
    """Geodesic distances from ``sources`` by the heat method (see :class:`HeatGeodesics`).

    Shapes:
        lengths: (E,); sources: (S,); returns (S, N).
    """
    return HeatGeodesics(mesh, lengths, t)(sources)
