"""Tensor field networks with NequIP interaction blocks (e3nn): E(3)-equivariant point convolutions.

Thomas et al., "Tensor Field Networks: Rotation- and translation-equivariant
neural networks for 3D point clouds", arXiv 1802.08219 (2018), in the
interaction-block form of NequIP (Batzner et al., "E(3)-equivariant graph
neural networks for data-efficient and accurate interatomic potentials",
Nat. Commun. 13, 2453, 2022).  Node features are e3nn irreps (scalars,
vectors, rank-2 tensors, …) and one block is::

    m_i  = (1/√n̄) Σ_{j ∈ N(i)} R(|r_ij|) · (h_j ⊗ Y(r̂_ij))     (convolution)
    h_i ← Gate(W_m m_i + W_s h_i)                             (mix, self-connection, gate)

with ``r_ij = x_j − x_i``, ``Y`` the spherical harmonics up to ``l_max``,
``R`` a radial MLP of a Bessel basis times a smooth cutoff envelope (one
weight per path and channel), ``⊗`` the Clebsch–Gordan tensor product,
``W_m``, ``W_s`` equivariant linear maps and ``n̄`` the average number of
neighbours.  Every piece commutes with ``D(Q)`` and uses relative positions,
so the network is E(3)-equivariant (parity included); sums over neighbours
make it permutation equivariant.  Tensor products use exact Clebsch–Gordan
coefficients (:class:`~gdl_zoo.groups.irreps.EdgeTensorProduct`), so the
symmetry holds to round-off in float64.

Inputs follow :mod:`gdl_zoo.groups.point_graphs`: ``positions (N, 3)``,
``features (N, irreps_in.dim)``, ``batch (N,)``.

Shapes:
    N: points (atoms) over the batch.
    B: point clouds (molecules).
    E: directed edges ``j → i``.
    K: radial basis functions.
"""

from __future__ import annotations

import abc
import math

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import nn
from torch.nn import functional as F

from gdl_zoo._validation import check_positive_int
from gdl_zoo.groups.irreps import EdgeTensorProduct, gate_for
from gdl_zoo.groups.point_graphs import (
    AtomicEnergyModel,
    BesselBasis,
    check_cutoff,
    check_point_cloud,
    edge_vectors,
    gather_rows,
    polynomial_envelope,
    radius_graph,
    scatter_sum,
)

__all__ = [
    "as_irreps",
    "scalar_channels",
    "EdgeEmbedding",
    "InteractionBlock",
    "IrrepsGraphNetwork",
    "ScalarHeadEnergy",
    "TFN",
    "TFNEnergy",
]


def as_irreps(irreps: str | int | o3.Irreps, name: str) -> o3.Irreps:
    """e3nn irreps from a string, an ``Irreps``, or an integer ``C`` meaning ``"Cx0e"``."""
    if isinstance(irreps, bool):
        raise TypeError(f"{name}: expected irreps (str or int), got {irreps!r}")
    if isinstance(irreps, int):
        return o3.Irreps(f"{check_positive_int(irreps, name)}x0e")
    try:
        result = o3.Irreps(irreps)
    except (ValueError, TypeError, AssertionError) as error:
        raise ValueError(f"{name}: expected e3nn irreps, got {irreps!r} ({error})") from None
    if result.dim == 0:
        raise ValueError(f"{name}: expected non-empty irreps, got {irreps!r}")
    return result


