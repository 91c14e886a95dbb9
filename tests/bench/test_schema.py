"""results.json follows the documented JSON Schema, and the schema rejects malformed records."""

import copy
import json

import pytest

from gdl_zoo.bench.runner import RESULTS_SCHEMA_PATH, SCHEMA_VERSION, run_suites, to_json
from gdl_zoo.bench.suites import BenchContext, Record, Suite

jsonschema = pytest.importorskip("jsonschema")


def _data():
    def measure(context):
        return [
            Record("layer", "fwd+bwd time", 0.25, "s", details={"min": 0.2, "max": 0.3}),
            Record("model", "equivariance error", float("nan"), "relative error", None),
            Record("m", "accuracy", 90.0, "%", details={"curve": {"x": [0, 1], "y": [1.0, None]}}),
        ]

    def boom(context):
        raise ValueError("no data")

    suites = [
        Suite("t.measure", "test", "accuracy", measure, "measures"),
        Suite("t.boom", "test", "speed", boom, "fails"),
    ]
    return to_json(run_suites(suites, BenchContext(seed=3), progress=False))


def _validator():
    schema = json.loads(RESULTS_SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_results_json_satisfies_the_schema():
    data = json.loads(json.dumps(_data(), allow_nan=False))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["context"]["seed"] == 3 and data["machine"]["libraries"]["torch"]
    errors = list(_validator().iter_errors(data))
    assert errors == []


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d["suites"][0]["records"][0].pop("unit"),
        lambda d: d["suites"][0]["records"][0].__setitem__("value", "fast"),
        lambda d: d["suites"][0].__setitem__("kind", "vibes"),
        lambda d: d["context"].__setitem__("repeat", 0),
        lambda d: d.pop("machine"),
    ],
)
def test_schema_rejects_malformed_results(corrupt):
    data = copy.deepcopy(_data())
    corrupt(data)
    assert list(_validator().iter_errors(data)) != []
