"""``verify --sweep STORE``: the TE-NAS NB201 population is every cell of a sweep store (no sampling), and the
checks judge the store's values — a store whose κ_N ordering is reversed turns T3a from pass to fail."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.data import nb201_accuracies, nb201_table
from ntkcheck.errors import NtkcheckError
from ntkcheck.paper_checks import tenas2021
from ntkcheck.paper_checks.check import Context, run_check
from ntkcheck.paper_checks.nb201_population import has_path
from ntkcheck.sweep.store import Row, open_store


def _store(path, sign_kappa: float, n: int = 300, seed: int = 0):
    """A store with synthetic κ_N and R̂_N of ``n`` NB201 cells tied to their CIFAR-100 accuracy:
    κ = exp(sign·z + noise) (sign −1: the paper's direction and effect), R = acc + noise."""
    rng = np.random.default_rng(seed)
    arch = nb201_table().arch
    table = nb201_accuracies("cifar100")
    live = [i for i in range(len(arch)) if has_path(arch[i])]
    pick = sorted(int(i) for i in rng.choice(live, n, replace=False))
    acc = np.array([table[arch[i]] for i in pick])
    z = (acc - acc.mean()) / acc.std()
    # noise 1.29: τ = (2/π) asin(1/√(1 + 1.29²)) ≈ 0.42, the paper's effect (T3a is decided on magnitude)
    kappa = np.exp(sign_kappa * z + 1.29 * rng.standard_normal(n))
    regions = 1000 + 100 * z + 60 * rng.standard_normal(n)
    st = open_store(path)
    st.register("nb201", {"kappa": ("hk", {"batch": 16}, "test crops"), "regions": ("hr", {"samples": 1000}, "test")})
    rows = [Row("nb201", arch[i], m, h, 0, float(v), "ok", "", 0.1, "cpu", "test")
            for (m, h, vals) in (("kappa", "hk", kappa), ("regions", "hr", regions)) for i, v in zip(pick, vals)]
    st.add(rows)
    st.close()
    return path


def _t3a(ctx):
    return run_check(next(c for c in tenas2021.CHECKS if c.id == "tenas2021.T3a"), ctx)


def test_t3a_judges_the_store_values(tmp_path):
    r = _t3a(Context(sweep=str(_store(tmp_path / "good.sqlite", -1.0)), cache_dir=tmp_path))
    assert r.verdict == "pass" and r.power["n"] == 300
    r = _t3a(Context(sweep=str(_store(tmp_path / "reversed.sqlite", +1.0)), cache_dir=tmp_path))
    assert r.verdict == "fail"


def test_store_without_the_metrics_is_one_line_error(tmp_path):
    st = open_store(tmp_path / "empty.sqlite")
    st.close()
    from ntkcheck.paper_checks.nb201_population import sweep_population

    with pytest.raises(NtkcheckError, match="no kappa"):
        sweep_population(Context(sweep=str(tmp_path / "empty.sqlite"), cache_dir=tmp_path))


def test_cli_rejects_a_missing_store(tmp_path, capsys):
    from ntkcheck.cli import main

    assert main(["verify", "--only", "tenas2021.T3a", "--sweep", str(tmp_path / "nope.sqlite"),
                 "--report", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
