"""The graph Transformer: self-attention over the complete graph of each graph in a batch.

Dwivedi & Bresson, "A Generalization of Transformer Networks to Graphs"
(AAAI DLG workshop 2021); Ying et al. 2021 (Graphormer: attention biases from
the graph); Rampášek et al. 2022 (GraphGPS: random-walk encodings);
Bronstein et al. 2021, §5.3 (attention on the complete graph, Eq. 34 with
``j`` ranging over all nodes of the graph).  With pre-layer normalisation::

    h^{(0)}_i = x_i W_x + p_i W_p  [+ SignNet(u_i, λ)]          (positional encodings)
    a_ij^k    = softmax_{j ∈ G(i)}(q_i^k · k_j^k / √d + β_k [j → i])
    h ← h + W_o ‖_k Σ_{j ∈ G(i)} a_ij^k v_j^k       (on LN(h))
    h ← h + MLP(LN(h))

Attention runs over the nodes of the node's own graph only (dense blocks of
graphs of similar size, the padding masked out), never over the whole batch; ``β_k`` is a
learnt per-head bias on pairs joined by an edge.  Every ingredient commutes
with relabelling the nodes of each graph, and the encodings are exactly
permutation equivariant for RWSE (the default); see
:mod:`gdl_zoo.graphs.positional_encodings` for the Laplacian option's sign and
basis ambiguities.

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.  G: graphs of one dense block.
    n: the largest graph of a block.  C: input channels.  D: model width.
    K: random-walk steps.  k: eigenvectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.dense_blocks import DenseBlocks
from gdl_zoo.graphs.positional_encodings import (
    SignInvariantEncoder,
    laplacian_eigenvectors,
    random_walk_encoding,
)
from gdl_zoo.graphs.readout import MLP, GraphModel
from gdl_zoo.graphs.validation import check_graph

__all__ = ["GraphAttention", "GraphTransformerLayer", "GraphTransformer"]


def _check_laplacian(laplacian, num_nodes: int, k: int):
    """Require the ``(vectors, values, valid)`` triple of ``(N, k)`` tensors, ``valid`` bool."""
    if not isinstance(laplacian, (tuple, list)) or len(laplacian) != 3:
        got = type(laplacian).__name__
        if isinstance(laplacian, (tuple, list)):
            got += f" of length {len(laplacian)}"
        raise ValueError(f"laplacian: expected (vectors, values, valid), got {got}")
    for name, part in zip(("vectors", "values", "valid"), laplacian):
        if not isinstance(part, torch.Tensor):
            raise TypeError(
                f"laplacian: expected {name} as a torch.Tensor, got {type(part).__name__}"
            )
        if part.shape != (num_nodes, k):
            raise ValueError(
                f"laplacian: expected {name} of shape (N, k) = ({num_nodes}, {k}), "
                f"got {tuple(part.shape)}"
            )
    if laplacian[2].dtype != torch.bool:
        raise TypeError(f"laplacian: expected valid of dtype torch.bool, got {laplacian[2].dtype}")
    return laplacian


class GraphAttention(nn.Module):
    """Multi-head self-attention within each graph, with a per-head bias on edges.

    Graphs are attended block by block (:class:`~gdl_zoo.graphs.dense_blocks.DenseBlocks`:
    graphs of similar size padded together, the padding masked out of the keys).

    Args:
        channels: ``D``.
        heads: attention heads (``D`` divisible by it).
        dropout: dropout on the attention weights (training only).

    Shapes:
        h: ``(N, D)``; blocks: the batch's :class:`~gdl_zoo.graphs.dense_blocks.DenseBlocks`;
        output: ``(N, D)``.
    """

    def __init__(self, channels: int, heads: int, dropout: float = 0.0):
        super().__init__()
        check_positive_int(channels, "channels")
        check_positive_int(heads, "heads")
        if channels % heads:
            raise ValueError(f"channels: expected a multiple of heads = {heads}, got {channels}")
        self.heads = heads
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        self.edge_bias = nn.Parameter(torch.zeros(heads))
        self.dropout = float(dropout)

    def forward(self, h: torch.Tensor, blocks: DenseBlocks) -> torch.Tensor:
        """``(N, D) -> (N, D)``: attention within each graph, the edge bias added to the logits."""
        blocks.check_features(h, self.qkv.in_features, like=self)
        qkv = self.qkv(h)
        parts = []
        for block in blocks.blocks:
            dense = block.scatter(qkv)  # (M, 3D) -> (G, n, 3D), zero padding
            q, k, v = rearrange(dense, "g n (three k d) -> three g k n d", three=3, k=self.heads)
            linked = (block.edges[:, None] > 0).to(h.dtype)  # (G, 1, n, n)
            bias = self.edge_bias.to(h.dtype)[None, :, None, None] * linked  # (G, H, n, n)
            bias = bias.masked_fill(~block.present[:, None, None, :], -torch.inf)
            attended = F.scaled_dot_product_attention(
                q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
            )  # (G, H, n, d)
            parts.append(block.gather(rearrange(attended, "g k n d -> g n (k d)")))  # (M, D)
        return self.out(blocks.combine(parts))  # (N, D)


class GraphTransformerLayer(nn.Module):
    """A pre-norm Transformer layer: ``h ← h + Attn(LN h)``, ``h ← h + MLP(LN h)``.

    Args:
        channels: ``D``.
        heads: attention heads.
        dropout: dropout on attention weights and on both residual branches.

    Shapes:
        as :class:`GraphAttention`.
    """

    def __init__(self, channels: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.attention = GraphAttention(channels, heads, dropout)
        self.norm1 = nn.LayerNorm(channels)
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = MLP((channels, 2 * channels, channels))
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, blocks: DenseBlocks) -> torch.Tensor:
        blocks.check_features(h, self.attention.qkv.in_features, like=self)
        h = h + self.dropout(self.attention(self.norm1(h), blocks))
        return h + self.dropout(self.mlp(self.norm2(h)))


class GraphTransformer(GraphModel):
    """A graph Transformer with random-walk (and optionally Laplacian) positional encodings.

    Args:
        in_channels: ``C``.
        hidden_channels: ``D``.
        out_channels: classes or targets.
        num_layers: Transformer layers.
        heads: attention heads.
        rw_steps: ``K`` random-walk steps of the structural encoding (``0``: none).
        laplacian_k: ``k`` Laplacian eigenvectors through a sign-invariant
            encoder (``0``, the default: none; see the basis-ambiguity caveat).
        dropout: dropout in every layer.
        task: ``"node"`` or ``"graph"``.
        readout: pooling of the graph task.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; batch: ``(N,)`` or ``None``;
        output: ``(N, out_channels)`` or ``(B, out_channels)``.
        ``rwse`` (optional, precomputed once per graph): ``(N, K)`` from
        :func:`~gdl_zoo.graphs.positional_encodings.random_walk_encoding`;
        ``laplacian`` (optional): the triple of
        :func:`~gdl_zoo.graphs.positional_encodings.laplacian_eigenvectors`.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        heads: int = 4,
        rw_steps: int = 8,
        laplacian_k: int = 0,
        dropout: float = 0.0,
        task: str = "graph",
        readout: str = "sum",
    ):
        super().__init__(in_channels, task, readout)
        check_positive_int(num_layers, "num_layers")
        for name, value in (("rw_steps", rw_steps), ("laplacian_k", laplacian_k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected an int ≥ 0, got {value!r}")
        self.rw_steps, self.laplacian_k = rw_steps, laplacian_k
        self.embed = nn.Linear(in_channels, hidden_channels)
        self.rw_embed = nn.Linear(rw_steps, hidden_channels, bias=False) if rw_steps else None
        self.laplacian_embed = SignInvariantEncoder(hidden_channels) if laplacian_k else None
        self.layers = nn.ModuleList(
            GraphTransformerLayer(hidden_channels, heads, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_channels)
        self.head = MLP((hidden_channels, hidden_channels, out_channels))

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        batch: torch.Tensor | None = None,
        rwse: torch.Tensor | None = None,
        laplacian: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        batch, num_graphs = check_graph(x, edge_index, batch, channels=self.in_channels, like=self)
        n = x.shape[0]
        blocks = DenseBlocks.from_graph(edge_index, batch, n)
        h = self.embed(x)
        if self.rw_embed is not None:
            if rwse is None:
                rwse = random_walk_encoding(edge_index, n, self.rw_steps, batch, blocks)
            elif rwse.shape != (n, self.rw_steps):
                raise ValueError(
                    f"rwse: expected shape (N, K) = ({n}, {self.rw_steps}), got {tuple(rwse.shape)}"
                )
            h = h + self.rw_embed(rwse.to(x.dtype))
        if self.laplacian_embed is not None:
            if laplacian is None:
                laplacian = laplacian_eigenvectors(edge_index, n, self.laplacian_k, batch)
            vectors, values, valid = _check_laplacian(laplacian, n, self.laplacian_k)
            h = h + self.laplacian_embed(vectors.to(x.dtype), values.to(x.dtype), valid)
        for layer in self.layers:
            h = layer(h, blocks)
        return self.head(self.pool(self.norm(h), batch, num_graphs))
