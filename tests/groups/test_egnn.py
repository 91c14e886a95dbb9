"""Tests for gdl_zoo.groups.egnn: E(3) and permutation symmetry, forces, reference, bad input."""

from __future__ import annotations

import pytest
import torch

from gdl_zoo.groups.egnn import EGNN, EGNNEnergy, EGNNLayer
from gdl_zoo.groups.euclidean_actions import E3PointCloud, EnergyForces
from gdl_zoo.symmetry.actions import AxisPermutation, TupleAction
from gdl_zoo.symmetry.testing import assert_equivariant, equivariance_error

DTYPES = [torch.float64, torch.float32]
F = 4


def _cloud(dtype: torch.dtype, sizes: tuple[int, ...] = (5, 7)) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    n = sum(sizes)
    positions = 1.5 * torch.randn(n, 3, generator=generator, dtype=dtype)
    features = torch.randn(n, F, generator=generator, dtype=dtype)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return positions, features, batch


def _energy_model(dtype: torch.dtype, **kwargs) -> EGNNEnergy:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return EGNNEnergy(F, channels=16, num_layers=3, **kwargs).to(dtype)


# --- symmetry -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cutoff", [None, 2.5])
def test_energy_is_invariant_and_forces_equivariant(dtype, cutoff):
    report = assert_equivariant(
        _energy_model(dtype, cutoff=cutoff), _cloud(dtype), E3PointCloud(), EnergyForces()
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_coordinates_are_equivariant_and_features_invariant(dtype):
    torch.manual_seed(0)
    model = EGNN(F, 5, channels=16, num_layers=3).to(dtype)
    report = assert_equivariant(model, _cloud(dtype), E3PointCloud(), E3PointCloud())
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_permuting_atoms_permutes_forces_and_keeps_energies():
    inputs = _cloud(torch.float64)
    n = inputs[0].shape[0]
    nodes = AxisPermutation(n, dim=0)
    act_in = TupleAction(nodes, nodes, nodes)
    report = assert_equivariant(
        _energy_model(torch.float64), inputs, act_in, TupleAction(None, nodes)
    )
    assert report.max_error < 1e-12
    torch.manual_seed(0)
    model = EGNN(F, 5, channels=16, num_layers=2).double()
    assert_equivariant(model, inputs, act_in, TupleAction(nodes, nodes))


def test_non_equivariant_variant_fails_the_harness():
    positions, features, batch = _cloud(torch.float64)
    model = EGNNEnergy(F + 3, channels=16, num_layers=2).double()

    def leaky(x, f, b):  # raw coordinates as features: breaks E(3) invariance
        return model(x, torch.cat([f, x], dim=-1), b)

    report = equivariance_error(leaky, (positions, features, batch), E3PointCloud(), EnergyForces())
    assert not report.passed and report.max_error > 1e-3


# --- forces, batching, reference ---------------------------------------------------------


def test_forces_are_minus_the_gradient_by_finite_differences():
    model = _energy_model(torch.float64, cutoff=3.0).eval()
    positions, features, batch = _cloud(torch.float64)
    _, forces = model(positions, features, batch)
    step = 1e-6
    for atom, axis in [(0, 0), (3, 1), (6, 2), (11, 0)]:
        plus, minus = positions.clone(), positions.clone()
        plus[atom, axis] += step
        minus[atom, axis] -= step
        slope = (model(plus, features, batch)[0].sum() - model(minus, features, batch)[0].sum()) / (
            2 * step
        )
        assert abs(float(forces[atom, axis] + slope.detach())) < 1e-6


def test_batched_energies_equal_separate_ones():
    model = _energy_model(torch.float64)
    positions, features, batch = _cloud(torch.float64)
    energy, forces = model(positions, features, batch)
    alone, alone_forces = model(positions[5:], features[5:])
    torch.testing.assert_close(energy[1:], alone)
    torch.testing.assert_close(forces[5:], alone_forces)


def test_layer_matches_a_per_edge_loop():
    torch.manual_seed(0)
    layer = EGNNLayer(6).double()
    generator = torch.Generator().manual_seed(1)
    positions = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    h = torch.randn(5, 6, generator=generator, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 3, 0, 4, 0], [0, 0, 0, 1, 1, 4]])
    x_out, h_out = layer(positions, h, edge_index)
    for i in range(5):
        neighbours = [int(j) for j, t in edge_index.T if int(t) == i]
        message_sum, shift = (
            torch.zeros(6, dtype=torch.float64),
            torch.zeros(3, dtype=torch.float64),
        )
        for j in neighbours:
            d2 = ((positions[i] - positions[j]) ** 2).sum()[None]
            m = layer.phi_e(torch.cat([h[i], h[j], d2]))
            message_sum += m
            shift += (positions[i] - positions[j]) * layer.phi_x(m)
        expected_x = positions[i] + shift / max(len(neighbours), 1)
        expected_h = h[i] + layer.phi_h(torch.cat([h[i], message_sum]))
        torch.testing.assert_close(x_out[i], expected_x)
        torch.testing.assert_close(h_out[i], expected_h)


