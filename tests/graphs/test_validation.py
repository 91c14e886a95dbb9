"""Graph input checks: each bad input names what was expected and what came."""

import pytest
import torch

from gdl_zoo.graphs.validation import check_batch, check_edge_index, check_graph

X = torch.randn(5, 3)
EDGES = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 4]])


def test_valid_graph_returns_batch_and_count():
    batch = torch.tensor([0, 0, 1, 1, 1])
    assert check_graph(X, EDGES, batch)[1] == 2
    assert check_graph(X, EDGES) == (None, 1)
    assert check_graph(X[:1], torch.zeros(2, 0, dtype=torch.long))[1] == 1


@pytest.mark.parametrize(
    "edge_index, message",
    [
        (EDGES.t(), r"expected shape \(2, E\), got \(4, 2\)"),
        (EDGES.float(), "expected an integer dtype.*got torch.float32"),
        (torch.tensor([[0, 5], [1, 0]]), r"indices in \[0, 5\).*got indices in \[0, 5\]"),
        (torch.tensor([[0, -1], [1, 0]]), r"got indices in \[-1, 1\]"),
    ],
)
def test_bad_edge_index(edge_index, message):
    with pytest.raises(ValueError, match=message):
        check_graph(X, edge_index)


def test_bad_edge_attr_batch_and_features():
    with pytest.raises(ValueError, match=r"E = 4 edges, got \(3, 2\)"):
        check_graph(X, EDGES, edge_attr=torch.randn(3, 2))
    with pytest.raises(ValueError, match="sorted.*batch\\[1\\] = 1 > batch\\[2\\] = 0"):
        check_graph(X, EDGES, torch.tensor([0, 1, 0, 1, 1]))
    with pytest.raises(ValueError, match="integer dtype"):
        check_batch(torch.zeros(5), 5)
    with pytest.raises(ValueError, match=r"shape \(N,\) = \(5,\)"):
        check_batch(torch.zeros(4, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="joining graphs 0 and 1"):
        check_graph(X, torch.tensor([[1], [2]]), torch.tensor([0, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"expected 4 channels.*got \(5, 3\)"):
        check_graph(X, EDGES, channels=4)
    with pytest.raises(ValueError, match="finite"):
        check_graph(torch.full((5, 3), float("nan")), EDGES)
    with pytest.raises(TypeError, match="floating"):
        check_graph(torch.ones(5, 3, dtype=torch.long), EDGES)
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_edge_index([[0], [1]], 5)


def test_a_given_graph_count_is_returned_after_the_indices_are_checked():
    batch = torch.tensor([0, 0, 1, 1, 1])
    assert check_batch(batch, 5, num_graphs=2) == (batch, 2)
    assert check_batch(batch, 5, num_graphs=3)[1] == 3  # an empty graph at the end
    with pytest.raises(ValueError, match=r"num_graphs\) = \[0, 1\), got index 1"):
        check_batch(batch, 5, num_graphs=1)
    with pytest.raises(ValueError, match="non-negative"):
        check_batch(batch - 1, 5, num_graphs=2)
    with pytest.raises(ValueError, match="size: expected a positive int, got -1"):
        check_batch(batch, 5, num_graphs=-1, count_name="size")
