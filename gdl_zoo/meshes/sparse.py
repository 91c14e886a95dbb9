"""Sparse vertex operators with a fixed pattern, and a differentiable sparse linear solve.

The topology of a mesh is fixed while its metric changes, so the sparsity
pattern of every vertex operator (cotan Laplacian, Galerkin mass, ``M + tL``)
is computed once from the edges: the diagonal plus both directions of every
edge, in CSR order.  A metric then only fills a *values* vector; assembling
needs one gather and no ``coalesce``.

:func:`sparse_solve` solves ``A x = b`` for such an ``A`` in float64, with one
of two methods: an LU factorisation (SuperLU through scipy, on the CPU), or
Jacobi-preconditioned conjugate gradients
(:func:`~gdl_zoo.meshes.conjugate_gradient.batched_conjugate_gradient`) for a
symmetric positive definite ``A``, which runs on the device of the values
(CUDA included, no host round trip).  The default ``method="auto"`` takes LU
for values on the CPU or a non-symmetric ``A`` and conjugate gradients
elsewhere.  Either way the solve is differentiable with respect to ``b`` and
to the values of ``A`` through the adjoint solve: with ``λ = A^{-T} ∂ℓ/∂x``,

    ∂ℓ/∂b = λ,        ∂ℓ/∂A_ij = −λ_i x_j.

Solves need concrete values (a factorisation, or a loop that stops on the
residual), so they do not run on the ``meta`` device.

Shapes:
    N: vertices (the operator is N × N).
    E: edges.
    K: stored entries, ``N + 2E``.
    C: right-hand sides (any trailing shape).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from gdl_zoo.meshes.conjugate_gradient import batched_conjugate_gradient
from gdl_zoo.meshes.mesh import TriangleMesh

__all__ = ["SparsityPattern", "Factorization", "sparse_solve"]

_SOLVE_METHODS = ("auto", "lu", "cg")  # the methods of Factorization


@dataclass(frozen=True)
class SparsityPattern:
    """The CSR pattern of a symmetric vertex operator: the diagonal and both directions of edges.

    Build it with :meth:`of_mesh`; fill it with :meth:`symmetric_values`.

    Attributes:
        size: ``N``.
        rows: (K,) row of each stored entry, sorted (CSR order).
        cols: (K,) column of each stored entry.
        crow: (N + 1,) CSR row offsets.
        gather: (K,) ``values = cat([diagonal, off_diagonal, off_diagonal])[gather]``.
        diagonal_index: (N,) the position of ``(i, i)`` among the stored entries.
    """

    size: int
    rows: torch.Tensor
    cols: torch.Tensor
    crow: torch.Tensor
    gather: torch.Tensor
    diagonal_index: torch.Tensor

    @classmethod
    def of_mesh(cls, mesh: TriangleMesh) -> SparsityPattern:
        """The pattern of ``mesh``'s vertex-adjacency plus diagonal (computed once, on the CPU)."""
        n, e = mesh.num_vertices, mesh.edges.cpu().numpy()
        ar = np.arange(n)
        rows = np.concatenate([ar, e[:, 0], e[:, 1]])
        cols = np.concatenate([ar, e[:, 1], e[:, 0]])
        order = np.lexsort((cols, rows))
        crow = np.zeros(n + 1, dtype=np.int64)
        crow[1:] = np.cumsum(np.bincount(rows, minlength=n))
        position = np.empty_like(order)
        position[order] = np.arange(len(order))

        def t(a):
            return torch.as_tensor(a, dtype=torch.long, device=mesh.device)

        return cls(n, t(rows[order]), t(cols[order]), t(crow), t(order), t(position[:n]))

    def to(self, device: torch.device | str) -> SparsityPattern:
        """The same pattern with its index tensors on ``device``."""
        moved = (self.rows, self.cols, self.crow, self.gather, self.diagonal_index)
        return SparsityPattern(self.size, *(t.to(device) for t in moved))

    @property
    def nnz(self) -> int:
        """``K``, the number of stored entries."""
        return int(self.rows.shape[0])

    def symmetric_values(self, diagonal: torch.Tensor, off_diagonal: torch.Tensor) -> torch.Tensor:
        """The values of the operator with ``diagonal`` (N,) and per-edge ``off_diagonal`` (E,).

        Shapes:
            diagonal: (N,); off_diagonal: (E,); returns (K,).
        """
        return torch.cat([diagonal, off_diagonal, off_diagonal])[self.gather]

    def matvec(self, values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``A x`` for the operator with ``values``, differentiable in both.

        Shapes:
            values: (K,); x: (N, *); returns (N, *).
        """
        prod = values.reshape((-1,) + (1,) * (x.dim() - 1)) * x[self.cols]
        return torch.zeros_like(prod[: self.size]).index_add_(0, self.rows, prod)

    def to_torch(self, values: torch.Tensor) -> torch.Tensor:
        """A ``torch.sparse_csr_tensor`` (no coalescing needed: the pattern is sorted)."""
        with warnings.catch_warnings():  # torch flags sparse CSR as beta on every construction
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(
                self.crow, self.cols, values, (self.size, self.size), check_invariants=False
            )

    def to_scipy(self, values: torch.Tensor):
        """A ``scipy.sparse.csr_matrix`` in float64 (detached, on the CPU)."""
        from scipy.sparse import csr_matrix

        data = values.detach().cpu().to(torch.float64).numpy()
        return csr_matrix(
            (data, self.cols.cpu().numpy(), self.crow.cpu().numpy()), shape=(self.size, self.size)
        )

    def to_dense(self, values: torch.Tensor) -> torch.Tensor:
        """The dense (N, N) matrix, differentiable in ``values`` (small meshes only)."""
        dense = values.new_zeros(self.size, self.size)
        return dense.index_put((self.rows, self.cols), values, accumulate=True)


class Factorization:
    """One operator ``A`` (pattern + values) prepared for many solves: LU factors or CG.

    Factorise once per metric and solve many right-hand sides; :meth:`solve`
    is differentiable with respect to the right-hand side and, through
    ``values``, to the metric (adjoint solve with the same factors).

    Args:
        pattern: the operator's :class:`SparsityPattern`.
        values: (K,) its values; the graph to them is kept for the gradient.
        symmetric: ``A`` is symmetric positive definite (``M + tL``): use a
            symmetric fill-reducing ordering without pivoting (faster), and
            allow conjugate gradients.
        method: ``"lu"`` (SuperLU on the CPU; CUDA tensors make one round trip),
            ``"cg"`` (Jacobi-preconditioned conjugate gradients on the device of
            ``values``; symmetric positive definite ``A`` only) or ``"auto"``:
            ``"lu"`` for values on the CPU or a non-symmetric ``A``, else ``"cg"``.
        rtol: the relative residual conjugate gradients stop at (float64 inside).
        max_iter: the most conjugate-gradient iterations; default ``max(100, 2N)``.

    Raises:
        ValueError: ``values`` of the wrong shape, not finite, a singular ``A``
            (LU), a non-positive diagonal (CG), an unknown method, or ``"cg"``
            for a non-symmetric ``A``.
    """

    def __init__(
        self,
        pattern: SparsityPattern,
        values: torch.Tensor,
        symmetric: bool = True,
        method: str = "auto",
        rtol: float = 1e-12,
        max_iter: int | None = None,
    ):
        if values.shape != (pattern.nnz,):
            raise ValueError(f"values: expected shape ({pattern.nnz},), got {tuple(values.shape)}")
        if not torch.isfinite(values).all():
            raise ValueError("values: expected finite operator entries, got NaN or infinity")
        if method not in _SOLVE_METHODS:
            raise ValueError(f"method: expected one of {_SOLVE_METHODS}, got {method!r}")
        if method == "cg" and not symmetric:
            raise ValueError(
                "method: 'cg' needs a symmetric positive definite operator, got symmetric=False; "
                "use 'lu'"
            )
        if method == "auto":
            method = "lu" if values.device.type == "cpu" or not symmetric else "cg"
        self.pattern = pattern
        self.values = values
        self.method = method
        if method == "cg":
            self._device_pattern = pattern.to(values.device)
            self._values64 = values.detach().to(torch.float64)
            self._diagonal = self._values64[self._device_pattern.diagonal_index]
            if not bool((self._diagonal > 0).all()):
                raise ValueError(
                    "values: conjugate gradients expected a positive diagonal (A positive "
                    f"definite), got minimum {float(self._diagonal.min()):.3e}"
                )
            self._rtol, self._max_iter = rtol, max_iter
            return
        from scipy.sparse.linalg import splu

        matrix = pattern.to_scipy(values).tocsc()
        options = {"SymmetricMode": True} if symmetric else {}
        try:
            self._lu = splu(
                matrix,
                permc_spec="MMD_AT_PLUS_A" if symmetric else "COLAMD",
                diag_pivot_thresh=0.0 if symmetric else 1.0,
                options=options,
            )
        except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
            raise ValueError(f"the operator is singular and cannot be factorised: {err}") from err

    def solve_numpy(self, rhs: np.ndarray, transpose: bool = False) -> np.ndarray:
        """``A⁻¹ rhs`` (or ``A⁻ᵀ rhs``) in float64 numpy, no autograd (LU only).

        Raises:
            ValueError: this operator was prepared with ``method="cg"``.
        """
        if self.method != "lu":
            raise ValueError(
                f"solve_numpy: expected an LU factorisation, got method {self.method!r}"
            )
        return self._lu.solve(rhs, trans="T" if transpose else "N")

    def solve_detached(self, rhs: torch.Tensor, transpose: bool = False) -> torch.Tensor:
        """``A⁻¹ rhs`` (or ``A⁻ᵀ rhs``) without autograd, in the dtype and device of ``rhs``.

        Raises:
            ValueError: conjugate gradients did not reach ``rtol`` within ``max_iter``.

        Shapes:
            rhs: (N, *); returns (N, *).
        """
        if self.method == "lu":
            flat = rhs.detach().reshape(rhs.shape[0], -1).cpu().to(torch.float64).numpy()
            x = torch.as_tensor(self.solve_numpy(flat, transpose), device=rhs.device)
            return x.to(rhs.dtype).reshape(rhs.shape)
        flat = rhs.detach().reshape(rhs.shape[0], -1).to(torch.float64)  # A = Aᵀ here
        result = batched_conjugate_gradient(
            lambda v: self._device_pattern.matvec(self._values64, v),
            flat,
            self._diagonal,
            rtol=self._rtol,
            max_iter=self._max_iter,
        )
        if not result.converged:
            raise ValueError(
                f"conjugate gradients: expected a relative residual ≤ {self._rtol:g}, got "
                f"{float(result.relative_residual.max()):.3e} after {result.iterations} "
                "iterations (is A singular or badly conditioned? raise max_iter or use 'lu')"
            )
        return result.solution.to(rhs.dtype).reshape(rhs.shape)

    def solve(self, rhs: torch.Tensor) -> torch.Tensor:
        """``A⁻¹ rhs``, differentiable with respect to ``rhs`` and to the values of ``A``.

        The LU factors live on the CPU (SuperLU): a CUDA ``rhs`` is copied there and
        the solution comes back on the device of ``rhs`` (one transfer each way);
        conjugate gradients run on the device of the values.

        Raises:
            ValueError: ``rhs`` of the wrong shape or on another device than the values.
            TypeError: ``rhs`` not floating point.

        Shapes:
            rhs: (N, *); returns (N, *) in the dtype and device of ``rhs``.
        """
        if rhs.dim() == 0 or rhs.shape[0] != self.pattern.size:
            raise ValueError(
                f"rhs: expected shape ({self.pattern.size}, *), got {tuple(rhs.shape)}"
            )
        if not rhs.is_floating_point():
            raise TypeError(f"rhs: expected a floating-point tensor, got {rhs.dtype}")
        if rhs.device != self.values.device:
            raise ValueError(
                f"rhs: expected a tensor on the device of the operator's values "
                f"({self.values.device}), got one on {rhs.device}"
            )
        return _FactorizedSolve.apply(self.values, rhs, self)


class _FactorizedSolve(torch.autograd.Function):
    """``x = A(values)⁻¹ b`` with the adjoint solve as its backward (first derivatives only)."""

    @staticmethod
    def forward(ctx, values, rhs, fac):
        x = fac.solve_detached(rhs, transpose=False)
        ctx.fac = fac
        ctx.save_for_backward(x)
        return x

    @staticmethod
    @once_differentiable  # the adjoint solve runs outside autograd: no silent zero 2nd derivative
    def backward(ctx, grad_x):
        (x,) = ctx.saved_tensors
        lam = ctx.fac.solve_detached(grad_x, transpose=True)
        grad_values = None
        if ctx.needs_input_grad[0]:
            p = ctx.fac.pattern
            lam_rows = lam[p.rows.to(lam.device)].reshape(p.nnz, -1)
            x_cols = x[p.cols.to(x.device)].reshape(p.nnz, -1)
            grad_values = -(lam_rows * x_cols).sum(1).to(ctx.fac.values.dtype)
        return grad_values, lam if ctx.needs_input_grad[1] else None, None


def sparse_solve(
    pattern: SparsityPattern,
    values: torch.Tensor,
    rhs: torch.Tensor,
    symmetric: bool = True,
    method: str = "auto",
) -> torch.Tensor:
    """Solve ``A x = rhs`` for the sparse ``A`` given by ``pattern`` and ``values``.

    One factorisation per call; hold a :class:`Factorization` to reuse it.
    Differentiable with respect to ``values`` and ``rhs`` (adjoint solve).

    Args:
        pattern: the sparsity pattern of ``A``.
        values: (K,) its entries.
        rhs: (N, *) right-hand sides.
        symmetric: whether ``A`` is symmetric positive definite.
        method: ``"auto"``, ``"lu"`` or ``"cg"`` (see :class:`Factorization`).

    Shapes:
        values: (K,); rhs: (N, *); returns (N, *).
    """
    return Factorization(pattern, values, symmetric, method).solve(rhs)
