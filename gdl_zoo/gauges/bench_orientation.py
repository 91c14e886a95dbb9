"""A task where orientation matters: regress the gradient field of a signal on the sphere.

On the unit icosphere (642 vertices; quick: 162) each sample is a random
cubic polynomial ``u`` of the coordinates, normalised to unit variance, and
the target is its surface gradient ``∇_S u = (I − n nᵀ)∇u``, a tangent vector
field.  An isotropic filter cannot tell directions apart, so it cannot build
a vector from ``u`` alone; side by side, on the same samples:

- ``gem_cnn``: :class:`~gdl_zoo.gauges.gem_cnn.GEMCNN` on the gauge from the
  edge lengths, input ``u`` (``ρ_0``), output a ``ρ_1`` vector in each
  vertex's frame, trained on the target expressed in those frames;
- ``mesh_diffusionnet`` (the meshes domain's card, spectral mode with 64
  Laplacian eigenpairs; quick: 32) and a ``gcn`` baseline
  (:class:`~gdl_zoo.graphs.gcn.GCN`): inputs ``u`` and the coordinates
  ``x, y, z`` (so a 3D output is at least expressible), output a 3D vector,
  projected to the tangent plane.

Vertex frames and 3D.  The intrinsic frame of vertex ``p`` has its first
spoke at angle 0 and the rescaled 1-ring angles ``φ_s``; the spokes projected
to the tangent plane have the extrinsic angles ``ψ_s``.  A 3D tangent vector
goes to the frame (and back) by the piecewise-linear map ``ψ ↦ φ`` between
consecutive spokes, keeping its length (:class:`VertexFrames`).  Every model
is scored in 3D: the test relative error ``Σ |ŷ − ∇_S u|² / Σ |∇_S u|²`` over
held-out samples (1 for the zero field), on the training embedding and on the
same sphere rotated at test time (signals, targets and coordinates rotated
alike): an intrinsic model gives the same error, one that read the
coordinates need not.

Training: Adam, ``STEPS`` steps of ``BATCH`` samples (quick: fewer), the
same samples and order for all models, float32, one CPU thread (these small
problems run several times slower with two threads on a loaded machine).  Shapes: ``B`` samples,
``N`` vertices, ``S`` spokes, ``D`` the largest vertex degree.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import torch

from gdl_zoo.bench.measure import torch_threads
from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.gauges.frames import MeshGauge, mesh_gauge
from gdl_zoo.gauges.gem_cnn import GEMCNN
from gdl_zoo.gauges.so2_irreps import SO2Irreps
from gdl_zoo.meshes.generators import icosphere
from gdl_zoo.meshes.geometry import edge_lengths
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = [
    "FULL",
    "QUICK",
    "STEPS",
    "BATCH",
    "LEARNING_RATE",
    "MODELS",
    "VertexFrames",
    "polynomial_signals",
    "batched_gauge",
    "orientation_task",
]

#: (subdivisions, train samples, test samples, steps, eigenpairs) of the full run.
FULL = (3, 64, 32, 400, 64)
#: (subdivisions, train samples, test samples, steps, eigenpairs) of the quick run.
QUICK = (2, 8, 8, 20, 32)
#: Adam steps of the full run.
STEPS = FULL[3]
#: Samples per step.
BATCH = 8
#: Adam learning rate of every model.
LEARNING_RATE = 3e-3


@dataclass(frozen=True)
class VertexFrames:
    """Extrinsic tangent bases and the map between extrinsic and intrinsic (frame) angles.

    Attributes:
        normal: (N, 3) unit normals.
        e1: (N, 3) the first spoke projected to the tangent plane, normalised.
        e2: (N, 3) ``n × e1``.
        psi: (N, D + 1) extrinsic spoke angles, padded with 2π.
        phi: (N, D + 1) intrinsic spoke angles, padded with 2π.
    """

    normal: torch.Tensor
    e1: torch.Tensor
    e2: torch.Tensor
    psi: torch.Tensor
    phi: torch.Tensor

    @classmethod
    def of(cls, mesh: TriangleMesh, positions: torch.Tensor, normal: torch.Tensor, gauge):
        """The frames of ``mesh`` embedded at ``positions`` with normals ``normal``."""
        rings = mesh.vertex_rings
        centre, neighbour = rings.spoke_vertex, rings.spoke_neighbour
        d = positions[neighbour] - positions[centre]
        d = d - (d * normal[centre]).sum(-1, keepdim=True) * normal[centre]  # tangential
        first = rings.spoke_start[:-1]
        e1 = d[first] / d[first].norm(dim=-1, keepdim=True)
        e2 = torch.cross(normal, e1, dim=-1)
        psi = torch.atan2((d * e2[centre]).sum(-1), (d * e1[centre]).sum(-1)) % (2 * math.pi)
        psi[first] = 0.0
        rank = torch.arange(len(centre)) - rings.spoke_start[centre]
        degree = int((rings.spoke_start[1:] - first).max())
        table = torch.full((2, mesh.num_vertices, degree + 1), 2 * math.pi, dtype=positions.dtype)
        table[0, centre, rank] = psi
        table[1, centre, rank] = gauge.log_angle.detach().to(positions.dtype)
        if bool((table[0].diff(dim=1) < 0).any()):
            raise ValueError("expected counter-clockwise spokes around the outward normals")
        return cls(normal, e1, e2, table[0], table[1])

    @staticmethod
    def _interpolate(angle, source, target):
        """Piecewise-linear ``source → target`` per vertex; ``angle`` (B, N) in [0, 2π)."""
        values = angle.T.contiguous()  # (N, B)
        r = torch.searchsorted(source, values, right=True) - 1
        r = r.clamp(0, source.shape[1] - 2)
        s0, s1 = source.gather(1, r), source.gather(1, r + 1)
        t0, t1 = target.gather(1, r), target.gather(1, r + 1)
        return (t0 + (values - s0) * (t1 - t0) / (s1 - s0).clamp_min(1e-12)).T

    def to_frame(self, vectors: torch.Tensor) -> torch.Tensor:
        """3D tangent vectors (B, N, 3) → frame coordinates (B, N, 2), lengths kept."""
        x, y = (vectors * self.e1).sum(-1), (vectors * self.e2).sum(-1)
        alpha = torch.atan2(y, x) % (2 * math.pi)
        phi = self._interpolate(alpha, self.psi, self.phi)
        r = torch.hypot(x, y)
        return torch.stack([r * phi.cos(), r * phi.sin()], -1)

    def to_3d(self, coordinates: torch.Tensor) -> torch.Tensor:
        """Frame coordinates (B, N, 2) → 3D tangent vectors (B, N, 3)."""
        phi = torch.atan2(coordinates[..., 1], coordinates[..., 0]) % (2 * math.pi)
        alpha = self._interpolate(phi, self.phi, self.psi).unsqueeze(-1)
        r = coordinates.norm(dim=-1, keepdim=True)
        return r * (alpha.cos() * self.e1 + alpha.sin() * self.e2)


def polynomial_signals(positions: torch.Tensor, count: int, generator: torch.Generator):
    """``count`` random cubic polynomials ``u`` of the coordinates and their surface gradients.

    Each ``u`` is normalised to unit variance over the vertices; the normals
    are ``x / |x|`` (the unit sphere).

    Shapes:
        positions: (N, 3); returns u (B, N) and grad (B, N, 3).
    """
    exponents = [e for e in itertools.product(range(4), repeat=3) if 0 < sum(e) <= 3]
    powers = torch.tensor(exponents, dtype=positions.dtype)  # (M, 3)
    coefficients = torch.randn(count, len(exponents), generator=generator, dtype=positions.dtype)
    x = positions.detach().clone().requires_grad_()
    monomials = (x.unsqueeze(1) ** powers).prod(-1)  # (N, M)
    u = coefficients @ monomials.T  # (B, N)
    grads = torch.stack([torch.autograd.grad(row.sum(), x, retain_graph=True)[0] for row in u])
    normal = positions / positions.norm(dim=-1, keepdim=True)
    tangential = grads - (grads * normal).sum(-1, keepdim=True) * normal
    scale = u.detach().std(dim=1, keepdim=True)
    return (u / scale).detach(), (tangential / scale.unsqueeze(-1)).detach()


def batched_gauge(gauge: MeshGauge, copies: int) -> MeshGauge:
    """``copies`` disjoint copies of one mesh's gauge (vertices of copy ``b`` offset by ``b N``)."""
    n, s = gauge.num_vertices, gauge.edge_index.shape[1]
    offsets = (torch.arange(copies, device=gauge.edge_index.device) * n).repeat_interleave(s)
    return MeshGauge(
        edge_index=gauge.edge_index.repeat(1, copies) + offsets,
        radius=gauge.radius.repeat(copies),
        log_angle=gauge.log_angle.repeat(copies),
        transport=gauge.transport.repeat(copies),
        num_vertices=n * copies,
    )


