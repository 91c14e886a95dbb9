"""The gauge-equivariant mesh convolution (GEM conv).

de Haan, Weiler, Cohen & Welling, "Gauge Equivariant Mesh CNNs: Anisotropic
convolutions on geometric graphs", ICLR 2021; book Eq. 37.  With features
``f_p`` in the SO(2) irreps ``ρ_in`` and, for each edge ``q → p``, the angle
``θ_pq`` of ``q`` in ``p``'s tangent frame (log map) and the parallel-transport
angle ``g_{q→p}`` (Levi-Civita connection)::

    f'_p = K_self f_p + Σ_{q ∈ N(p)} w_pq K_neigh(θ_pq) ρ_in(g_{q→p}) f_q  (/ |N(p)| for mean)
           + b        (b on the ρ_0 outputs only)

Gauge equivariance (f ↦ ρ(−g) f, θ_pq ↦ θ_pq − g_p, g_{q→p} ↦ g_{q→p} − g_p + g_q)
holds iff ``K_self`` is an intertwiner and ``K_neigh(θ − g) = ρ_out(−g)
K_neigh(θ) ρ_in(g)``.  Setting ``g = θ`` shows that the solutions are exactly

    K_neigh(θ) = ρ_out(θ) K₀ ρ_in(−θ),   K₀ ∈ R^{C_out × C_in} free,

the analytic kernel basis of the paper (its Table 1): a block ``ρ_n → ρ_m``
of ``K₀`` expands into ``cos``/``sin`` of ``(m − n)θ`` and ``(m + n)θ``
(4 functions for n, m ≥ 1; 2 when one of them is 0; 1 for ``ρ_0 → ρ_0``).
The fast path never forms these matrices: each message is

    ρ_out(θ_pq) · K₀ · ρ_in(g_{q→p} − θ_pq) f_q

(two elementwise rotations and one matrix product over all edges).
``K_self`` is ``A ⊗ I₂ + B ⊗ J`` on each order ``n ≥ 1`` (``J`` the quarter
turn; these commute with every rotation) and a free matrix on ``ρ_0``; no
other order pairs intertwine.  A bias on ``ρ_n, n ≥ 1`` would break
equivariance, so there is none.

Shapes:
    N: vertices.  E: directed edges, ``edge_index[0]`` = neighbour ``q``,
    ``edge_index[1]`` = vertex ``p``.  C_in, C_out: irreps dimensions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gdl_zoo._validation import check_device, check_floating
from gdl_zoo.gauges.so2_irreps import SO2Irreps, check_so2_irreps

__all__ = ["IrrepsLinear", "GEMConv", "check_gauge_inputs", "transported_messages"]

_AGGREGATIONS = ("mean", "sum")


def check_gauge_inputs(
    features: torch.Tensor,
    edge_index: torch.Tensor,
    log_angle: torch.Tensor,
    transport: torch.Tensor,
    edge_weight: torch.Tensor | None,
    irreps: SO2Irreps,
    like: torch.Tensor | nn.Module | None = None,
) -> None:
    """Validate the inputs of a gauge layer; errors name what was expected and received.

    ``features`` must be finite, on the device and in the dtype of ``like`` (the
    layer), with at least one vertex.
    """
    check_floating(features, "features", like)
    if features.dim() != 2 or features.shape[1] != irreps.dim or features.shape[0] == 0:
        raise ValueError(
            f"features: expected shape (N, {irreps.dim}) for irreps {irreps} with N ≥ 1, "
            f"got {tuple(features.shape)}"
        )
    if not isinstance(edge_index, torch.Tensor) or edge_index.dtype != torch.long:
        got = edge_index.dtype if isinstance(edge_index, torch.Tensor) else type(edge_index)
        raise TypeError(f"edge_index: expected a long tensor, got {got}")
    check_device(edge_index, "edge_index", features.device, "the features")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index: expected shape (2, E), got {tuple(edge_index.shape)}")
    num_edges = edge_index.shape[1]
    in_range = torch.compiler.is_compiling() or not num_edges  # data-dependent: eager only
    if not in_range and (edge_index.min() < 0 or edge_index.max() >= features.shape[0]):
        raise ValueError(
            f"edge_index: expected vertex indices in [0, {features.shape[0]}), "
            f"got range [{int(edge_index.min())}, {int(edge_index.max())}]"
        )
    named = {"log_angle": log_angle, "transport": transport}
    if edge_weight is not None:
        named["edge_weight"] = edge_weight
    for name, value in named.items():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
            raise TypeError(f"{name}: expected a floating tensor, got {got}")
        if tuple(value.shape) != (num_edges,):
            raise ValueError(f"{name}: expected shape ({num_edges},), got {tuple(value.shape)}")


class IrrepsLinear(nn.Module):
    """The most general gauge-equivariant pointwise linear map, plus a scalar bias.

    ``f ↦ K f + b`` with ``K`` an intertwiner of ``ρ_in`` and ``ρ_out``:
    ``ρ_out(α) K = K ρ_in(α)`` for every ``α``.  By Schur's lemma for SO(2),
    ``K`` is a free matrix between the ``ρ_0`` copies, ``A ⊗ I₂ + B ⊗ J``
    between the ``ρ_n`` copies (``J`` the quarter turn, ``A, B`` free) and zero
    between different orders; ``b`` lives on the ``ρ_0`` outputs only.

    Args:
        irreps_in: :class:`SO2Irreps` of the input.
        irreps_out: :class:`SO2Irreps` of the output.
        bias: learn ``b``.

    Shapes:
        features: ``(*, C_in)``.  output: ``(*, C_out)``.
    """

    def __init__(self, irreps_in: SO2Irreps, irreps_out: SO2Irreps, bias: bool = True):
        super().__init__()
        check_so2_irreps(irreps_in, "irreps_in")
        check_so2_irreps(irreps_out, "irreps_out")
        self.irreps_in, self.irreps_out = irreps_in, irreps_out
        scale = 1.0 / math.sqrt(2 * irreps_in.dim)
        self.weights = nn.ParameterDict()
        pairs = zip(irreps_in.multiplicities, irreps_out.multiplicities)
        for n, (m_in, m_out) in enumerate(pairs):
            if m_in and m_out:
                shape = (m_out, m_in) if n == 0 else (2, m_out, m_in)
                self.weights[str(n)] = nn.Parameter(torch.randn(shape) * scale)
        m0 = irreps_out.num_scalars
        self.bias = nn.Parameter(torch.zeros(m0)) if bias and m0 else None

    @staticmethod
    def _offsets(irreps: SO2Irreps) -> list[int]:
        offsets, start = [], 0
        for n, m in enumerate(irreps.multiplicities):
            offsets.append(start)
            start += m if n == 0 else 2 * m
        return offsets

    def matrix(self) -> torch.Tensor:
        """``K``, the intertwiner ``(C_out, C_in)`` built from the learned blocks."""
        like = next(iter(self.weights.values()), None)
        dtype = like.dtype if like is not None else torch.get_default_dtype()
        device = like.device if like is not None else None
        out = torch.zeros(self.irreps_out.dim, self.irreps_in.dim, dtype=dtype, device=device)
        rows, cols = self._offsets(self.irreps_out), self._offsets(self.irreps_in)
        quarter = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=dtype, device=device)
        identity = torch.eye(2, dtype=dtype, device=device)
        for key, block in self.weights.items():
            n = int(key)
            if n == 0:
                m_out, m_in = block.shape
                out[rows[0] : rows[0] + m_out, cols[0] : cols[0] + m_in] = block
            else:
                m_out, m_in = block.shape[1:]
                kron = torch.kron(block[0], identity) + torch.kron(block[1], quarter)
                out[rows[n] : rows[n] + 2 * m_out, cols[n] : cols[n] + 2 * m_in] = kron
        return out

    def add_bias(self, features: torch.Tensor) -> torch.Tensor:
        """``features + b`` on the ``ρ_0`` components (``features`` in ``irreps_out``)."""
        if self.bias is None:
            return features
        m0 = self.irreps_out.num_scalars
        return torch.cat([features[..., :m0] + self.bias, features[..., m0:]], dim=-1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        self.irreps_in.check_features(features, like=self)
        return self.add_bias(features @ self.matrix().T)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}, bias={self.bias is not None}"


def transported_messages(
    irreps_in: SO2Irreps,
    irreps_out: SO2Irreps,
    weight: torch.Tensor,
    features: torch.Tensor,
    edge_index: torch.Tensor,
    log_angle: torch.Tensor,
    transport: torch.Tensor,
) -> torch.Tensor:
    """``ρ_out(θ_pq) K₀ ρ_in(g_{q→p} − θ_pq) f_q`` for every edge, without forming matrices.

    Args:
        weight: ``K₀``, ``(C_out, C_in)`` or per head ``(H, C_out, C_in)``.

    Shapes:
        output: ``(E, C_out)`` or ``(E, H, C_out)``.
    """
    # (E, C_in): neighbours transported to p and turned into the edge's frame
    moved = irreps_in.rotate(features.index_select(0, edge_index[0]), transport - log_angle)
    if weight.dim() == 2:
        return irreps_out.rotate(moved @ weight.T, log_angle)
    mixed = torch.einsum("hoi,ei->eho", weight, moved)  # (E, H, C_out)
    return irreps_out.rotate(mixed, log_angle.unsqueeze(-1))


class GEMConv(nn.Module):
    """Gauge-equivariant convolution from ``irreps_in`` to ``irreps_out`` features.

    de Haan et al., ICLR 2021 (see the module docstring for the update rule and
    why the kernel ``ρ_out(θ) K₀ ρ_in(−θ)`` is the whole equivariant space).

    Args:
        irreps_in: :class:`SO2Irreps` of the input features.
        irreps_out: :class:`SO2Irreps` of the output features.
        aggregation: ``"mean"`` (divide by the number of incoming edges) or ``"sum"``.
        bias: a learned bias on the ``ρ_0`` outputs.

    Shapes:
        features: ``(N, C_in)``; edge_index: ``(2, E)`` long; log_angle, transport,
        edge_weight: ``(E,)``.  output: ``(N, C_out)``.
    """

    def __init__(
        self,
        irreps_in: SO2Irreps,
        irreps_out: SO2Irreps,
        aggregation: str = "mean",
        bias: bool = True,
    ):
        super().__init__()
        check_so2_irreps(irreps_in, "irreps_in")
        check_so2_irreps(irreps_out, "irreps_out")
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"aggregation: expected one of {_AGGREGATIONS}, got {aggregation!r}")
        self.irreps_in, self.irreps_out, self.aggregation = irreps_in, irreps_out, aggregation
        # K₀, scaled so that outputs keep about unit variance
        scale = 1.0 / math.sqrt(2 * irreps_in.dim)
        self.neighbour_weight = nn.Parameter(torch.randn(irreps_out.dim, irreps_in.dim) * scale)
        self.self_connection = IrrepsLinear(irreps_in, irreps_out, bias=bias)

    def forward(
        self,
        features: torch.Tensor,
        edge_index: torch.Tensor,
        log_angle: torch.Tensor,
        transport: torch.Tensor,
        edge_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        check_gauge_inputs(
            features, edge_index, log_angle, transport, edge_weight, self.irreps_in, self
        )
        target = edge_index[1]
        messages = transported_messages(
            self.irreps_in,
            self.irreps_out,
            self.neighbour_weight,
            features,
            edge_index,
            log_angle,
            transport,
        )
        if edge_weight is not None:
            messages = messages * edge_weight.unsqueeze(-1)
        out = messages.new_zeros(features.shape[0], self.irreps_out.dim)
        out = out.index_add(0, target, messages)
        if self.aggregation == "mean":
            ones = out.new_ones(target.shape[0])  # index_add, not bincount: a static size
            count = out.new_zeros(features.shape[0]).index_add(0, target, ones).clamp_min(1)
            out = out / count.unsqueeze(-1)
        return out + self.self_connection(features)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}, aggregation={self.aggregation!r}"
