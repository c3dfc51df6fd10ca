"""``ntkcheck bound``: search for a certified counterexample to an eigenvalue bound (issues 9, 15).

Exit status: 0 the bound holds on at least the stated minimum of evaluated, non-vacuous configurations;
1 a certified (shrunk) counterexample inside the requested space and assumptions; 2 bad input; 3 undecided
(not evaluable, all vacuous, assumptions exclude everything, or too few configurations).
"""

from __future__ import annotations

import argparse

from ntkcheck.cli import nonneg_int, positive_float, positive_int

#: Seconds searched when neither --trials nor --budget is given: with start-up and writing the report a
#: default run stays under a minute.
DEFAULT_BUDGET = 50.0

HELP = "search architectures and data for a certified counterexample to an NTK/NNGP eigenvalue bound"


def _description() -> str:
    from ntkcheck.bound_check.quantities import QUANTITIES
    from ntkcheck.bound_check.vocabulary import vocabulary_help

    qs = "\n".join(f"  {k:26s} {v}" for k, v in QUANTITIES.items())
    return (HELP + ".\n\nQuantities (--quantity):\n" + qs +
            "\n\nVocabulary of EXPR (ntkcheck/bound_check/README.md), plus sympy's functions and constants "
            "(sqrt, log, exp, pi, Min, Max, Abs, Sum((r+1)*mu(r)**2*lam_min_hadamard(r), (r, 0, 4)), ...):\n"
            + vocabulary_help() +
            "\n\nThe search draws unit-norm, pairwise distinct rows unless --free-norm. A violation is certified only "
            "when it exceeds the eigenvalue error bound plus the quadrature tolerance; a shrunk counterexample "
            "stays in --space and satisfies every --assume.\n"
            "Verdicts and exit status: holds (0) = no certified violation on at least --min-configs evaluated, "
            "non-vacuous configurations (the count is printed); violated (1) = certified counterexample "
            "(written to --out; without --out its spec and data are printed as JSON); bad input (2); undecided (3) = fewer such configurations, with the reason "
            "(bound not evaluable, e.g. '0/0' or a relation 'N > 2'; every configuration vacuous, e.g. "
            "--lower 0; assumptions exclude everything, e.g. 'N < 0'; too few trials).\n"
            "True example (exit 0):  ntkcheck bound --quantity ntk_lambda_min --lower nngp_lambda_min "
            "--trials 40   (Θ = K + a PSD matrix)\n"
            "False example (exit 1): ntkcheck bound --quantity ntk_lambda_min --upper nngp_lambda_min "
            "--space nb201 --trials 40   (the reverse relation; the counterexample is an NB201 cell)")


DESCRIPTION = None  # built lazily in add_arguments (keeps `ntkcheck --help` import-light)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ntkcheck.bound_check.search import MIN_EVIDENCE

    p.description = _description()
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--quantity", required=True, metavar="Q", help="the bounded quantity (see the list above)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--lower", metavar="EXPR", help="claimed lower bound: Q >= EXPR")
    g.add_argument("--upper", metavar="EXPR", help="claimed upper bound: Q <= EXPR")
    p.add_argument("--assume", metavar="EXPR", action="append", default=[],
                   help="assumption restricting the search, e.g. 'N <= d', 'L == 1', 'n >= 4*N' (repeatable)")
    p.add_argument("--space", default="all", choices=("fc", "residual", "dag", "nb201", "all"),
                   help="architecture space (default all; convergence_rate always uses Chen et al. DAGs)")
    p.add_argument("--budget", type=positive_float, default=None, metavar="SECONDS",
                   help="time budget in seconds, shrinking included (default 50 when --trials is not given)")
    p.add_argument("--trials", type=positive_int, default=None, metavar="N", help="number of configurations to try")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the search (default 0)")
    p.add_argument("--seeds", type=positive_int, default=8,
                   help="networks per configuration for empirical_ntk_lambda_min and empirical_*(w) names")
    p.add_argument("--eta", type=positive_float, default=None, help="learning rate of convergence_rate (default 1)")
    p.add_argument("--activations", default=None, metavar="A,B,...",
                   help="comma-separated activations the search draws (default: all built-ins but elu)")
    p.add_argument("--free-norm", action="store_true", help="draw data rows of free norm instead of unit norm")
    p.add_argument("--min-configs", type=positive_int, default=MIN_EVIDENCE, metavar="M",
                   help=f"evaluated, non-vacuous configurations needed for 'holds' (default {MIN_EVIDENCE})")
    p.add_argument("--out", default=None, metavar="DIR", help="write spec.json, X.npy, report.md/json/png/pdf here")


def run(args: argparse.Namespace):
    from ntkcheck.bound_check.problem import make_problem
    from ntkcheck.bound_check.search import search

    budget = args.budget if (args.budget is not None or args.trials is not None) else DEFAULT_BUDGET
    problem = make_problem(args.quantity, lower=args.lower, upper=args.upper, assume=args.assume,
                           space=args.space, unit_norm=not args.free_norm, seeds=args.seeds, eta=args.eta,
                           activations=args.activations)
    if args.out:
        from ntkcheck.io import check_writable_dir
        check_writable_dir(args.out)
    result = search(problem, trials=args.trials, budget=budget, seed=args.seed, quiet=args.quiet,
                    min_evidence=args.min_configs)
    command = getattr(args, "command_line", None)
    if args.out:
        from ntkcheck.bound_check.report import write_report
        write_report(result, args.out, command=command)
    ce = result.counterexample
    doc = {"verdict": result.verdict, "tried": result.tried, "evidence": result.evidence,
           "min_evidence": result.min_evidence, "reason": result.reason or None,
           "min_slack": result.min_slack if result.min_slack == result.min_slack else None,
           "counterexample": None if ce is None else {**ce.to_json(), "X": ce.config.X.tolist(),
                                                      "found_at": result.found_at},
           "problem": problem.to_json(), "command_line": command}
    from ntkcheck.bound_check.api import describe_counterexample

    head = f"{problem.describe()}: {result.verdict}"
    if result.verdict == "undecided":
        print(f"{head}: {result.reason}")
    elif result.verdict == "holds":
        print(f"{head} after {result.tried} configurations, {result.evidence} of them evaluated and non-vacuous "
              f"(minimum {result.min_evidence} for 'holds'); {result.elapsed:.1f} s, stopped by {result.stopped_by}; "
              f"smallest slack {result.min_slack:.6g}")
    else:
        print(f"{head}: certified counterexample found at trial {result.found_at} ({result.found_in}), "
              f"{result.elapsed:.1f} s")
    if ce is not None:
        print(describe_counterexample(result))
    if args.out:
        print(f"report written to {args.out}")
    code = {"violated": 1, "holds": 0}.get(result.verdict, 3)
    return code, doc
