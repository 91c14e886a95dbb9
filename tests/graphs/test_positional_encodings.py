"""Positional encodings: RWSE against matrix powers, Laplacian signs and padding."""

import pytest
import torch

from gdl_zoo.graphs.graph import random_graph_batch
from gdl_zoo.graphs.positional_encodings import (
    SignInvariantEncoder,
    dense_adjacency,
    laplacian_eigenvectors,
    random_walk_encoding,
)


def _batch():
    return random_graph_batch(2, torch.float64, torch.Generator().manual_seed(7), 2)


def test_random_walk_encoding_matches_matrix_powers_per_graph():
    g = _batch()
    encoding = random_walk_encoding(g.edge_index, g.x.shape[0], 4, g.batch)
    for b, (start, n) in enumerate([(0, 7), (7, 5)]):
        counts = dense_adjacency(g.edge_index, g.batch, g.x.shape[0])[b, :n, :n].T
        walk = counts / counts.sum(1, keepdim=True).clamp(min=1)
        for k in range(1, 5):
            expected = torch.diagonal(torch.linalg.matrix_power(walk, k))
            assert torch.allclose(encoding[start : start + n, k - 1], expected, atol=1e-14)


def test_laplacian_eigenvectors_solve_the_eigenproblem_and_pad():
    g = _batch()
    vectors, values, valid = laplacian_eigenvectors(g.edge_index, 12, 6, g.batch)
    assert valid[:7].all() and valid[7:, :4].all() and not valid[7:, 4:].any()  # n = 5: 4 vectors
    s = dense_adjacency(g.edge_index, g.batch, 12)[0, :7, :7]
    s = ((s + s.T) > 0).double() * (1 - torch.eye(7, dtype=torch.float64))
    d = s.sum(1)
    scale = torch.where(d > 0, d.clamp(min=1).rsqrt(), 0.0)
    laplacian = torch.eye(7, dtype=torch.float64) - scale[:, None] * s * scale[None, :]
    u, lam = vectors[:7], values[0]
    assert torch.allclose(laplacian @ u, u * lam, atol=1e-12)


def test_sign_invariant_encoder():
    encoder = SignInvariantEncoder(5).double()
    vectors = torch.randn(6, 3, dtype=torch.float64)
    values = torch.rand(6, 3, dtype=torch.float64)
    valid = torch.ones(6, 3, dtype=torch.bool)
    flips = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    out = encoder(vectors, values, valid)
    assert torch.allclose(encoder(vectors * flips, values, valid), out, atol=1e-14)
    assert not torch.allclose(encoder(vectors.roll(1, 0), values, valid), out)


def test_laplacian_eigenvectors_of_a_single_node_and_an_isolated_node():
    edge_index = torch.tensor([[1, 2], [2, 1]])  # graph 0: node 0 alone; graph 1: 1 - 2, 3 isolated
    batch = torch.tensor([0, 1, 1, 1])
    vectors, values, valid = laplacian_eigenvectors(edge_index, 4, 2, batch)
    assert not valid[0].any() and valid[1:].all()
    assert torch.isfinite(vectors).all() and torch.allclose(values[1], values[3])
    # graph 1's spectrum: {0, 1 (the isolated node), 2}; the first is skipped
    assert torch.allclose(values[1], torch.tensor([1.0, 2.0], dtype=torch.float64), atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_encodings_of_one_graph_without_batch_on_cuda():
    """``batch=None`` on CUDA: the local index follows ``edge_index`` (it was built on the CPU)."""
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]).cuda()
    vectors, values, valid = laplacian_eigenvectors(edge_index, 4, 2)
    cpu = laplacian_eigenvectors(edge_index.cpu(), 4, 2)
    assert vectors.is_cuda and torch.allclose(values.cpu(), cpu[1], atol=1e-12)
    assert dense_adjacency(edge_index, None, 4).is_cuda
