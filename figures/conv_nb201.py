"""Figure of the conv-kernel records (``conv_nb201.K4``–``K7``): does the NTK theory's own quantity predict
NB201 accuracy, or only its finite-width estimator?

``conv_nb201_theory_vs_estimator``: left, Kendall τ (95% bootstrap CI) with the NATS-Bench 200-epoch test
accuracy of each dataset for the exact infinite-width conv kernel's κ and λ_min on every cell with a path (the
shipped table), TE-NAS's finite-width κ_N, the Eigen-NAS score and the kernel without cross terms on the
220-cell stratified population, and the size baselines #params and #conv ops (open markers: partial τ given
#params); right, τ of the finite conv network's κ against its width, the exact kernel's τ on the same cells as
dashed lines.  Same functions, seeds and caches as the records.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ntkcheck.figures.common import FigureResult

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
_LABELS = {
    "ntk_kappa": "exact NTK κ (all cells)", "ntk_lambda_min": "exact NTK λ_min (all cells)",
    "nngp_kappa": "exact NNGP κ (all cells)", "nngp_lambda_min": "exact NNGP λ_min (all cells)",
    "params": "#params (all cells)", "conv_ops": "#conv ops (all cells)",
    "exact_ntk_kappa": "exact NTK κ (population)", "kappa_N": "TE-NAS κ_N, finite, BN (population)",
    "eigennas": "Eigen-NAS score, finite (population)", "no_cross_ntk_kappa": "κ without cross terms (population)",
}


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True,
                 context: Mapping[str, Any] | None = None) -> list[FigureResult]:
    from ntkcheck.figures.mok2022 import DATASET_COLOURS
    from ntkcheck.paper_checks.check import Context
    from ntkcheck.paper_checks.conv_nb201 import _population, _space, _width
    from ntkcheck.paper_checks.conv_nb201_space import _rank_ready
    from ntkcheck.stats import kendall
    import matplotlib.pyplot as plt

    base = Context(scale=scale, seed=seed, quiet=quiet, **(context or {}))
    sp = _space(base.for_check("conv_nb201.K4"))
    pq = _population(base.for_check("conv_nb201.K5"))
    ws = _width(base.for_check("conv_nb201.K7"))
    rows = list(sp["rows"]) + [r for r in pq["rows"] if r["quantity"] in
                               ("exact_ntk_kappa", "kappa_N", "eigennas", "no_cross_ntk_kappa")]
    names = list(dict.fromkeys(r["quantity"] for r in rows))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.5, 1]})
    cols: dict[str, list] = {"panel": [], "quantity": [], "dataset": [], "x": [], "tau": [], "low": [], "high": [],
                             "partial_tau_given_params": []}
    off = {d: (k - 1) * 0.25 for k, d in enumerate(DATASETS)}
    for r in rows:
        y = names.index(r["quantity"]) + off[r["dataset"]]
        c = DATASET_COLOURS[r["dataset"]]
        ax.errorbar(r["tau"], y, xerr=[[r["tau"] - r["ci95"][0]], [r["ci95"][1] - r["tau"]]], fmt="o", color=c,
                    ms=4, capsize=2, label=r["dataset"] if r["quantity"] == names[0] else None)
        pp = r.get("partial_given_params", {}).get("tau", np.nan)
        if np.isfinite(pp):
            ax.plot(pp, y, "o", mfc="none", color=c, ms=6)
        for k, v in (("panel", "tau"), ("quantity", r["quantity"]), ("dataset", r["dataset"]), ("x", np.nan),
                     ("tau", r["tau"]), ("low", r["ci95"][0]), ("high", r["ci95"][1]),
                     ("partial_tau_given_params", pp)):
            cols[k].append(v)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(names)), [_LABELS.get(n, n) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_ylabel("quantity (cells it is computed on)")
    ax.set_xlabel("Kendall τ with NATS-Bench 200-epoch test accuracy (95% CI; open: partial τ given #params)")
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False)

    nres = base.pick(500, 2000)
    for j, d in enumerate(DATASETS):
        yy = ws["accuracy"][d]
        xs = [w * 1.08 ** (j - 1) for w in ws["widths"]]   # datasets side by side: error bars do not overlap
        t = [kendall(_rank_ready(ws["kappa"][w]), yy, seed=seed, n_resamples=nres) for w in ws["widths"]]
        c = DATASET_COLOURS[d]
        bx.errorbar(xs, [e.statistic for e in t], yerr=[[e.statistic - e.low for e in t],
                                                                   [e.high - e.statistic for e in t]],
                    fmt="o-", color=c, capsize=2, label=f"{d}: finite κ")
        ex = kendall(_rank_ready(ws["exact"]), yy, seed=seed, n_resamples=nres)
        bx.axhline(ex.statistic, color=c, ls="--", lw=1, label=f"{d}: exact κ")
        for w, e in zip(ws["widths"], t):
            for k, v in (("panel", "width"), ("quantity", "finite_kappa"), ("dataset", d), ("x", w),
                         ("tau", e.statistic), ("low", e.low), ("high", e.high), ("partial_tau_given_params", np.nan)):
                cols[k].append(v)
    bx.set_xscale("log", base=2)
    bx.set_xticks(ws["widths"], [str(w) for w in ws["widths"]])
    bx.set_xlabel("channels of the finite conv network (no BN)")
    bx.set_ylabel("Kendall τ(κ, test accuracy) (95% CI)")
    bx.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    cap = (f"Left: Kendall tau of each quantity with the NATS-Bench 200-epoch test accuracy per dataset "
           f"(bootstrap 95% CI); exact infinite-width conv kernel of all {sp['n']} NB201 cells with a path "
           f"(shipped table), TE-NAS kappa_N (Chen et al. 2021, Sec. 3.1.1), Eigen-NAS score (Zhu et al. 2022, "
           f"Sec. 5) and the kernel without cross terms on the {len(pq['cells'])}-cell stratified population, size "
           f"baselines; open markers: partial tau given #params. Right: tau of the finite conv network's kappa "
           f"vs its width on {len(ws['exact'])} cells (dashed: exact kernel on the same cells).")
    return [FigureResult("conv_nb201_theory_vs_estimator", fig, cap, cols)]
