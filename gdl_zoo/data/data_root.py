"""The data root of the dataset loaders: ``data_dir`` if given, else ``$GDL_ZOO_DATA``.

Nothing is downloaded and no default location is guessed: without either,
the loaders raise one error that names both ways to give the root and the
file the loader looks for under it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_root"]


def data_root(data_dir: str | os.PathLike | None, holds: str) -> Path:
    """The folder the loaders read from: ``data_dir``, else ``$GDL_ZOO_DATA``.

    Args:
        data_dir: an explicit data root, or ``None``.
        holds: what the root should contain (e.g. ``"planetoid/ind.cora.x"``),
            named in the error when no root is given.

    Raises:
        FileNotFoundError: ``data_dir`` is ``None`` and ``GDL_ZOO_DATA`` is unset or empty.
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("GDL_ZOO_DATA")
    if not env:
        raise FileNotFoundError(
            "no data directory: pass data_dir or set the GDL_ZOO_DATA environment variable "
            f"to the folder that holds {holds}"
        )
    return Path(env)
