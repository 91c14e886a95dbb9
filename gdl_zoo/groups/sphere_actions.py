"""How SO(3) acts on signals on the sphere S² and on SO(3), through their Fourier coefficients.

A band-limited signal on the sphere is stored by its coefficients in e3nn's real
spherical harmonics, orthonormal on S² (``normalization="integral"``)::

    f(x) = Σ_{l ≤ L} Σ_m F^l_m Y^l_m(x),        F^l_m = ∫_{S²} f(x) Y^l_m(x) dx,

``(L+1)²`` numbers per channel, the e3nn irreps ``0e + 1e + … + Le`` (the
parity-free variant: only rotations act).  Rotating the signal,
``(Q.f)(x) = f(Q⁻¹x)``, rotates every degree by its Wigner matrix, because
``Y^l(Qx) = D^l(Q) Y^l(x)``::

    F^l ↦ D^l(Q) F^l.

A band-limited signal on SO(3) (the feature maps of a spherical CNN, Cohen et
al. 2018) is ``f(g) = Σ_l √(2l+1) Σ_{ij} F^l_{ij} D^l_{ij}(g)``, stored as the
e3nn irreps ``1×0e + 3×1e + … + (2L+1)×Le``: copy ``i`` of degree ``l`` is the
row ``F^l_{i·}``, ``Σ_l (2l+1)²`` numbers per channel.  ``Q`` acts on every copy,
``F^l ↦ F^l D^l(Q)ᵀ``, which is the translation ``(Q.f)(g) = f(gQ)``.

e3nn 0.6 builds its Wigner matrices from Lie-algebra generators kept in float32,
so ``Irreps.D_from_matrix`` is a representation only to about 2e-6, even in
float64.  :func:`wigner_D` rebuilds the same matrices (same basis, same Euler
angles) from float64 generators and is exact to round-off, so that the
harness's float64 checks (1e-10) are meaningful.  e3nn is imported inside the
functions, never when an action is built.

Shapes:
    B: batch.  C: channels.  L: the band limit ``lmax``.
    S²: ``(L+1)²`` coefficients.  SO(3): ``(L+1)(2L+1)(2L+3)/3`` coefficients.
"""

from __future__ import annotations

import torch

from gdl_zoo._validation import check_floating
from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.groups import EuclideanGroup

__all__ = ["SO3Spherical", "s2_dim", "so3_dim", "wigner_D", "wigner_D_from_matrix"]

_DOMAINS = ("s2", "so3")


def _check_lmax(lmax: int) -> int:
    if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
        raise ValueError(f"lmax: expected a non-negative integer, got {lmax!r}")
    return lmax


def s2_dim(lmax: int) -> int:
    """``(L+1)²``: coefficients of a signal on S² band-limited to degree ``L``."""
    return (_check_lmax(lmax) + 1) ** 2


def so3_dim(lmax: int) -> int:
    """``Σ_{l≤L} (2l+1)² = (L+1)(2L+1)(2L+3)/3``: coefficients of a signal on SO(3)."""
    lmax = _check_lmax(lmax)
    return (lmax + 1) * (2 * lmax + 1) * (2 * lmax + 3) // 3


def _so3_generators(l: int) -> torch.Tensor:
    """The generators of degree ``l`` in e3nn's real basis: float64 ``(3, 2l+1, 2l+1)``.

    The same construction as ``e3nn.o3.so3_generators`` (su(2) ladder operators
    conjugated into the real basis), in float64 throughout.
    """
    from e3nn import o3

    m = torch.arange(-l, l, dtype=torch.float64)
    raising = torch.diag(-torch.sqrt(l * (l + 1) - m * (m + 1)), diagonal=-1)
    m = torch.arange(-l + 1, l + 1, dtype=torch.float64)
    lowering = torch.diag(torch.sqrt(l * (l + 1) - m * (m - 1)), diagonal=1)
    m = torch.arange(-l, l + 1, dtype=torch.float64)
    raising, lowering = raising.to(torch.complex128), lowering.to(torch.complex128)
    su2 = torch.stack(
        [0.5 * (raising + lowering), torch.diag(1j * m), -0.5j * (raising - lowering)]
    )
    q = o3.change_basis_real_to_complex(l, dtype=torch.float64)
    return (q.conj().T @ su2 @ q).real


