"""The symmetry suite walks the registry and records failures instead of raising."""

import math

from gdl_zoo import zoo
from gdl_zoo.bench.suites import BenchContext
from gdl_zoo.bench.symmetry import symmetry_errors


def test_records_per_model_and_dtype():
    records = symmetry_errors(BenchContext(models=("cnn", "resnet")))
    assert [(r.name, r.metric) for r in records] == [
        ("cnn", "equivariance error (float64)"),
        ("cnn", "equivariance error (float32)"),
        ("resnet", "equivariance error (float64)"),
        ("resnet", "equivariance error (float32)"),
    ]
    assert all(r.passed and r.value < r.details["tolerance"] for r in records)


def test_a_crashing_model_is_recorded():
    card = zoo.get("cnn")

    def crash(**kwargs):
        raise RuntimeError("cannot build")

    broken = zoo.ModelCard(**{**card.__dict__, "name": "crashing_model", "factory": crash})
    zoo.register(broken)
    try:
        (r64, r32) = symmetry_errors(BenchContext(models=("crashing_model",)))
    finally:
        zoo.unregister("crashing_model")
    assert r64.passed is False and math.isnan(r64.value)
    assert "cannot build" in r64.details["error"]
