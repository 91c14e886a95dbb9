"""Generators: sizes, closedness, outward orientation and vertex placement."""

import math

import pytest
import torch

from gdl_zoo.meshes.generators import bumpy_icosphere, grid, icosphere, torus


def _signed_volume(positions, mesh):
    a, b, c = positions[mesh.faces].unbind(1)
    return float((a * torch.linalg.cross(b, c, dim=-1)).sum() / 6)


@pytest.mark.parametrize("s", [0, 1, 2])
def test_icosphere_counts_radius_orientation(s):
    x, mesh = icosphere(s, radius=2.0)
    assert mesh.num_faces == 20 * 4**s and mesh.num_vertices == 10 * 4**s + 2
    assert torch.allclose(x.norm(dim=1), torch.full((mesh.num_vertices,), 2.0, dtype=x.dtype))
    assert 0 < _signed_volume(x, mesh) < 4 / 3 * math.pi * 8  # outward, inscribed


def test_torus_volume_and_orientation():
    x, mesh = torus(32, 16, 1.0, 0.3)
    assert mesh.is_closed and mesh.euler_characteristic == 0
    exact = 2 * math.pi**2 * 1.0 * 0.3**2
    assert _signed_volume(x, mesh) == pytest.approx(exact, rel=0.05)


def test_grid_faces_up_and_dtype():
    x, mesh = grid(3, 4, size=2.0, dtype=torch.float32)
    assert x.dtype == torch.float32 and x.shape == (20, 3)
    a, b, c = x[mesh.faces].unbind(1)
    normal = torch.linalg.cross(b - a, c - a, dim=-1)
    assert (normal[:, 2] > 0).all()
    assert float(x[:, 0].max()) == 2.0


def test_generators_reject_bad_arguments():
    with pytest.raises(ValueError, match="subdivisions"):
        icosphere(-1)
    with pytest.raises(ValueError, match="minor_radius < major_radius"):
        torus(minor_radius=2.0)
    with pytest.raises(ValueError, match="rows"):
        grid(0, 3)


def test_bumpy_icosphere_pushes_vertices_out_reproducibly():
    smooth, mesh = icosphere(1)
    bumpy, same = bumpy_icosphere(1, 0.15, torch.Generator().manual_seed(0), torch.float32)
    again, _ = bumpy_icosphere(1, 0.15, torch.Generator().manual_seed(0), torch.float32)
    assert torch.equal(same.faces, mesh.faces) and bumpy.dtype == torch.float32
    assert torch.equal(bumpy, again)
    radius = bumpy.double().norm(dim=1)
    assert float(radius.min()) >= 1 - 1e-6 and float(radius.max()) < 1.15
    assert float(radius.std()) > 0.01  # really bumped
    with pytest.raises(ValueError, match="amplitude: expected a finite number"):
        bumpy_icosphere(1, -0.1, torch.Generator())
