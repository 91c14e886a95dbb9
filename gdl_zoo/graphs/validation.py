"""Checks of batched graph inputs, with errors that say what was expected and what came.

The graph layers and models take PyTorch Geometric's layout::

    x           (N, C)  floating node features of all graphs of the batch
    edge_index  (2, E)  integer, row 0 the sources j, row 1 the targets i of edges j → i
    edge_attr   (E, D)  floating edge features, one row per edge (optional)
    batch       (N,)    integer graph index of each node, sorted (None: one graph)

Graphs are stored contiguously (``batch`` non-decreasing) and edges join nodes
of the same graph.  Self-loops, isolated nodes, repeated edges and graphs of a
single node are valid.

Shapes:
    N: nodes over the batch.  E: edges.  C: node channels.  D: edge channels.
    B: graphs in the batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo._validation import check_device, check_floating

__all__ = ["check_edge_index", "check_batch", "check_graph"]


def check_edge_index(
    edge_index: Any, num_nodes: int, device: torch.device | None = None
) -> torch.Tensor:
    """Require an integer ``(2, E)`` tensor with entries in ``[0, num_nodes)`` on ``device``.

    Raises:
        TypeError: not a tensor.
        ValueError: another device than ``device`` (``None``: any), wrong shape
            (e.g. ``(E, 2)``), a non-integer dtype, or an index outside ``[0, N)``.
    """
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(f"edge_index: expected a torch.Tensor, got {type(edge_index).__name__}")
    check_device(edge_index, "edge_index", device, "the features")
    if edge_index.dtype not in (torch.long, torch.int32):
        raise ValueError(
            f"edge_index: expected an integer dtype (torch.long or torch.int32), "
            f"got {edge_index.dtype}"
        )
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        hint = (
            " (transpose it: edge_index.t())"
            if edge_index.dim() == 2 and edge_index.shape[1] == 2
            else ""
        )
        raise ValueError(f"edge_index: expected shape (2, E), got {tuple(edge_index.shape)}{hint}")
    if edge_index.numel() and not torch.compiler.is_compiling():  # data-dependent: eager only
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise ValueError(
                f"edge_index: expected node indices in [0, {num_nodes}) for N = {num_nodes} "
                f"nodes, got indices in [{low}, {high}]"
            )
    return edge_index


def check_batch(
    batch: Any, num_nodes: int, device: torch.device | None = None
) -> tuple[torch.Tensor | None, int]:
    """Require a sorted integer ``(N,)`` graph index on ``device``; return it and ``B``.

    ``None`` stands for a single graph (``B = 1``).  Empty graphs in the middle
    of the batch (skipped indices) are allowed and count towards ``B``.

    Raises:
        TypeError: not a tensor.
        ValueError: another device than ``device`` (``None``: any), a non-integer
            dtype, a wrong shape, negative or unsorted indices.
    """
    if batch is None:
        return None, 1
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"batch: expected a torch.Tensor or None, got {type(batch).__name__}")
    check_device(batch, "batch", device, "the features")
    if batch.dtype not in (torch.long, torch.int32):
        raise ValueError(
            f"batch: expected an integer dtype (torch.long or torch.int32), got {batch.dtype}"
        )
    if batch.shape != (num_nodes,):
        raise ValueError(f"batch: expected shape (N,) = ({num_nodes},), got {tuple(batch.shape)}")
    return batch, _sorted_graph_count(batch)


@eager_under_compile  # B is read from the data: outside torch.compile's graph, checks included
def _sorted_graph_count(batch: torch.Tensor) -> int:
    """``B = batch[-1] + 1`` of a non-negative, sorted graph index (else ``ValueError``)."""
    if int(batch[0]) < 0:
        raise ValueError(f"batch: expected non-negative graph indices, got {int(batch[0])}")
    if batch.shape[0] > 1 and bool((batch[1:] < batch[:-1]).any()):
        where = int((batch[1:] < batch[:-1]).nonzero()[0]) + 1
        raise ValueError(
            "batch: expected sorted (non-decreasing) graph indices, nodes of each graph "
            f"contiguous; got batch[{where - 1}] = {int(batch[where - 1])} > "
            f"batch[{where}] = {int(batch[where])}"
        )
    return int(batch[-1]) + 1


def check_graph(
    x: Any,
    edge_index: Any,
    batch: Any = None,
    edge_attr: Any = None,
    channels: int | None = None,
    edge_channels: int | None = None,
    like: torch.Tensor | nn.Module | None = None,
) -> tuple[torch.Tensor | None, int]:
    """Validate a batched graph; return ``batch`` (``None`` for one graph) and ``B``.

    Args:
        x: node features.
        edge_index: the edges ``j → i``.
        batch: the graph index of each node, or ``None``.
        edge_attr: edge features or ``None``.
        channels: ``C`` expected of ``x`` (``None``: any).
        edge_channels: ``D`` expected of ``edge_attr`` (``None``: any).
        like: the layer (or a tensor) whose device and dtype ``x`` must have;
            see :func:`gdl_zoo._validation.check_like`.

    Shapes:
        x: ``(N, C)``; edge_index: ``(2, E)``; batch: ``(N,)``; edge_attr: ``(E, D)``.

    Raises:
        TypeError: non-tensors, non-floating features, ``edge_attr`` of another dtype than
            ``x``, ``x`` of another dtype than ``like``.
        ValueError: ``x`` on another device than ``like``, wrong shapes, non-integer
            or out-of-range indices, edge features whose count differs from ``E``,
            an unsorted ``batch``, an edge between two graphs of the batch,
            non-finite features, ``N = 0``.
    """
    check_floating(x, "x", like)
    if x.dim() != 2:
        raise ValueError(f"x: expected shape (N, C), got {tuple(x.shape)}")
    num_nodes = x.shape[0]
    if num_nodes == 0:
        raise ValueError(f"x: expected at least one node, got N = 0 (shape {tuple(x.shape)})")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"x: expected {channels} channels, shape (N, {channels}), got {tuple(x.shape)}"
        )
    check_edge_index(edge_index, num_nodes, x.device)
    batch, num_graphs = check_batch(batch, num_nodes, x.device)
    if batch is not None and edge_index.numel() and not torch.compiler.is_compiling():
        crossing = batch[edge_index[0]] != batch[edge_index[1]]
        if bool(crossing.any()):
            k = int(crossing.nonzero()[0])
            j, i = int(edge_index[0, k]), int(edge_index[1, k])
            raise ValueError(
                f"edge_index: expected edges within one graph, got edge {k}: {j} → {i} "
                f"joining graphs {int(batch[j])} and {int(batch[i])}"
            )
    if edge_attr is not None:
        check_floating(edge_attr, "edge_attr")
        check_device(edge_attr, "edge_attr", x.device, "the node features")
        if edge_attr.dim() != 2 or edge_attr.shape[0] != edge_index.shape[1]:
            raise ValueError(
                f"edge_attr: expected shape (E, D) with E = {edge_index.shape[1]} edges, "
                f"got {tuple(edge_attr.shape)}"
            )
        if edge_channels is not None and edge_attr.shape[1] != edge_channels:
            raise ValueError(
                f"edge_attr: expected {edge_channels} channels, got {tuple(edge_attr.shape)}"
            )
        if edge_attr.dtype != x.dtype:
            raise TypeError(
                f"edge_attr: expected the dtype of x ({x.dtype}), got {edge_attr.dtype}"
            )
    return batch, num_graphs
