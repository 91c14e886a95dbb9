"""Exact e3nn irreps operations: Wigner matrices and edge tensor products in any dtype.

e3nn stores its Wigner matrices' building blocks and its Clebsch–Gordan
coefficients in the default dtype (float32) when a module is built, so
``Irreps.D_from_matrix`` and ``o3.TensorProduct`` are equivariant only to
about 1e-7 even after ``.double()``.  The zoo's harness promises 1e-10 in
float64, so this module supplies the two pieces that need exact constants:

- :func:`exact_D_from_matrix`, the representation ``D(Q)`` of ``O(3)`` on an
  ``Irreps`` computed from e3nn's spherical harmonics (exact polynomials):
  ``Y_l(R u) = D_l(R) Y_l(u)`` is solved by least squares on fixed points of the
  sphere, and a reflection ``Q = −R`` multiplies irrep ``(l, p)`` by ``p``;
- :class:`EdgeTensorProduct`, the per-edge weighted tensor product
  ``x_j ⊗ Y(r̂_ij)`` of Tensor Field Networks (Thomas et al. 2018) whose
  Clebsch–Gordan coefficients are kept as a float32 pair ``hi + lo`` that
  equals the float64 coefficient to ``2⁻⁴⁸``, so they survive ``.float()`` /
  ``.double()`` round trips.

Everything else (``Irreps``, spherical harmonics, ``o3.Linear``, ``nn.Gate``)
is e3nn's and exact as it stands.  This module imports e3nn; import it lazily
from code that must stay light.

Shapes:
    E: edges.
    N: nodes.
"""

from __future__ import annotations

import math

import torch
from e3nn import nn as e3nn_nn
from e3nn import o3
from torch import nn
from torch.nn import functional as F

__all__ = [
    "exact_D_from_matrix",
    "wigner_D_of_rotation",
    "EdgeTensorProduct",
    "gate_for",
    "scalars_of",
]


def _sphere_points(count: int) -> torch.Tensor:
    """``count`` points of the Fibonacci lattice on the unit sphere, float64 ``(count, 3)``."""
    k = torch.arange(count, dtype=torch.float64) + 0.5
    z = 1.0 - 2.0 * k / count
    phi = k * math.pi * (3.0 - math.sqrt(5.0))
    r = torch.sqrt(1.0 - z * z)
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], dim=-1)


def wigner_D_of_rotation(degrees: list[int], rotation: torch.Tensor) -> dict[int, torch.Tensor]:
    """``{l: D_l(R)}`` for a proper rotation ``R`` (float64), in e3nn's basis of degree ``l``.

    One evaluation of the harmonics at fixed points ``u_m`` and at ``R u_m``;
    ``Y_l(R u_m) = D_l(R) Y_l(u_m)`` is then solved by least squares per ``l``.
    Accurate to round-off for every ``R`` (no Euler angles, so no loss of
    precision near their singularities).

    Args:
        degrees: the degrees ``l`` wanted.
        rotation: ``R``, float64.

    Shapes:
        rotation: ``(3, 3)``.  output: ``{l: (2l+1, 2l+1)}``.
    """
    irreps = o3.Irreps([(1, (l, (-1) ** l)) for l in degrees])
    points = _sphere_points(4 * (2 * max(degrees) + 1))
    both = torch.cat([points, points @ rotation.T])
    harmonics = o3.spherical_harmonics(irreps, both, normalize=False).split(len(points))
    return {
        l: torch.linalg.lstsq(
            harmonics[0][:, s], harmonics[1][:, s]
        ).solution.T  # after = before Dᵀ
        for l, s in zip(degrees, irreps.slices())
    }


