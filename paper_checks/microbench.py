r"""The built-in micro-benchmark: a *toy protocol* of brief training runs, kept for claims about fully connected
networks (and for checks whose owners have not moved them to NB201 yet).  NB201 claims are judged on the real
NATS-Bench accuracies shipped with the package instead (:mod:`ntkcheck.data`,
:mod:`ntkcheck.paper_checks.nb201_population`); every report labels this source as a toy protocol.

The population is small architectures trained on scikit-learn's bundled *digits* data (1797 8×8 grey images,
10 classes; no download):

* ``nb201-fc``: NB201 cells in their fully connected analog (``parse_spec({"nb201": s})``; the network contract:
  convolutions → dense(relu), avg-pool → skip, none → zero), width ``width``, input the 64 pixels;
* ``nb201-conv``: the same kind of cells as small convolutional NB201 networks
  (:func:`ntkcheck.empirical.nb201_conv.build_nb201_conv`, C channels, one cell per stage, two stages,
  1×8×8 input);
* ``fc``: fully connected nets with mixed activations (relu, tanh, sigmoid, gelu, elu, softplus) and
  random deep skips.

Each network is trained with Adam (cross-entropy, mini-batches) for a few epochs; the test accuracy on a
fixed held-out split is the target.  At initialisation (and after one epoch) the logit-sum NTK
(:func:`ntkcheck.empirical.metrics.logit_sum_ntk`, train-mode BN) is taken on a fixed batch of training
images with the TE-NAS parameter set ('weight') and the LGA parameter set ('weight' without the
classifier).  R_N is a property of the *cell*: the TE-NAS preset (thin one-channel NB201 conv cell,
1×3×3 patches — here real 3×3 digit patches) for both NB201 forms; plain fc nets have none (nan).
Degenerate NB201 cells (no input→output path) are left out of the population: their kernel is 0.

Everything is cached on disk (``ctx.cache_dir/microbench/<config hash>/<arch key>.npz``), so a second run
only reads files.  With ``--nats-bench`` the accuracies come from the user's file instead and the kernels
are measured on the small conv form of each NB201 cell (:func:`accuracy_table`).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ntkcheck.spec import NB201_OPS, nb201_string, parse_spec

#: Bump when the training or measurement protocol changes (part of the cache key).
PROTOCOL_VERSION = 4

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "elu", "softplus")


@dataclass(frozen=True)
class MicrobenchConfig:
    n_nb201: int = 16              # NB201 cells; each is trained in its fc-analog and its conv form
    n_fc: int = 8                  # mixed-activation fc nets
    width: int = 64                # fc hidden width
    conv_C: int = 4                # conv channels in stage 1
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    conv_lr: float = 1e-2          # the BN conv nets learn slowly at 1e-3 in a few epochs
    ntk_batch: int = 32            # images in the NTK batch
    rn_samples: int = 500          # 3×3 patches per R_N count
    rn_repeats: int = 2
    n_train: int = 1200
    seed: int = 0

    @staticmethod
    def for_scale(scale: str, seed: int = 0) -> "MicrobenchConfig":
        if scale == "paper":
            return MicrobenchConfig(n_nb201=60, n_fc=30, width=256, conv_C=8, epochs=10, ntk_batch=64,
                                    rn_samples=3000, rn_repeats=3, seed=seed)
        return MicrobenchConfig(seed=seed)

    def key(self) -> str:
        from ntkcheck.cache import code_fingerprint    # keyed by the code too: an engine change makes it cold

        blob = json.dumps({"protocol": PROTOCOL_VERSION, "code": code_fingerprint(), **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Arch:
    key: str          # unique, file-name safe
    family: str       # nb201-fc | nb201-conv | fc
    desc: str         # NB201 string or spec JSON
    cell: str | None = None


def digits_data(n_train: int = 1200) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn digits scaled to [0, 1] then centred per pixel (train mean); fixed stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64) / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=n_train, random_state=0, stratify=y)
    mu = Xtr.mean(axis=0)
    return Xtr - mu, Xte - mu, ytr.astype(np.int64), yte.astype(np.int64)


def _random_cell(rng: np.random.Generator) -> str:
    while True:
        ops = [NB201_OPS[i] for i in rng.integers(0, len(NB201_OPS), size=6)]
        s = nb201_string(ops)
        if not parse_spec({"nb201": s}).is_degenerate:
            return s


def _random_fc(rng: np.random.Generator) -> dict:
    depth = int(rng.integers(2, 5))            # weighted layers incl. the readout
    acts = [ACTIVATIONS[i] for i in rng.integers(0, len(ACTIVATIONS), size=depth)]
    skips = [[i, j] for i in range(depth) for j in range(i + 2, depth) if rng.random() < 0.5]
    return {"fc": acts, "skips": skips}


def population(cfg: MicrobenchConfig) -> list[Arch]:
    """The architectures of the micro-benchmark (deterministic in ``cfg.seed``)."""
    rng = np.random.default_rng([cfg.seed, 20210211])
    cells: list[str] = []
    while len(cells) < cfg.n_nb201:
        s = _random_cell(rng)
        if s not in cells:
            cells.append(s)
    out: list[Arch] = []
    for k, s in enumerate(cells):
        out.append(Arch(f"nb201fc_{k:03d}", "nb201-fc", s, s))
        out.append(Arch(f"nb201conv_{k:03d}", "nb201-conv", s, s))
    for k in range(cfg.n_fc):
        out.append(Arch(f"fc_{k:03d}", "fc", json.dumps(_random_fc(rng))))
    return out


# ---- building, training, measuring ---------------------------------------------------------------------

def _conv_config(cfg: MicrobenchConfig):
    from ntkcheck.empirical.nb201_conv import NB201ConvConfig

    return NB201ConvConfig(C=cfg.conv_C, N=1, in_channels=1, num_classes=10, input_size=8, stages=2)


def build_model(arch: Arch, cfg: MicrobenchConfig, seed: int, device: str = "cpu"):
    """The torch network of ``arch`` (float64), with PyTorch-style ('standard') parametrization for the fc
    forms, as the NAS codes use, and Kaiming-normal init for the conv form (TE-NAS's intent, §2.7)."""
    if arch.family == "nb201-conv":
        from ntkcheck.empirical.nb201_conv import build_nb201_conv

        return build_nb201_conv(arch.cell, _conv_config(cfg), seed=seed, device=device)
    from ntkcheck.empirical.networks import build_network

    spec = parse_spec({"nb201": arch.cell}) if arch.family == "nb201-fc" else parse_spec(json.loads(arch.desc))
    return build_network(spec, 64, cfg.width, out_dim=10, parametrization="standard", seed=seed, device=device)


def _inputs(arch: Arch, X: np.ndarray, device: str = "cpu"):
    import torch

    t = torch.as_tensor(X, dtype=torch.float64, device=device)
    return t.reshape(-1, 1, 8, 8) if arch.family == "nb201-conv" else t


def _accuracy(model, X, y) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        pred = model(X).argmax(dim=1).cpu().numpy()
    model.train()
    return float(100.0 * np.mean(pred == y))


def _kernels(model, Xk, tag: str, which=("weight", "nocls")) -> dict[str, np.ndarray]:
    from ntkcheck.empirical.metrics import logit_sum_ntk

    sel = {"weight": "weight", "nocls": "no_classifier"}
    return {f"K_{tag}_{w}": logit_sum_ntk(model, Xk, params=sel[w]).cpu().numpy() for w in which}


def region_count(cell: str, cfg: MicrobenchConfig, seed: int) -> tuple[float, list[int]]:
    """TE-NAS R_N of a cell: thin one-channel conv cell on random 3×3 patches of digits training images
    (one channel, like TE-NAS's RandChannel), train-mode BN, fresh Kaiming-normal weights per repeat."""
    import torch
    from ntkcheck.empirical.linear_regions import tenas_region_count
    from ntkcheck.empirical.nb201_conv import build_nb201_conv, thin_config

    Xtr = digits_data(cfg.n_train)[0].reshape(-1, 8, 8)
    rng = np.random.default_rng([seed, 3])

    def patches(r: int):
        idx = rng.integers(0, Xtr.shape[0], size=cfg.rn_samples)
        ii, jj = rng.integers(0, 6, size=cfg.rn_samples), rng.integers(0, 6, size=cfg.rn_samples)
        P = np.stack([Xtr[k, i:i + 3, j:j + 3] for k, i, j in zip(idx, ii, jj)])
        P = (P - P.mean()) / (P.std() + 1e-12)
        return torch.as_tensor(P[:, None], dtype=torch.float64)

    rc = tenas_region_count(lambda r: build_nb201_conv(cell, thin_config(), seed=seed * 100 + r, device="cpu",
                                                       init="kaiming_normal_fan_in"),
                            repeats=cfg.rn_repeats, n_samples=cfg.rn_samples, batch_size=cfg.rn_samples,
                            inputs=patches)
    return float(rc.mean), list(rc.counts)


def train_and_measure(arch: Arch, cfg: MicrobenchConfig, device: str = "cpu") -> dict[str, Any]:
    """Train one architecture and measure its kernels; returns arrays and scalars for the cache file."""
    import torch

    Xtr, Xte, ytr, yte = digits_data(cfg.n_train)
    seed = int(hashlib.sha256(f"{cfg.seed}/{arch.key}".encode()).hexdigest()[:7], 16)
    model = build_model(arch, cfg, seed, device)
    xtr, xte = _inputs(arch, Xtr, device), _inputs(arch, Xte, device)
    ttr = torch.as_tensor(ytr, device=device)
    Xk = xtr[: cfg.ntk_batch]
    rec: dict[str, Any] = {"ntk_labels": ytr[: cfg.ntk_batch]}
    rec.update(_kernels(model, Xk, "init"))
    rec["acc_init"] = _accuracy(model, xte, yte)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.conv_lr if arch.family == "nb201-conv" else cfg.lr)
    g = torch.Generator().manual_seed(seed)
    lossf = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for ep in range(cfg.epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=g).to(device)
        for b in range(0, xtr.shape[0], cfg.batch_size):
            idx = perm[b:b + cfg.batch_size]
            opt.zero_grad()
            loss = lossf(model(xtr[idx]), ttr[idx])
            loss.backward()
            opt.step()
        if ep == 0:
            rec.update(_kernels(model, Xk, "ep1", which=("nocls",)))
            rec["acc_ep1"] = _accuracy(model, xte, yte)
    rec.update(_kernels(model, Xk, "final", which=("nocls",)))
    rec["acc_test"] = _accuracy(model, xte, yte)
    rec["acc_train"] = _accuracy(model, xtr, ytr)
    rec["train_seconds"] = time.perf_counter() - t0
    if arch.cell is not None:
        rn, counts = region_count(arch.cell, cfg, seed)
        rec["R_N"] = rn
        rec["R_N_counts"] = np.asarray(counts)
    else:
        rec["R_N"] = math.nan
    return rec


