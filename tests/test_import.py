"""Importing the package and listing the zoo does no heavy work and pulls no optional extra."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import gdl_zoo
light = sorted(m for m in ("torch", "escnn", "torch_geometric", "e3nn") if m in sys.modules)
from gdl_zoo import zoo
zoo.list_models()
after = sorted(m for m in ("escnn", "torch_geometric", "e3nn") if m in sys.modules)
print(json.dumps({"after_import": light, "after_list": after}))
"""


def test_import_is_light():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert loaded["after_import"] == []  # not even torch on `import gdl_zoo`
    assert loaded["after_list"] == []  # listing the zoo needs no optional extra


def test_public_names_are_documented():
    import gdl_zoo.bench
    import gdl_zoo.data
    import gdl_zoo.grids
    import gdl_zoo.groups
    import gdl_zoo.symmetry
    import gdl_zoo.zoo

    modules = (gdl_zoo.bench, gdl_zoo.data, gdl_zoo.grids, gdl_zoo.groups, gdl_zoo.symmetry)
    for module in (*modules, gdl_zoo.zoo):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                assert obj.__doc__ and obj.__doc__.strip(), f"{module.__name__}.{name}"


def test_groups_exports_resolve_lazily():
    import gdl_zoo.groups

    assert gdl_zoo.groups.P4CNN.__name__ == "P4CNN"
    assert "SteerableCNN" in dir(gdl_zoo.groups)
    import pytest

    with pytest.raises(AttributeError, match="no attribute"):
        gdl_zoo.groups.NoSuchLayer  # noqa: B018
