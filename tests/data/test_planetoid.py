"""Planetoid loader: sizes of Cora and CiteSeer, the public split, clean errors."""

import os
from pathlib import Path

import pytest
import torch

from gdl_zoo.data.planetoid import load_planetoid

ROOT = os.environ.get("GDL_ZOO_DATA")
needs_data = pytest.mark.skipif(
    not ROOT or not (Path(ROOT) / "planetoid" / "ind.cora.x").is_file(),
    reason="Planetoid data not found under $GDL_ZOO_DATA",
)


@needs_data
@pytest.mark.parametrize(
    "name, nodes, edges, features, classes, train",
    [("cora", 2708, 10556, 1433, 7, 140), ("citeseer", 3327, 9104, 3703, 6, 120)],
)
def test_sizes_and_split(name, nodes, edges, features, classes, train):
    g = load_planetoid(name, ROOT)
    assert g.x.shape == (nodes, features) and g.edge_index.shape == (2, edges)
    assert g.num_classes == classes and int(g.y.max()) == classes - 1
    assert (int(g.train_mask.sum()), int(g.val_mask.sum()), int(g.test_mask.sum())) == (
        train,
        500,
        1000,
    )
    assert not (g.train_mask & g.test_mask).any()
    ei = g.edge_index
    assert not (ei[0] == ei[1]).any()
    flipped = set(map(tuple, ei.flip(0).t().tolist()))
    assert flipped == set(map(tuple, ei.t().tolist()))  # symmetric
    assert torch.bincount(g.y[g.train_mask]).tolist() == [20] * classes


def test_errors_name_the_problem(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="expected one of"):
        load_planetoid("pubmedx", tmp_path)
    with pytest.raises(FileNotFoundError, match="ind.cora.x"):
        load_planetoid("cora", tmp_path)
    monkeypatch.delenv("GDL_ZOO_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="GDL_ZOO_DATA"):
        load_planetoid("cora")


@needs_data
@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_agrees_with_pyg_reader(name):
    """Features, labels, edges and the public split as PyG's ``read_planetoid_data`` reads them.

    On CiteSeer this checks the placement of the test rows (``test.index`` is not sorted) and
    the zero rows of the 15 isolated nodes without features.
    """
    from torch_geometric.io import read_planetoid_data

    ref = read_planetoid_data(str(Path(ROOT) / "planetoid"), name)
    g = load_planetoid(name, ROOT)
    assert torch.equal(g.x, ref.x) and torch.equal(g.y, ref.y)
    for mask in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(g, mask), getattr(ref, mask))
    assert torch.equal(g.edge_index.unique(dim=1), ref.edge_index.unique(dim=1))
