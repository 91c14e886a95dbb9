"""Rebuild the small samples embedded in ``gdl_zoo/data/samples/`` from the full datasets.

Usage: ``python tools/make_samples.py ../shared/data``.  The samples let
``gdl-zoo bench --quick`` run with no data directory; their sources and
licences are listed in ``gdl_zoo/data/samples/README.md``.  It also rewrites
``gdl_zoo/data/samples/SHA256SUMS``, the digests the sample loaders check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from gdl_zoo.data.checksums import CHECKSUM_FILE, sha256_file
from gdl_zoo.data.mnist import load_mnist_test

SAMPLES = Path(__file__).resolve().parents[1] / "gdl_zoo" / "data" / "samples"
MNIST_IMAGES = 2500
ACAC = {"train_300K.xyz": 200, "test_MD_300K.xyz": 100, "test_MD_600K.xyz": 100}


def _first_configurations(path: Path, count: int) -> str:
    """The first ``count`` blocks of an extxyz file, verbatim."""
    lines = path.read_text().splitlines(keepends=True)
    out, start = [], 0
    for _ in range(count):
        n = int(lines[start])
        out += lines[start : start + n + 2]
        start += n + 2
    return "".join(out)


def main(data_dir: Path) -> None:
    images, labels = load_mnist_test(data_dir)
    np.savez_compressed(
        SAMPLES / "mnist_test_sample.npz",
        images=images[:MNIST_IMAGES].numpy(),
        labels=labels[:MNIST_IMAGES].numpy().astype(np.uint8),
    )
    acac = data_dir / "molecules" / "botnet" / "dataset_acac"
    (SAMPLES / "acac").mkdir(exist_ok=True)
    for name, count in ACAC.items():
        (SAMPLES / "acac" / name).write_text(_first_configurations(acac / name, count))
    listed = ["mnist_test_sample.npz", "acac/LICENSE", *(f"acac/{name}" for name in ACAC)]
    (SAMPLES / CHECKSUM_FILE).write_text(
        "".join(f"{sha256_file(SAMPLES / name)}  {name}\n" for name in sorted(listed))
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
