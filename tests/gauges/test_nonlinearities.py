"""Regular and norm nonlinearities: exact where promised, measured where approximate."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import GaugeChange
from gdl_zoo.gauges.nonlinearities import NormNonlinearity, RegularNonlinearity
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

IRREPS, N = SO2Irreps.regular(3, 2), 6


def _features(dtype=torch.float64):
    return torch.randn(N, IRREPS.dim, generator=torch.Generator().manual_seed(0), dtype=dtype)


def test_regular_nonlinearity_with_identity_activation_is_the_identity():
    x = _features()
    assert (RegularNonlinearity(IRREPS, 7, lambda t: t)(x) - x).abs().max() < 1e-14


def test_regular_nonlinearity_is_exact_for_sample_rotations():
    layer = RegularNonlinearity(IRREPS, 8)
    action = GaugeChange(IRREPS, N)
    steps = torch.randint(0, 8, (N,), generator=torch.Generator().manual_seed(3))
    g = 2 * math.pi / 8 * steps.to(torch.float64)
    x = _features()
    assert (layer(action.act(g, x)) - action.act(g, layer(x))).abs().max() < 1e-12


def test_regular_nonlinearity_error_shrinks_with_samples():
    x, action = _features(), GaugeChange(IRREPS, N)
    errors = [
        equivariance_error(
            RegularNonlinearity(IRREPS, s), (x,), action, action, tolerance=1.0
        ).max_error
        for s in (7, 15, 63)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 5e-3


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_norm_nonlinearity_is_exactly_equivariant(dtype):
    layer = NormNonlinearity(IRREPS).to(dtype)
    with torch.no_grad():
        layer.bias.copy_(torch.linspace(-0.5, 0.5, layer.bias.numel()))
    action = GaugeChange(IRREPS, N)
    assert_equivariant(layer, (_features(dtype),), action, action)


def test_norm_nonlinearity_is_finite_at_zero():
    layer = NormNonlinearity(IRREPS).double()
    with torch.no_grad():
        layer.bias.fill_(0.3)
    zero = torch.zeros(2, IRREPS.dim, dtype=torch.float64, requires_grad=True)
    out = layer(zero)
    out.sum().backward()
    assert torch.equal(out[:, IRREPS.num_scalars :], torch.zeros_like(out[:, 3:]))
    assert bool(zero.grad.isfinite().all())


def test_validation():
    with pytest.raises(ValueError, match="equal multiplicities"):
        RegularNonlinearity(SO2Irreps((2, 1)), 9)
    with pytest.raises(ValueError, match=r"samples: expected an int > 2N = 4"):
        RegularNonlinearity(IRREPS, 4)
    with pytest.raises(ValueError, match="last dimension 15"):
        NormNonlinearity(IRREPS)(torch.zeros(2, 8))


@pytest.mark.parametrize("make", [lambda i: RegularNonlinearity(i, 9), NormNonlinearity])
def test_irreps_that_are_not_so2_irreps_are_a_type_error(make):
    with pytest.raises(TypeError, match="irreps: expected SO2Irreps, got tuple"):
        make((2, 2, 2))
