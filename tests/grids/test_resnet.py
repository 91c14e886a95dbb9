"""Residual blocks and ShiftResNet: exact invariance to shifts by multiples of the stride."""

import pytest
import torch

from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.grids.resnet import ResidualBlock, ShiftResNet
from gdl_zoo.symmetry import Invariant, assert_equivariant, assert_invariant, equivariance_error

DTYPES = [torch.float64, torch.float32]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_residual_block_is_shift_equivariant(dtype):
    torch.manual_seed(0)
    block = ResidualBlock(4).to(dtype)
    act = CyclicShift()
    report = assert_equivariant(block, _randn(2, 4, 7, 9, dtype=dtype), act, act)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_residual_block_adds_the_identity():
    block = ResidualBlock(3, ndim=1).double().eval()
    for conv in (block.residual[2], block.residual[5]):
        torch.nn.init.zeros_(conv.conv.weight)
        torch.nn.init.zeros_(conv.conv.bias)
    x = _randn(2, 3, 10)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_shift_resnet_is_invariant_to_multiples_of_its_stride(dtype):
    torch.manual_seed(0)
    model = ShiftResNet(1, 5, widths=(4, 8), blocks_per_stage=2).to(dtype)
    x = _randn(2, 1, 12, 16, dtype=dtype, seed=1)
    report = assert_invariant(model, x, CyclicShift(multiple=model.total_stride))
    if dtype == torch.float64:
        assert report.max_error < 1e-10
    odd = equivariance_error(model, x, CyclicShift(), Invariant(), elements=[(1, 0)])
    assert odd.max_error > 1e-6  # aliasing: one-pixel shifts are not symmetries


def test_shift_resnet_trains_in_train_mode():
    model = ShiftResNet(2, 3, widths=(4,), ndim=1)
    out = model(torch.randn(4, 2, 16))
    out.sum().backward()
    assert out.shape == (4, 3)
    assert all(p.grad is not None for p in model.parameters())


def test_bad_input_and_arguments():
    model = ShiftResNet(1, 3, widths=(4,))
    with pytest.raises(ValueError, match="expected 1 channels"):
        model(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="rank 4"):
        model(torch.randn(8, 8))
    with pytest.raises(ValueError, match="expected 4 channels"):
        ResidualBlock(4)(torch.randn(1, 2, 4, 4))
    with pytest.raises(ValueError, match="blocks_per_stage"):
        ShiftResNet(blocks_per_stage=0)
    with pytest.raises(ValueError, match="at least one stage"):
        ShiftResNet(widths=())
