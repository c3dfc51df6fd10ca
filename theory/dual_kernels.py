r"""Dual kernels of activations: Gaussian expectations E[φ(u)φ(v)] and E[φ'(u)φ'(v)].

For (u, v) ~ N(0, [[q₁, c], [c, q₂]]) the *dual kernel* of φ is

.. math::  \hat\varphi(q_1, c, q_2) = \mathbb E[\varphi(u)\varphi(v)],

and the *derivative dual kernel* is the same with φ'.  These are the only activation-dependent
ingredients of the infinite-width NNGP/NTK recursion.

Closed forms (exact in float64, with ρ = c/√(q₁q₂) and θ = arccos ρ):

* ReLU (arc-cosine kernel of degree 1 and 0; Cho & Saul 2009):
  E[φφ] = √(q₁q₂)/(2π)·(sin θ + (π − θ) cos θ),  E[φ'φ'] = (π − θ)/(2π);
* leaky ReLU with slope a, φ = a·x + (1 − a)·relu(x) (E[u·relu(v)] = c/2 by the symmetry (u,v) ↦ (−u,−v)):
  E[φφ] = a·c + (1 − a)²·E[relu relu],  E[φ'φ'] = a + (1 − a)²(π − θ)/(2π);
* erf (Williams 1997, "Computing with infinite networks"):
  E[φφ] = (2/π)·arcsin(2c/√((1 + 2q₁)(1 + 2q₂))),  E[φ'φ'] = (4/π)/√((1 + 2q₁)(1 + 2q₂) − 4c²);
* identity: E[uv] = c, E[1·1] = 1;
* GELU φ(x) = x·Φ(x) (derived for ntkcheck by Gaussian integration by parts; tested against quadrature,
  Monte Carlo and the Mehler series in tests/theory/test_dual_kernels.py), with D = (1+q₁)(1+q₂) − c² and
  P = ¼ + arcsin(c/√((1+q₁)(1+q₂)))/(2π):
  E[φφ] = c·P + [q₁q₂ + c²(1/(1+q₁) + 1/(1+q₂) − 1)]/(2π√D),
  E[φ'φ'] = P + c(1/(1+q₁) + 1/(1+q₂))/(2π√D) + c/(2π D^{3/2}).

Every other activation is integrated numerically with a stated tolerance :data:`QUAD_RTOL` (relative to
the scale √(E[φ(u)²]E[φ(v)²]), or absolute when that scale is below 1).

**All pairs of a Gram matrix at once** (:func:`dual_gram`, :func:`dual_gram_pair` on an N×N covariance with
arbitrary per-point variances q_i, activations whose kinks are at 0 or absent): per point, the Hermite
coefficients μ_k(q_i) = E[φ(√q_i t) h_k(t)], k ≤ 64 (or 256 where needed), by one shared composite
Gauss–Legendre rule per variance band (one matrix product for all points), then Mehler's formula
E[φ(u_i)φ(u_j)] = Σ_k μ_k(q_i) μ_k(q_j) ρ_ij^k (e.g. O'Donnell, *Analysis of Boolean Functions*, §11.2) truncated
per pair at the smallest degree K whose certified bound |ρ|^{K+1} √(T_i(K) T_j(K)) + (coefficient error) is
≤ QUAD_RTOL/2 — T_i(K) = E[φ(u_i)²] − Σ_{k≤K} μ_k(q_i)² is the Parseval tail, the bound is Cauchy–Schwarz
(:class:`_MehlerTable`).  Pairs with |ρ| too close to 1 for degree 256 go to the per-pair path below.
The diagonal is E[φ(u_i)²] from the same 1-D rule.  O(N·M·K) for the coefficients and O(N²·K̄) for the sums,
in chunks of 16,384 pairs (a progress bar appears after 2 s; Ctrl-C is seen between chunks).

**Per pair** (:func:`dual_kernel`, and the pairs the Mehler bound cannot certify):

1. tensor Gauss–Hermite quadrature in standardized coordinates, with the order doubled (32 → 256) until
   two successive orders agree to a tenth of the tolerance — only for smooth activations (no kinks) and
   q ≤ 64: above it the node spacing of a 256-point rule cannot resolve φ(√q z), and with a kink the
   convergence is algebraic, so agreement of two orders would not mean convergence;
2. for the pairs where that fails — large pre-activation variance q makes φ(√q z) vary on a scale 1/√q that
   a fixed Gauss–Hermite grid cannot resolve, and kinks make it converge only algebraically — a composite
   Gauss–Legendre rule in *activation coordinates*, where φ's features (kinks, the transition of tanh, ...)
   have a fixed O(1) scale: the real line is split at the activation's kinks, at the integer points of
   [−F, F] (F = :data:`FEATURE_RANGE`) and at every standard deviation of the Gaussian weight out to
   ±12σ (tail mass < 1e-32), and each panel gets a 16-point Gauss–Legendre rule (the result at 12 points
   is kept as the error estimate); the rule is built in standardized coordinates, so a very narrow
   conditional Gaussian (ρ → 1) loses no digits, and the outer rule also breaks where the conditional mean
   c·u/q₁ crosses a feature or kink (blurred by the conditional standard deviation). The conditional decomposition v | u ~ N(c u/q₁, q₂ − c²/q₁) turns the
   2-D integral into nested 1-D ones.

Variances q = 0 (a zero node, e.g. an NB201 cell with no input→output path) are handled exactly:
u ≡ 0, so E[φ(u)φ(v)] = φ(0)·E[φ(v)].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss

from ntkcheck.errors import NtkcheckError

from .activations import Activation, get_activation

__all__ = [
    "dual_kernel",
    "dual_kernel_with_error",
    "dual_gram",
    "dual_gram_pair",
    "mean_activation",
    "second_moment",
    "has_closed_form",
    "QUAD_RTOL",
    "FEATURE_RANGE",
    "CLOSED_FORMS",
]

#: Tolerance of the numerical dual kernels, relative to max(1, √(E[φ(u)²]E[φ(v)²])).
QUAD_RTOL = 1e-10
#: Activations are assumed to have their non-linear features (transitions, curvature) within [−F, F]
#: and to be smooth on a unit scale elsewhere (true for every built-in one).
FEATURE_RANGE = 16.0

#: Activation families with closed-form dual kernels.
CLOSED_FORMS = ("relu", "leaky_relu", "erf", "identity", "gelu")

_GH_ORDERS = (32, 64, 128, 256)
#: Above this variance Gauss–Hermite cannot resolve φ(√q z) (feature width 1/√q): go straight to panels.
_GH_MAX_VARIANCE = 64.0
_GL_ORDER = 16
_GL_CHECK_ORDER = 12
_SIGMAS = 12.0
_EPS = np.finfo(np.float64).eps


def has_closed_form(act: str | Activation) -> bool:
    """True when :func:`dual_kernel` uses an exact formula for this activation."""
    return get_activation(act).family in CLOSED_FORMS


# ---- closed forms --------------------------------------------------------------------------------

def _rho_theta(q1, c, q2):
    """ρ = c/√(q₁q₂) and θ = arccos ρ; |ρ| within 4ε of 1 is set to ±1 exactly (arccos has slope ∞ there, so
    a rounding error of ε in ρ would otherwise become √(2ε) ≈ 2e-8 in θ, e.g. on every diagonal entry)."""
    s = np.sqrt(q1 * q2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(s > 0, c / np.where(s > 0, s, 1.0), 0.0)
    rho = np.clip(rho, -1.0, 1.0)
    rho = np.where(np.abs(rho) >= 1.0 - 4 * np.finfo(float).eps, np.sign(rho), rho)
    return s, rho, np.arccos(rho)


def _relu_pair(q1, c, q2, derivative):
    s, rho, theta = _rho_theta(q1, c, q2)
    if derivative:
        return (np.pi - theta) / (2 * np.pi)
    return s / (2 * np.pi) * (np.sqrt(np.maximum(0.0, 1 - rho * rho)) + (np.pi - theta) * rho)


def _closed_form(act: Activation, q1, c, q2, derivative):
    fam = act.family
    if fam == "identity":
        return np.ones_like(c) if derivative else 1.0 * c
    if fam in ("relu", "leaky_relu"):
        a = 0.0 if fam == "relu" else act.param
        base = _relu_pair(q1, c, q2, derivative)
        return a + (1 - a) ** 2 * base if derivative else a * c + (1 - a) ** 2 * base
    if fam == "gelu":
        d1, d2 = 1 + q1, 1 + q2
        D = np.maximum(d1 * d2 - c * c, np.finfo(float).tiny)
        P = 0.25 + np.arcsin(np.clip(c / np.sqrt(d1 * d2), -1.0, 1.0)) / (2 * np.pi)
        if derivative:
            return P + c * (1 / d1 + 1 / d2) / (2 * np.pi * np.sqrt(D)) + c / (2 * np.pi * D ** 1.5)
        return c * P + (q1 * q2 + c * c * (1 / d1 + 1 / d2 - 1)) / (2 * np.pi * np.sqrt(D))
    if fam == "erf":
        d1, d2 = 1 + 2 * q1, 1 + 2 * q2
        if derivative:
            return (4 / np.pi) / np.sqrt(np.maximum(d1 * d2 - 4 * c * c, np.finfo(float).tiny))
        return (2 / np.pi) * np.arcsin(np.clip(2 * c / np.sqrt(d1 * d2), -1.0, 1.0))
    raise KeyError(fam)


# ---- numerical quadrature ------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _gh(n: int):
    z, w = hermegauss(n)
    return z, w / np.sqrt(2 * np.pi)


@lru_cache(maxsize=None)
def _gl(n: int):
    return leggauss(n)


def _gh_pairs(f, q1, c, q2, n):
    """Tensor Gauss–Hermite of E[f(u)f(v)] for 1-D arrays of pairs (q1, c, q2)."""
    z, w = _gh(n)
    sq1 = np.sqrt(q1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(sq1 > 0, c / np.where(sq1 > 0, sq1, 1.0), 0.0)  # v = a z1 + b z2
    b = np.sqrt(np.maximum(q2 - a * a, 0.0))
    fu = f(sq1[:, None] * z[None, :])  # (P, n)
    fv = f(a[:, None, None] * z[None, :, None] + b[:, None, None] * z[None, None, :])  # (P, n, n)
    inner = fv @ w  # (P, n)
    return (fu * inner) @ w


def _feature_points(kinks) -> np.ndarray:
    """Breakpoints in activation coordinates: the integer points of [−F, F] and the activation's kinks."""
    return np.concatenate([np.arange(-FEATURE_RANGE, FEATURE_RANGE + 1.0), np.asarray(kinks, dtype=float)])


