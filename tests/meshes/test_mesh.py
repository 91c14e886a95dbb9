"""TriangleMesh: derived topology, validation naming faces and edges, 1-rings."""

import pytest
import torch

from gdl_zoo.meshes.generators import grid, icosphere, torus
from gdl_zoo.meshes.mesh import MeshError, TriangleMesh

TWO_TRIANGLES = torch.tensor([[0, 1, 2], [0, 2, 3]])


def test_topology_of_two_triangles():
    mesh = TriangleMesh(TWO_TRIANGLES)
    assert mesh.num_vertices == 4 and mesh.num_edges == 5 and mesh.num_faces == 2
    assert mesh.edges.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]]
    # face_edges[f, c] is the edge opposite corner c
    for f in range(2):
        for c in range(3):
            e = mesh.edges[mesh.face_edges[f, c]].tolist()
            assert sorted(e) == sorted(
                [int(mesh.faces[f, (c + 1) % 3]), int(mesh.faces[f, (c + 2) % 3])]
            )
    diagonal = mesh.edges.tolist().index([0, 2])
    assert sorted(mesh.edge_faces[diagonal].tolist()) == [0, 1]
    assert mesh.boundary_edges.numel() == 4 and not mesh.is_closed
    assert mesh.euler_characteristic == 1
    (loop,) = mesh.boundary_loops
    assert loop.tolist() in ([0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2])


@pytest.mark.parametrize("generator, chi, loops", [(icosphere, 2, 0), (torus, 0, 0), (grid, 1, 1)])
def test_generated_meshes(generator, chi, loops):
    positions, mesh = generator()
    assert positions.shape == (mesh.num_vertices, 3)
    assert mesh.euler_characteristic == chi
    assert len(mesh.boundary_loops) == loops
    count, labels = mesh.connected_components
    assert count == 1 and labels.shape == (mesh.num_vertices,)


def test_connected_components_and_relabel():
    faces = torch.cat([TWO_TRIANGLES, TWO_TRIANGLES + 4])
    mesh = TriangleMesh(faces)
    count, labels = mesh.connected_components
    assert count == 2 and labels[:4].unique().numel() == 1 and labels[0] != labels[4]
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    relabelled = mesh.relabel(perm)
    assert relabelled.num_edges == mesh.num_edges
    # new vertex i is old vertex perm[i]: map the new faces back
    assert set(map(tuple, perm[relabelled.faces].tolist())) == set(map(tuple, faces.tolist()))


@pytest.mark.parametrize(
    "faces, n, match",
    [
        ([[0, 1, 2], [0, 2, 5]], 4, r"faces 1 index vertices outside \[0, 4\)"),
        ([[0, 1, 2], [0, 2, 2]], 3, r"degenerate faces 1 repeat a vertex"),
        ([[0, 1, 2], [1, 2, 0]], 3, r"duplicate faces 0, 1"),
        ([[0, 1, 2], [0, 2, 3], [0, 4, 2]], 5, r"non-manifold edges .*\[0, 2\].* 3 faces 0, 1, 2"),
        ([[0, 1, 2], [0, 3, 2]], 4, r"inconsistent orientation .*faces 0, 1 .*\[0, 2\]"),
        ([[0, 1, 2], [0, 2, 3]], 6, r"vertices 4, 5 belong to no face"),
    ],
)
def test_invalid_meshes_are_named(faces, n, match):
    with pytest.raises(MeshError, match=match):
        TriangleMesh(torch.tensor(faces), n)


def test_bad_face_tensors():
    with pytest.raises(TypeError, match="integer"):
        TriangleMesh(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"shape \(F, 3\)"):
        TriangleMesh(torch.zeros(2, 4, dtype=torch.long))
    assert issubclass(MeshError, ValueError)


def test_non_manifold_vertex_is_named():
    # two fans (a pair of triangles each) sharing only vertex 0
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 4, 5], [0, 5, 6]])
    with pytest.raises(MeshError, match="non-manifold vertices 0: .*several fans"):
        TriangleMesh(faces)
    # two closed cones touching at their apex: no boundary edge shows it
    cone = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])
    with pytest.raises(MeshError, match="non-manifold vertices 0"):
        TriangleMesh(torch.cat([cone, torch.where(cone > 0, cone + 3, cone)]))
    mesh = TriangleMesh(faces, validate=False)  # unchecked meshes fail when the rings are built
    with pytest.raises(MeshError, match="non-manifold vertices 0"):
        mesh.vertex_rings  # noqa: B018


def test_duplicate_face_message_names_both_faces():
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [2, 0, 1]])
    match = r"duplicate faces 0, 2 \(face 2 has the vertices of face 0:"
    with pytest.raises(MeshError, match=match):
        TriangleMesh(faces)


def test_relabel_rejects_non_permutations():
    mesh = TriangleMesh(TWO_TRIANGLES)
    for bad in (torch.tensor([0, 1, 1, 3]), torch.tensor([0, 1, 2]), torch.arange(4.0)):
        with pytest.raises(ValueError, match=r"permutation of range\(4\)"):
            mesh.relabel(bad)


@pytest.mark.parametrize("generator", [icosphere, torus, grid])
def test_vertex_rings_are_consistent(generator):
    _, mesh = generator()
    rings = mesh.vertex_rings
    s = rings.spoke_vertex.numel()
    assert s == 2 * mesh.num_edges  # every edge seen once from each end
    assert torch.equal(rings.spoke_twin[rings.spoke_twin], torch.arange(s))
    assert torch.equal(rings.spoke_vertex[rings.spoke_twin], rings.spoke_neighbour)
    assert torch.equal(rings.spoke_edge[rings.spoke_twin], rings.spoke_edge)
    ends = mesh.edges[rings.spoke_edge]
    assert ((ends[:, 0] == rings.spoke_vertex) | (ends[:, 1] == rings.spoke_vertex)).all()
    counts = rings.spoke_start.diff()
    assert torch.equal(counts, torch.bincount(rings.spoke_vertex, minlength=mesh.num_vertices))
    assert torch.equal(rings.is_boundary_vertex, mesh.is_boundary_vertex)
    # consecutive spokes of a vertex bound a face: (v, spoke s, spoke s+1) is a face, ccw
    faces = set(map(tuple, mesh.faces.tolist()))
    rotations = faces | {(b, c, a) for a, b, c in faces} | {(c, a, b) for a, b, c in faces}
    for v in range(0, mesh.num_vertices, 7):
        lo, hi = int(rings.spoke_start[v]), int(rings.spoke_start[v + 1])
        nb = rings.spoke_neighbour[lo:hi].tolist()
        pairs = list(zip(nb, nb[1:] + ([] if rings.is_boundary_vertex[v] else nb[:1])))
        assert all((v, a, b) in rotations for a, b in pairs)


def test_to_device_keeps_topology():
    _, mesh = grid(2, 2)
    moved = mesh.to("cpu")
    assert torch.equal(moved.edges, mesh.edges) and "chi=1" in repr(moved)
