"""Datasets: loaders of standard raw layouts and seeded synthetic generators.

Loaders read from a data root: the ``data_dir`` argument, else the
``GDL_ZOO_DATA`` environment variable; nothing is downloaded.  Every file a
loader reads is checked against the nearest ``SHA256SUMS`` manifest above it
when that manifest lists it (:func:`verify_file`); the embedded samples ship
with one.
"""

from gdl_zoo.data.checksums import CHECKSUM_FILE, ChecksumError, sha256_file, verify_file
from gdl_zoo.data.extxyz import (
    ELEMENTS,
    Molecule,
    MoleculeBatch,
    collate_molecules,
    parse_extxyz,
    read_extxyz,
)
from gdl_zoo.data.mnist import MNIST_TEST_FILES, load_mnist_test, rotate_images, rotated_mnist
from gdl_zoo.data.planetoid import PLANETOID_NAMES, PlanetoidGraph, load_planetoid
from gdl_zoo.data.samples import SAMPLE_ROOT, acac_sample_dir, load_mnist_sample
from gdl_zoo.data.synthetic_graphs import (
    cycle_graph,
    has_triangle,
    random_regular_graph,
    stochastic_block_model,
    wl_colours,
    wl_expressivity_task,
)
from gdl_zoo.data.tu_dataset import TUDataset, load_tu_dataset
from gdl_zoo.data.warped_sequences import warped_sequences

__all__ = [
    "CHECKSUM_FILE",
    "ChecksumError",
    "sha256_file",
    "verify_file",
    "ELEMENTS",
    "Molecule",
    "MoleculeBatch",
    "collate_molecules",
    "parse_extxyz",
    "read_extxyz",
    "MNIST_TEST_FILES",
    "load_mnist_test",
    "rotate_images",
    "rotated_mnist",
    "SAMPLE_ROOT",
    "acac_sample_dir",
    "load_mnist_sample",
    "warped_sequences",
    "PLANETOID_NAMES",
    "PlanetoidGraph",
    "load_planetoid",
    "TUDataset",
    "load_tu_dataset",
    "stochastic_block_model",
    "random_regular_graph",
    "cycle_graph",
    "wl_colours",
    "has_triangle",
    "wl_expressivity_task",
]
