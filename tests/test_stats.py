"""ntkcheck.stats against independent references: hand-computed small examples, brute-force pair counting, a
worked example from the literature, a coverage simulation, and determinism by seed."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as st

from ntkcheck import stats as S

# ---- Kendall τ-b --------------------------------------------------------------------------------------------

def _tau_b_brute(x, y):
    """τ-b by counting concordant / discordant / tied pairs one by one (Kendall 1945)."""
    c = d = tx = ty = 0
    n = len(x)
    for i, j in itertools.combinations(range(n), 2):
        a, b = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if a == 0 and b == 0:
            continue
        if a == 0:
            tx += 1
        elif b == 0:
            ty += 1
        elif a == b:
            c += 1
        else:
            d += 1
    # τ-b = (C − D) / √((C + D + T_y)(C + D + T_x)) where T_x counts pairs tied in x only, T_y in y only
    return (c - d) / math.sqrt((c + d + ty) * (c + d + tx))


def test_kendall_point_value_matches_brute_force_with_ties():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 30).astype(float)      # many ties
    y = x + rng.integers(0, 4, 30)
    est = S.kendall(x, y, n_resamples=200)
    assert est.statistic == pytest.approx(_tau_b_brute(x, y), abs=1e-12)
    assert est.n == 30
    # the vectorised pairwise statistic used inside the bootstrap agrees with the brute force as well
    assert float(S._tau_b(x, y)) == pytest.approx(_tau_b_brute(x, y), abs=1e-12)


def test_kendall_hand_example():
    # x increasing, y = 1 3 2 4: one discordant pair of six → τ = (5 − 1)/6
    est = S.kendall([1, 2, 3, 4], [1, 3, 2, 4], n_resamples=200)
    assert est.statistic == pytest.approx(2 / 3, abs=1e-12)
    assert est.low <= est.statistic <= est.high


def test_kendall_large_n_path_agrees_with_pairwise_path():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, S._PAIRWISE_MAX_N + 1))
    y = x + rng.normal(size=x.shape)
    big = S._tau_b(x, y)                                    # scipy per row
    small = S._tau_b_pairwise(x, y)                         # explicit pairs
    np.testing.assert_allclose(big, small, atol=1e-12)


def test_spearman_matches_scipy_and_pearson_of_ranks():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, 40).astype(float)
    y = x ** 2 + rng.normal(size=40)
    est = S.spearman(x, y, n_resamples=200)
    rx, ry = st.rankdata(x), st.rankdata(y)
    assert est.statistic == pytest.approx(np.corrcoef(rx, ry)[0, 1], abs=1e-12)
    assert est.pvalue == pytest.approx(st.spearmanr(x, y).pvalue, rel=1e-12)


# ---- partial τ ------------------------------------------------------------------------------------------------

def test_partial_kendall_hand_example():
    # τ_xy = 2/3, τ_xz = 2/3, τ_yz = 1/3 (counted by hand) → (2/3 − 2/9)/√((5/9)(8/9)) = 4/√40
    est = S.partial_kendall([1, 2, 3, 4], [1, 3, 2, 4], [1, 2, 4, 3], n_resamples=200)
    assert est.statistic == pytest.approx(4 / math.sqrt(40), abs=1e-12)


def _partial_tau_pairs(x, y, z):
    """Kendall's (1942) definition: over all pairs, cross-classify whether x agrees with z and whether y agrees
    with z; the partial τ is the φ coefficient (ad − bc)/√((a+b)(c+d)(a+c)(b+d)) of that 2×2 table (no ties)."""
    a = b = c = d = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        u = np.sign(x[i] - x[j]) * np.sign(z[i] - z[j]) > 0
        v = np.sign(y[i] - y[j]) * np.sign(z[i] - z[j]) > 0
        if u and v:
            a += 1
        elif u:
            b += 1
        elif v:
            c += 1
        else:
            d += 1
    return (a * d - b * c) / math.sqrt((a + b) * (c + d) * (a + c) * (b + d))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partial_kendall_matches_pair_counting_definition(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=25)
    x = z + rng.normal(size=25)
    y = 0.5 * z + rng.normal(size=25) + 0.3 * x
    est = S.partial_kendall(x, y, z, n_resamples=200)
    assert est.statistic == pytest.approx(_partial_tau_pairs(x, y, z), abs=1e-12)


def test_partial_kendall_removes_most_of_a_common_cause():
    # x and y are both driven by z and otherwise independent: τ_xy is large, the partial τ much smaller (it is not
    # 0 in general: Kendall's partial τ is not a test of conditional independence, Gripenberg 1992)
    rng = np.random.default_rng(7)
    z = rng.normal(size=100)
    x, y = z + 0.3 * rng.normal(size=100), z + 0.3 * rng.normal(size=100)
    t = S.kendall(x, y, n_resamples=200)
    est = S.partial_kendall(x, y, z, n_resamples=200)
    assert t.low > 0.5
    assert est.statistic < 0.5 * t.statistic


# ---- bootstrap intervals: coverage and determinism -------------------------------------------------------------

def test_kendall_interval_coverage_by_simulation():
    # bivariate normal with ρ = 0.5: population τ = (2/π) arcsin ρ = 1/3 (Greiner's relation)
    true_tau = 2 / math.pi * math.asin(0.5)
    cov = [[1, 0.5], [0.5, 1]]
    rng = np.random.default_rng(2024)
    reps, hits = 120, 0
    for r in range(reps):
        x, y = rng.multivariate_normal([0, 0], cov, size=40).T
        est = S.kendall(x, y, seed=r, n_resamples=500)
        hits += est.low <= true_tau <= est.high
    # nominal 0.95; binomial sd over 120 replications is 0.02, and BCa at n = 40 undercovers by a few percent.
    # 0.85 is 5 sd below nominal; a 50% or 80% interval, or one centred on the wrong value, falls below it.
    assert hits / reps >= 0.85
    assert hits / reps <= 1.0


def test_same_seed_same_bytes_other_seed_other_interval():
    rng = np.random.default_rng(11)
    x = rng.normal(size=60)
    y = x + rng.normal(size=60)
    a, b = S.kendall(x, y, seed=4, n_resamples=300), S.kendall(x, y, seed=4, n_resamples=300)
    assert a == b
    c = S.kendall(x, y, seed=5, n_resamples=300)
    assert (c.low, c.high) != (a.low, a.high)
    assert c.statistic == a.statistic
    z = rng.normal(size=60)
    assert S.partial_kendall(x, y, z, seed=1, n_resamples=300) == S.partial_kendall(x, y, z, seed=1, n_resamples=300)


def test_estimate_fields_and_method_string():
    est = S.kendall(np.arange(10.0), np.arange(10.0) ** 2, seed=3, n_resamples=100)
    assert est.ci == (est.low, est.high)
    assert "Kendall" in est.method and "seed 3" in est.method and "100 resamples" in est.method
    assert est.statistic == 1.0
    assert est.to_json()["n"] == 10


def test_degenerate_inputs_give_nan_not_errors():
    est = S.kendall([1, 1, 1, 1], [1, 2, 3, 4])
    assert math.isnan(est.statistic) and math.isnan(est.low)
    with pytest.raises(ValueError, match="equal length"):
        S.kendall([1, 2, 3], [1, 2])


# ---- multiplicity -------------------------------------------------------------------------------------------

def test_holm_worked_example():
    # The worked example of the Holm–Bonferroni method (four hypotheses, α = 0.05): p = 0.01, 0.04, 0.03, 0.005.
    # Step-down: 0.005 ≤ 0.05/4 reject, 0.01 ≤ 0.05/3 reject, 0.03 > 0.05/2 stop → H1 and H4 rejected only.
    p = [0.01, 0.04, 0.03, 0.005]
    adj = S.holm(p)
    assert list(adj <= 0.05) == [True, False, False, True]
    # adjusted values by hand: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, max(0.03·2, 0.03) = 0.06, max(0.04, 0.06)
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], atol=1e-15)


def _holm_rejects(p, alpha):
    """Holm's sequential procedure itself (not the adjusted p-values)."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    rej = np.zeros(m, bool)
    for k, i in enumerate(order):
        if p[i] <= alpha / (m - k):
            rej[i] = True
        else:
            break
    return rej


