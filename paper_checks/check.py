"""The paper-check record, its verdicts and roles, and the context a check runs in.

A paper check is *data plus one function*::

    from ntkcheck.paper_checks.check import Check, verdict_numeric

    def _t1(ctx):                       # ctx: Context
        kappa = ...                     # measure
        return verdict_numeric(kappa, claimed=1.0, rtol=1e-6, details={"N": 8})

    CHECKS = [Check(id="tenas.T1", paper="tenas2021", claim="kappa_N >= 1 and ...",
                    source="TE-NAS §3.1.1, Eq. 3", kind="exact",
                    how_measured="...", how_claimed="...", tolerance="rtol 1e-6",
                    tolerance_reason="float64 eigvalsh backward error", fn=_t1, budget_s=5)]

``fn(ctx)`` returns an :class:`Outcome` (build it with the helpers below: :func:`verdict_numeric`,
:func:`verdict_bound`, :func:`verdict_condition`, :func:`skipped`, :func:`vacuous`) or raises
:class:`SkipCheck` / :class:`VacuousCheck`.  Any other exception is caught by :func:`run_check` and
becomes verdict ``"error"``, which counts as a failure (the message is kept in the result).

Verdicts
--------
* ``pass`` / ``fail``: the claim holds / does not hold within the stated tolerance.
* ``vacuous``: the claim is an inequality whose bound is ≤ 0 (true but says nothing) — never a pass.
* ``skipped``: not run here, with a reason ("needs a GPU for paper scale", "needs a NATS-Bench file", ...).
* ``error``: the check crashed; a defect of the toolkit, so it makes ``verify`` exit 1.
* ``inconclusive``: a ``statistical`` (or ``hypothesis``) check whose confidence interval does not decide
  (e.g. a Kendall τ whose bootstrap 95% CI contains 0 at toy scale); reported with the interval, not failed.
* For ``kind="hypothesis"`` (statements the paper makes without the evidence being available here, statements
  to report rather than assert, or records run on a protocol that is not the paper's) the runner maps pass/fail
  to the informational verdicts ``supported`` / ``not supported`` (``inconclusive`` when the check says so).
* ``underpowered``: a statistical or hypothesis check whose design cannot detect the paper's claimed effect
  (80 % power, α = 0.05): reported with its power, never ``pass``/``supported``.
* ``consistent`` / ``inconsistent``: the verdicts of a ``kind="consistency"`` check (the paper's own
  arithmetic: its numbers checked against each other, nothing the toolkit measures).

Kinds and roles
---------------
``kind`` says how a record decides: ``exact`` / ``numeric`` (against exact math or a formula within a stated
tolerance), ``statistical`` (an interval decides), ``hypothesis`` (reported only), ``consistency`` (the paper's
own arithmetic).  ``Check.role`` says what a verdict means and whether it can change the exit status of
``ntkcheck verify``:

* ``"toolkit"``: the toolkit's own math and engines against an independent reference.  A ``fail`` means the
  toolkit is wrong: ``verify`` exits 1.  Default for ``exact`` / ``numeric``.
* ``"paper"``: a claim of a paper, judged on the paper's kind of data.  ``pass`` / ``fail`` count as the paper's
  claim reproduced / not reproduced (``hypothesis`` records are reported in their own section and never counted
  there).  Default for ``statistical`` / ``hypothesis``.  Never changes the exit status.
* ``"extension"``: the toolkit's own question (a transfer of a claim to another setting, a conjecture of this
  project, a property of the toolkit's bounds), not a paper's claim.  Reported apart; never changes the exit status.
* ``"consistency"``: the paper's own arithmetic; goes with ``kind="consistency"``.  Never changes the exit status.

Power (what every statistical / hypothesis check states)
--------------------------------------------------------
Build a :class:`Power` with one of the helpers and pass it to :func:`verdict_powered` (or set
``Outcome.power``); the runner copies ``n``, the test, the smallest detectable effect and whether the paper's
claimed effect is above it into the result, and turns a ``pass``/``supported``/``inconclusive`` of an
inadequate design into ``underpowered`` (a significant result *against* the claim stays ``fail``)::

    pw = power_kendall(n=100, claimed=-0.42)           # H0: tau = 0; asymptotic Var(tau) = 2(2n+5)/(9n(n-1))
    return verdict_powered(tau, ci95, sign=-1, power=pw, claimed="< 0 (paper -0.42)")

Helpers (all two-sided α = 0.05, power 0.8, normal approximations, formulas in their docstrings; defined in
:mod:`ntkcheck.stats`, the toolkit's one statistics module, and re-exported here):
:func:`power_kendall`, :func:`power_correlation` (Pearson/Spearman via Fisher's z), :func:`power_mean_difference`
(two-sample or one-sample z on a mean), :func:`power_proportion` (one-sample binomial rate).

Magnitude, intervals and multiplicity
-------------------------------------
Where a paper states an effect (a Kendall τ of −0.42, a gain of +0.14) :func:`verdict_magnitude` needs the paper's
value inside the 95% interval (or the interval within a stated equivalence margin) *and* the direction
established; an interval that excludes the paper's value is ``fail`` and the row says whether the direction
still agrees.  :func:`verdict_fraction` decides on the Clopper–Pearson interval, not the point estimate.  A
boundary within the bootstrap's Monte Carlo error of an end point gives ``inconclusive`` (never a seed-dependent
``fail``; :func:`ntkcheck.stats.refine` first re-estimates with more resamples).  Every statistical row carries
the fields of :func:`statistical_fields` (estimate, interval, n, test, raw p, MDE); after all checks ran the
runner adjusts the raw p-values of the paper-claim family by Holm and turns a pass or fail whose adjusted p-value
is ≥ :data:`ALPHA` into ``inconclusive``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ntkcheck.io import cache_dir as default_cache_dir
from ntkcheck.stats import (
    Estimate,
    Power,
    binomial_pvalue,
    magnitude,
    power_correlation,
    power_kendall,
    power_mean_difference,
    power_proportion,
    proportion,
)

__all__ = [
    "KINDS", "SCALES", "VERDICTS", "FAILING_VERDICTS", "HYPOTHESIS_VERDICTS",
    "Check", "CheckResult", "Outcome", "Context", "SkipCheck", "VacuousCheck", "Power", "ROLES",
    "power_kendall", "power_correlation", "power_mean_difference", "power_proportion", "verdict_powered",
    "verdict_magnitude", "statistical_fields", "ALPHA",
    "verdict_numeric", "verdict_bound", "verdict_sign", "verdict_condition", "verdict_fraction", "skipped", "vacuous",
    "inconclusive", "run_check", "missing_needs", "format_value",
]

KINDS = ("exact", "numeric", "statistical", "hypothesis", "consistency")
SCALES = ("small", "paper")
HYPOTHESIS_VERDICTS = ("supported", "not supported", "inconclusive")
CONSISTENCY_VERDICTS = ("consistent", "inconsistent")
VERDICTS = ("pass", "fail", "vacuous", "skipped", "error", "underpowered") + HYPOTHESIS_VERDICTS + CONSISTENCY_VERDICTS
#: Kinds whose verdicts must state their power.
POWERED_KINDS = ("statistical", "hypothesis")
#: What a verdict counts as in the report's opening counts (see the module docstring).
ROLES = ("toolkit", "paper", "extension", "consistency")
#: Verdicts that make ``ntkcheck verify`` exit with status 1: ``error`` in any record, ``fail`` in a
#: ``role="toolkit"`` record (:attr:`CheckResult.failed`).
FAILING_VERDICTS = ("fail", "error")


# ---- the record --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One checkable claim of a paper.

    ``id``: ``"<paper>.<label>"``, e.g. ``"tenas2021.T1"``.  ``source``: section,
    theorem/equation, figure or table.  ``how_measured`` / ``how_claimed``: how each side is computed
    (``claimed`` must come from the paper or from exact math, never invented).  ``tolerance`` and
    ``tolerance_reason``: the stated tolerance and why.  ``fn(ctx) -> Outcome``.
    ``needs``: requirements; each is one of
      ``"module:<dotted.name>"`` (skipped while that module is absent, e.g. not landed yet),
      ``"cuda"`` (skipped without a CUDA device), ``"nats-bench"`` (skipped without ``--nats-bench``),
      ``"torch"``, ``"accuracies"`` (uses the accuracy table of the run: the micro-benchmark or the user's
      NATS-Bench file; the runner builds it once before checks run in parallel), ``"nb201"`` (uses the NB201
      population of :mod:`ntkcheck.paper_checks.nb201_population`: real accuracies and the cells' κ_N / R̂_N,
      measured once by the runner before checks run in parallel).
    ``scales``: scales at which the check is defined (others → skipped).  ``budget_s``: the expected
    run time at small scale on 2 CPU cores (measured; the runner reports overruns).
    """

    id: str
    paper: str
    claim: str
    source: str
    kind: str
    how_measured: str
    how_claimed: str
    tolerance: str
    tolerance_reason: str
    fn: Callable[["Context"], "Outcome"] = field(repr=False, compare=False)
    needs: tuple[str, ...] = ()
    scales: tuple[str, ...] = SCALES
    budget_s: float = 10.0
    trust: str = ""          # internal provenance note; never printed or written to a report
    role: str = ""           # one of ROLES; "" = the kind's default (module docstring)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"check {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        default_role = ("consistency" if self.kind == "consistency" else
                        "paper" if self.kind in POWERED_KINDS else "toolkit")
        object.__setattr__(self, "role", self.role or default_role)
        if self.role not in ROLES:
            raise ValueError(f"check {self.id}: role must be one of {ROLES}, got {self.role!r}")
        if (self.kind == "consistency") != (self.role == "consistency"):
            raise ValueError(f"check {self.id}: kind 'consistency' and role 'consistency' go together")
        for s in self.scales:
            if s not in SCALES:
                raise ValueError(f"check {self.id}: unknown scale {s!r}")
        if not callable(self.fn):
            raise ValueError(f"check {self.id}: fn is not callable")
        object.__setattr__(self, "needs", tuple(self.needs))
        object.__setattr__(self, "scales", tuple(self.scales))

    @classmethod
    def record(cls, paper: str, label: str, claim: str, source: str, kind: str, how_measured: str, how_claimed: str,
               tolerance: str, tolerance_reason: str, fn: Callable[..., Any], needs: Sequence[str] = (),
               budget: float = 10.0, trust: str = "", scales: Sequence[str] = ("small", "paper"),
               role: str = "") -> "Check":
        """The record ``<paper>.<label>`` — the one constructor the paper modules use (positional order as the
        record reads: claim, source, kind, how each side is computed, tolerance and why, the function)."""
        return cls(id=f"{paper}.{label}", paper=paper, claim=claim, source=source, kind=kind,
                   how_measured=how_measured, how_claimed=how_claimed, tolerance=tolerance,
                   tolerance_reason=tolerance_reason, fn=fn, needs=tuple(needs), budget_s=budget, trust=trust,
                   scales=tuple(scales), role=role)

    def describe(self) -> dict[str, Any]:
        """The record without its function and its internal provenance note (``trust``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("fn", "trust")}


@dataclass
class Outcome:
    """What a check function returns: a verdict and both sides of the comparison."""

    verdict: str
    measured: Any = None
    claimed: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""          # why skipped / vacuous / failed, one line
    power: "Power | None" = None   # statistical / hypothesis checks: the design's power (see Power)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


@dataclass
class CheckResult:
    """The result of one check, as stored in report.json."""

    id: str
    paper: str
    kind: str
    claim: str
    source: str
    verdict: str
    measured: Any = None
    claimed: Any = None
    tolerance: str = ""
    tolerance_reason: str = ""
    how_measured: str = ""
    how_claimed: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    error: str = ""
    seconds: float = 0.0
    budget_s: float = 0.0
    scale: str = "small"
    role: str = "toolkit"
    power: dict[str, Any] | None = None   # Power.to_json(): test, n, min_detectable, claimed_effect, adequate

    @property
    def failed(self) -> bool:
        """True when this result makes ``verify`` exit 1: the toolkit is wrong (a ``role="toolkit"`` record
        fails) or a check crashed (``error``, any role: a defect of the toolkit).  Paper findings never do."""
        return self.verdict == "error" or (self.role == "toolkit" and self.verdict == "fail")

    def to_json(self) -> dict[str, Any]:
        from ntkcheck.io import to_jsonable

        return to_jsonable(dataclasses.asdict(self))


class SkipCheck(Exception):
    """Raise inside a check to skip it with a reason (e.g. a blocked dependency)."""


class VacuousCheck(Exception):
    """Raise inside a check when the bound it tests is ≤ 0."""


# ---- verdict helpers ---------------------------------------------------------------------------------

def skipped(reason: str, **details: Any) -> Outcome:
    return Outcome("skipped", reason=reason, details=details)


def vacuous(reason: str, measured: Any = None, claimed: Any = None, **details: Any) -> Outcome:
    return Outcome("vacuous", measured=measured, claimed=claimed, reason=reason, details=details)


def inconclusive(reason: str, measured: Any = None, claimed: Any = None, **details: Any) -> Outcome:
    """For hypothesis checks whose evidence is too weak either way (e.g. a CI that straddles 0)."""
    return Outcome("inconclusive", measured=measured, claimed=claimed, reason=reason, details=details)


def _finite(x: Any) -> bool:
    try:
        return bool(np.all(np.isfinite(np.asarray(x, dtype=float))))
    except (TypeError, ValueError):
        return False


def verdict_numeric(measured: Any, claimed: Any, *, rtol: float = 0.0, atol: float = 0.0,
                    details: Mapping[str, Any] | None = None) -> Outcome:
    """pass iff |measured − claimed| ≤ atol + rtol·|claimed| elementwise (non-finite values fail)."""
    m = np.asarray(measured, dtype=float)
    c = np.asarray(claimed, dtype=float)
    det = dict(details or {})
    if not (_finite(m) and _finite(c)):
        return Outcome("fail", measured, claimed, det, reason="non-finite value")
    err = np.abs(m - c)
    ok = bool(np.all(err <= atol + rtol * np.abs(c)))
    det.setdefault("abs_error", float(np.max(err)) if err.size else 0.0)
    det.setdefault("rtol", rtol)
    det.setdefault("atol", atol)
    return Outcome("pass" if ok else "fail", measured, claimed, det,
                   reason="" if ok else f"max |measured - claimed| = {float(np.max(err)):.3g} exceeds tolerance")


def verdict_bound(measured: Any, bound: Any, *, side: str = "lower", rtol: float = 0.0, atol: float = 0.0,
                  details: Mapping[str, Any] | None = None, vacuous_if_nonpositive: bool = True) -> Outcome:
    """A bound check. ``side="lower"``: claim ``measured ≥ bound`` (a lower bound on e.g. λ_min); a bound ≤ 0
    is *vacuous* (when ``vacuous_if_nonpositive``).  ``side="upper"``: claim ``measured ≤ bound``.
    Slack: ``atol + rtol·|bound|`` in the claim's favour (numerical error of the measured side)."""
    det = dict(details or {})
    m, b = float(measured), float(bound)
    if not (math.isfinite(m) and math.isfinite(b)):
        return Outcome("fail", measured, bound, det, reason="non-finite value")
    slack = atol + rtol * abs(b)
    det.setdefault("slack", slack)
    if side == "lower":
        if vacuous_if_nonpositive and b <= 0:
            return Outcome("vacuous", measured, bound, det, reason=f"bound {b:.3g} <= 0")
        ok = m >= b - slack
    elif side == "upper":
        ok = m <= b + slack
    else:
        raise ValueError("side must be 'lower' or 'upper'")
    det.setdefault("ratio_measured_over_bound", m / b if b != 0 else None)
    return Outcome("pass" if ok else "fail", measured, bound, det,
                   reason="" if ok else f"measured {m:.4g} violates {side} bound {b:.4g}")


