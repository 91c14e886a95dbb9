"""The Planetoid citation graphs (Cora, CiteSeer) from their raw ``ind.*`` files.

Yang, Cohen & Salakhutdinov, "Revisiting Semi-Supervised Learning with Graph
Embeddings" (Planetoid), ICML 2016; the public split used by Kipf & Welling
2017 and Veličković et al. 2018: 20 labelled nodes per class for training,
the next 500 nodes for validation and the 1000 listed test nodes.  The raw
layout is that of ``kimiyoung/planetoid`` (``<data_dir>/planetoid/ind.NAME.EXT``):
pickled SciPy sparse features ``x``, ``tx``, ``allx``, one-hot labels ``y``,
``ty``, ``ally``, the adjacency dict ``graph`` and the test indices
``test.index``.  The pickles are read from local files only (never from the
network), verified against ``<data_dir>/SHA256SUMS`` when it lists them, and
unpickled with an allow-list of the classes these files hold (NumPy arrays,
SciPy CSR matrices, ``list``, ``defaultdict``, ``codecs.encode``), so a tampered file cannot run
code while it loads; CiteSeer's test nodes without features get zero rows, as in
PyTorch Geometric.

Shapes use ``N`` nodes, ``E`` directed edges, ``C`` features.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gdl_zoo.data.checksums import verify_file
from gdl_zoo.data.data_root import data_root

__all__ = ["PLANETOID_NAMES", "PlanetoidGraph", "load_planetoid"]

#: The Planetoid graphs this loader reads (lower case, as in the raw file names).
PLANETOID_NAMES = ("cora", "citeseer")
_EXTS = ("x", "y", "tx", "ty", "allx", "ally", "graph")


@dataclass(frozen=True)
class PlanetoidGraph:
    """A citation graph with its public split.

    Attributes:
        x: bag-of-words features ``(N, C)`` float32 (0/1 entries).
        edge_index: symmetric, deduplicated, without self-loops, ``(2, E)``.
        y: class of each node ``(N,)`` long.
        train_mask, val_mask, test_mask: ``(N,)`` bool, the public split.
        num_classes: number of classes.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    y: torch.Tensor
    train_mask: torch.Tensor
    val_mask: torch.Tensor
    test_mask: torch.Tensor
    num_classes: int


#: The only globals the raw Planetoid pickles may name (Python 2 and 3 spellings).
_PICKLE_GLOBALS = frozenset(
    {
        ("__builtin__", "list"),
        ("_codecs", "encode"),  # how Python 3 writes bytes into a protocol-2 pickle
        ("builtins", "list"),
        ("collections", "defaultdict"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("scipy.sparse.csr", "csr_matrix"),
        ("scipy.sparse._csr", "csr_matrix"),
    }
)


class _PlanetoidUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`_PICKLE_GLOBALS` (no arbitrary callables)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(
                f"{self.source}: expected only NumPy arrays, SciPy CSR matrices, lists and "
                f"defaultdicts in a Planetoid pickle, got a reference to {module}.{name}"
            )
        return super().find_class(module, name)


def _read(path: Path):
    if not path.is_file():
        raise FileNotFoundError(
            f"Planetoid file not found: {path} (data_dir or GDL_ZOO_DATA must point to the "
            "folder that holds planetoid/)"
        )
    with open(verify_file(path), "rb") as stream, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # old scipy.sparse.csr pickles
        unpickler = _PlanetoidUnpickler(stream, encoding="latin1")
        unpickler.source = path
        return unpickler.load()


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def load_planetoid(name: str, data_dir: str | os.PathLike | None = None) -> PlanetoidGraph:
    """Load ``cora`` or ``citeseer`` with the public split from ``<data_dir>/planetoid/``.

    Raises:
        ValueError: an unknown name, or inconsistent file contents.
        FileNotFoundError: no data root or a missing file (naming the path).
        ChecksumError: a file differs from its digest in ``<data_dir>/SHA256SUMS``.
        pickle.UnpicklingError: a pickle that names a class outside the allow-list.
    """
    name = name.lower()
    if name not in PLANETOID_NAMES:
        raise ValueError(f"name: expected one of {PLANETOID_NAMES}, got {name!r}")
    folder = data_root(data_dir, "planetoid/ind.cora.x") / "planetoid"
    raw = {ext: _read(folder / f"ind.{name}.{ext}") for ext in _EXTS}
    index_path = folder / f"ind.{name}.test.index"
    if not index_path.is_file():
        raise FileNotFoundError(f"Planetoid file not found: {index_path}")
    test_index = np.loadtxt(verify_file(index_path), dtype=np.int64).reshape(-1)
    allx, tx = _dense(raw["allx"]), _dense(raw["tx"])
    ally, ty = np.asarray(raw["ally"]), np.asarray(raw["ty"])
    low, high = int(test_index.min()), int(test_index.max())
    if tx.shape[0] != test_index.shape[0] or ty.shape[0] != test_index.shape[0]:
        raise ValueError(f"{folder}: expected {test_index.shape[0]} test rows, got {tx.shape[0]}")
    span = high - low + 1
    if span > tx.shape[0]:  # CiteSeer: isolated test nodes without features get zero rows
        full_x = np.zeros((span, tx.shape[1]), dtype=tx.dtype)
        full_y = np.zeros((span, ty.shape[1]), dtype=ty.dtype)
        full_x[test_index - low], full_y[test_index - low] = tx, ty
        tx, ty = full_x, full_y
    else:
        order = np.argsort(test_index)
        tx_sorted, ty_sorted = tx.copy(), ty.copy()
        tx_sorted[np.sort(test_index) - low] = tx[order]
        ty_sorted[np.sort(test_index) - low] = ty[order]
        tx, ty = tx_sorted, ty_sorted
    features = np.concatenate([allx, tx]).astype(np.float32)
    labels = np.concatenate([ally, ty])
    n = features.shape[0]
    graph = raw["graph"]
    pairs = [(int(i), int(j)) for i, neighbours in graph.items() for j in neighbours]
    edges = torch.tensor(pairs, dtype=torch.long).t()
    edges = torch.cat([edges, edges.flip(0)], 1)
    edges = edges[:, edges[0] != edges[1]]
    if int(edges.max()) >= n:
        raise ValueError(f"{folder}: expected node indices below {n}, got {int(edges.max())}")
    keys = torch.unique(edges[1] * n + edges[0])  # sorted by target, then source
    edge_index = torch.stack([keys % n, keys // n])
    y = torch.from_numpy(labels.argmax(1)).long()
    num_train, num_val = np.asarray(raw["y"]).shape[0], 500
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][:num_train] = True
    masks[1][num_train : num_train + num_val] = True
    masks[2][torch.from_numpy(test_index)] = True
    return PlanetoidGraph(
        torch.from_numpy(features), edge_index, y, *masks, num_classes=int(labels.shape[1])
    )
