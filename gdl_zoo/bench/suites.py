"""Benchmark suites: what ``gdl-zoo bench`` runs, registered by each domain.

A :class:`Suite` is a function of a :class:`BenchContext` returning a list of
:class:`Record` (one measured figure each, with its unit).  Suites are
registered when their module is imported; :func:`list_suites` imports the
modules named in :data:`SUITE_MODULES` on first use.
"""

from __future__ import annotations

import difflib
import importlib
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "BenchContext",
    "Record",
    "Suite",
    "Timing",
    "register_suite",
    "list_suites",
    "get_suite",
    "select_suites",
    "time_callable",
    "ratio",
]

#: Modules whose import registers the built-in suites.
SUITE_MODULES: tuple[str, ...] = (
    "gdl_zoo.bench.symmetry",
    "gdl_zoo.grids.bench",
    "gdl_zoo.groups.bench",
    "gdl_zoo.graphs.bench",
    "gdl_zoo.meshes.bench",
    "gdl_zoo.gauges.bench",
    "gdl_zoo.weightspace.bench",
)

KINDS = ("symmetry", "speed", "accuracy")
_SUITES: dict[str, Suite] = {}


@dataclass(frozen=True)
class BenchContext:
    """Settings shared by every suite of one run.

    Attributes:
        seed: seeds every random choice of the run.
        repeat: timing repeats (timings report min/median/max).
        device: ``"cpu"`` or ``"cuda"``.
        quick: smaller problems, for a run of a few minutes.
        data_dir: where real datasets live (``None``: suites needing them skip).
        models: restrict model-walking suites to these names (``None``: all).
    """

    seed: int = 0
    repeat: int = 3
    device: str = "cpu"
    quick: bool = False
    data_dir: Path | None = None
    models: tuple[str, ...] | None = None

    def generator(self) -> torch.Generator:
        """A fresh CPU generator seeded with :attr:`seed`."""
        return torch.Generator().manual_seed(self.seed)


@dataclass(frozen=True)
class Record:
    """One measured figure.

    Attributes:
        name: what was measured (a model, a layer, a configuration).
        metric: the quantity, e.g. ``"fwd+bwd time"``, ``"test accuracy"``.
        value: the number (``nan`` when the measurement was skipped).
        unit: ``"s"``, ``"%"``, ``"ratio"``, ``"relative error"``, …
        passed: for checks, whether it held; ``None`` for plain measurements.
        details: further JSON-serialisable facts (reference, min/median/max, …).
    """

    name: str
    metric: str
    value: float
    unit: str
    passed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A named benchmark of one domain.

    Attributes:
        name: dotted ``domain.kind`` style name, e.g. ``"grids.speed"``.
        domain: the blueprint domain (``"all"`` for cross-domain suites).
        kind: one of ``symmetry``, ``speed``, ``accuracy``.
        run: ``run(context) -> list[Record]``.
        description: one sentence.
        in_quick_run: whether ``gdl-zoo bench --quick`` runs it when no suite is
            named (``False`` for suites whose point another quick suite already
            makes, to keep the quick run within its few minutes).
    """

    name: str
    domain: str
    kind: str
    run: Callable[[BenchContext], list[Record]] = field(repr=False)
    description: str = ""
    in_quick_run: bool = True

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"expected kind in {KINDS}, got {self.kind!r}")


def register_suite(suite: Suite, *, replace: bool = False) -> Suite:
    """Add ``suite``; a second suite of the same name needs ``replace=True``."""
    if suite.name in _SUITES and not replace:
        raise ValueError(f"a suite named {suite.name!r} is already registered")
    _SUITES[suite.name] = suite
    return suite


def list_suites() -> list[Suite]:
    """Every registered suite, sorted by name."""
    for module in SUITE_MODULES:
        importlib.import_module(module)
    return sorted(_SUITES.values(), key=lambda s: s.name)


def select_suites(names: Sequence[str] | None, quick: bool) -> list[Suite]:
    """The suites a run executes.

    Args:
        names: suite names, ``"all"`` for every suite; ``None`` or empty means
            every suite, except that a quick run then keeps only the suites
            marked :attr:`Suite.in_quick_run`.
        quick: whether the run is quick.

    Raises:
        KeyError: an unknown name (with close matches).
    """
    if not names:
        return [s for s in list_suites() if s.in_quick_run or not quick]
    if "all" in names:
        return list_suites()
    return [get_suite(name) for name in names]


def get_suite(name: str) -> Suite:
    """The suite called ``name``; unknown names raise ``KeyError`` with close matches."""
    names = [s.name for s in list_suites()]
    if name not in _SUITES:
        hint = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise KeyError(f"no benchmark suite named {name!r}{suggestion}")
    return _SUITES[name]


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds over repeats."""

    min: float
    median: float
    max: float

    def as_dict(self) -> dict[str, float]:
        """``{"min": …, "median": …, "max": …}`` for a record's details."""
        return {"min": self.min, "median": self.median, "max": self.max}


def time_callable(fn: Callable[[], Any], repeat: int = 3, warmup: int = 1) -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` untimed calls (CUDA synchronised)."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return Timing(min(times), statistics.median(times), max(times))


def ratio(ours: float, reference: float) -> float:
    """``ours / reference``, ``nan`` when the reference is zero."""
    return ours / reference if reference > 0 else math.nan