def verdict_condition(ok: bool, measured: Any, claimed: Any, *, reason: str = "",
                      details: Mapping[str, Any] | None = None) -> Outcome:
    """pass iff ``ok`` (a boolean computed by the check); ``reason`` explains a failure."""
    return Outcome("pass" if bool(ok) else "fail", measured, claimed, dict(details or {}),
                   reason="" if ok else (reason or "condition not met"))


#: Level of every interval decision (two-sided 95 % intervals) and of the multiplicity adjustment.
ALPHA = 0.05


def statistical_fields(*, estimate: float, ci: Sequence[float], n: int, test: str, p_raw: float | None,
                       mde: float | None, decides: str | None) -> dict[str, Any]:
    """The fields every statistical row carries (report.json ``details``): estimate, 95 % interval, n, the test,
    the raw p-value of the test that decides the verdict, its Holm-adjusted value (``p_adjusted``, filled by the
    runner over the paper-claim family), and the design's minimum detectable effect.  ``decides``: which verdict
    the p-value backs ("pass" or "fail"; None when it decides nothing) — the runner turns that verdict into
    ``inconclusive`` when the adjusted p-value is ≥ :data:`ALPHA`."""
    return {"estimate": estimate, "ci95": [float(ci[0]), float(ci[1])], "n": int(n), "test": test,
            "p_raw": None if p_raw is None or not math.isfinite(float(p_raw)) else float(p_raw),
            "p_adjusted": None, "p_decides": decides, "mde": mde}


