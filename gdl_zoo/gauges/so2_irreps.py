"""Features as SO(2) irreps: ρ_0 (scalars) and ρ_n, n ≥ 1 (planar rotations by nα).

de Haan, Weiler, Cohen & Welling, "Gauge Equivariant Mesh CNNs" (ICLR 2021):
a feature at a vertex is a vector of ``⊕_n m_n ρ_n`` with

    ρ_0(α) = 1,      ρ_n(α) = [[cos nα, −sin nα],
                                [sin nα,  cos nα]]   (n ≥ 1).

Layout of a feature vector of :class:`SO2Irreps` ``(m_0, m_1, …, m_N)``: the
``m_0`` scalars first, then for each order ``n = 1 … N`` its ``m_n`` pairs
``(x, y)``, each pair contiguous.  :meth:`SO2Irreps.rotate` applies
``ρ(α)`` to many vectors with many angles at once, elementwise, with no
matrices: each pair of order ``n`` turns by ``nα``.

Shapes:
    C: feature dimension ``m_0 + 2 Σ_{n≥1} m_n``.
    *: any batch shape (vertices, edges).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gdl_zoo._validation import check_floating

__all__ = ["SO2Irreps", "check_so2_irreps"]


@dataclass(frozen=True)
class SO2Irreps:
    """Multiplicities ``(m_0, …, m_N)`` of the SO(2) irreps ``ρ_0 … ρ_N`` of a feature.

    Args:
        multiplicities: non-negative integers, ``m_n`` copies of ``ρ_n``; at
            least one positive.

    Example:
        ``SO2Irreps((4, 2, 1))`` is ``4ρ_0 ⊕ 2ρ_1 ⊕ ρ_2``, dimension 4 + 4 + 2 = 10.
    """

    multiplicities: tuple[int, ...]

    def __post_init__(self):
        mults = self.multiplicities
        if isinstance(mults, (str, bytes)) or not isinstance(mults, Sequence):
            raise TypeError(
                f"multiplicities: expected a sequence of ints, got {type(mults).__name__}"
            )
        mults = tuple(mults)
        if (
            not mults
            or any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in mults)
            or sum(mults) == 0
        ):
            raise ValueError(
                "multiplicities: expected non-negative ints, at least one positive, "
                f"got {self.multiplicities!r}"
            )
        object.__setattr__(self, "multiplicities", mults)

    @classmethod
    def regular(cls, copies: int, max_order: int) -> SO2Irreps:
        """``copies × (ρ_0 ⊕ ρ_1 ⊕ … ⊕ ρ_N)``: band-limited functions on the circle."""
        if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order < 0:
            raise ValueError(f"max_order: expected an int ≥ 0, got {max_order!r}")
        return cls((copies,) * (max_order + 1))

    @property
    def max_order(self) -> int:
        """``N``, the highest order present (trailing zero multiplicities ignored)."""
        return max(n for n, m in enumerate(self.multiplicities) if m > 0)

    @property
    def dim(self) -> int:
        """``C = m_0 + 2 Σ_{n≥1} m_n``."""
        return self.multiplicities[0] + 2 * sum(self.multiplicities[1:])

    @property
    def num_scalars(self) -> int:
        """``m_0``: the gauge-invariant components, stored first."""
        return self.multiplicities[0]

    def orders(self, device: torch.device | str | None = None) -> torch.Tensor:
        """The order ``n`` of each component, long ``(C,)``, on ``device`` (default: the CPU)."""
        parts = [torch.zeros(self.multiplicities[0], dtype=torch.long, device=device)]
        for n, m in enumerate(self.multiplicities[1:], start=1):
            parts.append(torch.full((2 * m,), n, dtype=torch.long, device=device))
        return torch.cat(parts)

    def check_features(
        self,
        features: torch.Tensor,
        name: str = "features",
        like: torch.Tensor | nn.Module | None = None,
    ) -> torch.Tensor:
        """``features`` if it is a finite floating ``(*, C)`` tensor of these irreps, else an error.

        Args:
            features: the input.
            name: how the error message calls it.
            like: the layer (or a tensor) whose device and dtype ``features`` must
                have; see :func:`gdl_zoo._validation.check_like`.

        Shapes:
            features: ``(*, C)``, at least one axis.

        Raises:
            TypeError: not a floating tensor, or another dtype than ``like``.
            ValueError: another device than ``like``, NaN or infinite values, no
                axis or a last axis other than ``C``.
        """
        check_floating(features, name, like)
        if features.dim() == 0 or features.shape[-1] != self.dim:
            raise ValueError(
                f"{name}: expected last dimension {self.dim} for irreps {self}, "
                f"got shape {tuple(features.shape)}"
            )
        return features

    def rotate(self, features: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        """``ρ(α) v`` for each feature vector ``v`` and its angle ``α``.

        One ``cos``/``sin`` per pair (not per component) and no gathers: a
        pair of order ``n`` becomes ``(x cos nα − y sin nα, x sin nα + y cos nα)``.

        Args:
            features: ``v``, floating.
            angle: ``α`` in radians, broadcast against ``features[..., 0]``.

        Shapes:
            features: ``(*, C)``.  angle: ``(*)`` (or broadcastable).  output: ``(*, C)``.
        """
        if features.shape[-1] != self.dim:
            raise ValueError(
                f"features: expected last dimension {self.dim} for {self}, "
                f"got shape {tuple(features.shape)}"
            )
        m0 = self.multiplicities[0]
        pair_orders = self.orders(features.device)[m0::2].to(features.dtype)
        phase = angle.to(features.dtype).unsqueeze(-1) * pair_orders  # (*, P): nα per pair
        cos, sin = torch.cos(phase), torch.sin(phase)
        x, y = features[..., m0:].unflatten(-1, (-1, 2)).unbind(-1)  # (*, P) each
        turned = torch.stack([cos * x - sin * y, sin * x + cos * y], -1).flatten(-2)
        return torch.cat([features[..., :m0].expand(turned.shape[:-1] + (m0,)), turned], -1)

    def matrix(
        self, angle: float | torch.Tensor, dtype: torch.dtype = torch.float64
    ) -> torch.Tensor:
        """The dense block-diagonal ``ρ(α)``, ``(C, C)``: the slow, obviously correct form."""
        angle = torch.as_tensor(angle, dtype=dtype)
        blocks = [torch.eye(self.multiplicities[0], dtype=dtype, device=angle.device)]
        for n, m in enumerate(self.multiplicities[1:], start=1):
            c, s = torch.cos(n * angle), torch.sin(n * angle)
            block = torch.stack([torch.stack([c, -s]), torch.stack([s, c])])
            blocks += [block] * m
        return torch.block_diag(*blocks)

    def __str__(self) -> str:
        terms = [f"{m}ρ_{n}" for n, m in enumerate(self.multiplicities) if m]
        return " ⊕ ".join(terms)


def check_so2_irreps(irreps, name: str = "irreps") -> SO2Irreps:
    """``irreps`` if it is an :class:`SO2Irreps`; a ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(irreps, SO2Irreps):
        raise TypeError(f"{name}: expected SO2Irreps, got {type(irreps).__name__}")
    return irreps
