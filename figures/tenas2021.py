"""Small-scale analogs of TE-NAS's main figures (Chen, Gong, Wang, ICLR 2021).

* ``tenas_fig1_3_kappa_R_vs_accuracy``: test accuracy vs κ_N (Fig. 1) and vs R̂_N (Fig. 3) over the run's
  accuracy table (micro-benchmark on sklearn digits, or the user's NATS-Bench file), Kendall τ in the titles
  next to the paper's (−0.42, 0.50 on NB201).
* ``tenas_fig4_op_makeup``: operator fractions in the top 10% of random NB201 cells by min κ_N and by max R̂_N,
  next to the paper's Fig. 4 values.
* ``tenas_fig5_pruning_trajectory``: (R̂_N, κ_N) of the supernet after each pruning round (Fig. 5, NB201).

The data come from the same cached computations as checks T3, T8 and T11 (``ntkcheck.paper_checks``), so
after ``ntkcheck verify`` the figures cost little.
"""

from __future__ import annotations

import numpy as np

from ntkcheck.figures.common import FigureResult


def _ctx(scale: str, seed: int, quiet: bool):
    from ntkcheck.paper_checks.check import Context

    return Context(scale=scale, seed=seed, quiet=quiet)


def _fig_scatter(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.microbench import accuracy_table, correlation, metric_of
    from ntkcheck.paper_checks.tenas2021 import KENDALL_TAU

    t = accuracy_table(ctx)
    fams = [a.family for a in t.archs]
    acc = np.array([r["acc_test"] for r in t.records], float)
    kap = np.array([metric_of(r, "kappa") for r in t.records], float)
    R = np.array([metric_of(r, "R_N") for r in t.records], float)
    ck = correlation(kap, acc, n_boot=500)
    cR = correlation(R, acc, n_boot=500)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    markers = {"nb201-fc": "o", "nb201-conv": "s", "fc": "^"}
    for fam in sorted(set(fams)):
        m = np.array([f == fam for f in fams])
        axes[0].scatter(kap[m], acc[m], marker=markers.get(fam, "o"), label=fam, alpha=0.8)
        if np.isfinite(R[m]).any():
            axes[1].scatter(R[m], acc[m], marker=markers.get(fam, "o"), label=fam, alpha=0.8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("κ_N = λ_max/λ_min of the logit-sum NTK at init (log scale)")
    axes[1].set_xlabel("R̂_N: distinct activation patterns (thin cell, 3×3 digit patches)")
    for ax in axes:
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=8)
    axes[0].set_title(f"accuracy vs κ_N: Kendall τ = {ck['value']:.2f} "
                      f"[{ck['ci95'][0]:.2f}, {ck['ci95'][1]:.2f}] (paper {KENDALL_TAU['kappa_vs_acc']})", fontsize=9)
    axes[1].set_title(f"accuracy vs R̂_N: Kendall τ = {cR['value']:.2f} "
                      f"[{cR['ci95'][0]:.2f}, {cR['ci95'][1]:.2f}] (paper {KENDALL_TAU['R_vs_acc']})", fontsize=9)
    fig.suptitle(f"TE-NAS Figs. 1 and 3 analog, {ctx.scale} scale; accuracies: {t.source}", fontsize=10)
    fig.tight_layout()
    return FigureResult("tenas_fig1_3_kappa_R_vs_accuracy", fig,
                        f"Test accuracy vs κ_N and vs R̂_N over {len(acc)} networks ({t.description}). "
                        "Paper (NB201): τ = −0.42 and 0.50.",
                        {"arch": [a.key for a in t.archs], "family": fams, "desc": [a.desc for a in t.archs],
                         "kappa": kap.tolist(), "R_N": R.tolist(), "accuracy": acc.tolist()})


def _fig_ops(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.tenas2021 import FIG4, op_fractions, op_makeup_data
    from ntkcheck.spec import NB201_OPS

    d = op_makeup_data(ctx)
    n = len(d["cells"])
    top = max(2, int(round(0.1 * n)))
    fk, fR = op_fractions(d["cells"], d["kappa"], d["R"], np.arange(n), top)
    x = np.arange(len(NB201_OPS))
    fig, ax = plt.subplots(figsize=(8, 4))
    w = 0.2
    ax.bar(x - 1.5 * w, [fk[o] for o in NB201_OPS], w, label=f"top {top} by min κ_N (here)")
    ax.bar(x - 0.5 * w, [FIG4["kappa"][o] for o in NB201_OPS], w, label="top 10% by min κ_N (paper Fig. 4)", alpha=0.5)
    ax.bar(x + 0.5 * w, [fR[o] for o in NB201_OPS], w, label=f"top {top} by max R̂_N (here)")
    ax.bar(x + 1.5 * w, [FIG4["R"][o] for o in NB201_OPS], w, label="top 10% by max R̂_N (paper Fig. 4)", alpha=0.5)
    ax.set_xticks(x, NB201_OPS, fontsize=8)
    ax.set_ylabel("fraction of cell edges")
    ax.set_title(f"TE-NAS Fig. 4 analog: operator make-up of the top 10% of {n} random NB201 cells "
                 f"({ctx.scale} scale)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return FigureResult("tenas_fig4_op_makeup", fig,
                        f"Operator fractions in the top {top} of {n} random NB201 cells by min κ_N and by max R̂_N "
                        f"({d['networks']}), with the paper's Fig. 4 values (NB201, read from a garbled extraction).",
                        {"op": list(NB201_OPS), "top_kappa_here": [fk[o] for o in NB201_OPS],
                         "top_kappa_paper": [FIG4["kappa"][o] for o in NB201_OPS],
                         "top_R_here": [fR[o] for o in NB201_OPS], "top_R_paper": [FIG4["R"][o] for o in NB201_OPS]})


def _fig_traj(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.tenas2021 import search_trajectory

    tr = search_trajectory(ctx, ctx.seed)
    k, R = np.asarray(tr["kappa"], float), np.asarray(tr["R"], float)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(R, k, "-o")
    for i, (r, kk) in enumerate(zip(R, k)):
        ax.annotate(str(i), (r, kk), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("R̂_N of the supernet (thin cell, digit patches)")
    ax.set_ylabel("κ_N of the supernet (C=3 net, digits)")
    ax.set_title(f"TE-NAS Fig. 5 analog: pruning trajectory ({ctx.scale} scale)\nfinal cell {tr['cell']}", fontsize=8)
    fig.tight_layout()
    return FigureResult("tenas_fig5_pruning_trajectory", fig,
                        "κ_N and R̂_N of the supernet N_0 (every op alive) and after each pruning round of TE-NAS "
                        "Algorithm 1 on sklearn digits; points are rounds (paper Fig. 5, NB201 panel).",
                        {"round": list(range(len(k))), "kappa": k.tolist(), "R": R.tolist()})


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True) -> list[FigureResult]:
    ctx = _ctx(scale, seed, quiet)
    return [_fig_scatter(ctx), _fig_ops(ctx), _fig_traj(ctx)]
