"""Every figure the package draws passes the automatic layout check (tests/figure_layout.py): the four paper
modules of ``ntkcheck figures`` / ``ntkcheck verify`` and the bound checker's two report figures.

The figure functions are called as ``ntkcheck figures`` calls them; only the expensive computations behind them
(trained populations, NB201 statistics, searches) are replaced by synthetic data of the same shape, so that the
drawing code itself (labels, legends, titles, sizes) is what is tested.  The cheap exact computations (Chen Fig.
3's kernels, Zhu's skip masks, the bound checker's search) run for real."""

from __future__ import annotations

import types

import numpy as np
import pytest

from figure_layout import assert_clean_layout, layout_problems
from test_user_facing_text import forbidden_words
from ntkcheck.spec import NB201_OPS, nb201_string

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def _cells(rng, n):
    return [nb201_string([NB201_OPS[i] for i in rng.integers(0, 5, 6)]) for _ in range(n)]


def _fake_zhu(monkeypatch, rng):
    from ntkcheck.empirical import eigen_nas
    from ntkcheck.figures import zhu2022 as fz
    from ntkcheck.paper_checks import zhu2022 as pz

    def depth_data(X, depths, acts, width, seeds, quiet):
        rows = []
        for a in acts:
            for L in depths:
                lam = 10.0 ** -L * (1 + rng.uniform())
                rows.append({"activation": a, "depth": L, "lambda_min": lam, "schur_recursion": 0.6 * lam,
                             "hermite_best_term": 0.3 * lam if L < 3 else -1.0, "ntk_layer_sum_diag": 0.1 * lam,
                             "finite_width": lam * (1 + 0.1 * rng.standard_normal())})
        return rows
    monkeypatch.setattr(fz, "_depth_data", depth_data)
    monkeypatch.setattr(eigen_nas, "eigen_nas_score", lambda s, X, **k: {"score": float(rng.uniform(0.01, 1))})
    monkeypatch.setattr(pz, "eigennas_population", lambda ctx: {
        "selected": {d: rng.uniform(40, 90, 200) for d in DATASETS},
        "random_sample_mean": {d: 60.0 for d in DATASETS}, "searches": 200, "candidates": 100})


def _fake_chen(monkeypatch, rng):
    from ntkcheck.empirical import training
    from ntkcheck.paper_checks import chen2022 as pc

    def theorem31(cells, X, y, widths, seeds, steps, quiet):
        k = np.arange(steps + 1)
        rows = [types.SimpleNamespace(cell=c, losses=np.exp(-0.05 * (i + 1) * k),
                                      losses_lin_exact=np.exp(-0.045 * (i + 1) * k),
                                      losses_lin_paper=np.exp(-0.04 * (i + 1) * k), bound_exact=0.999 - 0.001 * i)
                for i, c in enumerate(cells)]
        return {"lr": 0.5, "rows": rows}
    monkeypatch.setattr(training, "theorem31_experiment", theorem31)

    def c16(ctx):
        per = {}
        for ds in pc.NB201_DATASETS:
            groups = {f"({d}, {m})": {"n": int(rng.integers(1, 2000)), "mean": float(rng.uniform(10, 90))}
                      for d in (0.0, 1.0, 1.5, 2.0, 2.5, 3.0) for m in (1.0, 2.0, 3.0, 4.0) if rng.uniform() < 0.8}
            per[ds] = {"group_means": groups, "R_quadratic": 0.41, "enrichment": 1.37, "central_minus_extreme": 3.2}
        return types.SimpleNamespace(details={"per_dataset": per})
    monkeypatch.setattr(pc, "_c16", c16)


def _fake_mok(monkeypatch, rng):
    from ntkcheck.paper_checks import mok2022 as pm
    from ntkcheck.paper_checks import nb201_proxy

    n = 64
    table = types.SimpleNamespace(index=np.sort(rng.choice(15625, n, replace=False)),
                                  config=types.SimpleNamespace(strata=4), stage_epochs=[0, 1, 2, 4])
    acc = {d: rng.uniform(30, 90, n) for d in DATASETS}
    table.accuracy = lambda d: acc[d]
    monkeypatch.setattr(nb201_proxy, "conv_proxy", lambda ctx: table)

    def stage_metric(t, name, stage):
        base = {"distance": 0.2 * stage, "lga": 0.1 + 0.05 * stage}.get(name, 1.0)
        return base + 0.05 * rng.standard_normal(n) + (acc["cifar10"] - 60) / 400
    monkeypatch.setattr(pm, "_stage_metric", stage_metric)


def _fake_tenas(monkeypatch, rng):
    from ntkcheck.paper_checks import tenas2021 as pt

    cells = _cells(rng, 40)
    monkeypatch.setattr(pt, "population_metrics", lambda ctx: {
        "cells": cells, "kappa": rng.uniform(1, 500, 40), "R_N": rng.uniform(10, 300, 40),
        "accuracy": {d: rng.uniform(30, 70, 40) for d in DATASETS}, "n": 40,
        "sampling": "40 synthetic cells", "networks": "synthetic"})
    monkeypatch.setattr(pt, "search_trajectory", lambda ctx, seed: {
        "cell": cells[0], "kappa": [90.0, 40.0, 30.0, 28.0, 27.5], "R": [300.0, 290.0, 280.0, 270.0, 265.0],
        "n_evaluations": 54})


