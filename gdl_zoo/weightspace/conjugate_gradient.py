"""Krylov solvers for a symmetric positive semi-definite operator given only as ``v ↦ A v``.

Hestenes & Stiefel (1952) conjugate gradients for ``(A + μI) x = b``, and the
Lanczos process (Lanczos 1950; the trust-region form of Gould, Lucidi, Roma &
Toint 1999, "Solving the trust-region subproblem using the Lanczos method")
that builds an orthonormal basis ``V_k`` of the Krylov space
``K_k(A, b) = span{b, Ab, …, A^{k-1} b}`` with ``V_kᵀ A V_k = T_k`` tridiagonal.
Krylov spaces are shift invariant, so one Lanczos run answers ``(A + μI) x = b``
for every ``μ`` at once: ``x(μ) = ‖b‖ V_k (T_k + μI)⁻¹ e_1``, the k-th CG
iterate on ``A + μI``.

Shapes: ``P`` the dimension of the space, ``k`` the Krylov dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from gdl_zoo._validation import check_positive_int
from gdl_zoo.meshes.conjugate_gradient import batched_conjugate_gradient

__all__ = ["CGResult", "LanczosResult", "conjugate_gradient", "lanczos"]

Operator = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class CGResult:
    """The outcome of :func:`conjugate_gradient`.

    Attributes:
        solution: ``x`` (P,).
        iterations: operator applications used.
        residual_norm: ``‖b − (A + μI) x‖``.
        converged: whether the relative residual reached ``rtol``.
    """

    solution: torch.Tensor
    iterations: int
    residual_norm: float
    converged: bool


@dataclass(frozen=True)
class LanczosResult:
    """An orthonormal Krylov basis and the tridiagonal projection of the operator.

    Attributes:
        basis: ``V_k`` (k, P), orthonormal rows, the first ``b/‖b‖``.
        diagonal: ``α`` (k,), the diagonal of ``T_k``.
        off_diagonal: ``β`` (k-1,), its off-diagonal.
        start_norm: ``‖b‖``.
        exhausted: whether the Krylov space became invariant (``β_k ≈ 0``), so
            the projection is exact.
    """

    basis: torch.Tensor
    diagonal: torch.Tensor
    off_diagonal: torch.Tensor
    start_norm: float
    exhausted: bool

    def tridiagonal(self) -> torch.Tensor:
        """``T_k`` (k, k) as a dense float64 matrix."""
        t = torch.diag(self.diagonal.to(torch.float64))
        if len(self.off_diagonal):
            off = self.off_diagonal.to(torch.float64)
            t = t + torch.diag(off, 1) + torch.diag(off, -1)
        return t


def _check_rhs(rhs: torch.Tensor) -> None:
    if not isinstance(rhs, torch.Tensor) or rhs.dim() != 1 or not rhs.is_floating_point():
        got = (
            f"shape {tuple(rhs.shape)}, dtype {rhs.dtype}"
            if isinstance(rhs, torch.Tensor)
            else type(rhs).__name__
        )
        raise ValueError(f"expected a floating (P,) vector, got {got}")


def conjugate_gradient(
    operator: Operator,
    rhs: torch.Tensor,
    *,
    shift: float = 0.0,
    max_iter: int = 50,
    rtol: float = 1e-6,
) -> CGResult:
    """Solve ``(A + μI) x = b`` by conjugate gradients, from ``x_0 = 0``.

    Hestenes & Stiefel (1952), unpreconditioned: the one-column case of
    :func:`gdl_zoo.meshes.conjugate_gradient.batched_conjugate_gradient` on
    ``A + μI``::

        r_0 = p_0 = b;  a_i = r_iᵀr_i / p_iᵀ(A+μI)p_i;  x_{i+1} = x_i + a_i p_i;
        r_{i+1} = r_i − a_i (A+μI) p_i;  p_{i+1} = r_{i+1} + (r_{i+1}ᵀr_{i+1}/r_iᵀr_i) p_i

    Args:
        operator: ``v ↦ A v`` for a symmetric positive semi-definite ``A``.
        rhs: ``b``.
        shift: ``μ ≥ 0`` (damping); ``A + μI`` must be positive definite.
        max_iter: the most operator applications.
        rtol: stop when ``‖r‖ ≤ rtol ‖b‖``.

    Shapes:
        rhs, solution: ``(P,)``.

    Raises:
        ValueError: a negative shift, or a direction of non-positive curvature
            (``A + μI`` not positive definite).
    """
    _check_rhs(rhs)
    max_iter = check_positive_int(max_iter, "max_iter")
    if shift < 0:
        raise ValueError(f"shift: expected μ ≥ 0, got {shift}")

    def shifted(v: torch.Tensor) -> torch.Tensor:  # (P, 1) columns, as the batched solver asks
        return operator(v[:, 0]).unsqueeze(1) + shift * v

    try:
        solve = batched_conjugate_gradient(shifted, rhs.unsqueeze(1), rtol=rtol, max_iter=max_iter)
    except ValueError as error:  # the only one left once rhs and max_iter are checked
        raise ValueError(f"{error}; A + μI with μ = {shift}: increase the shift") from None
    residual = float(solve.relative_residual[0] * torch.linalg.vector_norm(rhs))
    return CGResult(solve.solution[:, 0], solve.iterations, residual, solve.converged)


def lanczos(
    operator: Operator,
    start: torch.Tensor,
    *,
    max_iter: int = 20,
    tol: float = 1e-10,
) -> LanczosResult:
    """Lanczos tridiagonalisation of a symmetric operator on the Krylov space of ``start``.

    Lanczos (1950), with full re-orthogonalisation (k vectors of size P are
    kept, memory O(k·P))::

        v_1 = b/‖b‖;  w = A v_j − β_{j−1} v_{j−1};  α_j = v_jᵀ w;
        w ← w − α_j v_j, re-orthogonalised against v_1…v_j;  β_j = ‖w‖;  v_{j+1} = w/β_j

    Args:
        operator: ``v ↦ A v``, symmetric.
        start: ``b``, non-zero.
        max_iter: ``k``, the most operator applications.
        tol: the space is invariant when ``β_j ≤ tol · max(|α|, |β|)``.

    Shapes:
        start: ``(P,)``; basis ``(k, P)``.

    Raises:
        ValueError: a zero or non-finite start vector.
    """
    _check_rhs(start)
    max_iter = check_positive_int(max_iter, "max_iter")
    start_norm = float(torch.linalg.vector_norm(start))
    if not start_norm > 0 or not torch.isfinite(torch.tensor(start_norm)):
        raise ValueError(f"start: expected a non-zero finite vector, got norm {start_norm}")
    basis = [start / start_norm]
    alphas: list[torch.Tensor] = []
    betas: list[torch.Tensor] = []
    exhausted = False
    scale = 0.0
    for j in range(max_iter):
        w = operator(basis[j])
        alpha = torch.dot(basis[j], w)
        alphas.append(alpha)
        stacked = torch.stack(basis)  # (j+1, P)
        for _ in range(2):  # classical Gram–Schmidt twice: orthogonal to working precision
            w = w - stacked.T @ (stacked @ w)
        beta = torch.linalg.vector_norm(w)
        scale = max(scale, float(alpha.abs()), float(beta))
        if float(beta) <= tol * scale or j == max_iter - 1:
            exhausted = float(beta) <= tol * scale
            break
        betas.append(beta)
        basis.append(w / beta)
    return LanczosResult(
        torch.stack(basis),
        torch.stack(alphas),
        torch.stack(betas) if betas else start.new_zeros(0),
        start_norm,
        exhausted,
    )
