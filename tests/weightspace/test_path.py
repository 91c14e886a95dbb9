"""Traversal: reproducible, keeps the function better than gradient steps, BN, bad input."""

import math

import pytest
import torch
from torch import nn

from gdl_zoo.weightspace.metric import ParameterLayout
from gdl_zoo.weightspace.models import mlp
from gdl_zoo.weightspace.objectives import TowardNetwork
from gdl_zoo.weightspace.path import recompute_batch_norm, traverse


def _setup(batch_norm=False):
    torch.manual_seed(0)
    model = mlp((4, 16, 12, 3), activation="tanh", batch_norm=batch_norm).double()
    target = mlp((4, 16, 12, 3), activation="tanh", batch_norm=batch_norm).double()
    data = torch.randn(40, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return model, target, data


def test_traverse_is_reproducible_from_the_seed_and_records_the_path():
    model, target, data = _setup()
    start = ParameterLayout.of(model).parameters_of(model)
    runs = []
    for _ in range(2):
        ParameterLayout.of(model).load_into(model, start)
        runs.append(
            traverse(
                model,
                data,
                TowardNetwork(target),
                6,
                epsilon=0.05,
                batch_size=16,
                checkpoint_every=3,
                evaluate=lambda m: 1.0,
                evaluate_every=2,
                seed=7,
            )
        )
    a, b = runs
    assert a.output_distance == b.output_distance and a.objective == b.objective
    assert a.checkpoint_steps == [0, 3, 6] and len(a.objective) == 7
    assert a.accuracy[0] == 1.0 and math.isnan(a.accuracy[1]) and a.accuracy[6] == 1.0
    assert torch.allclose(a.point(2), ParameterLayout.of(model).parameters_of(model), atol=1e-14)
    assert a.output_distance[0] == 0.0
    steps = [torch.linalg.vector_norm(a.checkpoints[1] - a.checkpoints[0])]
    assert float(steps[0]) <= 3 * 0.05 + 1e-12
    assert a.objective[-1] < a.objective[0]
    assert a.load(model, 0) is model
    assert torch.equal(ParameterLayout.of(model).parameters_of(model), start)
    assert all(torch.equal(p, q) for p, q in zip(a.checkpoints, b.checkpoints))
    other = traverse(model, data, TowardNetwork(target), 6, epsilon=0.05, batch_size=16, seed=8)
    assert other.output_distance != a.output_distance  # another seed, other minibatches


def test_a_stationary_objective_stops_the_path():
    model, _, data = _setup()
    for method in ("trust_region", "penalty"):
        start = ParameterLayout.of(model).parameters_of(model)
        path = traverse(
            model, data, TowardNetwork(model), 2, epsilon=0.05, method=method, penalty_weight=0.0
        )
        assert path.objective == [0.0, 0.0, 0.0] and path.output_distance == [0.0, 0.0, 0.0]
        assert torch.equal(ParameterLayout.of(model).parameters_of(model), start)


def test_the_metric_is_reanchored_as_asked():
    model, target, data = _setup()
    every_step = traverse(model, data, TowardNetwork(target), 5, epsilon=0.05, batch_size=16)
    assert every_step.anchor_steps == [0, 1, 2, 3, 4]
    model, target, data = _setup()
    sparse = traverse(
        model, data, TowardNetwork(target), 7, epsilon=0.05, batch_size=16, reanchor_every=3
    )
    assert sparse.anchor_steps == [0, 3, 6]
    assert sparse.objective[-1] < sparse.objective[0]
    assert sparse.output_distance != every_step.output_distance[:5]
    model, target, data = _setup()
    double = traverse(
        model,
        data,
        TowardNetwork(target),
        5,
        epsilon=0.05,
        batch_size=16,
        forward_mode="double_vjp",
    )
    assert double.output_distance == pytest.approx(every_step.output_distance, rel=1e-8, abs=1e-12)
    model, target, data = _setup()
    penalty = traverse(model, data, TowardNetwork(target), 4, epsilon=0.05, method="penalty")
    assert penalty.anchor_steps == [0]  # the penalty's anchor stays θ_0 unless asked


def test_fip_changes_the_function_less_than_plain_gradient_steps():
    distances = {}
    for method, weight in (("trust_region", 0.0), ("penalty", 0.0)):
        model, target, data = _setup()
        path = traverse(
            model,
            data,
            TowardNetwork(target),
            10,
            epsilon=0.05,
            beta=1e-3,
            method=method,
            penalty_weight=weight,
            batch_size=40,
            krylov_dim=8,
        )
        assert path.objective[-1] < path.objective[0]
        distances[method] = path.output_distance[-1]
    assert distances["trust_region"] < 0.25 * distances["penalty"]


def test_penalty_keeps_the_function_closer_than_no_penalty():
    distances = []
    for weight in (0.0, 50.0):
        model, target, data = _setup()
        path = traverse(
            model,
            data,
            TowardNetwork(target),
            8,
            epsilon=0.05,
            method="penalty",
            penalty_weight=weight,
            reanchor_every=4,
            batch_size=40,
        )
        distances.append(path.output_distance[-1])
    assert distances[1] < distances[0]


def test_batch_norm_statistics_are_recomputed_along_the_path():
    model, target, data = _setup(batch_norm=True)
    traverse(model, data, TowardNetwork(target), 3, epsilon=0.05, batch_size=8)
    bn = model[1]
    recomputed = {n: b.clone() for n, b in model.named_buffers()}
    with torch.no_grad():
        hidden = model[0](data)
    assert torch.allclose(bn.running_mean, hidden.mean(0), atol=1e-12)
    assert recompute_batch_norm(model, data, batch_size=8)
    assert all(torch.allclose(recomputed[n], b) for n, b in model.named_buffers())
    assert bn.momentum == 0.1 and not recompute_batch_norm(nn.Sequential(nn.Linear(2, 2)), data)


def test_bad_inputs_raise_clear_errors():
    model, target, data = _setup()
    objective = TowardNetwork(target)
    with pytest.raises(ValueError, match="trainable parameter"):
        traverse(mlp((4, 5, 3)).double().requires_grad_(False), data, objective, 2)
    with pytest.raises(ValueError, match="device"):
        traverse(model, data.to("meta"), objective, 2)
    with pytest.raises(ValueError, match="epsilon"):
        traverse(model, data, objective, 2, epsilon=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        traverse(model, data, objective, 2, epsilon=-0.1)
    with pytest.raises(ValueError, match="scalar"):
        traverse(model, data, lambda m, t: m(data).sum(0), 2)
    with pytest.raises(ValueError, match="method"):
        traverse(model, data, objective, 2, method="adam")
    with pytest.raises(TypeError, match="callable"):
        traverse(model, data, "loss", 2)
    with pytest.raises(TypeError, match="scalar tensor"):
        traverse(model, data, lambda m, t: 1.0, 2)
    with pytest.raises(ValueError, match="metric"):
        traverse(model, data, objective, 2, metric="wasserstein")
    with pytest.raises(ValueError, match="beta"):
        traverse(model, data, objective, 2, beta=-1.0)
    with pytest.raises(ValueError, match="forward_mode"):
        traverse(model, data, objective, 2, forward_mode="finite_differences")
    with pytest.raises(ValueError, match="reanchor_every"):
        traverse(model, data, objective, 2, reanchor_every=0)


def test_batch_norm_statistics_are_those_of_the_eval_mode_network():
    # dropout stays off while the statistics are measured, and every module keeps its own mode
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 16), nn.Dropout(0.5), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 3)
    ).double()
    data = torch.randn(64, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    model.eval()
    model[4].train()
    assert recompute_batch_norm(model, data, batch_size=64)
    with torch.no_grad():
        hidden = model[0](data)
    assert torch.allclose(model[2].running_mean, hidden.mean(0), atol=1e-12)
    assert torch.allclose(model[2].running_var, hidden.var(0), atol=1e-12)
    assert [m.training for m in model] == [False, False, False, False, True]
