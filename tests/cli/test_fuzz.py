"""Fuzz test of the command line (issue 15): hypothesis draws argument lists for the cheap subcommands
(``kernel``, ``bounds``, ``bound``, ``connectivity``, ``empirical``) together with spec and data files —
valid and invalid specs, arrays of odd dtypes and shapes (complex, object, strings, 0-d, 3-d, empty, NaN),
files that are not .npy, odd numbers (negative, zero, NaN, inf, 1e10, '1e3', huge) — and runs each in-process
through :func:`ntkcheck.cli.main`.

For every example: the exit status is 0, 1, 2 or 3; stderr holds no traceback and no internal error; every
error is one line; ``--json`` leaves exactly one JSON document on stdout and ``--quiet`` nothing; and the
output path is either absent or a complete, loadable file (no partial file, no temporary file left beside it).
The work per example is capped (N ≤ 6, widths ≤ 16, 2 bound trials), so 1,000+ examples take about a minute.
A few subprocess runs confirm the same on the real stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from ntkcheck.cli import main

_DB = DirectoryBasedExampleDatabase(os.path.join(tempfile.gettempdir(), "ntkcheck-test-hypothesis-db"))
FUZZ = settings(max_examples=int(os.environ.get('NTKCHECK_FUZZ_EXAMPLES', 1000)), deadline=None, database=_DB,
                suppress_health_check=list(HealthCheck))

# ---- files -----------------------------------------------------------------------------------------------

SPECS = [
    '{"fc": ["relu"]}', '{"fc": ["relu", "tanh"], "sigma_b2": 0.1}', '{"residual": ["relu"]}',
    "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
    '{"chen_dag": "2_21"}', "example",
    # invalid
    '{"fc": ["relu", "bogus"]}', '{"fc": []}', '{"nodes": 2, "edges": [[1, 0, "skip"]]}', "{not json",
    '{"fc": ["relu"], "sigma_w2": -1}', '{"fc": ["relu"], "sigma_w2": NaN}', '{"nodes": 1e400, "edges": []}',
    "|bogus~0|+|x|", "[1, 2, 3]", '"a string"', "", "2_21_112", "{}", '{"fc": ["relu"], "extra": 1}',
]

ARRAYS = {
    "ok": lambda: np.random.default_rng(0).standard_normal((4, 3)),
    "unit": lambda: (lambda X: X / np.linalg.norm(X, axis=1, keepdims=True))(
        np.random.default_rng(1).standard_normal((5, 4))),
    "one_row": lambda: np.ones((1, 3)),
    "dup_rows": lambda: np.ones((3, 2)),
    "float32": lambda: np.random.default_rng(2).standard_normal((4, 2)).astype(np.float32),
    "int": lambda: np.arange(6).reshape(3, 2),
    "bool": lambda: np.eye(3, dtype=bool),
    "complex": lambda: np.ones((3, 2)) + 1j,
    "object": lambda: np.array([[1.0, "a"], [2.0, None]], dtype=object),
    "strings": lambda: np.array([["a", "b"], ["c", "d"]]),
    "scalar": lambda: np.array(3.0),
    "vector": lambda: np.arange(4.0),
    "cube": lambda: np.zeros((2, 2, 2)),
    "empty": lambda: np.zeros((0, 3)),
    "no_cols": lambda: np.zeros((3, 0)),
    "nan": lambda: np.array([[1.0, np.nan], [0.0, 1.0]]),
    "inf": lambda: np.array([[1.0, np.inf], [0.0, 1.0]]),
    "zero_row": lambda: np.array([[0.0, 0.0], [1.0, 0.0]]),
    "structured": lambda: np.zeros(3, dtype=[("a", "f8"), ("b", "f8")]),
}
RAW_FILES = {"text": b"1 2 3\n4 5 6\n", "empty_file": b"", "truncated": None, "npz": None}


def _write_data(tmp: Path, kind: str) -> Path:
    p = tmp / f"{kind}.npy"
    if kind in ARRAYS:
        np.save(p, ARRAYS[kind](), allow_pickle=True)
    elif kind == "truncated":
        buf = io.BytesIO()
        np.save(buf, np.ones((50, 4)))
        p.write_bytes(buf.getvalue()[:100])
    elif kind == "npz":
        np.savez(p.with_suffix(".npz"), x=np.ones((2, 2)))
        p.write_bytes(p.with_suffix(".npz").read_bytes())
    else:
        p.write_bytes(RAW_FILES[kind])
    return p


NUMBERS = st.sampled_from(["0", "-1", "1", "2", "3", "nan", "inf", "-inf", "1e10", "1e3", "2.5", "abc", "",
                           "99999999999999999999", "-0", "0x10", "1_000"])
SMALL = st.sampled_from(["1", "2", "3", "4"])
BAD_COUNTS = st.sampled_from(["0", "-1", "nan", "inf", "2.5", "abc", "", "99999999999999999999", "1e10"])
# half the draws valid, so that successful runs (and their output files) are exercised as much as errors
DATA_KINDS = st.one_of(st.sampled_from(["ok", "unit"]),
                       st.sampled_from(sorted(ARRAYS) + sorted(RAW_FILES) + ["missing", "directory"]))
VALID_SPECS = SPECS[:6]
OUTPUTS = st.sampled_from(["none", "file", "wrong_suffix", "directory", "missing_parent", "under_a_file"])
FLAGS = st.lists(st.sampled_from(["--quiet", "--json"]), max_size=2, unique=True)


def _output(tmp: Path, kind: str, suffix: str) -> tuple[list[str], Path | None]:
    if kind == "none":
        return [], None
    if kind == "file":
        p = tmp / f"out{suffix}"
    elif kind == "wrong_suffix":
        p = tmp / "out.txt"
    elif kind == "directory":
        p = tmp
    elif kind == "missing_parent":
        p = tmp / "new" / f"out{suffix}"
    else:
        (tmp / "plainfile").write_text("x")
        p = tmp / "plainfile" / f"out{suffix}"
    return [str(p)], p


@st.composite
def commands(draw, tmp: Path):
    """(argv, output path or None, expected output format)."""
    cmd = draw(st.sampled_from(["kernel", "kernel_sphere", "bounds", "bound", "connectivity", "empirical",
                                "garbage"]))
    spec = draw(st.one_of(st.sampled_from(VALID_SPECS), st.sampled_from(SPECS)))
    if spec.startswith("{") and draw(st.booleans()):       # the same spec as a JSON file
        (tmp / "spec.json").write_text(spec)
        spec = str(tmp / "spec.json")
    data_kind = draw(DATA_KINDS)
    if data_kind == "missing":
        data = str(tmp / "missing.npy")
    elif data_kind == "directory":
        data = str(tmp)
    else:
        data = str(_write_data(tmp, data_kind))
    flags = draw(FLAGS)
    out_kind = draw(OUTPUTS)
    if cmd == "kernel":
        o, path = _output(tmp, out_kind, ".npz")
        argv = ["kernel", spec, data] + (["-o"] + o if o else [])
        if draw(st.booleans()):
            argv += ["--sphere", draw(SMALL), draw(SMALL)]        # conflicting inputs
        if draw(st.booleans()):
            argv += ["--normalize", draw(st.sampled_from(["none", "sphere", "bogus"]))]
        fmt = "npz"
    elif cmd == "kernel_sphere":
        o, path = _output(tmp, out_kind, ".npz")
        # N small or invalid (never a large valid N: the work per example stays tiny); d may be large
        argv = ["kernel", spec, "--sphere", draw(st.one_of(SMALL, BAD_COUNTS)), draw(st.one_of(SMALL, NUMBERS)),
                "--seed", draw(st.one_of(SMALL, NUMBERS))] + (["-o"] + o if o else [])
        fmt = "npz"
    elif cmd == "bounds":
        o, path = _output(tmp, out_kind, ".json")
        argv = ["bounds", spec, data, "--r-max", draw(st.one_of(SMALL, NUMBERS))] + (["-o"] + o if o else [])
        fmt = "json"
    elif cmd == "bound":
        o, path = _output(tmp, out_kind, "")
        side = draw(st.sampled_from(["--lower", "--upper"]))
        expr = draw(st.sampled_from(["diag_min", "trace", "0", "0/0", "N > 2", "log(-1)", "nngp_lambda_min",
                                     "2*ntk_lambda_max", "mu(1)**2", "x*N", "N*(", "__import__('os')",
                                     "lambda: 1", "q(99)", "empirical_ntk_lambda_min(0)", "sqrt(-N)"]))
        argv = ["bound", "--quantity", draw(st.sampled_from(["ntk_lambda_min", "nngp_lambda_max", "bogus"])),
                side, expr, "--trials", draw(st.sampled_from(["1", "2", "0", "-3", "nan"])),
                "--min-configs", draw(st.sampled_from(["1", "2", "0"])),
                "--activations", "relu", "--space", draw(st.sampled_from(["fc", "nb201", "residual", "moon"]))]
        if draw(st.booleans()):
            argv += ["--assume", draw(st.sampled_from(["N < 0", "N <= 3", "L == 1", "N +", "1 > 2"]))]
        if o:
            argv += ["--out"] + o
            path = path if out_kind != "file" else None   # --out is a directory; checked separately
        fmt = "dir"
    elif cmd == "connectivity":
        o, path = _output(tmp, out_kind, ".json")
        argv = ["connectivity", draw(st.sampled_from(["2_21_112", "1_02_112", "2_9", spec]))]
        if draw(st.booleans()):
            argv += ["--data", data, "--normalize"]
        argv += ["-o"] + o if o else []
        fmt = "json"
    elif cmd == "empirical":
        o, path = _output(tmp, out_kind, ".npz")
        argv = ["empirical", spec, data, "--width", draw(st.sampled_from(["4", "16", "0", "-2", "1e10", "nan",
                                                                          "1e3", "abc"])),
                "--seeds", draw(st.sampled_from(["1", "2", "0"])), "--device", "cpu",
                "--seed", draw(st.sampled_from(["0", "-1", "5"]))] + (["-o"] + o if o else [])
        fmt = "npz"
    else:
        argv = draw(st.lists(st.sampled_from(["kernel", "--sphere", "--bogus", "-o", "x", "bound", "--help",
                                              "1", "nan", "--version"]), max_size=5))
        path, fmt = None, None
    return argv + flags, path, fmt


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:       # main returns codes; argparse exits only through main's own handling
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _check_output(path: Path | None, fmt: str | None, code: int) -> None:
    if path is None or fmt is None or path.is_dir():
        return
    leftovers = [p.name for p in path.parent.glob(f".{path.name}.*")] if path.parent.is_dir() else []
    assert not leftovers, f"temporary files left: {leftovers}"
    if not path.exists():
        return
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as z:
            assert "ntk" in z.files and "meta" in z.files
            assert "command_line" in json.loads(str(z["meta"]))
    elif fmt == "json":
        json.loads(path.read_text())


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="ntkcheck-fuzz-") as d:
        yield Path(d)


@FUZZ
@given(data=st.data())
def test_cli_fuzz(workdir, data):
    import shutil

    tmp = workdir / "case"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    argv, path, fmt = data.draw(commands(tmp))
    code, out, err = _run(argv)
    assert code in (0, 1, 2, 3), (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    for line in err.splitlines():
        if "error:" in line:
            assert line.startswith("ntkcheck"), (argv, err)
    known = bool(argv) and argv[0] in ("kernel", "bounds", "bound", "connectivity", "empirical")
    helpish = "--help" in argv or "--version" in argv
    if known and code == 2 and not helpish:
        errors = [l for l in err.splitlines() if l.startswith("ntkcheck") and "error" in l]
        assert len(errors) == 1, (argv, err)               # one line naming the problem
    if known and "--json" in argv and not helpish and (code != 2 or out):
        json.loads(out)                                     # exactly one JSON document, nothing else
    elif known and "--quiet" in argv and not helpish:
        assert out == "", (argv, out)                       # --quiet: nothing on stdout
    _check_output(path, fmt, code)
    if fmt == "dir" and "--out" in argv:
        d = Path(argv[argv.index("--out") + 1])
        if d.is_dir() and (d / "report.json").exists():
            rep = json.loads((d / "report.json").read_text())
            assert rep["command"].startswith("ntkcheck bound")


# ---- on the real process: no traceback on stderr --------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["kernel", "--sphere", "5", "3", "--seed", "-1"],
    ["kernel", '{"fc": ["relu"]}', "--sphere", "5", "3", "--quiet", "--json"],
    ["empirical", '{"fc": ["relu"]}', "X.npy", "--width", "1e10", "-o", "e.npz"],
    ["bound", "--quantity", "ntk_lambda_min", "--lower", "0/0", "--trials", "3"],
    ["bounds", '{"fc": ["relu"]}', "text.npy"],
])
def test_subprocess_no_traceback(tmp_path, argv):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).standard_normal((4, 3)))
    (tmp_path / "text.npy").write_text("1 2 3\n")
    env = {**os.environ, "NTKCHECK_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "ntkcheck.cli", *argv], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode in (0, 1, 2, 3) and "Traceback" not in r.stderr, r.stderr
    if "--json" in argv:
        json.loads(r.stdout)
    assert not (tmp_path / ".hypothesis").exists()
