"""Reading meshes with trimesh: written files round-trip; the shared data loads when present."""

import os
from pathlib import Path

import pytest
import torch

from gdl_zoo.meshes.generators import icosphere
from gdl_zoo.meshes.io import read_mesh
from gdl_zoo.meshes.mesh import MeshError


def _write_obj(path, positions, faces):
    lines = [f"v {x} {y} {z}" for x, y, z in positions.tolist()]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces.tolist()]
    path.write_text("\n".join(lines) + "\n")


def _write_off(path, positions, faces):
    lines = ["OFF", f"{len(positions)} {len(faces)} 0"]
    lines += [f"{x} {y} {z}" for x, y, z in positions.tolist()]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces.tolist()]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("writer, suffix", [(_write_obj, ".obj"), (_write_off, ".off")])
def test_round_trip_keeps_vertex_order(tmp_path, writer, suffix):
    x, mesh = icosphere(1)
    path = tmp_path / f"sphere{suffix}"
    writer(path, x, mesh.faces)
    y, read = read_mesh(path)
    assert torch.allclose(x, y) and torch.equal(read.faces, mesh.faces)


def test_unreferenced_vertices_are_removed_or_named(tmp_path):
    x, mesh = icosphere(0)
    path = tmp_path / "extra.off"  # trimesh's OBJ reader drops such vertices itself
    _write_off(path, torch.cat([torch.zeros(1, 3, dtype=x.dtype), x]), mesh.faces + 1)
    y, read = read_mesh(path)
    assert torch.allclose(y, x) and torch.equal(read.faces, mesh.faces)
    with pytest.raises(MeshError, match="vertices 0 belong to no face"):
        read_mesh(path, remove_unreferenced=False)


def test_obj_texture_seams_do_not_split_vertices(tmp_path):
    x, mesh = icosphere(0)
    lines = [f"v {a} {b} {c}" for a, b, c in x.tolist()]
    lines += [f"vt {u / 60} 0.5" for u in range(3 * mesh.num_faces)]  # a new uv at every corner
    lines += [
        f"f {a + 1}/{3 * f + 1} {b + 1}/{3 * f + 2} {c + 1}/{3 * f + 3}"
        for f, (a, b, c) in enumerate(mesh.faces.tolist())
    ]
    path = tmp_path / "seams.obj"
    path.write_text("\n".join(lines) + "\n")
    y, read = read_mesh(path)
    assert torch.allclose(x, y) and torch.equal(read.faces, mesh.faces) and read.is_closed


def test_stl_triangles_are_merged(tmp_path):
    x, mesh = icosphere(0)
    lines = ["solid s"]
    for face in mesh.faces.tolist():
        lines += ["facet normal 0 0 0", "outer loop"]
        lines += [f"vertex {a} {b} {c}" for a, b, c in x[face].tolist()]
        lines += ["endloop", "endfacet"]
    path = tmp_path / "sphere.stl"
    path.write_text("\n".join(lines + ["endsolid s"]) + "\n")
    y, read = read_mesh(path)
    assert read.num_vertices == 12 and read.is_closed and read.euler_characteristic == 2
    _, soup = read_mesh(path, merge_vertices=False)
    assert soup.num_vertices == 60 and soup.euler_characteristic == 20


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        read_mesh("/no/such/mesh.obj")


DATA = os.environ.get("GDL_ZOO_DATA")


@pytest.mark.skipif(not DATA, reason="GDL_ZOO_DATA is not set")
def test_shared_meshes_load():
    root = Path(DATA) / "meshes"
    if not root.is_dir():
        pytest.skip(f"no meshes under {root}")
    x, mesh = read_mesh(root / "libigl" / "bunny.off")
    assert x.shape == (mesh.num_vertices, 3) and mesh.num_faces > 1000
    _, spot = read_mesh(root / "spot" / "spot_triangulated.obj")  # has uv seams
    assert spot.num_vertices == 2930 and spot.is_closed and spot.euler_characteristic == 2


@pytest.mark.skipif(not DATA, reason="GDL_ZOO_DATA is not set")
@pytest.mark.parametrize(
    "name, match",
    [
        ("geometry-central/fan3.obj", r"non-manifold edges 5: edge 5 = \[2, 4\] belongs to 3"),
        ("geometry-central/hourglass_ico.obj", "non-manifold vertices 22"),
        ("geometry-central/moebius.obj", "inconsistent orientation across edges 295"),
    ],
)
def test_broken_shared_meshes_are_named(name, match):
    path = Path(DATA) / "meshes" / name
    if not path.is_file():
        pytest.skip(f"no mesh at {path}")
    with pytest.raises(MeshError, match=match):
        read_mesh(path)
