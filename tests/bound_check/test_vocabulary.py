"""The vocabulary of contract §10: parsing errors and every name's value against an independent computation
(closed forms for ReLU Hermite coefficients, numpy eigvalsh, Gauss–Hermite quadrature for q(2))."""

import math

import numpy as np
import pytest

from ntkcheck.bound_check.problem import Configuration, evaluate, make_problem
from ntkcheck.bound_check.vocabulary import (BoundContext, evaluate_assumption, evaluate_bound, parse_assumption,
                                             parse_bound)
from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import fc_spec, nb201_spec, residual_spec


def _sphere(N, d, seed=0):
    X = np.random.default_rng(seed).standard_normal((N, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.mark.parametrize("text, msg", [
    ("x + 1", "unknown name"), ("foo(2)", "unknown function"), ("2*(", "cannot parse"), ("mu(1, 2, 3)", "argument"),
    ("", "non-empty"), ("__import__('os')", "not a plain expression"), ("mu", "unknown name"),
])
def test_parse_errors_are_one_line(text, msg):
    with pytest.raises(NtkcheckError) as e:
        parse_bound(text)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_sympy_names_override_and_sums():
    b = parse_bound("N*trace + E + pi + sqrt(d) + Sum(mu(r)**2, (r, 0, 2))")
    assert set(b.symbols) == {"N", "trace", "d"} and b.functions == ("mu",)


def test_values_two_layer_relu_against_closed_forms():
    sw, sb, d, N = 2.0, 0.5, 3, 4
    spec = fc_spec(["relu"], sigma_w2=sw, sigma_b2=sb)
    X = _sphere(N, d)
    ctx = BoundContext(spec, X, "ntk")
    q = sw / d + sb                                      # contract §10: q(1) = σ_w²/d + σ_b² for unit rows
    assert ctx.q(1) == pytest.approx(q, rel=1e-12)
    # ReLU: μ0 = √q/√(2π), μ1 = √q/2, μ2 = √q/√(4π), μ3 = 0 (Zhu digest §3.4 closed form)
    for r, v in [(0, math.sqrt(q / (2 * math.pi))), (1, math.sqrt(q) / 2), (2, math.sqrt(q / (4 * math.pi))), (3, 0)]:
        assert evaluate_bound(parse_bound(f"mu({r})"), ctx) == pytest.approx(v, abs=1e-12)
        assert evaluate_bound(parse_bound(f"mu({r}, 1)"), ctx) == pytest.approx(v, abs=1e-12)
    C = X @ X.T
    for r in range(4):
        w = np.linalg.eigvalsh(C ** r)
        assert evaluate_bound(parse_bound(f"lam_min_hadamard({r})"), ctx) == pytest.approx(w[0], abs=1e-12)
        assert evaluate_bound(parse_bound(f"lam_max_hadamard({r})"), ctx) == pytest.approx(w[-1], abs=1e-12)
    w = np.linalg.eigvalsh(C)
    assert evaluate_bound(parse_bound("lam_min_gram + 10*lam_max_gram"), ctx) == pytest.approx(w[0] + 10 * w[-1])
    rho = max(abs(C[i, j]) for i in range(N) for j in range(N) if i != j)
    assert evaluate_bound(parse_bound("max_rho"), ctx) == pytest.approx(rho, abs=1e-15)
    # NTK diagonal of the two-layer ReLU net: σ_w² q/2 + σ_b² + σ_w² (1/2) q  (E φ² = q/2, E φ'² = 1/2, Θ00 = q)
    diag = sw * q / 2 + sb + sw * 0.5 * q
    assert evaluate_bound(parse_bound("diag_min"), ctx) == pytest.approx(diag, rel=1e-12)
    assert evaluate_bound(parse_bound("diag_max"), ctx) == pytest.approx(diag, rel=1e-12)
    assert evaluate_bound(parse_bound("trace"), ctx) == pytest.approx(N * diag, rel=1e-12)
    assert evaluate_bound(parse_bound("N + 10*d + 100*L + sigma_w2 + sigma_b2"), ctx) == N + 10 * d + 100 + sw + sb
    s = evaluate_bound(parse_bound("Sum((r+1)*mu(r)**2*lam_min_hadamard(r), (r, 0, 3))"), ctx)
    mus = [math.sqrt(q / (2 * math.pi)), math.sqrt(q) / 2, math.sqrt(q / (4 * math.pi)), 0.0]
    assert s == pytest.approx(sum((r + 1) * mus[r] ** 2 * np.linalg.eigvalsh(C ** r)[0] for r in range(4)), abs=1e-12)


def test_q_of_second_layer_by_gauss_hermite():
    sw, sb, d = 1.5, 0.2, 4
    spec = fc_spec(["tanh", "relu"], sigma_w2=sw, sigma_b2=sb)
    ctx = BoundContext(spec, _sphere(3, d, 1), "ntk")
    q1 = sw / d + sb
    z, w = np.polynomial.hermite_e.hermegauss(120)
    q2 = sw * np.sum(w * np.tanh(math.sqrt(q1) * z) ** 2) / math.sqrt(2 * math.pi) + sb
    assert ctx.L == 2
    assert ctx.q(1) == pytest.approx(q1, rel=1e-12)
    assert ctx.q(2) == pytest.approx(q2, rel=1e-9)
    assert evaluate_bound(parse_bound("mu(1, 2)"), ctx) == pytest.approx(math.sqrt(q2) / 2, rel=1e-9)
    assert evaluate_bound(parse_bound("mu(1, L)"), ctx) == pytest.approx(math.sqrt(q2) / 2, rel=1e-9)
    mu1_tanh = np.sum(w * np.tanh(math.sqrt(q1) * z) * z) / math.sqrt(2 * math.pi)
    assert evaluate_bound(parse_bound("mu(1, 1)"), ctx) == pytest.approx(mu1_tanh, rel=1e-9)


def test_structure_counts():
    ctx = BoundContext(residual_spec(["relu"] * 3), _sphere(2, 3), "ntk")
    assert evaluate_bound(parse_bound("1000*L + 100*n_skips + n_paths"), ctx) == 1000 * 4 + 100 * 3 + 8
    cell = nb201_spec("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    ctx = BoundContext(cell, _sphere(2, 3), "ntk")
    # paths 0→3: direct skip; 0→2→3 (two edges into 2: skip, and via 1) → 1 + 2 = 3; dense edges 3 + readout
    assert evaluate_bound(parse_bound("100*L + 10*n_skips + n_paths"), ctx) == 100 * 4 + 10 * 2 + 3


def test_index_errors_and_nan_are_not_evaluable():
    spec, X = fc_spec(["relu"]), _sphere(3, 3)
    p = make_problem("ntk_lambda_min", lower="mu(1, 5)")
    assert evaluate(p, Configuration(spec, X)).status == "not_evaluable"
    p = make_problem("ntk_lambda_min", lower="sqrt(-1 - N)")
    assert evaluate(p, Configuration(spec, X)).status == "not_evaluable"
    p = make_problem("ntk_lambda_min", lower="mu(1/2)")
    assert evaluate(p, Configuration(spec, X)).status == "not_evaluable"


def test_callable_bound_and_assumptions():
    spec, X = fc_spec(["relu"]), _sphere(3, 5)
    ctx = BoundContext(spec, X, "ntk")
    assert evaluate_bound(lambda c: c.N * c.d, ctx) == 15
    for text, val in [("N <= d", True), ("L == 1", True), ("L == 2", False), ("N > d", False),
                      ("max_rho < 1", True)]:
        assert evaluate_assumption(parse_assumption(text), ctx) is val
    with pytest.raises(NtkcheckError):
        parse_assumption("N + d")


def test_make_problem_rejects_bad_input():
    with pytest.raises(NtkcheckError, match="unknown quantity"):
        make_problem("ntk_lambda_mid", lower="1")
    with pytest.raises(NtkcheckError, match="exactly one"):
        make_problem("ntk_lambda_min", lower="1", upper="2")
    with pytest.raises(NtkcheckError, match="width"):
        make_problem("ntk_lambda_min", lower="n")
    with pytest.raises(NtkcheckError, match="space"):
        make_problem("ntk_lambda_min", lower="1", space="cnn")


@pytest.mark.parametrize("code", ["2_02_002", "1_01_222", "2_21_112", "2_11_002"])
def test_convergence_rate_against_chen_reference(code):
    """Chen et al. 2022 Thm 3.1 rate 1 − η λ_min(K^(H))/2, with K^(H) from the project engine (via the
    quantity) against the independent digest §2.2 recursion of theory/connectivity.py."""
    from ntkcheck.bound_check.quantities import compute_quantity
    from ntkcheck.spec import chen_dag_spec
    from ntkcheck.theory.connectivity import chen_exact_reference

    spec, X = chen_dag_spec(code), _sphere(5, 6, 4)
    ctx = BoundContext(spec, X, "nngp", eta=0.3)
    v = compute_quantity("convergence_rate", ctx, eta=0.3)
    K = chen_exact_reference(spec, X @ X.T).K[-1]               # the last node
    assert v.value == pytest.approx(1 - 0.3 * np.linalg.eigvalsh(K)[0] / 2, abs=1e-10)
    assert evaluate_bound(parse_bound("trace"), ctx) == pytest.approx(np.trace(K), rel=1e-10)


def test_moments_extension_relu_closed_forms():
    """E[φ], E[φ²], E[φ'], E[φ'²] of ReLU at variance q: √q/√(2π), q/2, 1/2, 1/2."""
    spec, X = fc_spec(["relu"], sigma_w2=3.0, sigma_b2=0.25), _sphere(3, 4)
    ctx = BoundContext(spec, X, "nngp")
    q = 3.0 / 4 + 0.25
    vals = {"E_phi(1)": math.sqrt(q / (2 * math.pi)), "E_phi2()": q / 2, "E_dphi(1)": 0.5, "E_dphi2(L)": 0.5}
    for text, v in vals.items():
        assert evaluate_bound(parse_bound(text), ctx) == pytest.approx(v, rel=1e-10)
