"""certified_extreme_eigvalsh (Lanczos + Cholesky inertia certificates) against LAPACK's full spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.theory.kernels import ntk_gram
from ntkcheck.theory.spectra import certified_eigvalsh, certified_extreme_eigvalsh

N = 700  # above dense_below, so the certificate path runs


def _gram(seed, d=24, ridge=0.0):
    X = np.random.default_rng(seed).standard_normal((N, d))
    return X @ X.T / d + ridge * np.eye(N)


def _contains(s, w):
    # the certified intervals contain LAPACK's eigenvalues (whose own error is ≤ N ε ‖A‖, the old bound)
    old = N * np.finfo(float).eps * max(abs(w[0]), abs(w[-1]))
    assert abs(s.lambda_min - w[0]) <= s.error_bound + old
    assert abs(s.lambda_max - w[-1]) <= s.error_bound_max + old


@pytest.mark.parametrize("make", [
    lambda: _gram(0, d=1000),
    lambda: ntk_gram({"fc": ["relu"] * 4}, np.random.default_rng(1).standard_normal((N, 16))),
    lambda: ntk_gram({"fc": ["tanh", "tanh"]}, np.random.default_rng(2).standard_normal((N, 8))),
])
def test_certified_interval_contains_lapack_and_is_not_looser(make):
    # simple (non-repeated) extreme eigenvalues: the Kato–Temple certificate applies and is tighter than the old bound
    A = make()
    s = certified_extreme_eigvalsh(A)
    assert "Cholesky" in s.method
    w = np.linalg.eigvalsh(A)
    _contains(s, w)
    old = certified_eigvalsh(A)  # full eigh: residual + N ε ‖A‖
    assert s.error_bound <= old.error_bound and s.error_bound_max <= old.error_bound_max


def test_clustered_ends_and_shift():
    # a repeated smallest and largest eigenvalue (no gap: Kato–Temple cannot apply, the plain certificate does)
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    lam = np.linspace(1.0, 5.0, N)
    lam[:3] = 0.5
    lam[-3:] = 9.0
    A = (Q * lam) @ Q.T
    s = certified_extreme_eigvalsh(A)
    _contains(s, np.linalg.eigvalsh(A))
    assert s.error_bound < 1e-9 and s.error_bound_max < 1e-9
    # perturbation: shifting A by t·I moves both certified values by t (a check that sees what it measures)
    s2 = certified_extreme_eigvalsh(A + 1e-6 * np.eye(N))
    assert abs((s2.lambda_min - s.lambda_min) - 1e-6) <= s.error_bound + s2.error_bound
    assert abs((s2.lambda_max - s.lambda_max) - 1e-6) <= s.error_bound_max + s2.error_bound_max


def test_singular_falls_back_to_full_spectrum():
    A = _gram(4, d=10)  # rank 10: not positive definite
    s = certified_extreme_eigvalsh(A)
    assert "LAPACK" in s.method and s.singular
    _contains(s, np.linalg.eigvalsh(A))
