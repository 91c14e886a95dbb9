"""Benchmark suites of the meshes domain (layers): implicit diffusion cost, and a shape task.

Diffusion cost (:func:`diffusion_cost`): one forward + backward of
:func:`~gdl_zoo.meshes.diffusion.implicit_diffusion` from the edge lengths of a
``320 × 320`` torus (102 400 vertices; quick: ``40 × 40``) for ``C`` channels,
each with its own time: assembling ``M`` and ``L`` from the lengths, one
SuperLU factorisation of ``M + t_c L`` per channel, the solves, and the
backward pass to ``x``, ``t`` and the lengths (one adjoint solve per channel
with the same factors, then back through the cotan and mass assembly).  The
reference, side by side in one run, is the bare scipy ``splu`` factor + solve
of the same ``C`` matrices (no torch, no gradients, the matrices built outside
the timed step): the floor of any SuperLU-based diffusion.  Peak memory is the
extra resident memory of the first call of a step in a fresh process (Linux:
``VmHWM`` after resetting it through ``/proc/self/clear_refs``, minus ``VmRSS``
before), or ``torch.cuda.max_memory_allocated`` on CUDA.

Shape task (:func:`shape_task`): classify deformed copies of a few shapes.
Each copy is the shape under a random smooth non-isometric deformation
(anisotropic scaling and a low-frequency sine displacement), normalised to
unit area.  Models train on copies in the canonical pose and are tested on
fresh copies, once in the canonical pose and once after a random rigid motion
(rotation, reflection, translation) and a random vertex relabelling; every
feature is recomputed from the moved positions.  Full run: five small meshes
from ``$GDL_ZOO_DATA/meshes`` (:data:`SHAPE_FILES`, 131–502 vertices); quick
run: four generated shapes (sphere, ellipsoid, torus, disc).  Models:

- ``mesh_diffusionnet``: :class:`~gdl_zoo.meshes.diffusionnet.MeshDiffusionNet`
  on heat kernel signatures (intrinsic);
- ``mesh_transformer``: :class:`~gdl_zoo.meshes.mesh_transformer.MeshTransformer`
  with the geodesic bias, on heat kernel signatures (intrinsic);
- ``xyz_mlp``: a pointwise MLP on centred coordinates with max pooling
  (PointNet-style, extrinsic baseline);
- ``diffusionnet_xyz``: the same DiffusionNet fed coordinates instead of
  signatures (extrinsic: the inputs, not the layers, break the symmetry).

Shapes:
    N: vertices of one shape.
    C: channels.
    K: classes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo.bench.measure import peak_memory_mib, time_interleaved, torch_threads
from gdl_zoo.bench.suites import BenchContext, Record, Suite, register_suite
from gdl_zoo.meshes.actions import MeshSymmetry
from gdl_zoo.meshes.diffusion import heat_kernel_signature, implicit_diffusion
from gdl_zoo.meshes.diffusionnet import MeshDiffusionNet
from gdl_zoo.meshes.generators import grid, icosphere, torus
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.io import read_mesh
from gdl_zoo.meshes.mesh import TriangleMesh
from gdl_zoo.meshes.mesh_transformer import MeshTransformer, intrinsic_distance_matrix
from gdl_zoo.meshes.operators import MeshOperators

__all__ = [
    "DIFFUSION_TORUS",
    "DIFFUSION_CHANNELS",
    "DIFFUSION_TIMES",
    "SHAPE_FILES",
    "HKS_TIMES",
    "diffusion_cost",
    "diffusion_step",
    "shape_task",
]

#: Torus segments ``(n₁, n₂)`` of the diffusion benchmark, full and quick (N = n₁ n₂).
DIFFUSION_TORUS = {"full": (320, 320), "quick": (40, 40)}
#: Channels ``C`` diffused in the benchmark, one factorisation each.
DIFFUSION_CHANNELS = 4
#: The channels' diffusion times, relative to the squared mean edge length.
DIFFUSION_TIMES = (1.0, 4.0, 16.0, 64.0)
#: The full shape task's classes: meshes under ``$GDL_ZOO_DATA/meshes``.
SHAPE_FILES = {
    "cat_head": "geometry-central/cat_head.obj",
    "sphere_small": "geometry-central/sphere_small.ply",
    "bob": "geometry-central/bob_small.ply",
    "fox": "geometry-central/fox.ply",
    "knight": "libigl/decimated-knight.off",
}
#: Heat kernel signature times for unit-area shapes.
HKS_TIMES = tuple(float(t) for t in np.geomspace(1e-3, 1e-1, 8))
#: (train copies per class, test copies per class, epochs) for quick and full runs.
QUICK = (3, 2, 20)
FULL = (12, 12, 30)
#: Eigenpairs for the heat kernel signature.
K_EIG = 32
#: Relative strength of the random anisotropic scaling and sine displacement.
DEFORMATION = (0.1, 0.06)
#: Adam's learning rate in the shape task (the Transformer's is :data:`TRANSFORMER_LR`).
LEARNING_RATE = 3e-3
#: Adam's learning rate for the mesh Transformer (underfits at 3e-3 in 30 epochs).
TRANSFORMER_LR = 1e-3


# --- diffusion cost -----------------------------------------------------------------------


def _bare_superlu(ops: MeshOperators, times: torch.Tensor, x: torch.Tensor) -> Callable:
    """The reference: scipy factor + solve of ``(M + t_c L) y_c = M x_c``, no torch, no grad.

    The ``C`` matrices are built outside the timed step, in the same CSC form
    that :class:`~gdl_zoo.meshes.sparse.Factorization` hands SuperLU, so the
    step is the factorisations and solves alone.
    """
    from scipy.sparse.linalg import splu

    zeros = ops.mass.new_zeros(ops.mesh.num_edges)
    mass_values = ops.pattern.symmetric_values(ops.mass, zeros).detach()
    lap = ops.laplacian.detach()
    matrices = [ops.pattern.to_scipy(mass_values + t * lap).tocsc() for t in times.tolist()]
    rhs = ops.mass.detach().cpu().double().numpy()[:, None] * x.detach().cpu().double().numpy()

    def step() -> list:
        out = []
        for c, matrix in enumerate(matrices):
            lu = splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                      options={"SymmetricMode": True})  # fmt: skip
            out.append(lu.solve(rhs[:, c]))
        return out

    return step


def _diffusion_steps(n1: int, n2: int, seed: int, device: str) -> dict[str, Callable[[], object]]:
    """The timed steps on the ``n1 × n2`` torus: assembly, fwd, fwd+bwd and the reference.

    The fwd+bwd step leaves the gradients of ``x``, ``t`` and the lengths in
    the closure's tensors; ``steps["gradients"]()`` returns them.
    """
    positions, mesh = torus(n1, n2)
    mesh = mesh.to(device)
    lengths0 = edge_lengths(mesh, positions.to(device))
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(mesh.num_vertices, DIFFUSION_CHANNELS, generator=generator, dtype=torch.float64)
    x = x.to(device).requires_grad_()
    h2 = float(lengths0.mean()) ** 2
    times = (torch.tensor(DIFFUSION_TIMES, dtype=torch.float64) * h2).to(device).requires_grad_()
    lengths = lengths0.clone().requires_grad_()
    pattern = MeshOperators.from_lengths(mesh, lengths0).pattern

    def assemble() -> MeshOperators:
        return MeshOperators.from_lengths(mesh, lengths, pattern=pattern)

    def forward() -> torch.Tensor:
        return implicit_diffusion(assemble(), x, times)

    def forward_backward() -> None:
        for p in (x, times, lengths):
            p.grad = None
        forward().square().sum().backward()

    return {
        "assembly": assemble,
        "fwd": forward,
        "fwd+bwd": forward_backward,
        "reference": _bare_superlu(assemble(), times.detach(), x),
        "gradients": lambda: (x.grad, times.grad, lengths.grad),
    }


def diffusion_step(step: str, n1: int, n2: int, seed: int, device: str = "cpu") -> Callable:
    """One of the timed steps of :func:`diffusion_cost` on the ``n1 × n2`` torus, ready to call.

    The factory that :func:`~gdl_zoo.bench.measure.peak_memory_mib` runs in a
    fresh interpreter for each memory figure, so that neither the other steps
    nor the allocator's retained blocks hide the step's footprint.
    """
    return _diffusion_steps(n1, n2, seed, device)[step]


def diffusion_cost(context: BenchContext) -> list[Record]:
    """Time and peak memory of implicit diffusion forward + backward on a ~100k-vertex torus.

    Records: the assembly time (operators from lengths), the forward time
    (assembly + diffusion), the forward + backward time (gradients to ``x``,
    ``t`` and the lengths), the bare SuperLU reference, the ratios
    fwd / reference and fwd+bwd / fwd, and the peak memory of a fwd+bwd step
    and of the reference (with their ratio), each measured in a fresh process
    (:func:`~gdl_zoo.bench.measure.peak_memory_mib` on :func:`diffusion_step`; full runs
    only).  Timings over
    ``context.repeat`` interleaved rounds after one warm-up (each round runs
    every step once, so load drift on a shared machine hits all alike);
    medians in ``value``.
    """
    n1, n2 = DIFFUSION_TORUS["quick" if context.quick else "full"]
    steps = _diffusion_steps(n1, n2, context.seed, context.device)
    gradients = steps.pop("gradients")
    timing = time_interleaved(steps, context.repeat)
    grads_finite = all(bool(torch.isfinite(g).all()) for g in gradients())
    memory = {"fwd+bwd": math.nan, "reference": math.nan}
    if not context.quick:  # two fresh interpreters: seconds of start-up each
        factory = "gdl_zoo.meshes.bench_layers:diffusion_step"
        args = (n1, n2, context.seed)
        memory = {s: peak_memory_mib(factory, [s, *args], context.device) for s in memory}
    details = {
        "mesh": f"torus {n1}x{n2}",
        "vertices": n1 * n2,
        "faces": 2 * n1 * n2,
        "channels": DIFFUSION_CHANNELS,
        "times / h^2": list(DIFFUSION_TIMES),
        "device": context.device,
        "gradients": "x, t, edge lengths",
        "gradients finite": grads_finite,
        "reference": "scipy splu (MMD_AT_PLUS_A, symmetric mode) factor + solve per channel",
        "peak memory": "extra VmHWM of the step's first call in a fresh process",
    }
    skipped = {"skipped": "quick mode: peak memory in full runs only"} if context.quick else {}
    mem_details = {**details, **skipped}
    name, ref = "implicit diffusion", "bare SuperLU factor+solve (reference)"
    records = [
        Record(name, "assembly time (M, L from lengths)", timing["assembly"].median, "s",
               details={**details, **timing["assembly"].as_dict()}),
        Record(name, "fwd time", timing["fwd"].median, "s",
               details={**details, **timing["fwd"].as_dict()}),
        Record(name, "fwd+bwd time", timing["fwd+bwd"].median, "s",
               details={**details, **timing["fwd+bwd"].as_dict()}),
        Record(ref, "time", timing["reference"].median, "s",
               details={**details, **timing["reference"].as_dict()}),
        Record(name, "fwd time ratio vs bare SuperLU", timing["fwd"].median
               / timing["reference"].median, "ratio", details=details),
        Record(name, "fwd+bwd / fwd time", timing["fwd+bwd"].median / timing["fwd"].median,
               "ratio", details=details),
        Record(name, "fwd+bwd peak memory", memory["fwd+bwd"], "MiB", details=mem_details),
        Record(ref, "peak memory", memory["reference"], "MiB", details=mem_details),
        Record(name, "peak memory ratio vs bare SuperLU",
               memory["fwd+bwd"] / memory["reference"] if memory["reference"] > 0 else math.nan,
               "ratio", details=mem_details),
    ]  # fmt: skip
    return records


# --- shape task ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    """The features of one shape copy, computed from its positions alone."""

    ops: MeshOperators
    hks: torch.Tensor  # (N, T) log heat kernel signature
    xyz: torch.Tensor  # (N, 3) centred coordinates
    pairwise: torch.Tensor  # (N, N) geodesic distances / √area
    label: int


def _unit_rms(positions: torch.Tensor) -> torch.Tensor:
    centred = positions - positions.mean(0)
    return centred / centred.norm(dim=1).square().mean().sqrt()


def _quick_shapes() -> dict[str, tuple[torch.Tensor, TriangleMesh]]:
    sphere, sphere_mesh = icosphere(1)
    stretch = torch.tensor([1.6, 1.0, 0.6], dtype=torch.float64)
    disc, disc_mesh = grid(5, 5)
    return {
        "sphere": (sphere, sphere_mesh),
        "ellipsoid": (sphere * stretch, sphere_mesh),
        "torus": torus(8, 6),
        "disc": (disc, disc_mesh),
    }


def _data_shapes(root: Path) -> dict[str, tuple[torch.Tensor, TriangleMesh]] | str:
    missing = [rel for rel in SHAPE_FILES.values() if not (root / "meshes" / rel).is_file()]
    if missing:
        return f"meshes not found under {root / 'meshes'}: {', '.join(missing)}"
    return {name: read_mesh(root / "meshes" / rel) for name, rel in SHAPE_FILES.items()}


def _deform(positions: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random smooth non-isometric deformation: anisotropic scaling, then a sine bump field."""
    scale_noise, bump = DEFORMATION
    kw = {"generator": generator, "dtype": torch.float64}
    p = positions * torch.exp(scale_noise * torch.randn(3, **kw))
    frequency = 2.0 * torch.randn(3, 3, **kw)
    phase = 2 * math.pi * torch.rand(3, **kw)
    return p + torch.sin(p @ frequency + phase) @ (bump * torch.randn(3, 3, **kw))


