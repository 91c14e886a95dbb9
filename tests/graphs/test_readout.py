"""Readouts and output heads."""

import pytest
import torch
from torch import nn

from gdl_zoo.graphs.readout import (
    MLP,
    READOUTS,
    GraphModel,
    check_readout,
    check_task,
    global_pool,
    output_head,
)


def test_global_pool_reductions_and_empty_graphs():
    h = torch.tensor([[1.0], [3.0], [2.0]])
    batch = torch.tensor([0, 0, 2])
    assert global_pool(h, batch, 3, "sum").flatten().tolist() == [4.0, 0.0, 2.0]
    assert global_pool(h, batch, 3, "mean").flatten().tolist() == [2.0, 0.0, 2.0]
    assert global_pool(h, batch, 3, "max").flatten().tolist() == [3.0, 0.0, 2.0]
    assert global_pool(h, None, 1).flatten().tolist() == [6.0]
    with pytest.raises(ValueError, match="reduce"):
        global_pool(h, batch, 3, "median")


def test_mlp_and_task_checks():
    assert MLP((3, 4, 2), batch_norm=True)(torch.randn(5, 3)).shape == (5, 2)
    with pytest.raises(ValueError, match="at least two"):
        MLP((3,))
    with pytest.raises(ValueError, match="task"):
        check_task("edge")


def test_readout_check():
    assert all(check_readout(r) == r for r in READOUTS)
    with pytest.raises(ValueError, match=r"readout: expected one of .*got 'median'"):
        check_readout("median")


def test_output_head_per_task():
    node, graph = output_head("node", 6, 2), output_head("graph", 6, 2)
    assert isinstance(node, nn.Linear) and (node.in_features, node.out_features) == (6, 2)
    assert isinstance(graph, MLP) and graph(torch.randn(3, 6)).shape == (3, 2)
    assert [m.out_features for m in graph if isinstance(m, nn.Linear)] == [6, 2]
    with pytest.raises(ValueError, match="task"):
        output_head("edge", 6, 2)


def test_graph_model_checks_and_pools_by_task():
    h = torch.tensor([[1.0], [3.0], [2.0]])
    batch = torch.tensor([0, 0, 1])
    node = GraphModel(4, "node", "max")
    assert node.in_channels == 4 and node.pool(h, batch, 2) is h
    graph = GraphModel(4, "graph", "max")
    assert graph.pool(h, batch, 2).flatten().tolist() == [3.0, 2.0]
    assert GraphModel(4, "graph").pool(h, None, 1).flatten().tolist() == [6.0]
    with pytest.raises(ValueError, match="in_channels"):
        GraphModel(0, "node")
    with pytest.raises(ValueError, match="task"):
        GraphModel(4, "edge")
    with pytest.raises(ValueError, match="readout"):
        GraphModel(4, "graph", "median")
