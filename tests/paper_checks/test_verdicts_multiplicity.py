"""Verdict helpers decided on magnitude and intervals, the Monte Carlo guard, and Holm over the paper-claim family
in the runner (a constructed family where the adjustment changes verdicts, end to end through report.json / .md)."""

import json
import math

import numpy as np
import pytest
from ntkcheck.paper_checks import runner
from ntkcheck.paper_checks.check import (
    Check,
    CheckResult,
    Outcome,
    statistical_fields,
    verdict_fraction,
    verdict_magnitude,
    verdict_powered,
    verdict_sign,
)

from ntkcheck import stats
from ntkcheck.cli import main
from ntkcheck.stats import Estimate, power_kendall


def est(t, lo, hi, *, n=220, p=1e-6, se=0.03, mc=0.002):
    return Estimate(t, lo, hi, n, p, "Kendall tau-b (constructed)", se=se, mc_error=mc)


# ---- magnitude ----------------------------------------------------------------------------------------------

def test_magnitude_paper_value_inside_passes_outside_fails_with_both_numbers():
    pw = power_kendall(220, 0.50)
    inside = verdict_magnitude(est(0.54, 0.47, 0.61), paper=0.50, power=pw)
    assert inside.verdict == "pass" and inside.details["paper_value_inside_ci95"] is True
    assert inside.details["p_raw"] == 1e-6 and inside.details["p_decides"] == "pass"     # the direction test
    out = verdict_magnitude(est(0.27, 0.19, 0.35), paper=0.50, power=pw)
    assert out.verdict == "fail" and out.details["direction"] == "reproduced"
    assert "direction reproduced, magnitude not" in out.reason and "0.5" in out.reason and "0.19" in out.reason
    # the p-value of a fail is the test of the paper's value (Wald, bootstrap SE): z = 0.23 / 0.03
    assert out.details["p_raw"] == pytest.approx(2 * 0.5 * math.erfc(0.23 / 0.03 / math.sqrt(2)), rel=1e-9)
    opposite = verdict_magnitude(est(-0.2, -0.3, -0.1), paper=0.50, power=pw)
    assert opposite.verdict == "fail" and opposite.details["direction"] == "opposite"


def test_magnitude_inside_but_direction_not_established_is_inconclusive():
    o = verdict_magnitude(est(0.1, -0.2, 0.45, p=0.4, se=0.15), paper=0.42, power=power_kendall(220, 0.42))
    assert o.verdict == "inconclusive" and o.details["paper_value_inside_ci95"]


def test_magnitude_equivalence_margin():
    pw = power_kendall(1000, -0.42)
    # the paper's value just outside a narrow interval, but the interval within −0.42 ± 0.05: equivalent → pass
    o = verdict_magnitude(est(-0.39, -0.41, -0.375, se=0.009), paper=-0.42, power=pw, margin=0.05, margin_reason="r")
    assert o.verdict == "pass" and o.details["magnitude_test"]["equivalent"] is True
    o = verdict_magnitude(est(-0.39, -0.41, -0.375, se=0.009), paper=-0.42, power=pw)        # no margin: fail
    assert o.verdict == "fail"


def test_magnitude_underpowered_design_never_passes():
    o = verdict_magnitude(est(0.3, -0.2, 0.7, n=12, se=0.2), paper=0.5, power=power_kendall(12, 0.5))
    assert o.verdict == "underpowered"


def test_a_boundary_within_the_monte_carlo_error_is_inconclusive_not_fail():
    # the paper's 0.50 lies 0.001 above the interval's top, with an end-point MC error of 0.002: no decision
    o = verdict_magnitude(est(0.42, 0.35, 0.499, mc=0.002), paper=0.50, power=power_kendall(220, 0.5))
    assert o.verdict == "inconclusive" and "Monte Carlo" in o.reason
    s = verdict_sign(est(0.1, 0.001, 0.2, mc=0.002), sign=1)
    assert s.verdict == "inconclusive" and "Monte Carlo" in s.reason
    assert verdict_sign(est(0.1, 0.01, 0.2, mc=0.002), sign=1).verdict == "pass"


def test_refine_spends_more_resamples_only_near_a_boundary():
    calls = []

    def make(B):
        calls.append(B)
        return est(0.3, 0.2 + (0.0005 if B == 2000 else 0.0), 0.4, mc=0.06 / math.sqrt(B))
    stats.refine(make, [0.0])
    assert calls == [2000]
    calls.clear()
    stats.refine(make, [0.2])
    assert calls == [2000, 10000]


def test_mc_error_of_quantile_against_simulation():
    # the spread of the 2.5% quantile of B normal draws over many repetitions, against the formula
    rng = np.random.default_rng(0)
    B = 2000
    q = np.quantile(rng.standard_normal((400, B)), 0.025, axis=1)
    assert float(np.std(q)) == pytest.approx(stats.mc_error_of_quantile(1.0, B), rel=0.15)


# ---- sign / powered / fraction ---------------------------------------------------------------------------------

