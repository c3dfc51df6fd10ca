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
    """Outcome of :func:`search` (see the module docstring); ``verdict`` is ``violated`` or ``holds``."""

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

    def to_json(self) -> dict[str, Any]:
        ce = self.counterexample
        return {"verdict": self.verdict, "tried": self.tried, "min_slack": self.min_slack,
                "counterexample": None if ce is None else ce.to_json(),
                "found_at": self.found_at, "found_in": self.found_in,
                "found_before_shrinking": None if self.found is None else self.found.to_json(),
                "tightest": None if self.tightest is None else self.tightest.to_json(),
                "counts": dict(self.counts), "shrink_log": list(self.shrink_log), "seed": self.seed,
                "trials": self.trials, "budget_s": self.budget, "elapsed_s": self.elapsed,
                "stopped_by": self.stopped_by, "problem": self.problem.to_json()}


#: Statuses of configurations where the bound holds (or nearly): optimization starts and the slack statistics.
_NEAR = ("holds", "within_tolerance", "not_significant")


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
    import sympy as sp

    rng = {"N": [1, 10], "d": [1, 10], "L": [1, 4], "n": [16, 256]}
    n_le_d = n_lt_d = False
    for a in problem.assumptions:
        e = a.expr
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
                  activations=problem.activations or EXPLORED_ACTIVATIONS)


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


def search(problem: Problem, *, trials: int | None = 200, budget: float | None = None, seed: int = 0,
           top_k: int = 3, shrink: bool = True, quiet: bool = True,
           on_progress: Callable[[str], None] | None = None) -> SearchResult:
    """Search for a certified violation of ``problem`` (module docstring); reproducible for a given seed
    when only ``trials`` limits it (a time ``budget`` may stop it at a machine-dependent point)."""
    if trials is None and budget is None:
        raise NtkcheckError("give a trial budget, a time budget, or both")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise NtkcheckError(f"trials must be a positive integer, got {trials!r}")
    if budget is not None and not (budget > 0 and math.isfinite(budget)):
        raise NtkcheckError(f"budget must be a positive number of seconds, got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NtkcheckError(f"seed must be an integer, got {seed!r}")
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
    ok = [e for e in tracker.evals if e.status in _NEAR and math.isfinite(e.slack)]
    mins = min(ok + [e for e in (found, shrunk) if e is not None], key=lambda e: e.slack, default=None)
    tight = min(ok, key=lambda e: e.rel_slack if math.isfinite(e.rel_slack) else math.inf, default=None)
    ratios = tuple(float(e.ratio) for e in tracker.evals
                   if e.status in _NEAR + ("violated",) and math.isfinite(e.ratio))
    return SearchResult(problem=problem, verdict="violated" if found is not None else "holds",
                        tried=tracker.tried, counts=dict(tracker.counts),
                        min_slack=float(mins.slack) if mins is not None else float("nan"), min_slack_eval=mins,
                        tightest=tight, counterexample=shrunk, found=found, found_at=tracker.found_at,
                        found_in=found_in, ratios=ratios, shrink_log=tuple(log), seed=seed, trials=trials,
                        budget=budget, elapsed=tracker.elapsed(), stopped_by=stopped_by)