def exact_D_from_matrix(irreps: str | o3.Irreps, Q: torch.Tensor) -> torch.Tensor:
    """The block-diagonal representation ``D(Q)`` of an orthogonal ``Q`` on ``irreps``, in float64.

    Drop-in for e3nn's ``Irreps(irreps).D_from_matrix(Q)`` accurate to ~1e-15.
    With ``Q = det(Q)·R`` (``R`` a rotation), irrep ``(l, p)`` transforms by
    ``D_l(R)·p^{[det Q < 0]}``, where ``D_l`` satisfies ``Y_l(R u) = D_l(R) Y_l(u)``.

    Args:
        irreps: e3nn irreps, e.g. ``"4x0e + 2x1o"``.
        Q: an orthogonal matrix.

    Shapes:
        Q: ``(3, 3)``.
        output: ``(irreps.dim, irreps.dim)``, float64 on ``Q``'s device.
    """
    irreps = o3.Irreps(irreps)
    if not isinstance(Q, torch.Tensor) or Q.shape != (3, 3):
        got = tuple(Q.shape) if isinstance(Q, torch.Tensor) else type(Q).__name__
        raise ValueError(f"Q: expected an orthogonal (3, 3) tensor, got {got}")
    if irreps.dim == 0:
        return torch.zeros(0, 0, dtype=torch.float64, device=Q.device)
    Q64 = Q.detach().to(device="cpu", dtype=torch.float64)
    improper = bool(torch.linalg.det(Q64) < 0)
    per_l = wigner_D_of_rotation(sorted({ir.l for _, ir in irreps}), -Q64 if improper else Q64)
    blocks = [per_l[ir.l] * (ir.p if improper else 1) for mul, ir in irreps for _ in range(mul)]
    return torch.block_diag(*blocks).to(Q.device)


def scalars_of(irreps: str | o3.Irreps) -> o3.Irreps:
    """The scalar (``l = 0``) part of ``irreps``, in its order."""
    return o3.Irreps([(mul, ir) for mul, ir in o3.Irreps(irreps) if ir.l == 0])


def gate_for(irreps_out: str | o3.Irreps) -> e3nn_nn.Gate:
    """An e3nn gate nonlinearity whose output irreps are ``irreps_out`` (scalars first).

    Weiler et al., "3D Steerable CNNs", NeurIPS 2018; NequIP's nonlinearity::

        s ↦ σ(s)  (SiLU for even scalars, tanh for odd ones, so parity is kept)
        v_c ↦ sigmoid(g_c) · v_c  for each gated irrep v_c, with one extra scalar g_c

    The gate's ``irreps_in`` (what the preceding linear layer must produce) holds
    the scalars, one ``0e`` gate per non-scalar irrep, and the non-scalars.
    """
    irreps_out = o3.Irreps(irreps_out)
    scalars = scalars_of(irreps_out)
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l > 0])
    gates = o3.Irreps(f"{gated.num_irreps}x0e") if gated.dim else o3.Irreps("")
    return e3nn_nn.Gate(
        scalars,
        [F.silu if ir.p == 1 else torch.tanh for _, ir in scalars],
        gates,
        [torch.sigmoid] if gated.dim else [],
        gated,
    )


