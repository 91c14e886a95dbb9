"""Gauge-equivariant attention on meshes: invariant weights, transported equivariant values.

A Transformer layer for SO(2)-irreps features on a mesh, in the spirit of
de Haan et al. (ICLR 2021) and of the gauge-equivariant attention of He et al.
(Gauge Equivariant Transformer, NeurIPS 2021).  For an edge ``q → p`` the
*edge frame* turns the tangent plane of ``p`` so that ``q`` lies at angle 0.
Vectors expressed in the edge frame do not depend on the gauge:

    u_pq = ρ_in(−θ_pq) f_p,      v_pq = ρ_in(g_{q→p} − θ_pq) f_q

are unchanged by ``f ↦ ρ(−g) f, θ_pq ↦ θ_pq − g_p, g_{q→p} ↦ g_{q→p} − g_p + g_q``.
So any function of them is a gauge-invariant attention logit.  Per head ``h``::

    a_pq^h = ⟨W_Q^h u_pq, W_K^h v_pq⟩ / √d,      α_pq^h = softmax_{q ∈ N(p)} a_pq^h
    f'_p  = Σ_h Σ_q α_pq^h ρ_out(θ_pq) W_V^h v_pq  +  K_self f_p + b

The values are GEM messages (``ρ_out(θ) W_V ρ_in(g − θ) f_q``, gauge
equivariant), so the output transforms by ``ρ_out(−g_p)``; ``K_self`` and the
scalar bias ``b`` are those of :class:`~gdl_zoo.gauges.gem_conv.IrrepsLinear`.

Shapes:
    N: vertices.  E: directed edges (``edge_index[0]`` = q, ``edge_index[1]`` = p).
    H: heads.  d: key width per head.  C_in, C_out: irreps dimensions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.gauges.gem_conv import IrrepsLinear, check_gauge_inputs, transported_messages
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.graphs.gat import edge_softmax

__all__ = ["GaugeAttention"]


class GaugeAttention(nn.Module):
    """Multi-head gauge-equivariant attention over the 1-ring of every vertex.

    Args:
        irreps_in: :class:`SO2Irreps` of the input features.
        irreps_out: :class:`SO2Irreps` of the output features.
        num_heads: ``H``.
        key_dim: ``d``, the query/key width per head.

    Shapes:
        features: ``(N, C_in)``; edge_index: ``(2, E)``; log_angle, transport: ``(E,)``.
        output: ``(N, C_out)``.
    """

    def __init__(
        self,
        irreps_in: SO2Irreps,
        irreps_out: SO2Irreps,
        num_heads: int = 2,
        key_dim: int = 8,
    ):
        super().__init__()
        self.self_connection = IrrepsLinear(irreps_in, irreps_out)
        self.irreps_in, self.irreps_out = irreps_in, irreps_out
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.key_dim = check_positive_int(key_dim, "key_dim")
        c_in, c_out = irreps_in.dim, irreps_out.dim
        self.query = nn.Parameter(torch.randn(num_heads, key_dim, c_in) / math.sqrt(c_in))
        self.key = nn.Parameter(torch.randn(num_heads, key_dim, c_in) / math.sqrt(c_in))
        self.value = nn.Parameter(torch.randn(num_heads, c_out, c_in) / math.sqrt(2 * c_in))

    def forward(
        self,
        features: torch.Tensor,
        edge_index: torch.Tensor,
        log_angle: torch.Tensor,
        transport: torch.Tensor,
    ) -> torch.Tensor:
        check_gauge_inputs(features, edge_index, log_angle, transport, None, self.irreps_in, self)
        source, target = edge_index
        here = self.irreps_in.rotate(features[target], -log_angle)  # u_pq (E, C_in)
        there = self.irreps_in.rotate(features[source], transport - log_angle)  # v_pq
        queries = torch.einsum("hdi,ei->ehd", self.query, here)
        keys = torch.einsum("hdi,ei->ehd", self.key, there)
        logits = (queries * keys).sum(-1) / math.sqrt(self.key_dim)  # (E, H)
        weights = edge_softmax(logits, target, features.shape[0])
        values = transported_messages(
            self.irreps_in,
            self.irreps_out,
            self.value,
            features,
            edge_index,
            log_angle,
            transport,
        )  # (E, H, C_out)
        messages = (weights.unsqueeze(-1) * values).sum(1)
        out = messages.new_zeros(features.shape[0], self.irreps_out.dim)
        return out.index_add(0, target, messages) + self.self_connection(features)

    def extra_repr(self) -> str:
        return (
            f"{self.irreps_in} -> {self.irreps_out}, num_heads={self.num_heads}, "
            f"key_dim={self.key_dim}"
        )
