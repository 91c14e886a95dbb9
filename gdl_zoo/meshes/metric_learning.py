"""Variational metric learning: fit edge lengths to data with a geometric complexity penalty.

Reference: Zhang 2025, *Learning Geometry: A Framework for Building Adaptive
Manifold Models through Metric Optimization*, arXiv 2510.26068.

The metric ``ℓ`` of an :class:`~gdl_zoo.meshes.metric.EdgeLengthMetric`
minimises

.. math::

    \\mathcal L(ℓ) = \\mathcal L_{data}(ℓ) + λ \\, \\mathcal L_{geom}(ℓ) + μ\\, B(ℓ)

with ``B`` the triangle-inequality barrier.  Data terms (factories returning a
function of ``ℓ``): target geodesic distances between vertex pairs
(:func:`geodesic_distance_term`), target heat-kernel values
(:func:`heat_kernel_term`), a target Laplacian spectrum
(:func:`spectrum_term`).  Complexity terms (functions of mesh and ``ℓ``):
:func:`curvature_squared` ``Σ K_v²/A_v``, :func:`calabi_energy`
``Σ (K_v − K̄)²``, :func:`total_area`, and for conformal metrics
:func:`conformal_dirichlet` ``uᵀ L u``.

:func:`regge_action` ``Σ_v K_v`` is the discrete Einstein–Hilbert action.
On a closed surface it equals ``2πχ`` for *every* metric (discrete
Gauss–Bonnet), so its gradient vanishes identically: in two dimensions the
Einstein–Hilbert action is topological and cannot regularise a metric.

Shapes:
    N: vertices.
    E: edges.
    P: vertex pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gdl_zoo.meshes.geodesics import HeatGeodesics
from gdl_zoo.meshes.geometry import angle_defect, cotan_laplacian, face_areas, lumped_mass
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.metric import EdgeLengthMetric
from gdl_zoo.meshes.sparse import Factorization, SparsityPattern

__all__ = [
    "regge_action",
    "curvature_squared",
    "calabi_energy",
    "total_area",
    "conformal_dirichlet",
    "COMPLEXITY_TERMS",
    "geodesic_distance_term",
    "heat_kernel_term",
    "spectrum_term",
    "FitResult",
    "fit_metric",
]


def regge_action(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The discrete Einstein–Hilbert (Regge) action ``Σ_v K_v`` (angle defects).

    Reference: Regge 1961, *General relativity without coordinates*.

    With the boundary turning included at boundary vertices
    (:func:`~gdl_zoo.meshes.geometry.angle_defect`) it equals ``2πχ`` for
    every metric (discrete Gauss–Bonnet), so its gradient vanishes: in two
    dimensions it is topological and cannot regularise a metric.

    Shapes:
        lengths: (E,); returns a scalar.
    """
    return angle_defect(mesh, lengths).sum()


def _interior_curvature(mesh: TriangleMesh, lengths: torch.Tensor):
    """Angle defects and lumped areas of the interior vertices (boundary turning left out)."""
    interior = ~mesh.is_boundary_vertex
    return angle_defect(mesh, lengths)[interior], lumped_mass(mesh, lengths)[interior]


