"""Tests of empirical/{finite_width,generalization,eigen_nas}.py, the `ntkcheck bounds` CLI and the zhu2022 checks.

Expected values come from a second computation (np.linalg.solve vs the eigendecomposition; λ_min recomputed
with numpy from the returned kernels; exact enumeration counts)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError

pytest.importorskip("ntkcheck.theory.kernels")


def _sphere(N, d, seed):
    X = np.random.default_rng(seed).standard_normal((N, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_cao_gu_quantity_vs_solve_and_lambda_bound():
    from ntkcheck.empirical.generalization import cao_gu_closed_form_bound, cao_gu_quantity
    from ntkcheck.theory.bounds import exact_kernel

    X = _sphere(9, 12, 0)
    y = np.where(np.random.default_rng(1).random(9) < 0.5, -1.0, 1.0)
    spec = {"fc": ["relu", "erf"]}
    K = exact_kernel(spec, X)
    q = cao_gu_quantity(K, y)
    assert q["quantity"] == pytest.approx(math.sqrt(y @ np.linalg.solve(K, y) / 9), rel=1e-10)
    assert q["quantity"] <= q["lambda_bound"] * (1 + 1e-12)
    assert q["lambda_bound"] <= cao_gu_closed_form_bound(spec, X) * (1 + 1e-12)
    with pytest.raises(NtkcheckError):
        cao_gu_quantity(K, y * 2)
    Ks = K.copy()
    Ks[:, 1], Ks[1, :] = Ks[:, 0], Ks[0, :]       # two identical rows/columns: a duplicate training point
    with pytest.raises(NtkcheckError, match="singular"):
        cao_gu_quantity(Ks, y)


def test_finite_width_fractions_recomputed():
    pytest.importorskip("torch")
    from ntkcheck.empirical.finite_width import finite_width_check

    X = _sphere(4, 6, 2)
    res = finite_width_check({"fc": ["relu", "tanh"]}, X, widths=(16, 64), seeds=2)
    assert res.lambda_emp.shape == (2, 2)
    for a in range(2):
        low = res.lambda_emp[a] - res.lambda_emp_error[a] >= 0.5 * res.lambda_inf
        assert res.frac_lower[a] == pytest.approx(float(np.mean(low)))
    assert 0 <= min(res.frac_both) and max(res.frac_both) <= 1
    with pytest.raises(NtkcheckError):
        finite_width_check({"fc": ["relu"]}, X, widths=(8,), seeds=1, lo=2.0)


def test_search_spaces_and_ranking():
    from ntkcheck.empirical.eigen_nas import (closed_form_score, exact_score, fc_search_space, nb201_search_space,
                                              rank_correlation, rank_search_space)

    space = fc_search_space(3)
    assert len(space) == 7 ** 3 * 2 and len({json.dumps(s.to_json()) for s in space}) == len(space)
    assert len(fc_search_space(2, skips=False)) == 49
    cells = nb201_search_space(sample=30, seed=1)
    assert len(cells) == 30 and not any(c.is_degenerate for c in cells)
    X = _sphere(6, 8, 3)
    specs = fc_search_space(2, ("relu", "erf", "identity"), sample=5, seed=0)
    rk = rank_search_space(specs, X, scorers=("closed_form", "exact"), accuracies=[1, 2, 3, 4, 5], n_boot=50)
    ex = np.array(rk.scores["exact"])
    assert rk.order["exact"][0] == int(np.argmax(ex))
    for s, c, e in zip(specs, rk.scores["closed_form"], ex):
        assert c <= e + 1e-9   # the train-free score is a certified lower bound
    assert rank_correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])["value"] == pytest.approx(1.0)
    assert exact_score(specs[0], X) == pytest.approx(ex[0])
    assert closed_form_score(specs[0], X) == pytest.approx(rk.scores["closed_form"][0])


def test_cli_json_and_exit_codes(tmp_path, capsys):
    from ntkcheck.cli import main

    X = _sphere(6, 10, 4)
    np.save(tmp_path / "x.npy", X)
    spec = json.dumps({"fc": ["relu", "tanh"], "skips": []})
    assert main(["bounds", spec, str(tmp_path / "x.npy"), "--json", "-o", str(tmp_path / "o.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"kernel", "lambda_min", "lambda_min_error", "lower_bounds", "upper_bounds", "vacuous"}
    assert json.loads((tmp_path / "o.json").read_text())["lambda_min"] == out["lambda_min"]
    assert all(v <= out["lambda_min"] + out["lambda_min_error"] + 1e-9 for v in out["lower_bounds"].values())
    assert main(["bounds", spec, str(tmp_path / "x.npy"), "--kernel", "nngp"]) == 0
    assert "lambda_min" in capsys.readouterr().out
    np.save(tmp_path / "bad.npy", np.array([[1.0, np.inf]]))
    assert main(["bounds", spec, str(tmp_path / "bad.npy")]) == 2
    assert main(["bounds", '{"fc": ["nope"]}', str(tmp_path / "x.npy")]) == 2
    assert main(["bounds", spec, str(tmp_path / "missing.npy")]) == 2
    assert main(["bounds", '{"chen_dag": "2_21"}', str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("ntkcheck: error:") == 4 and "Traceback" not in err


def test_zhu2022_check_records():
    from ntkcheck.paper_checks.check import Context, run_check
    from ntkcheck.paper_checks.zhu2022 import CHECKS

    ids = [c.id for c in CHECKS]
    assert ids == [f"zhu2022.{k}" for k in range(1, 13)] + ["zhu2022.LB"] + [f"zhu2022.{k}" for k in range(13, 18)] + [
        "zhu2022.G"]
    assert all(c.kind == "hypothesis" for c in CHECKS if c.id == "zhu2022.G" or c.id[8:].isdigit() and int(c.id[8:]) >= 12)
    fast = {c.id: c for c in CHECKS}
    for k in ("4", "5", "6", "10"):
        assert run_check(fast[f"zhu2022.{k}"], Context()).verdict == "pass", k
    assert run_check(fast["zhu2022.2"], Context()).verdict == "consistent"      # the paper's own arithmetic
