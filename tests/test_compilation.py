"""Every registered model under torch.compile and torch.export: equal to eager, breaks counted.

The sweep uses the ``aot_eager`` backend (Dynamo's graphs, AOT autograd's
forward and backward, eager kernels: it compiles several times faster than
inductor and catches the same tracing problems); the default ``inductor``
backend runs on one small model per domain.  Graph breaks are zero for every
model but the known exceptions listed below with their reason; an exception
that starts compiling cleanly fails its test, so the list only shrinks.
"""

from __future__ import annotations

import dataclasses
import json
import runpy
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gdl_zoo import zoo
from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo.cli import main
from gdl_zoo.compilation import (
    CompileReport,
    compile_check,
    compile_check_in_subprocess,
    compile_tolerance,
    count_graph_breaks,
    output_difference,
)

CARDS = [card.name for card in zoo.list_models()]

#: Models whose forward cannot trace in one graph, and why (each reason was read off
#: ``CompileReport.break_reasons``).  The test fails when one of them traces cleanly.
KNOWN_GRAPH_BREAKS: dict[str, str] = {
    **dict.fromkeys(
        ("egnn", "se3_transformer", "tfn"),
        "force fields: forces -dE/dx come from torch.autograd.grad inside forward, which Dynamo "
        "does not trace, and the radius graph (nonzero) and the number of clouds are read from "
        "the data (groups/point_graphs.py)",
    ),
    "mesh_diffusionnet": "implicit diffusion: each block's SciPy sparse LU solves run eagerly "
    "between graphs (meshes/diffusion.py)",
}

#: One small model per domain that also runs through the default inductor backend (GIN:
#: inductor miscompiled the index_add of its readout, see graphs/readout.py; TFN: inductor
#: wrote past the gradient of x[index], see groups/point_graphs.gather_rows).
INDUCTOR_MODELS: tuple[str, ...] = (
    "cnn", "p4cnn", "gin", "tfn", "mesh_transformer", "gem_cnn", "mlp_probe"
)  # fmt: skip


@cache
def sweep_report(name: str) -> CompileReport:
    """The aot_eager report of one registered model (computed once per test session)."""
    card = zoo.get(name)
    if card.missing_extras():
        pytest.skip(f"{name} needs the extras {card.missing_extras()}")
    return compile_check(card, dtype=torch.float64, seed=0, backend="aot_eager")


@pytest.mark.parametrize("name", CARDS)
def test_compiled_model_equals_eager(name):
    report = sweep_report(name)
    assert "compile" not in report.errors, report.errors["compile"]
    assert report.compiled_matches_eager, (
        f"{name}: compiled differs from eager by {report.compile_max_rel:.3e} "
        f"(tolerance {report.tolerance:.1e})"
    )
    assert report.passed


@pytest.mark.parametrize("name", CARDS)
def test_graph_breaks_are_zero_where_the_design_allows(name):
    report = sweep_report(name)
    assert report.graph_breaks is not None, report.errors.get("graph_breaks")
    if name in KNOWN_GRAPH_BREAKS:
        assert report.graph_breaks > 0, (
            f"{name} now compiles without graph breaks: remove it from KNOWN_GRAPH_BREAKS"
        )
    else:
        assert report.graph_breaks == 0, "\n".join(report.break_reasons)
        assert report.break_reasons == ()


@pytest.mark.parametrize("name", CARDS)
def test_every_card_exports_equal_to_eager(name):
    report = sweep_report(name)
    assert report.export_status == "ok", report.errors.get("export")
    assert report.export_max_rel <= report.tolerance


@pytest.mark.parametrize("name", INDUCTOR_MODELS)
def test_inductor_compiles_one_model_per_domain(name):
    # in its own process: generated code that corrupts the heap fails this test, not pytest
    report = compile_check_in_subprocess(name, dtype=torch.float64, backend="inductor")
    assert report.backend == "inductor"
    assert "compile" not in report.errors, report.errors["compile"]
    assert report.compiled_matches_eager, report.compile_max_rel


def test_inductor_models_cover_every_domain():
    assert {zoo.get(name).domain for name in INDUCTOR_MODELS} == {
        card.domain for card in zoo.list_models()
    }


# ----------------------------------------------------------------------------- negative controls


