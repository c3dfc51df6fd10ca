r"""Adversarial search for a certified counterexample to a bound.

Two phases, both counted in one budget of *trials* (configurations evaluated; an identical configuration is
evaluated once) and, optionally, seconds:

1. **Exploration** (≈ 60 % of the trials left): hypothesis draws configurations from the strategies of
   :mod:`ntkcheck.bound_check.strategies` — architecture of the chosen space, data distribution, σ_w², σ_b²,
   width — with a fixed ``random.Random(seed)`` and no example database, so a run is reproducible.  Hypothesis
   generates small and boundary cases early (N = 1, one layer, the first activation), then random ones.
2. **Local adversarial optimization**: the ``top_k`` explored configurations with the smallest relative
   slack (slack/(|B|+|Q|), :mod:`ntkcheck.bound_check.problem`) are improved by ``scipy.optimize.minimize``
   (Nelder–Mead) over the data points on the sphere — moves X + Σ θ_i V_i along k random tangent-space
   directions V_i, rows renormalised (the retraction), new directions each round — and the continuous
   hyper-parameters log σ_w², √σ_b²; the architecture and N, d stay fixed.

Rounds of (1, 2) repeat, with a new hypothesis seed, until the budget is spent.
The search stops at the first certified violation, which :mod:`ntkcheck.bound_check.shrink` then shrinks.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ntkcheck.errors import NtkcheckError

from .problem import Configuration, Evaluation, Problem, evaluate
from .strategies import EXPLORED_ACTIVATIONS, Domain, configurations_strategy

__all__ = ["SearchResult", "search", "domain_from_assumptions", "SEARCH_SHARE"]

#: Share of a time budget spent searching; shrinking a counterexample may use the rest.
SEARCH_SHARE = 0.85


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`search` (see the module docstring).

    ``verdict``: ``violated`` (a certified counterexample inside the space and the assumptions), ``holds``
    (none found on at least ``min_evidence`` evaluated, non-vacuous configurations: ``evidence`` of them) or
    ``undecided`` (fewer than that; ``reason`` says why: not evaluable, all vacuous, assumptions exclude
    everything, too few trials).
    """

    problem: Problem
    verdict: str
    tried: int
    counts: dict = field(compare=False)              # status → number of configurations
    min_slack: float
    min_slack_eval: Evaluation | None = field(compare=False)
    tightest: Evaluation | None = field(compare=False)  # smallest relative slack among non-violations
    counterexample: Evaluation | None = field(compare=False)   # shrunk
    found: Evaluation | None = field(compare=False)            # as first found, before shrinking
    found_at: int | None = None                      # trial number of the first certified violation
    found_in: str | None = None                      # "exploration" or "optimization"
    ratios: tuple[float, ...] = field(default=(), repr=False, compare=False)
    shrink_log: tuple[str, ...] = ()
    seed: int = 0
    trials: int | None = None
    budget: float | None = None
    elapsed: float = 0.0
    stopped_by: str = ""
    evidence: int = 0
    min_evidence: int = 0
    reason: str = ""

    def tried_counts(self) -> dict[str, int]:
        """One status per tried configuration (they add up to ``tried``); configurations the assumptions
        excluded are not tried and are counted apart (``counts["excluded"]``)."""
        return {k: v for k, v in sorted(self.counts.items()) if k != "excluded" and v}

    def to_json(self) -> dict[str, Any]:
        ce = self.counterexample
        return {"verdict": self.verdict, "tried": self.tried, "evidence": self.evidence,
                "min_evidence": self.min_evidence, "reason": self.reason, "min_slack": self.min_slack,
                "counterexample": None if ce is None else ce.to_json(),
                "found_at": self.found_at, "found_in": self.found_in,
                "found_before_shrinking": None if self.found is None else self.found.to_json(),
                "tightest": None if self.tightest is None else self.tightest.to_json(),
                "counts": self.tried_counts(), "excluded": self.counts.get("excluded", 0),
                "shrink_log": list(self.shrink_log), "seed": self.seed,
                "trials": self.trials, "budget_s": self.budget, "elapsed_s": self.elapsed,
                "stopped_by": self.stopped_by, "problem": self.problem.to_json()}


