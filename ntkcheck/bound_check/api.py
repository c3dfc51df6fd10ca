r"""Library use of the bound checker: :func:`check_bound`, the pytest helper :func:`assert_bound_holds`, and
the hypothesis strategies (re-exported from :mod:`ntkcheck.bound_check.strategies`).

Example (in a user's test suite)::

    from ntkcheck.bound_check import assert_bound_holds

    def test_single_term_lower_bound():
        assert_bound_holds("ntk_lambda_min",
                           lower="sigma_w2*2*mu(1)**2*(sigma_w2/(d*q(1)))*lam_min_hadamard(1)",
                           assume=["L == 1"], space="fc", trials=60, seed=0)

A bound may also be a Python function of a :class:`~ntkcheck.bound_check.vocabulary.BoundContext`
(``lower=lambda ctx: 2 * ctx.mu(1) ** 2 * ctx.lam_min_hadamard(1) * ctx.sigma_w2``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .problem import make_problem
from .search import MIN_EVIDENCE, SearchResult, search
from .strategies import (architectures, chen_dag_specs, dag_specs, datasets, fc_specs, nb201_specs,
                         residual_specs)

__all__ = ["check_bound", "assert_bound_holds", "describe_counterexample", "architectures", "datasets", "fc_specs", "residual_specs",
           "nb201_specs", "dag_specs", "chen_dag_specs"]


def check_bound(quantity: str, *, lower: Any = None, upper: Any = None, assume: Iterable[Any] | str = (),
                space: str = "all", trials: int | None = 200, budget: float | None = None, seed: int = 0,
                unit_norm: bool = True, seeds: int = 8, eta: float | None = None,
                activations: Iterable[str] | str | None = None, top_k: int = 3,
                shrink: bool = True, out: str | Path | None = None, quiet: bool = True,
                min_evidence: int = MIN_EVIDENCE) -> SearchResult:
    """Search for a certified violation of ``quantity ≥ lower`` or ``quantity ≤ upper``.

    ``lower``/``upper``: a sympy expression (string) over the vocabulary, or a function of the context.
    ``assume``: relations restricting the search (``"N <= d"``, ``"L == 1"``, ``"n >= 4*N"``).
    ``trials``/``budget``: number of configurations / seconds; with only ``trials`` the run is reproducible.
    ``activations``: the activations the search draws (default: strategies.EXPLORED_ACTIVATIONS).
    ``out``: directory for the report (spec.json, X.npy, report.md/.json/.png/.pdf).
    ``min_evidence``: evaluated, non-vacuous configurations needed for the verdict ``holds`` (else
    ``undecided``, with ``result.reason``).
    Bad input raises :class:`~ntkcheck.errors.NtkcheckError`.
    """
    problem = make_problem(quantity, lower=lower, upper=upper, assume=assume, space=space, unit_norm=unit_norm,
                           seeds=seeds, eta=eta, activations=activations)
    result = search(problem, trials=trials, budget=budget, seed=seed, top_k=top_k, shrink=shrink, quiet=quiet,
                    min_evidence=min_evidence)
    if out is not None:
        from .report import write_report
        write_report(result, out)
    return result


def describe_counterexample(result: SearchResult) -> str:
    ce = result.counterexample
    if ce is None:
        return "no counterexample"
    import json

    c = ce.config
    return (f"certified violation of {result.problem.describe()}: bound {ce.bound_value:.6g} vs "
            f"{result.problem.quantity} {ce.quantity_value:.6g} (slack {ce.slack:.3g}, tolerance {ce.tol:.2g}) "
            f"with N={c.X.shape[0]}, d={c.X.shape[1]}" + (f", width {c.width}" if c.width else "")
            + f"; found at trial {result.found_at}; spec and data (JSON): "
            + json.dumps({"spec": c.spec.to_json(), "X": c.X.tolist()}))


def assert_bound_holds(quantity: str, **kw: Any) -> SearchResult:
    """pytest helper: run :func:`check_bound` and raise ``AssertionError`` naming the shrunk counterexample
    when a certified violation is found, or the reason when the verdict is ``undecided`` (too little
    evidence is not a pass).  Returns the result otherwise (for further assertions)."""
    result = check_bound(quantity, **kw)
    if result.verdict == "violated":
        raise AssertionError(describe_counterexample(result))
    if result.verdict != "holds":
        raise AssertionError(f"{result.problem.describe()}: undecided: {result.reason}")
    return result
