"""The metric-vector products against dense JᵀJ and Jᵀ(diag p − ppᵀ)J, and the no-J guard."""

import pytest
import torch
from torch import nn
from torch.func import jacrev

from gdl_zoo.bench.measure import LargestTensor
from gdl_zoo.weightspace.fip import fip_step, flat_gradient
from gdl_zoo.weightspace.metric import OutputMetric, ParameterLayout
from gdl_zoo.weightspace.models import lenet_300_100, mlp
from gdl_zoo.weightspace.objectives import TowardNetwork
from gdl_zoo.weightspace.path import traverse


def _dense_metric(metric: OutputMetric) -> torch.Tensor:
    jac = jacrev(metric.network_function)(metric.base_point)  # (B, K, P)
    if metric.kind == "euclidean":
        return torch.einsum("bkp,bkq->pq", jac, jac) / jac.shape[0]
    p = torch.softmax(metric.outputs, -1)
    h = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (B, K, K)
    return torch.einsum("bkp,bkl,blq->pq", jac, h, jac) / jac.shape[0]


@pytest.mark.parametrize("forward_mode", ["jvp", "double_vjp", "auto"])
@pytest.mark.parametrize("kind", ["euclidean", "fisher"])
def test_metric_vector_product_matches_dense_reference(tiny, kind, forward_mode):
    model, x = tiny
    metric = OutputMetric(model, x, kind=kind, forward_mode=forward_mode)
    dense = _dense_metric(metric)
    v = torch.randn(metric.layout.size, generator=torch.Generator().manual_seed(2), dtype=x.dtype)
    expected = dense @ v
    assert float((metric(v) - expected).abs().max() / expected.abs().max()) < 1e-10
    assert metric.inner_product(v, v) == pytest.approx(float(v @ expected), rel=1e-10)
    assert torch.allclose(dense, dense.T) and torch.linalg.eigvalsh(dense).min() > -1e-12


class _NoForwardTanh(torch.autograd.Function):
    """tanh with a backward but no forward-mode rule."""

    @staticmethod
    def forward(x):
        return torch.tanh(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


class _NoForwardMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 5), nn.Linear(5, 2)

    def forward(self, x):
        return self.b(_NoForwardTanh.apply(self.a(x)))


def test_auto_falls_back_to_double_vjp_without_forward_mode_rules():
    torch.manual_seed(0)
    model = _NoForwardMLP().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    v = torch.randn(ParameterLayout.of(model).size, dtype=torch.float64)
    with pytest.raises(RuntimeError):
        OutputMetric(model, x, forward_mode="jvp")(v)
    metric = OutputMetric(model, x, forward_mode="auto")
    expected = _dense_metric(metric) @ v
    assert float((metric(v) - expected).abs().max() / expected.abs().max()) < 1e-10
    assert metric.forward_mode == "double_vjp"


def test_batch_norm_is_evaluated_with_running_statistics_and_left_untouched():
    torch.manual_seed(0)
    model = mlp((3, 6, 2), batch_norm=True).double()
    x = torch.randn(8, 3, dtype=torch.float64)
    model.train()
    model(x)  # non-trivial running statistics
    before = {n: b.clone() for n, b in model.named_buffers()}
    metric = OutputMetric(model, x)
    v = torch.randn(metric.layout.size, dtype=torch.float64)
    expected = _dense_metric(metric) @ v
    assert float((metric(v) - expected).abs().max() / expected.abs().max()) < 1e-10
    model.eval()
    assert torch.allclose(metric.outputs, model(x))
    assert all(torch.equal(before[n], b) for n, b in model.named_buffers())
    assert model.training is False
    model.train()
    OutputMetric(model, x)(v)
    assert model.training is True
    model.eval()
    snapshot = OutputMetric(model, x)
    before_update = snapshot(v)
    model[1].running_mean.add_(1.0)  # the statistics change later (as along a path)
    assert torch.equal(snapshot(v), before_update)  # G is the one of its base point
    assert not torch.allclose(OutputMetric(model, x)(v), before_update)


def test_no_code_path_materialises_j_or_g_above_1e5_parameters():
    torch.manual_seed(0)
    model = lenet_300_100()
    x = torch.randn(64, 1, 28, 28)
    size = ParameterLayout.of(model).size
    assert size > 10**5
    dense_j, dense_g = 64 * 10 * size, size * size
    krylov_dim = 5
    with LargestTensor() as guard:
        metric = OutputMetric(model, x, kind="fisher")
        metric(torch.randn(size))
        loss = model(x).logsumexp(-1).mean()
        step = fip_step(metric, flat_gradient(model, loss, metric.layout), 0.1, max_iter=krylov_dim)
    assert step.tangent_vec.shape == (size,)
    # the Lanczos basis (k, P) is the largest object: O(k·P), nowhere near J or G
    assert guard.largest <= krylov_dim * size < dense_j / 100 < dense_g
    data = torch.randn(96, 1, 28, 28)
    target = lenet_300_100()
    for method in ("trust_region", "penalty"):
        with LargestTensor() as guard:
            path = traverse(
                model,
                data,
                TowardNetwork(target),
                2,
                epsilon=0.1,
                method=method,
                metric="fisher",
                batch_size=32,
                krylov_dim=krylov_dim,
            )
        assert len(path.objective) == 3
        assert guard.largest <= krylov_dim * size < dense_j / 100


def test_bad_inputs_raise_clear_errors(tiny):
    model, x = tiny
    frozen = mlp((3, 4, 2)).requires_grad_(False)
    with pytest.raises(ValueError, match="trainable parameter"):
        OutputMetric(frozen, x.float())
    with pytest.raises(ValueError, match="trainable parameter"):
        OutputMetric(nn.ReLU(), x)
    with pytest.raises(ValueError, match="device"):
        OutputMetric(model, x.to("meta"))
    with pytest.raises(ValueError, match="kind"):
        OutputMetric(model, x, kind="wasserstein")
    with pytest.raises(ValueError, match="forward_mode"):
        OutputMetric(model, x, forward_mode="finite_differences")
    metric = OutputMetric(model, x)
    with pytest.raises(ValueError, match="tangent_vec"):
        metric(torch.zeros(3, dtype=x.dtype))
    with pytest.raises(ValueError, match="base_point"):
        OutputMetric(model, x, base_point=torch.zeros(2, dtype=x.dtype))
    with pytest.raises(TypeError, match="nn.Module"):
        ParameterLayout.of("not a model")


def test_layout_round_trip(tiny):
    model, _ = tiny
    layout = ParameterLayout.of(model)
    theta = layout.parameters_of(model)
    assert theta.shape == (sum(p.numel() for p in model.parameters()),)
    layout.load_into(model, 2 * theta)
    assert torch.equal(layout.parameters_of(model), 2 * theta)
    assert torch.equal(layout.flatten(layout.unflatten(theta)), theta)


def test_non_finite_outputs_at_the_base_point_raise_instead_of_a_silent_nan(tiny):
    model, x = tiny
    point = ParameterLayout.of(model).parameters_of(model)
    with pytest.raises(ValueError, match="finite"):
        OutputMetric(model, x, base_point=torch.full_like(point, float("inf")))
    with pytest.raises(ValueError, match="finite"):
        OutputMetric(model, torch.full_like(x, float("nan")), kind="fisher")