def _features(positions: torch.Tensor, mesh: TriangleMesh, label: int) -> _Sample:
    ops = MeshOperators.from_positions(mesh, positions)
    unit = positions / ops.total_area.sqrt()  # unit area
    k = min(K_EIG, mesh.num_vertices - 1)
    ops = MeshOperators.from_positions(mesh, unit, k_eig=k)
    hks = heat_kernel_signature(ops, torch.tensor(HKS_TIMES, dtype=torch.float64))
    weights = ops.mass / ops.total_area
    xyz = unit - (weights.unsqueeze(1) * unit).sum(0)
    pairwise = intrinsic_distance_matrix(ops)  # the geodesic bias's matrix (unit area)
    return _Sample(ops, hks.clamp_min(1e-12).log(), xyz, pairwise, label)


class _PointwiseMLP(nn.Module):
    """The extrinsic baseline (PointNet-style): ``head(max_i MLP(x_i))``."""

    def __init__(self, in_channels: int, out_channels: int, width: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_channels, width), nn.ReLU(),
                                 nn.Linear(width, 2 * width), nn.ReLU())  # fmt: skip
        self.head = nn.Linear(2 * width, out_channels)

    def forward(self, x: torch.Tensor, ops: MeshOperators) -> torch.Tensor:
        return self.head(self.mlp(x).amax(-2))


