"""Benchmark suites of the meshes domain (geometry): operator assembly vs libigl, metric fitting.

* ``meshes.laplacian_assembly``: the cotan Laplacian and lumped mass of the
  armadillo (86k faces) from its edge lengths, against libigl's
  ``cotmatrix``/``massmatrix`` from positions, side by side: time ratio
  (goal ≤ 2) and the largest value difference.
* ``meshes.metric_fitting``: recover the round metric of an icosphere from a
  noisy one given a subset of geodesic distances (:func:`fit_metric`): the
  held-out distance error against the weight ``λ`` of the complexity term.

libigl is a benchmark/test-only dependency, imported when the suite runs.

Shapes:
    N: vertices.
    E: edges.
    F: faces.
    P: vertex pairs.
"""

from __future__ import annotations

import importlib.metadata
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gdl_zoo.bench.measure import torch_threads
from gdl_zoo.bench.suites import BenchContext, Record, Suite, ratio, register_suite, time_callable
from gdl_zoo.meshes.generators import icosphere
from gdl_zoo.meshes.geodesics import HeatGeodesics
from gdl_zoo.meshes.geometry import cotan_laplacian_and_mass, edge_lengths
from gdl_zoo.meshes.io import read_mesh
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.metric import EdgeLengthMetric
from gdl_zoo.meshes.metric_learning import fit_metric, geodesic_distance_term, regge_action
from gdl_zoo.meshes.sparse import SparsityPattern

__all__ = [
    "ARMADILLO",
    "laplacian_assembly",
    "RoundSphereProblem",
    "round_sphere_problem",
    "metric_fitting",
]

#: The armadillo mesh under the data root (libigl's tutorial data, 86 482 faces).
ARMADILLO = Path("meshes") / "libigl" / "armadillo.obj"

#: Time ratio ours / libigl that the assembly benchmark aims at.
ASSEMBLY_RATIO_GOAL = 2.0

#: Largest absolute difference from libigl's matrices accepted in float64.
ASSEMBLY_TOLERANCE = 1e-10


def _import_igl():
    try:
        import igl
    except ImportError as err:
        raise ImportError(
            "meshes.laplacian_assembly compares against libigl, a benchmark/test-only "
            "dependency: pip install libigl"
        ) from err
    return igl


def _assembly_input(context: BenchContext) -> tuple[torch.Tensor, TriangleMesh, str] | str:
    """The armadillo when the data root has it; else an icosphere (quick) or the skip reason."""
    reason = "no data directory (set --data-dir or GDL_ZOO_DATA)"
    if context.data_dir is not None:
        path = Path(context.data_dir) / ARMADILLO
        if path.is_file():
            x, mesh = read_mesh(path)
            return x, mesh, str(path)
        reason = f"mesh not found at {path}"
    if context.quick:
        x, mesh = icosphere(5)
        return x, mesh, "icosphere(5) (no data directory)"
    return reason


