"""Figures are drawn from the records of results.json, one kind per record convention."""

import math

import pytest

from gdl_zoo.bench.plots import curve_records, write_figures


def _suite(name, kind, records):
    return {"name": name, "kind": kind, "records": records}


def _record(name, metric, value, unit, passed=None, **details):
    return {
        "name": name,
        "metric": metric,
        "value": value,
        "unit": unit,
        "passed": passed,
        "details": details,
    }


def sample_results():
    """A results.json object with every record convention the plots know."""
    symmetry = [
        _record(
            "exact", "equivariance error (float64)", 0.0, "relative error", True, tolerance=1e-10
        ),
        _record(
            "exact", "equivariance error (float32)", 3e-7, "relative error", True, tolerance=1e-4
        ),
        _record(
            "broken", "equivariance error (float64)", 0.5, "relative error", False, tolerance=1e-10
        ),
        _record("skipped", "equivariance error (float64)", None, "relative error", None),
    ]
    speed = [
        _record("conv", "fwd+bwd time ratio", 1.1, "ratio"),
        _record("gcn", "peak memory ratio", 0.8, "ratio"),
        _record("conv", "fwd+bwd time", 0.01, "s"),
    ]
    accuracy = [
        _record(
            "cnn",
            "test accuracy",
            50.0,
            "%",
            curve={"x": [0, 45, 90], "y": [90, 40, 88], "x_label": "angle"},
        ),
        _record("p4cnn", "test accuracy", 90.0, "%", curve={"x": [0, 45, 90], "y": [95, 80, None]}),
        _record("bad", "test accuracy", 1.0, "%", curve={"x": [0, 1], "y": [1.0]}),
    ]
    return {
        "suites": [
            _suite("symmetry", "symmetry", symmetry),
            _suite("d.speed", "speed", speed),
            _suite("d.rotation", "accuracy", accuracy),
        ]
    }


def test_every_record_convention_gives_its_figure(tmp_path):
    figures = write_figures(sample_results(), tmp_path)
    names = [f.filename for f in figures]
    assert names == ["equivariance.png", "speed_ratios.png", "curve_d_rotation_test_accuracy.png"]
    for figure in figures:
        data = (tmp_path / figure.filename).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
        assert figure.title and figure.caption


def test_curves_with_mismatched_lengths_are_left_out():
    groups = curve_records(sample_results())
    assert list(groups) == [("d.rotation", "test accuracy")]
    assert [r["name"] for r in groups[("d.rotation", "test accuracy")]] == ["cnn", "p4cnn"]


def test_no_records_no_figures(tmp_path):
    empty = {"suites": [_suite("d.speed", "speed", [_record("x", "t", math.nan, "s")])]}
    assert write_figures(empty, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [0.0, 1e-30])
def test_errors_below_the_log_floor_are_still_drawn(tmp_path, value):
    data = {
        "suites": [
            _suite("symmetry", "symmetry", [_record("m", "e", value, "relative error", True)])
        ]
    }
    assert [f.filename for f in write_figures(data, tmp_path)] == ["equivariance.png"]


def test_a_curve_names_its_y_axis_when_y_is_not_the_metric(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    labels = []
    monkeypatch.setattr(Axes, "set_ylabel", lambda self, label, **kw: labels.append(label))
    curve = {"x": [0.0, 1.0], "y": [2.0, 3.0], "x_label": "position", "y_label": "test loss"}
    record = _record("FIP", "barrier", 1.0, "nats", curve=curve)
    data = {"suites": [_suite("d.path", "accuracy", [record])]}
    write_figures(data, tmp_path)
    del curve["y_label"]
    write_figures(data, tmp_path)
    assert labels == ["test loss", "barrier (nats)"]
