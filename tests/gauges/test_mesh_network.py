"""MeshGaugeNetwork: gauge x rigid x relabel equivariance, isometric re-embeddings, bad input."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import (
    EmbeddingChange,
    GaugeMeshSymmetry,
    GaugeVertexOutputs,
)
from gdl_zoo.gauges.frames import mesh_gauge
from gdl_zoo.gauges.gem_cnn import GEMCNN, GaugeTransformer
from gdl_zoo.gauges.mesh_network import MeshGaugeNetwork
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.actions import HingeFold
from gdl_zoo.meshes.generators import bumpy_icosphere, grid, icosphere
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.symmetry.actions import Invariant
from gdl_zoo.symmetry.testing import assert_equivariant, assert_invariant, equivariance_error

IN, OUT, HIDDEN = SO2Irreps((2, 1)), SO2Irreps((1, 1)), SO2Irreps.regular(2, 2)


def _network(cls, dtype, nonlinearity="norm"):
    torch.manual_seed(0)
    net = MeshGaugeNetwork(cls(IN, OUT, HIDDEN, 2, nonlinearity, samples=16)).to(dtype)
    for module in net.modules():  # non-zero biases make the checks meaningful
        if isinstance(getattr(module, "bias", None), torch.nn.Parameter):
            with torch.no_grad():
                module.bias.uniform_(-0.3, 0.3)
    return net


def _sphere_inputs(dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    positions, mesh = bumpy_icosphere(1, 0.2, gen)
    n = len(positions)
    x = torch.randn(n, IN.dim, generator=gen, dtype=torch.float64)
    frame = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    return x.to(dtype), positions.to(dtype), mesh.faces, frame.to(dtype)


@pytest.mark.parametrize("cls", [GEMCNN, GaugeTransformer])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_exact_under_gauge_changes_rigid_motions_and_relabelling(cls, dtype):
    inputs = _sphere_inputs(dtype)
    n = len(inputs[0])
    report = assert_equivariant(
        _network(cls, dtype), inputs, GaugeMeshSymmetry(IN, n), GaugeVertexOutputs(OUT, n)
    )
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_ignoring_the_frame_breaks_gauge_equivariance():
    """Negative control: a network that computes its own gauge and drops ``frame``."""
    net, inputs = _network(GEMCNN, torch.float64), _sphere_inputs(torch.float64)
    n = len(inputs[0])

    def frameless(x, positions, faces, frame):
        return net(x, positions, faces) + 0 * frame.sum()

    report = equivariance_error(
        frameless, inputs, GaugeMeshSymmetry(IN, n), GaugeVertexOutputs(OUT, n)
    )
    assert not report.passed


def _folded_sheet(dtype):
    positions, mesh = grid(4, 4)
    n = len(positions)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, IN.dim, generator=gen, dtype=torch.float64)
    frame = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    moving = positions[:, 0] > 0.5 + 1e-9  # the hinge is the grid line x = 0.5
    fold = HingeFold(moving, point=[0.5, 0.0, 0.0], direction=[0.0, 1.0, 0.0])
    return (x.to(dtype), positions.to(dtype), mesh.faces, frame.to(dtype)), fold


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_invariant_under_isometric_re_embedding_of_a_sheet_with_boundary(dtype):
    inputs, fold = _folded_sheet(dtype)
    net = _network(GEMCNN, dtype, nonlinearity="regular")  # intrinsic: exact even with S samples
    report = assert_invariant(net, inputs, EmbeddingChange(fold))
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_an_extrinsic_model_is_not_invariant_under_the_fold():
    """Negative control: reading the embedding's coordinates breaks the invariance."""
    inputs, fold = _folded_sheet(torch.float64)
    net = _network(GEMCNN, torch.float64)

    def extrinsic(x, positions, faces, frame):
        return net(x, positions, faces, frame) + positions[:, 2:]

    report = equivariance_error(extrinsic, inputs, EmbeddingChange(fold), Invariant())
    assert not report.passed


def test_precomputed_gauge_metric_and_positions_agree():
    net = _network(GaugeTransformer, torch.float64)
    x, positions, faces, frame = _sphere_inputs(torch.float64)
    mesh = icosphere(1)[1]
    lengths = edge_lengths(mesh, positions)
    direct = net(x, positions, faces, frame)
    assert torch.equal(direct, net.forward_metric(x, mesh, lengths, frame))
    assert torch.equal(direct, net.forward_gauge(x, mesh_gauge(mesh, lengths, frame)))


def test_bad_inputs_name_expected_and_received():
    net = _network(GEMCNN, torch.float64)
    x, positions, faces, frame = _sphere_inputs(torch.float64)
    with pytest.raises(ValueError, match=r"features: expected shape \(N, 4\) for irreps"):
        net(x[:, :3], positions, faces, frame)
    with pytest.raises(ValueError, match=r"positions: expected shape \(N, 3\)"):
        net(x, positions.flatten(), faces, frame)
    collapsed = positions.clone()
    collapsed[faces[0, 1]] = collapsed[faces[0, 0]]  # a degenerate embedding
    with pytest.raises(ValueError, match="non-positive length"):
        net(x, collapsed, faces, frame)
    with pytest.raises(TypeError, match="MeshGauge"):
        net.forward_gauge(x, (faces,))
    with pytest.raises(TypeError, match="gauge stack"):
        MeshGaugeNetwork(torch.nn.Linear(2, 2))


def test_the_network_names_its_irreps_in_its_repr():
    from gdl_zoo import zoo

    network = zoo.get("gem_cnn").build()
    assert repr(network).splitlines()[1].strip() == f"{network.irreps_in} -> {network.irreps_out}"
