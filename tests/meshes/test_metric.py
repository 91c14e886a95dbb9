"""EdgeLengthMetric, length checks naming edges and faces, the barrier, intrinsic Delaunay flips."""

import math

import pytest
import torch

from gdl_zoo.meshes.generators import grid, icosphere
from gdl_zoo.meshes.geometry import cotan_weights, edge_lengths, face_areas
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.metric import (
    EdgeLengthMetric,
    check_lengths,
    intrinsic_delaunay,
    non_delaunay_edges,
    triangle_barrier,
    triangle_slack,
    triangle_violations,
)


def test_metric_from_positions_and_conformal_factors():
    x, mesh = icosphere(1)
    metric = EdgeLengthMetric.from_positions(mesh, x, conformal=True)
    assert torch.allclose(metric(), edge_lengths(mesh, x))
    names = {n for n, _ in metric.named_parameters()}
    assert names == {"log_lengths", "u"}
    with torch.no_grad():
        metric.u.copy_(torch.linspace(-0.2, 0.3, mesh.num_vertices, dtype=x.dtype))
    e = mesh.edges
    expected = torch.exp((metric.u[e[:, 0]] + metric.u[e[:, 1]]) / 2) * edge_lengths(mesh, x)
    assert torch.allclose(metric(), expected)
    metric().sum().backward()
    assert metric.u.grad is not None and metric.log_lengths.grad is not None


def test_conformal_only_metric_has_fixed_lengths():
    x, mesh = grid(2, 2)
    metric = EdgeLengthMetric.from_positions(mesh, x, learn_lengths=False, conformal=True)
    assert [n for n, _ in metric.named_parameters()] == ["u"]
    with pytest.raises(ValueError, match="learn_lengths or conformal"):
        EdgeLengthMetric.from_positions(mesh, x, learn_lengths=False)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda ell: ell.index_fill(0, torch.tensor([3]), float("nan")), "edges 3 have NaN"),
        (lambda ell: ell.index_fill(0, torch.tensor([2, 4]), 0.0), "edges 2, 4 have non-positive"),
        (lambda ell: ell.index_fill(0, torch.tensor([1]), 5.0), "faces 0, 1 violate the triangle"),
    ],
)
def test_bad_lengths_are_named(edit, match):
    mesh = TriangleMesh(torch.tensor([[0, 1, 2], [0, 2, 3]]))
    lengths = edit(torch.ones(mesh.num_edges, dtype=torch.float64))  # edge 1 is the diagonal
    assert mesh.edges[1].tolist() == [0, 2]
    with pytest.raises(ValueError, match=match):
        check_lengths(mesh, lengths)
    with pytest.raises(ValueError, match=match):
        EdgeLengthMetric(mesh, lengths)


