"""The harness itself: it passes equivariant functions and fails everything else."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.symmetry import (
    AxisPermutation,
    Invariant,
    TupleAction,
    assert_equivariant,
    assert_invariant,
    check_action,
    default_tolerance,
    equivariance_error,
)

DTYPES = [torch.float64, torch.float32]


def _circular_conv(weight):
    return lambda x: F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), weight)


def _deepset_layer(x):
    """Permutation-equivariant: x_i + mean_j x_j, elementwise tanh."""
    return torch.tanh(x + x.mean(dim=1, keepdim=True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_equivariant_function_passes(dtype):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=gen, dtype=dtype)
    w = torch.randn(4, 3, 3, 3, generator=gen, dtype=dtype)
    report = assert_equivariant(_circular_conv(w), x, CyclicShift(), CyclicShift())
    assert report.max_error < default_tolerance(dtype)
    assert report.tolerance == default_tolerance(dtype)
    kinds = {r.kind for r in report.results}
    assert kinds == {"generator", "random"}


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_equivariant_function_fails(dtype):
    """Negative control: zero padding breaks equivariance at the border."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=gen, dtype=dtype)
    w = torch.randn(4, 3, 3, 3, generator=gen, dtype=dtype)
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(lambda x: F.conv2d(x, w, padding=1), x, CyclicShift(), CyclicShift())


@pytest.mark.parametrize("dtype", DTYPES)
def test_permutation_test_that_forgets_to_permute_output_fails(dtype):
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(1), dtype=dtype)
    act = AxisPermutation(6, dim=1)
    assert_equivariant(_deepset_layer, x, act, act)
    with pytest.raises(AssertionError):
        assert_equivariant(_deepset_layer, x, act, Invariant())


def test_invariant_readout_and_its_negative_control():
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    act = AxisPermutation(6, dim=1)
    assert_invariant(lambda x: _deepset_layer(x).sum(dim=1), x, act)
    with pytest.raises(AssertionError):
        assert_invariant(lambda x: _deepset_layer(x)[:, 0], x, act)


def test_finite_group_tests_every_element():
    x = torch.randn(1, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    act = AxisPermutation(4, dim=1)
    report = equivariance_error(_deepset_layer, x, act, act, elements=[act.generators()[1]])
    assert len(report.results) == 1 and report.results[0].kind == "element"


def test_multiple_outputs_reported_separately():
    x = torch.randn(2, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    act = AxisPermutation(5, dim=1)

    def f(x):
        weights = torch.arange(1.0, 6.0, dtype=x.dtype)[:, None]
        return _deepset_layer(x), x * weights  # the second output is not equivariant

    report = equivariance_error(f, x, act, TupleAction(act, act))
    assert len(report.errors) == 2
    assert report.errors[0] < 1e-12
    assert report.errors[1] > 1e-3
    assert not report.passed
    assert "FAILED" in str(report)


def test_tuple_inputs_and_modules_restore_training_mode():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    model.double().train()
    x = torch.randn(2, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    mask = torch.ones(2, 5, 1, dtype=torch.float64)
    act = AxisPermutation(5, dim=1)

    def f(x, mask):
        return model(x) * mask

    assert_equivariant(model, x, act, act)  # dropout is off during the check
    assert model.training
    with pytest.raises(AssertionError):  # a closure over a training module keeps dropout
        assert_equivariant(f, (x, mask), TupleAction(act, act), act)
    model.eval()
    assert_equivariant(f, (x, mask), TupleAction(act, act), act)


def test_degenerate_inputs_are_refused():
    act = AxisPermutation(4, dim=1)
    constant = torch.ones(1, 4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="unchanged"):
        equivariance_error(_deepset_layer, constant, act, act)
    x = torch.randn(1, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    with pytest.raises(ValueError, match="identically zero"):
        equivariance_error(lambda x: 0 * x, x, act, act)


def test_nan_outputs_and_integer_inputs_are_refused():
    act = AxisPermutation(4, dim=1)
    x = torch.randn(1, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    with pytest.raises(ValueError, match="NaN"):
        equivariance_error(lambda x: x / 0 * 0, x, act, act)
    with pytest.raises(TypeError, match="floating-point"):
        equivariance_error(_deepset_layer, torch.arange(8).reshape(1, 4, 2), act, act)


def test_shape_changing_output_action_is_reported():
    act = AxisPermutation(4, dim=1)
    x = torch.randn(1, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(8))

    class FirstTwo(AxisPermutation):
        def act(self, g, inputs):
            return inputs[:, :2]

    with pytest.raises(ValueError, match="shape"):
        equivariance_error(_deepset_layer, x, act, FirstTwo(4, dim=1))


def test_explicit_tolerance_and_seed_reproducibility():
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    f = lambda x: F.conv2d(x, torch.ones(1, 3, 3, 3, dtype=x.dtype), padding=1)  # noqa: E731
    a = equivariance_error(f, x, CyclicShift(), CyclicShift(), generator=3)
    b = equivariance_error(f, x, CyclicShift(), CyclicShift(), generator=3)
    assert a.errors == b.errors
    assert [r.element for r in a.results] == [r.element for r in b.results]
    assert equivariance_error(f, x, CyclicShift(), CyclicShift(), tolerance=10.0).passed


def test_check_action_accepts_actions_and_rejects_a_broken_one():
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    check_action(CyclicShift(), x)
    check_action(AxisPermutation(6, dim=2), x)

    class Broken(CyclicShift):
        def act(self, g, inputs):
            return super().act(g, inputs) + 1.0

    with pytest.raises(AssertionError):
        check_action(Broken(), x)


def test_unknown_dtype_tolerance():
    with pytest.raises(ValueError, match="floating dtype"):
        default_tolerance(torch.int64)
