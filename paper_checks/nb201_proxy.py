r"""NAS-Bench-201 populations for the NB201 claims of Mok et al. 2022 and Zhu et al. 2022, judged on the
real 200-epoch accuracies of :func:`ntkcheck.data.nb201_table` (NATS-Bench tss; source cited there).

Two populations, both deterministic in the run seed:

* **the fc analog, every cell** (:func:`analog_lambda_min`): the exact infinite-width NTK λ_min of each of the
  15,625 cells' fully connected analog (conv → dense(relu), skip/avg-pool → skip, none → zero;
  :mod:`ntkcheck.theory.nb201`, 729 analog classes) on a fixed, class-balanced batch of sklearn *digits* rows
  (unit norm).  Cheap (seconds) and exact; what it cannot represent is said in each record: it is an analog of
  the cell, not the paper's convolutional network on CIFAR images.
* **the conv proxy, a stratified sample** (:func:`conv_proxy`): ``n_cells`` non-degenerate cells drawn without
  replacement, an equal number from each accuracy quantile bin (``strata`` bins of the CIFAR-10 accuracy over the
  non-degenerate cells; seeded), each built as a small NB201 *convolutional* network with the cell BN of Mok et
  al.'s code (non-affine, batch statistics, conv bias; PyTorch default init), and trained on
  digits with Mok's optimiser (SGD lr 0.025, momentum 0.9, weight decay 3e-4).  The logit-sum NTK of the LGA
  code ('weight' parameters without the classifier, train-mode BN) on a fixed class-balanced probe batch is
  stored at initialisation and after every epoch in ``stages``.  Toy-scale *protocol*, real *targets*: the
  networks see 8×8 digits, the accuracies they are ranked against are NB201's.

Kernels are cached under ``<cache dir>/nb201_proxy/<config hash>/`` (one ``.npz`` per cell, written atomically,
resumable); metrics are computed from the stored kernels at check time, so the checks call the metric engine
(:mod:`ntkcheck.empirical.metrics`) themselves.  Training runs with one torch thread (restored afterwards), so
a cached value does not depend on ``--jobs``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ntkcheck.threads import one_torch_thread

__all__ = ["ProxyConfig", "stratified_cells", "conv_proxy", "ProxyTable", "analog_lambda_min", "accuracies",
           "kendall_per_dataset", "combine_datasets", "DATASETS", "PAPER_PROTOCOL", "high_accuracy_stratum",
           "seed_replicates"]

#: NB201 accuracy columns of :mod:`ntkcheck.data` (Mok et al.'s official code queries all three).
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
PROTOCOL_VERSION = 1
#: What Mok et al. ran (their official code, naver-ai/demystifying-ntk), for every record on the conv proxy.
PAPER_PROTOCOL = ("paper's protocol (Mok et al. 2022, official code): full-size NB201 networks (C = 16, 5 cells per "
                  "stage) on CIFAR-10, CIFAR-100 and ImageNet16-120 images; NTK on one batch of 256 images, at "
                  "initialisation and after 1 epoch of SGD (lr 0.025, momentum 0.9, weight decay 3e-4, batch 1024); "
                  "the first 1000 NB201 architectures; kernel tracking over 100 epochs")


def accuracies(dataset: str) -> np.ndarray:
    """The 200-epoch test accuracy (%) of every NB201 cell in NATS-Bench index order (checksum-verified)."""
    from ntkcheck import data

    return np.asarray(data.nb201_table().accuracy[dataset], dtype=float)


def data_source() -> str:
    """The citation of the accuracy table, for ``details['data_source']`` (the report lists every source used)."""
    from ntkcheck import data

    return data.SOURCE


def _cells() -> tuple[str, ...]:
    from ntkcheck import data

    return data.nb201_table().arch


def kendall_per_dataset(x: Sequence[float], index: np.ndarray, *, n_boot: int, seed: int,
                        datasets: Sequence[str] = DATASETS, sign: int | None = None) -> dict[str, dict[str, Any]]:
    """Kendall τ-b of ``x`` with the NB201 accuracy of the cells ``index`` on each dataset, with a BCa bootstrap
    95% CI over cells (:func:`ntkcheck.stats.kendall` through :func:`ntkcheck.paper_checks.microbench.correlation`,
    seeded; ``n_boot = 0``: the point value only).  With ``sign`` (the metric's claimed direction) each dataset's
    entry also holds ``size_baselines``: τ of #params, FLOPs and #conv of the same cells and the partial τ of x given
    #params (:func:`ntkcheck.paper_checks.nb201_population.size_baselines`)."""
    from ntkcheck.paper_checks.microbench import correlation

    out = {d: correlation(x, accuracies(d)[index], n_boot=n_boot, seed=seed) for d in datasets}
    if sign is not None and n_boot > 0:
        from ntkcheck.paper_checks.nb201_population import census_sizes, public, size_baselines

        sizes = census_sizes([_cells()[i] for i in np.asarray(index)])
        xs = np.asarray(x, dtype=float)
        for d in datasets:
            out[d]["size_baselines"] = public(size_baselines(xs, accuracies(d)[index], sizes, sign=sign, seed=seed,
                                                             n_resamples=n_boot))
    return out


def combine_datasets(outs: dict[str, Any], primary: str = "cifar10"):
    """One verdict from per-dataset outcomes: the ``primary`` dataset — the one the paper's claim is about —
    decides; the other datasets are reported beside it in ``details['per_dataset']`` and never turn the verdict
    ("any dataset fails ⇒ fail" would be a multiple test at 3× the error rate).  The primary dataset's interval,
    p-value and power are the record's."""
    from ntkcheck.paper_checks.check import Outcome

    if primary not in outs:
        primary = next(iter(outs))
    p = outs[primary]
    det = dict(p.details)
    det["dataset_for_verdict"] = primary
    det["per_dataset"] = {d: {"verdict": o.verdict, "measured": o.measured, "reason": o.reason, "decides": d == primary,
                              "power": o.power.summary() if o.power is not None else None,
                              **{k: v for k, v in o.details.items() if k != "per_dataset"}} for d, o in outs.items()}
    others = "; ".join(f"{d} (reported, not deciding): {o.verdict}" for d, o in outs.items() if d != primary)
    det["data_source"] = data_source()
    reason = f"{primary}: {p.reason}" if p.reason else ""
    out = Outcome(p.verdict, {d: o.measured for d, o in outs.items()}, p.claimed, det,
                  reason="; ".join(r for r in (reason, others) if r))
    out.power = p.power
    return out


# ---- the fc analog of every cell --------------------------------------------------------------------------

def probe_digits(per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``per_class`` training rows of each digit class (fixed split of
    :func:`ntkcheck.paper_checks.microbench.digits_data`), and their labels."""
    from ntkcheck.paper_checks.microbench import digits_data

    Xtr, _, ytr, _ = digits_data()
    idx = np.concatenate([np.flatnonzero(ytr == c)[:per_class] for c in range(10)])
    return Xtr[idx], ytr[idx]


def analog_lambda_min(ctx, per_class: int = 4) -> dict[str, Any]:
    """Exact infinite-width NTK λ_min (σ_w² = 2, ReLU readout; certified error bound) of the fc analog of every
    NB201 cell on ``10·per_class`` unit-norm digits rows, in NATS-Bench index order; degenerate cells flagged.
    Cached (``analog-<hash>.npz``)."""
    from ntkcheck.cache import code_fingerprint
    from ntkcheck.io import save_npz_atomic
    from ntkcheck.theory.nb201 import nb201_lambda_min_all

    key = {"v": PROTOCOL_VERSION, "what": "analog_lambda_min", "per_class": per_class, "sigma_w2": 2.0,
           "readout": "relu", "data": "digits", "code": code_fingerprint()}
    path = Path(ctx.cache_dir) / "nb201_proxy" / f"analog-{_hash(key)}.npz"
    memo = ctx.shared.get(str(path))
    if memo is not None:
        return memo
    out = _load(path)
    if out is None:
        X, _ = probe_digits(per_class)
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        t = nb201_lambda_min_all(X, cells=list(_cells()))
        save_npz_atomic(path, lambda_min=t.ntk_lambda_min, error_bound=t.ntk_error_bound, degenerate=t.degenerate,
                        n_classes=t.n_classes, N=X.shape[0])
        out = _load(path)
    out["config"] = key
    ctx.shared[str(path)] = out
    return out


# ---- the conv proxy -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProxyConfig:
    n_cells: int = 64             # stratified sample size (power: Kendall MDE 0.24 at n = 64)
    strata: int = 8               # CIFAR-10 accuracy quantile bins over the non-degenerate cells
    C: int = 4                    # stage-1 channels (8 in stage 2)
    stages: tuple[int, ...] = (1, 3)   # epochs after which the kernel is stored (0 = init always)
    lr: float = 0.025             # Mok et al.'s official code
    momentum: float = 0.9
    weight_decay: float = 3e-4
    batch_size: int = 128
    per_class: int = 3            # probe images per class for the NTK (30 in all)
    n_train: int = 1200
    seed: int = 0

    @staticmethod
    def for_scale(scale: str, seed: int = 0) -> "ProxyConfig":
        if scale == "paper":
            return ProxyConfig(n_cells=200, C=8, stages=(1, 3, 5), per_class=6, seed=seed)
        return ProxyConfig(seed=seed)

    def key(self) -> str:
        """Configuration and code fingerprint (:func:`ntkcheck.cache.code_fingerprint`)."""
        from ntkcheck.cache import code_fingerprint

        return _hash({"protocol": PROTOCOL_VERSION, "code": code_fingerprint(), **asdict(self)})


def _load(path: Path) -> dict[str, Any] | None:
    from ntkcheck.paper_checks.microbench import _load as load_npz     # a corrupt entry reads as None: recomputed

    return load_npz(path)


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def stratified_cells(n: int, strata: int, seed: int) -> np.ndarray:
    """NATS-Bench indices (sorted) of the ``n`` non-degenerate cells that
    :func:`ntkcheck.paper_checks.nb201_population.stratified_cells` draws — the one stratified sampler of the
    toolkit: equal numbers per CIFAR-10 accuracy bin (``strata`` equal-count bins), seeded — from the shipped table."""
    from types import SimpleNamespace

    from ntkcheck.paper_checks.nb201_population import stratified_cells as draw

    pos = {c: i for i, c in enumerate(_cells())}
    return np.array(sorted(pos[c] for c in draw(SimpleNamespace(seed=seed, nats_bench=None), n, strata=strata)))


def _measure(cell: str, cfg: ProxyConfig, seed: int) -> dict[str, np.ndarray]:
    import torch

    from ntkcheck.empirical import metrics as M
    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv
    from ntkcheck.paper_checks.microbench import digits_data

    Xtr, Xte, ytr, yte = digits_data(cfg.n_train)
    dt = torch.float32
    xtr = torch.as_tensor(Xtr, dtype=dt).reshape(-1, 1, 8, 8)
    xte = torch.as_tensor(Xte, dtype=dt).reshape(-1, 1, 8, 8)
    ttr = torch.as_tensor(ytr)
    pi = np.concatenate([np.flatnonzero(ytr == c)[:cfg.per_class] for c in range(10)])
    net_cfg = NB201ConvConfig(C=cfg.C, N=1, in_channels=1, num_classes=10, input_size=8, stages=2,
                              bn_affine=False, bn_track_running_stats=False, conv_bias=True)
    net = build_nb201_conv(cell, net_cfg, seed=seed, init="default", device="cpu", dtype=dt)

    def kernel():
        return M.logit_sum_ntk(net, xtr[pi], params="weight_no_classifier", bn_train_mode=True).double().numpy()

    Ks = [kernel()]
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(seed)
    for ep in range(1, max(cfg.stages) + 1):
        net.train()
        perm = torch.randperm(xtr.shape[0], generator=g)
        for b in range(0, xtr.shape[0], cfg.batch_size):
            j = perm[b:b + cfg.batch_size]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xtr[j]), ttr[j]).backward()
            opt.step()
        if ep in cfg.stages:
            Ks.append(kernel())
    net.train()
    with torch.no_grad():
        acc = float(100 * np.mean(net(xte).argmax(1).numpy() == yte))
    return {"kernels": np.stack(Ks), "labels": ytr[pi], "acc_digits": acc}


@dataclass
class ProxyTable:
    """The conv-proxy population: NATS-Bench ``index`` and ``cells``, per cell the logit-sum NTK at each stage
    (``kernels[i][s]``, stage ``stage_epochs[s]``), probe ``labels`` and the digits test accuracy after training."""

    config: ProxyConfig
    index: np.ndarray
    cells: tuple[str, ...]
    stage_epochs: tuple[int, ...]
    kernels: list[np.ndarray]
    labels: list[np.ndarray]
    acc_digits: np.ndarray

    def accuracy(self, dataset: str) -> np.ndarray:
        """NB201's 200-epoch test accuracy of the sampled cells (read from the shipped table at call time)."""
        return accuracies(dataset)[self.index]

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"population": f"{len(self.index)} NB201 cells, stratified: {c.n_cells // c.strata} per CIFAR-10 "
                              f"accuracy bin ({c.strata} equal-count bins of the non-degenerate cells), seed {c.seed}",
                "network": f"NB201 conv net C={c.C}, one cell per stage, 2 stages, 1x8x8 input, non-affine batch-"
                           "statistics cell BN, conv bias, PyTorch default init (as Mok et al.'s official code)",
                "training": f"SGD lr {c.lr}, momentum {c.momentum}, wd {c.weight_decay}, batch {c.batch_size}, "
                            f"{max(c.stages)} epochs on {c.n_train} sklearn-digits images (toy protocol)",
                "paper_protocol": PAPER_PROTOCOL,
                "kernel": f"logit-sum NTK, 'weight' params without classifier, train-mode BN, {10 * c.per_class} "
                          "class-balanced probe images",
                "stages (epochs)": list(self.stage_epochs), "indices": self.index.tolist(),
                "accuracy_source": "ntkcheck.data.nb201_table (NATS-Bench tss 200-epoch test accuracy)",
                "config_key": c.key()}


def high_accuracy_stratum(t: ProxyTable) -> np.ndarray:
    """Positions (in ``t``) of the sample's top CIFAR-10 accuracy bin: the ``n_cells // strata`` most accurate
    cells, which the stratified sampler drew from the highest of its equal-count bins."""
    k = t.config.n_cells // t.config.strata
    return np.sort(np.argsort(-t.accuracy("cifar10"), kind="stable")[:k])


def seed_replicates(ctx, t: ProxyTable, positions: Sequence[int], n_seeds: int) -> list[list[np.ndarray]]:
    """For each cell ``t.cells[p]``: its stage kernels under ``n_seeds`` independent initialisations and data
    orders (the population's own run first, then ``n_seeds − 1`` replicates with seeds of their own), cached beside
    the population (``<index>-r<k>.npz``)."""
    from ntkcheck.io import save_npz_atomic

    cfg = t.config
    folder = Path(ctx.cache_dir) / "nb201_proxy" / cfg.key()
    out = []
    with one_torch_thread():
        for p in positions:
            i = int(t.index[p])
            runs = [t.kernels[p]]
            for r in range(1, n_seeds):
                path = folder / f"{i:05d}-r{r}.npz"
                rec = _load(path)
                if rec is None:
                    rec = _measure(t.cells[p], cfg, seed=cfg.seed * 100_003 + i + 1_000_003 * r)
                    save_npz_atomic(path, **{n: np.asarray(v) for n, v in rec.items()})
                    rec = _load(path)
                runs.append(rec["kernels"])
            ctx.progress(f"seed replicates {len(out) + 1}/{len(positions)}")
            out.append(runs)
    return out


def conv_proxy(ctx) -> ProxyTable:
    """The run's conv-proxy population (memoised in ``ctx.shared``, kernels cached on disk)."""
    from tqdm import tqdm

    from ntkcheck.io import save_npz_atomic

    memo = ctx.shared.get("nb201_conv_proxy")
    if memo is not None:
        return memo
    cfg = ProxyConfig.for_scale(ctx.scale, ctx.seed)
    idx = stratified_cells(cfg.n_cells, cfg.strata, cfg.seed)
    cells = _cells()
    folder = Path(ctx.cache_dir) / "nb201_proxy" / cfg.key()
    # Each cell's record depends only on (cell, config, seed) — one torch thread, its own generators — so the
    # order of computation is free: odd process ids walk the sample backwards, so two --jobs workers that both
    # need a cold population meet in the middle instead of computing it twice.
    walk = list(idx[::-1]) if os.getpid() % 2 else list(idx)
    with one_torch_thread():
        for k, i in enumerate(tqdm(walk, desc="NB201 conv proxy", unit="cell", disable=ctx.quiet, leave=False)):
            path = folder / f"{int(i):05d}.npz"
            if _load(path) is None:
                rec = _measure(cells[i], cfg, seed=cfg.seed * 100_003 + int(i))
                save_npz_atomic(path, **{n: np.asarray(v) for n, v in rec.items()})
            ctx.progress(f"NB201 conv proxy {k + 1}/{len(idx)}")
    recs = [_load(folder / f"{int(i):05d}.npz") for i in idx]
    Ks = [r["kernels"] for r in recs]
    ys = [r["labels"] for r in recs]
    acc = [float(r["acc_digits"]) for r in recs]
    t = ProxyTable(cfg, idx, tuple(cells[i] for i in idx), (0,) + tuple(cfg.stages), Ks, ys, np.array(acc))
    ctx.shared["nb201_conv_proxy"] = t
    return t
