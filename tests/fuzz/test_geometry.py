"""Mesh geometry on fuzzed meshes: no NaN on near-degenerate triangles, or a clear ValueError.

Also disconnected meshes: geodesic distances between components are ``inf``, and the mesh
Transformer's geodesic bias built from them keeps it equivariant with finite gradients.

The geometry functions do not validate the lengths (they are on the hot path of
a learned metric) and promise finite values on flat and violated triangles;
the validated entry points (:class:`~gdl_zoo.meshes.operators.MeshOperators`,
:class:`~gdl_zoo.meshes.geodesics.HeatGeodesics`) either return finite
operators or raise a ``ValueError`` that names the offending faces or edges.
Meshes come from :func:`~gdl_zoo.symmetry.strategies.triangle_meshes` with
slivers down to ``10⁻¹⁴`` thick, which round to flat faces (and, in float32,
to zero-length edges).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings

from gdl_zoo import zoo
from gdl_zoo.meshes import geometry
from gdl_zoo.meshes.actions import MeshSymmetry, VertexOutputs
from gdl_zoo.meshes.generators import bumpy_icosphere, grid
from gdl_zoo.meshes.geodesics import HeatGeodesics
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.operators import MeshOperators
from gdl_zoo.symmetry import assert_equivariant
from gdl_zoo.symmetry.strategies import triangle_meshes

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _signal(n: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(n), dtype=dtype)


def _unvalidated(mesh, lengths, f):
    """Every geometry function of the lengths, by name."""
    gradient = geometry.face_gradient(mesh, lengths, f)
    return {
        "face_areas": geometry.face_areas(mesh, lengths),
        "corner_angles": geometry.corner_angles(mesh, lengths),
        "corner_cotangents": geometry.corner_cotangents(mesh, lengths),
        "cotan_weights": geometry.cotan_weights(mesh, lengths),
        "cotan_laplacian": geometry.cotan_laplacian(mesh, lengths),
        "cotan_laplacian_and_mass": torch.cat(geometry.cotan_laplacian_and_mass(mesh, lengths)),
        "lumped_mass": geometry.lumped_mass(mesh, lengths),
        "galerkin_mass": geometry.galerkin_mass(mesh, lengths),
        "angle_defect": geometry.angle_defect(mesh, lengths),
        "face_layout": geometry.face_layout(mesh, lengths),
        "face_gradient": gradient,
        "divergence": geometry.divergence(mesh, lengths, gradient),
        "log_map_1ring": geometry.log_map_1ring(mesh, lengths),
        "transport_angles": geometry.transport_angles(mesh, lengths),
        "vertex_gradient": geometry.vertex_gradient(mesh, lengths, f),
    }


def _flat_grid():
    """Two faces, one of them exactly flat: vertex 1 on the midpoint of the diagonal 0–3."""
    positions, mesh = grid(1, 1)
    positions = positions.clone()
    positions[1] = (positions[0] + positions[3]) / 2
    return positions, mesh


def _check_validated(positions, mesh, lengths):
    """The validated paths: finite operators, or a ValueError naming faces or edges."""
    try:
        operators = MeshOperators.from_positions(mesh, positions, k_eig=2)
        distances = HeatGeodesics(mesh, lengths)(torch.tensor([0]))
    except ValueError as error:
        assert "faces" in str(error) or "edges" in str(error), str(error)
        return False
    for name in ("mass", "laplacian", "log_map", "eigenvalues", "eigenvectors"):
        assert torch.isfinite(getattr(operators, name)).all(), name
    assert torch.isfinite(distances).all()
    return True


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_geometry_is_finite_on_slivers(dtype):
    @FUZZ
    @given(triangle_meshes(max_sliver_exponent=14, dtype=dtype))
    @example((_flat_grid()[0].to(dtype), _flat_grid()[1]))
    def check(positions_mesh):
        positions, mesh = positions_mesh
        lengths = geometry.edge_lengths(mesh, positions)
        if lengths.min() > 0:  # zero-length edges are outside the functions' contract
            for name, value in _unvalidated(mesh, lengths, _signal(len(positions), dtype)).items():
                assert torch.isfinite(value).all(), f"{name} is not finite"
        _check_validated(positions, mesh, lengths)

    check()


def test_a_flat_face_is_refused_by_name():
    positions, mesh = _flat_grid()
    assert not _check_validated(positions, mesh, geometry.edge_lengths(mesh, positions))


def test_divergence_of_a_gradient_on_a_flat_face_is_finite():
    """Bug: ∇φ·X was formed before multiplying by the area, so on a flat face (A clamped to
    ~1e-155, ∇φ and X ~ 1e154 each) it overflowed to ±inf (and inf − inf = NaN)."""
    positions, mesh = _flat_grid()
    lengths = geometry.edge_lengths(mesh, positions)
    gradient = geometry.face_gradient(mesh, lengths, _signal(4, torch.float64))
    assert gradient.abs().max() > 1e100  # the flat face's gradient is huge but finite
    assert torch.isfinite(geometry.divergence(mesh, lengths, gradient)).all()


def test_without_the_fix_the_flat_face_product_overflows():
    positions, mesh = _flat_grid()
    lengths = geometry.edge_lengths(mesh, positions)
    gradient = geometry.face_gradient(mesh, lengths, _signal(4, torch.float64))
    assert not torch.isfinite(gradient * gradient).all()  # the product the fix avoids


def _two_components():
    """A bumpy icosphere and a 3×4 grid side by side: one mesh, two connected components."""
    sphere, sphere_mesh = bumpy_icosphere(1, 0.2, torch.Generator().manual_seed(0))
    plane, plane_mesh = grid(3, 4)
    positions = torch.cat([sphere, plane + torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)])
    faces = torch.cat([sphere_mesh.faces, plane_mesh.faces + sphere_mesh.num_vertices])
    return positions, TriangleMesh(faces, len(positions))


@settings(FUZZ, max_examples=5)
@given(positions_mesh=triangle_meshes(slivers=False, max_components=3))
@example(positions_mesh=_two_components())
def test_heat_geodesics_on_disconnected_meshes(positions_mesh):
    """Bugs: other components got finite 'distances' (the Poisson regulariser's constant),
    and every gradient was NaN (the direction's square root at ∇u = 0 there)."""
    positions, mesh = positions_mesh
    lengths = geometry.edge_lengths(mesh, positions).requires_grad_()
    distances = HeatGeodesics(mesh, lengths)(torch.arange(mesh.num_vertices))
    _, labels = mesh.connected_components
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    assert torch.isfinite(distances[same]).all() and torch.isinf(distances[~same]).all()
    distances[same].sum().backward()
    assert torch.isfinite(lengths.grad).all()


@pytest.mark.parametrize("bias", ["geodesic", "heat"])
@settings(FUZZ, max_examples=2)
@given(positions_mesh=triangle_meshes(slivers=False, max_components=3))
@example(positions_mesh=_two_components())
def test_mesh_transformer_on_disconnected_meshes(bias, positions_mesh):
    """Bug: the geodesic bias between components was that regulariser's constant plus
    rounding amplified ~1e10, so relabelling the vertices changed it by 1e-8 (equivariance
    broke), and its gradients were NaN.  Unreachable pairs are now as far as the farthest
    reachable pair."""
    positions, mesh = positions_mesh
    n = mesh.num_vertices
    torch.manual_seed(0)
    model = zoo.get("mesh_transformer").build(bias=bias).double()
    x = torch.randn(2, n, 3, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    assert_equivariant(model, (x, positions, mesh.faces), MeshSymmetry(n), VertexOutputs(n))
    moved = positions.clone().requires_grad_()
    model(x, moved, mesh.faces).square().sum().backward()
    assert torch.isfinite(moved.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
