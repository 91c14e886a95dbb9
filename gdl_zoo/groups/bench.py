"""Benchmark suites of the groups domain: G-conv speed, rotated MNIST, escnn bases, molecules."""

from __future__ import annotations

import importlib.util

from torch import nn

from gdl_zoo.bench.suites import BenchContext, Record, Suite, register_suite
from gdl_zoo.groups.bench_e3 import molecule_regression
from gdl_zoo.groups.bench_gcnn import gconv_speed, rotated_mnist_accuracy, rotation_curve
from gdl_zoo.groups.bench_steerable import basis_build_time

__all__ = ["rotated_mnist_with_steerable", "rotation_curve_with_steerable"]


def _steerable_cnn() -> nn.Module:
    from gdl_zoo.groups.steerable import SteerableCNN

    return SteerableCNN(n=8, channels=(5, 10, 20), kernel_size=5)


def rotated_mnist_with_steerable(context: BenchContext) -> list[Record]:
    """:func:`rotated_mnist_accuracy` with the C8 steerable CNN added when escnn is installed."""
    extra = {"steerable_cnn": _steerable_cnn} if importlib.util.find_spec("escnn") else None
    return rotated_mnist_accuracy(context, extra)


def rotation_curve_with_steerable(context: BenchContext) -> list[Record]:
    """:func:`rotation_curve` with the C8 steerable CNN added when escnn is installed."""
    extra = {"steerable_cnn": _steerable_cnn} if importlib.util.find_spec("escnn") else None
    return rotation_curve(context, extra)


register_suite(
    Suite(
        name="groups.gconv_speed",
        domain="groups",
        kind="speed",
        run=gconv_speed,
        description="p4/p4m group convolution fwd+bwd vs nn.Conv2d and escnn R2Conv",
    )
)

register_suite(
    Suite(
        name="groups.rotated_mnist",
        domain="groups",
        kind="accuracy",
        run=rotated_mnist_with_steerable,
        description="test error on randomly rotated MNIST: CNN vs Z2CNN vs P4CNN vs steerable",
        in_quick_run=False,
    )
)

register_suite(
    Suite(
        name="groups.rotation_curve",
        domain="groups",
        kind="accuracy",
        run=rotation_curve_with_steerable,
        description="trained upright, tested rotated: accuracy vs angle, CNN vs P4CNN vs steerable",
    )
)

register_suite(
    Suite(
        name="groups.escnn_basis",
        domain="groups",
        kind="speed",
        run=basis_build_time,
        description="escnn basis build time, with and without the opt-in on-disk basis cache",
        in_quick_run=False,
    )
)

register_suite(
    Suite(
        name="groups.molecules",
        domain="groups",
        kind="accuracy",
        run=molecule_regression,
        description="energy and force MAE on BOTNet acetylacetone (300 K and 600 K test sets)",
    )
)
