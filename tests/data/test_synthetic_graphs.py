"""Synthetic graphs and the 1-WL expressivity task."""

import pytest
import torch

from gdl_zoo.data.synthetic_graphs import (
    cycle_graph,
    has_triangle,
    random_regular_graph,
    stochastic_block_model,
    wl_colours,
    wl_expressivity_task,
)
from gdl_zoo.graphs.gin import GIN
from gdl_zoo.graphs.graph import collate_graphs
from gdl_zoo.graphs.graph_transformer import GraphTransformer


def _histogram(edge_index, n):
    return sorted(wl_colours(edge_index, n).tolist())


def test_regular_graphs_and_cycles():
    edges = random_regular_graph(8, 3, torch.Generator().manual_seed(0))
    assert torch.bincount(edges[1], minlength=8).tolist() == [3] * 8
    assert not (edges[0] == edges[1]).any()
    assert cycle_graph(5).shape == (2, 10)
    with pytest.raises(ValueError, match="n·d even"):
        random_regular_graph(5, 3)


def test_sbm_has_denser_communities():
    g = stochastic_block_model([30, 30], 0.5, 0.01, generator=torch.Generator().manual_seed(0))
    same = g.y[g.edge_index[0]] == g.y[g.edge_index[1]]
    assert same.float().mean() > 0.9 and g.y.shape == (60,)


def test_wl_cannot_separate_the_task_but_labels_differ():
    two_triangles = torch.cat([cycle_graph(3), cycle_graph(3, 3)], 1)
    hexagon = cycle_graph(6)
    assert _histogram(two_triangles, 6) == _histogram(hexagon, 6)
    assert has_triangle(two_triangles, 6) and not has_triangle(hexagon, 6)
    path = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]])
    assert _histogram(path, 6) != _histogram(hexagon, 6)  # 1-WL does separate these
    graphs = wl_expressivity_task(16, torch.Generator().manual_seed(1))
    assert [int(g.y) for g in graphs[:4]] == [0, 1, 0, 1]
    for g in graphs:
        assert has_triangle(g.edge_index, g.num_nodes) == bool(g.y)


def test_gin_is_blind_to_the_task_and_random_walks_are_not():
    """Same size, same degree, constant features: GIN outputs coincide; RWSE separates."""
    graphs = wl_expressivity_task(4, torch.Generator().manual_seed(2))[:2]  # 2·C_3 and C_6
    batch = collate_graphs(graphs)
    torch.manual_seed(0)
    gin = GIN(1, 8, 2, num_layers=3).double().eval()
    out = gin(batch.x.double(), batch.edge_index, batch.batch)
    assert torch.allclose(out[0], out[1], atol=1e-12)
    transformer = GraphTransformer(1, 8, 2, heads=2, rw_steps=4).double().eval()
    out = transformer(batch.x.double(), batch.edge_index, batch.batch)
    assert not torch.allclose(out[0], out[1], atol=1e-6)