# ---- the accuracy table -----------------------------------------------------------------------------------

@dataclass
class AccuracyTable:
    """Per architecture: accuracy (percent) and the raw measurements (kernels, R_N) behind the metrics."""

    source: str                               # "microbench" | "nats-bench"
    description: str
    archs: list[Arch]
    records: list[dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cached: int = 0

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "description": self.description, "n_architectures": len(self.archs),
                "families": sorted({a.family for a in self.archs}), "config": self.config,
                "build_seconds": round(self.seconds, 2), "from_cache": self.cached}

    def accuracies(self, family: str | None = None) -> np.ndarray:
        return np.array([r["acc_test"] for a, r in zip(self.archs, self.records) if family in (None, a.family)])

    def metric(self, name: str, family: str | None = None) -> np.ndarray:
        """Per-architecture metric: kappa (TE-NAS κ_N, 'weight' kernel at init), lambda_min, lga_init,
        lga_ep1 (LGA kernels: classifier excluded), lga_init_offdiag, R_N, mean, fnorm."""
        return np.array([metric_of(r, name) for a, r in zip(self.archs, self.records)
                         if family in (None, a.family)], dtype=float)


def metric_of(rec: dict[str, Any], name: str) -> float:
    from ntkcheck.empirical import metrics as M

    if name == "R_N":
        return float(rec["R_N"])
    y = rec["ntk_labels"]
    if name in ("kappa", "lambda_min", "lambda_max"):
        c = M.condition_number(rec["K_init_weight"])
        return {"kappa": c.value, "lambda_min": c.lambda_min, "lambda_max": c.lambda_max}[name]
    if name == "lga_init":
        return M.lga(rec["K_init_nocls"], y)
    if name == "lga_init_offdiag":
        return M.lga(rec["K_init_nocls"], y, include_diag=False)
    if name == "lga_ep1":
        return M.lga(rec["K_ep1_nocls"], y)
    if name == "lga_final":
        return M.lga(rec["K_final_nocls"], y)
    if name == "mean":
        return M.ntk_mean(rec["K_init_nocls"])
    if name == "fnorm":
        return M.frobenius_norm(rec["K_init_nocls"])
    raise KeyError(name)