class ItemBreak(nn.Module):
    """Reads a tensor value into Python: a graph break by construction."""

    def forward(self, x):
        scale = float(x.abs().max().item())
        return x / scale


class ExportedDiffers(nn.Module):
    """Adds one in the exported program only."""

    def forward(self, x):
        return 2 * x + (1.0 if torch.compiler.is_exporting() else 0.0)


PLUGIN_DIR = Path(__file__).parent / "plugins"
#: The toy cards' builder that the compile plugin registers its toys with.
toy_card = runpy.run_path(str(PLUGIN_DIR / "toy_cards.py"))["toy_card"]


def test_an_item_call_is_counted_as_a_graph_break():
    count, reasons = count_graph_breaks(ItemBreak(), torch.randn(3, 4))
    assert count >= 1
    assert any("item" in r.lower() and "test_compilation.py" in r for r in reasons), reasons
    assert count_graph_breaks(nn.Linear(4, 2), torch.randn(3, 4)) == (0, ())
    assert count_graph_breaks(nn.Identity(), torch.randn(3, 4)) == (0, ())  # no graph at all


def test_a_compiled_model_that_differs_is_flagged(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))  # the plugin's toy adds one when compiled
    report = compile_check_in_subprocess(
        "toy_compiled_differs", backend="aot_eager", plugins=["compile_toys_plugin"]
    )
    assert report.compiled_matches_eager is False and not report.passed
    assert report.compile_max_abs == pytest.approx(1.0)
    assert report.export_status == "mismatch"  # export traces with is_compiling() true too
    circular = toy_card(
        "toy_circular", lambda: nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular")
    )
    control = compile_check(circular, backend="aot_eager")
    assert control.compiled_matches_eager and control.passed and control.graph_breaks == 0


def test_an_exported_program_that_differs_is_a_mismatch():
    report = compile_check(toy_card("toy_exported_differs", ExportedDiffers), backend="aot_eager")
    assert report.compiled_matches_eager is True
    assert report.export_status == "mismatch" and not report.passed
    assert report.export_max_rel > report.tolerance
    summary = json.loads(json.dumps(report.as_dict()))
    assert summary["export_status"] == "mismatch" and summary["passed"] is False


class Halving(nn.Module):
    """Half of its input."""

    def forward(self, x):
        return x / 2


def test_a_card_export_form_is_exported_and_compared_with_the_model():
    linear = toy_card("toy_linear", lambda: nn.Conv2d(1, 1, 1, bias=False))

    def same_on_twice_the_input(model, inputs):  # model(x) == model(Halving(2x))
        return nn.Sequential(Halving(), model), (2 * inputs[0],)

    def the_input_unscaled(model, inputs):  # model(x / 2) != model(x): a wrong form
        return nn.Sequential(Halving(), model), inputs

    def impossible(model, inputs):
        raise ValueError("no deployed form for this toy")

    fine = compile_check(
        dataclasses.replace(linear, export_form=same_on_twice_the_input),
        backend="aot_eager",
    )
    assert fine.export_form == "card" and fine.export_status == "ok", fine.errors
    assert fine.export_max_rel <= fine.tolerance and fine.passed
    wrong = compile_check(
        dataclasses.replace(linear, export_form=the_input_unscaled), backend="aot_eager"
    )
    assert wrong.export_form == "card" and wrong.export_status == "mismatch"
    assert not wrong.passed

    def with_a_deploy_step(model, inputs):  # the program halves, the deploy step doubles
        return nn.Sequential(Halving(), model), inputs, lambda program: lambda x: 2 * program(x)

    def without_the_deploy_step(model, inputs):
        return (*with_a_deploy_step(model, inputs)[:2], lambda program: program)

    deployed = compile_check(
        dataclasses.replace(linear, export_form=with_a_deploy_step), backend="aot_eager"
    )
    assert deployed.export_status == "ok" and deployed.export_max_rel <= deployed.tolerance
    undeployed = compile_check(
        dataclasses.replace(linear, export_form=without_the_deploy_step), backend="aot_eager"
    )
    assert undeployed.export_status == "mismatch"
    failed = compile_check(dataclasses.replace(linear, export_form=impossible), backend="aot_eager")
    assert failed.export_status == "failed" and "no deployed form" in failed.errors["export"]
    assert compile_check(linear, backend="aot_eager").export_form == "model"


