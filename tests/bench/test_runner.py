"""The bench runner: independent suites, failures reported, JSON without NaN, Markdown tables."""

import json
import math

import pytest
import torch

from gdl_zoo.bench.runner import run_suites, to_json, write_record, write_report
from gdl_zoo.bench.suites import (
    BenchContext,
    Record,
    Suite,
    get_suite,
    list_suites,
    ratio,
    register_suite,
    select_suites,
    time_callable,
)
from gdl_zoo.bench.tables import to_markdown


def _suite(name, run, kind="speed"):
    return Suite(name=name, domain="test", kind=kind, run=run, description="a test suite")


def test_failing_suite_is_reported_and_others_continue(tmp_path):
    def boom(context):
        raise RuntimeError("deliberate failure")

    def fine(context):
        return [Record("layer", "time", 0.5, "s", details={"nan": math.nan})]

    run = run_suites([_suite("t.boom", boom), _suite("t.fine", fine)], BenchContext(), False)
    assert not run.ok
    assert "deliberate failure" in run.results[0].error
    assert run.results[1].records[0].value == 0.5
    report = write_report(run, tmp_path / "out")
    data = json.loads(report.json.read_text())
    assert data["suites"][1]["records"][0]["details"]["nan"] is None
    assert "Suite failed" in report.markdown.read_text()
    assert "deliberate failure" in report.html.read_text()


def test_failed_check_makes_the_run_not_ok():
    def check(context):
        return [Record("m", "equivariance error", 1.0, "relative error", passed=False)]

    run = run_suites([_suite("t.check", check, kind="symmetry")], BenchContext(), False)
    assert not run.ok
    assert "**FAIL**" in to_markdown(to_json(run))


def test_suite_registry_and_lookup():
    names = [s.name for s in list_suites()]
    assert {"symmetry", "grids.speed", "grids.time_warp"} <= set(names)
    assert get_suite("grids.speed").kind == "speed"
    with pytest.raises(KeyError, match="did you mean"):
        get_suite("grids.sped")
    with pytest.raises(ValueError, match="already registered"):
        register_suite(get_suite("symmetry"))
    with pytest.raises(ValueError, match="kind"):
        Suite(name="x", domain="d", kind="vibes", run=lambda c: [])


def test_select_suites_quick_run_and_all():
    quick = {s.name for s in select_suites(None, quick=True)}
    full = {s.name for s in select_suites([], quick=False)}
    assert "groups.rotated_mnist" in full and "groups.rotated_mnist" not in quick
    assert quick < full and {s.name for s in select_suites(["all"], quick=True)} == full
    assert [s.name for s in select_suites(["groups.rotated_mnist"], True)] == [
        "groups.rotated_mnist"
    ]
    with pytest.raises(KeyError, match="did you mean"):
        select_suites(["grids.sped"], quick=False)


def test_time_callable_and_ratio():
    calls = []
    timing = time_callable(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5
    assert 0 <= timing.min <= timing.median <= timing.max
    assert ratio(2.0, 1.0) == 2.0 and math.isnan(ratio(1.0, 0.0))
    with pytest.raises(ValueError, match="repeat"):
        time_callable(lambda: None, repeat=0)


def test_each_completed_suite_is_saved_as_its_own_record(tmp_path):
    def fine(context):
        return [Record("layer", "time", 0.25, "s")]

    def boom(context):
        raise RuntimeError("deliberate failure")

    records = tmp_path / "records"
    (records / "t.boom").mkdir(parents=True)
    (records / "t.boom" / "results.json").write_text("the good old record")
    saved = []

    def save(run_so_far, result):
        saved.append((len(run_so_far.results), write_record(run_so_far, result, records)))

    run = run_suites(
        [_suite("t.fine", fine), _suite("t.boom", boom)], BenchContext(seed=7), False, save
    )
    assert [n for n, _ in saved] == [1, 2]  # called after each suite, with the run so far
    files = saved[0][1]
    assert files.html is None and files.json == records / "t.fine" / "results.json"
    data = json.loads(files.json.read_text())
    assert [s["name"] for s in data["suites"]] == ["t.fine"]
    assert data["started"] == run.started and data["context"]["seed"] == 7
    assert data["machine"]["libraries"]["torch"] == torch.__version__
    assert "0.25" in (records / "t.fine" / "report.md").read_text()
    assert saved[1][1] is None  # the failed suite wrote nothing ...
    assert (records / "t.boom" / "results.json").read_text() == "the good old record"  # ... kept
