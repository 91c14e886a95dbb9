"""Mesh actions: group laws, rigid motions and hinge folds keep every edge length, relabelling
renames vertices consistently, and the outputs' action permutes vertex axes."""

from __future__ import annotations

import math

import pytest
import torch

from gdl_zoo.meshes.actions import (
    HingeFold,
    MeshSymmetry,
    RigidMotion,
    VertexOutputs,
    VertexRelabel,
)
from gdl_zoo.meshes.generators import grid, icosphere
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.symmetry.testing import check_action

DTYPES = [torch.float64, torch.float32]


def _sphere_inputs(dtype):
    positions, mesh = icosphere(1, dtype=dtype)
    x = torch.randn(2, mesh.num_vertices, 3, generator=torch.Generator().manual_seed(0))
    return x.to(dtype), positions, mesh.faces


def _folding_grid(dtype):
    """A flat 4 × 4 grid and the fold of its right half about the line ``x = 1/2``."""
    positions, mesh = grid(4, 4, dtype=dtype)
    x = torch.randn(mesh.num_vertices, 2, generator=torch.Generator().manual_seed(1))
    fold = HingeFold(positions[:, 0] > 0.5, point=[0.5, 0.0, 0.0], direction=[0.0, 1.0, 0.0])
    return fold, (x.to(dtype), positions, mesh.faces)


def _lengths(inputs):
    _, positions, faces = inputs
    return edge_lengths(TriangleMesh(faces, positions.shape[0]), positions)


@pytest.mark.parametrize("dtype", DTYPES)
def test_actions_obey_the_group_laws(dtype):
    inputs = _sphere_inputs(dtype)
    n = inputs[1].shape[0]
    for action in (RigidMotion(), RigidMotion(parity=False), VertexRelabel(n), MeshSymmetry(n)):
        check_action(action, inputs)
    fold, grid_inputs = _folding_grid(dtype)
    check_action(fold, grid_inputs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rigid_motions_keep_the_metric_and_move_the_embedding(dtype):
    inputs = _sphere_inputs(dtype)
    action = RigidMotion()
    g = action.sample(torch.Generator().manual_seed(2))
    moved = action.act(g, inputs)
    assert moved[0] is inputs[0] and moved[2] is inputs[2]
    assert (moved[1] - inputs[1]).abs().max() > 0.1
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert (_lengths(moved) - _lengths(inputs)).abs().max() < tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_hinge_fold_is_isometric_but_not_rigid(dtype):
    fold, inputs = _folding_grid(dtype)
    for g in (math.pi / 2, -1.0, 0.4):
        folded = fold.act(g, inputs)
        tol = 1e-12 if dtype == torch.float64 else 1e-6
        assert (_lengths(folded) - _lengths(inputs)).abs().max() < tol
        before = torch.cdist(inputs[1].double(), inputs[1].double())
        after = torch.cdist(folded[1].double(), folded[1].double())
        assert (before - after).abs().max() > 0.015  # the embedding bends: not rigid
    assert folded[1][:, 2].abs().max() > 0.1  # the right half left the plane


def test_a_fold_across_faces_is_refused():
    fold, (x, positions, faces) = _folding_grid(torch.float64)
    skew = HingeFold(fold.moving, point=[0.5, 0.0, 0.0], direction=[0.3, 1.0, 0.0])
    with pytest.raises(ValueError, match="straddle the hinge"):
        skew.act(0.3, (x, positions, faces))
    with pytest.raises(ValueError, match="expected 25 vertices, got 24"):
        fold.act(0.3, (x[:24], positions[:24], faces))
    with pytest.raises(TypeError, match="bool tensor"):
        HingeFold(fold.moving.long(), [0, 0, 0], [0, 1, 0])
    with pytest.raises(ValueError, match="direction non-zero"):
        HingeFold(fold.moving, [0, 0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match=r"act on \(x, positions, faces\); got Tensor"):
        fold.act(0.3, x)


def test_relabelling_renames_vertices_in_features_positions_and_faces():
    x, positions, faces = _sphere_inputs(torch.float64)
    n = positions.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    new_x, new_positions, new_faces = VertexRelabel(n).act(perm, (x, positions, faces))
    assert torch.equal(new_x, x[:, perm]) and torch.equal(new_positions, positions[perm])
    # every face keeps its corners, in the same cyclic order, under the new names
    assert torch.equal(new_positions[new_faces], positions[faces])
    TriangleMesh(new_faces, n)  # still a valid, consistently oriented mesh
    assert torch.equal(_lengths((new_x, new_positions, new_faces)).sort().values,
                       _lengths((x, positions, faces)).sort().values)  # fmt: skip


def test_vertex_outputs_permute_the_vertex_axis_and_ignore_motions():
    n = 42
    action = MeshSymmetry(n)
    g = action.sample(torch.Generator().manual_seed(4))
    y = torch.randn(2, n, 5, dtype=torch.float64)
    out = VertexOutputs(n).act(g, y)
    assert torch.equal(out, y[:, g[1]])
    assert torch.equal(VertexOutputs(n).act(g[1], y), out)  # a bare relabelling works too
    with pytest.raises(ValueError, match=r"outputs of shape \(\*, 42, C\)"):
        VertexOutputs(n).act(g, y[:, :40])
