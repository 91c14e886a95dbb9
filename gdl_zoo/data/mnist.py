"""The MNIST test set from its raw idx files, and a rotated-MNIST stand-in built from it.

MNIST (LeCun, Cortes & Burges) in the idx layout: a big-endian header (magic
number, item count, sizes) followed by ``uint8`` data.  Rotated MNIST
(Larochelle et al. 2007, the benchmark of Cohen & Welling 2016) rotates every
digit by a uniform random angle; :func:`rotated_mnist` builds the same kind of
data from the 10k test images, rotated with bilinear interpolation about the
image centre::

    x_rot(u) = x(R_θ⁻¹ u),   θ ~ U[0, 2π)

(zero outside the image), ``u`` in the coordinates of
:mod:`gdl_zoo.groups.planar_actions` (``x`` right, ``y`` up; ``θ > 0`` turns the
digit counterclockwise as displayed).

Shapes use ``N`` images of size ``H×W`` (28×28 for MNIST).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import torch
import torch.nn.functional as F

from gdl_zoo.data.checksums import verify_file
from gdl_zoo.data.data_root import data_root

__all__ = ["MNIST_TEST_FILES", "load_mnist_test", "rotate_images", "rotated_mnist"]

#: The raw idx files of the MNIST test set, looked up in ``<data_dir>/mnist/``.
MNIST_TEST_FILES = {
    "images": "t10k-images-idx3-ubyte.gz",
    "labels": "t10k-labels-idx1-ubyte.gz",
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
_TEST_SIZE, _SIDE = 10_000, 28


def _read_idx(path: Path, magic: int, dims: tuple[int, ...]) -> torch.Tensor:
    """The ``uint8`` array of an idx file, after checking its magic number and sizes."""
    if not path.is_file():
        raise FileNotFoundError(
            f"MNIST file not found: {path} (data_dir or GDL_ZOO_DATA must point to the folder "
            "that holds mnist/)"
        )
    with gzip.open(verify_file(path), "rb") as stream:
        raw = stream.read()
    header = 4 * (1 + len(dims))
    if len(raw) < header:
        raise ValueError(f"{path}: expected an idx header of {header} bytes, got {len(raw)} bytes")
    found_magic, *found_dims = struct.unpack(f">{1 + len(dims)}I", raw[:header])
    if found_magic != magic:
        raise ValueError(f"{path}: expected idx magic number {magic}, got {found_magic}")
    if tuple(found_dims) != dims:
        raise ValueError(
            f"{path}: expected sizes {dims} in the idx header, got {tuple(found_dims)}"
        )
    expected_bytes = header + int(torch.tensor(dims).prod())
    if len(raw) != expected_bytes:
        raise ValueError(f"{path}: expected {expected_bytes} bytes, got {len(raw)} (truncated?)")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(dims)


def load_mnist_test(
    data_dir: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the 10k MNIST test images and labels from ``<data_dir>/mnist/t10k-*.gz``.

    Args:
        data_dir: the data root; defaults to the ``GDL_ZOO_DATA`` environment variable.

    Returns:
        ``(images, labels)``.

    Shapes:
        images: ``(10000, 28, 28)`` uint8 in ``[0, 255]``.
        labels: ``(10000,)`` int64 in ``[0, 9]``.

    Raises:
        FileNotFoundError: no data root, or a file missing (naming the path).
        ValueError: a wrong magic number, header sizes or file length, or labels
            outside ``0…9``.
        ChecksumError: a file differs from its digest in ``<data_dir>/SHA256SUMS``
            (:func:`~gdl_zoo.data.checksums.verify_file`).
    """
    folder = data_root(data_dir, "mnist/" + MNIST_TEST_FILES["images"]) / "mnist"
    images = _read_idx(folder / MNIST_TEST_FILES["images"], _IMAGES_MAGIC, (_TEST_SIZE, 28, 28))
    labels = _read_idx(folder / MNIST_TEST_FILES["labels"], _LABELS_MAGIC, (_TEST_SIZE,))
    if int(labels.max()) > 9:
        raise ValueError(f"{folder}: expected labels in 0…9, got {int(labels.max())}")
    return images, labels.long()


def rotate_images(images: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each image counterclockwise by its angle about its centre (bilinear, zero fill).

    ``out_n(u) = images_n(R_{θ_n}⁻¹ u)``; quarter turns map pixel centres to pixel
    centres, so ``θ = π/2`` reproduces ``torch.rot90`` up to round-off on square images.

    Args:
        images: floating images.
        angles: ``θ`` in radians.

    Shapes:
        images: ``(N, C, H, W)``.  angles: ``(N,)``.  output: ``(N, C, H, W)``.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
    if not images.is_floating_point() or images.dim() != 4:
        raise ValueError(
            "images: expected a floating tensor of shape (N, C, H, W), "
            f"got {images.dtype} of shape {tuple(images.shape)}"
        )
    if not isinstance(angles, torch.Tensor) or tuple(angles.shape) != (images.shape[0],):
        got = tuple(angles.shape) if isinstance(angles, torch.Tensor) else type(angles).__name__
        raise ValueError(f"angles: expected shape (N,) = ({images.shape[0]},), got {got}")
    height, width = images.shape[-2:]
    cos, sin = torch.cos(angles).to(images), torch.sin(angles).to(images)
    # grid_sample's normalised (x right, y down) coordinates: source = R_{-θ} in (x, y up)
    theta = torch.zeros(images.shape[0], 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * height / width
    theta[:, 1, 0], theta[:, 1, 1] = sin * width / height, cos
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotated_mnist(
    images: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rotate every digit by a uniform random angle: a rotated-MNIST stand-in.

    ``θ_n ~ U[0, 2π)`` from ``generator``; images are scaled to ``[0, 1]`` and
    rotated by :func:`rotate_images`.

    Args:
        images: ``uint8`` digits (as from :func:`load_mnist_test`) or floating ones
            already in ``[0, 1]``.
        labels: class labels, returned unchanged.
        generator: seeds the angles (``None``: torch's global generator).

    Returns:
        ``(rotated, labels, angles)``.

    Shapes:
        images: ``(N, H, W)``.  labels: ``(N,)``.
        rotated: ``(N, 1, H, W)`` float32 (or the input's floating dtype).
        angles: ``(N,)`` radians.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 3:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images: expected a tensor of shape (N, H, W), got {got}")
    if not isinstance(labels, torch.Tensor) or tuple(labels.shape) != (images.shape[0],):
        got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels: expected shape (N,) = ({images.shape[0]},), got {got}")
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    elif not images.is_floating_point():
        raise ValueError(f"images: expected uint8 or floating values, got {images.dtype}")
    angles = 2 * torch.pi * torch.rand(images.shape[0], generator=generator, dtype=torch.float64)
    return rotate_images(images[:, None], angles.to(images.device)), labels, angles
