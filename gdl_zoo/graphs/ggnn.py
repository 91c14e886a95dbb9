"""Gated graph neural networks: the graph RNN, a GRU update of every node state.

Li, Tarlow, Brockschmidt & Zemel, "Gated Graph Sequence Neural Networks",
ICLR 2016, Eqs. 1–7; Bronstein et al. 2021, §5.3 and §5.7 (gating on graphs)::

    h_i^{(0)} = [x_i, 0]
    m_i^{(t)} = Σ_{j → i} W_t h_j^{(t-1)}
    h_i^{(t)} = GRU(m_i^{(t)}, h_i^{(t-1)})
    node task:  o_i = Linear([h_i^{(T)}, x_i])
    graph task: y_b = MLP(Σ_{i ∈ G_b} σ(i([h_i^{(T)}, x_i])) ⊙ tanh(j([h_i^{(T)}, x_i])))  (Eq. 7)

The message sum ``Σ_j W_t h_j = (A h) W_t`` uses a
:class:`~gdl_zoo.graphs.adjacency.SparseAdjacency` built once per forward
pass for all ``T`` steps.  One edge type (the paper allows several).

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.
    C: input channels.  H: state channels (``H ≥ C``).  T: propagation steps.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.adjacency import SparseAdjacency, plain_adjacency
from gdl_zoo.graphs.readout import MLP, GraphModel
from gdl_zoo.graphs.validation import check_graph

__all__ = ["GatedGraphConv", "GGNN"]


class GatedGraphConv(nn.Module):
    """``T`` gated propagation steps ``h ← GRU(Σ_{j→i} W_t h_j, h)`` (Li et al. 2016, Eqs. 1–6).

    Inputs narrower than ``H`` are zero-padded to ``[x, 0]``.  Each step has its
    own ``W_t``, as in PyG's ``GatedGraphConv``; Li et al. unroll one recurrent
    propagation whose edge matrix is shared by all steps (``W_t = W``).

    Args:
        channels: ``H``, the state width.
        num_steps: ``T``; each step has its own ``W_t``, the GRU is shared by all.

    Shapes:
        x: ``(N, C)`` with ``C ≤ H``; edge_index: ``(2, E)``; output: ``(N, H)``.
    """

    def __init__(self, channels: int, num_steps: int):
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.num_steps = check_positive_int(num_steps, "num_steps")
        self.weight = nn.Parameter(torch.empty(num_steps, channels, channels))
        self.rnn = nn.GRUCell(channels, channels)
        nn.init.xavier_uniform_(self.weight)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        adjacency: SparseAdjacency | None = None,
    ) -> torch.Tensor:
        check_graph(x, edge_index, like=self)
        if x.shape[1] > self.channels:
            raise ValueError(f"x: expected at most {self.channels} channels, got {tuple(x.shape)}")
        adjacency = plain_adjacency(x, edge_index, adjacency)
        h = x
        if x.shape[1] < self.channels:  # (N, C) -> (N, H)
            h = torch.cat([x, x.new_zeros(x.shape[0], self.channels - x.shape[1])], dim=1)
        for t in range(self.num_steps):
            h = self.rnn(adjacency.matmul(h @ self.weight[t]), h)
        return h

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_steps={self.num_steps}"


class GGNN(GraphModel):
    """A gated graph neural network with the paper's node and graph outputs (Eqs. 6–7).

    Args:
        in_channels: ``C``.
        hidden_channels: ``H`` (≥ ``C``).
        out_channels: classes or targets.
        num_steps: ``T``.
        task: ``"node"`` or ``"graph"``.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; batch: ``(N,)`` or ``None``.
        output: ``(N, out_channels)`` or ``(B, out_channels)``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_steps: int = 4,
        task: str = "node",
    ):
        super().__init__(in_channels, task)
        check_positive_int(out_channels, "out_channels")
        if check_positive_int(hidden_channels, "hidden_channels") < in_channels:
            raise ValueError(
                f"hidden_channels: expected at least in_channels = {in_channels}, "
                f"got {hidden_channels}"
            )
        self.propagate = GatedGraphConv(hidden_channels, num_steps)
        both = hidden_channels + in_channels
        if task == "node":
            self.out = nn.Linear(both, out_channels)
        else:
            self.gate = nn.Linear(both, hidden_channels)
            self.value = nn.Linear(both, hidden_channels)
            self.out = MLP((hidden_channels, hidden_channels, out_channels))

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, num_graphs = check_graph(x, edge_index, batch, channels=self.in_channels, like=self)
        # built here, before any tensor operation, so that under torch.compile the eager
        # construction (data-dependent sizes) does not split the graph
        h = self.propagate(x, edge_index, plain_adjacency(x, edge_index))
        hx = torch.cat([h, x], dim=1)
        if self.task == "node":
            return self.out(hx)
        gated = torch.sigmoid(self.gate(hx)) * torch.tanh(self.value(hx))
        return self.out(self.pool(gated, batch, num_graphs))  # the sum of Eq. 7
