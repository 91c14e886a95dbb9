"""Run benchmark suites independently and write ``results.json`` and ``report.md``."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

import gdl_zoo
from gdl_zoo.bench.suites import BenchContext, Record, Suite

__all__ = ["SuiteResult", "BenchRun", "run_suites", "write_report", "machine_info"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SuiteResult:
    """The records of one suite, or the error that stopped it.

    Attributes:
        suite: the suite that ran.
        records: its measurements (empty when it failed).
        seconds: wall time of the suite.
        error: ``None``, or the exception text and traceback.
    """

    suite: Suite
    records: tuple[Record, ...]
    seconds: float
    error: str | None = None

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


def run_suites(suites: Sequence[Suite], context: BenchContext, progress: bool = True) -> BenchRun:
    """Run each suite in turn; a suite that raises is recorded and the rest continue."""
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    results = []
    bar = tqdm(suites, desc="gdl-zoo bench", unit="suite", disable=not progress)
    for suite in bar:
        bar.set_postfix_str(suite.name)
        start = time.perf_counter()
        try:
            records = tuple(suite.run(context))
            error = None
        except Exception:  # noqa: BLE001 — one failing suite must not stop the others
            records, error = (), traceback.format_exc()
        results.append(SuiteResult(suite, records, time.perf_counter() - start, error))
    return BenchRun(context, tuple(results), started)


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
    }
    return info


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
    """The documented ``results.json`` object (see ``docs``/README for the schema)."""
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
                "seconds": r.seconds,
                "error": r.error,
                "records": [_json_value(dataclasses.asdict(rec)) for rec in r.records],
            }
            for r in run.results
        ],
    }


def _format(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def to_markdown(run: BenchRun) -> str:
    """A Markdown report: one table per suite, failures first-class."""
    lines = [f"# gdl-zoo bench ({run.started})", ""]
    machine = machine_info()
    lines.append(
        f"Machine: {machine['platform']}, {machine['cpu_count']} CPUs, torch {machine['torch']}, "
        f"gdl_zoo {machine['gdl_zoo']}; seed {run.context.seed}, repeat {run.context.repeat}, "
        f"device {run.context.device}, quick {run.context.quick}."
    )
    lines.append("")
    for r in run.results:
        lines += [f"## {r.suite.name} ({r.suite.kind}, {r.seconds:.1f} s)", ""]
        if r.suite.description:
            lines += [r.suite.description, ""]
        if r.error is not None:
            last = r.error.strip().splitlines()[-1]
            lines += [f"**Suite failed:** `{last}`", ""]
            continue
        lines += ["| name | metric | value | unit | check |", "|---|---|---|---|---|"]
        for rec in r.records:
            check = {None: "", True: "pass", False: "**FAIL**"}[rec.passed]
            lines.append(
                f"| {rec.name} | {rec.metric} | {_format(rec.value)} | {rec.unit} | {check} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_report(run: BenchRun, out: Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``report.md`` into ``out`` (created if missing)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "results.json", out / "report.md"
    json_path.write_text(json.dumps(to_json(run), indent=2, allow_nan=False) + "\n")
    md_path.write_text(to_markdown(run) + "\n")
    return json_path, md_path
