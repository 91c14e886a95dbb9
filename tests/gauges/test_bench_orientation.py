"""The orientation task: frames map 3D tangent vectors both ways, batching, the quick run."""

import torch

from gdl_zoo.bench.suites import BenchContext, get_suite
from gdl_zoo.gauges.bench_orientation import (
    MODELS,
    VertexFrames,
    batched_gauge,
    orientation_task,
    polynomial_signals,
)
from gdl_zoo.gauges.frames import mesh_gauge
from gdl_zoo.gauges.gem_conv import GEMConv
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.generators import icosphere
from gdl_zoo.meshes.geometry import edge_lengths


def _sphere():
    positions, mesh = icosphere(1)
    gauge = mesh_gauge(mesh, edge_lengths(mesh, positions))
    normal = positions / positions.norm(dim=-1, keepdim=True)
    return positions, mesh, gauge, VertexFrames.of(mesh, positions, normal, gauge)


def test_signals_have_tangent_gradients_of_the_polynomials():
    positions, *_ = _sphere()
    u, grad = polynomial_signals(positions, 3, torch.Generator().manual_seed(0))
    assert u.shape == (3, 42) and grad.shape == (3, 42, 3)
    assert torch.allclose(u.std(dim=1), torch.ones(3, dtype=torch.float64))
    normal = positions / positions.norm(dim=-1, keepdim=True)
    assert (grad * normal).sum(-1).abs().max() < 1e-12  # tangent to the sphere
    assert float(grad.abs().max()) > 0.1  # not a vanishing field


def test_frames_round_trip_and_match_the_spokes():
    positions, mesh, gauge, frames = _sphere()
    _, grad = polynomial_signals(positions, 2, torch.Generator().manual_seed(1))
    assert (frames.to_3d(frames.to_frame(grad)) - grad).abs().max() < 1e-12
    # a spoke direction lands exactly on its intrinsic log-map angle
    rings = mesh.vertex_rings
    spoke = 3
    p, q = int(rings.spoke_vertex[spoke]), int(rings.spoke_neighbour[spoke])
    d = positions[q] - positions[p]
    vectors = torch.zeros(1, mesh.num_vertices, 3, dtype=torch.float64)
    vectors[0, p] = d - (d @ frames.normal[p]) * frames.normal[p]
    coords = frames.to_frame(vectors)[0, p]
    angle = torch.atan2(coords[1], coords[0]) % (2 * torch.pi)
    assert abs(float(angle - gauge.log_angle[spoke])) < 1e-12


def test_batched_gauge_is_disjoint_copies():
    positions, mesh, gauge, _ = _sphere()
    irreps = SO2Irreps((1, 1))
    torch.manual_seed(0)
    conv = GEMConv(irreps, irreps).double()
    x = torch.randn(2, mesh.num_vertices, irreps.dim, dtype=torch.float64)
    both = conv(x.reshape(-1, irreps.dim), *batched_gauge(gauge, 2).layer_inputs())
    single = torch.stack([conv(xi, *gauge.layer_inputs()) for xi in x])
    assert torch.allclose(both.reshape(2, mesh.num_vertices, -1), single, atol=1e-12)


def test_quick_run_scores_every_model():
    assert get_suite("gauges.orientation_task").run is orientation_task
    state = torch.random.get_rng_state()
    records = orientation_task(BenchContext(quick=True))
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator untouched
    assert [r.name for r in records] == [name for name in MODELS for _ in range(2)]
    assert all(r.value > 0 and r.details["vertices"] == 162 for r in records)
    gem_plain, gem_rotated = records[0].value, records[1].value
    assert abs(gem_plain - gem_rotated) < 1e-4 * gem_plain  # intrinsic: rotation-blind
