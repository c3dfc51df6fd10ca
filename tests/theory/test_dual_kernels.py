"""Tests of ntkcheck.theory.dual_kernels (the lead's module; tests only).

Three independent methods per quantity, wherever possible:
  (a) closed forms (ReLU/leaky ReLU arc-cosine kernels, Cho & Saul 2009; erf, Williams 1997; identity),
  (b) the module's own quadrature path, reached by calling it on a *numerically registered copy* of the
      activation (same fn, deriv and kinks, another name), so the closed form is bypassed,
  (c) Monte Carlo with 10^6 numpy samples, tolerance 5 standard errors estimated from the samples
      (a false alarm has probability ≈ 6e-7 per comparison; the seed is fixed so runs are reproducible),
  (d) the Mehler series E[φ(√q₁ z₁)φ(√q₂ z₂)] = Σ_r μ_r(φ; q₁) μ_r(φ; q₂) ρ^r (Zhu et al. 2022 digest §3.3
      item 1, generalised to unequal variances), with μ_r from ntkcheck.theory.hermite (a 1-D quadrature
      independent of this module).  Truncation after r = R is bounded rigorously by Cauchy–Schwarz and
      Parseval: |Σ_{r>R} μ_r(q₁) μ_r(q₂) ρ^r| ≤ |ρ|^{R+1} ‖φ‖_{q₁} ‖φ‖_{q₂}.
The module's stated tolerance is QUAD_RTOL relative to max(1, √(E[φ(u)²] E[φ(v)²])) (its docstring).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import ndtr, owens_t

from ntkcheck.errors import NtkcheckError
from ntkcheck.theory.activations import get_activation, register_activation, unregister_activation
from ntkcheck.theory.dual_kernels import QUAD_RTOL, dual_gram, dual_kernel, dual_kernel_with_error, mean_activation
from ntkcheck.theory.hermite import gaussian_moments, hermite_coefficients

CLOSED = ["relu", "leaky_relu:0.2", "erf", "identity"]
SMOOTH = ["tanh", "sigmoid", "erf", "gelu", "swish", "softplus"]
RHOS = np.array([-1.0, -0.99, -0.5, 0.0, 0.3, 0.9, 0.99, 1.0])
#: correlations of nearly parallel inputs (common in deep nets, where correlations approach 1 with depth)
NEAR_ONE = [0.995, 0.999, 0.9999, 0.999999]


def numeric(name: str):
    """A numerically registered copy of a built-in activation (bypasses closed forms)."""
    act = get_activation(name)
    key = "t_dual_num_" + name.replace(":", "_").replace(".", "_")
    unregister_activation(key)
    return register_activation(key, fn=act.fn, deriv=act.deriv, kinks=act.kinks)


def stated_tol(name, q1, q2, derivative):
    """QUAD_RTOL · max(1, √(E[f(u)²]E[f(v)²])), the second moments from hermite.gaussian_moments."""
    key = "E_dphi2" if derivative else "E_phi2"
    m1 = gaussian_moments(name, q1)[key]
    m2 = gaussian_moments(name, q2)[key]
    return QUAD_RTOL * max(1.0, math.sqrt(m1 * m2))


def cov(q1, rho, q2):
    return q1, rho * math.sqrt(q1 * q2), q2


# --- (a) closed forms vs (b) the module's quadrature --------------------------------------------------------

def assert_closed_form_matches_quadrature(name, derivative, q1, q2):
    """The closed form against the module's quadrature path (a numeric copy of the activation) on RHOS."""
    act_num = numeric(name)
    try:
        q1a = np.full(RHOS.shape, q1)
        q2a = np.full(RHOS.shape, q2)
        c = RHOS * math.sqrt(q1 * q2)
        exact = dual_kernel(name, q1a, c, q2a, derivative=derivative)
        quad = dual_kernel(act_num, q1a, c, q2a, derivative=derivative)
        tol = stated_tol(name, q1, q2, derivative)
        bad = [(float(r), float(e), float(n)) for r, e, n in zip(RHOS, exact, quad) if abs(e - n) > tol]
        assert not bad, f"{name} derivative={derivative} q=({q1},{q2}) tol={tol:.2g}: (ρ, closed, quad) {bad}"
    finally:
        unregister_activation(act_num.name)


