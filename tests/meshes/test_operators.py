"""MeshOperators: what the layers precompute, and the eigenbasis against a dense solver."""

import pytest
import torch

from gdl_zoo.meshes.generators import icosphere, torus
from gdl_zoo.meshes.geometry import cotan_laplacian, edge_lengths, lumped_mass
from gdl_zoo.meshes.mesh import MeshError
from gdl_zoo.meshes.operators import MeshOperators, laplacian_eigenpairs


def test_operators_match_the_geometry_functions():
    x, mesh = torus(10, 6)
    ops = MeshOperators.from_positions(mesh, x)
    assert torch.equal(ops.laplacian, cotan_laplacian(mesh, edge_lengths(mesh, x), ops.pattern))
    assert torch.equal(ops.mass, lumped_mass(mesh, edge_lengths(mesh, x)))
    assert ops.log_map.shape == (mesh.vertex_rings.spoke_vertex.numel(), 2)
    assert ops.eigenvalues is None and ops.num_vertices == 60


@pytest.mark.parametrize("subdivisions", [1, 3])  # dense path and scipy eigsh path
def test_eigenpairs_are_generalised_and_mass_orthonormal(subdivisions):
    x, mesh = icosphere(subdivisions)
    ops = MeshOperators.from_positions(mesh, x, k_eig=9)
    lam, phi = ops.eigenvalues, ops.eigenvectors
    lap = ops.pattern.to_dense(ops.laplacian)
    residual = lap @ phi - ops.mass.unsqueeze(1) * phi * lam
    assert residual.abs().max() < 1e-8
    gram = phi.T @ (ops.mass.unsqueeze(1) * phi)
    assert torch.allclose(gram, torch.eye(9, dtype=gram.dtype), atol=1e-8)
    # sphere: 0, then l(l+1) = 2 (three times) and 6 (five times), approximately
    assert lam[0].abs() < 1e-8
    assert torch.allclose(lam[1:4], torch.full((3,), 2.0, dtype=lam.dtype), rtol=0.1)


def test_from_faces_validates_and_rejects_bad_k():
    x, mesh = icosphere(1)
    ops = MeshOperators.from_faces(x, mesh.faces)
    assert ops.mesh.num_faces == 80
    with pytest.raises(MeshError, match="degenerate"):
        MeshOperators.from_faces(x, torch.tensor([[0, 0, 1]]))
    with pytest.raises(ValueError, match="k:"):
        laplacian_eigenpairs(ops.pattern, ops.laplacian, ops.mass, ops.num_vertices)


def test_check_features_and_area_mean():
    positions, mesh = icosphere(1)
    ops = MeshOperators.from_positions(mesh, positions)
    x = torch.randn(2, 42, 3, dtype=torch.float64)
    assert ops.check_features(x, 3) is x
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 42, 4\) or \(42, 4\)"):
        ops.check_features(x, 4)
    with pytest.raises(TypeError, match="floating"):
        ops.check_features(torch.zeros(42, 3, dtype=torch.long), 3)
    constant = torch.full((42, 2), 5.0, dtype=torch.float64)
    assert torch.allclose(ops.area_mean(constant), torch.full((2,), 5.0, dtype=torch.float64))
    weighted = (ops.mass[:, None] * x).sum(-2) / ops.mass.sum()
    assert torch.allclose(ops.area_mean(x), weighted)
