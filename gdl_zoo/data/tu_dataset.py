"""Graph classification datasets in the TU raw layout (MUTAG, PROTEINS, ENZYMES, …).

Morris et al., "TUDataset: A collection of benchmark datasets for learning
with graphs", ICML GRL+ workshop 2020.  A dataset ``NAME`` lives in
``<data_dir>/tudataset/NAME/raw/`` as text files: ``NAME_A.txt`` (one edge
``i, j`` per line, 1-based node ids over the whole dataset),
``NAME_graph_indicator.txt`` (graph id of each node, 1-based),
``NAME_graph_labels.txt``, and optionally ``NAME_node_labels.txt``,
``NAME_node_attributes.txt``, ``NAME_edge_labels.txt``.  Node features are the
one-hot node labels (then the node attributes if asked for), edge features
the one-hot edge labels; graph labels are remapped to ``0 … K−1``.

Shapes use ``N`` nodes of one graph, ``E`` directed edges, ``C`` features.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gdl_zoo.data.checksums import verify_file
from gdl_zoo.data.data_root import data_root
from gdl_zoo.graphs.graph import Graph

__all__ = ["TUDataset", "load_tu_dataset"]


@dataclass(frozen=True)
class TUDataset:
    """A list of labelled graphs.

    Attributes:
        name: the dataset name.
        graphs: one :class:`~gdl_zoo.graphs.graph.Graph` per graph, ``y`` of shape ``(1,)``.
        num_classes: number of graph classes.
        num_features: ``C``.
    """

    name: str
    graphs: list[Graph]
    num_classes: int
    num_features: int

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def labels(self) -> torch.Tensor:
        """The graph labels ``(len(self),)``."""
        return torch.cat([g.y for g in self.graphs])


def _table(path: Path, required: bool = True) -> np.ndarray | None:
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"TU dataset file not found: {path}")
        return None
    return np.loadtxt(verify_file(path), delimiter=",", ndmin=2)


def _one_hot(labels: np.ndarray) -> torch.Tensor:
    labels = torch.from_numpy(labels.astype(np.int64))
    labels = labels - labels.min(0).values
    blocks = [torch.nn.functional.one_hot(col, int(col.max()) + 1) for col in labels.t()]
    return torch.cat(blocks, 1).float()


def load_tu_dataset(
    name: str, data_dir: str | os.PathLike | None = None, use_node_attributes: bool = False
) -> TUDataset:
    """Load ``<data_dir>/tudataset/NAME/raw/NAME_*.txt``.

    Raises:
        FileNotFoundError: no data root or a missing required file.
        ChecksumError: a file differs from its digest in ``<data_dir>/SHA256SUMS``.
        ValueError: inconsistent files (an edge between two graphs, unsorted indicator,
            a graph id without nodes, length mismatches).
    """
    folder = data_root(data_dir, "tudataset/NAME/raw/") / "tudataset" / name / "raw"
    prefix = folder / name
    edges = _table(Path(f"{prefix}_A.txt")).astype(np.int64) - 1
    indicator = _table(Path(f"{prefix}_graph_indicator.txt"))[:, 0].astype(np.int64) - 1
    graph_labels = _table(Path(f"{prefix}_graph_labels.txt"))[:, 0].astype(np.int64)
    node_labels = _table(Path(f"{prefix}_node_labels.txt"), required=False)
    attributes = _table(Path(f"{prefix}_node_attributes.txt"), required=False)
    edge_labels = _table(Path(f"{prefix}_edge_labels.txt"), required=False)
    n = indicator.shape[0]
    if np.any(np.diff(indicator) < 0):
        raise ValueError(f"{prefix}_graph_indicator.txt: expected sorted graph ids")
    parts = []
    if node_labels is not None:
        if node_labels.shape[0] != n:
            raise ValueError(f"node labels: expected {n} rows, got {node_labels.shape[0]}")
        parts.append(_one_hot(node_labels))
    if use_node_attributes and attributes is not None:
        if attributes.shape[0] != n:
            raise ValueError(f"node attributes: expected {n} rows, got {attributes.shape[0]}")
        parts.append(torch.from_numpy(attributes).float())
    x = torch.cat(parts, 1) if parts else torch.ones(n, 1)
    edge_attr = None
    if edge_labels is not None:
        if edge_labels.shape[0] != edges.shape[0]:
            raise ValueError(
                f"edge labels: expected {edges.shape[0]} rows, got {edge_labels.shape[0]}"
            )
        edge_attr = _one_hot(edge_labels)
    counts = np.bincount(indicator)
    if np.any(counts == 0):
        empty = int(np.flatnonzero(counts == 0)[0]) + 1
        raise ValueError(
            f"{prefix}_graph_indicator.txt: expected every graph id 1 … {len(counts)} to have "
            f"nodes, got no nodes in graph {empty}"
        )
    if graph_labels.shape[0] != len(counts):
        raise ValueError(
            f"graph labels: expected {len(counts)} rows (one per graph), "
            f"got {graph_labels.shape[0]}"
        )
    classes, y = np.unique(graph_labels, return_inverse=True)
    starts = np.concatenate([[0], np.cumsum(counts)])
    edge_graph = indicator[edges[:, 0]]
    if np.any(edge_graph != indicator[edges[:, 1]]):
        raise ValueError(f"{prefix}_A.txt: expected edges within one graph")
    order = np.argsort(edge_graph, kind="stable")
    edge_starts = np.concatenate([[0], np.cumsum(np.bincount(edge_graph, minlength=len(counts)))])
    edges_t = torch.from_numpy(edges[order]).t()
    attr_sorted = None if edge_attr is None else edge_attr[torch.from_numpy(order)]
    graphs = []
    for b in range(len(counts)):
        lo, hi = edge_starts[b], edge_starts[b + 1]
        ei = edges_t[:, lo:hi] - int(starts[b])
        ea = None if attr_sorted is None else attr_sorted[lo:hi]
        graphs.append(
            Graph(x[starts[b] : starts[b + 1]], ei.contiguous(), torch.tensor([int(y[b])]), ea)
        )
    return TUDataset(name, graphs, int(len(classes)), int(x.shape[1]))
