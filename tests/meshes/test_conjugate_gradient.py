"""Batched Jacobi-preconditioned conjugate gradients against dense solves."""

import pytest
import torch

from gdl_zoo.meshes.conjugate_gradient import batched_conjugate_gradient


def _spd(n: int, scales: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, n, generator=g, dtype=torch.float64)
    a = q @ q.T / n + torch.eye(n, dtype=torch.float64)
    if scales is not None:  # a badly scaled system: D A D
        a = scales[:, None] * a * scales[None, :]
    return a


def test_every_column_matches_the_dense_solve_and_a_zero_column_stays_zero():
    a = _spd(30)
    b = torch.randn(30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    b[:, 2] = 0.0
    result = batched_conjugate_gradient(lambda v: a @ v, b, a.diagonal())
    assert result.converged and result.iterations <= 30 + 5
    assert torch.allclose(result.solution, torch.linalg.solve(a, b), atol=1e-10)
    assert torch.equal(result.solution[:, 2], torch.zeros(30, dtype=torch.float64))
    assert result.relative_residual.shape == (4,) and float(result.relative_residual.max()) <= 1e-12


def test_the_jacobi_preconditioner_cures_bad_scaling():
    scales = torch.logspace(-3, 3, 60, dtype=torch.float64)
    a = _spd(60, scales)
    b = torch.randn(60, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    plain = batched_conjugate_gradient(lambda v: a @ v, b, rtol=1e-10, max_iter=400)
    jacobi = batched_conjugate_gradient(lambda v: a @ v, b, a.diagonal(), rtol=1e-10)
    assert jacobi.converged and jacobi.iterations < plain.iterations
    assert torch.allclose(jacobi.solution, torch.linalg.solve(a, b), rtol=1e-6)


def test_a_too_small_budget_reports_no_convergence():
    a = _spd(40)
    b = torch.ones(40, 1, dtype=torch.float64)
    result = batched_conjugate_gradient(lambda v: a @ v, b, a.diagonal(), max_iter=2)
    assert not result.converged and result.iterations == 2
    assert float(result.relative_residual[0]) > 1e-12


def test_indefinite_operators_and_bad_arguments_are_refused():
    indefinite = torch.diag(torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64))
    b = torch.ones(3, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="not positive definite"):
        batched_conjugate_gradient(lambda v: indefinite @ v, b)
    with pytest.raises(ValueError, match="positive diagonal"):
        batched_conjugate_gradient(lambda v: indefinite @ v, b, indefinite.diagonal())
    with pytest.raises(ValueError, match=r"rhs: expected a floating \(N, R\) matrix"):
        batched_conjugate_gradient(lambda v: v, torch.ones(3))
    with pytest.raises(ValueError, match=r"diagonal: expected shape \(3,\)"):
        batched_conjugate_gradient(lambda v: v, b, torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="rtol"):
        batched_conjugate_gradient(lambda v: v, b, rtol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        batched_conjugate_gradient(lambda v: v, b, max_iter=0)
