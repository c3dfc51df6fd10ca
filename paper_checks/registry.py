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


def select(checks: list[Check], pattern: str | None) -> list[Check]:
    """Checks whose id or paper matches ``pattern``: comma-separated shell globs (``tenas2021.T*``) or
    substrings (``T1``, ``mok``), case-insensitive.  No match → NtkcheckError."""
    if not pattern:
        return list(checks)
    pats = [p.strip().lower() for p in pattern.split(",") if p.strip()]
    out = []
    for c in checks:
        keys = (c.id.lower(), c.paper.lower())
        for p in pats:
            if any(ch in p for ch in "*?[") and any(fnmatch.fnmatchcase(k, p) for k in keys):
                out.append(c)
                break
            if not any(ch in p for ch in "*?[") and (p in keys[0] or p == keys[1]):
                out.append(c)
                break
    if not out:
        raise NtkcheckError(f"--only {pattern!r} matches no check (ids look like 'tenas2021.T1'; "
                            f"papers: {', '.join(available_papers())})")
    return out
