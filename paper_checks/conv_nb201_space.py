r"""Theory vs estimator vs approximation on NAS-Bench-201: does the infinite-width NTK's own quantity predict
accuracy, or only the finite-width estimator the papers measure?

Quantities (all against the NATS-Bench 200-epoch test accuracy of CIFAR-10, CIFAR-100 and ImageNet16-120):

* **theory** — κ = λ_max/λ_min and λ_min of the exact infinite-width NTK and NNGP of the convolutional cell
  (cross terms, no BN) on every cell with an input→output path: read from the shipped table
  (:func:`ntkcheck.data.nb201_conv_kernel_table`, 16 natural 3×8×8 images), never recomputed here;
* **estimator** — TE-NAS's κ_N (registry metric ``kappa``: the C = 3, N = 1 NB201 network with BN at
  Kaiming-normal init) and Zhu et al.'s Eigen-NAS score (registry metric ``eigennas``: seed-averaged λ_min of
  the conv network's empirical NTK at init), on the stratified NB201 population of
  :mod:`ntkcheck.paper_checks.nb201_population` (220 cells at small scale, κ_N shared with its cache);
* **approximation** — κ and λ_min of the kernel without the cross terms between linear paths into a node
  (what neural-tangents' ``stax.FanInSum`` computes; ``conv_cells_kernels(..., cross_terms=False)``) on the
  same population and images as the table;
* **size baselines** — #params (registry metric ``params``: the C = 16, N = 5 benchmark network; it depends
  only on the numbers of 3×3 and 1×1 convolutions, since skip, pooling and none carry no parameters, so it is
  evaluated once per such pair) and the number of conv ops in the cell.

Every τ is Kendall τ-b with a bootstrap 95% CI (:func:`ntkcheck.stats.kendall`), beside the partial τ given
#params and given #conv ops (:func:`ntkcheck.stats.partial_kendall`): how much of the ranking is more than size.
The width question (does the finite network's κ approach the exact κ's τ as its width grows?) uses the finite
network whose infinite-channel limit the table holds (:mod:`ntkcheck.empirical.nb201_conv_limit`, no BN), on
the table's images, at three widths, on a seeded subsample of the population.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ntkcheck.threads import pin_torch_threads

__all__ = ["QUANTITIES", "WIDTHS", "size_covariates", "whole_space", "population_quantities", "width_sweep",
           "tau_rows"]

#: shipped-table columns reported (the theory's κ and λ_min of both kernels)
QUANTITIES = ("ntk_kappa", "ntk_lambda_min", "nngp_kappa", "nngp_lambda_min")
#: finite-network widths (channels) of the width question
WIDTHS = (16, 64, 256)
#: registry settings of the Eigen-NAS score at CPU scale (the paper's protocol: batch 32, 3 seeds)
EIGENNAS_CPU = {"batch": 16, "seeds": 1}


def _conv_counts(cells: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    from ntkcheck.spec import parse_nb201

    ops = [parse_nb201(c) for c in cells]
    return (np.array([o.count("nor_conv_3x3") for o in ops]), np.array([o.count("nor_conv_1x1") for o in ops]))


def size_covariates(cells: Sequence[str]) -> dict[str, np.ndarray]:
    """``{"params": #params, "conv_ops": #conv ops}`` per cell; #params from the registry metric ``params``
    evaluated once per (#3×3, #1×1) pair (module docstring)."""
    from ntkcheck.metrics import Arch, evaluate, resolve_config
    from ntkcheck.spec import nb201_string

    n3, n1 = _conv_counts(cells)
    cfg = resolve_config("params", {})
    memo: dict[tuple[int, int], float] = {}
    for a, b in sorted(set(zip(n3.tolist(), n1.tolist()))):
        cell = nb201_string(("nor_conv_3x3",) * a + ("nor_conv_1x1",) * b + ("skip_connect",) * (6 - a - b))
        r = evaluate("params", Arch(cell, "nb201"), None, 0, cfg)
        if r.status == "error":
            raise RuntimeError(f"params of {cell}: {r.message}")
        memo[(a, b)] = float(r.value)
    params = np.array([memo[(a, b)] for a, b in zip(n3.tolist(), n1.tolist())])
    return {"params": params, "conv_ops": (n3 + n1).astype(float)}


def _rank_ready(x: np.ndarray) -> np.ndarray:
    """+inf (a κ whose λ_min is within its error bound of 0) ranked above every finite value, order kept."""
    x = np.asarray(x, float)
    fin = np.isfinite(x)
    if fin.all() or not fin.any():
        return x
    return np.where(np.isposinf(x), np.nanmax(np.where(fin, x, np.nan)) * 10 + 1, x)


def tau_rows(q: dict[str, np.ndarray], acc: dict[str, np.ndarray], cov: dict[str, np.ndarray], *,
             n_resamples: int, seed: int) -> list[dict[str, Any]]:
    """One row per (quantity, dataset): τ with CI and p, and the partial τ given each covariate."""
    from ntkcheck.stats import kendall, partial_kendall

    rows = []
    for name, x in q.items():
        x = _rank_ready(x)
        for ds, y in acc.items():
            e = kendall(x, y, seed=seed, n_resamples=n_resamples)
            row = {"quantity": name, "dataset": ds, "n": e.n, "tau": e.statistic, "ci95": [e.low, e.high],
                   "p": e.pvalue, "method": e.method}
            for cname, z in cov.items():
                if name == cname:
                    continue
                p = partial_kendall(x, y, z, seed=seed, n_resamples=n_resamples)
                row[f"partial_given_{cname}"] = {"tau": p.statistic, "ci95": [p.low, p.high], "p": p.pvalue}
            rows.append(row)
    return rows


def whole_space(*, n_resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """(a): the theory's κ and λ_min of every cell with an input→output path, from the shipped table."""
    from ntkcheck.data import DATASETS, nb201_conv_kernel_table, nb201_table

    t = nb201_conv_kernel_table()
    live = ~np.asarray(t.degenerate)
    cells = [a for a, ok in zip(t.arch, live) if ok]
    acc = {d: np.asarray(nb201_table().accuracy[d])[live] for d in DATASETS}
    cov = size_covariates(cells)
    q = {name: np.asarray(getattr(t, name))[live] for name in QUANTITIES}
    rows = tau_rows({**q, **cov}, acc, cov, n_resamples=n_resamples, seed=seed)
    return {"rows": rows, "n": int(live.sum()), "singular_kappa": int(np.isposinf(q["ntk_kappa"]).sum()),
            "source": t.source}


# ---- the population: estimator and approximation on the same cells -------------------------------------

def _json_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def eigennas_values(ctx, cells: Sequence[str], cfg_over: dict | None = None) -> np.ndarray:
    """Eigen-NAS score (registry metric ``eigennas``) of each cell on the population's inputs, cached per cell
    (keyed by the metric's config hash, the seed and the code fingerprint)."""
    from ntkcheck.cache import code_fingerprint
    from ntkcheck.metrics import Arch, config_hash, evaluate, resolve_config
    from ntkcheck.paper_checks.nb201_population import MetricConfig, _cached_per_cell, _cell_seed, _inputs_for

    pcfg = MetricConfig.for_scale(ctx.scale, ctx.seed)
    inputs = _inputs_for(pcfg)
    cfg = resolve_config("eigennas", dict(EIGENNAS_CPU if cfg_over is None else cfg_over))
    key = config_hash("eigennas", cfg, inputs.fingerprint, "nb201")
    key = hashlib.sha256(f"{key}|{ctx.seed}|{code_fingerprint()}".encode()).hexdigest()[:16]

    def score(c: str) -> float:
        r = evaluate("eigennas", Arch(c, "nb201"), inputs, _cell_seed(pcfg, c), cfg)
        if r.status == "error":
            raise RuntimeError(f"eigennas on {c}: {r.message}")
        return float(r.value)

    path = Path(ctx.cache_dir) / "nb201_eigennas" / f"{key}.json"
    return _cached_per_cell(ctx, path, cells, {"eigennas": score}, "NB201 Eigen-NAS score", {"config": cfg},
                            save_every=20)["eigennas"]


def no_cross_term_values(ctx, cells: Sequence[str]) -> dict[str, np.ndarray]:
    """κ and λ_min of the conv NTK without cross terms (stax FanInSum) on the table's images, cached."""
    from ntkcheck.data import nb201_conv_kernel_table
    from ntkcheck.io import save_npz_atomic
    from ntkcheck.theory.conv_kernels import conv_cells_kernels
    from ntkcheck.theory.spectra import certified_eigvalsh_batch

    from ntkcheck.cache import code_fingerprint

    X = np.asarray(nb201_conv_kernel_table().images)
    tag = hashlib.sha256(("\n".join(cells) + code_fingerprint()).encode() + X.tobytes()).hexdigest()[:16]
    path = Path(ctx.cache_dir) / "nb201_conv_no_cross" / f"{tag}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    _, T = conv_cells_kernels(cells, X, cross_terms=False, workers=1)
    s = certified_eigvalsh_batch(T)
    lmin, err, lmax = s["lambda_min"], s["error_bound"], s["lambda_max"]
    out = {"ntk_kappa": np.where(lmin > err, lmax / np.where(lmin > err, lmin, 1.0), np.inf), "ntk_lambda_min": lmin}
    save_npz_atomic(path, **out)
    return out


def population_quantities(ctx) -> dict[str, Any]:
    """(b) and (c) with the theory beside them, on the NB201 population's cells."""
    from ntkcheck.data import nb201_conv_kernel_table
    from ntkcheck.paper_checks.nb201_population import population

    pop = population(ctx)
    cells = list(pop["cells"])
    t = nb201_conv_kernel_table()
    row = {a: k for k, a in enumerate(t.arch)}
    idx = np.array([row[c] for c in cells])
    ctx.progress("Eigen-NAS scores of the NB201 population")
    eig = eigennas_values(ctx, cells)
    ctx.progress("conv NTK without cross terms on the NB201 population")
    nox = no_cross_term_values(ctx, cells)
    q = {"exact_ntk_kappa": np.asarray(t.ntk_kappa)[idx], "exact_ntk_lambda_min": np.asarray(t.ntk_lambda_min)[idx],
         "kappa_N": np.asarray(pop["metrics"]["kappa"], float), "eigennas": eig,
         "no_cross_ntk_kappa": nox["ntk_kappa"], "no_cross_ntk_lambda_min": nox["ntk_lambda_min"]}
    return {"cells": cells, "quantities": q, "accuracy": pop["accuracy"], "covariates": size_covariates(cells),
            "sampling": pop["sampling"], "networks": pop["networks"],
            "eigennas_config": dict(EIGENNAS_CPU)}


def population_taus(ctx, pq: dict[str, Any], *, n_resamples: int) -> list[dict[str, Any]]:
    return tau_rows(pq["quantities"], pq["accuracy"], pq["covariates"], n_resamples=n_resamples,
                    seed=ctx.seed)  # shared by K5-K7 and the figure


# ---- the width question ---------------------------------------------------------------------------------

def width_sweep(ctx, cells: Sequence[str], widths: Sequence[int] = WIDTHS, *, seeds: int = 1) -> dict[str, Any]:
    """κ of the empirical NTK of the finite conv network (no BN, NTK parametrization) of each cell at each
    width, on the table's images, mean of log κ over ``seeds`` initialisations; cached."""
    import torch

    from ntkcheck.data import nb201_conv_kernel_table
    from ntkcheck.empirical.nb201_conv_limit import build_conv_limit_net
    from ntkcheck.empirical.ntk import empirical_ntk
    from ntkcheck.io import write_json_atomic
    from ntkcheck.spec import parse_any_spec
    from ntkcheck.theory.spectra import certified_eigvalsh

    X = np.asarray(nb201_conv_kernel_table().images)
    from ntkcheck.cache import code_fingerprint

    tag = hashlib.sha256(X.tobytes() + json.dumps([list(cells), list(widths), seeds, ctx.seed,
                                                   code_fingerprint()]).encode()).hexdigest()[:16]
    path = Path(ctx.cache_dir) / "nb201_conv_width" / f"{tag}.json"
    store = _json_cache(path)
    Xt = torch.tensor(X.reshape(X.shape[0], -1))   # a copy: the table's arrays are read-only
    pin_torch_threads()
    for w in widths:
        key = str(w)
        if key in store and len(store[key]) == len(cells):
            continue
        vals = []
        for c in cells:
            spec = parse_any_spec({"nb201": c, "kernel": "conv", "image": [3, 8, 8]})
            logs = []
            for s in range(seeds):
                seed = int.from_bytes(hashlib.sha256(f"{ctx.seed}|{c}|{s}".encode()).digest()[:3], "little")
                T = empirical_ntk(build_conv_limit_net(spec, w, seed=seed), Xt, engine="loop").numpy()
                sp = certified_eigvalsh(0.5 * (T + T.T))
                logs.append(np.log(sp.lambda_max / sp.lambda_min) if sp.lambda_min > sp.error_bound else np.inf)
            vals.append(float(np.exp(np.mean(logs))))
        store[key] = vals
        write_json_atomic(path, store)
    return {"widths": list(widths), "kappa": {int(k): np.array(v) for k, v in store.items()}, "seeds": seeds}
