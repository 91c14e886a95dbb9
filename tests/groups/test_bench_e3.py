"""Tests for gdl_zoo.groups.bench_e3: records on a tiny budget, skipping, the MLP baseline."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch

from gdl_zoo.bench.suites import BenchContext
from gdl_zoo.data.samples import acac_sample_dir
from gdl_zoo.groups.bench_e3 import DATASET, FlatMLPEnergy, _mlp_width, molecule_regression

DATA = os.environ.get("GDL_ZOO_DATA")
MODELS = {"egnn", "tfn", "se3_transformer", "mlp (non-equivariant)"}


def _check_structure(records) -> None:
    assert {r.name for r in records} == MODELS
    for name in MODELS:
        metrics = {r.metric for r in records if r.name == name}
        assert metrics == {
            "energy MAE, test 300K",
            "force MAE, test 300K",
            "energy MAE, test 600K (out of distribution)",
            "force MAE, test 600K (out of distribution)",
            "equivariance error",
        }


def test_full_run_without_data_skips_every_record(tmp_path):
    for data_dir in (None, tmp_path):
        records = molecule_regression(BenchContext(quick=False, data_dir=data_dir))
        _check_structure(records)
        assert all(math.isnan(r.value) and "skipped" in r.details for r in records)


def test_quick_run_without_data_uses_the_embedded_sample():
    records = molecule_regression(
        BenchContext(quick=True, data_dir=None), train_size=8, steps=1, test_size=2
    )
    _check_structure(records)
    assert all(math.isfinite(r.value) for r in records)
    assert all(r.details["data"] == str(acac_sample_dir()) for r in records)


@pytest.mark.skipif(
    DATA is None or not (Path(DATA) / DATASET).is_dir(), reason="GDL_ZOO_DATA not set"
)
def test_tiny_run_reports_errors_and_symmetry():
    context = BenchContext(quick=True, data_dir=Path(DATA))
    records = molecule_regression(context, train_size=20, steps=2, test_size=4)
    _check_structure(records)
    assert all(math.isfinite(r.value) and r.value >= 0 for r in records)
    units = {r.metric.split(",")[0]: r.unit for r in records}
    assert units == {
        "energy MAE": "eV",
        "force MAE": "eV/Å",
        "equivariance error": "relative error",
    }
    symmetry = {r.name: r for r in records if r.metric == "equivariance error"}
    for name in ("egnn", "tfn", "se3_transformer"):
        assert symmetry[name].passed and symmetry[name].value < 1e-9
    assert symmetry["mlp (non-equivariant)"].passed is None  # a negative control, not a check
    assert symmetry["mlp (non-equivariant)"].value > 1e-3


def test_mlp_baseline_shapes_forces_and_budget():
    model = FlatMLPEnergy(num_atoms=4, hidden=8).double()
    positions = torch.randn(8, 3, dtype=torch.float64)
    energy, forces = model(positions, torch.zeros(8, 1, dtype=torch.float64))
    assert energy.shape == (2,) and forces.shape == (8, 3)
    with pytest.raises(ValueError, match=r"positions: expected shape \(B·4, 3\)"):
        model(positions[:5], torch.zeros(5, 1))
    width = _mlp_width(15, 15_000)
    params = sum(p.numel() for p in FlatMLPEnergy(15, width).parameters())
    assert abs(params - 15_000) < 300