@pytest.mark.parametrize("name", CLOSED)
@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("q1,q2", [(1.0, 1.0), (0.5, 2.0), (3.0, 3.0)])
def test_closed_form_vs_quadrature(name, derivative, q1, q2):
    assert_closed_form_matches_quadrature(name, derivative, q1, q2)


# (q₁, q₂) = (1e3, 1) with ρ = ±1 checks the exact-correlation branch (v a deterministic multiple of u);
# rounding in q₂ − c²/q₁ must not send it to the quadrature.
EXTREME = [(n, d, q1, q2) for n in ("relu", "erf") for d in (False, True)
           for (q1, q2) in ((100.0, 100.0), (1e3, 1e3), (1e4, 1e4), (1e4, 1.0), (1e3, 1.0), (1e-3, 1e-3))]


@pytest.mark.parametrize("name,derivative,q1,q2", EXTREME)
def test_closed_form_vs_quadrature_extreme_variance(name, derivative, q1, q2):
    # erf(√q z) at q = 1e4 has a transition of width 1e-2 in z (and erf' a bump of that width): a fixed
    # Gauss–Hermite order cannot resolve it; the module must still meet its stated tolerance.
    assert_closed_form_matches_quadrature(name, derivative, q1, q2)


# --- nearly parallel inputs: ρ → 1 for kinked activations -------------------------------------------------

SQ2PI = math.sqrt(2 * math.pi)


def elu_dual_reference(q1, c, q2, derivative=False, alpha=1.0):
    """E[f(u)f(v)] for ELU (f = φ or φ') by a 1-D reduction: v | u ~ N(m, s²) with m = (c/q₁)u, and
    G(m) = E[f(m + s w)] in closed form (m Φ(m/s) + s ϕ(m/s) + α(e^{m+s²/2} Φ(−m/s − s) − Φ(−m/s)), and
    Φ(m/s) + α e^{m+s²/2} Φ(−m/s − s) for φ'), then the outer 1-D integral by scipy's QUADPACK with
    breakpoints at the kink and across G's transition (width s/|a| in z).  ρ < 1 only."""
    s1 = math.sqrt(q1)
    a = c / s1
    s = math.sqrt(q2 - a * a)

    def G(m):
        t = m / s
        if derivative:
            return ndtr(t) + alpha * math.exp(m + s * s / 2) * ndtr(-t - s)
        return m * ndtr(t) + s * math.exp(-t * t / 2) / SQ2PI + alpha * (math.exp(m + s * s / 2) * ndtr(-t - s)
                                                                         - ndtr(-t))

    def f(x):
        if derivative:
            return 1.0 if x > 0 else alpha * math.exp(x)
        return x if x > 0 else alpha * math.expm1(x)

    def integrand(z):
        return f(s1 * z) * G(a * z) * math.exp(-z * z / 2) / SQ2PI

    w = s / abs(a) if a != 0 else 1.0
    pts = [-38.0] + sorted({0.0, *[k * w for k in (-30, -10, -3, -1, 1, 3, 10, 30) if abs(k * w) < 38]}) + [38.0]
    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lo, hi in zip(pts[:-1], pts[1:]):
            total += integrate.quad(integrand, lo, hi, epsabs=1e-15, epsrel=1e-14, limit=500)[0]
    return total


