r"""The training-free metrics of ntkcheck, each defined once and used by ``sweep``, ``verify`` and ``search`` alike.

A metric is one small function ``fn(arch: Arch, inputs: Inputs, seed: int, cfg: dict) -> float | Value``
registered once with :func:`register`::

    @register("params", "number of parameters of the NB201 benchmark network (or the fc net)",
              needs={"torch"}, config={"C": 16, "N": 5, "width": 256}, direction="max")
    def _params(arch, inputs, seed, cfg):
        return float(sum(p.numel() for p in _network(arch, cfg, seed).parameters()))

* ``needs``: a subset of {"torch", "gpu", "labels"}; "gpu" means the metric benefits from a GPU (on a Dask
  cluster its tasks ask for ``resources={"GPU": 1}``), it still runs on a CPU.
* ``config``: every setting that changes the value, with its default.  :func:`resolve_config` merges the user's
  overrides (unknown keys are errors, values keep the default's type) and the metric's own ``resolve`` hook
  (e.g. ``kappa``'s batch size follows its mode); :func:`config_hash` hashes the result together with the metric
  name, its ``version`` (bump it when the code changes a value), the input source's fingerprint and the space.
* ``direction``: "max" or "min", the better end of the metric (TE-NAS κ_N: "min").
* ``spaces``: the search spaces it is defined on ("nb201" cells, "fc" specs of the contract).
* The function returns a float, or a :class:`Value` with a status ("ok", "singular") and a one-line message.
  Exceptions become status "error" in :func:`evaluate`.  ``arch.memo`` is a per-architecture dict for sharing
  a kernel between metrics in one task (keys must include every config entry the shared object depends on).

torch is imported only inside the torch metrics, so ``theory``-only metrics (``dbar``, ``ntk_lambda_min``…) and
``ntkcheck sweep --list`` start without it.  Digests cited: [TE] ``tenas_chen2021.md``, [LGA] ``lga_mok2022.md``,
[Z] ``zhu2022_nas_generalization.md``, [C] ``chen2022_connectivity.md``; NASWOT: Mellor, Turner, Storkey,
Crowley, "Neural Architecture Search without Training", ICML 2021 (``hook_logdet``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.metric_inputs import Inputs, flat_rows, image_patches
from ntkcheck.spec import ArchSpec, parse_nb201, parse_spec

__all__ = ["Metric", "Value", "Arch", "Result", "METRICS", "register", "get_metric", "resolve_config",
           "config_hash", "evaluate", "metric_names"]

NEEDS = frozenset({"torch", "gpu", "labels"})


@dataclass(frozen=True)
class Value:
    """A metric value with its status: "ok" or "singular" (the value is then what the definition gives, e.g.
    κ = inf or a λ_min within its error bound of 0), and a one-line message."""

    value: float
    status: str = "ok"
    message: str = ""


@dataclass(frozen=True)
class Result:
    """One evaluated (architecture, metric): value, status ok/singular/error, message, seconds, device."""

    value: float
    status: str
    message: str
    seconds: float
    device: str


@dataclass
class Arch:
    """An architecture of a space: ``key`` (the NB201 string, or the spec's compact JSON), ``space`` ("nb201" or
    "fc"), the parsed ``spec`` (for NB201 its fully connected analog), ``device`` and a per-task ``memo``."""

    key: str
    space: str
    device: str = "cpu"
    memo: dict = field(default_factory=dict)

    @property
    def cell(self) -> str:
        if self.space != "nb201":
            raise NtkcheckError(f"{self.key} is not an NB201 cell")
        return self.key

    @property
    def spec(self) -> ArchSpec:
        if "_spec" not in self.memo:
            self.memo["_spec"] = parse_spec({"nb201": self.key} if self.space == "nb201" else json.loads(self.key))
        return self.memo["_spec"]


@dataclass(frozen=True)
class Metric:
    name: str
    doc: str
    fn: Callable[[Arch, Inputs, int, dict], Any]
    needs: frozenset
    config: Mapping[str, Any]
    direction: str
    spaces: tuple[str, ...]
    version: int = 1
    resolve: Callable[[dict], dict] | None = None


METRICS: dict[str, Metric] = {}


def register(name: str, doc: str, *, needs=(), config: Mapping[str, Any] | None = None, direction: str = "max",
             spaces: tuple[str, ...] = ("nb201", "fc"), version: int = 1,
             resolve: Callable[[dict], dict] | None = None):
    """Decorator: register ``fn`` as metric ``name`` (see the module docstring).  A name registers once."""
    needs = frozenset(needs)
    if needs - NEEDS:
        raise ValueError(f"unknown needs {sorted(needs - NEEDS)}")
    if direction not in ("max", "min"):
        raise ValueError("direction must be 'max' or 'min'")
    if "\n" in doc:
        raise ValueError("a metric's doc is one line")

    def deco(fn):
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        METRICS[name] = Metric(name, doc, fn, needs, dict(config or {}), direction, tuple(spaces), version, resolve)
        return fn

    return deco


def metric_names() -> tuple[str, ...]:
    return tuple(METRICS)


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise NtkcheckError(f"unknown metric {name!r} (known: {', '.join(METRICS)})")
    return METRICS[name]


def _coerce(metric: str, key: str, v: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0"):
            return v.lower() in ("true", "1")
        if isinstance(v, bool):
            return v
    elif isinstance(default, int):
        try:
            out = int(v)
            if str(out) == str(v).strip() or isinstance(v, int):
                return out
        except (TypeError, ValueError):
            pass
    elif isinstance(default, float):
        try:
            out = float(v)
            if math.isfinite(out):
                return out
        except (TypeError, ValueError):
            pass
    elif isinstance(default, str) and isinstance(v, str):
        return v
    raise NtkcheckError(f"{metric}.{key}: {v!r} is not a valid {type(default).__name__}")


def resolve_config(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metric's full configuration: defaults, then ``overrides`` (validated), then its ``resolve`` hook."""
    m = get_metric(name)
    cfg = dict(m.config)
    for k, v in (overrides or {}).items():
        if k not in cfg:
            known = ", ".join(cfg) or "none"
            raise NtkcheckError(f"metric {name} has no setting {k!r} (settings: {known})")
        cfg[k] = _coerce(name, k, v, m.config[k])
    return m.resolve(cfg) if m.resolve else cfg


