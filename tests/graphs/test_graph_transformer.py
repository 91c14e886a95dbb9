"""Graph Transformer: attention stays within graphs; encodings keep the symmetry."""

import pytest
import torch

from gdl_zoo.graphs.actions import NodePermutation
from gdl_zoo.graphs.graph import random_graph_batch
from gdl_zoo.graphs.graph_transformer import GraphTransformer
from gdl_zoo.graphs.positional_encodings import laplacian_eigenvectors, random_walk_encoding
from gdl_zoo.symmetry import Invariant, assert_equivariant

ROLES = ("node", "edge_index", "batch")


def _batch(dtype):
    return random_graph_batch(2, dtype, torch.Generator().manual_seed(8), 4)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("task", ["node", "graph"])
def test_symmetry_with_random_walk_encodings(task, dtype):
    g = _batch(dtype)
    model = GraphTransformer(4, 8, 3, heads=2, task=task).to(dtype)
    act_out = NodePermutation((7, 5)) if task == "node" else Invariant()
    report = assert_equivariant(
        model, (g.x, g.edge_index, g.batch), NodePermutation((7, 5), ROLES), act_out
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def _generic_graphs():
    """Two connected graphs (7 and 5 nodes) whose Laplacians have simple eigenvalues."""
    gen = torch.Generator().manual_seed(9)
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (0, 3), (2, 6), (1, 5)]
    pairs += [(7, 8), (8, 9), (9, 10), (10, 11), (7, 9)]
    directed = torch.tensor(pairs).t()
    edge_index = torch.cat([directed, directed.flip(0)], 1)
    batch = torch.tensor([0] * 7 + [1] * 5)
    return torch.randn(12, 4, generator=gen, dtype=torch.float64), edge_index, batch


def test_laplacian_option_is_sign_invariant_and_symmetric_on_a_generic_graph():
    x, edge_index, batch = _generic_graphs()
    _, values, _ = laplacian_eigenvectors(edge_index, 12, 3, batch)
    for rows in (values[0], values[7]):
        assert rows.diff().min() > 1e-3  # simple eigenvalues: only signs are ambiguous
    model = GraphTransformer(4, 8, 3, heads=2, rw_steps=0, laplacian_k=3, task="node").double()
    report = assert_equivariant(
        model, (x, edge_index, batch), NodePermutation((7, 5), ROLES), NodePermutation((7, 5))
    )
    assert report.max_error < 1e-10


def test_flipping_eigenvector_signs_leaves_the_model_unchanged():
    """The sign ambiguity of eigh is harmless: any flip of the eigenvectors, same output."""
    x, edge_index, batch = _generic_graphs()
    vectors, values, valid = laplacian_eigenvectors(edge_index, 12, 3, batch)
    model = GraphTransformer(4, 8, 3, heads=2, rw_steps=0, laplacian_k=3, task="node").double()
    out = model(x, edge_index, batch, laplacian=(vectors, values, valid))
    flips = torch.tensor([-1.0, 1.0, -1.0], dtype=torch.float64)
    flipped = model(x, edge_index, batch, laplacian=(vectors * flips, values, valid))
    assert torch.allclose(flipped, out, atol=1e-13, rtol=0)
    # negative control: phi(u) alone, without its sign-flipped twin, does see the flip
    phi = model.laplacian_embed.phi
    one_sided = phi(torch.stack([vectors, values], -1)).sum(1)
    assert not torch.allclose(phi(torch.stack([vectors * flips, values], -1)).sum(1), one_sided)


def test_precomputed_encodings_and_edge_bias():
    g = _batch(torch.float64)
    model = GraphTransformer(4, 8, 3, heads=2, task="node").double()
    rwse = random_walk_encoding(g.edge_index, 12, 8, g.batch)
    assert torch.allclose(
        model(g.x, g.edge_index, g.batch, rwse=rwse), model(g.x, g.edge_index, g.batch)
    )
    with pytest.raises(ValueError, match=r"rwse: expected shape \(N, K\) = \(12, 8\)"):
        model(g.x, g.edge_index, g.batch, rwse=rwse[:, :3])
    with pytest.raises(ValueError, match="multiple of heads"):
        GraphTransformer(4, 6, 3, heads=4)


@pytest.mark.parametrize("task", ["node", "graph"])
def test_attention_stays_within_each_graph(task):
    """Changing graph 2 (features and edges) leaves graph 1's outputs exactly as they were.

    The graphs have 7 and 5 nodes, the same size class, so they share one padded dense block:
    the test also checks that the padding and the other graph are masked out of the keys.
    """
    g = _batch(torch.float64)
    model = GraphTransformer(4, 8, 3, heads=2, task=task).double().eval()
    out = model(g.x, g.edge_index, g.batch)
    x = g.x.clone()
    x[7:] = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    second = g.edge_index[:, g.edge_index[0] >= 7]
    edge_index = torch.cat([g.edge_index[:, g.edge_index[0] < 7], second.flip(0)], 1)
    changed = model(x, edge_index, g.batch)
    first, other = (slice(0, 7), slice(7, 12)) if task == "node" else (slice(0, 1), slice(1, 2))
    assert torch.allclose(changed[first], out[first], atol=1e-13, rtol=0)
    assert not torch.allclose(changed[other], out[other], atol=1e-3)


def test_precomputed_laplacian_encodings_are_checked():
    x, edge_index, batch = _generic_graphs()
    vectors, values, valid = laplacian_eigenvectors(edge_index, 12, 3, batch)
    model = GraphTransformer(4, 8, 3, heads=2, rw_steps=0, laplacian_k=3, task="node").double()
    with pytest.raises(ValueError, match=r"laplacian: expected \(vectors, values, valid\)"):
        model(x, edge_index, batch, laplacian=(vectors, values))
    with pytest.raises(
        ValueError, match=r"laplacian: expected vectors of shape \(N, k\) = \(12, 3\)"
    ):
        model(x, edge_index, batch, laplacian=(vectors[:, :2], values[:, :2], valid[:, :2]))
    with pytest.raises(
        ValueError, match=r"expected valid of shape \(N, k\) = \(12, 3\), got \(7, 3\)"
    ):
        model(x, edge_index, batch, laplacian=(vectors, values, valid[:7]))
    with pytest.raises(TypeError, match="laplacian: expected valid of dtype torch.bool"):
        model(x, edge_index, batch, laplacian=(vectors, values, valid.double()))


@pytest.mark.parametrize("laplacian_k", [0, 2])
def test_an_empty_graph_in_the_batch(laplacian_k):
    """A skipped graph index joins no dense block: its row is ``head(0)``, the others unchanged."""
    g = _batch(torch.float64)
    model = GraphTransformer(4, 8, 3, heads=2, laplacian_k=laplacian_k).double().eval()
    skipped = torch.where(g.batch == 1, 2, g.batch)  # graphs 0 and 2; graph 1 has no nodes
    out = model(g.x, g.edge_index, skipped)
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    assert torch.allclose(out[1], model.head(torch.zeros(1, 8, dtype=torch.float64))[0])
    assert torch.allclose(out[[0, 2]], model(g.x, g.edge_index, g.batch), atol=1e-12, rtol=0)