#: Statuses of configurations where the bound holds (or nearly): optimization starts and the slack statistics.
#: These are the evaluated, non-vacuous configurations: the evidence behind a verdict of ``holds``.
_NEAR = ("holds", "within_tolerance", "not_significant")

#: A verdict of ``holds`` needs at least this many evaluated, non-vacuous configurations without a certified
#: violation (``min_evidence``); with fewer the verdict is ``undecided``.
MIN_EVIDENCE = 10
#: Stop early when this many configurations were drawn and none gave evidence (all excluded, not evaluable,
#: vacuous or degenerate): more of the same would not change an ``undecided``.
_HOPELESS = 200


class _Stop(Exception):
    """Budget exhausted (internal)."""


class _Found(Exception):
    def __init__(self, ev: Evaluation):
        super().__init__("found")
        self.ev = ev


class _Tracker:
    """Counts, caches and remembers evaluations; enforces the budget (internal, mutable by design)."""

    def __init__(self, problem: Problem, trials: int | None, budget: float | None, progress: Any):
        self.problem, self.trials, self.budget, self.progress = problem, trials, budget, progress
        self.t0 = time.monotonic()
        self.cache: dict[tuple, Evaluation] = {}
        self.counts: dict[str, int] = {}
        self.tried = 0
        self.calls = 0
        self.evals: list[Evaluation] = []
        self.first_violation: Evaluation | None = None
        self.found_at: int | None = None
        self.cap: int | None = None       # per-phase limit on `tried`
        self.optimized: set = set()       # configurations already used as optimization starts

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def exhausted(self) -> str | None:
        if self.trials is not None and self.tried >= self.trials:
            return "trials"
        if self.budget is not None and self.elapsed() >= self.budget:
            return "budget"
        if self.cap is not None and self.tried >= self.cap:
            return "phase"
        if self.trials is not None and self.calls >= 50 * self.trials:
            return "trials"           # assumptions exclude nearly everything: do not loop for ever
        if self.calls >= _HOPELESS and not any(self.counts.get(k, 0) for k in _NEAR):
            return "no evidence"      # everything drawn so far is excluded / not evaluable / vacuous
        return None

    def evaluate(self, cfg: Configuration) -> Evaluation:
        key = cfg.key()
        if key in self.cache:
            return self.cache[key]
        if self.exhausted():
            raise _Stop()
        self.calls += 1
        ev = evaluate(self.problem, cfg)
        self.cache[key] = ev
        self.counts[ev.status] = self.counts.get(ev.status, 0) + 1
        if ev.status != "excluded":
            self.tried += 1
            self.evals.append(ev)
            if self.progress is not None:
                self.progress.update(1)
        if ev.violated and self.first_violation is None:
            self.first_violation, self.found_at = ev, self.tried
        return ev


def domain_from_assumptions(problem: Problem) -> Domain:
    """Narrow the drawn ranges with assumptions of the form ``name OP constant`` (N, d, L, n) and ``N <= d``.

    Every assumption is still checked on every configuration; this only avoids drawing excluded ones.
    """

    return _domain(problem)[0]


