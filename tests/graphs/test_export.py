"""torch.export of every graph card: not specialised to the example's graphs, checks kept.

The exported program must equal eager on other batches than the one it was
traced with: another graph assignment (another ``B``, graphs of other size
classes) with other edges of the same count, and, exported with dynamic
``N`` and ``E``, a larger batch.  Value checks that raise eagerly become
runtime assertions of the program.  Deep Sets traces without graph breaks.
"""

import pytest
import torch
from torch.export import Dim

from gdl_zoo import zoo
from gdl_zoo.compilation import count_graph_breaks, output_difference
from gdl_zoo.graphs.deep_sets import DeepSets
from gdl_zoo.graphs.readout import global_pool

NAMES = ["deepsets", "gcn", "gat", "mpnn", "gin", "ggnn", "graph_transformer"]
TOLERANCE = 1e-10  # float64
#: Graph sizes of the regrouped batch: N = 12 as the cards' example (7 + 5), another B and
#: size classes 0, 2 and 3 (the example's graphs are both in class 3).
REGROUPED_SIZES = (1, 3, 8)


def _model_and_inputs(name):
    card = zoo.get(name)
    torch.manual_seed(0)
    model = card.build().double().eval()
    return model, card.example_inputs(2, torch.float64, torch.Generator().manual_seed(0))


def _regrouped(name, inputs, sizes=REGROUPED_SIZES, seed=1):
    """The example's N and E, another batch assignment, other edges (within graphs), features."""
    gen = torch.Generator().manual_seed(seed)
    x = inputs[0]
    counts = torch.tensor(sizes)
    assert int(counts.sum()) == x.shape[0]
    batch = torch.repeat_interleave(torch.arange(len(sizes)), counts)
    other_x = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    if name == "deepsets":
        return other_x, batch
    num_edges = inputs[1].shape[1]
    graph = torch.randint(len(sizes), (num_edges,), generator=gen)
    start = torch.cumsum(counts, 0) - counts

    def node():
        return start[graph] + (torch.rand(num_edges, generator=gen) * counts[graph]).long()

    edge_index = torch.stack([node(), node()])
    if name == "mpnn":
        edge_attr = torch.randn(inputs[2].shape, generator=gen, dtype=x.dtype)
        return other_x, edge_index, edge_attr, batch
    return other_x, edge_index, batch


def _dynamic_shapes(name):
    nodes, edges = Dim("N", min=2), Dim("E", min=2)
    if name == "deepsets":
        return {0: nodes}, {0: nodes}
    if name == "mpnn":
        return {0: nodes}, {1: edges}, {0: edges}, {0: nodes}
    return {0: nodes}, {1: edges}, {0: nodes}


def _assert_program_equals_eager(program, model, inputs):
    expected, got = model(*inputs), program.module()(*inputs)
    shapes = f"exported {tuple(got.shape)}, eager {tuple(expected.shape)}"
    assert got.shape == expected.shape, shapes
    assert output_difference(expected, got)[1] <= TOLERANCE


@pytest.mark.parametrize("name", NAMES)
def test_exported_program_is_not_specialised_to_the_example_batch(name):
    model, inputs = _model_and_inputs(name)
    program = torch.export.export(model, inputs)
    _assert_program_equals_eager(program, model, inputs)
    other = _regrouped(name, inputs)
    assert other[-1][-1] + 1 == len(REGROUPED_SIZES) != inputs[-1][-1] + 1  # another B
    _assert_program_equals_eager(program, model, other)


@pytest.mark.parametrize("name", NAMES)
def test_export_with_dynamic_nodes_and_edges(name):
    model, inputs = _model_and_inputs(name)
    program = torch.export.export(model, inputs, dynamic_shapes=_dynamic_shapes(name))
    larger = zoo.get(name).example_inputs(5, torch.float64, torch.Generator().manual_seed(3))
    assert larger[0].shape[0] != inputs[0].shape[0]
    _assert_program_equals_eager(program, model, larger)
    _assert_program_equals_eager(program, model, _regrouped(name, inputs))


class _FixedSetCount(torch.nn.Module):
    """A Deep Sets readout with ``B`` frozen at the example's value: a specialised program."""

    def __init__(self, model: DeepSets, num_sets: int):
        super().__init__()
        self.model, self.num_sets = model, num_sets

    def forward(self, x, batch):
        h = x
        for layer in self.model.layers:
            h = torch.relu(layer(h, batch, self.num_sets))
        return self.model.head(global_pool(h, batch, self.num_sets, self.model.readout))


def test_a_program_specialised_to_the_example_fails_the_comparison():
    """Negative control: the comparison above catches a program that kept the example's ``B``."""
    model, inputs = _model_and_inputs("deepsets")
    example = _regrouped("deepsets", inputs)  # B = 3: the other batch (B = 2) fits in it
    program = torch.export.export(_FixedSetCount(model, 3), example)
    _assert_program_equals_eager(program, model, example)  # right on its example...
    with pytest.raises(AssertionError, match=r"exported \(3, 3\), eager \(2, 3\)"):
        _assert_program_equals_eager(program, model, inputs)  # ...wrong on another B


@pytest.mark.parametrize(
    "change, name",
    [
        (lambda x, e, b: (x, e, b.flip(0)), "unsorted batch"),
        (lambda x, e, b: (x, e, b - 1), "negative graph index"),
        (lambda x, e, b: (x, torch.cat([e[:, :-1], torch.tensor([[0], [11]])], 1), b),
         "an edge between graphs"),
        (lambda x, e, b: (x, torch.cat([e[:, :-1], torch.tensor([[0], [12]])], 1), b),
         "a node index out of range"),
    ],
)  # fmt: skip
def test_exported_program_asserts_what_eager_validates(change, name):
    model, inputs = _model_and_inputs("gcn")
    program = torch.export.export(model, inputs)
    bad = change(*inputs)
    with pytest.raises(ValueError):
        model(*bad)
    with pytest.raises(RuntimeError, match="Runtime assertion failed"):
        program.module()(*bad)


class _LayerWithSetCount(torch.nn.Module):
    """A Deep Sets layer given the number of sets, as DeepSets passes it to its layers."""

    def __init__(self):
        super().__init__()
        self.layer = zoo.get("deepsets").build().double().layers[0]

    def forward(self, x, batch):
        return self.layer(x, batch, 2)


@pytest.mark.parametrize(
    "change", [lambda b: b.flip(0), lambda b: b - 1], ids=["unsorted batch", "negative index"]
)
def test_a_layer_given_the_set_count_asserts_what_eager_validates(change):
    module = _LayerWithSetCount().eval()
    _, (x, batch) = _model_and_inputs("deepsets")
    program = torch.export.export(module, (x, batch)).module()
    torch.testing.assert_close(program(x, batch), module(x, batch), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        module(x, change(batch))
    with pytest.raises(RuntimeError, match="Runtime assertion failed"):
        program(x, change(batch))


def test_deepsets_traces_in_one_graph():
    model, inputs = _model_and_inputs("deepsets")
    assert count_graph_breaks(model, *inputs) == (0, ())


def test_deepsets_layers_that_read_the_set_count_again_break_the_graph():
    """Negative control: layers called without ``num_sets`` read ``B`` again, one break each."""
    model, (x, batch) = _model_and_inputs("deepsets")

    def rereading(x, batch):
        h = x
        for layer in model.layers:
            h = torch.relu(layer(h, batch))
        return h

    breaks, reasons = count_graph_breaks(rereading, x, batch)
    assert breaks >= len(model.layers) - 1
    assert any("graphs/validation.py" in reason for reason in reasons)
