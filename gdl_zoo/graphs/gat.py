"""The attentional flavour of GNNs: graph attention networks (GAT).

Veličković et al., "Graph Attention Networks", ICLR 2018, Eqs. 1–5;
Bronstein et al. 2021, §5.3, Eq. 34 (``h_i = φ(x_i, ⊕_j a(x_i, x_j) ψ(x_j))``
with feature-dependent coefficients).  For each head ``k``::

    e_ij^k = LeakyReLU(a_dstᵏ · W^k h_i + a_srcᵏ · W^k h_j)      for j → i and j = i
    α_ij^k = softmax_j(e_ij^k) = exp(e_ij^k) / Σ_{l → i} exp(e_il^k)
    h_i'   = ‖_k Σ_j α_ij^k W^k h_j  (concatenated)  or  mean_k (…)   + b

The softmax runs over the incoming edges of each node plus one self-loop
(existing self-loops are replaced by that one), so no node has an empty
neighbourhood; scores are shifted by their per-node maximum before ``exp``.
The weighted sum over neighbours is a CSR product per head through the graph's
:class:`~gdl_zoo.graphs.adjacency.EdgePattern` (built once per forward pass
for every layer, or once per graph by the caller), with an SDDMM for the
gradient of the coefficients; no ``(E, H, C')`` tensor of messages is formed.

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.  H: heads.
    C: input channels.  C': channels per head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.adjacency import EdgePattern, given_or_built
from gdl_zoo.graphs.readout import MLP, GraphModel
from gdl_zoo.graphs.validation import check_graph

__all__ = ["GATConv", "GAT", "edge_softmax"]


def edge_softmax(scores: torch.Tensor, target: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Softmax of edge scores over the incoming edges of each target node.

    ``α_e = exp(s_e − m_i) / Σ_{e' → i} exp(s_e' − m_i)`` with ``m_i`` the largest
    score into ``i`` (for stability).

    Shapes:
        scores: ``(E, H)``; target: ``(E,)``; output: ``(E, H)``.
    """
    index = target[:, None].expand_as(scores)
    peak = scores.new_full((num_nodes, scores.shape[1]), -torch.inf)
    peak = peak.scatter_reduce(0, index, scores.detach(), "amax", include_self=True)
    exp = torch.exp(scores - peak.index_select(0, target))
    total = exp.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, exp)
    return exp / total.index_select(0, target)


def _pattern(edge_index: torch.Tensor, num_nodes: int, pattern: EdgePattern | None) -> EdgePattern:
    return given_or_built(
        pattern, EdgePattern, num_nodes,
        lambda: EdgePattern.from_edges(edge_index, num_nodes, self_loops=True), "pattern",
    )  # fmt: skip


class GATConv(nn.Module):
    """One multi-head graph attention layer (Veličković et al. 2018, Eqs. 1–6).

    Args:
        in_channels: ``C``.
        out_channels: ``C'``, per head.
        heads: ``H``.
        concat: concatenate the heads (output ``H·C'``) or average them (``C'``).
        negative_slope: of the LeakyReLU (the paper: 0.2).
        dropout: dropout on the attention coefficients (training only).
        bias: add a learnable ``b``.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; output: ``(N, H·C')`` or ``(N, C')``.
        ``pattern`` (optional): ``EdgePattern.from_edges(edge_index, N, self_loops=True)``,
        built once per graph.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.heads = check_positive_int(heads, "heads")
        self.concat = bool(concat)
        self.negative_slope = float(negative_slope)
        self.dropout = float(dropout)
        self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        width = heads * out_channels if concat else out_channels
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        for weight in (self.lin.weight, self.att_src, self.att_dst):
            nn.init.xavier_uniform_(weight)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        pattern: EdgePattern | None = None,
    ) -> torch.Tensor:
        check_graph(x, edge_index, channels=self.in_channels, like=self)
        n, heads = x.shape[0], self.heads
        pattern = _pattern(edge_index, n, pattern)
        h = rearrange(self.lin(x), "n (k c) -> n k c", k=heads)  # (N, C) -> (N, H, C')
        score_src = (h * self.att_src).sum(-1)  # (N, H)
        score_dst = (h * self.att_dst).sum(-1)
        scores = score_src.index_select(0, pattern.source) + score_dst.index_select(
            0, pattern.target
        )
        scores = F.leaky_relu(scores, self.negative_slope)
        alpha = edge_softmax(scores, pattern.target, n)  # (E, H)
        alpha = F.dropout(alpha, self.dropout, self.training)
        out = pattern.weighted_sum(alpha, h)  # (N, H, C')
        out = rearrange(out, "n k c -> n (k c)") if self.concat else out.mean(1)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}, concat={self.concat}"


class GAT(GraphModel):
    """A GAT: multi-head attention layers with ELU, then a node- or graph-level head.

    The node task follows the paper's transductive model: hidden layers of
    ``heads`` concatenated heads with ELU, the last layer one averaged
    attention layer (``heads=1`` in the paper for Cora) that outputs the classes::

        H^{(l+1)} = ELU(‖_k Σ_j α_ij^k W_l^k H_j^{(l)})
        node task:  Y = mean_k Σ_j α_ij^k W^k H_j^{(L-1)}
        graph task: y_b = MLP(Σ_{i ∈ G_b} H_i^{(L)})

    Args:
        in_channels: ``C``.
        hidden_channels: ``C'`` per head in hidden layers.
        out_channels: classes or targets.
        num_layers: attention layers (≥ 1).
        heads: heads of the hidden layers.
        out_heads: heads of the node task's output layer.
        dropout: dropout on inputs of every layer and on attention coefficients.
        task: ``"node"`` or ``"graph"``.
        readout: pooling of the graph task.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; batch: ``(N,)`` or ``None``.
        output: ``(N, out_channels)`` or ``(B, out_channels)``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        heads: int = 8,
        out_heads: int = 1,
        dropout: float = 0.6,
        task: str = "node",
        readout: str = "sum",
    ):
        super().__init__(in_channels, task, readout)
        check_positive_int(num_layers, "num_layers")
        self.dropout = nn.Dropout(dropout)
        width = hidden_channels * heads
        convs = []
        for k in range(num_layers):
            c_in = in_channels if k == 0 else width
            if k == num_layers - 1 and task == "node":
                convs.append(GATConv(c_in, out_channels, out_heads, False, dropout=dropout))
            else:
                convs.append(GATConv(c_in, hidden_channels, heads, True, dropout=dropout))
        self.convs = nn.ModuleList(convs)
        self.head = MLP((width, width, out_channels)) if task == "graph" else None

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        batch: torch.Tensor | None = None,
        pattern: EdgePattern | None = None,
    ) -> torch.Tensor:
        batch, num_graphs = check_graph(x, edge_index, batch, channels=self.in_channels, like=self)
        pattern = _pattern(edge_index, x.shape[0], pattern)  # once for every layer
        h = x
        for k, conv in enumerate(self.convs):
            h = conv(self.dropout(h), edge_index, pattern)
            if k < len(self.convs) - 1 or self.task == "graph":
                h = F.elu(h)
        return h if self.task == "node" else self.head(self.pool(h, batch, num_graphs))
