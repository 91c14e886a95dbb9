"""Speed-benchmark helpers: every variant builds and runs one step on a tiny graph."""

import pytest

from gdl_zoo.graphs.bench_speed import PAIRS, VARIANTS, build_variant


def test_every_variant_runs_a_step():
    assert {v for _, a, b in PAIRS for v in (a, b)} == set(VARIANTS)
    for name in VARIANTS:
        build_variant(name, 50, 200, seed=0)()


def test_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        build_variant("sage_ours", 10, 20, seed=0)
