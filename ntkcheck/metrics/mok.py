"""Mok et al. (CVPR 2022): label-gradient alignment and their other NTK metrics, one kernel per architecture."""

from __future__ import annotations

import json
import math


from ntkcheck.metrics.networks import _conv_net, _torch_batch
from ntkcheck.metrics.registry import Arch, Value, register
from ntkcheck.sweep.inputs import Inputs


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