def _split_float64(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 ``(hi, lo)`` with ``hi + lo = c`` to ``2⁻⁴⁸`` relative (a double-float)."""
    hi = c.to(torch.float32)
    lo = (c - hi.to(torch.float64)).to(torch.float32)
    return hi, lo


class EdgeTensorProduct(nn.Module):
    """The TFN edge tensor product ``x_j ⊗ Y(r̂_ij)`` with one weight per path and channel.

    Thomas et al., "Tensor Field Networks", arXiv 1802.08219 (2018); the
    ``"uvu"`` connection of NequIP (Batzner et al., Nat. Commun. 13, 2453, 2022).
    For every input irrep ``x^{(l₁)}_u`` (channel ``u``), spherical harmonic
    ``Y^{(l₂)}`` and output ``l₃ ∈ l₁ ⊗ l₂`` whose irrep is in ``irreps_target``::

        y^{(l₃)}_{u,k} = √(2l₃+1) · w_{u} · Σ_{i,j} C^{l₁ l₂ l₃}_{ijk} x^{(l₁)}_{u,i} Y^{(l₂)}_j

    The weights ``w`` come per edge (from a radial network of the distance).
    Output blocks follow the order of :attr:`instructions`, one block of
    ``mul(l₁)`` irreps ``l₃`` each; follow with ``o3.Linear(self.irreps_out, …)``.
    ``C`` are e3nn's ``wigner_3j`` computed in float64 and stored as a float32
    ``hi + lo`` pair, so the product is equivariant to round-off in every dtype.

    Args:
        irreps_in: irreps of the node features ``x``.
        irreps_sh: irreps of the spherical harmonics ``Y``.
        irreps_target: which output irreps to keep (multiplicities ignored).

    Shapes:
        x: ``(E, irreps_in.dim)``.
        sh: ``(E, irreps_sh.dim)``.
        weight: ``(E, weight_numel)``.
        output: ``(E, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: str | o3.Irreps,
        irreps_sh: str | o3.Irreps,
        irreps_target: str | o3.Irreps,
    ):
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.irreps_sh = o3.Irreps(irreps_sh)
        targets = {ir for _, ir in o3.Irreps(irreps_target)}
        in_slices, sh_slices = self.irreps_in.slices(), self.irreps_sh.slices()
        instructions, out, offset = [], [], 0
        for i1, (mul, ir1) in enumerate(self.irreps_in):
            for i2, (_, ir2) in enumerate(self.irreps_sh):
                for ir3 in ir1 * ir2:
                    if ir3 not in targets:
                        continue
                    name = f"cg_{len(instructions)}"
                    hi, lo = _split_float64(o3.wigner_3j(ir1.l, ir2.l, ir3.l, dtype=torch.float64))
                    self.register_buffer(f"{name}_hi", hi, persistent=False)
                    self.register_buffer(f"{name}_lo", lo, persistent=False)
                    # plain ints only: torch.compile cannot guard e3nn's Irrep objects
                    instructions.append(
                        (
                            name,
                            in_slices[i1],
                            sh_slices[i2],
                            slice(offset, offset + mul),
                            mul,
                            ir1.dim,
                            ir3.dim,
                        )
                    )
                    out.append((mul, ir3))
                    offset += mul
        if not instructions:
            raise ValueError(
                f"irreps_target: expected an irrep reachable from {self.irreps_in} ⊗ "
                f"{self.irreps_sh}, got {o3.Irreps(irreps_target)}"
            )
        self.instructions = instructions
        self.irreps_out = o3.Irreps(out)
        self.weight_numel = offset
        self.dims = (self.irreps_in.dim, self.irreps_sh.dim, offset)  # ints for forward

    def forward(self, x: torch.Tensor, sh: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        expected = self.dims
        got = (x.shape[-1], sh.shape[-1], weight.shape[-1])
        if got != expected or not x.shape[0] == sh.shape[0] == weight.shape[0]:
            shapes = ", ".join(str(tuple(t.shape)) for t in (x, sh, weight))
            raise ValueError(
                f"expected x, sh, weight of shapes (E, {expected[0]}), (E, {expected[1]}), "
                f"(E, {expected[2]}), got {shapes}"
            )
        outputs = []
        for name, s_in, s_sh, s_w, mul, dim1, dim3 in self.instructions:
            cg = getattr(self, f"{name}_hi").to(x.dtype) + getattr(self, f"{name}_lo").to(x.dtype)
            x1 = x[:, s_in].reshape(x.shape[0], mul, dim1)  # (E, mul·(2l₁+1)) -> (E, mul, 2l₁+1)
            y_cg = torch.einsum("ej,ijk->eik", sh[:, s_sh], cg)  # (E, 2l₁+1, 2l₃+1)
            y = torch.einsum("eui,eik->euk", x1, y_cg) * weight[:, s_w, None]
            outputs.append(math.sqrt(dim3) * y.reshape(x.shape[0], mul * dim3))
        return torch.cat(outputs, dim=-1)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} x {self.irreps_sh} -> {self.irreps_out}"