def test_check_lengths_types_and_shapes():
    _, mesh = grid(1, 1)
    with pytest.raises(TypeError, match="floating"):
        check_lengths(mesh, torch.ones(mesh.num_edges, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected shape \(5,\)"):
        check_lengths(mesh, torch.ones(4))


def test_violations_and_barrier():
    mesh = TriangleMesh(torch.tensor([[0, 1, 2], [0, 2, 3]]))
    lengths = torch.ones(mesh.num_edges, dtype=torch.float64)
    assert triangle_violations(mesh, lengths).numel() == 0
    assert float(triangle_barrier(mesh, lengths, margin=0.05)) == 0.0
    slack = triangle_slack(mesh, lengths)
    assert torch.allclose(slack, torch.full_like(slack, 1 / 3))
    near_flat = lengths.clone()
    near_flat[1] = 1.95  # slack (2 − 1.95)/3.95 ≈ 0.013 < margin
    near_flat.requires_grad_()
    barrier = triangle_barrier(mesh, near_flat, margin=0.05)
    assert barrier > 0
    (grad,) = torch.autograd.grad(barrier, near_flat)
    assert grad[1] > 0  # descending the barrier shortens the long side
    broken = lengths.clone()
    broken[1] = 2.5
    assert triangle_violations(mesh, broken).tolist() == [0, 1]
    assert torch.isfinite(triangle_barrier(mesh, broken))
    with pytest.raises(ValueError, match="margin"):
        triangle_barrier(mesh, lengths, margin=0.0)


def test_metric_reports_violations():
    x, mesh = grid(1, 1)
    metric = EdgeLengthMetric.from_positions(mesh, x)
    metric.check()
    with torch.no_grad():
        metric.log_lengths[0] += 3.0
    assert metric.violations().numel() > 0
    with pytest.raises(ValueError, match="violate the triangle inequality"):
        metric.check()
    assert metric.barrier() > 0


def _skinny_quad():
    # a rhombus split along its long diagonal: the shared edge is not Delaunay
    x = torch.tensor([[0.0, 0, 0], [1, -0.2, 0], [2, 0, 0], [1, 0.2, 0]], dtype=torch.float64)
    return x, TriangleMesh(torch.tensor([[0, 1, 2], [0, 2, 3]]))


def test_delaunay_flip_of_a_skinny_quad():
    x, mesh = _skinny_quad()
    lengths = edge_lengths(mesh, x)
    assert cotan_weights(mesh, lengths).min() < 0
    before = lengths.clone()
    new_mesh, new_lengths, flips, edge_map = intrinsic_delaunay(mesh, lengths, return_edge_map=True)
    assert flips == 1 and torch.equal(lengths, before)  # the input is not modified
    assert sorted(edge_map.tolist()) == list(range(mesh.num_edges))
    assert new_mesh.edges.tolist() == [[0, 1], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert new_lengths[new_mesh.edges.tolist().index([1, 3])] == pytest.approx(0.4, rel=1e-12)
    assert torch.allclose(new_lengths, edge_lengths(new_mesh, x))
    assert cotan_weights(new_mesh, new_lengths).min() >= 0
    assert float(face_areas(new_mesh, new_lengths).sum()) == pytest.approx(0.4, rel=1e-12)
    assert non_delaunay_edges(mesh, lengths).tolist() == [mesh.edges.tolist().index([0, 2])]
    assert non_delaunay_edges(new_mesh, new_lengths).numel() == 0


def test_flips_make_a_perturbed_sphere_delaunay_and_keep_the_area():
    x, mesh = icosphere(2)
    g = torch.Generator().manual_seed(0)
    lengths = edge_lengths(mesh, x) * torch.exp(
        0.25 * torch.randn(mesh.num_edges, generator=g, dtype=x.dtype)
    )
    lengths = torch.where(
        triangle_slack(mesh, lengths).min(1).values[mesh.edge_faces[:, 0]] > 0.05,
        lengths,
        edge_lengths(mesh, x),
    )
    check_lengths(mesh, lengths)
    assert cotan_weights(mesh, lengths).min() < 0
    new_mesh, new_lengths, flips = intrinsic_delaunay(mesh, lengths)
    assert flips > 0 and new_mesh.euler_characteristic == 2
    interior_ok = cotan_weights(new_mesh, new_lengths) >= -1e-10
    assert interior_ok.float().mean() > 0.99  # flips that would duplicate an edge are skipped
    before, after = non_delaunay_edges(mesh, lengths), non_delaunay_edges(new_mesh, new_lengths)
    assert len(after) < len(before) / 10
    assert float(face_areas(new_mesh, new_lengths).sum()) == pytest.approx(
        float(face_areas(mesh, lengths).sum()), rel=1e-12
    )


def test_metric_flip_to_delaunay_updates_mesh_and_parameters():
    x, mesh = _skinny_quad()
    metric = EdgeLengthMetric.from_positions(mesh, x, conformal=True)
    assert metric.flip_to_delaunay() == 1
    assert metric.mesh.edges.tolist()[1] == [0, 3]
    assert torch.allclose(metric(), edge_lengths(metric.mesh, x))
    assert metric.flip_to_delaunay() == 0
    assert math.isfinite(metric.barrier().item())
