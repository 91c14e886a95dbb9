"""Seeded synthetic graphs: stochastic block models, regular graphs, cycles, and the 1-WL limit.

- :func:`stochastic_block_model` (Holland, Laskey & Leinhardt 1983): nodes in
  communities, an edge ``{u, v}`` with probability ``p_in`` inside a community
  and ``p_out`` across; a node-classification task (predict the community).
- :func:`random_regular_graph`: a uniform-ish ``d``-regular simple graph by
  the pairing (configuration) model with restarts.
- :func:`cycle_graph`: the cycle ``C_n``.
- :func:`wl_colours`: 1-dimensional Weisfeiler–Leman colour refinement
  (Weisfeiler & Leman 1968), ``c_i ← hash(c_i, {{c_j : j ∈ N(i)}})``.
- :func:`wl_expressivity_task`: graphs that 1-WL cannot tell apart with
  labels that differ.  The graphs come in two families, each with both labels
  in (nearly) equal numbers: ``2·C_3`` against the hexagon ``C_6`` (2-regular, 6 nodes)
  and random ``d``-regular graphs on ``n`` nodes.  Features are constant, so
  1-WL gives every node of a family the same colour, and any message-passing
  network (at most as discriminative as 1-WL; Xu et al. 2019, Morris et al.
  2019) gives every graph of a family the same output: chance accuracy.  The
  label is whether the graph has a triangle, which random walk return
  probabilities ``(P³)_ii > 0`` reveal.

Edges are returned in both directions (``(2, 2m)`` for ``m`` undirected edges).

Shapes: ``N`` nodes, ``E`` directed edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.graph import Graph

__all__ = [
    "stochastic_block_model",
    "random_regular_graph",
    "cycle_graph",
    "wl_colours",
    "has_triangle",
    "wl_expressivity_task",
]


def _both_directions(pairs: torch.Tensor) -> torch.Tensor:
    return torch.cat([pairs, pairs.flip(0)], 1)


def stochastic_block_model(
    sizes: Sequence[int],
    p_in: float,
    p_out: float,
    channels: int = 8,
    noise: float = 1.0,
    generator: torch.Generator | None = None,
) -> Graph:
    """A stochastic block model with noisy community features; ``y`` is the community.

    Node features are ``μ_{y_i} + noise·ε_i`` with a random unit-scale mean per
    community, so both features and edges carry information.

    Shapes:
        output: ``x (N, channels)``, ``edge_index (2, E)``, ``y (N,)``.
    """
    sizes = [check_positive_int(s, "sizes") for s in sizes]
    for label, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0 <= p <= 1:
            raise ValueError(f"{label}: expected a probability in [0, 1], got {p!r}")
    y = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    n = y.shape[0]
    same = y[:, None] == y[None, :]
    probability = torch.where(same, p_in, p_out)
    upper = torch.triu(torch.rand(n, n, generator=generator) < probability, diagonal=1)
    edge_index = _both_directions(upper.nonzero().t())
    means = torch.randn(len(sizes), channels, generator=generator)
    x = means[y] + noise * torch.randn(n, channels, generator=generator)
    return Graph(x, edge_index, y)


def random_regular_graph(
    n: int, d: int, generator: torch.Generator | None = None, max_tries: int = 1000
) -> torch.Tensor:
    """The edges of a random simple ``d``-regular graph on ``n`` nodes (pairing model).

    Raises:
        ValueError: ``n·d`` odd or ``d ≥ n``; no simple pairing within ``max_tries``.

    Shapes:
        output: ``(2, n·d)``.
    """
    check_positive_int(n, "n")
    if d < 0 or d >= n or (n * d) % 2:
        raise ValueError(f"expected 0 ≤ d < n with n·d even, got n = {n}, d = {d}")
    stubs = torch.arange(n).repeat_interleave(d)
    for _ in range(max_tries):
        pairs = stubs[torch.randperm(stubs.shape[0], generator=generator)].view(-1, 2)
        u, v = pairs[:, 0], pairs[:, 1]
        keys = torch.minimum(u, v) * n + torch.maximum(u, v)
        if bool((u != v).all()) and torch.unique(keys).shape[0] == keys.shape[0]:
            return _both_directions(pairs.t())
    raise ValueError(f"no simple {d}-regular pairing on {n} nodes in {max_tries} tries")


def cycle_graph(n: int, offset: int = 0) -> torch.Tensor:
    """The edges of the cycle ``C_n`` on nodes ``offset … offset + n − 1``, shape ``(2, 2n)``."""
    check_positive_int(n, "n")
    if n < 3:
        raise ValueError(f"n: expected a cycle of at least 3 nodes, got {n}")
    nodes = torch.arange(n) + offset
    return _both_directions(torch.stack([nodes, nodes.roll(-1)]))


def wl_colours(edge_index: torch.Tensor, num_nodes: int, iterations: int = 3) -> torch.Tensor:
    """1-WL colour refinement from uniform colours; returns the final colour of each node.

    Colours are canonical (equal multisets of neighbour colours give equal
    colours across graphs), so two graphs with different colour histograms
    are certainly non-isomorphic, and equal histograms mean 1-WL cannot
    separate them.

    Shapes:
        output: ``(N,)`` long.
    """
    colours = [0] * num_nodes
    neighbours: list[list[int]] = [[] for _ in range(num_nodes)]
    for j, i in edge_index.t().tolist():
        neighbours[i].append(j)
    for _ in range(iterations):
        signatures = [
            (colours[i], tuple(sorted(colours[j] for j in neighbours[i]))) for i in range(num_nodes)
        ]
        colours = [hash(s) for s in signatures]
    return torch.tensor([c % (2**61) for c in colours])


def has_triangle(edge_index: torch.Tensor, num_nodes: int) -> bool:
    """Whether the (undirected) graph has a triangle: ``trace(A³) > 0``."""
    a = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    a[edge_index[1], edge_index[0]] = 1.0
    a = ((a + a.T) > 0).double()
    a.fill_diagonal_(0)
    return bool(torch.trace(a @ a @ a) > 0)


def wl_expressivity_task(
    num_graphs: int, generator: torch.Generator | None = None, n: int = 8, d: int = 3
) -> list[Graph]:
    """Graphs 1-WL cannot separate, labelled by whether they contain a triangle.

    Half the graphs are pairs of the classic counterexample (``2·C_3`` vs ``C_6``,
    relabelled randomly), half random ``d``-regular graphs on ``n`` nodes; all
    have constant features ``x = 1``.  Labels are balanced by rejection.

    Shapes:
        each graph: ``x (N, 1)``, ``edge_index (2, E)``, ``y (1,)``.
    """
    check_positive_int(num_graphs, "num_graphs")
    graphs: list[Graph] = []
    while len(graphs) < num_graphs:
        want = len(graphs) % 2  # alternate labels 0, 1
        if len(graphs) % 4 < 2:
            edges = torch.cat([cycle_graph(3), cycle_graph(3, 3)], 1) if want else cycle_graph(6)
            size = 6
        else:
            edges, size = random_regular_graph(n, d, generator), n
            if has_triangle(edges, size) != bool(want):
                continue
        relabel = torch.randperm(size, generator=generator)
        graphs.append(Graph(torch.ones(size, 1), relabel[edges], torch.tensor([want])))
    return graphs