def elu_derivative_dual_owen(q1, c, q2, alpha=1.0):
    """E[φ'(u)φ'(v)] for ELU in closed form: φ' = 1{x>0} + α e^x 1{x<0}; with exponential tilting
    E[e^{aᵀw} 1{w∈A}] = e^{aᵀΣa/2} P(w + Σa ∈ A), each term is a bivariate normal orthant probability,
    Φ₂(h, k; ρ) = ½(Φ(h) + Φ(k)) − T(h, (k−ρh)/(h√(1−ρ²))) − T(k, (h−ρk)/(k√(1−ρ²))) − β (Owen 1956,
    β = ½ when hk < 0, else 0), T = scipy.special.owens_t.  Second reference for the ELU derivative kernel."""
    s1, s2 = math.sqrt(q1), math.sqrt(q2)
    rho = c / (s1 * s2)
    r = math.sqrt(1 - rho * rho)

    def phi2(h, k):
        beta = 0.0 if h * k > 0 else 0.5
        return (0.5 * (ndtr(h) + ndtr(k)) - owens_t(h, (k - rho * h) / (h * r))
                - owens_t(k, (h - rho * k) / (k * r)) - beta)

    t_pp = 0.25 + math.asin(rho) / (2 * math.pi)
    t_np = math.exp(q1 / 2) * (ndtr(-q1 / s1) - phi2(-q1 / s1, -c / s2))        # E[e^u; u<0, v>0]
    t_pn = math.exp(q2 / 2) * (ndtr(-q2 / s2) - phi2(-c / s1, -q2 / s2))        # E[e^v; u>0, v<0]
    t_nn = math.exp((q1 + 2 * c + q2) / 2) * phi2(-(q1 + c) / s1, -(c + q2) / s2)  # E[e^{u+v}; u<0, v<0]
    return t_pp + alpha * (t_np + t_pn) + alpha ** 2 * t_nn


def test_elu_references_agree():
    # the two ELU references against each other (and, through test_monte_carlo's covariances, the module)
    for q1, q2 in ((1.0, 1.0), (2.0, 3.0)):
        for rho in (-0.7, 0.3, 0.99, 0.9999):
            c = rho * math.sqrt(q1 * q2)
            assert abs(elu_dual_reference(q1, c, q2, True) - elu_derivative_dual_owen(q1, c, q2)) < 1e-13


# Known failures (reported): for a kinked activation without a closed form (ELU; any user activation with
# kinks — here also numeric copies of ReLU/leaky ReLU) the quadrature *raises* for ρ in about
# [0.995, 0.9999] and returns *silently wrong* values beyond (ReLU copy: derivative kernel 0.5 instead of
# 0.49775 at ρ = 0.9999, error estimate 0): the inner conditional expectation has a transition of width
# ≈ √(1−ρ²) that neither the Gauss–Hermite order check nor the 12-vs-16-point panel check resolves.
_NEAR_ONE_FAILS = {
    ("relu", False): {0.999, 0.9999, 0.99999}, ("relu", True): {0.995, 0.999, 0.9999, 0.99999},
    ("leaky_relu:0.2", False): {0.999, 0.9999, 0.99999}, ("leaky_relu:0.2", True): {0.995, 0.999, 0.9999, 0.99999},
    ("elu", False): {0.999, 0.9999}, ("elu", True): {0.995, 0.999, 0.9999, 0.99999},
}
# These cases failed before the panel rule got breakpoints at the preimages of the kinks (fixed); kept as
# regular tests.
NEAR_ONE_CASES = [(n, d, rho) for (n, d) in _NEAR_ONE_FAILS for rho in (0.995, 0.999, 0.9999, 0.99999)]


@pytest.mark.parametrize("name,derivative,rho", NEAR_ONE_CASES)
def test_kinked_quadrature_near_diagonal(name, derivative, rho):
    # q₁ = q₂ = 1; references: closed forms (ReLU family, through a numeric copy of the module's input)
    # and the 1-D ELU reference above; tolerance: the module's stated one.
    if name == "elu":
        got = float(dual_kernel("elu", 1.0, rho, 1.0, derivative=derivative))
        ref = elu_dual_reference(1.0, rho, 1.0, derivative)
    else:
        act_num = numeric(name)
        try:
            got = float(dual_kernel(act_num, 1.0, rho, 1.0, derivative=derivative))
        finally:
            unregister_activation(act_num.name)
        ref = float(dual_kernel(name, 1.0, rho, 1.0, derivative=derivative))
    assert abs(got - ref) <= stated_tol(name, 1.0, 1.0, derivative), (name, derivative, rho, got, ref)


