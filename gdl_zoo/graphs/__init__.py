"""Graphs and sets under node permutations.

Deep Sets, the GNN flavours (convolutional GCN, attentional GAT, message
passing MPNN and GIN), the gated graph RNN and the graph Transformer, with the
node-permutation action that proves their symmetry.  Names are imported on
first access (PEP 562), so ``import gdl_zoo.graphs`` stays cheap.
"""

from __future__ import annotations

from gdl_zoo._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "NodePermutation": "actions",
    "NodePermutations": "actions",
    "check_graph": "validation",
    "check_edge_index": "validation",
    "check_batch": "validation",
    "Graph": "graph",
    "GraphBatch": "graph",
    "collate_graphs": "graph",
    "random_graph_batch": "graph",
    "SparseAdjacency": "adjacency",
    "EdgePattern": "adjacency",
    "gcn_normalized_adjacency": "adjacency",
    "given_or_built": "adjacency",
    "plain_adjacency": "adjacency",
    "global_pool": "readout",
    "MLP": "readout",
    "output_head": "readout",
    "GraphModel": "readout",
    "DeepSetsLayer": "deep_sets",
    "DeepSets": "deep_sets",
    "GCNConv": "gcn",
    "GCN": "gcn",
    "GATConv": "gat",
    "GAT": "gat",
    "edge_softmax": "gat",
    "MPNNLayer": "mpnn",
    "MPNN": "mpnn",
    "GINConv": "gin",
    "GIN": "gin",
    "GatedGraphConv": "ggnn",
    "GGNN": "ggnn",
    "random_walk_encoding": "positional_encodings",
    "laplacian_eigenvectors": "positional_encodings",
    "SignInvariantEncoder": "positional_encodings",
    "GraphAttention": "graph_transformer",
    "GraphTransformerLayer": "graph_transformer",
    "GraphTransformer": "graph_transformer",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