def verdict_fraction(successes: int, trials: int, *, required: float, claimed: Any = None,
                     details: Mapping[str, Any] | None = None) -> Outcome:
    """For qualitative claims run over seeds or a population ("holds in ≥ ``required`` of the runs"), decided on
    the exact (Clopper–Pearson) 95% interval [lo, hi] of the success probability (:func:`ntkcheck.stats.proportion`):

    * **pass** when lo ≥ required (the runs establish the rate at 95% confidence); for ``required = 1`` (a
      universal claim, which no finite sample can establish) when every run succeeds;
    * **fail** when hi < required (the runs contradict the claimed rate at 95% confidence);
    * **inconclusive** otherwise — a point estimate above the rate is not evidence for it;
    * **underpowered** when the design cannot decide: even ``trials`` successes out of ``trials`` would leave
      lo < required (it cannot pass), or even 0 successes would leave hi ≥ required (it cannot fail) — unless the
      interval already contradicts the claim (``fail`` stands).

    The raw p-value is the exact two-sided binomial test against ``required`` (:func:`ntkcheck.stats.binomial_pvalue`,
    which never disagrees with the interval).
    """
    det = dict(details or {})
    if trials <= 0:
        return Outcome("skipped", reason="no trials ran", details=det)
    k, n = int(successes), int(trials)
    est = proportion(k, n, p0=required)
    lo, hi = est.low, est.high
    universal = required >= 1.0
    can_fail = proportion(0, n).high < required
    can_pass = universal or proportion(n, n).low >= required
    det.update({"successes": k, "trials": n, "clopper_pearson95": [lo, hi], "can_fail": can_fail,
                "can_pass": can_pass})
    measured = f"{k}/{n} = {k / n:.2f}"
    claimed = claimed if claimed is not None else f">= {required:.2f}"
    pw = power_proportion(n, float(required), None,
                          test=f"exact binomial (Clopper-Pearson 95%) vs the required rate {required:.2f}")
    test = f"exact binomial test vs {required:.2f} (two-sided); Clopper-Pearson 95% interval"
    p = binomial_pvalue(k, n, required)
    if hi < required:
        det.update(statistical_fields(estimate=k / n, ci=(lo, hi), n=n, test=test, p_raw=p, mde=pw.min_detectable,
                                      decides="fail"))
        return Outcome("fail", measured, claimed, det, power=pw,
                       reason=f"success fraction {k / n:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] below {required:.2f}")
    passed = (k == n) if universal else lo >= required
    det.update(statistical_fields(estimate=k / n, ci=(lo, hi), n=n, test=test, p_raw=None if universal else p,
                                  mde=pw.min_detectable, decides="pass" if passed and not universal else None))
    if not (can_fail and can_pass):
        why = ("even 0 successes would not contradict" if not can_fail
               else f"even {n}/{n} successes would not establish")
        return Outcome("underpowered", measured, claimed, det, power=pw,
                       reason=f"underpowered: with {n} runs {why} the rate {required:.2f} at 95% confidence")
    if passed:
        return Outcome("pass", measured, claimed, det, power=pw,
                       reason="every run succeeded (a universal claim)" if universal else "")
    return Outcome("inconclusive", measured, claimed, det, power=pw,
                   reason=f"success fraction {k / n:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] contains {required:.2f}")


