"""SHA-256 verification of the files the loaders read, against a ``SHA256SUMS`` manifest.

A data root (and the embedded samples folder) may hold a manifest named
``SHA256SUMS`` in the format of GNU ``sha256sum``: one ``<64 hex digits>  <path>``
line per file, the path relative to the manifest's folder (a ``*`` before the
path, sha256sum's binary marker, is accepted).  Before a loader parses a file
it calls :func:`verify_file`, which looks for the nearest manifest in the
file's folder or above it; when that manifest lists the file, its digest must
match, else :class:`ChecksumError` names the file and both digests.  Files that
no manifest lists are read unverified (a user's own data needs no manifest).

Each file is hashed once per process: digests are remembered per path, size,
modification time and inode, so a changed file is hashed again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

__all__ = ["CHECKSUM_FILE", "ChecksumError", "sha256_file", "verify_file"]

#: The name of the manifest the loaders look for.
CHECKSUM_FILE = "SHA256SUMS"
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A file's SHA-256 digest differs from the one its ``SHA256SUMS`` manifest lists."""


@functools.lru_cache(maxsize=4096)
def _digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """The hex SHA-256 of ``path``; the stat fields only key the cache."""
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _stat_key(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino


def sha256_file(path: str | os.PathLike) -> str:
    """The hex SHA-256 digest of a file, hashed once per process while it is unchanged.

    Args:
        path: the file.

    Returns:
        64 lower-case hex digits.

    Raises:
        FileNotFoundError: ``path`` is not a file.
    """
    path = Path(os.path.abspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"expected a file to hash, got {path}")
    return _digest(*_stat_key(path))


@functools.lru_cache(maxsize=64)
def _manifest(path: str, size: int, mtime_ns: int, inode: int) -> dict[str, str]:
    """``{relative path: digest}`` of a ``SHA256SUMS`` file; the stat fields only key the cache."""
    entries = {}
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = _LINE.match(line)
            if match is None:
                raise ChecksumError(
                    f"{path}, line {number}: expected '<64 hex digits>  <path>', got {line!r:.120}"
                )
            entries[Path(match.group(2)).as_posix()] = match.group(1).lower()
    return entries


def _nearest_manifest(path: Path) -> Path | None:
    for folder in path.parents:
        candidate = folder / CHECKSUM_FILE
        if candidate.is_file():
            return candidate
    return None


def verify_file(path: str | os.PathLike) -> Path:
    """Check a file against the nearest ``SHA256SUMS`` in its folder or above, when it is listed.

    Args:
        path: the file a loader is about to read.

    Returns:
        ``path`` (as a :class:`~pathlib.Path`), so a loader can write
        ``open(verify_file(path))``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ChecksumError: the manifest lists ``path`` with another digest than the file's
            (or the manifest is malformed).
    """
    given = Path(path)
    path = Path(os.path.abspath(given))
    if not path.is_file():
        raise FileNotFoundError(f"expected a file to verify, got {path}")
    manifest = _nearest_manifest(path)
    if manifest is None:
        return given
    relative = path.relative_to(manifest.parent).as_posix()
    expected = _manifest(*_stat_key(manifest)).get(relative)
    if expected is None:
        return given
    received = sha256_file(path)
    if received != expected:
        raise ChecksumError(
            f"{path}: expected SHA-256 {expected} (listed in {manifest}), got {received}; "
            "the file is corrupted or was replaced"
        )
    return given
