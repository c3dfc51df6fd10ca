"""Issue 15: `bound` never says a false "holds" — too little evidence is `undecided` (exit 3) with the reason;
relations between the two kernels can be stated; a counterexample never leaves the space it was asked about."""

import json

import pytest

from ntkcheck.bound_check import check_bound
from ntkcheck.bound_check.space import member
from ntkcheck.cli import main


@pytest.mark.parametrize("argv, why", [
    (["--lower", "0/0"], "not evaluable"),
    (["--lower", "N > 2"], "relation"),
    (["--lower", "log(-1)"], "not evaluable"),
    (["--lower", "0"], "vacuous"),
    (["--lower=-N"], "vacuous"),
    (["--lower", "0.001", "--assume", "N < 0"], "exclude"),
    (["--lower", "0.001", "--assume", "1 > 2"], "exclude"),
    (["--upper", "trace", "--trials", "3"], "fewer than the required 10"),
])
def test_no_evidence_is_undecided_exit_3(argv, why, capsys):
    rc = main(["bound", "--quantity", "ntk_lambda_min", "--trials", "12", "--activations", "relu", "--space", "fc",
               *argv, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 3 and doc["verdict"] == "undecided" and why in doc["reason"], doc
    assert doc["evidence"] < doc["min_evidence"]


def test_holds_states_the_evidence(capsys):
    rc = main(["bound", "--quantity", "ntk_lambda_max", "--upper", "trace", "--trials", "12", "--activations",
               "relu", "--space", "fc"])
    out = capsys.readouterr().out
    assert rc == 0 and "holds after 12 configurations, 12 of them evaluated and non-vacuous (minimum 10" in out


@pytest.mark.parametrize("space", ["fc", "residual", "nb201", "dag"])
def test_ntk_dominates_nngp_and_the_reverse_is_caught(space):
    # Θ = K + (a PSD matrix) for this family, so λ_min(Θ) ≥ λ_min(K) is true; λ_min(Θ) ≤ λ_min(K) is false
    kw = dict(space=space, trials=20, seed=0, activations=("relu", "tanh", "erf"))
    ok = check_bound("ntk_lambda_min", lower="nngp_lambda_min", **kw)
    assert ok.verdict == "holds" and ok.evidence >= 10
    bad = check_bound("ntk_lambda_min", upper="nngp_lambda_min", **kw)
    assert bad.verdict == "violated"
    assert member(bad.counterexample.config.spec, space) and member(bad.found.config.spec, space)


def test_finite_width_name():
    # finite-width quantities in a bound: a loose true relation holds, a false one is caught
    r = check_bound("ntk_lambda_min", upper="empirical_ntk_lambda_max(32) + 1000", space="fc", trials=10,
                    seed=0, seeds=2, activations=("relu",))
    assert r.verdict == "holds"
    r = check_bound("ntk_lambda_max", upper="empirical_ntk_lambda_min(32)", space="fc", trials=10, seed=0,
                    seeds=2, activations=("relu",), assume=["N >= 2"])
    assert r.verdict == "violated"


@pytest.mark.parametrize("space, cell_check", [
    ("residual", lambda s: len(s.edges) == 2 * (s.nodes - 1)),
    ("nb201", lambda s: s.nodes == 4 and len(s.edges) == 6),
])
def test_shrunk_counterexample_stays_in_the_space(space, cell_check):
    # a false claim (λ_min ≥ diag_min fails for every N ≥ 2): the shrinker would like to reach a two-layer net,
    # but the reported counterexample must still be a residual net / an NB201 cell
    r = check_bound("ntk_lambda_min", lower="diag_min", space=space, trials=20, seed=0, activations=("relu",))
    assert r.verdict == "violated"
    spec = r.counterexample.config.spec
    assert member(spec, space) and cell_check(spec), spec.to_json()


def test_no_hypothesis_directory_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NTKCHECK_CACHE", str(tmp_path / "cache"))
    check_bound("ntk_lambda_max", upper="trace", space="fc", trials=3, activations=("relu",), min_evidence=3)
    assert not (tmp_path / ".hypothesis").exists()


def test_report_records_the_shell_quoted_command(tmp_path):
    out = tmp_path / "r"
    rc = main(["bound", "--quantity", "ntk_lambda_max", "--upper", "trace * 1", "--trials", "10", "--activations",
               "relu", "--space", "fc", "--out", str(out), "--quiet"])
    rep = json.loads((out / "report.json").read_text())
    assert rc == 0 and "--upper 'trace * 1'" in rep["command"]
    assert "'trace * 1'" in (out / "report.md").read_text()
