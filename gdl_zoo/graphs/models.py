"""The graphs domain's model cards: Deep Sets, GCN, GAT, MPNN, GIN, GGNN, graph Transformer.

Every card's example input is a batch of two random graphs of 7 and 5 nodes
(:func:`~gdl_zoo.graphs.graph.random_graph_batch`: an isolated node, a
self-loop, asymmetric edges) and its symmetry group is
``Σ_7 × Σ_5``, relabelling the nodes of each graph
(:class:`~gdl_zoo.graphs.actions.NodePermutation`).  Node-level outputs are
permuted with the nodes; graph-level outputs are invariant.  Factories import
their modules when called, so listing the zoo imports no layer code.
"""

from __future__ import annotations

import torch

from gdl_zoo.graphs.actions import NodePermutation
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.zoo import ModelCard, register

__all__: list[str] = []

#: Node counts of the example graphs, cycled over the batch.
EXAMPLE_SIZES = (7, 5, 6)
#: The batch size the cards' actions are built for (that of ``ModelCard.check``).
CARD_BATCH = 2
#: Node channels, edge channels and outputs of the cards' small default instances.
CHANNELS, EDGE_CHANNELS, OUT = 4, 3, 3
#: Input, hidden and output widths every card's factory starts from.
_WIDTHS = {"in_channels": CHANNELS, "hidden_channels": 16, "out_channels": OUT}
_SIZES = tuple(EXAMPLE_SIZES[b % len(EXAMPLE_SIZES)] for b in range(CARD_BATCH))
_GROUP = f"node permutations S{_SIZES[0]} x S{_SIZES[1]} (relabelling within each graph)"


def _batch(batch_size: int, dtype: torch.dtype, generator: torch.Generator, edge_channels=0):
    from gdl_zoo.graphs.graph import random_graph_batch

    return random_graph_batch(batch_size, dtype, generator, CHANNELS, edge_channels, EXAMPLE_SIZES)


def _set_inputs(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    g = _batch(batch_size, dtype, generator)
    return g.x, g.batch


def _graph_inputs(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    g = _batch(batch_size, dtype, generator)
    return g.x, g.edge_index, g.batch


def _edge_feature_inputs(batch_size: int, dtype: torch.dtype, generator: torch.Generator) -> tuple:
    g = _batch(batch_size, dtype, generator, EDGE_CHANNELS)
    return g.x, g.edge_index, g.edge_attr, g.batch


def _deepsets(**overrides):
    from gdl_zoo.graphs.deep_sets import DeepSets

    return DeepSets(**{**_WIDTHS, "task": "graph", **overrides})


def _gcn(**overrides):
    from gdl_zoo.graphs.gcn import GCN

    return GCN(**{**_WIDTHS, "dropout": 0.5, "task": "node", **overrides})


def _gat(**overrides):
    from gdl_zoo.graphs.gat import GAT

    return GAT(**{**_WIDTHS, "hidden_channels": 4, "heads": 4, "task": "node", **overrides})


def _mpnn(**overrides):
    from gdl_zoo.graphs.mpnn import MPNN

    return MPNN(**{**_WIDTHS, "edge_channels": EDGE_CHANNELS, "task": "node", **overrides})


def _gin(**overrides):
    from gdl_zoo.graphs.gin import GIN

    return GIN(**{**_WIDTHS, "num_layers": 3, "task": "graph", **overrides})


def _ggnn(**overrides):
    from gdl_zoo.graphs.ggnn import GGNN

    return GGNN(**{**_WIDTHS, "num_steps": 3, "task": "node", **overrides})


def _graph_transformer(**overrides):
    from gdl_zoo.graphs.graph_transformer import GraphTransformer

    return GraphTransformer(**{**_WIDTHS, "heads": 4, "rw_steps": 6, "task": "graph", **overrides})


_GRAPH_ROLES = ("node", "edge_index", "batch")
_NODE_OUT = NodePermutation(_SIZES)

for _name, _factory, _inputs, _roles, _node_level, _flavour, _paper, _description in (
    (
        "deepsets",
        _deepsets,
        _set_inputs,
        ("node", "batch"),
        False,
        "DeepSets",
        "Zaheer et al. 2017, Deep Sets",
        "equivariant identity+mean layers, invariant sum readout rho(sum psi(x)) per set",
    ),
    (
        "gcn",
        _gcn,
        _graph_inputs,
        _GRAPH_ROLES,
        True,
        "GNN (convolutional)",
        "Kipf & Welling 2017, Semi-supervised classification with graph convolutional networks",
        "symmetric-normalised convolutions with self-loops, CSR propagation built once",
    ),
    (
        "gat",
        _gat,
        _graph_inputs,
        _GRAPH_ROLES,
        True,
        "GNN (attentional)",
        "Velickovic et al. 2018, Graph attention networks",
        "multi-head attention over each node's in-neighbours and itself",
    ),
    (
        "mpnn",
        _mpnn,
        _edge_feature_inputs,
        ("node", "edge_index", "edge", "batch"),
        True,
        "GNN (message passing)",
        "Gilmer et al. 2017, Neural message passing for quantum chemistry",
        "MLP messages on (h_i, h_j, e_ij), summed, MLP update: edge features used",
    ),
    (
        "gin",
        _gin,
        _graph_inputs,
        _GRAPH_ROLES,
        False,
        "GNN (message passing)",
        "Xu et al. 2019, How powerful are graph neural networks?",
        "injective sum aggregation, readout of every layer: as strong as 1-WL",
    ),
    (
        "ggnn",
        _ggnn,
        _graph_inputs,
        _GRAPH_ROLES,
        True,
        "RNN (gated graph)",
        "Li et al. 2016, Gated graph sequence neural networks",
        "GRU node updates from summed messages: the graph RNN",
    ),
    (
        "graph_transformer",
        _graph_transformer,
        _graph_inputs,
        _GRAPH_ROLES,
        False,
        "Transformer",
        "Dwivedi & Bresson 2021; Rampasek et al. 2022 (random-walk encodings)",
        "attention over each graph's complete graph, random-walk structural encodings",
    ),
):
    register(
        ModelCard(
            name=_name,
            domain="graphs",
            group=_GROUP,
            flavour=_flavour,
            paper=_paper,
            factory=_factory,
            example_factory=_inputs,
            input_action=NodePermutation(_SIZES, _roles),
            output_action=_NODE_OUT if _node_level else Invariant(),
            description=_description + ("; node-level" if _node_level else "; graph-level"),
        )
    )
