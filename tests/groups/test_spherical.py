"""Spherical CNN: exact spectral convolutions, approximate grid nonlinearities, sphere sampling."""

import math

import pytest
import torch
from e3nn import o3

from gdl_zoo.groups.sphere_actions import SO3Spherical, s2_dim, so3_dim, wigner_D_from_matrix
from gdl_zoo.groups.spherical import (
    S2Conv,
    SO3Conv,
    SO3GridActivation,
    SphericalCNN,
    sphere_coefficients,
    sphere_grid,
)
from gdl_zoo.symmetry import EuclideanGroup, Invariant, assert_equivariant, equivariance_error

#: a small model and a tolerance above its measured invariance error (≈ 1e-3)
SMALL_MODEL = {"channels": (2, 4), "lmax_in": 3, "lmax": (2, 1)}
TOLERANCE = 5e-3


def _band_limited(lmax, res_beta, res_alpha, batch=3, seed=0):
    coefficients = torch.randn(
        batch, s2_dim(lmax), dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    harmonics = o3.spherical_harmonics(
        list(range(lmax + 1)), sphere_grid(res_beta, res_alpha), True, normalization="integral"
    )
    return coefficients, harmonics


def _rotations(n):
    group = EuclideanGroup(parity=False, translations=False)
    generator = torch.Generator().manual_seed(5)
    return [group.sample(generator) for _ in range(n)]


@pytest.mark.parametrize(("res_beta", "res_alpha"), [(10, 9), (16, 21)])
def test_sphere_coefficients_are_exact_for_band_limited_signals(res_beta, res_alpha):
    coefficients, harmonics = _band_limited(4, res_beta, res_alpha)
    signal = torch.einsum("nmi,zi->znm", harmonics, coefficients)
    assert (sphere_coefficients(signal, 4) - coefficients).abs().max() < 1e-12
    assert sphere_grid(res_beta, res_alpha).norm(dim=-1).sub(1).abs().max() < 1e-15


def test_rotating_the_sampled_signal_rotates_its_coefficients():
    coefficients, _ = _band_limited(4, 10, 9)
    points = sphere_grid(10, 9)
    q = _rotations(1)[0][0]
    # (Q.f)(x) = f(Q⁻¹x): evaluate the harmonics at Q⁻¹x = x Q (rows)
    moved = o3.spherical_harmonics(list(range(5)), points @ q, True, normalization="integral")
    rotated = sphere_coefficients(torch.einsum("nmi,zi->znm", moved, coefficients), 4)
    assert (rotated - coefficients @ wigner_D_from_matrix(4, q).T).abs().max() < 1e-12


def test_sphere_coefficients_reject_coarse_grids():
    with pytest.raises(ValueError, match=r"expected an even N ≥ 10 and M ≥ 9 for lmax=4, got"):
        sphere_coefficients(torch.zeros(2, 8, 9), 4)
    with pytest.raises(ValueError, match=r"expected shape \(\.\.\., N, M\)"):
        sphere_coefficients(torch.zeros(5), 1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_s2_and_so3_convolutions_are_exactly_equivariant(dtype):
    torch.manual_seed(0)
    s2 = S2Conv(2, 3, lmax_in=4, lmax_out=3).to(dtype)
    so3 = SO3Conv(3, 2, lmax_in=3, lmax_out=2).to(dtype)
    x = torch.randn(2, 2, s2_dim(4), dtype=dtype)
    h = s2(x)
    assert h.shape == (2, 3, so3_dim(3)) and so3(h).shape == (2, 2, so3_dim(2))
    assert_equivariant(s2, x, SO3Spherical(4), SO3Spherical(3, "so3"))
    assert_equivariant(so3, h, SO3Spherical(3, "so3"), SO3Spherical(2, "so3"))


def test_grid_activation_round_trip_is_exact_at_the_minimal_resolution():
    identity = SO3GridActivation(4, 4, resolution=5, activation=lambda t: t).double()
    x = torch.randn(2, 3, so3_dim(4), dtype=torch.float64)
    assert (identity(x) - x).abs().max() < 1e-12
    lower = SO3GridActivation(4, 2, resolution=5, activation=lambda t: t).double()
    assert (lower(x) - x[..., : so3_dim(2)]).abs().max() < 1e-12


def test_grid_transform_matches_e3nn_so3_grid():
    ours = SO3GridActivation(3, 3, resolution=4).double()
    reference = o3.SO3Grid(3, 4).double()
    x = torch.randn(2, so3_dim(3), dtype=torch.float64)
    grid = reference.to_grid(x) * math.sqrt(so3_dim(3))  # e3nn divides by √dim
    assert (
        ours.to_grid(x) - grid
    ).abs().max() < 1e-4 * grid.abs().max()  # e3nn: float32 generators
    samples = torch.randn(2, 16, 8, 16, dtype=torch.float64)
    expected = reference.from_grid(samples) / math.sqrt(so3_dim(3))
    assert (ours.from_grid(samples) - expected).abs().max() < 1e-5 * expected.abs().max()


def test_grid_activation_error_falls_with_resolution():
    x = torch.randn(
        2, 3, so3_dim(3), dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    errors = [
        equivariance_error(
            SO3GridActivation(3, 3, resolution=r).double(),
            x,
            SO3Spherical(3, "so3"),
            SO3Spherical(3, "so3"),
            elements=_rotations(3),
        ).max_error
        for r in (4, 8)
    ]
    assert 1e-4 < errors[1] < errors[0] / 3 < 1e-2  # approximate, about r⁻³


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_spherical_cnn_is_invariant_within_the_tolerance(dtype):
    torch.manual_seed(0)
    model = SphericalCNN(**SMALL_MODEL).to(dtype)
    x = torch.randn(2, 1, s2_dim(3), dtype=dtype, generator=torch.Generator().manual_seed(0))
    assert model(x).shape == (2, 10)
    report = assert_equivariant(
        model, x, SO3Spherical(3), Invariant(), n_random=2, tolerance=TOLERANCE
    )
    assert report.max_error > 1e-6  # approximate: the grid nonlinearity is not exact
    model.eval()
    assert model.features(x).shape == (2, 4, so3_dim(1))
    assert_equivariant(
        model.features,
        x,
        SO3Spherical(3),
        SO3Spherical(1, "so3"),
        n_random=1,
        tolerance=TOLERANCE,
    )


def test_spherical_cnn_rejects_bad_inputs_and_configurations():
    model = SphericalCNN(channels=(4, 8), lmax_in=4, lmax=(3, 2))
    with pytest.raises(ValueError, match=r"x: expected 25 coefficients \(lmax_in=4\)"):
        model(torch.zeros(2, 1, 36))
    with pytest.raises(ValueError, match="x: expected 1 channels"):
        model(torch.zeros(2, 2, 25))
    with pytest.raises(ValueError, match="expected equal non-zero lengths"):
        SphericalCNN(channels=(4,), lmax=(3, 2))
    with pytest.raises(ValueError, match="lmax_out: expected at most lmax_in=2"):
        SphericalCNN(lmax_in=3, lmax=(2, 3))
    with pytest.raises(ValueError, match=r"resolution: expected at least .* = 4 .*got 3"):
        SO3GridActivation(3, 3, resolution=3)
    with pytest.raises(ValueError, match="x: expected 35 SO"):
        SO3GridActivation(2, 2, resolution=3)(torch.zeros(2, 34))
