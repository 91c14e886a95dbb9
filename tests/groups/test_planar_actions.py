"""Rot90Images is a genuine action and moves pixels and fibres exactly as documented."""

import pytest
import torch

from gdl_zoo.groups.planar_actions import SQUARE_GROUPS, Rot90Images, square_group
from gdl_zoo.symmetry import CyclicGroup, DihedralGroup, check_action

DTYPES = [torch.float64, torch.float32]


def _randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fibre", ["scalar", "regular"])
@pytest.mark.parametrize("group", SQUARE_GROUPS)
def test_is_an_action(group, fibre, dtype):
    action = Rot90Images(group, fibre)
    channels = 3 * action.order
    check_action(action, _randn(2, channels, 5, 5, dtype=dtype))
    check_action(action, _randn(2, channels, 4, 6, dtype=dtype))  # even, non-square
    check_action(Rot90Images(group, fibre, channel_dim=2), _randn(2, 3, channels, 5, 5))


def _matrix(g, group) -> torch.Tensor:
    """``R^{4k/n} M^f`` in the (x right, y up) coordinates of the module docstring."""
    flip, k = g if isinstance(group, DihedralGroup) else (0, g)
    rotation = torch.tensor([[0, -1], [1, 0]])
    mirror = torch.tensor([[1, 0], [0, -1]])
    return torch.linalg.matrix_power(rotation, k * 4 // group.order) @ (
        mirror if flip else torch.eye(2, dtype=torch.int64)
    )


@pytest.mark.parametrize("group", ["C4", "D4", "C2", "D2"])
@pytest.mark.parametrize("size", [5, 4])
def test_regular_action_matches_the_definition_pointwise(group, size):
    """(g.f)(u, h) = f(g⁻¹u, g⁻¹h), checked pixel by pixel with explicit matrices."""
    action = Rot90Images(group, "regular")
    grp, n = action.group, action.order
    f = _randn(1, 2 * n, size, size)
    centre = (size - 1) / 2
    for g in grp.elements():
        moved = action.act(g, f)
        g_inv = grp.inverse(g)
        inv_matrix = _matrix(g_inv, grp).double()
        for i in range(size):
            for j in range(size):
                u = torch.tensor([j - centre, centre - i], dtype=torch.float64)
                x, y = (inv_matrix @ u).tolist()
                src_i, src_j = round(centre - y), round(x + centre)
                for c in range(2):
                    for h_index, h in enumerate(grp.elements()):
                        src_h = action.index(grp.compose(g_inv, h))
                        expected = f[0, c * n + src_h, src_i, src_j]
                        assert moved[0, c * n + h_index, i, j] == expected


def test_quarter_turn_is_counterclockwise_and_mirror_flips_rows():
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]])[None, None]
    turned = Rot90Images("C4").act(1, x)
    assert turned[0, 0].tolist() == [[1.0, 3.0], [0.0, 2.0]]  # top-right corner → top-left
    mirrored = Rot90Images("D4").act((1, 0), x)
    assert mirrored[0, 0].tolist() == [[2.0, 3.0], [0.0, 1.0]]


def test_regular_fibre_layout_is_fields_then_group():
    """Channel c·|G| + i holds element i of field c; a rotation cycles each field's block."""
    x = torch.arange(8.0).reshape(1, 8, 1, 1)  # 2 C4 fields, constant images
    moved = Rot90Images("C4", "regular").act(1, x).flatten().tolist()
    assert moved == [3.0, 0.0, 1.0, 2.0, 7.0, 4.0, 5.0, 6.0]  # (g.f)(h) = f(g⁻¹h)


def test_moves_integer_tensors_and_sequences():
    x = torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    assert torch.equal(Rot90Images("C4").act(2, x), torch.rot90(x, 2, dims=(-2, -1)))
    seq = _randn(2, 3, 8, 5, 5)
    moved = Rot90Images("C4", "regular", channel_dim=2).act(1, seq)
    per_step = Rot90Images("C4", "regular").act(1, seq[:, 1])
    assert torch.equal(moved[:, 1], per_step)


def test_square_group_accepts_names_and_objects():
    assert isinstance(square_group("C4"), CyclicGroup) and square_group("D2").order == 2
    group = DihedralGroup(4)
    assert square_group(group) is group
    for bad in ("C8", "D3", CyclicGroup(3), "p4", 4):
        with pytest.raises(ValueError, match="expected one of"):
            square_group(bad)


def test_bad_inputs():
    regular = Rot90Images("D4", "regular")
    with pytest.raises(ValueError, match=r"multiple of \|G\| = 8 .* got 12"):
        regular.act((0, 1), torch.zeros(1, 12, 3, 3))
    with pytest.raises(ValueError, match="channel_dim"):
        Rot90Images("C4", "regular", channel_dim=-2).act(1, torch.zeros(1, 4, 3, 3))
    with pytest.raises(ValueError, match="expected an element of C4, got 5"):
        Rot90Images("C4").act(5, torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="expected an element of D4"):
        Rot90Images("D4").act(1, torch.zeros(1, 1, 3, 3))
    with pytest.raises(TypeError, match="tensor"):
        Rot90Images().act(1, [[0.0]])
    with pytest.raises(ValueError, match=r"\(…, H, W\)"):
        Rot90Images().act(1, torch.zeros(3))
    with pytest.raises(ValueError, match="fibre"):
        Rot90Images("C4", "vector")
    with pytest.raises(ValueError, match="channel_dim"):
        Rot90Images("C4", "regular", channel_dim=1.0)
    assert "D4" in repr(regular) and "regular" in repr(regular)
