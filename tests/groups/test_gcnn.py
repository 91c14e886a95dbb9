"""P4CNN and P4MResNet: exact invariance on the documented sizes, and where it ends."""

import pytest
import torch

from gdl_zoo.groups.gcnn import P4CNN, GroupResidualBlock, P4MResNet
from gdl_zoo.groups.planar_actions import Rot90Images
from gdl_zoo.symmetry import Invariant, assert_equivariant, assert_invariant, equivariance_error

DTYPES = [torch.float64, torch.float32]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("dtype", DTYPES)
def test_p4cnn_paper_architecture_is_exactly_invariant_on_mnist_sizes(dtype):
    torch.manual_seed(0)
    model = P4CNN().to(dtype)  # 7 valid 3×3 layers, 10 fields × 4, pooling after layer 2
    x = _randn(2, 1, 28, 28, dtype=dtype)
    assert model(x).shape == (2, 10)
    assert model.is_exact_for(28)
    report = assert_invariant(model, x, Rot90Images("C4"))
    if dtype == torch.float64:
        assert report.max_error < 1e-10
    assert_equivariant(model.features, x, Rot90Images("C4"), Rot90Images("C4", "regular"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_p4m_cnn_is_invariant_to_rotations_and_reflections(dtype):
    torch.manual_seed(0)
    model = P4CNN(channels=3, num_layers=4, padding=1, group="D4").to(dtype)
    x = _randn(2, 1, 10, 10, dtype=dtype)
    report = assert_invariant(model, x, Rot90Images("D4"))
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_p4cnn_on_odd_sizes_is_only_approximately_invariant():
    """Negative control: pooling an odd-sized map drops one border, as is_exact_for says."""
    torch.manual_seed(0)
    model = P4CNN().double()
    assert not model.is_exact_for(27)
    report = equivariance_error(model, _randn(2, 1, 27, 27), Rot90Images("C4"), Invariant())
    assert report.max_error > 1e-6


def test_p4cnn_is_not_invariant_to_reflections():
    torch.manual_seed(0)
    model = P4CNN(channels=4, num_layers=3, padding=1).double()
    report = equivariance_error(
        model, _randn(2, 1, 8, 8), Rot90Images("D4"), Invariant(), elements=[(1, 0)]
    )
    assert report.max_error > 1e-6


def test_z2cnn_baseline_has_the_same_budget():
    """The paper's point: 10 p4 fields cost what 20 plain channels cost."""
    p4, z2 = _params(P4CNN()), _params(P4CNN(channels=20, group="C1"))
    assert abs(p4 - z2) / z2 < 0.03


@pytest.mark.parametrize("dtype", DTYPES)
def test_p4m_resnet_is_exactly_invariant(dtype):
    torch.manual_seed(0)
    model = P4MResNet(1, 5, widths=(2, 3), group="D4").to(dtype)
    x = _randn(2, 1, 12, 12, dtype=dtype)
    assert model(x).shape == (2, 5)
    assert model.total_stride == 2 and model.is_exact_for(12) and not model.is_exact_for(11)
    report = assert_invariant(model, x, Rot90Images("D4"))
    if dtype == torch.float64:
        assert report.max_error < 1e-10
    assert_equivariant(model.features, x, Rot90Images("D4"), Rot90Images("D4", "regular"))


def test_residual_block_is_equivariant():
    torch.manual_seed(0)
    block = GroupResidualBlock(2, group="C4").double()
    act = Rot90Images("C4", "regular")
    assert_equivariant(block, _randn(2, 8, 6, 5), act, act)


def test_gradients_reach_every_parameter():
    for model in (P4CNN(channels=3, num_layers=3, padding=1), P4MResNet(widths=(2, 2))):
        model(torch.randn(2, 1, 8, 8)).sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    "model, x, match",
    [
        (P4CNN(), torch.randn(1, 1, 20, 28), r"at least 26 for this network, got \(20, 28\)"),
        (P4CNN(), torch.randn(1, 3, 28, 28), "expected 1 channels"),
        (P4MResNet(3), torch.randn(1, 1, 8, 8), "expected 3 channels"),
        (P4MResNet(widths=(2, 2, 2)), torch.randn(1, 1, 2, 2), "at least 4"),
        (P4CNN(), torch.randn(28, 28), r"expected shape \(B, C, H, W\)"),
    ],
)
def test_bad_input(model, x, match):
    with pytest.raises(ValueError, match=match):
        model(x)


def test_bad_construction():
    with pytest.raises(
        ValueError, match=r"pool_after: expected None or an integer in \[1, num_layers = 3\)"
    ):
        P4CNN(num_layers=3, pool_after=3)
    with pytest.raises(ValueError, match="expected one of"):
        P4CNN(group="C3")
    with pytest.raises(ValueError, match="at least one stage"):
        P4MResNet(widths=())
    with pytest.raises(ValueError, match="odd"):
        P4MResNet(kernel_size=4)
    with pytest.raises(ValueError, match="channels: expected a positive integer"):
        P4CNN(channels=0)
    assert P4CNN(pool_after=None).min_size == 15
