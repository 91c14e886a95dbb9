"""Circular convolutions, strided pooling and ShiftCNN: exact shift symmetry and its limits."""

import pytest
import torch
import torch.nn.functional as F

from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.grids.cnn import CircularConv, ShiftCNN, StridedPool
from gdl_zoo.symmetry import (
    Invariant,
    assert_equivariant,
    assert_invariant,
    equivariance_error,
)

DTYPES = [torch.float64, torch.float32]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ndim, shape", [(1, (2, 3, 11)), (2, (2, 3, 9, 7))])
def test_circular_conv_is_shift_equivariant(dtype, ndim, shape):
    conv = CircularConv(3, 5, kernel_size=3, ndim=ndim).to(dtype)
    act = CyclicShift(dims=tuple(range(-ndim, 0)))
    report = assert_equivariant(conv, _randn(*shape, dtype=dtype), act, act)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_circular_conv_matches_explicit_wraparound_reference():
    conv = CircularConv(2, 4, kernel_size=5).double()
    x = _randn(1, 2, 6, 8)
    padded = torch.cat([x[..., -2:], x, x[..., :2]], dim=-1)
    padded = torch.cat([padded[..., -2:, :], padded, padded[..., :2, :]], dim=-2)
    expected = F.conv2d(padded, conv.conv.weight, conv.conv.bias)
    assert torch.allclose(conv(x), expected, atol=1e-12)


def test_zero_padded_convolution_is_not_shift_equivariant():
    """Negative control: the same filters with zero padding fail the harness."""
    conv = CircularConv(3, 4).double()
    act = CyclicShift()
    with pytest.raises(AssertionError):
        assert_equivariant(
            lambda x: F.conv2d(x, conv.conv.weight, conv.conv.bias, padding=1),
            _randn(2, 3, 8, 8),
            act,
            act,
        )


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_strided_pooling_is_equivariant_to_multiples_of_the_stride(mode):
    pool = StridedPool(2, mode=mode)
    x = _randn(2, 3, 8, 12)
    assert_equivariant(pool, x, CyclicShift(multiple=2), CyclicShift(multiple=2, downsample=2))


def test_strided_pooling_aliases_under_odd_shifts():
    """A one-pixel shift changes the pooled map by more than any shift of it (aliasing)."""
    pool = StridedPool(2, ndim=1, mode="avg")
    x = _randn(1, 1, 16)
    shifted = pool(torch.roll(x, 1, dims=-1))
    distances = [(shifted - torch.roll(pool(x), s, dims=-1)).abs().max().item() for s in range(8)]
    assert min(distances) > 1e-2


@pytest.mark.parametrize("dtype", DTYPES)
def test_shift_cnn_invariance_exactly_for_multiples_of_total_stride(dtype):
    torch.manual_seed(0)
    model = ShiftCNN(1, 10, channels=(4, 8, 8)).to(dtype)
    assert model.total_stride == 4
    x = _randn(2, 1, 16, 16, dtype=dtype, seed=1)
    report = assert_invariant(model, x, CyclicShift(multiple=4))
    if dtype == torch.float64:
        assert report.max_error < 1e-10
    feats = CyclicShift(multiple=4, downsample=4)
    assert_equivariant(model.features, x, CyclicShift(multiple=4), feats)


def test_shift_cnn_is_not_invariant_to_single_pixel_shifts():
    torch.manual_seed(0)
    model = ShiftCNN(1, 10, channels=(4, 8)).double()
    x = _randn(2, 1, 16, 16, seed=2)
    report = equivariance_error(model, x, CyclicShift(), Invariant(), elements=[(1, 0), (0, 1)])
    assert report.max_error > 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_shift_cnn_1d(dtype):
    torch.manual_seed(0)
    model = ShiftCNN(2, 3, channels=(4, 4), ndim=1).to(dtype)
    x = _randn(3, 2, 12, dtype=dtype)
    assert model(x).shape == (3, 3)
    assert_invariant(model, x, CyclicShift(dims=(-1,), multiple=2))


def test_gradients_reach_every_parameter():
    model = ShiftCNN(1, 10, channels=(4, 8))
    model(torch.randn(2, 1, 8, 8)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    "x, error, match",
    [
        (torch.randn(1, 8, 8), ValueError, r"expected shape \(B, C, H, W\) \(rank 4\)"),
        (torch.randn(1, 2, 8, 8), ValueError, "expected 1 channels"),
        (torch.zeros(1, 1, 8, 8, dtype=torch.int64), TypeError, "floating-point"),
        (torch.zeros(0, 1, 8, 8), ValueError, "non-empty"),
        (torch.full((1, 1, 8, 8), float("nan")), ValueError, "finite"),
        ([[1.0]], TypeError, "torch.Tensor"),
    ],
)
def test_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        ShiftCNN(1, 10)(x)


def test_bad_construction():
    with pytest.raises(ValueError, match="odd positive kernel_size"):
        CircularConv(1, 1, kernel_size=4)
    with pytest.raises(ValueError, match="ndim 1 or 2"):
        CircularConv(1, 1, ndim=3)
    with pytest.raises(ValueError, match="mode"):
        StridedPool(2, mode="median")
    with pytest.raises(ValueError, match="at least one stage"):
        ShiftCNN(channels=())
    with pytest.raises(ValueError, match="at least the stride"):
        StridedPool(4)(torch.randn(1, 1, 2, 2))
