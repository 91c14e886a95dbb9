"""The operators of one fixed mesh and metric, precomputed into buffers: plain torch to deploy.

Reference: Sharp, Attaiki, Crane & Ovsjanikov 2022, *DiffusionNet* (operators
precomputed once per shape).  A network deployed on one mesh does not need the
topology (NumPy) or the sparse factorisations (SciPy) at run time, only what
they produce: :class:`FixedMeshOperators` keeps the mass, an eigenbasis and the
vertex-gradient weights as tensors, so a module built on it is exported by
``torch.export`` and moved by ``.to(device)``.

Diffusion on a fixed metric, with ``L Φ = M Φ Λ`` and ``Φᵀ M Φ = I``::

    implicit:  (M + t L)⁻¹ M x  =  Φ diag(1 / (1 + λ t)) Φᵀ M x     (all N eigenpairs)
    spectral:                      Φ diag(e^{−λ t}) Φᵀ M x          (the first k)

The implicit identity is exact when ``Φ`` is the complete basis, so the fixed
operators of an implicit network hold all ``N`` eigenpairs: ``N × N`` float64
numbers, from an ``O(N³)`` dense eigensolve when they are built (an
86k-vertex mesh would need about 59 GB per matrix), meant for meshes of a few
thousand vertices; larger ones deploy with ``diffusion="spectral"``.  It equals
the sparse LU solve of :func:`~gdl_zoo.meshes.diffusion.implicit_diffusion` to
rounding (float64: at most 3e-15 relative, measured on meshes of 30 to 642
vertices; tested below 1e-12).  The learned times stay
parameters, so the deployed network is the trained one, not a snapshot.

Shapes:
    N: vertices.
    S: spokes (directed edges).
    k: eigenpairs (``N`` for implicit diffusion).
    C: channels.
    *: leading batch shape of a signal on the mesh (features ``(*, N, C)``).
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.meshes.geometry import vertex_gradient_from_weights, vertex_gradient_weights
from gdl_zoo.meshes.operators import (
    MeshOperators,
    area_weighted_mean,
    check_vertex_features,
    laplacian_eigenpairs,
)

__all__ = ["FixedMeshOperators"]

_DIFFUSION = ("implicit", "spectral", None)


def _describe(value: object) -> str:
    """A tensor as ``"a tensor of shape (…)"``, anything else by its type (for errors)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return "None" if value is None else type(value).__name__


def _complete_eigenbasis(ops: MeshOperators) -> tuple[torch.Tensor, torch.Tensor]:
    """All ``N`` generalised eigenpairs ``L φ = λ M φ``, ``Φᵀ M Φ = I``, in float64."""
    lap = ops.pattern.to_dense(ops.laplacian.detach().double())
    scale = ops.mass.detach().double().rsqrt()
    values, vectors = torch.linalg.eigh(scale.unsqueeze(1) * lap * scale.unsqueeze(0))
    return values, vectors * scale.unsqueeze(1)


