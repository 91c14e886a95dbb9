"""Point clouds as graphs: edges, safe edge geometry, radial bases, and energy models.

The E(3) models of the zoo (:mod:`~gdl_zoo.groups.egnn`,
:mod:`~gdl_zoo.groups.tfn`, :mod:`~gdl_zoo.groups.se3_transformer`) share one
input convention, that of PyTorch Geometric's batched point clouds::

    positions (N, 3)   floating point, the points x_i ∈ R³ of all clouds
    features  (N, F)   floating point, per-point features (e.g. one-hot species)
    batch     (N,)     long, which cloud each point belongs to (None: one cloud)

Edges ``j → i`` join points of the same cloud, all pairs (fully connected) or
those closer than a cutoff; ``edge_index[0]`` holds the sources ``j`` and
``edge_index[1]`` the targets ``i``.  Graph construction and every function of
the positions here are torch operations, vectorised over the batch, and safe
at coincident points: lengths and directions of zero vectors are zero with
finite gradients, never NaN.

:class:`AtomicEnergyModel` turns node energies into an invariant energy per
cloud and the forces ``F = −∂E/∂x`` (Batzner et al. 2022, NequIP), which rotate
with the cloud and ignore translations.

Shapes:
    N: points (atoms) over the whole batch.
    B: point clouds (molecules) in the batch.
    E: directed edges.
    F: input features per point.
    K: radial basis functions.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable

import torch
from torch import nn

from gdl_zoo._data_dependent import check_under_export, data_dependent_int
from gdl_zoo._validation import check_device, check_floating, check_positive_int

__all__ = [
    "check_point_cloud",
    "check_cutoff",
    "random_point_clouds",
    "radius_graph",
    "gather_rows",
    "scatter_sum",
    "energy_and_forces",
    "edge_vectors",
    "safe_norm",
    "safe_unit",
    "BesselBasis",
    "polynomial_envelope",
    "AtomicEnergyModel",
    "PotentialEnergy",
]


def check_point_cloud(
    positions: torch.Tensor,
    features: torch.Tensor,
    batch: torch.Tensor | None,
    num_features: int,
    num_graphs: int | None = None,
    like: torch.Tensor | nn.Module | None = None,
) -> tuple[torch.Tensor, int]:
    """Validate a batched point cloud; return ``batch`` (zeros when ``None``) and ``B``.

    Args:
        positions: the points.
        features: their features, ``num_features`` per point, same dtype as positions.
        batch: cloud index of each point, or ``None`` for a single cloud.
        num_features: ``F``.
        num_graphs: ``B``; by default ``batch.max() + 1`` (``0`` for an empty
            ``batch``, ``1`` when ``batch`` is ``None``).
        like: the model (or a tensor) whose device and dtype positions and
            features must have; see :func:`gdl_zoo._validation.check_like`.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, F)``; batch: ``(N,)``.

    Raises:
        TypeError: non-tensors, non-floating positions/features, mismatched
            dtypes (with each other or ``like``), a non-integer ``batch``.
        ValueError: another device than ``like``, wrong shapes, non-finite
            values, negative or too large cloud indices.
    """
    check_floating(positions, "positions", like)
    check_floating(features, "features", like)
    if positions.dim() != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions: expected shape (N, 3), got {tuple(positions.shape)}")
    n = positions.shape[0]
    if features.dim() != 2 or features.shape != (n, num_features):
        raise ValueError(
            f"features: expected shape (N, F) = ({n}, {num_features}), got {tuple(features.shape)}"
        )
    if features.dtype != positions.dtype:
        raise TypeError(
            f"features: expected the dtype of positions ({positions.dtype}), got {features.dtype}"
        )
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=positions.device)
        default_graphs = 1
    else:
        if not isinstance(batch, torch.Tensor) or batch.dtype != torch.long:
            got = batch.dtype if isinstance(batch, torch.Tensor) else type(batch).__name__
            raise TypeError(f"batch: expected a torch.long tensor, got {got}")
        check_device(batch, "batch", positions.device, "positions")
        if batch.shape != (n,):
            raise ValueError(f"batch: expected shape (N,) = ({n},), got {tuple(batch.shape)}")
        if torch.compiler.is_exporting():  # the checks become the program's runtime asserts
            check_under_export(batch >= 0, "batch: expected non-negative cloud indices")
            default_graphs = None  # read from the data below, where it is needed
        else:
            default_graphs = int(batch.max()) + 1 if n else 0
            if n and not torch.compiler.is_compiling() and int(batch.min()) < 0:  # eager only
                raise ValueError(
                    f"batch: expected non-negative cloud indices, got {int(batch.min())}"
                )
    if num_graphs is None:
        if default_graphs is None:  # export: B, an unbacked size that the program reads
            default_graphs = data_dependent_int(batch.max(), minimum=0) + 1 if n else 0
        return batch, default_graphs
    if isinstance(num_graphs, bool) or not isinstance(num_graphs, int) or num_graphs < 0:
        raise ValueError(f"num_graphs: expected a non-negative integer, got {num_graphs!r}")
    if default_graphs is None:
        check_under_export(batch < num_graphs, "batch: expected cloud indices below num_graphs")
    elif num_graphs < default_graphs and n:
        raise ValueError(
            f"num_graphs: expected at least batch.max() + 1 = {default_graphs}, got {num_graphs}"
        )
    return batch, num_graphs


def random_point_clouds(
    batch_size: int,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
    num_features: int = 4,
    sizes: tuple[int, ...] = (5, 6, 7),
    scale: float = 1.5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of random point clouds ``(positions, features, batch)``: example inputs.

    Cloud ``b`` has ``sizes[b % len(sizes)]`` points with Gaussian coordinates
    of standard deviation ``scale`` and Gaussian (invariant) features, so no
    symmetry of the input hides an error from the harness.

    Args:
        batch_size: ``B``.
        dtype: of positions and features.
        generator: the random source (reproducible inputs).
        num_features: ``F``.
        sizes: points per cloud, cycled.
        scale: spread of the coordinates.

    Shapes:
        output: ``positions (N, 3)``, ``features (N, F)``, ``batch (N,)``.
    """
    check_positive_int(batch_size, "batch_size")
    counts = torch.tensor([sizes[b % len(sizes)] for b in range(batch_size)])
    n = int(counts.sum())
    positions = scale * torch.randn(n, 3, generator=generator, dtype=dtype)
    features = torch.randn(n, num_features, generator=generator, dtype=dtype)
    return positions, features, torch.repeat_interleave(torch.arange(batch_size), counts)


