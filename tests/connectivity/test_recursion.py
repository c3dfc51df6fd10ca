r"""Chen et al. 2022 kernels: Lemma 3.2 maps (C1), the reference recursion against closed forms (C2, C3, C5),
against a Monte Carlo finite-width network (C4) and, when it has landed, the project's engine against both.

Tolerances: closed form vs recursion 1e-12 absolute (both are a handful of float64 arc-cosine evaluations
on O(1)..O(10) numbers: rounding ≈ 1e-15); quadrature vs closed form 1e-10 (scipy.quad's requested
epsabs); Monte Carlo: see the test docstring.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from ntkcheck.spec import chen_dag_spec
from ntkcheck.theory.connectivity import (F_map, chen_exact_reference, dag2_exact_kernel, dag3_exact_kernel,
                                          f_arccos, f_prime, fig3_exact_2x2, fig3_paper_2x2, h_paper)

from .conftest import chen_dag_strings, unit_data

GRID = np.linspace(-1, 1, 2001)


# ---- C1: Lemma 3.2 ---------------------------------------------------------------------------------------

def test_h_equals_arccos_map_on_grid():
    """C1: the paper's h(C) = (2C arcsin C + 2√(1−C²) + πC)/(2π) equals the arc-cosine f to 1e-12."""
    assert np.max(np.abs(h_paper(GRID) - f_arccos(GRID))) < 1e-12
    assert f_arccos(1.0) == pytest.approx(1.0, abs=1e-15)
    assert f_arccos(0.0) == pytest.approx(1 / math.pi, abs=1e-15)
    assert f_arccos(-1.0) == pytest.approx(0.0, abs=1e-15)


def _gauss_relu_product(rho: float) -> float:
    """E[√2 ReLU(u)·√2 ReLU(v)], corr(u, v) = ρ, by 1-D quadrature over u of the closed-form conditional
    mean E[ReLU(v) | u] = m Φ(m/s) + s φ(m/s), m = ρu, s = √(1 − ρ²) (an independent second method)."""
    s = math.sqrt(max(1 - rho * rho, 0.0))

    def inner(u):
        m = rho * u
        cond = max(m, 0.0) if s == 0 else m * stats.norm.cdf(m / s) + s * stats.norm.pdf(m / s)
        return 2 * u * cond * stats.norm.pdf(u)

    val, _ = integrate.quad(inner, 0, np.inf, epsabs=1e-13, epsrel=1e-12)
    return val


@pytest.mark.parametrize("rho", [-0.95, -0.3, 0.0, 0.4, 0.8, 0.999])
def test_f_is_the_gaussian_relu_kernel(rho):
    assert f_arccos(rho) == pytest.approx(_gauss_relu_product(rho), abs=1e-10)


def test_f_prime_by_finite_differences_and_monotone_convex():
    r = np.linspace(-0.9, 0.9, 37)
    h = 1e-6
    fd = (f_arccos(r + h) - f_arccos(r - h)) / (2 * h)
    assert np.max(np.abs(fd - f_prime(r))) < 1e-8  # central difference error O(h²·f''') ≈ 1e-12, rounding 1e-10
    assert np.all(np.diff(f_arccos(GRID)) > 0) and np.all(np.diff(f_prime(GRID)) >= 0)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.floats(0.01, 100.0), st.integers(0, 2**31 - 1))
def test_F_is_one_homogeneous(N, c, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, N + 1))
    K = A @ A.T
    assert np.allclose(F_map(c * K), c * F_map(K), rtol=1e-12, atol=0)


# ---- the reference recursion against closed forms ---------------------------------------------------------

def _K0(rho):
    return np.array([[1.0, rho], [rho, 1.0]])


@pytest.mark.parametrize("rho", [-0.9, -0.2, 0.0, 0.3, 0.5, 0.9, 0.99])
def test_fig3_paper_rule_2x2_closed_forms(rho):
    """C2: paper-rule 2×2 λ_min = 1 − f³, 3(1 − f), 4 − ρ − f − 2f² (Eqs. 7, 9, 11)."""
    cf = fig3_paper_2x2(rho)
    for name, code in (("dag1", "2_02_002"), ("dag2", "1_01_222"), ("dag3", "2_21_112")):
        K = chen_exact_reference(code, _K0(rho), cross_terms=False).nngp
        assert K[0, 0] - K[0, 1] == pytest.approx(float(cf[name]), abs=1e-12)


@pytest.mark.parametrize("rho", [-0.9, 0.0, 0.5, 0.9])
def test_fig3_exact_closed_forms(rho):
    """C5 / digest §2.3: exact K^3 of DAG#2 = 3F + 6/π·11ᵀ; DAG#3 closed form (ν^0 = 0 and 1/√π);
    exact DAG#1 = F∘F∘F(K0) (a chain: no cross terms)."""
    K0 = _K0(rho)
    assert np.allclose(chen_exact_reference("1_01_222", K0).nngp, dag2_exact_kernel(K0), atol=1e-12, rtol=0)
    assert np.allclose(chen_exact_reference("2_21_112", K0).nngp, dag3_exact_kernel(K0), atol=1e-12, rtol=0)
    nu = 1 / math.sqrt(math.pi)
    assert np.allclose(chen_exact_reference("2_21_112", K0, np.full(2, nu)).nngp, dag3_exact_kernel(K0, nu),
                       atol=1e-12, rtol=0)
    assert np.allclose(chen_exact_reference("2_02_002", K0).nngp, F_map(F_map(F_map(K0))), atol=1e-12, rtol=0)
    ex = fig3_exact_2x2(rho)
    for name, code in (("dag1", "2_02_002"), ("dag2", "1_01_222"), ("dag3", "2_21_112")):
        K = chen_exact_reference(code, K0).nngp
        assert K[0, 0] - K[0, 1] == pytest.approx(float(ex[name]), abs=1e-12)


