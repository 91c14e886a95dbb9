"""Gauges from the metric: tangent frames, log maps and the discrete connection of a mesh.

de Haan, Weiler, Cohen & Welling (ICLR 2021), §5; Sharp, Soliman & Crane 2019,
*The vector heat method* (rescaled 1-ring angles, transport between vertex
frames).  Everything is a function of the edge lengths ``ℓ`` of a fixed
:class:`~gdl_zoo.meshes.mesh.TriangleMesh`, vectorised and differentiable in
``ℓ``, so the gauge follows a learned metric
(:class:`~gdl_zoo.meshes.metric.EdgeLengthMetric`).  The geometry itself is
that of :mod:`gdl_zoo.meshes.geometry`; this module turns it into the inputs
of the gauge layers:

- **reference direction** of vertex ``p``: its first spoke
  (``VertexRings.spoke_rank == 0``), turned counter-clockwise by an optional
  gauge angle ``frame_p``;
- **1-ring angles rescaled** to a full turn at interior vertices,
  ``φ_s = 2π θ_s / Θ_p`` (``θ_s`` the cumulative corner angle before spoke
  ``s``, ``Θ_p`` the angle sum); kept as they are at boundary vertices;
- **log map** of each neighbour ``q`` of ``p``: ``(r, θ) = (ℓ_pq, φ_s − frame_p)``;
- **discrete Levi-Civita connection**: spoke ``s: p → q`` and its twin
  ``s': q → p`` are the same edge seen from both ends, so a vector at ``q``
  with angle ``α`` in ``q``'s frame arrives at ``p`` with angle
  ``α + g_{q→p}``, ``g_{q→p} = φ_s − φ_{s'} + π − frame_p + frame_q``
  (:func:`gdl_zoo.meshes.geometry.transport_angles`).

Holonomy.  Composing transports around the link of an interior vertex
``p`` (its neighbours ``q_0 → q_1 → … → q_0``, counter-clockwise) gives, mod 2π,
the curvature enclosed.  Rescaling spreads each vertex's angle defect ``K_v``
over its faces in proportion to its corner angles, so the holonomy of face
``f`` is ``Σ_{v ∈ f} K_v α_{v,f} / Θ_v`` (``K_v`` only at interior
vertices) and that of the link of ``p``::

    hol(p) = K_p + Σ_{q ∈ link(p), q interior} K_q β_pq / Θ_q     (mod 2π)

with ``β_pq`` the angle of ``q`` inside the star of ``p``.  It is exactly the
angle defect ``K_p`` when the link vertices are flat or on the boundary, and
``K_p`` plus a share of the neighbours' curvature otherwise (tested both ways).
The Levi-Civita connection of the piecewise-flat metric itself, a vector
carried through the 2D layouts of the faces around ``p`` and unfolded across
each shared edge (:func:`face_ring_holonomy`), comes back turned by exactly
``K_p`` at every interior vertex of any mesh.

Boundary.  A boundary vertex has an open fan: its spokes keep their true
angles in ``[0, Θ_p]``, the first spoke is its first boundary edge, there is no
link cycle (:func:`ring_holonomy` reports interior vertices only), and the
gauge layers remain exactly gauge equivariant there (fewer neighbours,
all on one side).

Shapes:
    N: vertices.  E: edges.  S: spokes (directed edges, ``2E``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gdl_zoo.meshes.geometry import corner_angles, face_layout, vertex_tangent_angles
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.metric import check_lengths

__all__ = [
    "MeshGauge",
    "mesh_gauge",
    "wrap_angle",
    "spoke_index",
    "ring_holonomy",
    "link_curvature_share",
    "face_ring_holonomy",
]


def wrap_angle(angle: torch.Tensor) -> torch.Tensor:
    """``angle`` mod 2π in ``(−π, π]``, differentiable (``atan2(sin, cos)``)."""
    return torch.atan2(torch.sin(angle), torch.cos(angle))


@dataclass(frozen=True)
class MeshGauge:
    """The inputs of the gauge layers on a mesh, one entry per spoke.

    Attributes:
        edge_index: (2, S) long; ``edge_index[0]`` the neighbour ``q``,
            ``edge_index[1]`` the centre ``p`` (PyG source → target).
        radius: (S,) ``r = ℓ_pq``, the log-map radius.
        log_angle: (S,) ``θ_pq``, the direction of ``q`` in ``p``'s frame.
        transport: (S,) ``g_{q→p}``, the angle taking ``q``'s frame to ``p``'s.
        num_vertices: ``N``.
    """

    edge_index: torch.Tensor
    radius: torch.Tensor
    log_angle: torch.Tensor
    transport: torch.Tensor
    num_vertices: int

    @property
    def log_map(self) -> torch.Tensor:
        """(S, 2) ``r (cos θ, sin θ)``: each neighbour as a tangent vector at its centre."""
        return torch.stack(
            [self.radius * self.log_angle.cos(), self.radius * self.log_angle.sin()], -1
        )

    def layer_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(edge_index, log_angle, transport)``, the trailing arguments of the gauge layers."""
        return self.edge_index, self.log_angle, self.transport


