"""GIN: agreement with PyG's GINConv, heads and symmetry."""

import pytest
import torch
from torch import nn
from torch_geometric.nn import GINConv as PygGINConv

from gdl_zoo.graphs.gin import GINConv
from gdl_zoo.graphs.graph import random_graph_batch


def _graph(dtype=torch.float64):
    g = random_graph_batch(3, dtype, torch.Generator().manual_seed(3), 4)
    # 1 → 2 twice (a repeated edge), loops at 3 twice and at 0 a second time
    edge_index = torch.cat([g.edge_index, torch.tensor([[1, 1, 3, 3, 0], [2, 2, 3, 3, 0]])], 1)
    pairs = edge_index.t().tolist()
    assert pairs.count([1, 2]) == 2 and pairs.count([3, 3]) == 2 and pairs.count([0, 0]) == 2
    return g.x, edge_index, g.batch


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_ginconv_matches_pyg(eps):
    x, edge_index, _ = _graph()
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5)).double()
    ours = GINConv(mlp, eps=eps, train_eps=True).double()
    ref = PygGINConv(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5)), eps, True)
    ref = ref.double()
    ref.nn.load_state_dict(mlp.state_dict())
    assert torch.allclose(ours(x, edge_index), ref(x, edge_index), atol=1e-10, rtol=0)


def test_ginconv_gradients_match_pyg():
    x, edge_index, _ = _graph()
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5)).double()
    ours = GINConv(mlp, eps=0.2, train_eps=True).double()
    ref = PygGINConv(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5)), 0.2, True)
    ref = ref.double()
    ref.nn.load_state_dict(mlp.state_dict())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ours(xa, edge_index) ** 2).sum().backward()
    (ref(xb, edge_index) ** 2).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-10, rtol=0)
    assert torch.allclose(ours.eps.grad, ref.eps.grad, atol=1e-10, rtol=0)
    assert torch.allclose(mlp[0].weight.grad, ref.nn[0].weight.grad, atol=1e-10, rtol=0)


def test_sum_aggregation_against_a_loop():
    x, edge_index, _ = _graph()
    conv = GINConv(nn.Identity())
    expected = x.clone()
    for j, i in edge_index.t().tolist():
        expected[i] += x[j]
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-12)
