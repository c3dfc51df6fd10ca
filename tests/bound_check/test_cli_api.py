"""`ntkcheck bound` (exit codes 0/1/2, --json, the written report), the pytest helper, the exported hypothesis
strategies, and the empirical quantity's statistical verdict."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.bound_check import assert_bound_holds, check_bound
from ntkcheck.bound_check.strategies import (Domain, architectures, chen_dag_specs, datasets, make_data)
from ntkcheck.cli import main
from ntkcheck.io import load_data
from ntkcheck.spec import ArchSpec, load_spec
from ntkcheck.theory.kernels import infinite_width_kernels

FAST = "relu,identity,leaky_relu:0.2,erf"


@pytest.mark.parametrize("argv, msg", [
    (["--quantity", "ntk_lambda_mid", "--lower", "1"], "unknown quantity"),
    (["--quantity", "ntk_lambda_min", "--lower", "x*N"], "unknown name"),
    (["--quantity", "ntk_lambda_min", "--lower", "N*("], "cannot parse"),
    (["--quantity", "ntk_lambda_min", "--lower", "1", "--assume", "N +"], "cannot parse"),
    (["--quantity", "ntk_lambda_min", "--upper", "bogus(2)"], "unknown function"),
    (["--quantity", "ntk_lambda_min", "--lower", "1", "--trials", "0"], "trials"),
    (["--quantity", "ntk_lambda_min", "--lower", "1", "--activations", "nope"], "unknown activation"),
    (["--quantity", "ntk_lambda_min", "--lower", "1", "--assume", "N"], "must be a relation"),
    (["--quantity", "ntk_lambda_min", "--lower", "empirical_ntk_lambda_min(0)"], "out of range"),
])
def test_bad_input_exits_2_with_one_line(argv, msg, capsys):
    assert main(["bound", *argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ntkcheck: error:") and msg in err and "\n" not in err


def test_violation_exits_1_and_writes_a_loadable_counterexample(tmp_path, capsys):
    out = tmp_path / "ce"
    rc = main(["bound", "--quantity", "ntk_lambda_min", "--lower", "diag_min", "--space", "all", "--trials", "20",
               "--activations", FAST, "--seed", "0", "--out", str(out), "--json", "--quiet"])
    assert rc == 1
    res = json.loads(capsys.readouterr().out)
    assert {"verdict", "tried", "evidence", "min_evidence", "min_slack", "counterexample"} <= set(res)
    assert res["verdict"] == "violated" and res["command_line"].startswith("ntkcheck bound --quantity")
    for f in ("spec.json", "X.npy", "report.md", "report.json", "report.png", "report.pdf"):
        assert (out / f).stat().st_size > 0
    spec, X = load_spec(out / "spec.json"), load_data(out / "X.npy")
    K = infinite_width_kernels(spec, X).ntk                     # both sides recomputed from the saved files
    assert np.linalg.eigvalsh(K)[0] < np.min(np.diag(K)) - 1e-6
    rep = json.loads((out / "report.json").read_text())
    assert rep["seed"] == 0 and "numpy" in rep["versions"] and rep["problem"]["bound"] == "diag_min"
    md = (out / "report.md").read_text()
    assert "Counterexample" in md and "bound" in md and "diag_min" in md


def test_no_violation_exits_0_with_tightness_histogram(tmp_path, capsys):
    out = tmp_path / "ok"
    rc = main(["bound", "--quantity", "ntk_lambda_max", "--upper", "trace", "--space", "fc", "--trials", "15",
               "--activations", FAST, "--out", str(out), "--json", "--quiet"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["verdict"] == "holds" and res["tried"] == 15 and res["counterexample"] is None
    assert res["min_slack"] >= 0
    for f in ("report.md", "report.json", "report.png", "report.pdf", "tightest/spec.json", "tightest/X.npy"):
        assert (out / f).stat().st_size > 0
    assert "No certified violation" in (out / "report.md").read_text()


def test_assert_bound_holds_helper():
    r = assert_bound_holds("nngp_lambda_max", upper="trace", space="fc", trials=10, activations=("relu",))
    assert r.verdict == "holds"
    with pytest.raises(AssertionError, match="certified violation"):
        assert_bound_holds("nngp_lambda_max", upper="trace/2", space="fc", trials=10, activations=("relu",))


def test_python_function_bound():
    r = check_bound("ntk_lambda_min", lower=lambda ctx: ctx.diag_min, space="fc", trials=10, activations=("relu",))
    assert r.verdict == "violated" and r.counterexample.violated


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["fc", "residual", "dag", "nb201"]).flatmap(
    lambda s: architectures(s, Domain(activations=("relu", "erf")))), datasets(Domain(N=(1, 5), d=(1, 4))))
def test_strategies_give_valid_specs_and_unit_distinct_data(spec, X):
    assert isinstance(spec, ArchSpec) and 1 <= X.shape[0] <= 5 and 1 <= X.shape[1] <= 4
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0)
    if X.shape[0] > 1:
        D = np.linalg.norm(X[:, None] - X[None], axis=-1) + np.eye(X.shape[0])
        assert D.min() > 1e-9
    K = infinite_width_kernels(spec, X)
    assert K.ntk.shape == (X.shape[0],) * 2 and np.all(np.isfinite(K.ntk))


@settings(max_examples=10, deadline=None)
@given(chen_dag_specs())
def test_chen_strategy_is_the_linact_family(spec):
    assert spec.readout == "none" and spec.input == "raw"
    assert all(e.kind in ("zero", "skip", "linact") for e in spec.edges)


@pytest.mark.parametrize("kind", ["sphere", "clustered", "nearly_parallel", "low_rank"])
def test_data_kinds(kind):
    X = make_data(kind, 6, 4, seed=3, k=2, scale_exp=2.0)
    assert X.shape == (6, 4) and np.allclose(np.linalg.norm(X, axis=1), 1.0)
    C = X @ X.T
    rho = np.max(np.abs(C - np.diag(np.diag(C))))
    if kind == "nearly_parallel":
        assert rho > 0.99
    if kind == "low_rank":
        assert np.linalg.matrix_rank(X / np.linalg.norm(X, axis=1, keepdims=True), tol=1e-8) <= 4
    Xf = make_data(kind, 6, 4, seed=3, unit_norm=False)
    assert not np.allclose(np.linalg.norm(Xf, axis=1), 1.0)


def test_empirical_quantity_statistical_verdict():
    """λ_min of the empirical NTK ≤ trace (true for every network) is never flagged; diag_min as a lower bound
    (false as soon as an off-diagonal entry is non-zero) is caught with a significant binomial test."""
    kw = dict(assume=["n <= 64", "L <= 2"], space="fc", trials=8, seed=0, seeds=4, activations=("relu", "identity"),
              min_evidence=8)
    ok = check_bound("empirical_ntk_lambda_min", upper="trace", **kw)
    assert ok.verdict == "holds" and ok.tried == 8 and ok.evidence == 8
    bad = check_bound("empirical_ntk_lambda_min", lower="diag_min", **kw)
    assert bad.verdict == "violated"
    ce = bad.counterexample
    assert ce.n_violating_seeds >= 3 and ce.p_value < 0.01 and ce.config.width is not None