def test_output_difference_reads_nested_outputs():
    a = {"energy": torch.ones(2), "forces": (torch.zeros(3), torch.full((2,), 4.0))}
    b = {"energy": torch.ones(2), "forces": (torch.zeros(3), torch.full((2,), 5.0))}
    assert output_difference(a, a) == (0.0, 0.0)
    assert output_difference(a, b) == (1.0, 0.25)
    nan = {"energy": torch.full((2,), float("nan")), "forces": a["forces"]}
    assert output_difference(a, nan) == (float("inf"), float("inf"))
    assert output_difference(nan, nan) == (float("inf"), float("inf"))  # NaN never passes
    with pytest.raises(ValueError, match="expected outputs"):
        output_difference(a, (a["energy"],))
    with pytest.raises(ValueError, match="shape"):
        output_difference(torch.ones(2), torch.ones(3))
    with pytest.raises(TypeError, match="got str"):
        output_difference("energy", "energy")


def test_compile_tolerance_follows_the_dtype():
    assert compile_tolerance(torch.float64) < compile_tolerance(torch.float32)
    with pytest.raises(ValueError, match="floating dtype"):
        compile_tolerance(torch.int64)


# ----------------------------------------------------------------------------- the CLI


def test_check_compile_json_has_one_entry_per_model_and_check(capsys):
    status = main(
        ["check", "cnn", "mlp_probe", "gem_cnn", "--compile", "--backend", "aot_eager",
         "--json", "--dtype", "float64"]
    )  # fmt: skip
    entries = json.loads(capsys.readouterr().out)
    assert status == 0
    assert {(e["name"], e["check"]) for e in entries} == {
        (n, c)
        for n in ("cnn", "mlp_probe", "gem_cnn")
        for c in ("symmetry", "graph_breaks", "compile", "export")
    }
    by_key = {(e["name"], e["check"]): e for e in entries}
    assert by_key["cnn", "graph_breaks"]["value"] == 0
    assert by_key["cnn", "compile"]["passed"] is True
    assert by_key["cnn", "compile"]["value"] <= by_key["cnn", "compile"]["tolerance"]
    assert by_key["mlp_probe", "export"]["status"] == "ok"
    assert by_key["mlp_probe", "export"]["form"] == "model"
    assert by_key["gem_cnn", "export"]["status"] == "ok"
    assert by_key["gem_cnn", "export"]["form"] == "card"  # bound to the example mesh
    assert all(e["dtype"] == "float64" and "message" in e for e in entries)


@pytest.mark.parametrize(
    "device, why",
    [("banana", "not a device name"), ("cuda:7", "cuda")],
)
def test_check_compile_refuses_a_device_it_cannot_run_on(capsys, device, why):
    if device.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    assert main(["check", "cnn", "--compile", "--device", device]) == 2
    error = capsys.readouterr().err
    assert "--device: expected an available device" in error and f"got {device!r}" in error
    assert why in error


def test_check_compile_runs_on_the_device_asked_for(capsys, device):
    name = str(torch.device(device))
    argv = ["check", "mlp_probe", "--compile", "--backend", "aot_eager", "--json"]
    assert main([*argv, "--device", name]) == 0
    entries = json.loads(capsys.readouterr().out)
    compiled = [e for e in entries if e["check"] != "symmetry"]
    assert len(compiled) == 3 and all(e["device"] == name for e in compiled)
    report = compile_check_in_subprocess("mlp_probe", backend="aot_eager", device=name)
    assert report.device == name and report.passed


def test_check_compile_exits_one_when_compiled_differs_or_crashes(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))  # the compile checks' processes import it too
    argv = ["--plugin", "compile_toys_plugin", "check", "toy_compiled_differs"]
    try:
        status = main([*argv, "toy_compile_crashes", "cnn", "--compile", "--backend", "aot_eager"])
    finally:
        for name in ("toy_compiled_differs", "toy_compile_crashes"):
            zoo.unregister(name)
        sys.modules.pop("compile_toys_plugin", None)
    out = capsys.readouterr().out
    assert status == 1
    assert "graph breaks" in out and "FAIL" in out
    assert "toy_compile_crashes (compile, float64): the compile check crashed its process " in out
    assert "SIGABRT" in out
    assert main(["check", "cnn", "--dtype", "float64", "--compile", "--backend", "aot_eager"]) == 0


