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
* **Inputs** — :func:`natural_images`: 32×32 RGB crops of the two photographs bundled with scikit-learn
  (``sklearn.datasets.load_sample_images``: "china.jpg", "flower.jpg"), standardised per channel; no download.
  TE-NAS measures on a CIFAR / ImageNet16 training batch; these crops are the closest natural-image source
  available offline, and every report says so.
* **Metrics** — :func:`cell_metrics`: κ_N (condition number of the logit-sum NTK of TE-NAS's C=3, N=1 conv
  network on ``batch`` crops, Kaiming-normal fan_out, train-mode BN, 'weight' parameters, float64) and R̂_N
  (TE-NAS's thin one-channel cell on one-channel 3×3 patches of the same photographs, Kaiming-normal fan_in,
  averaged over ``repeats`` draws).  Each cell's weights are seeded from (run seed, cell string), so a value
  does not depend on which other cells are in the sample.  Values are cached per cell under
  ``<cache dir>/nb201_metrics/<config hash>.json`` and saved every few cells, so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ntkcheck.data import DATASETS

__all__ = ["DATASETS", "MetricConfig", "accuracies", "stratified_cells", "natural_images", "natural_patches",
           "cell_metrics", "population", "population_size", "IMAGE_SOURCE"]

#: Cited in every report that uses the natural-image inputs.
IMAGE_SOURCE = ("inputs: 32x32 RGB crops (and one-channel 3x3 patches) of the two photographs bundled with "
                "scikit-learn (sklearn.datasets.load_sample_images: china.jpg, flower.jpg), standardised per "
                "channel -- a natural-image stand-in for TE-NAS's CIFAR batch (no download)")


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


# ---- natural-image inputs --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_sample_images

    return tuple(np.asarray(im, dtype=np.float64) / 255.0 for im in load_sample_images().images)


def natural_images(n: int, *, size: int = 32, seed: int = 0) -> np.ndarray:
    """(n, 3, size, size) float64 random crops of the sklearn sample photographs, standardised per channel."""
    rng = np.random.default_rng([seed, size, 32])
    photos = _photos()
    out = np.empty((n, 3, size, size))
    for k in range(n):
        im = photos[int(rng.integers(len(photos)))]
        i, j = int(rng.integers(im.shape[0] - size)), int(rng.integers(im.shape[1] - size))
        out[k] = im[i:i + size, j:j + size].transpose(2, 0, 1)
    mu = out.mean(axis=(0, 2, 3), keepdims=True)
    sd = out.std(axis=(0, 2, 3), keepdims=True)
    return (out - mu) / (sd + 1e-12)


def natural_patches(n: int, *, seed: int = 0) -> np.ndarray:
    """(n, 1, 3, 3) distinct one-channel 3×3 patches (a random channel each, as TE-NAS's RandChannel), standardised."""
    rng = np.random.default_rng([seed, 3, 3])
    photos = _photos()
    P = []
    seen = set()
    while len(P) < n:
        im = photos[int(rng.integers(len(photos)))]
        i, j, c = int(rng.integers(im.shape[0] - 3)), int(rng.integers(im.shape[1] - 3)), int(rng.integers(3))
        p = im[i:i + 3, j:j + 3, c]
        key = p.tobytes()
        if key in seen:
            continue
        seen.add(key)
        P.append(p)
    P = np.stack(P)[:, None]
    return (P - P.mean()) / (P.std() + 1e-12)


# ---- metrics ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricConfig:
    """How κ_N and R̂_N of one NB201 cell are measured (see the module docstring); part of the cache key."""

    batch: int = 16              # crops in the NTK batch (TE-NAS's code: 72 on NB201)
    image_size: int = 32
    kappa_repeats: int = 1       # TE-NAS's code: 3 batches, same weights
    rn_samples: int = 1000       # TE-NAS's code: 3000
    rn_repeats: int = 2
    seed: int = 0
    version: int = 1             # bump when the protocol changes

    @staticmethod
    def for_scale(scale: str, seed: int) -> "MetricConfig":
        if scale == "paper":
            return MetricConfig(batch=72, kappa_repeats=3, rn_samples=3000, rn_repeats=3, seed=seed)
        return MetricConfig(seed=seed)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        return (f"kappa_N: TE-NAS C=3 N=1 NB201 conv net (3 stages, stem), {self.batch} natural 32x32 crops, "
                f"{self.kappa_repeats} batch(es), Kaiming-normal fan_out, train-mode BN, float64; R_N: thin "
                f"1-channel cell on {self.rn_samples} distinct 3x3 natural-image patches, {self.rn_repeats} "
                f"Kaiming-normal fan_in draws")


