"""The ``ntkcheck`` command line.

Each subcommand lives in its own module ``ntkcheck/commands/<name>.py`` exposing ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args)``, and is registered by one entry in :data:`COMMANDS`.  ``run``
returns an exit code, or ``(exit code, document)`` where the document is what ``--json`` prints.

Exit codes: 0 success, 1 a check failed or a counterexample was found, 2 bad input (a one-line message, no
traceback), 3 undecided (``bound``: too little evidence for a verdict).

Options every subcommand has, with one meaning, implemented here once (:func:`main`):

``--quiet``  no progress bars, no tables: nothing on stdout; only errors (and warnings) on stderr;
``--json``   one JSON document on stdout and nothing else (implies ``--quiet`` for progress and tables):
             the command's result, or ``{"error": ..., "exit_code": 2}`` for bad input.

``args.command_line`` is the shell-quoted command (:func:`shlex.join`) that reproduces the run; every
report or output file that records a command stores it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import json
import math
import os
import shlex
import sys
import warnings
from typing import Any

from . import __version__
from .errors import NtkcheckError

#: Subcommands in the order ``ntkcheck --help`` lists them.  A module that is not present yet is skipped.
COMMANDS = ("verify", "kernel", "empirical", "bounds", "bound", "connectivity", "converge", "search", "figures",
            "sweep")

#: Exit codes (module docstring).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNDECIDED = 0, 1, 2, 3


# ---- argument types shared by the subcommands: bad values are argparse errors (one line, exit 2) ----------

def _number(text: str, kind: type, what: str) -> Any:
    try:
        if kind is int and any(c in str(text).lower() for c in ".e"):
            f = float(text)                    # '1e3' and '64.0' are integers written as floats
            if not (math.isfinite(f) and f == int(f)):
                raise ValueError(text)
            v = int(f)
        else:
            v = kind(text)
    except (TypeError, ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if kind is float and not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    v = _number(text, int, "a positive integer")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    """argparse type: an integer ≥ 0 (seeds)."""
    v = _number(text, int, "an integer >= 0")
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    v = _number(text, float, "a positive number")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``ntkcheck: error: MESSAGE (see ntkcheck CMD --help)``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        msg = " ".join(str(message).split())
        self.exit(EXIT_BAD_INPUT, f"ntkcheck: error: {msg} (see {self.prog} --help)\n")


def _add_common(p: argparse.ArgumentParser) -> None:
    """--quiet and --json, unless the command defined them itself (then they must mean the same)."""
    have = p._option_string_actions  # noqa: SLF001 - argparse has no public query
    if "--quiet" not in have:
        p.add_argument("--quiet", action="store_true", help="no progress and no tables; only errors on stderr")
    if "--json" not in have:
        p.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")


def _load(name: str):
    modname = f"ntkcheck.commands.{name}"
    if importlib.util.find_spec(modname) is None:
        return None
    return importlib.import_module(modname)


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser.  Only the ``selected`` subcommand (all of them when None) gets its full arguments;
    the others need just their one-line help for ``ntkcheck --help``, which keeps every command's start-up
    free of the other commands' imports (e.g. the bound checker's sympy/hypothesis vocabulary)."""
    parser = _Parser(
        prog="ntkcheck",
        description="Verify neural-tangent-kernel theory for neural architecture search numerically.",
        epilog="Exit status: 0 success, 1 a check failed / counterexample found, 2 bad input, 3 undecided. "
               "Every subcommand takes --quiet (only errors) and --json (one JSON document on stdout).",
    )
    parser.add_argument("--version", action="version", version=f"ntkcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", None) or mod.HELP)
        if selected is None or name == selected:
            mod.add_arguments(p)
            _add_common(p)
            p.set_defaults(_run=mod.run)
    return parser


@contextlib.contextmanager
def _no_progress():
    """Disable every tqdm progress bar for the duration (``--quiet``/``--json``), including bars of library
    code that was not told about the option; restored afterwards."""
    try:
        import tqdm
    except ImportError:  # pragma: no cover
        yield
        return
    orig = tqdm.tqdm.__init__

    def init(self, *a: Any, **k: Any) -> None:
        k["disable"] = True
        orig(self, *a, **k)

    tqdm.tqdm.__init__ = init
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = orig


def _json_dump(doc: Any, stream) -> None:
    from .io import to_jsonable

    stream.write(json.dumps(to_jsonable(doc), indent=2) + "\n")
    stream.flush()


def _document(rv: Any, code: int, captured: str, command_line: str) -> Any:
    """What ``--json`` prints: the command's document; else what it printed, if that is JSON; else a summary."""
    if isinstance(rv, tuple) and len(rv) == 2 and rv[1] is not None:
        doc = rv[1]
    else:
        try:
            doc = json.loads(captured) if captured.strip() else None
        except ValueError:
            doc = None
        if doc is None:
            doc = {"exit_code": code, "output": captured.splitlines()}
    if isinstance(doc, dict):
        doc.setdefault("command_line", command_line)
        doc.setdefault("exit_code", code)
    return doc


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse's own exits, e.g. --help, included)."""
    args_list = sys.argv[1:] if argv is None else [str(a) for a in argv]
    selected = next((a for a in args_list if not a.startswith("-")), None)
    # no (known) subcommand: `ntkcheck --help` or an error message, for which one-line helps suffice
    parser = build_parser(selected if selected in COMMANDS else "")
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:          # --help, --version (0) or a usage error (2, one line on stderr)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    args._argv = list(args_list)          # the exact arguments, for reports (``ntkcheck verify``)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    as_json = args.json is True
    silent = as_json or bool(args.quiet)
    if as_json:
        args.quiet = True              # --json: no progress bars and no tables either
    args.command_line = shlex.join(["ntkcheck"] + args_list)
    out = sys.stdout
    buf = io.StringIO()
    code, rv = EXIT_FAILED, None
    error: str | None = None
    try:
        with contextlib.ExitStack() as stack:
            # floating-point RuntimeWarnings (overflow in a kernel recursion, ...) are not messages for the
            # user: a result that is not finite is reported by the command as one error line
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore", RuntimeWarning)
            if silent:                 # one mechanism for every subcommand: no tables, no progress
                stack.enter_context(contextlib.redirect_stdout(buf))
                stack.enter_context(_no_progress())
            rv = args._run(args)
        code = int(rv[0] if isinstance(rv, tuple) else (rv or 0))
    except NtkcheckError as exc:
        error, code = str(exc), EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ntkcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except MemoryError:
        error, code = "out of memory (reduce N, the width or the batch of architectures)", EXIT_BAD_INPUT
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        error, code = f"file system:{where}: {exc.strerror or exc}", EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, not a traceback (NTKCHECK_DEBUG=1 shows it)
        if os.environ.get("NTKCHECK_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:300]
        print(f"ntkcheck: internal error (please report; NTKCHECK_DEBUG=1 shows the traceback): "
              f"{type(exc).__name__}: {msg}", file=sys.stderr)
        if as_json:
            _json_dump({"error": f"internal error: {type(exc).__name__}: {msg}", "exit_code": EXIT_FAILED,
                        "command_line": args.command_line}, out)
        return EXIT_FAILED
    if error is not None:
        print(f"ntkcheck: error: {error}", file=sys.stderr)
        if as_json:
            _json_dump({"error": error, "exit_code": code, "command_line": args.command_line}, out)
        return code
    if as_json:
        _json_dump(_document(rv, code, buf.getvalue(), args.command_line), out)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
