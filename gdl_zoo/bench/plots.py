"""The figures of a bench report, drawn from its ``results.json`` object.

Every figure is computed from the records of a run (never from hard-coded
numbers), so the PNGs, ``report.md`` and ``report.html`` always agree with
``results.json``.  Three kinds of figure are drawn when their records exist:

- ``equivariance.png``: the relative equivariance error of every model that a
  suite of kind ``symmetry`` measured, on a log scale, with each model's
  tolerance marked;
- ``speed_ratios.png``: every record of unit ``"ratio"`` from suites of kind
  ``speed`` (time or memory of ours over the reference), with parity at 1;
- ``curve_<suite>_<metric>.png``: one line per record whose ``details`` hold a
  ``"curve"`` (``{"x": [...], "y": [...], "x_label": str}``, and a
  ``"y_label"`` when y is not the record's metric), grouped by suite and
  metric, e.g. accuracy against rotation angle or along a weight-space path.

Matplotlib is used through its object API (no ``pyplot`` state).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Figure", "curve_records", "write_figures"]

#: Errors below this are drawn at this value (a log axis cannot show zero).
ERROR_FLOOR = 1e-17


@dataclass(frozen=True)
class Figure:
    """One PNG of a report.

    Attributes:
        filename: file name inside the report folder, e.g. ``"equivariance.png"``.
        title: a short title.
        caption: one sentence saying what the figure shows.
    """

    filename: str
    title: str
    caption: str


def _records(data: dict, kind: str | None = None) -> Iterator[tuple[dict, dict]]:
    for suite in data["suites"]:
        if kind is None or suite["kind"] == kind:
            for record in suite["records"]:
                yield suite, record


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def curve_records(data: dict) -> dict[tuple[str, str], list[dict]]:
    """Records carrying a ``details["curve"]``, grouped by ``(suite, metric)``."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for suite, record in _records(data):
        curve = (record.get("details") or {}).get("curve")
        if curve and curve.get("x") and len(curve["x"]) == len(curve.get("y", ())):
            groups.setdefault((suite["name"], record["metric"]), []).append(record)
    return groups


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _equivariance(data: dict, out: Path) -> Figure | None:
    rows = [
        r
        for _, r in _records(data, "symmetry")
        if r["unit"] == "relative error" and r["value"] is not None and math.isfinite(r["value"])
    ]
    if not rows:
        return None
    names = list(dict.fromkeys(r["name"] for r in rows))
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    figure, axes = _new_figure(max(6.0, 0.45 * len(names) + 2), 4.2)
    width = 0.8 / len(metrics)
    tolerance_label = "tolerance"
    for k, metric in enumerate(metrics):
        xs, ys, tols, failed = [], [], [], []
        for r in rows:
            if r["metric"] != metric:
                continue
            x = names.index(r["name"]) - 0.4 + width * (k + 0.5)
            xs.append(x)
            ys.append(max(r["value"], ERROR_FLOOR))
            tols.append((r.get("details") or {}).get("tolerance"))
            failed.append(r.get("passed") is False)
        axes.scatter(xs, ys, label=metric, zorder=3)
        for x, tol in zip(xs, tols):
            if tol:
                axes.hlines(
                    tol, x - width / 2, x + width / 2, colors="black", label=tolerance_label
                )
                tolerance_label = None
        bad = [(x, y) for x, y, f in zip(xs, ys, failed) if f]
        if bad:
            axes.scatter(*zip(*bad), marker="x", s=80, color="red", zorder=4)
    axes.set_yscale("log")
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right")
    axes.set_ylabel("relative equivariance error")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize="small")
    figure.savefig(out / "equivariance.png", dpi=100)
    return Figure(
        "equivariance.png",
        "Equivariance error per model",
        "Largest relative error of f(g.x) against g.f(x) per model and dtype (log scale); "
        "black ticks mark each model's tolerance, red crosses failed checks.",
    )


def _speed_ratios(data: dict, out: Path) -> Figure | None:
    rows = [
        (s["name"], r)
        for s, r in _records(data, "speed")
        if r["unit"] == "ratio" and r["value"] is not None and math.isfinite(r["value"])
    ]
    if not rows:
        return None
    labels = [f"{r['name']}: {r['metric']}"[:70] for _, r in rows]
    values = [r["value"] for _, r in rows]
    figure, axes = _new_figure(8.0, 0.32 * len(rows) + 1.5)
    axes.barh(range(len(rows)), values, color=["C0" if v <= 1 else "C1" for v in values])
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_yticks(range(len(rows)), labels, fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("ours / reference (measured in the same run; < 1 is faster or smaller)")
    axes.grid(True, axis="x", alpha=0.3)
    figure.savefig(out / "speed_ratios.png", dpi=100)
    return Figure(
        "speed_ratios.png",
        "Speed and memory against the references",
        "Each bar is a ratio of ours over the reference measured side by side; 1 is parity.",
    )


def _curves(data: dict, out: Path) -> list[Figure]:
    figures = []
    for (suite, metric), records in curve_records(data).items():
        figure, axes = _new_figure(6.4, 4.0)
        for r in records:
            curve = r["details"]["curve"]
            ys = [math.nan if y is None else y for y in curve["y"]]
            axes.plot(curve["x"], ys, marker="o", markersize=3, label=r["name"])
        axes.set_xlabel(records[0]["details"]["curve"].get("x_label", ""))
        first = records[0]
        axes.set_ylabel(first["details"]["curve"].get("y_label", f"{metric} ({first['unit']})"))
        axes.set_title(suite, fontsize="medium")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
        filename = f"curve_{_slug(suite)}_{_slug(metric)}.png"
        figure.savefig(out / filename, dpi=100)
        figures.append(Figure(filename, f"{suite}: {metric}", f"{metric} of each model ({suite})."))
    return figures


def write_figures(data: dict, out: Path) -> list[Figure]:
    """Draw every figure the records of ``data`` support into ``out``; return them in order.

    Args:
        data: a ``results.json`` object (see :func:`gdl_zoo.bench.runner.to_json`).
        out: an existing folder.
    """
    out = Path(out)
    figures = [f for f in (_equivariance(data, out), _speed_ratios(data, out)) if f is not None]
    return figures + _curves(data, out)
