"""GaugeNetworkOnMesh: a gauge network bound to one mesh, equal to the network, exportable."""

import math

import pytest
import torch

from gdl_zoo.compilation import count_graph_breaks
from gdl_zoo.gauges.gem_cnn import GEMCNN, GaugeTransformer
from gdl_zoo.gauges.mesh_network import GaugeNetworkOnMesh, MeshGaugeNetwork
from gdl_zoo.gauges.models import bound_to_example_mesh, example_gauge_mesh_inputs
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.generators import bumpy_icosphere
from gdl_zoo.zoo import get

IN, OUT, HIDDEN = SO2Irreps((2, 1)), SO2Irreps((1, 1)), SO2Irreps.regular(2, 2)


def _network(cls):
    torch.manual_seed(0)
    return MeshGaugeNetwork(cls(IN, OUT, HIDDEN, 2, "regular", samples=16)).double().eval()


def _mesh_inputs(seed):
    gen = torch.Generator().manual_seed(seed)
    positions, mesh = bumpy_icosphere(1, 0.2, gen)
    n = len(positions)
    x = torch.randn(n, IN.dim, generator=gen, dtype=torch.float64)
    frame = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    return x, positions, mesh.faces, frame


def _relative(a, b):
    return float(((a - b).abs().max() / b.abs().max()).detach())


@pytest.mark.parametrize("cls", [GEMCNN, GaugeTransformer])
def test_the_exported_bound_network_equals_the_network_on_other_features_and_meshes(cls):
    net = _network(cls)
    x, positions, faces, frame = _mesh_inputs(0)
    program = torch.export.export(net.bind(positions, faces, frame), (x,))
    assert _relative(program.module()(x), net(x, positions, faces, frame)) < 1e-12
    # not specialised to the example's features: other features, same program
    other = torch.randn_like(x)
    assert _relative(program.module()(other), net(other, positions, faces, frame)) < 1e-12
    assert _relative(program.module()(other), program.module()(x)) > 1e-2
    # another mesh (other positions, frame): bind and export again
    x2, positions2, faces2, frame2 = _mesh_inputs(1)
    program2 = torch.export.export(net.bind(positions2, faces2, frame2), (x2,))
    assert _relative(program2.module()(x2), net(x2, positions2, faces2, frame2)) < 1e-12


def test_a_network_bound_to_another_mesh_or_gauge_is_told_apart():
    """Negative control: the comparison sees the mesh and the gauge the module is bound to."""
    net = _network(GEMCNN)
    x, positions, faces, frame = _mesh_inputs(0)
    _, positions2, faces2, _ = _mesh_inputs(1)
    expected = net(x, positions, faces, frame)
    assert _relative(net.bind(positions2, faces2, frame)(x), expected) > 1e-3
    assert _relative(net.bind(positions, faces, frame + 0.5)(x), expected) > 1e-3


def test_the_bound_network_shares_the_parameters_and_moves_its_gauge_with_them():
    net = _network(GEMCNN)
    x, positions, faces, frame = _mesh_inputs(0)
    bound = net.bind(positions, faces, frame)
    assert {n for n, _ in bound.named_buffers()} >= {"edge_index", "log_angle", "transport"}
    with torch.no_grad():
        next(net.parameters()).add_(0.1)
    assert _relative(bound(x), net(x, positions, faces, frame)) < 1e-12
    floats = bound.float()
    assert floats.log_angle.dtype == torch.float32 and floats.edge_index.dtype == torch.long


def test_the_card_export_form_binds_the_example_mesh():
    net = _network(GaugeTransformer)
    gen = torch.Generator().manual_seed(0)
    inputs = example_gauge_mesh_inputs(1, torch.float64, gen)
    inputs = (inputs[0][:, : IN.dim],) + inputs[1:]
    module, module_inputs = bound_to_example_mesh(net, inputs)
    assert isinstance(module, GaugeNetworkOnMesh) and module_inputs == (inputs[0],)
    assert _relative(module(*module_inputs), net(*inputs)) < 1e-12


def test_bad_features_and_bad_bindings_name_what_was_expected():
    net = _network(GEMCNN)
    x, positions, faces, frame = _mesh_inputs(0)
    bound = net.bind(positions, faces, frame)
    expected = r"expected shape \(42, 4\) for the bound mesh, got \(41, 4\)"
    with pytest.raises(ValueError, match=expected):
        bound(x[:-1])
    with pytest.raises(ValueError, match="positions: expected shape"):
        net.bind(positions[0], faces, frame)
    with pytest.raises(TypeError, match="network: expected a MeshGaugeNetwork"):
        GaugeNetworkOnMesh(net.stack, None)


@pytest.mark.parametrize("name", ["gem_cnn", "gauge_transformer"])
def test_the_cards_bound_forms_compile_without_graph_breaks(name):
    card = get(name)
    torch.manual_seed(0)
    model, inputs = card.build().double().eval(), card.example_inputs(2, torch.float64)
    module, module_inputs = card.export_form(model, inputs)
    assert count_graph_breaks(module, *module_inputs) == (0, ())
