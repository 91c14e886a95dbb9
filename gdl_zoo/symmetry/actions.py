"""Group actions on signals: small objects that move inputs and outputs.

An :class:`Action` pairs a :class:`~gdl_zoo.symmetry.groups.Group` with a rule
``act(g, inputs)``.  The same group acts differently on a model's inputs and
outputs; the harness samples elements from the input action's group and hands
the same element to both actions.  ``inputs`` is a tensor or a tuple of tensors
(features, positions, masks, …), exactly as the model takes them.
"""

from __future__ import annotations

import abc
from typing import Any

import torch

from gdl_zoo.symmetry.groups import Group, SymmetricGroup

__all__ = ["Action", "Invariant", "TupleAction", "AxisPermutation"]


class Action(abc.ABC):
    """How the elements of ``group`` act on a structured input.

    Subclasses set ``self.group`` and implement :meth:`act`.  Sampling and
    enumeration are delegated to the group; an action whose elements are
    constrained further (e.g. shifts by multiples of a stride) uses a group
    that encodes the constraint.
    """

    group: Group

    @abc.abstractmethod
    def act(self, g: Any, inputs: Any) -> Any:
        """Return ``g.inputs``; ``inputs`` is a tensor or a tuple of tensors."""

    def sample(self, generator: torch.Generator | None = None) -> Any:
        """A random group element, reproducible from ``generator``."""
        return self.group.sample(generator)

    def generators(self) -> list:
        """The group's generators (the exact elements the harness always tests)."""
        return self.group.generators()

    def elements(self) -> list | None:
        """Every element for a finite group, else ``None``."""
        return self.group.elements()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(group={self.group!r})"


class Invariant(Action):
    """The trivial action: ``g.y = y``.  Use it as the output action of invariant models.

    It accepts any element of any group, so it pairs with every input action.
    """

    def __init__(self, group: Group | None = None):
        self.group = group

    def act(self, g: Any, inputs: Any) -> Any:
        return inputs

    def sample(self, generator: torch.Generator | None = None) -> Any:
        if self.group is None:
            raise ValueError(
                "Invariant() has no group to sample from; sample from the input action"
            )
        return super().sample(generator)

    def generators(self) -> list:
        return [] if self.group is None else super().generators()

    def elements(self) -> list | None:
        return None if self.group is None else super().elements()

    def __repr__(self) -> str:
        return "Invariant()"


class TupleAction(Action):
    """Act componentwise on a tuple input: ``g.(x_1, …, x_k) = (a_1(g, x_1), …)``.

    Args:
        *actions: one action per tuple component; ``None`` leaves that component
            unchanged (e.g. an integer mask or a time-scale tensor).  The group is
            that of the first action that is not ``None``.
    """

    def __init__(self, *actions: Action | None):
        given = [a for a in actions if a is not None]
        if not given:
            raise ValueError("TupleAction needs at least one action that is not None")
        self.actions = actions
        self.group = given[0].group

    def act(self, g: Any, inputs: Any) -> tuple:
        if not isinstance(inputs, (tuple, list)) or len(inputs) != len(self.actions):
            got = f"a {type(inputs).__name__}"
            if isinstance(inputs, (tuple, list)):
                got += f" of length {len(inputs)}"
            raise ValueError(f"expected a tuple of {len(self.actions)} inputs, got {got}")
        return tuple(x if a is None else a.act(g, x) for a, x in zip(self.actions, inputs))

    def __repr__(self) -> str:
        return f"TupleAction{tuple(self.actions)!r}"


class AxisPermutation(Action):
    """Σ_n permuting one axis of a tensor: ``(g.x)[..., i, ...] = x[..., g[i], ...]``.

    Args:
        n: the size of the permuted axis.
        dim: the axis (e.g. ``1`` for the tokens of a ``(B, T, C)`` sequence).

    Raises:
        ValueError: when the tensor's axis ``dim`` does not have size ``n``.
    """

    def __init__(self, n: int, dim: int = 1):
        self.group = SymmetricGroup(n)
        self.dim = dim

    def act(self, g: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"AxisPermutation acts on a tensor, got {type(inputs).__name__}")
        if inputs.dim() == 0 or inputs.shape[self.dim] != self.group.n:
            raise ValueError(
                f"expected axis {self.dim} of size {self.group.n}, got shape {tuple(inputs.shape)}"
            )
        return torch.index_select(inputs, self.dim, g.to(inputs.device))

    def __repr__(self) -> str:
        return f"AxisPermutation(n={self.group.n}, dim={self.dim})"
