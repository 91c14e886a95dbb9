"""Shared bench datasets: real MNIST, the embedded sample on quick runs, or a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gdl_zoo.bench.datasets import mnist_digits
from gdl_zoo.bench.suites import BenchContext


def test_quick_run_without_data_uses_the_embedded_sample():
    images, labels, source = mnist_digits(BenchContext(quick=True, data_dir=None))
    assert images.shape == (2500, 28, 28) and labels.shape == (2500,)
    assert source.startswith("embedded sample")


def test_full_run_without_data_gets_the_reason(tmp_path):
    assert mnist_digits(BenchContext(quick=False, data_dir=None)).startswith("no data directory")
    reason = mnist_digits(BenchContext(quick=False, data_dir=tmp_path))
    assert isinstance(reason, str) and "mnist" in reason.lower()


@pytest.mark.skipif(not os.environ.get("GDL_ZOO_DATA"), reason="needs GDL_ZOO_DATA")
def test_a_data_directory_gives_the_full_test_set():
    root = Path(os.environ["GDL_ZOO_DATA"])
    images, labels, source = mnist_digits(BenchContext(quick=True, data_dir=root))
    assert images.shape == (10_000, 28, 28) and labels.shape == (10_000,)
    assert str(root) in source
