"""Does a model survive ``torch.compile`` and ``torch.export``? Graph breaks, equality to eager.

:func:`compile_check` builds a card's default model in eval mode and runs three
checks on the card's example inputs:

1. **graph breaks**: :func:`count_graph_breaks` traces the model with
   ``torch._dynamo.explain`` and reports how many times Dynamo had to fall back
   to Python, with the reason and source line of each break;
2. **compile**: ``torch.compile(model, backend=...)`` must give the outputs of
   the eager model, within :func:`compile_tolerance` (relative to the largest
   entry of each output);
3. **export**: ``torch.export.export`` of the eval-mode model (or of the module
   its card's ``export_form`` deploys it as) must succeed and the exported
   program must give the eager outputs too.  Where export cannot
   work (a data-dependent output size, a gradient inside ``forward``, a SciPy
   solve), the report keeps Dynamo's or export's own error text.

Outputs may be tensors or (nested) tuples, lists and dicts of tensors.
:func:`compile_check_in_subprocess` runs the same checks in a fresh
interpreter, so that a compiler crash (a segmentation fault in generated code)
fails one model instead of ending a sweep over many.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch._dynamo
from torch import nn

from gdl_zoo.symmetry.testing import default_tolerance

__all__ = [
    "EXPORT_STATUSES",
    "CompileReport",
    "compile_check",
    "compile_check_in_subprocess",
    "compile_tolerance",
    "count_graph_breaks",
    "output_difference",
]

#: What :attr:`CompileReport.export_status` can say: the exported program ran and
#: equals eager (``ok``), ran and differs (``mismatch``), or could not be exported
#: or run (``failed``, the reason in ``errors["export"]``); ``skipped`` when not asked.
EXPORT_STATUSES: tuple[str, ...] = ("ok", "mismatch", "failed", "skipped")

_TINY = 1e-300  # denominators of relative differences of an all-zero output


def compile_tolerance(dtype: torch.dtype) -> float:
    """The relative difference allowed between compiled (or exported) and eager outputs.

    The symmetry harness's tolerance for exact symmetries in ``dtype``
    (``1e-10`` in float64, ``1e-4`` in float32): a compiler may reorder sums and
    fuse operations, which changes round-off only.
    """
    return default_tolerance(dtype)


def _leaves(output: Any, where: str = "output") -> list[tuple[str, torch.Tensor]]:
    """The tensors of a nested tuple/list/dict output, each with its path."""
    if isinstance(output, torch.Tensor):
        return [(where, output)]
    if isinstance(output, (tuple, list)):
        return [leaf for k, item in enumerate(output) for leaf in _leaves(item, f"{where}[{k}]")]
    if isinstance(output, Mapping):
        return [leaf for key in output for leaf in _leaves(output[key], f"{where}[{key!r}]")]
    raise TypeError(
        f"{where}: expected a tensor or a tuple, list or dict of tensors, "
        f"got {type(output).__name__}"
    )


def output_difference(expected: Any, actual: Any) -> tuple[float, float]:
    """The largest absolute and relative differences between two outputs of the same structure.

    The relative difference of one tensor is ``max |a - e| / max |e|``; both
    figures are maxima over the tensors of the output, and infinite when either
    output holds a NaN or an infinity there.

    Raises:
        ValueError: the outputs differ in structure, shape or dtype.
        TypeError: an output holds something other than tensors.
    """
    expected_leaves, actual_leaves = _leaves(expected), _leaves(actual)
    if [w for w, _ in expected_leaves] != [w for w, _ in actual_leaves]:
        raise ValueError(
            f"expected outputs {[w for w, _ in expected_leaves]}, "
            f"got {[w for w, _ in actual_leaves]}"
        )
    largest_abs, largest_rel = 0.0, 0.0
    for (where, e), (_, a) in zip(expected_leaves, actual_leaves):
        if e.shape != a.shape or e.dtype != a.dtype:
            raise ValueError(
                f"{where}: expected shape {tuple(e.shape)} and dtype {e.dtype}, "
                f"got shape {tuple(a.shape)} and dtype {a.dtype}"
            )
        if e.numel() == 0:
            continue
        e, a = e.detach().double(), a.detach().double()
        difference = float((a - e).abs().max())
        if not math.isfinite(difference):  # a NaN or an infinity on either side: infinitely far
            largest_abs = largest_rel = math.inf
            continue
        largest_abs = max(largest_abs, difference)
        largest_rel = max(largest_rel, difference / max(float(e.abs().max()), _TINY))
    return largest_abs, largest_rel


def _break_reason(reason: Any) -> str:
    """One line per Dynamo break: its first message line and the innermost user frame."""
    message = str(reason.reason).strip().splitlines()[0] if str(reason.reason).strip() else "?"
    stack = [
        frame  # the caller of an eager region, not the region's wrapper
        for frame in getattr(reason, "user_stack", None) or ()
        if not frame.filename.endswith("_eager_regions.py")
    ]
    if stack:
        frame = stack[-1]
        return f"{message} ({_short_path(frame.filename)}:{frame.lineno})"
    return message


def count_graph_breaks(fn: Callable[..., Any], *inputs: Any) -> tuple[int, tuple[str, ...]]:
    """How many graph breaks ``torch.compile`` meets when it traces ``fn(*inputs)``.

    Runs ``torch._dynamo.explain`` after resetting Dynamo (so an earlier trace
    of the same code cannot hide breaks).

    Returns:
        The number of breaks, and their reasons without repeats, each as
        ``"message (file:line)"`` in the order Dynamo met them.
    """
    torch._dynamo.reset()
    try:
        explanation = torch._dynamo.explain(fn)(*inputs)
    finally:
        torch._dynamo.reset()
    reasons = dict.fromkeys(_break_reason(r) for r in explanation.break_reasons)
    # an fn without tensor operations gives no graph, which explain counts as -1 breaks
    return max(explanation.graph_break_count, 0), tuple(reasons)


@dataclass
class CompileReport:
    """What :func:`compile_check` found for one model.

    Attributes:
        name: the model card's name.
        dtype: the dtype of weights and inputs, e.g. ``"float64"``.
        backend: the ``torch.compile`` backend, e.g. ``"inductor"`` or ``"aot_eager"``.
        device: where the model and its inputs ran, e.g. ``"cpu"`` or ``"cuda"``.
        tolerance: the relative difference allowed (:func:`compile_tolerance`).
        graph_breaks: breaks counted by :func:`count_graph_breaks` (``None`` if tracing crashed).
        break_reasons: one ``"message (file:line)"`` per distinct break.
        compiled_matches_eager: the compiled model's outputs equal eager within
            ``tolerance`` (``None``: the compiled model crashed, see ``errors``).
        compile_max_abs: the largest absolute difference compiled vs eager.
        compile_max_rel: the largest relative difference compiled vs eager.
        export_status: one of :data:`EXPORT_STATUSES`.
        export_form: what was exported: ``"model"`` (the model on the card's
            inputs) or ``"card"`` (the module the card's ``export_form`` gives, run
            through its ``deploy`` step when it has one).
        export_max_rel: the largest relative difference exported vs eager.
        errors: error texts by stage (``"graph_breaks"``, ``"compile"``,
            ``"export"``), ``"Type: message (file:line)"``; an error of the eager
            model itself is raised, not reported.
        seconds: wall-clock seconds by stage (compilation included), for information.
    """

    name: str
    dtype: str
    backend: str
    tolerance: float
    graph_breaks: int | None = None
    break_reasons: tuple[str, ...] = ()
    compiled_matches_eager: bool | None = None
    compile_max_abs: float | None = None
    compile_max_rel: float | None = None
    device: str = "cpu"
    export_status: str = "skipped"
    export_form: str = "model"
    export_max_rel: float | None = None
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """The compiled model equals eager and no exported program gives other numbers.

        Graph breaks and an export that fails are reported, not failed: they
        slow a model down or rule out one deployment path, while a compiled
        or exported output that differs from eager is a wrong result.
        """
        return self.compiled_matches_eager is True and self.export_status != "mismatch"

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready built-in types."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "backend": self.backend,
            "device": self.device,
            "tolerance": self.tolerance,
            "graph_breaks": self.graph_breaks,
            "break_reasons": list(self.break_reasons),
            "compiled_matches_eager": self.compiled_matches_eager,
            "compile_max_abs": self.compile_max_abs,
            "compile_max_rel": self.compile_max_rel,
            "export_status": self.export_status,
            "export_form": self.export_form,
            "export_max_rel": self.export_max_rel,
            "errors": dict(self.errors),
            "seconds": dict(self.seconds),
            "passed": self.passed,
        }


    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompileReport:
        """The report that :meth:`as_dict` wrote (``passed`` is recomputed)."""
        values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        values["break_reasons"] = tuple(values["break_reasons"])
        return cls(**values)


_FILE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_TORCH_DIR = os.path.dirname(torch.__file__)


def _short_path(filename: str) -> str:
    """``gdl_zoo/...`` or ``site-packages/...`` relative names for messages."""
    filename = filename.replace("\\", "/")
    for anchor in ("/gdl_zoo/", "/site-packages/"):
        if anchor in filename:
            return filename.rsplit(anchor, 1)[-1]
    return filename


def _error_text(error: BaseException) -> str:
    """``"Type: first line (file:line)"``, the place being the user code that raised.

    Dynamo and export name the offending call in their message (``File "...",
    line N``); otherwise the innermost traceback frame outside torch and this
    module is used.
    """
    text = str(error).strip()
    message = f"{type(error).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
    named = _FILE_LINE.findall(text)
    if named:
        filename, line = named[-1]
        return f"{message} ({_short_path(filename)}:{line})"
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_TORCH_DIR) and frame.filename != __file__
    ]
    if frames:
        return f"{message} ({_short_path(frames[-1].filename)}:{frames[-1].lineno})"
    return message


def _timed(report: CompileReport, stage: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        return fn()
    finally:
        report.seconds[stage] = round(time.perf_counter() - start, 3)


def _check_against_eager(
    report: CompileReport, stage: str, run: Callable[[], Any], expected: Any
) -> tuple[float, float] | None:
    """Run ``run``, compare with ``expected``; the differences, or ``None`` after an error."""
    try:
        actual = _timed(report, stage, run)
        return output_difference(expected, actual)
    except Exception as error:  # noqa: BLE001 — a failing stage is reported, not raised
        report.errors[stage] = _error_text(error)
        return None


def _export(model: nn.Module, inputs: tuple) -> torch.export.ExportedProgram:
    """``torch.export.export``, without the partial graph it prints to stderr when it fails.

    The reason of a failure is the exception's message, which the report keeps.
    """
    with contextlib.redirect_stderr(io.StringIO()):
        return torch.export.export(model, inputs)


def compile_check(
    card: Any,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    backend: str = "inductor",
    export: bool = True,
    batch_size: int = 2,
    device: torch.device | str = "cpu",
) -> CompileReport:
    """Count graph breaks, compile and export a card's default model; compare with eager.

    The model is built with ``torch.manual_seed(seed)``, cast to ``dtype`` and put
    in eval mode; the inputs are the card's example inputs for ``seed``.  Errors
    of the compiled or exported model are caught and reported in
    :attr:`CompileReport.errors`, never raised.

    Args:
        card: a :class:`gdl_zoo.zoo.ModelCard` (anything with ``build`` and
            ``example_inputs``).
        dtype: the precision of weights and inputs (float64 makes the
            comparison with eager tight).
        seed: seed of the weights and the inputs.
        backend: the ``torch.compile`` backend (``"inductor"``, the default of
            ``torch.compile``, generates code; ``"aot_eager"`` traces the same
            graphs, forward and backward, and runs them with eager kernels,
            several times faster to compile).
        export: also try ``torch.export.export``.
        batch_size: the example batch size.
        device: where the model and its example inputs run (e.g. ``"cuda"``).

    Returns:
        The :class:`CompileReport`.

    Raises:
        Exception: whatever the eager model raises on its own example inputs
            (the card is broken, not the compiler).
    """
    torch.manual_seed(seed)
    model: nn.Module = card.build().to(device=device, dtype=dtype).eval()
    inputs = tuple(
        x.to(device) if isinstance(x, torch.Tensor) else x
        for x in card.example_inputs(batch_size, dtype, torch.Generator().manual_seed(seed))
    )
    report = CompileReport(
        name=card.name,
        dtype=str(dtype).removeprefix("torch."),
        backend=backend,
        tolerance=compile_tolerance(dtype),
        device=str(torch.device(device)),
    )
    expected = _timed(report, "eager", lambda: model(*inputs))
    _leaves(expected)  # an output the comparison cannot read is the card's error, raised here

    try:
        report.graph_breaks, report.break_reasons = _timed(
            report, "graph_breaks", lambda: count_graph_breaks(model, *inputs)
        )
    except Exception as error:  # noqa: BLE001
        report.errors["graph_breaks"] = _error_text(error)

    torch._dynamo.reset()
    compiled = torch.compile(model, backend=backend)
    difference = _check_against_eager(report, "compile", lambda: compiled(*inputs), expected)
    torch._dynamo.reset()
    if difference is not None:
        report.compile_max_abs, report.compile_max_rel = difference
        report.compiled_matches_eager = difference[1] <= report.tolerance

    if export:
        form = getattr(card, "export_form", None)
        module, module_inputs, deploy = model, inputs, None
        try:
            if form is not None:
                report.export_form = "card"
                module, module_inputs, *rest = form(model, inputs)
                deploy = rest[0] if rest else None
            program = _timed(report, "export", lambda: _export(module, module_inputs))
        except Exception as error:  # noqa: BLE001 — the reason is the report's content
            report.errors["export"] = _error_text(error)
            report.export_status = "failed"
        else:
            run = program.module() if deploy is None else deploy(program.module())
            difference = _check_against_eager(
                report, "export_run", lambda: run(*module_inputs), expected
            )
            if difference is None:
                report.errors["export"] = report.errors.pop("export_run")
                report.export_status = "failed"
            else:
                report.export_max_rel = difference[1]
                report.export_status = "ok" if difference[1] <= report.tolerance else "mismatch"
        torch._dynamo.reset()
    return report


#: The line prefix under which the worker of :func:`compile_check_in_subprocess` answers.
_ANSWER = "gdl-zoo-compile-report "

_WORKER = f"""
import importlib, json, sys
import torch
from gdl_zoo import zoo
from gdl_zoo.compilation import compile_check
request = json.loads(sys.argv[1])
for module in request["plugins"]:
    importlib.import_module(module)
