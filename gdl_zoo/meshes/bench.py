"""Benchmark suites of the meshes domain.

Importing this module registers the suites of :mod:`gdl_zoo.meshes.bench_geometry`
(operator assembly against libigl, metric fitting) and
:mod:`gdl_zoo.meshes.bench_layers` (diffusion cost, the shape task).
"""

from __future__ import annotations

from gdl_zoo.meshes import bench_geometry, bench_layers  # noqa: F401  (registers the suites)

__all__: list[str] = []
