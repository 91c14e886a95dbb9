"""Gated graph networks: agreement with PyG's GatedGraphConv, padding, heads and symmetry."""

import pytest
import torch
from torch_geometric.nn import GatedGraphConv as PygGatedGraphConv

from gdl_zoo.graphs.ggnn import GGNN, GatedGraphConv
from gdl_zoo.graphs.graph import random_graph_batch


def test_matches_pyg_gated_graph_conv():
    g = random_graph_batch(2, torch.float64, torch.Generator().manual_seed(6), 4)
    ours = GatedGraphConv(6, 3).double()
    ref = PygGatedGraphConv(6, 3).double()
    with torch.no_grad():
        ours.weight.copy_(ref.weight)
    ours.rnn.load_state_dict(ref.rnn.state_dict())
    assert torch.allclose(ours(g.x, g.edge_index), ref(g.x, g.edge_index), atol=1e-10, rtol=0)


def test_widths_are_checked_and_heads_have_shapes():
    g = random_graph_batch(2, torch.float64, torch.Generator().manual_seed(6), 4)
    with pytest.raises(ValueError, match="at least in_channels = 4"):
        GGNN(4, 3, 2)
    with pytest.raises(ValueError, match="at most 2 channels"):
        GatedGraphConv(2, 1).double()(g.x, g.edge_index)
    node = GGNN(4, 8, 2, task="node").double()
    graph = GGNN(4, 8, 2, task="graph").double()
    assert node(g.x, g.edge_index, g.batch).shape == (g.x.shape[0], 2)
    assert graph(g.x, g.edge_index, g.batch).shape == (2, 2)