def test_a_crash_in_the_compile_check_process_is_a_failed_report(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    plugins = ["compile_toys_plugin"]
    crashed = compile_check_in_subprocess(
        "toy_compile_crashes", backend="aot_eager", plugins=plugins
    )
    assert crashed.compiled_matches_eager is None and not crashed.passed
    assert "signal SIGABRT" in crashed.errors["compile"]
    fine = compile_check_in_subprocess("cnn", backend="aot_eager")
    assert fine.passed and fine.graph_breaks == 0 and fine.export_status == "ok"
    assert CompileReport.from_dict(fine.as_dict()) == fine
    with pytest.raises(LookupError, match="toy_compile_crashes"):  # the plugin was not imported
        compile_check_in_subprocess("toy_compile_crashes", backend="aot_eager")


# ----------------------------------------------------------------------------- eager regions


def _numpy_cumsum(x):
    """A NumPy step that branches on the data: Dynamo cannot trace it into one graph."""
    a = x.detach().numpy()
    sign = 1.0 if a.sum() > 0 else -1.0
    return torch.as_tensor(np.cumsum(a, 0)) * x * sign


class NumpyThenNet(nn.Module):
    """A NumPy precomputation before the first tensor operation, as in the mesh models."""

    def __init__(self, step):
        super().__init__()
        self.step, self.linear = step, nn.Linear(3, 2)

    def forward(self, x):
        return self.linear(self.step(x)).sin()


def test_an_eager_region_keeps_numpy_out_of_the_graph():
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    traced, _ = count_graph_breaks(NumpyThenNet(_numpy_cumsum).double(), x)
    assert traced >= 1  # the control: NumPy traced by Dynamo breaks the graph
    model = NumpyThenNet(eager_under_compile(_numpy_cumsum)).double()
    assert count_graph_breaks(model, x) == (0, ())
    compiled = torch.compile(model, backend="aot_eager")
    expected, actual = model(x), compiled(x)
    assert output_difference(expected, actual) == (0.0, 0.0)
    (grad_eager,) = torch.autograd.grad(expected.sum(), x)
    (grad_compiled,) = torch.autograd.grad(actual.sum(), x)
    assert torch.equal(grad_eager, grad_compiled)  # gradients flow through the eager region


def test_eager_regions_do_not_import_dynamo():
    code = (
        "import sys, torch; from gdl_zoo import zoo; card = zoo.get('mesh_transformer'); "
        "card.build().double()(*card.example_inputs(2, torch.float64)); "
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_validation_in_an_eager_region_still_runs_under_compile():
    card = zoo.get("mpnn")
    model = card.build().double().eval()
    x, edge_index, edge_attr, batch = card.example_inputs(2, torch.float64)
    compiled = torch.compile(model, backend="aot_eager")
    assert output_difference(model(x, edge_index, edge_attr, batch),
                             compiled(x, edge_index, edge_attr, batch))[1] == 0.0  # fmt: skip
    with pytest.raises(ValueError, match="sorted"):
        compiled(x, edge_index, edge_attr, batch.flip(0))


@pytest.mark.parametrize("name", ["gcn", "gat"])
def test_compiled_sparse_products_have_the_eager_gradients(name):
    # under compile the CSR products become a gather and a scatter: same values, same gradients
    card = zoo.get(name)
    torch.manual_seed(0)
    model = card.build().double().eval()  # no dropout: both runs see the same function
    x, *rest = card.example_inputs(2, torch.float64)
    x = x.requires_grad_()
    compiled = torch.compile(model, backend="aot_eager")
    grads = []
    for fn in (model, compiled):
        out = fn(x, *rest)
        grads.append(torch.autograd.grad((out * out).sum(), [x, *model.parameters()]))
    for eager, traced in zip(*grads):
        assert output_difference(eager, traced)[1] <= compile_tolerance(torch.float64)


def test_check_compile_rejects_an_unknown_backend(capsys):
    assert main(["check", "cnn", "--compile", "--backend", "inductr"]) == 2
    err = capsys.readouterr().err
    assert "'inductr'" in err and "inductor" in err and "aot_eager" in err