def _panel_rule(center, sigma, pts, order):
    """Composite Gauss–Legendre nodes/weights for ∫ g(x) N(x; center, sigma²) dx, rows = independent rules.

    Built in standardized coordinates t = (x − center)/sigma (so a narrow Gaussian loses no digits to
    cancellation): breakpoints at every integer t in [−12, 12] and at the images of the points ``pts``
    (shape (K,) shared by all rows, or (R, K) per row; x-space), each panel with an ``order``-point
    Gauss–Legendre rule weighted by the standard normal density.  center, sigma: (R,) with sigma > 0.
    Returns x, w of shape (R, M).
    """
    R = center.shape[0]
    pts = np.asarray(pts, dtype=float)
    pts = np.broadcast_to(pts, (R, pts.shape[-1]))
    k = np.arange(-_SIGMAS, _SIGMAS + 1.0)
    tb = np.clip((pts - center[:, None]) / sigma[:, None], -_SIGMAS, _SIGMAS)
    bp = np.sort(np.concatenate([np.broadcast_to(k, (R, k.size)), tb], axis=1), axis=1)
    if R == 1:  # drop duplicate breakpoints (zero-width panels) when there is a single rule
        bp = np.unique(bp)[None, :]
    left, right = bp[:, :-1], bp[:, 1:]
    t, wt = _gl(order)
    half = 0.5 * (right - left)
    tt = (0.5 * (right + left))[..., None] + half[..., None] * t  # (R, K, order)
    w = half[..., None] * wt * np.exp(-0.5 * tt * tt) / np.sqrt(2 * np.pi)
    x = center[:, None, None] + sigma[:, None, None] * tt
    return x.reshape(R, -1), w.reshape(R, -1)


