"""The convolutional flavour of GNNs: graph convolutional networks (GCN).

Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional
Networks", ICLR 2017, Eq. 2; Bronstein et al. 2021, §5.3, Eq. 33 (the
convolutional flavour, ``h_i = φ(x_i, ⊕_j c_ij ψ(x_j))`` with fixed
coefficients ``c_ij``)::

    H' = D̂^{-1/2} Â D̂^{-1/2} H W + b,     Â = A + I,   D̂_ii = Σ_j Â_ij

The propagation matrix depends only on the graph; it is built once per
forward pass (not once per layer, as PyG's ``GCNConv`` does) as a
:class:`~gdl_zoo.graphs.adjacency.SparseAdjacency`, or once per graph by the
caller (``adjacency=``), and applied as a CSR product.

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.
    C: input channels.  C': output channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.adjacency import SparseAdjacency, gcn_normalized_adjacency, given_or_built
from gdl_zoo.graphs.readout import MLP, GraphModel
from gdl_zoo.graphs.validation import check_graph

__all__ = ["GCNConv", "GCN"]


def _adjacency(
    x: torch.Tensor, edge_index: torch.Tensor, adjacency: SparseAdjacency | None
) -> SparseAdjacency:
    return given_or_built(
        adjacency, SparseAdjacency, x.shape[0],
        lambda: gcn_normalized_adjacency(edge_index, x.shape[0], x.dtype), "adjacency",
    )  # fmt: skip


class GCNConv(nn.Module):
    """One graph convolution ``H' = D̂^{-1/2} Â D̂^{-1/2} H W + b`` (Kipf & Welling 2017, Eq. 2).

    Node ``i`` receives ``Σ_{j → i} h_j W / √(d̂_j d̂_i)`` over its incoming
    edges and itself (``Â = A + I``: self-loops already in the graph count
    once).  Permuting the nodes permutes ``Â`` and ``D̂`` alike, so the layer
    is permutation equivariant.

    Args:
        in_channels: ``C``.
        out_channels: ``C'``.
        bias: add a learnable ``b``.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; output: ``(N, C')``.
        ``adjacency`` (optional): the precomputed
        :func:`~gdl_zoo.graphs.adjacency.gcn_normalized_adjacency` of the graph.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.xavier_uniform_(self.lin.weight)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        adjacency: SparseAdjacency | None = None,
    ) -> torch.Tensor:
        check_graph(x, edge_index, channels=self.in_channels, like=self)
        out = _adjacency(x, edge_index, adjacency).matmul(self.lin(x))
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, bias={self.bias is not None}"


class GCN(GraphModel):
    """A GCN: graph convolutions with ReLU and dropout, then a node- or graph-level head.

    ::

        H^{(0)} = X,   H^{(l+1)} = ReLU(D̂^{-1/2} Â D̂^{-1/2} H^{(l)} W_l + b_l)
        node task:   Y = D̂^{-1/2} Â D̂^{-1/2} H^{(L-1)} W_{L-1} + b_{L-1}   (Kipf & Welling)
        graph task:  y_b = MLP(Σ_{i ∈ G_b} H_i^{(L)})

    Args:
        in_channels: ``C``.
        hidden_channels: width of the hidden layers.
        out_channels: ``C'`` (e.g. classes).
        num_layers: graph convolutions (≥ 1; the node task's last one outputs ``C'``).
        dropout: dropout before every convolution (the paper: 0.5).
        task: ``"node"`` or ``"graph"``.
        readout: ``"sum"``, ``"mean"`` or ``"max"`` pooling for the graph task.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; batch: ``(N,)`` or ``None``.
        output: ``(N, C')`` for the node task, ``(B, C')`` for the graph task.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        dropout: float = 0.5,
        task: str = "node",
        readout: str = "sum",
    ):
        super().__init__(in_channels, task, readout)
        check_positive_int(num_layers, "num_layers")
        check_positive_int(hidden_channels, "hidden_channels")
        check_positive_int(out_channels, "out_channels")
        self.dropout = nn.Dropout(dropout)
        last = out_channels if task == "node" else hidden_channels
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [last]
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.head = (
            MLP((hidden_channels, hidden_channels, out_channels)) if task == "graph" else None
        )

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        batch: torch.Tensor | None = None,
        adjacency: SparseAdjacency | None = None,
    ) -> torch.Tensor:
        batch, num_graphs = check_graph(x, edge_index, batch, channels=self.in_channels, like=self)
        adjacency = _adjacency(x, edge_index, adjacency)  # once for every layer
        h = x
        for k, conv in enumerate(self.convs):
            h = conv(self.dropout(h), edge_index, adjacency)
            if k < len(self.convs) - 1 or self.task == "graph":
                h = torch.relu(h)
        return h if self.task == "node" else self.head(self.pool(h, batch, num_graphs))
