"""benchmarks/results: one record per suite, each written by ``gdl-zoo bench --records``.

The full run ``gdl-zoo bench --suite all --data-dir DIR --records benchmarks/results``
rewrites every record; these tests hold the recorded tree to what that command
writes: one folder per registered suite, each a valid ``results.json`` naming
its machine, library versions and date, and a ``report.md`` and PNGs rendered
from that JSON alone (no figure typed in by hand).
"""

import datetime
import json
from pathlib import Path

import pytest

from gdl_zoo.bench.plots import write_figures
from gdl_zoo.bench.runner import RESULTS_SCHEMA_PATH
from gdl_zoo.bench.suites import list_suites
from gdl_zoo.bench.tables import to_markdown

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RECORDS = sorted(p for p in (BENCHMARKS / "results").iterdir() if p.is_dir())


def _data(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def test_every_suite_has_one_record_and_every_record_a_suite():
    assert [p.name for p in RECORDS] == [s.name for s in list_suites()]
    loose = [p.name for p in (BENCHMARKS / "results").iterdir() if not p.is_dir()]
    assert loose == []


def test_the_readme_gives_the_one_command_that_rewrites_every_record():
    readme = (BENCHMARKS / "README.md").read_text()
    assert "gdl-zoo bench --suite all --data-dir ../shared/data --records benchmarks/results" in (
        readme
    )


@pytest.mark.parametrize("folder", RECORDS, ids=lambda p: p.name)
def test_a_record_names_its_machine_versions_and_date(folder):
    jsonschema = pytest.importorskip("jsonschema")
    data = _data(folder)
    jsonschema.Draft202012Validator(json.loads(RESULTS_SCHEMA_PATH.read_text())).validate(data)
    (suite,) = data["suites"]
    assert suite["name"] == folder.name
    assert suite["error"] is None and suite["records"]
    assert datetime.datetime.fromisoformat(data["started"]).year >= 2026
    machine = data["machine"]
    assert machine["platform"] and machine["cpu_count"] and machine["python"]
    assert machine["libraries"]["torch"] == machine["torch"]


@pytest.mark.parametrize("folder", RECORDS, ids=lambda p: p.name)
def test_a_record_report_is_rendered_from_its_json(folder, tmp_path):
    data = _data(folder)
    figures = write_figures(data, tmp_path)
    assert (folder / "report.md").read_text() == to_markdown(data, figures) + "\n"
    assert sorted(f.filename for f in figures) == sorted(p.name for p in folder.glob("*.png"))
