"""Diffusion layers: implicit and spectral heat diffusion against dense references, gradients
(gradcheck in x, t and the edge lengths), gradient features, near-degenerate and bad input."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from gdl_zoo.meshes.diffusion import (
    DiffusionBlock,
    LearnedTimeDiffusion,
    SpatialGradientFeatures,
    heat_kernel_signature,
    implicit_diffusion,
    spectral_diffusion,
)
from gdl_zoo.meshes.generators import bumpy_icosphere, grid, icosphere
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.operators import MeshOperators


def _bumpy_sphere(subdivisions: int = 1, k_eig: int = 0, dtype=torch.float64):
    x, mesh = bumpy_icosphere(subdivisions, 0.15, torch.Generator().manual_seed(0), dtype)
    return MeshOperators.from_positions(mesh, x, k_eig=k_eig)


def _signal(ops: MeshOperators, shape=(2,), channels: int = 3, dtype=torch.float64):
    generator = torch.Generator().manual_seed(1)
    return torch.randn(*shape, ops.num_vertices, channels, generator=generator, dtype=dtype)


def _dense(ops: MeshOperators):
    return ops.pattern.to_dense(ops.laplacian), torch.diag(ops.mass)


def _project(ops: MeshOperators, x: torch.Tensor) -> torch.Tensor:
    """``Φ Φᵀ M x``: ``x`` restricted to the span of the computed eigenvectors."""
    phi = ops.eigenvectors
    return torch.einsum("nk,...mc,mk->...nc", phi, x, phi * ops.mass.unsqueeze(-1))


TIMES = torch.tensor([1e-3, 0.05, 1.0], dtype=torch.float64)


# --- against references ------------------------------------------------------------------


def test_implicit_matches_a_dense_solve_of_m_plus_tl():
    ops = _bumpy_sphere()
    x = _signal(ops)
    y = implicit_diffusion(ops, x, TIMES)
    lap, mass = _dense(ops)
    for c, t in enumerate(TIMES):
        reference = torch.linalg.solve(mass + t * lap, mass @ x[..., c].T).T
        assert (y[..., c] - reference).abs().max() < 1e-12 * reference.abs().max()


def test_implicit_is_the_resolvent_in_the_eigenbasis():
    # with every mode, (M + tL)⁻¹ M x = Φ diag(1/(1 + λt)) Φᵀ M x
    ops = _bumpy_sphere(k_eig=41)
    x = _project(ops, _signal(ops))
    coeff = torch.einsum("nk,...nc->...kc", ops.eigenvectors * ops.mass.unsqueeze(-1), x)
    filt = 1 / (1 + ops.eigenvalues.unsqueeze(-1) * TIMES)
    reference = torch.einsum("nk,...kc->...nc", ops.eigenvectors, coeff * filt)
    assert (implicit_diffusion(ops, x, TIMES) - reference).abs().max() < 1e-10


def test_spectral_with_every_mode_is_the_matrix_exponential():
    ops = _bumpy_sphere(k_eig=41)
    x = _project(ops, _signal(ops))
    lap, _ = _dense(ops)
    s = ops.mass.rsqrt()
    sym = s.unsqueeze(1) * lap * s.unsqueeze(0)  # M^{-1/2} L M^{-1/2}
    y = spectral_diffusion(ops, x, TIMES)
    for c, t in enumerate(TIMES):
        heat = torch.linalg.matrix_exp(-t * sym)
        reference = s.unsqueeze(1) * (heat @ (x[..., c] / s).T)
        assert (y[..., c] - reference.T).abs().max() < 1e-10


def test_spectral_and_implicit_agree_to_second_order_in_t():
    ops = _bumpy_sphere(k_eig=41)
    x = _project(ops, _signal(ops, channels=1))
    errors = []
    for t in (1e-2, 1e-3, 1e-4):
        diff = spectral_diffusion(ops, x, t) - implicit_diffusion(ops, x, t)
        errors.append(float(diff.abs().max() / x.abs().max()))
    assert errors[2] < 1e-5
    for coarse, fine in zip(errors, errors[1:]):
        assert 50 < coarse / fine < 200  # O(t²): ten times smaller t, a hundred times closer


def test_truncated_spectral_converges_to_the_full_basis():
    full = _bumpy_sphere(k_eig=41)
    x = _project(full, _signal(full))
    errors = []
    for k in (5, 20, 41):
        ops = dataclasses.replace(
            full, eigenvalues=full.eigenvalues[:k], eigenvectors=full.eigenvectors[:, :k]
        )
        errors.append(float((spectral_diffusion(ops, x, 0.05) - spectral_diffusion(full, x, 0.05))
                            .abs().max()))  # fmt: skip
    assert errors[0] > errors[1] > errors[2] == 0.0


def test_diffusion_conserves_heat_and_zero_time_is_the_identity():
    ops = _bumpy_sphere(k_eig=20)
    x = _signal(ops)
    y = implicit_diffusion(ops, x, TIMES)
    heat_in = torch.einsum("n,...nc->...c", ops.mass, x)
    heat_out = torch.einsum("n,...nc->...c", ops.mass, y)
    assert (heat_in - heat_out).abs().max() < 1e-12
    assert (implicit_diffusion(ops, x, 0.0) - x).abs().max() < 1e-12
    projected = _project(ops, x)
    assert (spectral_diffusion(ops, projected, 0.0) - projected).abs().max() < 1e-12


def test_heat_kernel_signature_matches_the_spectral_kernel_diagonal():
    ops = _bumpy_sphere(k_eig=10)
    times = torch.tensor([0.01, 0.1, 1.0], dtype=torch.float64)
    hks = heat_kernel_signature(ops, times)
    phi = ops.eigenvectors
    for j, t in enumerate(times):
        kernel = phi @ torch.diag(torch.exp(-ops.eigenvalues * t)) @ phi.T
        assert torch.allclose(hks[:, j], kernel.diagonal(), rtol=1e-12, atol=0)
    assert hks.shape == (ops.num_vertices, 3) and bool((hks > 0).all())
    with pytest.raises(ValueError, match="positive times"):
        heat_kernel_signature(ops, torch.tensor([0.1, -1.0]))
    with pytest.raises(ValueError, match="k_eig > 0"):
        heat_kernel_signature(_bumpy_sphere(), times)


# --- gradients ----------------------------------------------------------------------------


def test_gradcheck_implicit_diffusion_in_x_t_and_lengths():
    positions, mesh = icosphere(0)
    generator = torch.Generator().manual_seed(2)
    positions = positions * (1 + 0.2 * torch.rand(12, 1, generator=generator, dtype=torch.float64))
    lengths = edge_lengths(mesh, positions).requires_grad_()
    x = torch.randn(12, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.05, 0.3], dtype=torch.float64, requires_grad=True)

    def diffuse(x, t, lengths):
        return implicit_diffusion(MeshOperators.from_lengths(mesh, lengths), x, t)

    assert torch.autograd.gradcheck(diffuse, (x, t, lengths), eps=1e-6, atol=1e-7)


def test_gradcheck_spectral_diffusion_in_x_and_t():
    ops = _bumpy_sphere(subdivisions=0, k_eig=8)
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(12, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.05, 0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, t: spectral_diffusion(ops, x, t), (x, t))


def test_float32_agrees_with_float64_and_gradients_reach_the_lengths():
    ops64 = _bumpy_sphere()
    lengths = ops64.lengths.float().requires_grad_()
    ops32 = MeshOperators.from_lengths(ops64.mesh, lengths)
    x = _signal(ops64)
    y32 = implicit_diffusion(ops32, x.float(), TIMES.float())
    assert y32.dtype == torch.float32
    reference = implicit_diffusion(ops64, x, TIMES)
    assert (y32.double() - reference).abs().max() < 1e-5 * reference.abs().max()
    y32.square().sum().backward()
    assert lengths.grad is not None and bool(torch.isfinite(lengths.grad).all())
    assert lengths.grad.abs().max() > 0


def test_learned_time_gets_gradients_and_spectral_mode_detaches_the_metric():
    ops = _bumpy_sphere(k_eig=20)
    lengths = ops.lengths.clone().requires_grad_()
    ops = MeshOperators.from_lengths(ops.mesh, lengths, k_eig=20)
    x = _signal(ops)
    for mode, reaches_lengths in (("implicit", True), ("spectral", False)):
        layer = LearnedTimeDiffusion(3, mode=mode, init_time=0.02).double()
        assert torch.allclose(layer.time, torch.full((3,), 0.02, dtype=torch.float64))
        fn = implicit_diffusion if mode == "implicit" else spectral_diffusion
        assert torch.equal(layer(x, ops), fn(ops, x, layer.time))
        (layer(x, ops) * x).sum().backward()
        assert layer.log_time.grad.abs().min() > 0
        assert (lengths.grad is not None) == reaches_lengths
        lengths.grad = None


# --- spatial gradient features ------------------------------------------------------------


def test_gradient_features_of_a_linear_function_on_a_flat_grid():
    positions, mesh = grid(4, 4)
    ops = MeshOperators.from_positions(mesh, positions)
    slope = torch.tensor([0.3, -0.4], dtype=torch.float64)
    f = (positions[:, :2] @ slope).reshape(-1, 1)  # |∇f| = 0.5 everywhere
    layer = SpatialGradientFeatures(1).double()
    with torch.no_grad():
        layer.real.weight.fill_(1.0)
        layer.imag.weight.fill_(0.7)  # Re(conj(g)·(1 + 0.7i) g) = |g|²
    expected = torch.full_like(f, math.tanh(0.25))
    assert (layer(f, ops) - expected).abs().max() < 1e-7  # the ridge costs √eps relative


def test_gradient_features_do_not_depend_on_the_tangent_frames():
    ops = _bumpy_sphere()
    x = _signal(ops, channels=4)
    torch.manual_seed(0)
    layer = SpatialGradientFeatures(4).double()
    rings = ops.mesh.vertex_rings
    generator = torch.Generator().manual_seed(3)
    turn = 2 * math.pi * torch.rand(ops.num_vertices, generator=generator, dtype=torch.float64)
    c, s = turn.cos()[rings.spoke_vertex], turn.sin()[rings.spoke_vertex]
    u, v = ops.log_map.unbind(-1)
    rotated = dataclasses.replace(ops, log_map=torch.stack([c * u - s * v, s * u + c * v], -1))
    base = layer(x, ops)
    assert (layer(x, rotated) - base).abs().max() < 1e-12 * base.abs().max()
    # negative control: the raw gradient components do change with the frames
    from gdl_zoo.meshes.geometry import vertex_gradient

    xn = x[0]
    g0 = vertex_gradient(ops.mesh, ops.lengths, xn, ops.log_map)
    g1 = vertex_gradient(ops.mesh, ops.lengths, xn, rotated.log_map)
    assert (g0 - g1).abs().max() > 1e-2 * g0.abs().max()


def test_diffusion_block_is_residual_and_shapes_follow_the_options():
    ops = _bumpy_sphere()
    x = _signal(ops, channels=6)
    torch.manual_seed(0)
    block = DiffusionBlock(6, hidden=10, gradient_features=False).double()
    assert block.mlp[0].in_features == 12 and block.gradient is None
    assert block(x, ops).shape == x.shape
    with torch.no_grad():
        block.mlp[-1].weight.zero_()
        block.mlp[-1].bias.zero_()
    assert torch.equal(block(x, ops), x)
    assert DiffusionBlock(6).mlp[0].in_features == 18


# --- near-degenerate and bad input --------------------------------------------------------


@pytest.mark.parametrize("kind", ["needle", "cap"])
def test_near_degenerate_triangles_in_float32_stay_finite(kind):
    positions, mesh = grid(3, 3)
    positions = positions.clone()
    if kind == "needle":  # squash one row of vertices onto its neighbour row
        positions[4:8, 1] = positions[0:4, 1] + 1e-4
    else:  # push vertex 5 to within 1e-4 of the opposite side 6–10 of face (5, 6, 10)
        positions[5, :2] = torch.tensor([2 / 3 - 1e-4, 0.5], dtype=torch.float64)
    lengths = edge_lengths(mesh, positions).float().requires_grad_()
    ops = MeshOperators.from_lengths(mesh, lengths)
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(4)).requires_grad_()
    t = torch.tensor([1e-3, 1e-2, 1e-1], requires_grad=True)
    torch.manual_seed(0)
    features = SpatialGradientFeatures(3)
    out = features(implicit_diffusion(ops, x, t), ops)
    assert bool(torch.isfinite(out).all())
    out.sum().backward()
    for grad in (lengths.grad, x.grad, t.grad):
        assert grad is not None and bool(torch.isfinite(grad).all())


def test_bad_input_gives_clear_errors():
    ops = _bumpy_sphere(k_eig=0)
    x = _signal(ops)
    with pytest.raises(ValueError, match=r"x: expected shape \(\*, 42, C\), got \(2, 41, 3\)"):
        implicit_diffusion(ops, x[:, :41], TIMES)
    with pytest.raises(ValueError, match="non-negative diffusion times"):
        implicit_diffusion(ops, x, torch.tensor([0.1, -0.2, 0.3]))
    with pytest.raises(ValueError, match=r"t: expected a scalar or shape \(3,\), got \(2,\)"):
        implicit_diffusion(ops, x, torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="finite values"):
        implicit_diffusion(ops, x.clone().index_fill_(1, torch.tensor([3]), math.nan), 0.1)
    with pytest.raises(TypeError, match="floating-point"):
        implicit_diffusion(ops, x.long(), 0.1)
    with pytest.raises(TypeError, match="ops: expected MeshOperators"):
        implicit_diffusion(ops.laplacian, x, 0.1)
    with pytest.raises(ValueError, match="k_eig > 0"):
        spectral_diffusion(ops, x, 0.1)
    with pytest.raises(ValueError, match="mode: expected 'implicit' or 'spectral'"):
        LearnedTimeDiffusion(3, mode="explicit")
    with pytest.raises(ValueError, match="init_time: expected a positive number"):
        LearnedTimeDiffusion(3, init_time=0.0)
    with pytest.raises(ValueError, match="channels: expected a positive integer"):
        SpatialGradientFeatures(0)
