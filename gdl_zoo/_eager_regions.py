"""Precomputation that ``torch.compile`` leaves out of its graphs and runs eagerly.

Some steps of a model cannot be traced by Dynamo by design: the topology of a
mesh is built in NumPy from its faces, and the meshes' heat and Poisson solves
are SciPy sparse factorisations.  Traced, each of them splits the graph into
dozens of fragments (one per NumPy call); :func:`eager_under_compile` hands the
whole step to Python instead.  The step then runs exactly as in eager mode,
autograd included, and a step that comes before the first tensor operation of
a ``forward`` costs no graph break at all.

``torch._disable_dynamo`` imports Dynamo on its first call only, so eager users
never pay for importing it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch

__all__ = ["eager_under_compile"]

F = TypeVar("F", bound=Callable)


def eager_under_compile(fn: F) -> F:
    """``fn``, run outside the graph (eagerly) when called under ``torch.compile``.

    In eager mode the call goes straight to ``fn``; under compilation it goes to
    ``torch._disable_dynamo(fn)``, which Dynamo does not trace into.
    """
    disabled = torch._disable_dynamo(fn)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if torch.compiler.is_compiling():
            return disabled(*args, **kwargs)
        return fn(*args, **kwargs)

    return call