def _panel_pairs(f, kinks, q1, c, q2, order):
    """Nested composite Gauss–Legendre for E[f(u)f(v)], 1-D arrays of pairs with q1 > 0.

    v | u ~ N(m(u), s²) with m(u) = (c/q₁)u and s² = q₂ − c²/q₁ (set to 0 when it is rounding noise, |ρ| = 1).
    The inner conditional expectation g(u) = E[f(v) | u] varies where m(u) crosses f's features, blurred by s,
    so the outer rule also breaks at the preimages under m of the feature points, of the kinks ± j·s and of
    ±F ± j·s (j = 0..12) — without them a kinked f converges only algebraically near ρ = 1.
    """
    P = q1.shape[0]
    su = np.sqrt(q1)
    slope = c / q1
    s2 = q2 - c * slope
    s2 = np.where(s2 <= 8 * np.finfo(float).eps * q2, 0.0, s2)
    s = np.sqrt(s2)
    own = _feature_points(kinks)
    kk = np.asarray(kinks, dtype=float)
    j = np.arange(-_SIGMAS, _SIGMAS + 1.0)
    F = FEATURE_RANGE
    out = np.empty(P)
    for p in range(P):
        pts = [own]
        if slope[p] != 0.0:
            blur = np.concatenate([j * s[p], F + j * s[p], -F + j * s[p]])
            pts += [own / slope[p], blur / slope[p]]
            if kk.size:
                pts.append((kk[:, None] + j[None, :] * s[p]).ravel() / slope[p])
        u, wu = _panel_rule(np.zeros(1), su[p:p + 1], np.concatenate(pts), order)
        u, wu = u[0], wu[0]
        m = slope[p] * u
        if s[p] == 0.0:
            inner = f(m)
        else:
            # Inner rule for N(m, s²): only the integer feature points inside [m − 12s, m + 12s] matter, at
            # most ⌊24s⌋ + 2 of them per row (a narrow conditional Gaussian sees few features).
            kf = int(min(2 * F + 1, np.floor(24 * s[p]) + 2))
            start = np.clip(np.ceil(m - _SIGMAS * s[p]), -F, F)  # first integer feature inside the window
            feats = np.clip(start[:, None] + np.arange(kf)[None, :], -F, F)
            pts_in = np.concatenate([feats, np.broadcast_to(kk, (m.size, kk.size))], axis=1)
            y, wy = _panel_rule(m, np.full(m.shape, s[p]), pts_in, order)
            inner = np.sum(f(y) * wy, axis=1)
        out[p] = np.sum(f(u) * inner * wu)
    return out


