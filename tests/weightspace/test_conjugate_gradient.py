"""Conjugate gradients and Lanczos against dense linear algebra."""

import pytest
import torch

from gdl_zoo.weightspace.conjugate_gradient import conjugate_gradient, lanczos


def _psd(n: int, rank: int, seed: int = 0) -> torch.Tensor:
    a = torch.randn(n, rank, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T


def test_cg_solves_the_shifted_system():
    a = _psd(12, 5)
    b = torch.randn(12, dtype=torch.float64)
    result = conjugate_gradient(lambda v: a @ v, b, shift=0.3, max_iter=50, rtol=1e-13)
    expected = torch.linalg.solve(a + 0.3 * torch.eye(12, dtype=torch.float64), b)
    assert result.converged and result.iterations <= 13
    assert torch.allclose(result.solution, expected, rtol=1e-10, atol=1e-12)


def test_cg_refuses_an_indefinite_operator_and_bad_arguments():
    b = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="positive definite"):
        conjugate_gradient(lambda v: -v, b)
    with pytest.raises(ValueError, match="shift"):
        conjugate_gradient(lambda v: v, b, shift=-1.0)
    with pytest.raises(ValueError, match="vector"):
        conjugate_gradient(lambda v: v, torch.ones(2, 2))


def test_lanczos_tridiagonalises_on_an_orthonormal_krylov_basis():
    a = _psd(10, 10)
    b = torch.randn(10, dtype=torch.float64)
    result = lanczos(lambda v: a @ v, b, max_iter=6)
    v = result.basis
    assert v.shape == (6, 10)
    assert torch.allclose(v @ v.T, torch.eye(6, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(v @ a @ v.T, result.tridiagonal(), atol=1e-10)
    assert torch.allclose(v[0] * result.start_norm, b)
    assert not result.exhausted


def test_lanczos_stops_on_an_invariant_subspace():
    a = _psd(10, 3)  # Krylov spaces have dimension at most rank + 1 = 4
    result = lanczos(lambda v: a @ v, torch.randn(10, dtype=torch.float64), max_iter=10)
    assert result.exhausted and len(result.diagonal) <= 4
    with pytest.raises(ValueError, match="non-zero"):
        lanczos(lambda v: v, torch.zeros(4))
