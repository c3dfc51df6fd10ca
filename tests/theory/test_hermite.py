"""Tests of ntkcheck.theory.hermite: every expected value comes from a second, independent method.

Methods used as references: the ReLU closed form of the Zhu et al. 2022 digest §3.4 (typed in here from the
digest, not from the module), scipy.special.eval_hermitenorm, scipy.integrate.quad (QUADPACK, a different
adaptive rule on a different variable), the digest's table (adaptive quadrature by a third party),
exact sympy integration of piecewise polynomials, and Gaussian identities (Parseval, Stein, derivative).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from ntkcheck.errors import NtkcheckError
from ntkcheck.theory.activations import get_activation, register_activation, unregister_activation
from ntkcheck.theory.hermite import (
    NoClosedForm,
    format_hermite_table,
    gaussian_moments,
    hermite_coefficients,
    hermite_coefficients_exact,
    hermite_functions,
    hermite_h,
    hermite_table,
)

SMOOTH = ["tanh", "sigmoid", "swish", "gelu", "erf", "softplus"]
BUILTIN = ["relu", "leaky_relu:0.2", "tanh", "sigmoid", "erf", "swish", "gelu", "elu", "softplus", "identity"]


def relu_closed_form(r: int) -> float:
    """Zhu et al. 2022 digest §3.4: μ0 = 1/√(2π), μ1 = 1/2, μ_r = (−1)^{r/2−1}(r−3)!!/√(2π r!) (even r ≥ 2)."""
    if r == 0:
        return 1.0 / math.sqrt(2.0 * math.pi)
    if r == 1:
        return 0.5
    if r % 2 == 1:
        return 0.0
    double_fact = math.prod(range(r - 3, 0, -2))  # (r−3)!!, with (−1)!! = 1
    return (-1) ** (r // 2 - 1) * double_fact / math.sqrt(2.0 * math.pi * math.factorial(r))


RELU_CF = np.array([relu_closed_form(r) for r in range(31)])


@pytest.fixture
def numeric_copy():
    """Register numpy-only copies of activations (no expr, not flagged homogeneous) so that the quadrature
    runs at the requested q instead of the √q scaling shortcut."""
    names = []

    def make(name, kinks=None):
        act = get_activation(name)
        key = "t_hermite_num_" + name.replace(":", "_").replace(".", "_")
        unregister_activation(key)
        names.append(key)
        return register_activation(key, fn=act.fn, deriv=act.deriv,
                                   kinks=act.kinks if kinks is None else kinks)

    yield make
    for n in names:
        unregister_activation(n)


# --- Hermite polynomials -----------------------------------------------------------------------------------

def test_hermite_h_matches_scipy_and_is_orthonormal():
    z = np.linspace(-9.0, 9.0, 37)
    h = hermite_h(30, z)
    for r in range(31):
        ref = special.eval_hermitenorm(r, z) / math.sqrt(math.factorial(r))
        # 1e-11 relative to max|h_r| on the grid: both are float64 recurrences, errors grow mildly with r
        assert np.max(np.abs(h[r] - ref)) <= 1e-11 * np.max(np.abs(ref))
    # Gauss–Hermite_e with 40 nodes integrates polynomials of degree ≤ 79 exactly: E[h_r h_s] = δ_rs.
    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / math.sqrt(2.0 * math.pi)
    H = hermite_h(30, x)
    assert np.max(np.abs((H * w) @ H.T - np.eye(31))) < 1e-12
    g = hermite_functions(30, z)
    assert np.allclose(g, h * np.exp(-z ** 2 / 2) / math.sqrt(2 * math.pi), rtol=1e-12, atol=1e-300)
    # Cramér's inequality |g_r| ≤ 1.0865 e^{−z²/4}/√(2π), the bound behind the truncation at |z| = 24
    assert np.all(np.abs(g) <= 1.0865 * np.exp(-z ** 2 / 4) / math.sqrt(2 * math.pi) * (1 + 1e-12))


# --- ReLU closed form --------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [1e-3, 1.0, 1e3])
def test_relu_quadrature_vs_closed_form(q, numeric_copy):
    # Tolerance 1e-12 absolute (the brief's target): the quadrature's stated error is 1e-14·‖φ‖_q, with
    # ‖φ‖_q = √(q/2) ≤ 23 here, plus rounding of ~1e-16·‖φ‖_q per coefficient.
    expected = math.sqrt(q) * RELU_CF
    assert np.max(np.abs(hermite_coefficients("relu", 30, q) - expected)) < 1e-12        # √q shortcut
    relu_num = numeric_copy("relu")
    assert not relu_num.homogeneous
    assert np.max(np.abs(hermite_coefficients(relu_num, 30, q) - expected)) < 1e-12      # quadrature at q


@pytest.mark.parametrize("q", [1e-4, 1e4])
def test_relu_quadrature_extreme_q(q, numeric_copy):
    # same target relative to the coefficient scale √q (values are up to 40 at q = 1e4)
    expected = math.sqrt(q) * RELU_CF
    got = hermite_coefficients(numeric_copy("relu"), 30, q)
    assert np.max(np.abs(got - expected)) < 1e-12 * max(1.0, math.sqrt(q))


@pytest.mark.parametrize("q", [1e-3, 10.0, 1e4])
def test_relu_high_order(q, numeric_copy):
    # r ≤ 400: h_r oscillates on a scale ≈ 1/√(2r) ≈ 0.035, the adaptive panels must follow.  Reference: the
    # digest's closed form through its ratio μ_{r+2}/μ_r = −(r−1)/√((r+1)(r+2)) (even r ≥ 2), zeros for odd
    # r ≥ 3.  Tolerance 1e-13·√q (the stated 1e-14‖φ‖_q, ‖φ‖_q = √(q/2), plus rounding).
    R = 400
    cf = np.zeros(R + 1)
    cf[:3] = RELU_CF[:3]
    for r in range(2, R - 1, 2):
        cf[r + 2] = cf[r] * (-(r - 1) / math.sqrt((r + 1) * (r + 2)))
    got = hermite_coefficients(numeric_copy("relu"), R, q)
    assert np.max(np.abs(got - math.sqrt(q) * cf)) < 1e-13 * math.sqrt(q)


def test_relu_exact_equals_digest_formula():
    exact = hermite_coefficients_exact("relu", 30)
    for r, e in enumerate(exact):
        if r == 0:
            ref = 1 / sp.sqrt(2 * sp.pi)
        elif r == 1:
            ref = sp.Rational(1, 2)
        elif r % 2:
            ref = sp.Integer(0)
        else:
            ref = (-1) ** (r // 2 - 1) * sp.factorial2(r - 3) / sp.sqrt(2 * sp.pi * sp.factorial(r))
        assert sp.simplify(e - ref) == 0, r


def test_relu_exact_scales_with_symbolic_q():
    q = sp.Symbol("q", positive=True)
    exact = hermite_coefficients_exact("relu", 4, q)
    base = hermite_coefficients_exact("relu", 4)
    for e, b in zip(exact, base):
        assert sp.simplify(e - sp.sqrt(q) * b) == 0


# --- the digest's table ------------------------------------------------------------------------------------

# Zhu et al. 2022 digest §3.4 (6-decimal rounding, so tolerance 1e-6): μ0..μ8, E[σ²], E[σ′], E[σ′²]
TABLE = {
    "relu": [0.398942, 0.500000, 0.282095, 0, -0.081434, 0, 0.044603, 0, -0.029802, 0.500000, 0.500000, 0.500000],
    "leaky_relu:0.01": [0.394953, 0.505000, 0.279274, 0, -0.080619, 0, 0.044157, 0, -0.029504,
                        0.500050, 0.505000, 0.500050],
    "leaky_relu:0.2": [0.319154, 0.600000, 0.225676, 0, -0.065147, 0, 0.035682, 0, -0.023841,
                       0.520000, 0.600000, 0.520000],
    "sigmoid": [0.500000, 0.206621, 0, -0.025473, 0, 0.005877, 0, -0.001727, 0, 0.293379, 0.206621, 0.044836],
    "tanh": [0, 0.605706, 0, -0.148437, 0, 0.062548, 0, -0.031445, 0, 0.394294, 0.605706, 0.464403],
    "swish": [0.206621, 0.500000, 0.248085, 0, -0.037805, 0, 0.009827, 0, -0.003120, 0.355776, 0.500000, 0.379482],
    "gelu": [0.282095, 0.500000, 0.299207, 0, -0.071978, 0, 0.027597, 0, -0.011854, 0.425221, 0.500000, 0.455851],
    "elu": [0.160521, 0.761578, 0.184964, -0.056079, -0.028039, 0.023879, 0.009748, -0.013174, -0.004658,
            0.644945, 0.761578, 0.668102],
    "identity": [0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_digest_table(name):
    mu = hermite_coefficients(name, 8)
    m = gaussian_moments(name)
    got = list(mu) + [m["E_phi2"], m["E_dphi"], m["E_dphi2"]]
    # table rounded to 6 decimals → |error| ≤ 5e-7; 1e-6 leaves room for the last-digit rounding
    assert np.max(np.abs(np.array(got) - np.array(TABLE[name]))) <= 1e-6
    assert abs(m["E_phi"] - mu[0]) < 1e-14          # E[φ] = μ0 (h_0 = 1), two integrands


def test_table_report_rows():
    rows = hermite_table(["relu", "tanh"], 8)
    assert rows[0]["activation"] == "relu" and np.allclose(rows[0]["mu"], RELU_CF[:9], atol=1e-14)
    md = format_hermite_table(rows)
    assert "| relu | 1 | 0.398942 | 0.500000 | 0.282095 | 0 |" in md
    assert md.count("\n") == 3


# --- Parseval, Stein, derivative identity ------------------------------------------------------------------

@pytest.mark.parametrize("name", SMOOTH)
def test_parseval_smooth(name):
    # Truncation: these φ are analytic in a strip |Im x| < τ with τ ≥ π/2 (tanh: poles at ±iπ/2; sigmoid,
    # swish, softplus: ±iπ; erf, gelu entire), so |μ_r| ≲ exp(−τ√(2r)) (Hille 1940); at R = 120 the
    # neglected Σ_{r>R} μ_r² and Σ_{r>R} r μ_r² are < 1e-18.  Quadrature error 1e-14‖φ‖ per coefficient
    # moves Σμ_r² by ≤ 2·√121·1e-14‖φ‖² ≈ 2e-13‖φ‖².  Tolerance 1e-12 (Σμ²) and 1e-11 (Σrμ², weights ≤ 120).
    R = 120
    mu = hermite_coefficients(name, R)
    m = gaussian_moments(name)
    assert abs(np.sum(mu ** 2) - m["E_phi2"]) <= 1e-12 * max(1.0, m["E_phi2"])
    # E[φ'²] = Σ_r r μ_r²  (derivative identity + Parseval for φ')
    assert abs(np.sum(np.arange(R + 1) * mu ** 2) - m["E_dphi2"]) <= 1e-11 * max(1.0, m["E_dphi2"])


def test_parseval_relu_with_closed_form_tail():
    # ReLU converges like r^{-5/2}: compare the quadrature's deficit 1/2 − Σ_{r≤R} μ_r² with the closed-form
    # tail Σ_{even r>R} μ_r², summed to r = 2·10^7 with μ_{r+2}²/μ_r² = (r−1)²/((r+1)(r+2)); the remainder
    # beyond is ≤ (1/2π)√(2/π) K^{-3/2}/3 ≈ 5e-13 (asymptotics μ_r² ~ (2π)^{-1}√(2/π) r^{-5/2}).
    R = 30
    mu = hermite_coefficients("relu", R)
    r = np.arange(R + 2, 2 * 10 ** 7, 2, dtype=np.float64)          # even r > R
    ratio = (r - 3) ** 2 / ((r - 1) * r)                             # μ_r²/μ_{r−2}²
    tail = relu_closed_form(R) ** 2 * np.cumprod(ratio)
    deficit = 0.5 - np.sum(mu ** 2)
    assert deficit > 0
    assert abs(deficit - tail.sum()) < 2e-12


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("q", [0.25, 1.0, 30.0])
def test_stein_identity(name, q):
    # μ_1(φ; q) = E[z φ(√q z)] = √q E[φ'(√q z)] (Gaussian integration by parts); φ' is the separately coded
    # derivative.  Both sides carry quadrature error ≤ 1e-14·norm: tolerance 1e-12·max(1, ‖φ‖, √q‖φ'‖).
    mu1 = hermite_coefficients(name, 1, q)[1]
    m = gaussian_moments(name, q)
    scale = max(1.0, math.sqrt(m["E_phi2"]), math.sqrt(q * m["E_dphi2"]))
    assert abs(mu1 - math.sqrt(q) * m["E_dphi"]) <= 1e-12 * scale


@pytest.mark.parametrize("name", ["relu", "leaky_relu:0.2", "tanh", "sigmoid", "gelu", "elu", "swish"])
@pytest.mark.parametrize("q", [1.0, 9.0])
def test_derivative_identity(name, q):
    # √q μ_r(φ'; q) = √(r+1) μ_{r+1}(φ; q): left side is the quadrature of the derivative function (a step
    # function for the ReLU family), right side the quadrature of φ itself.
    act = get_activation(name)
    key = "t_hermite_deriv_" + name.replace(":", "_").replace(".", "_")
    unregister_activation(key)
    dact = register_activation(key, fn=act.deriv, deriv=lambda t: np.zeros_like(t), kinks=act.kinks)
    try:
        R = 20
        lhs = math.sqrt(q) * hermite_coefficients(dact, R - 1, q)
        rhs = np.sqrt(np.arange(1, R + 1)) * hermite_coefficients(act, R, q)[1:]
        scale = max(1.0, math.sqrt(q) * math.sqrt(gaussian_moments(act, q)["E_dphi2"]))
        # each side ≤ 1e-14·scale·√(r+1) ≤ 5e-14·scale; allow 1e-12·scale
        assert np.max(np.abs(lhs - rhs)) <= 1e-12 * scale
    finally:
        unregister_activation(key)


@settings(max_examples=15, deadline=None)
@given(q=st.floats(min_value=1e-3, max_value=1e3), name=st.sampled_from(["tanh", "sigmoid", "elu", "gelu"]))
def test_random_q_vs_scipy_quad(q, name):
    # Non-homogeneous φ at random q: compare μ_0..μ_4 with scipy.integrate.quad in the variable x = √q z.
    # QUADPACK's epsabs = 1e-13 plus our 1e-14‖φ‖: tolerance 1e-11·max(1, ‖φ‖).
    _check_against_quad(name, q, [0, 1, 2, 3, 4], 1e-11)


def _quad_mu(act, r, q):
    s = math.sqrt(q)
    c = 1.0 / math.sqrt(math.factorial(r) * 2.0 * math.pi)

    def f(x):
        z = x / s
        return float(act.fn(np.array(x))) * special.eval_hermitenorm(r, z) * math.exp(-0.5 * z * z) * c / s

    brk = sorted({0.0, *act.kinks, -1.0, 1.0, -5.0, 5.0, -5 * s, 5 * s})
    lim = 30.0 * s
    pts = [-lim] + [b for b in brk if -lim < b < lim] + [lim]
    total = 0.0
    with warnings.catch_warnings():   # QUADPACK warns when it reaches rounding level before epsabs=1e-14
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(pts[:-1], pts[1:]):
            total += integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-13, limit=400)[0]
    return total


def _check_against_quad(name, q, rs, tol):
    act = get_activation(name)
    mu = hermite_coefficients(act, max(rs), q)
    norm = math.sqrt(gaussian_moments(act, q)["E_phi2"])
    for r in rs:
        assert abs(mu[r] - _quad_mu(act, r, q)) <= tol * max(1.0, norm), (name, q, r)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "elu", "softplus"])
@pytest.mark.parametrize("q", [1e3, 1e4])
def test_large_q_vs_scipy_quad(name, q):
    # Large variance: φ(√q z) has features of width 1/√q = 0.01–0.03 in z; a fixed-order rule would miss them.
    _check_against_quad(name, q, [1, 2, 3, 7, 12], 1e-11)


def test_sign_function_large_q_exact():
    # sign(√q z) = sign(z): the exact coefficients do not depend on q, and the quadrature must split at the
    # jump (listed as a kink).  Tolerance 1e-13 (‖sign‖ = 1; stated error 1e-14 + rounding).
    unregister_activation("t_hermite_sign")
    act = register_activation("t_hermite_sign", "Piecewise((1, x > 0), (-1, True))", kinks=(0.0,))
    try:
        exact = np.array([float(e) for e in hermite_coefficients_exact(act, 30, 7)])
        for q in (1e-4, 1.0, 1e4):
            assert np.max(np.abs(hermite_coefficients(act, 30, q) - exact)) < 1e-13
        assert abs(exact[1] - math.sqrt(2 / math.pi)) < 1e-15   # E|z| = √(2/π)
    finally:
        unregister_activation("t_hermite_sign")


# --- parity zeros ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [1.0, 1e3])
def test_parity_zeros(q):
    # Odd/even symmetry gives exact zeros; 1e-13·max(1, ‖φ‖) is the quadrature tolerance plus rounding.
    R = 30
    even, odd = np.arange(0, R + 1, 2), np.arange(3, R + 1, 2)
    tol = 1e-13
    assert np.max(np.abs(hermite_coefficients("tanh", R, q)[even])) < tol
    assert np.max(np.abs(hermite_coefficients("erf", R, q)[even])) < tol
    assert np.max(np.abs(hermite_coefficients("sigmoid", R, q)[even[1:]])) < tol
    assert np.max(np.abs(hermite_coefficients("relu", R, q)[odd])) < tol * math.sqrt(q)
    # and the non-zero ones are clearly non-zero (so the test can fail for a wrong parity)
    assert np.min(np.abs(hermite_coefficients("tanh", 9, q)[1::2])) > 1e-4
    assert np.min(np.abs(hermite_coefficients("relu", 10, q)[2::2])) > 1e-3


# --- exact vs numeric --------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [1, 0.01, 50])
def test_leaky_relu_exact_vs_numeric(q, numeric_copy):
    exact = np.array([float(e) for e in hermite_coefficients_exact("leaky_relu:0.2", 30, q)])
    got = hermite_coefficients(numeric_copy("leaky_relu:0.2"), 30, q)
    assert np.max(np.abs(exact - got)) < 1e-12 * max(1.0, math.sqrt(q))
    # and the family identity μ_r(leaky_s) = (1−s) μ_r(relu) + s δ_{r1} (closed form of the digest)
    ref = 0.8 * math.sqrt(q) * RELU_CF
    ref[1] += 0.2 * math.sqrt(q)
    assert np.max(np.abs(exact - ref)) < 1e-13 * max(1.0, math.sqrt(q))


def test_registered_polynomial_exact_vs_numeric():
    # x³ − 2x = He_3 + He_1 (since x³ = He_3 + 3 He_1): μ_1 = 1, μ_3 = √6, others 0 at q = 1.
    unregister_activation("t_hermite_cubic")
    act = register_activation("t_hermite_cubic", "x**3 - 2*x")
    try:
        exact = hermite_coefficients_exact(act, 6)
        assert [sp.nsimplify(e) for e in exact] == [0, 1, 0, sp.sqrt(6), 0, 0, 0]
        for q in (1.0, 0.3, 20.0):
            ex = np.array([float(e) for e in hermite_coefficients_exact(act, 6, q)])
            num = hermite_coefficients(act, 6, q)
            assert np.max(np.abs(ex - num)) < 1e-12 * max(1.0, q ** 1.5 * math.sqrt(15))
            # by hand at scale q: (√q z)³ − 2√q z = q^{3/2}(He_3 + 3He_1) − 2√q He_1
            assert abs(ex[3] - q ** 1.5 * math.sqrt(6)) < 1e-12 * q ** 1.5
            assert abs(ex[1] - (3 * q ** 1.5 - 2 * q ** 0.5)) < 1e-12 * max(1.0, q ** 1.5)
    finally:
        unregister_activation("t_hermite_cubic")


def test_shifted_relu_exact_vs_numeric():
    # a kink away from 0 brings erf terms into the exact form; numeric quadrature splits at 1/√q
    unregister_activation("t_hermite_shift")
    act = register_activation("t_hermite_shift", "Max(x - 1, 0)", kinks=(1.0,))
    try:
        for q in (1, 4, 0.5):
            ex = np.array([float(e) for e in hermite_coefficients_exact(act, 12, q)])
            assert np.max(np.abs(ex - hermite_coefficients(act, 12, q))) < 1e-13
        # μ_0 = E[(z−1)_+] = ϕ(1) − (1 − Φ(1)) (standard truncated-mean formula)
        mu0 = math.exp(-0.5) / math.sqrt(2 * math.pi) - 0.5 * special.erfc(1 / math.sqrt(2))
        assert abs(ex[0] - hermite_coefficients(act, 0, 0.5)[0]) < 1e-13
        assert abs(float(hermite_coefficients_exact(act, 0, 1)[0]) - mu0) < 1e-15
    finally:
        unregister_activation("t_hermite_shift")


def test_non_linear_exponent_has_no_closed_form():
    unregister_activation("t_hermite_gauss")
    act = register_activation("t_hermite_gauss", "exp(-x**2)")
    try:
        with pytest.raises(NoClosedForm, match=r"μ_r\(t_hermite_gauss\)"):
            hermite_coefficients_exact(act, 2)
    finally:
        unregister_activation("t_hermite_gauss")


def test_identity_exact():
    assert hermite_coefficients_exact("identity", 3, 4) == [0, 2, 0, 0]


@pytest.mark.parametrize("q", [1, 0.01, 30])
def test_elu_exact_vs_numeric(q, numeric_copy):
    # exponential pieces: e^{βz}ϕ(z) = e^{β²/2}ϕ(z − β) in the exact path; numeric copy for the quadrature
    for name in ("elu", "elu:0.5"):
        exact = np.array([float(e) for e in hermite_coefficients_exact(name, 10, q)])
        got = hermite_coefficients(numeric_copy(name), 10, q)
        assert np.max(np.abs(exact - got)) < 1e-13 * max(1.0, math.sqrt(q))
    # by hand: E[elu(z)] = E[z; z > 0] + E[e^z − 1; z < 0] = 1/√(2π) + e^{1/2}Φ(−1) − 1/2
    mu0 = 1 / math.sqrt(2 * math.pi) + math.exp(0.5) * 0.5 * special.erfc(1 / math.sqrt(2)) - 0.5
    assert abs(float(hermite_coefficients_exact("elu", 0)[0]) - mu0) < 1e-15


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu", "softplus", "swish", "erf"])
def test_no_closed_form(name):
    with pytest.raises(NoClosedForm, match=r"^no closed form for μ_r\(" + name + r"\)$"):
        hermite_coefficients_exact(name, 3)
    assert issubclass(NoClosedForm, NtkcheckError)


# --- user activations --------------------------------------------------------------------------------------

def test_user_activation_sympy_string_and_numpy_function():
    unregister_activation("t_hermite_sym")
    unregister_activation("t_hermite_np")
    a_sym = register_activation("t_hermite_sym", "x*tanh(x)")
    a_np = register_activation("t_hermite_np", fn=lambda t: t * np.tanh(t))   # derivative by finite differences
    try:
        mu_s = hermite_coefficients(a_sym, 10, 2.0)
        mu_n = hermite_coefficients(a_np, 10, 2.0)
        assert np.max(np.abs(mu_s - mu_n)) < 1e-13
        # x·tanh(x) is even: odd coefficients vanish
        assert np.max(np.abs(mu_s[1::2])) < 1e-13
        # Stein with the sympy derivative (exact) and with the finite-difference derivative (≈1e-10 accurate)
        # (the finite-difference derivative has noise ~ε/h ≈ 1e-11, so its quadrature needs rtol = 1e-9)
        for act, tol, rtol in ((a_sym, 1e-12, 1e-14), (a_np, 1e-8, 1e-9)):
            m = gaussian_moments(act, 2.0, rtol=rtol)
            assert abs(hermite_coefficients(act, 1, 2.0)[1] - math.sqrt(2.0) * m["E_dphi"]) < tol
        with pytest.raises(NoClosedForm, match="t_hermite_sym"):
            hermite_coefficients_exact(a_sym, 2)
    finally:
        unregister_activation("t_hermite_sym")
        unregister_activation("t_hermite_np")


# --- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("r_max", [-1, 2.5, True, "3", 10 ** 6])
def test_bad_r_max(r_max):
    with pytest.raises(NtkcheckError, match="r_max"):
        hermite_coefficients("relu", r_max)


@pytest.mark.parametrize("q", [0, -1.0, float("nan"), float("inf"), "a", None])
def test_bad_q(q):
    with pytest.raises(NtkcheckError, match="variance q"):
        hermite_coefficients("tanh", 3, q)
    with pytest.raises(NtkcheckError, match="variance q"):
        gaussian_moments("tanh", q)


@pytest.mark.parametrize("rtol", [0.0, -1e-3, 2.0, float("nan"), "x"])
def test_bad_rtol(rtol):
    with pytest.raises(NtkcheckError, match="rtol"):
        hermite_coefficients("tanh", 3, rtol=rtol)


def test_constant_user_function_broadcasts():
    # a numpy function returning a scalar: φ ≡ 2 has μ_0 = 2 and μ_r = 0 (r ≥ 1), E[φ²] = 4, E[φ'] = 0
    unregister_activation("t_hermite_const")
    act = register_activation("t_hermite_const", fn=lambda t: 2.0, deriv=lambda t: 0.0)
    try:
        mu = hermite_coefficients(act, 5, 3.0)
        assert abs(mu[0] - 2.0) < 1e-14 and np.max(np.abs(mu[1:])) < 1e-14
        m = gaussian_moments(act, 3.0)
        assert abs(m["E_phi2"] - 4.0) < 1e-13 and m["E_dphi"] == 0.0
    finally:
        unregister_activation("t_hermite_const")


def test_bad_exact_q_and_unknown_name():
    with pytest.raises(NtkcheckError, match="variance q"):
        hermite_coefficients_exact("relu", 3, -2)
    with pytest.raises(NtkcheckError, match="unknown activation 'nope'"):
        hermite_coefficients("nope", 3)


def test_unlisted_discontinuity_is_reported():
    unregister_activation("t_hermite_step")
    act = register_activation("t_hermite_step", fn=lambda t: np.where(t > 0.3, 1.0, 0.0))
    try:
        with pytest.raises(NtkcheckError, match="did not reach its tolerance near z = 0.3"):
            hermite_coefficients(act, 4)
    finally:
        unregister_activation("t_hermite_step")


def test_non_finite_activation_is_reported():
    unregister_activation("t_hermite_exp")
    act = register_activation("t_hermite_exp", fn=lambda t: np.exp(np.minimum(t, 800.0)) * (1 + 0 * t))
    try:
        with pytest.raises(NtkcheckError, match="non-finite"):
            hermite_coefficients(act, 2, 1e4)      # e^{100·24} overflows
    finally:
        unregister_activation("t_hermite_exp")
