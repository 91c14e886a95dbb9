"""Speed-benchmark helpers: every variant builds and runs one step on a tiny graph."""

import math
from pathlib import Path

import pytest
import torch

from gdl_zoo.bench.suites import BenchContext
from gdl_zoo.graphs.bench_speed import (
    PAIRS,
    REFERENCES,
    VARIANTS,
    _csr_adj_t,
    _peak_memory,
    build_variant,
    graph_speed,
)


def test_every_variant_runs_a_step():
    assert {v for _, a, b in PAIRS for v in (a, b)} == set(VARIANTS)
    for name in VARIANTS:
        build_variant(name, 50, 200, seed=0)()


def test_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        build_variant("sage_ours", 10, 20, seed=0)


def test_quick_run_pairs_every_flavour_with_pyg():
    records = graph_speed(BenchContext(quick=True, repeat=1))
    assert [r.name for r in records[::2]] == [flavour for flavour, _, _ in PAIRS]
    for time_record, memory_record in zip(records[::2], records[1::2]):
        assert time_record.value > 0 and time_record.details["threads"] == 1
        assert math.isnan(memory_record.value) and "skipped" in memory_record.details


def test_every_reference_is_described_in_the_records():
    assert {ref for _, _, ref in PAIRS} == set(REFERENCES)
    records = graph_speed(BenchContext(quick=True, repeat=1))
    for record, (_, _, ref) in zip(records[::2], PAIRS):
        assert record.details["reference"] == REFERENCES[ref]


def test_pyg_csr_adjacency_matches_pyg_on_edge_index():
    import torch_geometric.nn as pyg

    edge_index = torch.tensor([[0, 2, 2, 3, 1, 1], [1, 1, 1, 0, 3, 1]])  # repeated edge, self-loop
    x = torch.randn(4, 5, dtype=torch.float64)
    conv = pyg.GINConv(torch.nn.Identity())
    adj_t = _csr_adj_t(edge_index, 4).to(torch.float64)
    assert adj_t.layout == torch.sparse_csr
    assert torch.allclose(conv(x, adj_t), conv(x, edge_index), atol=1e-12)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS reset is Linux")
def test_memory_of_a_variant_is_measured_in_a_single_threaded_subprocess():
    assert _peak_memory("gin_ours", 50, 200, 0, "cpu") >= 0
    before = torch.get_num_threads()
    build_variant("gin_ours", 50, 200, seed=0)  # building in process leaves the threads alone
    assert torch.get_num_threads() == before
