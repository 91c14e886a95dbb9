"""The message-passing flavour of GNNs with edge features (MPNN).

Gilmer, Schoenholz, Riley, Vinyals & Dahl, "Neural Message Passing for
Quantum Chemistry", ICML 2017, Eqs. 1–2; Battaglia et al. 2018;
Bronstein et al. 2021, §5.3, Eq. 35 (``h_i = φ(x_i, ⊕_j ψ(x_i, x_j, e_ij))``)::

    m_ij  = ψ([h_i, h_j, e_ij])                      for every edge j → i
    h_i'  = h_i W_r + φ([h_i, ⊕_{j → i} m_ij])        ⊕ = sum or mean

``ψ`` and ``φ`` are two-layer ReLU MLPs.  The first linear map of ``ψ`` on
the concatenation splits as ``W_a h_i + W_b h_j + W_c e_ij``; the node terms
are computed once per node and gathered, instead of multiplying an
``(E, 2C + D)`` concatenation, which saves ``2·E·C·C'`` multiply-adds.

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.
    C: node channels.  D: edge channels.  C': output channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.readout import MLP, GraphModel, output_head
from gdl_zoo.graphs.validation import check_graph

__all__ = ["MPNNLayer", "MPNN"]

_AGGREGATIONS = ("sum", "mean")


class MPNNLayer(nn.Module):
    """One message-passing step with edge features (Gilmer et al. 2017, Eqs. 1–2).

    ::

        m_ij = W_2 ReLU(W_a h_i + W_b h_j + W_c e_ij + b_1) + b_2
        h_i' = h_i W_r + φ([h_i, ⊕_{j → i} m_ij])

    Args:
        in_channels: ``C``.
        out_channels: ``C'``.
        edge_channels: ``D`` (``0``: no edge features; ``edge_attr`` must be ``None``).
        aggregation: ``"sum"`` or ``"mean"`` (isolated nodes receive zero).

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; edge_attr: ``(E, D)`` or ``None``;
        output: ``(N, C')``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, edge_channels: int, aggregation: str = "sum"
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        if (
            isinstance(edge_channels, bool)
            or not isinstance(edge_channels, int)
            or edge_channels < 0
        ):
            raise ValueError(f"edge_channels: expected an int ≥ 0, got {edge_channels!r}")
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"aggregation: expected one of {_AGGREGATIONS}, got {aggregation!r}")
        self.edge_channels = edge_channels
        self.aggregation = aggregation
        c, c_out = in_channels, out_channels
        self.message_target = nn.Linear(c, c_out)  # W_a, b_1
        self.message_source = nn.Linear(c, c_out, bias=False)  # W_b
        self.message_edge = nn.Linear(edge_channels, c_out, bias=False) if edge_channels else None
        self.message_out = nn.Linear(c_out, c_out)
        self.update = MLP((c + c_out, c_out, c_out))
        self.root = nn.Linear(c, c_out, bias=False)

    def messages(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None
    ) -> torch.Tensor:
        """``m_ij`` for every edge, shape ``(E, C')``."""
        source, target = edge_index.long()
        pre = self.message_target(x)[target] + self.message_source(x)[source]
        if self.message_edge is not None:
            pre = pre + self.message_edge(edge_attr)
        return self.message_out(torch.relu(pre))

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_graph(x, edge_index, edge_attr=edge_attr, channels=self.in_channels, like=self)
        if (edge_attr is None) != (self.message_edge is None):
            raise ValueError(
                f"edge_attr: expected {'None' if self.message_edge is None else 'a tensor'} "
                f"for edge_channels = {self.edge_channels}, got "
                f"{'None' if edge_attr is None else tuple(edge_attr.shape)}"
            )
        if edge_attr is not None and edge_attr.shape[1] != self.edge_channels:
            raise ValueError(
                f"edge_attr: expected shape (E, {self.edge_channels}), got {tuple(edge_attr.shape)}"
            )
        target = edge_index[1].long()
        n = x.shape[0]
        total = x.new_zeros(n, self.out_channels).index_add_(
            0, target, self.messages(x, edge_index, edge_attr)
        )
        if self.aggregation == "mean":
            count = torch.bincount(target, minlength=n).clamp(min=1).to(x.dtype)
            total = total / count[:, None]
        return self.root(x) + self.update(torch.cat([x, total], dim=1))

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, edge_channels={self.edge_channels}, "
            f"aggregation={self.aggregation!r}"
        )


class MPNN(GraphModel):
    """A message-passing network with edge features and a node- or graph-level head.

    ::

        h^{(0)} = x,   h^{(l+1)} = ReLU(MPNNLayer_l(h^{(l)}, e))
        node task:  y_i = Linear(h_i^{(L)});   graph task: y_b = MLP(Σ_{i ∈ G_b} h_i^{(L)})

    Args:
        in_channels: ``C``.
        hidden_channels: width of every layer.
        out_channels: classes or targets.
        edge_channels: ``D`` (``0`` for graphs without edge features).
        num_layers: message-passing steps.
        dropout: dropout before every layer and the head.
        aggregation: ``"sum"`` or ``"mean"``.
        task: ``"node"`` or ``"graph"``.
        readout: pooling of the graph task.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; edge_attr: ``(E, D)`` or ``None``;
        batch: ``(N,)`` or ``None``; output: ``(N, out_channels)`` or ``(B, out_channels)``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        edge_channels: int,
        num_layers: int = 2,
        dropout: float = 0.0,
        aggregation: str = "sum",
        task: str = "node",
        readout: str = "sum",
    ):
        super().__init__(in_channels, task, readout)
        check_positive_int(num_layers, "num_layers")
        widths = [in_channels] + [hidden_channels] * num_layers
        self.layers = nn.ModuleList(
            MPNNLayer(a, b, edge_channels, aggregation) for a, b in zip(widths[:-1], widths[1:])
        )
        self.dropout = nn.Dropout(dropout)
        self.head = output_head(task, hidden_channels, out_channels)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
    ) -> torch.Tensor:
        batch, num_graphs = check_graph(
            x, edge_index, batch, edge_attr=edge_attr, channels=self.in_channels, like=self
        )
        h = x
        for layer in self.layers:
            h = torch.relu(layer(self.dropout(h), edge_index, edge_attr))
        return self.head(self.dropout(self.pool(h, batch, num_graphs)))
