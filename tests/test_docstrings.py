"""Every public name of gdl_zoo has a docstring, and every public layer a Shapes: section.

The public names are each module's ``__all__``: the top-level modules, every
subpackage and every module inside one, so a domain that starts exporting names
is covered without editing this file.  Classes and functions need their own
docstring; a class's public methods and properties need one too, which an
override may inherit from the method it overrides (``forward`` from
``nn.Module``, ``act`` from ``Action``).  Constants cannot carry a ``__doc__``:
they need a string literal right after the assignment or a ``#:`` comment right
above it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import types
from functools import cache
from pathlib import Path

import pytest

import gdl_zoo


def _module_names() -> list[str]:
    names = ["gdl_zoo"]
    for info in pkgutil.walk_packages(gdl_zoo.__path__, prefix="gdl_zoo."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            names.append(info.name)
    return sorted(names)


MODULES = _module_names()

#: Existing gaps, reported to the maintainers; remove an entry once its name is documented
#: (a test below fails when an entry here has become documented, so the list only shrinks).
KNOWN_UNDOCUMENTED: frozenset[str] = frozenset()


@cache
def _documented_constants(path: str) -> frozenset[str]:
    """Names assigned at module level with a ``#:`` comment above or a string below."""
    source = Path(path).read_text(encoding="utf-8")
    lines = source.splitlines()
    body = ast.parse(source).body
    found = set()
    for k, node in enumerate(body):
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        else:
            continue
        comment = node.lineno >= 2 and lines[node.lineno - 2].lstrip().startswith("#:")
        following = body[k + 1] if k + 1 < len(body) else None
        string = (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
            and following.value.value.strip() != ""
        )
        if comment or string:
            found.update(targets)
    return frozenset(found)


def _defining_module(module: types.ModuleType, name: str) -> types.ModuleType:
    """The module whose source assigns the constant ``name`` re-exported by ``module``."""
    if name in _assigned_names(module):
        return module
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        candidate = importlib.import_module(f"{package}.{info.name}")
        if name in _assigned_names(candidate):
            return candidate
    return module


def _assigned_names(module: types.ModuleType) -> set[str]:
    path = getattr(module, "__file__", None)
    if path is None:
        return set()
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _has_doc(obj: object) -> bool:
    doc = inspect.getdoc(obj)
    return bool(doc and doc.strip())


def _own_doc(obj: object) -> bool:
    doc = obj.__doc__ if isinstance(obj.__doc__, str) else None
    return bool(doc and doc.strip())


def _undocumented_members(cls: type) -> list[str]:
    missing = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, (types.FunctionType, property)):
            # inspect.getdoc on the attribute looks the docstring up the MRO for overrides
            if not _has_doc(getattr(cls, attr, value)) and not _has_doc(value):
                missing.append(f"{cls.__name__}.{attr}")
    return missing


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = [] if _own_doc(module) else [f"{module_name} (module docstring)"]
    for name in getattr(module, "__all__", ()):
        if name.startswith("__"):  # __version__ and friends are conventions, not API
            continue
        qualified = f"{module_name}.{name}"
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj):
            if not _own_doc(obj):
                missing.append(qualified)
            if inspect.isclass(obj) and obj.__module__.split(".")[0] == module_name.split(".")[0]:
                missing += [f"{module_name}.{m}" for m in _undocumented_members(obj)]
        elif callable(obj) and not isinstance(obj, type):
            if not _has_doc(obj):
                missing.append(qualified)
        else:
            home = _defining_module(module, name)
            if name not in _documented_constants(home.__file__):
                missing.append(f"{qualified} (constant: add a #: comment or a docstring)")
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_public_names_have_docstrings(module_name):
    missing = [m for m in _undocumented(module_name) if m.split(" ")[0] not in KNOWN_UNDOCUMENTED]
    assert not missing, "public names without a docstring:\n  " + "\n  ".join(missing)


def _modules_without_shapes(module_name: str) -> list[str]:
    """Public ``nn.Module`` classes defined in ``module_name`` with no ``Shapes:`` section."""
    from torch import nn

    module = importlib.import_module(module_name)
    missing = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) and issubclass(obj, nn.Module)):
            continue
        if obj.__module__ != module_name:
            continue  # checked where it is defined
        docs = (obj.__doc__ or "") + (inspect.getdoc(obj.forward) or "")
        if "Shapes:" not in docs:
            missing.append(f"{module_name}.{name}")
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_public_layers_state_their_shapes(module_name):
    missing = _modules_without_shapes(module_name)
    assert not missing, "layers without a Shapes: section:\n  " + "\n  ".join(missing)


SHAPELESS = '''"""A package."""
from torch import nn

__all__ = ["Good", "Bad"]


class Good(nn.Module):
    """A layer.

    Shapes:
        x: (N, C).
    """


class Bad(nn.Module):
    """A layer."""
'''


def test_the_shapes_check_catches_a_layer_without_shapes(tmp_path, monkeypatch):
    package = tmp_path / "shapeless_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(SHAPELESS)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _modules_without_shapes("shapeless_pkg") == ["shapeless_pkg.Bad"]


def test_known_gaps_are_still_gaps():
    missing = {m.split(" ")[0] for name in MODULES for m in _undocumented(name)}
    fixed = sorted(KNOWN_UNDOCUMENTED - missing)
    assert not fixed, f"documented now, remove from KNOWN_UNDOCUMENTED: {fixed}"


def test_walk_covers_every_domain():
    domains = {"grids", "groups", "graphs", "meshes", "weightspace", "symmetry", "bench", "data"}
    assert {name.split(".")[1] for name in MODULES if name.count(".") >= 1} >= domains
    assert sum(len(getattr(importlib.import_module(m), "__all__", ())) for m in MODULES) > 100


def test_the_check_catches_a_missing_docstring(tmp_path, monkeypatch):
    package = tmp_path / "undocumented_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A package."""\n'
        "__all__ = ['f', 'C', 'LIMIT', 'KNOWN']\n"
        "def f():\n    return 1\n"
        "class C:\n    '''A class.'''\n    def method(self):\n        return 2\n"
        "LIMIT = 3\n"
        "#: a documented constant\nKNOWN = 4\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    missing = _undocumented("undocumented_pkg")
    assert missing == [
        "undocumented_pkg.f",
        "undocumented_pkg.C.method",
        "undocumented_pkg.LIMIT (constant: add a #: comment or a docstring)",
    ]