def _numeric_pairs(act: Activation, q1, c, q2, derivative):
    """Numerical dual kernel for 1-D arrays of pairs with q1, q2 > 0; returns (value, error estimate)."""
    f = act.deriv if derivative else act.fn
    scale = np.maximum(1.0, np.sqrt(_gaussian_moment(f, act.kinks, q1, 2) * _gaussian_moment(f, act.kinks, q2, 2)))
    tol = QUAD_RTOL * scale
    val = np.full(q1.shape, np.nan)
    err = np.full(q1.shape, np.inf)
    # Gauss–Hermite only for smooth activations at moderate variance: with a kink it converges algebraically,
    # and two successive orders can agree without having converged.
    gh_ok = (np.maximum(q1, q2) <= _GH_MAX_VARIANCE) & (not act.kinks)
    pending = np.flatnonzero(gh_ok)
    direct = np.flatnonzero(~gh_ok)
    prev = _gh_pairs(f, q1[pending], c[pending], q2[pending], _GH_ORDERS[0]) if pending.size else np.empty(0)
    for n in _GH_ORDERS[1:]:
        if pending.size == 0:
            break
        cur = _gh_pairs(f, q1[pending], c[pending], q2[pending], n)
        diff = np.abs(cur - prev)
        ok = diff <= 0.1 * tol[pending]
        val[pending[ok]] = cur[ok]
        err[pending[ok]] = diff[ok]
        pending, prev = pending[~ok], cur[~ok]
    pending = np.concatenate([pending, direct])
    if pending.size:
        hi = _panel_pairs(f, act.kinks, q1[pending], c[pending], q2[pending], _GL_ORDER)
        lo = _panel_pairs(f, act.kinks, q1[pending], c[pending], q2[pending], _GL_CHECK_ORDER)
        val[pending] = hi
        err[pending] = np.abs(hi - lo)
        bad = err[pending] > tol[pending]
        if np.any(bad):
            i = pending[np.argmax(bad)]
            raise NtkcheckError(
                f"quadrature for the dual kernel of {act.name} did not reach tolerance {QUAD_RTOL:g} at "
                f"(q1, c, q2) = ({q1[i]:.3g}, {c[i]:.3g}, {q2[i]:.3g}); the activation may have features "
                f"outside [-{FEATURE_RANGE:g}, {FEATURE_RANGE:g}] or undeclared kinks")
    return val, err


def _gaussian_moment(f, kinks, q, power: int):
    """E[f(√q z)^power], z ~ N(0,1), elementwise in q ≥ 0, by the 1-D panel rule (error ≲ 1e-13 relative)."""
    q = np.asarray(q, dtype=float)
    flat = q.ravel()
    out = np.empty_like(flat)
    pos = flat > 0
    if np.any(pos):
        uq, inv = np.unique(flat[pos], return_inverse=True)
        x, w = _panel_rule(np.zeros(uq.size), np.sqrt(uq), _feature_points(kinks), _GL_ORDER)
        out[pos] = np.sum(f(x) ** power * w, axis=1)[inv]
    if np.any(~pos):
        out[~pos] = float(f(np.zeros(1))[0]) ** power
    return out.reshape(q.shape)


# ---- public API ----------------------------------------------------------------------------------

def _check_cov(q1, c, q2):
    q1, c, q2 = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (q1, c, q2)))
    if np.any(q1 < 0) or np.any(q2 < 0):
        raise NtkcheckError("dual kernel: variances must be >= 0")
    if not (np.all(np.isfinite(q1)) and np.all(np.isfinite(q2)) and np.all(np.isfinite(c))):
        raise NtkcheckError("dual kernel: covariance has NaN or infinite entries")
    # Clip tiny violations of |c| <= sqrt(q1 q2) caused by rounding.
    bound = np.sqrt(q1 * q2)
    c = np.clip(c, -bound, bound)
    return q1, c, q2


def dual_kernel_with_error(act, q1, c, q2, *, derivative: bool = False):
    r"""E[φ(u)φ(v)] (or E[φ'(u)φ'(v)]) for (u, v) ~ N(0, [[q₁, c], [c, q₂]]) with an error estimate.

    Parameters broadcast against each other.  Returns ``(value, error)``; ``error`` is 0 for closed
    forms (up to float64 rounding) and the quadrature's estimated absolute error otherwise.
    """
    act = get_activation(act)
    q1, c, q2 = _check_cov(q1, c, q2)
    if act.family in CLOSED_FORMS:
        return _closed_form(act, q1, c, q2, derivative), np.zeros(q1.shape)
    f = act.deriv if derivative else act.fn
    val = np.empty(q1.shape)
    err = np.zeros(q1.shape)
    z1, z2 = q1 == 0, q2 == 0
    f0 = float(f(np.zeros(1))[0])
    both = z1 & z2
    val[both] = f0 * f0
    only1 = z1 & ~z2
    val[only1] = f0 * _gaussian_moment(f, act.kinks, q2[only1], 1)
    only2 = z2 & ~z1
    val[only2] = f0 * _gaussian_moment(f, act.kinks, q1[only2], 1)
    gen = ~(z1 | z2)
    if np.any(gen):
        # Deduplicate identical covariances (common on the sphere and across a batch of architectures).
        trip = np.stack([q1[gen], c[gen], q2[gen]], axis=1)
        uniq, inv = np.unique(trip, axis=0, return_inverse=True)
        v, e = _numeric_pairs(act, uniq[:, 0], uniq[:, 1], uniq[:, 2], derivative)
        val[gen] = v[inv.ravel()]
        err[gen] = e[inv.ravel()]
    return val, err


def dual_kernel(act, q1, c, q2, *, derivative: bool = False) -> np.ndarray:
    r"""E[φ(u)φ(v)] (``derivative=False``) or E[φ'(u)φ'(v)] for (u, v) ~ N(0, [[q₁, c], [c, q₂]]).

    Domain: q₁, q₂ ≥ 0 and |c| ≤ √(q₁q₂) (tiny rounding violations are clipped).  Arrays broadcast.
    Closed forms for :data:`CLOSED_FORMS`; otherwise quadrature to :data:`QUAD_RTOL` (module docstring).
    """
    return dual_kernel_with_error(act, q1, c, q2, derivative=derivative)[0]


