"""The shared input checks of gdl_zoo._validation: device and dtype of a reference, finiteness."""

import math

import pytest
import torch
from torch import nn

from gdl_zoo._validation import check_floating, check_like, check_signal


def test_check_like_accepts_the_reference_device_and_dtype():
    x = torch.zeros(2, 3)
    assert check_like(x, "x", nn.Linear(3, 2)) is x
    assert check_like(x, "x", torch.ones(1)) is x
    assert check_like(x, "x", None) is x


def test_a_module_without_parameters_accepts_any_device_and_dtype():
    assert check_like(torch.zeros(2, device="meta"), "x", nn.ReLU()).is_meta
    assert check_like(torch.zeros(2, dtype=torch.float16), "x", nn.ReLU()).dtype == torch.float16


def test_another_device_names_both():
    with pytest.raises(ValueError, match=r"x: expected a tensor on cpu .* got one on meta"):
        check_like(torch.zeros(2, 3, device="meta"), "x", nn.Linear(3, 2))


def test_another_dtype_names_both():
    with pytest.raises(TypeError, match=r"x: expected dtype torch.float32 .* got torch.float64"):
        check_like(torch.zeros(2, 3, dtype=torch.float64), "x", nn.Linear(3, 2))
    with pytest.raises(TypeError, match=r"expected dtype torch.float64 .* got torch.float32"):
        check_like(torch.zeros(2), "x", torch.zeros(1, dtype=torch.float64))


def test_check_floating_checks_the_device_before_the_values():
    """A meta tensor holds no values: the device error comes first, not a crash in .item()."""
    with pytest.raises(ValueError, match="got one on meta"):
        check_floating(torch.zeros(2, device="meta"), "x", nn.Linear(2, 2))
    assert check_floating(torch.zeros(2, device="meta"), "x").is_meta  # no reference: no values


def test_check_floating_rejects_nan_and_wrong_dtypes():
    with pytest.raises(ValueError, match="expected finite values, got NaN"):
        check_floating(torch.tensor([0.0, math.nan]), "x")
    with pytest.raises(TypeError, match="got dtype torch.int64"):
        check_floating(torch.zeros(2, dtype=torch.long), "x")
    with pytest.raises(TypeError, match="got dtype torch.complex64"):
        check_floating(torch.zeros(2, dtype=torch.complex64), "x")


def test_check_signal_passes_like_on():
    conv = nn.Conv2d(2, 3, 3)
    x = torch.zeros(1, 2, 5, 5)
    assert check_signal(x, "x", "(B, C, H, W)", 2, like=conv) is x
    with pytest.raises(TypeError, match="torch.float16"):
        check_signal(x.half(), "x", "(B, C, H, W)", 2, like=conv)
