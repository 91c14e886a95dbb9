"""Graph isomorphism networks (GIN): message passing with an injective sum aggregation.

Xu, Hu, Leskovec & Jegelka, "How Powerful are Graph Neural Networks?",
ICLR 2019, Eqs. 4.1–4.2; Bronstein et al. 2021, §5.3, Eq. 35 (the
message-passing flavour with messages ``ψ(x_j)``)::

    h_i' = MLP((1 + ε) h_i + Σ_{j → i} h_j)
    h_G  = ‖_{k=0..L} Σ_{i ∈ G} h_i^{(k)}      (readout of every layer)

A sum over a multiset followed by an MLP can be injective, which makes GIN
as discriminative as the 1-dimensional Weisfeiler–Leman test (and no more:
see :mod:`gdl_zoo.data.synthetic_graphs`).  The neighbour sum is the CSR
product ``A h`` with a :class:`~gdl_zoo.graphs.adjacency.SparseAdjacency`
built once per forward pass.

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.  C: channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.adjacency import SparseAdjacency, plain_adjacency
from gdl_zoo.graphs.readout import MLP, GraphModel
from gdl_zoo.graphs.validation import check_graph

__all__ = ["GINConv", "GIN"]


class GINConv(nn.Module):
    """One GIN layer ``h_i' = MLP((1 + ε) h_i + Σ_{j → i} h_j)`` (Xu et al. 2019, Eq. 4.1).

    Repeated edges count with their multiplicity; a self-loop ``i → i`` adds
    ``h_i`` once more (as in PyG's ``GINConv``).

    Args:
        mlp: the network applied after aggregation, ``(N, C) -> (N, C')``.
        eps: the initial ``ε``.
        train_eps: whether ``ε`` is learnt.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; output: ``(N, C')``.
        ``adjacency`` (optional): ``SparseAdjacency.from_edges(edge_index, N)``, built once.
    """

    def __init__(self, mlp: nn.Module, eps: float = 0.0, train_eps: bool = False):
        super().__init__()
        self.mlp = mlp
        if train_eps:
            self.eps = nn.Parameter(torch.tensor([float(eps)]))
        else:
            self.register_buffer("eps", torch.tensor([float(eps)]))

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        adjacency: SparseAdjacency | None = None,
    ) -> torch.Tensor:
        check_graph(x, edge_index, like=self)
        adjacency = plain_adjacency(x, edge_index, adjacency)
        return self.mlp((1 + self.eps.to(x.dtype)) * x + adjacency.matmul(x))


class GIN(GraphModel):
    """A GIN: layers of two-layer MLPs with batch norm, and a readout of every layer.

    ::

        h^{(k+1)} = ReLU(BN_k(MLP_k((1 + ε_k) h^{(k)} + A h^{(k)})))
        node task:  y_i = Σ_k Linear_k(h_i^{(k)})
        graph task: y_b = Σ_k Linear_k(Σ_{i ∈ G_b} h_i^{(k)})     (Xu et al., Eq. 4.2)

    Args:
        in_channels: ``C``.
        hidden_channels: width of every layer.
        out_channels: classes or targets.
        num_layers: GIN layers (the paper: 5 including the input, i.e. 4 layers).
        dropout: dropout on each layer's readout before its linear map (paper: 0.5).
        train_eps: learn ``ε`` (GIN-ε) or fix it at 0 (GIN-0).
        task: ``"node"`` or ``"graph"``.
        readout: ``"sum"`` (the paper) or ``"mean"``.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; batch: ``(N,)`` or ``None``.
        output: ``(N, out_channels)`` or ``(B, out_channels)``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 4,
        dropout: float = 0.5,
        train_eps: bool = False,
        task: str = "graph",
        readout: str = "sum",
    ):
        super().__init__(in_channels, task, readout)
        check_positive_int(num_layers, "num_layers")
        check_positive_int(hidden_channels, "hidden_channels")
        widths = [in_channels] + [hidden_channels] * num_layers
        self.convs = nn.ModuleList(
            GINConv(MLP((a, hidden_channels, hidden_channels), batch_norm=True), 0.0, train_eps)
            for a in widths[:-1]
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden_channels) for _ in range(num_layers))
        self.outputs = nn.ModuleList(nn.Linear(c, out_channels) for c in widths)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        batch: torch.Tensor | None = None,
        adjacency: SparseAdjacency | None = None,
    ) -> torch.Tensor:
        batch, num_graphs = check_graph(x, edge_index, batch, channels=self.in_channels, like=self)
        adjacency = plain_adjacency(x, edge_index, adjacency)
        states = [x]
        for conv, norm in zip(self.convs, self.norms):
            states.append(torch.relu(norm(conv(states[-1], edge_index, adjacency))))
        out = 0
        for h, linear in zip(states, self.outputs):
            out = out + linear(self.dropout(self.pool(h, batch, num_graphs)))
        return out
