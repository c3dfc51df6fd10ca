"""``ntkcheck verify``: run every paper's checkable claims and write a report (see paper_checks/runner.py)."""

from __future__ import annotations

import argparse

from ntkcheck.cli import nonneg_int, positive_int

HELP = "run the paper checks; print a verdict table, write report.json/report.md and figures"
DESCRIPTION = (HELP + ". The report opens with three counts: toolkit math verified, paper claims reproduced, "
               "paper claims not reproduced or contradicted (then inconclusive and underpowered); NB201 claims are "
               "judged on the shipped NATS-Bench accuracy table (ntkcheck.data). Exit status: 0 when no check "
               "fails, 1 when a check fails or errors, 2 for bad input. Hypothesis, consistency and underpowered "
               "checks are reported but never fail the run.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", metavar="PATTERN", help="comma-separated check ids, globs or paper names "
                   "(e.g. 'tenas2021.T1,mok2022.L*' or 'mok')")
    p.add_argument("--scale", choices=("small", "paper"), default="small",
                   help="small (default): minutes on a laptop CPU; paper: paper-sized widths/batches (GPU advised)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--jobs", type=positive_int, default=1, help="run checks in J worker processes")
    p.add_argument("--report", default="ntkcheck-report", metavar="DIR", help="report directory (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    p.add_argument("--nats-bench", metavar="PATH", help="your NATS-Bench topology file: use its accuracies "
                   "instead of the built-in micro-benchmark (needs the optional nats_bench package; the official "
                   "file is a pickle that package loads unrestricted, so give only a file you would trust as code, "
                   "or a .csv/.json table exported from it)")
    p.add_argument("--sweep", metavar="STORE.sqlite", help="take the TE-NAS NB201 population's kappa_N / R_N from a "
                   "sweep store (`ntkcheck sweep kappa,regions --space nb201 --out STORE`): every cell in it, no sampling")
    p.add_argument("--cache-dir", metavar="DIR", help="cache for micro-benchmark accuracies "
                   "(default $NTKCHECK_CACHE or ~/.cache/ntkcheck)")
    p.add_argument("--no-figures", action="store_true", help="do not regenerate the figures")


def run(args: argparse.Namespace) -> int:
    from ntkcheck.paper_checks.runner import VerifyOptions, print_table, verify

    opts = VerifyOptions(only=args.only, scale=args.scale, device=args.device, seed=args.seed, jobs=args.jobs,
                         report=args.report, quiet=args.quiet, nats_bench=args.nats_bench, sweep=args.sweep,
                         figures=not args.no_figures, cache_dir=args.cache_dir,
                         argv=tuple(getattr(args, "_argv", ()) or ("verify",)))
    code, report = verify(opts)
    if not args.quiet:
        from ntkcheck.paper_checks.check import CheckResult
        from ntkcheck.paper_checks.runner import headline_text

        print(headline_text(report["headline"]))
        print_table([CheckResult(**{k: v for k, v in r.items()}) for r in report["results"]])
        s = ", ".join(f"{k}: {v}" for k, v in report["summary"].items())
        print(f"{s}; {report['timings']['total_s']:.1f} s; data: "
              f"{'; '.join(report['data_sources']) or 'none'}; report: {args.report}/report.md")
        for e in report["figure_errors"]:
            print(f"figure error: {e}")
    return code, report  # the document --json prints (cli.py)
