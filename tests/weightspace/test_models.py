"""MLPs, LeNet-300-100 and the probing weight-space model."""

import pytest
import torch

from gdl_zoo import zoo
from gdl_zoo.symmetry import equivariance_error
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.weightspace.models import MLPProbe, lenet_300_100, mlp


def test_lenet_300_100_has_its_published_size():
    model = lenet_300_100()
    assert sum(p.numel() for p in model.parameters()) == 266_610
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_mlp_layers_and_validation():
    model = mlp((3, 4, 5, 2), batch_norm=True, activation="tanh")
    assert [type(m).__name__ for m in model] == [
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Linear",
    ]
    with pytest.raises(ValueError, match="widths"):
        mlp((3, 2))
    with pytest.raises(ValueError, match="activation"):
        mlp((3, 4, 2), activation="swish")


def test_probe_card_is_invariant_and_an_unpermuted_readout_is_not():
    card = zoo.get("mlp_probe")
    inputs = card.example_inputs(3, torch.float64)
    torch.manual_seed(0)
    probe = card.build().double()
    assert probe(*inputs).shape == (3, 2)

    def positional(*weights):  # reads hidden weights by position: must fail
        return probe(*weights) + weights[2][:, :, 0].sum(-1, keepdim=True)

    assert not equivariance_error(positional, inputs, card.input_action, Invariant()).passed
    with pytest.raises(ValueError, match="weight tensors"):
        probe(*inputs[:2])
    with pytest.raises(ValueError, match="layer 1"):
        probe(inputs[0][:, :2], *inputs[1:])


def test_probe_relu_variant_runs():
    probe = MLPProbe((2, 3, 2), probes=4, out_features=1, activation="relu")
    weights = (torch.randn(5, 3, 2), torch.randn(5, 3), torch.randn(5, 2, 3), torch.randn(5, 2))
    assert probe(*weights).shape == (5, 1)
