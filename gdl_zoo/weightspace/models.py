"""The weightspace domain's networks and model cards.

Two kinds of model live here: the multilayer perceptrons whose weight space the
functionally invariant paths traverse (LeNet-300-100, LeCun et al. 1998, the
standard pruning benchmark), and a model *on* weight space, :class:`MLPProbe`,
that reads an MLP's weights by running it on learned probe inputs (Kahana et
al. 2024, "Deep linear probe generators for weight space learning", arXiv
2410.10811).  The probe's features depend on the weights only through the
function they compute, so they are invariant under
:class:`~gdl_zoo.weightspace.permutations.HiddenUnitPermutation`: the zoo's
card proves with the shared harness that permuting the hidden units of the
weights leaves the network's function unchanged.

Shapes: ``B`` batch (of images, or of networks), ``n_l`` units of layer ``l``,
``Q`` probes, ``C`` output features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo._validation import check_floating
from gdl_zoo.weightspace.permutations import HiddenUnitPermutation

__all__ = ["mlp", "lenet_300_100", "MLPProbe", "ACTIVATIONS"]

#: The elementwise nonlinearities the MLPs offer, by name.
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def _check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(widths)
    if len(widths) < 3 or any(
        isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in widths
    ):
        raise ValueError(
            f"widths: expected at least three positive integers (input, hidden…, output), "
            f"got {widths!r}"
        )
    return widths


def mlp(
    widths: Sequence[int],
    *,
    activation: str = "relu",
    batch_norm: bool = False,
    flatten: bool = False,
) -> nn.Sequential:
    """A multilayer perceptron ``h_l = σ(BN(W_l h_{l−1} + b_l))``, the last layer linear.

    Args:
        widths: ``(n_0, n_1, …, n_L)``, input, hidden and output widths.
        activation: ``"relu"`` or ``"tanh"``.
        batch_norm: a ``BatchNorm1d`` after every hidden linear layer.
        flatten: a leading ``Flatten`` (for images).

    Shapes:
        input ``(B, n_0)`` (or ``(B, …)`` flattening to ``n_0``); output ``(B, n_L)``.
    """
    widths = _check_widths(widths)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = [nn.Flatten()] if flatten else []
    for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if l < len(widths) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def lenet_300_100(*, batch_norm: bool = False) -> nn.Sequential:
    """LeNet-300-100 (LeCun et al. 1998): 784-300-100-10 ReLU MLP, 266,610 parameters.

    Shapes:
        input ``(B, 1, 28, 28)``; output ``(B, 10)`` logits.
    """
    return mlp((784, 300, 100, 10), batch_norm=batch_norm, flatten=True)


class MLPProbe(nn.Module):
    """Features of an MLP's weights read by running it on learned probe inputs.

    Kahana et al. (arXiv 2410.10811), probing weight-space models::

        F(θ) = A · vec(f(U; θ)) + a,   f(U; θ) = W_L σ(… σ(W_1 U + b_1) …) + b_L

    with learned probes ``U`` (Q × n_0) and readout ``A``; invariant under
    hidden-unit permutations of θ because ``f(·; g.θ) = f(·; θ)``.

    Args:
        widths: ``(n_0, …, n_L)`` of the MLPs it reads.
        probes: ``Q``, the number of probe inputs.
        out_features: ``C``.
        activation: the MLPs' elementwise nonlinearity, ``"relu"`` or ``"tanh"``.

    Shapes:
        weights: ``W_l`` ``(B, n_l, n_{l−1})`` and ``b_l`` ``(B, n_l)`` for each
        layer, in the order ``W_1, b_1, …, W_L, b_L``; output ``(B, C)``.
    """

    def __init__(
        self,
        widths: Sequence[int] = (4, 8, 6, 3),
        probes: int = 5,
        out_features: int = 2,
        activation: str = "tanh",
    ):
        super().__init__()
        self.widths = _check_widths(widths)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        self.activation = activation
        self.probes = nn.Parameter(torch.randn(probes, self.widths[0]))
        self.readout = nn.Linear(probes * self.widths[-1], out_features)

    def forward(self, *weights: torch.Tensor) -> torch.Tensor:
        layers = len(self.widths) - 1
        if len(weights) != 2 * layers:
            raise ValueError(
                f"expected {2 * layers} weight tensors (W_1, b_1, …), got {len(weights)}"
            )
        for k, weight in enumerate(weights):
            check_floating(weight, f"{'W' if k % 2 == 0 else 'b'}_{k // 2 + 1}", like=self)
        if weights[0].dim() != 3:
            raise ValueError(f"W_1: expected shape (B, n_1, n_0), got {tuple(weights[0].shape)}")
        batch = weights[0].shape[0]
        for l in range(layers):
            w, b = weights[2 * l], weights[2 * l + 1]
            want_w = (batch, self.widths[l + 1], self.widths[l])
            if w.shape != want_w or b.shape != want_w[:2]:
                raise ValueError(
                    f"layer {l + 1}: expected W {want_w} and b {want_w[:2]}, got "
                    f"{tuple(w.shape)} and {tuple(b.shape)}"
                )
        h = self.probes.to(weights[0].dtype).expand(batch, -1, -1)  # (B, Q, n_0)
        for l in range(layers):
            w, b = weights[2 * l], weights[2 * l + 1]
            h = torch.einsum("bij,bqj->bqi", w, h) + b[:, None, :]  # (B, Q, n_{l+1})
            if l < layers - 1:
                h = torch.tanh(h) if self.activation == "tanh" else F.relu(h)
        return self.readout(h.flatten(1))  # (B, Q·n_L) -> (B, C)


def _probe_examples(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    widths = (4, 8, 6, 3)
    out = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        out.append(
            torch.randn(batch_size, n_out, n_in, generator=generator, dtype=dtype) / n_in**0.5
        )
        out.append(0.5 * torch.randn(batch_size, n_out, generator=generator, dtype=dtype))
    return tuple(out)


def _register() -> None:
    from gdl_zoo import zoo
    from gdl_zoo.symmetry.actions import Invariant

    with torch.random.fork_rng(devices=[]):  # registering must not move the global RNG
        action = HiddenUnitPermutation(mlp((4, 8, 6, 3), activation="tanh"))
    zoo.register(
        zoo.ModelCard(
            name="mlp_probe",
            domain="weightspace",
            group=f"hidden-unit permutations {action.group.name}",
            flavour="Probing",
            paper="Kahana et al. 2024, arXiv 2410.10811 (probing); Hecht-Nielsen 1990",
            factory=MLPProbe,
            example_factory=_probe_examples,
            input_action=action,
            output_action=Invariant(),
            description=(
                "reads a 4-8-6-3 tanh MLP's weights through learned probes; invariant because "
                "permuting hidden units leaves the MLP's function unchanged"
            ),
        )
    )


_register()