def second_moment(act, q, *, derivative: bool = False) -> np.ndarray:
    """E[φ(√q z)²] (or E[φ'(√q z)²]), z ~ N(0, 1): the diagonal of the dual kernel."""
    q = np.asarray(q, dtype=np.float64)
    return dual_kernel(act, q, q, q, derivative=derivative)


def mean_activation(act, q) -> np.ndarray:
    r"""E[φ(√q z)], z ~ N(0,1), elementwise in q ≥ 0.

    Closed forms: ReLU √q/√(2π); leaky ReLU (1 − a)√q/√(2π); 0 for identity and erf (odd);
    otherwise the composite Gauss–Legendre rule of the module docstring (error ≲ 1e-13 relative).
    """
    act = get_activation(act)
    q = np.asarray(q, dtype=np.float64)
    if np.any(q < 0) or not np.all(np.isfinite(q)):
        raise NtkcheckError("mean_activation: variance must be finite and >= 0")
    fam = act.family
    if fam == "relu":
        return np.sqrt(q / (2 * np.pi))
    if fam == "leaky_relu":
        return (1 - act.param) * np.sqrt(q / (2 * np.pi))
    if fam == "gelu":  # E[u Φ(u)] = q/√(2π(1+q))
        return q / np.sqrt(2 * np.pi * (1 + q))
    if fam in ("identity", "erf", "tanh"):
        return np.zeros_like(q)
    return _gaussian_moment(act.fn, act.kinks, q, 1)


def dual_gram(act, S: np.ndarray, *, derivative: bool = False, return_error: bool = False, progress: bool = False):
    r"""Apply the dual kernel entrywise to a covariance matrix (or a batch, shape (..., N, N)).

    Returns the matrix [E[φ(u_i)φ(u_j)]]_{ij} with (u_i, u_j) ~ N(0, [[S_ii, S_ij], [S_ij, S_jj]]).
    The diagonal uses ρ = 1 exactly (θ = 0), so no digits are lost to arccos near 1; the result is
    symmetrized.  With ``return_error`` also returns the largest estimated quadrature error.
    """
    act = get_activation(act)
    S = np.asarray(S, dtype=np.float64)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise NtkcheckError(f"dual_gram needs a square matrix, got shape {S.shape}")
    q = np.diagonal(S, axis1=-2, axis2=-1)
    q1 = q[..., :, None]
    q2 = q[..., None, :]
    if act.family in CLOSED_FORMS:
        out = _closed_form(act, *_check_cov(q1, S, q2), derivative)
        err = 0.0
    elif S.ndim == 2 and not any(act.kinks):
        _check_cov(q, q, q)
        if not np.all(np.isfinite(S)):
            raise NtkcheckError("dual kernel: covariance has NaN or infinite entries")
        out, err = _mehler_gram(act, S, derivative, progress)
        return (out, err) if return_error else out
    else:
        iu = np.triu_indices(S.shape[-1])
        vals, errs = dual_kernel_with_error(act, q1[..., iu[0], 0], S[..., iu[0], iu[1]], q2[..., 0, iu[1]],
                                            derivative=derivative)
        out = np.empty(S.shape)
        out[..., iu[0], iu[1]] = vals
        out[..., iu[1], iu[0]] = vals
        err = float(np.max(errs)) if errs.size else 0.0
    # Exact diagonal: ρ = 1.
    n = S.shape[-1]
    idx = np.arange(n)
    if act.family in CLOSED_FORMS:
        out[..., idx, idx] = _closed_form(act, q, q, q, derivative)
    out = 0.5 * (out + np.swapaxes(out, -1, -2))
    return (out, err) if return_error else out


def _relu_dual_block(Sb, inv_r, inv_c, sq_r, sq_c, a: float, scale: float, derivative: bool):
    """scale·E[φφ] and scale·E[φ'φ'] (or None) of the (leaky, slope a) ReLU on a block Sb of a covariance matrix,
    given 1/√q and √q of the block's rows and columns (or a stack of blocks (..., r, c) with row/column
    vectors (..., r), (..., c)): the arc-cosine formulas of the module docstring with
    θ = arccos ρ computed once.  |ρ| within 4ε of 1 is a duplicate or parallel pair up to rounding and is snapped
    to ±1, so that it stays exactly singular (arccos near 1 would turn an ε in ρ into √ε ≈ 1e-8 in θ).
    """
    c1 = (1 - a) ** 2 / (2 * np.pi)
    R = Sb * inv_r[..., :, None]
    R *= inv_c[..., None, :]
    np.clip(R, -1.0, 1.0, out=R)
    near = np.abs(R) >= 1.0 - 4 * np.finfo(float).eps
    if near.any():
        R[near] = np.sign(R[near])
    P = np.arccos(R)
    np.subtract(np.pi, P, out=P)  # π − θ
    W = np.multiply(R, R)
    np.subtract(1.0, W, out=W)
    np.maximum(W, 0.0, out=W)
    np.sqrt(W, out=W)  # sin θ
    np.multiply(P, R, out=R)
    W += R  # sin θ + (π − θ) cos θ
    W *= (scale * c1 * sq_r)[..., :, None]
    W *= sq_c[..., None, :]
    if a:
        W += (scale * a) * Sb
    if not derivative:
        return W, None
    P *= scale * c1
    if a:
        P += scale * a
    return W, P


