"""Permutation-invariant readouts and the node- or graph-level output heads of the graph models.

A graph-level output pools node states over each graph of the batch,
``y_b = ⊕_{i : batch_i = b} h_i`` with ``⊕`` a sum, mean or max, which is
invariant to relabelling the nodes of each graph (the sum and mean up to the
round-off of reordered additions); a node-level output keeps one row per
node, which relabelling permutes.

Shapes:
    N: nodes over the batch.  B: graphs.  C: channels.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TASKS", "check_task", "global_pool", "MLP"]

#: The two kinds of output a graph model can have.
TASKS = ("node", "graph")
_REDUCTIONS = ("sum", "mean", "max")


def check_task(task: str) -> str:
    """Require ``task`` in :data:`TASKS` and return it."""
    if task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, got {task!r}")
    return task


def global_pool(
    h: torch.Tensor, batch: torch.Tensor | None, num_graphs: int, reduce: str = "sum"
) -> torch.Tensor:
    """Pool node states per graph: ``y_b = ⊕_{i ∈ G_b} h_i``; empty graphs give zeros.

    Args:
        h: node states.
        batch: the sorted graph index of each node (``None``: one graph).
        num_graphs: ``B``.
        reduce: ``"sum"``, ``"mean"`` or ``"max"``.

    Shapes:
        h: ``(N, C)``; batch: ``(N,)``; output: ``(B, C)``.
    """
    if reduce not in _REDUCTIONS:
        raise ValueError(f"reduce: expected one of {_REDUCTIONS}, got {reduce!r}")
    if batch is None:
        batch = torch.zeros(h.shape[0], dtype=torch.long, device=h.device)
    out = h.new_zeros(num_graphs, h.shape[1])
    index = batch.long()[:, None].expand_as(h)
    if reduce == "max":
        return out.scatter_reduce(0, index, h, "amax", include_self=False)
    out = out.index_add(0, batch.long(), h)
    if reduce == "mean":
        counts = torch.bincount(batch.long(), minlength=num_graphs).clamp(min=1)
        out = out / counts[:, None].to(h.dtype)
    return out


class MLP(nn.Sequential):
    """A multilayer perceptron ``Linear → ReLU → … → Linear`` applied to each row.

    Args:
        channels: the widths ``(C_in, C_1, …, C_out)``, at least two.
        batch_norm: a ``BatchNorm1d`` after every hidden linear layer (as in GIN).
        dropout: dropout probability before every linear layer but the first.

    Shapes:
        input: ``(*, C_in)``; output: ``(*, C_out)``.
    """

    def __init__(self, channels: tuple[int, ...], batch_norm: bool = False, dropout: float = 0.0):
        channels = tuple(channels)
        if len(channels) < 2 or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels
        ):
            raise ValueError(f"channels: expected at least two positive ints, got {channels!r}")
        layers: list[nn.Module] = []
        for k, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            if k and dropout:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.Linear(c_in, c_out))
            if k < len(channels) - 2:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(c_out))
                layers.append(nn.ReLU())
        super().__init__(*layers)
