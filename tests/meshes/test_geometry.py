"""Intrinsic geometry from lengths: dense and libigl references, Gauss–Bonnet, gradients."""

import math

import pytest
import torch

from gdl_zoo.meshes import geometry as G
from gdl_zoo.meshes.generators import grid, icosphere, torus
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.sparse import SparsityPattern


def _noisy(generator, seed=0, scale=0.05, **kwargs):
    x, mesh = generator(**kwargs)
    g = torch.Generator().manual_seed(seed)
    return x + scale * torch.randn(x.shape, generator=g, dtype=x.dtype), mesh


def _dense_cotan_from_positions(x, faces):
    """Slow reference: per-face loop, cotangents from dot and cross products of positions."""
    n = len(x)
    lap = torch.zeros(n, n, dtype=x.dtype)
    mass = torch.zeros(n, dtype=x.dtype)
    for face in faces.tolist():
        for c in range(3):
            i, j, k = face[c], face[(c + 1) % 3], face[(c + 2) % 3]
            u, v = x[j] - x[i], x[k] - x[i]
            cot = torch.dot(u, v) / torch.linalg.cross(u, v).norm()
            lap[j, k] -= cot / 2
            lap[k, j] -= cot / 2
            lap[j, j] += cot / 2
            lap[k, k] += cot / 2
        a, b, c = (x[v] for v in face)
        mass[face] += torch.linalg.cross(b - a, c - a).norm() / 6
    return lap, mass


@pytest.mark.parametrize("generator", [icosphere, torus, grid])
def test_laplacian_and_mass_match_dense_reference(generator):
    x, mesh = _noisy(generator)
    lengths = G.edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    lap = pattern.to_dense(G.cotan_laplacian(mesh, lengths, pattern))
    ref_lap, ref_mass = _dense_cotan_from_positions(x, mesh.faces)
    assert (lap - ref_lap).abs().max() < 1e-10
    assert (G.lumped_mass(mesh, lengths) - ref_mass).abs().max() < 1e-10
    assert (lap @ torch.ones(mesh.num_vertices, dtype=x.dtype)).abs().max() < 1e-12
    assert torch.linalg.eigvalsh(lap).min() > -1e-10  # positive semidefinite
    galerkin = pattern.to_dense(G.galerkin_mass(mesh, lengths, pattern))
    assert galerkin.sum() == pytest.approx(float(G.face_areas(mesh, lengths).sum()), rel=1e-12)


@pytest.mark.parametrize("generator", [torus, grid], ids=["closed", "boundary"])
def test_matches_libigl(generator):
    igl = pytest.importorskip("igl")
    x, mesh = _noisy(generator, seed=1)
    v, f = x.numpy(), mesh.faces.numpy()
    lengths = G.edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    lap = pattern.to_dense(G.cotan_laplacian(mesh, lengths, pattern)).numpy()
    assert abs(lap + igl.cotmatrix(v, f).toarray()).max() < 1e-10  # libigl's is −L
    lumped = igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_BARYCENTRIC).diagonal()
    assert abs(G.lumped_mass(mesh, lengths).numpy() - lumped).max() < 1e-10
    full = igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_FULL).toarray()
    assert (
        abs(pattern.to_dense(G.galerkin_mass(mesh, lengths, pattern)).numpy() - full).max() < 1e-10
    )
    assert abs(G.corner_angles(mesh, lengths).numpy() - igl.internal_angles(v, f)).max() < 1e-10
    assert abs(G.face_areas(mesh, lengths).numpy() - igl.doublearea(v, f) / 2).max() < 1e-10


@pytest.mark.parametrize("generator", [icosphere, torus, grid])
def test_gauss_bonnet_for_every_metric_with_zero_gradient(generator):
    x, mesh = _noisy(generator, seed=2, scale=0.03)
    lengths = G.edge_lengths(mesh, x).requires_grad_()
    total = G.angle_defect(mesh, lengths).sum()
    assert abs(total.detach().item() - 2 * math.pi * mesh.euler_characteristic) < 1e-10
    (grad,) = torch.autograd.grad(total, lengths)
    assert grad.abs().max() < 1e-10
    # and the angles of each face sum to π
    assert (G.corner_angles(mesh, lengths).sum(1) - math.pi).abs().max() < 1e-12


