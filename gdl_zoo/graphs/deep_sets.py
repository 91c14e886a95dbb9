"""Deep Sets: permutation-equivariant layers on sets and the invariant readout ``ρ(Σ ψ(x))``.

Zaheer et al., "Deep Sets", NeurIPS 2017, Theorem 2 and Lemma 3; Bronstein
et al. 2021, §5.2 (sets: the graph without edges).  The linear maps
``R^{n×C} → R^{n×C'}`` that commute with every permutation are spanned by two
generators, the identity and the all-ones matrix ``1 1ᵀ`` (Maron et al.
2019); with the mean in place of the sum (the same span, scaled by ``1/n``)::

    equivariant layer:  y_i = x_i Λ + (1/n Σ_{j ∈ S} x_j) Γ + b
    invariant model:    y_S = ρ(Σ_{i ∈ S} ψ(x_i))

A batch of sets uses the graph layout without edges: ``x (N, C)`` and the
sorted set index ``batch (N,)``.

Shapes:
    N: elements over the batch.  B: sets.  C: input channels.  C': output channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_floating, check_positive_int
from gdl_zoo.graphs.readout import GraphModel, global_pool, output_head
from gdl_zoo.graphs.validation import check_batch

__all__ = ["DeepSetsLayer", "DeepSets"]


def _check_set(
    x: torch.Tensor, batch: torch.Tensor | None, channels: int, like: nn.Module, num_sets=None
):
    check_floating(x, "x", like)
    if x.dim() != 2 or x.shape[1] != channels or x.shape[0] == 0:
        raise ValueError(f"x: expected shape (N, {channels}) with N ≥ 1, got {tuple(x.shape)}")
    return check_batch(batch, x.shape[0], x.device, num_sets, "num_sets")


class DeepSetsLayer(nn.Module):
    """The permutation-equivariant linear layer ``y_i = x_i Λ + mean_{j ∈ S(i)} x_j Γ + b``.

    The number of sets ``B`` is read from ``batch`` (``batch[-1] + 1``) unless
    given as ``num_sets``, as :class:`DeepSets` does for its layers: it reads
    ``B`` once, so that under ``torch.compile`` its layers read nothing from
    the data and the whole model traces as one graph (PyG's pooling takes
    ``size`` for the same reason).

    Args:
        in_channels: ``C``.
        out_channels: ``C'``.

    Shapes:
        x: ``(N, C)``; batch: ``(N,)`` or ``None`` (one set); num_sets: ``B`` or ``None``;
        output: ``(N, C')``.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.identity = nn.Linear(in_channels, out_channels)  # Λ and b
        self.mean = nn.Linear(in_channels, out_channels, bias=False)  # Γ

    def forward(
        self, x: torch.Tensor, batch: torch.Tensor | None = None, num_sets: int | None = None
    ) -> torch.Tensor:
        batch, num_sets = _check_set(x, batch, self.in_channels, self, num_sets)
        pooled = global_pool(x, batch, num_sets, "mean")  # (B, C)
        index = torch.zeros_like(x[:, 0], dtype=torch.long) if batch is None else batch.long()
        return self.identity(x) + self.mean(pooled)[index]

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class DeepSets(GraphModel):
    """Deep Sets: equivariant layers ``ψ``, then a per-element or a pooled output ``ρ``.

    ::

        ψ(x) = ReLU(DeepSetsLayer(… ReLU(DeepSetsLayer(x))))
        node task:  y_i = Linear(ψ(x)_i)                 (equivariant)
        graph task: y_S = ρ(Σ_{i ∈ S} ψ(x)_i),  ρ an MLP  (invariant; Zaheer et al., Thm. 2)

    Args:
        in_channels: ``C``.
        hidden_channels: width of ``ψ`` and ``ρ``.
        out_channels: classes or targets.
        num_layers: equivariant layers in ``ψ``.
        dropout: dropout before the output map.
        task: ``"node"`` (per element) or ``"graph"`` (per set).
        readout: ``"sum"`` (the paper), ``"mean"`` or ``"max"``.

    Shapes:
        x: ``(N, C)``; batch: ``(N,)`` or ``None``; output ``(N, out)`` or ``(B, out)``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        dropout: float = 0.0,
        task: str = "graph",
        readout: str = "sum",
    ):
        super().__init__(in_channels, task, readout)
        check_positive_int(num_layers, "num_layers")
        widths = [in_channels] + [hidden_channels] * num_layers
        self.layers = nn.ModuleList(DeepSetsLayer(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = nn.Dropout(dropout)
        self.head = output_head(task, hidden_channels, out_channels)

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        batch, num_sets = _check_set(x, batch, self.in_channels, self)
        h = x
        for layer in self.layers:
            h = torch.relu(layer(h, batch, num_sets))  # B read once, for every layer
        return self.head(self.dropout(self.pool(h, batch, num_sets)))
