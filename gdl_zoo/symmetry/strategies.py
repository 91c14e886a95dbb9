"""Hypothesis strategies for fuzzing models with the equivariance harness.

Each strategy draws the *structure* of an input with hypothesis (graph sizes
and edges, mesh type and resolution, image sizes, which points nearly
coincide), so a failure shrinks to a small structural counterexample, and
draws the real-valued *contents* (features, coordinates) from a seeded
``torch.Generator``, so values are Gaussian and non-degenerate rather than
hypothesis's extreme floats.  Everything is built in float64 and cast to the
requested ``dtype`` last.

- :func:`graph_batches`: batches of graphs of 1 … n nodes with isolated nodes,
  self-loops and repeated (multi-)edges, as a
  :class:`~gdl_zoo.graphs.graph.GraphBatch`;
- :func:`closed_meshes`, :func:`open_meshes`, :func:`triangle_meshes`: closed
  surfaces (randomly bumped icospheres, convex hulls of random points on a
  sphere) and open ones (perturbed planar grids), optionally with one
  near-degenerate face (:func:`with_sliver`: a cap or a needle whose relative
  thickness is ``10⁻ᵏ``) and optionally several components side by side;
- :func:`images`: batches of images of odd and even sizes, optionally only
  the sizes for which a model's symmetry is declared;
- :func:`point_clouds`: batched point clouds in which some points nearly (or
  exactly) coincide.

This module needs hypothesis, part of the ``dev`` extra
(``pip install "gdl-zoo[dev]"``); it is not imported by :mod:`gdl_zoo.symmetry`.

Example: fuzz a model's permutation equivariance over random graphs::

    from hypothesis import given, settings
    from gdl_zoo.graphs import NodePermutation
    from gdl_zoo.symmetry import assert_equivariant
    from gdl_zoo.symmetry.strategies import graph_batches

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(graph_batches(channels=4, min_nodes=2))
    def test_my_gnn(g):
        act = NodePermutation.for_batch(g.batch, g.x.shape[0], ("node", "edge_index", "batch"))
        out = NodePermutation.for_batch(g.batch, g.x.shape[0])
        assert_equivariant(my_gnn, (g.x, g.edge_index, g.batch), act, out)

Shapes:
    N: nodes, vertices or points (over a batch).
    E: directed edges of a graph.
    F: faces of a mesh.
    B: graphs, images or point clouds in a batch.
    C: channels.
    H, W: image height and width.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - exercised only without the dev extra
    raise ImportError(
        'gdl_zoo.symmetry.strategies needs hypothesis: pip install "gdl-zoo[dev]" '
        "(or pip install hypothesis)"
    ) from error

from gdl_zoo.graphs.graph import Graph, GraphBatch, collate_graphs
from gdl_zoo.meshes.generators import bumpy_icosphere, grid
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = [
    "SEEDS",
    "graph_batches",
    "closed_meshes",
    "open_meshes",
    "with_sliver",
    "triangle_meshes",
    "image_sizes",
    "images",
    "point_clouds",
]

#: The seeds of the ``torch.Generator`` that fills in real values (features, coordinates).
SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _check_range(low: int, high: int, name: str, least: int = 0) -> None:
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: expected integer bounds, got {low!r} and {high!r}")
    if not least <= low <= high:
        raise ValueError(f"{name}: expected {least} <= min <= max, got min {low}, max {high}")


@st.composite
def _graph(draw, channels: int, edge_channels: int, min_nodes: int, max_nodes: int,
           max_edges_per_node: int) -> Graph:  # fmt: skip
    n = draw(st.integers(min_nodes, max_nodes))
    node = st.integers(0, n - 1)
    pairs = draw(st.lists(st.tuples(node, node), max_size=max_edges_per_node * n))
    if pairs and draw(st.booleans()):  # repeat an edge: a multi-edge
        pairs.append(pairs[draw(st.integers(0, len(pairs) - 1))])
    edge_index = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T.contiguous()
    gen = _generator(draw(SEEDS))
    x = torch.randn(n, channels, generator=gen, dtype=torch.float64)
    edge_attr = None
    if edge_channels:
        edge_attr = torch.randn(edge_index.shape[1], edge_channels, generator=gen,
                                dtype=torch.float64)  # fmt: skip
    return Graph(x, edge_index, None, edge_attr)


def graph_batches(
    channels: int = 4,
    edge_channels: int = 0,
    min_graphs: int = 1,
    max_graphs: int = 3,
    min_nodes: int = 1,
    max_nodes: int = 8,
    max_edges_per_node: int = 3,
    dtype: torch.dtype = torch.float64,
) -> st.SearchStrategy[GraphBatch]:
    """Batches of random graphs with every corner case a GNN must survive.

    Each graph has ``min_nodes … max_nodes`` nodes (a single node included by
    default) and up to ``max_edges_per_node · n`` directed edges ``j → i``
    drawn as arbitrary ordered pairs, so self-loops, isolated nodes (hypothesis
    shrinks towards edgeless graphs) and repeated edges all occur; half the
    time one edge is repeated on purpose.  Node (and edge) features are
    Gaussian from a drawn seed.

    Args:
        channels: ``C``, node features.
        edge_channels: edge features (``0``: ``edge_attr`` is ``None``).
        min_graphs, max_graphs: the number of graphs ``B`` in a batch.
        min_nodes, max_nodes: nodes per graph (``min_nodes ≥ 1``).
        max_edges_per_node: at most this many edges per node of a graph.
        dtype: of the features.

    Returns:
        A strategy of :class:`~gdl_zoo.graphs.graph.GraphBatch` (``y`` is ``None``).

    Shapes:
        output: ``x (N, C)``, ``edge_index (2, E)``, ``batch (N,)``, ``edge_attr (E, D)``.
    """
    _check_range(min_graphs, max_graphs, "graphs", least=1)
    _check_range(min_nodes, max_nodes, "nodes", least=1)
    one = _graph(channels, edge_channels, min_nodes, max_nodes, max_edges_per_node)
    graphs = st.lists(one, min_size=min_graphs, max_size=max_graphs)
    return graphs.map(collate_graphs).map(lambda g: _cast_graphs(g, dtype))


def _cast_graphs(g: GraphBatch, dtype: torch.dtype) -> GraphBatch:
    edge_attr = None if g.edge_attr is None else g.edge_attr.to(dtype)
    return GraphBatch(g.x.to(dtype), g.edge_index, g.batch, g.y, edge_attr, g.num_graphs)


def _convex_hull(points: torch.Tensor) -> tuple[torch.Tensor, TriangleMesh]:
    """The convex hull of ``points`` (N, 3) in general position, faces outward."""
    from scipy.spatial import ConvexHull

    hull = ConvexHull(points.numpy())
    faces = torch.as_tensor(hull.simplices, dtype=torch.long)
    used = torch.unique(faces)
    relabel = torch.full((len(points),), -1, dtype=torch.long)
    relabel[used] = torch.arange(len(used))
    positions, faces = points[used], relabel[faces]
    corners = positions[faces]  # (F, 3, 3)
    normal = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    outward = (normal * (corners.mean(1) - positions.mean(0))).sum(-1) > 0
    faces = torch.where(outward.unsqueeze(1), faces, faces[:, [0, 2, 1]])
    return positions, TriangleMesh(faces, len(positions))


@st.composite
def closed_meshes(draw, max_subdivisions: int = 1, max_hull_points: int = 24):
    """Closed surfaces: randomly bumped icospheres and convex hulls of points on a sphere.

    An icosphere of ``0 … max_subdivisions`` subdivisions whose vertices are
    pushed out by random factors in ``[1, 1 + a)``, ``a ∈ [0, 0.5]``
    (:func:`~gdl_zoo.meshes.generators.bumpy_icosphere`), or the convex hull
    of ``4 … max_hull_points`` random directions (irregular valences and
    shapes, often thin triangles).  Faces are counter-clockwise seen from outside.

    Returns:
        A strategy of ``(positions, mesh)``: float64 ``(N, 3)`` and a
        :class:`~gdl_zoo.meshes.mesh.TriangleMesh`.

    Shapes:
        positions: (N, 3); mesh.faces: (F, 3).
    """
    gen = _generator(draw(SEEDS))
    if draw(st.booleans()):
        subdivisions = draw(st.integers(0, max_subdivisions))
        amplitude = draw(st.floats(0.0, 0.5, allow_nan=False))
        return bumpy_icosphere(subdivisions, amplitude, gen)
    n = draw(st.integers(4, max_hull_points))
    directions = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    return _convex_hull(directions / directions.norm(dim=1, keepdim=True))


@st.composite
def open_meshes(draw, max_cells: int = 5):
    """Open surfaces: planar grids of ``1 … max_cells`` cells per side, perturbed in 3D.

    Interior and boundary vertices are jittered in the plane by up to a
    quarter cell and lifted by a random height field, so the disc is curved
    and irregular but every face keeps its orientation.

    Returns:
        A strategy of ``(positions, mesh)``, float64 positions.

    Shapes:
        positions: ((rows+1)(cols+1), 3); mesh.faces: (2 rows cols, 3).
    """
    rows, cols = draw(st.integers(1, max_cells)), draw(st.integers(1, max_cells))
    positions, mesh = grid(rows, cols, size=1.0)
    gen = _generator(draw(SEEDS))
    cell = 1.0 / max(rows, cols)
    jitter = draw(st.floats(0.0, 0.25)) * cell
    height = draw(st.floats(0.0, 1.0))
    offsets = torch.rand(len(positions), 3, generator=gen, dtype=torch.float64) * 2 - 1
    offsets[:, :2] *= jitter
    offsets[:, 2] *= height
    return positions + offsets, mesh


@st.composite
def with_sliver(draw, mesh_strategy: st.SearchStrategy, min_exponent: int = 2,
                max_exponent: int = 14):  # fmt: skip
    """Make one face of each drawn mesh near-degenerate: a cap or a needle of thickness ``10⁻ᵏ``.

    A face ``(a, b, c)`` is drawn.  A *cap* moves ``a`` to within ``10⁻ᵏ`` (of
    its distance) of the midpoint of the opposite edge ``bc``: the angle at
    ``a`` tends to π.  A *needle* moves ``a`` to within ``10⁻ᵏ`` of ``b``:
    the edge ``ab`` nearly vanishes.  Neighbouring faces are distorted too
    (possibly folded over), which every intrinsic operator must survive.  At
    ``k ≥ 8`` in float64 the face may round to a flat one, which a model must
    then reject with a ``ValueError`` naming the face, never answer with NaN.

    Args:
        mesh_strategy: a strategy of ``(positions, mesh)``.
        min_exponent, max_exponent: the range of ``k``.

    Returns:
        A strategy of ``(positions, mesh)``.
    """
    positions, mesh = draw(mesh_strategy)
    face = mesh.faces[draw(st.integers(0, mesh.num_faces - 1))]
    a, b, c = face[torch.randperm(3, generator=_generator(draw(SEEDS)))].tolist()
    t = 10.0 ** -draw(st.integers(min_exponent, max_exponent))
    target = (positions[b] + positions[c]) / 2 if draw(st.booleans()) else positions[b]
    positions = positions.clone()
    positions[a] = target + t * (positions[a] - target)
    return positions, mesh


@st.composite
def _disjoint_union(draw, mesh_strategy: st.SearchStrategy, max_components: int):
    """1 … ``max_components`` drawn meshes side by side (``x`` offset by 3) as one mesh."""
    parts = draw(st.lists(mesh_strategy, min_size=1, max_size=max_components))
    if len(parts) == 1:
        return parts[0]
    offsets = [sum(mesh.num_vertices for _, mesh in parts[:k]) for k in range(len(parts))]
    shift = torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)
    positions = torch.cat([p.to(torch.float64) + k * shift for k, (p, _) in enumerate(parts)])
    faces = torch.cat([mesh.faces + o for (_, mesh), o in zip(parts, offsets)])
    return positions, TriangleMesh(faces, len(positions))


def triangle_meshes(
    closed: bool | None = None,
    slivers: bool = True,
    max_sliver_exponent: int = 14,
    max_components: int = 1,
    dtype: torch.dtype = torch.float64,
) -> st.SearchStrategy:
    """Closed and open triangle meshes, some with a near-degenerate face, possibly disconnected.

    Args:
        closed: ``True`` for :func:`closed_meshes` only, ``False`` for
            :func:`open_meshes` only, ``None`` for both.
        slivers: also draw meshes passed through :func:`with_sliver`.
        max_sliver_exponent: the thinnest sliver is ``10⁻ᵏ`` thick for this ``k``.
            The error of an exact symmetry grows like ``ε / 10⁻ᵏ`` on a cap
            (the problem is that ill-conditioned), so symmetry checks at the
            default tolerances keep ``k ≤ 4`` in float64; finiteness checks
            use the default.
        max_components: draw up to this many meshes and place them side by side
            as one disconnected mesh (vertices of each component contiguous).
        dtype: of the positions.

    Returns:
        A strategy of ``(positions, mesh)``.

    Shapes:
        positions: (N, 3); mesh.faces: (F, 3).
    """
    if closed is None:
        base = st.one_of(closed_meshes(), open_meshes())
    else:
        base = closed_meshes() if closed else open_meshes()
    meshes = (
        st.one_of(base, with_sliver(base, max_exponent=max_sliver_exponent)) if slivers else base
    )
    if max_components > 1:
        meshes = _disjoint_union(meshes, max_components)
    return meshes.map(lambda pm: (pm[0].to(dtype), pm[1]))


def image_sizes(
    min_size: int = 1,
    max_size: int = 17,
    square: bool = False,
    valid: Callable[[int, int], bool] | None = None,
) -> st.SearchStrategy[tuple[int, int]]:
    """Image sizes ``(H, W)``, odd and even, optionally only those ``valid(H, W)`` accepts.

    The valid sizes are enumerated first (no rejection sampling), so a
    predicate that accepts few sizes costs nothing; hypothesis shrinks towards
    the smallest.

    Args:
        min_size, max_size: the range of ``H`` and ``W``.
        square: only ``H = W``.
        valid: a predicate on ``(H, W)``, e.g. a model's ``is_exact_for``.

    Raises:
        ValueError: when no size in the range is valid.
    """
    _check_range(min_size, max_size, "size", least=1)
    span = range(min_size, max_size + 1)
    sizes = [(h, w) for h in span for w in span if (h == w or not square)]
    if valid is not None:
        sizes = [s for s in sizes if valid(*s)]
    if not sizes:
        raise ValueError(
            f"image_sizes: no size in [{min_size}, {max_size}] (square={square}) is valid"
        )
    return st.sampled_from(sizes)


@st.composite
def images(
    draw,
    channels: int = 1,
    sizes: st.SearchStrategy[tuple[int, int]] | None = None,
    max_batch: int = 2,
    leading: tuple[int, ...] = (),
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Batches of Gaussian images, of the sizes ``sizes`` draws (default: :func:`image_sizes`).

    Args:
        channels: ``C``.
        sizes: a strategy of ``(H, W)``.
        max_batch: ``B ∈ [1, max_batch]``.
        leading: axes between the batch and the channels, e.g. ``(T,)`` for
            sequences of images ``(B, T, C, H, W)``.
        dtype: of the images.

    Returns:
        A strategy of tensors.

    Shapes:
        output: ``(B, *leading, C, H, W)``.
    """
    h, w = draw(image_sizes() if sizes is None else sizes)
    b = draw(st.integers(1, max_batch))
    gen = _generator(draw(SEEDS))
    x = torch.randn(b, *leading, channels, h, w, generator=gen, dtype=torch.float64)
    return x.to(dtype)


