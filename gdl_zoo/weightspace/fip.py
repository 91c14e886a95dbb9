"""One step along a functionally invariant path (FIP).

Raghavan & Thomson, "Engineering flexible machine learning systems by
traversing functionally invariant paths" (arXiv 2205.00334; Nature Machine
Intelligence 2024), after "Solving hybrid machine learning tasks by traversing
weight space geodesics" (arXiv 2106.02793).  At the base point θ with the
output-space metric G (:class:`~gdl_zoo.weightspace.metric.OutputMetric`) and
the gradient ``g = ∇L(θ)`` of a secondary objective to decrease, the step is
the trust-region problem::

    δθ* = argmin_{‖δθ‖ = ε}  ⟨δθ, G δθ⟩ + β ⟨δθ, g⟩
        = −(β/2) (G + μI)⁻¹ g,   μ chosen so that ‖δθ*‖ = ε

(the issue writes the objective as ``−β⟨θ, ∇L⟩`` for an objective to increase;
here ``L`` is decreased).  Small β moves along the directions G barely sees
(the function stays put); large β follows the gradient.  The problem is solved
on the Krylov space of ``g``: one Lanczos run (the CG iterates on ``G + μI``
for every μ at once, Gould et al. 1999) and a scalar root-find of
``‖δθ(μ)‖ = ε`` on the small tridiagonal ``T_k``.  With a fixed ``shift=μ`` the
step is instead the CG solution of ``(G + μI) x = −g`` scaled to length ε.

The penalty variant of the official code replaces the metric by a
Bhattacharyya distance between the softmax outputs of the moving network and an
anchor network: ``L(θ) + λ D_B(p_θ, p_anchor)``.

Shapes: ``P`` parameters, ``B`` batch, ``K`` classes, ``k`` Krylov dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.weightspace.conjugate_gradient import conjugate_gradient, lanczos
from gdl_zoo.weightspace.metric import OutputMetric, ParameterLayout

__all__ = [
    "FIPStep",
    "fip_step",
    "trust_region_coefficients",
    "flat_gradient",
    "bhattacharyya_distance",
    "check_epsilon",
]


@dataclass(frozen=True)
class FIPStep:
    """One FIP step.

    Attributes:
        tangent_vec: ``δθ*`` (P,), of norm ε.
        mu: the multiplier μ of the constraint.
        metric_length: ``⟨δθ, G δθ⟩``, the squared output change to first order.
        linear_decrease: ``−⟨δθ, g⟩``, the first-order decrease of the objective.
        krylov_dim: operator applications used.
    """

    tangent_vec: torch.Tensor
    mu: float
    metric_length: float
    linear_decrease: float
    krylov_dim: int


def check_epsilon(epsilon: float) -> float:
    """Require a finite step length ε > 0 and return it as a float."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
        raise TypeError(f"epsilon: expected a positive number, got {type(epsilon).__name__}")
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon: expected a step length ε > 0, got {epsilon}")
    return float(epsilon)


def flat_gradient(model: nn.Module, loss: torch.Tensor, layout: ParameterLayout) -> torch.Tensor:
    """``∇L(θ)`` as a (P,) vector for a scalar ``loss`` computed from ``model``.

    Raises:
        TypeError: the objective did not return a tensor.
        ValueError: a non-scalar or non-finite objective, or one that does not
            depend on the trainable parameters.
    """
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"objective: expected a scalar tensor, got {type(loss).__name__}")
    if loss.numel() != 1 or loss.dim() > 1:
        raise ValueError(
            f"objective: expected a scalar tensor (shape ()), got shape {tuple(loss.shape)}"
        )
    if not torch.isfinite(loss).all():
        raise ValueError(f"objective: expected a finite value, got {float(loss)}")
    if not loss.requires_grad:
        raise ValueError("objective: expected a loss that depends on the trainable parameters")
    named = dict(model.named_parameters())
    params = [named[n] for n in layout.names]
    grads = torch.autograd.grad(loss.reshape(()), params, allow_unused=True)
    return torch.cat(
        [(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)]
    )


def trust_region_coefficients(
    tridiagonal: torch.Tensor, scale: float, epsilon: float
) -> tuple[torch.Tensor, float]:
    """Solve ``min_{‖c‖=ε} cᵀ T c + 2 s c₁`` on a small symmetric ``T``: ``c = −s (T + μI)⁻¹ e₁``.

    With ``T = QΛQᵀ`` and ``z = Qᵀe₁``, ``‖c(μ)‖² = s² Σ z_i² / (λ_i + μ)²`` falls
    monotonically on ``μ > −λ_min``; μ is found by bisection in log scale.  In
    the hard case (``z`` orthogonal to the lowest eigenvector, ``‖c‖ < ε`` for
    every admissible μ) the lowest eigenvector is added to reach length ε.

    Args:
        tridiagonal: ``T`` (k, k), symmetric.
        scale: ``s = (β/2)‖g‖ > 0``.
        epsilon: ``ε > 0``.

    Returns:
        ``(c, μ)``: ``c`` (k,) float64 with ``‖c‖ = ε``.
    """
    evals, evecs = torch.linalg.eigh(tridiagonal.to(torch.float64))
    z = evecs[0]  # Qᵀ e₁
    lam_min = float(evals[0])

    def norm(shifted: float) -> float:  # ‖c‖ at μ = shifted − λ_min
        return scale * float(torch.linalg.vector_norm(z / (evals - lam_min + shifted)))

    hi = scale / epsilon  # every λ_i + μ ≥ hi gives ‖c‖ ≤ ε
    lo = hi * 1e-30
    if norm(lo) < epsilon:  # hard case
        mu = -lam_min
        safe = evals - lam_min > 1e-12 * max(1.0, abs(float(evals[-1])))
        c = torch.zeros_like(z)
        c[safe] = -scale * z[safe] / (evals[safe] - lam_min)
        c = evecs @ c
        extra = math.sqrt(max(epsilon**2 - float(c @ c), 0.0))
        c = c + extra * evecs[:, 0]
        return c * (epsilon / float(torch.linalg.vector_norm(c))), mu
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if norm(mid) > epsilon:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-14:
            break
    shifted = math.sqrt(lo * hi)
    c = evecs @ (-scale * z / (evals - lam_min + shifted))
    return c * (epsilon / float(torch.linalg.vector_norm(c))), shifted - lam_min


