"""``gdl-zoo train``: train a registered model on its teacher task, alone or under ``torchrun``.

One process::

    gdl-zoo train gcn --steps 50 --batch-size 8 --lr 0.05

Two data-parallel processes on one machine, the same trajectory::

    torchrun --standalone --nproc_per_node 2 -m gdl_zoo.cli train gcn --steps 50 --batch-size 8

Only rank 0 prints and writes files; every rank returns the same exit status.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

__all__ = ["add_train_command", "run_train_command"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to the ``subparsers`` of ``gdl-zoo``; returns its parser."""
    p_train = subparsers.add_parser(
        "train",
        help="train a model on its teacher task (data-parallel under torchrun)",
        description="Regress a frozen teacher of the same card with SGD; under torchrun, "
        "the global batch is split between the ranks (DistributedDataParallel).",
    )
    p_train.add_argument("model", metavar="NAME", help="the registered model to train")
    p_train.add_argument("--steps", type=int, default=20, help="optimiser steps (default 20)")
    p_train.add_argument(
        "--batch-size", type=int, default=8, help="the GLOBAL batch, split between ranks (8)"
    )
    p_train.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (0.01)")
    p_train.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (0)")
    p_train.add_argument(
        "--samples", type=int, default=None, help="data-set size (default 4 x batch size)"
    )
    p_train.add_argument("--seed", type=int, default=0, help="seed of data, weights, batches")
    p_train.add_argument("--dtype", choices=list(_DTYPES), default="float32")
    p_train.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="auto: CUDA when available (rank r uses cuda:LOCAL_RANK), else CPU",
    )
    p_train.add_argument("--json", action="store_true", help="print the loss log as JSON")
    p_train.add_argument("--out", type=Path, default=None, help="write the JSON loss log here")
    p_train.add_argument(
        "--save", type=Path, default=None, help="write the trained state_dict here (torch.save)"
    )
    return p_train


def run_train_command(args: argparse.Namespace) -> int:
    """Run ``gdl-zoo train`` for parsed ``args``; returns the exit status (0, or 2 on bad input)."""
    from gdl_zoo import zoo
    from gdl_zoo.cli import _error
    from gdl_zoo.training.distributed import (
        default_backend,
        process_group_from_environment,
        rank_info,
    )
    from gdl_zoo.training.loop import train

    try:
        card = zoo.get(args.model)
    except KeyError as error:
        return _error(error.args[0])
    if args.device == "cuda" and not torch.cuda.is_available():
        return _error("--device cuda was asked for, but torch sees no CUDA device")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    try:
        info = rank_info()
    except ValueError as error:
        return _error(str(error))
    device = torch.device(f"cuda:{info.local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    with process_group_from_environment(device) as (info, group):
        try:
            result = train(
                card,
                steps=args.steps,
                batch_size=args.batch_size,
                lr=args.lr,
                seed=args.seed,
                momentum=args.momentum,
                num_samples=args.samples,
                dtype=_DTYPES[args.dtype],
                device=device,
                process_group=group,
            )
        except (ValueError, TypeError, ImportError) as error:
            return _error(str(error)) if info.rank == 0 else 2
    if info.rank != 0:
        return 0
    log = {
        "model": card.name,
        "world_size": result.world_size,
        "backend": default_backend(device) if group is not None else None,
        "device": device.type,
        "dtype": args.dtype,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "shard_size": result.shard_size,
        "num_samples": args.samples or 4 * args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "seed": args.seed,
        "losses": list(result.losses),
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        torch.save(result.model.state_dict(), args.save)
    if args.json:
        print(json.dumps(log, indent=2))
    else:
        where = f"{result.world_size} rank(s)" + (f", {log['backend']}" if log["backend"] else "")
        print(
            f"{card.name}: {args.steps} steps on {where}, global batch {args.batch_size} "
            f"({result.shard_size} per rank): loss {result.losses[0]:.4e} -> "
            f"{result.losses[-1]:.4e}"
        )
    return 0
