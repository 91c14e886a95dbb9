"""The strategies draw what they promise: the corner cases a fuzz run must reach.

``hypothesis.find`` searches a strategy for an example with a property, so each
test shows that a corner case (a one-node graph, a multi-edge, a sliver, an odd
image, coincident points) is actually generated, and the negative controls show
that ``find`` fails when a strategy is constrained not to produce it.
"""

from __future__ import annotations

import importlib
import sys

import pytest
import torch
from hypothesis import HealthCheck, find, given, settings
from hypothesis.errors import NoSuchExample

from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.metric import triangle_slack
from gdl_zoo.symmetry.strategies import (
    closed_meshes,
    graph_batches,
    image_sizes,
    images,
    open_meshes,
    point_clouds,
    triangle_meshes,
    with_sliver,
)

FIND = settings(max_examples=300, deadline=None, derandomize=True, database=None)
DRAW = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _sizes(g) -> list[int]:
    return torch.bincount(g.batch, minlength=g.num_graphs).tolist()


def _self_loops(g) -> int:
    return int((g.edge_index[0] == g.edge_index[1]).sum())


def _has_multi_edge(g) -> bool:
    return torch.unique(g.edge_index, dim=1).shape[1] < g.edge_index.shape[1]


def _has_isolated_node(g) -> bool:
    degree = torch.bincount(g.edge_index.flatten(), minlength=g.x.shape[0])
    return bool((degree == 0).any()) and g.x.shape[0] > 1


@pytest.mark.parametrize(
    "property_",
    [
        lambda g: 1 in _sizes(g),
        lambda g: len(_sizes(g)) >= 2 and len(set(_sizes(g))) >= 2,
        _has_isolated_node,
        lambda g: _self_loops(g) > 0,
        _has_multi_edge,
    ],
    ids=["one-node graph", "batch of sizes", "isolated node", "self-loop", "multi-edge"],
)
def test_graph_batches_reach_every_corner_case(property_):
    assert property_(find(graph_batches(), property_, settings=FIND))


def test_find_fails_when_a_strategy_cannot_produce_the_case():
    with pytest.raises(NoSuchExample):
        find(graph_batches(min_nodes=2), lambda g: 1 in _sizes(g), settings=FIND)


@DRAW
@given(graph_batches(channels=3, edge_channels=2, dtype=torch.float32))
def test_graph_batches_are_valid_batches(g):
    assert g.x.dtype == g.edge_attr.dtype == torch.float32
    assert g.x.shape[1] == 3 and g.edge_attr.shape == (g.edge_index.shape[1], 2)
    assert torch.equal(g.batch, torch.sort(g.batch).values)
    # every edge joins two nodes of the same graph
    assert torch.equal(g.batch[g.edge_index[0]], g.batch[g.edge_index[1]])


def _min_slack(positions_mesh) -> float:
    positions, mesh = positions_mesh
    return float(triangle_slack(mesh, edge_lengths(mesh, positions)).min())


@DRAW
@given(closed_meshes())
def test_closed_meshes_are_closed_spheres_facing_outward(positions_mesh):
    positions, mesh = positions_mesh
    assert mesh.is_closed and mesh.euler_characteristic == 2
    corners = positions[mesh.faces]  # (F, 3, 3): signed volume of the cone from the centroid
    centred = corners - positions.mean(0)
    volume = torch.linalg.det(centred).sum() / 6
    assert volume > 0


@DRAW
@given(open_meshes())
def test_open_meshes_are_discs(positions_mesh):
    _, mesh = positions_mesh
    assert not mesh.is_closed and mesh.euler_characteristic == 1


def test_slivers_reach_near_flat_caps_and_needles():
    slivers = with_sliver(triangle_meshes(slivers=False), min_exponent=8)
    assert _min_slack(find(slivers, lambda pm: _min_slack(pm) < 1e-12, settings=FIND)) < 1e-12

    def shortest_edge(pm):
        lengths = edge_lengths(pm[1], pm[0])
        return float(lengths.min() / lengths.max())

    assert shortest_edge(find(slivers, lambda pm: shortest_edge(pm) < 1e-7, settings=FIND)) < 1e-7


def test_meshes_without_slivers_stay_well_shaped():
    with pytest.raises(NoSuchExample):
        find(triangle_meshes(slivers=False), lambda pm: _min_slack(pm) < 1e-6, settings=FIND)


@pytest.mark.parametrize("parity", [0, 1], ids=["even", "odd"])
def test_images_come_in_odd_and_even_sizes(parity):
    x = find(images(), lambda x: x.shape[-1] % 2 == x.shape[-2] % 2 == parity, settings=FIND)
    assert x.dim() == 4 and x.shape[-1] % 2 == parity


@DRAW
@given(images(2, image_sizes(3, 9, square=True, valid=lambda h, w: h % 3 == 0), leading=(4,)))
def test_images_respect_the_valid_sizes(x):
    assert x.shape[:3] in ((1, 4, 2), (2, 4, 2))
    assert x.shape[-1] == x.shape[-2] and x.shape[-1] in (3, 6, 9)


def test_image_sizes_refuse_an_empty_choice():
    with pytest.raises(ValueError, match="no size in \\[4, 5\\]"):
        image_sizes(4, 5, valid=lambda h, w: h > 9)
    with pytest.raises(ValueError, match="1 <= min <= max"):
        image_sizes(5, 4)


def _closest_pair(cloud) -> float:
    positions, _, batch = cloud
    same = (batch[:, None] == batch[None, :]) & ~torch.eye(len(batch), dtype=torch.bool)
    if not same.any():
        return float("inf")
    distances = torch.cdist(positions, positions, compute_mode="donot_use_mm_for_euclid_dist")
    return float(distances[same].min())


def test_point_clouds_have_near_and_exactly_coincident_points():
    near = find(point_clouds(), lambda c: 0 < _closest_pair(c) < 1e-10, settings=FIND)
    assert _closest_pair(near) < 1e-10
    same = find(point_clouds(), lambda c: _closest_pair(c) == 0, settings=FIND)
    assert _closest_pair(same) == 0


def test_point_clouds_without_pairs_keep_points_apart():
    with pytest.raises(NoSuchExample):
        find(point_clouds(max_pairs=0), lambda c: _closest_pair(c) < 1e-6, settings=FIND)


def test_a_missing_hypothesis_names_the_dev_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "gdl_zoo.symmetry.strategies")
    with pytest.raises(ImportError, match=r'pip install "gdl-zoo\[dev\]"'):
        importlib.import_module("gdl_zoo.symmetry.strategies")


def test_meshes_can_have_several_components():
    def components(pm) -> int:
        return pm[1].connected_components[0]

    several = find(triangle_meshes(max_components=3), lambda pm: components(pm) == 3, settings=FIND)
    assert components(several) == 3
    with pytest.raises(NoSuchExample):
        find(triangle_meshes(), lambda pm: components(pm) > 1, settings=FIND)