def laplacian_assembly(context: BenchContext) -> list[Record]:
    """Cotan Laplacian + lumped mass assembly: ours from edge lengths vs libigl, one run.

    Ours fills the values of a :class:`SparsityPattern` built once per mesh
    (:func:`cotan_laplacian_and_mass`, one pass over the faces, one gather, no
    ``coalesce``) and wraps them as a ``torch.sparse_csr_tensor``; libigl builds
    ``cotmatrix`` (``−L``) and the barycentric ``massmatrix`` from positions.
    Both run single-threaded (libigl's assembly is serial; torch's thread pool
    is pinned to one thread for the timing and restored after).  Also
    recorded: ours from positions (edge lengths included), the once-per-mesh
    pattern build, forward+backward through the lengths, and the largest
    differences from libigl's matrices (float64).

    Args:
        context: seed, repeat and ``data_dir`` (the armadillo); a quick run
            without data uses ``icosphere(5)`` (20 480 faces).
    """
    found = _assembly_input(context)
    names = ("ours (from lengths)", "libigl cotmatrix + massmatrix")
    if isinstance(found, str):
        return [
            Record(n, "assembly time", math.nan, "s", details={"skipped": found}) for n in names
        ]
    try:
        igl = _import_igl()
    except ImportError as err:
        return [
            Record(n, "assembly time", math.nan, "s", details={"skipped": str(err)}) for n in names
        ]
    x, mesh, source = found
    base = {
        "mesh": source,
        "N": mesh.num_vertices,
        "F": mesh.num_faces,
        "dtype": "float64",
        "torch threads": 1,
        "libigl": importlib.metadata.version("libigl"),
    }
    v, f = x.numpy(), mesh.faces.numpy()
    records: list[Record] = []
    with torch_threads(1):
        pattern_time = time_callable(lambda: SparsityPattern.of_mesh(mesh), 1, warmup=0)
        pattern = SparsityPattern.of_mesh(mesh)
        lengths = edge_lengths(mesh, x)

        def ours() -> tuple[torch.Tensor, torch.Tensor]:
            lap, mass = cotan_laplacian_and_mass(mesh, lengths, pattern)
            return pattern.to_torch(lap), mass

        def ours_from_positions() -> tuple[torch.Tensor, torch.Tensor]:
            lap, mass = cotan_laplacian_and_mass(mesh, edge_lengths(mesh, x), pattern)
            return pattern.to_torch(lap), mass

        def reference():
            return igl.cotmatrix(v, f), igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_BARYCENTRIC)

        trainable = lengths.clone().requires_grad_()

        def ours_backward() -> None:
            lap, mass = cotan_laplacian_and_mass(mesh, trainable, pattern)
            (lap.square().sum() + mass.square().sum()).backward()

        t_ours = time_callable(ours, context.repeat)
        t_ref = time_callable(reference, context.repeat)
        t_pos = time_callable(ours_from_positions, context.repeat)
        t_bwd = time_callable(ours_backward, context.repeat)
    for name, timing in (
        (names[0], t_ours),
        (names[1], t_ref),
        ("ours (from positions)", t_pos),
        ("ours (from lengths, forward+backward)", t_bwd),
    ):
        records.append(
            Record(name, "assembly time", timing.median, "s", details={**base, **timing.as_dict()})
        )
    records.append(
        Record(
            names[0], "pattern build time (once per mesh)", pattern_time.median, "s", details=base
        )
    )
    value = ratio(t_ours.median, t_ref.median)
    records.append(
        Record(
            names[0],
            "time ratio vs libigl",
            value,
            "ratio",
            passed=bool(value <= ASSEMBLY_RATIO_GOAL),
            details={**base, "goal": ASSEMBLY_RATIO_GOAL},
        )
    )
    lap, mass = cotan_laplacian_and_mass(mesh, lengths, pattern)
    cot, lumped = reference()
    lap_diff = float(abs(pattern.to_scipy(lap) + cot).max())  # libigl's cotmatrix is −L
    mass_diff = float(np.abs(mass.numpy() - lumped.diagonal()).max())
    scale = float(lap.abs().max())
    for metric, diff, extra in (
        ("max |L − (−cotmatrix)|", lap_diff, {"largest |L_ij|": scale}),
        ("max |M − massmatrix|", mass_diff, {"largest M_ii": float(mass.max())}),
    ):
        records.append(
            Record(
                names[0],
                metric,
                diff,
                "abs difference",
                passed=bool(diff <= ASSEMBLY_TOLERANCE),
                details={**base, **extra, "tolerance": ASSEMBLY_TOLERANCE},
            )
        )
    return records


@dataclass(frozen=True)
class RoundSphereProblem:
    """A metric-recovery problem: a noisy icosphere metric and distances of the round one.

    Attributes:
        mesh: the icosphere's topology.
        clean: (E,) the round metric (the icosphere's chord lengths).
        noisy: (E,) the start, ``ℓ_ij = e^{(u_i + u_j)/2} ℓ⁰_ij`` with random ``u``.
        train_pairs: (P, 2) vertex pairs whose distance is given.
        train_targets: (P,) their heat-method distances in the round metric.
        test_pairs: (P', 2) held-out pairs (from other sources).
        test_targets: (P',) their distances in the round metric.
    """

    mesh: TriangleMesh
    clean: torch.Tensor
    noisy: torch.Tensor
    train_pairs: torch.Tensor
    train_targets: torch.Tensor
    test_pairs: torch.Tensor
    test_targets: torch.Tensor


def round_sphere_problem(
    subdivisions: int,
    noise: float,
    sources: int,
    train_size: int,
    generator: torch.Generator,
) -> RoundSphereProblem:
    """Build a :class:`RoundSphereProblem`.

    The noise is a random conformal factor per vertex (``u ~ N(0, noise²)``).
    Targets are heat-method distances (:class:`HeatGeodesics`) in the round
    metric, so the round metric fits them exactly.  ``2 · sources`` source
    vertices are drawn: ``train_size`` random pairs from the first half are
    given, every pair from the second half is held out.

    Shapes:
        train_pairs: (train_size, 2); test_pairs: (sources · (N − 1), 2).
    """
    x, mesh = icosphere(subdivisions)
    clean = edge_lengths(mesh, x)
    n, e = mesh.num_vertices, mesh.edges
    u = noise * torch.randn(n, generator=generator, dtype=clean.dtype)
    noisy = clean * torch.exp((u[e[:, 0]] + u[e[:, 1]]) / 2)
    chosen = torch.randperm(n, generator=generator)[: 2 * sources]
    with torch.no_grad():
        distances = HeatGeodesics(mesh, clean)(chosen)  # (2 sources, N)
    pairs = torch.stack(torch.meshgrid(chosen, torch.arange(n), indexing="ij"), -1).reshape(-1, 2)
    targets = distances.reshape(-1)
    keep = pairs[:, 0] != pairs[:, 1]
    pairs, targets = pairs[keep], targets[keep]
    is_train = torch.isin(pairs[:, 0], chosen[:sources])
    train = torch.nonzero(is_train).flatten()
    train = train[torch.randperm(len(train), generator=generator)[:train_size]]
    test = torch.nonzero(~is_train).flatten()
    return RoundSphereProblem(
        mesh, clean, noisy, pairs[train], targets[train], pairs[test], targets[test]
    )


