r"""The checker on known-true and deliberately wrong bounds (issue 9 "Tests").

True bounds (design card §10; docs/bounds.md F1–F3), for the two-layer net (L = 1) with C = XXᵀ,
a = σ_w²/(d q(1)):  NTK ⪰ σ_w² (r+1) μ_r² a^r C^{∘r} and NNGP ⪰ σ_w² μ_r² a^r C^{∘r} (Schur, single Hermite term),
λ_min(C^{∘r}) ≥ 1 − (N−1) max_rho^r (Gershgorin), λ_max ≤ trace, λ_max ≤ N·diag_max, λ_min ≤ diag_min.
Wrong versions (a factor 2, the NTK's (r+1) on the NNGP, the (r+1) missing from the NTK diagonal in an upper
bound, the wrong Hermite index, an upper bound used as a lower one) must be caught within a small trial budget with a certified, shrunk counterexample, which each test
re-checks independently: the quantity from the kernel engine + numpy eigvalsh, the bound from a separate
Python formula using the Hermite module (not the vocabulary).
"""

import math

import numpy as np
import pytest

from ntkcheck.bound_check import check_bound
from ntkcheck.bound_check.problem import Configuration, make_problem
from ntkcheck.bound_check.search import _Found, _optimize, _Tracker, search
from ntkcheck.bound_check.shrink import size_of
from ntkcheck.bound_check.problem import evaluate
from ntkcheck.spec import fc_spec
from ntkcheck.theory.hermite import gaussian_moments, hermite_coefficients
from ntkcheck.theory.kernels import infinite_width_kernels

A1 = "(sigma_w2/(d*q(1)))"
#: Activations with closed-form dual kernels, for the searches over all spaces (deep DAGs with quadrature
#: activations cost seconds per configuration); the fc searches use the full default set.
FAST = ("relu", "identity", "leaky_relu:0.2", "erf")


def single_ntk(r, factor=""):
    return f"{factor}sigma_w2*({r}+1)*mu({r})**2*{A1}**{r}*lam_min_hadamard({r})"


def single_nngp(r):
    return f"sigma_w2*mu({r})**2*{A1}**{r}*lam_min_hadamard({r})"


def gersh_ntk(r, factor=""):
    return f"{factor}sigma_w2*({r}+1)*mu({r})**2*{A1}**{r}*(1-(N-1)*max_rho**{r})"


TRUE = [
    ("ntk_lambda_min", "lower", single_ntk(1), ["L == 1"], "fc"),
    ("ntk_lambda_min", "lower", single_ntk(2), ["L == 1"], "fc"),
    ("nngp_lambda_min", "lower", single_nngp(1), ["L == 1"], "fc"),
    ("ntk_lambda_min", "lower", f"Sum(sigma_w2*(r+1)*mu(r)**2*{A1}**r*lam_min_hadamard(r), (r, 0, 4))", ["L == 1"], "fc"),
    ("ntk_lambda_min", "lower", gersh_ntk(2), ["L == 1"], "fc"),
    ("ntk_lambda_max", "upper", "trace", [], "all"),
    ("nngp_lambda_max", "upper", "N*diag_max", [], "all"),
    ("ntk_lambda_min", "upper", "diag_min", [], "all"),
    ("ntk_lambda_max", "upper", "N*(sigma_w2*(E_phi2(1) + q(1)*E_dphi2(1)) + sigma_b2)", ["L == 1"], "fc"),
    ("convergence_rate", "upper", "1", [], "all"),
    ("convergence_rate", "lower", "1 - eta*trace/(2*N)", [], "all"),
]


@pytest.mark.parametrize("quantity, side, expr, assume, space", TRUE, ids=[t[2][:40] for t in TRUE])
def test_true_bounds_are_never_flagged(quantity, side, expr, assume, space):
    r = check_bound(quantity, **{side: expr}, assume=assume, space=space, trials=50, seed=1,
                    activations=FAST if space == "all" else None)
    assert r.verdict == "holds", r.counterexample and r.counterexample.to_json()
    assert r.tried == 50 and r.counterexample is None
    assert r.min_slack > -1e-6 and r.counts.get("violated", 0) == 0


# ---- independent evaluation of the counterexamples ----------------------------------------------------

def _lam(quantity, spec, X, eta=1.0):
    k = infinite_width_kernels(spec, X)
    K = k.nngp if quantity.startswith("nngp") or quantity == "convergence_rate" else k.ntk
    w = np.linalg.eigvalsh(K)
    if quantity == "convergence_rate":
        return 1 - eta * w[0] / 2, K
    return (w[0] if quantity.endswith("min") else w[-1]), K