def _domain(problem: Problem) -> tuple[Domain, str | None]:
    """:func:`domain_from_assumptions` and, when a simple assumption leaves no value of N, d, L or n (e.g.
    ``N < 0``) or is constantly false, the reason why no configuration can satisfy the assumptions."""
    import sympy as sp

    empty = None
    rng = {"N": [1, 10], "d": [1, 10], "L": [1, 4], "n": [16, 256]}
    admissible = {k: (1, math.inf) for k in rng}      # what the assumptions allow at all (integers >= 1)
    n_le_d = n_lt_d = False
    for a in problem.assumptions:
        e = a.expr
        if e in (sp.false, False):
            empty = empty or f"assumption {a.text!r} is always false"
        rels = list(e.args) if isinstance(e, sp.And) else [e]
        for r in rels:
            if not isinstance(r, (sp.Eq, sp.Le, sp.Lt, sp.Ge, sp.Gt)):
                continue
            lhs, rhs, op = r.lhs, r.rhs, type(r)
            if rhs.is_Symbol and lhs.is_number:
                lhs, rhs = rhs, lhs
                op = {sp.Le: sp.Ge, sp.Lt: sp.Gt, sp.Ge: sp.Le, sp.Gt: sp.Lt, sp.Eq: sp.Eq}[op]
            names = {str(lhs), str(rhs)}
            if names == {"N", "d"}:
                sym_first = str(lhs) == "N"
                if (op in (sp.Le,) and sym_first) or (op is sp.Ge and not sym_first):
                    n_le_d = True
                if (op in (sp.Lt,) and sym_first) or (op is sp.Gt and not sym_first):
                    n_lt_d = True
                continue
            if not (lhs.is_Symbol and str(lhs) in rng and rhs.is_number):
                continue
            v = float(rhs)
            tl, th = admissible[str(lhs)]
            if op is sp.Eq:
                tl, th = (max(tl, v), min(th, v)) if v == int(v) else (1, 0)
            elif op in (sp.Le, sp.Lt):
                th = min(th, math.floor(v) if op is sp.Le else math.ceil(v) - 1)
            else:
                tl = max(tl, math.ceil(v) if op is sp.Ge else math.floor(v) + 1)
            admissible[str(lhs)] = (tl, th)
            if tl > th:
                empty = empty or f"no integer {lhs} >= 1 satisfies the assumptions (e.g. {a.text!r})"
            lo, hi = rng[str(lhs)]
            if op is sp.Eq:
                lo = hi = int(round(v))
            elif op is sp.Le:
                hi = min(hi, math.floor(v))
            elif op is sp.Lt:
                hi = min(hi, math.ceil(v) - 1)
            elif op is sp.Ge:
                lo = max(lo, math.ceil(v))
            elif op is sp.Gt:
                lo = max(lo, math.floor(v) + 1)
            if str(lhs) == "n" or (str(lhs) in ("N", "d") and hi < lo):
                hi = max(hi, lo)
            rng[str(lhs)] = [lo, max(lo, hi)]
    return Domain(N=tuple(rng["N"]), d=tuple(rng["d"]), L=tuple(rng["L"]), n=tuple(rng["n"]), N_le_d=n_le_d,
                  N_lt_d=n_lt_d, unit_norm=problem.unit_norm,
                  activations=problem.activations or EXPLORED_ACTIVATIONS), empty


def _explore(problem: Problem, tracker: _Tracker, domain: Domain, n_examples: int, seed: int) -> None:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    strategy = configurations_strategy(problem.space, domain, problem.quantity, problem.uses_width)

    def condition(c: dict) -> bool:
        if tracker.first_violation is not None:
            return True
        cfg = Configuration(c["spec"], c["X"], c["width"], origin="exploration")
        try:
            return tracker.evaluate(cfg).violated
        except _Stop:
            raise

    st = settings(max_examples=max(1, n_examples), database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=False)
    try:
        find(strategy, condition, settings=st, random=random.Random(seed))
    except (NoSuchExample, _Stop):
        pass
    except Exception as exc:  # hypothesis wraps an exception raised in the condition when replaying
        if not (isinstance(exc.__cause__, _Stop) or isinstance(exc.__context__, _Stop) or "_Stop" in repr(exc)):
            raise


def _tangent_directions(X: np.ndarray, k: int, rng: np.random.Generator, unit_norm: bool) -> np.ndarray:
    """k random unit directions (k, N, d) of data moves, projected on the tangent space of each row's sphere."""
    V = rng.standard_normal((k,) + X.shape)
    if unit_norm:
        V -= np.sum(V * X[None], axis=2, keepdims=True) * X[None]
    nrm = np.linalg.norm(V.reshape(k, -1), axis=1).reshape(k, 1, 1)
    return V / np.where(nrm > 0, nrm, 1.0)


