"""``ntkcheck bound``: search for a certified counterexample to an eigenvalue bound (issue 9).

Exit status: 0 no certified violation found, 1 a certified (shrunk) counterexample, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

#: Seconds searched when neither --trials nor --budget is given: with start-up and writing the report a
#: default run stays under a minute.
DEFAULT_BUDGET = 50.0

HELP = "search architectures and data for a certified counterexample to an NTK/NNGP eigenvalue bound"


def _description() -> str:
    from ntkcheck.bound_check.quantities import QUANTITIES
    from ntkcheck.bound_check.vocabulary import vocabulary_help

    qs = "\n".join(f"  {k:26s} {v}" for k, v in QUANTITIES.items())
    return (HELP + ".\n\nQuantities (--quantity):\n" + qs +
            "\n\nVocabulary of EXPR (design card §10), plus sympy's functions and constants "
            "(sqrt, log, exp, pi, Min, Max, Abs, Sum((r+1)*mu(r)**2*lam_min_hadamard(r), (r, 0, 4)), ...):\n"
            + vocabulary_help() +
            "\n\nThe search draws unit-norm, pairwise distinct rows unless --free-norm. A violation is certified only "
            "when it exceeds the eigenvalue error bound plus the quadrature tolerance.\n"
            "Exit status: 0 no certified violation, 1 certified counterexample (written to --out), 2 bad input.\n"
            "Example: ntkcheck bound --quantity ntk_lambda_min --assume 'L == 1' --space fc "
            "--lower 'sigma_w2*2*mu(1)**2*lam_min_hadamard(1)*sigma_w2/(d*q(1))'")


DESCRIPTION = None  # built lazily in add_arguments (keeps `ntkcheck --help` import-light)


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="time budget in seconds, shrinking included (default 50 when --trials is not given)")
    p.add_argument("--trials", type=int, default=None, metavar="N", help="number of configurations to try")
    p.add_argument("--seed", type=int, default=0, help="seed of the search (default 0)")
    p.add_argument("--seeds", type=int, default=8, help="networks per configuration for empirical_ntk_lambda_min")
    p.add_argument("--eta", type=float, default=None, help="learning rate of convergence_rate (default 1)")
    p.add_argument("--activations", default=None, metavar="A,B,...",
                   help="comma-separated activations the search draws (default: all built-ins but elu)")
    p.add_argument("--free-norm", action="store_true", help="draw data rows of free norm instead of unit norm")
    p.add_argument("--out", default=None, metavar="DIR", help="write spec.json, X.npy, report.md/json/png/pdf here")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ntkcheck.bound_check.problem import make_problem
    from ntkcheck.bound_check.search import search
    from ntkcheck.errors import NtkcheckError

    if args.trials is not None and args.trials < 1:
        raise NtkcheckError(f"--trials must be >= 1, got {args.trials}")
    if args.budget is not None and not args.budget > 0:
        raise NtkcheckError(f"--budget must be > 0 seconds, got {args.budget}")
    budget = args.budget if (args.budget is not None or args.trials is not None) else DEFAULT_BUDGET
    problem = make_problem(args.quantity, lower=args.lower, upper=args.upper, assume=args.assume,
                           space=args.space, unit_norm=not args.free_norm, seeds=args.seeds, eta=args.eta,
                           activations=args.activations)
    result = search(problem, trials=args.trials, budget=budget, seed=args.seed, quiet=args.quiet)
    if args.out:
        from ntkcheck.bound_check.report import write_report
        write_report(result, args.out, command=" ".join(["ntkcheck", "bound"] + sys.argv[2:]))
    if args.json:
        from ntkcheck.io import to_jsonable

        ce = result.counterexample
        print(json.dumps(to_jsonable({"verdict": result.verdict, "tried": result.tried,
                          "min_slack": result.min_slack if result.min_slack == result.min_slack else None,
                          "counterexample": None if ce is None else {
                              **ce.to_json(), "X": ce.config.X.tolist(), "found_at": result.found_at}})))
    else:
        from ntkcheck.bound_check.api import describe_counterexample
        print(f"{problem.describe()}: {result.verdict} after {result.tried} configurations "
              f"({result.elapsed:.1f} s, stopped by {result.stopped_by}); smallest slack {result.min_slack:.6g}")
        if result.counterexample is not None:
            print(describe_counterexample(result))
        if args.out:
            print(f"report written to {args.out}")
    return 1 if result.verdict == "violated" else 0
