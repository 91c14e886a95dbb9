"""Speed and peak memory of our graph layers against their PyTorch Geometric counterparts.

On one random graph (``N`` nodes, ``E`` uniformly random directed edges,
``C = 64`` channels in and out) each pair of layers runs forward + backward
(sum of outputs, gradients to inputs and weights) side by side:

Every row compares like with like: where ours prepares something once per
graph, so does the reference, through the option PyG offers for it.

- ``gcn``: :class:`~gdl_zoo.graphs.gcn.GCNConv` with its normalised CSR
  adjacency built once per graph (as our models do) vs PyG
  ``GCNConv(cached=True)`` (normalisation computed on the first call, cached);
  ``gcn (normalisation every call)``: both recompute it on every call (ours
  without ``adjacency=``, PyG ``GCNConv`` as by default);
- ``gat``: :class:`~gdl_zoo.graphs.gat.GATConv` (4 heads × 16) with its CSR
  edge pattern built once per graph (as our models do) vs PyG ``GATConv``,
  which has no caching option (it adds self-loops on every call); also ours
  rebuilding the pattern every call;
- ``gin``: :class:`~gdl_zoo.graphs.gin.GINConv` (CSR adjacency once per graph) vs
  PyG ``GINConv`` with the same two-layer MLP on a CSR ``adj_t``
  (``torch.sparse_csr``) built once per graph; ``gin (PyG on edge_index)``: the
  same ours against PyG's default call on ``edge_index`` (gather + scatter);
- ``ggnn``: :class:`~gdl_zoo.graphs.ggnn.GatedGraphConv` (2 steps) vs PyG
  ``GatedGraphConv``, likewise on a CSR ``adj_t`` once per graph and on ``edge_index``.

Time: one warm-up call of every variant, then ``repeat`` rounds that call
each variant once (interleaved, so that the load of a shared machine falls on
all alike); the ratio of medians, ours / PyG.  On CPU everything runs with one
intra-op thread: on a shared machine a second OpenMP thread waiting for a busy
core made single calls 10–300× slower at random and the ratios noise.

Peak memory (:func:`~gdl_zoo.bench.measure.peak_memory_mib`): on CPU every
variant runs in a fresh Python interpreter, single-threaded as timed, that
builds its inputs, resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``, Linux), runs one forward + backward and reports
``VmHWM − VmRSS_before``: the extra resident memory of the step, allocator
caching included.  On CUDA, ``torch.cuda.max_memory_allocated`` above what was
allocated before the step, in process.  The quick mode uses a small graph and
skips the memory runs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from gdl_zoo.bench.measure import peak_memory_mib, time_interleaved, torch_threads
from gdl_zoo.bench.suites import BenchContext, Record, ratio

__all__ = ["VARIANTS", "PAIRS", "REFERENCES", "build_variant", "graph_speed"]

#: Input and output channels of every benchmarked layer.
CHANNELS = 64
#: (nodes, edges) of the full run's random graph.
FULL = (100_000, 1_000_000)
#: (nodes, edges) of the quick run's random graph.
QUICK = (1_000, 5_000)
#: (flavour, ours, reference): the pairs compared side by side.
PAIRS = (
    ("gcn", "gcn_ours", "gcn_pyg_cached"),
    ("gcn (normalisation every call)", "gcn_ours_uncached", "gcn_pyg"),
    ("gat", "gat_ours", "gat_pyg"),
    ("gat (pattern every call)", "gat_ours_uncached", "gat_pyg"),
    ("gin", "gin_ours", "gin_pyg_csr"),
    ("gin (PyG on edge_index)", "gin_ours", "gin_pyg"),
    ("ggnn", "ggnn_ours", "ggnn_pyg_csr"),
    ("ggnn (PyG on edge_index)", "ggnn_ours", "ggnn_pyg"),
)
#: What each PyG reference variant is, as recorded with its ratios.
REFERENCES = {
    "gcn_pyg_cached": "PyG GCNConv(cached=True): normalisation cached after the first call",
    "gcn_pyg": "PyG GCNConv: normalisation recomputed every call",
    "gat_pyg": "PyG GATConv (no caching option): self-loops added every call",
    "gin_pyg_csr": "PyG GINConv on a torch.sparse_csr adj_t built once per graph",
    "gin_pyg": "PyG GINConv on edge_index: gather + scatter every call",
    "ggnn_pyg_csr": "PyG GatedGraphConv on a torch.sparse_csr adj_t built once per graph",
    "ggnn_pyg": "PyG GatedGraphConv on edge_index: gather + scatter every call",
}
#: Every variant name that :func:`build_variant` accepts.
VARIANTS = tuple(sorted({v for _, a, b in PAIRS for v in (a, b)}))


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(CHANNELS, CHANNELS), nn.ReLU(), nn.Linear(CHANNELS, CHANNELS))


def _csr_adj_t(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """PyG's transposed adjacency ``adj_t[i, j] = #(j → i)`` as a ``torch.sparse_csr`` tensor."""
    from torch_geometric.utils import sort_edge_index, to_torch_csr_tensor

    rows_targets = sort_edge_index(edge_index.flip(0), num_nodes=num_nodes)
    ones = torch.ones(rows_targets.shape[1], device=edge_index.device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse", UserWarning)  # "beta state", "invariants"
        return to_torch_csr_tensor(rows_targets, ones, size=(num_nodes, num_nodes))


def build_variant(name: str, num_nodes: int, num_edges: int, seed: int, device: str = "cpu"):
    """A zero-argument fwd+bwd step of variant ``name`` on a seeded random graph.

    What a variant prepares once per graph (our adjacency or edge pattern,
    PyG's cached normalisation, PyG's CSR ``adj_t``) is prepared here, outside the step.
    """
    import torch_geometric.nn as pyg

    from gdl_zoo.graphs import adjacency as adj
    from gdl_zoo.graphs.gat import GATConv
    from gdl_zoo.graphs.gcn import GCNConv
    from gdl_zoo.graphs.ggnn import GatedGraphConv
    from gdl_zoo.graphs.gin import GINConv

    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=gen).to(device)
    x = torch.randn(num_nodes, CHANNELS, generator=gen).to(device).requires_grad_()
    torch.manual_seed(seed)
    graph, extra = edge_index, ()
    if name == "gcn_ours":
        layer = GCNConv(CHANNELS, CHANNELS)
        extra = (adj.gcn_normalized_adjacency(edge_index, num_nodes),)
    elif name == "gcn_ours_uncached":
        layer = GCNConv(CHANNELS, CHANNELS)
    elif name == "gcn_pyg":
        layer = pyg.GCNConv(CHANNELS, CHANNELS)
    elif name == "gcn_pyg_cached":
        layer = pyg.GCNConv(CHANNELS, CHANNELS, cached=True).to(device)
        with torch.no_grad():
            layer(x, edge_index)  # the first call computes and caches the normalisation
    elif name == "gat_ours":
        layer = GATConv(CHANNELS, CHANNELS // 4, heads=4)
        extra = (adj.EdgePattern.from_edges(edge_index, num_nodes, self_loops=True),)
    elif name == "gat_ours_uncached":
        layer = GATConv(CHANNELS, CHANNELS // 4, heads=4)
    elif name == "gat_pyg":
        layer = pyg.GATConv(CHANNELS, CHANNELS // 4, heads=4)
    elif name == "gin_ours":
        layer = GINConv(_mlp())
        extra = (adj.SparseAdjacency.from_edges(edge_index, num_nodes),)
    elif name == "gin_pyg":
        layer = pyg.GINConv(_mlp())
    elif name == "gin_pyg_csr":
        layer = pyg.GINConv(_mlp())
        graph = _csr_adj_t(edge_index, num_nodes)
    elif name == "ggnn_ours":
        layer = GatedGraphConv(CHANNELS, 2)
        extra = (adj.SparseAdjacency.from_edges(edge_index, num_nodes),)
    elif name == "ggnn_pyg":
        layer = pyg.GatedGraphConv(CHANNELS, 2)
    elif name == "ggnn_pyg_csr":
        layer = pyg.GatedGraphConv(CHANNELS, 2)
        graph = _csr_adj_t(edge_index, num_nodes)
    else:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {name!r}")
    layer = layer.to(device)

    def step():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x, graph, *extra).sum().backward()

    return step


def _single_threaded_variant(
    name: str, num_nodes: int, num_edges: int, seed: int, device: str = "cpu"
):
    """:func:`build_variant` with one intra-op thread, as timed; for the memory subprocess only.

    :func:`~gdl_zoo.bench.measure.peak_memory_mib` calls it in the fresh
    interpreter it measures on CPU, whose thread count nothing else shares.
    """
    torch.set_num_threads(1)
    return build_variant(name, num_nodes, num_edges, seed, device)


def _peak_memory(name: str, num_nodes: int, num_edges: int, seed: int, device: str) -> float:
    """Extra peak memory (MiB) of one fwd+bwd step of ``name``, its build not counted."""
    factory = "build_variant" if device.startswith("cuda") else "_single_threaded_variant"
    return peak_memory_mib(
        f"gdl_zoo.graphs.bench_speed:{factory}", [name, num_nodes, num_edges, seed], device
    )


def graph_speed(context: BenchContext) -> list[Record]:
    """Fwd+bwd time and peak-memory ratios, ours / PyG, for each flavour."""
    if context.device.startswith("cuda"):
        return _graph_speed(context)
    with torch_threads(1):
        return _graph_speed(context)


def _graph_speed(context: BenchContext) -> list[Record]:
    num_nodes, num_edges = QUICK if context.quick else FULL
    measure_memory = not context.quick and (
        context.device.startswith("cuda") or Path("/proc/self/clear_refs").exists()
    )
    graph = {
        "nodes": num_nodes,
        "edges": num_edges,
        "channels": CHANNELS,
        "threads": torch.get_num_threads(),
    }
    steps = {
        name: build_variant(name, num_nodes, num_edges, context.seed, context.device)
        for name in VARIANTS
    }
    times = time_interleaved(steps, context.repeat, warmup=1)
    del steps
    memory = {}
    if measure_memory:
        for name in VARIANTS:
            memory[name] = _peak_memory(name, num_nodes, num_edges, context.seed, context.device)
    records = []
    for flavour, ours, ref in PAIRS:
        t_ours, t_ref = times[ours], times[ref]
        records.append(
            Record(
                flavour,
                "fwd+bwd time ratio (ours / PyG)",
                ratio(t_ours.median, t_ref.median),
                "ratio",
                None,
                {
                    "ours_s": t_ours.as_dict(),
                    "pyg_s": t_ref.as_dict(),
                    "reference": REFERENCES[ref],
                    "goal": 1.2,
                    **graph,
                },
            )
        )
        if measure_memory:
            value = ratio(memory[ours], memory[ref])
            details = {"ours_mib": memory[ours], "pyg_mib": memory[ref], "goal": 1.2, **graph}
            details["reference"] = REFERENCES[ref]
        else:
            value, details = float("nan"), {"skipped": "quick mode: peak memory in full runs only"}
        records.append(
            Record(flavour, "peak memory ratio (ours / PyG)", value, "ratio", None, details)
        )
    return records
