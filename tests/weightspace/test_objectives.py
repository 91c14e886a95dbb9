"""Sparsification, task losses, mode-connectivity curves and barriers."""

import pytest
import torch

from gdl_zoo.weightspace.metric import ParameterLayout
from gdl_zoo.weightspace.models import mlp
from gdl_zoo.weightspace.objectives import (
    QuadraticBezier,
    Sparsification,
    TaskLoss,
    TowardNetwork,
    apply_mask,
    global_magnitude_mask,
    loss_barrier,
    losses_along,
    sparsity_of,
    train_bezier,
)
from gdl_zoo.weightspace.path import traverse


def _model():
    torch.manual_seed(0)
    return mlp((6, 20, 10, 3)).double()


def test_global_magnitude_mask_cuts_the_smallest_weights_globally():
    model = _model()
    mask = global_magnitude_mask(model, 0.7)
    weights = {n: p for n, p in model.named_parameters() if p.dim() == 2}
    assert set(mask) == set(weights)
    kept = torch.cat([w.detach()[mask[n]].abs() for n, w in weights.items()])
    cut = torch.cat([w.detach()[~mask[n]].abs() for n, w in weights.items()])
    assert cut.numel() == int(0.7 * (kept.numel() + cut.numel()))
    assert float(cut.max()) <= float(kept.min())
    apply_mask(model, mask)
    assert sparsity_of(model) == pytest.approx(cut.numel() / (kept.numel() + cut.numel()))
    with pytest.raises(ValueError, match="sparsity"):
        global_magnitude_mask(model, 1.0)


def test_sparsification_schedule_loss_and_fip_path():
    objective = Sparsification(0.8, ramp_steps=10)
    targets = [objective.target_sparsity(t) for t in range(12)]
    assert targets == sorted(targets) and targets[-1] == pytest.approx(0.8)
    model = _model()
    loss = objective(model, 9)
    mask = global_magnitude_mask(model, 0.8)
    named = dict(model.named_parameters())
    expected = 0.5 * sum(float(named[n][~k].pow(2).sum()) for n, k in mask.items())
    assert float(loss) == pytest.approx(expected)
    data = torch.randn(30, 6, dtype=torch.float64)
    path = traverse(model, data, objective, 12, epsilon=0.1, batch_size=30)
    assert path.objective[-1] < max(path.objective)
    objective.finalize(model)
    assert sparsity_of(model) == pytest.approx(0.8, abs=1e-3)


def test_task_loss_is_reproducible_and_validated():
    model = _model()
    x = torch.randn(50, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (50,))
    loss = TaskLoss(x, y, batch_size=10, seed=3)
    assert float(loss(model, 4)) == float(loss(model, 4))
    assert float(loss(model, 4)) != float(loss(model, 5))
    with pytest.raises(ValueError, match="as many targets"):
        TaskLoss(x, y[:3])


def test_toward_network_gradient_points_at_the_target():
    model, target = _model(), mlp((6, 20, 10, 3)).double()
    objective = TowardNetwork(target)
    layout = ParameterLayout.of(model)
    loss = objective(model, 0)
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(model.parameters()))])
    assert torch.allclose(grad, layout.parameters_of(model) - layout.parameters_of(target))


def test_bezier_curve_endpoints_training_and_barriers():
    torch.manual_seed(0)
    model = mlp((2, 8, 2), activation="tanh").double()
    layout = ParameterLayout.of(model)
    x = torch.randn(64, 2, dtype=torch.float64)
    y = (x[:, 0] * x[:, 1] > 0).long()
    a = layout.parameters_of(model)
    b = -a  # a different point with a high-loss straight line in between is not needed here
    curve = QuadraticBezier(a, b, torch.zeros_like(a))
    assert torch.equal(curve.point(0.0), a) and torch.equal(curve.point(1.0), b)

    def loss_fn(m):
        return float(torch.nn.functional.cross_entropy(m(x), y))

    ts = [i / 10 for i in range(11)]
    before = losses_along(
        model, [QuadraticBezier(a, b, 0.5 * (a + b)).point(t) for t in ts], loss_fn
    )
    trained = train_bezier(model, a, b, x, y, steps=60, lr=0.05, batch_size=64)
    after = losses_along(model, [trained.point(t) for t in ts], loss_fn)
    assert sum(after) < sum(before)
    assert torch.equal(layout.parameters_of(model), a)  # restored
    assert loss_barrier([1.0, 3.0, 2.0]) == 1.0 and loss_barrier([2.0, 1.0, 1.5]) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        loss_barrier([1.0])


def test_bezier_training_leaves_the_models_batch_norm_statistics_alone():
    torch.manual_seed(0)
    model = mlp((4, 8, 3), batch_norm=True).double().train()
    layout = ParameterLayout.of(model)
    x = torch.randn(64, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (64,))
    a = layout.parameters_of(model)
    before = {n: b.clone() for n, b in model.named_buffers()}
    train_bezier(model, a, a + 0.1 * torch.randn_like(a), x, y, steps=3, batch_size=32)
    after = dict(model.named_buffers())
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert model.training