def test_curvature_derivative_is_the_laplacian():
    """dK/du = L (the positive semidefinite cotan Laplacian), by central finite differences."""
    x, mesh = _noisy(icosphere, seed=3, subdivisions=1)
    base = G.edge_lengths(mesh, x)
    e = mesh.edges

    def curvature(u):
        return G.angle_defect(mesh, base * torch.exp((u[e[:, 0]] + u[e[:, 1]]) / 2))

    n, h = mesh.num_vertices, 1e-6
    u0 = torch.zeros(n, dtype=x.dtype)
    jac = torch.stack(
        [
            (curvature(u0 + h * ei) - curvature(u0 - h * ei)) / (2 * h)
            for ei in torch.eye(n, dtype=x.dtype)
        ],
        dim=1,
    )
    pattern = SparsityPattern.of_mesh(mesh)
    lap = pattern.to_dense(G.cotan_laplacian(mesh, base, pattern))
    assert (jac - lap).abs().max() < 1e-7


def test_gradient_and_divergence():
    x, mesh = _noisy(torus, seed=4)
    lengths = G.edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    f = torch.randn(mesh.num_vertices, 3, dtype=x.dtype)
    lf = pattern.matvec(G.cotan_laplacian(mesh, lengths, pattern), f)
    grad = G.face_gradient(mesh, lengths, f)
    assert grad.shape == (mesh.num_faces, 3, 2)
    assert (G.divergence(mesh, lengths, grad) + lf).abs().max() < 1e-12  # div ∘ grad = −L
    # adjointness: Σ g div X = −Σ_f A_f <∇g, X>
    field = torch.randn(mesh.num_faces, 2, dtype=x.dtype)
    g = torch.randn(mesh.num_vertices, dtype=x.dtype)
    lhs = (g * G.divergence(mesh, lengths, field)).sum()
    rhs = -(G.face_areas(mesh, lengths) * (G.face_gradient(mesh, lengths, g) * field).sum(-1)).sum()
    assert abs(float(lhs - rhs)) < 1e-12


def test_face_gradient_of_a_linear_function_on_a_flat_grid():
    x, mesh = grid(4, 4)
    lengths = G.edge_lengths(mesh, x)
    f = 2 * x[:, 0] - 3 * x[:, 1]
    norms = G.face_gradient(mesh, lengths, f).norm(dim=-1)
    assert torch.allclose(norms, torch.full_like(norms, math.sqrt(13)), atol=1e-12)
    layout = G.face_layout(mesh, lengths)
    # the layout is an isometric copy of each face
    d_layout = (layout - layout.roll(1, 1)).norm(dim=-1)
    d_true = (x[mesh.faces] - x[mesh.faces].roll(1, 1)).norm(dim=-1)
    assert torch.allclose(d_layout, d_true, atol=1e-12)


def test_log_maps_and_vertex_gradients_on_a_flat_grid():
    x, mesh = grid(4, 4)
    lengths = G.edge_lengths(mesh, x)
    rings = mesh.vertex_rings
    logs = G.log_map_1ring(mesh, lengths)
    true = (x[rings.spoke_neighbour] - x[rings.spoke_vertex])[:, :2]
    # per vertex a rotation maps the true offsets to the log map: inner and cross products agree
    for v in range(mesh.num_vertices):
        lo, hi = int(rings.spoke_start[v]), int(rings.spoke_start[v + 1])
        a, b = logs[lo:hi], true[lo:hi]
        assert torch.allclose(a @ a.T, b @ b.T, atol=1e-12)
        cross_a = a[:, None, 0] * a[None, :, 1] - a[:, None, 1] * a[None, :, 0]
        cross_b = b[:, None, 0] * b[None, :, 1] - b[:, None, 1] * b[None, :, 0]
        assert torch.allclose(cross_a, cross_b, atol=1e-12)
    # the vertex gradient reproduces every 1-ring difference of a linear function
    f = 2 * x[:, 0] - 3 * x[:, 1] + 1
    g = G.vertex_gradient(mesh, lengths, f)
    assert torch.allclose(
        g.norm(dim=-1), torch.full((mesh.num_vertices,), math.sqrt(13), dtype=x.dtype)
    )
    predicted = (g[rings.spoke_vertex] * logs).sum(-1)
    assert torch.allclose(predicted, f[rings.spoke_neighbour] - f[rings.spoke_vertex], atol=1e-7)
    # transport on a flat domain carries the global x axis of frame j into that of frame i
    phi = G.vertex_tangent_angles(mesh, lengths)
    first = true[rings.spoke_start[:-1]]
    x_axis = -torch.atan2(first[:, 1], first[:, 0])  # angle of global +x in each vertex frame
    rho = G.transport_angles(mesh, lengths)
    diff = x_axis[rings.spoke_vertex] - (x_axis[rings.spoke_neighbour] + rho)
    assert torch.allclose(
        torch.remainder(diff + math.pi, 2 * math.pi), torch.full_like(diff, math.pi)
    )
    assert phi.shape == (rings.spoke_vertex.numel(),)


