"""How node permutations act on batched graphs: features, edges, edge features, batch, positions.

A batch of ``B`` graphs with ``n_1, …, n_B`` nodes (stored contiguously, as
PyTorch Geometric does) has the symmetry group ``Σ_{n_1} × … × Σ_{n_B}``:
relabelling the nodes of each graph among themselves.  An element is one
permutation ``g`` of all ``N = Σ n_b`` nodes that maps every graph's block of
positions onto itself, with the convention of
:class:`~gdl_zoo.symmetry.groups.SymmetricGroup`: node ``i`` of the relabelled
graph is node ``g[i]`` of the original.  It acts on each part of a structured
input according to that part's *role*:

- ``"node"`` (features ``x``, positions ``pos``, node-level outputs):
  ``(g.x)[i] = x[g[i]]``;
- ``"edge_index"``: an edge ``j → i`` becomes ``g⁻¹[j] → g⁻¹[i]`` (the same
  edge between the relabelled nodes), in the same edge order;
- ``"edge"`` (edge features, one row per column of ``edge_index``): unchanged,
  since the edge order is kept;
- ``"batch"``: unchanged (``g`` preserves every graph's block);
- ``"graph"`` (graph-level outputs, labels): unchanged, i.e. invariant;
- ``None``: a part the action leaves alone (``None`` entries too).

Shapes:
    N: nodes over the batch.
    E: directed edges.
    B: graphs in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import SymmetricGroup

__all__ = ["NodePermutations", "NodePermutation", "ROLES"]

#: The roles a part of a structured graph input can play.
ROLES = ("node", "edge_index", "edge", "batch", "graph", None)


class NodePermutations(SymmetricGroup):
    """The group ``Σ_{n_1} × … × Σ_{n_B}`` of relabellings within each graph of a batch.

    The subgroup of :class:`~gdl_zoo.symmetry.groups.SymmetricGroup` ``Σ_N``
    (whose group law it inherits) of the ``LongTensor`` permutations of shape
    ``(N,)`` that map each graph's contiguous block of positions onto itself.

    Args:
        sizes: ``(n_1, …, n_B)``, the node count of each graph (each ≥ 1).
    """

    def __init__(self, sizes: Sequence[int]):
        sizes = tuple(sizes)
        if not sizes or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
            raise ValueError(
                f"sizes: expected a non-empty sequence of positive ints, got {sizes!r}"
            )
        super().__init__(sum(sizes))
        self.sizes = sizes
        self.offsets = tuple(sum(sizes[:b]) for b in range(len(sizes)))
        self.name = " x ".join(f"S{n}" for n in sizes)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        blocks = [
            start + torch.randperm(n, generator=generator)
            for start, n in zip(self.offsets, self.sizes)
        ]
        return torch.cat(blocks)

    def generators(self) -> list[torch.Tensor]:
        """A transposition and a full cycle inside each graph with at least two nodes."""
        elements = []
        for start, n in zip(self.offsets, self.sizes):
            if n < 2:
                continue
            swap, cycle = torch.arange(self.n), torch.arange(self.n)
            swap[[start, start + 1]] = swap[[start + 1, start]]
            cycle[start : start + n] = torch.roll(cycle[start : start + n], -1)
            elements += [swap, cycle]
        return elements or [self.identity()]

    def contains(self, g: torch.Tensor) -> bool:
        """Whether ``g`` is a permutation of ``N`` nodes that keeps every graph's block."""
        if not isinstance(g, torch.Tensor) or g.shape != (self.n,) or g.dtype != torch.long:
            return False
        if not torch.equal(torch.sort(g).values, torch.arange(self.n, device=g.device)):
            return False
        block = torch.repeat_interleave(torch.arange(len(self.sizes)), torch.tensor(self.sizes))
        block = block.to(g.device)
        return bool(torch.equal(block[g], block))


class NodePermutation(Action):
    """Relabel the nodes of every graph of a batch; node-level parts move, the rest follow.

    Args:
        sizes: the node count of each graph of the batch the action applies to
            (``(N,)`` for one graph); the group is ``Σ_{n_1} × … × Σ_{n_B}``.
        roles: the role of each part of a tuple input, among :data:`ROLES`,
            e.g. ``("node", "edge_index", "batch")`` for ``(x, edge_index,
            batch)``; ``None`` (default) means a lone node-level tensor
            (the action on node-level outputs).

    Raises:
        ValueError: an unknown role; at :meth:`act`, an element that is not in
            the group, an input whose node count is not ``N``, a tuple whose
            length differs from ``roles``, or an ``edge_index`` that is not
            ``(2, E)``.
    """

    def __init__(self, sizes: Sequence[int], roles: Sequence[str | None] | None = None):
        self.group = NodePermutations(sizes)
        if roles is not None:
            roles = tuple(roles)
            unknown = [r for r in roles if r not in ROLES]
            if unknown or not roles:
                raise ValueError(f"roles: expected a non-empty tuple of {ROLES}, got {roles!r}")
        self.roles = roles

    @classmethod
    def for_batch(
        cls, batch: torch.Tensor | None, num_nodes: int, roles: Sequence[str | None] | None = None
    ) -> NodePermutation:
        """The action on a batch given by its sorted ``batch`` vector (``None``: one graph)."""
        if batch is None:
            return cls((num_nodes,), roles)
        sizes = torch.unique_consecutive(batch, return_counts=True)[1]
        return cls(tuple(int(n) for n in sizes), roles)

    def act(self, g: torch.Tensor, inputs: Any) -> Any:
        if not isinstance(g, torch.Tensor) or g.shape != (self.group.n,):
            got = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
            raise ValueError(f"expected a permutation of shape ({self.group.n},), got {got}")
        if not self.group.contains(g):
            raise ValueError(
                f"expected a permutation in {self.group.name} (a long tensor that never moves "
                "nodes between graphs), got one outside it"
            )
        if self.roles is None:
            return self._act_one(g, inputs, "node")
        if not isinstance(inputs, (tuple, list)) or len(inputs) != len(self.roles):
            got = type(inputs).__name__
            if isinstance(inputs, (tuple, list)):
                got += f" of length {len(inputs)}"
            raise ValueError(f"expected a tuple of {len(self.roles)} parts {self.roles}, got {got}")
        return tuple(self._act_one(g, x, role) for x, role in zip(inputs, self.roles))

    def _act_one(self, g: torch.Tensor, x: Any, role: str | None) -> Any:
        if x is None or role in (None, "edge", "graph"):
            return x
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{role}: expected a torch.Tensor, got {type(x).__name__}")
        n = self.group.n
        if role == "edge_index":
            if x.dim() != 2 or x.shape[0] != 2:
                raise ValueError(f"edge_index: expected shape (2, E), got {tuple(x.shape)}")
            inverse = torch.argsort(g).to(x.device)
            return inverse[x]
        if x.dim() == 0 or x.shape[0] != n:
            raise ValueError(
                f"{role}: expected {n} nodes on axis 0 (graph sizes {self.group.sizes}), "
                f"got shape {tuple(x.shape)}"
            )
        return x[g.to(x.device)]

    def __repr__(self) -> str:
        return f"NodePermutation(sizes={self.group.sizes}, roles={self.roles})"
