"""The training loop: stochastic gradient descent on a :class:`TeacherTask`, alone or data-parallel.

One step on a global batch ``I`` of ``B`` sample indices (the same draw on
every rank) minimises the mean loss::

    L(θ) = (1/B) Σ_{i ∈ I} ℓ_i(θ),    θ ← SGD(θ, ∇L(θ))

With ``R`` ranks under :class:`~torch.nn.parallel.DistributedDataParallel`,
rank ``r`` takes the shard ``I_r = I[r::R]`` (``B/R`` samples) and
back-propagates ``(R/B) Σ_{i ∈ I_r} ℓ_i``, the mean over its shard; DDP sums
the gradients over ranks and divides by ``R``, which gives ``∇L`` exactly.  So
``R`` ranks follow the loss trajectory of one process with the same global
batch, up to the order of floating-point sums.  Gradients of a shard's
samples are accumulated locally (:meth:`~torch.nn.parallel.DistributedDataParallel.no_sync`)
and all-reduced once, with the last sample's backward pass.
Random layers (dropout) draw from torch's generator seeded afresh for each
sample and step, from the batch generator, so the masks of a sample do not
depend on which rank computes it; torch's global generator is left as it was.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gdl_zoo._validation import check_positive_int
from gdl_zoo.training.distributed import shard_batch, sum_over_ranks
from gdl_zoo.training.task import TeacherTask, build_seeded
from gdl_zoo.zoo import ModelCard

__all__ = ["TrainResult", "train"]


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained student (the module itself, not its DDP wrapper).
        losses: ``L(θ_t)`` on the global batch of step ``t``, before its update.
        world_size: the number of ranks that trained.
        shard_size: samples per rank and step, ``B / world_size``.
    """

    model: nn.Module
    losses: tuple[float, ...]
    world_size: int
    shard_size: int


def _check_rate(value: float, name: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not (value > 0 if positive else value >= 0) or value != value or value == float("inf"):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}: expected a finite number {bound}, got {value}")
    return float(value)


def train(
    card: ModelCard,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    momentum: float = 0.0,
    num_samples: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    process_group: dist.ProcessGroup | None = None,
) -> TrainResult:
    """Train the default model of ``card`` to match a frozen teacher (:class:`TeacherTask`).

    Every rank builds the same data set, the same student (from ``seed``) and
    draws the same global batches (a generator seeded with ``seed``), so the
    only thing ranks split is the work.

    Args:
        card: the model card.
        steps: optimiser steps.
        batch_size: ``B``, the global batch; the number of ranks must divide it.
        lr: the SGD learning rate.
        seed: seeds the data, the teacher (``seed + 1``), the student and the batches.
        momentum: SGD momentum.
        num_samples: ``S``, the data-set size (default ``4 B``); batches are drawn
            without replacement from it.
        dtype: the floating dtype of model and data.
        device: where this rank computes (``cuda:LOCAL_RANK`` under nccl).
        process_group: the ranks to train with (e.g. ``torch.distributed.group.WORLD``);
            ``None`` trains in this process alone.

    Returns:
        The trained model and the loss of every step, the same on every rank.

    Raises:
        ValueError: non-positive ``steps``/``batch_size``/``lr``, a negative
            momentum, ``B > S``, a ``B`` that the ranks do not divide, or a loss
            that stopped being finite (the step is too large).
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = _check_rate(lr, "lr", positive=True)
    momentum = _check_rate(momentum, "momentum", positive=False)
    num_samples = 4 * batch_size if num_samples is None else num_samples
    num_samples = check_positive_int(num_samples, "num_samples")
    if batch_size > num_samples:
        raise ValueError(
            f"batch_size: expected at most num_samples={num_samples}, got {batch_size}"
        )
    world_size = 1 if process_group is None else dist.get_world_size(process_group)
    rank = 0 if process_group is None else dist.get_rank(process_group)
    if batch_size % world_size:
        raise ValueError(
            f"batch_size: expected a multiple of the {world_size} ranks, got {batch_size}"
        )
    device = torch.device(device)
    task = TeacherTask(card, num_samples=num_samples, seed=seed, dtype=dtype, device=device)
    model = build_seeded(card, seed).to(device=device, dtype=dtype).train()
    if process_group is None:
        wrapped: nn.Module = model
    else:
        device_ids = [device] if device.type == "cuda" else None
        wrapped = DistributedDataParallel(model, device_ids=device_ids, process_group=process_group)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    batches = torch.Generator().manual_seed(seed)
    weight = world_size / batch_size
    if device.type == "cuda":
        rng_devices = [torch.cuda.current_device() if device.index is None else device.index]
    else:
        rng_devices = []
    losses = []
    for step in range(steps):
        batch = torch.randperm(num_samples, generator=batches)[:batch_size]
        sample_seeds = torch.randint(2**62, (num_samples,), generator=batches).tolist()
        shard = shard_batch(batch, rank, world_size).tolist()
        optimizer.zero_grad(set_to_none=True)
        shard_loss = torch.zeros((), dtype=dtype, device=device)
        for k, index in enumerate(shard):
            last = k == len(shard) - 1
            sync = nullcontext() if process_group is None or last else wrapped.no_sync()
            with sync, torch.random.fork_rng(devices=rng_devices):
                torch.manual_seed(sample_seeds[index])  # dropout: the sample's masks, on any rank
                loss = task.loss(wrapped, index)
                (weight * loss).backward()
            shard_loss += loss.detach()
        mean_loss = float(sum_over_ranks(shard_loss, process_group)) / batch_size
        if not math.isfinite(mean_loss):  # the same value on every rank: all of them stop
            raise ValueError(
                f"step {step}: expected a finite loss, got {mean_loss}; lower the lr (got {lr})"
            )
        losses.append(mean_loss)
        optimizer.step()
    return TrainResult(model, tuple(losses), world_size, batch_size // world_size)
