"""SE(3)-Transformers (e3nn): self-attention on point clouds with equivariant keys and values.

Fuchs, Worrall, Fischer & Welling, "SE(3)-Transformers: 3D Roto-Translation
Equivariant Attention Networks", NeurIPS 2020.  Queries are equivariant maps
of the receiving node's features, keys and values TFN-type convolutions of the
sending node's features with the edge geometry; the attention weight of head
``a`` is the invariant inner product of query and key::

    q_i          = W_Q h_i
    (k_ij, v_ij) = W_KV TP(h_j, Y(r̂_ij); R(|r_ij|))
    ℓ^a_ij       = ⟨q^a_i, k^a_ij⟩ / √d_a
    α^a_ij       = u(|r_ij|) exp(ℓ^a_ij) / Σ_{k ∈ N(i)} u(|r_ik|) exp(ℓ^a_ik)
    h_i         ← Gate(W_O Σ_j α^a_ij v^a_ij + W_S h_i)

``⟨·, ·⟩`` sums over the channels of head ``a`` and their ``2l+1`` components,
so it is invariant under the orthogonal ``D(Q)``; the envelope ``u`` (zero at
the cutoff) makes the weights continuous as neighbours enter or leave.  Keys,
values, ``W_O`` and the gate are equivariant, so every layer is
E(3)-equivariant (parity included, so more than the paper's SE(3)) and
permutation equivariant.  The softmax over each node's neighbours is one
``scatter_reduce`` (max) and two ``scatter_add`` (sums), vectorised over edges.

Inputs follow :mod:`gdl_zoo.groups.point_graphs`: ``positions (N, 3)``,
``features (N, irreps_in.dim)``, ``batch (N,)``.

Shapes:
    N: points (atoms) over the batch.
    B: point clouds (molecules).
    E: directed edges ``j → i``.
    H: attention heads.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import nn
from torch.nn import functional as F

from gdl_zoo._validation import check_positive_int
from gdl_zoo.groups.irreps import EdgeTensorProduct, gate_for
from gdl_zoo.groups.point_graphs import gather_rows, scatter_sum
from gdl_zoo.groups.tfn import (
    IrrepsGraphNetwork,
    ScalarHeadEnergy,
    as_irreps,
    scalar_channels,
)

__all__ = ["neighbour_softmax", "EquivariantAttention", "SE3Transformer", "SE3TransformerEnergy"]


def neighbour_softmax(
    logits: torch.Tensor, weights: torch.Tensor, target: torch.Tensor, num_nodes: int
) -> torch.Tensor:
    """Per-node softmax over incoming edges, each term weighted: ``u_e exp(ℓ_e) / Σ u exp(ℓ)``.

    ::

        α_e = u_e exp(ℓ_e − M_i) / Σ_{e' → i} u_e' exp(ℓ_e' − M_i),   M_i = max_{e' → i} ℓ_e'

    computed per head with a detached maximum ``M`` (which cancels) for
    stability; a node whose weights all vanish gets ``α = 0``, never NaN.

    Args:
        logits: ``ℓ``.
        weights: ``u ≥ 0`` (e.g. a cutoff envelope).
        target: the receiving node of each edge.
        num_nodes: ``N``.

    Shapes:
        logits: ``(E, H)``; weights: ``(E,)``; target: ``(E,)``; output: ``(E, H)``.
    """
    index = target[:, None].expand_as(logits)
    maximum = logits.new_full((num_nodes, logits.shape[1]), -math.inf)
    maximum = maximum.scatter_reduce(0, index, logits.detach(), "amax")  # (N, H)
    numerator = weights[:, None] * torch.exp(logits - gather_rows(maximum, target))
    denominator = gather_rows(scatter_sum(numerator, target, num_nodes), target)  # (E, H)
    return numerator / torch.where(denominator > 0, denominator, 1.0)


def _check_heads(irreps: o3.Irreps, heads: int, name: str) -> None:
    for mul, ir in irreps:
        if mul % heads:
            raise ValueError(
                f"{name}: expected every multiplicity divisible by num_heads={heads}, "
                f"got {mul}x{ir} in {irreps}"
            )


def _head_blocks(irreps: o3.Irreps, heads: int) -> list[tuple[slice, int, int]]:
    """``(slice, mul/H, 2l+1)`` per irrep block, as plain Python values (compile-friendly)."""
    return [(s, mul // heads, ir.dim) for s, (mul, ir) in zip(irreps.slices(), irreps)]


def _per_head(
    x: torch.Tensor, blocks: list[tuple[slice, int, int]], heads: int
) -> list[torch.Tensor]:
    """Split irreps features into per-head blocks: ``(E, dim) -> [(E, H, mul/H, 2l+1)]``."""
    return [x[:, s].reshape(x.shape[0], heads, size, dim) for s, size, dim in blocks]


class EquivariantAttention(nn.Module):
    """One SE(3)-Transformer layer: equivariant multi-head attention over neighbours, then a gate.

    Fuchs et al., NeurIPS 2020, Eqs. 10–11, with e3nn irreps::

        q_i = W_Q h_i,   (k_ij, v_ij) = W_KV TP(h_j, Y(r̂_ij); w = MLP(ρ(|r_ij|)))
        α^a_ij = softmax_j^{(u)}(⟨q^a_i, k^a_ij⟩ / √d_a)      (:func:`neighbour_softmax`)
        z_i = W_O Σ_j α^a_ij v^a_ij + W_S h_i
        h_i' = Gate(z_i)    (or z_i when ``gate=False``)

    One tensor product (:class:`~gdl_zoo.groups.irreps.EdgeTensorProduct`) and
    one radial MLP serve keys and values; ``W_KV`` splits them.  The value
    irreps are those of ``hidden_irreps`` that ``z`` uses.

    Args:
        irreps_in: irreps of ``h``.
        irreps_out: irreps of ``h'``.
        irreps_sh: irreps of ``Y``.
        irreps_key: irreps of queries and keys (multiplicities divisible by ``num_heads``).
        hidden_irreps: irreps the values are drawn from (multiplicities divisible by ``num_heads``).
        num_basis: ``K``, the width of ``ρ``.
        num_heads: ``H``.
        radial_hidden: hidden width of the radial MLP.
        gate: apply the gate nonlinearity.

    Shapes:
        h: ``(N, irreps_in.dim)``; sh: ``(E, irreps_sh.dim)``; radial: ``(E, K)``;
        envelope: ``(E,)``; edge_index: ``(2, E)``; output: ``(N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: str | o3.Irreps,
        irreps_out: str | o3.Irreps,
        irreps_sh: str | o3.Irreps,
        irreps_key: str | o3.Irreps,
        hidden_irreps: str | o3.Irreps,
        num_basis: int,
        num_heads: int = 2,
        radial_hidden: int = 32,
        gate: bool = True,
    ):
        super().__init__()
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.irreps_in = o3.Irreps(irreps_in)
        self.irreps_key = o3.Irreps(irreps_key)
        self.gate = gate_for(irreps_out) if gate else None
        target = self.gate.irreps_in if gate else o3.Irreps(irreps_out)
        self.irreps_out = self.gate.irreps_out if gate else target
        self.irreps_value = o3.Irreps(
            [(mul, ir) for mul, ir in o3.Irreps(hidden_irreps) if ir in target]
        )
        _check_heads(self.irreps_key, num_heads, "irreps_key")
        _check_heads(self.irreps_value, num_heads, "hidden_irreps")
        self.query = o3.Linear(self.irreps_in, self.irreps_key)
        self.tp = EdgeTensorProduct(self.irreps_in, irreps_sh, self.irreps_key + self.irreps_value)
        self.radial = FullyConnectedNet(
            [num_basis, radial_hidden, radial_hidden, self.tp.weight_numel], F.silu
        )
        self.key_value = o3.Linear(self.tp.irreps_out, self.irreps_key + self.irreps_value)
        self.output = o3.Linear(self.irreps_value, target)
        self.self_connection = o3.Linear(self.irreps_in, target)
        self.scale = 1.0 / math.sqrt(self.irreps_key.dim / num_heads)
        self.key_blocks = _head_blocks(self.irreps_key, num_heads)
        self.value_blocks = _head_blocks(self.irreps_value, num_heads)
        self.split_sizes = [self.irreps_key.dim, self.irreps_value.dim]

    def forward(
        self,
        h: torch.Tensor,
        sh: torch.Tensor,
        radial: torch.Tensor,
        envelope: torch.Tensor,
        edge_index: torch.Tensor,
    ) -> torch.Tensor:
        source, target = edge_index
        if torch.compiler.is_exporting():  # e3nn's o3.Linear on edges (a tensordot) asks
            # whether E = 1, 3E = 1, ...; an E read from the data needs a bound to answer: an
            # exported program requires one pair of neighbours (edges come in pairs) or more
            torch._check(source.shape[0] >= 2)
        heads = self.num_heads
        kv = self.key_value(self.tp(gather_rows(h, source), sh, self.radial(radial)))  # (E, k + v)
        keys, values = kv.split(self.split_sizes, dim=-1)
        queries = gather_rows(self.query(h), target)  # (E, key dim)
        logits = sum(
            (q * k).sum(dim=(-2, -1))  # (E, H, mul/H, 2l+1) -> (E, H)
            for q, k in zip(
                _per_head(queries, self.key_blocks, heads), _per_head(keys, self.key_blocks, heads)
            )
        )
        alpha = neighbour_softmax(self.scale * logits, envelope, target, h.shape[0])  # (E, H)
        weighted = torch.cat(
            [
                (alpha[:, :, None, None] * v).flatten(1)
                for v in _per_head(values, self.value_blocks, heads)
            ],
            dim=-1,
        )  # (E, value dim)
        attended = scatter_sum(weighted, target, h.shape[0])  # (N, value dim)
        z = self.output(attended) + self.self_connection(h)
        return z if self.gate is None else self.gate(z)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}, num_heads={self.num_heads}"


