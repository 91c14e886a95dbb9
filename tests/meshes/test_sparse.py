"""Fixed-pattern sparse operators and the differentiable factorised solve."""

import pytest
import torch

from gdl_zoo.meshes.generators import grid, icosphere
from gdl_zoo.meshes.geometry import cotan_laplacian, edge_lengths, lumped_mass
from gdl_zoo.meshes.sparse import Factorization, SparsityPattern, sparse_solve


def _operator(dtype=torch.float64):
    x, mesh = grid(3, 3)
    lengths = edge_lengths(mesh, x).to(dtype)
    pattern = SparsityPattern.of_mesh(mesh)
    lap = cotan_laplacian(mesh, lengths, pattern)
    mass = pattern.symmetric_values(lumped_mass(mesh, lengths), lengths.new_zeros(mesh.num_edges))
    return mesh, pattern, mass + 0.3 * lap


def test_pattern_is_sorted_csr_with_diagonal():
    _, mesh = icosphere(1)
    p = SparsityPattern.of_mesh(mesh)
    assert p.nnz == mesh.num_vertices + 2 * mesh.num_edges
    key = p.rows * p.size + p.cols
    assert (key.diff() > 0).all()
    assert torch.equal(p.rows[p.diagonal_index], torch.arange(p.size))
    assert torch.equal(p.cols[p.diagonal_index], torch.arange(p.size))
    assert torch.equal(torch.repeat_interleave(p.crow.diff()), p.rows)


def test_products_agree_with_dense():
    _, pattern, values = _operator()
    dense = pattern.to_dense(values)
    assert torch.allclose(dense, dense.T)
    x = torch.randn(pattern.size, 2, dtype=torch.float64)
    assert torch.allclose(pattern.matvec(values, x), dense @ x, atol=1e-14)
    assert torch.allclose(pattern.to_torch(values).to_dense(), dense)
    assert abs(pattern.to_scipy(values).toarray() - dense.numpy()).max() < 1e-15


def test_solve_matches_dense_solve():
    _, pattern, values = _operator()
    b = torch.randn(pattern.size, 3, dtype=torch.float64)
    x = sparse_solve(pattern, values, b)
    assert torch.allclose(x, torch.linalg.solve(pattern.to_dense(values), b), atol=1e-12)
    fac = Factorization(pattern, values)
    assert torch.allclose(fac.solve(b[:, 0]), x[:, 0], atol=1e-14)


@pytest.mark.parametrize("symmetric", [True, False])
def test_gradcheck_solve_values_and_rhs(symmetric):
    _, pattern, values = _operator()
    values = values.detach().requires_grad_()
    b = torch.randn(pattern.size, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v, r: sparse_solve(pattern, v, r, symmetric=symmetric), (values, b)
    )


def test_float32_solve_keeps_dtype_and_gradients_flow():
    _, pattern, values = _operator(torch.float32)
    values = values.detach().requires_grad_()
    b = torch.randn(pattern.size, dtype=torch.float32, requires_grad=True)
    x = sparse_solve(pattern, values, b)
    assert x.dtype == torch.float32
    x.square().sum().backward()
    assert torch.isfinite(values.grad).all() and torch.isfinite(b.grad).all()


def test_bad_inputs():
    _, pattern, values = _operator()
    with pytest.raises(ValueError, match="values: expected shape"):
        Factorization(pattern, values[:-1])
    with pytest.raises(ValueError, match="NaN"):
        Factorization(pattern, values * float("nan"))
    with pytest.raises(ValueError, match="singular"):
        Factorization(pattern, torch.zeros_like(values))
    fac = Factorization(pattern, values)
    with pytest.raises(ValueError, match="rhs: expected shape"):
        fac.solve(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating"):
        fac.solve(torch.zeros(pattern.size, dtype=torch.long))


def test_second_derivatives_through_the_solve_are_refused_not_zero():
    _, pattern, values = _operator()
    b = torch.randn(pattern.size, dtype=torch.float64, requires_grad=True)
    x = sparse_solve(pattern, values, b)
    (g,) = torch.autograd.grad(x.square().sum(), b, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), b)
    assert torch.autograd.grad(g.sum(), b, allow_unused=True) == (None,)


@pytest.mark.parametrize("symmetric", [True, False])
def test_gradcheck_solve_of_a_non_symmetric_operator(symmetric):
    """At a symmetric ``A`` the adjoint ``A⁻ᵀ`` equals ``A⁻¹``: only a non-symmetric one
    checks the transpose of the adjoint solve and where ``−λ_i x_j`` lands in the pattern."""
    _, pattern, values = _operator()
    generator = torch.Generator().manual_seed(3)
    values = values + 0.2 * torch.rand(pattern.nnz, generator=generator, dtype=torch.float64)
    dense = pattern.to_dense(values)
    assert (dense - dense.T).abs().max() > 1e-2
    values = values.detach().requires_grad_()
    b = torch.randn(pattern.size, 2, dtype=torch.float64, generator=generator, requires_grad=True)
    x = sparse_solve(pattern, values, b, symmetric=symmetric)
    assert torch.allclose(x, torch.linalg.solve(dense, b), atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda v, r: sparse_solve(pattern, v, r, symmetric=symmetric), (values, b)
    )


