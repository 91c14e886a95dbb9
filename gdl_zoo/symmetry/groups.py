"""Small group objects: how to sample, enumerate, compose and invert elements.

A group here is only the bookkeeping the symmetry harness needs: exact
generators, the full element list for finite groups, random elements from a
seeded ``torch.Generator``, and the group law, so that an action can be checked
to be a genuine action (``act(g, act(h, x)) == act(g∘h, x)``).  How an element
moves a signal is the job of an :class:`~gdl_zoo.symmetry.actions.Action`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import torch

__all__ = [
    "Group",
    "CyclicGroup",
    "TranslationGroup",
    "SymmetricGroup",
    "DilationMonoid",
]


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """A uniform integer in ``[low, high)`` drawn from ``generator``."""
    return int(torch.randint(low, high, (1,), generator=generator).item())


class Group(abc.ABC):
    """A group (or monoid) whose elements the harness samples and composes.

    Subclasses define ``name``, :meth:`identity`, :meth:`compose`,
    :meth:`sample` and :meth:`generators`; finite groups also :meth:`elements`
    and every group :meth:`inverse`.
    """

    name: str = "group"

    @abc.abstractmethod
    def identity(self):
        """The neutral element."""

    @abc.abstractmethod
    def compose(self, g, h):
        """The product ``g∘h`` (apply ``h`` first, then ``g``)."""

    def inverse(self, g):
        """The inverse element; monoids without inverses raise ``ValueError``."""
        raise ValueError(f"{self.name} has no inverse for element {g!r}")

    @abc.abstractmethod
    def sample(self, generator: torch.Generator | None = None):
        """A random element, reproducible from ``generator``."""

    @abc.abstractmethod
    def generators(self) -> list:
        """Elements that generate the group (the exact checks of the harness)."""

    def elements(self) -> list | None:
        """Every element of a finite group; ``None`` for infinite groups."""
        return None

    def __repr__(self) -> str:
        return self.name


class CyclicGroup(Group):
    """The cyclic group C_n = Z/nZ, elements ``0, …, n-1`` (rotation by ``2πk/n``).

    Args:
        order: ``n``, a positive integer.
    """

    def __init__(self, order: int):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a positive integer, got {order!r}")
        self.order = order
        self.name = f"C{order}"

    def identity(self) -> int:
        return 0

    def compose(self, g: int, h: int) -> int:
        return (g + h) % self.order

    def inverse(self, g: int) -> int:
        return (-g) % self.order

    def sample(self, generator: torch.Generator | None = None) -> int:
        return _randint(0, self.order, generator)

    def generators(self) -> list[int]:
        return [1 % self.order]

    def elements(self) -> list[int]:
        return list(range(self.order))


class TranslationGroup(Group):
    """The lattice ``(mZ)^d`` of integer translations, elements ``d``-tuples of ints.

    Acting on periodic grids it becomes a finite cyclic group; the element list
    is therefore left infinite and actions reduce shifts modulo the grid size.

    Args:
        ndim: ``d``, the number of translated axes.
        multiple: ``m``; only shifts by multiples of ``m`` are elements (the
            subgroup that strided pooling respects).
        max_shift: random elements have coordinates in ``m·[-max_shift, max_shift]``.
    """

    def __init__(self, ndim: int, multiple: int = 1, max_shift: int = 64):
        for label, value in (("ndim", ndim), ("multiple", multiple), ("max_shift", max_shift)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        self.ndim = ndim
        self.multiple = multiple
        self.max_shift = max_shift
        self.name = f"Z^{ndim}" if multiple == 1 else f"({multiple}Z)^{ndim}"

    def identity(self) -> tuple[int, ...]:
        return (0,) * self.ndim

    def compose(self, g: Sequence[int], h: Sequence[int]) -> tuple[int, ...]:
        return tuple(a + b for a, b in zip(g, h, strict=True))

    def inverse(self, g: Sequence[int]) -> tuple[int, ...]:
        return tuple(-a for a in g)

    def sample(self, generator: torch.Generator | None = None) -> tuple[int, ...]:
        return tuple(
            self.multiple * _randint(-self.max_shift, self.max_shift + 1, generator)
            for _ in range(self.ndim)
        )

    def generators(self) -> list[tuple[int, ...]]:
        return [
            tuple(self.multiple if axis == k else 0 for axis in range(self.ndim))
            for k in range(self.ndim)
        ]


class SymmetricGroup(Group):
    """The symmetric group Σ_n, elements permutations as ``LongTensor`` of shape (n,).

    ``g`` maps position ``i`` of the permuted signal to position ``g[i]`` of the
    original: ``(g.x)[i] = x[g[i]]``.

    Args:
        n: the number of permuted objects.
    """

    def __init__(self, n: int):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        self.n = n
        self.name = f"S{n}"

    def identity(self) -> torch.Tensor:
        return torch.arange(self.n)

    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # (g∘h).x = g.(h.x): (g.(h.x))[i] = (h.x)[g[i]] = x[h[g[i]]]
        return h[g]

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return torch.argsort(g)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randperm(self.n, generator=generator)

    def generators(self) -> list[torch.Tensor]:
        if self.n == 1:
            return [self.identity()]
        swap = torch.arange(self.n)
        swap[[0, 1]] = swap[[1, 0]]
        cycle = torch.roll(torch.arange(self.n), -1)
        return [swap, cycle]


class DilationMonoid(Group):
    """Positive integers under multiplication: slowing a sequence down ``k`` times.

    Time warping by an integer factor has no inverse on sequences (a sequence
    cannot in general be sped up by dropping steps), so this is a monoid:
    :meth:`inverse` raises.

    Args:
        factors: the factors random elements are drawn from (each ≥ 1).
    """

    def __init__(self, factors: Sequence[int] = (2, 3)):
        factors = tuple(factors)
        if not factors or any(not isinstance(k, int) or k < 1 for k in factors):
            raise ValueError(f"factors must be positive integers, got {factors!r}")
        self.factors = factors
        self.name = "N_{>0}"

    def identity(self) -> int:
        return 1

    def compose(self, g: int, h: int) -> int:
        return g * h

    def sample(self, generator: torch.Generator | None = None) -> int:
        return self.factors[_randint(0, len(self.factors), generator)]

    def generators(self) -> list[int]:
        return [k for k in self.factors if k > 1] or [1]
