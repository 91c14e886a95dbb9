"""The equivariance harness: one way to prove ``f(g.x) = g.f(x)`` for any callable.

``equivariance_error`` evaluates a function on transformed inputs and compares
with the transformed outputs, over the group's exact generators (every element
of a finite group) and seeded random elements.  The error of one output is
relative and uses absolute values::

    err = max |f(g.x) - g.f(x)| / max |g.f(x)|

and the report keeps, per output, the largest error over all tested elements.
A test that cannot fail is refused: an all-zero output, non-finite values, or
an input that no tested element moves raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gdl_zoo.symmetry.actions import Action, Invariant

__all__ = [
    "DEFAULT_TOLERANCES",
    "default_tolerance",
    "ElementResult",
    "EquivarianceReport",
    "equivariance_error",
    "assert_equivariant",
    "assert_invariant",
    "check_action",
]

#: Largest relative equivariance error accepted per dtype when a check names no tolerance.
DEFAULT_TOLERANCES: dict[torch.dtype, float] = {
    torch.float64: 1e-10,
    torch.float32: 1e-4,
    torch.float16: 1e-2,
    torch.bfloat16: 5e-2,
}


def default_tolerance(dtype: torch.dtype) -> float:
    """The harness's relative tolerance for exact symmetries computed in ``dtype``."""
    if dtype not in DEFAULT_TOLERANCES:
        raise ValueError(
            f"expected a floating dtype among {sorted(map(str, DEFAULT_TOLERANCES))}, got {dtype}"
        )
    return DEFAULT_TOLERANCES[dtype]


@dataclass(frozen=True)
class ElementResult:
    """The error of each output for one group element.

    Attributes:
        element: the group element ``g``.
        kind: ``"generator"``, ``"element"`` (enumerated or user-given) or ``"random"``.
        errors: relative error of each output.
    """

    element: Any
    kind: str
    errors: tuple[float, ...]


@dataclass(frozen=True)
class EquivarianceReport:
    """What the harness measured.

    Attributes:
        errors: per output, the largest relative error over all tested elements.
        results: one :class:`ElementResult` per tested element.
        tolerance: the relative tolerance the check is judged against.
        dtype: the floating dtype the check ran in.
    """

    errors: tuple[float, ...]
    results: tuple[ElementResult, ...]
    tolerance: float
    dtype: torch.dtype

    @property
    def max_error(self) -> float:
        """The largest error over outputs and elements."""
        return max(self.errors)

    @property
    def passed(self) -> bool:
        """Whether every output's error is within the tolerance."""
        return self.max_error <= self.tolerance

    @property
    def worst(self) -> ElementResult:
        """The tested element with the largest error."""
        return max(self.results, key=lambda r: max(r.errors))

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        per_output = ", ".join(f"{e:.3e}" for e in self.errors)
        return (
            f"equivariance {verdict}: max relative error {self.max_error:.3e} "
            f"(tolerance {self.tolerance:.1e}, {self.dtype}); per output [{per_output}]; "
            f"{len(self.results)} elements tested, worst {self.worst.kind} element "
            f"{_describe(self.worst.element)}"
        )


def _describe(g: Any) -> str:
    if isinstance(g, torch.Tensor):
        return str(g.tolist()) if g.numel() <= 16 else f"tensor of shape {tuple(g.shape)}"
    return repr(g)


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _call(f: Callable, inputs: Any) -> tuple[torch.Tensor, ...]:
    outputs = f(*inputs) if isinstance(inputs, tuple) else f(inputs)
    outputs = _as_tuple(outputs)
    for k, y in enumerate(outputs):
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"expected output {k} to be a tensor, got {type(y).__name__}")
    return outputs