def _estimate_from(estimate: float | Estimate, ci: Sequence[float] | None) -> Estimate:
    if isinstance(estimate, Estimate):
        return estimate
    lo, hi = (float(ci[0]), float(ci[1])) if ci is not None else (math.nan, math.nan)
    return Estimate(float(estimate), lo, hi, 0, math.nan, "")


def verdict_sign(estimate: float | Estimate, ci: Sequence[float] | None = None, *, sign: int, claimed: Any = None,
                 details: Mapping[str, Any] | None = None, test: str = "") -> Outcome:
    """A directional statistical claim ("τ < 0"): pass when the 95% CI lies on the claimed side of 0, fail when it
    lies on the other side, inconclusive when it contains 0 (or the estimate is nan), and inconclusive when 0 lies
    within the bootstrap's Monte Carlo error of an end point (an :class:`~ntkcheck.stats.Estimate` with its
    ``mc_error``: the decision would depend on the seed; see :func:`ntkcheck.stats.refine`).

    ``estimate`` is an Estimate (its interval, n, p-value and method are used) or a float with ``ci``.  The raw
    p-value is the estimator's own test against 0; it backs a pass or a fail (see :func:`statistical_fields`)."""
    est = _estimate_from(estimate, ci)
    det = dict(details or {})
    lo, hi, t = est.low, est.high, est.statistic
    claimed = claimed if claimed is not None else ("> 0" if sign > 0 else "< 0")
    p = est.pvalue if math.isfinite(est.pvalue) else det.get("p_value")      # a float estimate: its test's p
    fields = lambda decides: statistical_fields(estimate=t, ci=(lo, hi), n=est.n or det.get("n", 0),
                                                test=test or est.method, p_raw=p, mde=None, decides=decides)
    if not (math.isfinite(t) and math.isfinite(lo) and math.isfinite(hi)):
        det.update(fields(None))
        return Outcome("inconclusive", t, claimed, det, reason="statistic undefined (nan)")
    if est.near(0.0):
        det.update(fields(None))
        return Outcome("inconclusive", t, claimed, det,
                       reason=f"0 lies within the bootstrap's Monte Carlo error ({est.mc_error:.2g}) of the 95% CI "
                              f"[{lo:.3f}, {hi:.3f}]")
    if (sign > 0 and lo > 0) or (sign < 0 and hi < 0):
        det.update(fields("pass"))
        return Outcome("pass", t, claimed, det)
    if (sign > 0 and hi < 0) or (sign < 0 and lo > 0):
        det.update(fields("fail"))
        return Outcome("fail", t, claimed, det, reason=f"95% CI [{lo:.3f}, {hi:.3f}] has the opposite sign")
    det.update(fields(None))
    return Outcome("inconclusive", t, claimed, det, reason=f"95% CI [{lo:.3f}, {hi:.3f}] contains 0")