def _move(base: Configuration, X0: np.ndarray, V: np.ndarray, theta: np.ndarray, problem: Problem,
          free_sigma: bool, sw0: float, sb0: float) -> Configuration:
    """X = X0 + Σ θ_i V_i, rows renormalised to the sphere (the retraction); then σ_w², σ_b² (log / square root)."""
    k = V.shape[0]
    Y = X0 + np.tensordot(theta[:k], V, axes=1)
    if problem.unit_norm:
        nrm = np.linalg.norm(Y, axis=1, keepdims=True)
        Y = Y / np.where(nrm > 0, nrm, 1.0)
    spec = base.spec
    if free_sigma:
        sw = float(np.clip(sw0 * math.exp(theta[k]), 0.05, 20.0))
        sb = float(np.clip((math.sqrt(sb0) + theta[k + 1]) ** 2, 0.0, 4.0))
        spec = spec.with_(sigma_w2=sw, sigma_b2=sb, name=spec.name, note=spec.note)
    return Configuration(spec, Y, base.width, origin="optimization")


def _optimize(problem: Problem, tracker: _Tracker, start: Evaluation, max_evals: int, seed: int = 0,
              k: int = 6, rounds: int = 4) -> None:
    """Minimize the relative slack from ``start`` (module docstring); raises _Found on a certified violation.

    Each of ``rounds`` rounds runs Nelder–Mead (derivative-free: λ_min is not differentiable where eigenvalues
    cross) over k random tangent-space directions of the data plus log σ_w² and √σ_b², from the best point so
    far; a new round draws new directions.  The random directions come from ``seed``: reproducible.
    """
    from scipy.optimize import minimize

    base = start.config
    free_sigma = problem.quantity != "convergence_rate"
    rng = np.random.default_rng(seed)
    cap = tracker.tried + max_evals
    best = [start.rel_slack, base.X.copy(), base.spec.sigma_w2, base.spec.sigma_b2]
    kk = max(1, min(k, base.X.size))

    for _ in range(rounds):
        X0, sw0, sb0 = best[1], best[2], best[3]
        V = _tangent_directions(X0, kk, rng, problem.unit_norm)

        def f(theta: np.ndarray) -> float:
            if tracker.tried >= cap:
                raise _Stop()
            try:
                cfg = _move(base, X0, V, theta, problem, free_sigma, sw0, sb0)
            except NtkcheckError:
                return 2.0
            X = cfg.X
            if X.shape[0] > 1:
                D = np.linalg.norm(X[:, None] - X[None], axis=-1)
                np.fill_diagonal(D, np.inf)
                if np.min(D) < 1e-9:
                    return 2.0
            ev = tracker.evaluate(cfg)
            if ev.violated:
                raise _Found(ev)
            r = ev.rel_slack
            val = float(r) if ev.status in _NEAR and math.isfinite(r) else 2.0
            if val < best[0]:
                best[:] = [val, cfg.X.copy(), cfg.spec.sigma_w2, cfg.spec.sigma_b2]
            return val

        dim = kk + (2 if free_sigma else 0)
        simplex = np.vstack([np.zeros(dim), 0.3 * np.eye(dim)])
        try:
            minimize(f, np.zeros(dim), method="Nelder-Mead",
                     options={"initial_simplex": simplex, "maxfev": max(dim + 2, max_evals // rounds),
                              "xatol": 1e-6, "fatol": 1e-9})
        except _Stop:
            return


def precheck(problem: Problem) -> tuple[str, str] | None:
    """Decide without searching when no configuration can give evidence: ``(status, reason)`` or None.

    A relation used as a bound (``N > 2``) and a constant that is not a real number (``0/0``, ``log(-1)``) are
    ``not_evaluable`` everywhere; a constant lower bound ≤ 0 (or upper bound +∞) is ``vacuous`` everywhere;
    assumptions that no N, d, L, n ≥ 1 satisfy (``N < 0``) exclude everything.
    """
    from .vocabulary import BoundExpr

    b = problem.bound
    if isinstance(b, BoundExpr):
        if b.is_relation:
            return "not_evaluable", (f"the bound {b.text!r} is a relation (true/false), not a number: "
                                     "it is not evaluable on any configuration")
        if b.is_constant:
            try:
                v = complex(b.expr.evalf(17))
            except (TypeError, ValueError):
                v = complex("nan")
            if v.imag != 0 or math.isnan(v.real) or (math.isinf(v.real) and not (
                    (v.real > 0) == (problem.direction == "upper"))):
                return "not_evaluable", (f"the bound {b.text!r} is the constant {b.expr}, not a real number: "
                                         "it is not evaluable on any configuration")
            if (problem.direction == "lower" and v.real <= 0) or (problem.direction == "upper" and v.real == math.inf):
                return "vacuous", (f"the constant {problem.direction} bound {b.text!r} is vacuous on every "
                                   "configuration (a lower bound <= 0 says nothing about an eigenvalue)")
    empty = _domain(problem)[1]
    if empty:
        return "excluded", f"the assumptions exclude every configuration: {empty}"
    return None


def use_cache_for_hypothesis() -> None:
    """Point hypothesis' storage (its example database and constants cache) at the ntkcheck cache directory
    ($NTKCHECK_CACHE, default ~/.cache/ntkcheck), so that nothing is written to the user's working directory.
    A directory the user chose (HYPOTHESIS_STORAGE_DIRECTORY) is kept."""
    import os

    from hypothesis.configuration import set_hypothesis_home_dir

    from ntkcheck.io import cache_dir

    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        set_hypothesis_home_dir(cache_dir() / "hypothesis")


def _undecided_reason(counts: dict, evidence: int, min_evidence: int, tried: int, calls: int) -> str:
    if calls == 0:
        return "nothing was evaluated (budget too small)"
    if tried == 0:
        return f"the assumptions exclude every configuration drawn ({calls} drawn)"
    parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in ("not_evaluable", "vacuous", "degenerate", "excluded")
             if counts.get(k)]
    if evidence == 0 and counts.get("not_evaluable", 0) == tried:
        what = f"the bound is not evaluable on any of the {tried} configurations"
    elif evidence == 0 and counts.get("vacuous", 0) + counts.get("degenerate", 0) + counts.get("not_evaluable", 0) == tried:
        what = f"the bound is vacuous (or not evaluable) on all {tried} configurations"
    else:
        what = f"only {evidence} evaluated, non-vacuous configuration(s), fewer than the required {min_evidence}"
    return what + (f" ({', '.join(parts)})" if parts else "")


