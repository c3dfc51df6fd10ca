r"""Figures for Zhu et al. 2022 (experiments suggested by its λ_min bounds and Eigen-NAS, regenerated at toy scale — the paper's own
figures are not available, so nothing here is a reproduction of a specific figure).

``make_figures(scale="small", seed=0, quiet=True) -> list[FigureResult]``:

1. ``zhu2022_depth``: exact λ_min of the infinite-width NTK, the certified lower bounds (Schur recursion, best
   single Hermite term, NTK layer sum) and the finite-width λ_min (mean over seeds) vs depth, per activation;
2. ``zhu2022_skips``: λ_min and the Schur-recursion bound vs the number of deep skips, by skip length;
3. ``zhu2022_tightness``: heat map of bound / λ_min for the Schur recursion over (activation, depth);
4. ``zhu2022_eigennas``: Eigen-NAS scatter: train-free closed-form score vs exact λ_min and vs the empirical score
   (Kendall τ pooled over the one population of fc nets);
5. ``zhu2022_eigennas_nb201``: the searches of check ``zhu2022.1`` (same function, same seed): distribution of the
   NB201 test accuracy of the cell Eigen-NAS selects (the paper's score, conv empirical NTK λ_min) per dataset, next to the paper's
   number ± the check's tolerance.  Dataset colours as in the Mok figures.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ntkcheck.figures.common import FigureResult

ACTS = ("relu", "tanh", "sigmoid", "erf", "gelu")


def _sphere(rng, N, d):
    X = rng.standard_normal((N, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _depth_data(X, depths, acts, width, seeds, quiet):
    from tqdm import tqdm

    from ntkcheck.empirical.eigen_nas import eigen_nas_score
    from ntkcheck.theory.bounds import exact_kernel, lam_min_certified, lower_bounds

    rows = []
    for act in tqdm(acts, desc="zhu2022 depth", disable=quiet, leave=False):
        for L in depths:
            spec = {"fc": [act] * L}
            lam = lam_min_certified(exact_kernel(spec, X))[0]
            lb = lower_bounds(spec, X, "ntk")
            emp = eigen_nas_score(spec, X, width=width, seeds=seeds)["score"] if width else np.nan
            rows.append({"activation": act, "depth": L, "lambda_min": lam, "schur_recursion": lb["schur_recursion"],
                         "hermite_best_term": lb["hermite_best_term"], "ntk_layer_sum_diag": lb["ntk_layer_sum_diag"],
                         "finite_width": emp})
    return rows


def make_figures(scale: str = "small", seed: int = 0, quiet: bool = True,
                 context: Mapping[str, Any] | None = None) -> list[FigureResult]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkcheck.empirical.eigen_nas import eigen_nas_score, fc_search_space, rank_correlation
    from ntkcheck.spec import parse_spec
    from ntkcheck.theory.bounds import exact_kernel, lam_min_certified, lb_schur_recursion

    rng = np.random.default_rng(seed)
    small = scale == "small"
    N, d = (8, 16) if small else (20, 40)
    X = _sphere(rng, N, d)
    depths = (1, 2, 3, 4) if small else (1, 2, 3, 4, 6, 8)
    width = 256 if small else 2048
    seeds = 2 if small else 5
    out: list[FigureResult] = []

    # 1. vs depth
    rows = _depth_data(X, depths, ACTS, width, seeds, quiet)
    fig, axes = plt.subplots(1, len(ACTS), figsize=(2.6 * len(ACTS), 3.4), sharey=True, layout="constrained")
    series = (("lambda_min", "k-o", "exact λ_min (infinite width)"),
              ("finite_width", "C3x--", f"finite-width λ_min (width {width}, mean of {seeds} seeds)"),
              ("schur_recursion", "C0-s", "lower bound: Schur recursion"),
              ("ntk_layer_sum_diag", "C2-^", "lower bound: NTK layer sum"),
              ("hermite_best_term", "C1-v", "lower bound: best single Hermite term"))
    for ax, act in zip(axes, ACTS):
        rr = [r for r in rows if r["activation"] == act]
        Ls = [r["depth"] for r in rr]
        for key, style, label in series:
            vals = np.array([r[key] for r in rr], float)
            ax.plot(Ls, np.where(vals > 0, vals, np.nan), style, label=label, ms=4)
        ax.set_yscale("log")
        ax.set_xticks(depths)
        ax.set_title(act, fontsize=10)
        ax.set_xlabel("depth L")
    axes[0].set_ylabel("λ_min of the NTK")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    out.append(FigureResult("zhu2022_depth", fig,
                            f"Exact infinite-width NTK lambda_min (black), certified lower bounds (coloured; vacuous "
                            f"values omitted) and the finite-width lambda_min at width {width} (mean of {seeds} seeds, "
                            f"red crosses) vs depth for fc nets with one activation, N={N} points on S^{d - 1}. "
                            "Toy-scale regeneration, not the paper's figure.", cols))

    # 2. vs skips
    L = 5 if small else 7
    pairs = [(i, j) for i in range(L) for j in range(i + 2, L)]
    srows = []
    for k in range(len(pairs) + 1):
        for _ in range(2 if small else 4):
            sub = [pairs[i] for i in sorted(rng.choice(len(pairs), size=k, replace=False))]
            s = parse_spec({"fc": ["relu"] * L, "skips": [list(p) for p in sub]})
            srows.append({"n_skips": k, "mean_length": float(np.mean([j - i for i, j in sub])) if sub else 0.0,
                          "lambda_min": lam_min_certified(exact_kernel(s, X))[0],
                          "schur_recursion": lb_schur_recursion(s, X)})
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    ns = np.array([r["n_skips"] for r in srows])
    ml = np.array([r["mean_length"] for r in srows])
    sc = ax.scatter(ns, [r["lambda_min"] for r in srows], c=ml, cmap="viridis", marker="o", label="exact λ_min")
    ax.scatter(ns + 0.1, [r["schur_recursion"] for r in srows], c=ml, cmap="viridis", marker="s", label="Schur-recursion lower bound")
    fig.colorbar(sc, ax=ax, label="mean skip length")
    ax.set_yscale("log")
    ax.set_xlabel("number of deep skips")
    ax.set_ylabel("λ_min of the NTK")
    leg = fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=8,
                     frameon=False)
    for h in leg.legend_handles:             # the marker says which quantity; colour is the skip length
        h.set_array(None)
        h.set_facecolor("0.35")
        h.set_edgecolor("0.35")
    out.append(FigureResult("zhu2022_skips", fig,
                            f"ReLU fc net with {L} weighted layers and random deep-skip masks: exact lambda_min "
                            "(circles) and the certified Schur-recursion lower bound (squares) vs the number of skips, "
                            "coloured by mean skip length.", {k: [r[k] for r in srows] for k in srows[0]}))

    # 3. tightness heat map
    M = np.array([[r["schur_recursion"] / r["lambda_min"] if r["lambda_min"] > 0 else np.nan
                   for r in rows if r["activation"] == a] for a in ACTS])
    fig, ax = plt.subplots(figsize=(4.8, 3.8), layout="constrained")
    im = ax.imshow(M, vmin=0, vmax=1, cmap="magma", aspect="auto")
    ax.set_xticks(range(len(depths)), [str(x) for x in depths])
    ax.set_yticks(range(len(ACTS)), ACTS)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", color="w" if M[i, j] < 0.5 else "k", fontsize=7)
    fig.colorbar(im, ax=ax, label="Schur-recursion bound / λ_min")
    ax.set_xlabel("depth L")
    ax.set_ylabel("activation")
    out.append(FigureResult("zhu2022_tightness", fig,
                            "Tightness ratio (certified Schur-recursion lower bound) / (exact lambda_min) of the NTK over "
                            "(activation, depth); 1 = tight, 0 = vacuous.",
                            {"activation": [r["activation"] for r in rows], "depth": [r["depth"] for r in rows],
                             "ratio": [r["schur_recursion"] / r["lambda_min"] for r in rows]}))

    # 4. Eigen-NAS scatter
    specs = fc_search_space(3, sample=16 if small else 60, seed=seed)
    cf = [lb_schur_recursion(s, X) for s in specs]
    ex = [lam_min_certified(exact_kernel(s, X))[0] for s in specs]
    em = [eigen_nas_score(s, X, width=width, seeds=seeds)["score"] for s in specs]
    t1 = rank_correlation(cf, ex, n_boot=300, seed=seed)
    t2 = rank_correlation(em, ex, n_boot=300, seed=seed)
    fig, ax = plt.subplots(figsize=(5.2, 4.2), layout="constrained")
    ax.loglog(ex, np.maximum(cf, 1e-12), "o", label=f"closed-form score (Kendall τ = {t1['value']:.2f})")
    ax.loglog(ex, em, "x", label=f"empirical score, width {width} (Kendall τ = {t2['value']:.2f})")
    lim = [min(ex) * 0.5, max(ex) * 2]
    ax.plot(lim, lim, "k:", lw=0.8, label="y = x")
    ax.set_xlabel("exact infinite-width λ_min")
    ax.set_ylabel("Eigen-NAS score")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=1, fontsize=8, frameon=False)
    out.append(FigureResult("zhu2022_eigennas", fig,
                            f"Eigen-NAS scores of {len(specs)} random fc nets (activations per layer from the search "
                            f"set, random deep skips) vs the exact lambda_min: train-free closed-form lower bound "
                            f"(Kendall tau pooled over the {len(specs)} nets {t1['value']:.2f}, 95% CI "
                            f"{t1['ci95'][0]:.2f}..{t1['ci95'][1]:.2f}) and "
                            f"empirical lambda_min at init (tau {t2['value']:.2f}). Dotted: y = x.",
                            {"arch": [str(s) for s in specs], "exact": ex, "closed_form": cf, "empirical": em}))
    out.append(_fig_eigennas_nb201(scale, seed, quiet, context))
    return out


def _fig_eigennas_nb201(scale: str, seed: int, quiet: bool, context: Mapping[str, Any] | None = None) -> FigureResult:
    import matplotlib.pyplot as plt

    from ntkcheck.figures.mok2022 import DATASET_COLOURS
    from ntkcheck.paper_checks.check import Context
    from ntkcheck.paper_checks.zhu2022 import EIGENNAS_REF, EIGENNAS_TOL, eigennas_population

    ctx = Context(scale=scale, seed=seed, quiet=quiet, **(context or {})).for_check("zhu2022.1")
    res = eigennas_population(ctx)
    keys = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True, layout="constrained")
    cols: dict[str, list] = {"dataset": [], "search": [], "selected_accuracy": []}
    for ax, (d, key) in zip(axes, keys.items()):
        sel = res["selected"][d]
        ax.hist(sel, bins=30, color=DATASET_COLOURS[d], alpha=0.8)
        ref, tol = EIGENNAS_REF[key], EIGENNAS_TOL[key]
        ax.axvspan(ref - tol, ref + tol, color="k", alpha=0.15, label="paper's value ± the check's tolerance")
        ax.axvline(float(np.mean(sel)), color="k", lw=1.2, label="mean of the selected cells")
        ax.axvline(res["random_sample_mean"][d], color="grey", ls=":", label="mean of a random cell")
        ax.set_title(f"{d}: paper {ref} ± {tol}, selected mean {np.mean(sel):.2f}", fontsize=9)
        ax.set_xlabel("test accuracy of the selected cell (%)")
        cols["dataset"] += [d] * sel.size
        cols["search"] += list(range(sel.size))
        cols["selected_accuracy"] += sel.tolist()
    axes[0].set_ylabel("searches")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return FigureResult("zhu2022_eigennas_nb201", fig,
                        f"Eigen-NAS on NB201 as check zhu2022.1 runs it: {res['searches']} seeded searches, each the "
                        f"argmax of the Eigen-NAS score (conv network's empirical NTK lambda_min at init) among "
                        f"{res['candidates']} cells drawn from the stratified NB201 population; "
                        "histogram of the selected cell's NATS-Bench test accuracy per dataset, the paper's number "
                        "with the check's tolerance band, and the mean of a random cell.", cols)
