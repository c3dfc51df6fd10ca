"""`ntkcheck kernel` end to end: outputs, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.theory.kernels import infinite_width_kernels


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    p = tmp_path / "X.npy"
    np.save(p, X)
    return p, X


def test_kernel_writes_npz_matching_api(tmp_path, data):
    p, X = data
    spec = {"fc": ["relu", "tanh"], "skips": []}
    sp = tmp_path / "spec.json"
    sp.write_text(json.dumps(spec))
    out = tmp_path / "k.npz"
    assert main(["kernel", str(sp), str(p), "-o", str(out), "--quiet"]) == 0
    z = np.load(out)
    ref = infinite_width_kernels(spec, X)
    np.testing.assert_array_equal(z["ntk"], ref.ntk)
    np.testing.assert_array_equal(z["nngp"], ref.nngp)
    meta = json.loads(str(z["meta"]))
    assert meta["command"] == "kernel" and "numpy" in meta["versions"]
    assert z["ntk_lambda_min"] == pytest.approx(np.linalg.eigvalsh(ref.ntk)[0], abs=float(z["ntk_lambda_min_error"]) + 1e-15)


def test_kernel_nb201_all(tmp_path):
    out = tmp_path / "nb.npz"
    assert main(["kernel", "--nb201-all", "--sphere", "6", "4", "-o", str(out), "--quiet"]) == 0
    z = np.load(out)
    assert z["cells"].shape == (15625,) and z["ntk_lambda_min"].shape == (15625,)
    assert z["degenerate"].sum() > 0  # cells with every input→output path cut by 'none'


BAD = [
    ('{"fc": ["relu", "bogus"]}', "unknown activation"),
    ('{"nodes": 3, "edges": [[0, 1, "skip"], [2, 1, "skip"], [1, 2, "skip"]]}', "cycle"),
    ('{"nodes": 3, "edges": [[0, 1, "skip"]]}', "node 2 has no incoming edge"),
    ('{"nodes": 2, "edges": [[1, 1, "skip"]]}', "self-loop"),
    ('{"fc": ["relu"], "sigma_w2": -1}', "sigma_w2"),
    ('{"fc": ["relu"], "sigma_b2": -0.5}', "sigma_b2"),
    ('|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|nor_conv_1x1~2|', "malformed NB201"),
    ('|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|', "unknown op"),
    ('{"nodes": 2, "edges": [[0, 1, "dense"]]}', "needs an activation"),
]


@pytest.mark.parametrize("spec,needle", BAD)
def test_bad_spec_one_line_exit_2(spec, needle, data, capsys):
    p, _ = data
    assert main(["kernel", spec, str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ntkcheck: error:") and needle in err and "\n" not in err


@pytest.mark.parametrize("array,needle", [
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
    (np.zeros(5), "shape (N, d)"),
    (np.array([[1.0, 2.0], [1.0, 2.0]]), "duplicate rows"),
])
def test_bad_data_one_line_exit_2(tmp_path, array, needle, capsys):
    p = tmp_path / "bad.npy"
    np.save(p, array)
    assert main(["kernel", '{"fc": ["relu"]}', str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_subprocess_no_traceback_and_nothing_written(tmp_path):
    out = tmp_path / "never.npz"
    r = subprocess.run([sys.executable, "-m", "ntkcheck.cli", "kernel", '{"fc": ["nope"]}', "--sphere", "3", "2",
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("spec,needle", [
    ('{"nodes": NaN, "edges": []}', "must be an integer"),
    ('{"chen_dag": "2_21", "sigma_w2": 1.0}', "conflict with the 'chen_dag' shorthand"),
    ('{"fc": ["relu"], "nodes": 3}', "conflict with the 'fc' shorthand"),
])
def test_more_bad_specs_one_line_exit_2(spec, needle, data, capsys):
    p, _ = data
    assert main(["kernel", spec, str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_output_to_a_directory_is_a_user_error(tmp_path, data, capsys):
    p, _ = data
    assert main(["kernel", '{"fc": ["relu"]}', str(p), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_written_files_have_normal_permissions(tmp_path, data):
    import os
    import stat

    p, _ = data
    out = tmp_path / "k.npz"
    assert main(["kernel", '{"fc": ["relu"]}', str(p), "-o", str(out), "--quiet"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_residual_depth_is_not_exponential():
    """40 residual blocks have 2^40 paths: structure queries count them by dynamic programming."""
    from ntkcheck.spec import residual_spec

    spec = residual_spec(["relu"] * 40)
    assert spec.n_paths == 2 ** 40 and not spec.is_degenerate
    assert spec.path_depth_histogram[20] == 137846528820  # C(40, 20) paths use 20 dense edges
    X = np.eye(3)
    assert np.all(np.isfinite(infinite_width_kernels(spec, X).ntk))
