"""MeshTransformer: distance and heat-kernel biases against references, invariance to rigid
motions and an isometric fold, equivariance to relabelling (float64, float32, negative
control), gradients to the metric, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from gdl_zoo.meshes.actions import HingeFold, MeshSymmetry, RigidMotion, VertexOutputs
from gdl_zoo.meshes.generators import grid, icosphere
from gdl_zoo.meshes.mesh_transformer import (
    BiasedAttentionLayer,
    MeshTransformer,
    heat_kernel_matrix,
    intrinsic_distance_matrix,
)
from gdl_zoo.meshes.models import example_mesh_inputs
from gdl_zoo.meshes.operators import MeshOperators
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.symmetry.testing import assert_equivariant, assert_invariant, equivariance_error

DTYPES = [torch.float64, torch.float32]
BIASES = ["geodesic", "heat"]


def _bumpy_sphere(dtype):
    """The cards' example: two signals on a randomly bumped 42-vertex icosphere."""
    return example_mesh_inputs(2, dtype, torch.Generator().manual_seed(0))


def _folding_grid(dtype):
    positions, mesh = grid(4, 4)
    x = torch.randn(25, 3, generator=torch.Generator().manual_seed(1))
    fold = HingeFold(positions[:, 0] > 0.5, point=[0.5, 0.0, 0.0], direction=[0.0, 1.0, 0.0])
    return fold, (x.to(dtype), positions.to(dtype), mesh.faces)


def _model(dtype, **kwargs) -> MeshTransformer:
    torch.manual_seed(0)
    return MeshTransformer(3, 4, width=8, heads=2, num_layers=2, **kwargs).to(dtype)


# --- the pairwise matrices ----------------------------------------------------------------


def test_distance_matrix_is_symmetric_and_close_to_great_circles():
    positions, mesh = icosphere(2)
    ops = MeshOperators.from_positions(mesh, positions)
    d = intrinsic_distance_matrix(ops)
    assert torch.equal(d, d.T) and d.diagonal().abs().max() < 1e-12
    exact = torch.arccos((positions @ positions.T).clamp(-1, 1))
    assert (d - exact).abs().max() < 0.1 * math.pi  # coarse mesh (162 vertices), heat method


def test_heat_kernel_matrix_is_the_normalised_dense_inverse():
    _, positions, faces = _bumpy_sphere(torch.float64)
    ops = MeshOperators.from_faces(positions, faces)
    lap = ops.pattern.to_dense(ops.laplacian)
    h = torch.linalg.inv(torch.diag(ops.mass) + 0.02 * ops.total_area * lap)
    reference = h / torch.sqrt(h.diagonal().unsqueeze(0) * h.diagonal().unsqueeze(1))
    assert (heat_kernel_matrix(ops, 0.02) - reference).abs().max() < 1e-12
    with pytest.raises(ValueError, match="relative_time: expected a positive number"):
        heat_kernel_matrix(ops, 0.0)


def test_attention_layer_matches_a_per_head_loop():
    torch.manual_seed(0)
    layer = BiasedAttentionLayer(8, 2).double()
    h = torch.randn(3, 5, 8, dtype=torch.float64)
    bias = torch.randn(2, 5, 5, dtype=torch.float64)
    q, k, v = layer.qkv(layer.norm1(h)).split(8, dim=-1)
    heads = []
    for j in range(2):
        sl = slice(4 * j, 4 * j + 4)
        logits = q[..., sl] @ k[..., sl].transpose(1, 2) / 2 + bias[j]
        heads.append(torch.softmax(logits, -1) @ v[..., sl])
    out = h + layer.proj(torch.cat(heads, -1))
    out = out + layer.mlp(layer.norm2(out))
    assert (layer(h, bias) - out).abs().max() < 1e-12


# --- symmetry -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", BIASES)
def test_rigid_motions_and_relabelling(dtype, bias):
    report = assert_equivariant(
        _model(dtype, bias=bias), _bumpy_sphere(dtype), MeshSymmetry(42), VertexOutputs(42)
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", BIASES)
def test_an_isometric_fold_leaves_the_outputs_unchanged(dtype, bias):
    fold, inputs = _folding_grid(dtype)
    report = assert_invariant(_model(dtype, bias=bias), inputs, fold)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_control_extrinsic_bias_breaks_the_fold(dtype):
    # the same network with the bias from Euclidean (chordal) distances instead of geodesics
    fold, inputs = _folding_grid(dtype)
    model = _model(dtype)

    def chordal(x, positions, faces):
        ops = MeshOperators.from_faces(positions, faces)
        return model.forward_operators(x, ops, torch.cdist(positions, positions))

    report = equivariance_error(chordal, inputs, fold, Invariant())
    assert not report.passed and report.max_error > 1e-3
    assert_invariant(chordal, inputs, RigidMotion())  # rigid motions keep chordal distances


def test_global_output_and_precomputed_pairwise_matrix():
    x, positions, faces = _bumpy_sphere(torch.float64)
    model = _model(torch.float64, bias="heat", output="global")
    ops = MeshOperators.from_faces(positions, faces)
    out = model(x, positions, faces)
    assert out.shape == (2, 4)
    assert torch.equal(model.forward_operators(x, ops, model.pairwise(ops)), out)
    assert torch.allclose(model(x[1], positions, faces), out[1], atol=1e-12)
    assert_invariant(model, (x, positions, faces), MeshSymmetry(42))


@pytest.mark.parametrize("bias", BIASES)
def test_gradients_reach_the_edge_lengths_through_the_bias(bias):
    x, positions, faces = _bumpy_sphere(torch.float64)
    model = _model(torch.float64, bias=bias)
    base = MeshOperators.from_faces(positions, faces)
    lengths = base.lengths.clone().requires_grad_()
    ops = MeshOperators.from_lengths(base.mesh, lengths, pattern=base.pattern)
    model.forward_operators(x, ops).square().sum().backward()
    assert bool(torch.isfinite(lengths.grad).all()) and lengths.grad.abs().max() > 0
    assert model.bias_scale.grad.abs().max() > 0


def test_bad_input_gives_clear_errors():
    x, positions, faces = _bumpy_sphere(torch.float64)
    model = _model(torch.float64)
    ops = MeshOperators.from_faces(positions, faces)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 42, 3\) or \(42, 3\)"):
        model(x[:, :30], positions, faces)
    with pytest.raises(ValueError, match=r"pairwise: expected shape \(42, 42\), got \(41, 41\)"):
        model.forward_operators(x, ops, torch.zeros(41, 41, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"index vertices outside \[0, 30\)"):
        model(x[:, :30], positions[:30], faces)
    with pytest.raises(ValueError, match="bias: expected 'geodesic' or 'heat'"):
        MeshTransformer(3, 4, bias="euclidean")
    with pytest.raises(ValueError, match=r"heads \(3\) must divide channels \(8\)"):
        MeshTransformer(3, 4, width=8, heads=3)


def test_bad_construction_arguments_fail_at_construction():
    with pytest.raises(ValueError, match="relative_time: expected a positive number, got -0.1"):
        MeshTransformer(3, 4, bias="heat", relative_time=-0.1)
    with pytest.raises(ValueError, match="heads: expected a positive integer, got 0"):
        BiasedAttentionLayer(8, 0)
