"""Small-scale analogs of Mok et al.'s figures (CVPR 2022; the paper's own plots are unavailable, digest §9):

* ``mok_correlations_init_vs_epoch1``: Kendall τ (bootstrap 95% CI) of the at-init NTK metrics (mean, κ,
  ‖Θ‖_F, LGA) and of LGA after one epoch with test accuracy over the run's accuracy table (the correlation
  tables the code produces, digest §5);
* ``mok_ntk_change_training``: kernel correlation with Θ_0, relative kernel difference and LGA per epoch for
  the lowest- and the highest-accuracy fc network (kernel tracking, digest §6; "kernel twisting", Fig. 1/2).
"""

from __future__ import annotations

import numpy as np

from ntkcheck.figures.common import FigureResult


def _fig_corr(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.microbench import accuracy_table, correlation

    t = accuracy_table(ctx)
    acc = t.accuracies()
    names = [("mean", "mean(Θ) at init"), ("kappa", "κ at init"), ("fnorm", "‖Θ‖_F at init"),
             ("lga_init", "LGA at init"), ("lga_ep1", "LGA after 1 epoch")]
    vals, lo, hi = [], [], []
    for key, _ in names:
        c = correlation(t.metric(key), acc, n_boot=500, seed=1)
        vals.append(c["value"])
        lo.append(c["ci95"][0])
        hi.append(c["ci95"][1])
    vals, lo, hi = map(np.asarray, (vals, lo, hi))
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(names))
    ax.bar(x, vals, color=["C0"] * 4 + ["C3"])
    ax.errorbar(x, vals, yerr=[vals - lo, hi - vals], fmt="none", ecolor="k", capsize=4)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [n for _, n in names], fontsize=8)
    ax.set_ylabel("Kendall τ with test accuracy (95% bootstrap CI)")
    ax.set_title(f"Mok et al. analog: NTK metrics at init vs LGA after 1 epoch\n{len(acc)} networks, "
                 f"{ctx.scale} scale, accuracies: {t.source}", fontsize=9)
    fig.tight_layout()
    return FigureResult("mok_correlations_init_vs_epoch1", fig,
                        f"Kendall τ of at-init NTK metrics and of LGA after one epoch with test accuracy ({t.description}).",
                        {"metric": [n for _, n in names], "tau": vals.tolist(), "ci_low": lo.tolist(),
                         "ci_high": hi.tolist()})


def _fig_track(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.mok2022 import kernel_tracking_data

    d = kernel_tracking_data(ctx)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    cols: dict[str, list] = {"network": [], "epoch": [], "kernel_corr": [], "rel_diff": [], "lga": []}
    for label, v in d.items():
        ep = [r["epoch"] for r in v["rows"]]
        axes[0].plot(ep, [r["corr"] for r in v["rows"]], "-o", label=label)
        axes[1].plot(ep, [r["reldiff"] for r in v["rows"]], "-o", label=label)
        axes[2].plot(ep, [r["lga"] for r in v["rows"]], "-o", label=label)
        for r in v["rows"]:
            cols["network"].append(f"{label}: {v['arch']}")
            cols["epoch"].append(r["epoch"])
            cols["kernel_corr"].append(r["corr"])
            cols["rel_diff"].append(r["reldiff"])
            cols["lga"].append(r["lga"])
    axes[0].set_ylabel("kernel correlation with Θ_0")
    axes[1].set_ylabel("relative kernel difference (Mok et al.)")
    axes[2].set_ylabel("LGA (logit-sum NTK, all params)")
    for ax in axes:
        ax.set_xlabel("training epoch (Adam on sklearn digits)")
        ax.legend(fontsize=7)
    fig.suptitle(f"Mok et al. analog: NTK change during training, lowest vs highest accuracy fc network "
                 f"({ctx.scale} scale)", fontsize=10)
    fig.tight_layout()
    return FigureResult("mok_ntk_change_training", fig,
                        "Per-epoch kernel correlation with the initial NTK, relative kernel difference and LGA for "
                        "the lowest- and the highest-accuracy network of the fc families ("
                        + "; ".join(f"{k}: {v['arch']}" for k, v in d.items()) + ").", cols)


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True) -> list[FigureResult]:
    from ntkcheck.paper_checks.check import Context

    ctx = Context(scale=scale, seed=seed, quiet=quiet)
    return [_fig_corr(ctx), _fig_track(ctx)]
