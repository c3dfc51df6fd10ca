"""The ``ntkcheck`` command line.

Each subcommand lives in its own module ``ntkcheck/commands/<name>.py`` exposing ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``.  Exit codes: 0 success, 1 a check failed or a
counterexample was found, 2 bad input (a one-line message, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from . import __version__
from .errors import NtkcheckError

#: Subcommands in the order ``ntkcheck --help`` lists them.  A module that is not present yet is skipped.
COMMANDS = ("verify", "kernel", "empirical", "bounds", "bound", "connectivity", "converge", "search", "figures",
            "sweep")


def _load(name: str):
    modname = f"ntkcheck.commands.{name}"
    if importlib.util.find_spec(modname) is None:
        return None
    return importlib.import_module(modname)


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser.  Only the ``selected`` subcommand (all of them when None) gets its full arguments;
    the others need just their one-line help for ``ntkcheck --help``, which keeps every command's start-up
    free of the other commands' imports (e.g. the bound checker's sympy/hypothesis vocabulary)."""
    parser = argparse.ArgumentParser(
        prog="ntkcheck",
        description="Verify neural-tangent-kernel theory for neural architecture search numerically.",
    )
    parser.add_argument("--version", action="version", version=f"ntkcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", None) or mod.HELP)
        if selected is None or name == selected:
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    selected = next((a for a in args_list if not a.startswith("-")), None)
    # no (known) subcommand: `ntkcheck --help` or an error message, for which one-line helps suffice
    parser = build_parser(selected if selected in COMMANDS else "")
    args = parser.parse_args(args_list)
    args._argv = list(args_list)          # the exact command line, for reports (``ntkcheck verify``)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except NtkcheckError as exc:
        print(f"ntkcheck: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ntkcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MemoryError:
        print("ntkcheck: error: out of memory (reduce N, the width or the batch of architectures)", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"ntkcheck: error: file system:{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