def _fake_conv_nb201(monkeypatch, rng):
    from ntkcheck.paper_checks import conv_nb201 as pk

    def rows(names):
        out = []
        for q in names:
            for d in DATASETS:
                t = float(rng.uniform(-0.6, 0.6))
                out.append({"quantity": q, "dataset": d, "tau": t, "ci95": [t - 0.05, t + 0.05],
                            "partial_given_params": {"tau": 0.7 * t}})
        return out
    monkeypatch.setattr(pk, "_space", lambda ctx: {"n": 15284, "rows": rows(
        ["ntk_kappa", "ntk_lambda_min", "nngp_kappa", "nngp_lambda_min", "params", "conv_ops"])})
    monkeypatch.setattr(pk, "_population", lambda ctx: {"cells": ["c"] * 220, "rows": rows(
        ["exact_ntk_kappa", "kappa_N", "eigennas", "no_cross_ntk_kappa"])})
    n = 60
    acc = {d: rng.uniform(30, 90, n) for d in DATASETS}
    monkeypatch.setattr(pk, "_width", lambda ctx: {"widths": [16, 64, 256], "exact": rng.uniform(1, 100, n),
                                                   "accuracy": acc,
                                                   "kappa": {w: rng.uniform(1, 100, n) for w in (16, 64, 256)}})


FAKES = {"conv_nb201": _fake_conv_nb201, "zhu2022": _fake_zhu, "chen2022": _fake_chen, "mok2022": _fake_mok, "tenas2021": _fake_tenas}


@pytest.mark.parametrize("paper", sorted(FAKES))
def test_paper_figures_have_a_clean_layout(paper, monkeypatch, tmp_path):
    import importlib
    import importlib.util

    from ntkcheck.figures.common import write_figure
    from ntkcheck.paper_checks.registry import PAPER_MODULES

    drawn = {p for p in PAPER_MODULES if importlib.util.find_spec(f"ntkcheck.figures.{p}") is not None}
    assert set(FAKES) == drawn                             # every figure module `ntkcheck figures` draws
    monkeypatch.setenv("NTKCHECK_CACHE", str(tmp_path / "cache"))
    FAKES[paper](monkeypatch, np.random.default_rng(0))
    figs = importlib.import_module(f"ntkcheck.figures.{paper}").make_figures("small", 0, True)
    assert figs
    problems = [f"{f.name}: {p}" for f in figs for p in layout_problems(f.figure)]
    for f in figs:
        assert f.caption
        drawn = [t.get_text() for t in f.figure.findobj(lambda a: hasattr(a, "get_text") and a.get_visible())]
        words = forbidden_words("\n".join([f.caption, *drawn]))
        problems += [f"{f.name}: internal word {w}" for w in words]    # captions and drawn texts name papers
        write_figure(f, tmp_path)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def violated():
    from ntkcheck.bound_check import check_bound

    r = check_bound("ntk_lambda_min", upper="nngp_lambda_min", space="nb201", trials=40, seed=0)
    assert r.verdict == "violated"
    return r


def test_bound_counterexample_figure(violated):
    import matplotlib.pyplot as plt

    from ntkcheck.bound_check.report import counterexample_figure

    fig = counterexample_figure(violated)
    assert_clean_layout(fig, "bound counterexample")
    spectrum = fig.axes[1]
    ticks = [t for t in spectrum.get_xticks() if spectrum.get_xlim()[0] <= t <= spectrum.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)   # eigenvalue indices are whole numbers
    plt.close(fig)


def test_bound_tightness_figure():
    import matplotlib.pyplot as plt

    from ntkcheck.bound_check import check_bound
    from ntkcheck.bound_check.report import tightness_figure

    r = check_bound("ntk_lambda_min", lower="nngp_lambda_min", space="fc", trials=12, seed=0, min_evidence=1)
    fig = tightness_figure(r)
    assert_clean_layout(fig, "bound tightness")
    plt.close(fig)


def test_checker_catches_the_defects_it_is_for():
    """The checker itself: each defect, drawn on purpose, is reported (a checker that passes everything is no
    check)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_title("a title far too long to fit on a figure three inches wide, so it is clipped at both edges")
    ax.legend(loc="center")                                   # over the line's middle
    p = layout_problems(fig)
    assert any("clipped" in s for s in p) and any("legend" in s for s in p) and any("x label" in s for s in p)
    plt.close(fig)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(4, 2))
    a1.plot([0, 1], [0, 1])
    a1.set_xlabel("x")
    a1.set_ylabel("y")
    a2.plot([0, 1], [0, 1])
    a2.set_xlabel("x")
    a2.set_ylabel("a y label long enough to run into the next panel " * 2)
    a1.set_xticks([0, 0.5, 1], ["a very long tick label", "another long tick label", "and a third one"])
    p = layout_problems(fig)
    assert any("overlap" in s for s in p)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1], [0, 1], label="y = x")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    assert layout_problems(fig) == []                          # and a clean figure passes
    plt.close(fig)
