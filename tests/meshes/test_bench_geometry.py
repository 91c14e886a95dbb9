"""The geometry benchmark suites: registered, records on small inputs, skipping without data."""

import math
import os
import sys
from pathlib import Path

import pytest
import torch

from gdl_zoo.bench.suites import BenchContext, get_suite
from gdl_zoo.meshes import bench_geometry as B
from gdl_zoo.meshes.geodesics import HeatGeodesics

DATA = os.environ.get("GDL_ZOO_DATA")


def test_suites_are_registered():
    assert get_suite("meshes.laplacian_assembly").run is B.laplacian_assembly
    assert get_suite("meshes.metric_fitting").run is B.metric_fitting
    assert get_suite("meshes.metric_fitting").kind == "accuracy"


def test_full_assembly_run_without_data_skips(tmp_path):
    for data_dir in (None, tmp_path):
        records = B.laplacian_assembly(BenchContext(quick=False, data_dir=data_dir))
        assert records and all(math.isnan(r.value) and "skipped" in r.details for r in records)


def test_quick_assembly_run_matches_libigl_on_an_icosphere():
    pytest.importorskip("igl")
    records = B.laplacian_assembly(BenchContext(quick=True, repeat=1))
    by_metric = {(r.name, r.metric): r for r in records}
    for metric in ("max |L − (−cotmatrix)|", "max |M − massmatrix|"):
        record = by_metric[("ours (from lengths)", metric)]
        assert record.passed and record.value < 1e-10
    assert all(r.details["mesh"].startswith("icosphere(5)") for r in records)
    ratio = by_metric[("ours (from lengths)", "time ratio vs libigl")]
    assert ratio.value > 0 and ratio.details["goal"] == 2.0  # timing itself is not checked


@pytest.mark.skipif(DATA is None or not (Path(DATA) / B.ARMADILLO).is_file(), reason="no armadillo")
def test_armadillo_values_match_libigl():
    pytest.importorskip("igl")
    records = B.laplacian_assembly(BenchContext(repeat=1, data_dir=Path(DATA)))
    diffs = [r for r in records if r.metric.startswith("max |")]
    assert len(diffs) == 2 and all(r.passed and r.value < 1e-10 for r in diffs)
    assert records[0].details["F"] == 86482


def test_round_sphere_problem_is_realisable():
    problem = B.round_sphere_problem(1, 0.1, 2, 20, torch.Generator().manual_seed(0))
    assert problem.train_pairs.shape == (20, 2)
    assert problem.test_pairs.shape == (2 * (problem.mesh.num_vertices - 1), 2)
    train_sources = set(problem.train_pairs[:, 0].tolist())
    assert not train_sources & set(problem.test_pairs[:, 0].tolist())  # held out: other sources
    sources = problem.test_pairs[:, 0]
    d = HeatGeodesics(problem.mesh, problem.clean)(sources)[
        torch.arange(len(sources)), problem.test_pairs[:, 1]
    ]
    assert torch.allclose(d, problem.test_targets, atol=1e-12)
    assert not torch.allclose(problem.noisy, problem.clean, rtol=0.01)


def test_quick_metric_fitting_sweep_shows_the_complexity_term_helps():
    """The λ sweep: a small Calabi weight lowers the held-out distance error below λ = 0."""
    records = B.metric_fitting(BenchContext(quick=True))
    held_out = {
        r.details["lambda"]: r.value
        for r in records
        if r.metric == "held-out distance RMSE" and "lambda" in r.details
    }
    assert set(held_out) == {0.0, 1e-4, 1e-3}
    assert held_out[1e-4] < 0.5 * held_out[0.0]
    (summary,) = [r for r in records if r.metric == "best held-out RMSE / RMSE at λ=0"]
    assert summary.passed and summary.value < 0.5
    start = next(r.value for r in records if r.name == "noisy start")
    assert held_out[0.0] < start  # fitting the given pairs helps the others too, a little


def test_missing_libigl_skips_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "igl", None)  # makes `import igl` raise ImportError
    records = B.laplacian_assembly(BenchContext(quick=True, repeat=1))
    assert records and all("pip install libigl" in r.details["skipped"] for r in records)
