"""The NB201 populations of the Mok / Zhu checks: seeded stratified sampling, numbers that an independent
computation from the accuracy table reproduces, figures that show exactly their check's statistic, and results
that do not depend on PYTHONHASHSEED."""

import json
import os
import subprocess
import sys

import numpy as np
from scipy.stats import kendalltau

from ntkcheck import data
from ntkcheck.paper_checks import mok2022, nb201_proxy
from ntkcheck.paper_checks.check import Context, run_check

SYNTHETIC = '''
import numpy as np
from ntkcheck.empirical.metrics import label_similarity
from ntkcheck.paper_checks import nb201_proxy

def table(n=48, seed=0):
    idx = nb201_proxy.stratified_cells(n, 8, 0)
    acc = nb201_proxy.accuracies("cifar10")[idx]
    z = np.argsort(np.argsort(acc)) / (n - 1)
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10), 3)
    Ks = []
    for zi in z:
        G = rng.standard_normal((30, 40))
        K0 = G @ G.T / 40
        Ks.append(np.stack([K0 + k * (0.05 + 0.3 * zi + 0.3 * rng.random()) * label_similarity(y) for k in (0, 1, 3)]))
    return nb201_proxy.ProxyTable(nb201_proxy.ProxyConfig(n_cells=n), idx, tuple(map(str, idx)), (0, 1, 3), Ks,
                                  [y] * n, np.full(n, 50.0))
'''


def _synthetic():
    ns: dict = {}
    exec(SYNTHETIC, ns)
    return ns["table"]()


def test_stratified_sample_is_seeded_balanced_and_non_degenerate():
    a = nb201_proxy.stratified_cells(64, 8, 0)
    assert np.array_equal(a, nb201_proxy.stratified_cells(64, 8, 0)) and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, nb201_proxy.stratified_cells(64, 8, 1))
    acc = nb201_proxy.accuracies("cifar10")
    from ntkcheck.paper_checks.nb201_population import _degenerate

    ok = np.flatnonzero(~_degenerate(data.nb201_table().arch))
    assert set(a.tolist()) <= set(ok.tolist())
    edges = np.quantile(np.sort(acc[ok]), np.linspace(0, 1, 9))          # equal-count bins of the population
    counts = np.histogram(acc[a], bins=edges)[0]
    assert counts.min() >= 7 and counts.max() <= 9                         # 8 per bin (ties at bin edges)


def test_l7a_tau_matches_an_independent_computation(monkeypatch, tmp_path):
    t = _synthetic()
    monkeypatch.setattr(nb201_proxy, "conv_proxy", lambda ctx: t)
    r = run_check(next(c for c in mok2022.CHECKS if c.id == "mok2022.L7a"), Context(cache_dir=tmp_path))
    by_cell = data.nb201_accuracies("cifar100")                             # by cell string, not by index
    acc = [by_cell[data.nb201_table().arch[i]] for i in t.index]
    lga1 = [np.corrcoef(K[1].ravel(), (2.0 * (y[:, None] == y[None, :]) - 1).ravel())[0, 1]
            for K, y in zip(t.kernels, t.labels)]                         # LGA = Pearson r of entries (digest §4)
    assert abs(r.measured["cifar100"] - kendalltau(lga1, acc)[0]) < 1e-12
    assert r.power["n"] == len(t.index) and r.power["min_detectable"] > 0


