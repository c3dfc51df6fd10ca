"""Provenance recorded in every output: versions, platform, seed, configuration, time."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from importlib import metadata
from typing import Any


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("ntkcheck", "numpy", "scipy", "sympy", "torch", "matplotlib", "hypothesis"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def run_metadata(command: str, config: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    """The block every report/npz carries so that a run can be reproduced."""
    return {"command": command, "argv": sys.argv, "seed": seed, "config": config, "versions": versions(),
            "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