def config_hash(name: str, cfg: Mapping[str, Any], inputs_fingerprint: str, space: str) -> str:
    """sha256 (16 hex digits) of everything that fixes a metric's value apart from the architecture and seed."""
    m = get_metric(name)
    blob = json.dumps({"metric": name, "version": m.version, "config": dict(cfg), "inputs": inputs_fingerprint,
                       "space": space}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {msg}"[:300]


def evaluate(name: str, arch: Arch, inputs: Inputs, seed: int, cfg: Mapping[str, Any]) -> Result:
    """Run one metric on one architecture; any exception becomes status "error" with a one-line message.
    BLAS and torch run single-threaded so that a value does not depend on how many run side by side."""
    from threadpoolctl import threadpool_limits

    m = get_metric(name)
    t0 = time.perf_counter()
    try:
        if arch.space not in m.spaces:
            raise NtkcheckError(f"metric {name} is not defined on the {arch.space} space")
        with threadpool_limits(1):
            if "torch" in m.needs:
                import torch

                torch.set_num_threads(1)
            out = m.fn(arch, inputs, int(seed), dict(cfg))
        v = out if isinstance(out, Value) else Value(float(out))
        return Result(float(v.value), v.status, v.message, time.perf_counter() - t0, arch.device)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a metric that raises is recorded as an error row
        return Result(math.nan, "error", _one_line(exc), time.perf_counter() - t0, arch.device)


# ====================================================================================================
# helpers shared by the torch metrics
# ====================================================================================================

def _torch_batch(x: np.ndarray, arch: Arch, dtype: str = "float64"):
    import torch

    return torch.as_tensor(x, dtype=getattr(torch, dtype), device=arch.device)


def _nb201_config(cfg: Mapping[str, Any], **kw):
    from ntkcheck.empirical.nb201_conv import NB201ConvConfig

    return NB201ConvConfig(**{"C": cfg["C"], "N": cfg["N"], "num_classes": 10, **kw})


def _conv_net(arch: Arch, cfg: Mapping[str, Any], seed: int, init: str, dtype: str = "float64", **kw):
    import torch
    from ntkcheck.empirical.nb201_conv import build_nb201_conv

    return build_nb201_conv(arch.cell, _nb201_config(cfg, **kw), seed=seed, init=init, device=arch.device,
                            dtype=getattr(torch, dtype))


def _fc_net(arch: Arch, cfg: Mapping[str, Any], seed: int, d_in: int):
    from ntkcheck.empirical.networks import build_network

    return build_network(arch.spec, d_in, cfg["width"], out_dim=10, seed=seed, device=arch.device)


def _tenas_batch_size(cfg: dict) -> dict:
    """TE-NAS κ_N batch: the paper says 32, the released code uses 72 ([TE] §2.2)."""
    if cfg.get("batch", 0) == 0:
        cfg["batch"] = 72 if cfg["mode"] == "code" else 32
    if cfg["mode"] not in ("paper", "code"):
        raise NtkcheckError(f"mode must be 'paper' or 'code', got {cfg['mode']!r}")
    return cfg


# ====================================================================================================
# the metrics
# ====================================================================================================

@register("kappa", "TE-NAS condition number κ_N = λ_max/λ_min of the logit-sum NTK (lower is better) [TE] Eq. 3",
          needs={"torch", "gpu"}, direction="min", spaces=("nb201",), resolve=_tenas_batch_size,
          config={"mode": "paper", "C": 3, "N": 1, "batch": 0, "repeats": 3})
def _kappa(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """paper: fresh Kaiming-normal (fan_out) weights per repeat, float64, certified eigenvalues; code: the released
    code (PyTorch default init drawn once — bug B1 —, fp32 network, fp32 eigvalsh, NaN → 1e5); a new batch of the
    input source per repeat in both, the same batches for every architecture."""
    from ntkcheck.empirical.metrics import tenas_kappa

    R, B = cfg["repeats"], cfg["batch"]
    if cfg["mode"] == "paper":
        model = lambda r: _conv_net(arch, cfg, seed * 1000 + r, "kaiming_normal_fan_out")  # noqa: E731
        dtype, compat = "float64", "float64"
    else:
        model, dtype, compat = _conv_net(arch, cfg, seed, "default", dtype="float32"), "float32", "tenas"
    X = [_torch_batch(inputs.batch(B, r)[0], arch, dtype) for r in range(R)]
    res = tenas_kappa(model, X, repeats=R, params="weight", compat=compat)
    if cfg["mode"] == "paper" and not math.isfinite(res.mean):
        return Value(math.inf, "singular", "the NTK of at least one repeat is singular (certified λ_min ≤ its bound)")
    return res.mean


def _regions_defaults(cfg: dict) -> dict:
    """R_N samples: the paper's 5000 (Appendix A), the released code's 3000 ([TE] §2.3)."""
    if cfg["mode"] not in ("paper", "code"):
        raise NtkcheckError(f"mode must be 'paper' or 'code', got {cfg['mode']!r}")
    if cfg.get("samples", 0) == 0:
        cfg["samples"] = 3000 if cfg["mode"] == "code" else 5000
    return cfg


@register("regions", "TE-NAS linear-region count R̂_N of the thin one-channel cell on 1×3×3 image patches "
          "(higher is better) [TE] Eq. 5", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
          resolve=_regions_defaults, config={"mode": "paper", "samples": 0, "batch": 1000, "repeats": 3})
def _regions(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """paper: fresh Kaiming-normal (fan_in) weights per repeat; code: default init drawn once (bug B1); patches:
    random one-channel 3×3 crops of the input images, new ones per repeat ([TE] §2.3)."""
    from ntkcheck.empirical.linear_regions import tenas_region_count
    from ntkcheck.empirical.nb201_conv import thin_config

    S = cfg["samples"]
    P = image_patches(inputs, S * cfg["repeats"], seed=seed)
    thin = {k: v for k, v in thin_config().__dict__.items() if k not in ("C", "N", "num_classes")}
    if cfg["mode"] == "paper":
        model = lambda r: _conv_net(arch, {"C": 1, "N": 1}, seed * 1000 + r, "kaiming_normal_fan_in", **thin)  # noqa: E731
    else:
        model = _conv_net(arch, {"C": 1, "N": 1}, seed, "default", **thin)
    return tenas_region_count(model, repeats=cfg["repeats"], n_samples=S, batch_size=cfg["batch"],
                              inputs=lambda r: _torch_batch(P[r * S:(r + 1) * S], arch)).mean


@register("naswot", "NASWOT hook_logdet: log|det K|, K = c cᵀ + (1−c)(1−c)ᵀ of the ReLU binary codes c "
          "(higher is better; Mellor et al. 2021)", needs={"torch", "gpu"}, direction="max", spaces=("nb201",),
          config={"C": 16, "N": 5, "batch": 128})
def _naswot(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """Mellor et al.'s code: the NB201 benchmark network (C=16, N=5, default init), one batch of 128 in train mode;
    every nn.ReLU's input x gives codes c = (x > 0) per sample, K accumulates c cᵀ + (1−c)(1−c)ᵀ (the number of
    units on which two samples agree), score = slogdet(K)[1].  K is accumulated per ReLU (exact integer counts in
    float64) instead of storing all codes, which would need ~10⁸ bits per batch."""
    import torch
    from torch import nn

    net = _conv_net(arch, cfg, seed, "default", dtype="float32")
    X = _torch_batch(inputs.batch(cfg["batch"])[0], arch, "float32")
    K = torch.zeros(X.shape[0], X.shape[0], dtype=torch.float64, device=arch.device)

    def hook(mod, inp, out):
        c = (inp[0] > 0).reshape(inp[0].shape[0], -1).to(torch.float32)
        K.add_((c @ c.T + (1 - c) @ (1 - c).T).to(torch.float64))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(X)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = np.linalg.slogdet(K.cpu().numpy())
    if sign <= 0:
        return Value(-math.inf, "singular", "K is singular (two samples share every ReLU code)")
    return float(logdet)


@register("params", "number of parameters of the NB201 benchmark network (C=16, N=5), or of the fc net "
          "(width 256)", needs={"torch"}, direction="max", config={"C": 16, "N": 5, "width": 256})
def _params(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    net = _conv_net(arch, cfg, 0, "default", dtype="float32") if arch.space == "nb201" else \
        _fc_net(arch, cfg, 0, flat_rows(inputs, 1).shape[1])
    return float(sum(p.numel() for p in net.parameters()))


@register("flops", "forward FLOPs (torch FlopCounterMode, 2 per multiply-add) for one 3×32×32 image of the NB201 "
          "benchmark network, or one row of the fc net", needs={"torch"}, direction="max",
          config={"C": 16, "N": 5, "width": 256})
def _flops(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if arch.space == "nb201":
        net, x = _conv_net(arch, cfg, 0, "default", dtype="float32"), torch.zeros(1, 3, 32, 32)
    else:
        d = flat_rows(inputs, 1).shape[1]
        net, x = _fc_net(arch, cfg, 0, d), torch.zeros(1, d, dtype=torch.float64)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net.eval()(x.to(arch.device))
    return float(counter.get_total_flops())


# ---- Mok et al. (LGA and their other NTK metrics): one kernel per architecture, shared through arch.memo ----

_MOK_CONFIG = {"C": 16, "N": 5, "batch": 256, "model_seed": 42}


def _mok_kernel(arch: Arch, inputs: Inputs, cfg: dict):
    """The LGA code's kernel ([LGA] §5): NB201 at benchmark size with non-affine, statistics-free cell BN and conv
    biases, PyTorch default init from model seed 42 for every architecture, one batch of 256, train-mode BN,
    logit-sum gradients of the 'weight' parameters without the classifier."""
    key = ("mok_kernel", json.dumps({k: cfg[k] for k in _MOK_CONFIG}, sort_keys=True))
    if key not in arch.memo:
        from ntkcheck.empirical.metrics import logit_sum_ntk

        net = _conv_net(arch, cfg, cfg["model_seed"], "default", bn_affine=False, bn_track_running_stats=False,
                        conv_bias=True)
        X, y = inputs.batch(cfg["batch"])
        arch.memo[key] = (logit_sum_ntk(net, _torch_batch(X, arch), params="weight_no_classifier").cpu().numpy(), y)
    return arch.memo[key]


@register("lga", "label-gradient alignment: Pearson correlation of the NTK entries with the ±1 label-similarity "
          "matrix (higher is better) [LGA] §4", needs={"torch", "gpu", "labels"}, direction="max",
          spaces=("nb201",), config=_MOK_CONFIG)
def _lga(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    from ntkcheck.empirical.metrics import lga

    K, y = _mok_kernel(arch, inputs, cfg)
    v = lga(K, y)
    return Value(v, "singular", "constant kernel: LGA undefined") if math.isnan(v) else v


@register("knas", "mean of the NTK entries ('knas' in Mok et al.'s code, higher is better) [LGA] §3",
          needs={"torch", "gpu"}, direction="max", spaces=("nb201",), config=_MOK_CONFIG)
def _knas(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    from ntkcheck.empirical.metrics import ntk_mean

    return ntk_mean(_mok_kernel(arch, inputs, cfg)[0])


@register("ntk_fnorm", "Frobenius norm of the NTK ('f_norm' in Mok et al.'s code) [LGA] §3",
          needs={"torch", "gpu"}, direction="max", spaces=("nb201",), config=_MOK_CONFIG)
def _fnorm(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    from ntkcheck.empirical.metrics import frobenius_norm

    return frobenius_norm(_mok_kernel(arch, inputs, cfg)[0])


@register("ntk_cond", "float64 condition number of Mok et al.'s NTK (their 'tenas' metric, lower is better) "
          "[LGA] §3", needs={"torch", "gpu"}, direction="min", spaces=("nb201",), config=_MOK_CONFIG)
def _ntk_cond(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    from ntkcheck.empirical.metrics import condition_number

    c = condition_number(_mok_kernel(arch, inputs, cfg)[0])
    return Value(math.inf, "singular", "λ_min not certified positive") if c.singular else c.value


# ---- infinite-width and empirical λ_min of the fully connected analog --------------------------------

_THEORY_CONFIG = {"n": 32}


def _exact_kernels(arch: Arch, inputs: Inputs, cfg: dict):
    key = ("exact", cfg["n"])
    if key not in arch.memo:
        X = flat_rows(inputs, cfg["n"])
        if arch.space == "nb201":
            from ntkcheck.theory.nb201 import nb201_kernels

            K, Th = nb201_kernels([parse_nb201(arch.cell)], X)
            arch.memo[key] = {"nngp": K[0], "ntk": Th[0]}
        else:
            from ntkcheck.theory.kernels import infinite_width_kernels

            k = infinite_width_kernels(arch.spec, X)
            arch.memo[key] = {"nngp": np.asarray(k.nngp), "ntk": np.asarray(k.ntk)}
    return arch.memo[key]


def _certified_lambda_min(K: np.ndarray) -> Value:
    from ntkcheck.theory.spectra import certified_eigvalsh

    sp = certified_eigvalsh(0.5 * (K + K.T))
    if sp.degenerate:
        return Value(0.0, "singular", "degenerate: zero kernel (no input→output path)")
    if sp.singular:
        return Value(float(sp.lambda_min), "singular", f"λ_min within its error bound {sp.error_bound:.3g} of 0")
    return Value(float(sp.lambda_min), "ok", f"error bound {sp.error_bound:.3g}")


@register("ntk_lambda_min", "λ_min of the exact infinite-width NTK of the fully connected analog (certified, "
          "float64) on n unit-norm image rows", direction="max", config=_THEORY_CONFIG)
def _ntk_lambda_min(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _certified_lambda_min(_exact_kernels(arch, inputs, cfg)["ntk"])


@register("nngp_lambda_min", "λ_min of the exact infinite-width NNGP kernel of the fully connected analog "
          "(certified, float64)", direction="max", config=_THEORY_CONFIG)
def _nngp_lambda_min(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _certified_lambda_min(_exact_kernels(arch, inputs, cfg)["nngp"])


@register("empirical_lambda_min", "λ_min of the finite-width empirical NTK of the fully connected analog (width n, "
          "NTK parametrization, mean over seeds) [Z] §5", needs={"torch", "gpu"}, direction="max",
          config={"n": 32, "width": 256, "seeds": 3})
def _empirical_lambda_min(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    from ntkcheck.empirical.eigen_nas import eigen_nas_score

    if arch.spec.is_degenerate:
        return Value(0.0, "singular", "degenerate: no input→output path")
    seeds = [seed * 1000 + s for s in range(cfg["seeds"])]
    return eigen_nas_score(arch.spec, flat_rows(inputs, cfg["n"]), width=cfg["width"], seeds=seeds,
                           device=arch.device)["score"]


@register("eigennas", "Eigen-NAS score: seed-averaged λ_min of the NB201 conv network's NTK at init (all "
          "parameters, logit sum; higher is better) [Z] §5", needs={"torch", "gpu"}, direction="max",
          spaces=("nb201",), config={"C": 3, "N": 1, "batch": 32, "seeds": 3})
def _eigennas(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    from ntkcheck.empirical.metrics import eigen_nas_score

    fac = lambda s: _conv_net(arch, cfg, s, "kaiming_normal")  # noqa: E731
    X = _torch_batch(inputs.batch(cfg["batch"])[0], arch)
    sc = eigen_nas_score(fac, X, seeds=[seed * 1000 + s for s in range(cfg["seeds"])], params="all")
    if any(lm <= eb for lm, eb in zip(sc.lambda_mins, sc.error_bounds)):
        return Value(sc.score, "singular", "λ_min of at least one seed within its error bound of 0")
    return sc.score


# ---- Chen et al. 2022: effective depth and width --------------------------------------------------------

def _depth_width(arch: Arch) -> tuple[float, float]:
    from ntkcheck.theory.connectivity import depth_width, nb201_depth_width

    if arch.space == "nb201":
        return nb201_depth_width(arch.cell)
    dw = depth_width(arch.spec)
    return dw["d_bar"], dw["m_bar"]


@register("dbar", "effective depth d̄ = mean number of weighted ops over input→output paths (official-code rule) "
          "[C] Eq. 13", direction="max")
def _dbar(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _depth_width(arch)[0]


@register("mbar", "effective width m̄ = #paths with depth > 0 / d̄ (official-code rule) [C] Eq. 13", direction="max")
def _mbar(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _depth_width(arch)[1]
