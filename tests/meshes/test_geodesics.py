"""Heat-method geodesics: accuracy on a fine sphere, gradients in the metric, bad inputs."""

import math

import pytest
import torch

from gdl_zoo.meshes.generators import bumpy_icosphere, grid, icosphere
from gdl_zoo.meshes.geodesics import HeatGeodesics, heat_geodesic_distance
from gdl_zoo.meshes.geometry import edge_lengths


def test_distances_on_a_fine_icosphere_within_two_percent_of_great_circles():
    x, mesh = icosphere(4)  # 2562 vertices
    sources = torch.tensor([0, 100, 2000])
    d = heat_geodesic_distance(mesh, edge_lengths(mesh, x), sources)
    exact = torch.arccos((x[sources] @ x.T).clamp(-1, 1))
    assert d.shape == (3, mesh.num_vertices)
    assert torch.all(d[torch.arange(3), sources] == 0)
    # largest error relative to the diameter π (measured 0.96 %)
    assert (d - exact).abs().max() / math.pi < 0.02
    # mean relative error over the vertices (measured 0.92 %); pointwise it is larger
    # in the first rings around a source (the heat method's known offset there)
    others = exact > 0
    assert ((d - exact).abs()[others] / exact[others]).mean() < 0.02


def test_distances_on_a_flat_grid_are_euclidean_away_from_the_source():
    x, mesh = grid(16, 16)
    centre = 8 * 17 + 8
    d = heat_geodesic_distance(mesh, edge_lengths(mesh, x), torch.tensor([centre]))[0]
    exact = (x[:, :2] - x[centre, :2]).norm(dim=1)
    far = exact > 0.3
    assert ((d - exact).abs()[far] / exact[far]).max() < 0.08  # grid-diagonal anisotropy


def test_distances_scale_with_the_metric_and_are_differentiable():
    x, mesh = icosphere(2)
    lengths = edge_lengths(mesh, x).requires_grad_(True)
    heat = HeatGeodesics(mesh, lengths)
    d = heat(torch.tensor([3]))
    d.sum().backward()
    assert torch.isfinite(lengths.grad).all() and lengths.grad.abs().sum() > 0
    # the distance is 1-homogeneous in the lengths when t scales like h^2
    scaled = heat_geodesic_distance(mesh, 2 * lengths.detach(), torch.tensor([3]))
    assert torch.allclose(scaled, 2 * d.detach(), rtol=1e-8, atol=1e-10)


def test_gradient_matches_finite_differences():
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    direction = torch.randn(mesh.num_edges, generator=torch.Generator().manual_seed(0),
                            dtype=torch.float64)  # fmt: skip

    def f(ell):
        return HeatGeodesics(mesh, ell, t=0.1)(torch.tensor([0, 7]))[:, 20:25].sum()

    ell = lengths.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(ell), ell)
    eps = 1e-6
    fd = (f(lengths + eps * direction) - f(lengths - eps * direction)) / (2 * eps)
    assert torch.allclose((grad * direction).sum(), fd, rtol=1e-6)


def test_bad_inputs_are_rejected():
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    heat = HeatGeodesics(mesh, lengths)
    with pytest.raises(TypeError, match="LongTensor"):
        heat(torch.tensor([0.0]))
    with pytest.raises(ValueError, match="vertex indices"):
        heat(torch.tensor([mesh.num_vertices]))
    with pytest.raises(ValueError, match="positive heat time"):
        HeatGeodesics(mesh, lengths, t=0.0)
    bad = lengths.clone()
    bad[5] = float("nan")
    with pytest.raises(ValueError, match="edges 5"):
        HeatGeodesics(mesh, bad)