def _two_layer_parts(spec, X):
    d = X.shape[1]
    q = spec.sigma_w2 / d + spec.sigma_b2                     # unit rows, contract §10
    mu = hermite_coefficients(spec.readout, 6, q=q)
    a = spec.sigma_w2 / (d * q)
    C = X @ X.T
    return q, mu, a, C


def _single(spec, X, r, mu_index, factor, rplus1=True, gersh=False):
    q, mu, a, C = _two_layer_parts(spec, X)
    N = X.shape[0]
    if gersh:
        rho = max([abs(C[i, j]) for i in range(N) for j in range(N) if i != j], default=0.0)
        lam = 1 - (N - 1) * rho ** r
    else:
        lam = np.linalg.eigvalsh(C ** r)[0]
    return factor * spec.sigma_w2 * ((r + 1) if rplus1 else 1) * mu[mu_index] ** 2 * a ** r * lam


WRONG = [
    # (id, quantity, side, expr, assume, space, independent bound(spec, X, K))
    ("factor2_single", "ntk_lambda_min", "lower", single_ntk(1, "2*"), ["L == 1"], "fc",
     lambda s, X, K: _single(s, X, 1, 1, 2.0)),
    ("factor2_gershgorin", "ntk_lambda_min", "lower", gersh_ntk(1, "2*"), ["L == 1"], "fc",
     lambda s, X, K: _single(s, X, 1, 1, 2.0, gersh=True)),
    ("r_plus_1_on_nngp", "nngp_lambda_min", "lower", single_ntk(1), ["L == 1"], "fc",
     lambda s, X, K: _single(s, X, 1, 1, 1.0)),
    # N·diag(NTK) = N(σ_w² Σ(r+1)μ_r² + σ_b²) = N(σ_w²(E φ² + q E φ'²) + σ_b²); without the (r+1): N·diag(NNGP)
    ("missing_r_plus_1_upper", "ntk_lambda_max", "upper", "N*(sigma_w2*E_phi2(1) + sigma_b2)", ["L == 1"], "fc",
     lambda s, X, K: X.shape[0] * (s.sigma_w2 * gaussian_moments(s.readout, s.sigma_w2 / X.shape[1] + s.sigma_b2)[
         "E_phi2"] + s.sigma_b2)),
    ("wrong_hermite_index", "ntk_lambda_min", "lower",
     f"sigma_w2*(1+1)*mu(0)**2*{A1}*lam_min_hadamard(1)", ["L == 1"], "fc",
     lambda s, X, K: _single(s, X, 1, 0, 1.0)),
    ("upper_as_lower_diag", "ntk_lambda_min", "lower", "diag_min", [], "all",
     lambda s, X, K: float(np.min(np.diag(K)))),
    ("upper_as_lower_trace", "nngp_lambda_max", "lower", "trace", [], "all",
     lambda s, X, K: float(np.trace(K))),
    ("trace_halved", "ntk_lambda_max", "upper", "trace/2", [], "all",
     lambda s, X, K: float(np.trace(K)) / 2),
    ("rate_with_diag", "convergence_rate", "upper", "1 - eta*diag_min/2", [], "all",
     lambda s, X, K: 1 - float(np.min(np.diag(K))) / 2),
]


