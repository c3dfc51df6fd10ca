"""Tests of ``ntkcheck empirical``: the written file against the library call it wraps (the same seeds give
bit-identical kernels), the certified λ_min against numpy's eigvalsh (a second solver; tolerance 1e-10
relative to λ_max, the backward error of a symmetric eigensolver on a 6×6 matrix is ~1e-15), and every
bad input → exit 2 with a one-line message."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.empirical.ntk import empirical_kernels
from ntkcheck.spec import parse_spec

SPEC = {"fc": ["relu", "tanh", "relu"], "skips": [[0, 2]], "sigma_b2": 0.1}


@pytest.fixture()
def files(tmp_path):
    X = np.random.default_rng(0).standard_normal((6, 3))
    xp = tmp_path / "X.npy"
    np.save(xp, X)
    sp = tmp_path / "spec.json"
    sp.write_text(json.dumps(SPEC))
    return tmp_path, sp, xp, X


def test_cli_writes_means_and_per_seed_lambda_min(files, capsys):
    tmp, sp, xp, X = files
    out = tmp / "out.npz"
    rc = main(["empirical", str(sp), str(xp), "--width", "16", "--seeds", "3", "--seed", "5", "--device", "cpu",
               "--quiet", "-o", str(out)])
    assert rc == 0 and capsys.readouterr().out == ""
    z = np.load(out)
    ek = empirical_kernels(parse_spec(SPEC), X, 16, 3, base_seed=5, device="cpu")
    np.testing.assert_array_equal(z["ntk"], ek.ntk)
    np.testing.assert_array_equal(z["nngp"], ek.nngp)
    assert list(z["seeds"]) == [5, 6, 7]
    for k, name in ((ek.ntk_per_seed, "ntk"), (ek.nngp_per_seed, "nngp")):
        ref = np.array([np.linalg.eigvalsh(m)[0] for m in k])
        lmax = max(np.linalg.eigvalsh(m)[-1] for m in k)
        np.testing.assert_allclose(z[f"lambda_min_{name}"], ref, rtol=0, atol=1e-10 * lmax)
        assert np.all(z[f"lambda_min_{name}_err"] < 1e-10 * lmax)
        assert not z[f"singular_{name}"].any()
    meta = json.loads(str(z["meta"]))
    assert meta["width"] == 16 and meta["seeds"] == [5, 6, 7] and meta["parametrization"] == "ntk"
    assert "torch" in meta["versions"] and meta["spec"]["sigma_b2"] == 0.1
    assert not list(tmp.glob(".out.npz*"))  # no temporary file left behind


def test_cli_standard_parametrization_float32_nb201_string(files):
    tmp, _, xp, _ = files
    out = tmp / "o.npz"
    rc = main(["empirical", "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
               str(xp), "--width", "8", "--parametrization", "standard", "--dtype", "float32", "--engine", "loop",
               "--device", "cpu", "--quiet", "-o", str(out)])
    assert rc == 0
    z = np.load(out)
    assert z["ntk"].dtype == np.float64 and z["ntk"].shape == (6, 6)
    assert json.loads(str(z["meta"]))["dtype"] == "float32"


@pytest.mark.parametrize("extra,data,match", [
    (["--width", "0"], None, "width"),
    (["--width", "-4"], None, "width"),
    (["--width", "8", "--seeds", "0"], None, "seeds"),
    (["--width", "8"], np.full((3, 2), np.nan), "NaN"),
    (["--width", "8"], np.arange(4.0), "shape"),
    (["--width", "8"], np.ones((3, 2)), "duplicate"),
    (["--width", "8", "--chunk-size", "0"], None, "chunk"),
])
def test_cli_bad_input_exit_2(files, capsys, extra, data, match):
    tmp, sp, xp, _ = files
    if data is not None:
        np.save(xp, data)
    rc = main(["empirical", str(sp), str(xp), "--device", "cpu", "--quiet", "-o", str(tmp / "o.npz"), *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("ntkcheck: error:") and match in err and "\n" not in err
    assert not (tmp / "o.npz").exists()


def test_cli_bad_spec_and_missing_file(files, capsys):
    tmp, _, xp, _ = files
    assert main(["empirical", '{"fc": ["nope"]}', str(xp), "--width", "4", "-o", str(tmp / "o.npz")]) == 2
    assert "unknown activation" in capsys.readouterr().err
    assert main(["empirical", json.dumps(SPEC), str(tmp / "missing.npy"), "--width", "4", "-o",
                 str(tmp / "o.npz")]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_subprocess_error_is_one_line(files):
    tmp, sp, xp, _ = files
    r = subprocess.run([sys.executable, "-m", "ntkcheck.cli", "empirical", str(sp), str(xp), "--width", "0",
                        "-o", str(tmp / "o.npz")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["ntkcheck: error: argument --width: expected a positive integer, got '0' "
                                             "(see ntkcheck empirical --help)"]
