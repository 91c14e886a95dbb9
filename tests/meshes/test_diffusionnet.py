"""MeshDiffusionNet: invariance to rigid motions and to an isometric fold, equivariance to
vertex relabelling (float64 and float32, with an xyz-fed negative control), gradients to the
metric, bad input."""

from __future__ import annotations

import pytest
import torch

from gdl_zoo.meshes.actions import HingeFold, MeshSymmetry, VertexOutputs
from gdl_zoo.meshes.diffusionnet import MeshDiffusionNet
from gdl_zoo.meshes.generators import grid
from gdl_zoo.meshes.mesh import MeshError
from gdl_zoo.meshes.models import example_mesh_inputs
from gdl_zoo.meshes.operators import MeshOperators
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.symmetry.testing import assert_equivariant, assert_invariant, equivariance_error

DTYPES = [torch.float64, torch.float32]


def _bumpy_sphere(dtype):
    """The cards' example: two signals on a randomly bumped 42-vertex icosphere."""
    return example_mesh_inputs(2, dtype, torch.Generator().manual_seed(0))


def _folding_grid(dtype):
    positions, mesh = grid(4, 4)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(25, 3, generator=generator)
    fold = HingeFold(positions[:, 0] > 0.5, point=[0.5, 0.0, 0.0], direction=[0.0, 1.0, 0.0])
    return fold, (x.to(dtype), positions.to(dtype), mesh.faces)


def _model(dtype, **kwargs) -> MeshDiffusionNet:
    torch.manual_seed(0)
    options = {"width": 8, "num_blocks": 2, "init_time": 0.05}
    options.update(kwargs)
    return MeshDiffusionNet(3, 4, **options).to(dtype)


class _XYZDiffusionNet(torch.nn.Module):
    """Negative control: the same network fed the raw coordinates as extra features."""

    def __init__(self, dtype):
        super().__init__()
        torch.manual_seed(0)
        self.net = MeshDiffusionNet(6, 4, width=8, num_blocks=2, init_time=0.05).to(dtype)

    def forward(self, x, positions, faces):
        xyz = positions.expand(x.shape[:-1] + (3,))
        return self.net(torch.cat([x, xyz], -1), positions, faces)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["implicit", "spectral"])
def test_rigid_motions_and_relabelling(dtype, mode):
    inputs = _bumpy_sphere(dtype)
    report = assert_equivariant(
        _model(dtype, mode=mode, k_eig=30), inputs, MeshSymmetry(42), VertexOutputs(42)
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_isometric_fold_leaves_the_outputs_unchanged(dtype):
    fold, inputs = _folding_grid(dtype)
    report = assert_invariant(_model(dtype), inputs, fold)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_output_is_invariant(dtype):
    inputs = _bumpy_sphere(dtype)
    model = _model(dtype, output="global")
    assert model(*inputs).shape == (2, 4)
    assert_invariant(model, inputs, MeshSymmetry(42))


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_control_xyz_features_break_both_symmetries(dtype):
    control = _XYZDiffusionNet(dtype)
    motion = MeshSymmetry(42).sample(torch.Generator().manual_seed(0))
    report = equivariance_error(
        control, _bumpy_sphere(dtype), MeshSymmetry(42), VertexOutputs(42), elements=[motion]
    )
    assert not report.passed and report.max_error > 1e-2
    fold, inputs = _folding_grid(dtype)
    report = equivariance_error(control, inputs, fold, Invariant(), elements=[0.7])
    assert not report.passed and report.max_error > 1e-2


def test_gradients_reach_the_edge_lengths_through_the_network():
    x, positions, faces = _bumpy_sphere(torch.float64)
    model = _model(torch.float64)
    ops = model.operators(positions, faces)
    lengths = ops.lengths.clone().requires_grad_()
    ops = MeshOperators.from_lengths(ops.mesh, lengths, pattern=ops.pattern)
    model.forward_operators(x, ops).square().sum().backward()
    assert bool(torch.isfinite(lengths.grad).all()) and lengths.grad.abs().max() > 0
    # positions too, through the lengths
    positions = positions.clone().requires_grad_()
    model(x, positions, faces).sum().backward()
    assert positions.grad.abs().max() > 0


def test_unbatched_input_and_operators_options():
    x, positions, faces = _bumpy_sphere(torch.float64)
    model = _model(torch.float64)
    assert torch.allclose(model(x[0], positions, faces), model(x, positions, faces)[0])
    assert model.operators(positions, faces).eigenvectors is None
    spectral = _model(torch.float64, mode="spectral", k_eig=100)
    assert spectral.operators(positions, faces).eigenvectors.shape == (42, 41)  # k < N


def test_bad_input_gives_clear_errors():
    x, positions, faces = _bumpy_sphere(torch.float64)
    model = _model(torch.float64)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 42, 3\) or \(42, 3\)"):
        model(x[..., :2], positions, faces)
    with pytest.raises(ValueError, match=r"x: expected shape"):
        model(x[:, :40], positions, faces)
    with pytest.raises(MeshError, match=r"index vertices outside \[0, 40\)"):  # mismatched mesh
        model(x[:, :40], positions[:40], faces)
    bad = positions.clone()
    bad[faces[0, 1]] = bad[faces[0, 0]]  # a zero-length edge
    with pytest.raises(ValueError, match="non-positive length"):
        model(x, bad, faces)
    with pytest.raises(ValueError, match="output: expected 'vertices' or 'global'"):
        MeshDiffusionNet(3, 4, output="mean")
    with pytest.raises(ValueError, match="width: expected a positive integer"):
        MeshDiffusionNet(3, 4, width=0)
    with pytest.raises(ValueError, match="mode: expected 'implicit' or 'spectral'"):
        MeshDiffusionNet(3, 4, mode="explicit")
    with pytest.raises(TypeError, match="floating-point"):
        model(x.long(), positions, faces)