class FixedMeshOperators(nn.Module):
    """Mass, eigenbasis and vertex-gradient weights of one metric, as buffers (detached).

    Build with :meth:`from_operators`.  It offers what the mesh layers need from
    :class:`~gdl_zoo.meshes.operators.MeshOperators` (``num_vertices``,
    ``total_area``, ``check_features``, ``area_mean``) and torch-native
    :meth:`implicit_diffusion`, :meth:`spectral_diffusion` and :meth:`vertex_gradient`.

    Args:
        mass: lumped vertex areas.
        eigenvalues: ``λ``, or ``None`` without diffusion.
        eigenvectors: ``Φ``, ``M``-orthonormal, or ``None``.
        gradient_weights: :func:`~gdl_zoo.meshes.geometry.vertex_gradient_weights`, or ``None``.
        spoke_vertex: the centre of every spoke (with ``gradient_weights``).
        spoke_neighbour: the neighbour of every spoke (with ``gradient_weights``).

    Shapes:
        mass: (N,); eigenvalues: (k,); eigenvectors: (N, k); gradient_weights: (S, 2);
        spoke_vertex, spoke_neighbour: (S,).
    """

    def __init__(
        self,
        mass: torch.Tensor,
        eigenvalues: torch.Tensor | None = None,
        eigenvectors: torch.Tensor | None = None,
        gradient_weights: torch.Tensor | None = None,
        spoke_vertex: torch.Tensor | None = None,
        spoke_neighbour: torch.Tensor | None = None,
    ):
        super().__init__()
        if not isinstance(mass, torch.Tensor) or mass.dim() != 1 or len(mass) == 0:
            raise ValueError(f"mass: expected a non-empty (N,) tensor, got {_describe(mass)}")
        n = len(mass)
        if (eigenvalues is None) != (eigenvectors is None):
            raise ValueError(
                "eigenvalues and eigenvectors: expected both or neither, got "
                f"{_describe(eigenvalues)} and {_describe(eigenvectors)}"
            )
        if eigenvectors is not None and (
            eigenvectors.dim() != 2
            or eigenvectors.shape[0] != n
            or eigenvalues.shape != eigenvectors.shape[1:]
        ):
            raise ValueError(
                f"eigenvectors, eigenvalues: expected shapes ({n}, k) and (k,), got "
                f"{tuple(eigenvectors.shape)} and {tuple(eigenvalues.shape)}"
            )
        spokes = (gradient_weights, spoke_vertex, spoke_neighbour)
        if any(t is None for t in spokes) != all(t is None for t in spokes):
            raise ValueError(
                "gradient_weights, spoke_vertex, spoke_neighbour: expected all or none, got "
                + ", ".join(_describe(t) for t in spokes)
            )
        if gradient_weights is not None and (
            gradient_weights.dim() != 2
            or gradient_weights.shape[1] != 2
            or spoke_vertex.shape != gradient_weights.shape[:1]
            or spoke_neighbour.shape != gradient_weights.shape[:1]
        ):
            raise ValueError(
                f"gradient_weights, spoke_vertex, spoke_neighbour: expected shapes (S, 2), (S,), "
                f"(S,), got {tuple(gradient_weights.shape)}, {tuple(spoke_vertex.shape)}, "
                f"{tuple(spoke_neighbour.shape)}"
            )
        self.register_buffer("mass", mass.detach().clone())
        for name, value in (
            ("eigenvalues", eigenvalues),
            ("eigenvectors", eigenvectors),
            ("gradient_weights", gradient_weights),
            ("spoke_vertex", spoke_vertex),
            ("spoke_neighbour", spoke_neighbour),
        ):
            self.register_buffer(name, None if value is None else value.detach().clone())

    @classmethod
    def from_operators(
        cls,
        ops: MeshOperators,
        diffusion: str | None = "implicit",
        k_eig: int = 0,
        gradients: bool = True,
    ) -> FixedMeshOperators:
        """Precompute what a network on ``ops`` needs (detached: the metric is fixed).

        Args:
            ops: the operators of the mesh.
            diffusion: ``"implicit"`` (all ``N`` eigenpairs, computed densely in
                float64: ``N × N`` numbers, an ``O(N³)`` eigensolve), ``"spectral"``
                (``k_eig`` eigenpairs, those of ``ops`` if it has them, else
                :func:`~gdl_zoo.meshes.operators.laplacian_eigenpairs`) or ``None``
                (no eigenbasis).
            k_eig: eigenpairs of the spectral mode (at least 1 there).
            gradients: keep the vertex-gradient weights.
        """
        if not isinstance(ops, MeshOperators):
            raise TypeError(f"ops: expected MeshOperators, got {type(ops).__name__}")
        if diffusion not in _DIFFUSION:
            raise ValueError(f"diffusion: expected one of {_DIFFUSION}, got {diffusion!r}")
        if diffusion == "spectral":
            k_eig = check_positive_int(k_eig, "k_eig (diffusion='spectral')")
        dtype = ops.lengths.dtype
        values = vectors = None
        if diffusion == "implicit":
            values, vectors = _complete_eigenbasis(ops)
        elif diffusion == "spectral":
            if ops.eigenvectors is not None and ops.eigenvectors.shape[1] == k_eig:
                values, vectors = ops.eigenvalues, ops.eigenvectors
            else:
                values, vectors = laplacian_eigenpairs(ops.pattern, ops.laplacian, ops.mass, k_eig)
        weights = vertex = neighbour = None
        if gradients:
            rings = ops.mesh.vertex_rings
            weights = vertex_gradient_weights(ops.mesh, ops.lengths.detach(), ops.log_map.detach())
            vertex, neighbour = rings.spoke_vertex, rings.spoke_neighbour
        if values is not None:
            values, vectors = values.to(dtype), vectors.to(dtype)
        return cls(ops.mass, values, vectors, weights, vertex, neighbour)

    @property
    def num_vertices(self) -> int:
        """``N``."""
        return self.mass.shape[0]

    @property
    def total_area(self) -> torch.Tensor:
        """The surface area ``Σ M_ii`` (a 0-dim tensor)."""
        return self.mass.sum()

    def check_features(
        self, x: torch.Tensor, channels: int, like: torch.Tensor | nn.Module | None = None
    ) -> torch.Tensor:
        """``x`` if it holds ``channels`` features per vertex of this mesh, else a clear error.

        :func:`~gdl_zoo.meshes.operators.check_vertex_features` with this mesh's ``N``,
        as :meth:`~gdl_zoo.meshes.operators.MeshOperators.check_features`.

        Shapes:
            x: ``(N, C)`` or ``(B, N, C)``.
        """
        return check_vertex_features(x, self.num_vertices, channels, like)

    def area_mean(self, h: torch.Tensor) -> torch.Tensor:
        """The area-weighted mean over the vertices, as the non-fixed operators compute it.

        :func:`~gdl_zoo.meshes.operators.area_weighted_mean` with this mass.

        Shapes:
            h: ``(*, N, C)``; output ``(*, C)``.
        """
        return area_weighted_mean(h, self.mass)

    def _filter(self, x: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        """``Φ diag(response_c) Φᵀ M x_c``; response (k, C)."""
        phi = self.eigenvectors.to(x.dtype)
        coeff = torch.einsum("nk,...nc->...kc", phi * self.mass.to(x.dtype).unsqueeze(-1), x)
        return torch.einsum("nk,...kc->...nc", phi, coeff * response)

    def _basis(self, what: str) -> None:
        if self.eigenvectors is None:
            raise ValueError(
                f"{what} needs FixedMeshOperators built with an eigenbasis "
                "(from_operators with diffusion='implicit' or 'spectral'), got eigenvectors=None"
            )

    def implicit_diffusion(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``(M + t_c L)⁻¹ M x_c = Φ diag(1/(1 + λ t_c)) Φᵀ M x_c`` on the complete basis.

        Shapes:
            x: (*, N, C); t: (C,); returns (*, N, C).
        """
        self._basis("implicit diffusion")
        if self.eigenvectors.shape[1] != self.num_vertices:
            raise ValueError(
                f"implicit diffusion needs all {self.num_vertices} eigenpairs "
                f"(diffusion='implicit'), got {self.eigenvectors.shape[1]}"
            )
        lam = self.eigenvalues.to(x.dtype).unsqueeze(-1)
        return self._filter(x, 1 / (1 + lam * t))

    def spectral_diffusion(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``Φ diag(e^{−λ t_c}) Φᵀ M x_c`` in the stored (truncated) eigenbasis.

        Shapes:
            x: (*, N, C); t: (C,); returns (*, N, C).
        """
        self._basis("spectral diffusion")
        lam = self.eigenvalues.to(x.dtype).unsqueeze(-1)
        return self._filter(x, torch.exp(-lam * t))

    def vertex_gradient(self, f: torch.Tensor) -> torch.Tensor:
        """:func:`~gdl_zoo.meshes.geometry.vertex_gradient` of ``f`` on the fixed metric.

        Shapes:
            f: (N, *); returns (N, *, 2).
        """
        if self.gradient_weights is None:
            raise ValueError("vertex gradients need FixedMeshOperators built with gradients=True")
        weights = self.gradient_weights.to(f.dtype)
        return vertex_gradient_from_weights(weights, self.spoke_vertex, self.spoke_neighbour, f)

    def extra_repr(self) -> str:
        k = None if self.eigenvectors is None else self.eigenvectors.shape[1]
        return f"num_vertices={self.num_vertices}, eigenpairs={k}"
