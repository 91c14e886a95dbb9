"""The intrinsic operators of one metric, precomputed together for the mesh layers.

Reference: Sharp, Attaiki, Crane & Ovsjanikov 2022, *DiffusionNet:
discretization agnostic learning on surfaces* (mass, Laplacian, eigenbasis and
tangent-frame gradients computed once per shape).

:class:`MeshOperators` bundles what the diffusion and attention layers need,
all functions of the edge lengths (the gradient flows back to them) except
the optional eigenbasis, which scipy computes on detached values.

Shapes:
    N: vertices.
    E: edges.
    K: stored entries of the Laplacian (:class:`~gdl_zoo.meshes.sparse.SparsityPattern`).
    S: spokes (:class:`~gdl_zoo.meshes.mesh.VertexRings`).
    k: eigenpairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo._validation import check_device, check_floating
from gdl_zoo.meshes.geometry import cotan_laplacian, edge_lengths, log_map_1ring, lumped_mass
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.metric import check_lengths
from gdl_zoo.meshes.sparse import SparsityPattern

__all__ = ["MeshOperators", "laplacian_eigenpairs", "check_vertex_features", "area_weighted_mean"]


def laplacian_eigenpairs(
    pattern: SparsityPattern, laplacian: torch.Tensor, mass: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` smallest generalised eigenpairs ``L φ = λ M φ``, ``φᵀ M φ = 1``.

    Computed by scipy's ``eigsh`` in shift-invert mode on detached float64
    values (no gradient flows through the eigenbasis).

    Shapes:
        laplacian: (K,); mass: (N,); returns (k,), (N, k).
    """
    from scipy.sparse import diags
    from scipy.sparse.linalg import eigsh

    n = pattern.size
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n:
        raise ValueError(f"k: expected an integer in [1, {n}), got {k!r}")
    lap = pattern.to_scipy(laplacian)
    m = mass.detach().cpu().double().numpy()
    if k >= n - 1 or n < 200:
        from scipy.linalg import eigh

        scale = 1 / np.sqrt(m)
        dense = lap.toarray() * scale[:, None] * scale[None, :]
        values, vectors = eigh(dense, subset_by_index=[0, k - 1])
        vectors = vectors * scale[:, None]
    else:
        shift = -1e-8 * float(np.abs(lap.diagonal()).max())
        values, vectors = eigsh(lap, k=k, M=diags(m), sigma=shift, which="LM")
        order = np.argsort(values)
        values, vectors = values[order], vectors[:, order]
    values = np.clip(values, 0.0, None)
    like = laplacian
    return (
        torch.as_tensor(values, dtype=like.dtype, device=like.device),
        torch.as_tensor(vectors, dtype=like.dtype, device=like.device),
    )


def check_vertex_features(
    x: torch.Tensor,
    num_vertices: int,
    channels: int,
    like: torch.Tensor | nn.Module | None = None,
) -> torch.Tensor:
    """``x`` if it holds ``channels`` features per vertex of an ``N``-vertex mesh, else an error.

    The check of :meth:`MeshOperators.check_features` and
    :meth:`~gdl_zoo.meshes.fixed_operators.FixedMeshOperators.check_features`.

    Args:
        x: the features.
        num_vertices: ``N``.
        channels: ``C``.
        like: the layer (or a tensor) whose device and dtype ``x`` must have;
            see :func:`gdl_zoo._validation.check_like`.

    Shapes:
        x: ``(N, C)`` or ``(B, N, C)``.

    Raises:
        TypeError: ``x`` is not a floating tensor, or of another dtype than ``like``.
        ValueError: another device than ``like``, NaN or infinite values, or another shape.
    """
    check_floating(x, "x", like)
    n = num_vertices
    if x.dim() not in (2, 3) or x.shape[-2:] != (n, channels):
        raise ValueError(
            f"x: expected shape (B, {n}, {channels}) or ({n}, {channels}), got {tuple(x.shape)}"
        )
    return x


