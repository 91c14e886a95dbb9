"""Energy and force regression on acetylacetone: E(3)-equivariant potentials against a plain MLP.

The BOTNet acetylacetone set (Kovács et al., "The design space of
E(3)-equivariant atom-centered interatomic potentials", arXiv 2205.06643;
15 atoms, DFT energies in eV and forces in eV/Å) trains on 300 K molecular
dynamics and tests both at 300 K (in distribution) and 600 K (out of
distribution: hotter, more distorted geometries).  Every model is an
energy model ``(positions, features, batch) -> (energy, forces = −∂E/∂x)``
trained with the same data order, optimiser, step budget and loss:

- ``egnn``: :class:`~gdl_zoo.groups.egnn.EGNNEnergy` (Satorras et al. 2021);
- ``tfn``: :class:`~gdl_zoo.groups.tfn.TFNEnergy` (Thomas et al. 2018; NequIP blocks);
- ``se3_transformer``: :class:`~gdl_zoo.groups.se3_transformer.SE3TransformerEnergy`
  (Fuchs et al. 2020);
- ``mlp (non-equivariant)``: :class:`FlatMLPEnergy`, an MLP on the 45 raw
  coordinates with a similar parameter count (no symmetry at all).

Targets are normalised: ``E' = (E − n·ē)/σ`` and ``F' = F/σ`` with ``ē`` the
mean energy per atom and ``σ`` the RMS force component of the training set;
the loss is ``mean(ΔE'²) + λ_F mean(ΔF'²)``.  Reported: energy MAE (eV) and
force MAE (eV/Å, per component) on each test set, and each trained model's
largest relative E(3) equivariance error (float64 copy; float32 in details).

Shapes:
    N: atoms over a batch.
    B: molecules in a batch.
    n: atoms per molecule.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.data.extxyz import Molecule, MoleculeBatch, collate_molecules, read_extxyz
from gdl_zoo.data.samples import acac_sample_dir
from gdl_zoo.groups.egnn import EGNNEnergy
from gdl_zoo.groups.euclidean_actions import E3PointCloud, EnergyForces
from gdl_zoo.symmetry.testing import equivariance_error

__all__ = ["FlatMLPEnergy", "molecule_regression"]

#: where the dataset lives under the data root
DATASET = Path("molecules") / "botnet" / "dataset_acac"
TRAIN_FILE = "train_300K.xyz"
TEST_FILES = {"300K": "test_MD_300K.xyz", "600K (out of distribution)": "test_MD_600K.xyz"}
SPECIES = (1, 6, 8)  # H, C, O: one-hot features
BATCH_SIZE = 10
LEARNING_RATE = 5e-3
FORCE_WEIGHT = 10.0
GRAD_CLIP = 10.0
EVAL_BATCH = 50
MODELS = ("egnn", "tfn", "se3_transformer", "mlp (non-equivariant)")
#: The model whose equivariance error is the negative control.
BASELINE = MODELS[-1]
#: (training configurations, optimiser steps, test configurations per test set)
QUICK = (200, 80, 200)
FULL = (500, 600, 650)


class FlatMLPEnergy(nn.Module):
    """A non-equivariant baseline: an MLP on the flattened coordinates of a fixed molecule.

    ::

        E_b = MLP(vec(x_b)) ∈ R,   x_b ∈ R^{n×3} (the atoms of molecule b, in file order)
        F = −∂E/∂x

    It sees raw coordinates, so it is neither rotation- nor
    translation-invariant, nor invariant to relabelling atoms; ``features`` are
    ignored (the species order is fixed).  Forces come from autograd inside
    ``forward``, as for :class:`~gdl_zoo.groups.point_graphs.AtomicEnergyModel`.

    Args:
        num_atoms: ``n``.
        hidden: the width of the two hidden SiLU layers.

    Shapes:
        positions: ``(N, 3)`` with ``N = B·n``, molecules contiguous; features:
        ``(N, F)``; batch: ``(N,)``; output: ``(energy (B,), forces (N, 3))``.
    """

    def __init__(self, num_atoms: int, hidden: int = 100):
        super().__init__()
        self.num_atoms = check_positive_int(num_atoms, "num_atoms")
        check_positive_int(hidden, "hidden")
        self.mlp = nn.Sequential(
            nn.Linear(3 * num_atoms, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 1),
        )

    def forward(
        self, positions: torch.Tensor, features: torch.Tensor, batch: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if positions.dim() != 2 or positions.shape[1] != 3 or positions.shape[0] % self.num_atoms:
            raise ValueError(
                f"positions: expected shape (B·{self.num_atoms}, 3), got {tuple(positions.shape)}"
            )
        grad_enabled = torch.is_grad_enabled()
        with torch.enable_grad():
            if not positions.requires_grad:
                positions = positions.detach().requires_grad_()
            flat = positions.reshape(-1, 3 * self.num_atoms)  # (B·n, 3) -> (B, 3n)
            energy = self.mlp(flat).squeeze(-1)
            (gradient,) = torch.autograd.grad(
                energy.sum(), positions, create_graph=self.training and grad_enabled
            )
        if not grad_enabled:
            return energy.detach(), -gradient.detach()
        return energy, -gradient


def _mlp_width(num_atoms: int, budget: int) -> int:
    """The hidden width ``H`` of :class:`FlatMLPEnergy` with about ``budget`` parameters.

    Parameters: ``3n·H + H + H² + H + H + 1 = H² + (3n + 3)H + 1``.
    """
    b = 3 * num_atoms + 3
    return max(1, round((-b + math.sqrt(b * b + 4 * (budget - 1))) / 2))


def _model_factories(num_atoms: int) -> dict[str, Callable[[], nn.Module]]:
    from gdl_zoo.groups.se3_transformer import SE3TransformerEnergy  # e3nn
    from gdl_zoo.groups.tfn import TFNEnergy

    species = len(SPECIES)
    factories = (
        lambda: EGNNEnergy(species, channels=24, num_layers=4),
        lambda: TFNEnergy(species, num_layers=3, cutoff=5.0),
        lambda: SE3TransformerEnergy(species, num_layers=3, cutoff=5.0),
        lambda: FlatMLPEnergy(num_atoms, _mlp_width(num_atoms, 15_000)),
    )
    return dict(zip(MODELS, factories, strict=True))


def _features(batch: MoleculeBatch) -> torch.Tensor:
    """One-hot species ``(N, 3)`` for H, C, O."""
    species = torch.tensor(SPECIES)
    known = batch.atomic_numbers[:, None] == species[None, :]
    if not bool(known.any(-1).all()):
        raise ValueError(f"expected atoms among Z = {SPECIES}, got {batch.atomic_numbers.unique()}")
    return known.to(batch.positions.dtype)


def _skipped(reason: str) -> list[Record]:
    metrics = [("energy MAE", "eV"), ("force MAE", "eV/Å")]
    records = [
        Record(name, f"{metric}, test {test}", math.nan, unit, None, {"skipped": reason})
        for name in MODELS
        for test in TEST_FILES
        for metric, unit in metrics
    ]
    records += [
        Record(name, "equivariance error", math.nan, "relative error", None, {"skipped": reason})
        for name in MODELS
    ]
    return records


def _evaluate(
    model: nn.Module,
    molecules: list[Molecule],
    mean_energy: float,
    scale: float,
    device: torch.device,
) -> tuple[float, float]:
    """Energy MAE (eV) and force MAE (eV/Å, per component) of ``model`` on ``molecules``."""
    model.eval()
    energy_errors, force_errors = [], []
    with torch.no_grad():
        for start in range(0, len(molecules), EVAL_BATCH):
            batch = collate_molecules(molecules[start : start + EVAL_BATCH])
            energy, forces = model(
                batch.positions.to(device), _features(batch).to(device), batch.batch.to(device)
            )
            predicted = scale * energy.cpu().double() + mean_energy * batch.num_atoms.double()
            energy_errors.append((predicted - batch.energy).abs())
            force_errors.append(
                (scale * forces.cpu().double() - batch.forces.double()).abs().flatten()
            )
    return float(torch.cat(energy_errors).mean()), float(torch.cat(force_errors).mean())


def _symmetry_error(
    model: nn.Module, molecules: list[Molecule], seed: int, device: torch.device
) -> tuple[float, float]:
    """The largest relative E(3) error of ``model`` in float64 and float32 on two molecules."""
    batch = collate_molecules(molecules[:2], dtype=torch.float64)
    errors = []
    for dtype in (torch.float64, torch.float32):
        inputs = (
            batch.positions.to(device, dtype),
            _features(batch).to(device, dtype),
            batch.batch.to(device),
        )
        report = equivariance_error(
            copy.deepcopy(model).to(dtype), inputs, E3PointCloud(), EnergyForces(), generator=seed
        )
        errors.append(report.max_error)
    return errors[0], errors[1]


def _dataset_root(context: BenchContext) -> Path | str:
    """The acac folder of the run, or the reason there is none.

    A full run needs ``$data_dir/molecules/botnet/dataset_acac``; a quick run
    falls back to the 200 / 100 / 100 configurations embedded in the package.
    """
    reason = "no data directory (set --data-dir or GDL_ZOO_DATA)"
    if context.data_dir is not None:
        root = Path(context.data_dir) / DATASET
        if (root / TRAIN_FILE).is_file():
            return root
        reason = f"dataset not found at {root}"
    return acac_sample_dir() if context.quick else reason


def molecule_regression(
    context: BenchContext,
    *,
    train_size: int | None = None,
    steps: int | None = None,
    test_size: int | None = None,
) -> list[Record]:
    """Train each model on acetylacetone at 300 K; record energy/force MAE and equivariance error.

    Every model sees the same training batches (a permutation stream seeded by
    ``context.seed``) for the same number of Adam steps with cosine learning
    rate decay; initialisation is seeded inside :func:`torch.random.fork_rng`,
    so the global generator is left untouched.

    Args:
        context: seed, device, ``quick`` (200 training configurations, 80 steps,
            200 test configurations per set) versus full (500, 600, all 650),
            and ``data_dir`` (without the dataset a quick run uses the embedded
            sample and a full run records one skipped figure).
        train_size: override the number of training configurations.
        steps: override the number of optimiser steps.
        test_size: override the number of test configurations per test set.

    Returns:
        Per model: ``"energy MAE, test {set}"`` (eV) and ``"force MAE, test {set}"``
        (eV/Å) for the 300 K and 600 K sets, and ``"equivariance error"``
        (relative, float64; ``passed`` when below 1e-9 for the equivariant models,
        ``None`` for the non-equivariant baseline, whose large error is the
        negative control, not a failed check).
    """
    default_train, default_steps, default_test = QUICK if context.quick else FULL
    train_size = check_positive_int(
        default_train if train_size is None else train_size, "train_size"
    )
    steps = check_positive_int(default_steps if steps is None else steps, "steps")
    test_size = check_positive_int(default_test if test_size is None else test_size, "test_size")
    root = _dataset_root(context)
    if isinstance(root, str):
        return _skipped(root)
    device = torch.device(context.device)
    train = read_extxyz(root / TRAIN_FILE)[:train_size]
    tests = {name: read_extxyz(root / file)[:test_size] for name, file in TEST_FILES.items()}
    num_atoms = train[0].num_atoms
    energies = torch.tensor([m.energy for m in train], dtype=torch.float64)
    counts = torch.tensor([m.num_atoms for m in train], dtype=torch.float64)
    mean_energy = float((energies / counts).mean())  # ē, eV per atom
    scale = float(torch.cat([m.forces for m in train]).pow(2).mean().sqrt())  # σ, eV/Å
    generator = torch.Generator().manual_seed(context.seed)
    order = torch.cat(
        [
            torch.randperm(len(train), generator=generator)
            for _ in range(math.ceil(steps * BATCH_SIZE / len(train)))
        ]
    )
    batches = [
        collate_molecules([train[int(k)] for k in order[s * BATCH_SIZE : (s + 1) * BATCH_SIZE]])
        for s in range(steps)
    ]
    records = []
    for name, factory in _model_factories(num_atoms).items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(context.seed)
            model = factory().to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
        model.train()
        start = time.perf_counter()
        for batch in batches:
            features = _features(batch).to(device)
            energy, forces = model(batch.positions.to(device), features, batch.batch.to(device))
            target_energy = (batch.energy - mean_energy * batch.num_atoms) / scale
            loss = (energy - target_energy.to(energy)).pow(2).mean()
            loss = loss + FORCE_WEIGHT * (forces - batch.forces.to(forces) / scale).pow(2).mean()
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimiser.step()
            schedule.step()
        train_seconds = time.perf_counter() - start
        details = {
            "data": str(root),
            "params": sum(p.numel() for p in model.parameters()),
            "train_size": len(train),
            "steps": steps,
            "batch_size": BATCH_SIZE,
            "lr": LEARNING_RATE,
            "force_weight": FORCE_WEIGHT,
            "final_train_loss": float(loss.detach()),
            "train_seconds": train_seconds,
        }
        for test_name, molecules in tests.items():
            energy_mae, force_mae = _evaluate(model, molecules, mean_energy, scale, device)
            test_details = {**details, "test_size": len(molecules)}
            records.append(
                Record(name, f"energy MAE, test {test_name}", energy_mae, "eV", None, test_details)
            )
            records.append(
                Record(name, f"force MAE, test {test_name}", force_mae, "eV/Å", None, test_details)
            )
        error64, error32 = _symmetry_error(model, tests["300K"], context.seed, device)
        records.append(
            Record(
                name,
                "equivariance error",
                error64,
                "relative error",
                None if name == BASELINE else error64 < 1e-9,
                {
                    **details,
                    "dtype": "float64",
                    "float32 error": error32,
                    "equivariant": name != BASELINE,
                },
            )
        )
    return records