def test_closed_forms_by_hand():
    # textbook values: relu E[φ²] = q/2, E[φφ] at ρ = 0 is (√(q₁q₂)/2π); erf E[φ'²] = (4/π)/√(1+4q);
    # leaky: E[φ'φ'] at ρ = −1 is a (one of u, v is negative, the other positive: φ'φ' = a·1)
    assert math.isclose(float(dual_kernel("relu", 3.0, 3.0, 3.0)), 1.5, rel_tol=1e-15)
    assert math.isclose(float(dual_kernel("relu", 2.0, 0.0, 8.0)), 4.0 / (2 * math.pi), rel_tol=1e-15)
    assert math.isclose(float(dual_kernel("erf", 2.0, 2.0, 2.0, derivative=True)), 4 / math.pi / 3.0,
                        rel_tol=1e-14)
    assert math.isclose(float(dual_kernel("leaky_relu:0.2", 1.0, -1.0, 1.0, derivative=True)), 0.2,
                        rel_tol=1e-14)
    assert float(dual_kernel("identity", 2.0, -0.7, 5.0)) == -0.7


# --- (c) Monte Carlo --------------------------------------------------------------------------------------

MC_N = 10 ** 6
_RNG = np.random.default_rng(20260425)
Z1, Z2 = _RNG.standard_normal(MC_N), _RNG.standard_normal(MC_N)
MC_COVS = [cov(1.0, 0.6, 1.0), cov(0.5, -0.8, 2.0), cov(4.0, 0.95, 2.5)]


def mc_estimate(f, q1, c, q2):
    """Monte Carlo mean and standard error of f(u) f(v), (u, v) ~ N(0, [[q1, c], [c, q2]]), from Z1, Z2."""
    u = math.sqrt(q1) * Z1
    v = (c / math.sqrt(q1)) * Z1 + math.sqrt(q2 - c * c / q1) * Z2
    prod = f(u) * f(v)
    return prod.mean(), prod.std(ddof=1) / math.sqrt(MC_N)


@pytest.mark.parametrize("name", CLOSED + ["tanh", "sigmoid", "gelu", "swish", "elu", "softplus"])
@pytest.mark.parametrize("derivative", [False, True])
def test_monte_carlo(name, derivative):
    act = get_activation(name)
    f = act.deriv if derivative else act.fn
    for q1, c, q2 in MC_COVS:
        mean, se = mc_estimate(f, q1, c, q2)
        got = float(dual_kernel(act, q1, c, q2, derivative=derivative))
        assert abs(got - mean) <= 5 * se + 1e-12, (name, derivative, (q1, c, q2), got, mean, se)


# --- (d) Mehler series ------------------------------------------------------------------------------------

def mehler(name, q1, rho, q2, derivative, R=400):
    """Σ_{r≤R} μ_r(f; q₁) μ_r(f; q₂) ρ^r for f = φ or φ' (μ_r(φ'; q) = √((r+1)/q) μ_{r+1}(φ; q)), and the
    rigorous truncation bound |ρ|^{R+1} ‖f‖_{q₁}‖f‖_{q₂}."""
    def coeffs(q):
        if derivative:
            mu = hermite_coefficients(name, R + 1, q)
            return np.sqrt(np.arange(1, R + 2) / q) * mu[1:]
        return hermite_coefficients(name, R, q)

    a, b = coeffs(q1), coeffs(q2)
    key = "E_dphi2" if derivative else "E_phi2"
    bound = abs(rho) ** (R + 1) * math.sqrt(gaussian_moments(name, q1)[key] * gaussian_moments(name, q2)[key])
    return float(np.sum(a * b * rho ** np.arange(R + 1))), bound


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("derivative", [False, True])
def test_mehler_unit_variance(name, derivative):
    # |ρ| ≤ 0.9 and R = 400: truncation ≤ 0.9^401 ‖f‖² ≈ 4e-19‖f‖²; Hermite coefficients carry 1e-14‖f‖ each,
    # so the series is good to ≈ 1e-13; tolerance: the module's stated tolerance + truncation bound + 1e-12.
    rhos = [-0.9, -0.4, 0.0, 0.25, 0.7, 0.9]
    got = dual_kernel(name, np.ones(len(rhos)), np.array(rhos), np.ones(len(rhos)), derivative=derivative)
    for rho, g in zip(rhos, got):
        ref, trunc = mehler(name, 1.0, rho, 1.0, derivative)
        assert abs(g - ref) <= stated_tol(name, 1.0, 1.0, derivative) + trunc + 1e-12, (name, rho, g, ref)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("q1,q2", [(1e3, 1e3), (1e3, 2.0)])
