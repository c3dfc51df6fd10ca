r"""A bound-checking problem, one configuration of the search space, and the certified evaluation of one
against the other (pure functions of frozen records).

Slack convention: ``slack`` is the margin by which the bound holds on a configuration,

* lower bound B ≤ Q:  slack = Q − B;
* upper bound Q ≤ B:  slack = B − Q;

so the bound holds iff slack ≥ 0, and the configuration is a **certified violation** iff slack < −tol with
tol = tol_kernel + tol_bound (:mod:`ntkcheck.bound_check.quantities`).  A lower bound whose value is ≤ 0 is
*vacuous* (engineering.md: reported as vacuous, not passed), as is an upper bound that is +∞.
``ratio`` = B/Q is the tightness (≤ 1 for a lower bound that holds, ≥ 1 for an upper bound that holds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import ArchSpec

from .quantities import (QuantityValue, check_quantity_name, compute_quantity, kernel_name_of, quad_rtol,
                         statistical_violation)
from .vocabulary import (BoundContext, BoundExpr, evaluate_assumption, evaluate_bound, parse_assumption,
                         parse_bound)

__all__ = ["SPACES", "Problem", "Configuration", "Evaluation", "make_problem", "evaluate", "make_context"]

SPACES = ("fc", "residual", "dag", "nb201", "all")


@dataclass(frozen=True)
class Problem:
    """What is checked: quantity, direction, bound, assumptions, search space and the fixed settings."""

    quantity: str
    direction: str                      # "lower" or "upper"
    bound: BoundExpr | Callable[[BoundContext], float] = field(compare=False)
    assumptions: tuple[BoundExpr, ...] = ()
    space: str = "all"
    unit_norm: bool = True
    seeds: int = 8                      # networks per configuration (empirical quantity)
    eta: float | None = None            # learning rate (convergence_rate)
    activations: tuple[str, ...] | None = None   # activations the search draws (None: the default set)

    @property
    def bound_text(self) -> str:
        b = self.bound
        return b.text if isinstance(b, BoundExpr) else getattr(b, "__name__", repr(b))

    @property
    def uses_width(self) -> bool:
        if self.quantity == "empirical_ntk_lambda_min":
            return True
        return any("n" in a.symbols for a in self.assumptions) or (
            isinstance(self.bound, BoundExpr) and "n" in self.bound.symbols)

    def describe(self) -> str:
        rel = "≥" if self.direction == "lower" else "≤"
        s = f"{self.quantity} {rel} {self.bound_text}"
        if self.assumptions:
            s += "  assuming " + ", ".join(a.text for a in self.assumptions)
        return s

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "direction": self.direction, "bound": self.bound_text,
                "assumptions": [a.text for a in self.assumptions], "space": self.space,
                "unit_norm": self.unit_norm, "seeds": self.seeds, "eta": self.eta,
                "activations": list(self.activations) if self.activations else None}


def make_problem(quantity: str, *, lower: Any = None, upper: Any = None, assume: Any = (), space: str = "all",
                 unit_norm: bool = True, seeds: int = 8, eta: float | None = None,
                 activations: Any = None) -> Problem:
    """Validate and build a :class:`Problem` (bad input raises :class:`NtkcheckError`)."""
    check_quantity_name(quantity)
    if (lower is None) == (upper is None):
        raise NtkcheckError("give exactly one of a lower or an upper bound")
    direction = "lower" if lower is not None else "upper"
    raw = lower if lower is not None else upper
    bound = raw if (callable(raw) and not isinstance(raw, (str, BoundExpr))) else parse_bound(raw)
    if isinstance(assume, (str, BoundExpr)):
        assume = [assume]
    assumptions = tuple(parse_assumption(a) for a in assume)
    if space not in SPACES:
        raise NtkcheckError(f"unknown space {space!r}; known: {', '.join(SPACES)}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise NtkcheckError(f"seeds must be a positive integer, got {seeds!r}")
    if quantity == "convergence_rate":
        eta = 1.0 if eta is None else float(eta)
        if not (eta > 0 and math.isfinite(eta)):
            raise NtkcheckError(f"eta must be > 0, got {eta}")
    elif isinstance(bound, BoundExpr) and "eta" in bound.symbols:
        raise NtkcheckError("the name 'eta' is defined only for the convergence_rate quantity")
    if quantity != "empirical_ntk_lambda_min":
        for b in ((bound,) if isinstance(bound, BoundExpr) else ()) + assumptions:
            if "n" in b.symbols:
                raise NtkcheckError(f"the name 'n' (width) is defined only for empirical_ntk_lambda_min ({b.text!r})")
    if activations is not None:
        from ntkcheck.theory.activations import get_activation

        if isinstance(activations, str):
            activations = [a for a in activations.split(",") if a.strip()]
        activations = tuple(get_activation(a.strip()).name for a in activations)
        if not activations:
            raise NtkcheckError("activations: give at least one activation name")
    return Problem(quantity, direction, bound, assumptions, space, bool(unit_norm), seeds, eta, activations)


@dataclass(frozen=True)
class Configuration:
    """One point of the search space: an architecture, the data and (empirical quantity) a width."""

    spec: ArchSpec
    X: np.ndarray = field(repr=False, compare=False)
    width: int | None = None
    origin: str = ""                    # how it was produced (strategy / optimizer / shrink), for the report

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec.to_json(), "N": int(self.X.shape[0]), "d": int(self.X.shape[1]),
                "width": self.width, "origin": self.origin}

    def key(self) -> tuple:
        return (str(self.spec.to_json()), self.X.shape, self.X.tobytes(), self.width)


@dataclass(frozen=True)
class Evaluation:
    """The certified comparison of the bound with the quantity on one configuration.

    status: ``holds`` | ``violated`` (certified) | ``within_tolerance`` (a negative slack no larger than tol) |
    ``vacuous`` | ``not_evaluable`` (NaN bound or undefined name) | ``excluded`` (an assumption fails) |
    ``degenerate`` (no input→output path: never a counterexample) | ``not_significant``
    (empirical quantity: some seeds violate, but the binomial test does not reject P(violation) ≤ δ).
    """

    config: Configuration
    status: str
    bound_value: float = float("nan")
    quantity_value: float = float("nan")
    slack: float = float("nan")
    tol: float = float("nan")
    quantity: QuantityValue | None = field(default=None, compare=False)
    p_value: float | None = None
    n_violating_seeds: int | None = None
    note: str = ""

    @property
    def violated(self) -> bool:
        return self.status == "violated"

    @property
    def ratio(self) -> float:
        if not (math.isfinite(self.bound_value) and math.isfinite(self.quantity_value)) or self.quantity_value == 0:
            return float("nan")
        return self.bound_value / self.quantity_value

    @property
    def rel_slack(self) -> float:
        """slack / (|B| + |Q|): the scale-free objective of the local optimization."""
        den = abs(self.bound_value) + abs(self.quantity_value)
        return self.slack / den if den > 0 and math.isfinite(self.slack) else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "bound": self.bound_value, "quantity": self.quantity_value,
                "slack": self.slack, "tol": self.tol, "ratio": self.ratio, "p_value": self.p_value,
                "n_violating_seeds": self.n_violating_seeds, "note": self.note,
                "eigenvalue_error_bound": None if self.quantity is None else self.quantity.error_bound,
                "config": self.config.to_json()}


def make_context(problem: Problem, config: Configuration, kernel: np.ndarray | None = None) -> BoundContext:
    return BoundContext(spec=config.spec, X=config.X, kernel_name=kernel_name_of(problem.quantity),
                        width=config.width, eta=problem.eta, kernel=kernel, seeds=problem.seeds)


def _slack(direction: str, b: float, qv: float) -> float:
    return qv - b if direction == "lower" else b - qv


def _vacuous(direction: str, b: float) -> bool:
    return (direction == "lower" and b <= 0) or (direction == "upper" and b == math.inf)


def _bound_tol(b: float) -> float:
    return quad_rtol() * max(1.0, abs(b))


def evaluate(problem: Problem, config: Configuration) -> Evaluation:
    """Evaluate the bound and the quantity on one configuration and certify the verdict.

    Pure function of (problem, config).  An assumption that fails gives ``excluded``; a bound that cannot be
    evaluated (NaN, an index out of range) gives ``not_evaluable`` — neither is ever a violation.
    """
    ctx = make_context(problem, config)
    try:
        for a in problem.assumptions:
            if not evaluate_assumption(a, ctx):
                return Evaluation(config, "excluded", note=f"assumption {a.text} fails")
    except NtkcheckError as exc:
        return Evaluation(config, "excluded", note=str(exc))
    if config.spec.is_degenerate:
        #: a cell with no input→output path has zero kernels, reported as degenerate
        return Evaluation(config, "degenerate", note="no input→output path: the kernels are identically 0")
    try:
        q = compute_quantity(problem.quantity, ctx, seeds=problem.seeds, eta=problem.eta)
    except NtkcheckError as exc:
        return Evaluation(config, "not_evaluable", note=f"quantity: {exc}")
    if q.per_seed:
        return _evaluate_empirical(problem, config, q)
    try:
        b = evaluate_bound(problem.bound, ctx)
    except (NtkcheckError, ZeroDivisionError, OverflowError, ValueError, TypeError) as exc:
        return Evaluation(config, "not_evaluable", quantity_value=q.value, quantity=q, note=f"bound: {exc}")
    if not math.isfinite(b) and not (b == math.inf and problem.direction == "upper") and not (
            b == -math.inf and problem.direction == "lower"):
        return Evaluation(config, "not_evaluable", b, q.value, quantity=q, note="bound is not a real number")
    tol = q.tol_kernel + (_bound_tol(b) + ctx.names_tol if math.isfinite(b) else 0.0)
    slack = _slack(problem.direction, b, q.value)
    if _vacuous(problem.direction, b):
        status = "vacuous"
    elif slack >= 0:
        status = "holds"
    elif slack < -tol:
        status = "violated"
    else:
        status = "within_tolerance"
    return Evaluation(config, status, b, q.value, slack, tol, quantity=q)


def _evaluate_empirical(problem: Problem, config: Configuration, q: QuantityValue) -> Evaluation:
    """Per seed: the bound on that network's context (its own Θ̂ for trace/diag_*), a certified per-seed
    violation when slack < −(eig error + bound tolerance); then the binomial test over seeds."""
    kernels = q.extra["kernels"]
    n_bad, slacks, bvals = 0, [], []
    for seed, lam, err in q.per_seed:
        ctx = make_context(problem, config, kernel=kernels[seed])
        try:
            b = evaluate_bound(problem.bound, ctx)
        except (NtkcheckError, ZeroDivisionError, OverflowError, ValueError, TypeError) as exc:
            return Evaluation(config, "not_evaluable", quantity_value=q.value, quantity=q, note=f"bound: {exc}")
        if math.isnan(b):
            return Evaluation(config, "not_evaluable", b, q.value, quantity=q, note="bound is not a real number")
        s = _slack(problem.direction, b, lam)
        tol = err + (_bound_tol(b) + ctx.names_tol if math.isfinite(b) else 0.0)
        n_bad += s < -tol
        slacks.append(s)
        bvals.append(b)
    rejected, p = statistical_violation(n_bad, len(q.per_seed))
    b_med, s_med = float(np.median(bvals)), float(np.median(slacks))
    tol = float(q.tol_kernel + _bound_tol(b_med))
    if _vacuous(problem.direction, b_med):
        status = "vacuous"
    elif rejected:
        status = "violated"
    elif n_bad > 0:
        status = "not_significant"     # some seeds violate, but not significantly more often than δ
    else:
        status = "holds" if s_med >= 0 else "within_tolerance"
    note = f"{n_bad}/{len(q.per_seed)} seeds violate; binomial test of P(violation) ≤ δ: p = {p:.3g}"
    return Evaluation(config, status, b_med, q.value, s_med, tol, quantity=q, p_value=p,
                      n_violating_seeds=int(n_bad), note=note)
