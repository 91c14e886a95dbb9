"""SO(3) acting on spherical and SO(3) Fourier coefficients: exact Wigner matrices, action laws."""

import subprocess
import sys

import pytest
import torch
from e3nn import o3

from gdl_zoo.groups.sphere_actions import (
    SO3Spherical,
    s2_dim,
    so3_dim,
    wigner_D,
    wigner_D_from_matrix,
)
from gdl_zoo.symmetry import EuclideanGroup, check_action, equivariance_error


def _rotations(n, seed=0):
    group = EuclideanGroup(parity=False, translations=False)
    generator = torch.Generator().manual_seed(seed)
    return [group.sample(generator)[0] for _ in range(n)]


def test_dimensions():
    assert [s2_dim(l) for l in range(4)] == [1, 4, 9, 16]
    assert [so3_dim(l) for l in range(4)] == [1, 10, 35, 84]
    with pytest.raises(ValueError, match="lmax: expected a non-negative integer, got -1"):
        s2_dim(-1)


def test_wigner_D_reproduces_e3nn_and_is_exact():
    alpha, beta, gamma = (
        torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 6
    )
    for l in range(6):
        ours = wigner_D(l, alpha, beta, gamma)
        assert ours.dtype == torch.float64 and ours.shape == (4, 2 * l + 1, 2 * l + 1)
        assert (
            ours - o3.wigner_D(l, alpha, beta, gamma)
        ).abs().max() < 1e-5  # e3nn: float32 generators
        eye = torch.eye(2 * l + 1, dtype=torch.float64)
        assert (ours @ ours.transpose(-1, -2) - eye).abs().max() < 1e-13


@pytest.mark.parametrize("domain", ["s2", "so3"])
def test_representation_is_a_homomorphism_to_round_off(domain):
    a, b = _rotations(2)
    d_a, d_b, d_ab = (wigner_D_from_matrix(5, q, domain) for q in (a, b, a @ b))
    assert d_a.shape == ((36, 36) if domain == "s2" else (so3_dim(5), so3_dim(5)))
    assert (d_a @ d_b - d_ab).abs().max() < 1e-12
    identity = wigner_D_from_matrix(5, torch.eye(3, dtype=torch.float64), domain)
    assert torch.allclose(identity, torch.eye(identity.shape[0], dtype=torch.float64), atol=1e-14)


def test_spherical_harmonics_rotate_by_D():
    points = torch.randn(9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ls = list(range(6))
    for q in _rotations(3, seed=3):
        rotated = o3.spherical_harmonics(ls, points @ q.T, normalize=True)
        expected = o3.spherical_harmonics(ls, points, normalize=True) @ wigner_D_from_matrix(5, q).T
        assert (rotated - expected).abs().max() < 1e-12


@pytest.mark.parametrize("domain", ["s2", "so3"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_is_an_action(domain, dtype):
    action = SO3Spherical(2, domain)
    x = torch.randn(2, 3, action.size, dtype=dtype, generator=torch.Generator().manual_seed(0))
    check_action(action, x, n_random=2)


def test_acts_on_the_chosen_axis():
    action, moved = SO3Spherical(2), SO3Spherical(2, dim=1)
    x = torch.randn(2, 9, 4, dtype=torch.float64)
    g = action.sample(torch.Generator().manual_seed(4))
    y = moved.act(g, x)
    assert torch.allclose(y, action.act(g, x.transpose(1, 2)).transpose(1, 2), atol=1e-14)


def test_harness_rejects_a_map_that_ignores_the_degrees():
    torch.manual_seed(0)
    mixing = torch.randn(9, 9, dtype=torch.float64)  # mixes degrees: not equivariant
    x = torch.randn(2, 1, 9, dtype=torch.float64)
    report = equivariance_error(lambda t: t @ mixing.T, x, SO3Spherical(2), SO3Spherical(2))
    assert not report.passed and report.max_error > 1e-2


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"domain: expected one of \('s2', 'so3'\), got 'r3'"):
        SO3Spherical(2, "r3")
    with pytest.raises(TypeError, match="dim: expected an integer axis"):
        SO3Spherical(2, dim=1.0)
    action = SO3Spherical(2)
    g = action.group.identity()
    with pytest.raises(
        ValueError, match=r"expected axis -1 of size 9 \(s2 coefficients up to lmax=2\)"
    ):
        action.act(g, torch.zeros(2, 3, 10))
    with pytest.raises(TypeError, match="floating-point"):
        action.act(g, torch.zeros(2, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="expected a rotation matrix"):
        action.act((-torch.eye(3, dtype=torch.float64), torch.zeros(3)), torch.zeros(2, 9))
    with pytest.raises(ValueError, match=r"expected a \(3, 3\) matrix"):
        wigner_D_from_matrix(2, torch.eye(2))


def test_building_an_action_does_not_import_e3nn():
    code = (
        "import sys; from gdl_zoo.groups.sphere_actions import SO3Spherical; "
        "import gdl_zoo.groups.spherical; SO3Spherical(4, 'so3'); "
        "assert 'e3nn' not in sys.modules, 'e3nn imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_wigner_D_from_matrix_agrees_with_euler_angles_and_is_a_homomorphism():
    from e3nn import o3

    from gdl_zoo.groups.sphere_actions import wigner_D, wigner_D_from_matrix

    gen = torch.Generator().manual_seed(7)
    angles = torch.rand(2, 3, generator=gen, dtype=torch.float64) * 2 * torch.pi
    q1, q2 = (o3.angles_to_matrix(*a) for a in angles)
    alpha, beta, gamma = o3.matrix_to_angles(q1)
    euler = torch.block_diag(*(wigner_D(l, alpha, beta, gamma) for l in range(4)))
    assert torch.allclose(wigner_D_from_matrix(3, q1), euler, atol=1e-12)
    # near the Euler singularity β ≈ 0 the matrix route stays exact
    tiny = o3.angles_to_matrix(*(torch.tensor(a, dtype=torch.float64) for a in (0.3, 1e-9, 0.5)))
    for a, b in ((q1, q2), (tiny, q1)):
        product = wigner_D_from_matrix(3, a) @ wigner_D_from_matrix(3, b)
        assert (wigner_D_from_matrix(3, a @ b) - product).abs().max() < 1e-13
