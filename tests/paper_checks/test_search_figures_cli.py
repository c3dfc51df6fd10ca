"""`ntkcheck search` and `ntkcheck figures`: argument errors (exit 2), a small real search, and the figure
code on synthetic data (the real data come from cached micro-benchmark runs that are too slow for a unit test)."""

import json

import numpy as np

from ntkcheck.cli import main


def test_search_bad_input(capsys):
    assert main(["search", "random-walk"]) == 2
    assert main(["search", "tenas", "--space", "darts"]) == 2
    assert main(["search", "eigen-nas", "--candidates", "0"]) == 2
    assert main(["search", "lga", "--nats-bench", "/no/such/file.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("ntkcheck: error:") == 4 and "Traceback" not in err


def test_search_chen_filter_kappa(tmp_path):
    out = tmp_path / "s.json"
    code = main(["search", "chen-filter+kappa", "--candidates", "6", "--no-accuracy", "--quiet", "-o", str(out)])
    res = json.loads(out.read_text())
    assert code == 0
    kept = [c["cell"] for c in res["filter"]["cells"] if c["kept"]]
    assert res["cell"] in kept and res["direction"] == "min"
    scores = [t["score"] for t in res["trajectory"]]
    assert scores == sorted(scores)                    # best (lowest κ) first


def test_figures_bad_name():
    assert main(["figures", "nosuchpaper"]) == 2


def test_tenas_figures_on_synthetic_data(tmp_path, monkeypatch):
    from ntkcheck.figures import tenas2021 as ft
    from ntkcheck.figures.common import write_figure
    from ntkcheck.paper_checks import microbench, tenas2021
    from ntkcheck.spec import NB201_OPS, nb201_string

    rng = np.random.default_rng(0)
    cells = [nb201_string([NB201_OPS[i] for i in rng.integers(0, 5, 6)]) for _ in range(12)]
    archs = [microbench.Arch(f"a{i}", "nb201-fc" if i % 2 else "nb201-conv", c, c) for i, c in enumerate(cells)]
    recs = []
    for i in range(12):
        A = rng.standard_normal((8, 20))
        recs.append({"acc_test": 50 + 3 * i, "R_N": 100 + 5 * i, "ntk_labels": rng.integers(0, 3, 8),
                     "K_init_weight": A @ A.T, "K_init_nocls": A @ A.T + 1, "K_ep1_nocls": A @ A.T + 2})
    table = microbench.AccuracyTable("microbench", "synthetic", archs, recs, {"key": "x"})
    monkeypatch.setattr(microbench, "accuracy_table", lambda ctx: table)
    monkeypatch.setattr(tenas2021, "population_metrics",
                        lambda ctx: {"cells": cells, "kappa": rng.uniform(1, 50, 12), "R_N": rng.uniform(10, 300, 12),
                                     "accuracy": {"cifar100": rng.uniform(30, 70, 12)}, "n": 12,
                                     "sampling": "12 synthetic cells", "networks": "synthetic"})
    monkeypatch.setattr(tenas2021, "search_trajectory",
                        lambda ctx, seed: {"cell": cells[0], "kappa": [90.0, 40.0, 30.0, 28.0],
                                           "R": [300.0, 290.0, 280.0, 270.0], "n_evaluations": 54})
    figs = ft.make_figures()      # the Mok figures: tests/paper_checks/test_mok_zhu_nb201.py
    assert [f.name for f in figs] == ["tenas_fig1_3_kappa_R_vs_accuracy", "tenas_fig4_op_makeup",
                                      "tenas_fig5_pruning_trajectory"]
    for f in figs:
        paths = write_figure(f, tmp_path)
        assert {p.suffix for p in paths} == {".png", ".pdf", ".csv"}
        assert all(p.stat().st_size > 0 for p in paths)
        assert f.caption


def test_search_mode_option(tmp_path, capsys):
    from ntkcheck.theory.connectivity import filter_code, nb201_depth_width

    try:  # argparse's choice error: exit status 2 (raised or returned, depending on the CLI wrapper)
        code = main(["search", "tenas", "--mode", "released"])
    except SystemExit as e:
        code = e.code
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err
    out = tmp_path / "s.json"
    assert main(["search", "chen-filter+kappa", "--mode", "code", "--candidates", "6", "--no-accuracy", "--quiet",
                 "-o", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["filter"]["mode"] == "code"
    for c in res["filter"]["cells"]:  # the code's hard-coded window, recomputed
        assert c["kept"] == bool(filter_code(*nb201_depth_width(c["cell"])))
