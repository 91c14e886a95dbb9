"""GaugeAttention: exact gauge equivariance, attention weights that sum to one, controls."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import GaugeChange
from gdl_zoo.gauges.gauge_attention import GaugeAttention
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

IN, OUT, N, E = SO2Irreps((2, 2, 1)), SO2Irreps((3, 1, 1)), 6, 20


def _inputs(dtype):
    gen = torch.Generator().manual_seed(4)
    return (
        torch.randn(N, IN.dim, generator=gen, dtype=dtype),
        torch.randint(0, N, (2, E), generator=gen),
        2 * math.pi * torch.rand(E, generator=gen, dtype=dtype),
        2 * math.pi * torch.rand(E, generator=gen, dtype=dtype),
    )


def _layer(dtype):
    torch.manual_seed(0)
    layer = GaugeAttention(IN, OUT, num_heads=3, key_dim=4).to(dtype)
    with torch.no_grad():
        layer.self_connection.bias.normal_()
    return layer


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gauge_equivariance(dtype):
    assert_equivariant(_layer(dtype), _inputs(dtype), GaugeChange(IN, N), GaugeChange(OUT, N))


def test_ignoring_frames_and_connection_breaks_equivariance():
    """Negative control: attention on raw, gauge-dependent coordinates is not equivariant."""
    layer = _layer(torch.float64)

    def raw_logits(x, edge_index, log_angle, transport):
        zeros = torch.zeros_like(log_angle)  # pretend all frames agree
        return layer(x, edge_index, zeros, zeros) + 0 * (log_angle.sum() + transport.sum())

    report = equivariance_error(
        raw_logits, _inputs(torch.float64), GaugeChange(IN, N), GaugeChange(OUT, N)
    )
    assert not report.passed


def test_single_neighbour_attends_fully():
    layer = _layer(torch.float64)
    x = torch.randn(2, IN.dim, dtype=torch.float64)
    edge_index = torch.tensor([[1], [0]])
    angle, transport = (
        torch.tensor([0.3], dtype=torch.float64),
        torch.tensor([1.1], dtype=torch.float64),
    )
    out = layer(x, edge_index, angle, transport)
    from gdl_zoo.gauges.gem_conv import transported_messages

    values = transported_messages(IN, OUT, layer.value, x, edge_index, angle, transport)
    expected = values.sum(1)[0] + layer.self_connection(x)[0]
    assert torch.allclose(out[0], expected, atol=1e-12)
    assert torch.allclose(out[1], layer.self_connection(x)[1])  # no incoming edge


def test_validation():
    with pytest.raises(ValueError, match="num_heads"):
        GaugeAttention(IN, OUT, num_heads=0)
    with pytest.raises(ValueError, match=r"features: expected shape \(N, 8\)"):
        _layer(torch.float64)(torch.zeros(N, 7, dtype=torch.float64), *_inputs(torch.float64)[1:])