def test_mok_figure_shows_its_checks_statistic(monkeypatch, tmp_path):
    from ntkcheck.figures import mok2022 as fm

    t = _synthetic()
    monkeypatch.setattr(nb201_proxy, "conv_proxy", lambda ctx: t)
    ctx = Context(cache_dir=tmp_path)
    fig = fm._fig_corr(ctx)
    cols = fig.columns
    for cid, label, key in (("mok2022.L7a", "LGA after 1 epoch", None), ("mok2022.L8", "κ at init", "kappa")):
        r = run_check(next(c for c in mok2022.CHECKS if c.id == cid), ctx)
        i = next(j for j in range(len(cols["metric"])) if cols["metric"][j] == label and cols["dataset"][j] == "cifar10")
        if key is None:
            assert cols["tau"][i] == r.measured["cifar10"] and [cols["ci_low"][i], cols["ci_high"][i]] == r.details["ci95"]
        else:
            per = r.details["per_metric"][key]["cifar10"]
            assert cols["tau"][i] == per["tau"] and [cols["ci_low"][i], cols["ci_high"][i]] == per["ci95"]
    import matplotlib.pyplot as plt

    plt.close(fig.figure)


def test_results_do_not_depend_on_pythonhashseed(tmp_path):
    script = SYNTHETIC + '''
import json, sys
from ntkcheck.paper_checks import mok2022
from ntkcheck.paper_checks.check import Context, run_check
nb201_proxy.conv_proxy = lambda ctx: table()
nb201_proxy.seed_replicates = lambda ctx, t, pos, n: [[t.kernels[p]] * n for p in pos]
out = {}
for cid in ("mok2022.L7b", "mok2022.L8", "mok2022.L3"):
    r = run_check(next(c for c in mok2022.CHECKS if c.id == cid), Context(cache_dir=sys.argv[1]))
    out[cid] = [r.verdict, r.measured, r.details.get("ci95"), r.details.get("per_dataset"), r.details.get("per_metric")]
print(json.dumps(out, sort_keys=True, default=str))
'''
    outs = []
    for h in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": h}
        p = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True,
                           check=True)
        outs.append(json.loads(p.stdout))
    assert outs[0] == outs[1]


def _fake_eigennas_population(monkeypatch, score, acc=None):
    """A 220-cell population with the given Eigen-NAS scores (no network is built) for zhu2022.1."""
    from ntkcheck.paper_checks import conv_nb201_space, nb201_population

    rng = np.random.default_rng(1)
    acc = acc or {d: rng.uniform(10, 90, score.size) for d in ("cifar10", "cifar100", "ImageNet16-120")}
    cells = [f"cell{k}" for k in range(score.size)]
    monkeypatch.setattr(nb201_population, "population",
                        lambda ctx: {"cells": cells, "accuracy": acc, "sampling": "synthetic"})
    monkeypatch.setattr(conv_nb201_space, "eigennas_values", lambda ctx, c: np.asarray(score, float))


def test_zhu_nb201_figure_shows_its_checks_searches(monkeypatch, tmp_path):
    from ntkcheck.figures import zhu2022 as fz
    from ntkcheck.paper_checks import zhu2022

    _fake_eigennas_population(monkeypatch, np.random.default_rng(0).permutation(220) / 219.0)
    fig = fz._fig_eigennas_nb201("small", 0, True)
    r = run_check(next(c for c in zhu2022.CHECKS if c.id == "zhu2022.1"), Context(cache_dir=tmp_path))
    sel = np.array(fig.columns["selected_accuracy"])[np.array(fig.columns["dataset"]) == "cifar10"]
    assert sel.mean() == r.measured["cifar10"]
    import matplotlib.pyplot as plt

    plt.close(fig.figure)


def test_mok_figures_write(monkeypatch, tmp_path):
    from ntkcheck.figures import mok2022 as fm
    from ntkcheck.figures.common import write_figure

    t = _synthetic()
    monkeypatch.setattr(nb201_proxy, "conv_proxy", lambda ctx: t)
    figs = fm.make_figures()
    assert [f.name for f in figs] == ["mok_correlations_init_vs_epoch1", "mok_ntk_change_training"]
    for f in figs:
        paths = write_figure(f, tmp_path)
        assert {p.suffix for p in paths} == {".png", ".pdf", ".csv"} and all(p.stat().st_size > 0 for p in paths)
        assert "mok2022.L" in f.caption