def verdict_powered(estimate: float | Estimate, ci: Sequence[float] | None = None, *, sign: int, power: Power,
                    claimed: Any = None, details: Mapping[str, Any] | None = None, test: str = "",
                    smallest_effect: tuple[float, str] | None = None) -> Outcome:
    """:func:`verdict_sign` plus the design's :class:`~ntkcheck.stats.Power`.  An inadequate design (claimed
    effect below the smallest detectable one) gives ``underpowered`` unless its interval contradicts the claim
    (``fail``).  A direction-only claim is gated on ``smallest_effect`` = (effect, why that effect) when given:
    the smallest effect of interest stands in for the effect the paper does not state."""
    if smallest_effect is not None:
        power = power.with_smallest_effect(*smallest_effect)
    out = verdict_sign(estimate, ci, sign=sign, claimed=claimed, details=details, test=test)
    return _apply_power(out, power)


def verdict_magnitude(est: Estimate, *, paper: float, power: Power, claimed: Any = None, margin: float | None = None,
                      margin_reason: str = "", details: Mapping[str, Any] | None = None, test: str = "") -> Outcome:
    """A claim that states an effect (a Kendall τ of −0.42, a gain of +0.14): decided on magnitude, not only sign
    (:func:`ntkcheck.stats.magnitude`).

    * **pass** (reproduced): the interval excludes 0 on the paper's side *and* contains the paper's value (or lies
      within paper ± ``margin``, an equivalence margin stated with ``margin_reason``);
    * **fail** (not reproduced): the interval excludes the paper's value and equivalence is not shown; the row
      shows both numbers and says whether the direction still agrees ("direction reproduced, magnitude not");
    * **inconclusive**: the paper's value is compatible but the direction is not established, or a boundary lies
      within the bootstrap's Monte Carlo error of an end point (never a seed-dependent fail);
    * **underpowered**: as :func:`verdict_powered` (the design's MDE above the paper's effect), unless ``fail``.

    The raw p-value: for a pass, the estimator's test against 0 (the direction); for a fail, the Wald test of
    H₀: θ = paper with the bootstrap standard error.  Both are Holm-adjusted by the runner."""
    mg = magnitude(est, paper, margin=margin)
    det = dict(details or {})
    claimed = claimed if claimed is not None else f"{paper:+.3g}"
    det.update({"paper_value": paper, "paper_value_inside_ci95": mg.inside, "direction": mg.direction,
                "magnitude": mg.line, "magnitude_test": mg.to_json()})
    if margin is not None:
        det["equivalence_margin"] = {"margin": margin, "reason": margin_reason}
    if mg.reproduced is True:
        verdict, decides, p, reason = "pass", "pass", mg.p_direction, ""
    elif mg.reproduced is False:
        verdict, decides, p, reason = "fail", "fail", mg.p_paper, mg.line
    else:
        verdict, decides, p, reason = "inconclusive", None, mg.p_direction, mg.line
    det.update(statistical_fields(estimate=est.statistic, ci=est.ci, n=est.n, test=test or est.method, p_raw=p,
                                  mde=power.min_detectable, decides=decides))
    det["p_paper_value"] = None if not math.isfinite(mg.p_paper) else mg.p_paper
    out = Outcome(verdict, est.statistic, claimed, det, reason=reason)
    return _apply_power(out, power)


