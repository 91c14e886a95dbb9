"""Extended XYZ (extxyz) molecules: a small reader, no ASE needed.

The extxyz layout (used by ASE, NequIP, MACE and the BOTNet datasets) repeats
one block per configuration::

    15                                                    ← number of atoms n
    Properties=species:S:1:pos:R:3:forces:R:3 energy=-9391.45 pbc="F F F"
    C   0.0787  1.4023  0.0824   1.4734  1.1380  0.0639   ← n lines, columns per Properties
    …

The comment line holds ``key=value`` pairs (values may be quoted); the
``Properties`` key lists the per-atom columns as ``name:type:count`` triplets
(types ``S`` string, ``R`` real, ``I`` integer, ``L`` logical), defaulting to
``species:S:1:pos:R:3`` (plain XYZ).  Energies are read from the comment line
(``energy_key``) and forces from the per-atom columns (``forces_key``); units
are those of the file.  Errors name the offending line (1-based).

Shapes:
    n: atoms of one molecule.
    N: atoms over a batch.
    B: molecules in a batch.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gdl_zoo.data.checksums import verify_file

__all__ = [
    "ELEMENTS",
    "Molecule",
    "MoleculeBatch",
    "parse_extxyz",
    "read_extxyz",
    "collate_molecules",
]

#: Chemical symbols by atomic number (``ELEMENTS[Z - 1]``).
ELEMENTS: tuple[str, ...] = tuple(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge
    As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm
    Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U
    Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og""".split()
)
_ATOMIC_NUMBERS = {symbol: z for z, symbol in enumerate(ELEMENTS, start=1)}
_DEFAULT_PROPERTIES = "species:S:1:pos:R:3"
_TRUE, _FALSE = ("T", "True", "true", "TRUE"), ("F", "False", "false", "FALSE")


@dataclass(frozen=True)
class Molecule:
    """One configuration of an extxyz file.

    Attributes:
        atomic_numbers: ``Z`` of each atom, ``(n,)`` long.
        positions: ``(n, 3)`` float64.
        energy: the total energy, or ``None`` when the comment line has none.
        forces: ``(n, 3)`` float64, or ``None`` when the columns have none.
        info: the other ``key=value`` pairs of the comment line (numbers parsed).
        line: the 1-based line number of the block's atom count.
    """

    atomic_numbers: torch.Tensor
    positions: torch.Tensor
    energy: float | None
    forces: torch.Tensor | None
    info: dict[str, Any] = field(default_factory=dict)
    line: int = 1

    @property
    def num_atoms(self) -> int:
        """``n``."""
        return int(self.atomic_numbers.shape[0])


@dataclass(frozen=True)
class MoleculeBatch:
    """Molecules concatenated in the point-cloud convention of :mod:`gdl_zoo.groups`.

    Attributes:
        positions: ``(N, 3)``.
        atomic_numbers: ``(N,)`` long.
        batch: ``(N,)`` long, the molecule of each atom.
        energy: ``(B,)`` float64 (totals such as −9391.46 eV would lose meV in
            float32), or ``None`` unless every molecule has one.
        forces: ``(N, 3)``, or ``None`` unless every molecule has them.
        num_atoms: ``(B,)`` long.
    """

    positions: torch.Tensor
    atomic_numbers: torch.Tensor
    batch: torch.Tensor
    energy: torch.Tensor | None
    forces: torch.Tensor | None
    num_atoms: torch.Tensor