def radius_graph(
    positions: torch.Tensor, batch: torch.Tensor, cutoff: float | None = None
) -> torch.Tensor:
    """All edges ``j → i`` (``i ≠ j``) within one cloud and, if given, closer than ``cutoff``.

    A dense, vectorised construction (an ``N × N`` mask, no Python loop, no
    torch_cluster): ``|x_i − x_j| < cutoff`` is computed by direct differences
    (``torch.cdist`` without the matrix-product shortcut, so it is accurate for
    far-from-origin clouds) under ``no_grad``; the edges carry no gradient, the
    geometry computed from them (:func:`edge_vectors`) does.  Memory is
    ``O(N²)``: suited to molecules and batches of up to a few thousand points.

    Args:
        positions: the points.
        batch: the cloud index of each point.
        cutoff: the radius; ``None`` connects every pair of a cloud.

    Shapes:
        positions: ``(N, 3)``; batch: ``(N,)``; output ``edge_index``: ``(2, E)``,
        rows (source ``j``, target ``i``), sorted by target.
    """
    with torch.no_grad():
        point = torch.arange(batch.shape[0], device=batch.device)  # not fill_diagonal_,
        # which torch.export specialises to the example's N
        mask = (batch[:, None] == batch[None, :]) & (point[:, None] != point[None, :])
        if cutoff is not None and positions.shape[0]:
            distances = torch.cdist(
                positions, positions, compute_mode="donot_use_mm_for_euclid_dist"
            )
            mask &= distances < cutoff
        target, source = mask.nonzero(as_tuple=True)
    return torch.stack([source, target])


