"""GAT: agreement with PyG's GATConv, the edge softmax, heads and symmetry."""

import pytest
import torch
from torch_geometric.nn import GATConv as PygGATConv

from gdl_zoo.graphs.adjacency import EdgePattern
from gdl_zoo.graphs.gat import GATConv, edge_softmax
from gdl_zoo.graphs.graph import random_graph_batch


def _graph(dtype=torch.float64):
    g = random_graph_batch(3, dtype, torch.Generator().manual_seed(2), 4)
    # 1 → 2 twice (a repeated edge), loops at 3 twice and at 0 a second time
    edge_index = torch.cat([g.edge_index, torch.tensor([[1, 1, 3, 3, 0], [2, 2, 3, 3, 0]])], 1)
    pairs = edge_index.t().tolist()
    assert pairs.count([1, 2]) == 2 and pairs.count([3, 3]) == 2 and pairs.count([0, 0]) == 2
    return g.x, edge_index, g.batch


@pytest.mark.parametrize("concat", [True, False])
def test_gatconv_matches_pyg(concat):
    x, edge_index, _ = _graph()
    ours = GATConv(4, 5, heads=3, concat=concat).double()
    ref = PygGATConv(4, 5, heads=3, concat=concat).double()
    with torch.no_grad():
        ours.lin.weight.copy_(ref.lin.weight)
        ours.att_src.copy_(ref.att_src)
        ours.att_dst.copy_(ref.att_dst)
        ref.bias.copy_(torch.randn_like(ref.bias))
        ours.bias.copy_(ref.bias)
    assert torch.allclose(ours(x, edge_index), ref(x, edge_index), atol=1e-10, rtol=0)


def test_gatconv_gradients_match_pyg():
    """Our backward (CSR product and SDDMM) against PyG's autograd through gather and scatter."""
    x, edge_index, _ = _graph()
    ours = GATConv(4, 5, heads=3).double()
    ref = PygGATConv(4, 5, heads=3).double()
    with torch.no_grad():
        ours.lin.weight.copy_(ref.lin.weight)
        ours.att_src.copy_(ref.att_src)
        ours.att_dst.copy_(ref.att_dst)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ours(xa, edge_index) ** 2).sum().backward()
    (ref(xb, edge_index) ** 2).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-10, rtol=0)
    for mine, theirs in ((ours.lin.weight, ref.lin.weight), (ours.att_src, ref.att_src)):
        assert torch.allclose(mine.grad, theirs.grad, atol=1e-10, rtol=0)
    assert torch.allclose(ours.att_dst.grad, ref.att_dst.grad, atol=1e-10, rtol=0)


def test_precomputed_pattern_is_used_and_checked():
    x, edge_index, _ = _graph()
    conv = GATConv(4, 5, heads=2).double()
    pattern = EdgePattern.from_edges(edge_index, x.shape[0], self_loops=True)
    assert torch.equal(conv(x, edge_index, pattern), conv(x, edge_index))
    with pytest.raises(ValueError, match="pattern: expected an EdgePattern of N = 18 nodes"):
        conv(x, edge_index, EdgePattern.from_edges(edge_index, 30))


def test_edge_softmax_against_a_loop():
    scores = torch.randn(7, 2, dtype=torch.float64)
    target = torch.tensor([0, 2, 0, 1, 2, 2, 0])
    alpha = edge_softmax(scores, target, 4)
    for i in range(3):
        mask = target == i
        assert torch.allclose(alpha[mask], torch.softmax(scores[mask], 0), atol=1e-14)
