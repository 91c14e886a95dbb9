"""Jacobi-preconditioned conjugate gradients for many right-hand sides at once, on any device.

The device-native counterpart of the SuperLU factorisation in
:mod:`gdl_zoo.meshes.sparse`: it needs only ``v ↦ A v`` (a gather and an
``index_add_`` for a fixed-pattern operator), so it runs where the operator's
values live, CUDA included.  Hestenes & Stiefel (1952) with the diagonal
(Jacobi) preconditioner ``D = diag(A)``, one independent recurrence per column
of ``B``, all columns advanced by the same matrix products::

    r_0 = b,  z_0 = D⁻¹ r_0,  p_0 = z_0
    α_k = r_kᵀ z_k / p_kᵀ A p_k,   x_{k+1} = x_k + α_k p_k,   r_{k+1} = r_k − α_k A p_k
    z_{k+1} = D⁻¹ r_{k+1},   β_k = r_{k+1}ᵀ z_{k+1} / r_kᵀ z_k,   p_{k+1} = z_{k+1} + β_k p_k

A column stops changing once it reaches ``‖r‖ ≤ rtol ‖b‖``; the loop stops
when every column has.

Shapes:
    N: unknowns (the operator is N × N).
    R: right-hand sides (columns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["BatchedCGResult", "batched_conjugate_gradient"]


@dataclass(frozen=True)
class BatchedCGResult:
    """The outcome of :func:`batched_conjugate_gradient`.

    Attributes:
        solution: ``X`` (N, R).
        iterations: operator applications used.
        relative_residual: ``‖b_j − A x_j‖ / ‖b_j‖`` per column (R,), from the
            recurrence (0 for a zero column).
        converged: whether every column reached ``rtol``.
    """

    solution: torch.Tensor
    iterations: int
    relative_residual: torch.Tensor
    converged: bool


def batched_conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    rhs: torch.Tensor,
    diagonal: torch.Tensor | None = None,
    *,
    rtol: float = 1e-12,
    max_iter: int | None = None,
) -> BatchedCGResult:
    """Solve ``A X = B`` column by column for a symmetric positive definite ``A``.

    Args:
        matvec: ``V ↦ A V`` on (N, R) blocks.
        rhs: ``B``, floating, on the device the solve runs on.
        diagonal: ``diag(A)`` (N,), positive, for the Jacobi preconditioner;
            ``None``: no preconditioner.
        rtol: stop when every column has ``‖r‖ ≤ rtol ‖b‖``.
        max_iter: the most operator applications; default ``max(100, 2N)``.

    Returns:
        the solution, iteration count, residuals and whether all columns converged.

    Raises:
        ValueError: ``rhs`` not a floating (N, R) matrix, a diagonal of the wrong
            shape or not positive, a non-positive ``rtol`` or ``max_iter``, or a
            direction of non-positive curvature (``A`` not positive definite).

    Shapes:
        rhs, solution: (N, R); diagonal: (N,); relative_residual: (R,).
    """
    if not isinstance(rhs, torch.Tensor) or rhs.dim() != 2 or not rhs.is_floating_point():
        got = (
            f"{rhs.dtype} of shape {tuple(rhs.shape)}"
            if isinstance(rhs, torch.Tensor)
            else type(rhs).__name__
        )
        raise ValueError(f"rhs: expected a floating (N, R) matrix, got {got}")
    n = rhs.shape[0]
    if diagonal is not None:
        if diagonal.shape != (n,):
            raise ValueError(f"diagonal: expected shape ({n},), got {tuple(diagonal.shape)}")
        if not bool((diagonal > 0).all()):
            raise ValueError(
                "diagonal: expected a positive diagonal (A positive definite), "
                f"got minimum {float(diagonal.min()):.3e}"
            )
    if not rtol > 0:
        raise ValueError(f"rtol: expected a positive tolerance, got {rtol!r}")
    max_iter = max(100, 2 * n) if max_iter is None else max_iter
    if not (isinstance(max_iter, int) and max_iter > 0):
        raise ValueError(f"max_iter: expected a positive int, got {max_iter!r}")
    inverse = None if diagonal is None else diagonal.reciprocal().to(rhs.dtype).unsqueeze(1)

    def precondition(r: torch.Tensor) -> torch.Tensor:
        return r if inverse is None else inverse * r

    x = torch.zeros_like(rhs)
    r = rhs.clone()
    z = precondition(r)
    p = z.clone()
    rz = (r * z).sum(0)
    rhs_norm = torch.linalg.vector_norm(rhs, dim=0)
    target = rtol * rhs_norm
    zero = torch.zeros_like(rz)
    iterations = 0
    residual = rhs_norm.clone()
    while iterations < max_iter and not bool((residual <= target).all()):
        ap = matvec(p)
        iterations += 1
        curvature = (p * ap).sum(0)
        active = (rz > 0) & (residual > target)  # converged columns stay as they are
        if bool((active & (curvature <= 0)).any()):
            raise ValueError(
                "A is not positive definite: expected pᵀAp > 0, got "
                f"{float(curvature[active].min()):.3e} at iteration {iterations}"
            )
        alpha = torch.where(active, rz / torch.where(active, curvature, 1.0), zero)
        x = x + alpha * p
        r = r - alpha * ap
        z = precondition(r)
        rz_new = (r * z).sum(0)
        beta = torch.where(active, rz_new / torch.where(active, rz, 1.0), zero)
        p = z + beta * p
        rz = rz_new
        residual = torch.linalg.vector_norm(r, dim=0)
    relative = torch.where(rhs_norm > 0, residual / torch.where(rhs_norm > 0, rhs_norm, 1.0), zero)
    return BatchedCGResult(x, iterations, relative, bool((residual <= target).all()))
