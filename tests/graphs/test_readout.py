"""Readouts and output heads."""

import pytest
import torch

from gdl_zoo.graphs.readout import MLP, check_task, global_pool


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
