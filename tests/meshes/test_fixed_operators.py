"""FixedMeshOperators: the operators of one metric as buffers, equal to the sparse/SciPy path."""

import pytest
import torch

from gdl_zoo.meshes.diffusion import implicit_diffusion, spectral_diffusion
from gdl_zoo.meshes.fixed_operators import FixedMeshOperators
from gdl_zoo.meshes.generators import bumpy_icosphere, grid
from gdl_zoo.meshes.geometry import vertex_gradient
from gdl_zoo.meshes.operators import MeshOperators, area_weighted_mean


def _relative(a, b):
    return float(((a - b).abs().max() / b.abs().max()).detach())


def _closed():
    positions, mesh = bumpy_icosphere(1, 0.2, torch.Generator().manual_seed(0))
    return MeshOperators.from_positions(mesh, positions)


def _open():
    positions, mesh = grid(5, 4)
    positions = positions + 0.1 * torch.randn(
        positions.shape, generator=torch.Generator().manual_seed(1), dtype=positions.dtype
    ) * torch.tensor([0.3, 0.3, 1.0], dtype=positions.dtype)
    return MeshOperators.from_positions(mesh, positions)


@pytest.mark.parametrize("make", [_closed, _open])
def test_implicit_diffusion_in_the_complete_eigenbasis_equals_the_sparse_lu_solve(make):
    ops = make()
    fixed = FixedMeshOperators.from_operators(ops, "implicit")
    x = torch.randn(2, ops.num_vertices, 3, generator=torch.Generator().manual_seed(2),
                    dtype=torch.float64)  # fmt: skip
    t = torch.tensor([1e-3, 0.05, 2.0], dtype=torch.float64)
    expected = implicit_diffusion(ops, x, t)
    assert _relative(fixed.implicit_diffusion(x, t), expected) < 1e-12  # measured ≤ 3e-15
    # negative control: the heat kernel e^{−λt} is another operator, and the check sees it
    assert _relative(fixed.spectral_diffusion(x, t), expected) > 1e-3


@pytest.mark.parametrize("make", [_closed, _open])
def test_fixed_vertex_gradients_equal_the_least_squares_gradients(make):
    ops = make()
    fixed = FixedMeshOperators.from_operators(ops, None)
    f = torch.randn(ops.num_vertices, 2, 3, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3))  # fmt: skip
    expected = vertex_gradient(ops.mesh, ops.lengths, f, ops.log_map)
    assert fixed.vertex_gradient(f).shape == (ops.num_vertices, 2, 3, 2)
    assert _relative(fixed.vertex_gradient(f), expected) < 1e-12
    # negative controls: the check tells apart the weights of another spoke, or of another
    # metric on the same mesh
    rolled = FixedMeshOperators(ops.mass, None, None, fixed.gradient_weights.roll(1, 0),
                                fixed.spoke_vertex, fixed.spoke_neighbour)  # fmt: skip
    assert _relative(rolled.vertex_gradient(f), expected) > 1e-3
    stretch = 1 + 0.05 * torch.sin(torch.arange(len(ops.lengths), dtype=ops.lengths.dtype))
    other = MeshOperators.from_lengths(ops.mesh, ops.lengths * stretch)
    other = FixedMeshOperators.from_operators(other, None)
    assert _relative(other.vertex_gradient(f), expected) > 1e-3


