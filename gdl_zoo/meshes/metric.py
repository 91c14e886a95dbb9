"""Learnable discrete metrics: edge lengths on a fixed triangle mesh.

Reference: Regge 1961 (piecewise-flat metrics given by edge lengths);
Springborn, Schröder & Pinkall 2008, *Conformal equivalence of triangle
meshes* (vertex scale factors); Bobenko & Springborn 2007, *A discrete
Laplace–Beltrami operator for simplicial surfaces* (intrinsic Delaunay flips).

A metric assigns each edge a length ``ℓ_ij > 0`` such that every face obeys
the triangle inequalities.  :class:`EdgeLengthMetric` parametrises

    ℓ_ij = exp(λ_ij + (u_i + u_j)/2)

with per-edge log-lengths ``λ`` and optional vertex conformal factors ``u``.

Shapes:
    N: vertices.
    E: edges.
    F: faces.
    V: faces that violate a triangle inequality.
    D: interior edges that are not locally Delaunay.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gdl_zoo.meshes.geometry import cotan_weights, edge_lengths
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = [
    "EdgeLengthMetric",
    "check_lengths",
    "triangle_slack",
    "triangle_violations",
    "triangle_barrier",
    "non_delaunay_edges",
    "intrinsic_delaunay",
]


def _list(indices, limit: int = 5) -> str:
    items = [int(i) for i in indices]
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def triangle_slack(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Relative slack of each triangle inequality: ``(b + c − a) / (a + b + c)`` per corner.

    Positive for a proper triangle, zero for a flat one, negative when violated.

    Shapes:
        lengths: (E,); returns (F, 3), column ``c`` for the side opposite corner ``c``.
    """
    s = lengths[mesh.face_edges]
    perimeter = s.sum(1, keepdim=True)
    return (perimeter - 2 * s) / perimeter


