"""Heat diffusion on a surface with learned times, spatial gradient features, DiffusionNet blocks.

Reference: Sharp, Attaiki, Crane & Ovsjanikov 2022, *DiffusionNet:
discretization agnostic learning on surfaces*, ACM TOG 41(3).

Diffusion of a signal ``x`` for time ``t`` by one backward Euler step (implicit)
or in a truncated eigenbasis (spectral)::

    implicit:  (M + t L) y = M x
    spectral:  y = Φ diag(e^{−λ t}) Φᵀ M x

Both depend on the surface only through its metric, so every layer here is
invariant to isometries of the embedding; the implicit mode is differentiable
with respect to ``x``, ``t`` and the edge lengths (one adjoint solve), the
spectral one with respect to ``x`` and ``t`` only (its eigenbasis is computed
on detached values, so the mass is detached there too: no partial gradient
reaches the lengths).  With all eigenpairs the two agree to ``O(t²λ²)``:
implicit is ``Φ diag(1/(1 + λt)) Φᵀ M x``.

The heat kernel signature (Sun, Ovsjanikov & Guibas 2009) is the intrinsic
vertex descriptor ``HKS_t(i) = Σ_k e^{−λ_k t} φ_k(i)²``.

Shapes:
    N: vertices.
    C: channels.
    k: eigenpairs.
    T: diffusion times of a heat kernel signature.
    *: leading batch shape of a signal on a shared mesh (features ``(*, N, C)``).
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._eager_regions import eager_under_compile
from gdl_zoo._validation import check_floating, check_positive_int
from gdl_zoo.meshes.fixed_operators import FixedMeshOperators
from gdl_zoo.meshes.geometry import vertex_gradient
from gdl_zoo.meshes.operators import MeshOperators
from gdl_zoo.meshes.sparse import Factorization

__all__ = [
    "implicit_diffusion",
    "spectral_diffusion",
    "heat_kernel_signature",
    "LearnedTimeDiffusion",
    "SpatialGradientFeatures",
    "DiffusionBlock",
]


def _check_signal(
    ops: MeshOperators | FixedMeshOperators,
    x: torch.Tensor,
    channels: int | None = None,
    like: nn.Module | None = None,
) -> torch.Tensor:
    if not isinstance(ops, (MeshOperators, FixedMeshOperators)):
        raise TypeError(
            f"ops: expected MeshOperators or FixedMeshOperators, got {type(ops).__name__}"
        )
    check_floating(x, "x", like)
    c = "C" if channels is None else channels
    if (
        x.dim() < 2
        or x.shape[-2] != ops.num_vertices
        or (channels is not None and x.shape[-1] != channels)
    ):
        raise ValueError(f"x: expected shape (*, {ops.num_vertices}, {c}), got {tuple(x.shape)}")
    return x


def _times(t, channels: int, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        t = t.expand(channels)
    if t.shape != (channels,):
        raise ValueError(f"t: expected a scalar or shape ({channels},), got {tuple(t.shape)}")
    if not bool((t.detach() >= 0).all()):
        raise ValueError(f"t: expected non-negative diffusion times, got {t.detach().tolist()}")
    return t


@eager_under_compile  # SciPy factorisations: one eager step, not a dozen graph fragments
def implicit_diffusion(ops: MeshOperators, x: torch.Tensor, t) -> torch.Tensor:
    """One backward Euler step of the heat equation per channel: ``(M + t_c L) y_c = M x_c``.

    One sparse LU factorisation per channel (shared across the batch), solved
    by :class:`~gdl_zoo.meshes.sparse.Factorization`: gradients reach ``x``,
    ``t`` and, through ``ops``, the edge lengths by the adjoint solve.  Under
    ``torch.compile`` it runs eagerly (a graph break between two graphs).

    Args:
        ops: the operators of the metric.
        x: the signal.
        t: a scalar time or one per channel.

    Shapes:
        x: (*, N, C); t: () or (C,); returns (*, N, C).
    """
    _check_signal(ops, x)
    c = x.shape[-1]
    t = _times(t, c, x)
    mass = ops.mass.to(x.dtype)
    mass_values = ops.pattern.symmetric_values(mass, mass.new_zeros(ops.mesh.num_edges))
    lap = ops.laplacian.to(x.dtype)
    rhs = (x * mass.unsqueeze(-1)).movedim(-2, 0)  # (N, *, C)
    out = []
    for channel in range(c):
        fac = Factorization(ops.pattern, mass_values + t[channel] * lap)
        out.append(fac.solve(rhs[..., channel]))
    return torch.stack(out, -1).movedim(0, -2)


def spectral_diffusion(ops: MeshOperators, x: torch.Tensor, t) -> torch.Tensor:
    """Diffusion in the truncated eigenbasis: ``y = Φ diag(e^{−λ t_c}) Φᵀ M x_c``.

    Args:
        ops: operators built with ``k_eig > 0``.
        x: the signal.
        t: a scalar time or one per channel.

    Shapes:
        x: (*, N, C); t: () or (C,); returns (*, N, C).
    """
    _check_signal(ops, x)
    if ops.eigenvectors is None:
        raise ValueError("spectral diffusion needs MeshOperators built with k_eig > 0")
    t = _times(t, x.shape[-1], x)
    phi = ops.eigenvectors.to(x.dtype)  # (N, k)
    lam = ops.eigenvalues.to(x.dtype)
    mass = ops.mass.detach().to(x.dtype)  # the eigenbasis carries no gradient either
    coeff = torch.einsum("nk,...nc->...kc", phi * mass.unsqueeze(-1), x)
    decay = torch.exp(-lam.unsqueeze(-1) * t)  # (k, C)
    return torch.einsum("nk,...kc->...nc", phi, coeff * decay)


def heat_kernel_signature(ops: MeshOperators, times) -> torch.Tensor:
    """The heat kernel signature ``HKS_t(i) = Σ_k e^{−λ_k t} φ_k(i)²`` at each vertex.

    Reference: Sun, Ovsjanikov & Guibas 2009, *A concise and provably
    informative multi-scale signature based on heat diffusion*.  It depends
    on the metric only (an isometry-invariant input feature for the
    intrinsic models); truncated to the ``k`` eigenpairs of ``ops``.

    Args:
        ops: operators built with ``k_eig > 0``.
        times: positive diffusion times.

    Shapes:
        times: (T,); returns (N, T).
    """
    if not isinstance(ops, MeshOperators):
        raise TypeError(f"ops: expected MeshOperators, got {type(ops).__name__}")
    if ops.eigenvectors is None:
        raise ValueError("the heat kernel signature needs MeshOperators built with k_eig > 0")
    phi = ops.eigenvectors
    times = torch.as_tensor(times, dtype=phi.dtype, device=phi.device)
    if times.dim() != 1 or len(times) == 0 or not bool((times > 0).all()):
        raise ValueError(f"times: expected a non-empty (T,) tensor of positive times, got {times}")
    decay = torch.exp(-ops.eigenvalues.unsqueeze(-1) * times)  # (k, T)
    return (phi * phi) @ decay


class LearnedTimeDiffusion(nn.Module):
    """Diffusion with one learned, positive time per channel.

    Reference: Sharp et al. 2022, §3.2.  ``t_c = exp(τ_c)``, so times stay
    positive by parametrisation.

    Args:
        channels: ``C``.
        mode: ``"implicit"`` (:func:`implicit_diffusion`) or ``"spectral"``.
        init_time: the initial time of every channel.

    Shapes:
        x: (*, N, C); returns (*, N, C).
    """

    def __init__(self, channels: int, mode: str = "implicit", init_time: float = 1e-2):
        super().__init__()
        check_positive_int(channels, "channels")
        if mode not in ("implicit", "spectral"):
            raise ValueError(f"mode: expected 'implicit' or 'spectral', got {mode!r}")
        if not init_time > 0:
            raise ValueError(f"init_time: expected a positive number, got {init_time!r}")
        self.mode = mode
        self.log_time = nn.Parameter(torch.full((channels,), float(init_time)).log())

    @property
    def time(self) -> torch.Tensor:
        """(C,) the current diffusion times."""
        return self.log_time.exp()

    def forward(self, x: torch.Tensor, ops: MeshOperators | FixedMeshOperators) -> torch.Tensor:
        _check_signal(ops, x, self.log_time.numel(), like=self)
        if isinstance(ops, FixedMeshOperators):  # a deployed mesh: torch-native, in its eigenbasis
            fixed = ops.implicit_diffusion if self.mode == "implicit" else ops.spectral_diffusion
            return fixed(x, self.time)
        fn = implicit_diffusion if self.mode == "implicit" else spectral_diffusion
        return fn(ops, x, self.time)

    def extra_repr(self) -> str:
        return f"channels={self.log_time.numel()}, mode={self.mode!r}"


class SpatialGradientFeatures(nn.Module):
    """Rotation-invariant features from vertex gradients: ``tanh Re(conj(g) · A g)``.

    Reference: Sharp et al. 2022, §3.3.  ``g_c ∈ ℂ`` is the gradient of
    channel ``c`` in its vertex's tangent frame (least squares over the
    1-ring log map, :func:`~gdl_zoo.meshes.geometry.vertex_gradient`) and
    ``A = A_re + i A_im`` a learned complex ``C × C`` matrix::

        w_c = tanh(Re(conj(g_c) · Σ_d A_cd g_d))

    Rotating a tangent frame multiplies every ``g`` at that vertex by the same
    unit complex number, which cancels: the features do not depend on the
    choice of frames.

    Args:
        channels: ``C``.

    Shapes:
        x: (*, N, C); returns (*, N, C).
    """

    def __init__(self, channels: int):
        super().__init__()
        check_positive_int(channels, "channels")
        self.real = nn.Linear(channels, channels, bias=False)
        self.imag = nn.Linear(channels, channels, bias=False)

    def forward(self, x: torch.Tensor, ops: MeshOperators | FixedMeshOperators) -> torch.Tensor:
        _check_signal(ops, x, self.real.in_features, like=self)
        xn = x.movedim(-2, 0)  # (N, *, C)
        if isinstance(ops, FixedMeshOperators):
            g = ops.vertex_gradient(xn)
        else:
            g = vertex_gradient(ops.mesh, ops.lengths.to(x.dtype), xn, ops.log_map.to(x.dtype))
        g = g.movedim(0, -3)  # (*, N, C, 2)
        gx, gy = g[..., 0], g[..., 1]
        ax = self.real(gx) - self.imag(gy)
        ay = self.real(gy) + self.imag(gx)
        return torch.tanh(gx * ax + gy * ay)


class DiffusionBlock(nn.Module):
    """One DiffusionNet block: learned diffusion, spatial gradients, a pointwise MLP, residual.

    Reference: Sharp et al. 2022, Fig. 2::

        h = diffuse_t(x);  w = SpatialGradientFeatures(h)
        y = x + MLP([x, h, w])

    Args:
        channels: ``C``.
        hidden: the MLP's hidden width (default ``C``).
        mode: diffusion mode, ``"implicit"`` or ``"spectral"``.
        gradient_features: include ``w``.
        init_time: initial diffusion time.

    Shapes:
        x: (*, N, C); returns (*, N, C).
    """

    def __init__(
        self,
        channels: int,
        hidden: int | None = None,
        mode: str = "implicit",
        gradient_features: bool = True,
        init_time: float = 1e-2,
    ):
        super().__init__()
        hidden = channels if hidden is None else check_positive_int(hidden, "hidden")
        self.diffusion = LearnedTimeDiffusion(channels, mode, init_time)
        self.gradient = SpatialGradientFeatures(channels) if gradient_features else None
        width = channels * (3 if gradient_features else 2)
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )

    def forward(self, x: torch.Tensor, ops: MeshOperators | FixedMeshOperators) -> torch.Tensor:
        _check_signal(ops, x, self.diffusion.log_time.numel(), like=self)
        h = self.diffusion(x, ops)
        parts = [x, h]
        if self.gradient is not None:
            parts.append(self.gradient(h, ops))
        return x + self.mlp(torch.cat(parts, -1))