class SE3Transformer(IrrepsGraphNetwork):
    """An SE(3)-Transformer of equivariant attention layers: irreps features in and out.

    Fuchs et al., NeurIPS 2020::

        h⁰ = W_in f
        hˡ = EquivariantAttentionˡ(hˡ⁻¹),   l = 1 … L−1    (gated, hidden irreps)
        out = EquivariantAttentionᴸ(hᴸ⁻¹)                  (linear, irreps_out)

    Args:
        irreps_in: irreps of the input features, or ``F`` invariant scalars.
        irreps_out: irreps of the output features (or an integer of scalars);
            irreps absent from ``hidden_irreps`` receive only the self-connection.
        hidden_irreps: irreps of the hidden features; must contain ``0e``.
        irreps_key: irreps of queries and keys.
        num_heads: ``H``; divides every multiplicity of ``hidden_irreps`` and ``irreps_key``.
        num_layers: ``L ≥ 1``.
        lmax: the highest degree of the spherical harmonics.
        num_basis: ``K`` Bessel functions.
        cutoff: the graph radius ``r_c``.
        radial_hidden: hidden width of the radial MLPs.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, irreps_in.dim)``; batch: ``(N,)`` or ``None``.
        output: ``(N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: str | int,
        irreps_out: str | int,
        hidden_irreps: str = "16x0e + 8x1o + 4x2e",
        irreps_key: str = "8x0e + 4x1o",
        num_heads: int = 2,
        num_layers: int = 3,
        lmax: int = 2,
        num_basis: int = 8,
        cutoff: float = 5.0,
        radial_hidden: int = 32,
    ):
        super().__init__(irreps_in, irreps_out, hidden_irreps, lmax, num_basis, cutoff)
        key = as_irreps(irreps_key, "irreps_key")
        check_positive_int(num_layers, "num_layers")
        hidden, embedded = self.irreps_hidden, self.embed.irreps_out
        layers, irreps = [], embedded
        for k in range(num_layers):
            last = k == num_layers - 1
            layer = EquivariantAttention(
                irreps,
                self.irreps_out if last else hidden,
                self.edge_embedding.irreps_sh,
                key,
                hidden,
                num_basis,
                num_heads,
                radial_hidden,
                gate=not last,
            )
            layers.append(layer)
            irreps = layer.irreps_out
        self.layers = nn.ModuleList(layers)

    def propagate(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        """The layers on a given graph, without validation: ``(N, 3), (N, F), (2, E) -> (N, ·)``."""
        sh, radial, envelope = self.edge_embedding(positions, edge_index)
        h = self.embed(features)
        for layer in self.layers:
            h = layer(h, sh, radial, envelope, edge_index)
        return h


class SE3TransformerEnergy(ScalarHeadEnergy):
    """An SE(3)-Transformer potential: invariant scalars, atomic energies, forces by autograd.

    Fuchs et al., NeurIPS 2020 (the network); Batzner et al. 2022 (energy and forces)::

        s = SE3Transformer(x, f) ∈ R^{C} (C = the 0e multiplicity of hidden_irreps)
        ε_i = MLP(s_i),   E_b = Σ_{i∈b} ε_i,   F = −∂E/∂x

    Args:
        irreps_in: irreps of the input features, or ``F`` invariant scalars (one-hot species).
        hidden_irreps, irreps_key, num_heads, num_layers, lmax, num_basis, cutoff, radial_hidden:
            as in :class:`SE3Transformer`.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, irreps_in.dim)``; batch: ``(N,)`` or ``None``.
        output: ``(energy (B,), forces (N, 3))``.
    """

    def __init__(
        self,
        irreps_in: str | int,
        hidden_irreps: str = "16x0e + 8x1o + 4x2e",
        irreps_key: str = "8x0e + 4x1o",
        num_heads: int = 2,
        num_layers: int = 3,
        lmax: int = 2,
        num_basis: int = 8,
        cutoff: float = 5.0,
        radial_hidden: int = 32,
    ):
        channels = scalar_channels(hidden_irreps)
        super().__init__(
            SE3Transformer(
                irreps_in,
                channels,
                hidden_irreps,
                irreps_key,
                num_heads,
                num_layers,
                lmax,
                num_basis,
                cutoff,
                radial_hidden,
            )
        )
