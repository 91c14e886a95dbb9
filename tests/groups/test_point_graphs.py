"""Tests for gdl_zoo.groups.point_graphs: edges against a loop, safe geometry, radial functions."""

from __future__ import annotations

import pytest
import torch

from gdl_zoo.groups.point_graphs import (
    BesselBasis,
    check_point_cloud,
    edge_vectors,
    polynomial_envelope,
    radius_graph,
    random_point_clouds,
    safe_norm,
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