def search(problem: Problem, *, trials: int | None = 200, budget: float | None = None, seed: int = 0,
           top_k: int = 3, shrink: bool = True, quiet: bool = True, min_evidence: int = MIN_EVIDENCE,
           on_progress: Callable[[str], None] | None = None) -> SearchResult:
    """Search for a certified violation of ``problem`` (module docstring); reproducible for a given seed
    when only ``trials`` limits it (a time ``budget`` may stop it at a machine-dependent point).

    The verdict is ``holds`` only with at least ``min_evidence`` evaluated, non-vacuous configurations and no
    certified violation; ``undecided`` otherwise (see :class:`SearchResult`)."""
    if isinstance(min_evidence, bool) or not isinstance(min_evidence, int) or min_evidence < 1:
        raise NtkcheckError(f"min_evidence must be a positive integer, got {min_evidence!r}")
    if trials is None and budget is None:
        raise NtkcheckError("give a trial budget, a time budget, or both")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise NtkcheckError(f"trials must be a positive integer, got {trials!r}")
    if budget is not None and not (budget > 0 and math.isfinite(budget)):
        raise NtkcheckError(f"budget must be a positive number of seconds, got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NtkcheckError(f"seed must be an integer, got {seed!r}")
    pre = precheck(problem)
    if pre is not None:
        status, reason = pre
        return SearchResult(problem=problem, verdict="undecided", tried=0, counts={status: 0},
                            min_slack=float("nan"), min_slack_eval=None, tightest=None, counterexample=None,
                            found=None, seed=seed, trials=trials, budget=budget, stopped_by="precheck",
                            evidence=0, min_evidence=min_evidence, reason=reason)
    use_cache_for_hypothesis()
    from tqdm import tqdm

    bar = tqdm(total=trials, desc="bound search", unit="config", disable=quiet, leave=False)
    # the time budget covers everything: 85 % for the search, the rest (at least) for shrinking
    search_budget = None if budget is None else SEARCH_SHARE * budget
    tracker = _Tracker(problem, trials, search_budget, bar)
    domain = domain_from_assumptions(problem)
    found_in = None
    for rnd in range(1000):
        # one round: explore (≈ 60 % of what is left), then optimize the top_k; repeat while budget remains
        left = (trials - tracker.tried) if trials is not None else None
        before = tracker.tried
        tracker.cap = tracker.tried + max(1, int(0.6 * left)) if left is not None else None
        tracker.budget = (tracker.elapsed() + 0.5 * (search_budget - tracker.elapsed())
                          if search_budget is not None else None)
        # hypothesis repeats its simplest examples in every round (cached, not counted): allow it 10× more
        # draws than new configurations; tracker.cap stops it at the round's share
        _explore(problem, tracker, domain, 10 * (tracker.cap - tracker.tried) + 20 if left is not None else 10**6,
                 seed + 7919 * rnd)
        tracker.cap, tracker.budget = None, search_budget
        if tracker.first_violation is not None:
            found_in = "exploration"
            break
        cands = sorted((e for e in tracker.evals if e.status in _NEAR
                        and math.isfinite(e.rel_slack) and e.config.origin == "exploration"
                        and e.config.key() not in tracker.optimized), key=lambda e: e.rel_slack)[:top_k]
        for i, c in enumerate(cands):
            if tracker.exhausted():
                break
            tracker.optimized.add(c.config.key())
            left = (trials - tracker.tried) if trials is not None else 10**6
            per = max(10, left // (2 * (len(cands) - i)))
            try:
                _optimize(problem, tracker, c, per, seed=seed + 104729 * rnd + i)
            except _Found:
                found_in = "optimization"
                break
            except _Stop:
                break
        if found_in is not None or tracker.exhausted() or tracker.tried == before:
            break
    stopped_by = "violation" if tracker.first_violation is not None else (tracker.exhausted() or "exhausted")
    bar.close()
    found = tracker.first_violation
    shrunk, log = found, ()
    if found is not None and shrink:
        from .shrink import shrink_counterexample
        shrunk, log = shrink_counterexample(problem, found,
                                            deadline=None if budget is None else tracker.t0 + budget)
    reason = ""
    if shrunk is not None and not _inside(problem, shrunk):
        shrunk, log = found, list(log) + ["shrunk example left the space or the assumptions: reporting the "
                                          "example as found"]
    if found is not None and not _inside(problem, found):
        # never report a counterexample to a claim the user did not make (cannot happen with the built-in
        # strategies; kept as the last line of defence)
        reason = "a violation was found outside the requested space or assumptions and is not reported"
        found = shrunk = None
        log = ()
    evidence = sum(tracker.counts.get(k, 0) for k in _NEAR)
    ok = [e for e in tracker.evals if e.status in _NEAR and math.isfinite(e.slack)]
    mins = min(ok + [e for e in (found, shrunk) if e is not None], key=lambda e: e.slack, default=None)
    tight = min(ok, key=lambda e: e.rel_slack if math.isfinite(e.rel_slack) else math.inf, default=None)
    ratios = tuple(float(e.ratio) for e in tracker.evals
                   if e.status in _NEAR + ("violated",) and math.isfinite(e.ratio))
    if found is not None:
        verdict = "violated"
    elif evidence >= min_evidence:
        verdict = "holds"
    else:
        verdict = "undecided"
        reason = "; ".join(r for r in (reason, _undecided_reason(tracker.counts, evidence, min_evidence,
                                                                 tracker.tried, tracker.calls)) if r)
    return SearchResult(problem=problem, verdict=verdict,
                        tried=tracker.tried, counts=dict(tracker.counts),
                        min_slack=float(mins.slack) if mins is not None else float("nan"), min_slack_eval=mins,
                        tightest=tight, counterexample=shrunk, found=found, found_at=tracker.found_at,
                        found_in=found_in, ratios=ratios, shrink_log=tuple(log), seed=seed, trials=trials,
                        budget=budget, elapsed=tracker.elapsed(), stopped_by=stopped_by, evidence=evidence,
                        min_evidence=min_evidence, reason=reason)


def _inside(problem: Problem, ev: Evaluation) -> bool:
    """Membership re-check before a counterexample is reported: its architecture is in the searched space and
    its evaluation (which checks every assumption first) certifies the violation."""
    from .space import member, space_of

    # ev comes from `evaluate`, which returns "violated" only when every assumption holds
    return ev.violated and member(ev.config.spec, space_of(problem.space, problem.quantity))
