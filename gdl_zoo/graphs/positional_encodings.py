"""Positional encodings of graph nodes: random-walk structural and Laplacian eigenvector encodings.

A Transformer over the complete graph of each graph sees the edges only
through what is added to the node features.  Two standard encodings:

- **Random-walk structural encodings** (RWSE; Dwivedi et al., "Graph Neural
  Networks with Learnable Structural and Positional Representations",
  ICLR 2022; Rampášek et al. 2022, GraphGPS): the probabilities of returning
  to the start after ``k`` steps of a random walk along the edges::

      p_i = [(P)_ii, (P²)_ii, …, (P^K)_ii],   P_uv = #(u → v) / outdeg(u)

  Relabelling nodes conjugates ``P`` by a permutation matrix and permutes
  its diagonal, so ``p`` is *exactly* permutation equivariant (up to
  round-off).  Nodes without out-edges have ``P_u· = 0``.

- **Laplacian eigenvectors** (Dwivedi & Bresson, "A Generalization of
  Transformer Networks to Graphs", 2021): the eigenvectors ``u_1 … u_k`` of
  ``L = I − D^{-1/2} S D^{-1/2}`` (``S`` the symmetrised adjacency without
  self-loops) with the ``k`` smallest non-zero-index eigenvalues.  Each
  eigenvector is determined only up to sign (``L u = λ u ⇔ L(−u) = λ(−u)``),
  so ``eigh`` may return either; the zoo handles this ambiguity by
  *sign-invariant* encoders (Lim et al., "Sign and Basis Invariant Networks
  for Spectral Graph Representation Learning", ICLR 2023, SignNet):
  ``φ(u, λ) + φ(−u, λ)`` in :class:`SignInvariantEncoder`, which gives the
  same output for either sign.  A repeated eigenvalue leaves a whole basis of
  its eigenspace arbitrary (basis ambiguity), which sign invariance does not
  remove: on graphs with repeated eigenvalues (cycles, regular or symmetric
  graphs) the encoding, and a model using it, is permutation equivariant only
  approximately.  RWSE has no such ambiguity and is the default.

Encodings are computed per graph from a dense ``n × n`` adjacency (graphs of
up to a few thousand nodes), vectorised over graphs of equal size.

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.  n: nodes of one graph.
    K: random-walk steps.  k: eigenvectors.  C: channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_floating, check_positive_int, check_signal
from gdl_zoo.graphs.dense_blocks import DenseBlocks
from gdl_zoo.graphs.validation import check_batch, check_edge_index

__all__ = [
    "local_index",
    "dense_adjacency",
    "random_walk_encoding",
    "laplacian_eigenvectors",
    "SignInvariantEncoder",
]


def local_index(
    batch: torch.Tensor | None, num_nodes: int, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each node's graph and its position within that graph (``batch`` sorted).

    Args:
        batch: the sorted graph index of each node, or ``None`` (one graph).
        num_nodes: ``N``.
        device: where the output lives when ``batch`` is ``None`` (else ``batch``'s device).

    Shapes:
        batch: ``(N,)`` or ``None``; output: ``(graph (N,), position (N,))``.
    """
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.long, device=device)
    batch = batch.long()
    counts = torch.bincount(batch)
    starts = torch.cumsum(counts, 0) - counts
    return batch, torch.arange(num_nodes, device=batch.device) - starts[batch]


