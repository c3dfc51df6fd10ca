r"""The quantities a bound can be checked against, each with a certified error bound.

=============================  ==========================================================================================
``ntk_lambda_min``/``_max``    extreme eigenvalue of the infinite-width NTK Θ (:mod:`ntkcheck.theory.kernels`)
``nngp_lambda_min``/``_max``   extreme eigenvalue of the infinite-width NNGP K
``empirical_ntk_lambda_min``   λ_min of the empirical NTK Θ̂ of the finite network at width n, one value per seed
                               (statistical verdict, see :func:`statistical_violation`)
``convergence_rate``           1 − η·λ_min(K^(H))/2, K^(H) the NNGP of the last node (Chen et al. 2022, Thm 3.1);
                               searched on ``linact`` DAGs (their Eq. 1–2 edges, readout none, raw input)
=============================  ==========================================================================================

Certification (engineering.md "Numerics"). An infinite-width kernel entry is
computed by the dual kernels to the stated quadrature tolerance ``QUAD_RTOL`` (relative to the kernel's scale,
:mod:`ntkcheck.theory.dual_kernels`); a perturbation E of an N×N matrix moves every eigenvalue by at most
‖E‖₂ ≤ N·max|E_ij| (Weyl), so the kernel side is known to within

    tol_kernel = spectrum.error_bound + N · max(QUAD_RTOL · s, quadrature_error, √ε · s) · depth_factor,
    s = max(1, max|K_ij|),

where √ε covers the conditioning of the closed-form arc-cosine kernels near |ρ| = 1 (:data:`CLOSED_FORM_RTOL`),
``quadrature_error`` is the engine's largest estimated per-evaluation error
(:class:`ntkcheck.theory.kernels.InfiniteWidthKernels`) and depth_factor = L + 1 allows it to accumulate once
per layer of the recursion.  The bound side is
evaluated from Hermite coefficients (relative tolerance ≤ 1e-14, :mod:`ntkcheck.theory.hermite`) and certified
eigenvalues of XXᵀ and its Hadamard powers; we charge it QUAD_RTOL·max(1, |bound|), which dominates both.
A violation counts only when it exceeds tol_kernel + tol_bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError

__all__ = ["QUANTITIES", "QuantityValue", "compute_quantity", "check_quantity_name", "statistical_violation",
           "quad_rtol", "EMPIRICAL_DELTA", "EMPIRICAL_ALPHA"]

QUANTITIES: dict[str, str] = {
    "ntk_lambda_min": "λ_min of the infinite-width NTK",
    "ntk_lambda_max": "λ_max of the infinite-width NTK",
    "nngp_lambda_min": "λ_min of the infinite-width NNGP",
    "nngp_lambda_max": "λ_max of the infinite-width NNGP",
    "empirical_ntk_lambda_min": "λ_min of the empirical NTK at width n (statistical verdict over seeds)",
    "convergence_rate": "1 − η λ_min(K^(H))/2, K^(H) the NNGP of the last node (Chen et al. 2022, Thm 3.1)",
}

#: Closed-form (arc-cosine) dual kernels evaluate arccos(ρ), whose derivative −1/√(1−ρ²) is unbounded at
#: |ρ| = 1: a rounding error ε in ρ becomes ε/√(1−ρ²) ≤ √ε ≈ 1.5e-8 in the kernel entry (observed: the ReLU
#: NTK entry of two antipodal points is −1.3e-8 instead of 0).  We charge √ε relative to the kernel's scale
#: per entry and layer, so that no such rounding is ever reported as a violation.
CLOSED_FORM_RTOL = float(np.sqrt(np.finfo(np.float64).eps))

#: Empirical quantity: a bound is violated "statistically" when the per-seed violation frequency is
#: significantly above EMPIRICAL_DELTA (one-sided exact binomial test at level EMPIRICAL_ALPHA): a with-high-
#: probability bound may fail on a δ-fraction of initialisations, so single failures are not evidence.
EMPIRICAL_DELTA = 0.1
EMPIRICAL_ALPHA = 0.01


def check_quantity_name(name: str) -> str:
    if name not in QUANTITIES:
        raise NtkcheckError(f"unknown quantity {name!r}; known: {', '.join(QUANTITIES)}")
    return name


def quad_rtol() -> float:
    """The dual kernels' stated quadrature tolerance (relative to the kernel's scale)."""
    from ntkcheck.theory import dual_kernels
    return float(dual_kernels.QUAD_RTOL)


@dataclass(frozen=True)
class QuantityValue:
    """A quantity's value and the certified half-width ``tol_kernel`` of its uncertainty.

    For the empirical quantity ``per_seed`` holds (seed, λ_min, error_bound) for each network.
    """

    name: str
    value: float
    error_bound: float
    tol_kernel: float
    singular: bool = False
    degenerate: bool = False
    kernel_name: str = "ntk"
    per_seed: tuple[tuple[int, float, float], ...] = ()
    extra: dict = field(default_factory=dict, compare=False)


def kernel_name_of(quantity: str) -> str:
    return "nngp" if quantity.startswith("nngp") or quantity == "convergence_rate" else "ntk"


def compute_quantity(quantity: str, ctx: Any, *, seeds: int = 8, eta: float | None = None) -> QuantityValue:
    """The quantity on the configuration of ``ctx`` (a :class:`~ntkcheck.bound_check.vocabulary.BoundContext`)."""
    from ntkcheck.theory.spectra import certified_eigvalsh

    check_quantity_name(quantity)
    depth = ctx.spec.L + 1
    if quantity == "empirical_ntk_lambda_min":
        from ntkcheck.empirical.ntk import iter_seed_kernels

        rows, kernels = [], {}
        for sk in iter_seed_kernels(ctx.spec, ctx.X, int(ctx.n), int(seeds)):
            K = np.asarray(sk.ntk, dtype=np.float64)
            s = certified_eigvalsh(K)
            rows.append((int(sk.seed), float(s.lambda_min), float(s.error_bound)))
            kernels[int(sk.seed)] = K
        vals = np.array([r[1] for r in rows])
        return QuantityValue(quantity, float(np.median(vals)), float(max(r[2] for r in rows)),
                             float(max(r[2] for r in rows)), kernel_name="ntk", per_seed=tuple(rows),
                             extra={"kernels": kernels})
    K = ctx.K
    spec = certified_eigvalsh(K)
    scale = max(1.0, float(np.max(np.abs(K)))) if K.size else 1.0
    quad_abs = max(quad_rtol() * scale, float(getattr(ctx.kernels, "quadrature_error", 0.0)),
                   CLOSED_FORM_RTOL * scale)
    eig_err = float(spec.error_bound_max if quantity.endswith("lambda_max") else spec.error_bound)
    tol_k = eig_err + K.shape[0] * quad_abs * depth
    degenerate = bool(getattr(ctx.spec, "is_degenerate", False))
    if quantity.endswith("lambda_min"):
        v = float(spec.lambda_min)
    elif quantity.endswith("lambda_max"):
        v = float(spec.lambda_max)
    else:  # convergence_rate
        if eta is None or not (eta > 0 and math.isfinite(eta)):
            raise NtkcheckError("convergence_rate needs a learning rate eta > 0")
        v = 1.0 - eta * float(spec.lambda_min) / 2.0
        tol_k = eta / 2.0 * tol_k
    return QuantityValue(quantity, v, eig_err, tol_k, singular=bool(spec.singular),
                         degenerate=degenerate, kernel_name=kernel_name_of(quantity))


def statistical_violation(n_violating: int, n_seeds: int, *, delta: float = EMPIRICAL_DELTA,
                          alpha: float = EMPIRICAL_ALPHA) -> tuple[bool, float]:
    """Exact one-sided binomial test of H0 "P(violation) ≤ δ"; returns (rejected, p-value)."""
    from scipy.stats import binom

    p = float(binom.sf(n_violating - 1, n_seeds, delta)) if n_violating > 0 else 1.0
    return p < alpha, p
