"""The bad-input sweep: every public layer and every registered model fed the classic mistakes.

One table row per public ``nn.Module`` of the domain subpackages (walked from
their ``__all__``, so a new public layer without a row fails
:func:`test_every_public_module_has_a_row`) and one per model card.  A row says
how to build a small instance, its valid inputs, which input is the main
floating signal, where its channels and its meaningless-when-empty axis are,
and which inputs are indices.  Each row is fed:

===========  =====================================================================
mistake      what is fed, and what must happen
===========  =====================================================================
rank         the signal with an extra leading axis (a rank-0 signal for layers on
             ``(*, C)``, a vector ``(C,)`` for layers on ``(*, N, C)``, which accept
             extra leading axes): ``ValueError`` naming the received shape
channels     one channel too many on the channel axis: ``ValueError`` naming the
             received shape or channel count
int          the signal as ``torch.int64``: ``TypeError``/``ValueError`` naming it
complex      the signal as ``torch.complex64``: the same, naming ``complex64``
float16      the signal as ``float16`` into a ``float32`` module: ``TypeError``
             naming both dtypes (parameter-free layers: a valid ``float16`` output)
device       the signal on the ``meta`` device into a CPU module: ``ValueError``
             naming both devices (parameter-free layers: a valid ``meta`` output)
empty        the signal with 0 entries on its empty axis: ``ValueError`` naming the
             shape; pointwise ``(*, C)`` layers return a valid empty output instead
nan          one NaN in the signal: ``ValueError`` naming NaN
index        an index (``edge_index``, ``faces``) of 1000000 or a ``batch`` of -1:
             ``ValueError`` naming the bad index
index_dev    an index on the ``meta`` device beside CPU features: ``ValueError``
             naming both devices
===========  =====================================================================

Every error must be a ``ValueError`` or ``TypeError`` raised by gdl_zoo code
(the last traceback frame lies in the ``gdl_zoo`` package, not inside torch),
whose message contains ``expected`` and the received value.

Empty inputs are rejected everywhere a batch, a sequence, a graph or a mesh is
involved (``check_signal``'s and ``check_graph``'s contract: a batch of 0
images, 0 time steps, 0 nodes are caller bugs, and the reductions behind
pooling and normalisation have no value on them); only the pointwise layers on
``(*, C)`` (``graphs.MLP``, ``gauges.IrrepsLinear``, the gauge
nonlinearities) map 0 rows to 0 rows, as ``nn.Linear`` does.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import torch
from torch import nn

import gdl_zoo
from gdl_zoo import zoo

DOMAINS = ("grids", "groups", "graphs", "meshes", "gauges", "weightspace")
PACKAGE = Path(gdl_zoo.__file__).parent
BIG_INDEX = 1_000_000

#: Public nn.Module classes without a row, and why.
EXCLUDED = {
    "graphs.GraphModel": "abstract base of the graph models (forward is its subclasses'); "
    "every subclass has a card row",
    "groups.IrrepsGraphNetwork": "abstract base (abc.ABC) of TFN and SE3Transformer, "
    "which have rows",
    "meshes.EdgeLengthMetric": "forward() takes no input: it returns its own learnable lengths",
    "meshes.FixedMeshOperators": "a container of buffers (no forward); the layers that read it "
    "have rows, and DiffusionNetOnMesh feeds it the mistakes",
    "grids.CircularRelativeBias": "forward(T) takes a Python int, not a tensor; its T is "
    "checked in tests/grids/test_seq_transformer.py",
}


def _add_axis(x: torch.Tensor) -> torch.Tensor:
    return x.unsqueeze(0)


def _scalar(x: torch.Tensor) -> torch.Tensor:
    return x.flatten()[0]


@dataclass(frozen=True)
class Row:
    """How to feed one module the classic mistakes.

    Attributes:
        make: ``make() -> (module, inputs)``, a small float32 CPU instance and valid inputs.
        signal: the position in ``inputs`` of the main floating signal.
        channel_dim: its channel axis (``None``: no fixed channel count).
        rank: the wrong-rank version of the signal.
        empty_dim: the axis whose emptiness is a mistake (``None``: no empty case).
        empty_ok: 0 entries on ``empty_dim`` give a valid empty output instead.
        indices: positions of index inputs: ``"index"`` (edge_index, faces) or ``"batch"``.
        params: the module has parameters, so the signal's dtype and device must match them.
    """

    make: Callable[[], tuple[nn.Module, tuple]]
    signal: int = 0
    channel_dim: int | None = -1
    rank: Callable[[torch.Tensor], torch.Tensor] = _add_axis
    empty_dim: int | None = 0
    empty_ok: bool = False
    indices: dict[int, str] = field(default_factory=dict)
    params: bool = True


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed))


def _graph() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of two small graphs: x (7, 4), edge_index (2, 10), batch (7,)."""
    edges = [(0, 1), (1, 2), (2, 0), (1, 0), (3, 3), (4, 5), (5, 6), (6, 4), (5, 4), (6, 5)]
    edge_index = torch.tensor(edges).t().contiguous()
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    return _randn(7, 4), edge_index, batch


