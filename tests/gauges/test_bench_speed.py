"""The GEM speed benchmark: its 1-ring subset is exact, its quick run records every figure."""

import math

import torch

from gdl_zoo.bench.suites import BenchContext, get_suite
from gdl_zoo.gauges.bench_speed import IRREPS, gem_speed, one_ring_subset
from gdl_zoo.gauges.frames import mesh_gauge
from gdl_zoo.gauges.gem_conv import GEMConv
from gdl_zoo.gauges.reference import gem_conv_reference
from gdl_zoo.meshes.generators import icosphere
from gdl_zoo.meshes.geometry import edge_lengths


def test_the_subset_holds_complete_one_rings_that_reproduce_the_full_layer():
    positions, mesh = icosphere(1)
    gauge = mesh_gauge(mesh, edge_lengths(mesh, positions))
    sub, centres = one_ring_subset(gauge, 40)
    assert sub.edge_index.shape[1] >= 40 and int(sub.edge_index[1].max()) == centres - 1
    torch.manual_seed(0)
    conv = GEMConv(IRREPS, IRREPS).double()
    x = torch.randn(mesh.num_vertices, IRREPS.dim, dtype=torch.float64)
    used = torch.unique(gauge.edge_index[:, gauge.edge_index[1] < centres])
    full = conv(x, *gauge.layer_inputs())[:centres]
    on_subset = conv(x[used], *sub.layer_inputs())[:centres]
    assert torch.allclose(full, on_subset, atol=1e-12)
    reference = gem_conv_reference(conv, x[used], *sub.layer_inputs())[:centres]
    assert torch.allclose(on_subset, reference, atol=1e-12)


def test_quick_run_records_speed_ups_and_skips_memory():
    assert get_suite("gauges.gem_speed").run is gem_speed
    state = torch.random.get_rng_state()
    records = gem_speed(BenchContext(quick=True, repeat=1))
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator untouched
    by_metric = {r.metric: r for r in records}
    extrapolated = by_metric["fwd+bwd speed-up over the per-edge reference (extrapolated)"]
    assert extrapolated.value > 0 and "extrapolation" in extrapolated.details
    assert by_metric["GEM conv fwd+bwd time"].value > 0
    assert math.isnan(by_metric["GEM conv fwd+bwd peak memory"].value)


def test_full_run_without_data_skips_cleanly():
    (record,) = gem_speed(BenchContext(quick=False, data_dir=None))
    assert math.isnan(record.value) and "armadillo" in record.details["skipped"]