def _arccos_pair_inplace(S: np.ndarray, a: float, need_derivative: bool):
    """Fused evaluation of the (leaky) ReLU dual kernels on a matrix S (float64, (..., N, N)).

    θ = arccos ρ is computed once for both kernels; the work is done in cache-sized row blocks (the
    kernels are memory-bound for large N), and the diagonal is exact (ρ = 1, θ = 0).
    """
    q = np.diagonal(S).copy()
    sq = np.sqrt(q)
    with np.errstate(divide="ignore"):
        inv = np.where(sq > 0, 1.0 / np.where(sq > 0, sq, 1.0), 0.0)
    n = S.shape[-1]
    V = np.empty_like(S)
    D = np.empty_like(S) if need_derivative else None
    rows = max(1, 32768 // max(n, 1))
    # Symmetry: evaluate the upper triangle block-row by block-row (columns ≥ the block's first row) and mirror.
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        W, P = _relu_dual_block(S[r0:r1, r0:], inv[r0:r1], inv[r0:], sq[r0:r1], sq[r0:], a, 1.0, need_derivative)
        V[r0:r1, r0:] = W
        if need_derivative:
            D[r0:r1, r0:] = P
    for r0 in range(rows, n, rows):  # mirror: lower triangle ← upper triangle
        r1 = min(n, r0 + rows)
        V[r0:r1, :r0] = V[:r0, r0:r1].T
        if need_derivative:
            D[r0:r1, :r0] = D[:r0, r0:r1].T
    # Inside each diagonal block the strictly lower part was computed too (columns ≥ r0); make it exactly
    # symmetric so that no rounding asymmetry remains.
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        blk = V[r0:r1, r0:r1]
        il = np.tril_indices(r1 - r0, -1)
        blk[il] = blk.T[il]
        if need_derivative:
            bd = D[r0:r1, r0:r1]
            bd[il] = bd.T[il]
    idx = np.arange(n)
    V[idx, idx] = (0.5 * (1 - a) ** 2 + a) * q  # ρ = 1: E[φ(u)²] = ((1 − a)²/2 + a) q, exact in float64
    if need_derivative:
        D[idx, idx] = np.where(q > 0, 0.5 * (1 - a) ** 2 + a, 0.25 * (1 - a) ** 2 + a)
    return V, D


def dual_gram_pair(act, S: np.ndarray, *, need_derivative: bool = True, progress: bool = False):
    r"""Both dual kernels of ``act`` on a covariance matrix (or batch): (E[φφ], E[φ'φ'] or None, error).

    Same values as two calls of :func:`dual_gram`; for ReLU and leaky ReLU the arccos is evaluated once
    and in place (the hot path of deep fully connected kernels).
    """
    act = get_activation(act)
    S = np.asarray(S, dtype=np.float64)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise NtkcheckError(f"dual_gram needs a square matrix, got shape {S.shape}")
    if act.family in ("relu", "leaky_relu") and S.ndim == 2:
        a = 0.0 if act.family == "relu" else act.param
        V, D = _arccos_pair_inplace(S, a, need_derivative)
        return V, D, 0.0
    F, e1 = dual_gram(act, S, return_error=True, progress=progress)
    if not need_derivative:
        return F, None, e1
    Fd, e2 = dual_gram(act, S, derivative=True, return_error=True, progress=progress)
    return F, Fd, max(e1, e2)


# ---- all pairs of a Gram matrix at once: per-point Hermite coefficients + Mehler's formula -----------------

#: Degrees of the truncated Mehler series tried per pair (the smallest one whose certified bound is met).
_MEHLER_DEGREES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
#: Degree of the first (cheap) coefficient table; pairs that need more use a degree-256 table.
_MEHLER_LOW_DEGREE = 64
#: Panel width (in standard deviations) of the shared Hermite-coefficient rule: h_k(t)ϕ(t) for k ≤ 256 has
#: about one oscillation per 0.25σ near t = 0, which a 16-point Gauss–Legendre panel integrates to ~1e-20.
_T_PANEL = 0.25
#: Variances ≤ this use the plain shared rule (the activation's unit-scale features are 1/√q ≥ _T_PANEL wide).
_BAND0_VARIANCE = 16.0
#: Pairs per chunk of the all-pairs evaluation (a chunk takes well under a second, so Ctrl-C is prompt).
_PAIR_CHUNK = 1 << 14


@lru_cache(maxsize=None)
def _band_rule(band: int, order: int):
    """Shared rule for E[g(t)], t ~ N(0,1), resolving φ(√q t) for every q in variance band ``band``.

    Band 0 is q ≤ 16, band j ≥ 1 is 16·4^{j−1} < q ≤ 16·4^j.  Panels of width 0.25 on [−12, 12] (tail mass
    beyond ±12 is < 1e-32) and, for j ≥ 1, panels of width 1/√q_hi (≤ 1 in activation coordinates x = √q t)
    on |t| ≤ (F + 1)/√q_lo, where the activation's features lie; 0 (a built-in kink) is always a breakpoint.
    Returns nodes t and weights w (Gauss–Legendre × standard normal density), shape (M,).
    """
    bp = np.arange(-_SIGMAS, _SIGMAS + _T_PANEL / 2, _T_PANEL)
    if band > 0:
        q_lo, q_hi = _BAND0_VARIANCE * 4.0 ** (band - 1), _BAND0_VARIANCE * 4.0 ** band
        h = 1.0 / np.sqrt(q_hi)
        reach = (FEATURE_RANGE + 1.0) / np.sqrt(q_lo)
        fine = h * np.arange(-np.ceil(reach / h), np.ceil(reach / h) + 1)
        bp = np.unique(np.concatenate([bp, fine]))
    x, wx = _gl(order)
    left, right = bp[:-1], bp[1:]
    half = 0.5 * (right - left)
    t = (0.5 * (right + left))[:, None] + half[:, None] * x
    w = half[:, None] * wx * np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
    return t.ravel(), w.ravel()


@lru_cache(maxsize=None)
def _band_hermite(band: int, order: int, degree: int):
    """(w·h_k(t)) for k = 0..degree on the nodes of :func:`_band_rule`: shape (degree + 1, M)."""
    from .hermite import hermite_functions

    t, w = _band_rule(band, order)
    # h_k(t)·ϕ(t) by the bounded recurrence of hermite.hermite_functions; w/ϕ is the Gauss–Legendre weight.
    return hermite_functions(degree, t) * (w / (np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)))


