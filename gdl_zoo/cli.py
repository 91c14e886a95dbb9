"""The ``gdl-zoo`` command: ``list`` the zoo, ``check`` symmetries, ``bench`` suites.

``--plugin MODULE`` (any subcommand) imports a module first, so that models a
user registers with :func:`gdl_zoo.zoo.register` are listed, checked and
benchmarked like the built-in ones.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from gdl_zoo.training.command import add_train_command, run_train_command

__all__ = ["main", "build_parser"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gdl-zoo``."""
    parser = argparse.ArgumentParser(
        prog="gdl-zoo", description="Geometric deep learning zoo: list, check and benchmark."
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it may register models or suites); repeatable",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="the registered models")
    p_list.add_argument("--domain", help="only this domain")
    p_list.add_argument("--json", action="store_true", help="print a JSON list")

    p_check = sub.add_parser("check", help="run the symmetry harness on models")
    p_check.add_argument("names", nargs="*", metavar="NAME", help="models to check")
    p_check.add_argument("--all", action="store_true", help="check every registered model")
    p_check.add_argument(
        "--dtype", choices=[*_DTYPES, "both"], default="both", help="precision (default: both)"
    )
    p_check.add_argument("--seed", type=int, default=0, help="seed of inputs, weights, elements")
    p_check.add_argument(
        "--json",
        action="store_true",
        help="print the sweep summary: a JSON list, one entry per model x check",
    )
    p_check.add_argument(
        "--compile",
        action="store_true",
        help="also count graph breaks, compare torch.compile and torch.export with eager",
    )
    p_check.add_argument(
        "--backend",
        default="inductor",
        metavar="B",
        help="torch.compile backend for --compile (default: inductor; aot_eager compiles faster)",
    )
    p_check.add_argument(
        "--device",
        default="cpu",
        metavar="D",
        help="where --compile runs each model and its inputs, e.g. cuda (default: cpu)",
    )

    p_bench = sub.add_parser("bench", help="run benchmark suites and write a report")
    p_bench.add_argument(
        "--suite",
        action="append",
        default=None,
        metavar="NAME",
        help="run NAME (repeatable); 'all' runs every suite, the default (with --quick: "
        "every suite of the quick run)",
    )
    p_bench.add_argument("--list", action="store_true", help="list the suites and exit")
    p_bench.add_argument(
        "--models", nargs="+", default=None, metavar="NAME", help="restrict model suites"
    )
    p_bench.add_argument("--out", type=Path, default=Path("bench-out"), help="report folder")
    p_bench.add_argument(
        "--records",
        type=Path,
        default=None,
        metavar="DIR",
        help="also save each suite's record as DIR/<suite>/ as soon as it completes "
        "(the layout of benchmarks/results; a suite that fails keeps its old record)",
    )
    p_bench.add_argument("--quick", action="store_true", help="small problems, a few minutes")
    p_bench.add_argument("--repeat", type=int, default=3, help="timing repeats")
    p_bench.add_argument("--seed", type=int, default=0)
    p_bench.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p_bench.add_argument(
        "--data-dir", type=Path, default=None, help="datasets (default: $GDL_ZOO_DATA)"
    )
    p_bench.add_argument("--no-progress", action="store_true", help="no progress bar")

    add_train_command(sub)
    return parser


def _error(message: str) -> int:
    print(f"gdl-zoo: error: {message}", file=sys.stderr)
    return 2


def _resolve_models(names: Sequence[str]):
    from gdl_zoo import zoo

    cards = []
    for name in names:
        try:
            cards.append(zoo.get(name))
        except KeyError as error:
            raise LookupError(error.args[0]) from None
    return cards


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def _cmd_list(args: argparse.Namespace) -> int:
    from gdl_zoo import zoo

    cards = zoo.list_models(args.domain)
    if args.json:
        keys = ("name", "domain", "group", "flavour", "paper", "exact", "tolerance", "description")
        print(json.dumps([{k: getattr(c, k) for k in keys} for c in cards], indent=2))
        return 0
    rows = [
        [c.name, c.domain, c.flavour, c.group, "exact" if c.exact else "approx."] for c in cards
    ]
    print(_table(rows, ["name", "domain", "flavour", "group", "symmetry"]))
    return 0


def _symmetry_entry(card, dtype_name: str, seed: int) -> dict:
    """The ``symmetry`` entry of the sweep for one model in one dtype."""
    entry = {"name": card.name, "check": "symmetry", "dtype": dtype_name, "exact": card.exact}
    entry["tolerance"] = card.tolerance_for(_DTYPES[dtype_name])
    try:
        report = card.check(dtype=_DTYPES[dtype_name], seed=seed)
        entry.update(error=report.max_error, passed=report.passed, message=None)
    except Exception as error:  # noqa: BLE001 — a crashing model is a failed check
        entry.update(error=None, passed=False, message=f"{type(error).__name__}: {error}")
    entry["value"] = entry["error"]
    return entry