def test_interior_tangent_angles_make_a_full_turn():
    x, mesh = _noisy(icosphere, seed=5, subdivisions=2)
    lengths = G.edge_lengths(mesh, x)
    rings = mesh.vertex_rings
    phi = G.vertex_tangent_angles(mesh, lengths)
    first = phi[rings.spoke_start[:-1]]
    assert (first == 0).all()
    steps = phi.diff()
    same_vertex = rings.spoke_vertex.diff() == 0
    assert (steps[same_vertex] > 0).all() and (phi < 2 * math.pi).all()


def test_heron_area_gradcheck_and_accuracy():
    sides = torch.tensor([[3.0, 4.0, 5.0], [1.0, 1.0, 1.5], [2.0, 1.2, 1.1]], dtype=torch.float64)
    area = G.heron_area(*sides.unbind(1))
    assert area[0] == pytest.approx(6.0, rel=1e-15)
    inputs = tuple(s.clone().requires_grad_() for s in sides.unbind(1))
    assert torch.autograd.gradcheck(G.heron_area, inputs)
    # a needle: Kahan's form keeps float32 close to the float64 value
    a, b, c = torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([1e-3])
    exact = 0.25 * math.sqrt((2 + 1e-3) * 1e-3 * 1e-3 * (2 - 1e-3))
    assert float(G.heron_area(a, b, c)) == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize("third_side", [2.0 - 1e-6, 1e-5], ids=["cap", "needle"])
def test_near_degenerate_triangles_in_float32_are_finite(third_side):
    # a quad of two near-degenerate triangles sharing the diagonal
    mesh = TriangleMesh(torch.tensor([[0, 1, 2], [0, 2, 3]]))
    lengths = torch.ones(mesh.num_edges, dtype=torch.float32)
    diagonal = mesh.edges.tolist().index([0, 2])
    lengths[diagonal] = third_side
    lengths.requires_grad_()
    pattern = SparsityPattern.of_mesh(mesh)
    outputs = [
        G.face_areas(mesh, lengths),
        G.corner_angles(mesh, lengths),
        G.cotan_laplacian(mesh, lengths, pattern),
        G.lumped_mass(mesh, lengths),
        G.angle_defect(mesh, lengths),
        G.face_gradient(mesh, lengths, torch.arange(4.0)),
        G.vertex_gradient(mesh, lengths, torch.arange(4.0)),
        G.galerkin_mass(mesh, lengths, pattern),
        G.corner_cotangents(mesh, lengths),
        G.face_layout(mesh, lengths),
        G.vertex_tangent_angles(mesh, lengths),
        G.log_map_1ring(mesh, lengths),
        G.transport_angles(mesh, lengths),
        G.divergence(mesh, lengths, torch.ones(2, 2)),
    ]
    for out in outputs:
        assert torch.isfinite(out).all()
        (grad,) = torch.autograd.grad(out.square().sum(), lengths)
        assert torch.isfinite(grad).all()


