"""``ntkcheck bounds SPEC X.npy``: every certified bound on λ_min of the infinite-width NTK/NNGP.

Prints a table (bound, value, status against the certified λ_min: ``holds``, ``vacuous`` (a lower bound ≤ 0,
which says nothing) or ``VIOLATED``, tightness ratio) or, with ``--json``, the object ``{"kernel",
"lambda_min", "lambda_min_error", "lower_bounds", "upper_bounds", "vacuous", "status", ...}``.  Statements and proofs: docs/bounds.md.  Exit 0 when every bound holds, 1 when one is
violated (a defect to report), 2 for bad input.
"""

from __future__ import annotations

import sys

import numpy as np

from ntkcheck.cli import positive_int

HELP = "lower/upper bounds on lambda_min of the infinite-width NTK/NNGP vs its certified value"
DESCRIPTION = (HELP + ". Lower bounds: Hermite/Schur family, Gershgorin, depth recursion, NTK layer sums "
               "(docs/bounds.md); upper bounds: min diagonal, 2x2 blocks, Rayleigh quotients, trace/N.")


def add_arguments(p) -> None:
    p.add_argument("spec", help="spec: JSON file, JSON string, NB201 cell string, or 'example' (the bundled DAG)")
    p.add_argument("data", help="data X as a .npy file of shape (N, d), or 'example' (20 points on the unit sphere "
                                "in R^8)")
    p.add_argument("--kernel", choices=("ntk", "nngp"), default="ntk")
    p.add_argument("-o", "--output", help="also write the JSON result to this file (atomic)")
    p.add_argument("--r-max", type=positive_int, default=20, help="Hermite terms used explicitly (default 20)")
    p.add_argument("--normalize", choices=("none", "sphere"), default="none",
                   help="'sphere': scale every row to unit norm first (the theorems' setting)")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return f"{v:.6g}"


def run(args) -> int:
    from ntkcheck.errors import NtkcheckError
    from ntkcheck.io import check_memory, check_output_file, data_shape, load_data, write_json_atomic
    from ntkcheck.spec import parse_spec
    from ntkcheck.theory.bounds import bounds_report

    if args.r_max > 200:
        raise NtkcheckError(f"--r-max must be in 1..200, got {args.r_max}")
    if args.output:
        check_output_file(args.output)
    spec = parse_spec(args.spec)
    N = data_shape(args.data)[0]
    check_memory(8.0 * N * N * 8 * max(1, spec.nodes), f"the N×N kernels and bounds for N = {N}")
    X = load_data(args.data, allow_duplicates=True)
    if args.normalize == "sphere":
        n = np.linalg.norm(X, axis=1, keepdims=True)
        if np.any(n == 0):
            raise NtkcheckError("--normalize sphere: X has a zero row")
        X = X / n
    rep = bounds_report(spec, X, args.kernel, r_max=args.r_max)
    out = rep.to_json()
    out["spec"] = spec.to_json()
    out["normalized"] = args.normalize
    out["N"], out["d"] = int(X.shape[0]), int(X.shape[1])
    out["command_line"] = getattr(args, "command_line", None)
    # one status per bound: a lower bound <= 0 is vacuous (it says nothing), never "holds"
    status = {n: ("vacuous" if side == "lower" and v <= 0 else "holds" if rep.holds[n] else "VIOLATED")
              for side, d in (("lower", rep.lower_bounds), ("upper", rep.upper_bounds)) for n, v in d.items()}
    out["status"] = {n: s.lower() for n, s in status.items()}
    for t in out.get("templates", {}).values():
        if isinstance(t, dict) and t.get("probability", 1) <= 0:
            t["status"] = "vacuous"
    if args.output:
        write_json_atomic(args.output, out)
    violated = [n for n, st in status.items() if st == "VIOLATED"]
    # the table (cli.py silences stdout under --quiet and --json)
    print(f"{args.kernel.upper()}  N={X.shape[0]} d={X.shape[1]}  lambda_min = {rep.lambda_min:.6g} "
          f"+/- {rep.lambda_min_error:.2g}" + ("  (singular)" if rep.singular else ""))
    w = max(len(n) for n in list(rep.lower_bounds) + list(rep.upper_bounds)) + 2
    print(f"{'bound':<{w}}{'side':<7}{'value':>14}  {'status':<9}{'tightness':>10}")
    for side, d in (("lower", rep.lower_bounds), ("upper", rep.upper_bounds)):
        for n, v in d.items():
            tight = "-" if status[n] == "vacuous" else _fmt(rep.tightness[n])
            print(f"{n:<{w}}{side:<7}{_fmt(v):>14}  {status[n]:<9}{tight:>10}")
    for name, t in rep.templates.items():
        if t["probability"] <= 0:       # "with probability >= 0" says nothing
            print(f"template {name}: vacuous here (its probability bound is {t['probability']:.3g} <= 0; "
                  f"{t['label']})")
        else:
            print(f"template {name}: {t['value']:.4g} with probability >= {t['probability']:.3g} ({t['label']})")
    for note in rep.notes:
        print(f"note: {note}")
    if violated:
        print(f"ntkcheck: bound(s) violated: {', '.join(violated)} (please report)", file=sys.stderr)
        return 1, out
    return 0, out
