"""The basis build-time suite: records (stub builder) and one real build in a fresh process."""

import importlib.util
import math

import pytest

from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.groups import bench_steerable
from gdl_zoo.groups.bench_steerable import VARIANTS, BasisConfig, basis_build_time

TINY = BasisConfig("C4", 4, False, kernel_size=3, fields=1)


def test_records_per_configuration_and_variant(monkeypatch):
    monkeypatch.setattr(bench_steerable, "_escnn_available", lambda: True)
    calls = []

    def stub(config, builder, cache):
        calls.append((config.label, builder, cache))
        seconds = {"escnn": 2.0, "ours": 0.5 if cache else 2.5}[builder]
        return {"seconds": seconds, "params": 7, "escnn_version": "x", "escnn_cache_files": 0}

    monkeypatch.setattr(bench_steerable, "_measure", stub)
    records = basis_build_time(BenchContext(quick=False, repeat=2), configs=(TINY,))
    assert len(calls) == 2 * len(VARIANTS)
    assert [c[1] for c in calls[:4]] == ["escnn", "ours", "ours", "ours"]
    assert calls[2][2] == calls[3][2] is not None and calls[1][2] is None  # miss, then hit
    assert all(isinstance(r, Record) and r.name == "C4 regular 3x3" for r in records)
    metrics = [r.metric for r in records]
    assert metrics == [f"build time, {label}" for label, _, _ in VARIANTS] + [
        "speed-up of the cache hit over escnn R2Conv"
    ]
    assert records[-1].value == pytest.approx(4.0) and records[-1].unit == "ratio"
    assert records[0].details["repeats"] == 2 and records[0].details["params"] == 7


def test_without_escnn_every_record_says_why(monkeypatch):
    monkeypatch.setattr(bench_steerable, "_escnn_available", lambda: False)
    records = basis_build_time(BenchContext(quick=True))
    assert len(records) == len(VARIANTS)
    assert all(math.isnan(r.value) and "gdl-zoo[escnn]" in r.details["skipped"] for r in records)


@pytest.mark.skipif(importlib.util.find_spec("escnn") is None, reason="escnn is an optional extra")
def test_one_real_build_in_a_fresh_process(tmp_path):
    result = bench_steerable._measure(TINY, "ours", str(tmp_path))
    assert result["seconds"] > 0 and result["params"] > 0 and result["escnn_cache_files"] >= 0
    assert len(list(tmp_path.glob("escnn-r2-basis-*.pt"))) == 1
