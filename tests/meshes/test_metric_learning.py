"""Variational metric learning: Regge action, complexity and data terms, fit_metric."""

import math

import numpy as np
import pytest
import torch

from gdl_zoo.meshes import metric_learning as ML
from gdl_zoo.meshes.generators import grid, icosphere, torus
from gdl_zoo.meshes.geodesics import HeatGeodesics
from gdl_zoo.meshes.geometry import cotan_weights, edge_lengths, lumped_mass
from gdl_zoo.meshes.metric import EdgeLengthMetric
from gdl_zoo.meshes.sparse import SparsityPattern


def _random_metric(generator, seed, scale=0.1, **kwargs):
    """A metric far from any embedding: every length scaled by its own random factor."""
    x, mesh = generator(**kwargs)
    g = torch.Generator().manual_seed(seed)
    lengths = edge_lengths(mesh, x) * torch.exp(
        scale * torch.randn(mesh.num_edges, generator=g, dtype=x.dtype)
    )
    return mesh, lengths


@pytest.mark.parametrize("generator", [icosphere, torus, grid])
def test_regge_action_is_two_pi_chi_with_zero_gradient(generator):
    mesh, lengths = _random_metric(generator, seed=0)
    lengths.requires_grad_()
    action = ML.regge_action(mesh, lengths)
    assert float(action.detach()) == pytest.approx(
        2 * math.pi * mesh.euler_characteristic, abs=1e-10
    )
    (grad,) = torch.autograd.grad(action, lengths)
    assert grad.abs().max() < 1e-10
    # whereas the complexity terms do depend on the metric
    for term in (ML.curvature_squared, ML.calabi_energy, ML.total_area):
        (g,) = torch.autograd.grad(term(mesh, lengths), lengths)
        assert g.abs().max() > 1e-3


def test_complexity_terms_under_scaling():
    mesh, lengths = _random_metric(icosphere, seed=1, subdivisions=1)
    s = 1.7
    assert float(ML.calabi_energy(mesh, s * lengths)) == pytest.approx(
        float(ML.calabi_energy(mesh, lengths)), rel=1e-12
    )
    assert float(ML.curvature_squared(mesh, s * lengths)) == pytest.approx(
        float(ML.curvature_squared(mesh, lengths)) / s**2, rel=1e-12
    )
    assert float(ML.total_area(mesh, s * lengths)) == pytest.approx(
        float(ML.total_area(mesh, lengths)) * s**2, rel=1e-12
    )


def test_calabi_energy_vanishes_for_constant_curvature_only():
    x, mesh = icosphere(0)  # every vertex alike: K_v / A_v is constant
    round_metric = edge_lengths(mesh, x)
    assert abs(float(ML.calabi_energy(mesh, round_metric))) < 1e-12
    _, noisy = _random_metric(icosphere, seed=2, subdivisions=0)
    assert float(ML.calabi_energy(mesh, noisy)) > 1e-3


def test_curvature_terms_leave_out_the_boundary_turning():
    x, mesh = grid(4, 4)  # flat: zero curvature inside, turning π/2 at the corners
    lengths = edge_lengths(mesh, x)
    assert abs(float(ML.curvature_squared(mesh, lengths))) < 1e-24
    assert abs(float(ML.calabi_energy(mesh, lengths))) < 1e-24


def test_conformal_dirichlet_is_the_cotan_energy_of_u():
    x, mesh = torus(8, 5)
    metric = EdgeLengthMetric.from_positions(mesh, x, conformal=True)
    u = torch.randn(mesh.num_vertices, generator=torch.Generator().manual_seed(3), dtype=x.dtype)
    with torch.no_grad():
        metric.u.copy_(u)
    w = cotan_weights(mesh, edge_lengths(mesh, x))
    i, j = mesh.edges.unbind(1)
    expected = (w * (u[i] - u[j]) ** 2).sum()  # ½ Σ_ij over ordered pairs = Σ over edges
    energy = ML.conformal_dirichlet(metric).detach()
    assert float(energy) == pytest.approx(float(expected), rel=1e-12)
    with torch.no_grad():
        metric.u.fill_(0.4)
    assert abs(float(ML.conformal_dirichlet(metric).detach())) < 1e-12
    with pytest.raises(ValueError, match="conformal=True"):
        ML.conformal_dirichlet(EdgeLengthMetric.from_positions(mesh, x))


