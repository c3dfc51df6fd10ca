r"""Torch-side wrappers around the certified eigen-solver of :mod:`ntkcheck.theory.spectra`.

The solver itself (float64 ``eigh`` with residual and backward-error bounds, singularity flag) is theory's;
this module only moves a torch or numpy kernel to a float64 numpy array, checks that it is a finite
symmetric square matrix, and returns the spectrum or a JSON-ready summary of λ_min.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError

__all__ = ["DENSE_BELOW", "as_float64_matrix", "certified_spectrum", "lambda_min_summary"]


def as_float64_matrix(K: Any, *, name: str = "kernel") -> np.ndarray:
    """A torch tensor or array → float64 numpy (N×N), checked square and finite.

    The matrix is symmetrised as (K + Kᵀ)/2 (a Gram matrix computed in floating point is symmetric only up
    to rounding; the asymmetry is at most a few ulps of its entries for every engine here).
    """
    try:
        import torch

        if isinstance(K, torch.Tensor):
            K = K.detach().to("cpu", torch.float64).numpy()
    except ImportError:  # pragma: no cover - torch is a dependency of empirical/
        pass
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise NtkcheckError(f"{name} must be a square N×N matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise NtkcheckError(f"{name} contains NaN or infinite values")
    return 0.5 * (K + K.T)


#: Above this size only the extreme eigenvalues are computed (Lanczos estimates proven by Cholesky inertia
#: certificates) instead of the full spectrum: a dense float64 eigendecomposition of a 10,000 × 10,000 kernel
#: takes minutes on a laptop CPU.
DENSE_BELOW = 3000


def certified_spectrum(K: Any, *, dense_below: int = DENSE_BELOW):
    """Certified λ_min/λ_max of ``K`` (torch or numpy) in float64: theory's
    :func:`~ntkcheck.theory.spectra.certified_eigvalsh` (full spectrum) for N < ``dense_below``, else
    :func:`~ntkcheck.theory.spectra.certified_extreme_eigvalsh` (the ``method`` field of the result says
    which; a matrix that is not positive definite falls back to the full spectrum)."""
    from ntkcheck.theory.spectra import certified_eigvalsh, certified_extreme_eigvalsh

    A = as_float64_matrix(K)
    if A.shape[0] < dense_below:
        return certified_eigvalsh(A)
    return certified_extreme_eigvalsh(A, dense_below=dense_below)


def lambda_min_summary(K: Any, **kw: Any) -> dict[str, Any]:
    """λ_min with its certified error bound, λ_max, the condition number, the singular flag and the
    method (JSON-ready)."""
    sp = certified_spectrum(K, **kw)
    return {"lambda_min": float(sp.lambda_min), "lambda_max": float(sp.lambda_max),
            "error_bound": float(sp.error_bound), "cond": float(sp.cond), "singular": bool(sp.singular),
            "method": sp.method}
