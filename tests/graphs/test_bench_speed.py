"""Speed-benchmark helpers: every variant builds and runs one step on a tiny graph."""

import math

import pytest

from gdl_zoo.bench.suites import BenchContext
from gdl_zoo.graphs.bench_speed import PAIRS, VARIANTS, build_variant, graph_speed


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
