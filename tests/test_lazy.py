"""Lazy re-exports: names load from their submodule on first access, unknown names fail clearly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gdl_zoo._lazy import lazy_exports


def test_names_resolve_to_their_submodule_objects():
    getattr_, dir_ = lazy_exports("gdl_zoo.symmetry", {"assert_equivariant": "testing"})
    from gdl_zoo.symmetry.testing import assert_equivariant

    assert getattr_("assert_equivariant") is assert_equivariant
    assert dir_() == ["assert_equivariant"]


def test_unknown_name_names_the_package():
    getattr_, _ = lazy_exports("gdl_zoo.symmetry", {})
    with pytest.raises(AttributeError, match=r"'gdl_zoo.symmetry' has no attribute 'nope'"):
        getattr_("nope")


@pytest.mark.parametrize(
    ("package", "name", "module"),
    [
        ("gdl_zoo.groups", "P4CNN", "gdl_zoo.groups.gcnn"),
        ("gdl_zoo.graphs", "GCN", "gdl_zoo.graphs.gcn"),
        ("gdl_zoo.meshes", "TriangleMesh", "gdl_zoo.meshes.mesh"),
        ("gdl_zoo.weightspace", "traverse", "gdl_zoo.weightspace.path"),
    ],
)
def test_subpackages_import_a_module_only_on_access(package, name, module):
    code = (
        f"import sys, {package} as p\n"
        f"assert {module!r} not in sys.modules\n"
        f"assert {name!r} in dir(p)\n"
        f"getattr(p, {name!r})\n"
        f"assert {module!r} in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
