"""GaugeChange: features rotate by ρ(−g_p), angles shift, the action composes."""

import math

import pytest
import torch

from gdl_zoo.gauges.actions import GaugeChange, LocalSO2
from gdl_zoo.gauges.so2_irreps import SO2Irreps


def _inputs():
    irreps = SO2Irreps((1, 1))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, irreps.dim, generator=gen, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 1, 2]])
    log_angle = torch.rand(4, generator=gen, dtype=torch.float64)
    transport = torch.rand(4, generator=gen, dtype=torch.float64)
    return irreps, (x, edge_index, log_angle, transport)


def test_angles_and_features_transform_as_in_the_gem_paper():
    irreps, inputs = _inputs()
    g = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    x, edge_index, log_angle, transport = GaugeChange(irreps, 4).act(g, inputs)
    source, target = edge_index
    assert torch.allclose(log_angle, inputs[2] - g[target])
    assert torch.allclose(transport, inputs[3] - g[target] + g[source])
    expected = torch.stack([irreps.matrix(-a) @ v for a, v in zip(g, inputs[0])])
    assert torch.allclose(x, expected, atol=1e-14)


def test_action_composes_like_the_group():
    irreps, inputs = _inputs()
    action = GaugeChange(irreps, 4)
    gen = torch.Generator().manual_seed(2)
    g, h = action.sample(gen), action.sample(gen)
    twice = action.act(g, action.act(h, inputs))
    once = action.act(action.group.compose(g, h), inputs)
    for a, b in zip(twice, once):
        assert torch.allclose(a.to(torch.float64), b.to(torch.float64), atol=1e-12)


def test_group_generators_and_validation():
    group = LocalSO2(5)
    quarter, pattern = group.generators()
    assert torch.allclose(quarter, torch.full((5,), math.pi / 2, dtype=torch.float64))
    assert len(set(pattern.tolist())) == 5 and bool((pattern >= 0).all())
    with pytest.raises(ValueError, match="num_vertices"):
        LocalSO2(0)
    with pytest.raises(TypeError, match="SO2Irreps"):
        GaugeChange((1, 1), 3)
    with pytest.raises(ValueError, match="expected features or a tuple"):
        GaugeChange(SO2Irreps((1,)), 3).act(group.identity()[:3], (torch.zeros(3, 1), 1))


def _mesh_inputs():
    from gdl_zoo.meshes.generators import icosphere

    positions, mesh = icosphere(0)
    gen = torch.Generator().manual_seed(3)
    irreps = SO2Irreps((1, 2))
    x = torch.randn(12, irreps.dim, generator=gen, dtype=torch.float64)
    frame = torch.rand(12, generator=gen, dtype=torch.float64)
    return irreps, (x, positions, mesh.faces, frame)


def test_gauge_mesh_symmetry_is_an_action_and_inverts():
    from gdl_zoo.gauges.actions import GaugeMeshSymmetry, GaugeVertexOutputs
    from gdl_zoo.symmetry.testing import check_action

    irreps, inputs = _mesh_inputs()
    action = GaugeMeshSymmetry(irreps, 12)
    check_action(action, inputs)
    check_action(GaugeVertexOutputs(irreps, 12), inputs[0])
    g = action.sample(torch.Generator().manual_seed(4))
    back = action.act(action.group.inverse(g), action.act(g, inputs))
    for a, b in zip(back, inputs):
        assert torch.allclose(a.double(), b.double(), atol=1e-12)


def test_gauge_mesh_symmetry_moves_each_part_as_documented():
    from gdl_zoo.gauges.actions import GaugeMeshSymmetry

    irreps, (x, positions, faces, frame) = _mesh_inputs()
    action = GaugeMeshSymmetry(irreps, 12)
    gauge, (q, t), perm = action.sample(torch.Generator().manual_seed(5))
    x2, p2, f2, fr2 = action.act((gauge, (q, t), perm), (x, positions, faces, frame))
    assert torch.allclose(fr2, frame[perm] + gauge)
    assert torch.allclose(p2, positions[perm] @ q.T + t)
    assert torch.allclose(x2[0], irreps.matrix(-gauge[0]) @ x[perm[0]])
    assert torch.equal(perm[f2], faces)  # face (a, b, c) now names the same old vertices


def test_mesh_actions_reject_malformed_inputs():
    from gdl_zoo.gauges.actions import EmbeddingChange, GaugeMeshSymmetry, GaugeVertexOutputs

    irreps, inputs = _mesh_inputs()
    action = GaugeMeshSymmetry(irreps, 12)
    g = action.group.identity()
    with pytest.raises(ValueError, match=r"expected \(features, positions, faces, frame\)"):
        action.act(g, inputs[:3])
    with pytest.raises(ValueError, match="frame: expected 12 vertices"):
        action.act(g, (*inputs[:3], inputs[3][:5]))
    with pytest.raises(ValueError, match=r"outputs: expected shape \(12, C\)"):
        GaugeVertexOutputs(irreps, 12).act(g, inputs[0][:4])
    with pytest.raises(TypeError, match="expected an Action"):
        EmbeddingChange("fold")
    with pytest.raises(TypeError, match="SO2Irreps"):
        GaugeMeshSymmetry((1, 2), 12)
