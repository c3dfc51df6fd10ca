"""``ntkcheck figures``: regenerate each paper's figures (PNG, PDF and a CSV of the plotted data)."""

from __future__ import annotations

import argparse
import sys

from ntkcheck.cli import nonneg_int

HELP = "regenerate the papers' figures at small or paper scale (PNG, PDF, CSV)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", default="all", metavar="NAME",
                   help="paper module (zhu2022, tenas2021, mok2022, chen2022) or 'all' (default)")
    p.add_argument("--paper", dest="paper_opt", metavar="P", help="same as NAME")
    p.add_argument("--scale", choices=("small", "paper"), default="small")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--out", default="ntkcheck-figures", metavar="DIR", help="output directory (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from ntkcheck.errors import NtkcheckError
    from ntkcheck.paper_checks.registry import PAPER_MODULES
    from ntkcheck.paper_checks.runner import make_figures

    name = args.paper_opt or args.name
    if name == "all":
        papers = [p for p in PAPER_MODULES if importlib.util.find_spec(f"ntkcheck.figures.{p}") is not None]
    else:
        if name not in PAPER_MODULES:
            raise NtkcheckError(f"unknown paper {name!r} (known: {', '.join(PAPER_MODULES)}, all)")
        if importlib.util.find_spec(f"ntkcheck.figures.{name}") is None:
            raise NtkcheckError(f"no figure module for {name} yet")
        papers = [name]
    if args.paper_opt and args.name not in ("all", args.paper_opt):
        raise NtkcheckError(f"two different papers given: {args.name} and --paper {args.paper_opt}")
    from ntkcheck.io import check_writable_dir

    check_writable_dir(args.out)
    written, errors = make_figures(args.scale, args.seed, args.quiet, __import__("pathlib").Path(args.out), papers)
    for w in written:        # cli.py silences this under --quiet and --json
        print(f"{w['name']}: {', '.join(w['files'])}")
    for e in errors:
        print(f"ntkcheck: figure error: {e}", file=sys.stderr)
    return (1 if errors else 0), {"written": written, "errors": [str(e) for e in errors], "scale": args.scale,
                                  "seed": args.seed, "out": args.out,
                                  "command_line": getattr(args, "command_line", None)}
