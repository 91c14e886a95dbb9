"""Run benchmark suites independently and write their report (JSON, Markdown, HTML, PNGs)."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import math
import os
import platform
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

import gdl_zoo
from gdl_zoo.bench.html_report import to_html
from gdl_zoo.bench.plots import Figure, write_figures
from gdl_zoo.bench.suites import BenchContext, Record, Suite
from gdl_zoo.bench.tables import to_markdown

__all__ = [
    "SuiteResult",
    "BenchRun",
    "ReportFiles",
    "run_suites",
    "machine_info",
    "to_json",
    "RESULTS_SCHEMA_PATH",
    "SCHEMA_VERSION",
    "write_report",
    "write_record",
]

#: Version of the results.json layout; bumped when a field changes meaning or disappears.
SCHEMA_VERSION = 2

#: The JSON Schema (draft 2020-12) that every ``results.json`` satisfies.
RESULTS_SCHEMA_PATH = Path(__file__).with_name("results.schema.json")

#: Libraries whose installed versions a report names (read from metadata, never imported).
LIBRARIES = ("torch", "torch_geometric", "e3nn", "escnn", "numpy", "scipy", "trimesh", "libigl")


@dataclass(frozen=True)
class SuiteResult:
    """The records of one suite, or the error that stopped it.

    Attributes:
        suite: the suite that ran.
        records: its measurements (empty when it failed).
        seconds: wall time of the suite.
        error: ``None``, or the exception text and traceback.
        load_average: the machine's 1-, 5- and 15-minute load averages when the
            suite started (how many processes competed for the CPUs), ``None``
            where the platform does not report them.
    """

    suite: Suite
    records: tuple[Record, ...]
    seconds: float
    error: str | None = None
    load_average: tuple[float, float, float] | None = None

    @property
    def failed_checks(self) -> list[Record]:
        """Records of checks that did not hold."""
        return [r for r in self.records if r.passed is False]


@dataclass(frozen=True)
class BenchRun:
    """Everything one ``gdl-zoo bench`` run measured."""

    context: BenchContext
    results: tuple[SuiteResult, ...]
    started: str

    @property
    def ok(self) -> bool:
        """No suite crashed and every symmetry check held."""
        return all(r.error is None and not r.failed_checks for r in self.results)


def run_suites(
    suites: Sequence[Suite],
    context: BenchContext,
    progress: bool = True,
    on_result: Callable[[BenchRun, SuiteResult], None] | None = None,
) -> BenchRun:
    """Run each suite in turn; a suite that raises is recorded and the rest continue.

    Args:
        suites: what to run, in order.
        context: the settings shared by every suite.
        progress: show a progress bar.
        on_result: called as ``on_result(run_so_far, result)`` after each suite, so
            that a long run can save each suite's record as soon as it exists.
    """
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    results = []
    bar = tqdm(suites, desc="gdl-zoo bench", unit="suite", disable=not progress)
    for suite in bar:
        bar.set_postfix_str(suite.name)
        load = _load_average()
        start = time.perf_counter()
        try:
            records = tuple(suite.run(context))
            error = None
        except Exception:  # noqa: BLE001 — one failing suite must not stop the others
            records, error = (), traceback.format_exc()
        seconds = time.perf_counter() - start
        results.append(SuiteResult(suite, records, seconds, error, load))
        if on_result is not None:
            on_result(BenchRun(context, tuple(results), started), results[-1])
    return BenchRun(context, tuple(results), started)


def _load_average() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages, ``None`` where the platform has none."""
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except (AttributeError, OSError):
        return None


def machine_info() -> dict[str, object]:
    """The machine and library versions a result was measured with."""
    info: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gdl_zoo": gdl_zoo.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "libraries": {name: _version(name) for name in LIBRARIES},
    }
    return info


def _version(distribution: str) -> str | None:
    """The installed version of ``distribution``, ``None`` when it is not installed."""
    try:
        return importlib.metadata.version(distribution.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return None


def _json_value(value):
    """``value`` with non-finite floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def to_json(run: BenchRun) -> dict:
    """The ``results.json`` object of ``run``, valid against :data:`RESULTS_SCHEMA_PATH`."""
    context = dataclasses.asdict(run.context)
    context["data_dir"] = None if run.context.data_dir is None else str(run.context.data_dir)
    return {
        "schema_version": SCHEMA_VERSION,
        "started": run.started,
        "machine": machine_info(),
        "context": context,
        "ok": run.ok,
        "suites": [
            {
                "name": r.suite.name,
                "domain": r.suite.domain,
                "kind": r.suite.kind,
                "description": r.suite.description,
                "seconds": r.seconds,
                "load_average": None if r.load_average is None else list(r.load_average),
                "error": r.error,
                "records": [_json_value(dataclasses.asdict(rec)) for rec in r.records],
            }
            for r in run.results
        ],
    }


@dataclass(frozen=True)
class ReportFiles:
    """Where :func:`write_report` put a run's report.

    Attributes:
        json: ``results.json``, the source of everything else.
        markdown: ``report.md`` (tables, figures linked).
        html: ``report.html`` (tables, figures embedded; self-contained), or
            ``None`` when none was asked for.
        figures: the PNGs drawn from the records.
    """

    json: Path
    markdown: Path
    html: Path | None
    figures: tuple[Figure, ...]


def write_report(run: BenchRun, out: Path, html: bool = True) -> ReportFiles:
    """Write ``results.json``, the PNG figures, ``report.md`` and ``report.html`` into ``out``.

    The figures and both reports are rendered from the JSON object that is
    written, so they cannot disagree with it.  With ``html=False`` no
    ``report.html`` is written (:attr:`ReportFiles.html` is then ``None``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = to_json(run)
    json_path = out / "results.json"
    json_path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    figures = tuple(write_figures(data, out))
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(to_markdown(data, list(figures)) + "\n")
    if not html:
        return ReportFiles(json_path, md_path, None, figures)
    html_path.write_text(to_html(data, list(figures), out))
    return ReportFiles(json_path, md_path, html_path, figures)


def write_record(run: BenchRun, result: SuiteResult, records: Path) -> ReportFiles | None:
    """Save one suite's record as ``records/<suite name>/``, the layout of ``benchmarks/results``.

    The record is a report of that suite alone (``results.json``, ``report.md``,
    its PNGs; no HTML), naming the run's machine, library versions, start date
    and settings.  A suite that raised leaves an existing record untouched and
    returns ``None``, so a failed re-run never replaces a good record.

    Args:
        run: the run the suite belongs to (its context and start date are used).
        result: the suite's outcome.
        records: the folder holding one subfolder per suite.
    """
    if result.error is not None:
        return None
    folder = Path(records) / result.suite.name
    if folder.exists():
        for stale in folder.glob("*.png"):
            stale.unlink()
    return write_report(BenchRun(run.context, (result,), run.started), folder, html=False)
