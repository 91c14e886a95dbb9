"""Tests for gdl_zoo.groups.se3_transformer: symmetry, the neighbour softmax, forces, bad input."""

from __future__ import annotations

import pytest
import torch

from gdl_zoo.groups.euclidean_actions import E3Irreps, E3PointCloud, EnergyForces
from gdl_zoo.groups.se3_transformer import (
    SE3Transformer,
    SE3TransformerEnergy,
    neighbour_softmax,
)
from gdl_zoo.symmetry.actions import AxisPermutation, TupleAction
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

DTYPES = [torch.float64, torch.float32]
F = 4
SMALL = {
    "hidden_irreps": "8x0e + 4x1o + 2x2e",
    "irreps_key": "4x0e + 2x1o",
    "num_layers": 2,
    "radial_hidden": 16,
}


def _cloud(dtype: torch.dtype, features: int = F) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    positions = 1.5 * torch.randn(12, 3, generator=generator, dtype=dtype)
    feats = torch.randn(12, features, generator=generator, dtype=dtype)
    return positions, feats, torch.tensor([0] * 5 + [1] * 7)


def _energy_model(dtype: torch.dtype, in_features: int = F, **kwargs) -> SE3TransformerEnergy:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return SE3TransformerEnergy(in_features, **{**SMALL, "cutoff": 4.0, **kwargs}).to(dtype)


# --- symmetry -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_energy_is_invariant_and_forces_equivariant(dtype):
    report = assert_equivariant(_energy_model(dtype), _cloud(dtype), E3PointCloud(), EnergyForces())
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_irreps_features_in_and_out_are_equivariant(dtype):
    irreps_in, irreps_out = "2x0e + 1x1o", "3x0e + 2x1o + 1x2e"
    torch.manual_seed(0)
    model = SE3Transformer(irreps_in, irreps_out, num_heads=2, **SMALL).to(dtype)
    report = assert_equivariant(
        model, _cloud(dtype, features=5), E3PointCloud(irreps_in), E3Irreps(irreps_out)
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_permuting_atoms_permutes_forces_and_keeps_energies():
    nodes = AxisPermutation(12, dim=0)
    report = assert_equivariant(
        _energy_model(torch.float64),
        _cloud(torch.float64),
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


# --- the neighbour softmax ---------------------------------------------------------------


def test_neighbour_softmax_matches_a_per_node_loop():
    generator = torch.Generator().manual_seed(0)
    target = torch.tensor([0, 0, 0, 1, 1, 3])
    logits = 20 * torch.randn(6, 2, generator=generator, dtype=torch.float64)
    weights = torch.rand(6, generator=generator, dtype=torch.float64)
    alpha = neighbour_softmax(logits, weights, target, num_nodes=4)
    for node in range(4):
        edges = target == node
        if edges.any():
            expected = weights[edges, None] * logits[edges].exp()
            torch.testing.assert_close(alpha[edges], expected / expected.sum(0))
    ones = neighbour_softmax(logits, torch.ones(6, dtype=torch.float64), target, 4)
    sums = torch.zeros(4, 2, dtype=torch.float64).index_add(0, target, ones)
    torch.testing.assert_close(sums[[0, 1, 3]], torch.ones(3, 2, dtype=torch.float64))


def test_neighbour_softmax_with_vanishing_weights_is_zero_not_nan():
    alpha = neighbour_softmax(torch.zeros(2, 1), torch.zeros(2), torch.tensor([0, 0]), 1)
    assert torch.equal(alpha, torch.zeros(2, 1))


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


def test_empty_point_cloud_and_isolated_atoms():
    model = _energy_model(torch.float64)
    energy, forces = model(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, F).double())
    assert energy.shape == (1,) and energy.item() == 0.0 and forces.shape == (0, 3)
    positions, features, _ = _cloud(torch.float64)
    far = torch.stack([positions[0], positions[0] + 100.0])  # beyond the cutoff: no edges
    energy, forces = model(far, features[:2], torch.tensor([0, 0]))
    assert torch.isfinite(energy).all() and torch.equal(forces, torch.zeros_like(forces))


def test_wrong_inputs_raise_clear_errors():
    model = _energy_model(torch.float64)
    positions, features, batch = _cloud(torch.float64)
    with pytest.raises(ValueError, match=r"features: expected shape \(N, F\) = \(12, 4\), got"):
        model(positions, features[:, :2], batch)
    with pytest.raises(ValueError, match="irreps_key: expected every multiplicity divisible"):
        SE3TransformerEnergy(F, irreps_key="3x0e", num_heads=2)
    with pytest.raises(ValueError, match="hidden_irreps: expected every multiplicity divisible"):
        SE3TransformerEnergy(F, hidden_irreps="8x0e + 3x1o", num_heads=2)
    with pytest.raises(ValueError, match="num_heads: expected a positive integer"):
        SE3TransformerEnergy(F, num_heads=0)
