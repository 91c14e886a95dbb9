"""Lifting and group convolutions: fast = slow reference, exact p4/p4m equivariance, controls."""

import pytest
import torch
import torch.nn.functional as F

from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.groups.gconv import (
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    LiftingConv,
    check_field,
    group_conv_reference,
    is_rotation_exact,
    lifting_conv_reference,
)
from gdl_zoo.groups.planar_actions import SQUARE_GROUPS, Rot90Images
from gdl_zoo.symmetry import assert_equivariant, equivariance_error

DTYPES = [torch.float64, torch.float32]
GROUPS = ["C4", "D4"]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _order(group):
    return Rot90Images(group).order


@pytest.mark.parametrize("group", SQUARE_GROUPS)
@pytest.mark.parametrize(
    "kernel_size, stride, padding, size",
    [
        (3, 1, 1, (9, 9)),
        (3, 2, 1, (9, 7)),
        (4, 1, 0, (8, 8)),
        (5, 2, 2, (10, 6)),
        (1, 1, 0, (3, 5)),
    ],
)
def test_fast_matches_slow_reference(group, kernel_size, stride, padding, size):
    torch.manual_seed(0)
    n = _order(group)
    lift = LiftingConv(3, 4, kernel_size, group, stride, padding).double()
    x = _randn(2, 3, *size)
    fast = lift(x)
    slow = lifting_conv_reference(x, lift.weight, lift.bias, group, stride, padding)
    assert fast.shape == slow.shape == (2, 4 * n, *fast.shape[-2:])
    assert (fast - slow).abs().max() < 1e-10
    conv = GroupConv(4, 5, kernel_size, group, stride, padding).double()
    f = _randn(2, 4 * n, *size, seed=1)
    fast = conv(f)
    slow = group_conv_reference(f, conv.weight, conv.bias, group, stride, padding)
    assert fast.shape == slow.shape
    assert (fast - slow).abs().max() < 1e-10


def test_filter_bank_is_one_gather_through_a_non_persistent_buffer():
    conv = GroupConv(3, 2, 3, "D4")
    bank = conv.filter_bank()
    assert bank.shape == (2 * 8, 3 * 8, 3, 3)
    assert conv.filter_index.shape == (8 * 3 * 8 * 9,)
    assert "filter_index" not in conv.state_dict()
    # the identity element's filters are the learned weights themselves
    assert torch.equal(bank.reshape(2, 8, 3 * 8, 3, 3)[:, 0], conv.weight.flatten(1, 2))
    assert conv.double().filter_index.dtype == torch.int64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("group", GROUPS)
def test_layers_are_equivariant(group, dtype):
    torch.manual_seed(0)
    n = _order(group)
    scalar, regular = Rot90Images(group), Rot90Images(group, "regular")
    x = _randn(2, 3, 9, 9, dtype=dtype)
    f = _randn(2, 4 * n, 8, 8, dtype=dtype, seed=1)
    checks = [
        (LiftingConv(3, 4, 3, group, padding=1), x, scalar, regular),
        (LiftingConv(3, 4, 4, group), x, scalar, regular),  # even kernel, valid
        (LiftingConv(3, 4, 3, group, stride=2, padding=1), x, scalar, regular),  # 9 is odd
        (GroupConv(4, 5, 3, group, padding=1), f, regular, regular),
        (GroupConv(4, 5, 2, group, stride=2), f, regular, regular),  # 8 − 2 even
        (GroupConv(4, 5, 3, group, padding=1, padding_mode="circular"), f, regular, regular),
        (GroupPool(group, "max"), f, regular, scalar),
        (GroupPool(group, "mean"), f, regular, scalar),
        (GroupBatchNorm(4, group), f, regular, regular),
    ]
    for layer, inputs, act_in, act_out in checks:
        report = assert_equivariant(layer.to(dtype), inputs, act_in, act_out)
        if dtype == torch.float64:
            assert report.max_error < 1e-10, (layer, report)


def test_group_batch_norm_is_equivariant_in_training_mode():
    norm = GroupBatchNorm(3, "D4").double()
    f = _randn(4, 24, 6, 6) * 3 + 1
    act = Rot90Images("D4", "regular")
    report = assert_equivariant(norm, f, act, act, eval_mode=False)
    assert report.max_error < 1e-10
    # statistics are per field: one running mean per field, shared by the 8 fibre channels
    assert norm.norm.running_mean.shape == (3,)
    means = norm(f).unflatten(1, (3, 8)).mean(dim=(0, 2, 3, 4))
    assert means.abs().max() < 1e-12


def test_circular_padding_is_also_shift_equivariant():
    conv = GroupConv(2, 3, 3, "C4", padding=1, padding_mode="circular").double()
    shift = CyclicShift(dims=(-2, -1))
    assert_equivariant(conv, _randn(2, 8, 6, 7), shift, shift)