def _same(a: Any, b: Any) -> bool:
    """Whether two (structured) inputs are identical."""
    a, b = _as_tuple(a), _as_tuple(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            if x.shape != y.shape or not torch.equal(x, y):
                return False
        elif x is not y and x != y:
            return False
    return True


def _floating_dtype(inputs: Any) -> torch.dtype:
    dtypes = [x.dtype for x in _as_tuple(inputs) if isinstance(x, torch.Tensor)]
    floats = [d for d in dtypes if d.is_floating_point]
    if not floats:
        raise TypeError(
            f"expected at least one floating-point input tensor, got dtypes {dtypes or 'none'}"
        )
    return max(floats, key=default_tolerance)


def _relative_errors(
    transformed: tuple[torch.Tensor, ...], reference: tuple[torch.Tensor, ...]
) -> tuple[float, ...]:
    if len(transformed) != len(reference):
        raise ValueError(f"f(g.x) has {len(transformed)} outputs but g.f(x) has {len(reference)}")
    errors = []
    for k, (y, y_ref) in enumerate(zip(transformed, reference)):
        if y.shape != y_ref.shape:
            raise ValueError(
                f"output {k}: f(g.x) has shape {tuple(y.shape)} but g.f(x) has shape "
                f"{tuple(y_ref.shape)}; the output action does not match the model"
            )
        y, y_ref = y.detach().to(torch.float64), y_ref.detach().to(torch.float64)
        for label, t in (("f(g.x)", y), ("g.f(x)", y_ref)):
            if not torch.isfinite(t).all():
                raise ValueError(f"output {k}: {label} contains NaN or infinity")
        scale = y_ref.abs().max() if y_ref.numel() else torch.tensor(0.0)
        if scale == 0:
            raise ValueError(
                f"output {k} is identically zero (shape {tuple(y_ref.shape)}): the check "
                "could never fail; use a non-degenerate input"
            )
        errors.append(float((y - y_ref).abs().max() / scale))
    return tuple(errors)


def _elements_to_test(
    act_in: Action,
    elements: Sequence | None,
    n_random: int,
    generator: torch.Generator | int | None,
) -> list[tuple[Any, str]]:
    if elements is not None:
        chosen = [(g, "element") for g in elements]
    else:
        finite = act_in.elements()
        if finite is not None:
            chosen = [(g, "element") for g in finite]
        else:
            if isinstance(generator, int):
                generator = torch.Generator().manual_seed(generator)
            chosen = [(g, "generator") for g in act_in.generators()]
            chosen += [(act_in.sample(generator), "random") for _ in range(n_random)]
    if not chosen:
        raise ValueError("no group elements to test: give elements= or n_random > 0")
    return chosen


def equivariance_error(
    f: Callable,
    inputs: Any,
    act_in: Action,
    act_out: Action,
    *,
    elements: Sequence | None = None,
    n_random: int = 4,
    generator: torch.Generator | int | None = 0,
    tolerance: float | None = None,
    eval_mode: bool = True,
    no_grad: bool = True,
) -> EquivarianceReport:
    """Measure how far ``f`` is from ``f(g.x) = g.f(x)``.

    Args:
        f: any callable or ``nn.Module``; called as ``f(*inputs)`` for a tuple,
            else ``f(inputs)``; returns a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of tensors (features, positions, masks, …).
        act_in: the action on the inputs; its group supplies the elements.
        act_out: the action on the outputs (:class:`Invariant` for invariance).
        elements: test exactly these elements; otherwise every element of a
            finite group, or the generators plus ``n_random`` random elements.
        n_random: random elements for infinite groups.
        generator: a ``torch.Generator`` or an integer seed for random elements.
        tolerance: relative tolerance; defaults to :func:`default_tolerance` of
            the input dtype (float64 1e-10, float32 1e-4).
        eval_mode: put an ``nn.Module`` in eval mode during the check (dropout
            and batch statistics are not symmetries) and restore its mode after.
        no_grad: evaluate under ``torch.no_grad()``; models that differentiate
            inside ``forward`` (forces) re-enable gradients themselves.

    Returns:
        An :class:`EquivarianceReport`.

    Raises:
        ValueError: for degenerate checks that could not fail (all-zero output,
            an input that no tested element moves), non-finite outputs, or
            outputs whose shapes the output action does not preserve.
    """
    dtype = _floating_dtype(inputs)
    tolerance = default_tolerance(dtype) if tolerance is None else float(tolerance)
    chosen = _elements_to_test(act_in, elements, n_random, generator)
    was_training = f.training if isinstance(f, nn.Module) else None
    try:
        if was_training:
            f.eval()
        with torch.no_grad() if no_grad else torch.enable_grad():
            base_out = _call(f, inputs)
            results, moved = [], False
            for g, kind in chosen:
                g_inputs = act_in.act(g, inputs)
                moved = moved or not _same(g_inputs, inputs)
                transformed = _call(f, g_inputs)
                reference = _as_tuple(
                    act_out.act(g, base_out if len(base_out) > 1 else base_out[0])
                )
                results.append(ElementResult(g, kind, _relative_errors(transformed, reference)))
    finally:
        if was_training:
            f.train()
    if not moved:
        raise ValueError(
            "the input action left the input unchanged for every tested element, so the "
            "check could not fail; use a non-degenerate input (not constant, not symmetric)"
        )
    per_output = tuple(max(r.errors[k] for r in results) for k in range(len(base_out)))
    return EquivarianceReport(per_output, tuple(results), tolerance, dtype)


def assert_equivariant(
    f: Callable, inputs: Any, act_in: Action, act_out: Action, **kwargs
) -> EquivarianceReport:
    """Raise ``AssertionError`` unless ``f(g.x) = g.f(x)`` within tolerance.

    Takes the arguments of :func:`equivariance_error` and returns its report.
    """
    report = equivariance_error(f, inputs, act_in, act_out, **kwargs)
    if not report.passed:
        raise AssertionError(str(report))
    return report


def assert_invariant(f: Callable, inputs: Any, act_in: Action, **kwargs) -> EquivarianceReport:
    """Raise ``AssertionError`` unless ``f(g.x) = f(x)`` within tolerance."""
    return assert_equivariant(f, inputs, act_in, Invariant(), **kwargs)


def check_action(
    action: Action,
    inputs: Any,
    *,
    n_random: int = 4,
    generator: torch.Generator | int | None = 0,
    tolerance: float | None = None,
) -> None:
    """Check that ``action`` is a genuine action on ``inputs``.

    Verifies ``e.x = x`` and ``g.(h.x) = (g∘h).x`` for generators and random
    pairs (every pair of a small finite group), so an action that the harness
    relies on cannot itself be wrong.

    Raises:
        AssertionError: naming the elements that violate the action laws.
    """
    group = action.group
    tolerance = default_tolerance(_floating_dtype(inputs)) if tolerance is None else tolerance
    if _law_error(action.act(group.identity(), inputs), inputs) > tolerance:
        raise AssertionError(f"the identity {_describe(group.identity())} moves the input")
    pool = [g for g, _ in _elements_to_test(action, None, n_random, generator)]
    if len(pool) <= 12:
        pairs = [(g, h) for g in pool for h in pool]
    else:
        pairs = list(zip(pool, pool[1:] + pool[:1]))
    for g, h in pairs:
        err = _law_error(
            action.act(g, action.act(h, inputs)), action.act(group.compose(g, h), inputs)
        )
        if err > tolerance:
            raise AssertionError(
                f"g.(h.x) != (g∘h).x for g={_describe(g)}, h={_describe(h)}: "
                f"relative error {err:.3e} > {tolerance:.1e}"
            )


def _law_error(a: Any, b: Any) -> float:
    """Largest relative difference between two structured inputs (0 when identical)."""
    a, b = _as_tuple(a), _as_tuple(b)
    if len(a) != len(b):
        return float("inf")
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return float("inf")
        diff = (x.to(torch.float64) - y.to(torch.float64)).abs().max() if x.numel() else 0.0
        scale = y.to(torch.float64).abs().max() if y.numel() else 0.0
        worst = max(worst, float(diff / scale) if scale > 0 else float(diff > 0) * float("inf"))
    return worst
