"""Tests for gdl_zoo.groups.point_graphs: edges, safe geometry, radial functions, export."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gdl_zoo import zoo
from gdl_zoo.groups.point_graphs import (
    BesselBasis,
    PotentialEnergy,
    check_point_cloud,
    edge_vectors,
    energy_and_forces,
    gather_rows,
    polynomial_envelope,
    radius_graph,
    random_point_clouds,
    safe_norm,
    scatter_sum,
)


@pytest.mark.parametrize("cutoff", [None, 1.5])
def test_radius_graph_matches_a_pair_loop(cutoff):
    positions, _, batch = random_point_clouds(3, torch.float64, torch.Generator().manual_seed(0))
    edge_index = radius_graph(positions, batch, cutoff)
    expected = {
        (j, i)
        for i in range(len(positions))
        for j in range(len(positions))
        if i != j
        and batch[i] == batch[j]
        and (cutoff is None or float((positions[i] - positions[j]).norm()) < cutoff)
    }
    assert set(map(tuple, edge_index.T.tolist())) == expected
    assert edge_index.shape[1] == len(expected)


def test_edges_of_empty_and_single_point_clouds():
    empty = radius_graph(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 2.0)
    assert empty.shape == (2, 0)
    assert radius_graph(torch.zeros(1, 3), torch.zeros(1, dtype=torch.long)).shape == (2, 0)


def test_safe_norm_is_exact_and_has_finite_gradients_at_zero():
    vectors = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    vectors.requires_grad_()
    lengths = safe_norm(vectors)
    assert lengths.tolist() == [5.0, 0.0]
    (grad,) = torch.autograd.grad(lengths.sum(), vectors, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), vectors)
    assert torch.isfinite(grad).all() and torch.isfinite(second).all()
    torch.testing.assert_close(
        grad.detach(), torch.tensor([[0.6, 0.8, 0.0], [0.0, 0.0, 0.0]]).double()
    )


def test_edge_vectors_point_from_target_to_source():
    positions = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    vectors, lengths = edge_vectors(positions, torch.tensor([[1], [0]]))  # edge 1 -> 0
    assert vectors.tolist() == [[1.0, 2.0, 2.0]] and lengths.tolist() == [3.0]


def test_bessel_basis_is_finite_at_zero_with_finite_second_derivatives():
    basis = BesselBasis(4, cutoff=5.0).double()
    r = torch.tensor([0.0, 1e-5, 1.0, 4.9], dtype=torch.float64, requires_grad=True)
    values = basis(r)
    n = torch.arange(1, 5, dtype=torch.float64)
    exact = (2 / 5.0) ** 0.5 * torch.sin(n * torch.pi * r[2:, None] / 5.0) / r[2:, None]
    torch.testing.assert_close(values[2:], exact)
    torch.testing.assert_close(values[0], (2 / 5.0) ** 0.5 * n * torch.pi / 5.0)
    (grad,) = torch.autograd.grad(values.sum(), r, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), r)
    assert torch.isfinite(grad).all() and torch.isfinite(second).all()


def test_envelope_is_one_at_zero_and_vanishes_smoothly_at_the_cutoff():
    r = torch.tensor([0.0, 2.0, 5.0 - 1e-6, 5.0, 7.0], dtype=torch.float64, requires_grad=True)
    u = polynomial_envelope(r, 5.0)
    (grad,) = torch.autograd.grad(u.sum(), r)
    u = u.detach()
    assert u[0] == 1.0 and 0 < u[1] < 1 and abs(float(u[2])) < 1e-10 and u[3:].eq(0).all()
    assert abs(float(grad[2])) < 1e-10


def test_point_cloud_validation_and_defaults():
    positions, features, batch = random_point_clouds(2, torch.float64)
    assert check_point_cloud(positions, features, batch, 4)[1] == 2
    default_batch, count = check_point_cloud(positions, features, None, 4)
    assert count == 1 and default_batch.eq(0).all()
    with pytest.raises(ValueError, match="batch: expected non-negative cloud indices"):
        check_point_cloud(positions, features, batch - 1, 4)
    with pytest.raises(ValueError, match="num_graphs: expected a non-negative integer"):
        check_point_cloud(positions, features, batch, 4, num_graphs=-1)
    with pytest.raises(TypeError, match="positions: expected a torch.Tensor"):
        check_point_cloud(positions.tolist(), features, batch, 4)


def _rows_case(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(7, 4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    index = torch.randint(0, 7, (20,), generator=g)
    return x, index


def test_gather_rows_and_scatter_sum_equal_indexing_and_index_add_to_second_order():
    x, index = _rows_case()
    weight = torch.randn(20, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def ours(x):
        return (scatter_sum(gather_rows(x, index).sin() * weight, index, 9) ** 2).sum()

    def reference(x):
        rows = x[index].sin() * weight
        return (rows.new_zeros(9, 4, 3).index_add(0, index, rows) ** 2).sum()

    def first_and_second(f):
        (grad,) = torch.autograd.grad(f(x), x, create_graph=True)
        (hessian_vector,) = torch.autograd.grad((grad * grad.detach()).sum(), x)
        return f(x), grad, hessian_vector

    for a, b in zip(first_and_second(ours), first_and_second(reference)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # negative control: the comparison sees a sum into the wrong rows
    wrong = scatter_sum(gather_rows(x, index), index.roll(1), 9)
    right = x.new_zeros(9, 4, 3).index_add(0, index, x[index])
    assert not torch.allclose(wrong, right)


def test_scatter_sum_of_no_rows_is_zeros():
    out = scatter_sum(torch.zeros(0, 5), torch.zeros(0, dtype=torch.long), 3)
    assert out.shape == (3, 5) and not out.any()


_INDUCTOR_GATHER = """
import sys, torch
from gdl_zoo.groups.point_graphs import gather_rows
g = torch.Generator().manual_seed(0)
h = torch.randn(11, 8, dtype=torch.float64, generator=g, requires_grad=True)
s = torch.randn(32, dtype=torch.float64, generator=g, requires_grad=True)
wt = torch.randn(8, 32, dtype=torch.float64, generator=g, requires_grad=True)
src = torch.randint(0, 11, (32,), generator=g)
v = torch.randn(32, 8, dtype=torch.float64, generator=g)
gather = {"gather_rows": gather_rows, "broken": lambda x, i: gather_rows(x, i.roll(1))}[sys.argv[1]]
def f(h, s, wt, src):
    return gather(h, src) * s[:, None] * wt.t()