def test_digest_reference_numbers():
    """Digest §2.3 values (4 decimals there, so 5e-5)."""
    one = np.ones((1, 1))
    assert chen_exact_reference("1_01_222", one).nngp[0, 0] == pytest.approx(3 + 6 / math.pi, abs=1e-14)
    assert chen_exact_reference("1_01_222", one).nngp[0, 0] == pytest.approx(4.9099, abs=5e-5)
    assert chen_exact_reference("2_21_112", one).nngp[0, 0] == pytest.approx(5.6703, abs=5e-5)
    assert chen_exact_reference("2_21_112", one, np.array([1 / math.sqrt(math.pi)])).nngp[0, 0] == \
        pytest.approx(7.3407, abs=5e-5)
    for rho, e, p in ((0.0, 2.7425, 2.6942), (0.5, 1.5432, 1.5232), (0.9, 0.3571, 0.3550)):
        assert float(fig3_exact_2x2(rho)["dag3"]) == pytest.approx(e, abs=5e-5)
        assert float(fig3_paper_2x2(rho)["dag3"]) == pytest.approx(p, abs=5e-5)


@settings(max_examples=40, deadline=None)
@given(chen_dag_strings(), st.integers(0, 2**31 - 1))
def test_paper_rule_diagonal_counts_paths(code, seed):
    """C3: under the paper's rule with unit-diagonal K^0, diag K^(H) = P (number of paths), by induction."""
    X = unit_data(np.random.default_rng(seed), 4, 3)
    K = chen_exact_reference(code, X @ X.T, cross_terms=False).nngp
    assert np.allclose(np.diag(K), chen_dag_spec(code).n_paths, atol=1e-12, rtol=0)


@settings(max_examples=40, deadline=None)
@given(chen_dag_strings(), st.integers(0, 2**31 - 1))
def test_exact_equals_paper_on_chains_and_diagonal_dominates(code, seed):
    """Digest §2.3: exact == paper when every in-degree ≤ 1 (chains).  On the diagonal every dropped term is
    ≥ 0 (products of non-negative means, or K^{st}_ii of nodes that are sums of skips and ReLU outputs), so
    diag(exact) ≥ diag(paper); off the diagonal raw inputs with ρ < 0 can pass through skips, so no entrywise
    claim is tested."""
    spec = chen_dag_spec(code)
    X = unit_data(np.random.default_rng(seed), 4, 3)
    ex = chen_exact_reference(spec, X @ X.T).nngp
    pa = chen_exact_reference(spec, X @ X.T, cross_terms=False).nngp
    indeg = [sum(e.kind != "zero" for e in spec.incoming(v)) for v in range(1, spec.nodes)]
    if max(indeg) <= 1:
        assert np.allclose(ex, pa, atol=1e-12, rtol=0)
    assert np.all(np.diag(ex) >= np.diag(pa) - 1e-12)


# ---- C4: Monte Carlo finite width converges to the exact recursion, not to the paper's ----------------------

def _mc_errors(code, X, m, draws, rng):
    """Per-draw errors of the numpy finite network of Eq. 1-2 (empirical/chen_monte_carlo.py) against the exact
    and the paper recursion fed the realised K^0, ν^0."""
    from ntkcheck.empirical.chen_monte_carlo import chen_mc_errors

    return chen_mc_errors(code, X, m, draws, rng)


@pytest.mark.parametrize("code", ["1_01_222", "2_21_112"])
def test_monte_carlo_network_converges_to_exact_not_paper(code):
    """C4.  N = 3 unit points, 6 draws per width.  Measured per-draw, per-entry sd of the MC kernel at
    m = 2048 is ≈ 0.07-0.13 for these O(5) kernels (so ≈ 0.05 for the mean of 6 draws) plus an O(1/m) bias
    ≈ 0.03; tolerance 0.25 on the max over entries of the mean error (≈ 4 sd).  The exact/paper gap is
    ≥ 1.6, so the paper rule cannot pass.  Convergence: the mean |error| at m = 2048 must be below the one
    at m = 256 (theory: ratio ≈ √8 ≈ 2.8 for the noise, 8 for the bias)."""
    rng = np.random.default_rng(7)
    X = unit_data(rng, 3, 5)
    ex2048, pa2048 = _mc_errors(code, X, 2048, 6, rng)
    ex256, _ = _mc_errors(code, X, 256, 6, rng)
    assert np.max(np.abs(ex2048.mean(axis=0))) < 0.25
    assert np.min(np.abs(pa2048.mean(axis=0))) > 1.0
    assert np.mean(np.abs(ex2048)) < np.mean(np.abs(ex256))