def _point_coefficients(f, q: np.ndarray, degree: int, order: int):
    """Hermite coefficients μ_k(f; q_p) = E[f(√q_p t) h_k(t)], k ≤ degree, and E[f(√q_p t)²] for every q_p ≥ 0.

    q = 0 gives μ_0 = f(0), μ_k = 0 (k ≥ 1).  Returns (A of shape (P, degree + 1), m2 of shape (P,)).
    """
    A = np.zeros((q.size, degree + 1))
    m2 = np.empty(q.size)
    zero = q == 0
    f0 = float(f(np.zeros(1))[0])
    A[zero, 0] = f0
    m2[zero] = f0 * f0
    band = np.zeros(q.size, dtype=int)
    big = q > _BAND0_VARIANCE
    band[big] = np.ceil(np.log(q[big] / _BAND0_VARIANCE) / np.log(4.0) - 1e-12).astype(int)
    for b in np.unique(band[~zero]):
        sel = np.flatnonzero((band == b) & ~zero)
        t, w = _band_rule(int(b), order)
        F = f(np.sqrt(q[sel])[:, None] * t[None, :])
        A[sel] = F @ _band_hermite(int(b), order, degree).T
        m2[sel] = (F * F) @ w
    return A, m2


class _MehlerTable:
    """Per-point Hermite coefficients of one function, with the data for Mehler's formula and its bound.

    For (u, v) ~ N(0, [[q_i, c], [c, q_j]]) with ρ = c/√(q_i q_j), Mehler's formula (e.g. O'Donnell,
    *Analysis of Boolean Functions*, §11.2) gives E[f(u)f(v)] = Σ_k μ_k(q_i) μ_k(q_j) ρ^k.  Truncated after
    degree K, Cauchy–Schwarz and Parseval bound the rest by |ρ|^{K+1} √(T_i(K) T_j(K)) with the per-point
    tails T_i(K) = E[f(u_i)²] − Σ_{k≤K} μ_k(q_i)².  The coefficients come from two Gauss–Legendre orders (16
    and 12) on the same panels; their difference δ_i bounds the coefficient error, which enters the pair's
    value by at most ‖δ_i‖ √(E f(u_j)²) + √(E f(u_i)²) ‖δ_j‖ (Cauchy–Schwarz again, |ρ|^k ≤ 1).
    """

    def __init__(self, f, q: np.ndarray, degree: int):
        K = degree
        self.degrees = tuple(k for k in _MEHLER_DEGREES if k <= K)
        self.A, self.m2 = _point_coefficients(f, q, K, _GL_ORDER)
        self.AT = np.ascontiguousarray(self.A.T)  # rows = degrees: contiguous gathers in the Horner loop
        A12, m12 = _point_coefficients(f, q, K, _GL_CHECK_ORDER)
        self.norm = np.sqrt(np.maximum(self.m2, 0.0))
        self.coef_err = np.linalg.norm(self.A - A12, axis=1)
        self.m2_err = np.abs(self.m2 - m12)
        cum = np.cumsum(self.A * self.A, axis=1)
        deg = np.asarray(self.degrees)
        # tails at each ladder degree, floored by their rounding (K ε m2) and by the coefficient error
        floor = (K + 1) * _EPS * self.m2 + 2 * self.norm * self.coef_err
        self.tail = np.maximum(self.m2[:, None] - cum[:, deg], 0.0) + floor[:, None]

    def pairs(self, i: np.ndarray, j: np.ndarray, rho: np.ndarray, tol: np.ndarray):
        """Values and error bounds for pairs (i, j) with correlation rho; NaN where no degree meets ``tol``."""
        val = np.full(i.size, np.nan)
        bound = np.full(i.size, np.inf)
        coef = self.coef_err[i] * self.norm[j] + self.norm[i] * self.coef_err[j]
        arho = np.abs(rho)
        with np.errstate(divide="ignore"):
            lr = np.log(arho)
        pending = np.ones(i.size, dtype=bool)
        for n, K in enumerate(self.degrees):
            t = np.flatnonzero(pending)
            b = np.full(i.size, np.inf)
            b[t] = np.exp((K + 1) * lr[t]) * np.sqrt(self.tail[i[t], n] * self.tail[j[t], n]) + coef[t]
            ok = b <= 0.5 * tol
            if np.any(ok):
                s = np.flatnonzero(ok)
                prod = self.AT[:K + 1, i[s]]
                prod *= self.AT[:K + 1, j[s]]  # μ_k(q_i) μ_k(q_j), one row per degree
                r = rho[s]
                acc = prod[K].copy()
                for k in range(K - 1, -1, -1):  # Horner in ρ
                    acc *= r
                    acc += prod[k]
                val[s] = acc
                bound[s] = b[s] + (K + 1) * _EPS * self.norm[i[s]] * self.norm[j[s]]
                pending &= ~ok
            if not np.any(pending):
                break
        return val, bound