eager = torch.autograd.grad(gather_rows(h, src) * s[:, None] * wt.t(), (h, s, wt), v)
compiled = torch.autograd.grad(torch.compile(f)(h, s, wt, src), (h, s, wt), v)
print(max(float((a - b).abs().max()) for a, b in zip(eager, compiled)))
"""


def _inductor_gather_difference(gather: str) -> float:
    run = subprocess.run(
        [sys.executable, "-c", _INDUCTOR_GATHER, gather], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return float(run.stdout.split()[-1])


def test_gather_rows_backward_compiles_correctly_under_inductor():
    # the pattern in which torch 2.13's inductor (CPU, vectorised, several threads) wrote
    # the gradient of x[index] past its end: a gather read against a transposed operand,
    # its backward fusing the scatter with a reduction over channels (see gather_rows)
    assert _inductor_gather_difference("gather_rows") < 1e-12
    assert _inductor_gather_difference("broken") > 1e-3  # negative control: a wrong gather


def _exported_force_field(name: str, dynamic: bool):
    card = zoo.get(name)
    torch.manual_seed(0)
    model = card.build().double().eval()
    inputs = card.example_inputs(2, torch.float64, torch.Generator().manual_seed(0))
    points = torch.export.Dim("N", min=2)
    shapes = ({0: points}, {0: points}, {0: points}) if dynamic else None
    program = torch.export.export(PotentialEnergy(model), inputs, dynamic_shapes=shapes)
    return card, model, program.module()


@pytest.mark.parametrize("name", ["egnn", "tfn", "se3_transformer"])
def test_exported_potential_energy_gives_the_model_energy_and_forces(name):
    card, model, program = _exported_force_field(name, dynamic=True)
    # the example, other coordinates, and other batches (other N, B and E)
    for batch_size, seed in ((2, 0), (2, 1), (3, 2), (1, 3)):
        inputs = card.example_inputs(batch_size, torch.float64, torch.Generator().manual_seed(seed))
        energy, forces = model(*inputs)
        exported = energy_and_forces(program)(*inputs)
        assert exported[0].shape == (batch_size,) and not exported[1].requires_grad
        torch.testing.assert_close(exported, (energy, forces), rtol=1e-10, atol=1e-12)
    # negative control: the comparison sees other weights
    other = card.build().double().eval()
    with torch.no_grad():
        for p in other.parameters():
            p.copy_(torch.randn_like(p))
    with pytest.raises(AssertionError):
        torch.testing.assert_close(
            energy_and_forces(program)(*inputs), other(*inputs), rtol=1e-10, atol=1e-12
        )


def test_exported_potential_energy_asserts_its_batch_at_run_time():
    card, _, program = _exported_force_field("egnn", dynamic=False)
    positions, features, batch = card.example_inputs(
        2, torch.float64, torch.Generator().manual_seed(0)
    )
    program(positions, features, batch)  # valid
    with pytest.raises(RuntimeError, match="Runtime assertion failed"):
        program(positions, features, batch - 1)  # cloud index -1: the program's own assert
    with pytest.raises(ValueError, match="batch"):
        zoo.get("egnn").build().double()(positions, features, batch - 1)  # eager: ValueError


@pytest.mark.parametrize("name", ["egnn", "tfn", "se3_transformer"])
def test_potential_energy_is_the_model_energy_and_wraps_only_force_fields(name):
    with pytest.raises(TypeError, match="expected an AtomicEnergyModel, got Linear"):
        PotentialEnergy(torch.nn.Linear(3, 1))
    card = zoo.get(name)
    model = card.build().double()
    inputs = card.example_inputs(2, torch.float64, torch.Generator().manual_seed(0))
    torch.testing.assert_close(PotentialEnergy(model)(*inputs), model(*inputs)[0])