def curvature_squared(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """``Σ_v K_v² / A_v`` over interior vertices: the discrete ``∫ K² dA``, ``K_v/A_v`` pointwise.

    Scales like ``s⁻²`` when every length is scaled by ``s`` (it favours large surfaces).

    Shapes:
        lengths: (E,); returns a scalar.
    """
    k, area = _interior_curvature(mesh, lengths)
    return (k * k / area).sum()


def calabi_energy(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """A scale-invariant Calabi-type energy ``A · Σ_v A_v (K_v/A_v − K̄)²``, ``K̄ = Σ K_v / A``.

    The discrete ``A ∫ (K − K̄)² dA`` over the interior vertices, with
    ``K_v / A_v`` the pointwise curvature (``A_v`` lumped areas, ``A`` their
    total): zero iff the curvature is constant (a round metric on a sphere),
    unchanged by scaling the metric, so it fights the data only on the shape,
    never on the size.

    Shapes:
        lengths: (E,); returns a scalar.
    """
    k, area = _interior_curvature(mesh, lengths)
    total = area.sum()
    mean = k.sum() / total
    return total * (k - mean * area).pow(2).div(area).sum()


def total_area(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The surface area ``Σ_f A_f``.

    Shapes:
        lengths: (E,); returns a scalar.
    """
    return face_areas(mesh, lengths).sum()


def conformal_dirichlet(metric: EdgeLengthMetric) -> torch.Tensor:
    """The Dirichlet energy ``uᵀ L u = ½ Σ_ij w_ij (u_i − u_j)²`` of the conformal factors.

    ``L`` is the cotan Laplacian of the base lengths ``exp(λ)`` (held fixed,
    detached), so the energy penalises rough scale factors and vanishes for a
    constant ``u`` (a global scaling).

    Raises:
        ValueError: the metric has no conformal factors.

    Shapes:
        returns a scalar.
    """
    if metric.u is None:
        raise ValueError("conformal_dirichlet needs an EdgeLengthMetric with conformal=True")
    base = metric.log_lengths.detach().exp()
    pattern = SparsityPattern.of_mesh(metric.mesh)
    lap = cotan_laplacian(metric.mesh, base, pattern)
    return (metric.u * pattern.matvec(lap, metric.u)).sum()


#: The complexity terms of ``fit_metric`` by name, each ``(mesh, lengths) -> scalar``
#: (``fit_metric`` also accepts ``"conformal_dirichlet"``, a function of the metric).
COMPLEXITY_TERMS: dict[str, Callable[[TriangleMesh, torch.Tensor], torch.Tensor]] = {
    "curvature_squared": curvature_squared,
    "calabi": calabi_energy,
    "total_area": total_area,
}


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return type(x).__name__


def _check_pairs(mesh: TriangleMesh, pairs: torch.Tensor, targets: torch.Tensor) -> None:
    if (
        not isinstance(pairs, torch.Tensor)
        or pairs.dtype != torch.long
        or pairs.dim() != 2
        or pairs.shape[1] != 2
    ):
        raise ValueError(f"pairs: expected a (P, 2) LongTensor, got {_describe(pairs)}")
    bad = torch.nonzero(((pairs < 0) | (pairs >= mesh.num_vertices)).any(1)).flatten()
    if len(bad):
        raise ValueError(
            f"pairs: expected vertex indices in [0, {mesh.num_vertices}), "
            f"pair {int(bad[0])} is {pairs[bad[0]].tolist()}"
        )
    if not isinstance(targets, torch.Tensor) or targets.shape != (len(pairs),):
        raise ValueError(f"targets: expected shape ({len(pairs)},), got {_describe(targets)}")


def geodesic_distance_term(
    mesh: TriangleMesh, pairs: torch.Tensor, targets: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Mean squared error of heat-method distances against targets on vertex pairs.

    ``L(ℓ) = mean_p (d_ℓ(i_p, j_p) − d*_p)²`` with ``d_ℓ`` from
    :class:`~gdl_zoo.meshes.geodesics.HeatGeodesics` (sources: the distinct
    first vertices of the pairs).

    Shapes:
        pairs: (P, 2); targets: (P,); the returned function maps (E,) to a scalar.
    """
    _check_pairs(mesh, pairs, targets)
    sources, row = torch.unique(pairs[:, 0], return_inverse=True)
    pattern = SparsityPattern.of_mesh(mesh)

    def loss(lengths: torch.Tensor) -> torch.Tensor:
        d = HeatGeodesics(mesh, lengths, pattern=pattern)(sources)
        return (d[row, pairs[:, 1]] - targets.to(d)).pow(2).mean()

    return loss


def heat_kernel_term(
    mesh: TriangleMesh, pairs: torch.Tensor, targets: torch.Tensor, t: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Mean squared error of implicit heat-kernel values ``[(M + tL)⁻¹ M]_ij`` on pairs.

    ``(M + tL)⁻¹ M`` is one backward Euler step of the heat flow for time ``t``
    (``M`` lumped), the heat kernel the diffusion layers use.

    Shapes:
        pairs: (P, 2); targets: (P,); the returned function maps (E,) to a scalar.
    """
    _check_pairs(mesh, pairs, targets)
    if not (isinstance(t, (int, float)) and t > 0 and math.isfinite(t)):
        raise ValueError(f"t: expected a positive heat time, got {t!r}")
    sources, row = torch.unique(pairs[:, 0], return_inverse=True)
    pattern = SparsityPattern.of_mesh(mesh)

    def loss(lengths: torch.Tensor) -> torch.Tensor:
        mass = lumped_mass(mesh, lengths)
        values = pattern.symmetric_values(mass, mass.new_zeros(mesh.num_edges))
        values = values + t * cotan_laplacian(mesh, lengths, pattern)
        delta = lengths.new_zeros(mesh.num_vertices, len(sources))
        delta[sources.to(delta.device), torch.arange(len(sources), device=delta.device)] = 1.0
        # (M + tL) is symmetric, so row i of (M + tL)⁻¹ M is M (M + tL)⁻¹ δ_i
        k = Factorization(pattern, values).solve(delta) * mass.unsqueeze(1)
        return (k[pairs[:, 1], row] - targets.to(k)).pow(2).mean()

    return loss


def spectrum_term(
    mesh: TriangleMesh, targets: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Mean squared relative error of the smallest eigenvalues of ``L φ = λ M φ``.

    Dense and differentiable (``torch.linalg.eigvalsh`` of ``M^{-1/2} L M^{-1/2}``):
    for meshes of up to a few thousand vertices.  The zero eigenvalue is skipped:
    ``targets`` are ``λ_1 … λ_k``.

    Shapes:
        targets: (k,); the returned function maps (E,) to a scalar.
    """
    if not isinstance(targets, torch.Tensor) or targets.dim() != 1 or len(targets) == 0:
        raise ValueError(
            f"targets: expected a (k,) tensor of eigenvalues, got {_describe(targets)}"
        )
    if not bool((targets > 0).all()):
        raise ValueError("targets: expected positive eigenvalues (the zero one is skipped)")
    if len(targets) >= mesh.num_vertices:
        raise ValueError(f"targets: at most {mesh.num_vertices - 1} eigenvalues")
    pattern = SparsityPattern.of_mesh(mesh)
    k = len(targets)

    def loss(lengths: torch.Tensor) -> torch.Tensor:
        lap = pattern.to_dense(cotan_laplacian(mesh, lengths, pattern))
        s = lumped_mass(mesh, lengths).rsqrt()
        eig = torch.linalg.eigvalsh(s.unsqueeze(1) * lap * s.unsqueeze(0))[1 : k + 1]
        t = targets.to(eig)
        return ((eig - t) / t).pow(2).mean()

    return loss


@dataclass
class FitResult:
    """What :func:`fit_metric` returns.

    Attributes:
        lengths: (E,) the fitted lengths (detached).
        history: one dict per step with ``total``, ``data``, ``complexity`` and ``barrier``.
    """

    lengths: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def fit_metric(
    metric: EdgeLengthMetric,
    data_term: Callable[[torch.Tensor], torch.Tensor],
    complexity: str | Callable[[TriangleMesh, torch.Tensor], torch.Tensor] = "curvature_squared",
    lam: float = 0.0,
    steps: int = 200,
    lr: float = 1e-2,
    barrier_weight: float = 1e-3,
    margin: float = 0.01,
) -> FitResult:
    """Minimise ``L_data(ℓ) + λ L_geom(ℓ) + μ B(ℓ)`` over the metric's parameters with Adam.

    Reference: Zhang 2025 (arXiv 2510.26068), variational metric learning.

    Every term is a torch function of the lengths, so one backward pass gives
    the gradient (through the sparse solves of the data terms by adjoint
    solves).  A step that leaves the valid metrics is caught by the data
    terms' :func:`~gdl_zoo.meshes.metric.check_lengths` (naming the faces);
    the barrier keeps the iterates away from it.  Intrinsic Delaunay flips
    (:meth:`EdgeLengthMetric.flip_to_delaunay`) change the mesh, so they go
    between calls, with data terms rebuilt for the new mesh.

    Args:
        metric: the learnable metric (optimised in place).
        data_term: ``lengths -> scalar`` (:func:`geodesic_distance_term`, …).
        complexity: a name in :data:`COMPLEXITY_TERMS`, ``"conformal_dirichlet"``
            (needs ``conformal=True``), or ``(mesh, lengths) -> scalar``.
        lam: ``λ ≥ 0``.
        steps: optimisation steps.
        lr: Adam learning rate (on log-lengths and conformal factors).
        barrier_weight: ``μ ≥ 0`` of the triangle-inequality barrier.
        margin: the barrier's relative slack margin.

    :func:`gdl_zoo.meshes.bench_geometry.metric_fitting` is a worked example: a
    λ sweep on a noisy icosphere where the complexity term lowers the held-out
    distance error.

    Returns:
        A :class:`FitResult` with the loss history (one entry per step, the
        losses before that step's update).

    Raises:
        TypeError: ``metric`` is not an :class:`EdgeLengthMetric`.
        ValueError: bad arguments, an invalid metric reached by a step
            (violated triangle inequalities, named by face), a non-finite loss, or a
            non-finite gradient (raised before the update, the metric left as it was).
    """
    if not isinstance(metric, EdgeLengthMetric):
        raise TypeError(f"metric: expected an EdgeLengthMetric, got {type(metric).__name__}")
    names = sorted(COMPLEXITY_TERMS) + ["conformal_dirichlet"]
    if isinstance(complexity, str):
        if complexity not in names:
            raise ValueError(
                f"complexity: expected one of {names} or a callable, got {complexity!r}"
            )
        if complexity == "conformal_dirichlet":
            if metric.u is None:
                raise ValueError("complexity='conformal_dirichlet' needs a conformal metric")

            def complexity(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
                return conformal_dirichlet(metric)

        else:
            complexity = COMPLEXITY_TERMS[complexity]
    elif not callable(complexity):
        raise TypeError(f"complexity: expected a name or a callable, got {_describe(complexity)}")
    if not (lam >= 0 and math.isfinite(lam)):
        raise ValueError(f"lam: expected a finite number >= 0, got {lam!r}")
    if not (barrier_weight >= 0 and math.isfinite(barrier_weight)):
        raise ValueError(f"barrier_weight: expected a finite number >= 0, got {barrier_weight!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    params = [p for p in metric.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    history = []
    for step in range(steps):
        optimizer.zero_grad()
        lengths = metric()
        data = data_term(lengths)
        geom = complexity(metric.mesh, lengths) if lam > 0 else lengths.new_zeros(())
        barrier = metric.barrier(margin)
        total = data + lam * geom + barrier_weight * barrier
        if not torch.isfinite(total):
            raise ValueError(
                f"step {step}: the loss is not finite (data {data.item()}, "
                f"complexity {geom.item()}, barrier {barrier.item()})"
            )
        total.backward()
        if not all(bool(torch.isfinite(p.grad).all()) for p in params if p.grad is not None):
            # Adam would write the NaN into the metric (and a last step would return it)
            raise ValueError(
                f"step {step}: the gradient is not finite (loss {total.item()}); the metric "
                "is left as it was before this step"
            )
        optimizer.step()
        history.append(
            {
                "total": total.item(),
                "data": data.item(),
                "complexity": geom.item(),
                "barrier": barrier.item(),
            }
        )
    return FitResult(metric().detach(), history)
