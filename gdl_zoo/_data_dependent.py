"""Values read from the data, in eager mode and in a program exported with ``torch.export``.

Some sizes of a model's computation are read from its inputs' values, such as
the number of graphs ``B = batch[-1] + 1`` of a batch.  Eagerly (and in the
eager regions of :mod:`gdl_zoo._eager_regions` under ``torch.compile``) they
are Python ints.  ``torch.export`` traces those regions too, with fake tensors
that hold no values; there :func:`data_dependent_int` returns an *unbacked*
symbolic int, so that the exported program reads the size from each new input
instead of keeping the example's.  Value checks that raise eagerly cannot run
on fake tensors either; :func:`check_under_export` turns them into runtime
assertions of the exported program.
"""

from __future__ import annotations

import torch

__all__ = ["data_dependent_int", "check_under_export"]


def data_dependent_int(value: torch.Tensor, minimum: int | None = None) -> int | torch.SymInt:
    """The integer held by a one-element tensor, readable by ``torch.export``.

    Eagerly this is ``int(value)``.  Under ``torch.export`` it is
    ``value.item()``, a symbolic int that the exported program computes from
    its input; ``minimum`` then becomes a runtime assertion ``value ≥ minimum``
    of the program (and lets export reason about sizes built from the value).

    Args:
        value: a one-element integer tensor.
        minimum: the least value the caller allows (``None``: no bound).  Eagerly
            the caller checks the bound itself, with its own message.

    Raises:
        ValueError: ``value`` does not hold exactly one element.
    """
    if value.numel() != 1:
        raise ValueError(f"value: expected a one-element tensor, got shape {tuple(value.shape)}")
    if not torch.compiler.is_exporting():
        return int(value)
    result = value.item()
    if minimum is not None:
        torch._check(result >= minimum)
    return result


def check_under_export(condition: torch.Tensor, message: str) -> None:
    """Under ``torch.export``: assert at run time that every entry of ``condition`` holds.

    Outside export this does nothing: eager callers raise their own, more
    detailed errors (with the offending values), and ``torch.compile`` runs
    them in eager regions.  The exported program raises ``RuntimeError`` when a
    later input violates the condition (``torch.export`` keeps the assertion,
    not ``message``, which is shown during tracing only).

    Args:
        condition: a boolean tensor (any shape).
        message: what was expected, for a failure while tracing.

    Raises:
        TypeError: ``condition`` is not a boolean tensor.
    """
    if not isinstance(condition, torch.Tensor) or condition.dtype != torch.bool:
        got = condition.dtype if isinstance(condition, torch.Tensor) else type(condition).__name__
        raise TypeError(f"condition: expected a torch.bool tensor, got {got}")
    if torch.compiler.is_exporting():
        torch._check(condition.all().item(), lambda: message)