def metric_fitting(context: BenchContext) -> list[Record]:
    """Held-out geodesic-distance error of :func:`fit_metric` against the complexity weight ``λ``.

    Reference: Zhang 2025 (arXiv 2510.26068), variational metric learning.

    An icosphere (``icosphere(2)``, 162 vertices; ``icosphere(1)`` when quick)
    gets a noisy metric (random conformal factors, σ = 0.1); the conformal
    factors are fitted (Adam) to the round metric's distances on a few vertex
    pairs (100 pairs from 4 sources; 40 from 3 when quick), with the
    scale-invariant Calabi energy as the complexity term, for a sweep of ``λ``.
    With ``λ = 0`` the fit matches the given pairs and overfits; a small
    ``λ > 0`` pulls the curvature towards a constant and lowers the error on
    the held-out pairs (all distances from other sources).  The full run adds
    ``curvature_squared`` (not scale-invariant) and the Regge action
    ``Σ K_v``, whose gradient is zero (Gauss–Bonnet), so it changes nothing.

    The fits run single-threaded (a 162-vertex mesh gains nothing from more).

    Args:
        context: seed and ``quick``.
    """
    with torch_threads(1):
        return _metric_fitting(context)


def _metric_fitting(context: BenchContext) -> list[Record]:
    quick = context.quick
    gen = context.generator()
    subdivisions, sources, train_size = (1, 3, 40) if quick else (2, 4, 100)
    steps, lr = (60, 3e-2) if quick else (150, 2e-2)
    problem = round_sphere_problem(subdivisions, 0.1, sources, train_size, gen)
    train = geodesic_distance_term(problem.mesh, problem.train_pairs, problem.train_targets)
    test = geodesic_distance_term(problem.mesh, problem.test_pairs, problem.test_targets)
    lams = (0.0, 1e-4, 1e-3) if quick else (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2)
    runs = [("calabi", lam) for lam in lams]
    if not quick:
        runs += [("curvature_squared", lam) for lam in lams[1:]] + [("regge", 1.0)]
    base = {
        "mesh": f"icosphere({subdivisions})",
        "N": problem.mesh.num_vertices,
        "noise": "conformal factors u ~ N(0, 0.1²)",
        "fitted": "vertex conformal factors",
        "train pairs": len(problem.train_pairs),
        "held-out pairs": len(problem.test_pairs),
        "steps": steps,
        "lr": lr,
    }
    with torch.no_grad():
        start = math.sqrt(float(test(problem.noisy)))
    records = [Record("noisy start", "held-out distance RMSE", start, "distance", details=base)]
    errors: dict[tuple[str, float], float] = {}
    for complexity, lam in runs:
        metric = EdgeLengthMetric(problem.mesh, problem.noisy, learn_lengths=False, conformal=True)
        term = regge_action if complexity == "regge" else complexity
        result = fit_metric(metric, train, term, lam=lam, steps=steps, lr=lr)
        with torch.no_grad():
            held_out = math.sqrt(float(test(result.lengths)))
        relative = ((result.lengths - problem.clean) / problem.clean).abs().mean()
        errors[(complexity, lam)] = held_out
        details = {**base, "complexity": complexity, "lambda": lam}
        name = f"{complexity}, λ={lam:g}"
        records += [
            Record(name, "held-out distance RMSE", held_out, "distance", details=details),
            Record(
                name,
                "train distance RMSE",
                math.sqrt(result.history[-1]["data"]),
                "distance",
                details=details,
            ),
            Record(
                name,
                "mean relative length error",
                float(relative),
                "relative error",
                details=details,
            ),
        ]
    best_lam = min(lams[1:], key=lambda lam: errors[("calabi", lam)])
    gain = ratio(errors[("calabi", best_lam)], errors[("calabi", 0.0)])
    records.append(
        Record(
            "calabi",
            "best held-out RMSE / RMSE at λ=0",
            gain,
            "ratio",
            passed=bool(gain < 1),
            details={**base, "best lambda": best_lam},
        )
    )
    return records


register_suite(
    Suite(
        name="meshes.laplacian_assembly",
        domain="meshes",
        kind="speed",
        run=laplacian_assembly,
        description="cotan L + mass from lengths vs libigl cotmatrix/massmatrix (armadillo)",
    )
)

register_suite(
    Suite(
        name="meshes.metric_fitting",
        domain="meshes",
        kind="accuracy",
        run=metric_fitting,
        description="recover the round sphere metric from a noisy icosphere: held-out error vs λ",
    )
)