def _device_problem(name: str) -> str | None:
    """Why ``name`` is not a device this process can run on (``None`` when it is)."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        return f"got {name!r}, not a device name"
    if device.type == "cpu":
        return None
    module = getattr(torch, device.type, None)
    if module is None or not hasattr(module, "is_available") or not module.is_available():
        return f"got {name!r}, but torch.{device.type} is not available here"
    if device.index is not None and device.index >= module.device_count():
        return f"got {name!r}, but only {module.device_count()} {device.type} device(s) exist"
    return None


def _compile_entries(
    card, dtype_name: str, seed: int, backend: str, plugins: Sequence[str], device: str = "cpu"
) -> list[dict]:
    """The ``graph_breaks``, ``compile`` and ``export`` entries of the sweep for one model.

    Each model is compiled in its own process (with the ``--plugin`` modules
    imported there too), so a compiler that crashes fails that model only.
    """
    from gdl_zoo.compilation import compile_check_in_subprocess

    base = {"name": card.name, "dtype": dtype_name, "backend": backend, "device": device}
    try:
        report = compile_check_in_subprocess(
            card.name,
            dtype=_DTYPES[dtype_name],
            seed=seed,
            backend=backend,
            plugins=plugins,
            device=device,
        )
    except RuntimeError as error:  # the eager model itself crashed
        message = str(error)
        return [
            {**base, "check": check, "value": None, "tolerance": None, "passed": False,
             "message": message}
            for check in ("graph_breaks", "compile", "export")
        ]  # fmt: skip
    errors = report.errors
    return [
        {
            **base,
            "check": "graph_breaks",
            "value": report.graph_breaks,
            "tolerance": None,
            "passed": None,  # reported, not failed: breaks slow a model down, results stay right
            "message": errors.get("graph_breaks"),
            "break_reasons": list(report.break_reasons),
        },
        {
            **base,
            "check": "compile",
            "value": report.compile_max_rel,
            "tolerance": report.tolerance,
            "passed": report.compiled_matches_eager is True,
            "message": errors.get("compile"),
            "seconds": report.seconds.get("compile"),
        },
        {
            **base,
            "check": "export",
            "value": report.export_max_rel,
            "tolerance": report.tolerance,
            "passed": {"ok": True, "mismatch": False}.get(report.export_status),
            "status": report.export_status,
            "form": report.export_form,
            "message": errors.get("export"),
        },
    ]


def _skipped_entries(card, checks: list[tuple[str, str]]) -> list[dict]:
    """Entries for a model whose optional extra is missing: skipped, not failed."""
    extras = ",".join(card.missing_extras())
    message = f'skipped: needs pip install "gdl-zoo[{extras}]"'
    entries = []
    for check, dtype_name in checks:
        entry = {"name": card.name, "check": check, "dtype": dtype_name, "value": None}
        if check == "symmetry":
            entry.update(exact=card.exact, error=None)
            entry["tolerance"] = card.tolerance_for(_DTYPES[dtype_name])
        else:
            entry["tolerance"] = None
        entries.append({**entry, "passed": None, "message": message})
    return entries


def _format_number(value) -> str:
    return "n/a" if value is None else f"{value:.3e}"


_RESULT = {True: "pass", False: "FAIL", None: "skipped"}


def _check_table(results: list[dict], with_compile: bool) -> str:
    """One row per model and dtype; with ``--compile``, the compile columns on its dtype's row."""
    compile_of = {
        (r["name"], r["dtype"], r["check"]): r for r in results if r["check"] != "symmetry"
    }
    header = ["model", "dtype", "error", "tolerance", "result"]
    if with_compile:
        header += ["graph breaks", "compiled == eager", "export"]
    rows = []
    for r in results:
        if r["check"] != "symmetry":
            continue
        row = [r["name"], r["dtype"], _format_number(r["error"]), f"{r['tolerance']:.1e}",
               _RESULT[r["passed"]]]  # fmt: skip
        if with_compile:
            breaks = compile_of.get((r["name"], r["dtype"], "graph_breaks"))
            compiled = compile_of.get((r["name"], r["dtype"], "compile"))
            export = compile_of.get((r["name"], r["dtype"], "export"))
            if compiled is None:
                row += ["", "", ""]
            else:
                count = breaks["value"]
                row += [
                    "n/a" if count is None else str(count),
                    f"{_RESULT[compiled['passed']]} ({_format_number(compiled['value'])})",
                    export.get("status", "skipped") if export["passed"] is not False else "FAIL",
                ]
        rows.append(row)
    return _table(rows, header)