def _check_frame(frame: torch.Tensor | None, mesh: TriangleMesh, like: torch.Tensor):
    if frame is None:
        return like.new_zeros(mesh.num_vertices)
    if not isinstance(frame, torch.Tensor) or not frame.is_floating_point():
        got = frame.dtype if isinstance(frame, torch.Tensor) else type(frame).__name__
        raise TypeError(f"frame: expected a floating tensor, got {got}")
    if tuple(frame.shape) != (mesh.num_vertices,):
        raise ValueError(f"frame: expected shape ({mesh.num_vertices},), got {tuple(frame.shape)}")
    return frame.to(like)


def mesh_gauge(
    mesh: TriangleMesh,
    lengths: torch.Tensor,
    frame: torch.Tensor | None = None,
    validate: bool = True,
) -> MeshGauge:
    """Frames, log maps and transport of every spoke, from the edge lengths alone.

    Args:
        mesh: the topology.
        lengths: edge lengths ``ℓ`` (e.g. ``EdgeLengthMetric()()`` or
            :func:`~gdl_zoo.meshes.geometry.edge_lengths` of an embedding).
        frame: optional gauge: ``frame_p`` turns ``p``'s reference direction
            counter-clockwise away from its first spoke (default 0).
        validate: check the lengths (:func:`~gdl_zoo.meshes.metric.check_lengths`:
            finite, positive, triangle inequalities), raising ``ValueError``.

    Shapes:
        lengths: (E,); frame: (N,); returns a :class:`MeshGauge` of S = 2E spokes.
    """
    if not isinstance(mesh, TriangleMesh):
        raise TypeError(f"mesh: expected a TriangleMesh, got {type(mesh).__name__}")
    if validate:
        check_lengths(mesh, lengths)
    frame = _check_frame(frame, mesh, lengths)
    rings = mesh.vertex_rings
    phi = vertex_tangent_angles(mesh, lengths)
    centre, neighbour = rings.spoke_vertex, rings.spoke_neighbour
    log_angle = phi - frame[centre]
    transport = phi - phi[rings.spoke_twin] + math.pi - frame[centre] + frame[neighbour]
    return MeshGauge(
        edge_index=torch.stack([neighbour, centre]),
        radius=lengths[rings.spoke_edge],
        log_angle=log_angle,
        transport=transport,
        num_vertices=mesh.num_vertices,
    )


def spoke_index(mesh: TriangleMesh, centre: torch.Tensor, neighbour: torch.Tensor) -> torch.Tensor:
    """The spoke ``centre → neighbour`` for each pair (they must be edges of the mesh).

    Raises:
        ValueError: a pair that is not an edge (naming it).

    Shapes:
        centre, neighbour: (K,) long; returns (K,) long.
    """
    rings = mesh.vertex_rings
    n = mesh.num_vertices
    keys = rings.spoke_vertex * n + rings.spoke_neighbour
    order = torch.argsort(keys)
    wanted = centre * n + neighbour
    pos = torch.searchsorted(keys[order], wanted).clamp_max(len(keys) - 1)
    found = order[pos]
    missing = keys[found] != wanted
    if bool(missing.any()):
        k = int(torch.nonzero(missing)[0])
        raise ValueError(
            f"expected edges of the mesh, got the pair ({int(centre[k])}, {int(neighbour[k])})"
        )
    return found


