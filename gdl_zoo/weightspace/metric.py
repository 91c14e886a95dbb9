"""Output-space metrics on a network's weight space, applied to vectors without forming J.

Raghavan & Thomson, "Solving hybrid machine learning tasks by traversing weight
space geodesics" (arXiv 2106.02793) and "Engineering flexible machine learning
systems by traversing functionally invariant paths" (arXiv 2205.00334): the
weights θ ∈ R^P of a network ``f(x; θ)`` carry the pull-back of a metric on its
outputs.  Over a batch ``x_1, …, x_B`` with per-sample Jacobians
``J_b = ∂f(x_b; θ)/∂θ`` (K × P)::

    G(θ) = (1/B) Σ_b J_bᵀ H_b J_b

with ``H_b = I`` (``kind="euclidean"``: G = JᵀJ/B, how far the outputs move) or
``H_b = diag p_b − p_b p_bᵀ``, ``p_b = softmax f(x_b; θ)`` (``kind="fisher"``:
the Fisher information of the predictive distribution, i.e. the generalised
Gauss–Newton matrix of the cross-entropy).  A product is
``G v = (1/B) Jᵀ (H (J v))``: one forward-mode product ``J v``
(:func:`torch.func.jvp`) and one reverse-mode product ``Jᵀ u`` through the
``vjp_fn`` that :func:`torch.func.vjp` returns once per base point, so neither
J (B·K × P) nor G (P × P) is ever formed.  For operators without forward-mode
rules, ``J v`` is the vjp of the linear map ``u ↦ Jᵀ u`` (double vjp), which
reuses the same linearisation.

Data parallel: with ``process_group``, each rank holds a shard ``x^(r)`` of
the batch (``B_r`` samples, ``B = Σ_r B_r``) and every product is the one of the
global batch, the local ``J_rᵀ H_r J_r v`` summed over ranks
(``all_reduce``)::

    G v = (1/B) Σ_r J_rᵀ H_r J_r v

so the Krylov solvers and the FIP step, run on every rank with the same
vectors, take the same steps as one process holding the whole batch.

The network is evaluated as a deterministic function through
:func:`torch.func.functional_call`: in eval mode (dropout off, batch norm with
the running statistics in ``buffers``), the module's own mode restored after.

Shapes: ``P`` parameters, ``B`` batch, ``K`` outputs per sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, jvp, vjp

from gdl_zoo.training.distributed import sum_over_ranks

__all__ = [
    "ParameterLayout",
    "OutputMetric",
    "check_inputs_device",
    "METRIC_KINDS",
    "FORWARD_MODES",
]

#: The output metrics: H = I, or the softmax Fisher H = diag p − ppᵀ.
METRIC_KINDS = ("euclidean", "fisher")
#: How ``J v`` is computed: forward mode, the double vjp, or forward mode with fallback.
FORWARD_MODES = ("auto", "jvp", "double_vjp")


@dataclass(frozen=True)
class ParameterLayout:
    """How the trainable parameters of a module sit in one flat vector θ ∈ R^P.

    Attributes:
        names: parameter names, in ``named_parameters()`` order.
        shapes: their shapes.
        numels: their sizes; ``P = sum(numels)``.
    """

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    numels: tuple[int, ...]

    @classmethod
    def of(cls, model: nn.Module) -> ParameterLayout:
        """The layout of ``model``'s parameters that require gradients.

        Raises:
            TypeError: ``model`` is not an ``nn.Module``.
            ValueError: it has no trainable parameters.
        """
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError(
                f"model: expected at least one trainable parameter, got none in "
                f"{type(model).__name__} (all frozen or parameter-free)"
            )
        return cls(
            tuple(n for n, _ in named),
            tuple(p.shape for _, p in named),
            tuple(p.numel() for _, p in named),
        )

    @property
    def size(self) -> int:
        """``P``, the dimension of the weight space."""
        return sum(self.numels)

    def flatten(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate ``tensors[name]`` for every name into a (P,) vector."""
        return torch.cat([tensors[n].reshape(-1) for n in self.names])

    def unflatten(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of a (P,) vector shaped like the parameters, keyed by name."""
        if vector.dim() != 1 or vector.numel() != self.size:
            raise ValueError(
                f"expected a flat weight-space vector of shape ({self.size},), "
                f"got {tuple(vector.shape)}"
            )
        parts = vector.split(self.numels)
        return {n: q.view(s) for n, q, s in zip(self.names, parts, self.shapes)}

    def parameters_of(self, model: nn.Module) -> torch.Tensor:
        """The current parameters of ``model`` as a detached (P,) vector (a copy)."""
        named = dict(model.named_parameters())
        return torch.cat([named[n].detach().reshape(-1) for n in self.names])

    def load_into(self, model: nn.Module, vector: torch.Tensor) -> None:
        """Copy a (P,) vector into ``model``'s parameters in place."""
        named = dict(model.named_parameters())
        with torch.no_grad():
            for n, value in self.unflatten(vector).items():
                named[n].copy_(value)


def check_inputs_device(model: nn.Module, inputs: torch.Tensor, name: str = "inputs") -> None:
    """Require ``inputs`` to be a tensor on the device of ``model``'s parameters."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(inputs).__name__}")
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else inputs.device
    if inputs.device != device:
        raise ValueError(
            f"{name}: expected data on the model's device {device}, got {inputs.device}; "
            "move the data (or the model) first"
        )
    if inputs.numel() == 0 or inputs.dim() == 0:
        raise ValueError(f"{name}: expected a non-empty batch, got shape {tuple(inputs.shape)}")


class OutputMetric:
    """The metric G(θ) = (1/B) Σ_b J_bᵀ H_b J_b at one base point, as a linear operator.

    Raghavan & Thomson (arXiv 2106.02793, 2205.00334), the weight-space metric
    of functionally invariant paths::

        ⟨u, v⟩_θ = uᵀ G(θ) v,   G v = (1/B) Jᵀ H J v

    Construction runs the network once (``vjp``) and keeps the linearisation;
    each :meth:`__call__` costs one ``jvp`` (or one extra vjp in the
    ``double_vjp`` mode) and one reuse of the stored ``vjp_fn``.

    Args:
        model: the network; its trainable parameters span the weight space.
        inputs: the batch the metric is measured on, ``(B, …)``, on the model's device.
        kind: ``"euclidean"`` (H = I) or ``"fisher"`` (H = diag p − ppᵀ of the softmax).
        base_point: θ as a (P,) vector; default the model's current parameters.
        buffers: buffers for :func:`functional_call` (batch-norm running
            statistics); default the model's own.  They are copied, so the
            metric stays the one of its base point when the model changes.
        forward_mode: ``"jvp"`` (forward-mode AD), ``"double_vjp"`` (``J v`` as
            the vjp of ``u ↦ Jᵀu``), or ``"auto"``: jvp, falling back to
            double vjp when an operator has no forward-mode rule.
        process_group: a :mod:`torch.distributed` group (e.g.
            ``torch.distributed.group.WORLD``) whose ranks each hold a shard
            of the batch in ``inputs``; the metric is then the one of the
            global batch, ``(1/B) Σ_r J_rᵀ H_r J_r`` with ``B`` the sum of the
            shard sizes (shards may differ in size).  Every rank must build
            the metric and apply it to the same vectors, in the same order.
            ``None`` (default): the batch is all in ``inputs``.

    Attributes:
        batch_size: ``B``, the batch the products are normalised by: the
            global batch under ``process_group``.

    Shapes:
        inputs: ``(B, …)`` (``(B_r, …)``, this rank's shard, under
        ``process_group``); outputs ``f(x; θ)``: ``(B, K)``; vectors: ``(P,)``.

    Raises:
        ValueError: no trainable parameters, inputs on another device or empty,
            an unknown ``kind``/``forward_mode``, outputs not ``(B, K)`` or not
            finite at the base point.
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        *,
        kind: str = "euclidean",
        base_point: torch.Tensor | None = None,
        buffers: Mapping[str, torch.Tensor] | None = None,
        forward_mode: str = "auto",
        process_group: torch.distributed.ProcessGroup | None = None,
    ):
        if kind not in METRIC_KINDS:
            raise ValueError(f"kind: expected one of {METRIC_KINDS}, got {kind!r}")
        if forward_mode not in FORWARD_MODES:
            raise ValueError(f"forward_mode: expected one of {FORWARD_MODES}, got {forward_mode!r}")
        self.layout = ParameterLayout.of(model)
        check_inputs_device(model, inputs)
        self.model, self.inputs, self.kind = model, inputs, kind
        self.process_group = process_group
        if buffers is None:
            buffers = dict(model.named_buffers())
        # a snapshot: later in-place updates (batch-norm statistics) must not change G
        self.buffers = {n: b.detach().clone() for n, b in buffers.items()}
        if base_point is None:
            base_point = self.layout.parameters_of(model)
        elif base_point.shape != (self.layout.size,):
            raise ValueError(
                f"base_point: expected shape ({self.layout.size},), got {tuple(base_point.shape)}"
            )
        self.base_point = base_point.detach()
        self.forward_mode = "jvp" if forward_mode == "auto" else forward_mode
        self._fallback = forward_mode == "auto"
        outputs, self._vjp_fn = vjp(self.network_function, self.base_point)
        if outputs.dim() != 2:
            raise ValueError(
                f"the network's output: expected shape (B, K), got {tuple(outputs.shape)}"
            )
        # one reduction of (B_r, non-finite on r): every rank learns B and fails together
        local = [outputs.shape[0], int(not bool(torch.isfinite(outputs).all()))]
        batch_size, nonfinite = sum_over_ranks(
            torch.tensor(local, device=outputs.device), process_group
        ).tolist()
        if nonfinite:
            raise ValueError(
                "the network's output at the base point: expected finite values, got inf or NaN "
                "(every metric-vector product would be NaN)"
            )
        self.outputs = outputs.detach()
        self.batch_size = batch_size
        self.probabilities = torch.softmax(self.outputs, dim=-1) if kind == "fisher" else None
        self._double_vjp_fn = None

    def network_function(self, theta: torch.Tensor) -> torch.Tensor:
        """``f(inputs; θ)`` evaluated in eval mode, θ a (P,) vector; returns ``(B, K)``."""
        was_training = self.model.training
        self.model.eval()
        try:
            return functional_call(
                self.model, (self.layout.unflatten(theta), self.buffers), (self.inputs,)
            )
        finally:
            self.model.train(was_training)

    def jvp(self, tangent_vec: torch.Tensor) -> torch.Tensor:
        """``J v``, the change of the outputs along ``tangent_vec``: (P,) → (B, K) (this rank's)."""
        self._check_vector(tangent_vec)
        if self.forward_mode == "jvp":
            try:
                return jvp(self.network_function, (self.base_point,), (tangent_vec,))[1]
            except (RuntimeError, NotImplementedError):
                if not self._fallback:
                    raise
                self.forward_mode = "double_vjp"
        if self._double_vjp_fn is None:
            cotangent = torch.zeros_like(self.outputs)
            _, self._double_vjp_fn = vjp(lambda u: self._vjp_fn(u)[0], cotangent)
        return self._double_vjp_fn(tangent_vec)[0]

    def vjp(self, cotangent: torch.Tensor) -> torch.Tensor:
        """``Jᵀ u`` for output cotangents ``u``: (B, K) → (P,), over this rank's shard only."""
        return self._vjp_fn(cotangent)[0]

    def output_hessian(self, output_tangent: torch.Tensor) -> torch.Tensor:
        """``H u`` per sample: ``u`` (euclidean) or ``p ⊙ u − p (pᵀu)`` (fisher); (B, K)."""
        if self.kind == "euclidean":
            return output_tangent
        p = self.probabilities
        return p * output_tangent - p * (p * output_tangent).sum(-1, keepdim=True)

    def __call__(self, tangent_vec: torch.Tensor) -> torch.Tensor:
        """``G v = (1/B) Jᵀ H J v`` for a (P,) tangent vector (summed over ranks); returns (P,)."""
        local = self.vjp(self.output_hessian(self.jvp(tangent_vec)))
        return sum_over_ranks(local, self.process_group) / self.batch_size

    def inner_product(self, tangent_vec_a: torch.Tensor, tangent_vec_b: torch.Tensor) -> float:
        """``⟨a, b⟩_θ = aᵀ G b`` through one jvp of each vector (no vjp needed)."""
        ja, jb = self.jvp(tangent_vec_a), self.jvp(tangent_vec_b)
        local = (ja * self.output_hessian(jb)).sum()
        return float(sum_over_ranks(local, self.process_group) / self.batch_size)

    def _check_vector(self, v: torch.Tensor) -> None:
        if not isinstance(v, torch.Tensor) or v.shape != (self.layout.size,):
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"tangent_vec: expected shape ({self.layout.size},), got {got}")