def test_edge_lengths_validates_positions():
    _, mesh = grid(2, 2)
    with pytest.raises(ValueError, match=r"positions: expected shape \(9, D\)"):
        G.edge_lengths(mesh, torch.zeros(4, 3))
    with pytest.raises(TypeError, match="floating"):
        G.edge_lengths(mesh, torch.zeros(9, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="TriangleMesh"):
        G.edge_lengths(None, torch.zeros(9, 3))


def test_heron_area_gradient_is_symmetric_at_ties():
    """Equilateral and isosceles faces: autograd through the sort of the sides would be wrong."""
    sides = torch.tensor([[1.0, 1.0, 1.0], [2.0, 2.0, 1.0], [1.0, 2.0, 2.0]], dtype=torch.float64)
    inputs = tuple(s.clone().requires_grad_() for s in sides.unbind(1))
    assert torch.autograd.gradcheck(G.heron_area, inputs)
    assert torch.autograd.gradgradcheck(G.heron_area, inputs)
    (grad,) = torch.autograd.grad(G.heron_area(*inputs)[0], inputs[0])
    assert float(grad[0]) == pytest.approx(0.5 / math.tan(math.pi / 3), rel=1e-14)  # ½ a cot α
    # a flat triangle has a clamped area and a zero, finite gradient
    flat = tuple(torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in (2.0, 1, 1))
    (g,) = torch.autograd.grad(G.heron_area(*flat).sum(), flat[0])
    assert float(G.heron_area(*flat).detach()) < 1e-150 and float(g) == 0.0


@pytest.mark.parametrize(
    "sides", [(1.0, 1.0, 1e-3), (1.0, 1.0, 1.999), (1.0, 0.5, 0.5 + 1e-4)],
    ids=["needle", "cap", "near-flat"],
)  # fmt: skip
def test_heron_area_gradcheck_near_degenerate_triangles(sides):
    inputs = tuple(torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in sides)
    assert torch.autograd.gradcheck(G.heron_area, inputs)
    assert torch.autograd.gradgradcheck(G.heron_area, inputs)


def test_needle_cotangents_in_float32_match_float64():
    """The cos legs pair close sides (exact differences), so needles keep their cotangents."""
    mesh = TriangleMesh(torch.tensor([[0, 1, 2]]))
    ell = torch.ones(3, dtype=torch.float64)
    ell[mesh.edges.tolist().index([0, 1])] = 1e-3  # the side opposite corner 2
    exact = G.corner_cotangents(mesh, ell)
    single = G.corner_cotangents(mesh, ell.float()).double()
    assert ((single - exact).abs() / exact.abs()).max() < 1e-5
    angles = G.corner_angles(mesh, ell.float()).double()
    assert (angles - G.corner_angles(mesh, ell)).abs().max() < 1e-6


def test_fused_laplacian_and_mass_equal_the_separate_functions():
    x, mesh = _noisy(torus, seed=6)
    lengths = G.edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    lap, mass = G.cotan_laplacian_and_mass(mesh, lengths, pattern)
    assert torch.allclose(lap, G.cotan_laplacian(mesh, lengths, pattern), rtol=1e-14, atol=1e-14)
    assert torch.allclose(mass, G.lumped_mass(mesh, lengths), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "fn", [G.vertex_tangent_angles, G.log_map_1ring, G.transport_angles, G.cotan_laplacian]
)
@pytest.mark.parametrize("generator", [icosphere, grid], ids=["closed", "boundary"])
def test_tangent_frames_log_maps_transport_gradcheck(fn, generator):
    kwargs = {"subdivisions": 0} if generator is icosphere else {"rows": 2, "cols": 2}
    x, mesh = generator(**kwargs)
    if generator is grid:
        x, mesh = _noisy(grid, seed=7, scale=0.02, **kwargs)
    lengths = G.edge_lengths(mesh, x).requires_grad_()
    assert torch.autograd.gradcheck(lambda ell: fn(mesh, ell), (lengths,))


def test_transport_is_inverse_along_twins_and_its_face_holonomy_is_the_distributed_curvature():
    """ρ_{s'} = −ρ_s; around a face, the holonomy is Σ_corners α_c K_v / Θ_v (mod 2π)."""
    x, mesh = _noisy(icosphere, seed=8, subdivisions=1)
    lengths = G.edge_lengths(mesh, x)
    rings = mesh.vertex_rings
    rho = G.transport_angles(mesh, lengths)

    def wrap(t):
        return torch.remainder(t + math.pi, 2 * math.pi) - math.pi

    assert wrap(rho + rho[rings.spoke_twin]).abs().max() < 1e-12
    n = mesh.num_vertices
    spoke_of = torch.full((n * n,), -1, dtype=torch.long)
    spoke_of[rings.spoke_vertex * n + rings.spoke_neighbour] = torch.arange(len(rho))
    i, j, k = mesh.faces.unbind(1)
    # around the counter-clockwise loop i -> j -> k -> i: ρ(j←i) + ρ(k←j) + ρ(i←k)
    holonomy = rho[spoke_of[i * n + k]] + rho[spoke_of[k * n + j]] + rho[spoke_of[j * n + i]]
    distributed = G.corner_angles(mesh, lengths) * (
        G.angle_defect(mesh, lengths) / G.angle_sums(mesh, lengths)
    )[mesh.faces]
    assert wrap(holonomy - distributed.sum(1)).abs().max() < 1e-12
    assert float(distributed.sum()) == pytest.approx(4 * math.pi, rel=1e-12)  # 2πχ


def test_log_map_radii_are_edge_lengths_and_the_first_spoke_is_the_frame():
    x, mesh = _noisy(torus, seed=9)
    lengths = G.edge_lengths(mesh, x)
    rings = mesh.vertex_rings
    logs = G.log_map_1ring(mesh, lengths)
    assert torch.allclose(logs.norm(dim=-1), lengths[rings.spoke_edge], rtol=1e-14)
    first = logs[rings.spoke_start[:-1]]
    assert (first[:, 1].abs() < 1e-15).all() and (first[:, 0] > 0).all()
