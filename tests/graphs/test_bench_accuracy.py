"""Accuracy-benchmark helpers (the suites themselves run under `gdl-zoo bench`)."""

import math

import torch

from gdl_zoo.bench.suites import BenchContext
from gdl_zoo.graphs.bench_accuracy import (
    _folds,
    graph_classification,
    node_classification,
    single_threaded,
)


def test_folds_are_stratified_and_partition():
    labels = torch.tensor([0] * 20 + [1] * 10)
    folds = _folds(labels, 5, torch.Generator().manual_seed(0))
    assert sorted(torch.cat(folds).tolist()) == list(range(30))
    assert all(int((labels[f] == 1).sum()) == 2 for f in folds)


def test_full_mode_without_data_skips_cleanly():
    context = BenchContext(quick=False, data_dir=None)
    for records in (node_classification(context), graph_classification(context)):
        assert records and all(math.isnan(r.value) and "skipped" in r.details for r in records)


def test_single_threaded_restores_the_thread_count():
    before = torch.get_num_threads()
    with single_threaded():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
