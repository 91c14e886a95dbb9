"""Graphs and batches of graphs as plain tensors: containers, collation, random examples.

A :class:`Graph` holds one graph in PyTorch Geometric's layout; a
:class:`GraphBatch` stacks several graphs into one disjoint union, nodes of
each graph contiguous, edges relabelled by the graph's node offset and
``batch`` the sorted graph index of each node.

Shapes:
    N: nodes (of one graph or over a batch).  E: edges.  B: graphs.
    C: node channels.  D: edge channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gdl_zoo._validation import check_positive_int
from gdl_zoo.graphs.validation import check_graph

__all__ = ["Graph", "GraphBatch", "collate_graphs", "random_graph_batch"]


@dataclass(frozen=True)
class Graph:
    """One graph.

    Attributes:
        x: node features ``(N, C)``.
        edge_index: edges ``j → i``, ``(2, E)``.
        y: the label: ``()`` or ``(1,)`` for graph tasks, ``(N,)`` for node tasks.
        edge_attr: edge features ``(E, D)`` or ``None``.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    y: torch.Tensor | None = None
    edge_attr: torch.Tensor | None = None

    def __post_init__(self):
        check_graph(self.x, self.edge_index, edge_attr=self.edge_attr)

    @property
    def num_nodes(self) -> int:
        """``N``."""
        return self.x.shape[0]


@dataclass(frozen=True)
class GraphBatch:
    """A disjoint union of graphs.

    Attributes:
        x: ``(N, C)``.  edge_index: ``(2, E)``.  batch: ``(N,)``, sorted.
        y: the stacked labels (``(B,)`` for graph labels) or ``None``.
        edge_attr: ``(E, D)`` or ``None``.
        num_graphs: ``B``.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    batch: torch.Tensor
    y: torch.Tensor | None
    edge_attr: torch.Tensor | None
    num_graphs: int

    def to(self, device: torch.device | str) -> GraphBatch:
        """The batch on ``device``."""

        def move(t):
            return None if t is None else t.to(device)

        return GraphBatch(
            move(self.x),
            move(self.edge_index),
            move(self.batch),
            move(self.y),
            move(self.edge_attr),
            self.num_graphs,
        )


def collate_graphs(graphs: Sequence[Graph]) -> GraphBatch:
    """Stack graphs into one :class:`GraphBatch` (edges offset by each graph's first node).

    Raises:
        ValueError: no graphs, graphs with and without edge features mixed, or
            node (edge) features of different widths.
        TypeError: node features of different dtypes.
    """
    graphs = list(graphs)
    if not graphs:
        raise ValueError("collate_graphs: expected at least one graph, got none")
    has_edge_attr = {g.edge_attr is not None for g in graphs}
    if len(has_edge_attr) > 1:
        raise ValueError("collate_graphs: expected all graphs with edge_attr or none, got a mix")
    first = graphs[0]
    for b, g in enumerate(graphs[1:], 1):
        if g.x.shape[1] != first.x.shape[1]:
            raise ValueError(
                f"collate_graphs: graph {b}: expected x of shape (N, {first.x.shape[1]}), "
                f"got {tuple(g.x.shape)}"
            )
        if g.x.dtype != first.x.dtype:
            raise TypeError(
                f"collate_graphs: graph {b}: expected x of dtype {first.x.dtype}, got {g.x.dtype}"
            )
        if g.edge_attr is not None and g.edge_attr.shape[1] != first.edge_attr.shape[1]:
            raise ValueError(
                f"collate_graphs: graph {b}: expected edge_attr of shape "
                f"(E, {first.edge_attr.shape[1]}), got {tuple(g.edge_attr.shape)}"
            )
    x = torch.cat([g.x for g in graphs])
    sizes = torch.tensor([g.num_nodes for g in graphs], device=x.device)
    offsets = (torch.cumsum(sizes, 0) - sizes).tolist()
    edge_index = torch.cat([g.edge_index.long() + o for g, o in zip(graphs, offsets)], 1)
    batch = torch.repeat_interleave(torch.arange(len(graphs), device=x.device), sizes)
    edge_attr = torch.cat([g.edge_attr for g in graphs]) if has_edge_attr == {True} else None
    labels = [g.y for g in graphs]
    y = None
    if all(label is not None for label in labels):
        y = torch.cat([label.reshape(-1) for label in labels])
    return GraphBatch(x, edge_index, batch, y, edge_attr, len(graphs))


def random_graph_batch(
    batch_size: int,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
    channels: int = 4,
    edge_channels: int = 0,
    sizes: Sequence[int] = (7, 5, 6),
    edge_probability: float = 0.35,
) -> GraphBatch:
    """A batch of random graphs that exercises the corner cases: example inputs of the zoo.

    Graph ``b`` has ``sizes[b % len(sizes)]`` nodes; directed edges ``j → i``
    (``i ≠ j``) are drawn independently with ``edge_probability``, then the
    last node of every graph is made isolated and the first node gets a
    self-loop, so isolated nodes, self-loops, asymmetric edges and graphs of
    different sizes are all present.  Features are Gaussian.

    Args:
        batch_size: ``B``.
        dtype: of node and edge features.
        generator: the random source.
        channels: ``C``.
        edge_channels: ``D`` (``0``: ``edge_attr`` is ``None``).
        sizes: node counts, cycled.
        edge_probability: of each ordered pair.

    Shapes:
        output: a :class:`GraphBatch` with ``x (N, C)``, ``edge_index (2, E)``,
        ``batch (N,)``, ``edge_attr (E, D)``.
    """
    check_positive_int(batch_size, "batch_size")
    graphs = []
    for b in range(batch_size):
        n = sizes[b % len(sizes)]
        pairs = torch.rand(n, n, generator=generator) < edge_probability
        pairs.fill_diagonal_(False)
        if n > 1:
            pairs[n - 1, :] = False
            pairs[:, n - 1] = False
        target, source = pairs.nonzero(as_tuple=True)
        edge_index = torch.stack([source, target])
        edge_index = torch.cat([edge_index, torch.zeros(2, 1, dtype=torch.long)], 1)  # 0 → 0
        x = torch.randn(n, channels, generator=generator, dtype=dtype)
        e = edge_index.shape[1]
        edge_attr = (
            torch.randn(e, edge_channels, generator=generator, dtype=dtype)
            if edge_channels
            else None
        )
        graphs.append(Graph(x, edge_index, None, edge_attr))
    return collate_graphs(graphs)
