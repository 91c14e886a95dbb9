"""DiffusionNet: an intrinsic mesh CNN from learned heat diffusion and gradient features.

Reference: Sharp, Attaiki, Crane & Ovsjanikov 2022, *DiffusionNet:
discretization agnostic learning on surfaces*, ACM TOG 41(3).

::

    h⁰ = W_in x
    u^l = diffuse_{t_l}(h^l)      (learned time per channel, implicit or spectral)
    h^{l+1} = h^l + MLP_l([h^l, u^l, tanh Re(conj(∇u^l) · A_l ∇u^l)])
    y = W_out h^L                 (per vertex), or
    y = W_out (Σ_i M_ii h_i^L / Σ_i M_ii)   (global, area-weighted mean)

Every geometric quantity comes from the edge lengths, so the network is
invariant to rigid motions and to isometric re-embeddings of the surface, and
equivariant to vertex relabelling.

Deployed on one mesh, :meth:`MeshDiffusionNet.bind` precomputes that mesh's
operators once (:class:`~gdl_zoo.meshes.fixed_operators.FixedMeshOperators`)
and returns a :class:`DiffusionNetOnMesh` whose ``forward`` takes the features
only; it is plain torch, so ``torch.export`` exports it.  Implicit diffusion
then runs in the complete eigenbasis of the mesh (the same numbers as the
sparse LU solve, to rounding); spectral diffusion in its ``k`` eigenpairs.
The complete basis is dense: binding an implicit network stores ``N × N``
float64 numbers and runs an ``O(N³)`` eigensolve (an 86k-vertex mesh would
need about 59 GB per matrix), so large meshes deploy with ``mode="spectral"``.

Shapes:
    B: batch of signals on one mesh (optional leading axis).
    N: vertices.
    F: faces.
    C: channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.meshes.diffusion import DiffusionBlock
from gdl_zoo.meshes.fixed_operators import FixedMeshOperators
from gdl_zoo.meshes.operators import MeshOperators

__all__ = ["MeshDiffusionNet", "DiffusionNetOnMesh"]


class MeshDiffusionNet(nn.Module):
    """DiffusionNet (Sharp et al. 2022): diffusion blocks between pointwise linear maps.

    Args:
        in_channels: input feature channels.
        out_channels: output channels.
        width: hidden channels ``C``.
        num_blocks: diffusion blocks.
        mode: ``"implicit"`` (sparse solves, differentiable in the metric) or
            ``"spectral"`` (``k_eig`` eigenpairs).
        k_eig: eigenpairs for the spectral mode.
        output: ``"vertices"`` (per-vertex outputs) or ``"global"`` (area-weighted mean).
        gradient_features: use spatial gradient features in every block.
        init_time: initial diffusion time of every channel.

    Shapes:
        x: (N, C_in) or (B, N, C_in); positions: (N, 3); faces: (F, 3);
        returns (*, N, C_out) per vertex or (*, C_out) global.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 32,
        num_blocks: int = 4,
        mode: str = "implicit",
        k_eig: int = 64,
        output: str = "vertices",
        gradient_features: bool = True,
        init_time: float = 1e-2,
    ):
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("width", width),
            ("num_blocks", num_blocks),
            ("k_eig", k_eig),
        ):
            check_positive_int(value, name)
        if output not in ("vertices", "global"):
            raise ValueError(f"output: expected 'vertices' or 'global', got {output!r}")
        self.in_channels, self.mode, self.k_eig, self.output = in_channels, mode, k_eig, output
        self.lift = nn.Linear(in_channels, width)
        self.blocks = nn.ModuleList(
            DiffusionBlock(width, mode=mode, gradient_features=gradient_features,
                           init_time=init_time)
            for _ in range(num_blocks)
        )  # fmt: skip
        self.head = nn.Linear(width, out_channels)

    def operators(self, positions: torch.Tensor, faces: torch.Tensor) -> MeshOperators:
        """The :class:`MeshOperators` this model needs for a mesh (eigenpairs if spectral)."""
        k = min(self.k_eig, positions.shape[0] - 1) if self.mode == "spectral" else 0
        return MeshOperators.from_faces(positions, faces, k_eig=k)

    def fixed_operators(self, positions: torch.Tensor, faces: torch.Tensor) -> FixedMeshOperators:
        """The :class:`FixedMeshOperators` of a mesh for this model's diffusion mode (detached)."""
        with torch.no_grad():
            ops = self.operators(positions, faces)
            return FixedMeshOperators.from_operators(
                ops,
                self.mode,
                k_eig=0 if ops.eigenvectors is None else ops.eigenvectors.shape[1],
                gradients=any(block.gradient is not None for block in self.blocks),
            )

    def bind(self, positions: torch.Tensor, faces: torch.Tensor) -> DiffusionNetOnMesh:
        """This network on one mesh, its operators precomputed: ``bound(x)``.

        The returned module shares this network's parameters (learned times
        included) and equals ``self(x, positions, faces)``; it is what
        ``torch.export`` exports to deploy the network on that mesh.

        With ``mode="implicit"`` it stores the complete eigenbasis, ``N × N``
        float64 numbers, from an ``O(N³)`` dense eigensolve run here (an
        86k-vertex mesh would need about 59 GB per matrix); for large meshes
        use ``mode="spectral"``, which keeps ``k_eig`` eigenpairs.

        Shapes:
            positions: (N, 3); faces: (F, 3).
        """
        return DiffusionNetOnMesh(self, self.fixed_operators(positions, faces))

    def forward_operators(
        self, x: torch.Tensor, ops: MeshOperators | FixedMeshOperators
    ) -> torch.Tensor:
        """The network on precomputed operators (build them once per shape when training)."""
        ops.check_features(x, self.in_channels, like=self)
        h = self.lift(x)
        for block in self.blocks:
            h = block(h, ops)
        if self.output == "global":
            h = ops.area_mean(h)
        return self.head(h)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, faces: torch.Tensor):
        return self.forward_operators(x, self.operators(positions, faces))


class DiffusionNetOnMesh(nn.Module):
    """A :class:`MeshDiffusionNet` bound to the precomputed operators of one mesh.

    ``forward(x) = network.forward_operators(x, operators)`` with
    :class:`~gdl_zoo.meshes.fixed_operators.FixedMeshOperators` (buffers), so the
    module is plain torch: ``torch.export.export(bound, (x,))`` exports it and
    ``.to(device)`` moves the operators with the weights.  Build it with
    :meth:`MeshDiffusionNet.bind`.

    An implicit network's operators hold the complete eigenbasis: ``N × N``
    float64 numbers, computed by an ``O(N³)`` dense eigensolve at bind time
    (an 86k-vertex mesh would need about 59 GB per matrix); large meshes use
    ``mode="spectral"`` (``k_eig`` eigenpairs, ``N × k`` numbers).

    Args:
        network: the network (its parameters are shared, not copied).
        operators: the fixed operators of the mesh.

    Shapes:
        x: (N, C_in) or (B, N, C_in); returns (*, N, C_out) per vertex or (*, C_out) global.
    """

    def __init__(self, network: MeshDiffusionNet, operators: FixedMeshOperators):
        super().__init__()
        if not isinstance(network, MeshDiffusionNet):
            raise TypeError(f"network: expected a MeshDiffusionNet, got {type(network).__name__}")
        if not isinstance(operators, FixedMeshOperators):
            raise TypeError(
                f"operators: expected FixedMeshOperators, got {type(operators).__name__}"
            )
        self.network, self.operators = network, operators

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network.forward_operators(x, self.operators)
