"""The meshes domain registers its layer suites with ``gdl-zoo bench``."""

from __future__ import annotations

from gdl_zoo.bench.suites import get_suite, list_suites, select_suites
from gdl_zoo.meshes import bench_layers


def test_layer_suites_are_registered_and_in_the_quick_run():
    names = {s.name for s in list_suites()}
    assert {"meshes.diffusion_cost", "meshes.shape_task"} <= names
    cost, task = get_suite("meshes.diffusion_cost"), get_suite("meshes.shape_task")
    assert (cost.domain, cost.kind, cost.run) == ("meshes", "speed", bench_layers.diffusion_cost)
    assert (task.domain, task.kind, task.run) == ("meshes", "accuracy", bench_layers.shape_task)
    quick = {s.name for s in select_suites(None, quick=True)}
    assert {"meshes.diffusion_cost", "meshes.shape_task"} <= quick
