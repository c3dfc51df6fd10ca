r"""The exact convolutional NB201 kernels (:mod:`ntkcheck.theory.conv_kernels`) against the real NB201 accuracies.

Toolkit extensions (role ``extension``, kind ``hypothesis``): the papers measure κ_N and λ_min on *finite*
networks *with* batch normalization, and the exact kernels here are the infinite-channel limit *without* BN, so
transferring their claims to this limit is this toolkit's question, not a claim of the papers.

* K1 (TE-NAS, Chen et al. 2021, Fig. 1, Kendall τ = −0.42 for the finite-width κ_N over NB201, dataset
  taken to be CIFAR-100): κ_N = λ_max/λ_min of the exact conv NTK correlates negatively with test accuracy.
* K2 (Zhu et al. 2022 §5 / Eigen-NAS: a larger λ_min of the NTK predicts better generalisation; no effect
  size stated): λ_min of the exact conv NTK correlates positively with test accuracy.
* K3 (this toolkit's question): the exact conv kernel ranks cells by accuracy better than the fully
  connected analog of the same cells (conv → dense:relu, avg_pool → skip): the paired difference
  τ(λ_min^conv, acc) − τ(λ_min^fc, acc) > 0.  Reported beside it: τ(λ_min^conv, λ_min^fc), how much of
  the conv order the analog keeps.

Population: a seeded sample of cells with an input→output path; data: the first N bundled natural images
(:func:`ntkcheck.sweep.inputs.natural_images`), 4×4 average-pooled to 3×8×8 and scaled to unit norm (the
input of the registered ``ntk_lambda_min`` / ``conv_ntk_lambda_min`` metrics); accuracies: the shipped
NATS-Bench table (:func:`ntkcheck.data.nb201_accuracies`), 200-epoch test accuracy on CIFAR-100.
Statistic: Kendall τ-b with a BCa bootstrap 95% CI over cells (:mod:`ntkcheck.stats`); power from
:func:`power_kendall`.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
from ntkcheck.paper_checks.check import (
    Check,
    Context,
    Outcome,
    power_kendall,
    verdict_powered,
)

PAPER = "conv_nb201"
DATASET = "cifar100"
#: TE-NAS Fig. 1 (finite-width κ_N vs test accuracy over NB201), the only effect size the papers state.
KAPPA_TAU_PAPER = -0.42

#: One entry per check: the statistic, the claimed direction and effect.
CHECK_DATA: dict[str, dict[str, Any]] = {
    "K1": {"x": "kappa", "sign": -1, "claimed_tau": KAPPA_TAU_PAPER,
           "claimed": "τ(κ_N, acc) < 0 (TE-NAS Fig. 1: −0.42 for the finite BN network)"},
    "K2": {"x": "lambda_conv", "sign": 1, "claimed_tau": None,
           "claimed": "τ(λ_min, acc) > 0 (Zhu et al. 2022 §5; no effect size stated)"},
    "K3": {"x": "lambda_conv", "minus": "lambda_fc", "sign": 1, "claimed_tau": None,
           "claimed": "τ(λ_min^conv, acc) − τ(λ_min^fc, acc) > 0 (no effect size stated)"},
}


def population(n_cells: int, n_images: int, seed: int, dataset: str = DATASET) -> dict[str, Any]:
    """Exact conv and fc-analog kernels' λ_min, λ_max and κ_N of ``n_cells`` seeded cells, with accuracies."""
    from ntkcheck.theory.conv_kernels import cell_is_degenerate, conv_lambda_min_table
    from ntkcheck.theory.nb201 import all_nb201_cells, nb201_lambda_min_all

    from ntkcheck.data import nb201_accuracies
    from ntkcheck.spec import nb201_string
    from ntkcheck.sweep.inputs import flat_rows, natural_images

    live = [c for c in all_nb201_cells() if not cell_is_degenerate(c)]
    pick = np.sort(np.random.default_rng(seed).choice(len(live), n_cells, replace=False))
    cells = [live[i] for i in pick]
    X = flat_rows(natural_images(n_images, seed=0), n_images)
    conv = conv_lambda_min_table(cells, X.reshape(n_images, 3, 8, 8), workers=1)
    fc = nb201_lambda_min_all(X, cells=cells)
    acc = nb201_accuracies(dataset)
    return {"cells": [nb201_string(c) for c in cells], "n": n_cells, "N_images": n_images, "seed": seed,
            "lambda_conv": conv.ntk_lambda_min, "lambda_conv_error": conv.ntk_error_bound,
            "kappa": np.where(conv.ntk_lambda_min > conv.ntk_error_bound,
                              conv.ntk_lambda_max / np.maximum(conv.ntk_lambda_min, 1e-300), np.inf),
            "lambda_fc": fc.ntk_lambda_min, "acc": np.array([acc[nb201_string(c)] for c in cells]),
            "dataset": dataset, "note": conv.note}


