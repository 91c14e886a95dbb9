"""Small group objects: how to sample, enumerate, compose and invert elements.

A group here is only the bookkeeping the symmetry harness needs: exact
generators, the full element list for finite groups, random elements from a
seeded ``torch.Generator``, and the group law, so that an action can be checked
to be a genuine action (``act(g, act(h, x)) == act(g∘h, x)``).  How an element
moves a signal is the job of an :class:`~gdl_zoo.symmetry.actions.Action`.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Sequence

import torch

__all__ = [
    "Group",
    "CyclicGroup",
    "DihedralGroup",
    "EuclideanGroup",
    "TranslationGroup",
    "SymmetricGroup",
    "DilationMonoid",
    "DirectProduct",
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


class DihedralGroup(Group):
    """The dihedral group D_n of the regular n-gon, elements ``(f, k)``, ``f ∈ {0, 1}``.

    ``(f, k)`` is the map ``x ↦ R_k M^f x``: first the reflection ``M`` (across
    the first axis) if ``f = 1``, then the rotation ``R_k`` by ``2πk/n``.  Hence
    ``(f₁, k₁)∘(f₂, k₂) = (f₁ ⊕ f₂, k₁ + (−1)^{f₁} k₂)``.

    Args:
        order: ``n``, the number of rotations (``|D_n| = 2n``).
    """

    def __init__(self, order: int):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a positive integer, got {order!r}")
        self.order = order
        self.name = f"D{order}"

    def identity(self) -> tuple[int, int]:
        return (0, 0)

    def compose(self, g: tuple[int, int], h: tuple[int, int]) -> tuple[int, int]:
        (f1, k1), (f2, k2) = g, h
        return (f1 ^ f2, (k1 + (-1) ** f1 * k2) % self.order)

    def inverse(self, g: tuple[int, int]) -> tuple[int, int]:
        f, k = g
        return (f, k) if f else (0, (-k) % self.order)

    def sample(self, generator: torch.Generator | None = None) -> tuple[int, int]:
        return (_randint(0, 2, generator), _randint(0, self.order, generator))

    def generators(self) -> list[tuple[int, int]]:
        return [(0, 1 % self.order), (1, 0)]

    def elements(self) -> list[tuple[int, int]]:
        return [(f, k) for f in (0, 1) for k in range(self.order)]


class EuclideanGroup(Group):
    """Isometries of R³, elements ``(Q, t)``: ``x ↦ Q x + t`` with ``Q`` orthogonal.

    ``(Q₁, t₁)∘(Q₂, t₂) = (Q₁Q₂, Q₁t₂ + t₁)``.  Elements are float64 tensors
    (``Q`` of shape (3, 3), ``t`` of shape (3,)); actions cast them to the
    signal's dtype.  Subgroups: ``parity=False`` keeps ``det Q = +1`` (SE(3) or
    SO(3)); ``translations=False`` keeps ``t = 0`` (O(3) or SO(3)).

    Args:
        parity: include reflections (``det Q = −1``).
        translations: include translations (random ones are standard normal).
    """

    def __init__(self, parity: bool = True, translations: bool = True):
        self.parity = bool(parity)
        self.translations = bool(translations)
        self.name = {
            (True, True): "E(3)",
            (False, True): "SE(3)",
            (True, False): "O(3)",
            (False, False): "SO(3)",
        }[(self.parity, self.translations)]

    def identity(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.eye(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)

    def compose(self, g, h) -> tuple[torch.Tensor, torch.Tensor]:
        (q1, t1), (q2, t2) = g, h
        return q1 @ q2, q1 @ t2 + t1

    def inverse(self, g) -> tuple[torch.Tensor, torch.Tensor]:
        q, t = g
        return q.T, -(q.T @ t)

    def sample(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.randn(3, 3, generator=generator, dtype=torch.float64)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))  # Haar-distributed in O(3)
        if torch.det(q) < 0:
            q = -q  # now in SO(3)
        if self.parity and _randint(0, 2, generator):
            q = -q
        t = torch.zeros(3, dtype=torch.float64)
        if self.translations:
            t = torch.randn(3, generator=generator, dtype=torch.float64)
        return q, t

    def generators(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        zero = torch.zeros(3, dtype=torch.float64)
        quarter_turns = []
        for axis in range(3):
            q = torch.eye(3, dtype=torch.float64)
            i, j = [a for a in range(3) if a != axis]
            q[i, i], q[i, j], q[j, i], q[j, j] = 0.0, -1.0, 1.0, 0.0
            quarter_turns.append((q, zero))
        elements = quarter_turns
        if self.parity:
            elements.append((-torch.eye(3, dtype=torch.float64), zero))
        if self.translations:
            elements.append(
                (
                    torch.eye(3, dtype=torch.float64),
                    torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64),
                )
            )
        return elements


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


class DirectProduct(Group):
    """The direct product ``G_1 × … × G_k``: elements tuples, composed factor by factor.

    Its generators are each factor's generators with the identity in every
    other factor; finite products list all their elements.

    Args:
        factors: the groups ``G_1, …, G_k`` (at least one).
        name: the product's name (default ``"G_1 x … x G_k"``).
    """

    def __init__(self, *factors: Group, name: str | None = None):
        if not factors or not all(isinstance(f, Group) for f in factors):
            got = [type(f).__name__ for f in factors]
            raise TypeError(f"factors: expected one or more Group objects, got {got}")
        self.factors = factors
        self.name = name if name is not None else " x ".join(f.name for f in factors)

    def identity(self) -> tuple:
        return tuple(f.identity() for f in self.factors)

    def compose(self, g, h) -> tuple:
        return tuple(f.compose(a, b) for f, a, b in zip(self.factors, g, h))

    def inverse(self, g) -> tuple:
        return tuple(f.inverse(a) for f, a in zip(self.factors, g))

    def sample(self, generator: torch.Generator | None = None) -> tuple:
        return tuple(f.sample(generator) for f in self.factors)

    def generators(self) -> list[tuple]:
        identity = self.identity()
        return [
            identity[:k] + (g,) + identity[k + 1 :]
            for k, factor in enumerate(self.factors)
            for g in factor.generators()
        ]

    def elements(self) -> list[tuple] | None:
        lists = [f.elements() for f in self.factors]
        if any(elements is None for elements in lists):
            return None
        return [tuple(e) for e in itertools.product(*lists)]