@pytest.mark.parametrize("seed", range(5))
def test_holm_adjusted_p_is_the_smallest_level_that_rejects(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.2, 8) ** 2
    adj = S.holm(p)
    for alpha in np.linspace(0.0005, 0.2, 97):
        np.testing.assert_array_equal(adj <= alpha, _holm_rejects(p, alpha))


def test_holm_ignores_nan_and_validates():
    adj = S.holm([0.01, np.nan, 0.02])
    assert math.isnan(adj[1])
    np.testing.assert_allclose(adj[[0, 2]], [0.02, 0.02])
    with pytest.raises(ValueError):
        S.holm([0.5, 1.5])


def test_benjamini_hochberg_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 with m = 4: m p/j = 0.02, 0.02, 0.04, 0.04 (already monotone)
    np.testing.assert_allclose(S.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02])


# ---- top-k retention ----------------------------------------------------------------------------------------------

def test_top_k_retention_by_hand():
    target = np.arange(10.0)                     # the best two are indices 9, 8
    score = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 8.5]) * 1.0
    assert S.top_k_retention(score, target, 0.2) == 1.0
    score2 = np.array([9, 8, 0, 0, 0, 0, 0, 0, 0, 7.0])   # top-2 by score: 0, 1
    assert S.top_k_retention(score2, target, 0.2) == 0.0
    assert S.top_k_retention(-score2, target, 0.2, better="min") == 0.0
    assert S.top_k_retention(score2, target, 0.3) == pytest.approx(1 / 3)   # top-3 by score: 0, 1, 9
    with pytest.raises(ValueError):
        S.top_k_retention(score, target, 0.0)


def test_resample_count_form_of_tau_equals_tau_on_the_resampled_data():
    # the fast bootstrap statistic (index counts through the pair-sign matrices) against τ-b and partial τ of the
    # resampled data themselves, with ties in the data and duplicated rows in every resample
    rng = np.random.default_rng(8)
    x = rng.integers(0, 6, 40).astype(float)
    y = x + rng.integers(0, 3, 40)
    z = rng.normal(size=40).round(1)
    rt = S._ResampledTau(x, y, z)
    idx = rng.integers(0, 40, (30, 40))
    np.testing.assert_allclose(rt.kendall(idx), [_tau_b_brute(x[i], y[i]) for i in idx], atol=1e-12)
    np.testing.assert_allclose(rt.partial(idx), S._partial_tau(x[idx], y[idx], z[idx]), atol=1e-12)
    loo = np.array([np.delete(np.arange(40), k) for k in range(5)])          # the jackknife's samples
    np.testing.assert_allclose(rt.kendall(loo), [_tau_b_brute(x[i], y[i]) for i in loo], atol=1e-12)
