"""Small-scale analogs of TE-NAS's main figures (Chen, Gong, Wang, ICLR 2021).

* ``tenas_fig1_3_kappa_R_vs_accuracy``: NATS-Bench CIFAR-100 test accuracy vs κ_N (Fig. 1) and vs R̂_N
  (Fig. 3) over the stratified NB201 sample of checks T3a/T3b, with the same pooled Kendall τ and bootstrap
  interval as the checks, next to the paper's (−0.42, 0.50 on NB201).
* ``tenas_fig4_op_makeup``: operator fractions in the top 10% of the same sample by min κ_N and by max R̂_N
  (check T8), next to the paper's Fig. 4 values.

κ_N is drawn in colour C0 and R̂_N in C1 in every panel; the paper's values are hatched.
* ``tenas_fig5_pruning_trajectory``: (R̂_N, κ_N) of the supernet after each pruning round (Fig. 5, NB201).

The data come from the same cached computations as checks T3, T8 and T11 (``ntkcheck.paper_checks``), so
after ``ntkcheck verify`` the figures cost little.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ntkcheck.figures.common import FigureResult


def _ctx(scale: str, seed: int, quiet: bool, context: Mapping[str, Any] | None = None):
    from ntkcheck.paper_checks.check import Context

    return Context(scale=scale, seed=seed, quiet=quiet, **(context or {}))


#: One colour per quantity in every TE-NAS panel: κ_N, R̂_N, the paper's values.
COLORS = {"kappa": "C0", "R_N": "C1", "paper": "0.6"}


def _fig_scatter(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.microbench import correlation
    from ntkcheck.paper_checks.tenas2021 import FIG_DATASET, KENDALL_TAU, population_metrics

    pop = population_metrics(ctx)
    acc = pop["accuracy"][FIG_DATASET]
    kap, R = pop["kappa"], pop["R_N"]
    stats = {}
    for key, cid in (("kappa", "tenas2021.T3a"), ("R_N", "tenas2021.T3b")):
        cctx = ctx.for_check(cid)              # the check's own bootstrap seed: the same interval as its verdict
        stats[key] = correlation(pop[key], acc, n_boot=ctx.pick(1000, 2000), seed=cctx.seed_for("boot", FIG_DATASET))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
    axes[0].scatter(kap, acc, s=12, color=COLORS["kappa"], alpha=0.8)
    axes[1].scatter(R, acc, s=12, color=COLORS["R_N"], alpha=0.8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("κ_N = λ_max/λ_min of the logit-sum NTK at init")
    axes[1].set_xlabel("R̂_N: distinct activation patterns\n(thin cell, 3×3 natural-image patches)")
    for ax, key, ref in ((axes[0], "kappa", "kappa_vs_acc"), (axes[1], "R_N", "R_vs_acc")):
        c = stats[key]
        ax.set_ylabel(f"NATS-Bench {FIG_DATASET} test accuracy (%)")
        ax.set_title(f"pooled Kendall τ = {c['value']:.2f} [{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}], n = {c['n']} "
                     f"(paper {KENDALL_TAU[ref]})", fontsize=9)
    fig.suptitle(f"TE-NAS Figs. 1 and 3 on {pop['n']} NB201 cells ({ctx.scale} scale)", fontsize=10)
    return FigureResult("tenas_fig1_3_kappa_R_vs_accuracy", fig,
                        f"NATS-Bench 200-epoch {FIG_DATASET} test accuracy vs κ_N (left) and R̂_N (right) over "
                        f"{pop['sampling']}; {pop['networks']}. Statistic: the pooled Kendall τ-b with bootstrap 95% "
                        "interval of checks T3a/T3b (one search space, so pooled = within family). "
                        "Paper (all NB201, probably CIFAR-100): τ = −0.42 and 0.50.",
                        {"cell": list(pop["cells"]), "kappa": kap.tolist(), "R_N": R.tolist(),
                         **{f"accuracy_{d}": v.tolist() for d, v in pop["accuracy"].items()}})


def _fig_ops(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.tenas2021 import FIG4, op_fractions, population_metrics
    from ntkcheck.spec import NB201_OPS

    d = population_metrics(ctx)
    n = len(d["cells"])
    top = max(2, int(round(0.1 * n)))
    fk, fR = op_fractions(d["cells"], d["kappa"], d["R_N"], np.arange(n), top)
    x = np.arange(len(NB201_OPS))
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    w = 0.2
    ax.bar(x - 1.5 * w, [fk[o] for o in NB201_OPS], w, color=COLORS["kappa"], label=f"top {top} by min κ_N (here)")
    ax.bar(x - 0.5 * w, [FIG4["kappa"][o] for o in NB201_OPS], w, color=COLORS["kappa"], alpha=0.35, hatch="//",
           label="top 10% by min κ_N (paper Fig. 4)")
    ax.bar(x + 0.5 * w, [fR[o] for o in NB201_OPS], w, color=COLORS["R_N"], label=f"top {top} by max R̂_N (here)")
    ax.bar(x + 1.5 * w, [FIG4["R"][o] for o in NB201_OPS], w, color=COLORS["R_N"], alpha=0.35, hatch="//",
           label="top 10% by max R̂_N (paper Fig. 4)")
    ax.set_xticks(x, NB201_OPS, fontsize=8)
    ax.set_xlabel("operation on a cell edge")
    ax.set_ylabel("fraction of cell edges")
    ax.set_title(f"TE-NAS Fig. 4: operator make-up of the top 10% of {n} NB201 cells ({ctx.scale} scale)", fontsize=9)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return FigureResult("tenas_fig4_op_makeup", fig,
                        f"Operator fractions in the top {top} of {d['sampling']} by min κ_N and by max R̂_N "
                        f"({d['networks']}), the statistic of check T8, with the paper's Fig. 4 values (all NB201, "
                        "read from a garbled extraction).",
                        {"op": list(NB201_OPS), "top_kappa_here": [fk[o] for o in NB201_OPS],
                         "top_kappa_paper": [FIG4["kappa"][o] for o in NB201_OPS],
                         "top_R_here": [fR[o] for o in NB201_OPS], "top_R_paper": [FIG4["R"][o] for o in NB201_OPS]})


def _fig_traj(ctx) -> FigureResult:
    import matplotlib.pyplot as plt
    from ntkcheck.paper_checks.tenas2021 import search_trajectory

    tr = search_trajectory(ctx, ctx.seed)
    k, R = np.asarray(tr["kappa"], float), np.asarray(tr["R"], float)
    fig, ax = plt.subplots(figsize=(5.5, 4.8), layout="constrained")
    ax.plot(R, k, "-o")
    for i, (r, kk) in enumerate(zip(R, k)):
        ax.annotate(str(i), (r, kk), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("R̂_N of the supernet (thin cell, digit patches)")
    ax.set_ylabel("κ_N of the supernet (C=3 net, digits)")
    nodes = tr["cell"].split("+")                 # one line per cell node keeps the title inside the figure
    ax.set_title(f"TE-NAS Fig. 5 analog: pruning trajectory ({ctx.scale} scale)\nfinal cell "
                 + "+".join(nodes[:-1]) + "+\n" + nodes[-1], fontsize=8)
    return FigureResult("tenas_fig5_pruning_trajectory", fig,
                        "κ_N and R̂_N of the supernet N_0 (every op alive) and after each pruning round of TE-NAS "
                        "Algorithm 1 on sklearn digits; points are rounds (paper Fig. 5, NB201 panel).",
                        {"round": list(range(len(k))), "kappa": k.tolist(), "R": R.tolist()})


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True,
                 context: Mapping[str, Any] | None = None) -> list[FigureResult]:
    ctx = _ctx(scale, seed, quiet, context)
    return [_fig_scatter(ctx), _fig_ops(ctx), _fig_traj(ctx)]