def _rows_index(index: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``index (E,)`` broadcast over the trailing axes of ``like``: a view, no copy."""
    return index.view(-1, *([1] * (like.dim() - 1))).expand(index.shape[0], *like.shape[1:])


def gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The rows ``x[index]`` (e.g. node features at the sources of edges), by ``torch.gather``.

    Equal to ``x[index]`` in values and gradients; written with ``gather`` so that
    its gradient is a ``scatter_add`` (:func:`scatter_sum`), not the accumulating
    ``index_put`` of ``x[index]``.  That matters under torch 2.13's inductor on the
    CPU: in a 2-D tiled vectorised kernel (a backward that fuses the scatter with
    a reduction over channels) inductor adds the tile offset twice to the index of
    the generated atomic add, which writes past the end of the output (wrong
    gradients, a corrupted heap); ``scatter_add`` runs ATen's kernel there instead.

    Shapes:
        x: ``(N, ...)``; index: ``(E,)`` with entries in ``[0, N)``; output: ``(E, ...)``.
    """
    return x.gather(0, _rows_index(index, x))


def scatter_sum(values: torch.Tensor, index: torch.Tensor, num_rows: int) -> torch.Tensor:
    """``out[n] = Σ_{e : index_e = n} values[e]``: sums of rows into ``num_rows`` rows.

    Equal to ``values.new_zeros(num_rows, ...).index_add(0, index, values)``, by
    ``scatter_add`` for the reason given in :func:`gather_rows`; its gradient is a
    :func:`gather_rows`, so derivatives of every order stay in these two operations.

    Shapes:
        values: ``(E, ...)``; index: ``(E,)`` with entries in ``[0, num_rows)``;
        output: ``(num_rows, ...)``.
    """
    out = values.new_zeros(num_rows, *values.shape[1:])
    return out.scatter_add(0, _rows_index(index, values), values)


def safe_norm(vectors: torch.Tensor) -> torch.Tensor:
    """``|v|`` along the last axis, with the gradient ``0`` (not NaN) at ``v = 0``.

    ``sqrt`` is evaluated only where ``|v|² > 0`` (the "double where" trick),
    so coincident points neither produce NaN nor poison gradients.

    Shapes:
        vectors: ``(..., 3)``; output: ``(...)``.
    """
    squared = (vectors * vectors).sum(-1)
    positive = squared > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, squared, 1.0)), 0.0)


