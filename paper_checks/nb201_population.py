r"""NAS-Bench-201 populations for the paper checks: real accuracies, stratified seeded samples of cells, and
the TE-NAS training-free metrics of each sampled cell on natural images (cached).

* **Accuracies** — :func:`accuracies`: the 200-epoch test accuracy of all 15,625 cells on one dataset, from the
  table shipped with the package (:mod:`ntkcheck.data`, NATS-Bench tss, Dong et al. TPAMI 2021, sha256
  verified on load), or from the user's own benchmark file given with ``--nats-bench`` (read by
  :mod:`ntkcheck.paper_checks.natsbench`).
* **Sample** — :func:`stratified_cells`: ``n`` cells drawn without replacement, stratified by CIFAR-10 accuracy
  decile (proportional allocation, ``n/10`` per decile), from the cells that have an input→output path
  (degenerate cells have a zero kernel, so κ_N is undefined).  The draw depends only on ``(seed, n)``: the same
  population serves every dataset and every check, so its metrics are measured once.
* **Metrics** — :func:`cell_metrics`: κ_N and R̂_N of each sampled cell, computed by the registry metrics
  ``kappa`` and ``regions`` of :mod:`ntkcheck.metrics` (one definition per metric, shared with
  ``ntkcheck sweep``; settings in :class:`MetricConfig`) on natural images: 32×32 crops of the two photographs
  bundled with scikit-learn (:func:`ntkcheck.sweep.inputs.natural_images`; never Gaussian noise, no download) —
  a stand-in for TE-NAS's CIFAR batch that every report names.  Each cell's weights are seeded from
  (run seed, cell string), so a value does not depend on which other cells are in the sample.  Values are cached
  per cell under ``<cache dir>/nb201_metrics/<config hash>.json`` (the registry's config hashes, which include
  the input fingerprint) and saved every few cells, so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ntkcheck.data import DATASETS

__all__ = ["DATASETS", "MetricConfig", "METRICS", "accuracies", "accuracy_lookup", "available_datasets",
           "stratified_cells", "cell_metrics", "population", "population_size", "sweep_population",
           "SIZE_METRICS", "conv_op_count", "cell_size_metrics", "population_sizes", "size_baselines", "public",
           "census_sizes"]


def population_size(scale: str) -> int:
    """Cells in the NB201 population: 220 at small scale (κ_N ≈ 0.4 s of CPU per cell; at 80 % power and
    α = 0.05 a Kendall τ of 0.42 needs n ≳ 20, the T4 margin of 0.19 n ≳ 100, and T8's op-fraction difference of
    0.144 over the top 10 % n ≳ 210), 1,000 at paper scale."""
    return 220 if scale == "small" else 1000


# ---- accuracies ------------------------------------------------------------------------------------------

def accuracies(ctx, dataset: str) -> tuple[tuple[str, ...], np.ndarray, str]:
    """(cell strings, accuracies in %, source description) for ``dataset`` over all cells of the table."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if getattr(ctx, "nats_bench", None):
        from ntkcheck.paper_checks.natsbench import load_nats_bench

        t = load_nats_bench(ctx.nats_bench, dataset)
        return t.archs, np.asarray(t.accuracies, dtype=float), t.describe()
    from ntkcheck.data import SOURCE, nb201_table

    t = nb201_table()
    return t.arch, np.asarray(t.accuracy[dataset]), SOURCE


def accuracy_lookup(ctx, dataset: str) -> dict[str, float]:
    archs, acc, _ = accuracies(ctx, dataset)
    return dict(zip(archs, acc.tolist()))


def available_datasets(ctx) -> tuple[str, ...]:
    """The datasets with accuracies in this run: all three for the shipped table; those a ``--nats-bench`` file has."""
    if not getattr(ctx, "nats_bench", None):
        return DATASETS
    from ntkcheck.errors import NtkcheckError

    out = []
    for d in DATASETS:
        try:
            accuracies(ctx, d)
        except NtkcheckError:
            continue
        out.append(d)
    if not out:
        raise NtkcheckError(f"--nats-bench {ctx.nats_bench}: no accuracies for any of {', '.join(DATASETS)}")
    return tuple(out)


def has_path(cell: str) -> bool:
    """True iff the cell has an input→output path of non-'none' edges (NB201 edges are listed in target order,
    so one pass propagates reachability)."""
    from ntkcheck.spec import NB201_EDGES, parse_nb201

    reach = {0}
    for (i, j), op in zip(NB201_EDGES, parse_nb201(cell)):
        if op != "none" and i in reach:
            reach.add(j)
    return 3 in reach


