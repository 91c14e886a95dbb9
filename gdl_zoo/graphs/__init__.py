"""Graphs and sets under node permutations.

Deep Sets, the GNN flavours, gated graph RNN and graph Transformer.
"""
