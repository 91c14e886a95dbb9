"""Intrinsic geometry of a triangle mesh from its edge lengths alone, in torch.

Reference: Crane, de Goes, Desbrun & Schröder 2013, *Digital geometry
processing with discrete exterior calculus*; Sharp, Soliman & Crane 2019,
*Navigating intrinsic triangulations* (intrinsic layouts, tangent spaces);
Kahan 2014, *Miscalculating area and angles of a needle-like triangle*.

Every quantity here is a function of the edge lengths ``ℓ`` (E,) and the
fixed :class:`~gdl_zoo.meshes.mesh.TriangleMesh`, vectorised and
differentiable with respect to ``ℓ``.  With ``a, b, c`` the sides of a face
opposite its corners ``0, 1, 2``:

- area (Kahan's Heron, sides sorted ``a ≥ b ≥ c``):
  ``A = ¼ √((a + (b + c))(c − (a − b))(c + (a − b))(a + (b − c)))``;
- corner angle ``α₀ = atan2(4A, b² + c² − a²)`` and ``cot α₀ = (b² + c² − a²)/(4A)``;
- cotan Laplacian (positive semidefinite) ``L_ij = −w_ij``, ``L_ii = Σ_j w_ij``
  with ``w_ij = ½(cot α_ij + cot β_ij)`` over the corners opposite edge ``ij``;
- lumped mass ``M_ii = Σ_{f ∋ i} A_f / 3``; Galerkin mass ``M_ij = Σ_{f ∋ ij} A_f/12``,
  ``M_ii = Σ_{f ∋ i} A_f / 6``;
- angle defect ``K_i = 2π − Θ_i`` at interior vertices and boundary turning
  ``κ_i = π − Θ_i`` at boundary vertices (``Θ_i`` the angle sum), so that
  ``Σ_i K_i = 2πχ`` (Gauss–Bonnet) for every metric;
- per-face gradient in the face's own 2D layout and the integrated divergence,
  its negative adjoint, so that ``div ∘ grad = −L``.

The functions do not validate the lengths (they sit on the hot path of a
metric that changes every step): validate them once with
:func:`~gdl_zoo.meshes.metric.check_lengths`, as
:class:`~gdl_zoo.meshes.metric.EdgeLengthMetric`,
:class:`~gdl_zoo.meshes.geodesics.HeatGeodesics` and
:class:`~gdl_zoo.meshes.operators.MeshOperators` do.  Flat or violated
triangles still give finite values (the area is clamped), never a NaN.

Shapes:
    N: vertices.
    E: edges.
    F: faces.
    S: spokes (directed edges leaving each vertex, :class:`~gdl_zoo.meshes.mesh.VertexRings`).
    K: stored entries of a vertex operator (:class:`~gdl_zoo.meshes.sparse.SparsityPattern`).
    *: any trailing channel shape of a signal.
"""

from __future__ import annotations

import math

import torch

from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.sparse import SparsityPattern

__all__ = [
    "edge_lengths",
    "face_side_lengths",
    "heron_area",
    "face_areas",
    "corner_angles",
    "corner_cotangents",
    "cotan_weights",
    "cotan_laplacian",
    "cotan_laplacian_and_mass",
    "lumped_mass",
    "galerkin_mass",
    "angle_sums",
    "angle_defect",
    "face_layout",
    "face_gradient",
    "divergence",
    "vertex_tangent_angles",
    "log_map_1ring",
    "transport_angles",
    "vertex_gradient_weights",
    "vertex_gradient_from_weights",
    "vertex_gradient",
]


def _check_mesh(mesh) -> TriangleMesh:
    if not isinstance(mesh, TriangleMesh):
        raise TypeError(f"mesh: expected a TriangleMesh, got {type(mesh).__name__}")
    return mesh


def edge_lengths(mesh: TriangleMesh, positions: torch.Tensor) -> torch.Tensor:
    """Euclidean edge lengths ``ℓ_ij = |x_i − x_j|`` of an embedding.

    Shapes:
        positions: (N, D); returns (E,).
    """
    _check_mesh(mesh)
    if not isinstance(positions, torch.Tensor) or not positions.is_floating_point():
        raise TypeError(f"positions: expected a floating tensor, got {type(positions).__name__}")
    if positions.dim() != 2 or positions.shape[0] != mesh.num_vertices:
        raise ValueError(
            f"positions: expected shape ({mesh.num_vertices}, D), got {tuple(positions.shape)}"
        )
    e = mesh.edges
    return (positions[e[:, 0]] - positions[e[:, 1]]).norm(dim=-1)


