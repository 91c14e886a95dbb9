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

    Equals ``2πχ`` on a closed mesh for every metric, with zero gradient
    (boundary meshes: with the boundary turning included, likewise).
    """
    return angle_defect(mesh, lengths).sum()


def curvature_squared(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """``Σ_v K_v² / A_v``: the discrete ``∫ K² dA`` with ``K_v/A_v`` the pointwise curvature."""
    k = angle_defect(mesh, lengths)
    return (k * k / lumped_mass(mesh, lengths)).sum()


def calabi_energy(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """A scale-invariant Calabi-type energy ``A · Σ_v A_v (K_v/A_v − K̄)²``, ``K̄ = Σ K_v / A``.

    The discrete ``A ∫ (K − K̄)² dA`` with ``K_v / A_v`` the pointwise
    curvature (``A_v`` lumped areas, ``A`` the total area): zero iff the
    curvature is constant (a round metric on a sphere), unchanged by scaling
    the metric, so it fights the data only on the shape, never on the size.
    """
    k = angle_defect(mesh, lengths)
    area = lumped_mass(mesh, lengths)
    total = area.sum()
    mean = k.sum() / total
    return total * (k - mean * area).pow(2).div(area).sum()


def total_area(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The surface area ``Σ_f A_f``."""
    return face_areas(mesh, lengths).sum()


def conformal_dirichlet(metric: EdgeLengthMetric) -> torch.Tensor:
    """The Dirichlet energy ``uᵀ L u`` of the conformal factors, ``L`` of the base lengths.

    Raises:
        ValueError: the metric has no conformal factors.
    """
    if metric.u is None:
        raise ValueError("conformal_dirichlet needs an EdgeLengthMetric with conformal=True")
    base = metric.log_lengths.detach().exp()
    pattern = SparsityPattern.of_mesh(metric.mesh)
    lap = cotan_laplacian(metric.mesh, base, pattern)
    return (metric.u * pattern.matvec(lap, metric.u)).sum()


#: The complexity terms of ``fit_metric`` by name, each ``(mesh, lengths) -> scalar``.
COMPLEXITY_TERMS: dict[str, Callable[[TriangleMesh, torch.Tensor], torch.Tensor]] = {
    "curvature_squared": curvature_squared,
    "calabi": calabi_energy,
    "total_area": total_area,
}


def _check_pairs(mesh: TriangleMesh, pairs: torch.Tensor, targets: torch.Tensor) -> None:
    if not isinstance(pairs, torch.Tensor) or pairs.dtype != torch.long or pairs.dim() != 2 \
            or pairs.shape[1] != 2:  # fmt: skip
        raise ValueError(f"pairs: expected a (P, 2) LongTensor, got {pairs!r:.60}")
    if bool(((pairs < 0) | (pairs >= mesh.num_vertices)).any()):
        raise ValueError(f"pairs: expected vertex indices in [0, {mesh.num_vertices})")
    if not isinstance(targets, torch.Tensor) or targets.shape != (len(pairs),):
        raise ValueError(f"targets: expected shape ({len(pairs)},), got {targets!r:.60}")


def geodesic_distance_term(
    mesh: TriangleMesh, pairs: torch.Tensor, targets: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Mean squared error of heat-method distances against targets on vertex pairs.

    ``L(ℓ) = mean_p (d_ℓ(i_p, j_p) − d*_p)²`` with ``d_ℓ`` from
    :class:`~gdl_zoo.meshes.geodesics.HeatGeodesics` (sources: the distinct
    first vertices of the pairs).

    Shapes:
        pairs: (P, 2); targets: (P,).
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

    Shapes:
        pairs: (P, 2); targets: (P,).
    """
    _check_pairs(mesh, pairs, targets)
    sources, row = torch.unique(pairs[:, 0], return_inverse=True)
    pattern = SparsityPattern.of_mesh(mesh)

    def loss(lengths: torch.Tensor) -> torch.Tensor:
        mass = lumped_mass(mesh, lengths)
        values = pattern.symmetric_values(mass, mass.new_zeros(mesh.num_edges))
        values = values + t * cotan_laplacian(mesh, lengths, pattern)
        delta = lengths.new_zeros(mesh.num_vertices, len(sources))
        delta[sources, torch.arange(len(sources))] = 1.0
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
        targets: (k,).
    """
    if not isinstance(targets, torch.Tensor) or targets.dim() != 1 or len(targets) == 0:
        raise ValueError(f"targets: expected a (k,) tensor of eigenvalues, got {targets!r:.60}")
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

    Args:
        metric: the learnable metric (optimised in place).
        data_term: ``lengths -> scalar`` (:func:`geodesic_distance_term`, …).
        complexity: a name in :data:`COMPLEXITY_TERMS` or ``(mesh, lengths) -> scalar``.
        lam: ``λ ≥ 0``.
        steps: optimisation steps.
        lr: Adam learning rate (on log-lengths).
        barrier_weight: ``μ`` of the triangle-inequality barrier.
        margin: the barrier's relative slack margin.

    Returns:
        A :class:`FitResult` with the loss history.

    Raises:
        ValueError: bad arguments, or a step that produced an invalid metric
            (violated triangle inequalities, named by face) or a non-finite loss.
    """
    if not isinstance(metric, EdgeLengthMetric):
        raise TypeError(f"metric: expected an EdgeLengthMetric, got {type(metric).__name__}")
    if isinstance(complexity, str):
        if complexity not in COMPLEXITY_TERMS:
            raise ValueError(
                f"complexity: expected one of {sorted(COMPLEXITY_TERMS)}, got {complexity!r}"
            )
        complexity = COMPLEXITY_TERMS[complexity]
    if not (lam >= 0 and math.isfinite(lam)):
        raise ValueError(f"lam: expected a finite number >= 0, got {lam!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    optimizer = torch.optim.Adam([p for p in metric.parameters() if p.requires_grad], lr=lr)
    history = []
    for step in range(steps):
        optimizer.zero_grad()
        lengths = metric()
        data = data_term(lengths)
        geom = complexity(metric.mesh, lengths) if lam > 0 else lengths.new_zeros(())
        barrier = metric.barrier(margin)
        total = data + lam * geom + barrier_weight * barrier
        if not torch.isfinite(total):
            raise ValueError(f"step {step}: the loss is not finite ({float(total)})")
        total.backward()
        optimizer.step()
        history.append({"total": total.item(), "data": data.item(), "complexity": geom.item(),
                        "barrier": barrier.item()})  # fmt: skip
    return FitResult(metric().detach(), history)
