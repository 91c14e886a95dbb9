"""Tests of the warped-sequence memory task (gdl_zoo.data.warped_sequences)."""

import pytest
import torch

from gdl_zoo.data import warped_sequences


def _sample(seed=0, n=64, num_symbols=5, length=4, max_warp=6, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return warped_sequences(n, num_symbols, length, max_warp, generator, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_and_dtypes(dtype):
    z, labels = _sample(dtype=dtype)
    assert z.shape == (64, 4 * 6, 5 + 1) and z.dtype == dtype
    assert labels.shape == (64,) and labels.dtype == torch.int64
    assert int(labels.min()) >= 0 and int(labels.max()) < 5


def test_deterministic_from_seed():
    z1, y1 = _sample(seed=7)
    z2, y2 = _sample(seed=7)
    z3, y3 = _sample(seed=8)
    assert torch.equal(z1, z2) and torch.equal(y1, y2)
    assert not torch.equal(z1, z3)


def test_structure_and_labels_recoverable():
    z, labels = _sample(n=200)
    symbols = z[..., :-1]
    shown = symbols.sum(-1)
    assert set(shown.unique().tolist()) <= {0.0, 1.0}  # one-hot or blank
    assert torch.equal(z[..., -1] * (1 - shown), torch.zeros_like(shown))  # cue only on symbols
    for row, label in zip(z, labels):
        cued = row[:, -1] > 0
        first = int(cued.int().argmax())
        hold = int(cued.sum())
        assert 1 <= hold <= 6 and cued[first : first + hold].all()  # one contiguous cue run
        assert int(row[first, :-1].argmax()) == int(label)  # the label is the cued symbol
        assert not row[:first].any()  # nothing before the key
        total = int((row.sum(-1) > 0).sum())
        assert 4 <= total <= 4 * 6  # L symbols, each held 1..max_warp steps


def test_no_warp_is_a_plain_sequence():
    z, labels = _sample(max_warp=1)
    assert z.shape[1] == 4
    assert torch.equal(z[..., :-1].sum(-1), torch.ones(64, 4))  # no blank step
    assert torch.equal(z[:, :, -1], torch.tensor([1.0, 0, 0, 0]).expand(64, 4))
    assert torch.equal(z[:, 0, :-1].argmax(-1), labels)


def test_hold_times_cover_the_warp_range():
    z, _ = _sample(n=400, max_warp=5)
    holds = z[..., -1].sum(-1)  # hold time of the key
    assert set(holds.int().unique().tolist()) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n: expected an integer >= 1, got 0"),
        ({"num_symbols": 1}, "num_symbols: expected an integer >= 2, got 1"),
        ({"length": 1}, "length: expected an integer >= 2, got 1"),
        ({"max_warp": 0}, "max_warp: expected an integer >= 1, got 0"),
        ({"max_warp": 2.0}, "max_warp: expected an integer >= 1, got 2.0"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    args = {"n": 4, "num_symbols": 3, "length": 3, "max_warp": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        warped_sequences(**args)


def test_rejects_integer_dtype():
    with pytest.raises(TypeError, match="dtype: expected a floating dtype, got torch.int64"):
        warped_sequences(4, 3, 3, 2, dtype=torch.int64)