def _apply_power(out: Outcome, power: Power | None) -> Outcome:
    out.power = power
    if power is not None and "mde" in out.details:
        out.details["mde"] = float(power.min_detectable)
    if power is not None and power.adequate is False and out.verdict in ("pass", "supported", "inconclusive"):
        out.details.setdefault("verdict_before_power", out.verdict)
        out.reason = f"underpowered: {power.summary()}"
        out.verdict = "underpowered"
    return out


# ---- context -----------------------------------------------------------------------------------------

@dataclass
class Context:
    """Everything a check function may use.

    ``rng``: a numpy Generator seeded from (seed, check id), so each check is reproducible on its own and
    independent of run order or ``--jobs``.  ``device``: ``"cpu"`` or ``"cuda"`` (resolved, never
    ``"auto"``).  ``accuracy_source``: ``"microbench"`` or ``"nats-bench"``; ``nats_bench``: the user's file.
    ``progress(msg)``: report sub-progress (a no-op under ``--quiet``).  ``cache_dir``: where expensive
    results (micro-benchmark accuracies) are cached.
    """

    scale: str = "small"
    seed: int = 0
    device: str = "cpu"
    jobs: int = 1
    accuracy_source: str = "microbench"
    nats_bench: str | None = None
    sweep: str | None = None      # ``verify --sweep STORE``: the TE-NAS NB201 population's κ_N / R̂_N from a sweep store
    cache_dir: Path = field(default_factory=default_cache_dir)
    quiet: bool = True
    check_id: str = ""
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    progress_fn: Callable[[str], None] | None = field(default=None, repr=False)
    shared: dict[str, Any] = field(default_factory=dict, repr=False)   # per-process memo (e.g. accuracy tables)

    @property
    def small(self) -> bool:
        return self.scale == "small"

    def pick(self, small: Any, paper: Any) -> Any:
        """The small-scale or the paper-scale value of a setting."""
        return small if self.scale == "small" else paper

    def progress(self, msg: str) -> None:
        if self.progress_fn is not None and not self.quiet:
            self.progress_fn(msg)

    def seed_for(self, *keys: Any) -> int:
        """A 32-bit seed derived from the run seed, the check id and ``keys`` (stable across runs)."""
        h = hashlib.sha256(repr((self.seed, self.check_id) + keys).encode()).digest()
        return int.from_bytes(h[:4], "little")

    def for_check(self, check_id: str) -> "Context":
        ctx = dataclasses.replace(self, check_id=check_id)
        ctx.rng = np.random.default_rng(ctx.seed_for("rng"))
        return ctx

    def torch_device(self):
        import torch

        return torch.device(self.device)


