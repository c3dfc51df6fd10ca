"""Exact infinite-width (fc analog and convolutional NB201) and finite-width kernel spectra."""

from __future__ import annotations


import numpy as np

from ntkcheck.metrics.networks import _conv_net, _torch_batch
from ntkcheck.metrics.registry import Arch, Value, register
from ntkcheck.spec import parse_nb201
from ntkcheck.sweep.inputs import Inputs, flat_rows


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




def _conv_kernels(arch: Arch, inputs: Inputs, cfg: dict):
    key = ("conv_exact", cfg["n"])
    if key not in arch.memo:
        from ntkcheck.theory.conv_kernels import conv_cells_kernels

        X = flat_rows(inputs, cfg["n"]).reshape(cfg["n"], 3, 8, 8)  # the fc analog's data, as images
        K, Th = conv_cells_kernels([parse_nb201(arch.cell)], X, workers=1)
        arch.memo[key] = {"nngp": K[0], "ntk": Th[0]}
    return arch.memo[key]


@register("conv_ntk_lambda_min", "λ_min of the exact infinite-width NTK of the convolutional NB201 cell (conv stem, "
          "cross terms, no BN; certified, float64) on the n unit-norm 3×8×8 images of ntk_lambda_min",
          direction="max", config=_THEORY_CONFIG, spaces=("nb201",))
def _conv_ntk_lambda_min(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _certified_lambda_min(_conv_kernels(arch, inputs, cfg)["ntk"])


@register("conv_nngp_lambda_min", "λ_min of the exact infinite-width NNGP kernel of the convolutional NB201 cell "
          "(conv stem, cross terms, no BN; certified, float64) on the images of ntk_lambda_min",
          direction="max", config=_THEORY_CONFIG, spaces=("nb201",))
def _conv_nngp_lambda_min(arch: Arch, inputs: Inputs, seed: int, cfg: dict):
    return _certified_lambda_min(_conv_kernels(arch, inputs, cfg)["nngp"])