@pytest.mark.parametrize("size, exact", [(9, True), (8, False)])
def test_is_rotation_exact_predicts_the_harness(size, exact):
    """Stride 2, k = 3, p = 1: exact iff (n + 2 − 3) is even, i.e. n odd."""
    assert is_rotation_exact(size, 3, 2, 1) is exact
    torch.manual_seed(0)
    lift = LiftingConv(2, 3, 3, "C4", stride=2, padding=1).double()
    report = equivariance_error(
        lift, _randn(2, 2, size, size), Rot90Images("C4"), Rot90Images("C4", "regular")
    )
    assert (report.max_error < 1e-10) is exact


def test_is_rotation_exact_rules():
    assert all(is_rotation_exact(n, 3, 1, 1) for n in range(1, 12))  # stride 1: every size
    assert is_rotation_exact(24, 2, 2) and not is_rotation_exact(25, 2, 2)  # 2×2 pooling: even
    assert not is_rotation_exact(2, 5)  # the window does not fit


def test_plain_convolution_fails_the_harness():
    """Negative control: an unconstrained filter is not rotation-equivariant."""
    weight = _randn(4, 3, 3, 3, seed=2)
    act = Rot90Images("C4")
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(lambda x: F.conv2d(x, weight, padding=1), _randn(2, 3, 7, 7), act, act)


@pytest.mark.parametrize("group", GROUPS)
def test_forgetting_the_fibre_permutation_fails(group):
    """Negative control: regular outputs checked with the scalar action (grid only) fail."""
    torch.manual_seed(0)
    n = _order(group)
    conv = GroupConv(2, 3, 3, group, padding=1).double()
    f = _randn(2, 2 * n, 7, 7)
    grid_only = Rot90Images(group, "scalar")
    regular = Rot90Images(group, "regular")
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(conv, f, regular, grid_only)
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(conv, f, grid_only, regular)
    lift = LiftingConv(2, 3, 3, group, padding=1).double()
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(lift, _randn(2, 2, 7, 7), grid_only, grid_only)


def test_gradients_reach_weights_and_bias():
    conv = GroupConv(2, 3, 3, "D4", padding=1)
    lift = LiftingConv(1, 2, 3, "D4", padding=1)
    conv(lift(torch.randn(2, 1, 6, 6))).square().sum().backward()
    for p in (conv.weight, conv.bias, lift.weight, lift.bias):
        assert p.grad is not None and p.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "layer, x, match",
    [
        (
            GroupConv(4, 2, group="C4"),
            torch.randn(1, 15, 5, 5),
            r"expected 16 channels \(C = 4 fields × \|G\| = 4\).*got 15, not a multiple of the "
            r"fibre size \|G\| = 4",
        ),
        (
            GroupConv(4, 2, group="D4"),
            torch.randn(1, 24, 5, 5),
            r"expected 32 channels \(C = 4 fields × \|G\| = 8\).*got 24 = 3 fields × \|G\| = 8",
        ),
        (
            GroupConv(2, 2, group="D4"),
            torch.randn(1, 8, 5, 5),  # a C4-sized fibre given to a D4 layer
            r"expected 16 channels.*got 8 = 1 fields × \|G\| = 8",
        ),
        (LiftingConv(3, 2), torch.randn(1, 4, 5, 5), r"expected 3 channels .*got 4"),
        (LiftingConv(1, 2), torch.randn(1, 5, 5), r"expected shape \(B, C, H, W\)"),
        (LiftingConv(1, 2, 5), torch.randn(1, 1, 3, 6), "at least kernel_size"),
        (GroupPool("C4"), torch.randn(1, 6, 3, 3), r"multiple of the fibre size \|G\| = 4"),
        (GroupBatchNorm(2, "C4"), torch.randn(2, 4, 3, 3), r"expected 8 channels.*got 4"),
        (LiftingConv(1, 2), torch.zeros(1, 1, 5, 5, dtype=torch.int64), "floating-point"),
        (LiftingConv(1, 2), torch.full((1, 1, 5, 5), float("nan")), "finite"),
    ],
)
def test_bad_input(layer, x, match):
    with pytest.raises((ValueError, TypeError), match=match):
        layer(x)


def test_bad_construction():
    with pytest.raises(ValueError, match="expected one of"):
        GroupConv(1, 1, group="C8")
    with pytest.raises(ValueError, match="in_channels: expected a positive integer, got 0"):
        GroupConv(0, 1)
    with pytest.raises(ValueError, match="padding: expected a non-negative integer"):
        LiftingConv(1, 1, padding=-1)
    with pytest.raises(ValueError, match="padding_mode"):
        LiftingConv(1, 1, padding_mode="reflect")
    with pytest.raises(ValueError, match="stride"):
        LiftingConv(1, 1, stride=0)
    with pytest.raises(ValueError, match="mode"):
        GroupPool("C4", "median")
    with pytest.raises(ValueError, match="num_fields"):
        GroupBatchNorm(0)
    with pytest.raises(ValueError, match="expected 4 channels"):
        check_field(torch.randn(1, 3, 2, 2), "x", 4, 1, "(B, C, H, W)")
    assert "group=D4" in repr(GroupConv(1, 1, group="D4"))
