"""TU raw-layout loader: MUTAG, PROTEINS, ENZYMES sizes and a hand-written dataset."""

import os
from pathlib import Path

import pytest

from gdl_zoo.data.tu_dataset import load_tu_dataset

ROOT = os.environ.get("GDL_ZOO_DATA")


@pytest.mark.parametrize(
    "name, graphs, classes, features, edges",
    [("MUTAG", 188, 2, 7, 7442), ("PROTEINS", 1113, 2, 3, 162088), ("ENZYMES", 600, 6, 3, 74564)],
)
def test_real_datasets(name, graphs, classes, features, edges):
    if not ROOT or not (Path(ROOT) / "tudataset" / name / "raw").is_dir():
        pytest.skip(f"{name} not found under $GDL_ZOO_DATA")
    d = load_tu_dataset(name, ROOT)
    assert (len(d), d.num_classes, d.num_features) == (graphs, classes, features)
    assert sum(g.edge_index.shape[1] for g in d.graphs) == edges
    assert set(d.labels.tolist()) == set(range(classes))


def _write(folder: Path, name: str, files: dict[str, str]):
    raw = folder / "tudataset" / name / "raw"
    raw.mkdir(parents=True)
    for suffix, text in files.items():
        (raw / f"{name}_{suffix}.txt").write_text(text)


def test_tiny_dataset_layout(tmp_path):
    _write(
        tmp_path,
        "TINY",
        {
            "A": "1, 2\n2, 1\n4, 5\n5, 4\n",
            "graph_indicator": "1\n1\n1\n2\n2\n",
            "graph_labels": "-1\n1\n",
            "node_labels": "0\n2\n1\n0\n0\n",
            "edge_labels": "1\n1\n0\n0\n",
        },
    )
    d = load_tu_dataset("TINY", tmp_path)
    first, second = d.graphs
    assert first.x.shape == (3, 3) and first.x[1].tolist() == [0.0, 0.0, 1.0]
    assert first.edge_index.tolist() == [[0, 1], [1, 0]]
    assert second.edge_index.tolist() == [[0, 1], [1, 0]]
    assert first.edge_attr.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert d.labels.tolist() == [0, 1]


def test_inconsistent_files_are_rejected(tmp_path):
    _write(
        tmp_path,
        "BAD",
        {"A": "1, 3\n", "graph_indicator": "1\n1\n2\n", "graph_labels": "0\n1\n"},
    )
    with pytest.raises(ValueError, match="within one graph"):
        load_tu_dataset("BAD", tmp_path)
    with pytest.raises(FileNotFoundError, match="MISSING_A.txt"):
        load_tu_dataset("MISSING", tmp_path)


@pytest.mark.parametrize("name", ["MUTAG", "PROTEINS", "ENZYMES"])
def test_agrees_with_pyg_reader(name):
    """Features, labels and each graph's edge multiset as PyG's ``read_tu_data`` reads them.

    PyG puts node attributes before the one-hot node labels; ours puts them after.
    """
    raw = Path(ROOT or "") / "tudataset" / name / "raw"
    if not ROOT or not raw.is_dir():
        pytest.skip(f"{name} not found under $GDL_ZOO_DATA")
    import torch
    from torch_geometric.io import read_tu_data

    data, slices = read_tu_data(str(raw), name)[:2]
    d = load_tu_dataset(name, ROOT, use_node_attributes=True)
    x = torch.cat([g.x for g in d.graphs])
    assert x.shape == data.x.shape
    one_hot = load_tu_dataset(name, ROOT).num_features
    assert torch.equal(torch.cat([x[:, one_hot:], x[:, :one_hot]], 1), data.x)
    assert torch.equal(d.labels, data.y)
    starts = slices["edge_index"]
    for b, g in enumerate(d.graphs):
        theirs = data.edge_index[:, starts[b] : starts[b + 1]]
        ours = g.edge_index.t().tolist()
        assert sorted(map(tuple, theirs.t().tolist())) == sorted(map(tuple, ours))
    if getattr(data, "edge_attr", None) is not None:
        ours = torch.cat([g.edge_attr for g in d.graphs])
        assert torch.equal(ours.sum(0), data.edge_attr.sum(0))


def test_graph_labels_attributes_and_empty_graphs_are_checked(tmp_path):
    base = {"A": "1, 2\n2, 1\n", "graph_indicator": "1\n1\n2\n", "graph_labels": "0\n1\n"}
    _write(tmp_path, "LABELS", {**base, "graph_labels": "0\n1\n1\n"})
    with pytest.raises(ValueError, match="graph labels: expected 2 rows"):
        load_tu_dataset("LABELS", tmp_path)
    _write(tmp_path, "ATTRS", {**base, "node_attributes": "0.5\n1.5\n"})
    with pytest.raises(ValueError, match="node attributes: expected 3 rows"):
        load_tu_dataset("ATTRS", tmp_path, use_node_attributes=True)
    _write(tmp_path, "GAP", {**base, "graph_indicator": "1\n1\n3\n", "graph_labels": "0\n1\n0\n"})
    with pytest.raises(ValueError, match="no nodes in graph 2"):
        load_tu_dataset("GAP", tmp_path)
