"""The paper-check record, its verdicts and the context a check runs in (design card §6).

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
* ``error``: the check crashed; counts as a failure.
* ``inconclusive``: a ``statistical`` (or ``hypothesis``) check whose confidence interval does not decide
  (e.g. a Kendall τ whose bootstrap 95% CI contains 0 at toy scale); reported with the interval, not failed.
* For ``kind="hypothesis"`` (statements the digests mark unverified [R], or that they say to report rather
  than assert) the runner maps pass/fail to the informational verdicts
  ``supported`` / ``not supported`` (``inconclusive`` when the check says so). They are reported, never
  counted as the paper's theorem, and never fail the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import math
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "KINDS", "SCALES", "VERDICTS", "FAILING_VERDICTS", "HYPOTHESIS_VERDICTS",
    "Check", "CheckResult", "Outcome", "Context", "SkipCheck", "VacuousCheck",
    "verdict_numeric", "verdict_bound", "verdict_sign", "verdict_condition", "verdict_fraction", "skipped", "vacuous",
    "inconclusive", "run_check", "missing_needs", "format_value",
]

KINDS = ("exact", "numeric", "statistical", "hypothesis")
SCALES = ("small", "paper")
HYPOTHESIS_VERDICTS = ("supported", "not supported", "inconclusive")
VERDICTS = ("pass", "fail", "vacuous", "skipped", "error") + HYPOTHESIS_VERDICTS
#: Verdicts that make ``ntkcheck verify`` exit with status 1.
FAILING_VERDICTS = ("fail", "error")


# ---- the record --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One checkable claim of a paper.

    ``id``: ``"<paper>.<label>"``, e.g. ``"tenas2021.T1"`` (the digest's label).  ``source``: section,
    theorem/equation, figure or table.  ``how_measured`` / ``how_claimed``: how each side is computed
    (``claimed`` must come from the paper or from exact math, never invented).  ``tolerance`` and
    ``tolerance_reason``: the stated tolerance and why.  ``fn(ctx) -> Outcome``.
    ``needs``: requirements; each is one of
      ``"module:<dotted.name>"`` (skipped while that module is absent, e.g. not landed yet),
      ``"cuda"`` (skipped without a CUDA device), ``"nats-bench"`` (skipped without ``--nats-bench``),
      ``"torch"``, ``"accuracies"`` (uses the accuracy table of the run: the micro-benchmark or the user's
      NATS-Bench file; the runner builds it once before checks run in parallel).
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
    trust: str = ""          # the digest's trust label ([V], [D], [P], [R]) when useful

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"check {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
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
               budget: float = 10.0, trust: str = "", scales: Sequence[str] = ("small", "paper")) -> "Check":
        """The record ``<paper>.<label>`` — the one constructor the paper modules use (positional order as the
        record reads: claim, source, kind, how each side is computed, tolerance and why, the function)."""
        return cls(id=f"{paper}.{label}", paper=paper, claim=claim, source=source, kind=kind,
                   how_measured=how_measured, how_claimed=how_claimed, tolerance=tolerance,
                   tolerance_reason=tolerance_reason, fn=fn, needs=tuple(needs), budget_s=budget, trust=trust,
                   scales=tuple(scales))

    def describe(self) -> dict[str, Any]:
        """The record without its function (for report.json)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "fn"}


@dataclass
class Outcome:
    """What a check function returns: a verdict and both sides of the comparison."""

    verdict: str
    measured: Any = None
    claimed: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""          # why skipped / vacuous / failed, one line

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

    @property
    def failed(self) -> bool:
        """True when this result makes the run fail (``fail`` or ``error``; hypotheses never do, except by
        crashing, which is a defect of the check itself)."""
        return self.verdict in FAILING_VERDICTS

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
    is *underpowered*: it is reported as inconclusive whatever it measured, so that no check can pass without
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
    if worst >= required:
        return Outcome("inconclusive", measured, claimed, det,
                       reason=f"underpowered: with {trials} runs even 0 successes would not contradict {required:.2f}")
    if p >= required:
        return Outcome("pass", measured, claimed, det)
    if hi < required:
        return Outcome("fail", measured, claimed, det,
                       reason=f"success fraction {p:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] below {required:.2f}")
    return Outcome("inconclusive", measured, claimed, det,
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


# ---- context -----------------------------------------------------------------------------------------

def _default_cache_dir() -> Path:
    env = os.environ.get("NTKCHECK_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ntkcheck"


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
    cache_dir: Path = field(default_factory=_default_cache_dir)
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
        elif need == "accuracies":
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
                      scale=ctx.scale)
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
    verdict = out.verdict
    if check.kind == "hypothesis":
        verdict = {"pass": "supported", "fail": "not supported"}.get(verdict, verdict)
    elif verdict == "inconclusive" and check.kind == "statistical":
        pass  # a statistical check whose confidence interval straddles the claim's threshold: reported, not failed
    elif verdict in HYPOTHESIS_VERDICTS:
        # exact/numeric checks must decide; "supported"/"not supported" there mean pass/fail, and an
        # undecided exact check is a failure to decide
        verdict = "pass" if verdict == "supported" else "fail"
        out.reason = out.reason or "check could not decide"
    res.verdict = verdict
    res.measured, res.claimed, res.details, res.reason = out.measured, out.claimed, dict(out.details), out.reason
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
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "..."