def test_large_variance_vs_mehler(name, derivative, q1, q2):
    # Large pre-activation variance: tanh(√q z) ≈ sign(z) with a transition of width ≈ 1/√q; φ'(√q z) is a
    # spike of that width.  Reference: generalised Mehler series with 1-D adaptive Hermite coefficients.
    # The derivative series converges slowly for large q, so only |ρ| ≤ 0.8 there (0.8^401 ≈ 1e-39).
    rhos = [-0.8, -0.3, 0.0, 0.5, 0.8]
    c = np.array(rhos) * math.sqrt(q1 * q2)
    got = dual_kernel(name, np.full(c.shape, q1), c, np.full(c.shape, q2), derivative=derivative)
    for rho, g in zip(rhos, got):
        ref, trunc = mehler(name, q1, rho, q2, derivative, R=400)
        tol = stated_tol(name, q1, q2, derivative) + trunc + 1e-12
        assert abs(g - ref) <= tol, (name, derivative, q1, q2, rho, g, ref, tol)


LARGE_Q_NEAR_ONE_CASES = [
    (n, d, q, rho)
    for n in ("tanh", "sigmoid") for d in (False, True) for (q, rho) in ((1e3, 0.99), (1e3, 0.9999), (1e4, 0.999))]


@pytest.mark.parametrize("name,derivative,q,rho", LARGE_Q_NEAR_ONE_CASES)
def test_large_variance_near_diagonal_monte_carlo(name, derivative, q, rho):
    # ρ close to 1 at large q (series too slow there): Monte Carlo, 5 standard errors.
    act = get_activation(name)
    f = act.deriv if derivative else act.fn
    u = math.sqrt(q) * Z1
    v = math.sqrt(q) * (rho * Z1 + math.sqrt(1 - rho * rho) * Z2)
    prod = f(u) * f(v)
    mean, se = prod.mean(), prod.std(ddof=1) / math.sqrt(MC_N)
    got = float(dual_kernel(act, q, rho * q, q, derivative=derivative))
    assert abs(got - mean) <= 5 * se + 1e-12, (name, derivative, q, rho, got, mean, se)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "elu", "softplus"])
@pytest.mark.parametrize("q", [1e-3, 1.0, 1e3, 1e4])
def test_diagonal_vs_hermite_moments(name, q):
    # ρ = 1: E[φ(u)²] and E[φ'(u)²] against the 1-D adaptive quadrature of hermite.gaussian_moments
    m = gaussian_moments(name, q)
    for derivative, key in ((False, "E_phi2"), (True, "E_dphi2")):
        got = float(dual_kernel(name, q, q, q, derivative=derivative))
        assert abs(got - m[key]) <= stated_tol(name, q, q, derivative), (name, q, derivative, got, m[key])


# --- mean_activation, zero variance, dual_gram, errors --------------------------------------------------

@pytest.mark.parametrize("name", ["relu", "leaky_relu:0.2", "tanh", "sigmoid", "erf", "gelu", "swish", "elu",
                                  "softplus", "identity"])
def test_mean_activation_vs_hermite_mu0(name):
    # E[φ(√q z)] = μ_0(φ; q) (h_0 = 1), from hermite's independent quadrature (tolerance 1e-14‖φ‖ there);
    # 1e-12·max(1, ‖φ‖_q) covers both sides.
    qs = np.array([1e-3, 0.5, 1.0, 7.0, 1e3])
    got = mean_activation(name, qs)
    for q, g in zip(qs, got):
        ref = hermite_coefficients(name, 0, q)[0]
        assert abs(g - ref) <= 1e-12 * max(1.0, math.sqrt(gaussian_moments(name, q)["E_phi2"])), (name, q)


