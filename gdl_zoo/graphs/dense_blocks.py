"""Dense per-graph blocks of a batch: the graphs grouped by size so that padding stays small.

Attention over the complete graph of each graph and powers of each graph's
random-walk matrix are dense ``n_b × n_b`` computations.  Padding every graph
of a batch to the largest one costs ``B · n_max²``, which on batches of
real graphs is far more than ``Σ_b n_b²`` (PROTEINS: 32 graphs of 39 nodes
on average and up to 620, ~25×).  :class:`DenseBlocks` groups the graphs by
their size class ``⌈log₂ n_b⌉``, so that within a block sizes differ by less
than a factor of two and the padded area is less than 4× the used one, and
pads each block to its own largest graph.

The grouping depends only on graph sizes, which relabelling the nodes of a
graph does not change, so computations done block by block stay exactly
permutation equivariant.

A program exported with ``torch.export`` cannot hold a number of blocks read
from the data; under export :meth:`DenseBlocks.from_graph` therefore puts all
graphs into one block padded to the largest graph (``B · n_max²``, the same
results, the graph count and ``n_max`` read by the program from each input).

Shapes:
    N: nodes over the batch.  E: edges.  B: graphs.  G: graphs of one block.
    M: nodes of one block.  n: the largest graph of one block.  C: channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gdl_zoo._data_dependent import check_under_export, data_dependent_int
from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo._validation import check_signal
from gdl_zoo.graphs.validation import check_batch, check_edge_index

__all__ = ["DenseBlock", "DenseBlocks"]


@dataclass(frozen=True)
class DenseBlock:
    """The graphs of one size class, zero-padded to the largest of them.

    Attributes:
        nodes: ``(M,)`` the batch indices of the block's nodes, graph by graph.
        slot: ``(M,)`` the graph of each node within the block, ``0 … G−1``.
        position: ``(M,)`` each node's position within its graph.
        edges: ``(G, n, n)`` float64 edge counts, ``edges[g, i, j] = #(j → i)``.
        present: ``(G, n)`` bool, which padded slots hold a node.
    """

    nodes: torch.Tensor
    slot: torch.Tensor
    position: torch.Tensor
    edges: torch.Tensor
    present: torch.Tensor

    def scatter(self, h: torch.Tensor) -> torch.Tensor:
        """The block's rows of ``h`` as a zero-padded dense tensor.

        Shapes:
            h: ``(N, C)``; output: ``(G, n, C)``.
        """
        num_graphs, n = self.present.shape
        dense = h.new_zeros(num_graphs, n, h.shape[1])
        dense[self.slot, self.position] = h[self.nodes]
        return dense

    def gather(self, dense: torch.Tensor) -> torch.Tensor:
        """The rows of the block's real nodes, in the order of :attr:`nodes`.

        Shapes:
            dense: ``(G, n, *)``; output: ``(M, *)``.
        """
        return dense[self.slot, self.position]


@dataclass(frozen=True)
class DenseBlocks:
    """A batch of graphs split into :class:`DenseBlock` s of similar size.

    Build it once per batch with :meth:`from_graph`; :meth:`combine` puts the
    per-block results back into the batch's node order.

    Attributes:
        blocks: one :class:`DenseBlock` per size class present.
        order: ``(N,)`` the row of ``torch.cat`` of the blocks' rows holding each node.
    """

    blocks: tuple[DenseBlock, ...]
    order: torch.Tensor

    @classmethod
    @eager_under_compile  # block sizes are read from the data: outside torch.compile's graph
    def from_graph(
        cls, edge_index: torch.Tensor, batch: torch.Tensor | None, num_nodes: int
    ) -> DenseBlocks:
        """Group the graphs of a batch by size class ``⌈log₂ n_b⌉`` (eagerly under compile).

        Under ``torch.export``: one block of all graphs (see the module's docstring).

        Shapes:
            edge_index: ``(2, E)``, edges within graphs; batch: ``(N,)`` sorted, or ``None``.

        Raises:
            ValueError: a bad ``edge_index`` or ``batch``, or an edge between two graphs.
        """
        check_edge_index(edge_index, num_nodes)
        batch, num_graphs = check_batch(batch, num_nodes)
        device = edge_index.device
        if batch is None:
            batch = torch.zeros(num_nodes, dtype=torch.long, device=device)
        batch = batch.long()
        if torch.compiler.is_exporting():
            return _one_block(edge_index, batch, num_graphs)
        sizes = torch.bincount(batch, minlength=num_graphs)
        starts = torch.cumsum(sizes, 0) - sizes
        position = torch.arange(num_nodes, device=device) - starts[batch]
        size_class = torch.ceil(torch.log2(sizes.clamp(min=1).double())).long()
        size_class[sizes == 0] = -1  # empty graphs (skipped indices) join no block
        source, target = edge_index.long()
        if bool((batch[source] != batch[target]).any()):
            raise ValueError("edge_index: expected edges within one graph, got an edge between two")
        slot_of_node = torch.empty_like(batch)
        blocks = []
        for key in size_class[sizes > 0].unique().tolist():
            graphs = (size_class == key).nonzero().flatten()
            nodes = torch.isin(batch, graphs).nonzero().flatten()
            slot = torch.searchsorted(graphs, batch[nodes])
            slot_of_node[nodes] = slot
            n = int(sizes[graphs].max())
            present = torch.zeros(graphs.shape[0], n, dtype=torch.bool, device=device)
            present[slot, position[nodes]] = True
            inside = torch.isin(batch[target], graphs)
            t, s = target[inside], source[inside]
            edges = torch.zeros(graphs.shape[0], n, n, dtype=torch.float64, device=device)
            ones = torch.ones(t.shape[0], dtype=torch.float64, device=device)
            edges.index_put_((slot_of_node[t], position[t], position[s]), ones, accumulate=True)
            blocks.append(DenseBlock(nodes, slot, position[nodes], edges, present))
        order = torch.argsort(torch.cat([b.nodes for b in blocks]))
        return cls(tuple(blocks), order)

    def check_features(
        self, h: torch.Tensor, channels: int, like: torch.Tensor | nn.Module | None = None
    ) -> torch.Tensor:
        """``h`` if it holds ``channels`` finite features per node of this batch, else an error.

        Args:
            h: the node features.
            channels: ``C``.
            like: the layer (or a tensor) whose device and dtype ``h`` must have;
                see :func:`gdl_zoo._validation.check_like`.

        Shapes:
            h: ``(N, C)``.

        Raises:
            TypeError: not a floating tensor, or another dtype than ``like``.
            ValueError: another device than ``like``, another shape, NaN or infinity.
        """
        check_signal(h, "h", "(N, C)", channels, channel_dim=1, like=like)
        num_nodes = self.order.shape[0]
        if h.shape[0] != num_nodes:
            raise ValueError(
                f"h: expected shape (N, C) = ({num_nodes}, {channels}) for the "
                f"{num_nodes} nodes of the blocks, got {tuple(h.shape)}"
            )
        return h

    def combine(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """Rows computed block by block, in the batch's node order.

        Shapes:
            parts: one ``(M, *)`` per block; output: ``(N, *)``.
        """
        return torch.cat(parts)[self.order]


def _one_block(edge_index: torch.Tensor, batch: torch.Tensor, num_graphs) -> DenseBlocks:
    """All graphs of a sorted batch in one block padded to the largest (the export form).

    ``num_graphs`` and the padded size ``n`` may be symbolic ints (``torch.export``).

    Shapes:
        edge_index: ``(2, E)``; batch: ``(N,)`` long, sorted.
    """
    num_nodes, device = batch.shape[0], batch.device
    ones = torch.ones(num_nodes, dtype=torch.long, device=device)
    sizes = torch.zeros(num_graphs, dtype=torch.long, device=device).index_add(0, batch, ones)
    starts = torch.cumsum(sizes, 0) - sizes
    position = torch.arange(num_nodes, device=device) - starts[batch]
    source, target = edge_index.long()
    check_under_export(
        batch[source] == batch[target], "edge_index: expected edges within one graph"
    )
    n = data_dependent_int(sizes.max(), minimum=1)
    present = torch.zeros(num_graphs, n, dtype=torch.bool, device=device)
    present[batch, position] = True
    edges = torch.zeros(num_graphs, n, n, dtype=torch.float64, device=device)
    counts = torch.ones(target.shape[0], dtype=torch.float64, device=device)
    edges.index_put_((batch[target], position[target], position[source]), counts, accumulate=True)
    nodes = torch.arange(num_nodes, device=device)
    return DenseBlocks((DenseBlock(nodes, batch, position, edges, present),), nodes)
