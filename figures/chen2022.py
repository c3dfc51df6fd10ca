r"""Figures for Chen et al. 2022 ("Deep Architecture Connectivity Matters for Its Convergence").

* ``chen2022_fig3_lambda``: Fig. 3 analog — the 2×2 λ (diag − offdiag) of the three DAGs against the input
  correlation ρ, paper recursion (Eqs. 7, 9, 11) and exact recursion (node means and cross terms kept), computed by the project's
  engine; right panel: the exact N×N λ_min on random unit data for growing N (where the ordering can fail).
* ``chen2022_fig4_convergence``: Fig. 4 analog at small scale — full-batch GD loss L_k/L_0 of the three DAGs
  (width n, N digits) with the exact-NTK linearized prediction (dashed) and Theorem 3.1's bound (dotted).
* ``chen2022_fig5_dbar_mbar``: Fig. 5 — the 32 (d̄, m̄) groups of NB201 (size = number of cells) coloured by
  group-mean NATS-Bench accuracy, one panel per dataset, with the census effects of check C16 (R, top-1% enrichment,
  central − extreme gap) in the titles; the code's window and the paper's ½-radius window drawn.

The three DAGs have the same colours (C0, C1, C2) in Figs. 3 and 4; the windows the same colours in every panel.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ntkcheck.figures.common import FigureResult

__all__ = ["make_figures", "fig3_lambda", "fig4_convergence", "fig5_dbar_mbar"]

_DAGS = (("DAG#1 2_02_002", "2_02_002"), ("DAG#2 1_01_222", "1_01_222"), ("DAG#3 2_21_112", "2_21_112"))


def fig3_lambda(seed: int = 0, quiet: bool = True) -> FigureResult:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkcheck.theory.connectivity import chen_kernels

    rho = np.linspace(-0.95, 0.99, 60)
    cols: dict[str, list] = {"rho": rho.tolist()}
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    for (label, code), color in zip(_DAGS, ("C0", "C1", "C2")):
        for cross, ls in ((False, "--"), (True, "-")):
            vals = []
            for r in rho:
                X = np.array([[1.0, 0.0], [r, np.sqrt(1 - r * r)]])
                K = chen_kernels(code, X, cross_terms=cross)
                vals.append(K[0, 0] - K[0, 1])
            cols[f"{code}_{'exact' if cross else 'paper'}"] = vals
            ax.plot(rho, vals, ls, color=color, label=f"{label} {'exact' if cross else 'paper'}")
    ax.set_xlabel("input correlation ρ")
    ax.set_ylabel("2×2 λ = K_ii − K_ij")
    ax.set_title("Fig. 3 analog: 2×2 λ, exact (solid) vs paper recursion (dashed)")
    ax.legend(fontsize=7)
    rng = np.random.default_rng(seed)
    Ns = [5, 10, 20, 40, 80, 120]
    d = 8
    for (label, code), color in zip(_DAGS, ("C0", "C1", "C2")):
        lam = []
        for N in Ns:
            X = rng.standard_normal((N, d))
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            lam.append(float(np.linalg.eigvalsh(chen_kernels(code, X))[0]))
        cols[f"{code}_lambda_min_exact_NxN_d{d}"] = lam + [np.nan] * (len(rho) - len(Ns))
        ax2.semilogy(Ns, lam, "o-", color=color, label=label)
    cols["N"] = Ns + [np.nan] * (len(rho) - len(Ns))
    ax2.set_xlabel(f"N (random unit vectors in R^{d})")
    ax2.set_ylabel("exact N×N λ_min(K^(H))")
    ax2.set_title("N×N λ_min: the bound ordering need not hold")
    ax2.legend(fontsize=7)
    return FigureResult("chen2022_fig3_lambda", fig,
                        "Chen et al. 2022 Fig. 3 analog. Left: 2x2 eigenvalue diag - offdiag of the output NNGP of "
                        "the three DAGs vs input correlation; dashed = the paper's recursion (Eqs. 7, 9, 11), solid "
                        "= the exact infinite-width recursion with node means and cross terms. Both keep the "
                        "ordering DAG#1 < DAG#2 < DAG#3. Right: exact N x N lambda_min on random unit data in R^8; "
                        "for N >> d DAG#2 can fall below DAG#1 (the paper's ordering is stated for 2x2 kernels only).", cols)


def fig4_convergence(scale: str = "small", seed: int = 0, quiet: bool = True) -> FigureResult:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkcheck.empirical.training import digits_data, theorem31_experiment

    N, width, steps = (8, 512, 60) if scale == "small" else (50, 4096, 400)
    X, y = digits_data(N, seed=seed)
    res = theorem31_experiment([c for _, c in _DAGS], X, y, widths=[width], seeds=[seed], steps=steps,
                               quiet=quiet)
    k = np.arange(steps + 1)
    cols: dict[str, list] = {"step": k.tolist()}
    fig, ax = plt.subplots(figsize=(6.5, 4.6), layout="constrained")
    for (label, code), color in zip(_DAGS, ("C0", "C1", "C2")):
        row = next(r for r in res["rows"] if r.cell == code)
        L = np.asarray(row.losses)
        Le = np.asarray(row.losses_lin_exact)
        ax.semilogy(k, L / L[0], "-", color=color, label=label)
        ax.semilogy(k, Le / L[0], "--", color=color, lw=1)
        cols[f"{code}_measured"] = (L / L[0]).tolist()
        cols[f"{code}_linearized_exact_ntk"] = (Le / L[0]).tolist()
        cols[f"{code}_linearized_paper_ntk"] = (np.asarray(row.losses_lin_paper) / L[0]).tolist()
        cols[f"{code}_bound_exact"] = (row.bound_exact ** k).tolist()
        ax.semilogy(k, row.bound_exact ** k, ":", color=color)
    ax.set_xlabel("GD step k")
    ax.set_ylabel("L_k / L_0")
    ax.set_title(f"Theorem 3.1: full-batch GD, η = {res['lr']:.3g}, N = {N}, width {width}", fontsize=10)
    from matplotlib.lines import Line2D

    styles = [Line2D([], [], color="k", ls=ls, lw=lw) for ls, lw in (("-", 1.5), ("--", 1), (":", 1.5))]
    dags = [Line2D([], [], color=c, lw=3) for c in ("C0", "C1", "C2")]
    fig.legend(dags + styles, [lab for lab, _ in _DAGS] + ["measured", "linearized, exact NTK",
                                                          "Theorem 3.1 bound"],
               loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return FigureResult("chen2022_fig4_convergence", fig,
                        "Chen et al. 2022 Fig. 4 / Theorem 3.1 analog: loss ratio L_k/L_0 under full-batch GD on "
                        "1/2||f - y||^2 (sklearn digits, labels +-1, common learning rate) for the three DAGs with "
                        "a scalar linear readout; dashed = the infinite-width linearized prediction with the exact NTK from the same initial residual; dotted = Theorem 3.1's bound (1 - eta*lambda_min(K^(H))/2)^k with "
                        "the exact lambda_min. The measured curves lie far below the bound (check C10 tests the bound from the "
                        "theorem's worst-case start, the residual on the slowest NTK direction, and C19 compares "
                        "measured rates across DAGs). (Fig. 4 itself plots "
                        "SGD training accuracy; `ntkcheck converge --scale paper` runs that protocol.)", cols)


def fig5_dbar_mbar(scale: str = "small", seed: int = 0, quiet: bool = True,
                   context: Mapping[str, Any] | None = None) -> FigureResult:
    """Fig. 5 on the real NB201 accuracies, one panel per dataset, from check C16's own computation (same group
    means, same R and top-1% enrichment)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from ntkcheck.paper_checks.chen2022 import NB201_DATASETS, _c16, _nb201_dm
    from ntkcheck.paper_checks.check import Context
    from ntkcheck.theory.connectivity import CODE_WINDOW_NB201, space_window

    ctx = Context(scale=scale, seed=seed, quiet=quiet, **(context or {})).for_check("chen2022.C16")
    res = _c16(ctx).details
    d_all, m_all = _nb201_dm()
    w = space_window(d_all, m_all)
    c, r = w["center"], w["radius"]
    (d0, d1), (m0, m1) = CODE_WINDOW_NB201
    fig, axes = plt.subplots(1, len(NB201_DATASETS), figsize=(15, 5.6), sharey=True, layout="constrained")
    cols: dict[str, list] = {}
    for ax, ds in zip(axes, NB201_DATASETS):
        per = res["per_dataset"][ds]
        keys = list(per["group_means"])
        gd = np.array([float(k.strip("()").split(",")[0]) for k in keys])
        gm = np.array([float(k.strip("()").split(",")[1]) for k in keys])
        cnt = np.array([per["group_means"][k]["n"] for k in keys])
        mu = np.array([per["group_means"][k]["mean"] for k in keys])
        pct = (np.argsort(np.argsort(mu)) + 0.5) / mu.size          # same colour scale in every panel
        sc = ax.scatter(gd, gm, s=20 + 300 * cnt / cnt.max(), c=pct, cmap="viridis", vmin=0, vmax=1,
                        edgecolors="k")
        ax.add_patch(Rectangle((d0, m0), d1 - d0, m1 - m0, fill=False, ec="red", lw=1.5, label="code window"))
        ax.add_patch(Rectangle((c[0] - r[0] / 2, c[1] - r[1] / 2), r[0], r[1], fill=False, ec="blue", ls="--",
                               lw=1.5, label="paper rule, ½ radius"))
        ax.set_title(f"{ds}\nR = {per['R_quadratic']:.3f}, top-1% enrichment {per['enrichment']:.2f}\n"
                     f"central − extreme = {per['central_minus_extreme']:.2f} points", fontsize=8)
        ax.set_xlabel("effective depth d̄")
        cols.update({f"{ds}_d_bar": gd.tolist(), f"{ds}_m_bar": gm.tolist(), f"{ds}_n_cells": cnt.tolist(),
                     f"{ds}_group_mean_accuracy": mu.tolist()})
    axes[0].set_ylabel("effective width m̄")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.colorbar(sc, ax=list(axes), label="group-mean accuracy\n(rank among the groups, 0 = worst, 1 = best)")
    fig.suptitle("Chen et al. 2022 Fig. 5 on NAS-Bench-201 (15,625 cells, NATS-Bench 200-epoch test accuracy)",
                 fontsize=10)
    return FigureResult("chen2022_fig5_dbar_mbar", fig,
                        "Chen et al. 2022 Fig. 5: NB201 cells grouped by (effective depth, effective width) under the "
                        "official code's rule, one panel per dataset; colour = the group's mean NATS-Bench accuracy "
                        "as a rank among the groups (one scale for all panels), size = number of cells. Titles: the "
                        "census effect sizes of check C16 over all cells (quadratic multiple correlation R; the "
                        "share of the best 1% of cells that is central over the central share of all cells; mean "
                        "accuracy of central minus extreme cells). Red: the official "
                        "code's window; blue dashed: the paper's ½-radius rule (d̄ = 0 excluded from the range).",
                        cols)


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True,
                 context: Mapping[str, Any] | None = None) -> list[FigureResult]:
    """The three Chen et al. 2022 figure analogs (see the module docstring)."""
    return [fig3_lambda(seed, quiet), fig4_convergence(scale, seed, quiet), fig5_dbar_mbar(scale, seed, quiet, context)]
