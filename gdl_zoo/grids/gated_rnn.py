"""Gated recurrences that are (approximately) invariant to time warping, with chrono init.

A recurrent model reads a sequence ``z(t)`` sampled from a continuous signal.  If
the clock is warped, ``t ↦ τ(t)``, a model whose answer should not depend on the
sampling rate must adapt how much new information each step lets in.  Bronstein
et al. 2021 (*Geometric Deep Learning*, arXiv 2104.13478, Eq. 53) discretise the
warped continuous recurrence ``dh/dt = (dτ/dt)·(R − h)`` into the gated update

    h(t+1) = Γ(t)·R(z(t), h(t)) + (1 − Γ(t))·h(t),

with a learned gate ``Γ`` in the role of ``dτ/dt``.  Integrating a known clock
rate ``s = dτ/dt`` exactly over one step of constant input gives the rescaled gate
``Γ_s = 1 − (1 − Γ)^s`` used here.  Tallec & Ollivier 2018 (*Can recurrent neural
networks warp time?*, ICLR) show that gates learn such time constants and
initialise them to cover the expected ones ("chrono init").

Shapes use ``B`` batch, ``T`` time steps, ``C`` input channels, ``H`` hidden size,
``K`` classes.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo._validation import check_floating, check_positive_int, check_signal

__all__ = ["chrono_bias_", "GatedRNN", "ChronoLSTM", "GatedRNNClassifier"]


def _check_t_max(t_max, name: str = "t_max") -> float:
    if isinstance(t_max, bool) or not isinstance(t_max, Real) or not math.isfinite(t_max):
        raise ValueError(f"{name}: expected a finite real number > 2, got {t_max!r}")
    if t_max <= 2:
        raise ValueError(f"{name}: expected a finite real number > 2, got {t_max!r}")
    return float(t_max)


def chrono_bias_(
    bias: torch.Tensor, t_max: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Chrono-initialise, in place, the bias of a gate that lets new information in.

    Tallec & Ollivier 2018, *Can recurrent neural networks warp time?* (ICLR).
    For a gate ``Γ = σ(a)`` weighing the new candidate (an LSTM input gate, the
    ``Γ`` of :class:`GatedRNN`), the bias is

        b = −log u,   u ~ U(1, t_max − 1),

    so that ``Γ = 1/(1 + u)`` at zero input and the characteristic times
    ``1/Γ = 1 + u`` of the units spread uniformly over ``[2, t_max]``.
    An LSTM forget gate takes the opposite, ``+log u``.

    Args:
        bias: the bias tensor to overwrite (any shape).
        t_max: the longest expected dependency, in steps; must exceed 2.
        generator: draws ``u``; ``None`` uses torch's global generator.

    Returns:
        ``bias``, modified in place.

    Raises:
        TypeError: ``bias`` is not a floating tensor.
        ValueError: ``t_max`` is not a finite number greater than 2.
    """
    if not isinstance(bias, torch.Tensor):
        raise TypeError(f"bias: expected a torch.Tensor, got {type(bias).__name__}")
    if not bias.is_floating_point():
        raise TypeError(f"bias: expected a floating-point tensor, got dtype {bias.dtype}")
    t_max = _check_t_max(t_max)
    with torch.no_grad():
        u = torch.empty(bias.shape, dtype=bias.dtype)  # on the CPU, where generators live
        u.uniform_(1.0, t_max - 1.0, generator=generator)
        bias.copy_(-torch.log(u))
    return bias


def _time_scale_tensor(time_scale, z: torch.Tensor) -> torch.Tensor:
    """Validate ``time_scale`` and return it as a ``(B, T, 1)`` view in ``z``'s dtype."""
    batch, steps = z.shape[:2]
    expected = (
        f"a positive number or a tensor of shape (), (B,) = ({batch},) "
        f"or (B, T) = ({batch}, {steps})"
    )
    if isinstance(time_scale, Real) and not isinstance(time_scale, bool):
        scale = torch.tensor(float(time_scale), dtype=z.dtype, device=z.device)
    elif isinstance(time_scale, torch.Tensor) and time_scale.dtype != torch.bool:
        if time_scale.is_complex():
            raise TypeError(f"time_scale: expected real values, got dtype {time_scale.dtype}")
        scale = time_scale.to(dtype=z.dtype, device=z.device)
    else:
        raise TypeError(f"time_scale: expected {expected}, got {type(time_scale).__name__}")
    shape = tuple(scale.shape)
    if scale.dim() == 0:
        scale = scale.reshape(1, 1, 1)
    elif scale.dim() == 1 and shape[0] in (1, batch):
        scale = scale.reshape(-1, 1, 1)
    elif scale.dim() == 2 and shape[0] in (1, batch) and shape[1] in (1, steps):
        scale = scale.unsqueeze(-1)
    else:
        raise ValueError(f"time_scale: expected {expected}, got shape {shape}")
    if not torch.compiler.is_compiling() and not bool((torch.isfinite(scale) & (scale > 0)).all()):
        raise ValueError(
            f"time_scale: expected positive finite values, got min {float(scale.min()):.3g}, "
            f"max {float(scale.max()):.3g}"
        )
    return scale.expand(batch, steps, 1)


