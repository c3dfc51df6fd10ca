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

__all__ = ["Spectrum", "certified_eigvalsh", "certified_eigvalsh_batch", "certified_extreme_eigs", "certified_extreme_eigvalsh"]

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


# ---- extreme eigenvalues without an eigendecomposition: Lanczos estimates + Cholesky inertia certificates -----

_U = _EPS / 2  # unit roundoff u = 2^-53


def _gamma(k: int) -> float:
    """γ_k = k u/(1 − k u) (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1)."""
    return k * _U / (1 - k * _U)


def _cholesky_certificate(H: np.ndarray) -> float | None:
    """If floating-point Cholesky of the symmetric H succeeds, a rigorous m ≥ 0 with λ_min(H) ≥ −m; else None.

    Demmel's theorem (Higham, Thm 10.3; Demmel, LAPACK Working Note 14, 1989): a Cholesky factorization that
    runs to completion gives R̂ with R̂ᵀR̂ = H + ΔH, |ΔH| ≤ γ_{n+1}|R̂ᵀ||R̂| entrywise.  R̂ᵀR̂ is positive
    semidefinite, so λ_min(H) ≥ −‖ΔH‖₂ ≥ −γ_{n+1} ρ(|R̂|ᵀ|R̂|), and for the non-negative symmetric matrix
    B = |R̂|ᵀ|R̂| the Collatz–Wielandt bound ρ(B) ≤ max_i (Bx)_i/x_i holds for every positive x (we use a few
    power-iteration steps from x = 1 to make it tight).  We take 2γ_{n+1} to cover blocked (level-3) variants.
    """
    from scipy.linalg import LinAlgError, cholesky

    n = H.shape[0]
    try:
        R = cholesky(H, lower=False, overwrite_a=True, check_finite=False)
    except LinAlgError:
        return None
    if not np.all(np.diag(R) > 0):
        return None
    np.abs(R, out=R)
    x = np.ones(n)
    rho = np.inf
    for _ in range(6):
        y = R.T @ (R @ x)
        rho = min(rho, float(np.max(y / x)))
        x = np.maximum(y / np.max(y), np.finfo(float).tiny)
    return 2 * _gamma(n + 1) * rho


def _shifted(A: np.ndarray, s: float, sign: float) -> np.ndarray:
    """sign·(A − s I) as a new array (rounding of the diagonal: ≤ u·max|diag| in 2-norm, added to the bound)."""
    H = A * sign if sign != 1.0 else A.copy()
    H[np.diag_indices_from(H)] -= sign * s
    return H


def _certify_below(A: np.ndarray, theta: float, delta: float, sign: float) -> float | None:
    """A proven e ≥ 0 with sign·λ_ext(A) ≥ sign·θ − e (λ_ext = λ_min for sign = 1, λ_max for −1), from the
    Cholesky certificate of sign·(A − sI) at s = θ − sign·δ, trying δ, 4δ, 16δ, 64δ; None if all fail."""
    for _ in range(4):
        s = theta - sign * delta  # shift just past θ on the far side
        H = _shifted(A, s, sign)
        diag_round = _U * float(np.max(np.abs(np.diag(H))))
        m = _cholesky_certificate(H)
        del H
        if m is not None:
            return delta + m + diag_round
        delta *= 4
    return None


def _kato_temple(A: np.ndarray, theta: float, v: np.ndarray, r: float, theta2: float, sign: float,
                 abs_norm: float) -> float | None:
    """A proven e with sign·λ_ext(A) ≥ sign·θ − e via a rank-one-deflated inertia certificate and Kato–Temple.

    With b halfway between θ and the estimate θ₂ of the next eigenvalue and c = 2|θ − b|, a Cholesky certificate
    that sign·(A − bI) + c vvᵀ is positive definite (up to its rounding margin m and the rounding of forming it)
    shows, by Cauchy interlacing for a rank-one update, that at most one eigenvalue of A lies beyond the barrier
    α = b ± (m + rounding) on θ's side.  The residual theorem puts an eigenvalue within r of θ; if it lies beyond
    α it is λ_ext, the only one there, and the Kato–Temple inequality (Kato 1949; Parlett, *The Symmetric
    Eigenvalue Problem*, Thm 10.7.1) gives |λ_ext − θ| ≤ r²/|θ − α| on the far side (Rayleigh gives 0 on the near
    side).  Returns None when the gap is too small to certify.
    """
    b = 0.5 * (theta + theta2)
    c = 2.0 * abs(theta - b)
    H = _shifted(A, b, sign)
    H += c * np.outer(v, v)
    form_round = 2 * _U * (abs_norm + abs(b) + c)
    m = _cholesky_certificate(H)
    del H
    if m is None:
        return None
    gap = abs(theta - b) - m - form_round
    if gap <= r:
        return None
    return r * r / gap


