"""The registry of paper checks: every paper module exposes ``CHECKS: list[Check]``.

:func:`all_checks` imports the paper modules that exist (a module that is not present yet, because its
developer has not landed it, is left out — detected with :func:`importlib.util.find_spec`, never by
swallowing import errors: a module that exists but fails to import is a defect and raises).
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util

from ntkcheck.errors import NtkcheckError
from ntkcheck.paper_checks.check import Check

#: Paper modules in report order (``toolkit_engines``: the engines' own records, paper "ntkcheck").
PAPER_MODULES = ("zhu2022", "tenas2021", "mok2022", "chen2022", "conv_nb201", "toolkit_engines")


def available_papers() -> list[str]:
    """The paper modules present in this installation."""
    return [p for p in PAPER_MODULES if importlib.util.find_spec(f"ntkcheck.paper_checks.{p}") is not None]


def all_checks() -> list[Check]:
    """Every check of every present paper module, in report order; ids must be unique."""
    checks: list[Check] = []
    for p in available_papers():
        mod = importlib.import_module(f"ntkcheck.paper_checks.{p}")
        checks.extend(getattr(mod, "CHECKS", []))
    seen: set[str] = set()
    for c in checks:
        if not isinstance(c, Check):
            raise TypeError(f"CHECKS entries must be Check records, got {type(c).__name__}")
        if c.id in seen:
            raise ValueError(f"duplicate check id {c.id!r}")
        seen.add(c.id)
    return checks


def _matches(check: Check, pat: str) -> bool:
    return id_matches(check.id, pat, paper=check.paper)


def id_matches(check_id: str, pat: str, *, paper: str | None = None) -> bool:
    """True iff ``pat`` (lower case) names the record ``check_id``: its exact id, its paper's name (the id's
    prefix unless given), or a shell glob (``fnmatch``) over the id or the paper.  Never by substring:
    ``tenas2021.T1`` is one record, not T10–T12."""
    keys = (check_id.lower(), (paper or check_id.split(".", 1)[0]).lower())
    if any(ch in pat for ch in "*?["):
        return any(fnmatch.fnmatchcase(k, pat) for k in keys)
    return pat in keys


def only_patterns(pattern: str | None) -> list[str]:
    """The comma-separated patterns of ``--only`` (stripped, lower case; empty → every check)."""
    return [p.strip().lower() for p in (pattern or "").split(",") if p.strip()]


def selects(pattern: str | None, check: Check) -> bool:
    """True iff ``--only pattern`` selects ``check`` (no pattern selects everything)."""
    pats = only_patterns(pattern)
    return not pats or any(_matches(check, p) for p in pats)


def select(checks: list[Check], pattern: str | None) -> list[Check]:
    """Checks that ``pattern`` selects: comma-separated exact ids (``tenas2021.T1``), paper names (``tenas2021``:
    all its records) or shell globs (``mok2022.L*``), case-insensitive; nothing is matched by substring.  A pattern
    that matches no check → NtkcheckError (one line, before any work)."""
    pats = only_patterns(pattern)
    if not pats:
        return list(checks)
    unmatched = [p for p in pats if not any(_matches(c, p) for c in checks)]
    if unmatched:
        raise NtkcheckError(f"--only: {', '.join(repr(p) for p in unmatched)} matches no check (give an exact id "
                            f"like 'tenas2021.T1', a glob like 'mok2022.L*', or a paper: "
                            f"{', '.join(available_papers())})")
    return [c for c in checks if any(_matches(c, p) for p in pats)]