def missing_needs(check: Check, ctx: Context) -> str:
    """The reason a check cannot run here, or "" when all its needs are met."""
    for need in check.needs:
        if need.startswith("module:"):
            mod = need.split(":", 1)[1]
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return f"blocked: module {mod} is not available yet"
        elif need == "torch":
            if importlib.util.find_spec("torch") is None:
                return "needs torch"
        elif need == "cuda":
            if ctx.device != "cuda":
                return "needs a CUDA GPU"
        elif need in ("accuracies", "nb201"):
            continue
        elif need == "nats-bench":
            if not ctx.nats_bench:
                return "needs a NATS-Bench topology file (--nats-bench PATH)"
        else:
            raise ValueError(f"check {check.id}: unknown need {need!r}")
    return ""


def run_check(check: Check, ctx: Context) -> CheckResult:
    """Run one check; never raises for a failing or crashing check (→ verdict ``error``)."""
    ctx = ctx.for_check(check.id)
    res = CheckResult(id=check.id, paper=check.paper, kind=check.kind, claim=check.claim, source=check.source,
                      verdict="skipped", tolerance=check.tolerance, tolerance_reason=check.tolerance_reason,
                      how_measured=check.how_measured, how_claimed=check.how_claimed, budget_s=check.budget_s,
                      scale=ctx.scale, role=check.role)
    if ctx.scale not in check.scales:
        res.reason = f"not defined at scale {ctx.scale!r} (runs at: {', '.join(check.scales)})"
        return res
    why = missing_needs(check, ctx)
    if why:
        res.reason = why
        return res
    t0 = time.perf_counter()
    try:
        out = check.fn(ctx)
        if not isinstance(out, Outcome):
            raise TypeError(f"check function returned {type(out).__name__}, expected Outcome")
    except SkipCheck as exc:
        out = skipped(str(exc))
    except VacuousCheck as exc:
        out = vacuous(str(exc))
    except Exception as exc:  # a crashing check is a defect: verdict "error", counted as a failure
        res.seconds = time.perf_counter() - t0
        res.verdict = "error"
        res.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        res.details = {"traceback": traceback.format_exc(limit=8)}
        return res
    res.seconds = time.perf_counter() - t0
    if out.power is not None:
        out = _apply_power(out, out.power)
    verdict = out.verdict
    if check.kind == "consistency":
        verdict = {"pass": "consistent", "fail": "inconsistent"}.get(verdict, verdict)
    elif check.kind == "hypothesis":
        verdict = {"pass": "supported", "fail": "not supported"}.get(verdict, verdict)
    elif verdict == "inconclusive" and check.kind == "statistical":
        pass  # a statistical check whose confidence interval straddles the claim's threshold: reported, not failed
    elif verdict == "underpowered" and check.kind in POWERED_KINDS:
        pass
    elif verdict in HYPOTHESIS_VERDICTS + ("underpowered",):
        # exact/numeric checks must decide; "supported"/"not supported" there mean pass/fail, and an
        # undecided exact check is a failure to decide
        verdict = "pass" if verdict == "supported" else "fail"
        out.reason = out.reason or "check could not decide"
    res.verdict = verdict
    res.measured, res.claimed, res.details, res.reason = out.measured, out.claimed, dict(out.details), out.reason
    res.power = out.power.to_json() if out.power is not None else None
    return res


def format_value(v: Any, digits: int = 4) -> str:
    """Short human-readable form of a measured/claimed value for tables."""
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if not math.isfinite(x):
            return str(x)
        return f"{x:.{digits}g}"
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        s = ", ".join(format_value(x, digits) for x in v[:6])
        return f"[{s}{', …' if len(v) > 6 else ''}]"
    if isinstance(v, Mapping):
        s = ", ".join(f"{k}={format_value(x, digits)}" for k, x in list(v.items())[:4])
        return "{" + s + (", …" if len(v) > 4 else "") + "}"
    s = " ".join(str(v).split())
    if len(s) <= 60:
        return s
    import textwrap      # shorten at a word boundary, never mid-word

    return textwrap.shorten(s, width=60, placeholder=" …") if " " in s[:59] else s[:59] + "…"