def test_training_mode_forces_reach_the_parameters():
    model = _energy_model(torch.float64).train()
    positions, features, batch = _cloud(torch.float64)
    _, forces = model(positions, features, batch)
    forces.pow(2).sum().backward()  # a force loss alone trains the message networks
    grad = model.egnn.layers[0].phi_e[0].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_outputs_under_no_grad_are_detached_forces():
    model = _energy_model(torch.float64)
    with torch.no_grad():
        energy, forces = model(*_cloud(torch.float64))
    assert not energy.requires_grad and not forces.requires_grad
    assert forces.abs().sum() > 0


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff", [None, 2.5])
def test_coincident_points_give_finite_outputs_and_gradients(cutoff):
    model = _energy_model(torch.float64, cutoff=cutoff)
    positions, features, batch = _cloud(torch.float64)
    positions[1] = positions[0]
    positions[2] = positions[0]
    energy, forces = model(positions, features, batch)
    (energy.sum() + forces.sum()).backward()
    assert torch.isfinite(energy).all() and torch.isfinite(forces).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_empty_point_clouds_have_zero_energy():
    model = _energy_model(torch.float64)
    empty = torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, F, dtype=torch.float64)
    energy, forces = model(*empty)
    assert energy.shape == (1,) and forces.shape == (0, 3) and energy.item() == 0.0
    energy, forces = model(*empty, torch.zeros(0, dtype=torch.long))
    assert energy.shape == (0,)
    energy, _ = model(*empty, torch.zeros(0, dtype=torch.long), num_graphs=3)
    assert torch.equal(energy, torch.zeros(3, dtype=torch.float64))
    x, h = EGNN(F, 2).double()(*empty)
    assert x.shape == (0, 3) and h.shape == (0, 2)


def test_single_atoms_have_zero_forces():
    model = _energy_model(torch.float64)
    positions, features, _ = _cloud(torch.float64, sizes=(1, 1))
    energy, forces = model(positions, features, torch.tensor([0, 1]))
    assert torch.isfinite(energy).all() and torch.equal(forces, torch.zeros_like(forces))


def test_wrong_inputs_raise_clear_errors():
    model = _energy_model(torch.float64)
    positions, features, batch = _cloud(torch.float64)
    with pytest.raises(ValueError, match=r"features: expected shape \(N, F\) = \(12, 4\), got"):
        model(positions, features[:, :3], batch)
    with pytest.raises(ValueError, match=r"positions: expected shape \(N, 3\)"):
        model(positions[:, :2], features, batch)
    with pytest.raises(TypeError, match="batch: expected a torch.long tensor"):
        model(positions, features, batch.float())
    with pytest.raises(ValueError, match=r"batch: expected shape \(N,\)"):
        model(positions, features, batch[:3])
    with pytest.raises(TypeError, match="features: expected dtype torch.float64 .* got .*float32"):
        model(positions, features.float(), batch)
    with pytest.raises(ValueError, match="positions: expected finite values"):
        model(torch.full_like(positions, float("nan")), features, batch)
    with pytest.raises(ValueError, match="num_graphs: expected at least"):
        model(positions, features, batch, num_graphs=1)
    with pytest.raises(ValueError, match="cutoff: expected a positive number or None"):
        EGNNEnergy(F, cutoff=-1.0)
    with pytest.raises(ValueError, match="in_features: expected a positive integer"):
        EGNNEnergy(0)
