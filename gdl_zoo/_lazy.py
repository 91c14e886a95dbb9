"""Lazy re-exports of a subpackage's public names (PEP 562).

A subpackage lists which submodule defines each public name; the name is
imported from there on first access, so importing the subpackage stays cheap
and optional dependencies load only with the names that need them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` that re-export ``exports`` lazily.

    Args:
        package: the package's dotted name (its ``__name__``).
        exports: public name -> the submodule, relative to ``package``, that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """
    names = sorted(exports)

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
