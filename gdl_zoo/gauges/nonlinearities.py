"""Nonlinearities for SO(2)-irreps features: regular (sampled) and norm nonlinearities.

de Haan et al., ICLR 2021, §4.  A pointwise nonlinearity on irreps
coefficients would break gauge equivariance; two remedies:

- :class:`RegularNonlinearity`: read ``copies × (ρ_0 ⊕ … ⊕ ρ_N)`` as
  ``copies`` band-limited functions on the circle,
  ``f(φ) = a_0 + Σ_n a_n cos nφ + b_n sin nφ``, sample them at ``S`` equally
  spaced directions ``φ_k = 2πk/S``, apply σ pointwise and project back by the
  discrete Fourier transform.  A gauge change by ``g`` shifts ``f`` to
  ``f(· + g)``: the layer is exactly equivariant for ``g ∈ (2π/S)Z`` and
  approximately otherwise, with an error that shrinks as ``S`` grows
  (measured in the tests; the card of a model using it declares a tolerance).
- :class:`NormNonlinearity`: exact.  Scalars go through σ; every ``ρ_n`` pair
  ``v`` (n ≥ 1) is rescaled, ``v ↦ σ(|v| + β) v/|v|`` with a learned bias ``β``
  per copy, and ``0 ↦ 0`` (no NaN at the origin).

Shapes:
    N: vertices.  C: irreps dimension.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from gdl_zoo.gauges.so2_irreps import SO2Irreps, check_so2_irreps

__all__ = ["RegularNonlinearity", "NormNonlinearity"]

#: Norms below this are treated as zero by :class:`NormNonlinearity`.
NORM_EPS = 1e-12


class RegularNonlinearity(nn.Module):
    """σ applied to band-limited circle functions sampled in ``samples`` directions.

    Args:
        irreps: ``copies × (ρ_0 ⊕ … ⊕ ρ_N)`` (see :meth:`SO2Irreps.regular`).
        samples: ``S > 2N`` directions (more: closer to exact equivariance).
        activation: the pointwise σ (default ReLU).

    Shapes:
        features: ``(*, C)``.  output: ``(*, C)``.
    """

    def __init__(
        self,
        irreps: SO2Irreps,
        samples: int,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
    ):
        super().__init__()
        check_so2_irreps(irreps)
        mults = irreps.multiplicities
        if len(set(mults)) != 1:
            raise ValueError(
                "irreps: expected equal multiplicities of ρ_0 … ρ_N (regular features), "
                f"got {irreps}"
            )
        order = len(mults) - 1
        if isinstance(samples, bool) or not isinstance(samples, int) or samples <= 2 * order:
            raise ValueError(f"samples: expected an int > 2N = {2 * order}, got {samples!r}")
        self.irreps, self.samples, self.activation = irreps, samples, activation
        copies = mults[0]
        phi = 2 * math.pi * torch.arange(samples, dtype=torch.float64) / samples
        # synthesis (S, 2N+1): f(φ_k) = Σ basis_j(φ_k) c_j, with c = (a_0, a_1, b_1, …)
        columns = [torch.ones_like(phi)]
        for n in range(1, order + 1):
            columns += [torch.cos(n * phi), torch.sin(n * phi)]
        synthesis = torch.stack(columns, dim=-1)
        analysis = synthesis.T * (2.0 / samples)  # (2N+1, S): the discrete Fourier transform
        analysis[0] /= 2.0
        self.register_buffer("synthesis", synthesis, persistent=False)
        self.register_buffer("analysis", analysis, persistent=False)
        # component index of coefficient j of copy i, in SO2Irreps layout: (copies, 2N+1)
        index = torch.empty(copies, 2 * order + 1, dtype=torch.long)
        index[:, 0] = torch.arange(copies)
        for n in range(1, order + 1):
            base = copies + 2 * copies * (n - 1) + 2 * torch.arange(copies)
            index[:, 2 * n - 1], index[:, 2 * n] = base, base + 1
        self.register_buffer("index", index, persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        self.irreps.check_features(features)
        coefficients = features[..., self.index]  # (*, copies, 2N+1)
        values = coefficients @ self.synthesis.to(features).T  # (*, copies, S)
        back = self.activation(values) @ self.analysis.to(features).T  # (*, copies, 2N+1)
        out = torch.empty_like(features)
        out[..., self.index] = back
        return out

    def extra_repr(self) -> str:
        return f"{self.irreps}, samples={self.samples}"


class NormNonlinearity(nn.Module):
    """σ on scalars, ``v ↦ σ(|v| + β) v/|v|`` on every ``ρ_n`` pair (n ≥ 1).

    Args:
        irreps: the :class:`SO2Irreps` of the features.
        activation: σ (default ReLU).

    Shapes:
        features: ``(*, C)``.  output: ``(*, C)``.
    """

    def __init__(
        self,
        irreps: SO2Irreps,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
    ):
        super().__init__()
        check_so2_irreps(irreps)
        self.irreps, self.activation = irreps, activation
        pairs = (irreps.dim - irreps.num_scalars) // 2
        self.bias = nn.Parameter(torch.zeros(pairs))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        self.irreps.check_features(features, like=self)
        m0 = self.irreps.num_scalars
        scalars = self.activation(features[..., :m0])
        pairs = features[..., m0:].unflatten(-1, (-1, 2))  # (*, pairs, 2)
        squared = pairs.square().sum(-1, keepdim=True)
        norm = squared.clamp_min(NORM_EPS**2).sqrt()  # no infinite gradient at 0
        scale = torch.where(
            squared > NORM_EPS**2,
            self.activation(norm + self.bias.unsqueeze(-1).to(norm)) / norm,
            torch.zeros_like(norm),
        )
        return torch.cat([scalars, (pairs * scale).flatten(-2)], dim=-1)

    def extra_repr(self) -> str:
        return f"{self.irreps}"