def area_weighted_mean(h: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
    """The area-weighted mean over the vertices, ``Σ_i M_ii h_i / Σ_i M_ii``.

    Args:
        h: a signal on the vertices.
        mass: the lumped vertex areas ``M_ii``.

    Shapes:
        h: ``(*, N, C)``; mass: ``(N,)``; output ``(*, C)``.
    """
    w = mass.to(h.dtype).unsqueeze(-1)
    return (h * w).sum(-2) / w.sum()


@dataclass(frozen=True)
class MeshOperators:
    """Mass, cotan Laplacian, 1-ring log maps (and optionally an eigenbasis) of one metric.

    Build with :meth:`from_lengths` or :meth:`from_positions`.

    Attributes:
        mesh: the topology.
        pattern: the Laplacian's sparsity pattern.
        lengths: (E,) the metric.
        mass: (N,) lumped vertex areas.
        laplacian: (K,) values of the positive semidefinite cotan Laplacian.
        log_map: (S, 2) every 1-ring neighbour in its centre's tangent frame.
        eigenvalues: (k,) or ``None``.
        eigenvectors: (N, k), ``M``-orthonormal, or ``None``.
    """

    mesh: TriangleMesh
    pattern: SparsityPattern
    lengths: torch.Tensor
    mass: torch.Tensor
    laplacian: torch.Tensor
    log_map: torch.Tensor
    eigenvalues: torch.Tensor | None = None
    eigenvectors: torch.Tensor | None = None

    @classmethod
    def from_lengths(
        cls,
        mesh: TriangleMesh,
        lengths: torch.Tensor,
        k_eig: int = 0,
        pattern: SparsityPattern | None = None,
    ) -> MeshOperators:
        """The operators of the metric ``lengths`` (validated), with ``k_eig`` eigenpairs.

        Shapes:
            lengths: (E,).
        """
        check_lengths(mesh, lengths)
        pattern = SparsityPattern.of_mesh(mesh) if pattern is None else pattern
        lap = cotan_laplacian(mesh, lengths, pattern)
        mass = lumped_mass(mesh, lengths)
        log_map = log_map_1ring(mesh, lengths)
        values = vectors = None
        if k_eig:
            values, vectors = laplacian_eigenpairs(pattern, lap, mass, k_eig)
        return cls(mesh, pattern, lengths, mass, lap, log_map, values, vectors)

    @classmethod
    def from_positions(
        cls, mesh: TriangleMesh, positions: torch.Tensor, k_eig: int = 0
    ) -> MeshOperators:
        """The operators of the metric induced by an embedding.

        Shapes:
            positions: (N, D).
        """
        return cls.from_lengths(mesh, edge_lengths(mesh, positions), k_eig)

    @classmethod
    @eager_under_compile  # NumPy topology, SciPy eigenpairs: outside torch.compile's graph
    def from_faces(
        cls, positions: torch.Tensor, faces: torch.Tensor, k_eig: int = 0
    ) -> MeshOperators:
        """Validate ``faces`` into a :class:`TriangleMesh` and build the operators of ``positions``.

        The convenience path of the mesh models' ``forward(x, positions, faces)``;
        training loops over fixed shapes build the operators once instead.  Under
        ``torch.compile`` it runs eagerly, before the model's graph.

        Shapes:
            positions: (N, 3); faces: (F, 3).
        """
        if not isinstance(positions, torch.Tensor) or positions.dim() != 2:
            raise ValueError(f"positions: expected an (N, 3) tensor, got {positions!r:.60}")
        if isinstance(faces, torch.Tensor):
            check_device(faces, "faces", positions.device, "positions")
        mesh = TriangleMesh(faces, positions.shape[0])
        return cls.from_positions(mesh, positions, k_eig)

    @property
    def num_vertices(self) -> int:
        """``N``."""
        return self.mesh.num_vertices

    @property
    def total_area(self) -> torch.Tensor:
        """The surface area ``Σ M_ii`` (a 0-dim tensor)."""
        return self.mass.sum()

    def check_features(
        self, x: torch.Tensor, channels: int, like: torch.Tensor | nn.Module | None = None
    ) -> torch.Tensor:
        """``x`` if it holds ``channels`` features per vertex of this mesh, else a clear error.

        :func:`check_vertex_features` with this mesh's ``N``.

        Shapes:
            x: ``(N, C)`` or ``(B, N, C)``.
        """
        return check_vertex_features(x, self.num_vertices, channels, like)

    def area_mean(self, h: torch.Tensor) -> torch.Tensor:
        """The area-weighted mean over the vertices: :func:`area_weighted_mean` with this mass.

        Shapes:
            h: ``(*, N, C)``; output ``(*, C)``.
        """
        return area_weighted_mean(h, self.mass)
