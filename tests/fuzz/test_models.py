"""Fuzzing the zoo: every registered model, on hypothesis-drawn inputs of its domain.

For each example the model's outputs must be finite, and ``f(g.x) = g.f(x)``
must hold within the card's tolerance (``card.tolerance_for(dtype)``), checked
by the same harness as ``gdl-zoo check`` over the group's generators and one
random element.  The actions are rebuilt for each drawn input (the cards'
own actions are sized for their example inputs).

Where a symmetry is only declared for some inputs, the strategy is constrained
to them, and the reason is the model's own documentation:

- grids/groups CNNs: only the image sizes on which every strided window is
  centred (``is_exact_for``) or divisible by the total stride (``total_stride``,
  the steerable CNN's ``min_size``); other sizes violate the symmetry by
  1e-3 … 0.5 (aliasing), as the models document.  Sizes where the group
  cannot move the image (a 2×2 image under shifts by 2, a 1×1 image) are left
  out: the harness rightly refuses a check that could not fail.
- meshes: symmetry is fuzzed with slivers down to ``10⁻⁴`` thick
  (:data:`SYMMETRY_SLIVER_EXPONENT`); thinner caps are ill-conditioned (the
  error grows like ``ε / thickness``: 2e-7 at a 1e-15 slack), so there only
  finiteness (or a ``ValueError`` naming the face) is required.
- E(3) models: a near-coincident pair (down to 1e-12, or exactly coincident)
  gets a third point of its cloud at a normal distance (:data:`WELL_CONDITIONED`):
  forces from a lone pair at distance ``r`` are ``O(r)`` and carry a relative
  error ``ε·|x|/r`` in any floating computation (4e-10 seen for a lone pair).
- inputs the harness calls degenerate (one-node graphs, clouds of isolated
  points whose forces are all zero) are checked for finiteness only.

Bugs this fuzzing found are pinned with ``@example`` in the regression tests
at the end.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, Phase, example, given, settings
from torch import nn

from gdl_zoo import zoo
from gdl_zoo.gauges.actions import GaugeMeshSymmetry, GaugeVertexOutputs
from gdl_zoo.graphs.actions import NodePermutation
from gdl_zoo.meshes.actions import MeshSymmetry, VertexOutputs
from gdl_zoo.symmetry import Invariant, equivariance_error
from gdl_zoo.symmetry.strategies import (
    graph_batches,
    image_sizes,
    images,
    point_clouds,
    triangle_meshes,
)

#: The thinnest sliver (``10⁻ᵏ``) on which mesh symmetries are fuzzed in float64.
SYMMETRY_SLIVER_EXPONENT = 4

#: Reproducible fuzzing: fixed examples, no deadline (the first call of a model is slow).
FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: The negative controls only need the first failing example, not a shrunk one.
CONTROL = settings(FUZZ, phases=(Phase.explicit, Phase.generate))

DTYPES = [torch.float64, torch.float32]


def _card_model(name: str, dtype: torch.dtype) -> tuple[zoo.ModelCard, nn.Module]:
    card = zoo.get(name)
    if card.missing_extras():
        pytest.skip(f"{name} needs the optional extra {card.missing_extras()}")
    torch.manual_seed(0)
    return card, card.build().to(dtype).eval()


def fuzz_check(model, inputs: tuple, act_in, act_out, tolerance: float, moves: bool = True):
    """Finite outputs, then ``f(g.x) = g.f(x)`` unless the check could not fail.

    ``moves=False`` (a group that fixes the input) and identically zero
    outputs (no interaction reaches them) skip the symmetry part, which the
    harness would refuse as degenerate.
    """
    with torch.no_grad():
        outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    for k, y in enumerate(outputs):
        assert torch.isfinite(y).all(), f"output {k} has NaN or infinite values"
    if not moves or any(not y.abs().max() > 0 for y in outputs):
        return None
    lone = inputs[0] if len(inputs) == 1 else inputs  # single-input actions act on the tensor
    report = equivariance_error(model, lone, act_in, act_out, tolerance=tolerance, n_random=1)
    assert report.passed, str(report)
    return report


# -- graphs: every GNN over random graphs ------------------------------------------------

GRAPH_MODELS = [c.name for c in zoo.list_models("graphs")]


def _graph_inputs(g, roles):
    parts = {"node": g.x, "edge_index": g.edge_index, "edge": g.edge_attr, "batch": g.batch}
    return tuple(parts[role] for role in roles)


def _check_graph_model(card, model, g, dtype):
    roles = card.input_action.roles
    sizes = tuple(torch.bincount(g.batch, minlength=g.num_graphs).tolist())
    node_level = isinstance(card.output_action, NodePermutation)
    fuzz_check(
        model,
        _graph_inputs(g, roles),
        NodePermutation(sizes, roles),
        NodePermutation(sizes) if node_level else Invariant(),
        card.tolerance_for(dtype),
        moves=max(sizes) >= 2,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_graph_models_on_random_graphs(name, dtype):
    card, model = _card_model(name, dtype)
    edge_channels = 3 if "edge" in card.input_action.roles else 0

    @settings(FUZZ, max_examples=12 if dtype == torch.float64 else 6)
    @given(graph_batches(channels=4, edge_channels=edge_channels, dtype=dtype))
    def check(g):
        _check_graph_model(card, model, g, dtype)

    check()


# -- meshes and gauges: mesh models over random closed and open surfaces -----------------

MESH_MODELS = [c.name for c in zoo.list_models("meshes")]
GAUGE_MODELS = [c.name for c in zoo.list_models("gauges")]


def _mesh_features(n: int, channels: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(2, n, channels, generator=torch.Generator().manual_seed(n), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", MESH_MODELS)
def test_mesh_models_on_random_meshes(name, dtype):
    card, model = _card_model(name, dtype)
    channels = card.example_inputs(1, dtype)[0].shape[-1]
    exact = dtype == torch.float64
    meshes = triangle_meshes(
        slivers=exact,
        max_sliver_exponent=SYMMETRY_SLIVER_EXPONENT,
        max_components=2 if exact else 1,
        dtype=dtype,
    )

    @settings(FUZZ, max_examples=5 if exact else 3)
    @given(meshes)
    def check(positions_mesh):
        positions, mesh = positions_mesh
        n = mesh.num_vertices
        inputs = (_mesh_features(n, channels, dtype), positions, mesh.faces)
        fuzz_check(model, inputs, MeshSymmetry(n), VertexOutputs(n), card.tolerance_for(dtype))

    check()


@pytest.mark.parametrize("name", MESH_MODELS)
def test_mesh_models_on_slivers_are_finite_or_name_the_face(name):
    card, model = _card_model(name, torch.float64)
    channels = card.example_inputs(1, torch.float64)[0].shape[-1]

    @settings(FUZZ, max_examples=10)
    @given(triangle_meshes(max_sliver_exponent=14))
    def check(positions_mesh):
        positions, mesh = positions_mesh
        x = _mesh_features(mesh.num_vertices, channels, torch.float64)
        try:
            with torch.no_grad():
                y = model(x, positions, mesh.faces)
        except ValueError as error:
            assert "faces" in str(error) or "edges" in str(error), str(error)
            return
        assert torch.isfinite(y).all()

    check()


def _gauge_inputs(card, positions, mesh, dtype):
    n = mesh.num_vertices
    gen = torch.Generator().manual_seed(n)
    features = torch.randn(n, card.input_action.irreps.dim, generator=gen, dtype=dtype)
    frame = math.tau * torch.rand(n, generator=gen, dtype=torch.float64)
    return features, positions, mesh.faces, frame.to(dtype)


@pytest.mark.parametrize("name", GAUGE_MODELS)
def test_gauge_models_on_random_meshes(name):
    card, model = _card_model(name, torch.float64)

    @settings(FUZZ, max_examples=6)
    @given(triangle_meshes(max_sliver_exponent=SYMMETRY_SLIVER_EXPONENT, max_components=2))
    def check(positions_mesh):
        positions, mesh = positions_mesh
        n = mesh.num_vertices
        fuzz_check(
            model,
            _gauge_inputs(card, positions, mesh, torch.float64),
            GaugeMeshSymmetry(card.input_action.irreps, n),
            GaugeVertexOutputs(card.output_action.irreps, n),
            card.tolerance_for(torch.float64),
        )

    check()


# -- grids and groups: CNNs over odd and even images where their symmetry is declared -----

IMAGE_MODELS = ["cnn", "resnet", "p4cnn", "p4m_resnet", "p4_convgru", "steerable_cnn"]


def declared_sizes(card, model):
    """The ``(H, W)`` predicate under which the card's symmetry is exact and non-trivial."""
    if hasattr(model, "is_exact_for"):  # G-CNNs: every strided window centred

        def valid(h, w):
            return min(h, w) >= model.min_size and max(h, w) > 1 and model.is_exact_for(h, w)

    elif hasattr(model, "total_stride"):  # shift CNNs: sizes divisible by the total stride
        s = model.total_stride

        def valid(h, w):
            return h % s == 0 and w % s == 0 and max(h, w) > s

    elif hasattr(model, "min_size"):  # the steerable CNN: 2×2 poolings need even sizes
        s = model.min_size

        def valid(h, w):
            return h % s == 0 and w % s == 0 and max(h, w) > 1

    else:  # stride-1 group convolutions (the G-conv RNN): every size

        def valid(h, w):
            return max(h, w) > 1

    return valid


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_cnns_on_odd_and_even_images(name, dtype):
    card, model = _card_model(name, dtype)
    example = card.example_inputs(1, dtype)[0]
    leading, channels = tuple(example.shape[1:-3]), example.shape[-3]
    sizes = image_sizes(1, 13, valid=declared_sizes(card, model))

    @settings(FUZZ, max_examples=8 if dtype == torch.float64 else 4)
    @given(images(channels, sizes, leading=leading, dtype=dtype))
    def check(x):
        fuzz_check(model, (x,), card.input_action, card.output_action, card.tolerance_for(dtype))

    check()


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_cnns_on_any_size_are_finite_or_refuse_it(name):
    """Outside the declared sizes the symmetry may fail, but never with NaN or a torch crash."""
    card, model = _card_model(name, torch.float64)
    example = card.example_inputs(1, torch.float64)[0]
    leading, channels = tuple(example.shape[1:-3]), example.shape[-3]

    @settings(FUZZ, max_examples=8)
    @given(images(channels, image_sizes(1, 13), leading=leading))
    def check(x):
        try:
            with torch.no_grad():
                y = model(x)
        except ValueError as error:
            assert "expected" in str(error) and "got" in str(error), str(error)
            return
        assert torch.isfinite(y).all()

    check()


