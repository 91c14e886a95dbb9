"""Deep Sets: the equivariant layer's two generators and the invariant readout."""

import pytest
import torch

from gdl_zoo.graphs.actions import NodePermutation
from gdl_zoo.graphs.deep_sets import DeepSets, DeepSetsLayer
from gdl_zoo.symmetry import Invariant, assert_equivariant


def test_layer_is_identity_plus_mean():
    x = torch.randn(5, 3, dtype=torch.float64)
    batch = torch.tensor([0, 0, 0, 1, 1])
    layer = DeepSetsLayer(3, 2).double()
    expected = torch.cat(
        [
            layer.identity(x[:3]) + layer.mean(x[:3].mean(0)),
            layer.identity(x[3:]) + layer.mean(x[3:].mean(0)),
        ]
    )
    assert torch.allclose(layer(x, batch), expected, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("task", ["node", "graph"])
def test_symmetry(task, dtype):
    x = torch.randn(7, 3, dtype=dtype)
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    model = DeepSets(3, 8, 2, task=task).to(dtype)
    act_in = NodePermutation((4, 3), ("node", "batch"))
    act_out = NodePermutation((4, 3)) if task == "node" else Invariant()
    report = assert_equivariant(model, (x, batch), act_in, act_out)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"expected shape \(N, 3\)"):
        DeepSets(3, 4, 2)(torch.randn(4, 2))
