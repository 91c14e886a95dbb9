"""Tests for gdl_zoo.groups.euclidean_actions: genuine actions, exact Wigner matrices, laziness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from e3nn import o3

from gdl_zoo.groups.euclidean_actions import E3Irreps, E3PointCloud, EnergyForces
from gdl_zoo.groups.irreps import exact_D_from_matrix
from gdl_zoo.symmetry.groups import EuclideanGroup
from gdl_zoo.symmetry.testing import check_action

IRREPS = "2x0e + 1x0o + 2x1o + 1x1e + 1x2e + 1x3o"
DTYPES = [torch.float64, torch.float32]


def _cloud(dtype: torch.dtype, irreps: str = IRREPS) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    positions = torch.randn(7, 3, generator=generator, dtype=dtype)
    features = torch.randn(7, o3.Irreps(irreps).dim, generator=generator, dtype=dtype)
    return positions, features, torch.tensor([0, 0, 0, 1, 1, 1, 1])


def _elements(parity: bool = True, translations: bool = True, count: int = 4) -> list:
    group = EuclideanGroup(parity=parity, translations=translations)
    generator = torch.Generator().manual_seed(3)
    return group.generators() + [group.sample(generator) for _ in range(count)]


# --- the action laws ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("irreps", [None, IRREPS])
def test_point_cloud_action_is_an_action(dtype, irreps):
    features_irreps = IRREPS if irreps is None else irreps
    check_action(E3PointCloud(irreps), _cloud(dtype, features_irreps))
    check_action(E3PointCloud(irreps), _cloud(dtype, features_irreps)[:2])  # (positions, features)


@pytest.mark.parametrize("dtype", DTYPES)
def test_irreps_and_energy_force_actions_are_actions(dtype):
    positions, features, _ = _cloud(dtype)
    check_action(E3Irreps(IRREPS), features)
    check_action(EnergyForces(), (torch.randn(2, dtype=dtype), positions))


@pytest.mark.parametrize("parity", [True, False])
@pytest.mark.parametrize("translations", [True, False])
def test_subgroups_are_actions(parity, translations):
    action = E3PointCloud(IRREPS, parity=parity, translations=translations)
    check_action(action, _cloud(torch.float64))
    assert action.group.parity is parity and action.group.translations is translations


# --- what each part of the input does ----------------------------------------------------


def test_point_cloud_moves_positions_features_and_keeps_batch():
    positions, features, batch = _cloud(torch.float64)
    for q, t in _elements():
        moved, transformed, same_batch = E3PointCloud(IRREPS).act(
            (q, t), (positions, features, batch)
        )
        torch.testing.assert_close(moved, positions @ q.T + t, rtol=0, atol=1e-14)
        torch.testing.assert_close(transformed, features @ exact_D_from_matrix(IRREPS, q).T)
        assert same_batch is batch


def test_invariant_features_are_left_alone_and_translations_do_not_move_vectors():
    positions, features, batch = _cloud(torch.float64)
    q, t = EuclideanGroup().identity()[0], torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    _, same, _ = E3PointCloud().act((q, t), (positions, features, batch))
    assert same is features
    vectors = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(E3Irreps("1x1o").act((q, t), vectors), vectors)
    energy = torch.randn(2, dtype=torch.float64)
    out_energy, out_forces = EnergyForces().act((q, t), (energy, vectors))
    assert out_energy is energy
    torch.testing.assert_close(out_forces, vectors)


def test_parities_under_inversion():
    minus_identity = -torch.eye(3, dtype=torch.float64)
    D = exact_D_from_matrix("1x0e + 1x0o + 1x1o + 1x1e + 1x2e + 1x2o", minus_identity)
    expected = torch.tensor([1.0, -1.0] + [-1.0] * 3 + [1.0] * 3 + [1.0] * 5 + [-1.0] * 5)
    torch.testing.assert_close(D, torch.diag(expected).double(), rtol=0, atol=1e-13)


def test_forces_rotate_like_positions():
    forces = torch.randn(6, 3, dtype=torch.float64)
    for q, t in _elements():
        _, rotated = EnergyForces().act((q, t), (torch.zeros(1), forces))
        torch.testing.assert_close(rotated, forces @ q.T)


# --- exact Wigner matrices ---------------------------------------------------------------


def test_exact_wigner_matrices_intertwine_spherical_harmonics():
    irreps = o3.Irreps.spherical_harmonics(4)
    vectors = torch.randn(20, 3, dtype=torch.float64)
    for q, _ in _elements(translations=False):
        D = exact_D_from_matrix(irreps, q)
        rotated = o3.spherical_harmonics(irreps, vectors @ q.T, normalize=True)
        expected = o3.spherical_harmonics(irreps, vectors, normalize=True) @ D.T
        assert (rotated - expected).abs().max() < 1e-13
        assert (D @ D.T - torch.eye(irreps.dim, dtype=torch.float64)).abs().max() < 1e-13


def test_exact_wigner_matrices_agree_with_e3nn_to_its_precision():
    for q, _ in _elements(translations=False):
        ours = exact_D_from_matrix(IRREPS, q)
        theirs = o3.Irreps(IRREPS).D_from_matrix(q)
        assert (ours - theirs).abs().max() < 1e-5  # e3nn keeps float32 constants


# --- validation ---------------------------------------------------------------------------


def test_wrong_inputs_raise_clear_errors():
    positions, features, batch = _cloud(torch.float64)
    g = EuclideanGroup().identity()
    with pytest.raises(ValueError, match=r"expected 24 features .* got shape \(7, 4\)"):
        E3PointCloud(IRREPS).act(g, (positions, features[:, :4], batch))
    with pytest.raises(ValueError, match="acts on \\(positions, features\\[, batch\\]\\)"):
        E3PointCloud().act(g, positions)
    with pytest.raises(ValueError, match=r"positions: expected shape \(N, 3\)"):
        E3PointCloud().act(g, (features, features))
    with pytest.raises(ValueError, match="acts on a pair"):
        EnergyForces().act(g, (positions,))
    with pytest.raises(ValueError, match="irreps: expected an e3nn irreps string"):
        E3Irreps(None)
    with pytest.raises(ValueError, match="irreps: expected"):
        E3PointCloud(3)
    with pytest.raises(TypeError, match="acts on a tensor"):
        E3Irreps("1x1o").act(g, (positions,))


def test_building_actions_does_not_import_e3nn():
    script = (
        "import json, sys\n"
        "from gdl_zoo.groups.euclidean_actions import E3Irreps, E3PointCloud, EnergyForces\n"
        "E3PointCloud('4x0e + 1x1o'); E3Irreps('1x1o'); EnergyForces()\n"
        "print(json.dumps('e3nn' in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False
