"""Secondary objectives for functionally invariant paths, and the mode-connectivity curves.

Raghavan & Thomson (arXiv 2205.00334) use FIPs for three tasks, each a
secondary loss ``L_t(θ)`` followed while the metric keeps the function:

- sparsification: a progressive global magnitude target (the cubic schedule
  of Zhu & Gupta 2017, arXiv 1710.01878) pulls the smallest weights to zero,
  ``L_t = ½ Σ_{i ∉ M_t} θ_i²``, and a final hard mask ends the path;
- continual learning: the new task's cross-entropy (:class:`TaskLoss`) while
  the metric is measured on a buffer of old-task inputs;
- mode connectivity: ``L = ½ ‖θ − θ_B‖²`` moves toward another trained
  network (:class:`TowardNetwork`), compared with the straight line and a
  trained quadratic Bézier curve (Garipov et al. 2018, arXiv 1802.10026).

Shapes: ``P`` parameters, ``N`` data points, ``B`` batch, ``K`` classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from gdl_zoo._validation import check_positive_int
from gdl_zoo.weightspace.metric import ParameterLayout, check_inputs_device

__all__ = [
    "global_magnitude_mask",
    "apply_mask",
    "sparsity_of",
    "Sparsification",
    "TaskLoss",
    "TowardNetwork",
    "QuadraticBezier",
    "train_bezier",
    "losses_along",
    "loss_barrier",
]


def _check_sparsity(sparsity: float) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)):
        raise TypeError(f"sparsity: expected a number in [0, 1), got {type(sparsity).__name__}")
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity: expected a fraction in [0, 1), got {sparsity}")
    return float(sparsity)


def _prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weight matrices and kernels (dim ≥ 2); biases and norms are not pruned."""
    named = {n: p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2}
    if not named:
        raise ValueError(
            f"model: expected trainable weight matrices to prune, got none in "
            f"{type(model).__name__}"
        )
    return named


