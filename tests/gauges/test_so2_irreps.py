"""SO2Irreps: layout, the elementwise rotation against dense matrices, validation."""

import math

import pytest
import torch

from gdl_zoo.gauges.so2_irreps import SO2Irreps, check_so2_irreps


def test_dimension_layout_and_orders():
    irreps = SO2Irreps((4, 2, 0, 1))
    assert irreps.dim == 4 + 4 + 0 + 2 and irreps.num_scalars == 4 and irreps.max_order == 3
    assert irreps.orders().tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 3, 3]
    assert SO2Irreps.regular(2, 2).multiplicities == (2, 2, 2)
    assert str(irreps) == "4ρ_0 ⊕ 2ρ_1 ⊕ 1ρ_3"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rotate_matches_the_dense_block_matrix(dtype):
    irreps = SO2Irreps((2, 3, 1, 2))
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(5, irreps.dim, generator=gen, dtype=dtype)
    angles = 2 * math.pi * torch.rand(5, generator=gen, dtype=dtype)
    dense = torch.stack([irreps.matrix(a, dtype) @ v for a, v in zip(angles, features)])
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert (irreps.rotate(features, angles) - dense).abs().max() < tol


def test_rotation_is_a_representation():
    irreps = SO2Irreps((1, 1, 1))
    a, b = 0.7, -2.1
    product = irreps.matrix(a) @ irreps.matrix(b)
    assert torch.allclose(product, irreps.matrix(a + b), atol=1e-14)
    assert torch.allclose(irreps.matrix(2 * math.pi), torch.eye(irreps.dim, dtype=torch.float64))


@pytest.mark.parametrize(
    "mults, error",
    [
        ((), ValueError),
        ((0, 0), ValueError),
        ((1, -1), ValueError),
        ((1.5,), ValueError),
        ("3", TypeError),
    ],
)
def test_bad_multiplicities(mults, error):
    with pytest.raises(error, match="multiplicities"):
        SO2Irreps(mults)


def test_rotate_rejects_wrong_width():
    with pytest.raises(ValueError, match=r"expected last dimension 5"):
        SO2Irreps((1, 2)).rotate(torch.zeros(3, 4), torch.zeros(3))


def test_check_so2_irreps_passes_irreps_and_names_anything_else():
    irreps = SO2Irreps((1, 1))
    assert check_so2_irreps(irreps) is irreps
    with pytest.raises(TypeError, match="irreps_out: expected SO2Irreps, got tuple"):
        check_so2_irreps((1, 1), "irreps_out")
