"""Graph containers, collation and the random example batches."""

import pytest
import torch

from gdl_zoo.graphs.graph import Graph, collate_graphs, random_graph_batch


def test_collate_offsets_edges_and_builds_batch():
    a = Graph(torch.randn(2, 3), torch.tensor([[0], [1]]), torch.tensor(1))
    b = Graph(torch.randn(3, 3), torch.tensor([[2], [0]]), torch.tensor(0))
    batch = collate_graphs([a, b])
    assert batch.edge_index.tolist() == [[0, 4], [1, 2]]
    assert batch.batch.tolist() == [0, 0, 1, 1, 1]
    assert batch.y.tolist() == [1, 0] and batch.num_graphs == 2
    with pytest.raises(ValueError, match="at least one graph"):
        collate_graphs([])
    with pytest.raises(ValueError, match="indices in"):
        Graph(torch.randn(2, 3), torch.tensor([[0], [2]]))


def test_random_batches_have_the_corner_cases():
    g = random_graph_batch(2, torch.float64, torch.Generator().manual_seed(0), 4, 2)
    assert g.x.shape == (12, 4) and g.edge_attr.shape == (g.edge_index.shape[1], 2)
    loops = g.edge_index[0] == g.edge_index[1]
    assert loops.any()
    touched = torch.zeros(12, dtype=torch.bool)
    touched[g.edge_index.flatten()] = True
    assert not touched[6] and not touched[11]  # the last node of each graph is isolated


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_collate_keeps_the_graphs_device():
    """``batch`` and the offset edges live where the graphs do (they were built on the CPU)."""
    g = random_graph_batch(1, generator=torch.Generator().manual_seed(0))
    on_gpu = Graph(g.x.cuda(), g.edge_index.cuda())
    batch = collate_graphs([on_gpu, on_gpu])
    assert batch.batch.is_cuda and batch.edge_index.is_cuda


def test_collate_rejects_graphs_of_different_widths_or_dtypes():
    edge = torch.tensor([[0], [1]])
    a = Graph(torch.randn(2, 3), edge)
    with pytest.raises(ValueError, match=r"graph 1: expected x of shape \(N, 3\), got \(2, 4\)"):
        collate_graphs([a, Graph(torch.randn(2, 4), edge)])
    with pytest.raises(TypeError, match="graph 1: expected x of dtype torch.float32, got torch.f"):
        collate_graphs([a, Graph(torch.randn(2, 3, dtype=torch.float64), edge)])
    with_attr = [Graph(torch.randn(2, 3), edge, None, torch.randn(1, d)) for d in (2, 5)]
    with pytest.raises(ValueError, match=r"graph 1: expected edge_attr of shape \(E, 2\)"):
        collate_graphs(with_attr)