@lru_cache(maxsize=4)
def _degenerate(cells: tuple[str, ...]) -> np.ndarray:
    return np.array([not has_path(c) for c in cells])


def stratified_cells(ctx, n: int, *, strata: int = 10) -> list[str]:
    """``n`` non-degenerate cells, stratified by CIFAR-10 accuracy decile (the first available dataset of a
    ``--nats-bench`` file), seeded by ``(ctx.seed, n)``; returned in table order (so the list, not only the set,
    is reproducible).  A table with fewer cells gives all of them."""
    archs, acc, _ = accuracies(ctx, available_datasets(ctx)[0])
    ok = np.flatnonzero(~_degenerate(tuple(archs)))
    order = ok[np.argsort(acc[ok], kind="stable")]
    bins = np.array_split(order, strata)
    rng = np.random.default_rng([int(ctx.seed), int(n), 201])
    per = [n // strata + (1 if k < n % strata else 0) for k in range(strata)]
    pick = np.concatenate([rng.choice(b, size=min(m, b.size), replace=False) for b, m in zip(bins, per)])
    return [archs[i] for i in np.sort(pick)]


# ---- metrics (through the metric registry: one definition per metric) -------------------------------------

@dataclass(frozen=True)
class MetricConfig:
    """How κ_N and R̂_N of one NB201 cell are measured: the registry metrics ``kappa`` and ``regions``
    (:mod:`ntkcheck.metrics`, mode "paper": fresh Kaiming-normal weights per repeat, float64) with these
    overrides, on ``n_images`` natural-image crops (:func:`ntkcheck.sweep.inputs.natural_images`)."""

    batch: int = 16              # crops in the NTK batch (paper: 32; TE-NAS's code: 72)
    kappa_repeats: int = 1       # TE-NAS: 3
    rn_samples: int = 1000       # TE-NAS's code: 3000, the paper 5000
    rn_repeats: int = 2
    seed: int = 0

    @staticmethod
    def for_scale(scale: str, seed: int) -> "MetricConfig":
        if scale == "paper":
            return MetricConfig(batch=32, kappa_repeats=3, rn_samples=3000, rn_repeats=3, seed=seed)
        return MetricConfig(seed=seed)

    def inputs(self):
        from ntkcheck.sweep.inputs import natural_images

        return natural_images(max(self.batch * self.kappa_repeats, 64), seed=self.seed)

    def registry_configs(self) -> dict[str, dict]:
        from ntkcheck.metrics import resolve_config

        return {"kappa": resolve_config("kappa", {"batch": self.batch, "repeats": self.kappa_repeats}),
                "regions": resolve_config("regions", {"samples": self.rn_samples, "repeats": self.rn_repeats,
                                                      "batch": self.rn_samples})}

    def key(self) -> str:
        """The cache key: the registry's config hash of each metric (name, version, settings, input fingerprint)
        and the code fingerprint (:func:`ntkcheck.cache.code_fingerprint`: an engine change makes it cold)."""
        from ntkcheck.cache import code_fingerprint
        from ntkcheck.metrics import config_hash

        fp = _inputs_fingerprint(self)
        blob = json.dumps({n: config_hash(n, c, fp, "nb201") for n, c in self.registry_configs().items()} |
                          {"seed": self.seed, "code": code_fingerprint()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def describe(self) -> str:
        return (f"kappa_N: registry metric 'kappa' (TE-NAS C=3 N=1 NB201 conv net, 3 stages, stem; {self.batch} "
                f"natural 32x32 crops x {self.kappa_repeats} repeat(s), fresh Kaiming-normal fan_out weights, "
                f"train-mode BN, float64); R_N: registry metric 'regions' (thin 1-channel cell, {self.rn_samples} "
                f"one-channel 3x3 patches of the crops x {self.rn_repeats} Kaiming-normal fan_in draws)")


@lru_cache(maxsize=4)
def _inputs_for(cfg: MetricConfig):
    return cfg.inputs()


@lru_cache(maxsize=4)
def _inputs_fingerprint(cfg: MetricConfig) -> str:
    return _inputs_for(cfg).fingerprint


def _cell_seed(cfg: MetricConfig, cell: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{cfg.seed}|{cell}".encode()).digest()[:3], "little")


def _registry_value(name: str, cell: str, cfg: MetricConfig) -> float:
    from ntkcheck.metrics import Arch, evaluate

    r = evaluate(name, Arch(cell, "nb201"), _inputs_for(cfg), _cell_seed(cfg, cell), cfg.registry_configs()[name])
    if r.status == "error":
        raise RuntimeError(f"metric {name} on {cell}: {r.message}")
    return float(r.value)


def kappa_of_cell(cell: str, cfg: MetricConfig) -> float:
    """κ_N of one cell (registry metric ``kappa``, inf when the NTK is singular)."""
    return _registry_value("kappa", cell, cfg)


def region_count_of_cell(cell: str, cfg: MetricConfig) -> float:
    """R̂_N of one cell (registry metric ``regions``)."""
    return _registry_value("regions", cell, cfg)


#: The engine: metric name -> function(cell, cfg).  Tests perturb these to prove the checks can fail.
METRICS: dict[str, Callable[[str, MetricConfig], float]] = {"kappa": kappa_of_cell, "R_N": region_count_of_cell}


def cell_metrics(ctx, cells: Sequence[str], cfg: MetricConfig, *, save_every: int = 10) -> dict[str, np.ndarray]:
    """``{"kappa": array, "R_N": array}`` over ``cells`` (in order), cached per cell on disk."""
    path = Path(ctx.cache_dir) / "nb201_metrics" / f"{cfg.key()}.json"
    return _cached_per_cell(ctx, path, cells, {name: (lambda c, fn=fn: fn(c, cfg)) for name, fn in METRICS.items()},
                            "NB201 kappa_N / R_N", {"config": asdict(cfg)}, save_every)


def _cached_per_cell(ctx, path: Path, cells: Sequence[str], engines: Mapping[str, Callable[[str], float]],
                     desc: str, header: Mapping[str, Any], save_every: int) -> dict[str, np.ndarray]:
    """``{name: array over cells}`` of ``engines[name](cell)``, cached per cell in the JSON file ``path`` (whose
    name carries the code-keyed configuration); finished cells are written every ``save_every`` cells, so a killed
    run resumes without loss.  An unreadable cache file counts as empty."""
    from tqdm import tqdm

    from ntkcheck.io import write_json_atomic

    store: dict[str, dict[str, float]] = {}
    if path.exists():
        try:
            store = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            store = {}
    missing = [c for c in cells if c not in store or set(engines) - set(store[c])]
    for k, c in enumerate(tqdm(missing, desc=desc, unit="cell", disable=ctx.quiet or not missing,
                               file=sys.stderr, leave=False)):
        store[c] = {name: fn(c) for name, fn in engines.items()}
        if (k + 1) % save_every == 0 or k + 1 == len(missing):
            write_json_atomic(path, {**header, "cells": dict(sorted(store.items()))})
    return {name: np.array([store[c][name] for c in cells], dtype=float) for name in engines}


# ---- size baselines (the first thing a referee compares a training-free metric with) ----------------------

#: Per-cell size metrics: registry metrics ``params`` and ``flops`` (the NB201 benchmark network, C=16, N=5) and
#: the number of convolutions in the cell string.
SIZE_METRICS = ("params", "flops", "n_conv")
_CONV_OPS = ("nor_conv_1x1", "nor_conv_3x3")


def conv_op_count(cell: str) -> int:
    """Number of convolution edges (nor_conv_1x1, nor_conv_3x3) in an NB201 cell string."""
    from ntkcheck.spec import parse_nb201

    return sum(op in _CONV_OPS for op in parse_nb201(cell))


def _registry_size(name: str, cell: str, cfg: MetricConfig) -> float:
    from ntkcheck.metrics import Arch, evaluate, resolve_config

    r = evaluate(name, Arch(cell, "nb201"), _inputs_for(cfg), 0, resolve_config(name))
    if r.status == "error":
        raise RuntimeError(f"metric {name} on {cell}: {r.message}")
    return float(r.value)


#: The size engine: metric name -> function(cell, cfg) (tests replace it with cheap stand-ins).
SIZE_ENGINES: dict[str, Callable[[str, MetricConfig], float]] = {
    "params": lambda cell, cfg: _registry_size("params", cell, cfg),
    "flops": lambda cell, cfg: _registry_size("flops", cell, cfg),
    "n_conv": lambda cell, cfg: float(conv_op_count(cell)),
}


def _size_key(cfg: MetricConfig) -> str:
    """The size cache's key: the registry's config hashes of ``params`` / ``flops`` and the code fingerprint."""
    from ntkcheck.cache import code_fingerprint
    from ntkcheck.metrics import config_hash, resolve_config

    fp = _inputs_fingerprint(cfg)
    blob = json.dumps({n: config_hash(n, resolve_config(n), fp, "nb201") for n in ("params", "flops")}
                      | {"n_conv": list(_CONV_OPS), "code": code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cell_size_metrics(ctx, cells: Sequence[str], cfg: MetricConfig | None = None, *,
                      save_every: int = 20) -> dict[str, np.ndarray]:
    """``{"params", "flops", "n_conv"}`` arrays over ``cells`` (in order), cached per cell on disk under
    ``<cache dir>/nb201_size/<key>.json`` (the registry's config hashes of ``params`` and ``flops``).  They do not
    depend on the seed: the benchmark network's size is a function of the cell; an engine change makes the cache
    cold (:func:`ntkcheck.cache.code_fingerprint`)."""
    cfg = cfg or MetricConfig()
    path = Path(ctx.cache_dir) / "nb201_size" / f"{_size_key(cfg)}.json"
    return _cached_per_cell(ctx, path, cells, {name: (lambda c, name=name: SIZE_ENGINES[name](c, cfg))
                                               for name in SIZE_METRICS},
                            "NB201 #params / FLOPs", {"metrics": list(SIZE_METRICS)}, save_every)


def population_sizes(ctx) -> dict[str, np.ndarray]:
    """The size metrics of the run's population (:func:`population`), memoised in ``ctx.shared``: the registry
    metrics (cached per cell) for a sampled population, :func:`census_sizes` for a sweep store's."""
    memo = ctx.shared.get("nb201_population_sizes")
    if memo is None:
        pop = population(ctx)
        # a sweep population may hold the whole space: the closed form (equal to the registry, tested) costs nothing
        memo = ctx.shared["nb201_population_sizes"] = (census_sizes(pop["cells"]) if ctx.sweep else
                                                       cell_size_metrics(ctx, pop["cells"], pop.get("config")))
    return memo


def census_sizes(cells: Sequence[str], cfg: MetricConfig | None = None) -> dict[str, np.ndarray]:
    """#params, FLOPs (the NAS-Bench-201 API's MFLOPs) and #conv of many cells (the whole table) from the closed
    form of :func:`ntkcheck.metrics.size.nb201_size` — the same function the registry metrics ``params`` /
    ``flops`` call, equal to torch's count on every cell (tests/sweep/test_size.py) — at no cost per cell."""
    from ntkcheck.metrics.size import nb201_size

    s = nb201_size(cells)
    return {"params": s.params.astype(float), "flops": s.flops.astype(float), "n_conv": s.conv_ops.astype(float)}


def size_baselines(metric: Sequence[float], acc: Sequence[float], sizes: dict[str, np.ndarray], *, sign: int,
                   seed: int = 0, n_resamples: int = 2000, size_taus: dict | None = None) -> dict[str, Any]:
    """What a referee asks first of a metric that predicts accuracy: on the same cells and dataset, Kendall τ of
    #params, FLOPs and #conv ops with accuracy, and the metric's partial τ with accuracy given #params
    (:func:`ntkcheck.stats.partial_kendall`).  "adds beyond size" is "yes" iff the partial τ's 95% interval
    excludes 0 on the side of the metric's claimed direction ``sign`` (and 0 is not within its Monte Carlo error).

    Returns a JSON-able dict (``line`` is the one-line summary a row shows) plus two private keys: ``_partial`` (the
    partial τ :class:`~ntkcheck.stats.Estimate`) and ``_size_taus`` (the size τ's, reusable via ``size_taus`` for
    other metrics on the same cells and dataset)."""
    from ntkcheck import stats

    taus = size_taus or {name: stats.kendall(v, acc, seed=seed, n_resamples=n_resamples) for name, v in sizes.items()}
    part = stats.refine(lambda b: stats.partial_kendall(metric, acc, sizes["params"], seed=seed, n_resamples=b),
                        [0.0], n_resamples=n_resamples)
    on_side = (sign > 0 and part.low > 0) or (sign < 0 and part.high < 0)
    opposite = (sign > 0 and part.high < 0) or (sign < 0 and part.low > 0)
    adds = "yes" if on_side and not part.near(0.0) else "no"
    why = ("partial tau's 95% CI excludes 0 on the claimed side" if adds == "yes" else
           "partial tau's 95% CI has the opposite sign" if opposite else
           "partial tau's 95% CI contains 0 (or 0 is within its Monte Carlo error)")

    def f(e):
        return f"{e.statistic:+.3f} [{e.low:+.3f}, {e.high:+.3f}]"

    line = (f"tau(#params) = {f(taus['params'])}, tau(FLOPs) = {f(taus['flops'])}, tau(#conv) = {f(taus['n_conv'])}; "
            f"partial tau(metric, acc | #params) = {f(part)}; adds beyond size: {adds}")
    return {"tau_params": taus["params"].to_json(), "tau_flops": taus["flops"].to_json(),
            "tau_n_conv": taus["n_conv"].to_json(), "partial_tau_given_params": part.to_json(),
            "adds_beyond_size": adds, "adds_beyond_size_reason": why, "line": line,
            "size_definitions": "#params and FLOPs: registry metrics 'params' / 'flops' of the NB201 benchmark "
                                "network (C=16, N=5, one 3x32x32 image); #conv: nor_conv_1x1 + nor_conv_3x3 edges of "
                                "the cell", "_partial": part, "_size_taus": taus}


def public(baselines: dict[str, Any]) -> dict[str, Any]:
    """:func:`size_baselines` without its private keys (for report details)."""
    return {k: v for k, v in baselines.items() if not k.startswith("_")}


def population(ctx) -> dict[str, Any]:
    """The run's NB201 population: cells, metrics, and accuracies on every dataset (memoised in ctx.shared)."""
    memo = ctx.shared.get("nb201_population")
    if memo is None:
        memo = ctx.shared["nb201_population"] = sweep_population(ctx) if ctx.sweep else _sampled_population(ctx)
    return memo


def _cell_accuracies(ctx, cells: Sequence[str]) -> tuple[dict[str, np.ndarray], str]:
    """Accuracy of ``cells`` (in order; NaN where the source lacks a cell) on every available dataset, and the
    source's description."""
    acc, src = {}, ""
    for d in available_datasets(ctx):
        look = accuracy_lookup(ctx, d)
        acc[d] = np.array([look.get(c, math.nan) for c in cells], dtype=float)
        src = accuracies(ctx, d)[2]
    return acc, src


def _sampled_population(ctx) -> dict[str, Any]:
    """The stratified, seeded sample of :func:`population_size` cells with their measured κ_N and R̂_N."""
    cells = stratified_cells(ctx, population_size(ctx.scale))
    cfg = MetricConfig.for_scale(ctx.scale, ctx.seed)
    met = cell_metrics(ctx, cells, cfg)
    acc, src = _cell_accuracies(ctx, cells)
    return {"cells": cells, "metrics": met, "accuracy": acc, "config": cfg, "n": len(cells),
            "data_source": [src, "inputs for kappa_N / R_N: " + _inputs_for(cfg).source],
            "sampling": f"{len(cells)} non-degenerate NB201 cells, stratified by CIFAR-10 accuracy decile "
                        f"(proportional), seed {ctx.seed}",
            "networks": cfg.describe()}


def sweep_population(ctx) -> dict[str, Any]:
    """The NB201 population of a sweep made elsewhere (``ntkcheck verify --sweep STORE``): every cell of the store
    with a value of both registry metrics ``kappa`` and ``regions`` (status ok or singular) and an input→output
    path, in the store's single configuration of each (:func:`ntkcheck.sweep.store.load_sweep_values`).  No
    sampling: with a whole-space sweep the TE-NAS claims are judged on all such cells."""
    from ntkcheck.errors import NtkcheckError
    from ntkcheck.sweep.store import load_sweep_values, open_store

    st = open_store(ctx.sweep, create=False)
    try:
        kappa = load_sweep_values(st, "kappa")
        regions = load_sweep_values(st, "regions")
        configs = {c["metric"]: c for c in st.configs().values() if c["metric"] in ("kappa", "regions")}
    finally:
        st.close()
    cells = tuple(sorted(c for c in set(kappa) & set(regions) if has_path(c)))
    if len(cells) < 3:
        raise NtkcheckError(f"--sweep {ctx.sweep}: {len(cells)} NB201 cells have both kappa and regions values; "
                            "run `ntkcheck sweep kappa,regions --space nb201 --out STORE` first")
    met = {"kappa": np.array([kappa[c] for c in cells], dtype=float),
           "R_N": np.array([regions[c] for c in cells], dtype=float)}
    acc, src = _cell_accuracies(ctx, cells)
    desc = "; ".join(f"{m}: {c['config']} on {c['inputs']}" for m, c in sorted(configs.items()))
    return {"cells": list(cells), "metrics": met, "accuracy": acc, "config": None, "n": len(cells),
            "data_source": [src, f"kappa_N / R_N from the sweep store {Path(ctx.sweep).name} ({desc})"],
            "sampling": f"all {len(cells)} cells of the sweep store {Path(ctx.sweep).name} with both metrics and an "
                        "input-output path (no sampling)",
            "networks": f"as the sweep's registry configurations: {desc}"}
