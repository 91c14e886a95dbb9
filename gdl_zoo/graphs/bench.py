"""Benchmark suites of the graphs domain: layer speed and memory vs PyG, node and graph accuracy."""

from __future__ import annotations

from gdl_zoo.bench.suites import Suite, register_suite
from gdl_zoo.graphs.bench_accuracy import graph_classification, node_classification
from gdl_zoo.graphs.bench_speed import graph_speed

__all__: list[str] = []

register_suite(
    Suite(
        name="graphs.speed",
        domain="graphs",
        kind="speed",
        run=graph_speed,
        description="GCN/GAT/GIN/GGNN fwd+bwd time and peak memory vs PyG (100k nodes, 1M edges)",
    )
)

register_suite(
    Suite(
        name="graphs.cora",
        domain="graphs",
        kind="accuracy",
        run=node_classification,
        description="Cora public-split node classification: gcn, gat, mpnn (quick: SBM graph)",
    )
)

register_suite(
    Suite(
        name="graphs.tu",
        domain="graphs",
        kind="accuracy",
        run=graph_classification,
        description="MUTAG/PROTEINS 10-fold: gin, deepsets, graph_transformer (quick: 1-WL task)",
    )
)
