"""report.json is byte-identical (timings aside) across PYTHONHASHSEED values and --jobs 1 / 2.

A cheap subset of `ntkcheck verify` runs in fresh interpreters: the NB201 population checks (bootstrap and
permutation intervals, stratified sampling) with the synthetic κ_N / R̂_N engines of tests/nb201_fakes.py (the
driver installs them before calling the CLI; with --jobs 2 the workers read the population from the disk cache
the parent wrote), Chen's C16 on the full table, and an exact check."""

import json
import os
import subprocess
import sys
from pathlib import Path

ONLY = "tenas2021.T3a,tenas2021.T4,tenas2021.T8,chen2022.C16,tenas2021.T6"

DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import nb201_fakes
from ntkcheck.paper_checks import nb201_population as P
P.METRICS = {{"kappa": nb201_fakes.oracle(-1, nb201_fakes.SIGMA_KAPPA, "k", 1e3),
              "R_N": nb201_fakes.oracle(+1, nb201_fakes.SIGMA_R, "r", 1e2)}}
from ntkcheck.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(tmp_path: Path, hashseed: str, jobs: int) -> dict:
    rep = tmp_path / f"rep-{hashseed}-{jobs}"
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "NTKCHECK_CACHE": str(tmp_path / "cache")}
    code = DRIVER.format(tests=str(Path(__file__).resolve().parents[1]))
    subprocess.run([sys.executable, "-c", code, "verify", "--only", ONLY, "--jobs", str(jobs), "--quiet",
                    "--no-figures", "--report", str(rep)], env=env, check=True, timeout=900)
    r = json.loads((rep / "report.json").read_text())
    for key in ("timings", "created_utc", "command"):
        r.pop(key)
    r["configuration"].pop("jobs")
    for res in r["results"]:
        res.pop("seconds")
    return r


def test_report_identical_across_hash_seeds_and_jobs(tmp_path):
    a = _run(tmp_path, "0", 1)
    b = _run(tmp_path, "12345", 1)
    c = _run(tmp_path, "777", 2)
    assert a["results"][0]["id"] == "tenas2021.T3a" and a["results"][0]["verdict"] == "pass"
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert json.dumps(a, sort_keys=True) == json.dumps(c, sort_keys=True)
