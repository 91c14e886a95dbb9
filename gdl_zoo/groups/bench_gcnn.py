"""Benchmarks of the G-CNN: group convolution speed, and accuracy on rotated MNIST.

Speed (:func:`gconv_speed`): a p4 and a p4m :class:`~gdl_zoo.groups.gconv.GroupConv`
(16 regular fields in and out, 3×3, zero padding 1, B = 32, 32×32) against a plain
``nn.Conv2d`` producing the same tensor sizes (``16·|G|`` channels in and out) and
against escnn's ``R2Conv`` on the same regular fields (Weiler & Cesa 2019), timed
forward + backward in interleaved rounds, side by side in one run.  The goal is a
ratio to ``Conv2d`` of at most 1.15: the filter expansion (one gather) should cost
nothing next to the convolution.  escnn's basis build time is reported too.

Accuracy (:func:`rotated_mnist_accuracy`): a rotated-MNIST stand-in (Cohen &
Welling 2016, §8.1) from the 10k MNIST test images, each rotated by a seeded
uniform random angle (:func:`~gdl_zoo.data.mnist.rotated_mnist`), split 8k train /
2k test.  Every model trains with the same optimiser, epochs and batches at about
the same parameter budget (~22k):

- ``cnn``: :class:`~gdl_zoo.grids.cnn.ShiftCNN`, channels (20, 32, 56);
- ``z2cnn``: the paper's Z2CNN baseline, :class:`~gdl_zoo.groups.gcnn.P4CNN` with
  ``group="C1"`` and 20 channels (the same architecture without rotations);
- ``p4cnn``: :class:`~gdl_zoo.groups.gcnn.P4CNN` (10 fields × 4);
- any ``extra_models`` (e.g. a steerable CNN), given as factories.

Shapes: images ``(N, 1, 28, 28)``, logits ``(N, 10)``.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.bench.datasets import mnist_digits
from gdl_zoo.bench.measure import time_interleaved
from gdl_zoo.bench.suites import BenchContext, Record, ratio
from gdl_zoo.data.mnist import rotate_images, rotated_mnist
from gdl_zoo.grids.cnn import ShiftCNN
from gdl_zoo.groups.gcnn import P4CNN
from gdl_zoo.groups.gconv import GroupConv

__all__ = ["SPEED_GOAL", "gconv_speed", "rotated_mnist_accuracy", "rotation_curve"]

#: The largest acceptable time ratio of a group convolution to a plain ``Conv2d``.
SPEED_GOAL = 1.15
_KERNEL = 3

#: (train size, test size, epochs) for quick and full runs
QUICK = (2000, 500, 3)
FULL = (8000, 2000, 10)
BATCH_SIZE = 64
LEARNING_RATE = 3e-3


def _fwd_bwd(module: nn.Module, x: torch.Tensor, wrap: Callable | None = None) -> Callable:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        out = module(x if wrap is None else wrap(x))
        out = out if wrap is None else out.tensor
        out.square().mean().backward()

    return step


def _escnn_conv(group: str, fields: int, device: torch.device):
    """``(R2Conv, wrap, build seconds)`` on ``fields`` regular fields, or ``None`` without escnn."""
    try:
        with warnings.catch_warnings():  # escnn's import uses the deprecated torch.jit.script
            warnings.simplefilter("ignore", DeprecationWarning)
            from escnn import gspaces
            from escnn import nn as enn
    except ImportError:
        return None
    space = gspaces.rot2dOnR2(4) if group == "C4" else gspaces.flipRot2dOnR2(4)
    field_type = enn.FieldType(space, fields * [space.regular_repr])
    start = time.perf_counter()
    conv = enn.R2Conv(field_type, field_type, _KERNEL, padding=_KERNEL // 2)
    build = time.perf_counter() - start
    return conv.to(device), (lambda x: enn.GeometricTensor(x, field_type)), build


def gconv_speed(
    context: BenchContext, *, batch_size: int = 32, size: int = 32, fields: int = 16
) -> list[Record]:
    """Forward+backward time of p4/p4m group convolutions vs ``Conv2d`` and escnn, in one run.

    For ``G ∈ {C4, D4}``: input ``(B, F·|G|, S, S)`` (default B = 32, F = 16,
    S = 32, in quick and full runs alike), 3×3 filters, padding 1, timed in
    ``context.repeat`` interleaved rounds after one warm-up call.  Records per
    group: the time of each implementation, the ratios to ``Conv2d`` (goal ≤
    :data:`SPEED_GOAL`, in ``details["meets_goal"]``) and to escnn, and the
    construction time of our layer and of escnn's (its basis build; the first C4
    build of a process is the cold one).  Without escnn its records carry ``nan``
    and ``details["skipped"]``.

    Args:
        context: seed, device and ``repeat``.
        batch_size: ``B``.
        size: ``S``.
        fields: ``F``, regular fields in and out.
    """
    check_positive_int(batch_size, "batch_size")
    check_positive_int(size, "size")
    check_positive_int(fields, "fields")
    device = torch.device(context.device)
    gen = context.generator()
    records: list[Record] = []
    for group in ("C4", "D4"):
        order = 4 if group == "C4" else 8
        channels = fields * order
        shape = f"{batch_size}×{channels}×{size}×{size}, k={_KERNEL}"
        details = {"input": shape, "device": context.device, "group": group}
        x = torch.randn(batch_size, channels, size, size, generator=gen).to(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(context.seed)
            start = time.perf_counter()
            ours = GroupConv(fields, fields, _KERNEL, group, padding=_KERNEL // 2)
            build_ours = time.perf_counter() - start
            plain = nn.Conv2d(channels, channels, _KERNEL, padding=_KERNEL // 2)
            escnn = _escnn_conv(group, fields, device)
        steps = {
            "GroupConv": _fwd_bwd(ours.to(device), x),
            "nn.Conv2d": _fwd_bwd(plain.to(device), x),
        }
        if escnn is not None:
            steps["escnn R2Conv"] = _fwd_bwd(escnn[0], x, escnn[1])
        timings = time_interleaved(steps, context.repeat)
        name = f"GroupConv {group}"
        for label, timing in timings.items():
            records.append(
                Record(
                    name if label == "GroupConv" else f"{label} ({group} sizes)",
                    "fwd+bwd time",
                    timing.median,
                    "s",
                    details={**details, **timing.as_dict()},
                )
            )
        to_plain = ratio(timings["GroupConv"].median, timings["nn.Conv2d"].median)
        records.append(
            Record(
                name,
                "time ratio vs nn.Conv2d",
                to_plain,
                "ratio",
                details={**details, "goal": SPEED_GOAL, "meets_goal": to_plain <= SPEED_GOAL},
            )
        )
        skipped = {"skipped": "escnn is not installed (pip install 'gdl-zoo[escnn]')"}
        to_escnn = math.nan
        if escnn is not None:
            to_escnn = ratio(timings["GroupConv"].median, timings["escnn R2Conv"].median)
        records += [
            Record(
                name,
                "time ratio vs escnn R2Conv",
                to_escnn,
                "ratio",
                details=details if escnn is not None else {**details, **skipped},
            ),
            Record(name, "build time", build_ours, "s", details=details),
            Record(
                f"escnn R2Conv ({group} regular, {_KERNEL}×{_KERNEL})",
                "basis build time",
                math.nan if escnn is None else escnn[2],
                "s",
                details=details if escnn is not None else {**details, **skipped},
            ),
        ]
    return records


def _builtin_models() -> dict[str, Callable[[], nn.Module]]:
    return {
        "cnn": lambda: ShiftCNN(1, 10, channels=(20, 32, 56)),
        "z2cnn": lambda: P4CNN(1, 10, channels=20, group="C1"),
        "p4cnn": lambda: P4CNN(1, 10, channels=10, group="C4"),
    }


def _error(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(chunk).argmax(-1) for chunk in x.split(500)])
    model.train()
    return 100.0 * float((predictions != labels).double().mean())


def _skipped(name: str, metric: str, reason: str) -> list[Record]:
    return [Record(name, metric, math.nan, "%", details={"skipped": reason})]


def _check_sizes(train_size: int, test_size: int, available: int, source: str) -> None:
    if train_size + test_size > available:
        raise ValueError(
            f"train_size + test_size: expected at most the {available} images of the "
            f"{source}, got {train_size} + {test_size}"
        )


def _train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    seed: int,
) -> tuple[float, float]:
    """Adam (lr 3e-3, cosine decay to 0), batch 64, batches seeded by ``seed``.

    Returns:
        ``(final training loss, training wall seconds)``.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    steps = epochs * math.ceil(len(y) / BATCH_SIZE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    batches = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(len(y), generator=batches).split(BATCH_SIZE):
            batch = batch.to(x.device)
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return float(loss.detach()), time.perf_counter() - start


def _seeded(factory: Callable[[], nn.Module], seed: int, device: torch.device) -> nn.Module:
    """``factory()`` initialised under ``seed`` without touching the global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory().to(device)


def _models(extra_models: Mapping[str, Callable[[], nn.Module]] | None, builtin: dict) -> dict:
    models = dict(builtin)
    for name, factory in (extra_models or {}).items():
        if name in models:
            raise ValueError(f"extra_models: expected a new name, got {name!r} (built in)")
        if not callable(factory):
            raise TypeError(f"extra_models[{name!r}]: expected a factory, got {factory!r}")
        models[name] = factory
    return models


def rotated_mnist_accuracy(
    context: BenchContext,
    extra_models: Mapping[str, Callable[[], nn.Module]] | None = None,
    *,
    epochs: int | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
) -> list[Record]:
    """Train each model on rotated MNIST and record its test error.

    The 10k MNIST test digits are rotated by uniform random angles (seeded by
    ``context.seed``), shuffled and split into train and test images.  Every
    model is initialised under ``context.seed`` (inside
    :func:`torch.random.fork_rng`, leaving the global generator untouched) and
    trained with Adam (lr 3e-3, cosine decay to 0), batch 64, on the same
    batches for the same number of epochs; the test error uses evaluation-mode
    batch norm.

    Args:
        context: seed, device, ``data_dir`` and ``quick`` (2000 train / 500 test
            images, 3 epochs, from the embedded sample when there is no data
            directory) versus full (8000 / 2000, 10 epochs; a single skipped
            record without the data directory).
        extra_models: more models to compare, ``name -> factory``; each factory
            returns a module mapping ``(B, 1, 28, 28)`` images to ``(B, 10)`` logits.
        epochs: override the number of epochs.
        train_size: override the number of training images.
        test_size: override the number of test images (train + test at most the
            number of images available).

    Returns:
        One :class:`~gdl_zoo.bench.suites.Record` per model, metric
        ``"test error"``, unit ``"%"``, with the parameter count and the training
        wall time in ``details``.
    """
    default_train, default_test, default_epochs = QUICK if context.quick else FULL
    epochs = check_positive_int(default_epochs if epochs is None else epochs, "epochs")
    train_size = check_positive_int(
        default_train if train_size is None else train_size, "train_size"
    )
    test_size = check_positive_int(default_test if test_size is None else test_size, "test_size")
    models = _models(extra_models, _builtin_models())
    digits = mnist_digits(context)
    if isinstance(digits, str):
        return _skipped("rotated_mnist", "test error", digits)
    images, labels, source = digits
    _check_sizes(train_size, test_size, len(labels), source)
    generator = context.generator()
    x, y, _ = rotated_mnist(images, labels, generator)
    order = torch.randperm(len(y), generator=generator)
    device = torch.device(context.device)
    x, y = x[order].to(device), y[order].to(device)
    x_train, y_train = x[:train_size], y[:train_size]
    x_test, y_test = x[train_size : train_size + test_size], y[train_size : train_size + test_size]
    records = []
    for name, factory in models.items():
        model = _seeded(factory, context.seed, device)
        loss, train_seconds = _train(model, x_train, y_train, epochs, context.seed)
        records.append(
            Record(
                name,
                "test error",
                _error(model, x_test, y_test),
                "%",
                details={
                    "params": sum(p.numel() for p in model.parameters()),
                    "epochs": epochs,
                    "train_size": train_size,
                    "test_size": test_size,
                    "batch_size": BATCH_SIZE,
                    "lr": LEARNING_RATE,
                    "final_train_loss": loss,
                    "train_seconds": train_seconds,
                    "device": context.device,
                    "data": source,
                },
            )
        )
    return records


#: Test rotation angles of :func:`rotation_curve`, in degrees.
CURVE_ANGLES = tuple(range(0, 181, 15))
#: (train size, test size, epochs) of :func:`rotation_curve` for quick and full runs
CURVE_QUICK = (2000, 500, 2)
CURVE_FULL = (8000, 2000, 5)


def rotation_curve(
    context: BenchContext,
    extra_models: Mapping[str, Callable[[], nn.Module]] | None = None,
    *,
    epochs: int | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
) -> list[Record]:
    """Train on upright digits, then test on digits rotated by each of :data:`CURVE_ANGLES`.

    The symmetry prior at work: a CNN recognises digits only near the training
    orientation, a P4CNN is exactly invariant to quarter turns (its accuracy at
    90° and 180° equals the one at 0°) and a C8 steerable CNN also recovers at
    45° multiples up to interpolation.  Images are scaled to [0, 1]; the test
    set is rotated with bilinear interpolation (:func:`rotate_images`).  Training
    as in :func:`rotated_mnist_accuracy` (same batches and seed for all).

    Args:
        context: seed, device, ``data_dir`` and ``quick`` (2000 train / 500 test,
            2 epochs; the embedded sample without a data directory) versus full
            (8000 / 2000, 5 epochs).
        extra_models: more ``name -> factory`` models, as in
            :func:`rotated_mnist_accuracy`.
        epochs: override the number of epochs.
        train_size: override the number of (upright) training images.
        test_size: override the number of test images.

    Returns:
        Per model: metric ``"test accuracy under rotation"`` (unit ``%``): the
        mean over the angles, with ``details["curve"]`` holding the accuracy at
        each angle.
    """
    default_train, default_test, default_epochs = CURVE_QUICK if context.quick else CURVE_FULL
    epochs = check_positive_int(default_epochs if epochs is None else epochs, "epochs")
    train_size = check_positive_int(
        default_train if train_size is None else train_size, "train_size"
    )
    test_size = check_positive_int(default_test if test_size is None else test_size, "test_size")
    models = _models(extra_models, {k: v for k, v in _builtin_models().items() if k != "z2cnn"})
    digits = mnist_digits(context)
    if isinstance(digits, str):
        return _skipped("rotation_curve", "test accuracy under rotation", digits)
    images, labels, source = digits
    _check_sizes(train_size, test_size, len(labels), source)
    generator = context.generator()
    order = torch.randperm(len(labels), generator=generator)[: train_size + test_size]
    device = torch.device(context.device)
    x = (images[order].unsqueeze(1).to(torch.float32) / 255.0).to(device)
    y = labels[order].to(device)
    x_train, y_train, x_test, y_test = (
        x[:train_size],
        y[:train_size],
        x[train_size:],
        y[train_size:],
    )
    rotated = {
        angle: rotate_images(x_test, torch.full((len(y_test),), math.radians(angle)))
        for angle in CURVE_ANGLES
    }
    records = []
    for name, factory in models.items():
        model = _seeded(factory, context.seed, device)
        loss, train_seconds = _train(model, x_train, y_train, epochs, context.seed)
        accuracy = [100.0 - _error(model, rotated[a], y_test) for a in CURVE_ANGLES]
        records.append(
            Record(
                name,
                "test accuracy under rotation",
                statistics.fmean(accuracy),
                "%",
                details={
                    "curve": {"x": list(CURVE_ANGLES), "y": accuracy, "x_label": "rotation (°)"},
                    "params": sum(p.numel() for p in model.parameters()),
                    "epochs": epochs,
                    "train_size": train_size,
                    "test_size": len(y_test),
                    "final_train_loss": loss,
                    "train_seconds": train_seconds,
                    "data": source,
                },
            )
        )
    return records