def safe_unit(vectors: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``v / |v|``, and ``0`` for ``v = 0`` (finite values and gradients).

    Shapes:
        vectors: ``(..., 3)``; lengths: ``(...)`` from :func:`safe_norm`; output ``(..., 3)``.
    """
    return vectors / torch.where(lengths > 0, lengths, 1.0)[..., None]


def edge_vectors(
    positions: torch.Tensor, edge_index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The relative positions ``r_ij = x_j − x_i`` of each edge ``j → i`` and their lengths.

    Shapes:
        positions: ``(N, 3)``; edge_index: ``(2, E)``; output: ``(E, 3)`` and ``(E,)``.
    """
    source, target = edge_index
    vectors = gather_rows(positions, source) - gather_rows(positions, target)
    return vectors, safe_norm(vectors)


def polynomial_envelope(lengths: torch.Tensor, cutoff: float, p: int = 6) -> torch.Tensor:
    """A smooth cutoff ``u(r)``: ``1`` at ``r = 0``, ``0`` with flat derivatives at the cutoff.

    Klicpera, Groß & Günnemann, "Directional Message Passing for Molecular
    Graphs" (DimeNet), ICLR 2020, Eq. 8; with ``d = r / r_c``::

        u(d) = 1 − (p+1)(p+2)/2 · d^p + p(p+2) · d^{p+1} − p(p+1)/2 · d^{p+2}   (d < 1)
        u(d) = 0                                                          (d ≥ 1)

    Multiplying edge messages by ``u`` makes a model continuous when atoms cross the cutoff.

    Shapes:
        lengths: ``(E,)``; output: ``(E,)``.
    """
    d = lengths / cutoff
    u = (
        1.0
        - (p + 1) * (p + 2) / 2 * d**p
        + p * (p + 2) * d ** (p + 1)
        - p * (p + 1) / 2 * d ** (p + 2)
    )
    return torch.where(d < 1, u, 0.0)


def _sinc(x: torch.Tensor) -> torch.Tensor:
    """``sin(πx)/(πx)`` with finite derivatives of every order at ``x = 0``.

    ``torch.sinc`` is finite at ``0`` but its second derivative is NaN there,
    which breaks training on forces (a gradient of a gradient) when points
    coincide.  Below ``|x| = 1e-3`` the Taylor polynomial ``1 − (πx)²/6 + (πx)⁴/120``
    (error < 1e-18) is used instead, on a "double where" so neither branch yields NaN.
    """
    small = x.abs() < 1e-3
    y = torch.pi * torch.where(small, 1.0, x)
    z2 = (torch.pi * torch.where(small, x, 0.0)) ** 2
    return torch.where(small, 1.0 - z2 / 6.0 + z2 * z2 / 120.0, torch.sin(y) / y)


class BesselBasis(nn.Module):
    """The radial Bessel basis of DimeNet and NequIP, finite at ``r = 0``.

    Klicpera et al., ICLR 2020, Eq. 7; Batzner et al. 2022::

        B_n(r) = √(2/r_c) · sin(nπ r / r_c) / r,   n = 1 … K

    evaluated as ``√(2/r_c) · (nπ/r_c) · sinc(n r / r_c)`` so that coincident
    points (``r = 0``) give the finite limit and finite derivatives of every order.  Frequencies
    ``nπ`` are fixed (not trained) so the basis is a pure function of ``r``.

    Args:
        num_basis: ``K``.
        cutoff: ``r_c``.

    Shapes:
        lengths: ``(E,)``; output: ``(E, K)``.
    """

    def __init__(self, num_basis: int, cutoff: float):
        super().__init__()
        self.num_basis = check_positive_int(num_basis, "num_basis")
        self.cutoff = check_cutoff(cutoff)
        self.register_buffer("n", torch.arange(1, num_basis + 1, dtype=torch.float32))

    def forward(self, lengths: torch.Tensor) -> torch.Tensor:
        n = self.n.to(lengths.dtype)
        scale = math.sqrt(2.0 / self.cutoff) * math.pi / self.cutoff
        return scale * n * _sinc(n * lengths[:, None] / self.cutoff)

    def extra_repr(self) -> str:
        return f"num_basis={self.num_basis}, cutoff={self.cutoff}"


def check_cutoff(cutoff: float | None, allow_none: bool = False) -> float | None:
    """Require a positive cutoff radius (or ``None`` if ``allow_none``); return it as a float."""
    if cutoff is None and allow_none:
        return None
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not cutoff > 0:
        expected = "a positive number or None" if allow_none else "a positive number"
        raise ValueError(f"cutoff: expected {expected}, got {cutoff!r}")
    return float(cutoff)


class AtomicEnergyModel(nn.Module, abc.ABC):
    """An invariant energy as a sum of atomic energies; forces as its negative gradient.

    Behler & Parrinello, PRL 98, 146401 (2007); Batzner et al., "E(3)-equivariant
    graph neural networks for data-efficient and accurate interatomic
    potentials" (NequIP), Nat. Commun. 13, 2453 (2022)::

        E_b = Σ_{i : batch_i = b} ε_i(x, f),      F_i = −∂(Σ_b E_b)/∂x_i

    If every ``ε_i`` is E(3)-invariant, ``E`` is invariant and ``F`` rotates
    with the cloud (``F(Qx + t) = F(x) Qᵀ``).  Forces are computed in
    ``forward`` with ``torch.autograd.grad`` under ``torch.enable_grad()``, so
    they exist even when the caller runs under ``torch.no_grad()`` (outputs are
    then detached); ``create_graph`` is on in training mode (when gradients are
    enabled) so that a force loss trains the parameters.

    Subclasses implement :meth:`node_energies` on a graph built by
    :func:`radius_graph` with :attr:`cutoff`.  ``forward(positions, features,
    batch=None, num_graphs=None)`` returns one energy per cloud; ``num_graphs``
    fixes ``B`` (clouds without points get energy ``0``).

    Args:
        in_features: ``F``, the feature width :meth:`forward` expects.
        cutoff: the graph radius; ``None``: fully connected within each cloud.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, F)``; batch: ``(N,)`` or ``None``.
        output: ``(energy (B,), forces (N, 3))``.
    """

    def __init__(self, in_features: int, cutoff: float | None):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.cutoff = check_cutoff(cutoff, allow_none=True)

    @abc.abstractmethod
    def node_energies(
        self, positions: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        """The atomic energies ``ε_i``: ``(N, 3), (N, F), (2, E) -> (N,)``."""

    def forward(
        self,
        positions: torch.Tensor,
        features: torch.Tensor,
        batch: torch.Tensor | None = None,
        num_graphs: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, num_graphs = check_point_cloud(
            positions, features, batch, self.in_features, num_graphs, like=self
        )
        grad_enabled = torch.is_grad_enabled()
        with torch.enable_grad():
            if not positions.requires_grad:
                positions = positions.detach().requires_grad_()
            # the lines of energy(), inline: a nested frame costs torch.compile a graph break
            edge_index = radius_graph(positions, batch, self.cutoff)
            node_energy = self.node_energies(positions, features, edge_index)
            energy = scatter_sum(node_energy, batch, num_graphs)
            if energy.requires_grad:
                (gradient,) = torch.autograd.grad(
                    energy.sum(),
                    positions,
                    create_graph=self.training and grad_enabled,
                    allow_unused=True,
                    materialize_grads=True,
                )
            else:  # no parameter and no position reaches the energy (e.g. frozen, no edges)
                gradient = torch.zeros_like(positions)
        forces = -gradient
        if not grad_enabled:
            return energy.detach(), forces.detach()
        return energy, forces

    def energy(
        self,
        positions: torch.Tensor,
        features: torch.Tensor,
        batch: torch.Tensor | None = None,
        num_graphs: int | None = None,
    ) -> torch.Tensor:
        """The energy per cloud alone, ``E_b``, without forces: ``(N, 3), (N, F), (N,) -> (B,)``.

        Equal to ``forward(...)[0]``; differentiable in ``positions`` by the
        caller's own autograd.  :class:`PotentialEnergy` exports it.
        """
        batch, num_graphs = check_point_cloud(
            positions, features, batch, self.in_features, num_graphs, like=self
        )
        edge_index = radius_graph(positions, batch, self.cutoff)
        return scatter_sum(self.node_energies(positions, features, edge_index), batch, num_graphs)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, cutoff={self.cutoff}"


class PotentialEnergy(nn.Module):
    """The energy ``E(x, f)`` of an :class:`AtomicEnergyModel`, forces left to the caller.

    The form in which ``torch.export`` deploys a force field.  torch 2.13 cannot
    export a ``forward`` that calls ``torch.autograd.grad``: non-strict export
    fails ("a fake tensor in the exported program constant's list"), strict export
    refuses ``autograd.grad`` and, allowed to trace it, bakes the example's saved
    activations into the program as constants; ``torch.func.vjp`` fails in both
    modes.  The exported energy program is made of differentiable ATen operations,
    so the forces are its gradient, taken at run time::

        program = torch.export.export(PotentialEnergy(model.eval()), (x, f, batch))
        x = x.detach().requires_grad_()
        energy = program.module()(x, f, batch)
        forces = -torch.autograd.grad(energy.sum(), x)[0]

    The number of clouds ``B`` and of edges ``E`` are read from each input by the
    program (unbacked sizes), so it serves other batches and other coordinates; the
    number of points ``N`` may be exported as a dynamic dimension.  An exported
    SE(3)-Transformer needs at least one pair of neighbours in a batch (``E ≥ 2``,
    a runtime assertion of its program), where eager also takes a batch without edges.

    Args:
        model: the force field.

    Shapes:
        positions: ``(N, 3)``; features: ``(N, F)``; batch: ``(N,)`` or ``None``.
        output: ``energy (B,)``.
    """

    def __init__(self, model: AtomicEnergyModel):
        super().__init__()
        if not isinstance(model, AtomicEnergyModel):
            raise TypeError(f"model: expected an AtomicEnergyModel, got {type(model).__name__}")
        self.model = model

    def forward(
        self,
        positions: torch.Tensor,
        features: torch.Tensor,
        batch: torch.Tensor | None = None,
        num_graphs: int | None = None,
    ) -> torch.Tensor:
        return self.model.energy(positions, features, batch, num_graphs)


def energy_and_forces(
    energy: Callable[..., torch.Tensor],
) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """A force field's ``(E, F)`` from its energy alone, e.g. an exported :class:`PotentialEnergy`.

    ``F = −∂(Σ_b E_b)/∂x`` is taken by autograd through ``energy``, as
    :meth:`AtomicEnergyModel.forward` takes it; the outputs are detached (an
    inference deployment).  This is the ``deploy`` step of the force-field cards'
    ``export_form``: ``energy_and_forces(program.module())`` equals the model.

    Args:
        energy: ``energy(positions, features, batch) -> (B,)``, differentiable in
            ``positions``.

    Returns:
        ``run(positions, features, batch=None) -> (energy (B,), forces (N, 3))``.
    """

    def run(
        positions: torch.Tensor, features: torch.Tensor, batch: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            positions = positions.detach().requires_grad_()
            value = energy(positions, features, batch)
            (gradient,) = torch.autograd.grad(
                value.sum(), positions, allow_unused=True, materialize_grads=True
            )
        return value.detach(), -gradient

    return run
