"""The gdl-zoo command line: list, check (exit status), bench (report files), errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gdl_zoo import zoo
from gdl_zoo.bench.runner import SCHEMA_VERSION
from gdl_zoo.bench.tables import format_value
from gdl_zoo.cli import main

PLUGIN_DIR = Path(__file__).parent / "plugins"


def test_list_json_has_the_grid_models(capsys):
    assert main(["list", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    by_name = {m["name"]: m for m in models}
    for name in ("cnn", "resnet", "gated_rnn", "seq_transformer"):
        assert by_name[name]["domain"] == "grids"
        assert {"name", "domain", "group", "flavour", "exact"} <= set(by_name[name])


def test_list_table(capsys):
    assert main(["list", "--domain", "grids"]) == 0
    out = capsys.readouterr().out
    assert "seq_transformer" in out and "flavour" in out


def test_check_named_models_json(capsys):
    assert main(["check", "cnn", "seq_transformer", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert {(r["name"], r["dtype"]) for r in results} == {
        (n, d) for n in ("cnn", "seq_transformer") for d in ("float64", "float32")
    }
    assert all(r["passed"] and r["error"] < r["tolerance"] for r in results)


def test_check_all_exits_zero(capsys):
    assert main(["check", "--all", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "gated_rnn" in out


def test_check_exits_one_for_a_broken_model(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    try:
        status = main(["--plugin", "broken_zoo_plugin", "check", "broken_zero_padded", "cnn"])
    finally:
        zoo.unregister("broken_zero_padded")
        sys.modules.pop("broken_zoo_plugin", None)
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL" in out and "pass" in out


def test_unknown_model_lists_close_matches(capsys):
    assert main(["check", "resnett"]) == 2
    assert "did you mean resnet" in capsys.readouterr().err


def test_check_needs_names_or_all(capsys):
    assert main(["check"]) == 2
    assert "--all" in capsys.readouterr().err


def test_missing_plugin_is_an_error(capsys):
    assert main(["--plugin", "no_such_module_xyz", "list"]) == 2
    assert "no_such_module_xyz" in capsys.readouterr().err


def test_bench_writes_json_and_markdown(tmp_path, capsys):
    status = main(
        [
            "bench",
            "--suite",
            "symmetry",
            "--models",
            "cnn",
            "--out",
            str(tmp_path),
            "--no-progress",
            "--repeat",
            "1",
        ]
    )
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["ok"] is True and results["schema_version"] == SCHEMA_VERSION
    (suite,) = results["suites"]
    assert suite["name"] == "symmetry" and suite["error"] is None
    assert {r["metric"] for r in suite["records"]} == {
        "equivariance error (float64)",
        "equivariance error (float32)",
    }
    report = (tmp_path / "report.md").read_text()
    for record in suite["records"]:
        assert f"| {format_value(record['value'])} |" in report
    assert (tmp_path / "equivariance.png").exists() and (tmp_path / "report.html").exists()
    summary = capsys.readouterr().out
    assert "symmetry" in summary and "2/2 pass" in summary


def test_bench_exits_one_when_a_symmetry_check_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    argv = ["--plugin", "broken_zoo_plugin", "bench", "--suite", "symmetry", "--no-progress"]
    try:
        status = main([*argv, "--models", "broken_zero_padded", "cnn", "--out", str(tmp_path)])
    finally:
        zoo.unregister("broken_zero_padded")
        sys.modules.pop("broken_zoo_plugin", None)
    assert status == 1
    assert "check(s) FAILED" in capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    passed = {(r["name"], r["passed"]) for r in results["suites"][0]["records"]}
    assert passed == {("broken_zero_padded", False), ("cnn", True)}


def test_bench_unknown_suite(tmp_path, capsys):
    assert main(["bench", "--suite", "grids.sped", "--out", str(tmp_path)]) == 2
    assert "did you mean grids.speed" in capsys.readouterr().err


def test_bench_list(capsys):
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    assert "grids.speed" in out and "symmetry" in out


def test_console_script_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}
    listed = subprocess.run(
        [sys.executable, "-m", "gdl_zoo.cli", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "seq_transformer" in listed.stdout
    broken = subprocess.run(
        [
            sys.executable,
            "-m",
            "gdl_zoo.cli",
            "--plugin",
            "broken_zoo_plugin",
            "check",
            "broken_zero_padded",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert broken.returncode == 1, broken.stdout + broken.stderr


@pytest.mark.parametrize("argv", [["bench", "--repeat", "0"], ["bench", "--device", "cuda"]])
def test_bench_bad_options(argv, tmp_path, capsys):
    import torch

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("a CUDA device exists")
    assert main([*argv, "--out", str(tmp_path)]) == 2
