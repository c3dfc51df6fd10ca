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

Helpers (all two-sided α = 0.05, power 0.8, normal approximations, formulas in their docstrings):
:func:`power_kendall`, :func:`power_correlation` (Pearson/Spearman via Fisher's z), :func:`power_mean_difference`
(two-sample or one-sample z on a mean), :func:`power_proportion` (one-sample binomial rate).
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

__all__ = [
    "KINDS", "SCALES", "VERDICTS", "FAILING_VERDICTS", "HYPOTHESIS_VERDICTS",
    "Check", "CheckResult", "Outcome", "Context", "SkipCheck", "VacuousCheck", "Power", "ROLES",
    "power_kendall", "power_correlation", "power_mean_difference", "power_proportion", "verdict_powered",
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


def verdict_fraction(successes: int, trials: int, *, required: float, claimed: Any = None,
                     details: Mapping[str, Any] | None = None) -> Outcome:
    """For qualitative claims run over seeds or a population ("holds in ≥ ``required`` of the runs").

    Three-way, like :func:`verdict_sign`, with the exact (Clopper–Pearson) 95% interval [lo, hi] of the success
    probability: **pass** when the observed fraction p ≥ required; **fail** only when hi < required (the runs
    contradict the claimed rate at 95% confidence); otherwise **inconclusive**.  The digests call such claims
    "[qual]: a direction that small-scale runs may violate at random", so a shortfall within sampling error is
    not a failure.  A design too small to ever fail (even 0 successes out of ``trials`` would leave hi ≥ required)
    is *underpowered*: verdict ``underpowered`` whatever it measured, so that no check can pass without
    being able to fail.
    """
    from scipy.stats import binomtest

    det = dict(details or {})
    if trials <= 0:
        return Outcome("skipped", reason="no trials ran", details=det)
    p = successes / trials
    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=0.95, method="exact")
    lo, hi = float(ci.low), float(ci.high)
    worst = float(binomtest(0, int(trials)).proportion_ci(confidence_level=0.95, method="exact").high)
    det.update({"successes": successes, "trials": trials, "clopper_pearson95": [lo, hi],
                "can_fail": worst < required})
    measured = f"{successes}/{trials} = {p:.2f}"
    claimed = claimed if claimed is not None else f">= {required:.2f}"
    pw = power_proportion(int(trials), float(required), None,
                          test=f"exact binomial (Clopper-Pearson 95%) vs the required rate {required:.2f}")
    if worst >= required:
        return Outcome("underpowered", measured, claimed, det, power=pw,
                       reason=f"underpowered: with {trials} runs even 0 successes would not contradict {required:.2f}")
    if p >= required:
        return Outcome("pass", measured, claimed, det, power=pw)
    if hi < required:
        return Outcome("fail", measured, claimed, det, power=pw,
                       reason=f"success fraction {p:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] below {required:.2f}")
    return Outcome("inconclusive", measured, claimed, det, power=pw,
                   reason=f"success fraction {p:.2f} < {required:.2f} but 95% CI [{lo:.2f}, {hi:.2f}] contains it")


def verdict_sign(estimate: float, ci: Sequence[float], *, sign: int, claimed: Any = None,
                 details: Mapping[str, Any] | None = None) -> Outcome:
    """A directional statistical claim ("τ < 0"): pass when the 95% CI lies on the claimed side of 0,
    fail when it lies on the other side, inconclusive when it contains 0 (or the estimate is nan)."""
    det = dict(details or {})
    lo, hi = float(ci[0]), float(ci[1])
    det.setdefault("ci95", [lo, hi])
    claimed = claimed if claimed is not None else ("> 0" if sign > 0 else "< 0")
    if not (math.isfinite(estimate) and math.isfinite(lo) and math.isfinite(hi)):
        return Outcome("inconclusive", estimate, claimed, det, reason="statistic undefined (nan)")
    if (sign > 0 and lo > 0) or (sign < 0 and hi < 0):
        return Outcome("pass", estimate, claimed, det)
    if (sign > 0 and hi < 0) or (sign < 0 and lo > 0):
        return Outcome("fail", estimate, claimed, det, reason=f"95% CI [{lo:.3f}, {hi:.3f}] has the opposite sign")
    return Outcome("inconclusive", estimate, claimed, det, reason=f"95% CI [{lo:.3f}, {hi:.3f}] contains 0")


# ---- power -------------------------------------------------------------------------------------------

_Z_ALPHA = 1.959963984540054      # z_{1 - 0.05/2}
_Z_POWER = 0.8416212335729143     # z_{0.8}


def _z_sum(alpha: float, power: float) -> float:
    from scipy.stats import norm

    if alpha == 0.05 and power == 0.8:
        return _Z_ALPHA + _Z_POWER
    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


@dataclass(frozen=True)
class Power:
    """The power of a statistical design: the smallest effect it detects with probability ``power`` at level
    ``alpha`` (two-sided), next to the paper's claimed effect in the same units.

    ``effect`` is the distance of the claimed value from the null (|claimed − null|); ``adequate`` is True iff
    effect ≥ min_detectable; ``None`` when the paper states no effect size (the claim is only a direction).
    """

    test: str
    n: int
    min_detectable: float
    claimed_effect: float | None
    null: float = 0.0
    alpha: float = 0.05
    power: float = 0.8
    method: str = ""

    @property
    def effect(self) -> float | None:
        return None if self.claimed_effect is None else abs(float(self.claimed_effect) - float(self.null))

    @property
    def adequate(self) -> bool | None:
        if self.effect is None:
            return None
        return bool(math.isfinite(self.min_detectable) and self.effect >= self.min_detectable)

    def summary(self) -> str:
        adequate = {True: "detectable", False: "NOT detectable", None: "no effect size claimed"}[self.adequate]
        eff = "" if self.effect is None else f"; claimed effect {self.effect:.3g} {adequate}"
        return f"{self.test}, n={self.n}, min detectable {self.min_detectable:.3g} (80% power, α=0.05){eff}"

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "n": int(self.n), "min_detectable": float(self.min_detectable),
                "claimed_effect": None if self.claimed_effect is None else float(self.claimed_effect),
                "null": float(self.null), "effect": self.effect, "alpha": self.alpha, "power": self.power,
                "adequate": self.adequate, "method": self.method, "summary": self.summary()}