def triangle_violations(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The faces whose sides violate a (strict) triangle inequality.

    Shapes:
        lengths: (E,); returns (V,) face indices.
    """
    return torch.nonzero((triangle_slack(mesh, lengths.detach()) <= 0).any(1)).flatten()


def check_lengths(mesh: TriangleMesh, lengths: torch.Tensor, name: str = "lengths") -> torch.Tensor:
    """Require finite, positive edge lengths that make every face a triangle.

    Raises:
        TypeError: not a floating tensor.
        ValueError: wrong shape; NaN/infinite or non-positive lengths (naming the
            edges); violated triangle inequalities (naming the faces).

    Shapes:
        lengths: (E,).
    """
    if not isinstance(lengths, torch.Tensor) or not lengths.is_floating_point():
        raise TypeError(f"{name}: expected a floating tensor, got {type(lengths).__name__}")
    if lengths.shape != (mesh.num_edges,):
        raise ValueError(f"{name}: expected shape ({mesh.num_edges},), got {tuple(lengths.shape)}")
    ell = lengths.detach()
    bad = torch.nonzero(~torch.isfinite(ell)).flatten()
    if len(bad):
        raise ValueError(f"{name}: edges {_list(bad)} have NaN or infinite length")
    bad = torch.nonzero(ell <= 0).flatten()
    if len(bad):
        raise ValueError(
            f"{name}: edges {_list(bad)} have non-positive length "
            f"(edge {int(bad[0])} has {float(ell[bad[0]]):.3g})"
        )
    bad = triangle_violations(mesh, ell)
    if len(bad):
        f = int(bad[0])
        sides = ell[mesh.face_edges[f]].tolist()
        raise ValueError(
            f"{name}: faces {_list(bad)} violate the triangle inequality "
            f"(face {f}, edges {mesh.face_edges[f].tolist()}, sides "
            f"{[round(x, 6) for x in sides]})"
        )
    return lengths


def triangle_barrier(
    mesh: TriangleMesh, lengths: torch.Tensor, margin: float = 0.05
) -> torch.Tensor:
    """A C¹ log-barrier keeping every triangle inequality a relative ``margin`` away from equality.

    With ``s`` the relative slack (:func:`triangle_slack`) of each corner::

        B(ℓ) = Σ_{s < m} ( −log(s/m) + s/m − 1 )

    zero (and flat) while every ``s ≥ m``, growing to infinity as ``s → 0``;
    slacks are clamped at ``1e-12`` so a violated face gives a large finite value.

    Args:
        mesh: the topology.
        lengths: edge lengths.
        margin: ``m ∈ (0, 1)``.

    Shapes:
        lengths: (E,); returns a scalar.
    """
    if not 0 < margin < 1:
        raise ValueError(f"margin: expected a number in (0, 1), got {margin!r}")
    r = triangle_slack(mesh, lengths).clamp_min(1e-12) / margin
    return torch.where(r < 1, -torch.log(r) + r - 1, torch.zeros_like(r)).sum()


class EdgeLengthMetric(nn.Module):
    """A learnable piecewise-flat metric on a fixed mesh: ``ℓ_ij = exp(λ_ij + (u_i + u_j)/2)``.

    Reference: Regge 1961; Springborn, Schröder & Pinkall 2008 (conformal factors).

    Args:
        mesh: the topology.
        lengths: (E,) initial lengths ``ℓ⁰`` (validated by :func:`check_lengths`).
        learn_lengths: make the per-edge log-lengths ``λ`` a parameter
            (otherwise a buffer fixed at ``log ℓ⁰``).
        conformal: add vertex conformal factors ``u`` (a parameter, initially 0).

    Use :meth:`from_positions` to start from an embedding.  Calling the
    module returns the lengths.

    Shapes:
        forward(): (E,).
    """

    def __init__(
        self,
        mesh: TriangleMesh,
        lengths: torch.Tensor,
        learn_lengths: bool = True,
        conformal: bool = False,
    ):
        super().__init__()
        if not isinstance(mesh, TriangleMesh):
            raise TypeError(f"mesh: expected a TriangleMesh, got {type(mesh).__name__}")
        if not (learn_lengths or conformal):
            raise ValueError("expected learn_lengths or conformal (or both) to be True")
        check_lengths(mesh, lengths)
        self.mesh = mesh
        log_lengths = lengths.detach().log().clone()
        if learn_lengths:
            self.log_lengths = nn.Parameter(log_lengths)
        else:
            self.register_buffer("log_lengths", log_lengths)
        if conformal:
            self.u = nn.Parameter(lengths.new_zeros(mesh.num_vertices))
        else:
            self.u = None

    @classmethod
    def from_positions(cls, mesh: TriangleMesh, positions: torch.Tensor, **kwargs):
        """The metric induced by an embedding (Euclidean edge lengths), see the constructor."""
        return cls(mesh, edge_lengths(mesh, positions).detach(), **kwargs)

    def forward(self) -> torch.Tensor:
        """The current edge lengths (E,)."""
        if self.u is None:
            return self.log_lengths.exp()
        e = self.mesh.edges
        return (self.log_lengths + 0.5 * (self.u[e[:, 0]] + self.u[e[:, 1]])).exp()

    def barrier(self, margin: float = 0.05) -> torch.Tensor:
        """:func:`triangle_barrier` of the current lengths."""
        return triangle_barrier(self.mesh, self(), margin)

    def violations(self) -> torch.Tensor:
        """:func:`triangle_violations` of the current lengths: the offending faces."""
        return triangle_violations(self.mesh, self().detach())

    def check(self) -> None:
        """Raise ``ValueError`` naming faces/edges unless the lengths form valid triangles."""
        check_lengths(self.mesh, self().detach())

    @torch.no_grad()
    def flip_to_delaunay(self, max_flips: int | None = None) -> int:
        """Flip edges until the triangulation is intrinsically Delaunay (not differentiable).

        A separate step between optimisation steps: the mesh and the log-lengths
        are replaced (conformal factors kept); rebuild optimisers and anything
        precomputed from the old mesh afterwards.

        Returns:
            the number of flips made.
        """
        new_mesh, new_lengths, flips = intrinsic_delaunay(self.mesh, self().detach(), max_flips)
        if flips == 0:
            return 0
        log_new = new_lengths.log()
        if self.u is not None:
            e = new_mesh.edges
            log_new = log_new - 0.5 * (self.u[e[:, 0]] + self.u[e[:, 1]])
        self.mesh = new_mesh
        if isinstance(self.log_lengths, nn.Parameter):
            self.log_lengths = nn.Parameter(log_new.to(self.log_lengths.dtype))
        else:
            self.log_lengths = log_new.to(self.log_lengths.dtype)
        return flips


def _opposite_distance(a: float, b1: float, c1: float, b2: float, c2: float) -> float:
    """Length of the new diagonal of a flipped quad.

    Triangles ``(i, j, k)`` and ``(j, i, l)`` share edge ``ij`` of length ``a``;
    ``b1 = |ik|, c1 = |jk|``, ``b2 = |il|, c2 = |jl|``.  Lay ``i`` at the origin,
    ``j`` at ``(a, 0)``, ``k`` above and ``l`` below the axis.
    """
    xk = (a * a + b1 * b1 - c1 * c1) / (2 * a)
    yk = math.sqrt(max(b1 * b1 - xk * xk, 0.0))
    xl = (a * a + b2 * b2 - c2 * c2) / (2 * a)
    yl = -math.sqrt(max(b2 * b2 - xl * xl, 0.0))
    return math.hypot(xk - xl, yk - yl)


def _cot(opposite: float, s1: float, s2: float) -> float:
    """``cot`` of the angle opposite ``opposite``, the area by Kahan's sorted Heron product."""
    a, b, c = sorted((opposite, s1, s2), reverse=True)
    radicand = (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c))
    return (s1 * s1 + s2 * s2 - opposite * opposite) / math.sqrt(max(radicand, 1e-300))


