"""A Transformer on mesh vertices whose attention is biased by intrinsic distances.

Reference: Vaswani et al. 2017, *Attention is all you need* (attention); the
bias by a graph or surface distance follows Ying et al. 2021, *Do
Transformers really perform badly for graph representation?* (Graphormer
spatial encoding), here with the geodesic distance of Crane, Weischedel &
Wardetzky 2013 or the heat kernel.

Each layer (pre-norm), per head ``h``::

    a_ij^h = softmax_j( ⟨q_i^h, k_j^h⟩ / √d  +  b^h(i, j) )
    geodesic bias:  b^h(i, j) = −softplus(β_h) · d(i, j) / √A
    heat bias:      b^h(i, j) = β_h · H(i, j) / √(H(i, i) H(j, j)),  H = (M + τA L)⁻¹

with ``d`` the heat-method geodesic distance (symmetrised), ``A`` the surface
area and ``τ`` a fixed relative time.  Both biases depend only on the metric,
so the model is invariant to rigid motions and isometric re-embeddings and
equivariant to vertex relabelling; both are differentiable in the lengths.

Deployed on one mesh, :meth:`MeshTransformer.bind` computes the pairwise
matrix and the mass once and returns a :class:`MeshTransformerOnMesh` whose
``forward`` takes the features only (plain torch, exported by ``torch.export``);
the learned bias scales stay parameters.

Shapes:
    B: batch of signals on one mesh (optional leading axis).
    N: vertices.
    F: faces.
    C: channels.
    H: heads.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo._validation import check_floating, check_positive_int, check_signal
from gdl_zoo.meshes.fixed_operators import FixedMeshOperators
from gdl_zoo.meshes.geodesics import HeatGeodesics
from gdl_zoo.meshes.operators import MeshOperators
from gdl_zoo.meshes.sparse import Factorization

__all__ = ["intrinsic_distance_matrix", "heat_kernel_matrix", "BiasedAttentionLayer",
           "MeshTransformer", "MeshTransformerOnMesh"]  # fmt: skip


def intrinsic_distance_matrix(ops: MeshOperators) -> torch.Tensor:
    """All-pairs heat-method geodesic distances, symmetrised ``(D + Dᵀ)/2``.

    Pairs in different connected components are ``inf`` apart.

    Differentiable with respect to the lengths (two adjoint solves); costs
    ``O(N)`` right-hand sides, so it is meant for meshes of a few thousand vertices.

    Shapes:
        returns (N, N).
    """
    n = ops.num_vertices
    sources = torch.arange(n, device=ops.lengths.device)
    # in float64 throughout (HeatGeodesics builds its regularised Poisson operator in float64
    # for any dtype; the gradient, the normalisation and the rhs gain from it too)
    lengths = ops.lengths.to(torch.float64)
    d = HeatGeodesics(ops.mesh, lengths, pattern=ops.pattern)(sources)
    return (0.5 * (d + d.T)).to(ops.lengths.dtype)


def heat_kernel_matrix(ops: MeshOperators, relative_time: float = 0.01) -> torch.Tensor:
    """The normalised implicit heat kernel ``H_ij / √(H_ii H_jj)``, ``H = (M + τ A L)⁻¹``.

    ``A`` is the surface area, so ``τ`` is scale-free; differentiable in the lengths.

    Shapes:
        returns (N, N).
    """
    if not relative_time > 0:
        raise ValueError(f"relative_time: expected a positive number, got {relative_time!r}")
    t = relative_time * ops.total_area
    zeros = ops.mass.new_zeros(ops.mesh.num_edges)
    values = ops.pattern.symmetric_values(ops.mass, zeros) + t * ops.laplacian
    eye = torch.eye(ops.num_vertices, dtype=values.dtype, device=values.device)
    h = Factorization(ops.pattern, values).solve(eye)
    h = 0.5 * (h + h.T)
    diag = h.diagonal().clamp_min(torch.finfo(h.dtype).tiny).sqrt()
    return h / (diag.unsqueeze(0) * diag.unsqueeze(1))


class BiasedAttentionLayer(nn.Module):
    """A pre-norm Transformer layer whose attention logits get a given per-head bias.

    ::

        h ← h + W_o softmax_j(⟨q_i, k_j⟩/√d + b_ij) v_j;   h ← h + MLP(LN(h))

    Args:
        channels: ``C``.
        heads: ``H`` (divides ``C``).

    Shapes:
        h: (B, N, C); bias: (H, N, N), or any shape broadcasting to (B, H, N, N) such as
        (N, N); returns (B, N, C).
    """

    def __init__(self, channels: int, heads: int):
        super().__init__()
        check_positive_int(channels, "channels")
        check_positive_int(heads, "heads")
        if channels % heads:
            raise ValueError(f"heads ({heads}) must divide channels ({channels})")
        self.heads = heads
        self.norm1 = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = nn.Sequential(
            nn.Linear(channels, 2 * channels), nn.GELU(), nn.Linear(2 * channels, channels)
        )

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        check_signal(h, "h", "(B, N, C)", self.qkv.in_features, channel_dim=2, like=self)
        n = h.shape[1]
        check_floating(bias, "bias", like=self)
        if bias.dim() not in (2, 3, 4) or bias.shape[-2:] != (n, n):
            raise ValueError(
                f"bias: expected shape (H, N, N) or (N, N) with N = {n}, got {tuple(bias.shape)}"
            )
        qkv = rearrange(self.qkv(self.norm1(h)), "b n (three h d) -> three b n h d",
                        three=3, h=self.heads)  # fmt: skip
        q, k, v = qkv.unbind(0)
        logits = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(q.shape[-1])
        attn = torch.softmax(logits + bias, dim=-1)  # (B, H, N, N)
        out = rearrange(torch.einsum("bhij,bjhd->bihd", attn, v), "b n h d -> b n (h d)")
        h = h + self.proj(out)
        return h + self.mlp(self.norm2(h))


class MeshTransformer(nn.Module):
    """Vertex Transformer with geodesic- or heat-kernel-biased attention (intrinsic).

    Args:
        in_channels: input feature channels.
        out_channels: output channels.
        width: hidden channels ``C``.
        heads: attention heads ``H``.
        num_layers: Transformer layers.
        bias: ``"geodesic"`` or ``"heat"``.
        output: ``"vertices"`` or ``"global"`` (area-weighted mean).
        relative_time: ``τ`` of the heat bias.

    Shapes:
        x: (N, C_in) or (B, N, C_in); positions: (N, 3); faces: (F, 3);
        returns (*, N, C_out) per vertex or (*, C_out) global.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 32,
        heads: int = 4,
        num_layers: int = 2,
        bias: str = "geodesic",
        output: str = "vertices",
        relative_time: float = 0.01,
    ):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("width", width), ("heads", heads), ("num_layers", num_layers)):
            check_positive_int(value, name)  # fmt: skip
        if bias not in ("geodesic", "heat"):
            raise ValueError(f"bias: expected 'geodesic' or 'heat', got {bias!r}")
        if output not in ("vertices", "global"):
            raise ValueError(f"output: expected 'vertices' or 'global', got {output!r}")
        if not (isinstance(relative_time, (int, float)) and math.isfinite(relative_time)
                and relative_time > 0):  # fmt: skip
            raise ValueError(f"relative_time: expected a positive number, got {relative_time!r}")
        self.in_channels, self.bias_kind, self.output = in_channels, bias, output
        self.relative_time = relative_time
        self.lift = nn.Linear(in_channels, width)
        self.bias_scale = nn.Parameter(torch.linspace(-1.0, 1.0, heads))
        self.layers = nn.ModuleList(BiasedAttentionLayer(width, heads) for _ in range(num_layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, out_channels)

    @eager_under_compile  # heat-method geodesics / heat kernel: SciPy solves, outside the graph
    def pairwise(self, ops: MeshOperators) -> torch.Tensor:
        """The metric's pairwise matrix ``P`` (N, N) the bias is built from.

        Geodesic: ``d(i, j)/√A`` (:func:`intrinsic_distance_matrix`), with pairs in
        different connected components set to the largest distance within one;
        heat: the normalised kernel (:func:`heat_kernel_matrix`).  It depends only on the
        metric: compute it once per shape when training on fixed shapes.
        """
        if self.bias_kind == "geodesic":
            d = intrinsic_distance_matrix(ops)
            # pairs in different components (d = inf) count as far as the farthest reachable pair
            reachable = torch.isfinite(d)
            d = torch.where(reachable, d, d.masked_fill(~reachable, 0.0).max())
            return d / ops.total_area.sqrt()
        return heat_kernel_matrix(ops, self.relative_time)

    def bias_matrix(self, pairwise: torch.Tensor) -> torch.Tensor:
        """The per-head attention bias (H, N, N): ``−softplus(β_h) P`` or ``β_h P``."""
        scale = self.bias_scale.reshape(-1, 1, 1)
        if self.bias_kind == "geodesic":
            return -nn.functional.softplus(scale) * pairwise
        return scale * pairwise

    def bind(self, positions: torch.Tensor, faces: torch.Tensor) -> MeshTransformerOnMesh:
        """This network on one mesh, its pairwise matrix and mass precomputed: ``bound(x)``.

        The returned module shares this network's parameters and equals
        ``self(x, positions, faces)``; it is what ``torch.export`` exports to
        deploy the network on that mesh.

        Shapes:
            positions: (N, 3); faces: (F, 3).
        """
        with torch.no_grad():
            ops = MeshOperators.from_faces(positions, faces)
            fixed = FixedMeshOperators.from_operators(ops, diffusion=None, gradients=False)
            return MeshTransformerOnMesh(self, fixed, self.pairwise(ops))

    def forward_operators(
        self,
        x: torch.Tensor,
        ops: MeshOperators | FixedMeshOperators,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The network on precomputed operators (and optionally :meth:`pairwise`)."""
        ops.check_features(x, self.in_channels, like=self)
        squeeze = x.dim() == 2
        n = ops.num_vertices
        if pairwise is None:
            pairwise = self.pairwise(ops)
        elif pairwise.shape != (n, n):
            raise ValueError(f"pairwise: expected shape ({n}, {n}), got {tuple(pairwise.shape)}")
        h = self.lift(x.unsqueeze(0) if squeeze else x)
        bias = self.bias_matrix(pairwise.to(h.dtype))
        for layer in self.layers:
            h = layer(h, bias)
        h = self.norm(h)
        if self.output == "global":
            h = ops.area_mean(h)
        out = self.head(h)
        return out.squeeze(0) if squeeze else out

    def forward(self, x: torch.Tensor, positions: torch.Tensor, faces: torch.Tensor):
        return self.forward_operators(x, MeshOperators.from_faces(positions, faces))


class MeshTransformerOnMesh(nn.Module):
    """A :class:`MeshTransformer` bound to one mesh: its pairwise matrix and mass as buffers.

    ``forward(x) = network.forward_operators(x, operators, pairwise)``: the
    metric's pairwise matrix (:meth:`MeshTransformer.pairwise`) is computed
    once, so the module is plain torch and ``torch.export.export(bound, (x,))``
    exports it.  Build it with :meth:`MeshTransformer.bind`.

    Args:
        network: the network (its parameters are shared, not copied).
        operators: the fixed operators of the mesh (the mass is what is used).
        pairwise: the network's :meth:`MeshTransformer.pairwise` of the mesh.

    Shapes:
        pairwise: (N, N); x: (N, C_in) or (B, N, C_in); returns (*, N, C_out) per vertex
        or (*, C_out) global.
    """

    def __init__(
        self, network: MeshTransformer, operators: FixedMeshOperators, pairwise: torch.Tensor
    ):
        super().__init__()
        if not isinstance(network, MeshTransformer):
            raise TypeError(f"network: expected a MeshTransformer, got {type(network).__name__}")
        if not isinstance(operators, FixedMeshOperators):
            raise TypeError(
                f"operators: expected FixedMeshOperators, got {type(operators).__name__}"
            )
        n = operators.num_vertices
        if not isinstance(pairwise, torch.Tensor) or pairwise.shape != (n, n):
            got = tuple(pairwise.shape) if isinstance(pairwise, torch.Tensor) else type(pairwise)
            raise ValueError(f"pairwise: expected shape ({n}, {n}), got {got}")
        self.network, self.operators = network, operators
        self.register_buffer("pairwise", pairwise.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network.forward_operators(x, self.operators, self.pairwise)