def test_zero_variance_is_exact():
    # u ≡ 0: E[φ(0)φ(v)] = φ(0) E[φ(v)]; sigmoid: ½·½ (σ − ½ is odd), tanh: 0, softplus: log 2 · E[softplus(v)]
    assert math.isclose(float(dual_kernel("sigmoid", 0.0, 0.0, 3.0)), 0.25, rel_tol=1e-13)
    assert float(dual_kernel("tanh", 0.0, 0.0, 3.0)) == 0.0
    ref = math.log(2.0) * hermite_coefficients("softplus", 0, 2.0)[0]
    assert math.isclose(float(dual_kernel("softplus", 2.0, 0.0, 0.0)), ref, rel_tol=1e-12)
    assert float(dual_kernel("relu", 0.0, 0.0, 0.0)) == 0.0
    assert math.isclose(float(dual_kernel("sigmoid", 0.0, 0.0, 0.0, derivative=True)), 1 / 16, rel_tol=1e-15)


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("derivative", [False, True])
def test_dual_gram_entrywise(name, derivative):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 4))
    X[3] = X[1]                                    # duplicate point: ρ = 1 off the diagonal
    S = X @ X.T / 4 + 0.1
    G = dual_gram(name, S, derivative=derivative)
    assert G.shape == (6, 6) and np.array_equal(G, G.T)
    q = np.diag(S)
    E = dual_kernel(name, q[:, None], S, q[None, :], derivative=derivative)
    tol = max(stated_tol(name, float(q.max()), float(q.max()), derivative), 1e-14)
    assert np.max(np.abs(G - E)) <= tol
    # diagonal against the independent 1-D quadrature of hermite.gaussian_moments
    key = "E_dphi2" if derivative else "E_phi2"
    for i in range(6):
        assert abs(G[i, i] - gaussian_moments(name, q[i])[key]) <= tol
    # PSD (Schur/Mercer): λ_min ≥ −(6·tol) allowing each entry its tolerance
    assert np.linalg.eigvalsh(G).min() >= -6 * tol


@settings(max_examples=10, deadline=None)
@given(q1=st.floats(1e-2, 1e2), q2=st.floats(1e-2, 1e2), rho=st.floats(-1.0, 1.0),
       name=st.sampled_from(["tanh", "gelu", "sigmoid"]))
def test_symmetry_and_cauchy_schwarz(q1, q2, rho, name):
    # E[φ(u)φ(v)] is symmetric in (u, v) and |E[φ(u)φ(v)]| ≤ √(E[φ(u)²]E[φ(v)²])
    c = rho * math.sqrt(q1 * q2)
    a = float(dual_kernel(name, q1, c, q2))
    b = float(dual_kernel(name, q2, c, q1))
    tol = stated_tol(name, q1, q2, False)
    assert abs(a - b) <= 2 * tol
    assert abs(a) <= math.sqrt(float(dual_kernel(name, q1, q1, q1)) * float(dual_kernel(name, q2, q2, q2))) + 2 * tol


def test_bad_input():
    with pytest.raises(NtkcheckError):
        dual_kernel("relu", -1.0, 0.0, 1.0)
    with pytest.raises(NtkcheckError):
        dual_kernel("tanh", 1.0, float("nan"), 1.0)
    with pytest.raises(NtkcheckError):
        dual_gram("tanh", np.ones((2, 3)))
    with pytest.raises(NtkcheckError):
        mean_activation("tanh", -1.0)
    with pytest.raises(NtkcheckError, match="unknown activation"):
        dual_kernel("nope", 1.0, 0.0, 1.0)


def test_leaky_relu_slope_with_many_digits():
    name = "leaky_relu:0.123456789"
    act_num = numeric(name)
    try:
        q1, c, q2 = 1.0, -0.5, 1.0
        assert abs(float(dual_kernel(name, q1, c, q2)) - float(dual_kernel(act_num, q1, c, q2))) <= \
            stated_tol(name, q1, q2, False)
    finally:
        unregister_activation(act_num.name)


# --- a closed form of the GELU dual kernel (derived here; the module integrates GELU numerically) -----------