def _points() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two small point clouds: positions (7, 3), features (7, 4), batch (7,)."""
    return _randn(7, 3, seed=1), _randn(7, 4, seed=2), torch.tensor([0, 0, 0, 0, 1, 1, 1])


@cache
def _mesh():
    """A bumpy icosphere (42 vertices): positions, faces, operators and gauge."""
    from gdl_zoo.gauges import mesh_gauge
    from gdl_zoo.meshes.generators import bumpy_icosphere
    from gdl_zoo.meshes.geometry import edge_lengths
    from gdl_zoo.meshes.operators import MeshOperators

    positions, mesh = bumpy_icosphere(1, 0.15, _gen())
    positions = positions.float()
    ops = MeshOperators.from_positions(mesh, positions, k_eig=8)
    gauge = mesh_gauge(mesh, edge_lengths(mesh, positions))
    return positions, mesh, ops, gauge


def _irreps(spec: tuple[int, ...]):
    from gdl_zoo.gauges import SO2Irreps

    return SO2Irreps(spec)


def _gauge_row(layer: Callable[[], nn.Module], irreps_in: tuple[int, ...]) -> Row:
    def make():
        _, _, _, gauge = _mesh()
        features = _randn(gauge.num_vertices, _irreps(irreps_in).dim)
        return layer(), (features, *gauge.layer_inputs())

    return Row(make, indices={1: "index"})


def _grids() -> dict[str, Row]:
    from gdl_zoo import grids

    def images(module, channels=2, size=8):
        return lambda: (module(), (_randn(2, channels, size, size),))

    return {
        "grids.CircularConv": Row(images(lambda: grids.CircularConv(2, 3)), channel_dim=1),
        "grids.StridedPool": Row(images(grids.StridedPool), channel_dim=None, params=False),
        "grids.ResidualBlock": Row(images(lambda: grids.ResidualBlock(2)), channel_dim=1),
        "grids.ChronoLSTM": Row(lambda: (grids.ChronoLSTM(3, 4, t_max=10.0), (_randn(2, 5, 3),))),
        "grids.GatedRNN": Row(lambda: (grids.GatedRNN(3, 4), (_randn(2, 5, 3),))),
        "grids.SelfAttention": Row(lambda: (grids.SelfAttention(8, 2), (_randn(2, 5, 8),))),
        "grids.TransformerBlock": Row(
            lambda: (grids.TransformerBlock(8, 2, 16), (_randn(2, 5, 8),))
        ),
    }


def _groups() -> dict[str, Row]:
    from gdl_zoo import groups

    def images(module, channels, size=7):
        return lambda: (module(), (_randn(2, channels, size, size),))

    def cloud(module):
        def make():
            positions, features, batch = _points()
            return module(), (positions, features, batch)

        return make

    def s2(module, channels, dim):
        return lambda: (module(), (_randn(2, channels, dim),))

    return {
        "groups.LiftingConv": Row(images(lambda: groups.LiftingConv(2, 3), 2), channel_dim=1),
        "groups.GroupConv": Row(images(lambda: groups.GroupConv(2, 3), 8), channel_dim=1),
        "groups.GroupBatchNorm": Row(
            images(lambda: groups.GroupBatchNorm(2).eval(), 8), channel_dim=1
        ),
        "groups.GroupPool": Row(images(groups.GroupPool, 8), channel_dim=1, params=False),
        "groups.GroupResidualBlock": Row(
            images(lambda: groups.GroupResidualBlock(2).eval(), 16), channel_dim=1
        ),
        "groups.P4ConvGRUCell": Row(images(lambda: groups.P4ConvGRUCell(2, 3), 2), channel_dim=1),
        "groups.S2Conv": Row(s2(lambda: groups.S2Conv(2, 3, 2, 1), 2, 9), channel_dim=1),
        "groups.SO3Conv": Row(s2(lambda: groups.SO3Conv(2, 3, 1, 1), 2, 10), channel_dim=1),
        "groups.EGNN": Row(
            cloud(lambda: groups.EGNN(4, 2, channels=8, num_layers=1)),
            signal=1,
            indices={2: "batch"},
        ),
        "groups.EGNNLayer": Row(
            lambda: (groups.EGNNLayer(4), (*_points()[:2], _graph()[1])),
            signal=1,
            indices={2: "index"},
        ),
        "groups.TFN": Row(
            cloud(lambda: groups.TFN(4, 2, hidden_irreps="4x0e + 2x1o", num_layers=1, lmax=1)),
            signal=1,
            indices={2: "batch"},
        ),
        "groups.SE3Transformer": Row(
            cloud(
                lambda: groups.SE3Transformer(
                    4, 2, hidden_irreps="4x0e + 2x1o", irreps_key="2x0e", num_layers=1, lmax=1
                )
            ),
            signal=1,
            indices={2: "batch"},
        ),
        "groups.ScalarHeadEnergy": Row(
            cloud(
                lambda: groups.ScalarHeadEnergy(
                    groups.TFN(4, 1, hidden_irreps="4x0e + 2x1o", num_layers=1, lmax=1)
                )
            ),
            signal=1,
            indices={2: "batch"},
        ),
        "groups.PotentialEnergy": Row(
            cloud(lambda: groups.PotentialEnergy(groups.EGNNEnergy(4, channels=8, num_layers=1))),
            signal=1,
            indices={2: "batch"},
        ),
    }


def _graphs() -> dict[str, Row]:
    from gdl_zoo import graphs
    from gdl_zoo.graphs.dense_blocks import DenseBlocks

    def conv(module):
        def make():
            x, edge_index, _ = _graph()
            return module(), (x, edge_index)

        return make

    def dense(module):
        def make():
            x, edge_index, batch = _graph()
            return module(), (x, DenseBlocks.from_graph(edge_index, batch, 7))

        return make

    def encodings():
        _, edge_index, batch = _graph()
        vectors, values, valid = graphs.laplacian_eigenvectors(edge_index, 7, 2, batch)
        return graphs.SignInvariantEncoder(4), (vectors.float(), values.float(), valid)

    def mpnn_layer():
        x, edge_index, _ = _graph()
        return graphs.MPNNLayer(4, 5, 3), (x, edge_index, _randn(10, 3, seed=3))

    index = {1: "index"}
    return {
        "graphs.DeepSetsLayer": Row(
            lambda: (graphs.DeepSetsLayer(4, 5), (_graph()[0], _graph()[2])),
            indices={1: "batch"},
        ),
        "graphs.GCNConv": Row(conv(lambda: graphs.GCNConv(4, 5)), indices=index),
        "graphs.GATConv": Row(conv(lambda: graphs.GATConv(4, 5, heads=2)), indices=index),
        # GINConv wraps any mlp: the mlp (here graphs.MLP) owns the channel check
        "graphs.GINConv": Row(
            conv(lambda: graphs.GINConv(graphs.MLP((4, 5)))), channel_dim=None, indices=index
        ),
        "graphs.GatedGraphConv": Row(conv(lambda: graphs.GatedGraphConv(4, 2)), indices=index),
        "graphs.MPNNLayer": Row(mpnn_layer, indices=index),
        "graphs.GraphAttention": Row(dense(lambda: graphs.GraphAttention(4, 2))),
        "graphs.GraphTransformerLayer": Row(dense(lambda: graphs.GraphTransformerLayer(4, 2))),
        "graphs.MLP": Row(
            lambda: (graphs.MLP((4, 5)), (_graph()[0],)), rank=_scalar, empty_ok=True
        ),
        "graphs.SignInvariantEncoder": Row(encodings),
    }


def _vector(x: torch.Tensor) -> torch.Tensor:
    return x.flatten()[: x.shape[-1]]


def _meshes() -> dict[str, Row]:
    from gdl_zoo import meshes

    def on_ops(module):
        def make():
            _, _, ops, _ = _mesh()
            return module(), (_randn(2, ops.num_vertices, 4), ops)

        return make

    def bound(network):
        def make():
            positions, mesh, _, _ = _mesh()
            return network.bind(positions, mesh.faces), (_randn(2, len(positions), 4),)

        return make

    def attention():
        n = _mesh()[0].shape[0]
        return meshes.BiasedAttentionLayer(4, 2), (_randn(2, n, 4), _randn(2, n, n, seed=1))

    return {
        # (*, N, C) layers: an extra leading axis is valid, a vector (C,) is the wrong rank
        "meshes.DiffusionBlock": Row(
            on_ops(lambda: meshes.DiffusionBlock(4)), rank=_vector, empty_dim=1
        ),
        "meshes.LearnedTimeDiffusion": Row(
            on_ops(lambda: meshes.LearnedTimeDiffusion(4)), rank=_vector, empty_dim=1
        ),
        "meshes.SpatialGradientFeatures": Row(
            on_ops(lambda: meshes.SpatialGradientFeatures(4)), rank=_vector, empty_dim=1
        ),
        "meshes.BiasedAttentionLayer": Row(attention, empty_dim=1),
        # bound to one mesh: (*, N, C) features only, N fixed by the mesh
        "meshes.DiffusionNetOnMesh": Row(bound(meshes.MeshDiffusionNet(4, 3, 8, 1)), rank=_vector,
                                         empty_dim=1),
        "meshes.MeshTransformerOnMesh": Row(bound(meshes.MeshTransformer(4, 3, 8, 2, 1)),
                                            rank=_vector, empty_dim=1),
    }


def _gauges() -> dict[str, Row]:
    from gdl_zoo import gauges

    irreps_in, irreps_out = (2, 1), (1, 1)

    def pointwise(module, spec):
        return Row(
            lambda: (module(), (_randn(5, _irreps(spec).dim),)), rank=_scalar, empty_ok=True
        )

    def bound_gauge_network():
        positions, mesh, _, _ = _mesh()
        network = gauges.MeshGaugeNetwork(stack(gauges.GEMCNN, samples=7)())
        return network.bind(positions, mesh.faces), (_randn(len(positions), 4),)

    def stack(cls, **kwargs):
        return lambda: cls(_irreps(irreps_in), _irreps(irreps_out), num_layers=1, **kwargs)

    return {
        "gauges.GEMConv": _gauge_row(
            lambda: gauges.GEMConv(_irreps(irreps_in), _irreps(irreps_out)), irreps_in
        ),
        "gauges.GaugeAttention": _gauge_row(
            lambda: gauges.GaugeAttention(_irreps(irreps_in), _irreps(irreps_out)), irreps_in
        ),
        "gauges.GEMCNN": _gauge_row(stack(gauges.GEMCNN, samples=7), irreps_in),
        "gauges.GaugeNetworkOnMesh": Row(bound_gauge_network, empty_dim=0),
        "gauges.GaugeTransformer": _gauge_row(stack(gauges.GaugeTransformer, samples=7), irreps_in),
        "gauges.IrrepsLinear": pointwise(
            lambda: gauges.IrrepsLinear(_irreps(irreps_in), _irreps(irreps_out)), irreps_in
        ),
        "gauges.NormNonlinearity": Row(
            lambda: (gauges.NormNonlinearity(_irreps(irreps_in)), (_randn(5, 4),)),
            rank=_scalar,
            empty_ok=True,
        ),
        "gauges.RegularNonlinearity": Row(
            lambda: (gauges.RegularNonlinearity(_irreps((1, 1)), 7), (_randn(5, 3),)),
            rank=_scalar,
            empty_ok=True,
            params=False,
        ),
    }


def _card(name: str, **spec) -> Row:
    def make():
        card = zoo.get(name)
        torch.manual_seed(0)
        return card.build().eval(), card.example_inputs(2, torch.float32, _gen())

    return Row(make, **spec)


#: How each registered card's example inputs are laid out.
CARD_ROWS: dict[str, Row] = {
    "cnn": _card("cnn", channel_dim=1),
    "resnet": _card("resnet", channel_dim=1),
    "gated_rnn": _card("gated_rnn"),
    "seq_transformer": _card("seq_transformer"),
    "p4cnn": _card("p4cnn", channel_dim=1),
    "p4m_resnet": _card("p4m_resnet", channel_dim=1),
    "steerable_cnn": _card("steerable_cnn", channel_dim=1),
    "p4_convgru": _card("p4_convgru", channel_dim=2),
    "spherical_cnn": _card("spherical_cnn", channel_dim=1),
    "egnn": _card("egnn", signal=1, indices={2: "batch"}),
    "tfn": _card("tfn", signal=1, indices={2: "batch"}),
    "se3_transformer": _card("se3_transformer", signal=1, indices={2: "batch"}),
    "deepsets": _card("deepsets", indices={1: "batch"}),
    "gcn": _card("gcn", indices={1: "index", 2: "batch"}),
    "gat": _card("gat", indices={1: "index", 2: "batch"}),
    "gin": _card("gin", indices={1: "index", 2: "batch"}),
    "ggnn": _card("ggnn", indices={1: "index", 2: "batch"}),
    "graph_transformer": _card("graph_transformer", indices={1: "index", 2: "batch"}),
    "mpnn": _card("mpnn", indices={1: "index", 3: "batch"}),
    "mesh_diffusionnet": _card("mesh_diffusionnet", empty_dim=1, indices={2: "index"}),
    "mesh_transformer": _card("mesh_transformer", empty_dim=1, indices={2: "index"}),
    "gem_cnn": _card("gem_cnn", indices={2: "index"}),
    "gauge_transformer": _card("gauge_transformer", indices={2: "index"}),
    "mlp_probe": _card("mlp_probe", channel_dim=-1),
}

LAYER_ROWS: dict[str, Row] = {
    **_grids(), **_groups(), **_graphs(), **_meshes(), **_gauges()
}  # fmt: skip
ROWS: dict[str, Row] = {**LAYER_ROWS, **{f"card.{k}": v for k, v in CARD_ROWS.items()}}


def _public_modules() -> dict[str, type]:
    found = {}
    for domain in DOMAINS:
        package = importlib.import_module(f"gdl_zoo.{domain}")
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) and issubclass(obj, nn.Module):
                found[f"{domain}.{name}"] = obj
    return found


def _card_classes() -> set[type]:
    return {type(_built(f"card.{card.name}")[0]) for card in zoo.list_models()}


def test_every_public_module_has_a_row():
    """A public nn.Module is a layer row, the class of a card row, or justified in EXCLUDED."""
    public = _public_modules()
    card_classes = _card_classes()
    missing = [
        name
        for name, cls in public.items()
        if name not in LAYER_ROWS and name not in EXCLUDED and cls not in card_classes
    ]
    assert not missing, f"public nn.Modules without a bad-input row: {missing}"
    stale = sorted((set(LAYER_ROWS) | set(EXCLUDED)) - set(public))
    assert not stale, f"rows or exclusions of names that are no longer public: {stale}"


def test_every_card_has_a_row():
    assert sorted(CARD_ROWS) == sorted(card.name for card in zoo.list_models())


def test_the_coverage_check_catches_a_new_public_layer(monkeypatch):
    """Negative control: a public layer added to a domain's __all__ without a row is reported."""
    from gdl_zoo import grids

    class Unlisted(nn.Module):
        def forward(self, x):
            return x

    monkeypatch.setattr(grids, "Unlisted", Unlisted, raising=False)
    monkeypatch.setattr(grids, "__all__", [*grids.__all__, "Unlisted"])
    with pytest.raises(AssertionError, match="grids.Unlisted"):
        test_every_public_module_has_a_row()


