"""The check record and verdict logic (paper_checks/check.py).

Expected verdicts follow from the definitions in the module docstring: a bound ≤ 0 is vacuous, a
hypothesis never fails the run, a crashing check is an error that does.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ntkcheck.paper_checks.check import (Check, Context, Outcome, SkipCheck, VacuousCheck, format_value, run_check,
                                         verdict_bound, verdict_fraction, verdict_numeric, verdict_sign)


def mk(fn, kind="exact", needs=(), scales=("small", "paper")):
    return Check(id="t.x", paper="t", claim="c", source="s", kind=kind, how_measured="m", how_claimed="c",
                 tolerance="tol", tolerance_reason="why", fn=fn, needs=needs, scales=scales)


def test_verdict_numeric_pass_fail_nonfinite():
    assert verdict_numeric(1.0 + 1e-9, 1.0, rtol=1e-8).verdict == "pass"
    assert verdict_numeric(1.1, 1.0, rtol=1e-3).verdict == "fail"
    assert verdict_numeric([1, 2], [1, 2.5], atol=0.1).verdict == "fail"
    assert verdict_numeric(math.nan, 1.0, atol=10).verdict == "fail"


@settings(max_examples=50, deadline=None)
@given(st.floats(-10, 0), st.floats(-5, 5))
def test_nonpositive_lower_bound_is_vacuous(bound, measured):
    assert verdict_bound(measured, bound, side="lower").verdict == "vacuous"


def test_verdict_bound_sides():
    assert verdict_bound(2.0, 1.0, side="lower").verdict == "pass"
    assert verdict_bound(0.5, 1.0, side="lower").verdict == "fail"
    assert verdict_bound(0.5, 1.0, side="upper").verdict == "pass"
    assert verdict_bound(1.5, 1.0, side="upper").verdict == "fail"


def test_verdict_sign_and_fraction():
    assert verdict_sign(-0.3, (-0.5, -0.1), sign=-1).verdict == "pass"
    assert verdict_sign(0.3, (0.1, 0.5), sign=-1).verdict == "fail"
    assert verdict_sign(-0.1, (-0.4, 0.2), sign=-1).verdict == "inconclusive"
    assert verdict_sign(math.nan, (math.nan, math.nan), sign=1).verdict == "inconclusive"
    # decided on the exact 95% interval, not the point estimate: 25/30 = 0.83 >= 0.8 but the interval [0.65, 0.94]
    # contains 0.8 — inconclusive; 29/30 has its lower end at beta.ppf(0.025, 29, 2) = 0.83 >= 0.8 — pass
    assert verdict_fraction(25, 30, required=0.8).verdict == "inconclusive"
    assert verdict_fraction(29, 30, required=0.8).verdict == "pass"
    # 4/4 at 2/3 (the interval [0.40, 1]) can never establish the rate: underpowered whatever it measured
    assert verdict_fraction(4, 4, required=2 / 3).verdict == "underpowered"
    assert "establish" in verdict_fraction(4, 4, required=2 / 3).reason
    # 5 runs cannot establish 0.8 either (5/5 gives [0.48, 1])
    assert verdict_fraction(4, 5, required=0.8).verdict == "underpowered"
    # underpowered designs can neither pass nor fail: 0/3 leaves the interval's top at 0.71 >= 2/3
    assert verdict_fraction(3, 3, required=2 / 3).verdict == "underpowered"
    assert verdict_fraction(0, 3, required=2 / 3).verdict == "underpowered"
    # an interval that contradicts the claim fails even in a design too small to pass: 0/4 (top 0.60 < 2/3)
    assert verdict_fraction(0, 4, required=2 / 3).verdict == "fail"
    # ten runs can decide a 2/3 rate both ways
    assert verdict_fraction(10, 10, required=2 / 3).verdict == "pass"
    assert verdict_fraction(7, 10, required=2 / 3).verdict == "inconclusive"
    # a universal claim ("in every run") passes only when all runs succeed and fails on one counterexample
    assert verdict_fraction(5, 5, required=1.0).verdict == "pass"
    assert verdict_fraction(4, 5, required=1.0).verdict == "fail"
    # 5/30: interval [0.06, 0.35] lies below 0.8 — the runs contradict the claimed rate
    assert verdict_fraction(5, 30, required=0.8).verdict == "fail"
    lo, hi = verdict_fraction(5, 30, required=0.8).details["clopper_pearson95"]
    from scipy.stats import beta  # Clopper–Pearson from the beta quantiles, independently of binomtest
    assert abs(lo - beta.ppf(0.025, 5, 26)) < 1e-9 and abs(hi - beta.ppf(0.975, 6, 25)) < 1e-9
    assert verdict_fraction(0, 0, required=0.8).verdict == "skipped"


def test_hypothesis_never_fails_the_run():
    r = run_check(mk(lambda ctx: verdict_numeric(1.0, 2.0, atol=0.1), kind="hypothesis"), Context())
    assert r.verdict == "not supported" and not r.failed
    r = run_check(mk(lambda ctx: verdict_numeric(1.0, 1.0, atol=0.1), kind="hypothesis"), Context())
    assert r.verdict == "supported" and not r.failed


def test_error_counts_as_failure_and_keeps_message():
    def boom(ctx):
        raise RuntimeError("wrong formula\nsecond line")

    r = run_check(mk(boom), Context())
    assert r.verdict == "error" and r.failed
    assert "RuntimeError: wrong formula second line" in r.error
    # a crashing hypothesis check is a defect of the check: also an error
    assert run_check(mk(boom, kind="hypothesis"), Context()).failed
    # returning something that is not an Outcome is an error too
    assert run_check(mk(lambda ctx: 3.0), Context()).verdict == "error"


def test_skips_and_vacuous():
    def skip(ctx):
        raise SkipCheck("needs a GPU for paper scale")

    def vac(ctx):
        raise VacuousCheck("bound -0.2 <= 0")

    r = run_check(mk(skip), Context())
    assert r.verdict == "skipped" and r.reason == "needs a GPU for paper scale" and not r.failed
    r = run_check(mk(vac), Context())
    assert r.verdict == "vacuous" and not r.failed
    r = run_check(mk(lambda ctx: Outcome("pass"), needs=("module:ntkcheck.does_not_exist",)), Context())
    assert r.verdict == "skipped" and "does_not_exist" in r.reason
    r = run_check(mk(lambda ctx: Outcome("pass"), needs=("nats-bench",)), Context())
    assert r.verdict == "skipped" and "NATS-Bench" in r.reason
    r = run_check(mk(lambda ctx: Outcome("pass"), needs=("cuda",)), Context(device="cpu"))
    assert r.verdict == "skipped" and "GPU" in r.reason
    r = run_check(mk(lambda ctx: Outcome("pass"), scales=("paper",)), Context(scale="small"))
    assert r.verdict == "skipped" and "scale" in r.reason


def test_statistical_inconclusive_is_reported_not_failed_but_exact_must_decide():
    r = run_check(mk(lambda ctx: verdict_sign(0.1, (-0.2, 0.4), sign=1), kind="statistical"), Context())
    assert r.verdict == "inconclusive" and not r.failed
    r = run_check(mk(lambda ctx: verdict_sign(0.1, (-0.2, 0.4), sign=1), kind="exact"), Context())
    assert r.verdict == "fail"


def test_record_validation_and_rng_per_check():
    with pytest.raises(ValueError):
        mk(lambda ctx: None, kind="maybe")
    seen = []
    c = mk(lambda ctx: (seen.append(ctx.rng.random()), Outcome("pass"))[1])
    run_check(c, Context(seed=3))
    run_check(c, Context(seed=3))
    run_check(c, Context(seed=4))
    assert seen[0] == seen[1] != seen[2]
    assert "fn" not in c.describe()


def test_format_value():
    assert format_value(None) == "—"
    assert format_value(1.23456789) == "1.235"
    assert format_value(np.float64("inf")) == "inf"
    assert format_value([1, 2, 3, 4, 5, 6, 7]).endswith("…]")