@st.composite
def point_clouds(
    draw,
    num_features: int = 4,
    max_clouds: int = 3,
    min_points: int = 1,
    max_points: int = 8,
    scale: float = 1.5,
    max_exponent: int = 12,
    max_pairs: int = 3,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batched point clouds in which some points nearly, or exactly, coincide.

    Each cloud has ``min_points … max_points`` Gaussian points of spread
    ``scale``.  Then a drawn list of up to ``max_pairs`` pairs ``(i, j)`` of
    the same cloud moves ``x_j`` to ``x_i + 10⁻ᵏ · scale · u`` (``u`` a random
    unit vector, ``k ∈ [1, max_exponent]``), or onto ``x_i`` exactly, so
    distances from ``0`` up to the cloud size all occur.

    Conditioning.  Forces computed from a pair at distance ``r`` carry an
    error ``ε·|x|/r`` relative to the forces of that pair, in any floating
    computation.  Where such a pair is a cloud's only interaction its forces
    are ``O(r)``, and a relative symmetry error can reach ``ε·|x|/r``.  Where
    a third point interacts at a normal distance, the forces are ``O(1)`` and
    the error stays ``O(ε)``.  Symmetry checks at the default tolerances
    therefore draw ``min_points ≥ 3``, ``max_pairs = 1`` and a spread well
    inside the model's cutoff.

    Args:
        num_features: ``F``, Gaussian invariant features per point.
        max_clouds: ``B ∈ [1, max_clouds]``.
        min_points, max_points: points per cloud.
        scale: the spread of the coordinates.
        max_exponent: the largest ``k``.
        max_pairs: the most pairs brought together.
        dtype: of positions and features.

    Returns:
        A strategy of ``(positions, features, batch)`` as the zoo's E(3) models take them.

    Shapes:
        output: ``positions (N, 3)``, ``features (N, F)``, ``batch (N,)``.
    """
    _check_range(min_points, max_points, "points", least=1)
    sizes = draw(st.lists(st.integers(min_points, max_points), min_size=1, max_size=max_clouds))
    gen = _generator(draw(SEEDS))
    n = sum(sizes)
    positions = scale * torch.randn(n, 3, generator=gen, dtype=torch.float64)
    features = torch.randn(n, num_features, generator=gen, dtype=torch.float64)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    offsets = [sum(sizes[:b]) for b in range(len(sizes))]
    clouds = [b for b, size in enumerate(sizes) if size >= 2]
    if clouds:
        pair = st.sampled_from(clouds).flatmap(
            lambda b: st.tuples(
                st.just(b),
                st.lists(st.integers(0, sizes[b] - 1), min_size=2, max_size=2, unique=True),
                st.one_of(st.none(), st.integers(1, max_exponent)),
            )
        )
        for b, (i, j), k in draw(st.lists(pair, max_size=max_pairs)):
            i, j = offsets[b] + i, offsets[b] + j
            u = torch.randn(3, generator=gen, dtype=torch.float64)
            step = 0.0 if k is None else scale * 10.0**-k / float(u.norm())
            positions[j] = positions[i] + step * u
    return positions.to(dtype), features.to(dtype), batch
