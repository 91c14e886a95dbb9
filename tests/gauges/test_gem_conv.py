"""GEMConv: exact gauge equivariance, agreement with the slow reference, the analytic basis."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import GaugeChange
from gdl_zoo.gauges.gem_conv import GEMConv
from gdl_zoo.gauges.reference import gem_conv_reference, neighbour_kernel
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

IN, OUT = SO2Irreps((2, 3, 1)), SO2Irreps((3, 2, 2))
N, E = 7, 24


def _graph(dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, IN.dim, generator=gen, dtype=dtype)
    edge_index = torch.randint(0, N, (2, E), generator=gen)
    log_angle = 2 * math.pi * torch.rand(E, generator=gen, dtype=dtype)
    transport = 2 * math.pi * torch.rand(E, generator=gen, dtype=dtype)
    weight = torch.rand(E, generator=gen, dtype=dtype) + 0.5
    return x, edge_index, log_angle, transport, weight


def _conv(dtype, aggregation="mean"):
    torch.manual_seed(0)
    conv = GEMConv(IN, OUT, aggregation=aggregation).to(dtype)
    with torch.no_grad():
        conv.self_connection.bias.normal_()
    return conv


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("aggregation", ["mean", "sum"])
def test_gauge_equivariance(dtype, aggregation):
    conv = _conv(dtype, aggregation)
    assert_equivariant(conv, _graph(dtype), GaugeChange(IN, N), GaugeChange(OUT, N))


@pytest.mark.parametrize("aggregation", ["mean", "sum"])
def test_fast_layer_matches_the_per_edge_reference(aggregation):
    conv = _conv(torch.float64, aggregation)
    inputs = _graph(torch.float64)
    assert (conv(*inputs) - gem_conv_reference(conv, *inputs)).abs().max() < 1e-12
    assert (conv(*inputs[:4]) - gem_conv_reference(conv, *inputs[:4])).abs().max() < 1e-12


def test_kernel_satisfies_the_constraint_and_spans_the_paper_basis():
    conv = _conv(torch.float64)
    theta, g = 0.9, -1.7
    lhs = neighbour_kernel(conv, theta - g)
    rhs = OUT.matrix(-g) @ neighbour_kernel(conv, theta) @ IN.matrix(g)
    assert torch.allclose(lhs, rhs, atol=1e-13)
    # block ρ_1 (input) → ρ_2 (output): entries are combinations of cos/sin of θ and 3θ
    rows, cols = slice(3 + 4, 3 + 6), slice(2, 4)
    thetas = torch.linspace(0, 2 * math.pi, 40, dtype=torch.float64)
    entries = torch.stack([neighbour_kernel(conv, t)[rows, cols].flatten() for t in thetas])
    basis = torch.stack(
        [torch.cos(thetas), torch.sin(thetas), torch.cos(3 * thetas), torch.sin(3 * thetas)], -1
    )
    fit = torch.linalg.lstsq(basis, entries).solution
    assert (basis @ fit - entries).abs().max() < 1e-12


@pytest.mark.parametrize(
    "n, m, count", [(0, 0, 1), (0, 2, 2), (2, 0, 2), (1, 2, 4), (2, 1, 4), (1, 1, 4), (2, 2, 4)]
)
def test_kernel_basis_is_complete(n, m, count):
    """The ρ_n → ρ_m kernels span the paper's basis: cos and sin of (m−n)θ and (m+n)θ."""
    irreps_in = SO2Irreps((1,) + (0,) * (n - 1) + (1,)) if n else SO2Irreps((1,))
    irreps_out = SO2Irreps((1,) + (0,) * (m - 1) + (1,)) if m else SO2Irreps((1,))
    conv = GEMConv(irreps_in, irreps_out).double()
    rows = slice(1, 3) if m else slice(0, 1)
    cols = slice(1, 3) if n else slice(0, 1)
    thetas = torch.linspace(0, 2 * math.pi, 24, dtype=torch.float64)[:-1]
    kernels = []
    for k in range(count):
        with torch.no_grad():
            conv.neighbour_weight.zero_()
            i, j = divmod(k, cols.stop - cols.start)
            conv.neighbour_weight[rows.start + i, cols.start + j] = 1.0
        kernels.append(torch.stack([neighbour_kernel(conv, t)[rows, cols] for t in thetas]))
    span = torch.stack([k.flatten() for k in kernels])
    assert torch.linalg.matrix_rank(span) == count  # no basis element missing
    frequencies = {abs(m - n), m + n}
    harmonics = [torch.ones_like(thetas)] if 0 in frequencies else []
    harmonics += [f(j * thetas) for j in sorted(frequencies - {0}) for f in (torch.cos, torch.sin)]
    basis = torch.stack(harmonics, -1)
    entries = torch.stack(kernels, -1).flatten(1)  # (angles, entries × count)
    fit = torch.linalg.lstsq(basis, entries).solution
    assert (basis @ fit - entries).abs().max() < 1e-12  # and nothing outside it


