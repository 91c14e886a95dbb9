"""Tests for gdl_zoo.data.extxyz: parsing, collation, errors naming lines, the real file."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

from gdl_zoo.data.extxyz import collate_molecules, parse_extxyz, read_extxyz

TINY = """3
Properties=species:S:1:pos:R:3:forces:R:3 energy=-10.5 config_type=test pbc="F F F"
O  0.0 0.0 0.0   0.1 0.2 0.3
H  0.96 0.0 0.0  -0.1 0.0 0.0
H  -0.24 0.93 0.0  0.0 -0.2 -0.3
2
Lattice="10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0" Properties=Z:I:1:pos:R:3 energy=-1.25 flag
6 0.0 0.0 0.0
8 1.13 0.0 0.0

"""

DATA = os.environ.get("GDL_ZOO_DATA")
ACAC = Path(DATA or ".") / "molecules" / "botnet" / "dataset_acac"


def test_parses_species_positions_energy_forces_and_info():
    water, co = parse_extxyz(TINY)
    assert water.atomic_numbers.tolist() == [8, 1, 1] and water.num_atoms == 3
    assert water.energy == -10.5 and water.line == 1
    torch.testing.assert_close(water.positions[1], torch.tensor([0.96, 0.0, 0.0]).double())
    torch.testing.assert_close(water.forces[2], torch.tensor([0.0, -0.2, -0.3]).double())
    assert water.info == {"config_type": "test", "pbc": "F F F"}
    assert co.atomic_numbers.tolist() == [6, 8] and co.forces is None and co.line == 6
    assert co.info["Lattice"] == (10.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 10.0)
    assert co.info["flag"] is True


def test_plain_xyz_and_custom_keys():
    (molecule,) = parse_extxyz("1\na free-text comment\nHe 0 0 1\n")
    assert molecule.atomic_numbers.tolist() == [2] and molecule.energy is None
    text = "1\nProperties=species:S:1:pos:R:3:F:R:3 E=2.0\nH 0 0 0 1 2 3\n"
    (molecule,) = parse_extxyz(text, energy_key="E", forces_key="F")
    assert molecule.energy == 2.0 and molecule.forces.tolist() == [[1.0, 2.0, 3.0]]


def test_collate_concatenates_molecules():
    batch = collate_molecules(parse_extxyz(TINY)[:1] * 2, dtype=torch.float32)
    assert batch.positions.shape == (6, 3) and batch.positions.dtype == torch.float32
    assert batch.batch.tolist() == [0, 0, 0, 1, 1, 1]
    assert batch.energy.dtype == torch.float64 and batch.energy.tolist() == [-10.5, -10.5]
    assert batch.forces.shape == (6, 3) and batch.num_atoms.tolist() == [3, 3]
    assert collate_molecules(parse_extxyz(TINY)).forces is None  # not every molecule has forces
    with pytest.raises(ValueError, match="at least one molecule"):
        collate_molecules([])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x\n", r"line 1: expected the number of atoms"),
        ("2\ncomment\nH 0 0 0\n", r"line 1: expected a comment line and 2 atom lines, got 1"),
        ("1\nenergy=1\nH 0 0\n", r"line 3: expected 4 columns"),
        (
            "1\nenergy=1\nH 0 zero 0\n",
            r"line 3: expected a real number in column 'pos', got 'zero'",
        ),
        ("1\nenergy=1\nXx 0 0 0\n", r"line 3: unknown element 'Xx'"),
        ("1\nenergy=high\nH 0 0 0\n", r"line 2: expected a number for energy="),
        ("1\nProperties=species:S:1:pos:Q:3\nH 0 0 0\n", r"line 2: Properties: expected type"),
        ("1\nProperties=species:S:1\nH\n", r"line 2: Properties: expected 'species'"),
        ("1\nProperties=species:S\nH\n", r"line 2: Properties: expected name:type:count"),
        ('1\nenergy="1\nH 0 0 0\n', r"line 2: cannot split the comment line"),
        ("1\nenergy=1\nH 0 0 0\n1\nenergy=1\nH 0 0 0 5\n", r"line 6: expected 4 columns"),
    ],
)
def test_malformed_input_names_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_extxyz(text, source="tiny.xyz")


def test_bad_arguments():
    with pytest.raises(TypeError, match="text: expected a str"):
        parse_extxyz(b"1\n\nH 0 0 0\n")
    with pytest.raises(FileNotFoundError, match="no extxyz file"):
        read_extxyz("/nonexistent/file.xyz")


@pytest.mark.skipif(not (ACAC / "train_300K.xyz").is_file(), reason="GDL_ZOO_DATA not set")
def test_reads_the_acetylacetone_training_set():
    molecules = read_extxyz(ACAC / "train_300K.xyz")
    assert len(molecules) == 500
    first = molecules[0]
    assert first.num_atoms == 15 and sorted(set(first.atomic_numbers.tolist())) == [1, 6, 8]
    assert first.energy == pytest.approx(-9391.45554428476)
    assert first.forces.shape == (15, 3)
    torch.testing.assert_close(
        first.forces[0], torch.tensor([1.47339228, 1.13796366, 0.06391102]).double()
    )
    assert first.info["config_type"] == "300K_MD"
    if importlib.util.find_spec("ase") is not None:  # optional reference
        import ase.io

        reference = ase.io.read(ACAC / "train_300K.xyz", index=":")
        assert reference[0].get_potential_energy() == pytest.approx(first.energy)
        torch.testing.assert_close(
            torch.from_numpy(reference[-1].get_forces()), molecules[-1].forces
        )
