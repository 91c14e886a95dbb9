"""The FIP step against a dense trust-region solution, its equivariance, the penalty."""

import math

import pytest
import torch
from scipy.optimize import brentq

from gdl_zoo.symmetry import assert_equivariant, equivariance_error
from gdl_zoo.weightspace.conjugate_gradient import conjugate_gradient
from gdl_zoo.weightspace.fip import (
    bhattacharyya_distance,
    fip_step,
    flat_gradient,
    trust_region_coefficients,
)
from gdl_zoo.weightspace.metric import OutputMetric
from gdl_zoo.weightspace.models import mlp
from gdl_zoo.weightspace.permutations import HiddenUnitPermutation


def _dense_step(g_mat, grad, epsilon, beta):
    eye = torch.eye(len(grad), dtype=torch.float64)

    def step(mu):
        return -0.5 * beta * torch.linalg.solve(g_mat + mu * eye, grad)

    mu = brentq(lambda m: float(step(m).norm()) - epsilon, 1e-14, 1e6, xtol=1e-15, rtol=1e-15)
    return step(mu), mu


@pytest.mark.parametrize("beta", [0.1, 3.0])
def test_fip_step_matches_the_dense_trust_region_solution(tiny, beta):
    model, x = tiny
    metric = OutputMetric(model, x)
    size = metric.layout.size
    grad = torch.randn(size, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    dense = torch.stack([metric(e) for e in torch.eye(size, dtype=torch.float64)])
    expected, mu = _dense_step(dense, grad, 0.05, beta)
    step = fip_step(metric, grad, 0.05, beta=beta, max_iter=size)
    assert float(step.tangent_vec.norm()) == pytest.approx(0.05, rel=1e-12)
    assert float((step.tangent_vec - expected).abs().max() / expected.abs().max()) < 1e-8
    assert step.mu == pytest.approx(mu, rel=1e-6)
    assert step.metric_length == pytest.approx(float(expected @ dense @ expected), rel=1e-8)
    assert step.linear_decrease == pytest.approx(-float(expected @ grad), rel=1e-8)


def test_float32_step_has_norm_epsilon_on_a_larger_network():
    """A float32 Krylov basis drifts from orthonormal (1.2e-6 off here); the step is put
    back on ‖δ‖ = ε."""
    torch.manual_seed(0)
    model = mlp((784, 300, 100, 10))
    x = torch.randn(256, 784, generator=torch.Generator().manual_seed(1))
    metric = OutputMetric(model, x)
    grad = torch.randn(metric.layout.size, generator=torch.Generator().manual_seed(2))
    step = fip_step(metric, grad, 0.3, beta=0.1, max_iter=20)
    assert step.tangent_vec.dtype == torch.float32
    assert float(step.tangent_vec.double().norm()) == pytest.approx(0.3, rel=3e-7)


def test_fip_step_keeps_the_function_better_than_a_gradient_step(tiny):
    model, x = tiny
    metric = OutputMetric(model, x)
    loss = model(x)[:, 0].pow(2).sum()
    grad = flat_gradient(model, loss, metric.layout)
    step = fip_step(metric, grad, 0.1, beta=0.1, max_iter=20)
    gradient_step = -0.1 * grad / grad.norm()
    assert step.metric_length < 0.1 * metric.inner_product(gradient_step, gradient_step)
    assert step.linear_decrease > 0


def test_fixed_shift_variant_is_the_damped_solution(tiny):
    model, x = tiny
    metric = OutputMetric(model, x)
    size = metric.layout.size
    grad = torch.randn(size, dtype=torch.float64)
    dense = torch.stack([metric(e) for e in torch.eye(size, dtype=torch.float64)])
    solved = -torch.linalg.solve(dense + 0.5 * torch.eye(size, dtype=torch.float64), grad)
    step = fip_step(metric, grad, 0.2, shift=0.5, max_iter=size)
    assert float((step.tangent_vec - 0.2 * solved / solved.norm()).abs().max()) < 1e-6 * 0.2


def test_trust_region_step_is_the_cg_solution_of_the_shifted_system(tiny):
    model, x = tiny
    metric = OutputMetric(model, x)
    grad = torch.randn(
        metric.layout.size, generator=torch.Generator().manual_seed(5), dtype=x.dtype
    )
    step = fip_step(metric, grad, 0.01, beta=2.0, max_iter=metric.layout.size)
    assert step.mu > 0
    solve = conjugate_gradient(metric, -grad, shift=step.mu, max_iter=200, rtol=1e-13)
    assert solve.converged
    assert torch.allclose(step.tangent_vec, solve.solution, rtol=1e-7, atol=1e-12)
    assert float(step.tangent_vec.norm()) == pytest.approx(0.01, rel=1e-12)


def test_trust_region_hard_case_reaches_the_radius():
    # e₁ ⟂ the lowest eigenvector (λ = 0): ‖s (T + μI)⁻¹ e₁‖ = s/(1 + μ) < ε for every μ ≥ 0,
    # so the minimiser is −s e₁ plus the lowest eigenvector up to the radius, at μ = −λ_min
    t = torch.diag(torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64))
    s, eps = 1e-3, 1.0
    c, mu = trust_region_coefficients(t, s, eps)
    assert float(c.norm()) == pytest.approx(eps)
    assert mu == pytest.approx(0.0, abs=1e-12)
    expected = torch.tensor([-s, (eps**2 - s**2) ** 0.5, 0.0], dtype=torch.float64)
    assert torch.allclose(c * torch.tensor([1.0, float(c[1].sign()), 1.0]), expected, atol=1e-12)
    assert float(c @ t @ c + 2 * s * c[0]) == pytest.approx(-(s**2), rel=1e-9)
    # and the easy case next to it: e₁ is the lowest eigenvector, μ > −λ_min
    c, mu = trust_region_coefficients(torch.diag(torch.tensor([0.0, 1.0, 2.0])), s, eps)
    assert float(c.norm()) == pytest.approx(eps) and mu > 0 and float(c[0]) < 0


