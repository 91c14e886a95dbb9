"""Text renderings of a ``results.json`` object: the Markdown report and its pieces."""

from __future__ import annotations

import math

from gdl_zoo.bench.plots import Figure

__all__ = ["format_value", "machine_line", "suite_facts", "to_markdown"]


def format_value(value: float | None) -> str:
    """A figure with four significant digits; ``n/a`` for a skipped (``None``/NaN) value."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def machine_line(data: dict) -> str:
    """One sentence naming the machine, versions and settings of a run."""
    machine, context = data["machine"], data["context"]
    return (
        f"Machine: {machine['platform']}, {machine['cpu_count']} CPUs, "
        f"{machine['cuda'] or 'no GPU'}; Python {machine['python']}, torch {machine['torch']}, "
        f"gdl_zoo {machine['gdl_zoo']}; seed {context['seed']}, repeat {context['repeat']}, "
        f"device {context['device']}, quick {context['quick']}."
    ) + _libraries(machine)


def _libraries(machine: dict) -> str:
    """`` Libraries: e3nn 0.6.0, …`` for the installed ones besides torch ('' if none known)."""
    installed = [
        f"{name} {version}"
        for name, version in (machine.get("libraries") or {}).items()
        if version is not None and name != "torch"
    ]
    return f" Libraries: {', '.join(installed)}." if installed else ""


def suite_facts(suite: dict) -> str:
    """Kind, wall time and (when known) the load average at its start, of one suite entry."""
    facts = f"{suite['kind']}, {suite['seconds']:.1f} s"
    load = suite.get("load_average")
    return facts if load is None else f"{facts}, load {load[0]:.1f}"


def to_markdown(data: dict, figures: list[Figure] = ()) -> str:
    """A Markdown report of ``data``: the figures, then one table per suite.

    Args:
        data: a ``results.json`` object.
        figures: PNGs written beside the report, linked by file name.
    """
    lines = [f"# gdl-zoo bench ({data['started']})", "", machine_line(data), ""]
    for figure in figures:
        lines += [f"![{figure.title}]({figure.filename})", "", f"*{figure.caption}*", ""]
    for suite in data["suites"]:
        lines += [f"## {suite['name']} ({suite_facts(suite)})", ""]
        if suite.get("description"):
            lines += [suite["description"], ""]
        if suite["error"] is not None:
            last = suite["error"].strip().splitlines()[-1]
            lines += [f"**Suite failed:** `{last}`", ""]
            continue
        lines += ["| name | metric | value | unit | check |", "|---|---|---|---|---|"]
        for r in suite["records"]:
            check = {None: "", True: "pass", False: "**FAIL**"}[r["passed"]]
            lines.append(
                f"| {r['name']} | {r['metric']} | {format_value(r['value'])} | {r['unit']} "
                f"| {check} |"
            )
        lines.append("")
    return "\n".join(lines)
