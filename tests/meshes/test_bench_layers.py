"""Tests of the meshes layer suites (structure and invariance of the pipeline; numbers are a
benchmark's job)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch

from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.meshes import bench_layers
from gdl_zoo.meshes.bench_layers import SHAPE_FILES, diffusion_cost, shape_task

DATA = os.environ.get("GDL_ZOO_DATA")
HAVE_MESHES = DATA is not None and all(
    (Path(DATA) / "meshes" / rel).is_file() for rel in SHAPE_FILES.values()
)
MODELS = ["mesh_diffusionnet", "mesh_transformer", "xyz_mlp", "diffusionnet_xyz"]


def test_diffusion_cost_records_times_ratios_and_memory(monkeypatch):
    monkeypatch.setitem(bench_layers.DIFFUSION_TORUS, "quick", (10, 8))
    records = diffusion_cost(BenchContext(quick=True, repeat=1))
    assert all(isinstance(r, Record) for r in records)
    by_metric = {(r.name, r.metric): r for r in records}
    ours, ref = "implicit diffusion", "bare SuperLU factor+solve (reference)"
    for metric in ("assembly time (M, L from lengths)", "fwd time", "fwd+bwd time"):
        record = by_metric[ours, metric]
        assert record.unit == "s" and record.value > 0 and record.details["min"] <= record.value
    fwd, both = by_metric[ours, "fwd time"].value, by_metric[ours, "fwd+bwd time"].value
    assert by_metric[ours, "fwd+bwd / fwd time"].value == pytest.approx(both / fwd)
    reference = by_metric[ref, "time"].value
    assert by_metric[ours, "fwd time ratio vs bare SuperLU"].value == pytest.approx(fwd / reference)
    details = by_metric[ours, "fwd time"].details
    assert details["vertices"] == 80 and details["faces"] == 160
    assert details["channels"] == bench_layers.DIFFUSION_CHANNELS
    assert details["gradients finite"] is True
    memory = by_metric[ours, "fwd+bwd peak memory"]
    assert memory.unit == "MiB" and math.isnan(memory.value)
    assert "quick" in memory.details["skipped"]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_full_diffusion_cost_measures_memory_in_fresh_processes(monkeypatch):
    monkeypatch.setitem(bench_layers.DIFFUSION_TORUS, "full", (10, 8))
    records = diffusion_cost(BenchContext(quick=False, repeat=1))
    by_metric = {(r.name, r.metric): r for r in records}
    ours = by_metric["implicit diffusion", "fwd+bwd peak memory"].value
    ref = by_metric["bare SuperLU factor+solve (reference)", "peak memory"].value
    assert ours > 0 and ref >= 0
    ratio = by_metric["implicit diffusion", "peak memory ratio vs bare SuperLU"].value
    assert math.isnan(ratio) if ref == 0 else ratio == pytest.approx(ours / ref)


def test_full_shape_task_skips_without_data(tmp_path):
    records = shape_task(BenchContext(quick=False, data_dir=None))
    assert [r.name for r in records] == MODELS
    assert all(math.isnan(r.value) and "GDL_ZOO_DATA" in r.details["skipped"] for r in records)
    records = shape_task(BenchContext(quick=False, data_dir=tmp_path))
    assert all(str(tmp_path) in r.details["skipped"] for r in records)


def test_quick_shape_task_separates_intrinsic_from_extrinsic_models(monkeypatch):
    monkeypatch.setattr(bench_layers, "QUICK", (1, 1, 1))
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    records = shape_task(BenchContext(quick=True))
    assert torch.equal(torch.get_rng_state(), state)  # no global seeding side effect
    assert torch.get_num_threads() == threads  # the single-threaded block restored it
    assert [r.name for r in records] == [m for m in MODELS for _ in range(2)]
    for record in records:
        assert record.unit == "%" and 0.0 <= record.value <= 100.0
        assert record.details["classes"] == ["sphere", "ellipsoid", "torus", "disc"]
        assert record.details["params"] > 0 and record.details["train_seconds"] >= 0
    change = {r.name: r.details["max relative logit change under the motions"] for r in records}
    # the intrinsic pipelines (features recomputed from moved, relabelled shapes) do not move;
    # the xyz ones do (negative control)
    assert change["mesh_diffusionnet"] < 1e-4 and change["mesh_transformer"] < 1e-4
    assert change["xyz_mlp"] > 1e-2 and change["diffusionnet_xyz"] > 1e-2
    accuracy = {(r.name, r.metric): r.value for r in records}
    for name in ("mesh_diffusionnet", "mesh_transformer"):
        assert accuracy[name, "test accuracy (random rigid motions)"] == accuracy[
            name, "test accuracy (canonical pose)"
        ]


def test_deformations_are_smooth_and_not_isometric():
    positions, mesh = bench_layers._quick_shapes()["sphere"]
    generator = torch.Generator().manual_seed(0)
    deformed = bench_layers._deform(positions, generator)
    from gdl_zoo.meshes.geometry import edge_lengths

    before, after = edge_lengths(mesh, positions), edge_lengths(mesh, deformed)
    stretch = after / before
    assert (stretch - 1).abs().max() > 0.02  # it changes the metric
    assert stretch.min() > 0.5 and stretch.max() < 2.0  # ...gently: no folded triangles


@pytest.mark.skipif(not HAVE_MESHES, reason="the shape-task meshes are not in GDL_ZOO_DATA")
def test_the_full_task_meshes_load_and_are_small():
    shapes = bench_layers._data_shapes(Path(DATA))
    assert list(shapes) == list(SHAPE_FILES)
    sizes = {name: mesh.num_vertices for name, (_, mesh) in shapes.items()}
    assert max(sizes.values()) <= 600 and min(sizes.values()) >= 100
