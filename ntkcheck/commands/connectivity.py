"""``ntkcheck connectivity``: paths, effective depth/width (d̄, m̄) and the Chen et al. 2022 bounds of a cell,
or of the whole NAS-Bench-201 space.

Examples::

    ntkcheck connectivity 2_21_112 --data X.npy --json
    ntkcheck connectivity '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|'
    ntkcheck connectivity --darts '[["sep_conv_3x3",0],["sep_conv_3x3",1], ...]'
    ntkcheck connectivity --nb201-all X.npy -o nb201.csv      (or --nb201-all --data X.npy)

CELL is a Chen DAG string (``2_21_112``: one group per node, digits 0 zero / 1 skip / 2 linear+ReLU), an
NB201 string, a JSON spec (file or string; edges zero, skip, linact:relu for the bounds).  NB201 cells are
analysed as their *Chen analog* (conv → linear+ReLU, avg_pool → identity, none → zero; the theory has no
pooling, so pooling edges are reported as modelled by an identity).  Data rows must be unit-norm (Remark
3.4); ``--normalize`` rescales them (with a warning), otherwise non-unit rows are refused (exit 2).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError

HELP = "paths, effective depth/width and the Chen et al. 2022 λ_min bounds of a DAG cell or all of NB201"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cell", nargs="?", help="Chen DAG string, NB201 string, or JSON spec (file or string)")
    p.add_argument("--data", metavar="X.npy", help="(N, d) float64 data for the kernel quantities")
    p.add_argument("--darts", metavar="GENOTYPE",
                   help="a DARTS/NDS normal cell as JSON [[op, input], ...] (8 pairs) or a file holding it")
    p.add_argument("--nb201-all", nargs="?", const=True, default=None, metavar="X.npy",
                   help="all 15,625 NB201 cells (data may be given here or with --data)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the result (.json, or .csv for --nb201-all)")
    p.add_argument("--normalize", action="store_true", help="rescale data rows to unit norm (warns)")
    p.add_argument("--center", action="store_true", help="centre each data row before normalising")
    p.add_argument("--engine", choices=("project", "reference"), default="project",
                   help="kernel engine: the project's (default) or this area's independent reference")


def _load_X(path: str | None, args: argparse.Namespace) -> np.ndarray | None:
    if path is None:
        return None
    from ntkcheck.io import check_memory, data_shape, load_data

    N = data_shape(path)[0]
    check_memory(8.0 * N * N * 16, f"the N×N kernels for N = {N}")
    X = load_data(path)
    nrm = np.linalg.norm(X, axis=1)
    if args.center or args.normalize:
        from ntkcheck.theory.connectivity import unit_rows

        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            X = unit_rows(X, center=args.center)
        for msg in w:
            print(f"ntkcheck: warning: {msg.message}", file=sys.stderr)
    elif not np.allclose(nrm, 1.0, rtol=0, atol=1e-10):
        raise NtkcheckError(f"data rows must have unit norm (Chen et al. Remark 3.4; norms range "
                            f"{nrm.min():.4g}..{nrm.max():.4g}); pass --normalize to rescale them")
    if X.shape[0] < 2:
        raise NtkcheckError("the bounds need at least 2 data points")
    return X


def _parse_cell(cell: str):
    """→ (spec for the kernels, dict with paths/depths/d̄/m̄, notes)."""
    from ntkcheck.spec import NB201_EDGES, parse_nb201
    from ntkcheck.theory.connectivity import as_spec, depth_width, nb201_chen_spec, nb201_routes

    s = cell.strip()
    notes: list[str] = []
    if s.startswith("|"):
        ops = parse_nb201(s)
        spec = nb201_chen_spec(ops)
        dw = depth_width(spec)
        assert sorted(dw["depths"]) == sorted(nb201_routes(ops))  # two implementations of the code's rule
        pools = [f"{a}→{b}" for (a, b), o in zip(NB201_EDGES, ops) if o == "avg_pool_3x3"]
        notes.append("NB201 cell analysed as its Chen analog (conv → linear+ReLU, avg_pool → identity)")
        if pools:
            notes.append(f"edges {', '.join(pools)} are avg_pool: not covered by the theory, modelled as identity")
        return spec, dw, notes
    spec = as_spec(s)
    return spec, depth_width(spec), notes


def _cell_report(args: argparse.Namespace) -> dict[str, Any]:
    from ntkcheck.theory.connectivity import bound_report, filter_code, filter_paper, PAPER_WINDOW_NB201

    if args.darts is not None:
        from ntkcheck.theory.connectivity import darts_depth_width

        txt = args.darts
        if Path(txt).exists():
            txt = Path(txt).read_text()
        try:
            geno = json.loads(txt)
        except json.JSONDecodeError as exc:
            raise NtkcheckError(f"--darts is not valid JSON: {exc}") from None
        if isinstance(geno, dict):
            geno = geno.get("normal", geno)
        if not isinstance(geno, list) or not all(isinstance(g, (list, tuple)) for g in geno):
            raise NtkcheckError("--darts must be a list of [op, input] pairs (or {\"normal\": [...]})")
        res = darts_depth_width(geno)
        res["notes"] = ["DARTS/NDS normal cell by the official code's rule (concat as skip-sum, in0/in1 paths pooled)"]
        return res
    if not args.cell:
        raise NtkcheckError("give a CELL, --darts GENOTYPE, or --nb201-all")
    spec, dw, notes = _parse_cell(args.cell)
    X = _load_X(args.data, args)
    out: dict[str, Any] = {"cell": args.cell, "paths": dw["paths"], "depths": dw["depths"], "n_paths": dw["n_paths"],
                           "d_bar": dw["d_bar"], "m_bar": dw["m_bar"]}
    out["keep_code_window"] = bool(filter_code(dw["d_bar"], dw["m_bar"]))
    c, h = PAPER_WINDOW_NB201["center"], PAPER_WINDOW_NB201["half_radius"]
    out["keep_paper_window_nb201"] = bool(filter_paper(dw["d_bar"], dw["m_bar"], c, (2 * h[0], 2 * h[1]), 0.5))
    for k in ("eq12_bound", "lemma33_bound", "lemma33_bound_paper", "lambda_min_exact", "lambda_min_paper"):
        out[k] = None
    if X is not None:
        non_chen = [e.op for e in spec.edges if e.kind not in ("zero", "skip", "linact")]
        if non_chen:
            notes.append(f"edge op {non_chen[0]!r} is outside Chen et al.'s network (zero, skip, linact): "
                         "bounds and λ_min not applicable")
        else:
            rep = bound_report(spec, X, engine=args.engine)
            if rep.degenerate:
                notes.append("no input→output path: degenerate cell, bounds and λ_min not applicable")
            else:
                out.update(eq12_bound=rep.eq12_bound, lemma33_bound=rep.lemma33_bound_exact,
                           lemma33_bound_paper=rep.lemma33_bound_paper, lambda_min_exact=rep.lambda_min_exact,
                           lambda_min_exact_err=rep.lambda_min_exact_err, lambda_min_paper=rep.lambda_min_paper,
                           bound_holds=rep.holds)
            notes += rep.notes
        out["data"] = {"path": args.data, "N": int(X.shape[0]), "d": int(X.shape[1]),
                       "normalized": bool(args.normalize or args.center), "centered": bool(args.center)}
    out["notes"] = notes
    return out


def _nb201_all(args: argparse.Namespace) -> dict[str, Any]:
    from ntkcheck.io import write_text_atomic
    from ntkcheck.theory.connectivity import (filter_code, filter_paper, nb201_connectivity_table,
                                              rank_correlations, space_window)

    data_path = args.nb201_all if isinstance(args.nb201_all, str) else args.data
    if isinstance(args.nb201_all, str) and args.data:
        raise NtkcheckError("give the data once: --nb201-all X.npy or --nb201-all --data X.npy")
    X = _load_X(data_path, args)
    t = nb201_connectivity_table(X, engine=args.engine, quiet=args.quiet)
    d, m = t["d_bar"], t["m_bar"]
    w = space_window(d, m)
    summary: dict[str, Any] = {
        "cells": len(d), "distinct_dbar_mbar": len(set(zip(np.round(d, 9), np.round(m, 9)))),
        "zero_depth_cells": int((d == 0).sum()),
        "space_window_excluding_zero_depth": w,
        "kept": {"code_window": int(filter_code(d, m).sum()),
                 **{f"paper_rule_{fr}_radius": int(filter_paper(d, m, w["center"], w["radius"], fr).sum())
                    for fr in (1.0, 0.75, 0.5, 0.25)},
                 "paper_stated_numbers_half_radius": int(t["keep_paper_half"].sum())},
        "analog_note": "kernel columns use each cell's Chen analog (conv → linear+ReLU, avg_pool → identity, "
                       "none → zero); 729 distinct analogs; degenerate cells (no path) have NaN = not applicable",
    }
    if X is not None:
        ok = np.isfinite(t["lambda_min_exact"])
        lam_e, lam_p, e12 = t["lambda_min_exact"], t["lambda_min_paper"], t["eq12_bound"]
        tol = 1e-10
        summary["rank_correlation_eq12_vs_lambda_exact"] = rank_correlations(e12, lam_e)
        summary["rank_correlation_eq12_vs_lambda_paper"] = rank_correlations(e12, lam_p)
        summary["rank_correlation_lambda_paper_vs_exact"] = rank_correlations(lam_p, lam_e)
        uniq = {}
        for a, x, y in zip(t["analog"], e12, lam_e):
            uniq.setdefault(a, (x, y))
        ux = np.array(list(uniq.values()))
        summary["rank_correlation_eq12_vs_lambda_exact_distinct_analogs"] = rank_correlations(ux[:, 0], ux[:, 1])
        summary["eq12_holds"] = {"exact": int((e12[ok] >= lam_e[ok] - tol).sum()),
                                 "paper": int((e12[ok] >= lam_p[ok] - tol).sum()), "of": int(ok.sum())}
        summary["lemma33_paper_kernel_bounds_exact_lambda"] = int((t["lemma33_bound_paper"][ok] >= lam_e[ok] - tol).sum())
        summary["data"] = {"path": data_path, "N": int(X.shape[0]), "d": int(X.shape[1]),
                           "normalized": bool(args.normalize or args.center)}
    if args.output:
        out = Path(args.output)
        if out.suffix == ".csv":
            import csv
            import io

            cols = [k for k in t if k != "keep_paper_half"] + ["keep_paper_half"]
            buf = io.StringIO()
            wr = csv.writer(buf)
            wr.writerow(cols)
            for i in range(len(d)):
                wr.writerow([_fmt(t[k][i]) for k in cols])
            write_text_atomic(out, buf.getvalue())
        summary["output"] = str(out)
    return summary


def _fmt(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return int(bool(v))
    if isinstance(v, (float, np.floating)):
        return "nan" if not math.isfinite(float(v)) else repr(float(v))
    return v


def run(args: argparse.Namespace) -> int:
    from ntkcheck.theory.connectivity import versions
    from ntkcheck.io import write_json_atomic

    if args.output:
        from ntkcheck.io import check_output_file

        single = args.nb201_all is None
        check_output_file(args.output, suffixes=(".json",) if single else (".json", ".csv"))
    if args.cell and args.darts:
        raise NtkcheckError("give either a CELL or --darts GENOTYPE, not both")
    if args.nb201_all is not None:
        if args.cell or args.darts:
            raise NtkcheckError("--nb201-all takes no CELL or --darts")
        res = _nb201_all(args)
    else:
        res = _cell_report(args)
    res["config"] = {"engine": args.engine, "seed": None, "normalize": bool(args.normalize),
                     "center": bool(args.center),
                     "note": "deterministic (no random numbers); filter windows: code 0.99<=d<=2.51, "
                             "0.99<=m<=3.01; paper (1.6, 2.2) +- (0.7, 0.9)"}
    res["versions"] = versions()
    res["command_line"] = getattr(args, "command_line", None)
    if args.output and not str(args.output).endswith(".csv"):
        write_json_atomic(args.output, res)
    elif args.output and args.nb201_all is not None:
        write_json_atomic(Path(args.output).with_suffix(".json"), res)
    elif args.output:
        raise NtkcheckError("a single cell's report is JSON: use -o OUT.json")
    _print_table(res)          # cli.py silences it under --quiet and prints `res` under --json
    return 0, res


def _print_table(res: dict[str, Any]) -> None:
    from ntkcheck.paper_checks.check import format_value

    for k, v in res.items():
        if k in ("paths", "versions", "config"):
            continue
        if isinstance(v, dict):
            print(f"{k}:")
            for kk, vv in v.items():
                print(f"  {kk:<40} {format_value(vv)}")
        elif isinstance(v, list) and k == "notes":
            for n in v:
                print(f"note: {n}")
        else:
            print(f"{k:<42} {format_value(v)}")