class EdgeEmbedding(nn.Module):
    """Edge geometry: solid harmonics of the edge vector, radial features of the length.

    ::

        Y(r_ij) = (Y⁰, Y¹, …, Y^{l_max})(s_ij),  Y^l(s) = |s|^l Y^l(ŝ)   ("component")
        s_ij = r_ij / sqrt(|r_ij|² + δ²),  δ = r_c / 10                 (a soft core)
        ρ(|r_ij|) = BesselBasis(|r_ij|) · u(|r_ij|)            (u: polynomial envelope)

    The degree-``l`` harmonics are the homogeneous polynomials ``|s|^l Y^l(ŝ)``
    (e3nn's ``normalize=False``) of the edge vector passed through a soft core:
    for bonds much longer than ``δ`` (0.5 Å at the default 5 Å cutoff) ``s`` is
    the unit direction and ``Y`` the plain spherical harmonics, while every
    filter of degree ``l > 0`` vanishes smoothly as points meet, as tensor field
    networks require at the origin (Thomas et al. 2018).  The energy is then a
    smooth function of the positions: with the direction ``r̂`` alone, it
    jumped at coincident points and the forces grew like ``1/|r|`` nearby
    (``|F| ~ 1e8`` at ``|r| = 1e-12``), ill-conditioned enough to break
    equivariance by ``1e-3`` in float64.  (Scaling by the cutoff instead,
    ``s = r / r_c``, is smooth too but shrinks the ``l = 2`` filters of 1 Å bonds
    25-fold: it raised the 300 K force MAE on acetylacetone from 0.156 to
    0.195 eV/Å for TFN and from 0.126 to 0.160 for the SE(3)-Transformer.)  A zero
    edge vector has ``Y = (1, 0, …, 0)``, with finite derivatives of every order.

    Args:
        lmax: the highest degree ``l_max``.
        num_basis: ``K``.
        cutoff: ``r_c`` of the basis and the envelope.

    Shapes:
        positions: ``(N, 3)``; edge_index: ``(2, E)``;
        output: ``(Y (E, irreps_sh.dim), ρ (E, K), u (E,))``.
    """

    def __init__(self, lmax: int, num_basis: int, cutoff: float):
        super().__init__()
        if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"lmax: expected a non-negative integer, got {lmax!r}")
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.harmonics = o3.SphericalHarmonics(
            self.irreps_sh, normalize=False, normalization="component"
        )
        self.cutoff = check_cutoff(cutoff)
        self.core = self.cutoff / 10
        self.basis = BesselBasis(num_basis, self.cutoff)

    def forward(
        self, positions: torch.Tensor, edge_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vectors, lengths = edge_vectors(positions, edge_index)
        soft = vectors * torch.rsqrt(vectors.square().sum(-1, keepdim=True) + self.core**2)
        sh = self.harmonics(soft)
        envelope = polynomial_envelope(lengths, self.cutoff)
        return sh, self.basis(lengths) * envelope[:, None], envelope


class InteractionBlock(nn.Module):
    """One NequIP interaction block: equivariant convolution, linear mix, self-connection, gate.

    Thomas et al. 2018 (the convolution); Batzner et al. 2022 (the block)::

        m_i  = (1/√n̄) Σ_j TP(h_j, Y(r̂_ij); w = MLP(ρ(|r_ij|)))
        z_i  = W_m m_i + W_s h_i
        h_i' = Gate(z_i)      (or h_i' = z_i when ``gate=False``, e.g. an output block)

    ``TP`` is :class:`~gdl_zoo.groups.irreps.EdgeTensorProduct` (``uvu``
    paths), ``MLP`` an e3nn ``FullyConnectedNet`` without biases (so the
    weights vanish with the envelope at the cutoff), ``W_m``, ``W_s`` e3nn
    ``o3.Linear`` maps and ``Gate`` :func:`~gdl_zoo.groups.irreps.gate_for`.

    Args:
        irreps_in: irreps of ``h``.
        irreps_out: irreps of ``h'``.
        irreps_sh: irreps of ``Y``.
        num_basis: ``K``, the width of ``ρ``.
        radial_hidden: hidden width of the radial MLP.
        avg_num_neighbors: ``n̄``.
        gate: apply the gate nonlinearity.

    Shapes:
        h: ``(N, irreps_in.dim)``; sh: ``(E, irreps_sh.dim)``; radial: ``(E, K)``;
        edge_index: ``(2, E)``; output: ``(N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: str | o3.Irreps,
        irreps_out: str | o3.Irreps,
        irreps_sh: str | o3.Irreps,
        num_basis: int,
        radial_hidden: int = 32,
        avg_num_neighbors: float = 10.0,
        gate: bool = True,
    ):
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.gate = gate_for(irreps_out) if gate else None
        target = self.gate.irreps_in if gate else o3.Irreps(irreps_out)
        self.irreps_out = self.gate.irreps_out if gate else target
        self.tp = EdgeTensorProduct(self.irreps_in, irreps_sh, target)
        self.radial = FullyConnectedNet(
            [num_basis, radial_hidden, radial_hidden, self.tp.weight_numel], F.silu
        )
        self.mix = o3.Linear(self.tp.irreps_out, target)
        self.self_connection = o3.Linear(self.irreps_in, target)
        self.norm = 1.0 / math.sqrt(avg_num_neighbors)

    def forward(
        self,
        h: torch.Tensor,
        sh: torch.Tensor,
        radial: torch.Tensor,
        edge_index: torch.Tensor,
    ) -> torch.Tensor:
        source, target = edge_index
        messages = self.tp(gather_rows(h, source), sh, self.radial(radial))  # (E, tp out dim)
        m = scatter_sum(messages, target, h.shape[0])
        z = self.mix(self.norm * m) + self.self_connection(h)
        return z if self.gate is None else self.gate(z)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}"


class IrrepsGraphNetwork(nn.Module, abc.ABC):
    """Base of the e3nn networks on radius graphs: irreps in, irreps out, one embedding.

    Holds what :class:`TFN` and :class:`~gdl_zoo.groups.se3_transformer.SE3Transformer`
    share: input/output irreps, the edge embedding (spherical harmonics and
    Bessel radial basis, :class:`EdgeEmbedding`), the linear embedding of the
    input features into the irreps of ``hidden_irreps`` that they contain, and
    ``forward`` (validate, build the radius graph, :meth:`propagate`).

    Args:
        irreps_in: irreps of the input features, or ``F`` invariant scalars.
        irreps_out: irreps of the output features (or an integer of scalars).
        hidden_irreps: irreps of the hidden features; must contain ``0e``.
        lmax: the highest degree of the spherical harmonics.
        num_basis: ``K`` Bessel functions.
        cutoff: the graph radius ``r_c``.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, irreps_in.dim)``; batch: ``(N,)`` or ``None``.
        output: ``(N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: str | int,
        irreps_out: str | int,
        hidden_irreps: str,
        lmax: int,
        num_basis: int,
        cutoff: float,
    ):
        super().__init__()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        self.irreps_hidden = as_irreps(hidden_irreps, "hidden_irreps")
        if o3.Irrep("0e") not in self.irreps_hidden:
            raise ValueError(
                f"hidden_irreps: expected at least one 0e scalar, got {self.irreps_hidden}"
            )
        self.cutoff = check_cutoff(cutoff)
        self.edge_embedding = EdgeEmbedding(lmax, num_basis, self.cutoff)
        embedded = o3.Irreps([(mul, ir) for mul, ir in self.irreps_hidden if ir in self.irreps_in])
        if not embedded:
            raise ValueError(
                f"irreps_in: expected an irrep that hidden_irreps {self.irreps_hidden} "
                f"contains, got {self.irreps_in}"
            )
        self.embed = o3.Linear(self.irreps_in, embedded)

    @abc.abstractmethod
    def propagate(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        """The layers on a given graph, without validation: ``(N, 3), (N, F), (2, E) -> (N, ·)``."""

    def forward(
        self,
        positions: torch.Tensor,
        features: torch.Tensor,
        batch: torch.Tensor | None = None,
    ) -> torch.Tensor:
        batch, _ = check_point_cloud(positions, features, batch, self.irreps_in.dim, like=self)
        return self.propagate(positions, features, radius_graph(positions, batch, self.cutoff))

    def extra_repr(self) -> str:
        return f"irreps_in={self.irreps_in}, irreps_out={self.irreps_out}, cutoff={self.cutoff}"


class ScalarHeadEnergy(AtomicEnergyModel):
    """Atomic energies from the invariant output scalars of an irreps graph network.

    Batzner et al. 2022 (NequIP)::

        s = backbone(x, f) ∈ R^{C}   (C scalars, 0e)
        ε_i = MLP(s_i),   E_b = Σ_{i∈b} ε_i,   F = −∂E/∂x

    Args:
        backbone: an :class:`IrrepsGraphNetwork` whose ``irreps_out`` are ``C``
            scalars ``Cx0e``.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, irreps_in.dim)``; batch: ``(N,)`` or ``None``.
        output: ``(energy (B,), forces (N, 3))``.
    """

    def __init__(self, backbone: IrrepsGraphNetwork):
        if backbone.irreps_out != o3.Irreps(f"{backbone.irreps_out.dim}x0e"):
            raise ValueError(
                f"backbone: expected scalar output irreps Cx0e, got {backbone.irreps_out}"
            )
        super().__init__(backbone.irreps_in.dim, backbone.cutoff)
        channels = backbone.irreps_out.dim
        self.backbone = backbone
        self.head = nn.Sequential(nn.Linear(channels, channels), nn.SiLU(), nn.Linear(channels, 1))

    def node_energies(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        return self.head(self.backbone.propagate(positions, features, edge_index)).squeeze(-1)


def scalar_channels(hidden_irreps: str) -> int:
    """``C``, the multiplicity of ``0e`` in ``hidden_irreps`` (at least one)."""
    channels = as_irreps(hidden_irreps, "hidden_irreps").count("0e")
    if channels == 0:
        raise ValueError(f"hidden_irreps: expected at least one 0e scalar, got {hidden_irreps!r}")
    return channels


class TFN(IrrepsGraphNetwork):
    """A tensor field network of NequIP interaction blocks: irreps features in, irreps features out.

    Thomas et al. 2018; Batzner et al. 2022::

        h⁰ = W_in f
        hˡ = InteractionBlockˡ(hˡ⁻¹),   l = 1 … L−1     (gated, hidden irreps)
        out = InteractionBlockᴸ(hᴸ⁻¹)                   (linear, irreps_out)

    Equivariant: ``out(Qx + t, D_in(Q) f) = D_out(Q) out(x, f)`` (see
    :class:`~gdl_zoo.groups.euclidean_actions.E3PointCloud` and
    :class:`~gdl_zoo.groups.euclidean_actions.E3Irreps`), and permutation equivariant.

    Args:
        irreps_in: irreps of the input features, or ``F`` for ``F`` invariant scalars.
        irreps_out: irreps of the output features (or an integer of scalars).
        hidden_irreps: irreps of the hidden features; must contain ``0e``.
        num_layers: ``L ≥ 1`` interaction blocks.
        lmax: the highest degree of the spherical harmonics.
        num_basis: ``K`` Bessel functions.
        cutoff: the graph radius ``r_c``.
        radial_hidden: hidden width of the radial MLPs.
        avg_num_neighbors: ``n̄`` normalising the neighbour sums.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, irreps_in.dim)``; batch: ``(N,)`` or ``None``.
        output: ``(N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: str | int,
        irreps_out: str | int,
        hidden_irreps: str = "16x0e + 8x1o + 4x2e",
        num_layers: int = 3,
        lmax: int = 2,
        num_basis: int = 8,
        cutoff: float = 5.0,
        radial_hidden: int = 32,
        avg_num_neighbors: float = 10.0,
    ):
        super().__init__(irreps_in, irreps_out, hidden_irreps, lmax, num_basis, cutoff)
        check_positive_int(num_layers, "num_layers")
        if not avg_num_neighbors > 0:
            raise ValueError(
                f"avg_num_neighbors: expected a positive number, got {avg_num_neighbors!r}"
            )
        hidden, embedded = self.irreps_hidden, self.embed.irreps_out
        blocks, irreps = [], embedded
        for k in range(num_layers):
            last = k == num_layers - 1
            block = InteractionBlock(
                irreps,
                self.irreps_out if last else hidden,
                self.edge_embedding.irreps_sh,
                num_basis,
                radial_hidden,
                avg_num_neighbors,
                gate=not last,
            )
            blocks.append(block)
            irreps = block.irreps_out
        self.blocks = nn.ModuleList(blocks)

    def propagate(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        """The blocks on a given graph, without validation: ``(N, 3), (N, F), (2, E) -> (N, ·)``."""
        sh, radial, _ = self.edge_embedding(positions, edge_index)
        h = self.embed(features)
        for block in self.blocks:
            h = block(h, sh, radial, edge_index)
        return h


class TFNEnergy(ScalarHeadEnergy):
    """A NequIP-style potential: TFN scalars, atomic energies, forces by autograd.

    Batzner et al. 2022::

        s = TFN(x, f) ∈ R^{C} (C = the 0e multiplicity of hidden_irreps)
        ε_i = MLP(s_i),   E_b = Σ_{i∈b} ε_i,   F = −∂E/∂x

    Args:
        irreps_in: irreps of the input features, or ``F`` invariant scalars (one-hot species).
        hidden_irreps, num_layers, lmax, num_basis, cutoff, radial_hidden, avg_num_neighbors:
            as in :class:`TFN`.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, irreps_in.dim)``; batch: ``(N,)`` or ``None``.
        output: ``(energy (B,), forces (N, 3))``.
    """

    def __init__(
        self,
        irreps_in: str | int,
        hidden_irreps: str = "16x0e + 8x1o + 4x2e",
        num_layers: int = 3,
        lmax: int = 2,
        num_basis: int = 8,
        cutoff: float = 5.0,
        radial_hidden: int = 32,
        avg_num_neighbors: float = 10.0,
    ):
        channels = scalar_channels(hidden_irreps)
        super().__init__(
            TFN(
                irreps_in,
                channels,
                hidden_irreps,
                num_layers,
                lmax,
                num_basis,
                cutoff,
                radial_hidden,
                avg_num_neighbors,
            )
        )