def non_delaunay_edges(
    mesh: TriangleMesh, lengths: torch.Tensor, tol: float = 1e-12
) -> torch.Tensor:
    """The interior edges that are not locally Delaunay: ``cot α + cot β < −tol``.

    ``α, β`` are the corners opposite the edge; boundary edges always count as
    Delaunay.  An empty result means the triangulation is intrinsically Delaunay,
    so every cotan weight is non-negative (Bobenko & Springborn 2007).

    Shapes:
        lengths: (E,); returns (D,) edge indices.
    """
    w = cotan_weights(mesh, lengths.detach())  # ½ (cot α + cot β)
    interior = mesh.edge_faces[:, 1] >= 0
    return torch.nonzero(interior & (2 * w < -tol)).flatten()


def intrinsic_delaunay(
    mesh: TriangleMesh,
    lengths: torch.Tensor,
    max_flips: int | None = None,
    return_edge_map: bool = False,
):
    """Flip edges until every interior edge is locally Delaunay (``cot α + cot β ≥ 0``).

    Reference: Bobenko & Springborn 2007; Fisher, Springborn, Schröder & Bobenko 2007.
    Not differentiable: use it between optimisation steps.  The new diagonal
    of a flipped quad gets its intrinsic length from the planar layout of the
    two triangles, so the metric (the flat cone surface) is unchanged.  A flip
    that would create an edge already present (which a simplicial
    :class:`TriangleMesh` cannot hold) is skipped.

    Args:
        mesh: the topology.
        lengths: valid edge lengths.
        max_flips: stop after this many flips (default ``10 · E``).
        return_edge_map: also return, for each new edge, its index in the old mesh.

    Returns:
        ``(new_mesh, new_lengths, num_flips)`` (``+ edge_map`` if asked), lengths in
        the dtype and device of ``lengths``.

    Shapes:
        lengths: (E,); new_lengths: (E,); edge_map: (E,).
    """
    check_lengths(mesh, lengths)
    faces = mesh.faces.cpu().numpy().copy()
    ell = lengths.detach().cpu().to(torch.float64).numpy().copy()
    edges = mesh.edges.cpu().numpy()
    key_to_edge = {(int(i), int(j)): k for k, (i, j) in enumerate(edges)}
    edge_key = [(int(i), int(j)) for i, j in edges]
    edge_faces = {k: [] for k in range(len(edges))}
    for f, tri in enumerate(faces):
        for c in range(3):
            i, j = int(tri[(c + 1) % 3]), int(tri[(c + 2) % 3])
            edge_faces[key_to_edge[(min(i, j), max(i, j))]].append(f)
    budget = 10 * len(edges) if max_flips is None else max_flips

    def length(i: int, j: int) -> float:
        return ell[key_to_edge[(min(i, j), max(i, j))]]

    def apex(f: int, i: int, j: int) -> int:
        return int(next(v for v in faces[f] if v != i and v != j))

    stack, flips = list(range(len(edges))), 0
    while stack and flips < budget:
        e = stack.pop()
        if len(edge_faces[e]) != 2:
            continue
        i, j = edge_key[e]
        f1, f2 = edge_faces[e]
        k, m = apex(f1, i, j), apex(f2, i, j)
        a = ell[e]
        cot_sum = _cot(a, length(i, k), length(j, k)) + _cot(a, length(i, m), length(j, m))
        if cot_sum >= -1e-12 or k == m or (min(k, m), max(k, m)) in key_to_edge:
            continue
        # orient: f1 traverses i -> j or j -> i; keep counter-clockwise order
        t1 = [int(v) for v in faces[f1]]
        if t1[(t1.index(i) + 1) % 3] != j:
            i, j = j, i
        # f1 = (i, j, k) ccw, f2 = (j, i, m) ccw; new faces (k, m, j)? -> (i, m, k), (j, k, m)
        new_len = _opposite_distance(a, length(i, k), length(j, k), length(i, m), length(j, m))
        faces[f1] = (i, m, k)
        faces[f2] = (j, k, m)
        for (p, q), fold, fnew in (((i, m), f2, f1), ((j, k), f1, f2)):
            ek = key_to_edge[(min(p, q), max(p, q))]
            edge_faces[ek] = [fnew if g == fold else g for g in edge_faces[ek]]
        del key_to_edge[edge_key[e]]
        edge_key[e] = (min(k, m), max(k, m))
        key_to_edge[edge_key[e]] = e
        ell[e] = new_len
        flips += 1
        for p, q in ((i, k), (j, k), (i, m), (j, m)):
            stack.append(key_to_edge[(min(p, q), max(p, q))])
    new_mesh = TriangleMesh(torch.as_tensor(faces, device=mesh.device), mesh.num_vertices)
    new_edges = new_mesh.edges.cpu().numpy()
    edge_map = np.array([key_to_edge[(int(p), int(q))] for p, q in new_edges], dtype=np.int64)
    new_lengths = torch.as_tensor(ell[edge_map], device=lengths.device).to(lengths.dtype)
    if return_edge_map:
        return new_mesh, new_lengths, flips, torch.as_tensor(edge_map, device=mesh.device)
    return new_mesh, new_lengths, flips