def _step_function(model, x, dtype):
    layout = OutputMetric(model, x).layout
    count = len(layout.names)

    def f(*tensors):
        params = dict(zip(layout.names, tensors[:count]))
        grad = layout.flatten(dict(zip(layout.names, tensors[count:])))
        metric = OutputMetric(model, x, base_point=layout.flatten(params))
        delta = fip_step(metric, grad, 0.1, beta=0.5, max_iter=8).tangent_vec
        return tuple(layout.unflatten(delta).values())

    return f


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_metric_product_and_fip_step_are_permutation_equivariant(tiny, dtype):
    model, x = tiny
    model, x = model.to(dtype), x.to(dtype)
    layout = OutputMetric(model, x).layout
    gen = torch.Generator().manual_seed(4)
    params = tuple(p.detach().clone() for p in model.parameters())
    vec = tuple(torch.randn(p.shape, generator=gen, dtype=dtype) for p in params)
    pair_in = HiddenUnitPermutation(model, copies=2)
    single = HiddenUnitPermutation(model)

    def product(*tensors):
        base = layout.flatten(dict(zip(layout.names, tensors[: len(params)])))
        metric = OutputMetric(model, x, base_point=base)
        v = layout.flatten(dict(zip(layout.names, tensors[len(params) :])))
        return tuple(layout.unflatten(metric(v)).values())

    assert_equivariant(product, params + vec, pair_in, single)
    step = _step_function(model, x, dtype)
    assert_equivariant(step, params + vec, pair_in, single)

    def broken(*tensors):  # negative control: a fixed, unpermuted offset
        out = product(*tensors)
        return (out[0] + torch.arange(out[0].numel(), dtype=dtype).view_as(out[0]),) + out[1:]

    assert not equivariance_error(broken, params + vec, pair_in, single).passed

    def broken_step(*tensors):  # negative control: the step's first layer left unpermuted
        out = step(*tensors)
        return (step(*params, *vec)[0],) + out[1:]

    assert not equivariance_error(broken_step, params + vec, pair_in, single).passed


def test_bad_inputs_raise(tiny):
    model, x = tiny
    metric = OutputMetric(model, x)
    grad = torch.ones(metric.layout.size, dtype=x.dtype)
    for epsilon in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="epsilon"):
            fip_step(metric, grad, epsilon)
    with pytest.raises(TypeError, match="epsilon"):
        fip_step(metric, grad, "0.1")
    with pytest.raises(ValueError, match="gradient"):
        fip_step(metric, torch.zeros_like(grad), 0.1)
    with pytest.raises(ValueError, match="gradient"):
        fip_step(metric, grad[:3], 0.1)
    with pytest.raises(ValueError, match="beta"):
        fip_step(metric, grad, 0.1, beta=0.0)
    with pytest.raises(ValueError, match="scalar"):
        flat_gradient(model, model(x).sum(0), metric.layout)
    with pytest.raises(TypeError, match="scalar"):
        flat_gradient(model, 1.0, metric.layout)


def test_bhattacharyya_distance():
    logits = torch.randn(5, 4, dtype=torch.float64)
    assert float(bhattacharyya_distance(logits, logits)) == pytest.approx(0.0, abs=1e-12)
    other = torch.randn(5, 4, dtype=torch.float64)
    p, q = logits.softmax(-1), other.softmax(-1)
    expected = float(-(p * q).sqrt().sum(-1).log().mean())
    assert float(bhattacharyya_distance(logits, other)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        bhattacharyya_distance(logits, other[:2])