def wigner_D(l: int, alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """The Wigner matrix ``D^l(α, β, γ) = exp(α X_y) exp(β X_x) exp(γ X_y)`` of e3nn, in float64.

    ``R(α, β, γ) = R_y(α) R_x(β) R_y(γ)`` as in ``e3nn.o3.wigner_D``, whose
    matrices this reproduces to 1e-6 while being exact to round-off.

    Args:
        l: the degree.
        alpha, beta, gamma: Euler angles (broadcast together), any float dtype.

    Returns:
        float64 tensor of shape ``(..., 2l+1, 2l+1)``.
    """
    _check_lmax(l)
    alpha, beta, gamma = torch.broadcast_tensors(
        *(torch.as_tensor(a, dtype=torch.float64) for a in (alpha, beta, gamma))
    )
    x_gen, y_gen = _so3_generators(l)[:2]
    rot_y_alpha = torch.linalg.matrix_exp(alpha[..., None, None] * y_gen)
    rot_x_beta = torch.linalg.matrix_exp(beta[..., None, None] * x_gen)
    rot_y_gamma = torch.linalg.matrix_exp(gamma[..., None, None] * y_gen)
    return rot_y_alpha @ rot_x_beta @ rot_y_gamma


def wigner_D_from_matrix(lmax: int, rotation: torch.Tensor, domain: str = "s2") -> torch.Tensor:
    """The block-diagonal representation of a rotation on S² or SO(3) coefficients, in float64.

    ``domain="s2"``: ``⊕_{l≤L} D^l(Q)`` of size ``(L+1)²``; ``domain="so3"``:
    ``⊕_{l≤L} I_{2l+1} ⊗ D^l(Q)`` of size ``Σ_l (2l+1)²`` (every copy rotated).

    Args:
        lmax: the band limit ``L``.
        rotation: ``Q``, a ``(3, 3)`` rotation matrix (``det Q = +1``).
        domain: ``"s2"`` or ``"so3"``.

    Raises:
        ValueError: for a matrix that is not a rotation, or an unknown domain.
    """
    from gdl_zoo.groups.irreps import wigner_D_of_rotation  # e3nn

    lmax = _check_lmax(lmax)
    if domain not in _DOMAINS:
        raise ValueError(f"domain: expected one of {_DOMAINS}, got {domain!r}")
    q = torch.as_tensor(rotation).detach().to(device="cpu", dtype=torch.float64)
    if q.shape != (3, 3):
        raise ValueError(f"rotation: expected a (3, 3) matrix, got shape {tuple(q.shape)}")
    eye = torch.eye(3, dtype=torch.float64)
    if (q @ q.T - eye).abs().max() > 1e-6 or torch.det(q) < 0:
        raise ValueError(f"rotation: expected a rotation matrix (Q Qᵀ = I, det Q = +1), got {q}")
    per_l = wigner_D_of_rotation(list(range(lmax + 1)), q)
    blocks = []
    for l, d in per_l.items():
        blocks.append(torch.block_diag(*[d] * (2 * l + 1)) if domain == "so3" else d)
    return torch.block_diag(*blocks)


class SO3Spherical(Action):
    """SO(3) rotating the Fourier coefficients of signals on S² or on SO(3).

    ``g = (Q, 0)`` of :class:`~gdl_zoo.symmetry.groups.EuclideanGroup` (``SO(3)``)
    acts on the coefficient axis by ``F ↦ D(Q) F`` with the block-diagonal
    :func:`wigner_D_from_matrix`: ``F^l ↦ D^l(Q) F^l`` on S² (the signal
    ``f(Q⁻¹x)``) and every copy of ``D^l`` on SO(3) (the signal ``f(gQ)``).

    Args:
        lmax: the band limit ``L``.
        domain: ``"s2"`` (``(L+1)²`` coefficients) or ``"so3"`` (``Σ_l (2l+1)²``).
        dim: the coefficient axis, ``-1`` for ``(B, C, dim)`` tensors.

    Shapes:
        input: ``(B, C, (L+1)²)`` for ``"s2"``, ``(B, C, Σ_l (2l+1)²)`` for ``"so3"``
        (any leading axes); the output has the same shape.
    """

    def __init__(self, lmax: int, domain: str = "s2", dim: int = -1):
        self.lmax = _check_lmax(lmax)
        if domain not in _DOMAINS:
            raise ValueError(f"domain: expected one of {_DOMAINS}, got {domain!r}")
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"dim: expected an integer axis, got {dim!r}")
        self.domain = domain
        self.dim = dim
        self.size = s2_dim(lmax) if domain == "s2" else so3_dim(lmax)
        self.group = EuclideanGroup(parity=False, translations=False)

    def act(self, g: tuple[torch.Tensor, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        check_floating(inputs, "SO3Spherical input")
        if inputs.dim() == 0 or inputs.shape[self.dim] != self.size:
            raise ValueError(
                f"expected axis {self.dim} of size {self.size} ({self.domain} coefficients up to "
                f"lmax={self.lmax}), got shape {tuple(inputs.shape)}"
            )
        q, _ = g
        d = wigner_D_from_matrix(self.lmax, q, self.domain)
        d = d.to(dtype=inputs.dtype, device=inputs.device)
        moved = inputs.movedim(self.dim, -1) @ d.T
        return moved.movedim(-1, self.dim)

    def __repr__(self) -> str:
        return f"SO3Spherical(lmax={self.lmax}, domain={self.domain!r}, dim={self.dim})"