def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: (z[k].item() if z[k].ndim == 0 else z[k]) for k in z.files}
    except Exception:
        return None        # a corrupt cache entry is recomputed


def build_table(cfg: MicrobenchConfig, cache_dir: Path, *, device: str = "cpu", quiet: bool = True,
                archs: Sequence[Arch] | None = None) -> AccuracyTable:
    from tqdm import tqdm
    from ntkcheck.io import save_npz_atomic

    t0 = time.perf_counter()
    archs = list(archs) if archs is not None else population(cfg)
    folder = Path(cache_dir) / "microbench" / cfg.key()
    recs, cached = [], 0
    for a in tqdm(archs, desc="micro-benchmark", unit="net", disable=quiet, leave=False):
        path = folder / f"{a.key}.npz"
        rec = _load(path)
        if rec is None:
            rec = train_and_measure(a, cfg, device)
            save_npz_atomic(path, **{k: np.asarray(v) for k, v in rec.items()})
            rec = _load(path)
        else:
            cached += 1
        recs.append(rec)
    desc = (f"toy protocol, not NAS-Bench-201 (used for claims about fully connected nets): built-in "
            f"micro-benchmark: {len(archs)} networks (NB201 cells as fc analog and small conv nets, "
            f"mixed-activation fc nets) trained {cfg.epochs} epochs on sklearn digits; test accuracy on "
            f"{1797 - cfg.n_train} held-out images")
    return AccuracyTable("microbench", desc, archs, recs, {"key": cfg.key(), **asdict(cfg)},
                         time.perf_counter() - t0, cached)


