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

from gdl_zoo._data_dependent import check_under_export, data_dependent_int
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
    if torch.compiler.is_exporting():  # runtime asserts of the program (E may be unknown)
        check_under_export(edge_index >= 0, "edge_index: expected non-negative node indices")
        check_under_export(
            edge_index < num_nodes, f"edge_index: expected node indices below N = {num_nodes}"
        )
    elif edge_index.numel() and not torch.compiler.is_compiling():  # data-dependent: eager only
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise ValueError(
                f"edge_index: expected node indices in [0, {num_nodes}) for N = {num_nodes} "
                f"nodes, got indices in [{low}, {high}]"
            )
    return edge_index


def check_batch(
    batch: Any,
    num_nodes: int,
    device: torch.device | None = None,
    num_graphs: Any = None,
    count_name: str = "num_graphs",
) -> tuple[torch.Tensor | None, int]:
    """Require a sorted integer ``(N,)`` graph index on ``device``; return it and ``B``.

    ``None`` stands for a single graph (``B = 1``).  Empty graphs in the middle
    of the batch (skipped indices) are allowed and count towards ``B``.

    ``B = batch[-1] + 1`` is read from the data, which under ``torch.compile``
    runs eagerly between graphs.  A caller that knows ``B`` (a model passing the
    count it read once to each of its layers, as PyG's pooling takes ``size``)
    gives it as ``num_graphs``: then nothing is read under ``torch.compile``;
    eagerly the indices are still checked (sorted, in ``[0, num_graphs)``).
    ``num_graphs`` may exceed ``batch[-1] + 1`` (empty graphs at the end);
    ``count_name`` is its name in the caller's signature, for the errors.

    Raises:
        TypeError: not a tensor.
        ValueError: another device than ``device`` (``None``: any), a non-integer
            dtype, a wrong shape, negative or unsorted indices, ``num_graphs``
            not a positive int or below ``batch[-1] + 1`` (or not 1 without ``batch``).
    """
    if num_graphs is not None:
        _check_graph_count(num_graphs, count_name)
    if batch is None:
        if num_graphs not in (None, 1):
            raise ValueError(
                f"{count_name}: expected 1 for batch = None (one graph), got {num_graphs!r}"
            )
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
    if num_graphs is None:
        return batch, _sorted_graph_count(batch)
    if torch.compiler.is_exporting():
        _assert_sorted_under_export(batch)
        check_under_export(batch < num_graphs, f"batch: expected graph indices below {count_name}")
    elif not torch.compiler.is_compiling():
        found = _sorted_graph_count(batch)
        if found > num_graphs:
            raise ValueError(
                f"batch: expected graph indices in [0, {count_name}) = [0, {num_graphs}), "
                f"got index {found - 1}"
            )
    return batch, num_graphs


def _check_graph_count(num_graphs: Any, name: str) -> None:
    """Require a positive int (or the symbolic int of an exported program) as ``B``."""
    if isinstance(num_graphs, torch.SymInt):
        return
    if isinstance(num_graphs, bool) or not isinstance(num_graphs, int) or num_graphs < 1:
        raise ValueError(f"{name}: expected a positive int, got {num_graphs!r}")


def _assert_sorted_under_export(batch: torch.Tensor) -> None:
    """The exported program's runtime assertions that ``batch`` is non-negative and sorted."""
    check_under_export(batch[0] >= 0, "batch: expected non-negative graph indices")
    # sorted ⇔ equal to its running maximum (no slice batch[1:], whose size N - 1
    # would make export require N ≥ 3 for a dynamic N)
    check_under_export(
        torch.cummax(batch, 0).values == batch, "batch: expected sorted graph indices"
    )


@eager_under_compile  # B is read from the data: outside torch.compile's graph, checks included
def _sorted_graph_count(batch: torch.Tensor) -> int:
    """``B = batch[-1] + 1`` of a non-negative, sorted graph index (else ``ValueError``).

    Under ``torch.export`` ``B`` is read by the exported program from each input
    (an unbacked symbolic int) and both checks become its runtime assertions.
    """
    if torch.compiler.is_exporting():
        _assert_sorted_under_export(batch)
        return data_dependent_int(batch[-1], minimum=0) + 1
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
    if batch is not None and torch.compiler.is_exporting():  # E may be unknown: no numel test
        check_under_export(
            batch[edge_index[0]] == batch[edge_index[1]],
            "edge_index: expected edges within one graph",
        )
    elif batch is not None and edge_index.numel() and not torch.compiler.is_compiling():
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
