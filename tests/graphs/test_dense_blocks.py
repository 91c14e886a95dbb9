"""Dense blocks: graphs grouped by size class, scattered and combined back in order."""

import pytest
import torch

from gdl_zoo.graphs.dense_blocks import DenseBlocks
from gdl_zoo.graphs.positional_encodings import dense_adjacency


def _batch():
    """Graphs of 1, 9, 3, 2, 12 nodes: size classes 0, 4, 2, 1, 4."""
    sizes = [1, 9, 3, 2, 12]
    batch = torch.repeat_interleave(torch.arange(5), torch.tensor(sizes))
    gen = torch.Generator().manual_seed(0)
    edges = []
    for b, n in enumerate(sizes):
        start = int((batch < b).sum())
        edges.append(torch.randint(0, n, (2, 2 * n), generator=gen) + start)
    return torch.cat(edges, 1), batch


def test_blocks_group_by_size_class_and_match_the_padded_adjacency():
    edge_index, batch = _batch()
    blocks = DenseBlocks.from_graph(edge_index, batch, 27)
    assert [tuple(b.present.shape) for b in blocks.blocks] == [(1, 1), (1, 2), (1, 3), (2, 12)]
    padded = dense_adjacency(edge_index, batch, 27)  # (5, 12, 12), the slow reference
    last = blocks.blocks[-1]
    assert torch.equal(last.edges[0, :9, :9], padded[1, :9, :9])
    assert torch.equal(last.edges[1], padded[4])
    assert last.present.sum().item() == 21


def test_scatter_gather_combine_round_trip():
    edge_index, batch = _batch()
    blocks = DenseBlocks.from_graph(edge_index, batch, 27)
    h = torch.randn(27, 4, dtype=torch.float64)
    parts = [b.gather(b.scatter(h)) for b in blocks.blocks]
    assert torch.equal(blocks.combine(parts), h)


def test_one_graph_and_errors():
    blocks = DenseBlocks.from_graph(torch.tensor([[0, 1], [1, 2]]), None, 3)
    assert len(blocks.blocks) == 1 and blocks.blocks[0].edges[0, 1, 0] == 1
    with pytest.raises(ValueError, match="within one graph"):
        DenseBlocks.from_graph(torch.tensor([[0], [2]]), torch.tensor([0, 0, 1]), 3)
    with pytest.raises(ValueError, match="sorted"):
        DenseBlocks.from_graph(torch.tensor([[0], [1]]), torch.tensor([1, 0, 1]), 3)