dtype = getattr(torch, request["dtype"])
try:
    card = zoo.get(request["name"])
except LookupError as error:
    print({_ANSWER!r} + json.dumps({{"lookup_error": str(error)}}), flush=True)
    sys.exit(0)
try:
    report = compile_check(
        card,
        dtype=dtype,
        seed=request["seed"],
        backend=request["backend"],
        device=request["device"],
    )
except Exception as error:
    answer = {{"eager_error": f"{{type(error).__name__}}: {{error}}"}}
else:
    answer = report.as_dict()
print({_ANSWER!r} + json.dumps(answer), flush=True)
"""


def compile_check_in_subprocess(
    name: str,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    backend: str = "inductor",
    plugins: Sequence[str] = (),
    device: torch.device | str = "cpu",
) -> CompileReport:
    """:func:`compile_check` of the card ``name``, run in a fresh Python process.

    A compiled kernel that corrupts memory or segfaults (as inductor's code for
    the force fields' double backward did with torch 2.13 on CPU) kills only the
    child: the report then has ``compiled_matches_eager=None`` and an error
    naming the signal, so a sweep marks that model failed and goes on.

    Args:
        name: a registered card; the child imports ``plugins`` first, so cards
            that a plugin module registers are found there too.
        dtype, seed, backend, device: as in :func:`compile_check`.
        plugins: modules to import in the child before looking the card up.

    Raises:
        LookupError: no card is called ``name`` (once the plugins are imported).
        RuntimeError: the eager model itself failed on its example inputs.
    """
    request = {
        "name": name,
        "dtype": str(dtype).removeprefix("torch."),
        "seed": seed,
        "backend": backend,
        "plugins": list(plugins),
        "device": str(torch.device(device)),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.run(
        [sys.executable, "-c", _WORKER, json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
    )
    answers = [line for line in child.stdout.splitlines() if line.startswith(_ANSWER)]
    if child.returncode == 0 and answers:
        answer = json.loads(answers[-1].removeprefix(_ANSWER))
        if "lookup_error" in answer:
            raise LookupError(answer["lookup_error"])
        if "eager_error" in answer:
            raise RuntimeError(f"eager model failed: {answer['eager_error']}")
        return CompileReport.from_dict(answer)
    code = child.returncode
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    last = [line for line in child.stderr.splitlines() if line.strip()][-1:] or ["no output"]
    report = CompileReport(
        name, request["dtype"], backend, compile_tolerance(dtype), device=request["device"]
    )
    report.errors["compile"] = f"the compile check crashed its process ({how}): {last[0][:200]}"
    return report