_DIFFUSIONNET = {"width": 16, "num_blocks": 2, "mode": "spectral", "k_eig": K_EIG,
                 "output": "global", "init_time": 1e-2}  # fmt: skip


def _models(classes: int) -> dict[str, tuple[Callable[[], nn.Module], str, float]]:
    """name -> (factory, input feature, learning rate) of every model in the task."""
    t = len(HKS_TIMES)
    return {
        "mesh_diffusionnet": (lambda: MeshDiffusionNet(t, classes, **_DIFFUSIONNET), "hks",
                              LEARNING_RATE),
        "mesh_transformer": (lambda: MeshTransformer(t, classes, width=16, heads=2, num_layers=2,
                                                     output="global"), "hks", TRANSFORMER_LR),
        "xyz_mlp": (lambda: _PointwiseMLP(3, classes, width=32), "xyz", LEARNING_RATE),
        "diffusionnet_xyz": (lambda: MeshDiffusionNet(3, classes, **_DIFFUSIONNET), "xyz",
                             LEARNING_RATE),
    }  # fmt: skip


def _logits(model: nn.Module, sample: _Sample, feature: str) -> torch.Tensor:
    x = getattr(sample, feature).float()
    if isinstance(model, MeshTransformer):
        return model.forward_operators(x, sample.ops, sample.pairwise)
    if isinstance(model, MeshDiffusionNet):
        return model.forward_operators(x, sample.ops)
    return model(x, sample.ops)


