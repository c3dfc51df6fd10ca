r"""Certified extreme eigenvalues of symmetric (Gram) matrices, in float64.

For a symmetric A, a computed eigenpair (λ̃, v) with ‖v‖₂ = 1 and residual r = A v − λ̃ v satisfies
(Weyl / Bauer–Fike for normal matrices, e.g. Parlett, *The Symmetric Eigenvalue Problem*, Thm 4.5.1)

.. math::  \min_k |λ_k(A) − λ̃| ≤ ‖r‖₂.

LAPACK's symmetric eigensolvers are backward stable: the computed spectrum is the exact spectrum of A + E
with ‖E‖₂ ≤ p(N)·ε·‖A‖₂ (Demmel, *Applied Numerical Linear Algebra*, §5.2), so by Weyl's inequality every
computed λ̃_k is within p(N)·ε·‖A‖₂ of the *k-th* true eigenvalue, which identifies λ̃_1 as λ_min.
We report

.. math::  \text{error\_bound} = ‖r‖₂ + N·ε·‖A‖₂,

the residual (evaluated in float64, whose own rounding is ≤ N ε ‖A‖ ‖v‖) plus the backward-error term with
p(N) = N, a conservative choice.  A matrix whose λ_min is within its error bound of 0 is *numerically
singular*: its sign cannot be certified, and it is reported as such rather than as a tiny positive number.

For large N, :func:`certified_extreme_eigs` uses Lanczos (``scipy.sparse.linalg.eigsh``) for the extreme
pair only, with the same residual bound (the identification as the *extreme* eigenvalue then rests on
Lanczos convergence, which the report states).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntkcheck.errors import NtkcheckError

__all__ = ["Spectrum", "certified_eigvalsh", "certified_eigvalsh_batch", "certified_extreme_eigs"]

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Spectrum:
    """Extreme eigenvalues of a symmetric matrix with error bounds.

    ``lambda_min`` and ``lambda_max`` are each within ``error_bound`` (resp. ``error_bound_max``) of the
    true extreme eigenvalues. ``cond`` = λ_max/λ_min (inf when λ_min ≤ its error bound). ``singular``: λ_min
    is not certified positive. ``degenerate``: the matrix is exactly zero (e.g. an NB201 cell with no
    input→output path). ``eigenvalues`` holds the full ascending spectrum when it was computed.
    """

    lambda_min: float
    lambda_max: float
    error_bound: float
    error_bound_max: float
    n: int
    method: str
    eigenvalues: np.ndarray | None = None
    eigenvector_min: np.ndarray | None = None

    @property
    def singular(self) -> bool:
        return self.lambda_min <= self.error_bound

    @property
    def degenerate(self) -> bool:
        return self.lambda_max == 0.0 and self.lambda_min == 0.0

    @property
    def cond(self) -> float:
        return float("inf") if self.singular else self.lambda_max / self.lambda_min

    @property
    def status(self) -> str:
        if self.degenerate:
            return "degenerate (zero matrix)"
        if self.lambda_min < -self.error_bound:
            return "indefinite (certified negative eigenvalue)"
        if self.singular:
            return "numerically singular"
        return "certified positive definite"

    def summary(self) -> dict:
        return {"lambda_min": self.lambda_min, "lambda_min_error_bound": self.error_bound,
                "lambda_max": self.lambda_max, "lambda_max_error_bound": self.error_bound_max,
                "cond": self.cond, "status": self.status, "method": self.method, "n": self.n}


def _check_symmetric(A) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise NtkcheckError(f"expected a square matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise NtkcheckError("matrix has NaN or infinite entries")
    scale = max(np.max(np.abs(A)), np.finfo(float).tiny) if A.size else 1.0
    asym = np.max(np.abs(A - A.T)) if A.size else 0.0
    if asym > 1e-8 * scale:
        raise NtkcheckError(f"matrix is not symmetric (max |A - Aᵀ| = {asym:.3g})")
    return 0.5 * (A + A.T)


def _residual(A: np.ndarray, lam: float, v: np.ndarray) -> float:
    v = v / np.linalg.norm(v)
    return float(np.linalg.norm(A @ v - lam * v))


def certified_eigvalsh(A) -> Spectrum:
    """Full symmetric eigendecomposition (LAPACK) with certified error bounds on λ_min and λ_max."""
    A = _check_symmetric(A)
    n = A.shape[0]
    if n == 0:
        raise NtkcheckError("empty matrix")
    w, V = np.linalg.eigh(A)
    norm = max(abs(w[0]), abs(w[-1]))
    backward = n * _EPS * norm
    e_min = _residual(A, w[0], V[:, 0]) + backward
    e_max = _residual(A, w[-1], V[:, -1]) + backward
    return Spectrum(float(w[0]), float(w[-1]), e_min, e_max, n, "LAPACK syevd (full spectrum)", w, V[:, 0])


def certified_eigvalsh_batch(A) -> dict[str, np.ndarray]:
    """λ_min, λ_max and error bounds for a batch (B, N, N) of symmetric matrices (vectorized LAPACK).

    Eigenvalues only (no eigenvectors, which cost 10–50× more in batch), so the bound is the backward-error
    term alone: |λ̃_k − λ_k| ≤ N·ε·‖A‖₂ (backward stability of syevd + Weyl's inequality; module docstring).
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise NtkcheckError(f"expected a batch of square matrices (B, N, N), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise NtkcheckError("matrix batch has NaN or infinite entries")
    A = 0.5 * (A + np.swapaxes(A, 1, 2))
    w = np.linalg.eigvalsh(A)
    n = A.shape[1]
    bound = n * _EPS * np.maximum(np.abs(w[:, 0]), np.abs(w[:, -1]))
    return {"lambda_min": w[:, 0], "lambda_max": w[:, -1], "error_bound": bound, "error_bound_max": bound}


def certified_extreme_eigs(A, *, tol: float = 0.0, dense_below: int = 3000) -> Spectrum:
    """λ_min/λ_max with error bounds; Lanczos for N ≥ ``dense_below`` (residual bound as above)."""
    A = _check_symmetric(A)
    n = A.shape[0]
    if n < dense_below:
        return certified_eigvalsh(A)
    from scipy.sparse.linalg import eigsh

    lo, vlo = eigsh(A, k=1, which="SA", tol=tol)
    hi, vhi = eigsh(A, k=1, which="LA", tol=tol)
    norm = max(abs(lo[0]), abs(hi[0]))
    backward = n * _EPS * norm
    return Spectrum(float(lo[0]), float(hi[0]), _residual(A, lo[0], vlo[:, 0]) + backward,
                    _residual(A, hi[0], vhi[:, 0]) + backward, n,
                    "Lanczos (scipy eigsh) for the extreme pair; residual-certified", None, vlo[:, 0])
