"""``ntkcheck verify``: run every paper's checkable claims and write a report (see paper_checks/runner.py)."""

from __future__ import annotations

import argparse

from ntkcheck.cli import nonneg_int, positive_int

HELP = "run the paper checks; print a verdict table, write report.json/report.md and figures"
DESCRIPTION = """\
Run the paper checks; print a verdict table, write report.json, report.md and
the figures. Each record has a role that says what its verdict means:

  toolkit      the toolkit's own math and engines (kernel recursions, empirical
               NTKs, metrics, bounds, the accuracy table) against an
               independent reference. fail = the toolkit is wrong: exit 1.
  paper        a paper's claim on the paper's kind of data: within a stated
               tolerance, or by a 95% interval with n, the test and the
               smallest detectable effect. pass = reproduced, fail = not
               reproduced; inconclusive / underpowered when the data or the
               design cannot decide. Records of kind hypothesis (the paper's
               numbers unavailable, or a smaller stand-in protocol) are
               reported apart and never counted as reproduced or not.
  extension    the toolkit's own questions, not a paper's claim (a claim
               carried to another setting, properties of the toolkit's bounds).
  consistency  the paper's own numbers checked against each other.

NB201 claims are judged on the shipped NATS-Bench accuracy table
(ntkcheck.data). The report opens with the counts: toolkit math verified /
failed; paper claims reproduced / not reproduced; inconclusive, underpowered;
then hypotheses, toolkit extensions and the papers' own arithmetic.

Exit status: 0 = no toolkit record failed and no check errored (paper findings,
whatever they are, never change it); 1 = a toolkit record failed, a check
errored or a figure could not be drawn, or (with --baseline) a verdict differs
from the earlier report; 2 = bad input (nothing is run or written)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--only", metavar="PATTERN", help="comma-separated exact check ids, shell globs or paper names "
                   "(e.g. 'tenas2021.T1,mok2022.L*' or 'zhu2022'); never matched by substring")
    p.add_argument("--scale", choices=("small", "paper"), default="small",
                   help="small (default): minutes on a laptop CPU; paper: paper-sized widths/batches (GPU advised)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--jobs", type=positive_int, default=1, help="run checks in J worker processes")
    p.add_argument("--report", default="ntkcheck-report", metavar="DIR", help="report directory (default %(default)s)")
    p.add_argument("--baseline", metavar="REPORT.json", help="an earlier report.json of verify: list every record "
                   "whose verdict changed (old -> new, and records present on one side only) and exit 1 if any did")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    p.add_argument("--nats-bench", metavar="PATH", help="your own NATS-Bench topology file (through the optional "
                   "nats_bench package) or a .csv/.json table exported from it: judge the NB201 claims on its "
                   "accuracies instead of the shipped NATS-Bench table (the official file is a pickle that package "
                   "loads unrestricted, so give only a file you would trust as code)")
    p.add_argument("--sweep", metavar="STORE.sqlite", help="take the TE-NAS NB201 population's kappa_N / R_N from a "
                   "sweep store (`ntkcheck sweep kappa,regions --space nb201 --out STORE`): every cell in it, no "
                   "sampling; a store of another space or without both metrics is refused")
    p.add_argument("--cache-dir", metavar="DIR", help="cache for expensive measurements: the NB201 sample's "
                   "kappa_N / R_N, the conv proxies, searches (default $NTKCHECK_CACHE or ~/.cache/ntkcheck)")
    p.add_argument("--no-cache", action="store_true", help="compute everything afresh: do not read or write the "
                   "cache (caches are keyed by the configuration, the source code and the numpy/scipy/torch versions)")
    p.add_argument("--no-figures", action="store_true", help="do not regenerate the figures")


def run(args: argparse.Namespace) -> int:
    from ntkcheck.errors import NtkcheckError
    from ntkcheck.paper_checks.runner import VerifyOptions, baseline_lines, headline_text, print_table, verify, wrap

    if args.no_cache and args.cache_dir:
        raise NtkcheckError("--no-cache and --cache-dir exclude each other")
    opts = VerifyOptions(only=args.only, scale=args.scale, device=args.device, seed=args.seed, jobs=args.jobs,
                         report=args.report, quiet=args.quiet, nats_bench=args.nats_bench, sweep=args.sweep,
                         figures=not args.no_figures, cache_dir=args.cache_dir, no_cache=args.no_cache,
                         baseline=args.baseline,
                         argv=tuple(getattr(args, "_argv", ()) or ("verify",)))
    code, report = verify(opts)
    if not args.quiet:
        from ntkcheck.paper_checks.check import CheckResult

        print(wrap(headline_text(report["headline"])))
        print_table([CheckResult(**{k: v for k, v in r.items()}) for r in report["results"]])
        s = ", ".join(f"{k}: {v}" for k, v in report["summary"].items())
        print(wrap(f"{s}; {report['timings']['total_s']:.1f} s; data: "
                   f"{'; '.join(report['data_sources']) or 'none'}; report: {args.report}/report.md"))
        for e in report["figure_errors"]:
            print(wrap(f"figure error: {e}"))
        if report["failed"]:
            print(wrap("the toolkit is wrong in: " + ", ".join(report["failed"])))
    if report.get("baseline"):
        import sys

        for line in baseline_lines(report["baseline"]):
            print(line, file=sys.stderr if args.quiet else sys.stdout)
    return code, report  # the document --json prints (cli.py)
