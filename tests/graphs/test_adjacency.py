"""CSR adjacency and edge patterns: products and gradients against dense references."""

import pytest
import torch

from gdl_zoo.graphs.adjacency import (
    EdgePattern,
    SparseAdjacency,
    gcn_normalized_adjacency,
    given_or_built,
    plain_adjacency,
)
from gdl_zoo.graphs.ggnn import GatedGraphConv
from gdl_zoo.graphs.gin import GINConv


def _dense(edge_index, n, weight):
    a = torch.zeros(n, n, dtype=torch.float64)
    for (j, i), w in zip(edge_index.t().tolist(), weight.tolist()):
        a[i, j] += w
    return a


def test_matmul_and_gradient_match_a_dense_matrix():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 2, 1, 1]])
    weight = torch.rand(6, dtype=torch.float64)
    adjacency = SparseAdjacency.from_edges(edge_index, 5, weight, torch.float64)
    dense = _dense(edge_index, 5, weight)
    h = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(adjacency.matmul(h), dense @ h, atol=1e-14)
    assert torch.autograd.gradcheck(adjacency.matmul, (h,))
    assert torch.allclose(adjacency.degree(), dense.sum(1), atol=1e-14)


def test_repeated_edges_add_and_dtype_follows_input():
    edge_index = torch.tensor([[0, 0], [1, 1]])
    adjacency = SparseAdjacency.from_edges(edge_index, 2)
    out = adjacency.matmul(torch.tensor([[1.0], [5.0]], dtype=torch.float64))
    assert out.dtype == torch.float64 and out.flatten().tolist() == [0.0, 2.0]


def test_gcn_normalisation_replaces_self_loops():
    edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 0, 2]])  # loops at 0 and 2 (kept once)
    adjacency = gcn_normalized_adjacency(edge_index, 4, torch.float64)
    a = torch.tensor(
        [[1.0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.float64
    )
    d = a.sum(1).rsqrt()
    expected = d[:, None] * a * d[None, :]
    assert torch.allclose(adjacency.matrix.to_dense(), expected, atol=1e-15)


def test_edge_pattern_weighted_sum_and_gradients_match_a_dense_product_per_head():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 0], [1, 0, 2, 2, 1, 1, 1]])  # 0 → 1 twice
    pattern = EdgePattern.from_edges(edge_index, 5)
    assert pattern.target.tolist() == sorted(pattern.target.tolist())
    values = torch.rand(7, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    out = pattern.weighted_sum(values, h)
    for k in range(2):
        dense = _dense(torch.stack([pattern.source, pattern.target]), 5, values[:, k].detach())
        assert torch.allclose(out[:, k], dense @ h[:, k], atol=1e-14)
    assert torch.autograd.gradcheck(pattern.weighted_sum, (values, h))
    with pytest.raises(ValueError, match=r"values: expected shape \(E, H\) with E = 7"):
        pattern.weighted_sum(values[:3], h)


def test_edge_pattern_replaces_self_loops_by_one_per_node():
    edge_index = torch.tensor([[0, 0, 0, 1], [0, 0, 1, 2]])  # a repeated loop at 0
    pattern = EdgePattern.from_edges(edge_index, 3, self_loops=True)
    pairs = sorted(zip(pattern.source.tolist(), pattern.target.tolist()))
    assert pairs == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2)]


def test_edge_pattern_second_derivatives_with_repeated_edges():
    """Double backward (e.g. a gradient penalty through GAT) with an edge 0 → 1 given twice."""
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 0], [1, 0, 2, 2, 1, 1, 1]])
    pattern = EdgePattern.from_edges(edge_index, 5)
    values = torch.rand(7, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(5, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(pattern.weighted_sum, (values, h))
    twice = pattern.reversed().reversed()
    for name in ("source", "target", "crow", "transpose_crow", "transpose_col", "transpose_order"):
        assert torch.equal(getattr(twice, name), getattr(pattern, name))


def test_given_or_built_builds_only_when_missing_and_checks_what_is_given():
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
    built = SparseAdjacency.from_edges(edge_index, 3)
    assert given_or_built(None, SparseAdjacency, 3, lambda: built, "adjacency") is built
    assert given_or_built(built, SparseAdjacency, 3, lambda: 1 / 0, "adjacency") is built
    with pytest.raises(ValueError, match="adjacency: expected a SparseAdjacency of N = 4"):
        given_or_built(built, SparseAdjacency, 4, lambda: built, "adjacency")
    pattern = EdgePattern.from_edges(edge_index, 3, self_loops=True)
    with pytest.raises(ValueError, match="pattern: expected an EdgePattern of N = 3 nodes, got"):
        given_or_built(built, EdgePattern, 3, lambda: pattern, "pattern")


def test_plain_adjacency_counts_edges_in_the_dtype_of_x():
    edge_index = torch.tensor([[0, 0, 2], [1, 1, 0]])
    x = torch.randn(3, 2, dtype=torch.float64)
    a = plain_adjacency(x, edge_index)
    assert torch.equal(a.matmul(x), torch.stack([x[2], 2 * x[0], torch.zeros(2, dtype=x.dtype)]))


@pytest.mark.parametrize("layer", [GINConv(torch.nn.Identity()), GatedGraphConv(2, 1)])
def test_sum_layers_refuse_an_adjacency_of_another_graph(layer):
    x = torch.randn(3, 2)
    edge_index = torch.tensor([[0, 1], [1, 2]])
    other = SparseAdjacency.from_edges(torch.tensor([[0], [1]]), 5)
    with pytest.raises(ValueError, match="N = 3 nodes, got 5"):
        layer(x, edge_index, other)


def test_entries_without_csr_give_the_same_products_as_csr():
    """The form built under torch.export (no CSR, repeated edges unmerged) equals the CSR one."""
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 1], [1, 0, 2, 2, 1, 1, 0]])  # 1 → 0 twice
    weight = torch.rand(7, dtype=torch.float64)
    csr = SparseAdjacency.from_edges(edge_index, 5, weight, torch.float64)
    entries = SparseAdjacency(None, None, 5, edge_index[1], edge_index[0], weight)
    h = torch.randn(5, 3, dtype=torch.float64)
    assert torch.allclose(entries.matmul(h), csr.matmul(h), atol=1e-14)
    assert torch.allclose(entries.degree(), csr.degree(), atol=1e-14)
    assert entries.dtype == torch.float64
    single = entries.to(torch.float32)
    assert single.dtype == torch.float32 and single.matrix is None
    assert torch.allclose(single.matmul(h.float()), csr.matmul(h).float(), atol=1e-6)
    broken = SparseAdjacency(None, None, 5, edge_index[0], edge_index[1], weight)  # transposed
    assert not torch.allclose(broken.matmul(h), csr.matmul(h))  # negative control
