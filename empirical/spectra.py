r"""Torch-side wrappers around the certified eigen-solver of :mod:`ntkcheck.theory.spectra`.

The solver itself (float64 ``eigh`` with residual and backward-error bounds, singularity flag) is theory's;
this module only moves a torch or numpy kernel to a float64 numpy array, checks that it is a finite
symmetric square matrix, and returns the spectrum or a JSON-ready summary of λ_min.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError

__all__ = ["as_float64_matrix", "certified_spectrum", "lambda_min_summary"]


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


def certified_spectrum(K: Any, **kw: Any):
    """:func:`ntkcheck.theory.spectra.certified_eigvalsh` of ``K`` (torch or numpy) in float64."""
    from ntkcheck.theory.spectra import certified_eigvalsh

    return certified_eigvalsh(as_float64_matrix(K), **kw)


def lambda_min_summary(K: Any, **kw: Any) -> dict[str, Any]:
    """λ_min with its certified error bound, λ_max, the condition number and the singular flag (JSON-ready)."""
    sp = certified_spectrum(K, **kw)
    return {"lambda_min": float(sp.lambda_min), "lambda_max": float(sp.lambda_max),
            "error_bound": float(sp.error_bound), "cond": float(sp.cond), "singular": bool(sp.singular)}
