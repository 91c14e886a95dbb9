"""Datasets that several suites share, with the quick run's embedded fallback.

A full run reads the real dataset from the run's data directory; a quick run
falls back to the small sample shipped inside the package, so that
``gdl-zoo bench --quick`` needs no data at all.  When neither is allowed the
suite gets the reason, to report as skipped.
"""

from __future__ import annotations

import torch

from gdl_zoo.bench.suites import BenchContext
from gdl_zoo.data.mnist import load_mnist_test
from gdl_zoo.data.samples import load_mnist_sample

__all__ = ["mnist_digits"]


def mnist_digits(context: BenchContext) -> tuple[torch.Tensor, torch.Tensor, str] | str:
    """``(images, labels, source)`` of MNIST digits for a run, or the reason there are none.

    The 10k MNIST test images from ``context.data_dir``; if they are missing,
    a quick run uses the 2500 images embedded in the package and a full run
    gets the reason (no data directory, or the loader's error).

    Shapes:
        images: ``(N, 28, 28)`` (uint8); labels: ``(N,)``.
    """
    reason = "no data directory (set --data-dir or GDL_ZOO_DATA)"
    if context.data_dir is not None:
        try:
            images, labels = load_mnist_test(context.data_dir)
            return images, labels, f"MNIST test set in {context.data_dir}"
        except FileNotFoundError as error:
            reason = str(error)
    if not context.quick:
        return reason
    images, labels = load_mnist_sample()
    return images, labels, "embedded sample (first 2500 MNIST test images)"