def face_side_lengths(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The three sides of each face, side ``c`` opposite corner ``c``.

    Shapes:
        lengths: (E,); returns (F, 3).
    """
    return lengths[mesh.face_edges]


def _cos_leg(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``b² + c² − a²`` (``2bc cos α`` of the angle opposite ``a``), computed without cancellation.

    Written as ``(b − a)(b + a) + c²`` or ``(c − a)(c + a) + b²``, pairing ``a``
    with the closer of ``b, c``: the difference of two close lengths is exact
    (Sterbenz), so the small cosines of a needle's near-right angles keep their
    relative accuracy (the textbook form loses it to cancellation).
    """
    near_b = (a - b).abs() <= (a - c).abs()
    return torch.where(near_b, (b - a) * (b + a) + c * c, (c - a) * (c + a) + b * b)


def _kahan_radicand(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``16 A²`` by Kahan's product, the sides sorted ``a ≥ b ≥ c`` first (no rounding)."""
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    a, b, c = torch.maximum(hi, c), torch.maximum(lo, torch.minimum(hi, c)), torch.minimum(lo, c)
    return (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c))


class _KahanArea(torch.autograd.Function):
    """Kahan's Heron area with the symmetric analytic gradient ``∂A/∂a = a (b² + c² − a²) / (8A)``.

    Autograd through the sort of the sides would be wrong wherever three
    sides tie (an equilateral face): ``min``/``max`` split the gradient of a
    tie evenly, which is right for two equal sides and wrong for three.  The
    backward is written in differentiable torch operations, so second
    derivatives work too.
    """

    @staticmethod
    def forward(ctx, a, b, c):
        radicand = _kahan_radicand(a, b, c)
        flat = radicand <= torch.finfo(radicand.dtype).tiny
        area = 0.25 * radicand.clamp_min(torch.finfo(radicand.dtype).tiny).sqrt()
        ctx.save_for_backward(a, b, c, area, flat)
        return area

    @staticmethod
    def backward(ctx, grad):
        a, b, c, area, flat = ctx.saved_tensors
        # the clamped radicand is constant: no gradient on flat (or violated) triangles
        scale = torch.where(flat, torch.zeros_like(area), grad / (8 * area))
        return (
            scale * a * _cos_leg(a, b, c),
            scale * b * _cos_leg(b, c, a),
            scale * c * _cos_leg(c, a, b),
        )


def heron_area(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Triangle area from its sides by Kahan's numerically stable Heron formula.

    Reference: Kahan 2014, *Miscalculating area and angles of a needle-like triangle*.

    With the sides sorted ``a ≥ b ≥ c`` (and the parentheses kept as written)::

        A = ¼ √((a + (b + c)) (c − (a − b)) (c + (a − b)) (a + (b − c)))

    which stays accurate for needles and caps where the textbook formula
    cancels catastrophically.  A custom autograd function gives the exact
    symmetric gradient ``∂A/∂a = a (b² + c² − a²) / (8A) = ½ a cot α``
    (autograd through the sort is wrong when three sides tie).  The radicand is
    clamped at the smallest normal number, so a flat triangle gives a tiny
    positive area and a zero (finite) gradient; triangles that violate the
    triangle inequality are the caller's to reject
    (:func:`gdl_zoo.meshes.metric.check_lengths`).

    Shapes:
        a, b, c: any common broadcast shape; returns that shape.
    """
    a, b, c = torch.broadcast_tensors(a, b, c)
    return _KahanArea.apply(a, b, c)


def face_areas(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Face areas by :func:`heron_area`.

    Shapes:
        lengths: (E,); returns (F,).
    """
    sides = face_side_lengths(mesh, lengths)
    return heron_area(sides[:, 0], sides[:, 1], sides[:, 2])


def _corner_cos_legs(sides: torch.Tensor) -> torch.Tensor:
    """``b² + c² − a²`` opposite each corner (:func:`_cos_leg`), from the (F, 3) sides."""
    return _cos_leg(sides, sides.roll(-1, dims=1), sides.roll(-2, dims=1))


def _corner_terms(mesh: TriangleMesh, lengths: torch.Tensor):
    """``(4A, b² + c² − a²)`` per corner (F, 3): the sine and cosine legs of each angle."""
    sides = face_side_lengths(mesh, lengths)
    cos_leg = _corner_cos_legs(sides)
    four_area = 4 * heron_area(sides[:, 0], sides[:, 1], sides[:, 2])
    return four_area.unsqueeze(1).expand_as(cos_leg), cos_leg


def corner_angles(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Interior angles ``α = atan2(4A, b² + c² − a²)`` at each corner (no ``acos``).

    Shapes:
        lengths: (E,); returns (F, 3), angle ``c`` at corner ``faces[:, c]``.
    """
    sin_leg, cos_leg = _corner_terms(mesh, lengths)
    return torch.atan2(sin_leg, cos_leg)


def corner_cotangents(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """``cot α = (b² + c² − a²) / (4A)`` at each corner.

    Shapes:
        lengths: (E,); returns (F, 3).
    """
    sin_leg, cos_leg = _corner_terms(mesh, lengths)
    return cos_leg / sin_leg


def cotan_weights(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Edge weights ``w_ij = ½ Σ cot`` of the corners opposite each edge (one or two).

    Shapes:
        lengths: (E,); returns (E,).
    """
    cot = corner_cotangents(mesh, lengths)
    w = cot.new_zeros(mesh.num_edges)
    return w.index_add_(0, mesh.face_edges.reshape(-1), 0.5 * cot.reshape(-1))


def _pattern(mesh: TriangleMesh, pattern: SparsityPattern | None) -> SparsityPattern:
    return SparsityPattern.of_mesh(mesh) if pattern is None else pattern


def cotan_laplacian(
    mesh: TriangleMesh, lengths: torch.Tensor, pattern: SparsityPattern | None = None
) -> torch.Tensor:
    """The values of the positive semidefinite cotan Laplacian ``L`` in ``pattern``'s order.

    ``L_ij = −w_ij`` for edges, ``L_ii = Σ_j w_ij`` (:func:`cotan_weights`);
    ``L 1 = 0`` and ``xᵀ L x = ½ Σ_ij w_ij (x_i − x_j)²``.  libigl's
    ``cotmatrix`` is ``−L``.

    Args:
        mesh: the topology.
        lengths: edge lengths.
        pattern: ``SparsityPattern.of_mesh(mesh)``; pass it to avoid rebuilding it.

    Shapes:
        lengths: (E,); returns (K,).
    """
    pattern = _pattern(mesh, pattern)
    w = cotan_weights(mesh, lengths)
    diag = w.new_zeros(mesh.num_vertices)
    diag = diag.index_add_(0, mesh.edges[:, 0], w).index_add_(0, mesh.edges[:, 1], w)
    return pattern.symmetric_values(diag, -w)


def cotan_laplacian_and_mass(
    mesh: TriangleMesh, lengths: torch.Tensor, pattern: SparsityPattern | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cotan_laplacian` and :func:`lumped_mass` together, sharing the face areas.

    The fast path for a metric that changes every step: one pass over the
    faces, one gather into the precomputed ``pattern`` (no ``coalesce``).

    Shapes:
        lengths: (E,); returns (K,) Laplacian values and (N,) lumped masses.
    """
    pattern = _pattern(mesh, pattern)
    sides = face_side_lengths(mesh, lengths)
    area = heron_area(sides[:, 0], sides[:, 1], sides[:, 2])
    cos_leg = _corner_cos_legs(sides)
    half_cot = cos_leg / (8 * area).unsqueeze(1)
    w = area.new_zeros(mesh.num_edges).index_add_(
        0, mesh.face_edges.reshape(-1), half_cot.reshape(-1)
    )
    diag = w.new_zeros(mesh.num_vertices)
    diag = diag.index_add_(0, mesh.edges[:, 0], w).index_add_(0, mesh.edges[:, 1], w)
    third = (area / 3).unsqueeze(1).expand(-1, 3).reshape(-1)
    mass = area.new_zeros(mesh.num_vertices).index_add_(0, mesh.faces.reshape(-1), third)
    return pattern.symmetric_values(diag, -w), mass


def lumped_mass(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Barycentric lumped mass ``M_ii = Σ_{f ∋ i} A_f / 3`` (the diagonal).

    Shapes:
        lengths: (E,); returns (N,).
    """
    area = face_areas(mesh, lengths)
    third = (area / 3).unsqueeze(1).expand(-1, 3).reshape(-1)
    return area.new_zeros(mesh.num_vertices).index_add_(0, mesh.faces.reshape(-1), third)


def galerkin_mass(
    mesh: TriangleMesh, lengths: torch.Tensor, pattern: SparsityPattern | None = None
) -> torch.Tensor:
    """The values of the Galerkin (consistent) mass matrix of linear elements.

    ``M_ij = Σ_{f ∋ ij} A_f / 12`` off the diagonal, ``M_ii = Σ_{f ∋ i} A_f / 6``.

    Shapes:
        lengths: (E,); returns (K,).
    """
    pattern = _pattern(mesh, pattern)
    area = face_areas(mesh, lengths)
    a12 = (area / 12).unsqueeze(1).expand(-1, 3).reshape(-1)
    off = area.new_zeros(mesh.num_edges).index_add_(0, mesh.face_edges.reshape(-1), a12)
    diag = area.new_zeros(mesh.num_vertices).index_add_(0, mesh.faces.reshape(-1), 2 * a12)
    return pattern.symmetric_values(diag, off)


def angle_sums(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """``Θ_i``, the sum of the corner angles at each vertex.

    Shapes:
        lengths: (E,); returns (N,).
    """
    angles = corner_angles(mesh, lengths).reshape(-1)
    theta = angles.new_zeros(mesh.num_vertices)
    return theta.index_add_(0, mesh.faces.reshape(-1), angles)


def angle_defect(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Angle defect ``2π − Θ_i`` at interior vertices, boundary turning ``π − Θ_i`` at the rest.

    Reference: Descartes' angle defect; discrete Gauss–Bonnet
    ``Σ_i K_i = 2πχ`` holds for *every* metric on the mesh.  Under conformal
    factors ``ℓ_ij = e^{(u_i+u_j)/2} ℓ⁰_ij`` its Jacobian is the cotan
    Laplacian, ``∂K/∂u = L`` (Springborn, Schröder & Pinkall 2008).

    Shapes:
        lengths: (E,); returns (N,).
    """
    theta = angle_sums(mesh, lengths)
    full = torch.full_like(theta, 2 * math.pi).masked_fill(mesh.is_boundary_vertex, math.pi)
    return full - theta


def face_layout(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Each face laid out isometrically in the plane: corner 0 at the origin, corner 1 on ``+x``.

    Corner 2 is at ``ℓ₀₂ (cos α₀, sin α₀)`` with ``cos α₀, sin α₀`` from the
    sides (no inverse trigonometry), counter-clockwise.  This fixes the
    face's tangent frame (gauge): its ``x`` axis runs along the edge from
    corner 0 to corner 1.

    Shapes:
        lengths: (E,); returns (F, 3, 2).
    """
    sides = face_side_lengths(mesh, lengths)
    a, b, c = sides.unbind(1)  # opposite corners 0, 1, 2: c = |01|, b = |02|
    four_area = 4 * heron_area(a, b, c)
    cos0 = _cos_leg(a, b, c) / (2 * b * c)
    sin0 = four_area / (2 * b * c)
    zero = torch.zeros_like(a)
    p0 = torch.stack([zero, zero], -1)
    p1 = torch.stack([c, zero], -1)
    p2 = torch.stack([b * cos0, b * sin0], -1)
    return torch.stack([p0, p1, p2], 1)


def _basis_gradients(mesh: TriangleMesh, lengths: torch.Tensor):
    """``∇φ_c`` of the three hat functions in each face's layout, and the face areas."""
    p = face_layout(mesh, lengths)  # (F, 3, 2)
    opposite = p.roll(-2, dims=1) - p.roll(-1, dims=1)  # p_{c+2} − p_{c+1}
    rotated = torch.stack([-opposite[..., 1], opposite[..., 0]], -1)  # quarter turn ccw
    area = face_areas(mesh, lengths)
    return rotated / (2 * area).reshape(-1, 1, 1), area


def face_gradient(mesh: TriangleMesh, lengths: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """The gradient of the piecewise-linear ``f`` on each face, in the face's layout frame.

    ``∇f|_F = Σ_c f_c ∇φ_c`` with ``∇φ_c = J(p_{c+2} − p_{c+1}) / (2A)``,
    ``J`` the quarter turn.

    Shapes:
        lengths: (E,); f: (N, *); returns (F, *, 2).
    """
    grads, _ = _basis_gradients(mesh, lengths)  # (F, 3, 2)
    fc = f[mesh.faces]  # (F, 3, *)
    g = fc.unsqueeze(-1) * grads.reshape(grads.shape[:2] + (1,) * (f.dim() - 1) + (2,))
    return g.sum(1)


def divergence(mesh: TriangleMesh, lengths: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
    """The integrated divergence of a per-face vector field, the negative adjoint of the gradient.

    ``(div X)_i = −Σ_{f ∋ i} A_f ⟨∇φ_i|_f, X_f⟩``, so that
    ``Σ_i g_i (div X)_i = −Σ_f A_f ⟨∇g|_f, X_f⟩`` and ``div(∇f) = −L f``.

    Shapes:
        lengths: (E,); field: (F, *, 2) in the face layout frames; returns (N, *).
    """
    grads, area = _basis_gradients(mesh, lengths)  # (F, 3, 2)
    extra = field.dim() - 2
    # A_f ∇φ_c first: on a flat face ∇φ ~ 1/A and a gradient field ~ 1/A, so ∇φ·X alone overflows
    g = grads.reshape(grads.shape[:2] + (1,) * extra + (2,)) * area.reshape(
        (-1, 1) + (1,) * (extra + 1)
    )
    contrib = -(g * field.unsqueeze(1)).sum(-1)
    out = contrib.new_zeros((mesh.num_vertices,) + contrib.shape[2:])
    return out.index_add_(0, mesh.faces.reshape(-1), contrib.reshape((-1,) + contrib.shape[2:]))


def vertex_tangent_angles(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The polar angle of every spoke in its vertex's tangent plane.

    Reference: Sharp, Soliman & Crane 2019 (tangent spaces of intrinsic
    triangulations).  Around vertex ``i`` the spokes are ordered
    counter-clockwise; spoke ``s`` sits at the cumulative corner angle ``θ_s``
    before it, rescaled to a full turn inside, ``φ_s = 2π θ_s / Θ_i``, and
    kept as it is at boundary vertices (``φ_s = θ_s ∈ [0, Θ_i]``, so that a
    flat boundary 1-ring is mapped isometrically).  The first spoke of each vertex is its
    reference direction (``φ = 0``), i.e. the vertex's tangent frame.

    Shapes:
        lengths: (E,); returns (S,).
    """
    rings = mesh.vertex_rings
    angles = corner_angles(mesh, lengths).reshape(-1)
    padded = torch.cat([angles, angles.new_zeros(1)])[rings.corner_slots]  # (N, D)
    cum = torch.cat([padded.new_zeros(mesh.num_vertices, 1), padded.cumsum(1)], 1)
    scale = (2 * math.pi / cum[:, -1]).masked_fill(rings.is_boundary_vertex, 1.0)
    return cum[rings.spoke_vertex, rings.spoke_rank] * scale[rings.spoke_vertex]


def log_map_1ring(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """The logarithmic map of each 1-ring: every neighbour as a tangent vector at its centre.

    Spoke ``s`` from vertex ``i`` to ``j`` maps to ``ℓ_ij (cos φ_s, sin φ_s)``
    in ``i``'s tangent frame (:func:`vertex_tangent_angles`).

    Shapes:
        lengths: (E,); returns (S, 2); spoke ``s`` starts at
        ``mesh.vertex_rings.spoke_vertex[s]``.
    """
    phi = vertex_tangent_angles(mesh, lengths)
    r = lengths[mesh.vertex_rings.spoke_edge]
    return torch.stack([r * phi.cos(), r * phi.sin()], -1)


def transport_angles(mesh: TriangleMesh, lengths: torch.Tensor) -> torch.Tensor:
    """Discrete Levi-Civita transport along each spoke, as a rotation angle.

    For spoke ``s: i → j`` with reverse spoke ``s': j → i``,
    ``ρ_s = φ_s − φ_{s'} + π``: a tangent vector at ``j`` with angle ``α`` in
    ``j``'s frame is transported to angle ``α + ρ_s`` in ``i``'s frame.

    Shapes:
        lengths: (E,); returns (S,).
    """
    phi = vertex_tangent_angles(mesh, lengths)
    return phi - phi[mesh.vertex_rings.spoke_twin] + math.pi


def vertex_gradient_weights(
    mesh: TriangleMesh, lengths: torch.Tensor, log_map: torch.Tensor | None = None
) -> torch.Tensor:
    """The weight of every spoke in the least-squares vertex gradient (:func:`vertex_gradient`).

    ``w_s = (G_i + ridge)⁻¹ x_s`` for spoke ``s`` of vertex ``i`` with log-map
    coordinates ``x_s`` and Gram matrix ``G_i = Σ_s x_s x_sᵀ``, so that
    ``g_i = Σ_s w_s (f_{j(s)} − f_i)`` (:func:`vertex_gradient_from_weights`):
    the gradient is linear in ``f``, and on a fixed metric these weights are all
    it needs.

    Shapes:
        lengths: (E,); log_map: (S, 2); returns (S, 2).
    """
    rings = mesh.vertex_rings
    x = log_map_1ring(mesh, lengths) if log_map is None else log_map
    n = mesh.num_vertices
    outer = x.unsqueeze(-1) * x.unsqueeze(-2)  # (S, 2, 2)
    gram = outer.new_zeros(n, 2, 2).index_add_(0, rings.spoke_vertex, outer)
    # ridge √eps·tr/2 keeps 1-rings with (nearly) collinear spokes finite
    ridge = math.sqrt(torch.finfo(gram.dtype).eps) * 0.5 * (gram[:, 0, 0] + gram[:, 1, 1])
    gram = gram + ridge.reshape(-1, 1, 1) * torch.eye(2, dtype=gram.dtype, device=gram.device)
    det = gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] * gram[:, 1, 0]
    inv = torch.stack(
        [torch.stack([gram[:, 1, 1], -gram[:, 0, 1]], -1),
         torch.stack([-gram[:, 1, 0], gram[:, 0, 0]], -1)], 1
    ) / det.reshape(-1, 1, 1)  # fmt: skip
    return (inv[rings.spoke_vertex] * x.unsqueeze(-2)).sum(-1)  # (S, 2)


def vertex_gradient_from_weights(
    weights: torch.Tensor,
    spoke_vertex: torch.Tensor,
    spoke_neighbour: torch.Tensor,
    f: torch.Tensor,
) -> torch.Tensor:
    """``g_i = Σ_{s from i} w_s (f_{j(s)} − f_i)``: the vertex gradient from its spoke weights.

    Args:
        weights: :func:`vertex_gradient_weights`.
        spoke_vertex: the centre ``i`` of each spoke (``mesh.vertex_rings.spoke_vertex``).
        spoke_neighbour: its neighbour ``j(s)``.
        f: the vertex signal.

    Shapes:
        weights: (S, 2); spoke_vertex, spoke_neighbour: (S,); f: (N, *); returns (N, *, 2).
    """
    df = f[spoke_neighbour] - f[spoke_vertex]  # (S, *)
    w = weights.reshape((weights.shape[0],) + (1,) * (f.dim() - 1) + (2,))
    terms = df.unsqueeze(-1) * w
    return terms.new_zeros(f.shape + (2,)).index_add_(0, spoke_vertex, terms)


def vertex_gradient(
    mesh: TriangleMesh, lengths: torch.Tensor, f: torch.Tensor, log_map: torch.Tensor | None = None
) -> torch.Tensor:
    """The gradient of ``f`` at each vertex, by least squares over its 1-ring log map.

    Reference: Sharp, Attaiki, Crane & Ovsjanikov 2022, *DiffusionNet*
    (vertex gradients in tangent frames).  With ``x_s`` the log-map
    coordinates of the spokes of ``i``::

        g_i = argmin_g Σ_s (f_{j(s)} − f_i − ⟨g, x_s⟩)²  =  (Σ x_s x_sᵀ)⁻¹ Σ x_s (f_j − f_i)

    A ridge ``√ε_mach · tr(G)/2`` is added to the 2 × 2 Gram matrix ``G``, so
    a 1-ring with collinear spokes stays finite; the gradient of a function
    linear in the log-map coordinates is then exact to a relative ``√ε_mach``.
    It is expressed in ``i``'s tangent frame (rotating the frame rotates ``g_i``).
    Computed as ``Σ_s w_s (f_j − f_i)`` with the spoke weights of
    :func:`vertex_gradient_weights`.

    Args:
        mesh: the topology.
        lengths: edge lengths.
        f: the vertex signal.
        log_map: :func:`log_map_1ring` if already computed.

    Shapes:
        lengths: (E,); f: (N, *); log_map: (S, 2); returns (N, *, 2).
    """
    rings = mesh.vertex_rings
    weights = vertex_gradient_weights(mesh, lengths, log_map)
    return vertex_gradient_from_weights(weights, rings.spoke_vertex, rings.spoke_neighbour, f)