def gelu_dual_closed_form(q1, c, q2, derivative=False):
    r"""E[φ(u)φ(v)] / E[φ'(u)φ'(v)] for φ(x) = xΦ(x), (u, v) ~ N(0, [[q₁, c], [c, q₂]]).

    Derivation (Gaussian integration by parts, E[u h(u,v)] = q₁E[∂_u h] + c E[∂_v h]), with
    D = (1+q₁)(1+q₂) − c², P = E[Φ(u)Φ(v)] = 1/4 + arcsin(c/√((1+q₁)(1+q₂)))/(2π) (orthant probability of
    (u − ξ₁, v − ξ₂), ξ ~ N(0, I) independent), E[ϕ(u)ϕ(v)] = 1/(2π√D), E[vϕ(v)Φ(u)] = c/(2π(1+q₂)√D) and
    E[uϕ(u)vϕ(v)] = c/(2π D^{3/2}):
      E[φφ]   = c P + [q₁q₂ + c²(1/(1+q₁) + 1/(1+q₂) − 1)] / (2π√D),
      E[φ'φ'] = P + c (1/(1+q₁) + 1/(1+q₂)) / (2π√D) + c / (2π D^{3/2}).
    Checks: c = 0 gives E[uΦ(u)]E[vΦ(v)] = q₁q₂/(2π√((1+q₁)(1+q₂))); q₁ = q₂ = c = 1 gives 0.425221 and
    0.455851 (Zhu et al. digest §3.4 table, E[σ²] and E[σ′²] of GELU).
    """
    q1, c, q2 = (np.asarray(a, dtype=np.float64) for a in (q1, c, q2))
    D = (1 + q1) * (1 + q2) - c * c
    P = 0.25 + np.arcsin(c / np.sqrt((1 + q1) * (1 + q2))) / (2 * np.pi)
    if derivative:
        return P + c * (1 / (1 + q1) + 1 / (1 + q2)) / (2 * np.pi * np.sqrt(D)) + c / (2 * np.pi * D ** 1.5)
    return c * P + (q1 * q2 + c * c * (1 / (1 + q1) + 1 / (1 + q2) - 1)) / (2 * np.pi * np.sqrt(D))


@pytest.mark.parametrize("derivative", [False, True])
def test_gelu_closed_form_vs_module_quadrature(derivative):
    # The module's numerical path (a numeric copy of GELU bypasses the closed form) against the closed form
    # derived here, and the module's own closed-form path against the same, on a grid including ρ = ±1, q ≤ 1e3.
    act_num = numeric("gelu")
    try:
        for q1, q2 in ((1.0, 1.0), (0.3, 2.0), (50.0, 50.0), (1e3, 1e3)):
            c = RHOS * math.sqrt(q1 * q2)
            exact = gelu_dual_closed_form(q1, c, q2, derivative)
            q1a, q2a = np.full(c.shape, q1), np.full(c.shape, q2)
            quad = dual_kernel(act_num, q1a, c, q2a, derivative=derivative)
            tol = stated_tol("gelu", q1, q2, derivative)
            assert np.max(np.abs(exact - quad)) <= tol, (q1, q2, derivative, exact - quad)
            module = dual_kernel("gelu", q1a, c, q2a, derivative=derivative)
            assert np.max(np.abs(exact - module)) <= 1e-13 * max(1.0, np.max(np.abs(exact)))
    finally:
        unregister_activation(act_num.name)


@pytest.mark.parametrize("derivative", [False, True])
def test_gelu_closed_form_vs_monte_carlo_and_table(derivative):
    act = get_activation("gelu")
    f = act.deriv if derivative else act.fn
    for q1, c, q2 in MC_COVS:
        mean, se = mc_estimate(f, q1, c, q2)
        assert abs(float(gelu_dual_closed_form(q1, c, q2, derivative)) - mean) <= 5 * se
    # diagonal at q = 1 vs the digest table (6 decimals) and vs hermite's 1-D quadrature (1e-13)
    ref = 0.455851 if derivative else 0.425221
    val = float(gelu_dual_closed_form(1.0, 1.0, 1.0, derivative))
    assert abs(val - ref) <= 1e-6
    for q in (1e-3, 1.0, 1e3):
        m = gaussian_moments("gelu", q)["E_dphi2" if derivative else "E_phi2"]
        assert abs(float(gelu_dual_closed_form(q, q, q, derivative)) - m) <= 1e-13 * max(1.0, m)


def test_gelu_closed_form_vs_mehler():
    # unit variance, |ρ| ≤ 0.9, R = 400 (truncation ≤ 0.9^401‖φ‖²): tolerance 1e-12
    for rho in (-0.9, -0.2, 0.5, 0.9):
        for derivative in (False, True):
            ref, trunc = mehler("gelu", 1.0, rho, 1.0, derivative)
            assert abs(float(gelu_dual_closed_form(1.0, rho, 1.0, derivative)) - ref) <= 1e-12 + trunc


# --- the all-pairs path of dual_gram (per-point Hermite coefficients + Mehler, adaptive fallback) ---------------

