"""The weightspace bench suites: well-formed records, curves, the memory tracker (no timing)."""

import math

import pytest
import torch

from gdl_zoo.bench.suites import _SUITES, SUITE_MODULES, BenchContext
from gdl_zoo.weightspace.bench import (
    _LiveStorageBytes,
    continual_learning,
    metric_cost,
    mode_connectivity,
    sparsification_accuracy,
)

QUICK = BenchContext(quick=True)


def test_the_four_suites_are_registered():
    assert "gdl_zoo.weightspace.bench" in SUITE_MODULES
    for name in ("metric_cost", "sparsification", "continual", "mode_connectivity"):
        suite = _SUITES[f"weightspace.{name}"]
        assert suite.domain == "weightspace" and suite.in_quick_run


def test_memory_tracker_counts_each_storage_once_while_it_lives():
    base = torch.zeros(10)
    with _LiveStorageBytes() as tracker:
        a = torch.empty(1000)  # 4000 bytes
        views = [a.view(10, 100), a[:10], a.t() if a.dim() == 2 else a.reshape(1000)]
        base.view(2, 5)  # a view of a tensor made before: no new memory
        assert tracker.live == 4000
        b = torch.empty(500)
        del b
        assert tracker.live == 4000 and tracker.peak == 6000
        del a, views
        assert tracker.live == 0
    assert tracker.peak == 6000


def test_metric_cost_records():
    records = metric_cost(QUICK)
    timing = [r for r in records if r.metric == "time / fwd+bwd"]
    memory = [r for r in records if r.metric == "peak memory / parameter bytes"]
    assert len(timing) == 4 and len(memory) == 4
    # timing is a measurement, never a failed check of the run
    assert all(r.passed is None and r.value > 0 for r in timing)
    assert all(r.details["meets_goal"] == (r.value <= r.details["goal"]) for r in timing)
    for r in memory:
        # O(P): a few parameter copies, far below the dense Jacobian
        assert 1.0 < r.value < 10.0
        assert r.details["peak_bytes"] < r.details["dense_jacobian_bytes"] / 20


def _curves(records):
    return [r for r in records if "curve" in r.details]


def test_sparsification_records_and_path_curve():
    records = sparsification_accuracy(QUICK)
    assert [r.name for r in records] == [
        "90% sparse: one-shot magnitude",
        "90% sparse: magnitude + fine-tune",
        "90% sparse: FIP",
    ]
    assert all(0.0 <= r.value <= 100.0 for r in records)
    (fip,) = _curves(records)
    curve = fip.details["curve"]
    assert len(curve["x"]) == len(curve["y"]) and curve["y"][-1] == fip.value
    assert [r.value for r in sparsification_accuracy(QUICK)] == [r.value for r in records]


def test_continual_and_mode_connectivity_records():
    records = continual_learning(QUICK)
    assert [r.name for r in records] == ["fine-tune", "EWC", "replay", "FIP"]
    for r in records:
        assert r.details["curve"]["x"] == [1, 2, 3, 4, 5]
        assert r.value == pytest.approx(sum(r.details["per_task_final"]) / 5)
    records = mode_connectivity(QUICK)
    barriers = [r for r in records if r.metric == "loss barrier"]
    accuracy = [r for r in records if r.metric == "lowest test accuracy along the path"]
    assert [r.name for r in barriers] == ["linear", "Bézier", "FIP"] == [r.name for r in accuracy]
    assert all(r.value >= 0 and math.isfinite(r.value) for r in barriers)
    for r in accuracy:
        assert r.value == min(r.details["curve"]["y"])
        assert r.details["curve"]["x"][0] == 0.0 and r.details["curve"]["x"][-1] == 1.0
