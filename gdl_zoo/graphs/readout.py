"""Permutation-invariant readouts and the node- or graph-level output heads of the graph models.

A graph-level output pools node states over each graph of the batch,
``y_b = ⊕_{i : batch_i = b} h_i`` with ``⊕`` a sum, mean or max, which is
invariant to relabelling the nodes of each graph (the sum and mean up to the
round-off of reordered additions); a node-level output keeps one row per
node, which relabelling permutes.  :class:`GraphModel` holds what every
model of the domain shares: its checked input width, task and readout, and
the task's pooling; :func:`output_head` builds the map after the last layer.

Shapes:
    N: nodes over the batch.  B: graphs.  C: channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_floating, check_positive_int

__all__ = [
    "TASKS",
    "READOUTS",
    "check_task",
    "check_readout",
    "global_pool",
    "MLP",
    "output_head",
    "GraphModel",
]

#: The two kinds of output a graph model can have.
TASKS = ("node", "graph")
#: The per-graph reductions of :func:`global_pool`.
READOUTS = ("sum", "mean", "max")


def check_task(task: str) -> str:
    """Require ``task`` in :data:`TASKS` and return it."""
    if task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, got {task!r}")
    return task


def check_readout(readout: str) -> str:
    """Require ``readout`` in :data:`READOUTS` and return it."""
    if readout not in READOUTS:
        raise ValueError(f"readout: expected one of {READOUTS}, got {readout!r}")
    return readout


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
    if reduce not in READOUTS:
        raise ValueError(f"reduce: expected one of {READOUTS}, got {reduce!r}")
    if batch is None:
        batch = torch.zeros(h.shape[0], dtype=torch.long, device=h.device)
    out = h.new_zeros(num_graphs, h.shape[1])
    index = batch.long()[:, None].expand_as(h)
    if reduce == "max":
        return out.scatter_reduce(0, index, h, "amax", include_self=False)
    # scatter_add, not index_add: torch 2.13's inductor miscompiles this index_add when a
    # graph pools several states (GIN's readout of every layer came out 10% off)
    out = out.scatter_add(0, index, h)
    if reduce == "mean":
        ones = h.new_ones(h.shape[0])  # index_add, not bincount: its size is static under compile
        counts = h.new_zeros(num_graphs).index_add(0, batch.long(), ones).clamp(min=1)
        out = out / counts[:, None]
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
        self.in_channels = channels[0]

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """The MLP of each row of a finite ``(*, C_in)`` tensor on the MLP's device and dtype."""
        check_floating(input, "input", like=self)
        if input.dim() == 0 or input.shape[-1] != self.in_channels:
            raise ValueError(
                f"input: expected shape (*, {self.in_channels}), got {tuple(input.shape)}"
            )
        return super().forward(input)


def output_head(task: str, channels: int, out_channels: int) -> nn.Module:
    """The map after a model's last layer: per node a ``Linear``, per graph a two-layer MLP.

    The node task applies ``Linear(C, C')`` to every node state; the graph
    task applies ``MLP((C, C, C'))`` (the ``ρ`` of Deep Sets) to the pooled states.

    Shapes:
        input: ``(N, C)`` (node task) or ``(B, C)`` (graph task);
        output: ``(N, C')`` or ``(B, C')``.
    """
    if check_task(task) == "node":
        return nn.Linear(channels, out_channels)
    return MLP((channels, channels, out_channels))


class GraphModel(nn.Module):
    """Base of the graph models: checked ``in_channels``, ``task`` and ``readout``, and the pooling.

    A node-task model returns one row per node (relabelling the nodes permutes
    it); a graph-task model pools the rows of each graph with ``readout``
    (relabelling leaves it unchanged).

    Args:
        in_channels: ``C`` of the node features.
        task: ``"node"`` or ``"graph"``.
        readout: ``"sum"``, ``"mean"`` or ``"max"``, the graph task's pooling.

    Shapes:
        as :meth:`pool`.
    """

    def __init__(self, in_channels: int, task: str, readout: str = "sum"):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.task = check_task(task)
        self.readout = check_readout(readout)

    def pool(self, h: torch.Tensor, batch: torch.Tensor | None, num_graphs: int) -> torch.Tensor:
        """The graph task's ``y_b = ⊕_{i ∈ G_b} h_i``; the node task's ``h``, unchanged.

        Shapes:
            h: ``(N, C)``; batch: ``(N,)`` or ``None``;
            output: ``(B, C)`` (graph task) or ``(N, C)`` (node task).
        """
        if self.task == "node":
            return h
        return global_pool(h, batch, num_graphs, self.readout)
