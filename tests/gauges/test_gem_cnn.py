"""GEMCNN and GaugeTransformer: exact with norm nonlinearities, measured with regular ones."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import GaugeChange
from gdl_zoo.gauges.gem_cnn import GEMCNN, GaugeTransformer
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

IN, N, E = SO2Irreps((3, 1)), 8, 30
SCALARS, VECTOR = SO2Irreps((2,)), SO2Irreps((0, 1))


def _inputs(dtype):
    gen = torch.Generator().manual_seed(5)
    return (
        torch.randn(N, IN.dim, generator=gen, dtype=dtype),
        torch.randint(0, N, (2, E), generator=gen),
        2 * math.pi * torch.rand(E, generator=gen, dtype=dtype),
        2 * math.pi * torch.rand(E, generator=gen, dtype=dtype),
    )


def _model(cls, irreps_out, nonlinearity, dtype, **options):
    torch.manual_seed(0)
    model = cls(IN, irreps_out, SO2Irreps.regular(3, 2), 3, nonlinearity, **options).to(dtype)
    for module in model.modules():  # non-zero norm biases make the controls meaningful
        if hasattr(module, "bias") and isinstance(module.bias, torch.nn.Parameter):
            with torch.no_grad():
                module.bias.uniform_(-0.3, 0.3)
    return model


@pytest.mark.parametrize("cls", [GEMCNN, GaugeTransformer])
@pytest.mark.parametrize("irreps_out", [SCALARS, VECTOR])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_norm_nonlinearity_models_are_exactly_gauge_equivariant(cls, irreps_out, dtype):
    model = _model(cls, irreps_out, "norm", dtype)
    assert_equivariant(model, _inputs(dtype), GaugeChange(IN, N), GaugeChange(irreps_out, N))


@pytest.mark.parametrize("cls", [GEMCNN, GaugeTransformer])
def test_regular_nonlinearity_error_shrinks_with_samples(cls):
    errors = []
    for samples in (7, 31):
        model = _model(cls, VECTOR, "regular", torch.float64, samples=samples)
        report = equivariance_error(
            model,
            _inputs(torch.float64),
            GaugeChange(IN, N),
            GaugeChange(VECTOR, N),
            tolerance=1.0,
        )
        errors.append(report.max_error)
    assert errors[1] < errors[0] and errors[1] < 0.05


def test_forward_backward_and_validation():
    model = _model(GEMCNN, SCALARS, "regular", torch.float32)
    out = model(*_inputs(torch.float32))
    out.square().mean().backward()
    assert out.shape == (N, 2) and all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="nonlinearity"):
        GEMCNN(IN, SCALARS, nonlinearity="relu")
    with pytest.raises(ValueError, match="num_layers"):
        GaugeTransformer(IN, SCALARS, num_layers=0)


def test_irreps_order_mismatch():
    """Irreps whose orders do not fit: refused where detectable, caught by the harness otherwise."""
    with pytest.raises(ValueError, match="equal multiplicities"):  # ρ_1 missing from "regular"
        GEMCNN(IN, SCALARS, hidden=SO2Irreps((2, 0, 2)), nonlinearity="regular")
    with pytest.raises(ValueError, match=r"samples: expected an int > 2N = 6"):
        GEMCNN(IN, SCALARS, hidden=SO2Irreps.regular(2, 3), samples=6)
    with pytest.raises(ValueError, match="expected last dimension 4"):
        GaugeChange(SO2Irreps((0, 2)), N).act(torch.zeros(N), torch.zeros(N, 5))
    # same dimension, other orders: a tensor carries no irreps tag, so the model cannot tell;
    # declaring the wrong irreps (ρ_2 for what the model treats as ρ_1) fails the symmetry check
    model = _model(GEMCNN, VECTOR, "norm", torch.float64)
    report = equivariance_error(
        model, _inputs(torch.float64), GaugeChange(IN, N), GaugeChange(SO2Irreps((0, 0, 1)), N)
    )
    assert not report.passed
