"""MPNN with edge features: against a per-edge loop, the edge-feature switch, symmetry."""

import pytest
import torch

from gdl_zoo.graphs.graph import random_graph_batch
from gdl_zoo.graphs.mpnn import MPNN, MPNNLayer


def _graph():
    g = random_graph_batch(2, torch.float64, torch.Generator().manual_seed(5), 4, 3)
    return g.x, g.edge_index, g.edge_attr


@pytest.mark.parametrize("aggregation", ["sum", "mean"])
def test_layer_matches_a_per_edge_loop(aggregation):
    x, edge_index, edge_attr = _graph()
    layer = MPNNLayer(4, 6, 3, aggregation).double()
    messages = {i: [] for i in range(x.shape[0])}
    for k, (j, i) in enumerate(edge_index.t().tolist()):
        pre = (
            layer.message_target(x[i])
            + layer.message_source(x[j])
            + layer.message_edge(edge_attr[k])
        )
        messages[i].append(layer.message_out(torch.relu(pre)))
    rows = []
    for i in range(x.shape[0]):
        m = torch.stack(messages[i]) if messages[i] else torch.zeros(1, 6, dtype=torch.float64)
        total = m.sum(0) if aggregation == "sum" else m.mean(0)
        rows.append(layer.root(x[i]) + layer.update(torch.cat([x[i], total])))
    assert torch.allclose(layer(x, edge_index, edge_attr), torch.stack(rows), atol=1e-12)


def test_edge_features_matter_and_are_checked():
    x, edge_index, edge_attr = _graph()
    model = MPNN(4, 8, 2, edge_channels=3).double()
    assert not torch.allclose(model(x, edge_index, edge_attr), model(x, edge_index, -edge_attr))
    with pytest.raises(ValueError, match="expected a tensor for edge_channels = 3, got None"):
        model(x, edge_index, None)
    with pytest.raises(ValueError, match=r"expected shape \(E, 3\)"):
        model(x, edge_index, edge_attr[:, :2])
    plain = MPNN(4, 8, 2, edge_channels=0).double()
    assert plain(x, edge_index).shape == (x.shape[0], 2)
    with pytest.raises(ValueError, match="aggregation"):
        MPNNLayer(4, 4, 0, "max")
