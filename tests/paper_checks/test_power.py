"""Power of the statistical designs (check.Power): the closed forms against a simulation, and the verdict rules
(an inadequate design is `underpowered`, never `pass`; a consistency check never counts as a claim)."""

import math

import numpy as np
import pytest
from scipy.stats import kendalltau, pearsonr

from ntkcheck.paper_checks.check import (Check, Context, Outcome, power_correlation, power_kendall,
                                         power_mean_difference, power_proportion, run_check, verdict_powered)


def _rejection_rate(stat, n, rho, reps=400, seed=0):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        z = rng.standard_normal((n, 2))
        x = z[:, 0]
        y = rho * z[:, 0] + math.sqrt(1 - rho ** 2) * z[:, 1]
        hits += stat(x, y).pvalue < 0.05
    return hits / reps


def test_kendall_min_detectable_effect_has_80_percent_power_by_simulation():
    n = 40
    pw = power_kendall(n, claimed=-0.42)
    assert pw.adequate and pw.min_detectable == pytest.approx(2.8016 * math.sqrt(2 * 85 / (9 * 40 * 39)), rel=1e-4)
    # bivariate normal: tau = (2/pi) asin(rho)  ->  rho = sin(pi tau / 2)
    rate = _rejection_rate(kendalltau, n, math.sin(math.pi * pw.min_detectable / 2))
    assert 0.72 <= rate <= 0.88          # 400 reps: binomial sd 0.02, so +-0.08 is 4 sd
    assert not power_kendall(8, claimed=0.42).adequate


def test_pearson_min_detectable_effect_has_80_percent_power_by_simulation():
    pw = power_correlation(30, claimed=0.3)
    rate = _rejection_rate(pearsonr, 30, pw.min_detectable, seed=1)
    assert 0.72 <= rate <= 0.88
    assert pw.adequate is False                       # 0.3 needs n ~ 85


def test_mean_and_proportion_helpers():
    pw = power_mean_difference(50, 1.0, 0.6, n2=50)
    assert pw.min_detectable == pytest.approx(2.8016 * math.sqrt(2 / 50), rel=1e-4) and pw.adequate
    pp = power_proportion(100, 0.5, 0.7)
    assert 0.13 < pp.min_detectable < 0.15 and pp.adequate
    assert power_proportion(10, 0.5, 0.7).adequate is False


def _mk(fn, kind):
    return Check(id="t.x", paper="t", claim="c", source="s", kind=kind, how_measured="m", how_claimed="c",
                 tolerance="tol", tolerance_reason="why", fn=fn)


def test_underpowered_is_never_pass_and_power_is_reported():
    weak = power_kendall(10, claimed=0.2)
    r = run_check(_mk(lambda ctx: verdict_powered(0.5, (0.2, 0.8), sign=1, power=weak), "statistical"), Context())
    assert r.verdict == "underpowered" and not r.failed
    assert r.power["n"] == 10 and r.power["adequate"] is False and "Kendall" in r.power["test"]
    r = run_check(_mk(lambda ctx: verdict_powered(0.5, (0.2, 0.8), sign=1, power=weak), "hypothesis"), Context())
    assert r.verdict == "underpowered"
    # evidence against the claim stays a failure, whatever the power
    r = run_check(_mk(lambda ctx: verdict_powered(-0.5, (-0.8, -0.2), sign=1, power=weak), "statistical"), Context())
    assert r.verdict == "fail"
    strong = power_kendall(200, claimed=0.42)
    r = run_check(_mk(lambda ctx: verdict_powered(0.4, (0.3, 0.5), sign=1, power=strong), "statistical"), Context())
    assert r.verdict == "pass" and r.power["adequate"] is True and r.role == "paper"


def test_consistency_kind_has_its_own_verdicts_and_role():
    r = run_check(_mk(lambda ctx: Outcome("pass"), "consistency"), Context())
    assert r.verdict == "consistent" and r.role == "consistency" and not r.failed
    r = run_check(_mk(lambda ctx: Outcome("fail"), "consistency"), Context())
    assert r.verdict == "inconsistent" and not r.failed
    assert _mk(lambda ctx: None, "exact").role == "toolkit"
    with pytest.raises(ValueError):
        Check(id="t.x", paper="t", claim="c", source="s", kind="exact", how_measured="m", how_claimed="c",
              tolerance="tol", tolerance_reason="why", fn=lambda ctx: None, role="consistency")
