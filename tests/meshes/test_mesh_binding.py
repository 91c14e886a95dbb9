"""DiffusionNetOnMesh and MeshTransformerOnMesh: mesh networks bound to one mesh, exportable."""

import pytest
import torch
from torch.export import Dim

from gdl_zoo.compilation import count_graph_breaks
from gdl_zoo.meshes.diffusionnet import DiffusionNetOnMesh, MeshDiffusionNet
from gdl_zoo.meshes.mesh_transformer import MeshTransformer, MeshTransformerOnMesh
from gdl_zoo.meshes.models import bound_to_example_mesh, example_mesh_inputs
from gdl_zoo.zoo import get

NETWORKS = {
    "implicit": lambda: MeshDiffusionNet(3, 4, 8, 2, init_time=0.05),
    "spectral_global": lambda: MeshDiffusionNet(3, 4, 8, 2, mode="spectral", k_eig=16,
                                                output="global"),
    "geodesic": lambda: MeshTransformer(3, 4, 8, 2, 2),
    "heat_global": lambda: MeshTransformer(3, 4, 8, 2, 1, bias="heat", output="global"),
}  # fmt: skip


def _relative(a, b):
    return float(((a - b).abs().max() / b.abs().max()).detach())


def _network(kind):
    torch.manual_seed(0)
    return NETWORKS[kind]().double().eval()


def _mesh(seed, batch=2):
    return example_mesh_inputs(batch, torch.float64, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_the_exported_bound_network_equals_the_network_on_other_features_and_meshes(kind):
    net = _network(kind)
    x, positions, faces = _mesh(0)
    bound = net.bind(positions, faces)
    program = torch.export.export(bound, (x,), dynamic_shapes={"x": {0: Dim("B")}})
    assert _relative(program.module()(x), net(x, positions, faces)) < 1e-10
    # not specialised to the example: other features, another batch size, same program
    other = torch.randn(5, *x.shape[1:], dtype=x.dtype, generator=torch.Generator().manual_seed(9))
    assert _relative(program.module()(other), net(other, positions, faces)) < 1e-10
    assert _relative(program.module()(other[:2]), program.module()(x)) > 1e-2
    # another mesh (other positions): bind and export again
    x2, positions2, faces2 = _mesh(1)
    program2 = torch.export.export(net.bind(positions2, faces2), (x2,))
    assert _relative(program2.module()(x2), net(x2, positions2, faces2)) < 1e-10


@pytest.mark.parametrize("kind", ["implicit", "geodesic"])
def test_a_network_bound_to_another_mesh_is_told_apart(kind):
    """Negative control: the comparison (tolerance 1e-10) sees the mesh the module is bound to."""
    net = _network(kind)
    x, positions, faces = _mesh(0)
    _, positions2, faces2 = _mesh(1)
    assert _relative(net.bind(positions2, faces2)(x), net(x, positions, faces)) > 1e-5


def test_the_bound_network_shares_the_learned_parameters():
    net = _network("implicit")
    x, positions, faces = _mesh(0)
    bound = net.bind(positions, faces)
    assert isinstance(bound, DiffusionNetOnMesh)
    with torch.no_grad():
        net.blocks[0].diffusion.log_time.add_(1.0)  # longer diffusion, after binding
    assert _relative(bound(x), net(x, positions, faces)) < 1e-10
    loss = bound(x).square().sum()
    loss.backward()
    assert net.blocks[0].diffusion.log_time.grad.abs().max() > 0


def test_the_card_export_form_binds_the_example_mesh():
    net = _network("geodesic")
    inputs = _mesh(0)
    module, module_inputs = bound_to_example_mesh(net, inputs)
    assert isinstance(module, MeshTransformerOnMesh) and module_inputs == (inputs[0],)
    assert _relative(module(*module_inputs), net(*inputs)) < 1e-12


def test_bad_features_and_bad_bindings_name_what_was_expected():
    net = _network("implicit")
    x, positions, faces = _mesh(0)
    bound = net.bind(positions, faces)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 42, 3\) or \(42, 3\)"):
        bound(x[:, :-1])
    with pytest.raises(TypeError, match="operators: expected FixedMeshOperators"):
        DiffusionNetOnMesh(net, None)
    transformer = _network("geodesic")
    fixed = transformer.bind(positions, faces).operators
    with pytest.raises(ValueError, match=r"pairwise: expected shape \(42, 42\), got \(3, 3\)"):
        MeshTransformerOnMesh(transformer, fixed, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="positions: expected an"):
        net.bind(positions[0], faces)
    with pytest.raises(ValueError, match=r"expected vertex indices in \[0, 42\)"):
        net.bind(positions, faces + 100)


def _card_model(name):
    card = get(name)
    torch.manual_seed(0)
    return card, card.build().double().eval(), card.example_inputs(2, torch.float64)


@pytest.mark.parametrize("name", ["mesh_diffusionnet", "mesh_transformer"])
def test_the_cards_bound_forms_compile_without_graph_breaks(name):
    card, model, inputs = _card_model(name)
    module, module_inputs = card.export_form(model, inputs)
    assert count_graph_breaks(module, *module_inputs) == (0, ())


def test_the_unbound_diffusionnet_card_breaks_the_graph():
    """Negative control: the count sees the eager operator building of forward(x, pos, faces)."""
    _, model, inputs = _card_model("mesh_diffusionnet")
    breaks, reasons = count_graph_breaks(model, *inputs)
    assert breaks > 0 and reasons
