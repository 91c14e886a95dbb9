"""Small samples of real datasets embedded in the package, for runs with no data directory.

They back ``gdl-zoo bench --quick`` when neither ``--data-dir`` nor
``GDL_ZOO_DATA`` is set; ``gdl_zoo/data/samples/README.md`` lists their
sources and licences.  Nothing is downloaded.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch

from gdl_zoo.data.checksums import verify_file

__all__ = ["SAMPLE_ROOT", "load_mnist_sample", "acac_sample_dir"]

#: The folder of the embedded samples inside the installed package.
SAMPLE_ROOT = Path(str(resources.files("gdl_zoo.data") / "samples"))


def load_mnist_sample() -> tuple[torch.Tensor, torch.Tensor]:
    """The first 2500 MNIST test images and labels.

    Returns:
        ``(images, labels)``: ``(2500, 28, 28)`` ``uint8`` and ``(2500,)`` ``int64``.
    """
    with np.load(verify_file(SAMPLE_ROOT / "mnist_test_sample.npz")) as archive:
        images = torch.from_numpy(archive["images"].copy())
        labels = torch.from_numpy(archive["labels"].astype(np.int64))
    return images, labels


def acac_sample_dir() -> Path:
    """The folder with the first 200 / 100 / 100 BOTNet acetylacetone configurations.

    It holds ``train_300K.xyz``, ``test_MD_300K.xyz`` and ``test_MD_600K.xyz`` in
    the layout of ``$GDL_ZOO_DATA/molecules/botnet/dataset_acac``.
    """
    return SAMPLE_ROOT / "acac"
