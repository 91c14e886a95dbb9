"""SHA256SUMS verification of the files the loaders read, and the safe Planetoid unpickler."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gdl_zoo.data.checksums import CHECKSUM_FILE, ChecksumError, sha256_file, verify_file
from gdl_zoo.data.extxyz import read_extxyz
from gdl_zoo.data.mnist import MNIST_TEST_FILES, load_mnist_test
from gdl_zoo.data.planetoid import load_planetoid
from gdl_zoo.data.samples import SAMPLE_ROOT
from gdl_zoo.data.tu_dataset import load_tu_dataset
from gdl_zoo.meshes.io import read_mesh


def _manifest(root: Path, *names: str) -> None:
    lines = (f"{hashlib.sha256((root / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (root / CHECKSUM_FILE).write_text("".join(lines))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _write_mnist(root: Path) -> None:
    folder = root / "mnist"
    folder.mkdir()
    images = struct.pack(">4I", 2051, 10_000, 28, 28) + bytes(10_000 * 28 * 28)
    labels = struct.pack(">2I", 2049, 10_000) + bytes(range(10)) * 1000
    for key, payload in (("images", images), ("labels", labels)):
        with gzip.open(folder / MNIST_TEST_FILES[key], "wb") as stream:
            stream.write(payload)


def test_sha256_file_hashes_once_and_again_after_a_change(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"first")
    assert sha256_file(path) == hashlib.sha256(b"first").hexdigest()
    path.write_bytes(b"other")
    os.utime(path, ns=(1, 1))  # a new modification time: the cached digest must not be reused
    assert sha256_file(path) == hashlib.sha256(b"other").hexdigest()
    with pytest.raises(FileNotFoundError, match="expected a file"):
        sha256_file(tmp_path / "missing")


def test_verify_file_checks_only_listed_files_against_the_nearest_manifest(tmp_path):
    (tmp_path / "sub").mkdir()
    listed, unlisted = tmp_path / "sub" / "listed.txt", tmp_path / "sub" / "unlisted.txt"
    listed.write_text("payload")
    unlisted.write_text("anything")
    assert verify_file(listed) == listed  # no manifest anywhere above: nothing to check
    _manifest(tmp_path, "sub/listed.txt")
    assert verify_file(listed) == listed and verify_file(unlisted) == unlisted
    expected = hashlib.sha256(b"payload").hexdigest()
    listed.write_text("payloaD")
    received = hashlib.sha256(b"payloaD").hexdigest()
    message = f"listed.txt: expected SHA-256 {expected}.*got {received}"
    with pytest.raises(ChecksumError, match=message):
        verify_file(listed)
    assert issubclass(ChecksumError, ValueError)


def test_a_malformed_manifest_names_its_line(tmp_path):
    (tmp_path / "x").write_text("x")
    (tmp_path / CHECKSUM_FILE).write_text("# comment\n\nnot-a-digest  x\n")
    with pytest.raises(ChecksumError, match="line 3: expected '<64 hex digits>  <path>'"):
        verify_file(tmp_path / "x")


def test_mnist_loader_refuses_a_corrupted_copy(tmp_path):
    _write_mnist(tmp_path)
    names = [f"mnist/{name}" for name in MNIST_TEST_FILES.values()]
    _manifest(tmp_path, *names)
    images, labels = load_mnist_test(tmp_path)  # the intact copy verifies and loads
    assert images.shape == (10_000, 28, 28) and labels[:3].tolist() == [0, 1, 2]
    _flip_last_byte(tmp_path / names[1])  # the gzip CRC trailer: still a file, wrong digest
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz: expected SHA-256"):
        load_mnist_test(tmp_path)


def test_tu_loader_refuses_a_corrupted_copy(tmp_path):
    raw = tmp_path / "tudataset" / "TINY" / "raw"
    raw.mkdir(parents=True)
    files = {"A": "1, 2\n2, 1\n", "graph_indicator": "1\n1\n", "graph_labels": "1\n"}
    for suffix, text in files.items():
        (raw / f"TINY_{suffix}.txt").write_text(text)
    _manifest(tmp_path, *(f"tudataset/TINY/raw/TINY_{suffix}.txt" for suffix in files))
    assert len(load_tu_dataset("TINY", tmp_path)) == 1
    (raw / "TINY_A.txt").write_text("1, 2\n")
    with pytest.raises(ChecksumError, match="TINY_A.txt: expected SHA-256"):
        load_tu_dataset("TINY", tmp_path)


def test_mesh_reader_refuses_a_corrupted_copy(tmp_path):
    obj = tmp_path / "tri.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    _manifest(tmp_path, "tri.obj")
    positions, mesh = read_mesh(obj)
    assert positions.shape == (3, 3) and mesh.num_faces == 1
    obj.write_text("v 0 0 0\nv 2 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(ChecksumError, match="tri.obj: expected SHA-256"):
        read_mesh(obj)


def test_embedded_samples_have_a_manifest_that_lists_every_data_file():
    listed = {
        line.split(maxsplit=1)[1].strip()
        for line in (SAMPLE_ROOT / CHECKSUM_FILE).read_text().splitlines()
    }
    data_files = {
        p.relative_to(SAMPLE_ROOT).as_posix()
        for p in SAMPLE_ROOT.rglob("*")
        if p.is_file() and p.name not in (CHECKSUM_FILE, "README.md")
    }
    assert listed == data_files
    for name in listed:
        assert verify_file(SAMPLE_ROOT / name) == SAMPLE_ROOT / name


def test_a_corrupted_copy_of_the_samples_is_refused(tmp_path):
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLE_ROOT, copy)
    assert len(read_extxyz(copy / "acac" / "test_MD_300K.xyz")) == 100
    path = copy / "acac" / "test_MD_300K.xyz"
    path.write_text(path.read_text().replace("C", "N", 1))
    with pytest.raises(ChecksumError, match="test_MD_300K.xyz: expected SHA-256"):
        read_extxyz(path)


class _Payload:
    """A pickle that would create a file while it loads (the classic pickle exploit)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_planetoid_pickles_may_not_name_arbitrary_callables(tmp_path):
    folder = tmp_path / "planetoid"
    folder.mkdir()
    marker = tmp_path / "pwned"
    (folder / "ind.cora.x").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(pickle.UnpicklingError, match=r"ind\.cora\.x: expected only .* got .*touch"):
        load_planetoid("cora", tmp_path)
    assert not marker.exists()


def test_planetoid_pickles_of_arrays_and_defaultdicts_still_load(tmp_path):
    """The allow-list admits what the raw files hold: a two-node graph with one test node."""
    from collections import defaultdict

    from scipy.sparse import csr_matrix

    folder = tmp_path / "planetoid"
    folder.mkdir()
    one_hot = np.array([[1, 0], [0, 1]])
    contents = {
        "x": csr_matrix(np.eye(1, 2)), "y": one_hot[:1], "allx": csr_matrix(np.eye(1, 2)),
        "ally": one_hot[:1], "tx": csr_matrix(np.eye(1, 2)), "ty": one_hot[1:],
        "graph": defaultdict(list, {0: [1], 1: [0]}),
    }  # fmt: skip
    for ext, value in contents.items():
        (folder / f"ind.cora.{ext}").write_bytes(pickle.dumps(value, protocol=2))
    (folder / "ind.cora.test.index").write_text("1\n")
    graph = load_planetoid("cora", tmp_path)
    assert graph.y.tolist() == [0, 1] and graph.edge_index.shape == (2, 2)
    assert torch.equal(graph.test_mask, torch.tensor([False, True]))
