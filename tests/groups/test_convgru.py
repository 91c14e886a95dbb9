"""The p4 convolutional GRU: the GRU update, and equivariance of every hidden state."""

import pytest
import torch
import torch.nn.functional as F

from gdl_zoo.groups.convgru import P4ConvGRU, P4ConvGRUCell
from gdl_zoo.groups.planar_actions import Rot90Images
from gdl_zoo.symmetry import assert_equivariant

DTYPES = [torch.float64, torch.float32]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("group", ["C4", "D4"])
@pytest.mark.parametrize("fibre", ["scalar", "regular"])
def test_every_hidden_state_is_equivariant(fibre, group, dtype):
    torch.manual_seed(0)
    model = P4ConvGRU(2, 3, input_fibre=fibre, group=group).to(dtype)
    n = model.cell.order
    channels = 2 * n if fibre == "regular" else 2
    x = _randn(2, 4, channels, 7, 6, dtype=dtype)  # odd × even, non-square
    states = model(x)
    assert states.shape == (2, 4, 3 * n, 7, 6)
    act_in = Rot90Images(group, fibre, channel_dim=2)
    act_out = Rot90Images(group, "regular", channel_dim=2)
    report = assert_equivariant(model, x, act_in, act_out)  # compares all T steps at once
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_initial_state_is_equivariant_too():
    torch.manual_seed(0)
    model = P4ConvGRU(1, 2).double()
    x, h0 = _randn(2, 3, 1, 5, 5), _randn(2, 8, 5, 5, seed=1)
    act_x = Rot90Images("C4", "scalar", channel_dim=2)
    act_h = Rot90Images("C4", "regular")
    act_out = Rot90Images("C4", "regular", channel_dim=2)
    for g in range(4):
        moved = model(act_x.act(g, x), act_h.act(g, h0))
        assert (moved - act_out.act(g, model(x, h0))).abs().max() < 1e-12


def test_forgetting_the_fibre_permutation_fails():
    torch.manual_seed(0)
    model = P4ConvGRU(1, 2).double()
    x = _randn(2, 3, 1, 5, 5)
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(
            model, x, Rot90Images("C4", channel_dim=2), Rot90Images("C4", channel_dim=2)
        )


def test_sequence_equals_the_cell_run_step_by_step():
    torch.manual_seed(0)
    model = P4ConvGRU(2, 3, group="D4").double()
    x = _randn(2, 5, 2, 6, 6)
    h = None
    for t in range(5):
        h = model.cell(x[:, t], h)
        assert (model(x)[:, t] - h).abs().max() < 1e-12


def test_trivial_group_reduces_to_the_convolutional_gru_equations():
    """With C1 the cell is a plain ConvGRU; check the gates against the textbook update."""
    torch.manual_seed(0)
    cell = P4ConvGRUCell(2, 3, group="C1").double()
    x, h = _randn(2, 2, 5, 5), _randn(2, 3, 5, 5, seed=1)
    wx = F.conv2d(x, cell.input_conv.weight, cell.input_conv.bias, padding=1)
    wh = F.conv2d(h, cell.hidden_conv.weight.flatten(1, 2), cell.hidden_conv.bias, padding=1)
    (xz, xr, xn), (hz, hr, hn) = wx.chunk(3, 1), wh.chunk(3, 1)
    z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)
    expected = (1 - z) * torch.tanh(xn + r * hn) + z * h
    assert (cell(x, h) - expected).abs().max() < 1e-12


def test_gradients_reach_every_parameter():
    model = P4ConvGRU(1, 2)
    model(torch.randn(2, 3, 1, 5, 5)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    "model, args, match",
    [
        (
            P4ConvGRU(2, 3, input_fibre="regular"),
            (torch.randn(1, 3, 6, 5, 5),),
            r"expected 8 channels \(C = 2 fields × \|G\| = 4\) on axis 2.*got 6, not a multiple",
        ),
        (P4ConvGRU(2, 3), (torch.randn(1, 3, 3, 5, 5),), r"expected 2 channels.*got 3"),
        (P4ConvGRU(2, 3), (torch.randn(1, 2, 5, 5),), r"expected shape \(B, T, C, H, W\)"),
        (
            P4ConvGRU(1, 3),
            (torch.randn(2, 3, 1, 5, 5), torch.randn(2, 8, 5, 5)),
            r"h: expected 12 channels .*got 8 = 2 fields × \|G\| = 4",
        ),
        (
            P4ConvGRU(1, 3),
            (torch.randn(2, 3, 1, 5, 5), torch.randn(2, 12, 4, 5)),
            r"h: expected shape \(B, C_h·\|G\|, H, W\) = \(2, 12, 5, 5\), got \(2, 12, 4, 5\)",
        ),
        (P4ConvGRUCell(1, 2, group="D4"), (torch.randn(2, 8, 5, 5),), "expected 1 channels"),
    ],
)
def test_bad_input(model, args, match):
    with pytest.raises(ValueError, match=match):
        model(*args)


def test_bad_construction():
    with pytest.raises(ValueError, match="input_fibre"):
        P4ConvGRU(1, 2, input_fibre="vector")
    with pytest.raises(ValueError, match="odd"):
        P4ConvGRU(1, 2, kernel_size=2)
    with pytest.raises(ValueError, match="hidden_channels: expected a positive integer"):
        P4ConvGRUCell(1, 0)
