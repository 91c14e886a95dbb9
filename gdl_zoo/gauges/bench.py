"""Benchmark suites of the gauges domain: GEM conv speed and memory, the orientation task."""

from __future__ import annotations

from gdl_zoo.bench.suites import Suite, register_suite
from gdl_zoo.gauges.bench_orientation import orientation_task
from gdl_zoo.gauges.bench_speed import gem_speed

__all__: list[str] = []

register_suite(
    Suite(
        name="gauges.gem_speed",
        domain="gauges",
        kind="speed",
        run=gem_speed,
        description="GEM conv fwd+bwd on the armadillo vs the per-edge reference; "
        "peak memory at 100k vertices (quick: icosphere)",
    )
)

register_suite(
    Suite(
        name="gauges.orientation_task",
        domain="gauges",
        kind="accuracy",
        run=orientation_task,
        description="regress the gradient field of a signal on the sphere: "
        "gem_cnn vs mesh_diffusionnet vs GCN",
    )
)
