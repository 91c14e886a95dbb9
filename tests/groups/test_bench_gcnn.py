"""Tests of the G-CNN benchmark suites (structure only; numbers are a benchmark's job)."""

import math
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.groups import bench_gcnn
from gdl_zoo.groups.bench_gcnn import (
    CURVE_ANGLES,
    gconv_speed,
    rotated_mnist_accuracy,
    rotation_curve,
)

DATA = os.environ.get("GDL_ZOO_DATA")
HAVE_MNIST = DATA is not None and (Path(DATA) / "mnist").is_dir()


def _tiny_speed(**kwargs):
    return gconv_speed(BenchContext(repeat=1, quick=True), batch_size=2, size=6, fields=2, **kwargs)


def test_speed_records_compare_with_conv2d_and_escnn():
    records = _tiny_speed()
    assert all(isinstance(r, Record) for r in records)
    for group in ("C4", "D4"):
        mine = {r.metric: r for r in records if r.name == f"GroupConv {group}"}
        assert set(mine) == {
            "fwd+bwd time",
            "time ratio vs nn.Conv2d",
            "time ratio vs escnn R2Conv",
            "build time",
        }
        ratio = mine["time ratio vs nn.Conv2d"]
        assert ratio.unit == "ratio" and ratio.value > 0
        assert ratio.details["goal"] == bench_gcnn.SPEED_GOAL
        assert ratio.details["meets_goal"] == (ratio.value <= bench_gcnn.SPEED_GOAL)
        plain = next(r for r in records if r.name == f"nn.Conv2d ({group} sizes)")
        assert plain.metric == "fwd+bwd time" and plain.value > 0
        channels = 2 * (4 if group == "C4" else 8)
        assert plain.details["input"] == f"2×{channels}×6×6, k=3"
    builds = [r for r in records if r.metric == "basis build time"]
    assert len(builds) == 2
    escnn_present = not any("skipped" in r.details for r in builds)
    assert all(math.isfinite(r.value) == escnn_present for r in builds)


def test_speed_without_escnn_skips_its_records(monkeypatch):
    monkeypatch.setattr(bench_gcnn, "_escnn_conv", lambda group, fields, device: None)
    records = _tiny_speed()
    skipped = [r for r in records if "skipped" in r.details]
    assert {r.metric for r in skipped} == {"time ratio vs escnn R2Conv", "basis build time"}
    assert all(math.isnan(r.value) and "pip install" in r.details["skipped"] for r in skipped)


@pytest.mark.parametrize("suite", [rotated_mnist_accuracy, rotation_curve])
def test_full_runs_skip_without_data(suite, tmp_path):
    (record,) = suite(BenchContext(quick=False, data_dir=None))
    assert math.isnan(record.value) and "GDL_ZOO_DATA" in record.details["skipped"]
    (record,) = suite(BenchContext(quick=False, data_dir=tmp_path))
    assert math.isnan(record.value) and str(tmp_path) in record.details["skipped"]


def test_quick_runs_fall_back_to_the_embedded_sample():
    context = BenchContext(quick=True, data_dir=None)
    records = rotated_mnist_accuracy(
        context, {"linear": _Linear}, epochs=1, train_size=32, test_size=16
    )
    assert len(records) == 4 and all(0.0 <= r.value <= 100.0 for r in records)
    assert all("embedded sample" in r.details["data"] for r in records)


def test_rotation_curve_of_p4cnn_repeats_every_quarter_turn():
    context = BenchContext(quick=True, data_dir=None)
    records = rotation_curve(context, {"linear": _Linear}, epochs=1, train_size=64, test_size=48)
    assert [r.name for r in records] == ["cnn", "p4cnn", "linear"]
    for record in records:
        curve = record.details["curve"]
        assert curve["x"] == list(CURVE_ANGLES) and len(curve["y"]) == len(CURVE_ANGLES)
        assert record.value == pytest.approx(sum(curve["y"]) / len(curve["y"]))
    p4 = dict(zip(CURVE_ANGLES, records[1].details["curve"]["y"]))
    assert p4[0] == p4[90] == p4[180] and p4[15] == p4[105] and p4[45] == p4[135]
    linear = dict(zip(CURVE_ANGLES, records[2].details["curve"]["y"]))
    assert linear[0] != linear[90]  # negative control: no quarter-turn invariance


class _Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


@pytest.mark.skipif(not HAVE_MNIST, reason="MNIST test set not found in GDL_ZOO_DATA")
def test_tiny_accuracy_run_is_well_formed():
    state = torch.get_rng_state()
    context = BenchContext(quick=True, data_dir=Path(DATA))
    records = rotated_mnist_accuracy(
        context, {"linear": _Linear}, epochs=1, train_size=64, test_size=32
    )
    assert torch.equal(torch.get_rng_state(), state)  # no global seeding side effect
    assert [r.name for r in records] == ["cnn", "z2cnn", "p4cnn", "linear"]
    for record in records:
        assert record.metric == "test error" and record.unit == "%"
        assert 0.0 <= record.value <= 100.0
        assert record.details["train_size"] == 64 and record.details["test_size"] == 32
        assert record.details["train_seconds"] >= 0 and record.details["params"] > 0
    params = {r.name: r.details["params"] for r in records}
    assert max(params["cnn"], params["z2cnn"], params["p4cnn"]) < 1.1 * min(
        params["cnn"], params["z2cnn"], params["p4cnn"]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs: expected a positive integer, got 0"),
        ({"train_size": 2400, "test_size": 200}, "at most the 2500"),
        ({"extra_models": {"p4cnn": _Linear}}, "expected a new name, got 'p4cnn'"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rotated_mnist_accuracy(BenchContext(quick=True), **kwargs)
