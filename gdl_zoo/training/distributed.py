"""Data parallelism with PyTorch's own engine: process groups from ``torchrun`` and batch shards.

``torchrun --nproc_per_node N`` starts N copies of a program and tells each its
place through the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``).  :func:`process_group_from_environment`
turns that into an initialised :mod:`torch.distributed` process group (gloo on
CPU, nccl on CUDA) for the duration of a ``with`` block, and
:func:`shard_batch` splits one global batch of sample indices between the
ranks the way :class:`torch.utils.data.distributed.DistributedSampler` splits a
dataset: rank ``r`` of ``R`` takes positions ``r, r + R, r + 2R, …``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from gdl_zoo._validation import check_positive_int

__all__ = [
    "RankInfo",
    "rank_info",
    "default_backend",
    "process_group_from_environment",
    "shard_batch",
    "sum_over_ranks",
]


@dataclass(frozen=True)
class RankInfo:
    """Where this process sits in a data-parallel job.

    Attributes:
        rank: this process's global rank, ``0 ≤ rank < world_size``.
        world_size: the number of processes (1 for a plain single-process run).
        local_rank: the rank on this machine (selects the CUDA device).
    """

    rank: int
    world_size: int
    local_rank: int

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"${name}: expected an integer, got {value!r}") from None


def rank_info(environ: Mapping[str, str] | None = None) -> RankInfo:
    """This process's rank, read from the variables ``torchrun`` sets (``os.environ`` by default).

    Without ``WORLD_SIZE`` the process is alone: rank 0 of 1.

    Raises:
        ValueError: a variable that is not an integer, or ranks outside ``[0, WORLD_SIZE)``.
    """
    environ = os.environ if environ is None else environ
    world_size = _env_int(environ, "WORLD_SIZE", 1)
    rank = _env_int(environ, "RANK", 0)
    local_rank = _env_int(environ, "LOCAL_RANK", rank)
    if world_size < 1 or not 0 <= rank < world_size or not 0 <= local_rank < world_size:
        raise ValueError(
            f"expected 0 <= RANK, LOCAL_RANK < WORLD_SIZE, got RANK={rank}, "
            f"LOCAL_RANK={local_rank}, WORLD_SIZE={world_size}"
        )
    return RankInfo(rank, world_size, local_rank)


def default_backend(device: torch.device | str) -> str:
    """The collective backend for ``device``: ``"nccl"`` on CUDA, ``"gloo"`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


@contextmanager
def process_group_from_environment(
    device: torch.device | str = "cpu", environ: Mapping[str, str] | None = None
) -> Iterator[tuple[RankInfo, dist.ProcessGroup | None]]:
    """Initialise the default process group of a ``torchrun`` job for a ``with`` block.

    A single process (no ``WORLD_SIZE``, or ``WORLD_SIZE=1``) gets no group; a
    group that the caller initialised already is used as it is and left open.
    Otherwise :func:`torch.distributed.init_process_group` runs with the
    backend of :func:`default_backend` and the ``env://`` rendezvous that
    ``torchrun`` prepares, and the group is destroyed when the block ends.

    Args:
        device: where the job computes; decides gloo or nccl.
        environ: the environment to read (default ``os.environ``).

    Yields:
        ``(info, group)``: the rank and the group to reduce over (``None`` when alone).

    Raises:
        ValueError: ``WORLD_SIZE > 1`` but ``torch.distributed`` is not available
            in this build of torch.
    """
    info = rank_info(environ)
    if dist.is_available() and dist.is_initialized():
        yield RankInfo(dist.get_rank(), dist.get_world_size(), info.local_rank), dist.group.WORLD
        return
    if not info.distributed:
        yield info, None
        return
    if not dist.is_available():
        raise ValueError(
            f"WORLD_SIZE={info.world_size}: expected a torch build with torch.distributed, "
            "got one without it"
        )
    dist.init_process_group(
        backend=default_backend(device), rank=info.rank, world_size=info.world_size
    )
    try:
        yield info, dist.group.WORLD
        # no rank tears its gloo threads down while another still talks to it: a rank
        # that left early made the other abort at exit ("terminate called without an
        # active exception"); after an error the block ends at once, since a barrier
        # could wait forever on a rank that died
        dist.barrier()
    finally:
        gc.collect()  # a DistributedDataParallel left in a reference cycle goes before its group
        dist.destroy_process_group()


def shard_batch(indices: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's share of a global batch, ``indices[rank::world_size]``.

    Every rank gets the same number of samples, so the mean loss over each shard,
    averaged over ranks as DDP averages gradients, is the mean over the global batch.

    Args:
        indices: the global batch of sample indices, ``(B,)``, the same on every rank.
        rank: this rank, ``0 ≤ rank < world_size``.
        world_size: ``R``, which must divide ``B``.

    Shapes:
        indices: ``(B,)``; result ``(B / R,)``.

    Raises:
        ValueError: ``R`` does not divide ``B``, or the rank is out of range.
    """
    world_size = check_positive_int(world_size, "world_size")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank: expected 0 <= rank < {world_size}, got {rank}")
    if indices.dim() != 1 or len(indices) % world_size:
        raise ValueError(
            f"indices: expected a (B,) batch with B divisible by the {world_size} ranks, "
            f"got shape {tuple(indices.shape)}"
        )
    return indices[rank::world_size]


def sum_over_ranks(tensor: torch.Tensor, group: dist.ProcessGroup | None) -> torch.Tensor:
    """``Σ_r tensor_r`` over the ranks of ``group``; ``tensor`` itself when ``group`` is ``None``.

    The input is not modified (the reduction runs on a detached copy), so the
    sum carries no gradient: it serves values and metric products, not losses
    to differentiate (DDP reduces the gradients of those).
    """
    if group is None:
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    return total