def _train(model: nn.Module, samples: list[_Sample], feature: str, epochs: int, seed: int,
           lr: float) -> float:  # fmt: skip
    """Adam, one shape per step, shapes shuffled by ``seed``; returns the wall seconds."""
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for i in torch.randperm(len(samples), generator=order).tolist():
            logits = _logits(model, samples[i], feature)
            loss = F.cross_entropy(logits.unsqueeze(0), torch.tensor([samples[i].label]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return time.perf_counter() - start


@torch.no_grad()
def _evaluate(model: nn.Module, samples: list[_Sample], feature: str) -> torch.Tensor:
    model.eval()
    return torch.stack([_logits(model, s, feature) for s in samples])


def shape_task(context: BenchContext) -> list[Record]:
    """Accuracy of intrinsic vs extrinsic models on deformed shapes under random rigid motions.

    Records per model: ``"test accuracy (random rigid motions)"`` and
    ``"test accuracy (canonical pose)"`` (%), with the largest change of a
    logit under the motions relative to the largest logit, the parameter
    count, training seconds, sizes and the data source in ``details``.  A
    full run without the meshes records ``nan`` with ``details["skipped"]``.
    Runs with one intra-op thread (tensors of a few hundred rows: waking a
    second thread costs more than it saves, badly so on a loaded machine).
    """
    with torch_threads(1):
        return _shape_task(context)


def _shape_task(context: BenchContext) -> list[Record]:

    copies_train, copies_test, epochs = QUICK if context.quick else FULL
    if context.quick:
        shapes, source = _quick_shapes(), "generated: sphere, ellipsoid, torus, disc"
    else:
        if context.data_dir is None:
            reason = "no data directory (set --data-dir or GDL_ZOO_DATA)"
        else:
            loaded = _data_shapes(Path(context.data_dir))
            reason = loaded if isinstance(loaded, str) else ""
        if reason:
            return [Record(name, "test accuracy (random rigid motions)", math.nan, "%",
                           details={"skipped": reason}) for name in _models(1)]  # fmt: skip
        shapes = loaded
        source = "; ".join(f"{n}: {SHAPE_FILES[n]} ({m.num_vertices} vertices)"
                           for n, (_, m) in shapes.items())  # fmt: skip
    generator = context.generator()
    train, test, moved = [], [], []
    start = time.perf_counter()
    for label, (positions, mesh) in enumerate(shapes.values()):
        base = _unit_rms(positions)
        for _ in range(copies_train):
            train.append(_features(_deform(base, generator), mesh, label))
        for _ in range(copies_test):
            p = _deform(base, generator)
            test.append(_features(p, mesh, label))
            motion = MeshSymmetry(mesh.num_vertices)  # rigid motion x relabelling
            _, q, faces = motion.act(motion.sample(generator), (p, p, mesh.faces))
            moved.append(_features(q, TriangleMesh(faces, mesh.num_vertices), label))
    preprocessing = time.perf_counter() - start
    labels = torch.tensor([s.label for s in test])
    records = []
    for name, (factory, feature, lr) in _models(len(shapes)).items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(context.seed)
            model = factory()
        seconds = _train(model, train, feature, epochs, context.seed, lr)
        canonical = _evaluate(model, test, feature)
        rotated = _evaluate(model, moved, feature)
        change = float((canonical - rotated).abs().max() / canonical.abs().max())
        details = {
            "data": source,
            "classes": list(shapes),
            "train copies per class": copies_train,
            "test copies per class": copies_test,
            "epochs": epochs,
            "learning rate": lr,
            "input": "log heat kernel signature" if feature == "hks" else "centred xyz",
            "params": sum(p.numel() for p in model.parameters()),
            "train_seconds": seconds,
            "preprocessing_seconds (all models)": preprocessing,
            "max relative logit change under the motions": change,
            "test copies are also": "randomly relabelled; features recomputed after the motion",
        }
        for metric, logits in (("test accuracy (random rigid motions)", rotated),
                               ("test accuracy (canonical pose)", canonical)):  # fmt: skip
            accuracy = 100.0 * float((logits.argmax(1) == labels).double().mean())
            records.append(Record(name, metric, accuracy, "%", details=details))
    return records


register_suite(
    Suite(
        name="meshes.diffusion_cost",
        domain="meshes",
        kind="speed",
        run=diffusion_cost,
        description="implicit diffusion fwd+bwd (grads to x, t, lengths) on a 102k-vertex torus: "
        "time and peak memory vs bare SuperLU",
    )
)

register_suite(
    Suite(
        name="meshes.shape_task",
        domain="meshes",
        kind="accuracy",
        run=shape_task,
        description="classify deformed shapes under random rigid motions: DiffusionNet and "
        "mesh Transformer (intrinsic) vs xyz baselines",
    )
)
