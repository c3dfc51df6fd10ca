"""Helpers for the sweep tests: run the real CLI in a subprocess and read a store."""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHEAP = "params,dbar,ntk_lambda_min"


def cli(*args: str, cwd: Path, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "ntkcheck.cli", "sweep", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    p = cli(*args, cwd=cwd)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def n_rows(path: Path) -> int:
    """Rows committed so far (a reader next to the writing process; WAL lets both proceed)."""
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # created but the tables are not there yet
        return 0


def wait_rows(path: Path, at_least: int, proc: subprocess.Popen, limit: float = 120) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        n = n_rows(path)
        if n >= at_least:
            return n
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended (rc {proc.returncode}) before {at_least} rows: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} rows after {limit} s")


def values(path: Path) -> list[tuple]:
    con = sqlite3.connect(str(path))
    try:
        return con.execute("SELECT space, arch, metric, config_hash, seed, value, status, message FROM results "
                           "ORDER BY arch, metric").fetchall()
    finally:
        con.close()


@pytest.fixture
def tmp_cwd(tmp_path):
    return tmp_path
