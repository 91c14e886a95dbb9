"""GCN: agreement with PyG's GCNConv, the cached adjacency, heads and symmetry."""

import torch
from torch_geometric.nn import GCNConv as PygGCNConv

from gdl_zoo.graphs.adjacency import gcn_normalized_adjacency
from gdl_zoo.graphs.gcn import GCNConv
from gdl_zoo.graphs.graph import random_graph_batch


def _graph(dtype=torch.float64, channels=4):
    g = random_graph_batch(3, dtype, torch.Generator().manual_seed(1), channels)
    # 1 → 2 twice (a repeated edge), loops at 3 twice and at 0 a second time
    edge_index = torch.cat([g.edge_index, torch.tensor([[1, 1, 3, 3, 0], [2, 2, 3, 3, 0]])], 1)
    pairs = edge_index.t().tolist()
    assert pairs.count([1, 2]) == 2 and pairs.count([3, 3]) == 2 and pairs.count([0, 0]) == 2
    return g.x, edge_index, g.batch


def test_gcnconv_matches_pyg():
    x, edge_index, _ = _graph()
    ours = GCNConv(4, 5).double()
    ref = PygGCNConv(4, 5).double()
    with torch.no_grad():
        ours.lin.weight.copy_(ref.lin.weight)
        ours.bias.copy_(torch.randn(5, dtype=torch.float64))
        ref.bias.copy_(ours.bias)
    expected = ref(x, edge_index)
    assert torch.allclose(ours(x, edge_index), expected, atol=1e-10, rtol=0)
    adjacency = gcn_normalized_adjacency(edge_index, x.shape[0], torch.float64)
    assert torch.allclose(ours(x, edge_index, adjacency), expected, atol=1e-10, rtol=0)


def test_gcnconv_gradients_match_pyg():
    x, edge_index, _ = _graph()
    ours, ref = GCNConv(4, 5).double(), PygGCNConv(4, 5).double()
    with torch.no_grad():
        ours.lin.weight.copy_(ref.lin.weight)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ours(xa, edge_index) ** 2).sum().backward()
    (ref(xb, edge_index) ** 2).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-10, rtol=0)
    assert torch.allclose(ours.lin.weight.grad, ref.lin.weight.grad, atol=1e-10, rtol=0)


def test_dense_reference():
    """H' = D^-1/2 (A + I) D^-1/2 H W with a dense matrix built by hand."""
    x, edge_index, _ = _graph()
    n = x.shape[0]
    a = torch.zeros(n, n, dtype=torch.float64)
    for j, i in edge_index.t().tolist():
        if i != j:
            a[i, j] += 1
    a += torch.eye(n, dtype=torch.float64)
    d = a.sum(1).rsqrt()
    conv = GCNConv(4, 5, bias=False).double()
    expected = (d[:, None] * a * d[None, :]) @ conv.lin(x)
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-12)
