"""The embedded samples load, match the full datasets they excerpt, and stay small."""

import os
from pathlib import Path

import pytest
import torch

from gdl_zoo.data.extxyz import read_extxyz
from gdl_zoo.data.mnist import load_mnist_test
from gdl_zoo.data.samples import SAMPLE_ROOT, acac_sample_dir, load_mnist_sample

DATA = os.environ.get("GDL_ZOO_DATA")


def test_samples_stay_under_five_megabytes():
    total = sum(p.stat().st_size for p in SAMPLE_ROOT.rglob("*") if p.is_file())
    assert 0 < total < 5 * 2**20
    assert (SAMPLE_ROOT / "README.md").is_file() and (acac_sample_dir() / "LICENSE").is_file()


def test_mnist_sample_shapes_and_labels():
    images, labels = load_mnist_sample()
    assert images.shape == (2500, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (2500,) and labels.dtype == torch.int64
    assert set(labels.tolist()) == set(range(10))


def test_acac_sample_reads_as_extxyz():
    sizes = {
        name: 200 if name.startswith("train") else 100
        for name in ("train_300K.xyz", "test_MD_300K.xyz", "test_MD_600K.xyz")
    }
    for name, size in sizes.items():
        molecules = read_extxyz(acac_sample_dir() / name)
        assert len(molecules) == size
        assert all(m.num_atoms == 15 and m.forces.shape == (15, 3) for m in molecules)


@pytest.mark.skipif(DATA is None, reason="GDL_ZOO_DATA not set")
def test_samples_are_verbatim_excerpts_of_the_full_data():
    images, labels = load_mnist_test(DATA)
    sample_images, sample_labels = load_mnist_sample()
    assert torch.equal(images[:2500], sample_images) and torch.equal(labels[:2500], sample_labels)
    full = Path(DATA) / "molecules" / "botnet" / "dataset_acac" / "test_MD_600K.xyz"
    first = read_extxyz(full)[:100]
    sample = read_extxyz(acac_sample_dir() / "test_MD_600K.xyz")
    assert all(
        torch.equal(a.positions, b.positions) and a.energy == b.energy
        for a, b in zip(first, sample)
    )
