"""Generic actions: Invariant, TupleAction, AxisPermutation."""

import pytest
import torch

from gdl_zoo.symmetry import AxisPermutation, Invariant, TupleAction, check_action


def test_axis_permutation_moves_the_right_axis():
    x = torch.arange(12.0).reshape(1, 4, 3)
    g = torch.tensor([2, 0, 3, 1])
    y = AxisPermutation(4, dim=1).act(g, x)
    assert torch.equal(y[0, 0], x[0, 2]) and torch.equal(y[0, 3], x[0, 1])


def test_axis_permutation_is_an_action():
    x = torch.randn(2, 7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    check_action(AxisPermutation(7, dim=1), x)


def test_axis_permutation_rejects_wrong_size_and_type():
    act = AxisPermutation(4, dim=1)
    with pytest.raises(ValueError, match="expected axis 1 of size 4"):
        act.act(act.group.identity(), torch.zeros(1, 5, 2))
    with pytest.raises(TypeError, match="tensor"):
        act.act(act.group.identity(), [1, 2, 3, 4])


def test_invariant_is_trivial_and_has_no_group_to_sample():
    x = torch.randn(3)
    assert Invariant().act(object(), x) is x
    assert Invariant().generators() == [] and Invariant().elements() is None
    with pytest.raises(ValueError, match="no group"):
        Invariant().sample()


def test_tuple_action_componentwise_and_length_checked():
    act = TupleAction(AxisPermutation(3, dim=0), None)
    g = torch.tensor([1, 2, 0])
    x, mask = torch.tensor([10.0, 20.0, 30.0]), torch.tensor([1, 0, 1])
    y, m = act.act(g, (x, mask))
    assert torch.equal(y, torch.tensor([20.0, 30.0, 10.0])) and m is mask
    with pytest.raises(ValueError, match="expected a tuple of 2 inputs"):
        act.act(g, (x,))
    with pytest.raises(ValueError, match="at least one"):
        TupleAction(None)
