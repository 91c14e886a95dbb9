"""E(n)-equivariant graph neural networks (EGNN) in plain torch.

Satorras, Hoogeboom & Welling, "E(n) Equivariant Graph Neural Networks",
ICML 2021.  Each layer updates invariant node features ``h`` and equivariant
coordinates ``x`` from messages that see the geometry only through squared
distances (Eqs. 3–6)::

    m_ij = φ_e(h_i, h_j, ‖x_i − x_j‖²)
    x_i ← x_i + Σ_j w_ij (x_i − x_j) φ_x(m_ij) / max(Σ_j w_ij, 1)
    h_i ← h_i + φ_h(h_i, Σ_j w_ij m_ij)

with ``w_ij = 1`` on a fully connected cloud (the paper's ``C = 1/(M − 1)``
mean) and ``w_ij = u(|x_i − x_j|)``, a smooth envelope, on a radius graph.
Distances are invariant and ``x_i − x_j`` rotates and ignores translations,
so ``h`` is E(3)-invariant and ``x`` E(3)-equivariant (reflections included);
sums over neighbours make both permutation equivariant.  No spherical
harmonics or normalised directions are used, so coincident points are harmless.

Inputs follow :mod:`gdl_zoo.groups.point_graphs`: ``positions (N, 3)``,
``features (N, F)``, ``batch (N,)``.

Shapes:
    N: points (atoms) over the batch.
    B: point clouds (molecules).
    E: directed edges ``j → i``.
    F: input features; ``C``: hidden channels; ``F_out``: output features.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_floating, check_positive_int
from gdl_zoo.graphs.validation import check_edge_index
from gdl_zoo.groups.point_graphs import (
    AtomicEnergyModel,
    check_cutoff,
    check_point_cloud,
    edge_vectors,
    gather_rows,
    polynomial_envelope,
    radius_graph,
    scatter_sum,
)

__all__ = ["EGNNLayer", "EGNN", "EGNNEnergy"]


class EGNNLayer(nn.Module):
    """One E(n)-equivariant message-passing layer (Satorras et al. 2021, Eqs. 3–6).

    ::

        m_ij = φ_e([h_i, h_j, ‖x_i − x_j‖²])                    (E, C)
        x_i ← x_i + Σ_j w_ij (x_i − x_j) φ_x(m_ij) / max(Σ_j w_ij, 1)
        h_i ← h_i + φ_h([h_i, Σ_j w_ij m_ij])

    ``φ_e``, ``φ_x``, ``φ_h`` are two-layer SiLU MLPs; the last layer of
    ``φ_x`` starts near zero (Xavier gain 1e-3, as in the authors' code) so
    that coordinates move gently at initialisation.

    Args:
        channels: ``C``, the width of ``h`` and of the messages.
        update_coords: whether the layer moves ``x`` (``False``: ``x`` passes through).

    Shapes:
        positions: ``(N, 3)``; h: ``(N, C)``; edge_index: ``(2, E)``;
        edge_weight: ``(E,)`` or ``None`` (all ones).
        output: ``(positions (N, 3), h (N, C))``.
    """

    def __init__(self, channels: int, update_coords: bool = True):
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.update_coords = bool(update_coords)
        c = channels
        self.phi_e = nn.Sequential(nn.Linear(2 * c + 1, c), nn.SiLU(), nn.Linear(c, c), nn.SiLU())
        self.phi_h = nn.Sequential(nn.Linear(2 * c, c), nn.SiLU(), nn.Linear(c, c))
        if self.update_coords:
            last = nn.Linear(c, 1, bias=False)
            nn.init.xavier_uniform_(last.weight, gain=1e-3)
            self.phi_x = nn.Sequential(nn.Linear(c, c), nn.SiLU(), last)

    def forward(
        self,
        positions: torch.Tensor,
        h: torch.Tensor,
        edge_index: torch.Tensor,
        edge_weight: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        check_floating(positions, "positions", like=self)
        check_floating(h, "h", like=self)
        if positions.dim() != 2 or positions.shape[1] != 3:
            raise ValueError(f"positions: expected shape (N, 3), got {tuple(positions.shape)}")
        if h.dim() != 2 or h.shape != (positions.shape[0], self.channels):
            raise ValueError(
                f"h: expected shape (N, C) = ({positions.shape[0]}, {self.channels}), "
                f"got {tuple(h.shape)}"
            )
        check_edge_index(edge_index, positions.shape[0], positions.device)
        return self.propagate(positions, h, edge_index, edge_weight)

    def propagate(
        self,
        positions: torch.Tensor,
        h: torch.Tensor,
        edge_index: torch.Tensor,
        edge_weight: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer on a graph known to be valid (e.g. from :func:`radius_graph`), unchecked.

        What :meth:`forward` computes after validating its inputs; :class:`EGNN`
        calls it on the graphs it builds itself, so that an exported program does
        not re-check edges whose number it reads from the data.
        """
        source, target = edge_index
        vectors, _ = edge_vectors(positions, edge_index)  # x_j − x_i, (E, 3)
        squared = (vectors * vectors).sum(-1, keepdim=True)  # (E, 1)
        pair = [gather_rows(h, target), gather_rows(h, source), squared]
        messages = self.phi_e(torch.cat(pair, dim=-1))  # (E, C)
        weight = messages.new_ones(source.shape[0]) if edge_weight is None else edge_weight
        aggregated = scatter_sum(weight[:, None] * messages, target, h.shape[0])
        h = h + self.phi_h(torch.cat([h, aggregated], dim=-1))
        if self.update_coords:
            shift = -vectors * (weight[:, None] * self.phi_x(messages))  # (x_i − x_j) φ_x, (E, 3)
            total = scatter_sum(weight, target, positions.shape[0])
            moved = scatter_sum(shift, target, positions.shape[0])
            positions = positions + moved / total.clamp(min=1.0)[:, None]
        return positions, h

    def extra_repr(self) -> str:
        return f"channels={self.channels}, update_coords={self.update_coords}"


class EGNN(nn.Module):
    """An EGNN: invariant node features and equivariant coordinates of a batch of point clouds.

    Satorras, Hoogeboom & Welling, ICML 2021::

        h⁰ = W_in f,  x⁰ = x
        (xˡ, hˡ) = EGNNLayerˡ(xˡ⁻¹, hˡ⁻¹),   l = 1 … L
        output: (xᴸ, W_out hᴸ)

    ``f(g.x) = g.f(x)`` for ``g ∈ E(3)`` acting on positions (rotation,
    reflection, translation) and trivially on features, and for permutations of
    the points; see :class:`~gdl_zoo.groups.euclidean_actions.E3PointCloud`,
    which acts on the input tuple and on the output pair alike.

    Args:
        in_features: ``F`` (invariant input features, e.g. one-hot species).
        out_features: ``F_out``.
        channels: ``C``.
        num_layers: ``L``.
        cutoff: the graph radius (messages weighted by a smooth envelope);
            ``None``: fully connected within each cloud, as in the paper.
        update_last_coords: whether the last layer moves the coordinates
            (``False`` when only ``h`` is used downstream).

    Shapes:
        positions: ``(N, 3)``; features: ``(N, F)``; batch: ``(N,)`` or ``None``.
        output: ``(positions (N, 3), features (N, F_out))``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        channels: int = 32,
        num_layers: int = 4,
        cutoff: float | None = None,
        update_last_coords: bool = True,
    ):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        check_positive_int(out_features, "out_features")
        check_positive_int(num_layers, "num_layers")
        self.cutoff = check_cutoff(cutoff, allow_none=True)
        self.embed = nn.Linear(in_features, channels)
        self.layers = nn.ModuleList(
            EGNNLayer(channels, update_coords=update_last_coords or k < num_layers - 1)
            for k in range(num_layers)
        )
        self.readout = nn.Linear(channels, out_features)

    def propagate(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The layers on a given graph, without validation: ``(N, 3), (N, F), (2, E)``."""
        edge_weight = None
        if self.cutoff is not None:
            _, lengths = edge_vectors(positions, edge_index)
            edge_weight = polynomial_envelope(lengths, self.cutoff)
        h = self.embed(features)
        for layer in self.layers:
            positions, h = layer.propagate(positions, h, edge_index, edge_weight)
        return positions, self.readout(h)

    def forward(
        self,
        positions: torch.Tensor,
        features: torch.Tensor,
        batch: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _ = check_point_cloud(positions, features, batch, self.in_features, like=self)
        return self.propagate(positions, features, radius_graph(positions, batch, self.cutoff))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, cutoff={self.cutoff}"


class EGNNEnergy(AtomicEnergyModel):
    """An EGNN potential: atomic energies from EGNN features, forces by autograd.

    Satorras et al., ICML 2021 (the network); Batzner et al. 2022 (the energy/forces head)::

        (_, h) = EGNN(x, f),    ε_i = MLP(h_i),    E_b = Σ_{i∈b} ε_i,    F = −∂E/∂x

    The coordinates moved by the first ``L − 1`` layers feed the distances of
    later layers; the last layer's coordinates are not used, so it does not move them.

    Args:
        in_features: ``F``.
        channels: ``C``.
        num_layers: ``L``.
        cutoff: see :class:`EGNN`.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, F)``; batch: ``(N,)`` or ``None``.
        output: ``(energy (B,), forces (N, 3))``.
    """

    def __init__(
        self,
        in_features: int,
        channels: int = 32,
        num_layers: int = 4,
        cutoff: float | None = None,
    ):
        super().__init__(in_features, cutoff)
        self.egnn = EGNN(
            in_features, channels, channels, num_layers, cutoff, update_last_coords=False
        )
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(channels, 1))

    def node_energies(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        _, h = self.egnn.propagate(positions, features, edge_index)
        return self.head(h).squeeze(-1)  # (N, 1) -> (N,)
