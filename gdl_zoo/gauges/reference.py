"""Slow, obviously correct gauge layers: explicit per-edge matrices and a Python loop.

The fast :class:`~gdl_zoo.gauges.gem_conv.GEMConv` must agree with
:func:`gem_conv_reference` (tests do this in float64).  Nothing here is meant
for training: it exists to be read and to be compared against.
"""

from __future__ import annotations

import torch

from gdl_zoo.gauges.gem_conv import GEMConv

__all__ = ["neighbour_kernel", "gem_conv_reference"]


def neighbour_kernel(conv: GEMConv, theta: float | torch.Tensor) -> torch.Tensor:
    """The dense kernel ``K_neigh(θ) = ρ_out(θ) K₀ ρ_in(−θ)`` of ``conv``, ``(C_out, C_in)``."""
    dtype = conv.neighbour_weight.dtype
    rho_out = conv.irreps_out.matrix(theta, dtype)
    rho_in = conv.irreps_in.matrix(-torch.as_tensor(theta, dtype=dtype), dtype)
    return rho_out @ conv.neighbour_weight @ rho_in


def gem_conv_reference(
    conv: GEMConv,
    features: torch.Tensor,
    edge_index: torch.Tensor,
    log_angle: torch.Tensor,
    transport: torch.Tensor,
    edge_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """``conv(features, …)`` computed edge by edge with dense matrices.

    ``f'_p = K_self f_p + b + agg_q w_pq K_neigh(θ_pq) ρ_in(g_{q→p}) f_q``, with
    ``K_self`` assembled entry by entry from the learned blocks.

    Shapes: as :class:`GEMConv`.
    """
    num_vertices = features.shape[0]
    sums = [features.new_zeros(conv.irreps_out.dim) for _ in range(num_vertices)]
    counts = [0] * num_vertices
    for e in range(edge_index.shape[1]):
        q, p = int(edge_index[0, e]), int(edge_index[1, e])
        transported = conv.irreps_in.matrix(transport[e], features.dtype) @ features[q]
        message = neighbour_kernel(conv, log_angle[e]) @ transported
        weight = 1.0 if edge_weight is None else edge_weight[e]
        sums[p] = sums[p] + weight * message
        counts[p] += 1
    k_self = features.new_zeros(conv.irreps_out.dim, conv.irreps_in.dim)
    row = col = 0
    weights = conv.self_connection.weights
    for n, (m_in, m_out) in enumerate(
        zip(conv.irreps_in.multiplicities, conv.irreps_out.multiplicities)
    ):
        width_in, width_out = (m_in, m_out) if n == 0 else (2 * m_in, 2 * m_out)
        for i in range(m_out if str(n) in weights else 0):
            for j in range(m_in):
                block = weights[str(n)]
                if n == 0:
                    k_self[row + i, col + j] = block[i, j]
                else:
                    a, b = block[0, i, j], block[1, i, j]
                    k_self[row + 2 * i : row + 2 * i + 2, col + 2 * j : col + 2 * j + 2] = (
                        torch.stack([torch.stack([a, -b]), torch.stack([b, a])])
                    )
        row, col = row + width_out, col + width_in
    out = []
    for p in range(num_vertices):
        aggregated = sums[p] / max(counts[p], 1) if conv.aggregation == "mean" else sums[p]
        value = aggregated + k_self @ features[p]
        bias = conv.self_connection.bias
        if bias is not None:
            value = torch.cat([value[: bias.numel()] + bias, value[bias.numel() :]])
        out.append(value)
    return torch.stack(out)