def _parse_value(text: str) -> Any:
    """A comment-line value: int, float, bool, a tuple of numbers, or the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    parts = text.split()
    if len(parts) > 1:
        try:
            return tuple(float(p) for p in parts)
        except ValueError:
            pass
    return text


def _parse_comment(comment: str, line: int, source: str) -> dict[str, Any]:
    try:
        tokens = shlex.split(comment, posix=True)
    except ValueError as error:
        raise ValueError(
            f"{source}: line {line}: cannot split the comment line ({error})"
        ) from None
    info: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        info[key] = _parse_value(value) if sep else True
    return info


def _parse_properties(spec: Any, line: int, source: str) -> list[tuple[str, str, int]]:
    fields = str(spec).split(":")
    if len(fields) % 3:
        raise ValueError(
            f"{source}: line {line}: Properties: expected name:type:count triplets, got {spec!r}"
        )
    columns = []
    for name, kind, count in zip(fields[0::3], fields[1::3], fields[2::3]):
        if kind not in ("S", "R", "I", "L") or not count.isdigit() or int(count) < 1:
            raise ValueError(
                f"{source}: line {line}: Properties: expected type in S/R/I/L and a positive "
                f"count for {name!r}, got {kind}:{count}"
            )
        columns.append((name, kind, int(count)))
    return columns


def _number(text: str, kind: str, line: int, name: str, source: str) -> float:
    try:
        return float(text) if kind == "R" else int(text)
    except ValueError:
        expected = "a real number" if kind == "R" else "an integer"
        raise ValueError(
            f"{source}: line {line}: expected {expected} in column {name!r}, got {text!r}"
        ) from None


def _parse_block(
    lines: Sequence[str], start: int, n: int, info: dict[str, Any], forces_key: str, source: str
) -> tuple[list[int], list[list[float]], list[list[float]] | None]:
    """Species, positions and forces of the ``n`` atom lines after line ``start + 2``."""
    columns = _parse_properties(info.pop("Properties", _DEFAULT_PROPERTIES), start + 2, source)
    names = [name for name, _, _ in columns]
    if "pos" not in names or ("species" not in names and "Z" not in names):
        raise ValueError(
            f"{source}: line {start + 2}: Properties: expected 'species' (or 'Z') and 'pos' "
            f"columns, got {names}"
        )
    width = sum(count for _, _, count in columns)
    species, positions, forces = [], [], [] if forces_key in names else None
    for k in range(n):
        number = start + 3 + k  # 1-based line number of atom k
        parts = lines[start + 2 + k].split()
        if len(parts) != width:
            raise ValueError(
                f"{source}: line {number}: expected {width} columns "
                f"({':'.join(f'{a}:{b}:{c}' for a, b, c in columns)}), got {len(parts)}"
            )
        offset, row = 0, {}
        for name, kind, count in columns:
            values = parts[offset : offset + count]
            offset += count
            if kind in ("R", "I") and name in ("pos", "Z", forces_key):
                row[name] = [_number(v, kind, number, name, source) for v in values]
            else:
                row[name] = values
        if "Z" in row:
            species.append(int(row["Z"][0]))
        else:
            symbol = row["species"][0]
            if symbol not in _ATOMIC_NUMBERS:
                raise ValueError(f"{source}: line {number}: unknown element {symbol!r}")
            species.append(_ATOMIC_NUMBERS[symbol])
        for name, target in (("pos", positions), (forces_key, forces)):
            if target is None:
                continue
            if len(row[name]) != 3:
                raise ValueError(
                    f"{source}: line {number}: expected 3 values for {name!r}, got {len(row[name])}"
                )
            target.append(row[name])
    return species, positions, forces


def parse_extxyz(
    text: str,
    *,
    energy_key: str = "energy",
    forces_key: str = "forces",
    source: str = "<string>",
) -> list[Molecule]:
    """Parse the text of an extxyz file into molecules.

    Args:
        text: the whole file.
        energy_key: the comment-line key of the total energy.
        forces_key: the per-atom column (``R:3``) of the forces.
        source: how error messages name the input.

    Returns:
        One :class:`Molecule` per block, in file order.

    Raises:
        ValueError: naming the line of a malformed atom count, comment line,
            ``Properties`` spec, atom line or value, or of a truncated block.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    lines = text.splitlines()
    molecules, start = [], 0
    while start < len(lines):
        header = lines[start].strip()
        if not header:  # blank lines between or after blocks
            start += 1
            continue
        if not header.isdigit():
            raise ValueError(
                f"{source}: line {start + 1}: expected the number of atoms (a non-negative "
                f"integer), got {header!r}"
            )
        n = int(header)
        if start + 2 + n > len(lines):
            raise ValueError(
                f"{source}: line {start + 1}: expected a comment line and {n} atom lines, "
                f"got {max(len(lines) - start - 2, 0)} atom lines before the end of the input"
            )
        info = _parse_comment(lines[start + 1], start + 2, source)
        species, positions, forces = _parse_block(lines, start, n, info, forces_key, source)
        energy = info.pop(energy_key, None)
        if energy is not None and (
            isinstance(energy, bool) or not isinstance(energy, (int, float))
        ):
            raise ValueError(
                f"{source}: line {start + 2}: expected a number for {energy_key}=, got {energy!r}"
            )
        molecules.append(
            Molecule(
                atomic_numbers=torch.tensor(species, dtype=torch.long),
                positions=torch.tensor(positions, dtype=torch.float64).reshape(n, 3),
                energy=None if energy is None else float(energy),
                forces=None
                if forces is None
                else torch.tensor(forces, dtype=torch.float64).reshape(n, 3),
                info=info,
                line=start + 1,
            )
        )
        start += 2 + n
    return molecules


def read_extxyz(
    path: str | Path, *, energy_key: str = "energy", forces_key: str = "forces"
) -> list[Molecule]:
    """Read an extxyz file; see :func:`parse_extxyz`.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: for malformed content, naming the file and line.
        ChecksumError: the nearest ``SHA256SUMS`` above the file lists another digest.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no extxyz file at {path}")
    text = verify_file(path).read_text()
    return parse_extxyz(text, energy_key=energy_key, forces_key=forces_key, source=str(path))


def collate_molecules(
    molecules: Sequence[Molecule], dtype: torch.dtype = torch.float32
) -> MoleculeBatch:
    """Concatenate molecules into one batch (``batch[i]`` = the molecule of atom ``i``).

    Args:
        molecules: at least one :class:`Molecule`.
        dtype: the floating dtype of positions and forces; energies stay float64.
    """
    if not molecules:
        raise ValueError("molecules: expected at least one molecule, got none")
    counts = torch.tensor([m.num_atoms for m in molecules], dtype=torch.long)
    energy = None
    if all(m.energy is not None for m in molecules):
        energy = torch.tensor([m.energy for m in molecules], dtype=torch.float64)
    forces = None
    if all(m.forces is not None for m in molecules):
        forces = torch.cat([m.forces for m in molecules]).to(dtype)
    return MoleculeBatch(
        positions=torch.cat([m.positions for m in molecules]).to(dtype),
        atomic_numbers=torch.cat([m.atomic_numbers for m in molecules]),
        batch=torch.repeat_interleave(torch.arange(len(molecules)), counts),
        energy=energy,
        forces=forces,
        num_atoms=counts,
    )
