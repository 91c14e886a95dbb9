"""Node permutations: group laws, the action on each role, and a negative control."""

import pytest
import torch

from gdl_zoo.graphs.actions import NodePermutation, NodePermutations
from gdl_zoo.graphs.graph import random_graph_batch
from gdl_zoo.symmetry import assert_equivariant, check_action


def _inputs():
    g = random_graph_batch(2, torch.float64, torch.Generator().manual_seed(0), 3, 2)
    return g.x, g.edge_index, g.edge_attr, g.batch, torch.randn(12, 3, dtype=torch.float64)


ROLES = ("node", "edge_index", "edge", "batch", "node")


def test_group_elements_keep_each_graph_and_compose():
    group = NodePermutations((4, 3))
    gen = torch.Generator().manual_seed(0)
    for g in group.generators() + [group.sample(gen) for _ in range(5)]:
        assert group.contains(g)
    g, h = group.sample(gen), group.sample(gen)
    assert torch.equal(group.compose(g, group.inverse(g)), group.identity())
    assert group.contains(group.compose(g, h))
    assert not group.contains(torch.tensor([4, 1, 2, 3, 0, 5, 6]))  # mixes the graphs
    with pytest.raises(ValueError, match="positive ints"):
        NodePermutations((3, 0))


def test_action_laws_on_structured_inputs():
    check_action(NodePermutation((7, 5), ROLES), _inputs())


def test_edges_follow_their_nodes():
    x, edge_index, edge_attr, batch, pos = _inputs()
    action = NodePermutation((7, 5), ROLES)
    g = action.sample(torch.Generator().manual_seed(3))
    gx, gei, gea, gb, gpos = action.act(g, (x, edge_index, edge_attr, batch, pos))
    assert torch.equal(gx, x[g]) and torch.equal(gpos, pos[g]) and torch.equal(gb, batch)
    assert gea is edge_attr
    # the relabelled edge joins the same feature vectors as the original one
    assert torch.equal(gx[gei], x[edge_index])


def test_rejects_foreign_elements_and_shapes():
    action = NodePermutation((7, 5), ROLES)
    x, edge_index, edge_attr, batch, pos = _inputs()
    mixing = torch.arange(12)
    mixing[[0, 11]] = mixing[[11, 0]]
    with pytest.raises(ValueError, match="moves nodes between graphs"):
        action.act(mixing, (x, edge_index, edge_attr, batch, pos))
    for roles in (None, ("node", "edge_index")):  # without a batch part to reveal it too
        inputs = x if roles is None else (x, edge_index)
        with pytest.raises(ValueError, match="moves nodes between graphs"):
            NodePermutation((7, 5), roles).act(mixing, inputs)
    with pytest.raises(ValueError, match="got one outside it"):
        NodePermutation((7, 5)).act(torch.zeros(12, dtype=torch.long), x)  # not a permutation
    with pytest.raises(ValueError, match="12 nodes"):
        NodePermutation((7, 5)).act(torch.arange(12), x[:5])
    with pytest.raises(ValueError, match="tuple of 5 parts"):
        action.act(torch.arange(12), (x, edge_index))
    with pytest.raises(ValueError, match="roles"):
        NodePermutation((3,), ("nodes",))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_negative_control_a_position_dependent_map_fails(dtype):
    """Adding the node index to the features is not permutation equivariant."""
    x = _inputs()[0].to(dtype)
    action = NodePermutation((7, 5))

    def labelled(x):
        return x + torch.arange(x.shape[0], dtype=x.dtype)[:, None]

    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(labelled, x, action, action)
    assert_equivariant(torch.tanh, x, action, action)