class GatedRNN(nn.Module):
    """Time-warping-aware gated recurrence (GDL book Eq. 53) with an explicit clock rate.

    Bronstein, Bruna, Cohen, Veličković 2021, *Geometric Deep Learning*, Eq. 53;
    gate rescaling and chrono init after Tallec & Ollivier 2018.  With clock
    rate ``s(t) = dτ/dt`` (``time_scale``, default 1)::

        R(t)   = tanh(W z(t) + U h(t) + b)                 (U absent if not recurrent_candidate)
        a(t)   = W_Γ z(t) + U_Γ h(t) + b_Γ                 (U_Γ absent if not recurrent_gate)
        Γ_s(t) = 1 − (1 − σ(a(t)))^s(t) = −expm1(−s(t)·softplus(a(t)))
        h(t+1) = Γ_s(t)·R(t) + (1 − Γ_s(t))·h(t)

    With both flags off the model is a leaky integrator of input features and is
    *exactly* invariant to integer slow-downs: holding every step ``k`` times and
    dividing ``time_scale`` by ``k`` gives ``states_k[:, k-1::k] == states``.
    With recurrence the invariance holds in the limit of fine sampling (the
    slowed runs are Euler steps of one ODE) and approximately at ``k = 1``.

    Args:
        input_size: ``C``.
        hidden_size: ``H``.
        recurrent_gate: whether the gate reads the state (``U_Γ``).
        recurrent_candidate: whether the candidate reads the state (``U``).
        chrono_tmax: if given, chrono-initialise ``b_Γ`` (:func:`chrono_bias_`)
            so that time constants spread over ``[2, chrono_tmax]`` steps.

    Shapes:
        - z: ``(B, T, C)``
        - time_scale: ``()``, ``(B,)`` or ``(B, T)`` (positive)
        - h0: ``(B, H)``
        - output: ``(states (B, T, H), h_T (B, H))``; ``states[:, t]`` is ``h(t+1)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        recurrent_gate: bool = True,
        recurrent_candidate: bool = True,
        chrono_tmax: float | None = None,
    ):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.recurrent_gate = bool(recurrent_gate)
        self.recurrent_candidate = bool(recurrent_candidate)
        self.chrono_tmax = None if chrono_tmax is None else _check_t_max(chrono_tmax, "chrono_tmax")
        h = hidden_size
        # rows [0, H): candidate R, rows [H, 2H): gate logit a
        self.weight_ih = nn.Parameter(torch.empty(2 * h, input_size))
        self.bias_ih = nn.Parameter(torch.empty(2 * h))
        self.weight_hh_candidate = (
            nn.Parameter(torch.empty(h, h)) if self.recurrent_candidate else None
        )
        self.weight_hh_gate = nn.Parameter(torch.empty(h, h)) if self.recurrent_gate else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform ``±1/√H`` weights (as ``nn.RNN``), then chrono init of ``b_Γ`` if asked."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if self.chrono_tmax is not None:
            chrono_bias_(self.bias_ih[self.hidden_size :], self.chrono_tmax)

    def forward(
        self,
        z: torch.Tensor,
        time_scale: float | torch.Tensor | None = None,
        h0: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the recurrence; see the class docstring for the update and shapes."""
        check_signal(z, "z", "(B, T, C)", channels=self.input_size, channel_dim=2, like=self)
        batch, steps = z.shape[:2]
        scale = _time_scale_tensor(1.0 if time_scale is None else time_scale, z)
        if h0 is None:
            h = z.new_zeros(batch, self.hidden_size)
        else:
            check_floating(h0, "h0", like=self)
            if tuple(h0.shape) != (batch, self.hidden_size):
                raise ValueError(
                    f"h0: expected shape (B, H) = ({batch}, {self.hidden_size}), "
                    f"got {tuple(h0.shape)}"
                )
            h = h0.to(z.dtype)
        hidden = self.hidden_size
        # all input projections at once: (B, T, C) -> (B, T, 2H), candidate then gate
        inputs = F.linear(z, self.weight_ih, self.bias_ih)
        weight_hh = self._recurrent_weight()  # (H, 2H) or None
        neg_scale = -scale
        states = []
        for t in range(steps):
            pre = inputs[:, t] if weight_hh is None else torch.addmm(inputs[:, t], h, weight_hh)
            r, a = pre[:, :hidden], pre[:, hidden:]
            # Γ_s − 1 = expm1(−s·softplus(a)), so h + Γ_s·(R − h) = h + (Γ_s − 1)·(h − R)
            gate_minus_one = torch.expm1(neg_scale[:, t] * F.softplus(a))
            h = torch.addcmul(h, gate_minus_one, h - torch.tanh(r))
            states.append(h)
        return torch.stack(states, dim=1), h

    def _recurrent_weight(self) -> torch.Tensor | None:
        """``[U; U_Γ]ᵀ`` of shape ``(H, 2H)`` for one matmul per step; an absent block is 0."""
        if self.weight_hh_candidate is None and self.weight_hh_gate is None:
            return None
        blocks = [
            w if w is not None else self.weight_ih.new_zeros(self.hidden_size, self.hidden_size)
            for w in (self.weight_hh_candidate, self.weight_hh_gate)
        ]
        return torch.cat(blocks).T

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, recurrent_gate={self.recurrent_gate}, "
            f"recurrent_candidate={self.recurrent_candidate}, chrono_tmax={self.chrono_tmax}"
        )