def power_kendall(n: int, claimed: float | None, *, null: float = 0.0, alpha: float = 0.05,
                  power: float = 0.8) -> Power:
    r"""Kendall τ against ``null``: the smallest detectable |τ − null| is (z_{1−α/2} + z_{power})·σ₀ with the
    asymptotic null standard deviation σ₀² = 2(2n + 5) / (9n(n − 1)) (Kendall 1938; no ties).  Under an
    alternative τ ≠ 0 the variance of τ̂ is smaller, so this is conservative for ``null`` ≠ 0 too."""
    n = int(n)
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1))) if n >= 2 else math.inf
    return Power("Kendall tau-b vs %g (two-sided)" % null, n, _z_sum(alpha, power) * sd, claimed, null, alpha, power,
                 "asymptotic normal, Var(tau) = 2(2n+5)/(9n(n-1))")


def power_correlation(n: int, claimed: float | None, *, null: float = 0.0, name: str = "Pearson r",
                      alpha: float = 0.05, power: float = 0.8) -> Power:
    r"""A correlation coefficient against ``null`` through Fisher's z = atanh(r), SE 1/√(n − 3): the smallest
    detectable correlation above ``null`` is tanh(atanh(null) + (z_{1−α/2} + z_{power})/√(n − 3)) − null."""
    n = int(n)
    dz = _z_sum(alpha, power) / math.sqrt(n - 3) if n > 3 else math.inf
    mde = math.tanh(math.atanh(null) + dz) - null if math.isfinite(dz) else math.inf
    eff = claimed
    if claimed is not None and n > 3:       # compare on the z scale, report on the r scale
        eff_z = abs(math.atanh(max(-0.999999, min(0.999999, claimed))) - math.atanh(null))
        eff = null + math.copysign(math.tanh(math.atanh(null) + eff_z) - null, claimed - null) if eff_z else null
    return Power(f"{name} vs {null:g} (two-sided)", n, mde, eff, null, alpha, power,
                 "Fisher z-transform, SE 1/sqrt(n-3)")


def power_mean_difference(n1: int, sd: float, claimed: float | None, *, n2: int = 0, null: float = 0.0,
                          test: str = "", alpha: float = 0.05, power: float = 0.8) -> Power:
    r"""A mean (``n2 = 0``: one sample of size n1) or a difference of two means (sizes n1, n2) against ``null``,
    with standard deviation ``sd`` per observation: smallest detectable difference
    (z_{1−α/2} + z_{power})·sd·√(1/n1 + 1/n2) (z test; the t correction is < 5 % for n ≥ 30)."""
    se = sd * math.sqrt(1 / n1 + (1 / n2 if n2 else 0.0)) if n1 > 0 else math.inf
    name = test or ("difference of two means (z test)" if n2 else "mean vs %g (z test)" % null)
    return Power(name, int(n1 + n2), _z_sum(alpha, power) * se, claimed, null, alpha, power,
                 f"normal approximation, sd {sd:.3g}")


def power_proportion(n: int, p0: float, claimed: float | None, *, alpha: float = 0.05, power: float = 0.8,
                     test: str = "") -> Power:
    r"""A success rate over n independent trials against p0: smallest detectable |p − p0| is
    (z_{1−α/2}·√(p0(1−p0)) + z_{power}·√(p1(1−p1)))/√n, solved for p1 by fixed-point iteration
    (normal approximation to the binomial)."""
    n = int(n)
    za, zb = _z_sum(alpha, power) - _Z_POWER, _Z_POWER
    d = (za + zb) * math.sqrt(max(p0 * (1 - p0), 1e-12) / max(n, 1))
    for _ in range(50):
        p1 = min(max(p0 - d if (claimed is not None and claimed < p0) else p0 + d, 0.0), 1.0)
        d = (za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))) / math.sqrt(max(n, 1))
    return Power(test or f"binomial rate vs {p0:g} (two-sided)", n, d, claimed, p0, alpha, power,
                 "normal approximation to the binomial")


def verdict_powered(estimate: float, ci: Sequence[float], *, sign: int, power: Power, claimed: Any = None,
                    details: Mapping[str, Any] | None = None) -> Outcome:
    """:func:`verdict_sign` plus the design's :class:`Power`.  An inadequate design (claimed effect below the
    smallest detectable one) gives ``underpowered`` unless its interval contradicts the claim (``fail``)."""
    out = verdict_sign(estimate, ci, sign=sign, claimed=claimed, details=details)
    return _apply_power(out, power)


def _apply_power(out: Outcome, power: Power | None) -> Outcome:
    out.power = power
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