def _cell_seed(cfg: MetricConfig, cell: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{cfg.seed}|{cell}".encode()).digest()[:4], "little")


def kappa_of_cell(cell: str, cfg: MetricConfig) -> float:
    """κ_N of one cell (mean over ``kappa_repeats`` batches of natural crops, the same weights: the released code)."""
    import torch

    from ntkcheck.empirical.metrics import tenas_kappa
    from ntkcheck.empirical.nb201_conv import build_nb201_conv, tenas_ntk_config

    s = _cell_seed(cfg, cell)
    net = build_nb201_conv(cell, tenas_ntk_config(input_size=cfg.image_size), seed=s,
                           init="kaiming_normal_fan_out", device="cpu")
    Xs = [torch.as_tensor(natural_images(cfg.batch, size=cfg.image_size, seed=cfg.seed * 1000 + r))
          for r in range(cfg.kappa_repeats)]
    v = tenas_kappa(net, Xs, repeats=cfg.kappa_repeats).mean
    return float(v) if math.isfinite(v) else math.inf


def region_count_of_cell(cell: str, cfg: MetricConfig) -> float:
    """R̂_N of one cell: TE-NAS's thin one-channel cell on natural 3×3 patches, fresh Kaiming fan_in weights per repeat."""
    import torch

    from ntkcheck.empirical.linear_regions import tenas_region_count
    from ntkcheck.empirical.nb201_conv import build_nb201_conv, thin_config

    s = _cell_seed(cfg, cell)
    P = torch.as_tensor(natural_patches(cfg.rn_samples, seed=cfg.seed))
    return float(tenas_region_count(lambda r: build_nb201_conv(cell, thin_config(), seed=s + r, device="cpu",
                                                               init="kaiming_normal_fan_in"),
                                    repeats=cfg.rn_repeats, n_samples=cfg.rn_samples,
                                    batch_size=cfg.rn_samples, inputs=P).mean)


#: The engine: metric name -> function(cell, cfg).  Tests perturb these to prove the checks can fail.
METRICS: dict[str, Callable[[str, MetricConfig], float]] = {"kappa": kappa_of_cell, "R_N": region_count_of_cell}


def cell_metrics(ctx, cells: Sequence[str], cfg: MetricConfig, *, save_every: int = 10) -> dict[str, np.ndarray]:
    """``{"kappa": array, "R_N": array}`` over ``cells`` (in order), cached per cell on disk."""
    from ntkcheck.io import write_json_atomic

    path = Path(ctx.cache_dir) / "nb201_metrics" / f"{cfg.key()}.json"
    store: dict[str, dict[str, float]] = {}
    if path.exists():
        try:
            store = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            store = {}
    from tqdm import tqdm

    missing = [c for c in cells if c not in store or set(METRICS) - set(store[c])]
    for k, c in enumerate(tqdm(missing, desc="NB201 kappa_N / R_N", unit="cell", disable=ctx.quiet or not missing,
                               file=sys.stderr, leave=False)):
        store[c] = {name: fn(c, cfg) for name, fn in METRICS.items()}
        if (k + 1) % save_every == 0 or k + 1 == len(missing):
            write_json_atomic(path, {"config": asdict(cfg), "cells": dict(sorted(store.items()))})
    return {name: np.array([store[c][name] for c in cells], dtype=float) for name in METRICS}


def population(ctx) -> dict[str, Any]:
    """The run's NB201 population: cells, metrics, and accuracies on every dataset (memoised in ctx.shared)."""
    memo = ctx.shared.get("nb201_population")
    if memo is not None:
        return memo
    n = population_size(ctx.scale)
    cells = stratified_cells(ctx, n)
    cfg = MetricConfig.for_scale(ctx.scale, ctx.seed)
    met = cell_metrics(ctx, cells, cfg)
    acc = {}
    src = ""
    for d in available_datasets(ctx):
        look = accuracy_lookup(ctx, d)
        acc[d] = np.array([look.get(c, math.nan) for c in cells], dtype=float)
        src = accuracies(ctx, d)[2]
    out = {"cells": cells, "metrics": met, "accuracy": acc, "config": cfg, "n": len(cells),
           "data_source": [src, IMAGE_SOURCE],
           "sampling": f"{len(cells)} non-degenerate NB201 cells, stratified by CIFAR-10 accuracy decile "
                       f"(proportional), seed {ctx.seed}",
           "networks": cfg.describe()}
    ctx.shared["nb201_population"] = out
    return out
