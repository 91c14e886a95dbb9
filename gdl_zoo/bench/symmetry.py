"""The ``symmetry`` suite: the harness on every registered model, in float64 and float32."""

from __future__ import annotations

import math

import torch

from gdl_zoo import zoo
from gdl_zoo.bench.suites import BenchContext, Record, Suite, register_suite

__all__ = ["symmetry_errors"]

DTYPES = (torch.float64, torch.float32)


def symmetry_errors(context: BenchContext) -> list[Record]:
    """One record per model and dtype: the largest relative equivariance error.

    A model whose optional extra is missing is recorded as skipped
    (``passed=None``, ``details["skipped"]``).  A model whose check raises is
    recorded with ``value = nan``, ``passed = False`` and the error message, so
    one broken model does not hide the others.
    """
    cards = zoo.list_models()
    if context.models is not None:
        cards = [zoo.get(name) for name in context.models]
    records = []
    for card in cards:
        for dtype in DTYPES:
            metric = f"equivariance error ({str(dtype).removeprefix('torch.')})"
            details = {
                "domain": card.domain,
                "group": card.group,
                "exact": card.exact,
                "tolerance": card.tolerance_for(dtype),
            }
            missing = card.missing_extras()
            if missing:  # an optional extra is not installed: skipped, not failed
                details["skipped"] = f'needs pip install "gdl-zoo[{",".join(missing)}]"'
                records.append(Record(card.name, metric, math.nan, "relative error", None, details))
                continue
            try:
                report = card.check(dtype=dtype, seed=context.seed)
            except Exception as error:  # noqa: BLE001 — reported, not hidden
                details["error"] = f"{type(error).__name__}: {error}"
                records.append(
                    Record(card.name, metric, math.nan, "relative error", False, details)
                )
                continue
            records.append(
                Record(
                    card.name, metric, report.max_error, "relative error", report.passed, details
                )
            )
    return records


register_suite(
    Suite(
        name="symmetry",
        domain="all",
        kind="symmetry",
        run=symmetry_errors,
        description="equivariance error of every registered model against its tolerance",
    )
)