def _gem(positions, mesh, frames, gauge, k_eig):
    with torch.random.fork_rng(devices=[]):  # seeded weights, the global generator untouched
        torch.manual_seed(0)
        model = GEMCNN(
            SO2Irreps((1,)), SO2Irreps((0, 1)), SO2Irreps.regular(8, 2), 4, "regular", 16
        )
    cache = {}

    def predict(u):  # (B, N) -> 3D (B, N, 3)
        b, n = u.shape
        if b not in cache:
            cache[b] = batched_gauge(gauge, b)
        out = model(u.reshape(-1, 1), *cache[b].layer_inputs())
        return out.reshape(b, n, 2)

    def loss(u, target):
        return (predict(u) - frames.to_frame(target)).square().sum(-1).mean()

    def evaluate(u, positions, frames):  # intrinsic: the embedding enters only through frames
        return frames.to_3d(predict(u))

    return model, loss, evaluate


def _extrinsic(model_fn, frames, positions):
    def evaluate(u, positions, frames):
        xyz = positions.expand(u.shape[0], -1, -1)
        out = model_fn(torch.cat([u.unsqueeze(-1), xyz], -1))  # inputs (B, N, 4)
        n = frames.normal
        return out - (out * n).sum(-1, keepdim=True) * n

    def loss(u, target):
        return (evaluate(u, positions, frames) - target).square().sum(-1).mean()

    return loss, evaluate


