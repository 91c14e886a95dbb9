"""Tests of the time-warp accuracy suite (structure only; accuracy is a benchmark's job)."""

import math

import pytest
import torch

from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.grids.bench_time_warp import CURVE_METRIC, RecurrentClassifier, time_warp_accuracy

MODELS = {"gated_rnn (chrono)", "tanh_rnn", "chrono_lstm"}


def _tiny(seed=0):
    context = BenchContext(seed=seed, quick=True)
    return time_warp_accuracy(context, steps=2, max_warps=(1, 3), length=3, test_size=16)


def test_tiny_run_returns_well_formed_records():
    state = torch.get_rng_state()
    records = _tiny()
    assert torch.equal(torch.get_rng_state(), state)  # no global seeding side effect
    curves = [r for r in records if r.metric == CURVE_METRIC]
    records = [r for r in records if r.metric != CURVE_METRIC]
    assert sorted(c.name for c in curves) == sorted(MODELS)
    for curve in curves:
        points = curve.details["curve"]
        assert points["x"] == [1, 3]
        assert points["y"] == [r.value for r in records if r.name == curve.name]
        assert curve.value == pytest.approx(sum(points["y"]) / 2)
    assert len(records) == 2 * len(MODELS)
    assert {(r.name, r.metric) for r in records} == {
        (name, f"test accuracy, max warp {w}") for name in MODELS for w in (1, 3)
    }
    for record in records:
        assert isinstance(record, Record)
        assert record.unit == "%" and record.passed is None
        assert 0.0 <= record.value <= 100.0 and math.isfinite(record.value)
        details = record.details
        assert details["steps"] == 2 and details["test_size"] == 16 and details["length"] == 3
        assert details["seq_len"] == 3 * int(record.metric.rsplit(" ", 1)[1])
        assert math.isfinite(details["final_train_loss"]) and details["train_seconds"] >= 0
        assert (details["chrono_tmax"] is None) == (record.name == "tanh_rnn")
    params = [r.details["params"] for r in records]
    assert max(params) < 1.15 * min(params)  # similar model sizes


def test_tiny_run_is_reproducible_from_seed():
    values = [r.value for r in _tiny(seed=3)]
    assert values == [r.value for r in _tiny(seed=3)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps: expected a positive integer, got 0"),
        ({"max_warps": ()}, r"max_warps: expected at least one warp factor, got \(\)"),
        ({"max_warps": (1, 0)}, "max_warps entry: expected a positive integer, got 0"),
        ({"test_size": -1}, "test_size: expected a positive integer, got -1"),
    ],
)
def test_rejects_bad_budget(kwargs, match):
    with pytest.raises(ValueError, match=match):
        time_warp_accuracy(BenchContext(quick=True), **kwargs)


def test_recurrent_classifier_heads_torch_rnns():
    z = torch.randn(2, 5, 3)
    for rnn in (torch.nn.RNN(3, 4, batch_first=True), torch.nn.LSTM(3, 4, 2, batch_first=True)):
        assert RecurrentClassifier(rnn, 4, 6)(z).shape == (2, 6)
