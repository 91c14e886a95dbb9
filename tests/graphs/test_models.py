"""Every graph card: permutation symmetry, corner-case graphs, bad input errors."""

import pytest
import torch

from gdl_zoo import zoo
from gdl_zoo.graphs.actions import NodePermutation
from gdl_zoo.graphs.graph import Graph, collate_graphs
from gdl_zoo.symmetry import Invariant, assert_equivariant

CARDS = zoo.list_models("graphs")
NAMES = ["deepsets", "gcn", "gat", "mpnn", "gin", "ggnn", "graph_transformer"]


def test_all_cards_registered():
    assert set(NAMES) <= {c.name for c in CARDS}


def _inputs(card, graph_batch):
    g = graph_batch
    if card.name == "deepsets":
        return (g.x, g.batch)
    if card.name == "mpnn":
        return (g.x, g.edge_index, g.edge_attr, g.batch)
    return (g.x, g.edge_index, g.batch)


def _corner_graphs(dtype, sizes=(1, 4, 3, 2)):
    """A single-node graph, isolated nodes, self-loops and different sizes."""
    gen = torch.Generator().manual_seed(4)
    edges = {
        1: torch.zeros(2, 0, dtype=torch.long),
        4: torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 2]]),  # node 3 isolated, loop at 2
        3: torch.tensor([[0, 1], [1, 2]]),
        2: torch.tensor([[0, 0], [0, 0]]),  # a repeated self-loop, node 1 isolated
    }
    graphs = []
    for n in sizes:
        e = edges[n]
        graphs.append(
            Graph(
                torch.randn(n, 4, generator=gen, dtype=dtype),
                e,
                None,
                torch.randn(e.shape[1], 3, generator=gen, dtype=dtype),
            )
        )
    return graphs


def _corner_batch(dtype):
    return collate_graphs(_corner_graphs(dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_corner_cases_are_symmetric_and_finite(card, dtype):
    torch.manual_seed(0)
    model = card.build().to(dtype).eval()
    batch = _corner_batch(dtype)
    inputs = _inputs(card, batch)
    out = model(*inputs)
    assert torch.isfinite(out).all()
    node_level = isinstance(card.output_action, NodePermutation)
    assert out.shape[0] == (batch.x.shape[0] if node_level else 4)
    act_in = NodePermutation((1, 4, 3, 2), card.input_action.roles)
    act_out = NodePermutation((1, 4, 3, 2)) if node_level else Invariant()
    report = assert_equivariant(model, inputs, act_in, act_out)
    if dtype == torch.float64:
        assert report.max_error < 1e-10
    # a graph's output does not depend on the other graphs of the batch
    alone = model(*_inputs(card, collate_graphs(_corner_graphs(dtype)[2:3])))
    ours = out[5:8] if node_level else out[2:3]
    assert torch.allclose(alone, ours, atol=1e-5 if dtype == torch.float32 else 1e-12)


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_a_single_node_without_batch(card):
    model = card.build().double().eval()
    x = torch.randn(1, 4, dtype=torch.float64)
    empty = torch.zeros(2, 0, dtype=torch.long)
    if card.name == "deepsets":
        inputs = (x,)
    elif card.name == "mpnn":
        inputs = (x, empty, torch.zeros(0, 3, dtype=torch.float64))
    else:
        inputs = (x, empty)
    assert torch.isfinite(model(*inputs)).all()


@pytest.mark.parametrize("card", [c for c in CARDS if c.name != "deepsets"], ids=lambda c: c.name)
def test_bad_inputs_raise_value_errors(card):
    model = card.build().double()
    g = _corner_batch(torch.float64)
    args = list(_inputs(card, g))
    cases = [
        (1, g.edge_index.t().contiguous(), r"expected shape \(2, E\)"),
        (1, g.edge_index.double(), "integer dtype"),
        (1, g.edge_index + 10, r"indices in \[0, 10\)"),
        (-1, g.batch.flip(0), "sorted"),
    ]
    if card.name == "mpnn":
        cases.append((2, g.edge_attr[:-1], r"E = 9 edges, got \(8, 3\)"))
    for position, value, message in cases:
        bad = list(args)
        bad[position] = value
        with pytest.raises(ValueError, match=message):
            model(*bad)


def test_deepsets_rejects_unsorted_batch():
    model = zoo.get("deepsets").build()
    with pytest.raises(ValueError, match="sorted"):
        model(torch.randn(3, 4), torch.tensor([1, 0, 1]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_negative_controls_fail_the_harness(dtype):
    """Node-level outputs claimed invariant, and node-index features, must both fail."""
    torch.manual_seed(0)
    g = _corner_batch(dtype)
    node_model = zoo.get("gcn").build().to(dtype).eval()
    act_in = NodePermutation((1, 4, 3, 2), ("node", "edge_index", "batch"))
    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(node_model, (g.x, g.edge_index, g.batch), act_in, Invariant())

    graph_model = zoo.get("gin").build().to(dtype).eval()

    def labelled(x, edge_index, batch):
        index = torch.arange(x.shape[0], dtype=x.dtype)[:, None]
        return graph_model(x + index, edge_index, batch)

    with pytest.raises(AssertionError, match="FAILED"):
        assert_equivariant(labelled, (g.x, g.edge_index, g.batch), act_in, Invariant())


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_every_model_checks_task_and_readout_when_built(card):
    from gdl_zoo.graphs.readout import GraphModel

    model = card.build()
    assert isinstance(model, GraphModel) and model.in_channels == 4
    with pytest.raises(ValueError, match="task: expected one of"):
        card.build(task="edge")
    if card.name != "ggnn":  # GGNN's graph readout is the gated sum of Li et al., Eq. 7
        with pytest.raises(ValueError, match="readout: expected one of"):
            card.build(readout="median")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("task", ["node", "graph"])
@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_node_and_graph_heads_are_permutation_symmetric(card, task, dtype):
    """Both heads of every model: node outputs permute with the nodes, graph outputs stay."""
    torch.manual_seed(0)
    model = card.build(task=task).to(dtype)
    inputs = card.example_inputs(2, dtype, torch.Generator().manual_seed(5))
    sizes = card.input_action.group.sizes
    act_out = NodePermutation(sizes) if task == "node" else Invariant()
    report = assert_equivariant(model, inputs, card.input_action, act_out)
    assert model(*inputs).shape == ((sum(sizes), 3) if task == "node" else (2, 3))
    if dtype == torch.float64:
        assert report.max_error < 1e-10
