"""Without the escnn extra every other model still imports, builds and passes its check."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys
sys.modules["escnn"] = None  # as if the extra were not installed
import torch
from gdl_zoo import zoo
built, skipped = [], []
for card in zoo.list_models():
    if card.missing_extras():
        skipped.append(card.name)
        try:
            card.build()
        except ImportError as error:
            message = str(error)
        continue
    card.build()
    built.append(card.name)
print(json.dumps({"built": built, "skipped": skipped, "message": message}))
"""


def test_models_import_without_escnn():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["skipped"] == ["steerable_cnn"]
    assert {"p4cnn", "p4m_resnet", "egnn", "tfn", "spherical_cnn"} <= set(result["built"])
    assert 'pip install "gdl-zoo[escnn]"' in result["message"]
