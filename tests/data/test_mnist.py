"""The MNIST idx loader and the rotated-MNIST stand-in (real data tests skip without data)."""

import gzip
import math
import os
import struct
from pathlib import Path

import pytest
import torch

from gdl_zoo.data.mnist import MNIST_TEST_FILES, load_mnist_test, rotate_images, rotated_mnist

DATA = os.environ.get("GDL_ZOO_DATA")
HAVE_MNIST = DATA is not None and all(
    (Path(DATA) / "mnist" / name).is_file() for name in MNIST_TEST_FILES.values()
)
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="MNIST test set not found in GDL_ZOO_DATA")


@needs_mnist
def test_loads_the_official_test_set():
    images, labels = load_mnist_test()
    assert images.shape == (10000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10000,) and labels.dtype == torch.int64
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert int(images.max()) == 255 and int(images[:, 0, 0].max()) == 0  # black borders
    same, _ = load_mnist_test(DATA)
    assert torch.equal(images, same)


@needs_mnist
def test_rotated_mnist_is_seeded_and_keeps_labels():
    images, labels = load_mnist_test()
    images, labels = images[:64], labels[:64]
    x, y, angles = rotated_mnist(images, labels, torch.Generator().manual_seed(3))
    again, _, _ = rotated_mnist(images, labels, torch.Generator().manual_seed(3))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32
    assert torch.equal(x, again) and torch.equal(y, labels)
    assert float(angles.min()) >= 0 and float(angles.max()) < 2 * math.pi
    assert float(x.min()) >= 0 and float(x.max()) <= 1 + 1e-6
    ink = x.sum(dim=(1, 2, 3)) / (images.float() / 255).sum(dim=(1, 2))
    assert float((ink - 1).abs().max()) < 0.1  # digits sit in the centre: little ink is lost


def test_missing_data_directory_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("GDL_ZOO_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="GDL_ZOO_DATA"):
        load_mnist_test()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mnist" / "t10k-images")):
        load_mnist_test(tmp_path)


def _write_idx(path, magic, dims, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as stream:
        stream.write(struct.pack(f">{1 + len(dims)}I", magic, *dims) + payload)


@pytest.mark.parametrize(
    "magic, dims, payload, match",
    [
        (2049, (10000, 28, 28), b"", "expected idx magic number 2051, got 2049"),
        (2051, (100, 28, 28), bytes(100 * 784), r"expected sizes \(10000, 28, 28\)"),
        (2051, (10000, 28, 28), bytes(784), "truncated"),
    ],
)
def test_corrupt_files_are_rejected(tmp_path, magic, dims, payload, match):
    _write_idx(tmp_path / "mnist" / MNIST_TEST_FILES["images"], magic, dims, payload)
    _write_idx(tmp_path / "mnist" / MNIST_TEST_FILES["labels"], 2049, (10000,), bytes(10000))
    with pytest.raises(ValueError, match=match):
        load_mnist_test(tmp_path)


def test_quarter_turns_reproduce_rot90():
    x = torch.rand(3, 2, 6, 6, dtype=torch.float64)
    for k in (1, 2, 3, -1):
        angles = torch.full((3,), k * math.pi / 2, dtype=torch.float64)
        assert (rotate_images(x, angles) - torch.rot90(x, k, dims=(-2, -1))).abs().max() < 1e-12
    assert torch.allclose(rotate_images(x, torch.zeros(3, dtype=torch.float64)), x)
    wide = torch.rand(1, 1, 4, 8, dtype=torch.float64)
    half_turn = rotate_images(wide, torch.tensor([math.pi], dtype=torch.float64))
    assert (half_turn - torch.rot90(wide, 2, dims=(-2, -1))).abs().max() < 1e-12


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"images: expected a tensor of shape \(N, H, W\)"):
        rotated_mnist(torch.zeros(2, 1, 5, 5), torch.zeros(2))
    with pytest.raises(ValueError, match=r"labels: expected shape \(N,\) = \(2,\), got \(3,\)"):
        rotated_mnist(torch.zeros(2, 5, 5), torch.zeros(3))
    with pytest.raises(ValueError, match="uint8 or floating"):
        rotated_mnist(torch.zeros(2, 5, 5, dtype=torch.int32), torch.zeros(2))
    with pytest.raises(ValueError, match=r"angles: expected shape \(N,\) = \(1,\)"):
        rotate_images(torch.zeros(1, 1, 4, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="floating tensor of shape"):
        rotate_images(torch.zeros(1, 4, 4), torch.zeros(1))
    with pytest.raises(TypeError, match="torch.Tensor"):
        rotate_images([[0.0]], torch.zeros(1))