def test_declared_sizes_cover_odd_and_even_sizes():
    """The constraint is no blanket 'even only': stride-1 models take odd sizes too."""
    for name, odd_ok in (("p4_convgru", True), ("cnn", False), ("p4cnn", False)):
        card, model = _card_model(name, torch.float64)
        valid = declared_sizes(card, model)
        assert valid(8, 8) and valid(8, 12)
        assert valid(7, 9) is odd_ok, name


def test_sizes_outside_the_declared_ones_do_break_the_symmetry():
    """Why the strategy is constrained: a 7×7 image aliases under the strided CNN's pooling."""
    card, model = _card_model("cnn", torch.float64)
    x = torch.randn(1, 1, 7, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    report = equivariance_error(model, x, card.input_action, card.output_action, n_random=1)
    assert report.max_error > 1e-3


# -- E(3) models over point clouds with near-coincident points ---------------------------

E3_MODELS = ["egnn", "tfn", "se3_transformer"]
#: Clouds whose near-coincident pair has a third point at a normal distance within the
#: cutoff (spread 0.8 against cutoffs >= 4), so forces are O(1) and the relative error O(ε);
#: see the conditioning note of :func:`~gdl_zoo.symmetry.strategies.point_clouds`.
WELL_CONDITIONED = {"min_points": 3, "max_pairs": 1, "scale": 0.8}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", E3_MODELS)
def test_e3_models_on_near_coincident_points(name, dtype):
    card, model = _card_model(name, dtype)

    @settings(FUZZ, max_examples=6 if dtype == torch.float64 else 3)
    @given(point_clouds(num_features=4, dtype=dtype, **WELL_CONDITIONED))
    def check(cloud):
        fuzz_check(model, cloud, card.input_action, card.output_action, card.tolerance_for(dtype))

    check()


@pytest.mark.parametrize("name", E3_MODELS)
def test_e3_models_have_finite_bounded_forces_on_any_cloud(name):
    """Any cloud: several near or exact coincidences, lone pairs, single points."""
    _, model = _card_model(name, torch.float64)

    @settings(FUZZ, max_examples=8)
    @given(point_clouds(num_features=4))
    def check(cloud):
        energy, forces = model(*cloud)
        assert torch.isfinite(energy).all() and torch.isfinite(forces).all()
        assert forces.abs().max() < 1e3

    check()


# -- negative controls: the same harness catches broken models ---------------------------


class _IndexAwareGNN(nn.Module):
    """A 'GNN' that adds each node's position in the batch: not permutation-equivariant."""

    def forward(self, x, edge_index, batch):
        index = torch.arange(x.shape[0], dtype=x.dtype).unsqueeze(1)
        return x + index + torch.zeros_like(x).index_add(0, edge_index[1], x[edge_index[0]])


class _StdReadout(nn.Module):
    """An invariant readout with the unbiased std per graph: NaN on a one-node graph."""

    def forward(self, x, batch):
        return torch.stack([x[batch == b].std(0) for b in range(int(batch.max()) + 1)])


class _ExtrinsicMeshModel(nn.Module):
    """A 'mesh model' that reads the raw coordinates: not invariant to rigid motions."""

    def forward(self, x, positions, faces):
        return x + positions[:, :1]


class _ZeroPaddedCNN(nn.Module):
    """Zero-padded convolutions and a mean: not invariant to cyclic shifts."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 3, 3, padding=1).double()

    def forward(self, x):
        return self.conv(x).relu().mean((-2, -1))


class _AxisEnergy(nn.Module):
    """An energy that depends on the z coordinate: not rotation-invariant."""

    def forward(self, positions, features, batch):
        positions = positions.detach().requires_grad_()
        with torch.enable_grad():
            energy = (positions[:, 2] ** 3).sum().reshape(1)
            (grad,) = torch.autograd.grad(energy.sum(), positions)
        return energy.detach(), -grad


def test_the_graph_fuzz_catches_a_non_equivariant_gnn():
    card = zoo.get("gcn")

    @CONTROL
    @given(graph_batches(channels=4))
    def check(g):
        _check_graph_model(card, _IndexAwareGNN(), g, torch.float64)

    with pytest.raises(AssertionError, match="equivariance FAILED"):
        check()


@pytest.mark.filterwarnings("ignore:std\\(\\). degrees of freedom:UserWarning")
def test_the_graph_fuzz_catches_a_nan_on_a_one_node_graph():
    card = zoo.get("deepsets")

    @CONTROL
    @given(graph_batches(channels=4))
    def check(g):
        _check_graph_model(card, _StdReadout(), g, torch.float64)

    with pytest.raises(AssertionError, match="NaN"):
        check()


def test_the_mesh_fuzz_catches_an_extrinsic_model():
    @CONTROL
    @given(triangle_meshes(slivers=False))
    def check(positions_mesh):
        positions, mesh = positions_mesh
        n = mesh.num_vertices
        inputs = (_mesh_features(n, 3, torch.float64), positions, mesh.faces)
        fuzz_check(_ExtrinsicMeshModel(), inputs, MeshSymmetry(n), VertexOutputs(n), 1e-10)

    with pytest.raises(AssertionError, match="equivariance FAILED"):
        check()


def test_the_image_fuzz_catches_zero_padding():
    card = zoo.get("cnn")
    sizes = image_sizes(1, 13, valid=lambda h, w: h % 2 == 0 and w % 2 == 0 and max(h, w) > 2)

    @CONTROL
    @given(images(1, sizes))
    def check(x):
        fuzz_check(_ZeroPaddedCNN(), (x,), card.input_action, card.output_action, 1e-10)

    with pytest.raises(AssertionError, match="equivariance FAILED"):
        check()


def test_the_point_cloud_fuzz_catches_a_non_invariant_energy():
    card = zoo.get("egnn")

    @CONTROL
    @given(point_clouds(num_features=4))
    def check(cloud):
        fuzz_check(_AxisEnergy(), cloud, card.input_action, card.output_action, 1e-10)

    with pytest.raises(AssertionError, match="equivariance FAILED"):
        check()


# -- regressions: the bugs this fuzzing found, pinned ------------------------------------


def _pair_cloud(distance: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    positions = 1.5 * torch.randn(5, 3, generator=gen, dtype=torch.float64)
    positions[1] = positions[0] + distance * torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64)
    features = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    return positions, features, torch.zeros(5, dtype=torch.long)


@pytest.mark.parametrize("name", ["tfn", "se3_transformer"])
@settings(FUZZ, max_examples=2)
@given(cloud=point_clouds(num_features=4, max_clouds=1, **WELL_CONDITIONED))
@example(cloud=_pair_cloud(1e-12))
def test_irreps_models_have_bounded_forces_at_near_coincident_points(name, cloud):
    """Bug: the edge harmonics used the direction r̂ alone, so l > 0 filters did not vanish
    as two points met; the energy jumped at coincidence, forces grew like 1/|r| (2e8 at
    |r| = 1e-12) and the E(3) error reached 1e-3 in float64.  Solid harmonics fix both."""
    card, model = _card_model(name, torch.float64)
    _, forces = model(*cloud)
    assert forces.abs().max() < 1e3
    fuzz_check(model, cloud, card.input_action, card.output_action, 1e-10)


@settings(FUZZ, max_examples=2)
@given(x=images(1, image_sizes(1, 8, valid=lambda h, w: min(h, w) == 1)))
@example(x=torch.ones(1, 1, 8, 1, dtype=torch.float64))
def test_steerable_cnn_names_the_smallest_image_size(x):
    """Bug: a side of 1 pixel crashed inside torch's pooling ('Output size is too small')."""
    _, model = _card_model("steerable_cnn", torch.float64)
    with pytest.raises(ValueError, match="at least 2"):
        model(x)