def dense_adjacency(
    edge_index: torch.Tensor,
    batch: torch.Tensor | None,
    num_nodes: int,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Per-graph dense edge counts ``M[b, i, j] = #(j → i)``, zero-padded to the largest graph.

    Shapes:
        edge_index: ``(2, E)``; batch: ``(N,)`` or ``None``; output: ``(B, n_max, n_max)``.
    """
    check_edge_index(edge_index, num_nodes)
    batch, _ = check_batch(batch, num_nodes)
    graph, position = local_index(batch, num_nodes, edge_index.device)
    num_graphs = int(graph[-1]) + 1
    n_max = int(torch.bincount(graph).max())
    source, target = edge_index.long()
    dense = torch.zeros(num_graphs, n_max, n_max, dtype=dtype, device=edge_index.device)
    ones = torch.ones(source.shape[0], dtype=dtype, device=edge_index.device)
    dense.index_put_((graph[target], position[target], position[source]), ones, accumulate=True)
    return dense


def random_walk_encoding(
    edge_index: torch.Tensor,
    num_nodes: int,
    steps: int,
    batch: torch.Tensor | None = None,
    blocks: DenseBlocks | None = None,
) -> torch.Tensor:
    """Random-walk return probabilities ``[(P^k)_ii]_{k=1..K}`` of each node, in float64.

    Matrix powers are taken block by block over graphs of similar size
    (:class:`~gdl_zoo.graphs.dense_blocks.DenseBlocks`); padded slots have no
    edges and do not change the real nodes' walks.

    Args:
        edge_index: edges ``j → i``; walks follow them forwards.
        num_nodes: ``N``.
        steps: ``K``.
        batch: the sorted graph index of each node, or ``None`` (one graph).
        blocks: the batch's dense blocks, if already built.

    Shapes:
        output: ``(N, K)``.
    """
    check_positive_int(steps, "steps")
    if blocks is None:
        blocks = DenseBlocks.from_graph(edge_index, batch, num_nodes)
    parts = []
    for block in blocks.blocks:
        walk = block.edges.transpose(1, 2)  # [g, u, v] = #(u → v)
        walk = walk / walk.sum(-1, keepdim=True).clamp(min=1)
        power, diagonals = walk, []
        for k in range(steps):
            power = power @ walk if k else walk
            diagonals.append(torch.diagonal(power, dim1=1, dim2=2))  # (G, n)
        parts.append(block.gather(torch.stack(diagonals, dim=-1)))  # (G, n, K) -> (M, K)
    return blocks.combine(parts)


def laplacian_eigenvectors(
    edge_index: torch.Tensor, num_nodes: int, k: int, batch: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` eigenvectors after the first of each graph's normalised Laplacian, in float64.

    ``L = I − D^{-1/2} S D^{-1/2}`` with ``S`` the symmetrised 0/1 adjacency
    without self-loops (isolated nodes: ``L_ii = 1``).  Eigenvalues ascend;
    the first eigenvector (``λ = 0`` on a connected graph) is skipped.  Graphs
    with ``n ≤ k`` nodes pad the missing slots with zeros, marked invalid.
    Signs (and, for repeated eigenvalues, bases) are arbitrary: see the module
    docstring.

    Shapes:
        output: ``(vectors (N, k), values (N, k), valid (N, k))``; ``vectors[i, m]``
        is node ``i``'s entry of its graph's eigenvector ``m``, ``values[i, m]``
        that eigenvalue, ``valid`` a bool mask.
    """
    check_positive_int(k, "k")
    check_edge_index(edge_index, num_nodes)
    batch, _ = check_batch(batch, num_nodes)
    graph, position = local_index(batch, num_nodes, edge_index.device)
    source, target = edge_index.long()
    sizes = torch.bincount(graph)
    device = edge_index.device
    vectors = torch.zeros(num_nodes, k, dtype=torch.float64, device=device)
    values = torch.zeros_like(vectors)
    valid = torch.zeros(num_nodes, k, dtype=torch.bool, device=device)
    for n in sizes.unique().tolist():
        if n < 2:  # no eigenvector after the first (n = 0: a skipped graph index)
            continue
        graphs = (sizes == n).nonzero().flatten()
        slot_of_graph = torch.full_like(sizes, -1)
        slot_of_graph[graphs] = torch.arange(graphs.shape[0], device=device)
        inside = slot_of_graph[graph[target]] >= 0
        t, u = target[inside], source[inside]
        s = torch.zeros(graphs.shape[0], n, n, dtype=torch.float64, device=device)
        s[slot_of_graph[graph[t]], position[t], position[u]] = 1.0  # (G, n, n), exact size
        s = ((s + s.transpose(1, 2)) > 0).to(torch.float64)
        s = s * (1 - torch.eye(n, dtype=torch.float64, device=s.device))
        degree = s.sum(-1)
        scale = torch.where(degree > 0, degree.clamp(min=1).rsqrt(), 0.0)
        laplacian = (
            torch.eye(n, dtype=torch.float64, device=s.device)
            - scale[:, :, None] * s * scale[:, None, :]
        )
        eigenvalues, eigenvectors = torch.linalg.eigh(laplacian)  # (G, n), (G, n, n)
        m = min(k, n - 1)
        nodes = torch.isin(graph, graphs)
        slot = slot_of_graph[graph[nodes]]
        vectors[nodes, :m] = eigenvectors[slot, position[nodes], 1 : m + 1]
        values[nodes, :m] = eigenvalues[slot, 1 : m + 1]
        valid[nodes, :m] = True
    return vectors, values, valid


class SignInvariantEncoder(nn.Module):
    """A sign-invariant encoding of Laplacian eigenvectors: ``Σ_m φ(u_m, λ_m) + φ(−u_m, λ_m)``.

    Lim et al., ICLR 2023 (SignNet, with ``ρ`` a sum over eigenvectors)::

        z_i = Σ_{m valid} [φ(u_im, λ_m) + φ(−u_im, λ_m)],   φ: R² → R^C an MLP

    Flipping the sign of any eigenvector leaves ``z`` unchanged, and ``z``
    permutes with the nodes whenever the eigenvectors do.

    Args:
        channels: ``C``.
        hidden: width of ``φ``.

    Shapes:
        vectors, values, valid: ``(N, k)`` from :func:`laplacian_eigenvectors`;
        output: ``(N, C)``.
    """

    def __init__(self, channels: int, hidden: int = 16):
        super().__init__()
        check_positive_int(channels, "channels")
        check_positive_int(hidden, "hidden")
        self.phi = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(
        self, vectors: torch.Tensor, values: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        check_signal(vectors, "vectors", "(N, k)", like=self)
        for name, part in (("values", values), ("valid", valid)):
            if not isinstance(part, torch.Tensor) or part.shape != vectors.shape:
                got = tuple(part.shape) if isinstance(part, torch.Tensor) else type(part).__name__
                raise ValueError(
                    f"{name}: expected the shape of vectors {tuple(vectors.shape)}, got {got}"
                )
        check_floating(values, "values", like=self)
        if valid.dtype != torch.bool:
            raise TypeError(f"valid: expected dtype torch.bool, got {valid.dtype}")
        plus = self.phi(torch.stack([vectors, values], dim=-1))  # (N, k, 2) -> (N, k, C)
        minus = self.phi(torch.stack([-vectors, values], dim=-1))
        return ((plus + minus) * valid[..., None].to(plus.dtype)).sum(1)
