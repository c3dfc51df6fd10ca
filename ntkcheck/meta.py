"""Provenance recorded in every output: versions, platform, seed, configuration, time."""

from __future__ import annotations

import datetime as _dt
import platform
import shlex
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


def run_metadata(command: str, config: dict[str, Any], seed: int | None = None,
                 command_line: str | None = None) -> dict[str, Any]:
    """The block every report/npz carries so that a run can be reproduced; ``command_line`` is the
    shell-quoted command (``args.command_line`` of the CLI), else ``sys.argv`` shell-quoted."""
    if command_line is None:
        command_line = shlex.join(["ntkcheck"] + [str(a) for a in sys.argv[1:]])
    return {"command": command, "command_line": command_line, "seed": seed, "config": config,
            "versions": versions(),
            "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