def test_verdict_powered_gates_a_direction_on_the_smallest_effect_of_interest():
    e = est(0.2, 0.1, 0.3, n=30, se=0.05)
    assert verdict_powered(e, sign=1, power=power_kendall(30, None)).verdict == "pass"   # no effect stated
    # at n = 30 the MDE is ≈ 0.35: a smallest effect of interest of 0.14 cannot be detected → underpowered
    o = verdict_powered(e, sign=1, power=power_kendall(30, None), smallest_effect=(0.14, "why"))
    assert o.verdict == "underpowered" and "smallest effect of interest" in o.power.summary()
    assert verdict_powered(e, sign=1, power=power_kendall(300, None), smallest_effect=(0.14, "why")).verdict == "pass"


def test_verdict_fraction_paper_rate_inside_and_outside_the_interval():
    inside = verdict_fraction(8, 10, required=2 / 3)      # interval [0.44, 0.97] contains 2/3
    assert inside.verdict == "inconclusive"
    outside_above = verdict_fraction(30, 30, required=2 / 3)   # [0.88, 1] above 2/3
    assert outside_above.verdict == "pass" and outside_above.details["p_decides"] == "pass"
    outside_below = verdict_fraction(2, 10, required=2 / 3)    # [0.03, 0.56] below 2/3
    assert outside_below.verdict == "fail" and outside_below.details["p_decides"] == "fail"
    # the p-value never disagrees with the interval: exact binomial, central
    assert outside_below.details["p_raw"] < 0.05 and inside.details["p_raw"] >= 0.05


# ---- Holm in the runner ----------------------------------------------------------------------------------------

def _row(i, verdict, p, decides, role="paper", kind="statistical"):
    det = statistical_fields(estimate=0.3, ci=(0.1, 0.5), n=100, test="t", p_raw=p, mde=0.2, decides=decides)
    return CheckResult(id=f"x.{i}", paper="x", kind=kind, claim="c", source="s", verdict=verdict, details=det,
                       role=role)


def test_holm_step_changes_verdicts_in_a_constructed_family():
    # the Holm worked example p = 0.01, 0.04, 0.03, 0.005 plus an undecided member (p = 0.5): raw, four are
    # significant at 0.05; adjusted, the middle two are not (a pass and a fail become inconclusive)
    rows = [_row(0, "pass", 0.01, "pass"), _row(1, "pass", 0.04, "pass"), _row(2, "fail", 0.03, "fail"),
            _row(3, "fail", 0.005, "fail"), _row(4, "pass", 0.001, "pass", role="toolkit", kind="exact"),
            _row(5, "inconclusive", 0.5, None, kind="statistical")]
    fam = runner.adjust_for_multiplicity(rows)
    assert fam["family_size"] == 5 and "x.4" not in fam["members"]
    assert [r.verdict for r in rows] == ["pass", "inconclusive", "inconclusive", "fail", "pass", "inconclusive"]
    np.testing.assert_allclose([r.details["p_adjusted"] for r in rows[:4]],
                               [0.04, 0.09, 0.09, 0.025])   # 5·0.005, 4·0.01, 3·0.03, max(2·0.04, 0.09)
    assert rows[1].details["verdict_before_multiplicity"] == "pass" and "Holm" in rows[1].reason
    assert rows[4].details["p_adjusted"] is None                  # not a member: untouched


def test_report_shows_raw_and_adjusted_p(monkeypatch, tmp_path):
    def fn(p, decides):
        def f(ctx):
            d = statistical_fields(estimate=0.3, ci=(0.1, 0.5), n=50, test="t", p_raw=p, mde=0.2, decides=decides)
            return Outcome("pass", 0.3, "> 0", d)
        return f
    checks = [Check(id=f"fake.S{i}", paper="fake", claim="c", source="s", kind="statistical", how_measured="m",
                    how_claimed="c", tolerance="t", tolerance_reason="r", fn=fn(p, "pass"), budget_s=1)
              for i, p in enumerate((0.01, 0.04))]
    monkeypatch.setattr(runner, "all_checks", lambda: checks)
    main(["verify", "--report", str(tmp_path / "rep"), "--quiet", "--no-figures"])
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    by = {r["id"]: r for r in rep["results"]}
    assert rep["multiplicity"]["method"] == "Holm" and rep["multiplicity"]["family_size"] == 2
    assert by["fake.S0"]["details"]["p_adjusted"] == pytest.approx(0.02) and by["fake.S0"]["verdict"] == "pass"
    assert by["fake.S1"]["details"]["p_adjusted"] == pytest.approx(0.04) and by["fake.S1"]["verdict"] == "pass"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "p raw / Holm" in md and "0.01 / 0.02" in md and "0.04 / 0.04" in md and "Multiplicity: Holm" in md


# ---- size baselines ---------------------------------------------------------------------------------------------

def test_census_sizes_equal_the_registry_metrics():
    """The whole-table path (census_sizes) against the per-cell registry metrics 'params' / 'flops' that the
    sampled population uses, on cells of every kind, a degenerate one included (the closed form itself is checked
    against torch's count of the built network in tests/sweep/test_size.py)."""
    from ntkcheck.paper_checks import nb201_population as P

    cells = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
             "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|",
             "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"]
    closed = P.census_sizes(cells)
    cfg = P.MetricConfig()
    for k in ("params", "flops"):
        np.testing.assert_array_equal(closed[k], [P._registry_size(k, c, cfg) for c in cells])
    np.testing.assert_array_equal(closed["n_conv"], [6, 3, 1])