def test_rhs_on_another_device_than_the_values_is_refused_clearly():
    _, pattern, values = _operator()
    with pytest.raises(ValueError, match=r"rhs: expected .* device .* got one on meta"):
        Factorization(pattern, values).solve(torch.zeros(pattern.size, device="meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_values_and_rhs_come_back_on_cuda_with_gradients():
    _, pattern, values = _operator()
    values = values.cuda().requires_grad_()
    b = torch.randn(pattern.size, 2, dtype=torch.float64, device="cuda", requires_grad=True)
    x = sparse_solve(pattern, values, b)
    assert x.device == b.device
    x.square().sum().backward()
    assert values.grad.device == values.device and b.grad.device == b.device
    reference = torch.linalg.solve(pattern.to_dense(values.detach().cpu()), b.detach().cpu())
    assert torch.allclose(x.detach().cpu(), reference, atol=1e-12)


def _bumpy_operator():
    from gdl_zoo.meshes.generators import bumpy_icosphere

    x, mesh = bumpy_icosphere(2, 0.3, torch.Generator().manual_seed(0))
    lengths = edge_lengths(mesh, x)
    pattern = SparsityPattern.of_mesh(mesh)
    lap = cotan_laplacian(mesh, lengths, pattern)
    mass = pattern.symmetric_values(lumped_mass(mesh, lengths), lengths.new_zeros(mesh.num_edges))
    return pattern, mass, lap


def test_conjugate_gradients_agree_with_superlu_on_a_heat_operator():
    """The CUDA path (method='cg'), run on the CPU, against the SuperLU factorisation."""
    pattern, mass, lap = _bumpy_operator()
    values = mass + 0.05 * lap
    b = torch.randn(
        pattern.size, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4)
    )
    lu, cg = Factorization(pattern, values), Factorization(pattern, values, method="cg")
    assert (lu.method, cg.method) == ("lu", "cg")
    assert torch.allclose(
        cg.solve(b), lu.solve(b), rtol=0, atol=1e-10 * float(lu.solve(b).abs().max())
    )
    assert cg.solve(b.float()).dtype == torch.float32


def test_conjugate_gradients_agree_with_superlu_on_the_shifted_poisson_system():
    """``L + εM`` with ε = 1e-10 (the heat method's Poisson solve): nearly singular, but the
    right-hand side (a divergence) sums to zero, so CG converges on the complement of the
    constants; the solutions agree once the constant is fixed at a vertex."""
    pattern, mass, lap = _bumpy_operator()
    shift = 1e-10 * float(lap.abs().max()) / float(mass.max())
    values = lap + shift * mass
    b = torch.randn(
        pattern.size, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5)
    )
    b = b - b.mean(0)
    lu = Factorization(pattern, values).solve(b)
    cg = Factorization(pattern, values, method="cg").solve(b)
    assert torch.allclose(cg - cg[:1], lu - lu[:1], atol=1e-8 * float((lu - lu[:1]).abs().max()))


def test_conjugate_gradient_gradients_agree_with_superlu_and_pass_gradcheck():
    pattern, mass, lap = _bumpy_operator()
    generator = torch.Generator().manual_seed(6)
    b = torch.randn(pattern.size, 2, dtype=torch.float64, generator=generator)
    weights = torch.randn(pattern.size, 2, dtype=torch.float64, generator=generator)
    grads = []
    for method in ("lu", "cg"):
        values = (mass + 0.1 * lap).detach().requires_grad_()
        rhs = b.clone().requires_grad_()
        (sparse_solve(pattern, values, rhs, method=method) * weights).sum().backward()
        grads.append((values.grad, rhs.grad))
    (lu_values, lu_rhs), (cg_values, cg_rhs) = grads
    assert torch.allclose(cg_values, lu_values, atol=1e-9 * float(lu_values.abs().max()))
    assert torch.allclose(cg_rhs, lu_rhs, atol=1e-9 * float(lu_rhs.abs().max()))
    _, small_pattern, small_values = _operator()
    small_values = small_values.detach().requires_grad_()
    rhs = torch.randn(small_pattern.size, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v, r: sparse_solve(small_pattern, v, r, method="cg"), (small_values, rhs)
    )


def test_conjugate_gradient_errors_name_the_problem():
    _, pattern, values = _operator()
    with pytest.raises(ValueError, match="method: expected one of"):
        Factorization(pattern, values, method="qr")
    with pytest.raises(ValueError, match="'cg' needs a symmetric positive definite"):
        Factorization(pattern, values, symmetric=False, method="cg")
    with pytest.raises(ValueError, match="positive diagonal"):
        Factorization(pattern, -values, method="cg")
    cg = Factorization(pattern, values, method="cg", max_iter=1)
    with pytest.raises(ValueError, match="solve_numpy: expected an LU factorisation"):
        cg.solve_numpy(torch.ones(pattern.size, dtype=torch.float64).numpy())
    with pytest.raises(ValueError, match=r"conjugate gradients: expected a relative residual"):
        cg.solve(torch.randn(pattern.size, dtype=torch.float64))


def test_pattern_moves_between_devices_whole():
    _, mesh = icosphere(0)
    pattern = SparsityPattern.of_mesh(mesh)
    moved = pattern.to("meta")
    assert moved.size == pattern.size and moved.rows.device.type == "meta"
    assert {
        t.device.type for t in (moved.cols, moved.crow, moved.gather, moved.diagonal_index)
    } == {"meta"}
