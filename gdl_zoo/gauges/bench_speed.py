"""Speed and memory of the GEM convolution against its slow per-edge reference.

On the armadillo (``$GDL_ZOO_DATA/meshes/libigl/armadillo.obj``, 43k
vertices, 260k spokes) a :class:`~gdl_zoo.gauges.gem_conv.GEMConv` from
``8 × (ρ_0 ⊕ ρ_1 ⊕ ρ_2)`` to the same (``C = 40``) runs forward + backward
(sum of squared outputs, gradients to features and weights) on the gauge
computed from the mesh's edge lengths:

- **speed-up over the reference**: :func:`~gdl_zoo.gauges.reference.gem_conv_reference`
  (dense ``ρ`` matrices, a Python loop over edges) is far too slow for the
  whole mesh, so it runs on the complete 1-rings of the first vertices
  (``REFERENCE_SPOKES`` spokes), and its time is extrapolated linearly in the
  number of spokes (its cost is one loop iteration per spoke plus one per
  vertex, both proportional to the spokes).  The fast layer is timed on the
  whole mesh and on the same subset; both ratios are recorded.
- **gauge from the metric**: :func:`~gdl_zoo.gauges.frames.mesh_gauge` from
  the edge lengths and back (gradient to the lengths).
- **peak memory at 100k vertices**: a torus of ``400 × 250`` vertices
  (600k spokes); the extra resident memory of one fwd+bwd step in a fresh
  subprocess (:func:`~gdl_zoo.bench.measure.peak_memory_mib` on
  :func:`torus_step`: the Linux peak-RSS counter reset right before the
  call), or the CUDA allocator's peak.

The quick mode uses an icosphere (642 vertices), a 300-spoke reference
subset, and skips the memory subprocess; it needs no data.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from gdl_zoo.bench.measure import peak_memory_mib
from gdl_zoo.bench.suites import BenchContext, Record, ratio, time_callable
from gdl_zoo.gauges.frames import MeshGauge, mesh_gauge
from gdl_zoo.gauges.gem_conv import GEMConv
from gdl_zoo.gauges.reference import gem_conv_reference
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = [
    "IRREPS", "REFERENCE_SPOKES", "MEMORY_TORUS", "gem_speed", "one_ring_subset", "torus_step"
]  # fmt: skip

#: Features of the benchmarked convolution, in and out: 8 × (ρ_0 ⊕ ρ_1 ⊕ ρ_2), C = 40.
IRREPS = SO2Irreps.regular(8, 2)
#: Approximate number of spokes the slow reference runs on (full, quick).
REFERENCE_SPOKES = (2000, 300)
#: (major, minor) segments of the 100k-vertex torus of the memory measurement.
MEMORY_TORUS = (400, 250)
_ARMADILLO = Path("meshes") / "libigl" / "armadillo.obj"


def one_ring_subset(gauge: MeshGauge, spokes: int) -> tuple[MeshGauge, int]:
    """The complete 1-rings of the first vertices holding about ``spokes`` spokes, relabelled.

    Returns the sub-gauge on the vertices it touches (centres first) and the
    number of centre vertices.
    """
    target = gauge.edge_index[1]
    centres = int(target[min(spokes, len(target)) - 1]) + 1
    keep = target < centres
    edge_index = gauge.edge_index[:, keep]
    used = torch.unique(edge_index)  # sorted: the centres 0 … centres−1 come first
    relabel = torch.full((gauge.num_vertices,), -1, dtype=torch.long, device=target.device)
    relabel[used] = torch.arange(len(used), device=target.device)
    sub = MeshGauge(
        edge_index=relabel[edge_index],
        radius=gauge.radius[keep],
        log_angle=gauge.log_angle[keep],
        transport=gauge.transport[keep],
        num_vertices=len(used),
    )
    return sub, centres


def _step(conv, features: torch.Tensor, gauge: MeshGauge, reference: bool = False):
    inputs = (features, *gauge.layer_inputs())

    def step():
        conv.zero_grad(set_to_none=True)
        features.grad = None
        out = gem_conv_reference(conv, *inputs) if reference else conv(*inputs)
        out.square().sum().backward()

    return step


def _setup(mesh: TriangleMesh, positions: torch.Tensor, seed: int, device: str):
    gauge = mesh_gauge(mesh, edge_lengths(mesh, positions.to(torch.float64)))
    gauge = MeshGauge(
        *(t.to(device) for t in (gauge.edge_index, gauge.radius)),
        *(t.to(device, torch.float32) for t in (gauge.log_angle, gauge.transport)),
        gauge.num_vertices,
    )
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(mesh.num_vertices, IRREPS.dim, generator=gen).to(device)
    with torch.random.fork_rng(devices=[]):  # seeded weights, the global generator untouched
        torch.manual_seed(seed)
        conv = GEMConv(IRREPS, IRREPS).to(device)
    return conv, features.requires_grad_(), gauge


def torus_step(seed: int, device: str = "cpu"):
    """One GEM conv fwd+bwd step on the 100k-vertex torus, built and ready to call.

    The factory that :func:`~gdl_zoo.bench.measure.peak_memory_mib` runs in a
    fresh interpreter for the memory figure.
    """
    from gdl_zoo.meshes.generators import torus

    positions, mesh = torus(*MEMORY_TORUS)
    conv, features, gauge = _setup(mesh, positions, seed, device)
    return _step(conv, features, gauge)


def _mesh(context: BenchContext):
    if context.quick:
        from gdl_zoo.meshes.generators import icosphere

        positions, mesh = icosphere(3)
        return "icosphere (3 subdivisions)", positions, mesh
    if context.data_dir is None or not (context.data_dir / _ARMADILLO).is_file():
        return None
    from gdl_zoo.meshes.io import read_mesh

    positions, mesh = read_mesh(context.data_dir / _ARMADILLO)
    return "armadillo", positions, mesh


def gem_speed(context: BenchContext) -> list[Record]:
    """GEM conv fwd+bwd: speed-up over the per-edge reference; gauge cost; memory at 100k."""
    loaded = _mesh(context)
    if loaded is None:
        skipped = {"skipped": f"needs {_ARMADILLO} under --data-dir"}
        return [Record("gem_conv", "fwd+bwd speed-up over the reference", math.nan, "ratio",
                       None, skipped)]  # fmt: skip
    name, positions, mesh = loaded
    conv, features, gauge = _setup(mesh, positions, context.seed, context.device)
    spokes = REFERENCE_SPOKES[1] if context.quick else REFERENCE_SPOKES[0]
    sub, centres = one_ring_subset(gauge, spokes)
    sub_features = features[: sub.num_vertices].detach().clone().requires_grad_()
    shape = {"mesh": name, "vertices": mesh.num_vertices, "spokes": gauge.edge_index.shape[1],
             "irreps": str(IRREPS), "channels": IRREPS.dim, "dtype": "float32"}  # fmt: skip
    fast = time_callable(_step(conv, features, gauge), context.repeat)
    fast_sub = time_callable(_step(conv, sub_features, sub), context.repeat)
    slow_sub = time_callable(_step(conv, sub_features, sub, reference=True), 1, warmup=0)
    scale = gauge.edge_index.shape[1] / sub.edge_index.shape[1]
    slow_full = slow_sub.median * scale
    subset = {"subset_spokes": sub.edge_index.shape[1], "subset_centres": centres,
              "subset_vertices": sub.num_vertices}  # fmt: skip
    records = [
        Record(name, "GEM conv fwd+bwd time", fast.median, "s", None,
               {"s": fast.as_dict(), **shape}),
        Record(name, "fwd+bwd speed-up over the per-edge reference (extrapolated)",
               ratio(slow_full, fast.median), "ratio", None,
               {"reference_s_extrapolated": slow_full, "reference_subset_s": slow_sub.median,
                "extrapolation": f"reference timed on {subset['subset_spokes']} spokes "
                                 f"(complete 1-rings), scaled by {scale:.1f} to all spokes",
                "ours_s": fast.median, **subset, **shape}),
        Record(name, "fwd+bwd speed-up over the per-edge reference (same subset)",
               ratio(slow_sub.median, fast_sub.median), "ratio", None,
               {"reference_s": slow_sub.median, "ours_s": fast_sub.as_dict(), **subset, **shape}),
    ]  # fmt: skip
    lengths = edge_lengths(mesh, positions.to(torch.float64)).to(context.device)
    on_device = mesh if context.device == "cpu" else mesh.to(context.device)
    on_device.vertex_rings  # noqa: B018  (built once, outside the timing)

    def gauge_step():
        ell = lengths.detach().requires_grad_()
        g = mesh_gauge(on_device, ell, validate=False)
        (g.log_angle.sin().sum() + g.transport.cos().sum() + g.radius.sum()).backward()

    gauge_time = time_callable(gauge_step, context.repeat)
    records.append(Record(name, "gauge from the metric fwd+bwd time", gauge_time.median, "s", None,
                          {"s": gauge_time.as_dict(), **shape, "dtype": "float64"}))  # fmt: skip
    measure_memory = not context.quick and (
        context.device.startswith("cuda") or Path("/proc/self/clear_refs").exists()
    )
    major, minor = MEMORY_TORUS
    torus_shape = {"mesh": f"torus {major} x {minor}", "vertices": major * minor,
                   "spokes": 6 * major * minor, "channels": IRREPS.dim}  # fmt: skip
    if measure_memory:
        step = torus_step(context.seed, context.device)
        torus_time = time_callable(step, context.repeat)
        del step
        peak = peak_memory_mib(
            "gdl_zoo.gauges.bench_speed:torus_step", [context.seed], context.device
        )
        records += [
            Record("torus 100k", "GEM conv fwd+bwd peak memory", peak, "MiB", None,
                   {**torus_shape, "bytes_per_spoke_channel":
                    peak * 2**20 / (torus_shape["spokes"] * IRREPS.dim)}),
            Record("torus 100k", "GEM conv fwd+bwd time", torus_time.median, "s", None,
                   {"s": torus_time.as_dict(), **torus_shape}),
        ]  # fmt: skip
    else:
        skipped = {"skipped": "quick mode: peak memory at 100k vertices in full runs only"}
        records.append(Record("torus 100k", "GEM conv fwd+bwd peak memory", math.nan, "MiB",
                              None, skipped))  # fmt: skip
    return records