def test_a_bias_on_rho_1_breaks_equivariance():
    """Negative control: why the bias lives on the ρ_0 outputs only."""
    conv = _conv(torch.float64)
    rho1_bias = torch.zeros(OUT.dim, dtype=torch.float64)
    rho1_bias[OUT.num_scalars] = 1.0

    def biased(*inputs):
        return conv(*inputs) + rho1_bias

    report = equivariance_error(
        biased, _graph(torch.float64), GaugeChange(IN, N), GaugeChange(OUT, N)
    )
    assert not report.passed and report.max_error > 1e-2


def test_not_transporting_neighbours_breaks_equivariance():
    """Negative control: dropping the connection (transport angle 0) is not equivariant."""
    conv = _conv(torch.float64)

    def untransported(x, edge_index, log_angle, transport, weight):
        return conv(x, edge_index, log_angle, torch.zeros_like(transport), weight)

    report = equivariance_error(
        untransported, _graph(torch.float64), GaugeChange(IN, N), GaugeChange(OUT, N)
    )
    assert not report.passed


def test_isolated_vertices_keep_the_self_interaction():
    conv = _conv(torch.float64)
    x = torch.randn(3, IN.dim, dtype=torch.float64)
    empty = torch.zeros(2, 0, dtype=torch.long)
    none = torch.zeros(0, dtype=torch.float64)
    out = conv(x, empty, none, none)
    expected = x @ conv.self_connection.matrix().T
    expected[:, :3] += conv.self_connection.bias
    assert torch.allclose(out, expected)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda i: (i[0][:, :-1], *i[1:]), ValueError, r"features: expected shape \(N, 10\)"),
        (lambda i: (i[0].long(), *i[1:]), TypeError, "features: expected a floating"),
        (lambda i: (i[0], i[1].T, *i[2:]), ValueError, r"edge_index: expected shape \(2, E\)"),
        (lambda i: (i[0], i[1] + N, *i[2:]), ValueError, r"indices in \[0, 7\)"),
        (lambda i: (i[0], i[1], i[2][:-1], *i[3:]), ValueError, r"log_angle: expected shape"),
        (lambda i: (*i[:4], i[4][:3]), ValueError, r"edge_weight: expected shape \(24,\)"),
    ],
)
def test_bad_inputs_name_expected_and_received(change, error, match):
    conv = _conv(torch.float64)
    with pytest.raises(error, match=match):
        conv(*change(_graph(torch.float64)))


def test_gradients_reach_features_and_angles():
    conv = _conv(torch.float64)
    x, edge_index, log_angle, transport, weight = _graph(torch.float64)
    angles = (log_angle.requires_grad_(), transport.requires_grad_())
    assert torch.autograd.gradcheck(
        lambda a, b: conv(x, edge_index, a, b, weight), angles, atol=1e-8
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_irreps_linear_is_an_intertwiner_and_a_dense_map_is_not(dtype):
    from gdl_zoo.gauges.gem_conv import IrrepsLinear

    torch.manual_seed(1)
    linear = IrrepsLinear(SO2Irreps((2, 1, 0, 2)), SO2Irreps((1, 2, 1, 1))).to(dtype)
    x = torch.randn(N, linear.irreps_in.dim, dtype=dtype)
    act_in, act_out = GaugeChange(linear.irreps_in, N), GaugeChange(linear.irreps_out, N)
    assert_equivariant(linear, (x,), act_in, act_out)
    assert set(linear.weights) == {"0", "1", "3"}  # ρ_2 has no input copy
    dense = torch.randn(linear.irreps_out.dim, linear.irreps_in.dim, dtype=dtype)
    report = equivariance_error(lambda v: v @ dense.T, (x,), act_in, act_out)
    assert not report.passed