def _pairs(mesh, count, seed, sources=None):
    """Random vertex pairs; with ``sources``, their first vertices drawn from that many."""
    g = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, mesh.num_vertices, (count, 2), generator=g)
    if sources is not None:
        pairs[:, 0] = torch.randperm(mesh.num_vertices, generator=g)[:sources][
            pairs[:, 0] % sources
        ]
    return pairs[pairs[:, 0] != pairs[:, 1]]


def test_geodesic_distance_term_is_zero_at_the_truth_and_differentiable():
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    pairs = _pairs(mesh, 30, seed=4)
    d = HeatGeodesics(mesh, lengths)(pairs[:, 0])  # one row per pair
    targets = d[torch.arange(len(pairs)), pairs[:, 1]]
    loss = ML.geodesic_distance_term(mesh, pairs, targets)
    assert float(loss(lengths)) < 1e-24
    scaled = (1.1 * lengths).requires_grad_()
    value = loss(scaled)  # distances are 1-homogeneous: 10 % too long
    assert float(value.detach()) == pytest.approx(float((0.1 * targets).pow(2).mean()), rel=1e-10)
    (grad,) = torch.autograd.grad(value, scaled)
    assert torch.isfinite(grad).all() and float((grad * scaled.detach()).sum()) > 0


def test_heat_kernel_term_matches_a_dense_resolvent():
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    pairs, t = _pairs(mesh, 20, seed=5), 0.05
    pattern = SparsityPattern.of_mesh(mesh)
    from gdl_zoo.meshes.geometry import cotan_laplacian

    mass = lumped_mass(mesh, lengths)
    dense = torch.diag(mass) + t * pattern.to_dense(cotan_laplacian(mesh, lengths, pattern))
    kernel = torch.linalg.solve(dense, torch.diag(mass))
    targets = kernel[pairs[:, 0], pairs[:, 1]]
    loss = ML.heat_kernel_term(mesh, pairs, targets, t)
    assert float(loss(lengths)) < 1e-26
    off = ML.heat_kernel_term(mesh, pairs, targets + 1e-3, t)
    assert float(off(lengths)) == pytest.approx(1e-6, rel=1e-8)
    trainable = (lengths * 1.05).requires_grad_()
    (grad,) = torch.autograd.grad(loss(trainable), trainable)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0
    with pytest.raises(ValueError, match="positive heat time"):
        ML.heat_kernel_term(mesh, pairs, targets, 0.0)


def test_spectrum_term_matches_scipy_and_is_zero_at_the_truth():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    from gdl_zoo.meshes.geometry import cotan_laplacian

    lap = pattern.to_dense(cotan_laplacian(mesh, lengths, pattern)).numpy()
    mass = lumped_mass(mesh, lengths).numpy()
    eig = scipy_linalg.eigh(lap, np.diag(mass), eigvals_only=True)[1:6]
    loss = ML.spectrum_term(mesh, torch.as_tensor(eig))
    assert float(loss(lengths)) < 1e-20
    # eigenvalues scale like 1/s² with the lengths: relative error (1/s² − 1)²
    assert float(loss(2 * lengths)) == pytest.approx(0.75**2, rel=1e-8)
    with pytest.raises(ValueError, match="positive eigenvalues"):
        ML.spectrum_term(mesh, torch.tensor([0.0, 1.0]))


def test_data_terms_reject_bad_pairs():
    _, mesh = icosphere(0)
    targets = torch.zeros(2)
    with pytest.raises(ValueError, match=r"pairs: expected a \(P, 2\) LongTensor"):
        ML.geodesic_distance_term(mesh, torch.zeros(2, 2), targets)
    with pytest.raises(ValueError, match=r"pair 1 is \[3, 12\]"):
        ML.geodesic_distance_term(mesh, torch.tensor([[0, 1], [3, 12]]), targets)
    with pytest.raises(ValueError, match=r"targets: expected shape \(2,\)"):
        ML.heat_kernel_term(mesh, torch.tensor([[0, 1], [3, 4]]), torch.zeros(3), 0.1)


