"""Gauges from the metric: frames, log maps, transport, holonomy, gradients, boundary, bad input."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import GaugeChange
from gdl_zoo.gauges.frames import (
    MeshGauge,
    face_ring_holonomy,
    link_curvature_share,
    mesh_gauge,
    ring_holonomy,
    spoke_index,
    wrap_angle,
)
from gdl_zoo.gauges.gem_conv import GEMConv
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.generators import bumpy_icosphere, grid, torus
from gdl_zoo.meshes.geometry import angle_defect, angle_sums, corner_angles, edge_lengths
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.symmetry.testing import assert_equivariant


def _gen(seed=7):
    return torch.Generator().manual_seed(seed)


def _bumped_sphere(subdivisions=1, seed=0):
    positions, mesh = bumpy_icosphere(subdivisions, 0.2, torch.Generator().manual_seed(seed))
    return mesh, edge_lengths(mesh, positions)


def _cone(k=7, apex=0.7, seed=0):
    """A fan: one interior vertex (0) lifted above a jittered rim of k boundary vertices."""
    faces = torch.tensor([[0, i, i % k + 1] for i in range(1, k + 1)])
    mesh = TriangleMesh(faces)
    gen = torch.Generator().manual_seed(seed)
    jitter = 0.3 * torch.rand(k, generator=gen, dtype=torch.float64)
    t = 2 * math.pi * (torch.arange(k, dtype=torch.float64) + jitter) / k
    rim = torch.stack([t.cos(), t.sin(), torch.zeros_like(t)], -1)
    rim = rim * (1 + 0.2 * torch.rand(k, 1, generator=gen, dtype=torch.float64))
    apex_point = torch.tensor([[0.0, 0.0, apex]], dtype=torch.float64)
    return mesh, edge_lengths(mesh, torch.cat([apex_point, rim]))


def test_spokes_are_neighbours_with_reference_direction_zero():
    mesh, lengths = _bumped_sphere()
    gauge = mesh_gauge(mesh, lengths)
    rings = mesh.vertex_rings
    assert gauge.edge_index.shape == (2, 2 * mesh.num_edges)
    assert torch.equal(gauge.edge_index[1], rings.spoke_vertex)
    first = rings.spoke_rank == 0
    assert torch.equal(gauge.log_angle[first], torch.zeros(mesh.num_vertices, dtype=torch.float64))
    assert torch.allclose(gauge.radius, lengths[rings.spoke_edge])


def test_one_ring_angles_are_rescaled_to_a_full_turn():
    mesh, lengths = _bumped_sphere()
    gauge, rings = mesh_gauge(mesh, lengths), mesh.vertex_rings
    theta = angle_sums(mesh, lengths)
    angles = corner_angles(mesh, lengths).reshape(-1)
    for v in (0, 5, 17):
        spokes = slice(int(rings.spoke_start[v]), int(rings.spoke_start[v + 1]))
        phi = gauge.log_angle[spokes]
        steps = torch.diff(torch.cat([phi, phi.new_tensor([2 * math.pi])]))
        corners = angles[rings.corner_slots[v, : len(phi)]]
        assert torch.allclose(steps, corners * 2 * math.pi / theta[v], atol=1e-13)
        assert abs(float(steps.sum()) - 2 * math.pi) < 1e-13


def test_log_map_is_an_isometry_of_a_flat_one_ring():
    positions, mesh = grid(4, 4)
    gauge, rings = mesh_gauge(mesh, edge_lengths(mesh, positions)), mesh.vertex_rings
    v = 12  # an interior vertex of the 5 x 5 grid
    spokes = torch.arange(int(rings.spoke_start[v]), int(rings.spoke_start[v + 1]))
    tangent = gauge.log_map[spokes]
    ambient = positions[rings.spoke_neighbour[spokes]] - positions[v]
    assert torch.allclose(tangent @ tangent.T, ambient @ ambient.T, atol=1e-13)


def test_frame_argument_is_the_gauge_change_of_the_gem_paper():
    mesh, lengths = _bumped_sphere()
    g = 2 * math.pi * torch.rand(mesh.num_vertices, generator=_gen(), dtype=torch.float64)
    base, turned = mesh_gauge(mesh, lengths), mesh_gauge(mesh, lengths, frame=g)
    irreps = SO2Irreps((1,))
    x = torch.ones(mesh.num_vertices, 1, dtype=torch.float64)
    _, _, log_angle, transport = GaugeChange(irreps, mesh.num_vertices).act(
        g, (x, base.edge_index, base.log_angle, base.transport)
    )
    assert wrap_angle(turned.log_angle - log_angle).abs().max() < 1e-13
    assert wrap_angle(turned.transport - transport).abs().max() < 1e-13


def test_default_gauge_is_the_meshes_domain_geometry():
    from gdl_zoo.meshes.geometry import log_map_1ring, transport_angles, vertex_tangent_angles

    mesh, lengths = _bumped_sphere()
    gauge = mesh_gauge(mesh, lengths)
    assert torch.equal(gauge.log_angle, vertex_tangent_angles(mesh, lengths))
    assert wrap_angle(gauge.transport - transport_angles(mesh, lengths)).abs().max() < 1e-13
    assert torch.allclose(gauge.log_map, log_map_1ring(mesh, lengths), atol=1e-14)


def test_transport_back_and_forth_is_the_identity():
    mesh, lengths = _bumped_sphere()
    gauge, rings = mesh_gauge(mesh, lengths), mesh.vertex_rings
    assert wrap_angle(gauge.transport + gauge.transport[rings.spoke_twin]).abs().max() < 1e-13


def test_transport_carries_a_parallel_field_of_a_flat_mesh_to_itself():
    # g_{q→p} takes q's frame to p's: a constant planar field, written in every vertex frame,
    # is reproduced by ρ(g_{q→p}) f_q = f_p (the reverse convention g_{p→q} would fail)
    positions, mesh = grid(4, 5)
    gen = torch.Generator().manual_seed(0)
    positions[:, :2] += 0.05 * torch.rand(len(positions), 2, generator=gen, dtype=torch.float64)
    gauge = mesh_gauge(mesh, edge_lengths(mesh, positions))
    source, target = gauge.edge_index
    step = positions[source] - positions[target]
    frame_of_spoke = torch.atan2(step[:, 1], step[:, 0]) - gauge.log_angle
    frame = torch.zeros(mesh.num_vertices, dtype=torch.float64).index_put((target,), frame_of_spoke)
    assert wrap_angle(frame_of_spoke - frame[target]).abs().max() < 1e-12
    field = torch.stack([torch.cos(0.7 - frame), torch.sin(0.7 - frame)], -1)
    transported = SO2Irreps((0, 1)).rotate(field[source], gauge.transport)
    assert (transported - field[target]).abs().max() < 1e-12
    backwards = SO2Irreps((0, 1)).rotate(field[source], -gauge.transport)
    assert (backwards - field[target]).abs().max() > 1e-2


@pytest.mark.parametrize("k, apex, seed", [(5, 0.3, 0), (7, 0.7, 1), (9, 1.5, 2), (6, 0.0, 3)])
def test_holonomy_around_a_one_ring_is_the_angle_defect(k, apex, seed):
    """The link of the cone vertex is on the boundary: holonomy = K exactly (mod 2π)."""
    mesh, lengths = _cone(k, apex, seed)
    vertices, holonomy = ring_holonomy(mesh, mesh_gauge(mesh, lengths))
    defect = angle_defect(mesh, lengths)[vertices]
    assert vertices.tolist() == [0]
    assert wrap_angle(holonomy - defect).abs().max() < 1e-12
    assert apex == 0.0 or abs(float(defect[0])) > 1e-2  # a real, curved cone


def test_holonomy_on_a_closed_mesh_adds_the_neighbours_share_and_ignores_the_gauge():
    mesh, lengths = _bumped_sphere(2)
    frame = 2 * math.pi * torch.rand(mesh.num_vertices, generator=_gen(), dtype=torch.float64)
    vertices, holonomy = ring_holonomy(mesh, mesh_gauge(mesh, lengths, frame))
    defect = angle_defect(mesh, lengths)
    expected = defect + link_curvature_share(mesh, lengths)
    assert len(vertices) == mesh.num_vertices
    assert wrap_angle(holonomy - expected[vertices]).abs().max() < 1e-12
    # negative control: the share is not negligible on a curved mesh
    assert wrap_angle(holonomy - defect[vertices]).abs().max() > 1e-2


def _curved_sheet():
    positions, mesh = grid(4, 4)
    positions = positions.clone()
    positions[:, 2] = 0.3 * torch.sin(3 * positions[:, 0]) * positions[:, 1]
    return mesh, edge_lengths(mesh, positions)


@pytest.mark.parametrize("shape", ["sphere", "torus", "open sheet"])
def test_levi_civita_holonomy_through_face_layouts_is_the_angle_defect(shape):
    """Around every interior vertex of any mesh, for any metric: exactly K (mod 2π)."""
    if shape == "sphere":
        mesh, lengths = _bumped_sphere(2)
    elif shape == "torus":
        positions, mesh = torus(12, 7)
        gen = torch.Generator().manual_seed(0)
        jitter = 0.05 * torch.rand(mesh.num_edges, generator=gen, dtype=torch.float64)
        lengths = edge_lengths(mesh, positions) * (1 + jitter)
    else:
        mesh, lengths = _curved_sheet()
    vertices, holonomy = face_ring_holonomy(mesh, lengths)
    defect = angle_defect(mesh, lengths)
    assert torch.equal(vertices, torch.nonzero(~mesh.is_boundary_vertex).flatten())
    assert wrap_angle(holonomy - defect[vertices]).abs().max() < 1e-12
    assert defect[vertices].abs().max() > 1e-2  # curved: the check can fail
    ell = lengths.clone().requires_grad_()
    grad_hol = torch.autograd.grad(face_ring_holonomy(mesh, ell)[1].sum(), ell)[0]
    grad_defect = torch.autograd.grad(angle_defect(mesh, ell)[vertices].sum(), ell)[0]
    assert torch.allclose(grad_hol, grad_defect, atol=1e-10)


def test_gradients_reach_the_edge_lengths_through_frames_log_maps_and_transport():
    mesh, lengths = _bumped_sphere(0)
    torch.manual_seed(0)
    irreps_in, irreps_out = SO2Irreps((1, 1)), SO2Irreps((1, 1, 1))
    conv = GEMConv(irreps_in, irreps_out).double()
    x = torch.randn(mesh.num_vertices, irreps_in.dim, dtype=torch.float64)

    def loss(ell):
        gauge = mesh_gauge(mesh, ell)
        out = conv(x, *gauge.layer_inputs(), edge_weight=gauge.radius)
        return out.square().sum().reshape(1)

    ell = lengths.clone().requires_grad_()
    assert torch.autograd.gradcheck(loss, (ell,), atol=1e-7)
    grads = [
        torch.autograd.grad(part.square().sum(), ell)[0]
        for part in (
            mesh_gauge(mesh, ell).log_angle,
            mesh_gauge(mesh, ell).transport,
            mesh_gauge(mesh, ell).radius,
        )
    ]
    assert all(bool(g.abs().max() > 0) for g in grads)


def test_meshes_with_boundary_keep_true_angles_and_exact_equivariance():
    positions, mesh = grid(3, 3)
    positions = positions.clone()
    positions[:, 2] = 0.3 * torch.sin(3 * positions[:, 0]) * positions[:, 1]  # curved, open
    lengths = edge_lengths(mesh, positions)
    gauge, rings = mesh_gauge(mesh, lengths), mesh.vertex_rings
    boundary = rings.is_boundary_vertex[rings.spoke_vertex]
    theta = angle_sums(mesh, lengths)[rings.spoke_vertex]
    assert bool((gauge.log_angle[boundary] <= theta[boundary] + 1e-12).all())
    vertices, holonomy = ring_holonomy(mesh, gauge)
    assert not bool(mesh.is_boundary_vertex[vertices].any()) and len(vertices) == 4
    expected = (angle_defect(mesh, lengths) + link_curvature_share(mesh, lengths))[vertices]
    assert wrap_angle(holonomy - expected).abs().max() < 1e-12
    irreps = SO2Irreps((2, 1, 1))
    torch.manual_seed(0)
    for dtype in (torch.float64, torch.float32):
        conv = GEMConv(irreps, irreps).to(dtype)
        x = torch.randn(mesh.num_vertices, irreps.dim, dtype=dtype)
        inputs = (x, gauge.edge_index, gauge.log_angle.to(dtype), gauge.transport.to(dtype))
        action = GaugeChange(irreps, mesh.num_vertices)
        assert_equivariant(conv, inputs, action, action)


def test_bad_metric_and_gauge_inputs():
    mesh, lengths = _bumped_sphere(0)
    bad = lengths.clone()
    bad[0] = 10.0
    with pytest.raises(ValueError, match="triangle inequality"):
        mesh_gauge(mesh, bad)
    with pytest.raises(ValueError, match="expected shape"):
        mesh_gauge(mesh, lengths[:-1])
    with pytest.raises(ValueError, match=r"frame: expected shape \(12,\)"):
        mesh_gauge(mesh, lengths, frame=torch.zeros(11, dtype=torch.float64))
    with pytest.raises(TypeError, match="frame: expected a floating"):
        mesh_gauge(mesh, lengths, frame=torch.zeros(12, dtype=torch.long))
    with pytest.raises(TypeError, match="TriangleMesh"):
        mesh_gauge(mesh.faces, lengths)
    with pytest.raises(ValueError, match="expected edges of the mesh"):
        spoke_index(mesh, torch.tensor([0]), torch.tensor([0]))
    assert isinstance(mesh_gauge(mesh, lengths), MeshGauge)
