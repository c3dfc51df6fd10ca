"""The leaderboard of `sweep report` and the wide export, on small stores, against independently computed values."""

import itertools
import json
import sqlite3

import numpy as np
import pytest
from scipy import stats

from ntkcheck.data import nb201_accuracies, nb201_table
from ntkcheck.metrics import better_score
from ntkcheck.metrics.size import nb201_size
from ntkcheck.spec import NB201_OPS, nb201_string
from ntkcheck.sweep.report import has_unreachable_op

from .conftest import run_cli


def test_unreachable_ops_population_has_9445_cells():
    """The count of NAS-Bench-Suite-Zero's NB201 table (Krishnakumar et al. 2022): cells whose every non-none op
    lies on an input-to-output path."""
    cells = [nb201_string(o) for o in itertools.product(NB201_OPS, repeat=6)]
    assert sum(not has_unreachable_op(c) for c in cells) == 9445
    # node 1 feeds nothing that reaches the output: its incoming conv is unreachable
    assert has_unreachable_op("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    # node 2 is never fed from the input: the conv from 2 to 3 is unreachable
    assert has_unreachable_op("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    assert not has_unreachable_op("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")


def test_better_score_orients_each_metric():
    v = np.array([0.5, 1.625, 3.0, np.nan])
    assert np.array_equal(better_score("kappa", v)[:3], -v[:3])
    assert np.array_equal(better_score("params", v)[:3], v[:3])
    d = better_score("dbar", v)
    assert d[1] == 0 and d[0] < 0 and d[2] < 0 and np.isnan(d[3])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("lb")
    r = run_cli("dbar,mbar", "--sample", "60", "--out", "s.sqlite", "--quiet", cwd=d)
    assert r.returncode == 0, r.stderr
    return d


def test_leaderboard_numbers_protocol_and_files(store):
    cells = [c for (c,) in sqlite3.connect(store / "s.sqlite").execute("SELECT DISTINCT arch FROM results")]
    t = nb201_table()
    pos = {a: i for i, a in enumerate(t.arch)}
    with open(store / "valid.csv", "w") as fh:  # a user table of "validation" accuracies, by NB201 index
        fh.write("index,valid_acc\n")
        for c in cells[:50]:
            fh.write(f"{t.index[pos[c]]},{100 - len(c) / 10}\n")
    r = run_cli("report", "s.sqlite", "--against", "nb201:cifar10", "--combine", "dbar+mbar", "--targets",
                "valid.csv", "--resamples", "100", "--runs", "10", "--draws", "20", "--json", cwd=store)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    boards = rep["leaderboard"]
    assert [(b["population"]) for b in boards] == ["all", "reachable", "all", "reachable"]
    assert boards[2]["target"] == "valid_acc (from valid.csv)"
    rows = {x["label"]: x for x in boards[0]["rows"]}
    assert set(rows) == {"dbar", "mbar", "params", "flops", "conv_ops", "dbar+mbar"}
    assert rows["params"]["kind"] == "baseline" and rows["dbar+mbar"]["kind"] == "combined"
    cells = sorted(cells)
    acc = np.array([nb201_accuracies("cifar10")[c] for c in cells])
    size = nb201_size(cells)
    # τ of the closed-form #params baseline and the partial τ of #conv given #params, recomputed with scipy
    assert rows["params"]["kendall"]["statistic"] == pytest.approx(stats.kendalltau(size.params, acc).statistic)
    txy, txz, tyz = (stats.kendalltau(a, b).statistic for a, b in
                     ((size.conv_ops, acc), (size.conv_ops, size.params), (acc, size.params)))
    want = (txy - txz * tyz) / np.sqrt((1 - txz ** 2) * (1 - tyz ** 2))
    assert rows["conv_ops"]["partial_kendall_given_params"]["statistic"] == pytest.approx(want, rel=1e-12)
    assert rows["params"]["partial_kendall_given_params"] is None
    # the rank sum of the oriented d̄ and m̄
    from ntkcheck.theory.connectivity import nb201_depth_width

    dw = np.array([nb201_depth_width(c) for c in cells])
    rs = stats.rankdata(-np.abs(dw[:, 0] - 1.625)) + stats.rankdata(-np.abs(dw[:, 1] - 13 / 6))
    assert rows["dbar+mbar"]["kendall"]["statistic"] == pytest.approx(stats.kendalltau(rs, acc).statistic)
    # 1% of 60 cells is below one cell: not reported, and said so
    assert rows["dbar"]["top_k_retention"]["1%"] is None and rows["dbar"]["top_k_retention"]["5%"] is not None
    assert any("top-1% of 60 cells" in w for w in rep["warnings"])
    n_reach = sum(not has_unreachable_op(c) for c in cells)
    assert boards[1]["n_cells"] == n_reach
    md = (store / "s-report" / "report.md").read_text()
    assert md.count("Protocol: target") == 4 and "BCa" in md and "sign:" in md
    for f in ("leaderboard.png", "leaderboard.pdf", "report.json"):
        assert (store / "s-report" / f).exists()
    assert "/" not in rep["store"]


def test_incomplete_store_and_bad_combine_are_reported(store, tmp_path):
    import shutil

    shutil.copy(store / "s.sqlite", tmp_path / "s.sqlite")
    con = sqlite3.connect(tmp_path / "s.sqlite")
    with con:
        con.execute("DELETE FROM results WHERE metric = 'mbar' AND arch IN "
                    "(SELECT arch FROM results WHERE metric = 'mbar' ORDER BY arch LIMIT 7)")
    con.close()
    r = run_cli("report", "s.sqlite", "--against", "nb201:cifar10", "--resamples", "100", "--draws", "20",
                "--runs", "5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "mbar: values for 53 of the 60 cells" in r.stdout and "53 cells that every metric has" in r.stdout
    con = sqlite3.connect(tmp_path / "s.sqlite")
    with con:  # a sweep stopped early: every metric has the same cells, fewer than the command asked for
        con.execute("DELETE FROM results WHERE arch NOT IN (SELECT arch FROM results WHERE metric = 'mbar')")
    con.close()
    r = run_cli("report", "s.sqlite", "--against", "nb201:cifar10", "--resamples", "100", "--draws", "20",
                "--runs", "5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "holds 53 of the 60 cells its last sweep command asked for" in r.stdout
    r = run_cli("report", "s.sqlite", "--against", "nb201:cifar10", "--combine", "dbar+kappa", cwd=tmp_path)
    assert r.returncode == 2 and "kappa not in the store" in r.stderr and "Traceback" not in r.stderr


def test_wide_export_loads_in_pandas_with_one_row_per_cell(store, tmp_path):
    pd = pytest.importorskip("pandas")
    r = run_cli("export", str(store / "s.sqlite"), "-o", "w.csv", "--wide", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path / "w.csv")
    assert len(df) == 60 and df["arch"].is_unique
    assert list(df.columns) == ["nb201_index", "arch", "dbar", "mbar", "test_accuracy_cifar10",
                                "test_accuracy_cifar100", "test_accuracy_ImageNet16-120"]
    t = nb201_table()
    pos = {a: i for i, a in enumerate(t.arch)}
    assert all(t.index[pos[a]] == i for a, i in zip(df["arch"], df["nb201_index"]))
    row = df.iloc[0]
    assert row["test_accuracy_cifar100"] == pytest.approx(nb201_accuracies("cifar100")[row["arch"]])
    r = run_cli("export", str(store / "s.sqlite"), "-o", "w.parquet", "--wide", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert pd.read_parquet(tmp_path / "w.parquet").shape == (60, 7)


def test_leaderboard_and_scatter_figures_have_a_clean_layout():
    """Both report figures pass the toolkit's automatic layout check (tests/figure_layout.py), with long labels."""
    import matplotlib.pyplot as plt
    from figure_layout import assert_clean_layout

    from ntkcheck.sweep.report import leaderboard_figure, scatter_figure

    rng = np.random.default_rng(0)
    labels = ["dbar", "mbar", "params", "flops", "conv_ops", "kappa config 2 seed 1", "kappa+regions"]
    kinds = ["metric", "metric", "baseline", "baseline", "baseline", "metric", "combined"]

    def est(t):
        return {"statistic": t, "ci": [t - 0.05, t + 0.04], "n": 9445, "pvalue": 0.0, "method": "m"}

    boards = [{"population_name": name, "n_cells": n,
               "rows": [{"label": lab, "kind": k, "kendall": est(float(t))}
                        for lab, k, t in zip(labels, kinds, rng.uniform(-0.3, 0.7, len(labels)))]}
              for name, n in (("all cells", 15625), ("reachable cells", 9445))]
    fig = leaderboard_figure(boards, "ImageNet16-120 test accuracy (NATS-Bench tss, 200 epochs)")
    assert_clean_layout(fig, "sweep leaderboard")
    plt.close(fig)
    v = rng.lognormal(0, 3, 500)
    fig = scatter_figure("kappa config 2 seed 1", "min", v, rng.uniform(10, 95, 500), -0.412,
                         "ImageNet16-120 test accuracy (NATS-Bench tss, 200 epochs)")
    assert_clean_layout(fig, "sweep scatter")
    plt.close(fig)