class ChronoLSTM(nn.Module):
    """A batch-first ``nn.LSTM`` with chrono-initialised forget and input gates.

    Tallec & Ollivier 2018, *Can recurrent neural networks warp time?* (ICLR)::

        b_f = log u,  b_i = −log u,  u ~ U(1, t_max − 1)   (per unit and layer)

    stored in ``bias_ih``; the matching entries of ``bias_hh`` are zero.  The
    LSTM update itself is torch's: ``c(t+1) = f ⊙ c(t) + i ⊙ g``,
    ``h(t+1) = o ⊙ tanh(c(t+1))``.

    Args:
        input_size: ``C``.
        hidden_size: ``H``.
        t_max: the longest expected dependency in steps (> 2).
        num_layers: stacked LSTM layers.

    Shapes:
        - z: ``(B, T, C)``
        - output: ``(states (B, T, H), h_T (B, H))`` of the last layer.
    """

    def __init__(self, input_size: int, hidden_size: int, t_max: float, num_layers: int = 1):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.t_max = _check_t_max(t_max)
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            check_positive_int(num_layers, "num_layers"),
            batch_first=True,
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's LSTM init, then chrono init of the input and forget gate biases."""
        self.lstm.reset_parameters()
        h = self.hidden_size
        with torch.no_grad():
            for layer in range(self.lstm.num_layers):
                bias_ih = getattr(self.lstm, f"bias_ih_l{layer}")
                bias_hh = getattr(self.lstm, f"bias_hh_l{layer}")
                chrono_bias_(bias_ih[:h], self.t_max)  # input gate: −log u
                bias_ih[h : 2 * h] = -bias_ih[:h]  # forget gate: +log u
                bias_hh[: 2 * h] = 0.0

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the LSTM; see the class docstring for shapes."""
        check_signal(z, "z", "(B, T, C)", channels=self.input_size, channel_dim=2, like=self)
        states, (h_n, _) = self.lstm(z)
        return states, h_n[-1]


class GatedRNNClassifier(nn.Module):
    """Sequence classifier: a :class:`GatedRNN` and a linear head on the final state.

    Bronstein et al. 2021, *Geometric Deep Learning*, Eq. 53 (the recurrence) with
    chrono init (Tallec & Ollivier 2018)::

        logits = W_out h(T) + b_out

    Invariant to time warping exactly when both recurrent flags are off (given the
    matching ``time_scale``), approximately otherwise.

    Args:
        input_size: ``C``.
        hidden_size: ``H``.
        num_classes: ``K``, the number of logits.
        chrono_tmax: chrono init horizon of the gate, see :class:`GatedRNN`.
        recurrent_gate: see :class:`GatedRNN`.
        recurrent_candidate: see :class:`GatedRNN`.

    Shapes:
        - z: ``(B, T, C)``
        - time_scale: ``()``, ``(B,)`` or ``(B, T)``
        - output: ``(B, K)``
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_classes: int,
        chrono_tmax: float | None = None,
        recurrent_gate: bool = True,
        recurrent_candidate: bool = True,
    ):
        super().__init__()
        self.rnn = GatedRNN(
            input_size,
            hidden_size,
            recurrent_gate=recurrent_gate,
            recurrent_candidate=recurrent_candidate,
            chrono_tmax=chrono_tmax,
        )
        self.head = nn.Linear(hidden_size, check_positive_int(num_classes, "num_classes"))

    def forward(
        self, z: torch.Tensor, time_scale: float | torch.Tensor | None = None
    ) -> torch.Tensor:
        """Classify the sequences; see the class docstring for shapes."""
        _, h_last = self.rnn(z, time_scale)
        return self.head(h_last)
