"""TE-NAS (Chen, Gong, Wang, ICLR 2021): the NTK condition number κ_N and the linear-region count R̂_N."""

from __future__ import annotations

import math


from ntkcheck.errors import NtkcheckError
from ntkcheck.metrics.networks import _conv_net, _torch_batch
from ntkcheck.metrics.registry import Arch, Value, register
from ntkcheck.sweep.inputs import Inputs, image_patches


def _tenas_batch_size(cfg: dict) -> dict:
    """TE-NAS κ_N batch: the paper says 32, the released code uses 72 ([TE] §2.2)."""
    if cfg.get("batch", 0) == 0:
        cfg["batch"] = 72 if cfg["mode"] == "code" else 32
    if cfg["mode"] not in ("paper", "code"):
        raise NtkcheckError(f"mode must be 'paper' or 'code', got {cfg['mode']!r}")
    return cfg


@register("kappa", "TE-NAS condition number κ_N = λ_max/λ_min of the logit-sum NTK (lower is better) [TE] Eq. 3",
          needs={"torch", "gpu"}, direction="min", spaces=("nb201",), resolve=_tenas_batch_size,
          config={"mode": "paper", "C": 3, "N": 1, "batch": 0, "repeats": 3})
def _kappa(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    """paper: fresh Kaiming-normal (fan_out) weights per repeat, float64, certified eigenvalues; code: the released
    code (PyTorch default init drawn once, the code's init bug; fp32 network, fp32 eigvalsh, NaN → 1e5); a new
    batch of the input source per repeat in both, the same batches for every architecture.  The gradient rows of
    a repeat come from one batch-coupled forward pass and one backward pass per sample (on an accelerator all of
    them in one vectorised backward pass: the same numbers, tested)."""
    return kappa_value(arch, inputs, seed, cfg)


def kappa_value(arch: Arch, inputs: Inputs, seed: int, cfg: dict, engine: str = "auto"):
    """The ``kappa`` metric's value with the NTK engine ``engine`` of :func:`ntkcheck.empirical.metrics.logit_sum_ntk`
    ("auto", "batched" or the per-sample "loop")."""
    from ntkcheck.empirical.metrics import tenas_kappa

    R, B = cfg["repeats"], cfg["batch"]
    if cfg["mode"] == "paper":
        model = lambda r: _conv_net(arch, cfg, seed * 1000 + r, "kaiming_normal_fan_out")  # noqa: E731
        dtype, compat = "float64", "float64"
    else:
        model, dtype, compat = _conv_net(arch, cfg, seed, "default", dtype="float32"), "float32", "tenas"
    X = [_torch_batch(inputs.batch(B, r)[0], arch, dtype) for r in range(R)]
    res = tenas_kappa(model, X, repeats=R, params="weight", compat=compat, engine=engine)
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
    """paper: fresh Kaiming-normal (fan_in) weights per repeat; code: default init drawn once (the released code's `init_model` matches none of its names); patches:
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
