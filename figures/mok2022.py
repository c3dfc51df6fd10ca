"""Analogs of Mok et al.'s figures (CVPR 2022; the paper's own plotted data are not available), drawn from the
same population and the same statistics as the checks, so a figure and its check cannot disagree:

* ``mok_correlations_init_vs_epoch1``: Kendall τ-b (bootstrap 95% CI) with NB201 200-epoch test accuracy of the
  at-init NTK metrics (mean, κ, ‖Θ‖_F, LGA) and of LGA after one epoch, over the NB201 conv proxy
  (``nb201_proxy.conv_proxy``), one bar per dataset — the numbers of checks ``mok2022.L7a`` and ``mok2022.L8``
  (same function, same bootstrap seeds).  The proxy is one family of networks, so τ is pooled over it (there is
  no within-family stratification to state).
* ``mok_ntk_change_training``: per CIFAR-10 accuracy bin of the proxy (the sampling strata), the mean kernel
  distance S(Θ_0, Θ_k) and the mean LGA at each stored epoch k — the quantities of ``mok2022.L11a/L11b`` and
  ``mok2022.L3`` ("kernel twisting", Fig. 1/2).

Colours: one per dataset (CIFAR-10 / CIFAR-100 / ImageNet16-120) in the first figure, one per accuracy bin
(low → high, the same colour map) in both panels of the second.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ntkcheck.figures.common import FigureResult

DATASET_COLOURS = {"cifar10": "C0", "cifar100": "C1", "ImageNet16-120": "C2"}


def _fig_corr(ctx) -> FigureResult:
    import matplotlib.pyplot as plt

    from ntkcheck.paper_checks import mok2022 as P
    from ntkcheck.paper_checks.nb201_proxy import DATASETS, conv_proxy, kendall_per_dataset

    t = conv_proxy(ctx)
    rows = [("mean", 0, "mean(Θ) at init", "mok2022.L8", "mean"), ("kappa", 0, "κ at init", "mok2022.L8", "kappa"),
            ("fnorm", 0, "‖Θ‖_F at init", "mok2022.L8", "fnorm"), ("lga", 0, "LGA at init", None, None),
            ("lga", 1, "LGA after 1 epoch", "mok2022.L7a", "l7a")]
    cols: dict[str, list] = {"metric": [], "dataset": [], "tau": [], "ci_low": [], "ci_high": [], "n": []}
    fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
    width = 0.8 / len(DATASETS)
    for j, (name, stage, label, cid, key) in enumerate(rows):
        c_ctx = ctx.for_check(cid) if cid else ctx
        n_boot = ctx.pick(500, 1000) if cid == "mok2022.L8" else ctx.pick(1000, 2000)
        cs = kendall_per_dataset(P._stage_metric(t, name, stage), t.index, n_boot=n_boot,
                                 seed=c_ctx.seed_for(key) if key else 0)
        for k, d in enumerate(DATASETS):
            c = cs[d]
            x = j + (k - 1) * width
            ax.bar(x, c["value"], width, color=DATASET_COLOURS[d], label=d if j == 0 else None)
            ax.errorbar(x, c["value"], yerr=[[c["value"] - c["ci95"][0]], [c["ci95"][1] - c["value"]]], fmt="none",
                        ecolor="k", capsize=3)
            for col, v in zip(cols, (label, d, c["value"], c["ci95"][0], c["ci95"][1], c["n"])):
                cols[col].append(v)
    ax.axhline(0, color="grey", lw=0.8)
    for v in (P.WEAK_TAU, -P.WEAK_TAU):
        ax.axhline(v, color="grey", lw=0.6, ls=":")
    ax.set_xticks(range(len(rows)), [r[2] for r in rows], fontsize=8)
    ax.set_xlabel("metric of the network")
    ax.set_ylabel("Kendall τ-b with NB201 test accuracy\n(95% bootstrap CI)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=8, frameon=False,
               title="accuracy on", title_fontsize=8)
    ax.set_title(f"Mok et al. analog: NTK metrics at init vs LGA after 1 epoch\n{len(t.index)} NB201 cells "
                 f"(conv proxy), {ctx.scale} scale", fontsize=9)
    return FigureResult("mok_correlations_init_vs_epoch1", fig,
                        "Kendall τ-b, pooled over the NB201 conv proxy (a stratified sample of NB201 cells as small "
                        "conv nets trained on digits; one family, so pooled = within family), of the at-init NTK "
                        "metrics and of LGA after one epoch with the NB201 200-epoch test accuracy on each dataset; "
                        "the same statistic and bootstrap seeds as checks mok2022.L7a and mok2022.L8 (dotted: "
                        f"±{P.WEAK_TAU}, L8's 'weak' band). Accuracies: NATS-Bench tss (ntkcheck.data).", cols)


def _fig_track(ctx) -> FigureResult:
    import matplotlib.pyplot as plt

    from ntkcheck.paper_checks import mok2022 as P
    from ntkcheck.paper_checks.nb201_proxy import conv_proxy

    t = conv_proxy(ctx)
    acc = t.accuracy("cifar10")
    nbins = t.config.strata
    edges = np.quantile(acc, np.linspace(0, 1, nbins + 1))
    b = np.clip(np.searchsorted(edges, acc, side="right") - 1, 0, nbins - 1)
    dist = np.stack([P._stage_metric(t, "distance", k) for k in t.stage_epochs], axis=1)
    lga = np.stack([P._stage_metric(t, "lga", k) for k in t.stage_epochs], axis=1)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
    cols: dict[str, list] = {"accuracy_bin": [], "bin_low": [], "bin_high": [], "epoch": [], "mean_distance": [],
                             "mean_lga": [], "n": []}
    for k in range(nbins):
        sel = b == k
        colour = cmap(k / max(nbins - 1, 1))
        lab = f"{edges[k]:.1f}–{edges[k + 1]:.1f}%"
        axes[0].plot(t.stage_epochs, np.nanmean(dist[sel], axis=0), "-o", color=colour, label=lab, ms=3)
        axes[1].plot(t.stage_epochs, np.nanmean(lga[sel], axis=0), "-o", color=colour, label=lab, ms=3)
        for s, ep in enumerate(t.stage_epochs):
            for col, v in zip(cols, (k, edges[k], edges[k + 1], ep, float(np.nanmean(dist[sel, s])),
                                     float(np.nanmean(lga[sel, s])), int(sel.sum()))):
                cols[col].append(v)
    axes[0].axhline(P.FAR_DISTANCE, color="grey", lw=0.6, ls=":")
    axes[0].set_ylabel("kernel distance S(Θ_0, Θ_k) (mean over bin)")
    axes[1].set_ylabel("LGA (mean over bin)")
    for ax in axes:
        ax.set_xlabel("training epoch k (SGD on digits)")
        ax.set_xticks(list(t.stage_epochs))          # the stored epochs (whole numbers)
    fig.legend(*axes[1].get_legend_handles_labels(), loc="outside right center", fontsize=7,
               title="CIFAR-10\naccuracy bin", title_fontsize=7)
    fig.suptitle(f"Mok et al. analog: NTK change during training by NB201 accuracy bin ({len(t.index)} cells, "
                 f"{ctx.scale} scale)", fontsize=10)
    return FigureResult("mok_ntk_change_training", fig,
                        "Mean kernel distance from initialisation and mean LGA per training epoch, per CIFAR-10 "
                        "accuracy bin of the NB201 conv proxy (its sampling strata; colour = bin, low to high, same "
                        "in both panels) — the quantities of checks mok2022.L11a/L11b (distance; dotted: "
                        f"{P.FAR_DISTANCE}) and mok2022.L3 (LGA).", cols)


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True,
                 context: Mapping[str, Any] | None = None) -> list[FigureResult]:
    from ntkcheck.paper_checks.check import Context

    ctx = Context(scale=scale, seed=seed, quiet=quiet, **(context or {}))
    return [_fig_corr(ctx), _fig_track(ctx)]
