"""Deep Sets: the equivariant layer's two generators and the invariant readout."""

import pytest
import torch

from gdl_zoo.graphs.actions import NodePermutation
from gdl_zoo.graphs.deep_sets import DeepSets, DeepSetsLayer
from gdl_zoo.symmetry import Invariant, assert_equivariant


def test_layer_is_identity_plus_mean():
    x = torch.randn(5, 3, dtype=torch.float64)
    batch = torch.tensor([0, 0, 0, 1, 1])
    layer = DeepSetsLayer(3, 2).double()
    expected = torch.cat(
        [
            layer.identity(x[:3]) + layer.mean(x[:3].mean(0)),
            layer.identity(x[3:]) + layer.mean(x[3:].mean(0)),
        ]
    )
    assert torch.allclose(layer(x, batch), expected, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("task", ["node", "graph"])
def test_symmetry(task, dtype):
    x = torch.randn(7, 3, dtype=dtype)
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    model = DeepSets(3, 8, 2, task=task).to(dtype)
    act_in = NodePermutation((4, 3), ("node", "batch"))
    act_out = NodePermutation((4, 3)) if task == "node" else Invariant()
    report = assert_equivariant(model, (x, batch), act_in, act_out)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"expected shape \(N, 3\)"):
        DeepSets(3, 4, 2)(torch.randn(4, 2))


def test_an_empty_set_in_the_batch_gives_rho_of_zero():
    """A skipped set index is the empty set: its output is ``ρ(Σ_∅ ψ) = ρ(0)``; others unchanged."""
    model = DeepSets(3, 8, 2).double().eval()
    x = torch.randn(3, 3, dtype=torch.float64)
    out = model(x, torch.tensor([0, 0, 2]))
    assert out.shape == (3, 2)
    assert torch.allclose(out[1], model.head(torch.zeros(1, 8, dtype=torch.float64))[0])
    alone = model(x[2:], None)
    assert torch.allclose(out[2], alone[0], atol=1e-12)


def test_num_sets_passed_down_gives_the_same_layer_and_is_checked():
    x = torch.randn(5, 3, dtype=torch.float64)
    batch = torch.tensor([0, 0, 0, 1, 1])
    layer = DeepSetsLayer(3, 2).double()
    assert torch.equal(layer(x, batch, num_sets=2), layer(x, batch))
    assert torch.allclose(layer(x, batch, num_sets=4), layer(x, batch), atol=1e-14)  # empty sets
    assert torch.equal(layer(x, None, num_sets=1), layer(x))
    with pytest.raises(ValueError, match=r"indices in \[0, num_sets\) = \[0, 1\), got index 1"):
        layer(x, batch, num_sets=1)
    with pytest.raises(ValueError, match="num_sets: expected 1 for batch = None.*got 2"):
        layer(x, None, num_sets=2)
    for bad in (0, True, 2.0):
        with pytest.raises(ValueError, match=f"num_sets: expected a positive int, got {bad!r}"):
            layer(x, batch, num_sets=bad)
    with pytest.raises(ValueError, match="sorted"):  # still validated when B is given
        layer(x, torch.tensor([0, 1, 0, 1, 1]), num_sets=2)