def fip_step(
    metric: OutputMetric,
    gradient: torch.Tensor,
    epsilon: float,
    *,
    beta: float = 1.0,
    max_iter: int = 10,
    shift: float | None = None,
) -> FIPStep:
    """The FIP step ``δθ* = −(β/2)(G + μI)⁻¹ g`` with ``‖δθ*‖ = ε``.

    Raghavan & Thomson (arXiv 2205.00334), solved as a Lanczos trust-region
    problem (Gould et al. 1999)::

        V_k, T_k = Lanczos(G, g);  c = argmin_{‖c‖=ε} cᵀT_k c + β‖g‖ c₁;  δθ = V_kᵀ c

    Args:
        metric: G at the base point.
        gradient: ``g = ∇L(θ)``, the gradient of the objective to decrease.
        epsilon: ``ε > 0``, the Euclidean length of the step.
        beta: ``β > 0``, the weight of the objective against the output change.
        max_iter: ``k``, the most metric-vector products (the Krylov dimension).
        shift: a fixed damping ``μ ≥ 0`` instead of the trust region: the CG
            solution of ``(G + μI) x = −g`` rescaled to length ε.

    Shapes:
        gradient, tangent_vec: ``(P,)``.

    Raises:
        ValueError: ε ≤ 0, β ≤ 0, a gradient of the wrong shape, or a zero gradient.
    """
    epsilon = check_epsilon(epsilon)
    if not beta > 0:
        raise ValueError(f"beta: expected β > 0, got {beta}")
    max_iter = check_positive_int(max_iter, "max_iter")
    size = metric.layout.size
    if not isinstance(gradient, torch.Tensor) or gradient.shape != (size,):
        got = tuple(gradient.shape) if isinstance(gradient, torch.Tensor) else type(gradient)
        raise ValueError(f"gradient: expected shape ({size},), got {got}")
    gradient = gradient.detach()
    grad_norm = float(torch.linalg.vector_norm(gradient))
    if not grad_norm > 0 or not math.isfinite(grad_norm):
        raise ValueError(
            f"gradient: expected a non-zero finite gradient of the objective, got norm {grad_norm}"
        )
    if shift is not None:
        solve = conjugate_gradient(metric, -gradient, shift=shift, max_iter=max_iter)
        x = solve.solution
        tangent_vec = x * (epsilon / float(torch.linalg.vector_norm(x)))
        metric_length = metric.inner_product(tangent_vec, tangent_vec)
        return FIPStep(
            tangent_vec,
            float(shift),
            metric_length,
            -float(tangent_vec @ gradient),
            solve.iterations,
        )
    krylov = lanczos(metric, gradient, max_iter=max_iter)
    tridiagonal = krylov.tridiagonal()
    coefficients, mu = trust_region_coefficients(tridiagonal, 0.5 * beta * grad_norm, epsilon)
    tangent_vec = coefficients.to(krylov.basis.dtype) @ krylov.basis
    # a float32 Krylov basis is orthonormal to ~1e-6 only: put the step back on the sphere
    length = float(torch.linalg.vector_norm(tangent_vec, dtype=torch.float64))
    tangent_vec = tangent_vec * (epsilon / length)
    metric_length = float(coefficients @ tridiagonal @ coefficients)
    return FIPStep(
        tangent_vec,
        mu,
        metric_length,
        -float(coefficients[0]) * grad_norm,
        len(krylov.diagonal),
    )


def bhattacharyya_distance(logits: torch.Tensor, anchor_logits: torch.Tensor) -> torch.Tensor:
    """Mean Bhattacharyya distance between the softmax distributions of two networks.

    The penalty of the official FIP code (Raghavan & Thomson, arXiv 2205.00334)::

        D_B(p, q) = (1/B) Σ_b −log Σ_k sqrt(p_bk q_bk)

    computed stably as ``−logsumexp(½ log p + ½ log q)``.

    Args:
        logits: outputs of the moving network, ``(B, K)``.
        anchor_logits: outputs of the anchor network, ``(B, K)``.

    Shapes:
        logits, anchor_logits: ``(B, K)``; result ``()``.
    """
    if logits.shape != anchor_logits.shape or logits.dim() != 2:
        raise ValueError(
            f"expected two (B, K) logit tensors of the same shape, got {tuple(logits.shape)} "
            f"and {tuple(anchor_logits.shape)}"
        )
    half = 0.5 * (torch.log_softmax(logits, -1) + torch.log_softmax(anchor_logits, -1))
    return -torch.logsumexp(half, dim=-1).mean()