def ring_holonomy(mesh: TriangleMesh, gauge: MeshGauge) -> tuple[torch.Tensor, torch.Tensor]:
    """Transport composed around the link of every interior vertex, in ``(−π, π]``.

    For interior ``p`` with neighbours ``q_0, …, q_{k−1}`` counter-clockwise,
    ``hol(p) = Σ_r g_{q_r → q_{r+1}}`` (indices mod k), wrapped.  It does not
    depend on the gauge (``frame``); see the module docstring for its value.
    Boundary vertices have no closed link and are left out.

    Returns:
        ``(vertices, holonomy)``: the interior vertices (long) and their holonomy.

    Shapes:
        vertices, holonomy: (N_interior,).
    """
    rings = mesh.vertex_rings
    spokes = torch.arange(len(rings.spoke_vertex), device=rings.spoke_vertex.device)
    centre = rings.spoke_vertex
    interior = ~rings.is_boundary_vertex[centre]
    spokes, centre = spokes[interior], centre[interior]
    start, end = rings.spoke_start[centre], rings.spoke_start[centre + 1]
    following = torch.where(spokes + 1 < end, spokes + 1, start)  # next spoke ccw
    here, there = rings.spoke_neighbour[spokes], rings.spoke_neighbour[following]
    step = gauge.transport[spoke_index(mesh, there, here)]  # g_{here → there}
    total = step.new_zeros(mesh.num_vertices).index_add(0, centre, step)
    vertices = torch.nonzero(~rings.is_boundary_vertex).flatten()
    return vertices, wrap_angle(total[vertices])


def link_curvature_share(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """``Σ_{q ∈ link(p)} K_q β_pq / Θ_q`` per vertex: what :func:`ring_holonomy` adds to ``K_p``.

    Shapes:
        lengths: (E,); returns (N,).
    """
    angles = corner_angles(mesh, lengths)  # (F, 3), angle c at faces[:, c]
    theta = angles.new_zeros(mesh.num_vertices).index_add(
        0, mesh.faces.reshape(-1), angles.reshape(-1)
    )
    interior = ~mesh.is_boundary_vertex
    defect = torch.where(interior, 2 * math.pi - theta, torch.zeros_like(theta))
    share = defect / theta  # (N,) curvature per unit corner angle
    weighted = angles * share[mesh.faces]  # (F, 3): K_v α_{v,f} / Θ_v
    out = angles.new_zeros(mesh.num_vertices)
    for c in range(3):  # corner c's vertex receives the shares of the other two corners
        others = weighted[:, (c + 1) % 3] + weighted[:, (c + 2) % 3]
        out = out.index_add(0, mesh.faces[:, c], others)
    return out


def face_ring_holonomy(
    mesh: TriangleMesh, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Levi-Civita transport through the 2D layouts of the faces around each interior vertex.

    Each face has the frame of its layout (:func:`~gdl_zoo.meshes.geometry.face_layout`).
    Consecutive faces ``f_r, f_{r+1}`` around ``p`` share the spoke ``p → q``;
    unfolding them into one plane maps that edge to itself, so a vector at
    angle ``α`` in ``f_r``'s frame has angle ``α − a_r + a'_{r+1}`` in
    ``f_{r+1}``'s, with ``a_r`` and ``a'_{r+1}`` the directions of ``p → q`` in
    the two layouts.  Going once around ``p`` counter-clockwise turns a vector
    by the angle defect ``K_p = 2π − Θ_p`` (mod 2π): the discrete Gauss–Bonnet
    statement of the connection, independent of any vertex frame.

    Returns:
        ``(vertices, holonomy)``: the interior vertices and their holonomy in ``(−π, π]``.

    Shapes:
        lengths: (E,); vertices, holonomy: (N_interior,).
    """
    rings = mesh.vertex_rings
    layout = face_layout(mesh, lengths)  # (F, 3, 2)
    vertices = torch.nonzero(~rings.is_boundary_vertex).flatten()
    slots = rings.corner_slots[vertices]  # (V, D) flat corners 3f + c, padded with 3F
    valid = slots < 3 * mesh.num_faces
    degree = valid.sum(1)
    rank = torch.arange(slots.shape[1], device=slots.device).expand_as(slots)
    following = torch.where(rank + 1 < degree.unsqueeze(1), rank + 1, torch.zeros_like(rank))
    here = slots.clamp_max(3 * mesh.num_faces - 1)
    there = here.gather(1, following)

    def direction(corner: torch.Tensor, step: int) -> torch.Tensor:
        face, c = corner // 3, corner % 3
        d = layout[face, (c + step) % 3] - layout[face, c]  # (V, D, 2)
        return torch.atan2(d[..., 1], d[..., 0])

    # shared edge p → faces[f_r, c_r + 2] = faces[f_{r+1}, c_{r+1} + 1]
    step = direction(there, 1) - direction(here, 2)
    total = torch.where(valid, step, torch.zeros_like(step)).sum(1)
    return vertices, wrap_angle(total)
