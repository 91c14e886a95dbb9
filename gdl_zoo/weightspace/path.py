"""Traversing a functionally invariant path: many FIP steps, recorded as a :class:`Path`.

Raghavan & Thomson, "Engineering flexible machine learning systems by
traversing functionally invariant paths" (arXiv 2205.00334).  Starting from
θ_0, the metric is linearised at an anchor point θ_a on a fresh minibatch of
``data`` and each step moves::

    θ_{t+1} = θ_t + δθ_t,   δθ_t = FIP step of ∇L_t(θ_t) in G(θ_a), ‖δθ_t‖ = ε

(:func:`~gdl_zoo.weightspace.fip.fip_step`); the anchor is moved to the current
point (the metric re-anchored) every ``reanchor_every`` steps, by default at
every step.  With ``method="penalty"`` the step is
``−∇(L + λ D_B(p_θ, p_anchor))`` normalised to length ε, the anchor network
reset to the current one every ``reanchor_every`` steps (by default never).
Batch-norm running statistics are recomputed on ``data`` along the way.  The network is
evaluated in eval mode throughout.  Recorded per step: the RMS output distance
from θ_0 on a fixed probe batch, the objective and (optionally) an accuracy;
the weights are kept as deltas ``θ_t − θ_0`` at checkpoints.

Shapes: ``P`` parameters, ``N`` data points, ``B`` batch, ``K`` outputs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call

from gdl_zoo._validation import check_positive_int
from gdl_zoo.weightspace.fip import bhattacharyya_distance, check_epsilon, fip_step, flat_gradient
from gdl_zoo.weightspace.metric import (
    FORWARD_MODES,
    METRIC_KINDS,
    OutputMetric,
    ParameterLayout,
    check_inputs_device,
)

__all__ = ["Path", "traverse", "recompute_batch_norm", "METHODS"]

#: The step rules of :func:`traverse`.
METHODS = ("trust_region", "penalty")

Objective = Callable[[nn.Module, int], torch.Tensor]


@dataclass
class Path:
    """A traversed path in weight space.

    Attributes:
        layout: how the flat vectors map to the model's parameters.
        base_point: θ_0 (P,), on the CPU.
        output_distance: per step ``t = 0…S``, ``sqrt(mean_b ‖f(x_b; θ_t) − f(x_b; θ_0)‖²)``.
        objective: per step, the objective ``L_t(θ_t)``.
        accuracy: per step, ``evaluate(model)`` or ``nan`` where not evaluated.
        checkpoint_steps: the steps whose weights are kept.
        checkpoints: ``θ_t − θ_0`` (P,) at those steps, on the CPU.
        checkpoint_buffers: the model's buffers (batch-norm statistics) there.
        anchor_steps: the steps at which the metric (or the penalty's anchor
            network) was anchored at the current point.
    """

    layout: ParameterLayout
    base_point: torch.Tensor
    output_distance: list[float] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    checkpoint_steps: list[int] = field(default_factory=list)
    checkpoints: list[torch.Tensor] = field(default_factory=list)
    checkpoint_buffers: list[dict[str, torch.Tensor]] = field(default_factory=list)
    anchor_steps: list[int] = field(default_factory=list)

    def point(self, index: int) -> torch.Tensor:
        """θ at checkpoint ``index``: ``θ_0 + delta``, a (P,) CPU vector."""
        return self.base_point + self.checkpoints[index]

    def load(self, model: nn.Module, index: int) -> nn.Module:
        """Write checkpoint ``index`` (parameters and buffers) into ``model``; returns it."""
        device = next(model.parameters()).device
        self.layout.load_into(model, self.point(index).to(device))
        buffers = dict(model.named_buffers())
        with torch.no_grad():
            for name, value in self.checkpoint_buffers[index].items():
                buffers[name].copy_(value)
        return model


def _batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def recompute_batch_norm(model: nn.Module, data: torch.Tensor, batch_size: int = 256) -> bool:
    """Reset batch-norm running statistics and re-estimate them on ``data``.

    Ioffe & Szegedy (2015); the cumulative average over the batches of ``data``
    (``momentum=None``), as after a weight change the old statistics are stale.
    Only the batch-norm layers run in train mode (dropout stays off, so the
    statistics are those of the network in eval mode); every module's own mode
    is restored after::

        μ = mean over batches of the batch means,  σ² likewise

    Args:
        model: any module; nothing happens without batch-norm layers.
        data: inputs ``(N, …)`` on the model's device.
        batch_size: ``B``.

    Returns:
        Whether the model has batch-norm layers (statistics were recomputed).
    """
    norms = _batch_norms(model)
    if not norms:
        return False
    check_inputs_device(model, data, "data")
    batch_size = check_positive_int(batch_size, "batch_size")
    momenta = [m.momentum for m in norms]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()  # dropout off: the statistics of the network as it is evaluated
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        with torch.no_grad():
            for chunk in data.split(batch_size):
                model(chunk)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        for m, training in modes:
            m.training = training
    return True


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def traverse(
    model: nn.Module,
    data: torch.Tensor,
    objective: Objective,
    steps: int,
    *,
    epsilon: float = 0.01,
    beta: float = 1.0,
    method: str = "trust_region",
    metric: str = "euclidean",
    forward_mode: str = "auto",
    batch_size: int = 128,
    krylov_dim: int = 10,
    penalty_weight: float = 1.0,
    reanchor_every: int | None = None,
    batch_norm_every: int = 1,
    checkpoint_every: int | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    evaluate_every: int = 1,
    seed: int = 0,
) -> Path:
    """Move ``model`` along a functionally invariant path for ``steps`` steps (in place).

    Raghavan & Thomson (arXiv 2205.00334)::

        θ_{t+1} = θ_t + argmin_{‖δ‖=ε} ⟨δ, G_t δ⟩ + β⟨δ, ∇L_t(θ_t)⟩

    with ``G_t`` the output metric of θ_t on a minibatch of ``data`` drawn with
    a generator seeded by ``seed`` (the path is reproducible from the seed).

    Args:
        model: the network; moved in place, in eval mode during the traversal.
        data: inputs ``(N, …)`` on which the function is kept (the metric
            data, e.g. a buffer of old-task inputs), on the model's device.
        objective: ``objective(model, step) -> scalar tensor``, the secondary
            loss to decrease.
        steps: ``S``, the number of steps.
        epsilon: ``ε > 0``, the Euclidean length of every step.
        beta: ``β > 0``, the objective's weight against the output change.
        method: ``"trust_region"`` (the FIP step) or ``"penalty"`` (the
            official code's Bhattacharyya penalty).
        metric: ``"euclidean"`` (G = JᵀJ) or ``"fisher"``.
        forward_mode: how ``J v`` is computed (see
            :class:`~gdl_zoo.weightspace.metric.OutputMetric`); ``"double_vjp"``
            reuses the one linearisation of each anchor for both products.
        batch_size: ``B``, the metric minibatch; the first ``B`` points of
            ``data`` are the probe batch of the output distance.
        krylov_dim: metric-vector products per trust-region step.
        penalty_weight: ``λ`` of the penalty method.
        reanchor_every: move the anchor to the current point every this many
            steps.  ``trust_region``: the metric is re-linearised there (on a
            fresh minibatch); ``None`` means every step.  ``penalty``: the
            anchor network of the Bhattacharyya penalty; ``None`` keeps θ_0.
        batch_norm_every: recompute batch-norm statistics every this many steps.
        checkpoint_every: keep ``θ_t − θ_0`` every this many steps (always at
            0 and ``S``); ``None`` keeps only those two.
        evaluate: ``evaluate(model) -> float`` (e.g. test accuracy), recorded
            every ``evaluate_every`` steps and at 0 and ``S``.
        evaluate_every: see ``evaluate``.
        seed: seeds the minibatch order.

    Returns:
        The :class:`Path`.

    Shapes:
        data: ``(N, …)``; outputs ``(B, K)``.

    Raises:
        ValueError: no trainable parameters, data on another device, ε ≤ 0,
            β ≤ 0, a non-scalar objective, an unknown method or metric.
        TypeError: an objective that is not callable or returns no tensor.
    """
    layout = ParameterLayout.of(model)
    check_inputs_device(model, data, "data")
    epsilon = check_epsilon(epsilon)
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if metric not in METRIC_KINDS:
        raise ValueError(f"metric: expected one of {METRIC_KINDS}, got {metric!r}")
    if forward_mode not in FORWARD_MODES:
        raise ValueError(f"forward_mode: expected one of {FORWARD_MODES}, got {forward_mode!r}")
    if not beta > 0:
        raise ValueError(f"beta: expected β > 0, got {beta}")
    if not callable(objective):
        raise TypeError(f"objective: expected a callable, got {type(objective).__name__}")
    for value, name in ((batch_norm_every, "batch_norm_every"), (evaluate_every, "evaluate_every")):
        check_positive_int(value, name)
    for value, name in ((reanchor_every, "reanchor_every"), (checkpoint_every, "checkpoint_every")):
        if value is not None:
            check_positive_int(value, name)
    generator = torch.Generator().manual_seed(seed)
    with _eval_mode(model):
        probe = data[:batch_size]
        with torch.no_grad():
            reference = model(probe)
        path = Path(layout, layout.parameters_of(model).cpu())
        anchor = (layout.parameters_of(model), _buffers(model))
        if reanchor_every is None:
            reanchor_every = 1 if method == "trust_region" else steps + 1
        operator = None

        def record(step: int) -> None:
            with torch.no_grad():
                moved = model(probe)
            path.output_distance.append(float((moved - reference).pow(2).sum(-1).mean().sqrt()))
            due = evaluate is not None and (step % evaluate_every == 0 or step == steps)
            path.accuracy.append(float(evaluate(model)) if due else math.nan)
            if step in (0, steps) or (checkpoint_every and step % checkpoint_every == 0):
                path.checkpoint_steps.append(step)
                path.checkpoints.append(layout.parameters_of(model).cpu() - path.base_point)
                path.checkpoint_buffers.append(_buffers(model))

        record(0)
        for step in range(steps):
            order = torch.randperm(len(data), generator=generator)[:batch_size]
            batch = data[order.to(data.device)]
            loss = objective(model, step)
            if step % reanchor_every == 0:
                path.anchor_steps.append(step)
                anchor = (layout.parameters_of(model), _buffers(model))
                if method == "trust_region":
                    operator = OutputMetric(model, batch, kind=metric, forward_mode=forward_mode)
            if method == "penalty":
                with torch.no_grad():
                    anchor_logits = functional_call(
                        model, (layout.unflatten(anchor[0]), anchor[1]), (batch,)
                    )
                penalty = bhattacharyya_distance(model(batch), anchor_logits)
                gradient = flat_gradient(model, loss + penalty_weight * penalty, layout)
            else:
                gradient = flat_gradient(model, loss, layout)
            grad_norm = float(torch.linalg.vector_norm(gradient))
            if grad_norm == 0:  # a stationary point of the objective: stay
                tangent_vec = torch.zeros_like(gradient)
            elif method == "penalty":
                tangent_vec = -epsilon * gradient / grad_norm
            else:
                tangent_vec = fip_step(
                    operator, gradient, epsilon, beta=beta, max_iter=krylov_dim
                ).tangent_vec
            path.objective.append(float(loss.detach()))
            layout.load_into(model, layout.parameters_of(model) + tangent_vec)
            if (step + 1) % batch_norm_every == 0:
                recompute_batch_norm(model, data, batch_size)
            record(step + 1)
        path.objective.append(float(objective(model, steps).detach()))
        return path


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: b.clone() for n, b in model.named_buffers()}