def _diffusionnet(positions, mesh, frames, gauge, k_eig):
    from gdl_zoo import zoo
    from gdl_zoo.meshes.operators import MeshOperators

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = zoo.get("mesh_diffusionnet").build(
            in_channels=4, out_channels=3, width=32, num_blocks=4, mode="spectral", k_eig=k_eig
        )
    ops = MeshOperators.from_positions(mesh, positions.to(torch.float64), k_eig=k_eig)
    ops = MeshOperators(**{f: _float32(getattr(ops, f)) for f in ops.__dataclass_fields__})
    loss, evaluate = _extrinsic(lambda x: model.forward_operators(x, ops), frames, positions)
    return model, loss, evaluate


def _gcn(positions, mesh, frames, gauge, k_eig):
    from gdl_zoo.graphs.adjacency import gcn_normalized_adjacency
    from gdl_zoo.graphs.gcn import GCN

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GCN(4, 64, 3, num_layers=4, dropout=0.0)
    cache = {}

    def run(x):  # (B, N, 4) -> (B, N, 3) on B disjoint copies of the mesh graph
        b, n, _ = x.shape
        if b not in cache:
            g = batched_gauge(gauge, b).edge_index
            cache[b] = (g, gcn_normalized_adjacency(g, b * n, x.dtype))
        g, adjacency = cache[b]
        return model(x.reshape(b * n, -1), g, adjacency=adjacency).reshape(b, n, -1)

    loss, evaluate = _extrinsic(run, frames, positions)
    return model, loss, evaluate


