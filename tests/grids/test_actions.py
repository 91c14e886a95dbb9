"""CyclicShift and TimeWarp are genuine actions and move what they claim to move."""

import pytest
import torch

from gdl_zoo.grids.actions import CyclicShift, TimeWarp
from gdl_zoo.symmetry import check_action


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cyclic_shift_is_an_action(dtype):
    gen = torch.Generator().manual_seed(0)
    check_action(CyclicShift(dims=(-2, -1)), torch.randn(2, 3, 6, 5, generator=gen, dtype=dtype))
    check_action(CyclicShift(dims=(-1,)), torch.randn(2, 3, 7, generator=gen, dtype=dtype))
    check_action(CyclicShift(dims=(1,)), torch.randn(2, 9, 4, generator=gen, dtype=dtype))


def test_cyclic_shift_direction_and_downsampling():
    x = torch.arange(8.0).reshape(1, 1, 8)
    assert CyclicShift(dims=(-1,)).act((1,), x)[0, 0, 1] == x[0, 0, 0]
    half = CyclicShift(dims=(-1,), multiple=2, downsample=2)
    assert torch.equal(half.act((4,), x), torch.roll(x, 2, dims=-1))
    with pytest.raises(ValueError, match="not divisible"):
        half.act((3,), x)
    with pytest.raises(ValueError, match="2 entries"):
        CyclicShift().act((1,), x)
    with pytest.raises(TypeError, match="tensor"):
        CyclicShift().act((1, 1), [x])
    with pytest.raises(ValueError, match="downsample"):
        CyclicShift(downsample=0)


def test_time_warp_is_an_action_on_pairs_and_tensors():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    scale = torch.rand(2, generator=gen, dtype=torch.float64) + 0.5
    check_action(TimeWarp((2, 3)), (z, scale))
    check_action(TimeWarp((2, 3)), z)
    slow, slow_scale = TimeWarp().act(3, (z, scale))
    assert slow.shape == (2, 15, 3)
    assert torch.equal(slow[:, 3:6], z[:, 1:2].expand(2, 3, 3))
    assert torch.allclose(slow_scale * 3, scale)
    with pytest.raises(ValueError, match="pair"):
        TimeWarp().act(2, (z, scale, scale))


def test_time_warp_stretches_a_per_step_clock():
    z = torch.randn(2, 4, 3, dtype=torch.float64)
    clock = torch.rand(2, 4, dtype=torch.float64) + 0.5
    slow, slow_clock = TimeWarp().act(2, (z, clock))
    assert slow_clock.shape == (2, 8)
    assert torch.allclose(slow_clock[:, ::2] * 2, clock)
    check_action(TimeWarp((2, 3)), (z, clock))