def certified_extreme_eigvalsh(A, *, dense_below: int = 600) -> Spectrum:
    r"""λ_min and λ_max of a symmetric matrix with rigorous error bounds, without an eigendecomposition.

    1. Estimates: λ_max by Lanczos (``scipy.sparse.linalg.eigsh``, which='LA'); λ_min by shift-invert Lanczos
       with the Cholesky factor of A (positive definite A; otherwise, and for N < ``dense_below``, the full
       :func:`certified_eigvalsh` is used).  Each estimate is the Rayleigh quotient θ = vᵀAv of a unit vector v,
       so λ_min ≤ θ_min and λ_max ≥ θ_max (Courant–Fischer), up to the rounding of θ, ≤ γ_N‖A‖₂.
    2. Certificates (Sylvester's law of inertia): if A − sI is positive definite, no eigenvalue of A lies
       below s.  Positive definiteness is proven by a floating-point Cholesky factorization that runs to
       completion, with Demmel's backward-error bound (Higham, *Accuracy and Stability of Numerical
       Algorithms*, 2nd ed., Thm 10.3): λ_min(A − sI) ≥ −m with m = 2γ_{N+1} ρ(|R̂|ᵀ|R̂|), computed
       (:func:`_cholesky_certificate`).  With s = θ_min − δ, δ = ‖r‖₂ + N u ‖A‖₂ (r = Av − θv the residual;
       δ is quadrupled if the factorization fails), λ_min ∈ [θ_min − δ − m, θ_min]; likewise λ_max via
       sI − A with s = θ_max + δ.
    The reported λ is the midpoint of the certified interval and ``error_bound`` (``error_bound_max``) its
    half-width, (δ + m + rounding of θ and of the shift)/2: a proof, not an a-priori estimate, and about the
    size of (in tests below) the backward-error term N ε ‖A‖₂ of :func:`certified_eigvalsh`.
    Cost: three Cholesky factorizations (N³/3 flops each, level-3 BLAS) and O(N²) per Lanczos step, against
    4N³/3 (half of it level-2 BLAS) for the tridiagonal reduction that any eigenvalue routine starts with.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve
    from scipy.sparse.linalg import LinearOperator, eigsh

    A = _check_symmetric(A)
    n = A.shape[0]
    if n < dense_below:
        return certified_eigvalsh(A)
    try:
        fac = cho_factor(A, lower=False, check_finite=False)
    except LinAlgError:
        return certified_eigvalsh(A)
    v0 = np.ones(n) / np.sqrt(n)
    hi, vhi = eigsh(A, k=2, which="LA", v0=v0, tol=1e-14)
    inv = LinearOperator((n, n), matvec=lambda x: cho_solve(fac, x, check_finite=False), dtype=np.float64)  # noqa: F821 - fac is deleted below, after its last use
    mu, vlo = eigsh(inv, k=2, which="LA", v0=v0, tol=1e-10)
    th2_hi, th2_lo = float(np.min(hi)), 1.0 / float(np.min(mu))  # estimates of λ_{N−1} and λ_2
    vhi, vlo = vhi[:, [int(np.argmax(hi))]], vlo[:, int(np.argmax(mu))]
    for _ in range(2):  # two steps of inverse iteration shrink the residual by (λ_1/λ_2)² more
        vlo = cho_solve(fac, vlo / np.linalg.norm(vlo), check_finite=False)
    del fac
    vhi = vhi[:, 0] / np.linalg.norm(vhi[:, 0])
    vlo = vlo / np.linalg.norm(vlo)
    Avhi, Avlo = A @ vhi, A @ vlo
    th_hi, th_lo = float(vhi @ Avhi), float(vlo @ Avlo)
    norm = max(abs(th_hi), abs(th_lo))  # ‖A‖₂ up to the certified error below
    rq_round = _gamma(n) * norm
    abs_norm = float(np.max(np.sum(np.abs(A), axis=1)))  # ‖|A|‖_∞ ≥ ‖|A|‖₂ (A symmetric)
    res_round = _gamma(n + 1) * (abs_norm + norm)  # rounding of the computed residual's norm
    r_lo = float(np.linalg.norm(Avlo - th_lo * vlo)) + res_round
    r_hi = float(np.linalg.norm(Avhi - th_hi * vhi)) + res_round
    e_lo = _kato_temple(A, th_lo, vlo, r_lo, th2_lo, 1.0, abs_norm)
    if e_lo is None:
        e_lo = _certify_below(A, th_lo, r_lo + 0.1 * n * _U * norm, 1.0)
    e_hi = _kato_temple(A, th_hi, vhi, r_hi, th2_hi, -1.0, abs_norm)
    if e_hi is None:
        e_hi = _certify_below(A, th_hi, r_hi + 0.1 * n * _U * norm, -1.0)
    if e_lo is None or e_hi is None:
        return certified_eigvalsh(A)
    # certified intervals λ_min ∈ [θ_min − e_lo, θ_min + rq_round], λ_max ∈ [θ_max − rq_round, θ_max + e_hi]:
    # report their midpoints and half-widths
    lo = th_lo + 0.5 * (rq_round - e_lo)
    hi = th_hi + 0.5 * (e_hi - rq_round)
    return Spectrum(lo, hi, 0.5 * (e_lo + rq_round), 0.5 * (e_hi + rq_round), n,
                    "Lanczos estimates + Cholesky inertia certificates (Demmel's bound)", None, vlo)