def _mehler_gram(act: Activation, S: np.ndarray, derivative: bool, progress: bool = False):
    """dual_gram of a non-closed-form activation on one N×N covariance matrix, vectorized over all pairs.

    Diagonal: E[f(u_i)²] from the 1-D rule.  Off-diagonal pairs: Mehler's formula with a certified truncation
    bound (:class:`_MehlerTable`); the pairs where no degree ≤ 256 reaches the tolerance (|ρ| close to 1) go to
    the adaptive per-pair path (:func:`_numeric_pairs`).  Returns (matrix, largest error bound).
    """
    f = act.deriv if derivative else act.fn
    n = S.shape[0]
    q = np.diagonal(S).copy()
    tab = _MehlerTable(f, q, _MEHLER_LOW_DEGREE)
    tab_hi = None  # degree-256 coefficients, computed only when some pair needs them
    sq = np.sqrt(q)
    with np.errstate(divide="ignore"):
        inv = np.where(sq > 0, 1.0 / np.where(sq > 0, sq, 1.0), 0.0)
    out = np.empty((n, n))
    err = 0.0
    rest_i, rest_j = [], []
    # upper triangle (i < j) in chunks of rows; each chunk is far below a second of work
    rows = max(1, _PAIR_CHUNK // max(n, 1))
    starts = range(0, n, rows)
    bar = _progress_bar(len(starts), f"dual kernel {act.name}{' (derivative)' if derivative else ''}", progress)
    try:
        for r0 in starts:
            r1 = min(n, r0 + rows)
            ii, jj = np.nonzero(np.triu(np.ones((r1 - r0, n - r0), dtype=bool), 1))
            ii += r0
            jj += r0
            if ii.size:
                rho = np.clip(S[ii, jj] * inv[ii] * inv[jj], -1.0, 1.0)
                tol = QUAD_RTOL * np.maximum(1.0, tab.norm[ii] * tab.norm[jj])
                v, b = tab.pairs(ii, jj, rho, tol)
                hard = np.flatnonzero(~np.isfinite(v))
                if hard.size:
                    if tab_hi is None:
                        tab_hi = _MehlerTable(f, q, _MEHLER_DEGREES[-1])
                    v[hard], b[hard] = tab_hi.pairs(ii[hard], jj[hard], rho[hard], tol[hard])
                good = np.isfinite(v)
                out[ii[good], jj[good]] = v[good]
                if np.any(good):
                    err = max(err, float(np.max(b[good])))
                rest_i.append(ii[~good])
                rest_j.append(jj[~good])
            bar.update(1)
    finally:
        bar.close()
    ri = np.concatenate(rest_i) if rest_i else np.empty(0, dtype=int)
    rj = np.concatenate(rest_j) if rest_j else np.empty(0, dtype=int)
    if ri.size:
        v, e = dual_kernel_with_error(act, q[ri], S[ri, rj], q[rj], derivative=derivative)
        out[ri, rj] = v
        err = max(err, float(np.max(e)))
    mirror_upper(out)
    out[np.arange(n), np.arange(n)] = tab.m2
    err = max(err, float(np.max(tab.m2_err)) if n else 0.0)
    return out, err


_TILE = 512


def mirror_upper(A: np.ndarray) -> np.ndarray:
    """Copy the strictly upper triangle of the square A onto its lower triangle, in place, tile by tile (no
    N×N temporary and no index arrays: N = 20,000 needs no memory beyond A)."""
    n = A.shape[0]
    for r0 in range(0, n, _TILE):
        r1 = min(n, r0 + _TILE)
        blk = A[r0:r1, r0:r1]
        il = np.tril_indices(r1 - r0, -1)
        blk[il] = blk.T[il]
        for c0 in range(r1, n, _TILE):
            c1 = min(n, c0 + _TILE)
            A[c0:c1, r0:r1] = A[r0:r1, c0:c1].T
    return A


def symmetrize_inplace(A: np.ndarray) -> np.ndarray:
    """A ← (A + Aᵀ)/2 in place, tile by tile (no N×N temporary)."""
    n = A.shape[0]
    for r0 in range(0, n, _TILE):
        r1 = min(n, r0 + _TILE)
        for c0 in range(r0, n, _TILE):
            c1 = min(n, c0 + _TILE)
            avg = A[r0:r1, c0:c1] + A[c0:c1, r0:r1].T
            avg *= 0.5
            A[r0:r1, c0:c1] = avg
            A[c0:c1, r0:r1] = avg.T
    return A


def _progress_bar(total: int, desc: str, progress: bool):
    """A tqdm bar that appears only when the work takes longer than 2 s (and never when progress is False)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", disable=True if not progress else None, delay=2.0,
                leave=False)