def _float32(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(torch.float32)
    return value


#: The compared models: name -> builder(positions, mesh, frames, gauge, k_eig).
MODELS = {"gem_cnn": _gem, "mesh_diffusionnet": _diffusionnet, "gcn": _gcn}


def orientation_task(context: BenchContext) -> list[Record]:
    """Test relative error of the regressed gradient field: gem_cnn vs DiffusionNet vs GCN."""
    with torch_threads(1):
        return _orientation_task(context)


def _orientation_task(context: BenchContext) -> list[Record]:
    subdivisions, n_train, n_test, steps, k_eig = QUICK if context.quick else FULL
    positions, mesh = icosphere(subdivisions, dtype=torch.float64)
    gauge64 = mesh_gauge(mesh, edge_lengths(mesh, positions))
    normal = positions / positions.norm(dim=-1, keepdim=True)
    frames = VertexFrames.of(mesh, positions, normal, gauge64)
    gen = context.generator()
    u_train, g_train = polynomial_signals(positions, n_train, gen)
    u_test, g_test = polynomial_signals(positions, n_test, gen)
    f32 = torch.float32
    frames = VertexFrames(*(t.to(f32) for t in (frames.normal, frames.e1, frames.e2,
                                                frames.psi, frames.phi)))  # fmt: skip
    gauge = MeshGauge(gauge64.edge_index, gauge64.radius.to(f32), gauge64.log_angle.to(f32),
                      gauge64.transport.to(f32), gauge64.num_vertices)  # fmt: skip
    pos32 = positions.to(f32)
    u_train, g_train, u_test, g_test = (t.to(f32) for t in (u_train, g_train, u_test, g_test))
    order = torch.randint(0, n_train, (steps, BATCH), generator=gen)
    rot = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))[0]
    rot = (rot * torch.sign(torch.det(rot))).to(f32)  # a rotation of the embedding
    rotated = VertexFrames(frames.normal @ rot.T, frames.e1 @ rot.T, frames.e2 @ rot.T,
                           frames.psi, frames.phi)  # fmt: skip
    task = {"mesh": f"unit icosphere ({subdivisions} subdivisions)",
            "vertices": mesh.num_vertices, "train_samples": n_train, "test_samples": n_test,
            "steps": steps, "batch": BATCH, "learning_rate": LEARNING_RATE,
            "target": "surface gradient of a random cubic polynomial (unit variance)"}  # fmt: skip
    records = []
    for name, build in MODELS.items():
        model, loss, evaluate = build(pos32, mesh, frames, gauge, k_eig)
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        start = time.perf_counter()
        for batch in order:
            optimizer.zero_grad(set_to_none=True)
            value = loss(u_train[batch], g_train[batch])
            value.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            error = _relative_error(evaluate(u_test, pos32, frames), g_test)
            train = _relative_error(evaluate(u_train, pos32, frames), g_train)
            turned = _relative_error(evaluate(u_test, pos32 @ rot.T, rotated), g_test @ rot.T)
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        details = {"train_relative_error": float(train), "train_s": seconds,
                   "parameters": params, "final_loss": float(value.detach()),
                   "inputs": "u" if name == "gem_cnn" else "u, x, y, z", **task}  # fmt: skip
        records += [
            Record(name, "test relative error of the gradient field", float(error), "ratio",
                   None, details),
            Record(name, "test relative error, embedding rotated at test time", float(turned),
                   "ratio", None, {"rotation": "Haar-random SO(3), seeded", **details}),
        ]  # fmt: skip
    return records


def _relative_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (prediction - target).square().sum() / target.square().sum()