@pytest.mark.parametrize("name, quantity, side, expr, assume, space, indep", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_bounds_are_caught_certified_and_shrunk(name, quantity, side, expr, assume, space, indep):
    r = check_bound(quantity, **{side: expr}, assume=assume, space=space, trials=40, seed=0,
                    activations=FAST if space == "all" else None)
    assert r.verdict == "violated", f"{name}: not caught in 40 trials (min slack {r.min_slack})"
    ce, found = r.counterexample, r.found
    assert ce.violated and -ce.slack > ce.tol > 0
    assert size_of(ce.config) <= size_of(found.config) and ce.config.X.shape[0] <= found.config.X.shape[0]
    # independent re-check of the shrunk counterexample
    spec, X = ce.config.spec, ce.config.X
    lam, K = _lam(quantity, spec, X)
    b = indep(spec, X, K)
    margin = (b - lam) if side == "lower" else (lam - b)
    assert margin > 1e-6 * max(1.0, abs(b)), (name, b, lam)
    assert b == pytest.approx(ce.bound_value, rel=1e-9, abs=1e-12)
    assert lam == pytest.approx(ce.quantity_value, rel=1e-9, abs=1e-12)
    print(f"{name}: found at trial {r.found_at} ({r.found_in}); shrunk to N={X.shape[0]}, d={X.shape[1]}, "
          f"L={spec.L}, {spec.to_json()['edges']} readout {spec.readout}")


def test_search_is_reproducible():
    kw = dict(lower="diag_min", space="all", trials=30, seed=7, activations=FAST)
    a, b = check_bound("ntk_lambda_min", **kw), check_bound("ntk_lambda_min", **kw)
    assert a.found_at == b.found_at and a.tried == b.tried
    assert np.array_equal(a.counterexample.config.X, b.counterexample.config.X)
    assert a.counterexample.config.spec == b.counterexample.config.spec


def test_assumptions_restrict_the_search():
    r = check_bound("ntk_lambda_min", lower=single_ntk(1), assume=["L == 1", "N <= d", "N >= 2"], space="fc",
                    trials=30, seed=2)
    assert r.verdict == "holds"
    for e in [r.tightest, r.min_slack_eval]:
        assert e.config.spec.L == 1 and 2 <= e.config.X.shape[0] <= e.config.X.shape[1]


def test_local_optimization_moves_points_to_a_violation():
    """From two nearly antipodal points (ReLU NNGP off-diagonal small, the claim holds) the optimizer must move
    the points on the sphere until the off-diagonal exceeds half the diagonal (λ_min = diag − offdiag)."""
    p = make_problem("nngp_lambda_min", lower="diag_min/2", assume=["N == 2"], space="fc")
    X = np.array([[1.0, 0.0], [-0.95, math.sqrt(1 - 0.95 ** 2)]])
    start = evaluate(p, Configuration(fc_spec(["relu"]), X))
    assert start.status == "holds"
    tracker = _Tracker(p, trials=400, budget=None, progress=None)
    with pytest.raises(_Found) as found:
        _optimize(p, tracker, start, 300)
    ev = found.value.ev
    assert ev.violated and np.allclose(np.linalg.norm(ev.config.X, axis=1), 1.0)
    C = ev.config.X @ ev.config.X.T
    assert C[0, 1] > -0.95


def test_vacuous_and_budget_accounting():
    # a lower bound that is vacuous everywhere is no evidence: undecided, never "holds"
    r = search(make_problem("ntk_lambda_min", lower="-N"), trials=12, seed=0)
    assert r.verdict == "undecided" and r.counts.get("vacuous", 0) == 12 and r.tried == 12 and r.evidence == 0
    assert "vacuous" in r.reason
    r = search(make_problem("ntk_lambda_min", lower="-1"), trials=12, seed=0)      # decided without searching
    assert r.verdict == "undecided" and r.tried == 0 and "vacuous" in r.reason


ZHU = [("lb_hermite_series", "ntk_lambda_min", "ntk"), ("lb_schur_recursion", "nngp_lambda_min", "nngp"),
       ("lb_ntk_layer_sum", "ntk_lambda_min", None)]


@pytest.mark.parametrize("fname, quantity, kernel", ZHU, ids=[z[0] for z in ZHU])
def test_theory_bounds_of_any_depth_are_never_flagged(fname, quantity, kernel):
    """The certified depth-propagated bounds of theory/bounds.py (docs/bounds.md), given as Python functions
    of the context, hold on every architecture space (deep DAGs, residual nets, NB201 cells)."""
    from ntkcheck.theory import bounds

    fn = getattr(bounds, fname)
    lower = (lambda c: fn(c.spec, c.X, kernel=kernel)) if kernel else (lambda c: fn(c.spec, c.X))
    r = check_bound(quantity, lower=lower, space="all", trials=25, seed=0, activations=FAST + ("tanh",))
    assert r.verdict == "holds" and r.tried == 25 and r.counts.get("holds", 0) >= 10


def test_twice_the_best_theory_term_is_caught():
    from ntkcheck.theory import bounds

    # found at trial 33 with seed 0 (the depth-propagated term is tight only on a few configurations)
    r = check_bound("ntk_lambda_min", lower=lambda c: 2 * bounds.lb_hermite_best_term(c.spec, c.X, kernel="ntk"),
                    space="all", trials=60, seed=0, activations=FAST)
    assert r.verdict == "violated" and -r.counterexample.slack > r.counterexample.tol
    c = r.counterexample.config
    lam = np.linalg.eigvalsh(infinite_width_kernels(c.spec, c.X).ntk)[0]
    assert 2 * bounds.lb_hermite_best_term(c.spec, c.X, kernel="ntk") > lam + 1e-6


def test_time_budget_only_stops_by_budget():
    r = check_bound("ntk_lambda_max", upper="trace", space="fc", trials=None, budget=1.0, seed=0,
                    activations=FAST)
    assert r.verdict == "holds" and r.tried >= 1 and r.stopped_by == "budget" and r.trials is None
