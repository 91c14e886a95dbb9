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


def test_the_one_block_of_export_gives_the_attention_and_walks_of_the_size_classes():
    """All graphs in one block (the form torch.export traces) change padding, not results."""
    from gdl_zoo.graphs.dense_blocks import _one_block
    from gdl_zoo.graphs.graph_transformer import GraphAttention
    from gdl_zoo.graphs.positional_encodings import random_walk_encoding

    edge_index, batch = _batch()
    by_class = DenseBlocks.from_graph(edge_index, batch, 27)
    one = _one_block(edge_index, batch, 5)
    assert len(one.blocks) == 1 and tuple(one.blocks[0].present.shape) == (5, 12)
    torch.manual_seed(0)
    attention = GraphAttention(8, 2).double()
    with torch.no_grad():
        attention.edge_bias.normal_()
    h = torch.randn(27, 8, dtype=torch.float64)
    assert torch.allclose(attention(h, one), attention(h, by_class), atol=1e-12)
    walks = random_walk_encoding(edge_index, 27, 4, batch, one)
    assert torch.allclose(walks, random_walk_encoding(edge_index, 27, 4, batch, by_class))
    merged = torch.where(batch == 2, 1, batch)  # graphs 1 and 2 as one graph (2 left empty)
    other = _one_block(edge_index, merged, 5)
    wrong = attention(h, other)  # an empty graph in the block: its rows are never read
    assert torch.isfinite(wrong).all()
    assert not torch.allclose(wrong, attention(h, by_class))  # negative control