@cache
def _built(row_name: str) -> tuple[nn.Module, tuple]:
    torch.manual_seed(0)
    module, inputs = ROWS[row_name].make()
    return module, tuple(inputs)


def _replace(inputs: tuple, position: int, value) -> tuple:
    return (*inputs[:position], value, *inputs[position + 1 :])


def _with_nan(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[x.numel() // 2] = math.nan
    return x


def _bad_index(t: torch.Tensor, kind: str) -> tuple[torch.Tensor, str]:
    t = t.clone()
    if kind == "batch":
        t[0] = -1
        return t, "-1"
    t.view(-1)[-1] = BIG_INDEX
    return t, str(BIG_INDEX)


def _mistakes(row: Row, x: torch.Tensor) -> dict[str, tuple[Callable[[], torch.Tensor], list]]:
    """Mistake name -> (the bad signal, strings the error must contain); ``None``: valid."""
    mistakes = {
        "rank": (lambda: row.rank(x), None),
        "int": (lambda: x.round().long(), ["torch.int64"]),
        "complex": (lambda: x.to(torch.complex64), ["torch.complex64"]),
        "float16": (lambda: x.half(), ["float16", "float32"] if row.params else "valid"),
        "device": (lambda: x.to("meta"), ["cpu", "meta"] if row.params else "valid"),
        "nan": (lambda: _with_nan(x), ["NaN"]),
    }
    if row.channel_dim is not None:
        dim = row.channel_dim
        mistakes["channels"] = (lambda: torch.cat([x, x.narrow(dim, 0, 1)], dim), None)
    if row.empty_dim is not None:
        empty = (lambda: x.narrow(row.empty_dim, 0, 0), "valid" if row.empty_ok else None)
        mistakes["empty"] = empty
    return mistakes


def _cases():
    cases = []
    for name, row in ROWS.items():
        for mistake in ("rank", "channels", "int", "complex", "float16", "device", "empty", "nan"):
            if mistake == "channels" and row.channel_dim is None:
                continue
            if mistake == "empty" and row.empty_dim is None:
                continue
            cases.append((name, mistake))
        for position in row.indices:
            cases += [(name, f"index{position}"), (name, f"index_device{position}")]
    return cases


CASES = _cases()


def _raised_in_gdl_zoo(excinfo: pytest.ExceptionInfo) -> bool:
    """Whether the innermost frame of the traceback lies in the gdl_zoo package."""
    return PACKAGE in Path(str(excinfo.traceback[-1].path)).resolve().parents


def _assert_ours(excinfo: pytest.ExceptionInfo, needles: list[str]) -> None:
    message = str(excinfo.value)
    assert "expected" in message.lower(), f"no 'expected' in: {message}"
    for needle in needles:
        assert needle in message, f"{needle!r} not in: {message}"
    assert _raised_in_gdl_zoo(excinfo), f"raised inside torch, not by gdl_zoo: {message}"


def _outputs(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for t in out if isinstance(t, torch.Tensor)]


def _feed(row: Row, module: nn.Module, inputs: tuple, mistake: str) -> None:
    """Feed ``module`` one mistake and assert the row's required behaviour."""
    if mistake.startswith("index_device"):
        position = int(mistake.removeprefix("index_device"))
        with pytest.raises(ValueError) as excinfo:
            module(*_replace(inputs, position, inputs[position].to("meta")))
        _assert_ours(excinfo, ["cpu", "meta"])
        return
    if mistake.startswith("index"):
        position = int(mistake.removeprefix("index"))
        bad, needle = _bad_index(inputs[position], row.indices[position])
        with pytest.raises((ValueError, TypeError)) as excinfo:
            module(*_replace(inputs, position, bad))
        _assert_ours(excinfo, [needle])
        return
    make_bad, needles = _mistakes(row, inputs[row.signal])[mistake]
    bad = make_bad()
    bad_inputs = _replace(inputs, row.signal, bad)
    if needles == "valid":
        outputs = _outputs(module(*bad_inputs))
        assert outputs
        for out in outputs:
            if mistake == "device":
                assert out.device.type == "meta"
                continue
            if mistake == "float16":
                assert out.dtype == torch.float16
            if mistake == "empty":
                assert out.numel() == 0
            assert torch.isfinite(out).all(), f"non-finite output on {mistake}"
        return
    if needles is None:  # a shape mistake: the message names the received shape
        needles = [str(tuple(bad.shape))]
    with pytest.raises((ValueError, TypeError)) as excinfo:
        module(*bad_inputs)
    _assert_ours(excinfo, needles)


@pytest.mark.parametrize(("row_name", "mistake"), CASES, ids=[f"{r}-{m}" for r, m in CASES])
def test_bad_input(row_name, mistake):
    module, inputs = _built(row_name)
    _feed(ROWS[row_name], module, inputs, mistake)


@pytest.mark.parametrize("row_name", list(ROWS))
def test_valid_inputs_pass(row_name):
    """Positive control: each row's valid inputs run and give finite outputs."""
    module, inputs = _built(row_name)
    for out in _outputs(module(*inputs)):
        assert torch.isfinite(out).all()


UNVALIDATED = Row(lambda: (nn.Linear(4, 3), (_randn(5, 4),)))


@pytest.mark.parametrize(
    "mistake", ["rank", "channels", "int", "complex", "float16", "device", "empty", "nan"]
)
def test_the_sweep_fails_an_unvalidated_layer(mistake):
    """Negative control: a bare nn.Linear (torch's own errors, a silent NaN) fails every mistake."""
    module, inputs = UNVALIDATED.make()
    with pytest.raises((RuntimeError, AssertionError, pytest.fail.Exception)):
        _feed(UNVALIDATED, module, inputs, mistake)


def test_an_error_raised_inside_torch_is_not_ours():
    """Negative control of the location check: torch's own ValueError is told apart."""
    with pytest.raises(ValueError) as inside_torch:
        nn.functional.dropout(torch.zeros(3), p=2.0)
    assert not _raised_in_gdl_zoo(inside_torch)
    module, inputs = _built("grids.CircularConv")
    with pytest.raises(ValueError) as ours:
        module(inputs[0][:, :1])
    assert _raised_in_gdl_zoo(ours)
