"""Hidden-unit permutations: a genuine action, a symmetry of MLPs, caught when broken."""

import pytest
import torch
from torch import nn

from gdl_zoo.symmetry import assert_invariant, check_action, equivariance_error
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.weightspace.models import mlp
from gdl_zoo.weightspace.permutations import (
    HiddenUnitGroup,
    HiddenUnitPermutation,
    permutation_invariance_error,
)


def _trained_bn_mlp(dtype):
    torch.manual_seed(0)
    model = mlp((5, 7, 6, 3), batch_norm=True).to(dtype)
    model.train()
    model(torch.randn(16, 5, dtype=dtype))  # non-trivial running statistics
    return model


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_mlps_are_invariant_under_hidden_unit_permutations(dtype):
    model = _trained_bn_mlp(dtype)
    x = torch.randn(10, 5, dtype=dtype)
    report = permutation_invariance_error(model, x)
    assert report.passed, str(report)
    assert model.training  # mode restored


def test_the_action_is_a_group_action_and_moves_models_consistently():
    model = _trained_bn_mlp(torch.float64)
    action = HiddenUnitPermutation(model, include_buffers=True)
    tensors = tuple(dict(model.state_dict())[n] for n in action.names)
    check_action(action, tensors)
    g = action.sample(torch.Generator().manual_seed(1))
    moved = action.act_on_model(g, model)
    x = torch.randn(4, 5, dtype=torch.float64)
    model.eval()
    moved.eval()
    assert torch.allclose(model(x), moved(x), atol=1e-12)
    vec = action.layout.parameters_of(model)
    assert torch.equal(action.act_on_vector(g, vec), action.layout.parameters_of(moved))


def test_group_bookkeeping():
    group = HiddenUnitGroup((3, 4))
    g = group.sample(torch.Generator().manual_seed(0))
    e = group.compose(g, group.inverse(g))
    assert all(torch.equal(a, b) for a, b in zip(e, group.identity()))
    assert len(group.generators()) == 4 and group.name == "S3 × S4"
    with pytest.raises(ValueError, match="widths"):
        HiddenUnitGroup((0,))


def test_negative_controls_fail():
    model = mlp((4, 6, 3), activation="tanh").double()
    action = HiddenUnitPermutation(model)
    params = tuple(p.detach() for p in model.parameters())

    def first_row(*weights):  # reads a hidden unit by position: not invariant
        return weights[0][0]

    assert not equivariance_error(first_row, params, action, Invariant()).passed
    x = torch.randn(5, 4, dtype=torch.float64)

    def half_permuted(*weights):  # permutes W_1 but forgets W_2's columns
        w1, b1, w2, b2 = weights
        return torch.tanh(x @ w1.T + b1) @ params[2].T + b2

    assert not equivariance_error(half_permuted, params, action, Invariant()).passed

    def network(*weights):
        w1, b1, w2, b2 = weights
        return torch.tanh(x @ w1.T + b1) @ w2.T + b2

    assert_invariant(network, params, action)


def test_unsupported_architectures_are_refused():
    with pytest.raises(TypeError, match="Sequential"):
        HiddenUnitPermutation(nn.Linear(3, 3))
    with pytest.raises(TypeError, match="Softmax"):
        HiddenUnitPermutation(nn.Sequential(nn.Linear(3, 4), nn.Softmax(-1), nn.Linear(4, 2)))
    with pytest.raises(ValueError, match="two Linear"):
        HiddenUnitPermutation(nn.Sequential(nn.Linear(3, 4)))
    with pytest.raises(ValueError, match="copies"):
        HiddenUnitPermutation(mlp((3, 4, 2)), copies=0)
    with pytest.raises(ValueError, match="tuple of 4"):
        HiddenUnitPermutation(mlp((3, 4, 2))).act(HiddenUnitGroup((4,)).identity(), (1, 2))