@pytest.mark.parametrize("seed", [22, 82, 188])
def test_float32_lengths_give_the_float64_distances(seed):
    # the Poisson step's 1e-10 relative mass shift is rounded away in float32: these bumped
    # spheres then gave distances wrong by O(1) (silently) before it was built in float64
    x, mesh = bumpy_icosphere(1, 0.15, torch.Generator().manual_seed(seed))
    lengths = edge_lengths(mesh, x)
    sources = torch.arange(mesh.num_vertices)
    d32 = HeatGeodesics(mesh, lengths.float())(sources)
    d64 = HeatGeodesics(mesh, lengths)(sources)
    assert d32.dtype == torch.float32
    assert (d32.double() - d64).abs().max() < 1e-4


def _strip(rows):
    """A strip of ``rows × 2`` square cells (``rows`` rings long), side ``1/rows``."""
    x, mesh = grid(rows, 2)
    x[:, 0] *= 2 / rows
    return x, mesh


def test_float32_lengths_keep_the_heat_far_from_the_source():
    # u decays by about e^{-1} per ring: in float32 it underflowed to 0 (no direction, wrong
    # distances by 0.34) some 100 rings away; the method now runs in float64 inside
    x, mesh = _strip(150)
    lengths = edge_lengths(mesh, x)
    exact = (x[:, :2] - x[0, :2]).norm(dim=1)
    d32 = heat_geodesic_distance(mesh, lengths.float(), torch.tensor([0]))[0]
    assert d32.dtype == torch.float32
    assert (d32.double() - exact).abs().max() < 0.01


def test_distances_hundreds_of_rings_from_the_source():
    # |∇u|² underflowed (float64) some 400 rings away: the direction became 0 and the
    # distance 800 rings away was wrong by 0.46; the direction is now taken without squaring
    x, mesh = _strip(800)
    d = heat_geodesic_distance(mesh, edge_lengths(mesh, x), torch.tensor([0]))[0]
    assert (d - (x[:, :2] - x[0, :2]).norm(dim=1)).abs().max() < 1e-3


def test_heat_underflow_far_from_the_source_is_an_error_not_a_wrong_distance():
    x, mesh = _strip(1000)  # u itself underflows to 0 some 870 rings away at the default t
    lengths = edge_lengths(mesh, x)
    with pytest.raises(ValueError, match="underflowed to 0 .* pass a larger t or time_factor"):
        heat_geodesic_distance(mesh, lengths, torch.tensor([0]))
    d = HeatGeodesics(mesh, lengths, time_factor=4.0)(torch.tensor([0]))[0]
    assert (d - (x[:, :2] - x[0, :2]).norm(dim=1)).abs().max() < 1e-3


def test_direction_gradient_through_the_rescaling_is_exact():
    from gdl_zoo.meshes.geodesics import _direction

    v = torch.tensor([[3.0, -4.0], [1e-200, 2e-200], [0.5, 0.5]], dtype=torch.float64)
    assert torch.allclose(_direction(v)[:2], torch.tensor([[0.6, -0.8], [5**-0.5, 2 * 5**-0.5]],
                                                          dtype=torch.float64))  # fmt: skip
    assert torch.equal(_direction(torch.zeros(1, 2, dtype=torch.float64)), torch.zeros(1, 2))
    w = v[[0, 2]].clone().requires_grad_()  # a tie of the components in the second row
    assert torch.autograd.gradcheck(_direction, (w,))


def test_gradcheck_with_the_default_time_follows_the_time_too():
    # the default t = h² depends on the lengths: the gradient used to treat it as a constant
    # (Jacobian mismatch of O(1)), so fit_metric's distance term had an inexact gradient
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda ell: HeatGeodesics(mesh, ell)(torch.tensor([0, 5])), (lengths,)
    )
    # 1-homogeneity, differentiated: ⟨∂d/∂ℓ, ℓ⟩ = d (Euler)
    d = HeatGeodesics(mesh, lengths)(torch.tensor([5]))[0, 30]
    (grad,) = torch.autograd.grad(d, lengths)
    assert float((grad * lengths.detach()).sum()) == pytest.approx(float(d.detach()), rel=1e-8)