def accuracy_table(ctx) -> AccuracyTable:
    """The run's accuracy table (memoised in ``ctx.shared``): the micro-benchmark, or with ``--nats-bench``
    the user's accuracies for a sample of NB201 cells with kernels measured on their small conv form."""
    memo = ctx.shared.get("accuracy_table")
    if memo is not None:
        return memo
    cfg = MicrobenchConfig.for_scale(ctx.scale, ctx.seed)
    if ctx.accuracy_source == "nats-bench" and ctx.nats_bench:
        from ntkcheck.paper_checks.natsbench import load_nats_bench

        nt = load_nats_bench(ctx.nats_bench)
        rng = np.random.default_rng([ctx.seed, 7])
        cand = [s for s in nt.archs if not parse_spec({"nb201": s}).is_degenerate]
        n = min(len(cand), 2 * cfg.n_nb201)
        pick = sorted(rng.choice(len(cand), size=n, replace=False).tolist())
        archs = [Arch(f"nats_{hashlib.sha256(cand[i].encode()).hexdigest()[:10]}", "nb201-conv", cand[i], cand[i])
                 for i in pick]
        t = build_table(cfg, ctx.cache_dir, device=ctx.device, quiet=ctx.quiet, archs=archs)
        for a, r in zip(t.archs, t.records):
            r["acc_digits"] = r["acc_test"]
            r["acc_test"] = nt.accuracy_of(a.cell)
        t.source = "nats-bench"
        t.description = (f"{nt.describe()}; {len(archs)} sampled cells; kernels and R_N measured on the small "
                         f"conv form of each cell on sklearn digits (epoch-1 kernels after 1 epoch on digits)")
    else:
        t = build_table(cfg, ctx.cache_dir, device=ctx.device, quiet=ctx.quiet)
    ctx.shared["accuracy_table"] = t
    return t