def global_magnitude_mask(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Keep-masks of global magnitude pruning: the ``sparsity`` fraction of smallest |w| is cut.

    Han et al. (2015), one threshold over all weight matrices::

        M = {i : |θ_i| > τ},  τ the ⌊s·n⌋-th smallest |θ_i|

    Args:
        model: its parameters of dim ≥ 2 are pruned.
        sparsity: ``s ∈ [0, 1)``.

    Returns:
        ``name -> bool mask`` (True = kept), shaped like each weight.
    """
    sparsity = _check_sparsity(sparsity)
    weights = _prunable(model)
    magnitudes = torch.cat([w.detach().abs().reshape(-1) for w in weights.values()])
    cut = int(sparsity * magnitudes.numel())
    if cut == 0:
        return {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    order = torch.argsort(magnitudes, stable=True)  # ties broken by position: exactly `cut` cut
    keep = torch.ones_like(magnitudes, dtype=torch.bool)
    keep[order[:cut]] = False
    parts = keep.split([w.numel() for w in weights.values()])
    return {n: k.view(w.shape) for (n, w), k in zip(weights.items(), parts)}


def apply_mask(model: nn.Module, mask: dict[str, torch.Tensor]) -> None:
    """Zero the pruned weights of ``model`` in place."""
    named = dict(model.named_parameters())
    with torch.no_grad():
        for name, keep in mask.items():
            named[name].mul_(keep.to(named[name].dtype))


def sparsity_of(model: nn.Module) -> float:
    """The fraction of exactly-zero entries among the weight matrices."""
    weights = _prunable(model).values()
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


class Sparsification:
    """The secondary loss toward a progressive global magnitude target.

    Raghavan & Thomson (arXiv 2205.00334) with the cubic schedule of Zhu &
    Gupta (arXiv 1710.01878)::

        s_t = s (1 − (1 − min(1, (t+1)/T))³),   L_t(θ) = ½ Σ_{i ∉ M(θ, s_t)} θ_i²

    with ``M(θ, s)`` the global magnitude keep-mask; :meth:`finalize` applies
    the hard mask at ``s``.

    Args:
        sparsity: the final ``s ∈ [0, 1)``.
        ramp_steps: ``T``, steps over which the target grows to ``s``.
    """

    def __init__(self, sparsity: float, ramp_steps: int):
        self.sparsity = _check_sparsity(sparsity)
        self.ramp_steps = check_positive_int(ramp_steps, "ramp_steps")

    def target_sparsity(self, step: int) -> float:
        """``s_t``."""
        progress = min(1.0, (step + 1) / self.ramp_steps)
        return self.sparsity * (1.0 - (1.0 - progress) ** 3)

    def __call__(self, model: nn.Module, step: int) -> torch.Tensor:
        mask = global_magnitude_mask(model, self.target_sparsity(step))
        named = dict(model.named_parameters())
        return 0.5 * sum(named[n].masked_select(~keep).pow(2).sum() for n, keep in mask.items())

    def finalize(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Apply the hard mask at the final sparsity; returns the keep-masks."""
        mask = global_magnitude_mask(model, self.sparsity)
        apply_mask(model, mask)
        return mask


class TaskLoss:
    """Cross-entropy of a task on a seeded minibatch per step.

    ``L_t(θ) = −(1/B) Σ_{b ∈ batch_t} log softmax f(x_b; θ)_{y_b}``, the batch of
    step ``t`` drawn from a generator seeded with ``seed + t`` (the same step
    always sees the same batch).

    Args:
        inputs: ``(N, …)``.
        targets: ``(N,)`` class indices.
        batch_size: ``B``.
        seed: the minibatch seed.

    Shapes:
        inputs: ``(N, …)``; targets ``(N,)``.
    """

    def __init__(
        self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 128, seed: int = 0
    ):
        if not isinstance(targets, torch.Tensor) or targets.dim() != 1:
            got = getattr(targets, "shape", type(targets).__name__)
            raise ValueError(f"targets: expected a (N,) tensor, got {got}")
        if len(inputs) != len(targets):
            raise ValueError(
                f"expected as many targets as inputs, got {len(targets)} and {len(inputs)}"
            )
        self.inputs, self.targets = inputs, targets
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.seed = seed

    def __call__(self, model: nn.Module, step: int) -> torch.Tensor:
        check_inputs_device(model, self.inputs)
        generator = torch.Generator().manual_seed(self.seed + step)
        index = torch.randperm(len(self.targets), generator=generator)[: self.batch_size]
        index = index.to(self.inputs.device)
        return F.cross_entropy(model(self.inputs[index]), self.targets[index])


class TowardNetwork:
    """``L(θ) = ½ ‖θ − θ_B‖²``: move toward another network of the same architecture.

    Args:
        target: the network ``B`` (same parameter names and shapes).
    """

    def __init__(self, target: nn.Module):
        self.layout = ParameterLayout.of(target)
        self.target = self.layout.parameters_of(target)

    def __call__(self, model: nn.Module, step: int) -> torch.Tensor:
        named = dict(model.named_parameters())
        theta = torch.cat([named[n].reshape(-1) for n in self.layout.names])
        if theta.shape != self.target.shape:
            raise ValueError(
                f"model: expected {self.target.numel()} parameters like the target, "
                f"got {theta.numel()}"
            )
        return 0.5 * (theta - self.target.to(theta.device)).pow(2).sum()


@dataclass
class QuadraticBezier:
    """The quadratic Bézier curve of Garipov et al. (arXiv 1802.10026) between two networks.

    ``θ(t) = (1−t)² θ_A + 2t(1−t) θ_C + t² θ_B``, ``t ∈ [0, 1]``.

    Attributes:
        start: ``θ_A`` (P,).
        end: ``θ_B`` (P,).
        control: ``θ_C`` (P,), trained by :func:`train_bezier`.
    """

    start: torch.Tensor
    end: torch.Tensor
    control: torch.Tensor

    def point(self, t: float | torch.Tensor) -> torch.Tensor:
        """``θ(t)`` (P,)."""
        return (1 - t) ** 2 * self.start + 2 * t * (1 - t) * self.control + t**2 * self.end


def train_bezier(
    model: nn.Module,
    start: torch.Tensor,
    end: torch.Tensor,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    steps: int = 500,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> QuadraticBezier:
    """Train the control point of a quadratic Bézier curve of low loss.

    Garipov et al. (arXiv 1802.10026): minimise ``E_{t ~ U[0,1]} L(θ(t))`` over
    ``θ_C`` (initialised at the midpoint) with Adam, one ``t`` and one
    minibatch per step, both drawn from a generator seeded with ``seed``.

    Args:
        model: the architecture, evaluated in its current mode (its parameters
            and buffers are not changed).
        start, end: ``θ_A``, ``θ_B`` (P,).
        inputs, targets: the training data ``(N, …)``, ``(N,)``.
        steps: Adam steps.
        batch_size: ``B``.
        lr: Adam's learning rate.
        seed: seeds ``t`` and the minibatches.

    Shapes:
        start, end, control: ``(P,)``.
    """
    layout = ParameterLayout.of(model)
    check_inputs_device(model, inputs)
    steps = check_positive_int(steps, "steps")
    control = (0.5 * (start + end)).clone().requires_grad_(True)
    curve = QuadraticBezier(start.detach(), end.detach(), control)
    optimiser = torch.optim.Adam([control], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    # copies: in train mode batch norm updates its running statistics in place
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    for _ in range(steps):
        t = float(torch.rand((), generator=generator))
        index = torch.randperm(len(targets), generator=generator)[:batch_size].to(inputs.device)
        logits = functional_call(
            model, (layout.unflatten(curve.point(t)), buffers), (inputs[index],)
        )
        loss = F.cross_entropy(logits, targets[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return QuadraticBezier(curve.start, curve.end, control.detach())


def losses_along(
    model: nn.Module,
    points: Sequence[torch.Tensor],
    loss_fn: Callable[[nn.Module], float],
) -> list[float]:
    """``loss_fn`` at each weight vector of a path, evaluated in ``model`` (restored after).

    Args:
        model: the architecture whose parameters are overwritten temporarily.
        points: weight vectors θ (P,).
        loss_fn: ``loss_fn(model) -> float``.
    """
    layout = ParameterLayout.of(model)
    saved = layout.parameters_of(model)
    device = saved.device
    try:
        out = []
        for theta in points:
            layout.load_into(model, theta.to(device))
            out.append(float(loss_fn(model)))
        return out
    finally:
        layout.load_into(model, saved)


def loss_barrier(losses: Sequence[float]) -> float:
    """The height of a path's loss barrier above its higher end point.

    ``max_i L_i − max(L_0, L_n)`` (Draxler et al. 2018, arXiv 1803.00885), ≥ 0.

    Args:
        losses: the loss along a path, end points included.
    """
    if len(losses) < 2:
        raise ValueError(f"losses: expected a path of at least 2 points, got {len(losses)}")
    return max(losses) - max(losses[0], losses[-1])
