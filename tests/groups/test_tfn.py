"""Tests for gdl_zoo.groups.tfn (and the exact tensor product of gdl_zoo.groups.irreps)."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3

from gdl_zoo.groups.euclidean_actions import E3Irreps, E3PointCloud, EnergyForces
from gdl_zoo.groups.irreps import EdgeTensorProduct, exact_D_from_matrix
from gdl_zoo.groups.tfn import TFN, TFNEnergy
from gdl_zoo.symmetry.actions import AxisPermutation, TupleAction
from gdl_zoo.symmetry.groups import EuclideanGroup
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

DTYPES = [torch.float64, torch.float32]
F = 4
SMALL = {"hidden_irreps": "8x0e + 4x1o + 2x2e", "num_layers": 2, "radial_hidden": 16}


def _cloud(dtype: torch.dtype, features: int = F) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    positions = 1.5 * torch.randn(12, 3, generator=generator, dtype=dtype)
    feats = torch.randn(12, features, generator=generator, dtype=dtype)
    return positions, feats, torch.tensor([0] * 5 + [1] * 7)


def _energy_model(dtype: torch.dtype, in_features: int = F, **kwargs) -> TFNEnergy:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return TFNEnergy(in_features, **{**SMALL, "cutoff": 4.0, **kwargs}).to(dtype)


# --- symmetry -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_energy_is_invariant_and_forces_equivariant(dtype):
    report = assert_equivariant(_energy_model(dtype), _cloud(dtype), E3PointCloud(), EnergyForces())
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_irreps_features_in_and_out_are_equivariant(dtype):
    irreps_in, irreps_out = "2x0e + 1x1o", "3x0e + 2x1o + 1x1e + 1x2e"
    torch.manual_seed(0)
    model = TFN(irreps_in, irreps_out, **SMALL).to(dtype)
    report = assert_equivariant(
        model, _cloud(dtype, features=5), E3PointCloud(irreps_in), E3Irreps(irreps_out)
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_permuting_atoms_permutes_forces_and_keeps_energies():
    inputs = _cloud(torch.float64)
    nodes = AxisPermutation(12, dim=0)
    report = assert_equivariant(
        _energy_model(torch.float64),
        inputs,
        TupleAction(nodes, nodes, nodes),
        TupleAction(None, nodes),
    )
    assert report.max_error < 1e-12


def test_non_equivariant_variant_fails_the_harness():
    model = _energy_model(torch.float64, in_features=F + 3)

    def leaky(x, f, b):  # raw coordinates as invariant features: breaks E(3) symmetry
        return model(x, torch.cat([f, x], dim=-1), b)

    report = equivariance_error(leaky, _cloud(torch.float64), E3PointCloud(), EnergyForces())
    assert not report.passed and report.max_error > 1e-3


# --- the exact tensor product ------------------------------------------------------------


def test_tensor_product_matches_e3nn_and_is_exact_in_float64():
    irreps_in, irreps_sh = o3.Irreps("3x0e + 2x1o + 2x2e"), o3.Irreps.spherical_harmonics(2)
    ours = EdgeTensorProduct(irreps_in, irreps_sh, "0e + 1o + 2e + 1e")
    paths = [
        (i1, i2)
        for i1, (_, ir1) in enumerate(irreps_in)
        for i2, (_, ir2) in enumerate(irreps_sh)
        for ir3 in ir1 * ir2
        if ir3 in o3.Irreps("0e + 1o + 2e + 1e")
    ]
    instructions = [(i1, i2, k, "uvu", True) for k, (i1, i2) in enumerate(paths)]
    reference = o3.TensorProduct(
        irreps_in,
        irreps_sh,
        ours.irreps_out,
        instructions,
        shared_weights=False,
        internal_weights=False,
        irrep_normalization="component",
        path_normalization="none",
    )
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, irreps_in.dim, generator=generator)
    sh = o3.spherical_harmonics(irreps_sh, torch.randn(6, 3, generator=generator), True)
    weight = torch.randn(6, ours.weight_numel, generator=generator)
    torch.testing.assert_close(ours(x, sh, weight), reference(x, sh, weight), rtol=1e-5, atol=1e-5)

    ours = ours.double()
    x, sh, weight = x.double(), sh.double(), weight.double()
    q, _ = EuclideanGroup(translations=False).sample(generator)
    rotated = ours(
        x @ exact_D_from_matrix(irreps_in, q).T, sh @ exact_D_from_matrix(irreps_sh, q).T, weight
    )
    expected = ours(x, sh, weight) @ exact_D_from_matrix(ours.irreps_out, q).T
    assert (rotated - expected).abs().max() < 1e-12


def test_tensor_product_coefficients_survive_dtype_round_trips():
    tp = EdgeTensorProduct("1x1o", "1x2e", "1o").float().double()  # one path, 1 ⊗ 2 -> 1
    exact = o3.wigner_3j(1, 2, 1, dtype=torch.float64)
    assert (tp.cg_0_hi + tp.cg_0_lo - exact).abs().max() < 1e-15
    assert (exact.float().double() - exact).abs().max() > 1e-10  # what a float32 buffer loses


# --- forces and bad input ----------------------------------------------------------------


def test_forces_are_minus_the_gradient_by_finite_differences():
    model = _energy_model(torch.float64).eval()
    positions, features, batch = _cloud(torch.float64)
    _, forces = model(positions, features, batch)
    step = 1e-6
    with torch.no_grad():
        for atom, axis in [(0, 0), (6, 2), (11, 1)]:
            plus, minus = positions.clone(), positions.clone()
            plus[atom, axis] += step
            minus[atom, axis] -= step
            slope = (model(plus, features, batch)[0] - model(minus, features, batch)[0]).sum()
            assert abs(float(forces[atom, axis] + slope / (2 * step))) < 1e-6


def test_coincident_points_give_finite_outputs_and_gradients():
    model = _energy_model(torch.float64)
    positions, features, batch = _cloud(torch.float64)
    positions[1] = positions[0]
    positions[2] = positions[0]
    energy, forces = model(positions, features, batch)
    (energy.sum() + forces.sum()).backward()
    assert torch.isfinite(energy).all() and torch.isfinite(forces).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_empty_point_cloud_has_zero_energy():
    model = _energy_model(torch.float64)
    energy, forces = model(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, F).double())
    assert energy.shape == (1,) and energy.item() == 0.0 and forces.shape == (0, 3)


def test_wrong_inputs_raise_clear_errors():
    model = _energy_model(torch.float64)
    positions, features, batch = _cloud(torch.float64)
    with pytest.raises(ValueError, match=r"features: expected shape \(N, F\) = \(12, 4\), got"):
        model(positions, features[:, :2], batch)
    with pytest.raises(ValueError, match="hidden_irreps: expected at least one 0e scalar"):
        TFNEnergy(F, hidden_irreps="4x1o")
    with pytest.raises(ValueError, match="irreps_in: expected e3nn irreps"):
        TFN("banana", 2)
    with pytest.raises(ValueError, match="cutoff: expected a positive number"):
        TFN(F, 2, cutoff=None)
    with pytest.raises(ValueError, match="irreps_in: expected an irrep that hidden_irreps"):
        TFN("1x3o", 2, **SMALL)