def rank_outcome(entry: Mapping[str, Any], pop: Mapping[str, Any], *, n_boot: int = 1000, seed: int = 0,
                 sizes: Mapping[str, np.ndarray] | None = None) -> Outcome:
    """The verdict of one :data:`CHECK_DATA` entry on a population: Kendall τ(x, acc) (minus τ(other, acc) for a
    paired comparison) with a BCa bootstrap 95% CI over cells (:func:`ntkcheck.stats.kendall` /
    :func:`ntkcheck.stats.bootstrap`, refined when 0 lies within the end points' Monte Carlo error) and the design's
    power.  ``sizes`` (#params, FLOPs, #conv of the same cells): the size baselines and the partial τ of x given
    #params beside it (:func:`ntkcheck.paper_checks.nb201_population.size_baselines`)."""
    from scipy.stats import kendalltau

    from ntkcheck import stats

    x, acc = np.asarray(pop[entry["x"]], float), np.asarray(pop["acc"], float)
    other = np.asarray(pop[entry["minus"]], float) if "minus" in entry else None
    x = np.where(np.isposinf(x), np.nanmax(np.where(np.isfinite(x), x, np.nan)) * 10, x)  # singular: ranked last
    if other is None:
        est = stats.refine(lambda B: stats.kendall(x, acc, seed=seed, n_resamples=B), [0.0], n_resamples=n_boot)
    else:
        est = stats.refine(lambda B: stats.kendall_combination((x, other, acc), lambda t: t(0, 2) - t(1, 2), seed=seed,
                                                               n_resamples=B,
                                                               name="difference of Kendall tau-b (paired over cells)"),
                           [0.0], n_resamples=n_boot)
    n = x.size
    details = {"N_images": pop.get("N_images"), "dataset": pop.get("dataset"),
               "statistic": "Kendall tau-b" + (" difference (paired bootstrap)" if other is not None else ""),
               "note": pop.get("note"), "seed": pop.get("seed")}
    if sizes is not None:
        from ntkcheck.paper_checks.nb201_population import public, size_baselines

        details["size_baselines"] = public(size_baselines(x, acc, dict(sizes), sign=entry["sign"], seed=seed,
                                                          n_resamples=n_boot))
    if other is not None:
        details["tau_conv_vs_fc_order"] = float(kendalltau(x, other)[0])
        details["tau_fc_vs_acc"] = float(kendalltau(other, acc)[0])
        details["tau_conv_vs_acc"] = float(kendalltau(x, acc)[0])
    return verdict_powered(est, sign=entry["sign"], power=power_kendall(n, entry["claimed_tau"]),
                           claimed=entry["claimed"], details=details)


def _check(label: str, ctx: Context) -> Outcome:
    key = ("conv_nb201_population", ctx.scale, ctx.seed)
    if key not in ctx.shared:
        ctx.progress("exact conv NTKs of the NB201 sample")
        ctx.shared[key] = population(ctx.pick(60, 400), ctx.pick(12, 32), seed=ctx.seed)
    from ntkcheck.paper_checks.nb201_population import cell_size_metrics

    sizes = cell_size_metrics(ctx, ctx.shared[key]["cells"])
    return rank_outcome(CHECK_DATA[label], ctx.shared[key], n_boot=2000, seed=ctx.seed_for("boot", label),
                        sizes=sizes)


_HOW = ("exact infinite-width NTK of the convolutional cell (conv stem, pooling, GAP readout, cross terms, NO BN) "
        "on N natural 3×8×8 images, certified λ_min; Kendall tau-b against the NATS-Bench 200-epoch CIFAR-100 "
        "test accuracy over a seeded sample of cells with an input→output path (small: 60 cells, N = 12; "
        "paper: 400, N = 32), BCa bootstrap 95% CI")
_c = functools.partial(Check.record, PAPER)
CHECKS = [
    _c("K1", CHECK_DATA["K1"]["claimed"] + ", transferred to the exact conv kernel without BN",
       "TE-NAS (Chen et al. 2021) Fig. 1, carried over to the exact conv kernel by this toolkit", "hypothesis",
       "κ_N = λ_max/λ_min; " + _HOW,
       "sign from the paper; effect −0.42 (finite network with BN) for the power", "95% CI excludes 0",
       "bootstrap over cells; power_kendall at n", functools.partial(_check, "K1"), budget=15,
       role="extension"),
    _c("K2", CHECK_DATA["K2"]["claimed"] + ", for the exact conv kernel without BN",
       "Zhu et al. 2022 §5, carried over to the exact conv kernel by this toolkit", "hypothesis", "λ_min; " + _HOW, "direction only (no effect size stated)",
       "95% CI excludes 0", "bootstrap over cells", functools.partial(_check, "K2"), budget=15,
       role="extension"),
    _c("K3", "the exact conv kernel's λ_min ranks NB201 cells by accuracy better than the fc analog's",
       "this toolkit's question (no paper claims it)", "hypothesis",
       "paired τ difference; the fc analog's λ_min from theory.nb201 on the same images, flattened; " + _HOW,
       "direction only", "95% CI excludes 0", "paired bootstrap over cells", functools.partial(_check, "K3"),
       budget=15, role="extension"),
]
