"""No code path unpickles untrusted data: ``torch.load`` only with ``weights_only=True``.

The scan walks the syntax trees of the package, ``tools/`` and ``benchmarks/``
and flags every ``torch.load(...)`` without ``weights_only=True``, every
``pickle.load``/``pickle.loads`` (an unrestricted unpickler) and every
``numpy.load(..., allow_pickle=True)``.  The Planetoid reader unpickles through
an allow-list :class:`pickle.Unpickler` subclass instead (see
``tests/data/test_checksums.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("gdl_zoo", "tools", "benchmarks")


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def unsafe_loads(source: str, filename: str = "<string>") -> list[str]:
    """``file:line: call`` for each unsafe deserialisation call in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        owner_name = owner.id if isinstance(owner, ast.Name) else None
        keywords = {k.arg: k.value for k in node.keywords}
        attr = node.func.attr
        torch_load = owner_name == "torch" and attr == "load"
        numpy_load = owner_name in ("np", "numpy") and attr == "load"
        unpickle = owner_name in ("pickle", "cPickle", "dill") and attr in ("load", "loads")
        if (
            (torch_load and not _is_true(keywords.get("weights_only")))
            or (numpy_load and _is_true(keywords.get("allow_pickle")))
            or unpickle
        ):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch\nstate = torch.load(path)\n",
        "import torch\nstate = torch.load(path, weights_only=False)\n",
        "import torch\nstate = torch.load(path, map_location='cpu')\n",
        "import pickle\nobj = pickle.load(stream)\n",
        "import pickle\nobj = pickle.loads(blob)\n",
        "import numpy as np\narr = np.load(path, allow_pickle=True)\n",
    ],
)
def test_the_scan_flags_unsafe_loads(snippet):
    """Negative control: each classic unsafe call is caught."""
    assert len(unsafe_loads(snippet)) == 1


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch\nstate = torch.load(path, weights_only=True)\n",
        "import torch\nstate = torch.load(path, map_location='cpu', weights_only=True)\n",
        "import numpy as np\narr = np.load(path)\n",
        "import pickle\nobj = Restricted(stream).load()\n",
    ],
)
def test_the_scan_accepts_safe_loads(snippet):
    assert unsafe_loads(snippet) == []


def test_no_unsafe_deserialisation_in_the_code_base():
    files = [p for folder in SCANNED for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 50  # the scan really walks the package
    found = [
        hit for p in files for hit in unsafe_loads(p.read_text(), p.relative_to(ROOT).as_posix())
    ]
    assert found == [], "unsafe deserialisation (use torch.load(..., weights_only=True)):\n" + (
        "\n".join(found)
    )
