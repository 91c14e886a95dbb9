"""Tests for gdl_zoo.grids.seq_transformer: symmetries, references, validation, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.grids.seq_transformer import (
    CircularRelativeBias,
    SelfAttention,
    SeqTransformer,
    TransformerBlock,
)
from gdl_zoo.symmetry.actions import AxisPermutation, Invariant
from gdl_zoo.symmetry.testing import assert_equivariant, assert_invariant

DTYPES = [torch.float32, torch.float64]
T = 10


def _model(dtype: torch.dtype, seed: int = 0, **kwargs) -> SeqTransformer:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return SeqTransformer(3, 4, **kwargs).to(dtype)


def _x(dtype: torch.dtype, batch: int = 2, length: int = T, channels: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(batch, length, channels, generator=generator, dtype=dtype)


# --- symmetry -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_circular_model_is_cyclic_shift_equivariant(dtype):
    shift = CyclicShift(dims=(1,))
    report = assert_equivariant(_model(dtype), _x(dtype), shift, shift)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_circular_pooled_model_is_cyclic_shift_invariant(dtype):
    assert_invariant(_model(dtype, pool=True), _x(dtype), CyclicShift(dims=(1,)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_positions_model_is_permutation_equivariant(dtype):
    perm = AxisPermutation(T, dim=1)
    report = assert_equivariant(_model(dtype, positional=None), _x(dtype), perm, perm)
    if dtype == torch.float64:
        assert report.max_error < 1e-10


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_positions_pooled_model_is_permutation_invariant(dtype):
    assert_invariant(_model(dtype, positional=None, pool=True), _x(dtype), AxisPermutation(T, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_circular_model_is_not_permutation_equivariant(dtype):
    perm = AxisPermutation(T, dim=1)
    with pytest.raises(AssertionError, match="equivariance FAILED"):
        assert_equivariant(_model(dtype), _x(dtype), perm, perm)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("positional", "act_in"),
    [(None, AxisPermutation(T, dim=1)), ("circular", CyclicShift(dims=(1,)))],
)
def test_per_token_output_is_not_invariant(dtype, positional, act_in):
    # An output action that forgets to move the tokens must be caught.
    with pytest.raises(AssertionError, match="equivariance FAILED"):
        assert_equivariant(_model(dtype, positional=positional), _x(dtype), act_in, Invariant())


# --- references -----------------------------------------------------------------------------


def _circular_bias_reference(weight: torch.Tensor, length: int) -> torch.Tensor:
    """The signed circular offset of key j from query i, looked up entry by entry."""
    num_heads, max_len = weight.shape
    out = torch.empty(num_heads, length, length, dtype=weight.dtype)
    for i in range(length):
        for j in range(length):
            offset = (j - i) % length
            if offset >= length - length // 2:  # the far half is reached faster going back
                offset -= length
            out[:, i, j] = weight[:, offset % max_len]
    return out


@pytest.mark.parametrize("length", [1, 2, 7, 10, 12])
def test_circular_bias_matches_loop_reference(length):
    bias = CircularRelativeBias(num_heads=3, max_len=12).double()
    table = bias(length)
    assert table.shape == (3, length, length)
    torch.testing.assert_close(table, _circular_bias_reference(bias.weight.detach(), length))


def test_circular_bias_depends_only_on_offset_and_keeps_meaning_across_lengths():
    bias = CircularRelativeBias(num_heads=2, max_len=16)
    short, long = bias(6), bias(12)
    rolled = torch.roll(short, shifts=(1, 1), dims=(1, 2))
    torch.testing.assert_close(rolled, short)
    # "one step back" and "two steps ahead" use the same parameters at every length
    torch.testing.assert_close(short[:, 3, 2], long[:, 3, 2])
    torch.testing.assert_close(short[:, 0, 2], long[:, 0, 2])


@pytest.mark.parametrize("with_bias", [False, True])
def test_self_attention_matches_torch_multihead_attention(with_bias):
    d_model, num_heads, batch = 8, 2, 3
    bias = CircularRelativeBias(num_heads, max_len=T) if with_bias else None
    attn = SelfAttention(d_model, num_heads, bias).double()
    mha = nn.MultiheadAttention(d_model, num_heads, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.in_proj.weight)
        mha.in_proj_bias.copy_(attn.in_proj.bias)
        mha.out_proj.weight.copy_(attn.out_proj.weight)
        mha.out_proj.bias.copy_(attn.out_proj.bias)
    x = _x(torch.float64, batch=batch, channels=d_model)
    # MultiheadAttention takes a (B·H, T, T) float mask ordered batch-major
    mask = bias(T).detach().repeat(batch, 1, 1) if with_bias else None
    expected, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    torch.testing.assert_close(attn(x), expected, rtol=0.0, atol=1e-12)


def test_transformer_block_is_pre_layer_norm():
    block = TransformerBlock(8, 2, 16).double()
    x = _x(torch.float64, channels=8)
    h = x + block.attn(block.norm1(x))
    torch.testing.assert_close(block(x), h + block.mlp(block.norm2(h)))


@pytest.mark.parametrize("pool", [False, True])
def test_output_shapes(pool):
    out = _model(torch.float32, pool=pool)(_x(torch.float32, batch=5, length=7))
    assert out.shape == ((5, 4) if pool else (5, 7, 4))


def test_relative_biases_are_per_layer():
    model = _model(torch.float32, num_layers=3)
    biases = [block.attn.bias_module for block in model.blocks]
    assert len({id(b) for b in biases}) == 3
    assert all(isinstance(b, CircularRelativeBias) for b in biases)
    assert all(
        block.attn.bias_module is None for block in _model(torch.float32, positional=None).blocks
    )


# --- gradients ------------------------------------------------------------------------------


@pytest.mark.parametrize("positional", ["circular", None])
@pytest.mark.parametrize("pool", [False, True])
def test_gradients_reach_every_parameter(positional, pool):
    model = _model(torch.float64, positional=positional, pool=pool, max_len=T)
    model(_x(torch.float64)).square().sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (torch.ones(10, 3), ValueError, r"expected shape \(B, T, C_in\) \(rank 3\), got \(10, 3\)"),
        (torch.ones(2, 10, 5), ValueError, r"expected 3 channels .* got 5"),
        (torch.ones(2, 10, 3, dtype=torch.int64), TypeError, "expected a floating-point tensor"),
        (torch.ones(2, 0, 3), ValueError, r"expected a non-empty .* got \(2, 0, 3\)"),
        (torch.ones(1, 9, 3), ValueError, "expected at most max_len=8 tokens, got T=9"),
        ("not a tensor", TypeError, "expected a torch.Tensor, got str"),
    ],
)
def test_bad_inputs_are_rejected(x, error, match):
    model = _model(torch.float32, max_len=8)
    with pytest.raises(error, match=match):
        model(x)


def test_no_positions_model_accepts_any_length():
    assert (
        _model(torch.float32, positional=None, max_len=8)(_x(torch.float32, length=9)).shape[1] == 9
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"positional": "sinusoidal"},
            r"positional: expected one of \['circular', None\], got 'sinusoidal'",
        ),
        ({"d_model": 30, "num_heads": 4}, "d_model: expected a multiple of num_heads=4, got 30"),
        ({"num_layers": 0}, "num_layers: expected a positive integer, got 0"),
        ({"max_len": 0}, "max_len: expected a positive integer, got 0"),
    ],
)
def test_bad_model_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SeqTransformer(3, 4, **kwargs)


def test_bias_rejects_bad_lengths():
    bias = CircularRelativeBias(num_heads=2, max_len=4)
    with pytest.raises(ValueError, match="expected a sequence length of at most max_len=4, got 5"):
        bias(5)
    with pytest.raises(ValueError, match="expected a positive integer sequence length, got 0"):
        bias(0)


def test_self_attention_rejects_mismatched_bias_and_width():
    with pytest.raises(ValueError, match="expected a bias with num_heads=2, got num_heads=3"):
        SelfAttention(8, 2, CircularRelativeBias(3, 16))
    with pytest.raises(ValueError, match="expected 8 channels .* got 6"):
        SelfAttention(8, 2)(torch.ones(1, 4, 6))