def cached_json(cache_dir: Path, name: str, key: dict, compute):
    """Disk cache ``cache_dir/<name>-<hash of key>.json`` for small results shared by checks and figures
    (written atomically; a corrupt file is recomputed).  The hash includes the code fingerprint
    (:func:`ntkcheck.cache.code_fingerprint`), so an engine change never reads an old entry."""
    from ntkcheck.cache import code_fingerprint
    from ntkcheck.io import write_json_atomic

    h = hashlib.sha256(json.dumps({"key": key, "code": code_fingerprint()}, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"{name}-{h}.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    write_json_atomic(path, compute())
    return json.loads(path.read_text())


# ---- correlation statistics --------------------------------------------------------------------------------

def _finite_rank(x: np.ndarray) -> np.ndarray:
    """κ = inf (a singular kernel) ranked as the largest value."""
    fin = np.isfinite(x)
    return np.where(np.isposinf(x), (np.nanmax(x[fin]) * 10 if fin.any() else 1.0), x)


def _as_dict(est, method: str, n_boot: int) -> dict[str, Any]:
    return {"method": method, "value": est.statistic, "ci95": [est.low, est.high], "n": int(est.n),
            "p_value": est.pvalue, "n_boot": int(n_boot), "se": est.se, "mc_error": est.mc_error,
            "protocol": est.method}


def stratified_kendall(x: Sequence[float], y: Sequence[float], groups: Sequence[str], *, n_boot: int = 1000,
                       seed: int = 0) -> dict[str, Any]:
    """Kendall τ within groups (network families), combined as the pair-count-weighted mean of the per-group
    τ-b, with a bootstrap 95% CI that resamples architectures within each group
    (:func:`ntkcheck.stats.stratified_kendall`).  Pooling families would mostly measure the accuracy gap *between*
    families (e.g. fc vs conv nets), not the metric's ranking power within a space, so the statistical checks use
    this stratified form and report the pooled τ too."""
    from ntkcheck import stats

    est, per = stats.stratified_kendall(_finite_rank(np.asarray(x, dtype=float)), np.asarray(y, dtype=float),
                                        groups, seed=seed, n_resamples=n_boot)
    return {**_as_dict(est, "stratified kendall", n_boot), "per_group": per}


def correlation(x: Sequence[float], y: Sequence[float], *, method: str = "kendall", n_boot: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """Kendall τ-b or Spearman ρ with a BCa bootstrap 95% CI (resampling architectures; :func:`ntkcheck.stats.kendall`
    / :func:`ntkcheck.stats.spearman`), on the pairs where both values are finite (κ = inf for a singular kernel is
    ranked as the largest value).  ``n_boot = 0``: the point value and p-value only (no interval)."""
    from scipy import stats as sps

    from ntkcheck import stats

    x = _finite_rank(np.asarray(x, dtype=float))
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if int(keep.sum()) < 4:
        return {"method": method, "value": math.nan, "ci95": [math.nan, math.nan], "n": int(keep.sum()),
                "p_value": math.nan}
    if n_boot <= 0:
        f = sps.kendalltau if method == "kendall" else sps.spearmanr
        r = f(x[keep], y[keep])
        return {"method": method, "value": float(r[0]), "ci95": [math.nan, math.nan], "n": int(keep.sum()),
                "p_value": float(r[1]), "n_boot": 0}
    f = stats.kendall if method == "kendall" else stats.spearman
    return _as_dict(f(x, y, seed=seed, n_resamples=n_boot), method, n_boot)