def _cmd_check(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from gdl_zoo import zoo

    if args.all == bool(args.names):
        return _error("give model names or --all (not both)")
    try:
        cards = zoo.list_models() if args.all else _resolve_models(args.names)
    except LookupError as error:
        return _error(str(error))
    if args.compile:
        import torch._dynamo

        backends = torch._dynamo.list_backends(exclude_tags=())
        if args.backend not in backends:
            return _error(f"--backend: expected one of {', '.join(backends)}, got {args.backend!r}")
        problem = _device_problem(args.device)
        if problem:
            return _error(f"--device: expected an available device (cpu, cuda, ...), {problem}")
    dtypes = list(_DTYPES) if args.dtype == "both" else [args.dtype]
    compile_dtype = dtypes[0]  # compile checks run once per model, in the highest precision asked
    results = []
    for card in tqdm(cards, desc="gdl-zoo check", unit="model", disable=args.json, file=sys.stderr):
        if card.missing_extras():  # an optional extra is not installed: skipped, not failed
            checks = [("symmetry", d) for d in dtypes]
            if args.compile:
                checks += [(c, compile_dtype) for c in ("graph_breaks", "compile", "export")]
            results += _skipped_entries(card, checks)
            continue
        results += [_symmetry_entry(card, dtype_name, args.seed) for dtype_name in dtypes]
        if args.compile:
            results += _compile_entries(
                card, compile_dtype, args.seed, args.backend, args.plugin, args.device
            )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(_check_table(results, args.compile))
        for r in results:
            if r["message"] and (r["check"] != "export" or r["passed"] is not None):
                print(f"{r['name']} ({r['check']}, {r['dtype']}): {r['message']}")
            elif r["message"]:  # an export that cannot work: its reason, not a failure
                print(f"{r['name']} (export not possible): {r['message']}")
    return 0 if all(r["passed"] is not False for r in results) else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    from gdl_zoo.bench.runner import run_suites, write_record, write_report
    from gdl_zoo.bench.suites import BenchContext, list_suites, select_suites

    if args.list:
        rows = [
            [s.name, s.domain, s.kind, "yes" if s.in_quick_run else "no", s.description]
            for s in list_suites()
        ]
        print(_table(rows, ["suite", "domain", "kind", "quick run", "description"]))
        return 0
    if args.repeat < 1:
        return _error(f"--repeat must be at least 1, got {args.repeat}")
    if args.device == "cuda" and not torch.cuda.is_available():
        return _error("--device cuda was asked for, but torch sees no CUDA device")
    try:
        suites = select_suites(args.suite, args.quick)
        if args.models:
            _resolve_models(args.models)
    except (KeyError, LookupError) as error:
        return _error(error.args[0])
    data_dir = args.data_dir or (
        Path(os.environ["GDL_ZOO_DATA"]) if os.environ.get("GDL_ZOO_DATA") else None
    )
    context = BenchContext(
        seed=args.seed,
        repeat=args.repeat,
        device=args.device,
        quick=args.quick,
        data_dir=data_dir,
        models=tuple(args.models) if args.models else None,
    )
    save = None if args.records is None else functools.partial(write_record, records=args.records)
    run = run_suites(suites, context, progress=not args.no_progress, on_result=save)
    report = write_report(run, args.out)
    print(_table([_suite_summary(result) for result in run.results], _SUMMARY_HEADER))
    print(
        f"wrote {report.html} (with {report.markdown.name}, {report.json.name}, "
        f"{len(report.figures)} figures)"
    )
    return 0 if run.ok else 1


_SUMMARY_HEADER = ["suite", "kind", "records", "checks", "seconds", "status"]


def _suite_summary(result) -> list[str]:
    """One row of the closing table: a suite, its size, its checks, its outcome."""
    checks = [r.passed for r in result.records if r.passed is not None]
    failed = checks.count(False)
    if result.error is not None:
        status = "FAILED: " + result.error.strip().splitlines()[-1][:60]
    else:
        status = f"{failed} check(s) FAILED" if failed else "ok"
    return [
        result.suite.name,
        result.suite.kind,
        str(len(result.records)),
        f"{len(checks) - failed}/{len(checks)} pass" if checks else "",
        f"{result.seconds:.1f}",
        status,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gdl-zoo`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for module in args.plugin:
        try:
            importlib.import_module(module)
        except ImportError as error:
            return _error(f"could not import plugin {module!r}: {error}")
    command = {
        "list": _cmd_list,
        "check": _cmd_check,
        "bench": _cmd_bench,
        "train": run_train_command,
    }[args.command]
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
