"""Triangle meshes as combinatorial 2-manifolds: faces, edges, adjacency, boundary, validation.

A :class:`TriangleMesh` holds only the *topology* (which vertices form which
faces); positions and edge lengths live elsewhere, so that one mesh serves
every metric put on it (:mod:`gdl_zoo.meshes.metric`).  Everything derived
from the faces is computed once, on the CPU with numpy, and stored as long
tensors on the faces' device.

Conventions (used by every module of :mod:`gdl_zoo.meshes`):

- ``faces[f] = (i, j, k)`` lists the corners counter-clockwise; corner ``c``
  of face ``f`` has the flat index ``3 f + c``.
- ``face_edges[f, c]`` is the edge **opposite** corner ``c``, joining
  ``faces[f, c+1]`` and ``faces[f, c+2]`` (indices mod 3); the half-edge
  ``3 f + c`` runs ``faces[f, c+1] → faces[f, c+2]``.
- ``edges[e] = (i, j)`` with ``i < j``; ``edge_faces[e]`` lists the one or two
  faces containing it, ``-1`` where a boundary edge has no second face.

Shapes:
    N: vertices.
    F: faces.
    E: edges.
    H: half-edges (``3 F``), one per face corner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

__all__ = ["TriangleMesh", "VertexRings", "MeshError"]


class MeshError(ValueError):
    """A mesh that is not a valid oriented 2-manifold triangle mesh (names faces/edges)."""


def _as_faces(faces) -> np.ndarray:
    if isinstance(faces, torch.Tensor):
        if faces.dtype.is_floating_point or faces.dtype == torch.bool:
            raise TypeError(f"faces: expected an integer tensor, got dtype {faces.dtype}")
        array = faces.detach().cpu().numpy()
    elif isinstance(faces, np.ndarray):
        if not np.issubdtype(faces.dtype, np.integer):
            raise TypeError(f"faces: expected an integer array, got dtype {faces.dtype}")
        array = faces
    else:
        raise TypeError(f"faces: expected a (F, 3) integer tensor, got {type(faces).__name__}")
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        raise ValueError(f"faces: expected shape (F, 3) with F > 0, got {tuple(array.shape)}")
    return array.astype(np.int64)


def _list(indices: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (f", … ({len(indices)} in all)" if len(indices) > limit else "")


@dataclass(frozen=True)
class VertexRings:
    """The ordered 1-rings of a vertex-manifold mesh: spokes around each vertex, counter-clockwise.

    Every vertex ``v`` has ``deg(v)`` *spokes*, the edges leaving it, sorted
    counter-clockwise; an interior vertex has one spoke per incident corner,
    a boundary vertex one more (its last boundary edge).  Spoke ``s`` of
    vertex ``v`` sits at the cumulative angle of the corners before it
    (:func:`gdl_zoo.meshes.geometry.log_map_1ring`).

    Attributes:
        spoke_vertex: (S,) the centre vertex of each spoke, sorted.
        spoke_neighbour: (S,) the other end of each spoke.
        spoke_edge: (S,) the edge of each spoke.
        spoke_rank: (S,) how many corners of the vertex precede the spoke
            counter-clockwise (``0`` for the first spoke).
        spoke_twin: (S,) the spoke along the same edge in the opposite direction.
        spoke_start: (N + 1,) CSR offsets: the spokes of ``v`` are
            ``spoke_start[v]:spoke_start[v + 1]``.
        corner_slots: (N, D) the corners (flat index ``3 f + c``) around each
            vertex counter-clockwise, padded with ``H`` (``D`` the largest number
            of corners at a vertex).
        is_boundary_vertex: (N,) bool.
    """

    spoke_vertex: torch.Tensor
    spoke_neighbour: torch.Tensor
    spoke_edge: torch.Tensor
    spoke_rank: torch.Tensor
    spoke_twin: torch.Tensor
    spoke_start: torch.Tensor
    corner_slots: torch.Tensor
    is_boundary_vertex: torch.Tensor


class TriangleMesh:
    """The combinatorics of an oriented triangle mesh, validated and precomputed once.

    Reference: Botsch, Kobbelt, Pauly, Alliez & Lévy 2010, *Polygon Mesh
    Processing* (half-edge structure, Euler characteristic).

    The Euler characteristic is ``χ = N − E + F``; a closed connected
    orientable surface of genus ``g`` has ``χ = 2 − 2g``.

    Args:
        faces: (F, 3) integer vertex indices, each face counter-clockwise.
        num_vertices: ``N``; defaults to ``faces.max() + 1``.
        validate: check the mesh (see :meth:`validate`); turn off only for
            meshes already known to be valid.

    Raises:
        TypeError: faces not integer.
        MeshError: (a ``ValueError``) indices out of range, degenerate or
            duplicate faces, non-manifold edges, inconsistent orientation,
            vertices used by no face, or non-manifold vertices (several fans
            of faces meeting at one vertex); the message names them.

    Shapes:
        faces: (F, 3); edges: (E, 2); face_edges: (F, 3); edge_faces: (E, 2).
    """

    def __init__(self, faces, num_vertices: int | None = None, validate: bool = True):
        device = faces.device if isinstance(faces, torch.Tensor) else torch.device("cpu")
        f = _as_faces(faces)
        if num_vertices is None:
            num_vertices = int(f.max()) + 1 if f.min() >= 0 else 0
        if isinstance(num_vertices, bool) or not isinstance(num_vertices, int) or num_vertices < 3:
            raise ValueError(f"num_vertices: expected an integer >= 3, got {num_vertices!r}")
        self.num_vertices = num_vertices
        self._device = device
        if validate:
            self._check_indices(f)
        # half-edge 3f + c runs faces[f, c+1] -> faces[f, c+2]
        tail = f[:, [1, 2, 0]].reshape(-1)
        head = f[:, [2, 0, 1]].reshape(-1)
        lo, hi = np.minimum(tail, head), np.maximum(tail, head)
        keys = lo * num_vertices + hi
        unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        edges = np.stack([unique // num_vertices, unique % num_vertices], axis=1)
        if validate:
            self._check_edges(f, edges, inverse, counts, tail, head)
        order = np.argsort(inverse, kind="stable")
        sorted_edges = inverse[order]
        first = np.searchsorted(sorted_edges, np.arange(len(edges)))
        edge_faces = np.full((len(edges), 2), -1, dtype=np.int64)
        edge_halfedges = np.full((len(edges), 2), -1, dtype=np.int64)
        edge_halfedges[:, 0] = order[first]
        two = counts >= 2
        edge_halfedges[two, 1] = order[first[two] + 1]
        edge_faces[:, 0] = edge_halfedges[:, 0] // 3
        edge_faces[two, 1] = edge_halfedges[two, 1] // 3
        twin = np.full(3 * len(f), -1, dtype=np.int64)
        twin[edge_halfedges[two, 0]] = edge_halfedges[two, 1]
        twin[edge_halfedges[two, 1]] = edge_halfedges[two, 0]
        self._np = {"faces": f, "edges": edges, "twin": twin, "tail": tail, "head": head}
        self._np["face_edges"] = inverse.reshape(-1, 3)
        self._np["edge_faces"] = edge_faces

        def to_tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.long, device=device)

        self.faces = to_tensor(f)
        self.edges = to_tensor(edges)
        self.face_edges = to_tensor(inverse.reshape(-1, 3))
        self.edge_faces = to_tensor(edge_faces)
        self.twin = to_tensor(twin)
        if validate:
            used = np.bincount(f.reshape(-1), minlength=num_vertices)
            if (used == 0).any():
                raise MeshError(
                    f"vertices {_list(np.flatnonzero(used == 0))} belong to no face; "
                    "remove unreferenced vertices (read_mesh does by default)"
                )
            # building the 1-rings names any non-manifold vertex (MeshError); they stay cached
            self.vertex_rings  # noqa: B018

    # -- validation -------------------------------------------------------------------------

    def _check_indices(self, f: np.ndarray) -> None:
        n = self.num_vertices
        bad = np.flatnonzero(((f < 0) | (f >= n)).any(axis=1))
        if len(bad):
            raise MeshError(
                f"faces {_list(bad)} index vertices outside [0, {n}) (expected vertex "
                f"indices in [0, {n}), got face {int(bad[0])} = {f[bad[0]].tolist()})"
            )
        degenerate = np.flatnonzero(
            (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
        )
        if len(degenerate):
            raise MeshError(
                f"degenerate faces {_list(degenerate)} repeat a vertex "
                f"(face {int(degenerate[0])} = {f[degenerate[0]].tolist()})"
            )
        key = np.sort(f, axis=1)
        _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        dup = np.flatnonzero(counts[inverse] > 1)
        if len(dup):
            twin = dup[inverse[dup] == inverse[dup[0]]][1]
            raise MeshError(
                f"duplicate faces {_list(dup)} (face {int(twin)} has the vertices of "
                f"face {int(dup[0])}: {sorted(f[dup[0]].tolist())})"
            )

    def _check_edges(self, f, edges, inverse, counts, tail, head) -> None:
        nonmanifold = np.flatnonzero(counts > 2)
        if len(nonmanifold):
            e = int(nonmanifold[0])
            faces_of_e = np.flatnonzero(inverse == e) // 3
            raise MeshError(
                f"non-manifold edges {_list(nonmanifold)}: edge {e} = {edges[e].tolist()} "
                f"belongs to {int(counts[e])} faces {_list(faces_of_e)}"
            )
        # an interior edge must be traversed once in each direction
        forward = (tail < head).astype(np.int64)
        directions = np.bincount(inverse, weights=forward, minlength=len(edges))
        flipped = np.flatnonzero((counts == 2) & (directions != 1))
        if len(flipped):
            e = int(flipped[0])
            faces_of_e = np.flatnonzero(inverse == e) // 3
            raise MeshError(
                f"inconsistent orientation across edges {_list(flipped)}: faces "
                f"{_list(faces_of_e)} traverse edge {e} = {edges[e].tolist()} in the same "
                "direction; reorient them so that neighbours agree"
            )

    # -- derived topology -------------------------------------------------------------------

    @property
    def num_faces(self) -> int:
        """``F``."""
        return int(self.faces.shape[0])

    @property
    def num_edges(self) -> int:
        """``E``."""
        return int(self.edges.shape[0])

    @property
    def device(self) -> torch.device:
        """Where the index tensors live."""
        return self._device

    @property
    def euler_characteristic(self) -> int:
        """``χ = N − E + F``."""
        return self.num_vertices - self.num_edges + self.num_faces

    @cached_property
    def boundary_edges(self) -> torch.Tensor:
        """(E_b,) indices of the edges with a single face."""
        return torch.nonzero(self.edge_faces[:, 1] < 0).flatten()

    @property
    def is_closed(self) -> bool:
        """Whether the mesh has no boundary."""
        return self.boundary_edges.numel() == 0

    @cached_property
    def is_boundary_vertex(self) -> torch.Tensor:
        """(N,) bool: vertices on a boundary edge."""
        mask = torch.zeros(self.num_vertices, dtype=torch.bool, device=self.device)
        mask[self.edges[self.boundary_edges].flatten()] = True
        return mask

    @cached_property
    def boundary_loops(self) -> list[torch.Tensor]:
        """The boundary cycles, each a vertex tensor in the order of the faces' orientation.

        Raises:
            MeshError: when a boundary vertex has several outgoing boundary
                half-edges (a non-manifold vertex).
        """
        twin, tail, head = self._np["twin"], self._np["tail"], self._np["head"]
        boundary = np.flatnonzero(twin < 0)
        nxt: dict[int, int] = {}
        for h in boundary:
            t = int(tail[h])
            if t in nxt:
                raise MeshError(f"vertex {t} is non-manifold: it starts two boundary edges")
            nxt[t] = int(head[h])
        loops, seen = [], set()
        for start in nxt:
            if start in seen:
                continue
            loop, v = [], start
            while v not in seen:
                seen.add(v)
                loop.append(v)
                v = nxt[v]
            loops.append(torch.tensor(loop, dtype=torch.long, device=self.device))
        return loops

    @cached_property
    def connected_components(self) -> tuple[int, torch.Tensor]:
        """``(count, labels)``: the number of components and each vertex's component (N,)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        e = self._np["edges"]
        n = self.num_vertices
        graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        count, labels = connected_components(graph, directed=False)
        return int(count), torch.as_tensor(labels, dtype=torch.long, device=self.device)

    @cached_property
    def vertex_rings(self) -> VertexRings:
        """The counter-clockwise 1-ring of every vertex (see :class:`VertexRings`).

        Raises:
            MeshError: naming a non-manifold vertex (two fans meeting at a point).
        """
        f, twin = self._np["faces"], self._np["twin"]
        n, num_corners = self.num_vertices, 3 * len(f)
        corner_vertex = f.reshape(-1)
        corners = np.arange(num_corners)
        fidx, c = corners // 3, corners % 3
        # the next corner counter-clockwise: across the edge faces[f,c] -> faces[f,c+2],
        # i.e. the twin of half-edge 3f + (c+1)%3, whose corner at our vertex follows it
        across = twin[3 * fidx + (c + 1) % 3]
        succ = np.where(across >= 0, 3 * (across // 3) + (across % 3 + 1) % 3, -1)
        # a corner whose outgoing spoke faces[f,c] -> faces[f,c+1] has no twin starts a fan
        starts_fan = twin[3 * fidx + (c + 2) % 3] < 0
        is_bnd = np.zeros(n, dtype=bool)
        is_bnd[corner_vertex[starts_fan]] = True
        start = np.full(n, num_corners, dtype=np.int64)
        np.minimum.at(start, corner_vertex[starts_fan], corners[starts_fan])
        interior = ~is_bnd
        first_corner = np.full(n, num_corners, dtype=np.int64)
        np.minimum.at(first_corner, corner_vertex, corners)
        start[interior] = first_corner[interior]
        rank = np.full(num_corners, -1, dtype=np.int64)
        cur, k = start.copy(), 0
        active = np.ones(n, dtype=bool)
        while active.any():
            idx = np.flatnonzero(active)
            rank[cur[idx]] = k
            nxt = succ[cur[idx]]
            stop = (nxt < 0) | (nxt == start[idx])
            stop |= rank[np.where(nxt < 0, 0, nxt)] >= 0
            cur[idx] = nxt
            active[idx[stop]] = False
            k += 1
        degree = np.bincount(corner_vertex, minlength=n)
        if (rank < 0).any():
            v = np.unique(corner_vertex[rank < 0])
            raise MeshError(
                f"non-manifold vertices {_list(v)}: their incident faces form several fans "
                f"(vertex {int(v[0])} has {int(degree[v[0]])} corners)"
            )
        order = np.lexsort((rank, corner_vertex))
        # spokes: one per corner (its first edge), plus the closing edge at boundary vertices
        ov, of, oc = corner_vertex[order], order // 3, order % 3
        spoke_v = [ov]
        spoke_nb = [f[of, (oc + 1) % 3]]
        spoke_e = [self._np["face_edges"][of, (oc + 2) % 3]]
        spoke_r = [rank[order]]
        bverts = np.flatnonzero(is_bnd)
        if len(bverts):
            ends = np.searchsorted(ov, bverts, side="right") - 1
            last = order[ends]
            lf, lc = last // 3, last % 3
            spoke_v.append(bverts)
            spoke_nb.append(f[lf, (lc + 2) % 3])
            spoke_e.append(self._np["face_edges"][lf, (lc + 1) % 3])
            spoke_r.append(degree[bverts])
        sv = np.concatenate(spoke_v)
        so = np.argsort(sv, kind="stable")  # boundary extras come after their corners
        sv, se = sv[so], np.concatenate(spoke_e)[so]
        spoke_start = np.zeros(n + 1, dtype=np.int64)
        spoke_start[1:] = np.cumsum(np.bincount(sv, minlength=n))
        side = (sv != self._np["edges"][se, 0]).astype(np.int64)
        slot = np.empty((len(self._np["edges"]), 2), dtype=np.int64)
        slot[se, side] = np.arange(len(sv))
        corner_slots = np.full((n, int(degree.max())), num_corners, dtype=np.int64)
        corner_slots[corner_vertex[order], rank[order]] = order

        def t(a):
            return torch.as_tensor(a, dtype=torch.long, device=self.device)

        return VertexRings(
            spoke_vertex=t(sv),
            spoke_neighbour=t(np.concatenate(spoke_nb)[so]),
            spoke_edge=t(se),
            spoke_rank=t(np.concatenate(spoke_r)[so]),
            spoke_twin=t(slot[se, 1 - side]),
            spoke_start=t(spoke_start),
            corner_slots=t(corner_slots),
            is_boundary_vertex=torch.as_tensor(is_bnd, device=self.device),
        )

    def to(self, device: torch.device | str) -> TriangleMesh:
        """The same mesh with its index tensors on ``device``."""
        return TriangleMesh(self.faces.to(device), self.num_vertices, validate=False)

    def relabel(self, perm: torch.Tensor) -> TriangleMesh:
        """The mesh whose new vertex ``i`` is old vertex ``perm[i]``.

        Args:
            perm: (N,) a permutation of ``range(N)``.

        Raises:
            ValueError: ``perm`` is not a permutation of ``range(N)``.
        """
        n = self.num_vertices
        if (
            not isinstance(perm, torch.Tensor)
            or perm.dtype != torch.long
            or perm.shape != (n,)
            or not torch.equal(perm.sort().values.cpu(), torch.arange(n))
        ):
            raise ValueError(f"perm: expected a permutation of range({n}) (a LongTensor)")
        inverse = torch.empty_like(perm)
        inverse[perm] = torch.arange(len(perm), device=perm.device)
        return TriangleMesh(inverse.to(self.device)[self.faces], self.num_vertices)

    def __repr__(self) -> str:
        return (
            f"TriangleMesh(N={self.num_vertices}, E={self.num_edges}, F={self.num_faces}, "
            f"chi={self.euler_characteristic}, closed={self.is_closed})"
        )
