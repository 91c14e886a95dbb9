"""Generated meshes for tests and examples: icosphere (smooth or bumped), torus, planar grid.

Each generator returns ``(positions, mesh)``: float vertex positions and the
validated :class:`~gdl_zoo.meshes.mesh.TriangleMesh`, faces counter-clockwise
seen from outside (from ``+z`` for the grid).

Shapes:
    N: vertices.
    F: faces.
"""

from __future__ import annotations

import math

import torch

from gdl_zoo._validation import check_positive_int
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = ["icosphere", "bumpy_icosphere", "torus", "grid"]


def icosphere(
    subdivisions: int = 2, radius: float = 1.0, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, TriangleMesh]:
    """The icosahedron subdivided ``subdivisions`` times, vertices projected to the sphere.

    Each subdivision splits every triangle into four at its edge midpoints, so
    ``F = 20 · 4^s`` and ``N = 10 · 4^s + 2`` (``χ = 2``).

    Args:
        subdivisions: ``s ≥ 0``.
        radius: sphere radius.
        dtype: floating dtype of the positions.

    Shapes:
        positions: (N, 3); mesh.faces: (F, 3).
    """
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, int) or subdivisions < 0:
        raise ValueError(f"subdivisions: expected an integer >= 0, got {subdivisions!r}")
    if not radius > 0:
        raise ValueError(f"radius: expected a positive number, got {radius!r}")
    p = (1 + math.sqrt(5)) / 2
    v = [(-1, p, 0), (1, p, 0), (-1, -p, 0), (1, -p, 0), (0, -1, p), (0, 1, p), (0, -1, -p),
         (0, 1, -p), (p, 0, -1), (p, 0, 1), (-p, 0, -1), (-p, 0, 1)]  # fmt: skip
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
         (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
         (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]  # fmt: skip
    verts = torch.tensor(v, dtype=torch.float64)
    faces = torch.tensor(f, dtype=torch.long)
    for _ in range(subdivisions):
        n = len(verts)
        e = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        key = e.min(1).values * n + e.max(1).values
        unique, inverse = torch.unique(key, return_inverse=True)
        mids = (verts[unique // n] + verts[unique % n]) / 2
        m = (inverse + n).reshape(3, -1).T  # (F, 3): midpoints of edges 01, 12, 20
        a, b, c = faces.T
        faces = torch.cat(
            [
                torch.stack([a, m[:, 0], m[:, 2]], 1),
                torch.stack([b, m[:, 1], m[:, 0]], 1),
                torch.stack([c, m[:, 2], m[:, 1]], 1),
                m,
            ]
        )
        verts = torch.cat([verts, mids])
    verts = radius * verts / verts.norm(dim=1, keepdim=True)
    return verts.to(dtype), TriangleMesh(faces, len(verts))


def bumpy_icosphere(
    subdivisions: int,
    amplitude: float,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, TriangleMesh]:
    """An :func:`icosphere` whose vertices are pushed out by random factors in ``[1, 1 + a)``.

    The bumps make the metric generic (no intrinsic symmetry left), so that a
    symmetry test cannot pass by accident.  The factors are drawn in float64
    from ``generator`` (one ``(N, 1)`` draw), then the positions are cast.

    Args:
        subdivisions: ``s ≥ 0``.
        amplitude: ``a ≥ 0``.
        generator: the source of the factors.
        dtype: floating dtype of the positions.

    Shapes:
        positions: (N, 3); mesh.faces: (F, 3).
    """
    if not (isinstance(amplitude, (int, float)) and math.isfinite(amplitude) and amplitude >= 0):
        raise ValueError(f"amplitude: expected a finite number ≥ 0, got {amplitude!r}")
    positions, mesh = icosphere(subdivisions)
    scale = 1 + amplitude * torch.rand(len(positions), 1, generator=generator, dtype=torch.float64)
    return (positions * scale).to(dtype), mesh


def torus(
    major_segments: int = 16,
    minor_segments: int = 8,
    major_radius: float = 1.0,
    minor_radius: float = 0.4,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, TriangleMesh]:
    """A torus of revolution, ``major_segments × minor_segments`` quads split in two (``χ = 0``).

    Vertex ``(i, j)`` sits at angle ``2πi/n₁`` around the axis ``z`` and
    ``2πj/n₂`` around the tube: ``((R + r cos φ) cos θ, (R + r cos φ) sin θ, r sin φ)``.

    Shapes:
        positions: (n₁ n₂, 3); mesh.faces: (2 n₁ n₂, 3).
    """
    n1 = check_positive_int(major_segments, "major_segments")
    n2 = check_positive_int(minor_segments, "minor_segments")
    if n1 < 3 or n2 < 3:
        raise ValueError(f"expected at least 3 segments each way, got {n1} x {n2}")
    if not 0 < minor_radius < major_radius:
        raise ValueError(
            f"expected 0 < minor_radius < major_radius, got {minor_radius}, {major_radius}"
        )
    theta = torch.arange(n1, dtype=torch.float64) * (2 * math.pi / n1)
    phi = torch.arange(n2, dtype=torch.float64) * (2 * math.pi / n2)
    th, ph = torch.meshgrid(theta, phi, indexing="ij")
    ring = major_radius + minor_radius * ph.cos()
    verts = torch.stack([ring * th.cos(), ring * th.sin(), minor_radius * ph.sin()], -1)
    i, j = torch.meshgrid(torch.arange(n1), torch.arange(n2), indexing="ij")
    a = i * n2 + j
    b = ((i + 1) % n1) * n2 + j
    c = ((i + 1) % n1) * n2 + (j + 1) % n2
    d = i * n2 + (j + 1) % n2
    faces = torch.cat([torch.stack([a, b, c], -1), torch.stack([a, c, d], -1)]).reshape(-1, 3)
    return verts.reshape(-1, 3).to(dtype), TriangleMesh(faces, n1 * n2)


def grid(
    rows: int = 8, cols: int = 8, size: float = 1.0, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, TriangleMesh]:
    """A flat ``[0, size]²`` square grid in the plane ``z = 0``, each cell split along a diagonal.

    Vertex ``(i, j)`` (row ``i``, column ``j``) has index ``i·(cols+1) + j``;
    the mesh is a disc (``χ = 1``) with one boundary loop.

    Shapes:
        positions: ((rows+1)(cols+1), 3); mesh.faces: (2 rows cols, 3).
    """
    r = check_positive_int(rows, "rows")
    c = check_positive_int(cols, "cols")
    ys = torch.linspace(0, size, r + 1, dtype=torch.float64)
    xs = torch.linspace(0, size, c + 1, dtype=torch.float64)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    verts = torch.stack([x, y, torch.zeros_like(x)], -1).reshape(-1, 3)
    i, j = torch.meshgrid(torch.arange(r), torch.arange(c), indexing="ij")
    a = i * (c + 1) + j
    b, d = a + 1, a + c + 1
    faces = torch.cat([torch.stack([a, b, d + 1], -1), torch.stack([a, d + 1, d], -1)])
    return verts.to(dtype), TriangleMesh(faces.reshape(-1, 3), (r + 1) * (c + 1))
