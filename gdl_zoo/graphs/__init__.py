"""Graphs and sets, with node permutations: Deep Sets, GNN flavours, gated graph RNN, graph Transformer."""