def test_spectral_diffusion_keeps_the_eigenpairs_of_the_operators():
    positions, mesh = bumpy_icosphere(1, 0.2, torch.Generator().manual_seed(0))
    ops = MeshOperators.from_positions(mesh, positions, k_eig=12)
    fixed = FixedMeshOperators.from_operators(ops, "spectral", k_eig=12, gradients=False)
    assert fixed.eigenvectors.shape == (42, 12) and fixed.gradient_weights is None
    x = torch.randn(42, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    t = torch.full((4,), 0.1, dtype=torch.float64)
    assert _relative(fixed.spectral_diffusion(x, t), spectral_diffusion(ops, x, t)) < 1e-14
    with pytest.raises(ValueError, match="needs all 42 eigenpairs .* got 12"):
        fixed.implicit_diffusion(x, t)
    with pytest.raises(ValueError, match="vertex gradients need .* gradients=True"):
        fixed.vertex_gradient(x)


def test_the_fixed_operators_are_buffers_that_follow_the_module_dtype():
    fixed = FixedMeshOperators.from_operators(_closed(), "implicit")
    names = {name for name, _ in fixed.named_buffers()}
    assert names == {"mass", "eigenvalues", "eigenvectors", "gradient_weights", "spoke_vertex",
                     "spoke_neighbour"}  # fmt: skip
    fixed = fixed.float()
    assert fixed.eigenvectors.dtype == torch.float32 and fixed.spoke_vertex.dtype == torch.long
    assert abs(float(fixed.total_area) - float(_closed().total_area)) < 1e-5


def test_bad_construction_and_bad_features_name_what_was_expected():
    ops = _closed()
    with pytest.raises(TypeError, match="ops: expected MeshOperators, got Tensor"):
        FixedMeshOperators.from_operators(ops.mass, "implicit")
    with pytest.raises(ValueError, match="diffusion: expected one of"):
        FixedMeshOperators.from_operators(ops, "explicit")
    with pytest.raises(ValueError, match=r"mass: expected a non-empty \(N,\) tensor, got a "
                       r"tensor of shape \(42, 1\)"):  # fmt: skip
        FixedMeshOperators(ops.mass.unsqueeze(1))
    with pytest.raises(ValueError, match=r"mass: .* got list"):
        FixedMeshOperators([1.0, 2.0])
    with pytest.raises(ValueError, match=r"expected both or neither, got a tensor of shape "
                       r"\(42,\) and None"):  # fmt: skip
        FixedMeshOperators(ops.mass, eigenvalues=ops.mass)
    with pytest.raises(ValueError, match=r"expected shapes \(42, k\) and \(k,\)"):
        FixedMeshOperators(ops.mass, ops.mass[:3], torch.zeros(41, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected all or none, got a tensor of shape "
                       r"\(5, 2\), None, None"):  # fmt: skip
        FixedMeshOperators(ops.mass, gradient_weights=torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"k_eig \(diffusion='spectral'\): expected a positive "
                       r"integer, got 0"):  # fmt: skip
        FixedMeshOperators.from_operators(ops, "spectral")
    fixed = FixedMeshOperators.from_operators(ops, None)
    expected = r"x: expected shape \(B, 42, 3\) or \(42, 3\), got \(41, 3\)"
    with pytest.raises(ValueError, match=expected):
        fixed.check_features(torch.zeros(41, 3, dtype=torch.float64), 3)
    no_basis = "needs FixedMeshOperators built with an eigenbasis .* got eigenvectors=None"
    with pytest.raises(ValueError, match="implicit diffusion " + no_basis):
        fixed.implicit_diffusion(torch.zeros(42, 3, dtype=torch.float64), torch.ones(3))
    with pytest.raises(ValueError, match="spectral diffusion " + no_basis):
        fixed.spectral_diffusion(torch.zeros(42, 3, dtype=torch.float64), torch.ones(3))


def test_both_kinds_of_operators_share_one_feature_check_and_area_mean():
    ops = _closed()
    fixed = FixedMeshOperators.from_operators(ops, None)
    h = torch.randn(2, 42, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    expected = (h * ops.mass.unsqueeze(-1)).sum(-2) / ops.mass.sum()
    assert _relative(area_weighted_mean(h, ops.mass), expected) < 1e-14
    assert torch.equal(fixed.area_mean(h), ops.area_mean(h))
    assert _relative(h.mean(-2), expected) > 1e-3  # negative control: the unweighted mean
    for checked in (ops, fixed):
        assert checked.check_features(h, 3) is h
        with pytest.raises(ValueError, match=r"expected shape \(B, 42, 4\) or \(42, 4\), got "
                           r"\(2, 42, 3\)"):  # fmt: skip
            checked.check_features(h, 4)
        with pytest.raises(TypeError, match="x: expected a floating"):
            checked.check_features(h.long(), 3)