def test_fit_metric_recovers_a_scale_and_returns_the_history():
    """Fitting the distances of a sphere twice as big doubles every length."""
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    pairs = _pairs(mesh, 40, seed=6, sources=3)
    d = HeatGeodesics(mesh, 2 * lengths)(pairs[:, 0])[torch.arange(len(pairs)), pairs[:, 1]]
    metric = EdgeLengthMetric(mesh, lengths, learn_lengths=False, conformal=True)
    result = ML.fit_metric(metric, ML.geodesic_distance_term(mesh, pairs, d), steps=80, lr=0.05)
    assert len(result.history) == 80
    assert set(result.history[0]) == {"total", "data", "complexity", "barrier"}
    assert result.history[-1]["data"] < 1e-3 * result.history[0]["data"]
    assert torch.allclose(result.lengths, 2 * lengths, rtol=0.02)
    assert torch.equal(result.lengths, metric().detach())


def test_fit_metric_with_regge_complexity_is_the_data_fit():
    """The Regge action has zero gradient, so adding it with any weight changes nothing."""
    x, mesh = icosphere(1)
    lengths = edge_lengths(mesh, x)
    pairs = _pairs(mesh, 30, seed=7, sources=3)
    d = HeatGeodesics(mesh, 1.3 * lengths)(pairs[:, 0])[torch.arange(len(pairs)), pairs[:, 1]]
    term = ML.geodesic_distance_term(mesh, pairs, d)
    fits = [
        ML.fit_metric(EdgeLengthMetric(mesh, lengths), term, ML.regge_action, lam=lam, steps=5)
        for lam in (0.0, 10.0)
    ]
    assert torch.allclose(fits[0].lengths, fits[1].lengths, rtol=1e-9)
    assert fits[1].history[0]["complexity"] == pytest.approx(4 * math.pi, rel=1e-12)


def test_fit_metric_conformal_dirichlet_smooths_u():
    x, mesh = icosphere(1)
    metric = EdgeLengthMetric.from_positions(mesh, x, learn_lengths=False, conformal=True)
    with torch.no_grad():
        metric.u.normal_(generator=torch.Generator().manual_seed(8)).mul_(0.1)
    start = float(ML.conformal_dirichlet(metric).detach())
    result = ML.fit_metric(
        metric, lambda ell: ell.sum() * 0, "conformal_dirichlet", lam=1.0, steps=30, lr=0.01
    )
    assert result.history[-1]["complexity"] < 0.5 * start


def test_fit_metric_rejects_bad_arguments():
    x, mesh = icosphere(0)
    metric = EdgeLengthMetric.from_positions(mesh, x)

    def zero(ell):
        return ell.sum() * 0

    with pytest.raises(TypeError, match="EdgeLengthMetric"):
        ML.fit_metric(edge_lengths(mesh, x), zero)
    with pytest.raises(ValueError, match="complexity: expected one of"):
        ML.fit_metric(metric, zero, "willmore")
    with pytest.raises(ValueError, match="conformal metric"):
        ML.fit_metric(metric, zero, "conformal_dirichlet", lam=1.0)
    with pytest.raises(TypeError, match="complexity: expected a name or a callable"):
        ML.fit_metric(metric, zero, 3)
    with pytest.raises(ValueError, match="lam"):
        ML.fit_metric(metric, zero, lam=-1.0)
    with pytest.raises(ValueError, match="steps"):
        ML.fit_metric(metric, zero, steps=0)
    with pytest.raises(ValueError, match="not finite"):
        ML.fit_metric(metric, lambda ell: ell.sum() * float("nan"), steps=1)


def test_fit_metric_refuses_a_nan_gradient_and_leaves_the_metric_untouched():
    """A finite loss with a NaN gradient (√ at 0) must not write NaN into the metric."""
    x, mesh = icosphere(0)
    metric = EdgeLengthMetric.from_positions(mesh, x)
    before = metric().detach().clone()

    def nan_gradient(ell):
        return (ell[0] - ell[0]).sqrt() + (ell - 1).pow(2).mean()

    with pytest.raises(ValueError, match=r"step 0: the gradient is not finite"):
        ML.fit_metric(metric, nan_gradient, steps=1)
    assert torch.equal(metric().detach(), before)