def raw_covariance(scales, seed=3):
    """A covariance of raw (off-sphere) points with per-point variances spread over ``scales``, including a
    duplicate (ρ = 1), an antipodal point (ρ = −1), a near-parallel point (1 − ρ ≈ 1e-12) and a zero point."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((len(scales), 5)) * np.sqrt(np.asarray(scales, dtype=float))[:, None]
    X = np.vstack([X, X[0], -X[1], X[2] * (1 + 1e-6) + 1e-6 * rng.standard_normal(5), np.zeros(5)])
    return X @ X.T / 5


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "swish", "elu"])
@pytest.mark.parametrize("derivative", [False, True])
def test_all_pairs_path_matches_adaptive_reference(name, derivative):
    # raw variances from 0.05 to 200: the vectorized path against the per-pair adaptive path (dual_kernel),
    # every entry within the stated tolerance, and the reported error bound honest
    S = raw_covariance([0.05, 0.7, 2.0, 9.0, 200.0])
    G, err = dual_gram(name, S, derivative=derivative, return_error=True)
    q = np.diag(S)
    ref, ref_err = dual_kernel_with_error(name, q[:, None], S, q[None, :], derivative=derivative)
    key = "E_dphi2" if derivative else "E_phi2"
    norms = np.sqrt([gaussian_moments(name, float(v))[key] if v > 0 else float(get_activation(name).deriv(0.0)
                     if derivative else get_activation(name)(0.0)) ** 2 for v in q])
    tol = QUAD_RTOL * np.maximum(1.0, np.outer(norms, norms))
    assert np.array_equal(G, G.T)
    assert np.all(np.abs(G - ref) <= tol), np.max(np.abs(G - ref) / tol)
    assert np.all(np.abs(G - ref) <= err + ref_err + 1e-15 * np.abs(ref))
    assert err <= QUAD_RTOL * max(1.0, float(np.max(norms)) ** 2)


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("name", ["erf", "gelu"])
def test_all_pairs_path_vs_closed_form_large_variance(name, derivative):
    # closed forms (erf: Williams 1997; gelu: module docstring) against the all-pairs path of a numerically
    # registered copy, on variances up to 1e4 and correlations ±1, 1 − 1e-12
    S = raw_covariance([0.01, 1.0, 50.0, 1e3, 1e4], seed=5)
    act_num = numeric(name)
    try:
        G, err = dual_gram(act_num, S, derivative=derivative, return_error=True)
    finally:
        unregister_activation(act_num.name)
    E = dual_gram(name, S, derivative=derivative)
    scale = np.sqrt(np.outer(np.diag(E), np.diag(E)))
    tol = QUAD_RTOL * np.maximum(1.0, scale)
    assert np.all(np.abs(G - E) <= tol), np.max(np.abs(G - E) / tol)


def test_all_pairs_path_vs_monte_carlo():
    # an independent estimate on a 3×3 raw covariance: 10^6 Gaussian samples, 5 standard errors
    S = raw_covariance([0.3, 4.0, 40.0])[:3, :3]
    G = dual_gram("tanh", S)
    rng = np.random.default_rng(11)
    Z = rng.multivariate_normal(np.zeros(3), S, size=1_000_000, method="cholesky")
    T = np.tanh(Z)
    for i in range(3):
        for j in range(3):
            s = T[:, i] * T[:, j]
            assert abs(G[i, j] - s.mean()) <= 5 * s.std() / math.sqrt(s.size) + 1e-12


def test_all_pairs_path_kink_off_zero_uses_adaptive():
    # a user activation with a kink at 0.5 (not on the shared rule) takes the adaptive per-pair path
    key = "t_dual_shifted_relu"
    unregister_activation(key)
    act = register_activation(key, fn=lambda x: np.maximum(x - 0.5, 0.0), deriv=lambda x: (x > 0.5) * 1.0,
                              kinks=(0.5,))
    try:
        S = raw_covariance([0.5, 2.0, 1.0])
        q = np.diag(S)
        ref = dual_kernel(act, q[:, None], S, q[None, :])
        assert np.max(np.abs(dual_gram(act, S) - ref)) <= 1e-13 * max(1.0, np.max(np.abs(ref)))
    finally:
        unregister_activation(key)
