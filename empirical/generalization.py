r"""The Cao–Gu data-dependent generalization quantity and whether it orders trained test error.

Template (Cao & Gu 2019; the shape Zhu et al. 2022 very likely use): for ±1 labels,

    E[L^{0−1}] ≤ Õ(C_arch · sqrt(yᵀΘ⁻¹y / N)) + O(sqrt(log(1/δ)/N)),

with Θ the infinite-width NTK Gram matrix on the training inputs. Since ‖y‖² = N,

    sqrt(yᵀΘ⁻¹y / N) ≤ 1/sqrt(λ_min(Θ))            (Rayleigh: yᵀΘ⁻¹y ≤ ‖y‖²/λ_min),

and with a certified lower bound ℓ ≤ λ_min (``theory.bounds``) also ≤ 1/sqrt(ℓ) (infinite when ℓ ≤ 0: vacuous).
The architecture prefactor C_arch is unknown and is a parameter (default 1), so only the *ordering* of
architectures is tested: :func:`generalization_experiment` computes the quantity per architecture on a binary task
from sklearn's bundled digits (even vs odd, rows centred and unit-norm), trains the contract network (width n,
NTK parametrization) by full-batch gradient descent on ½‖f − y‖², and reports the rank correlation between the
quantity and the trained test error, and between the quantity and the test error of NTK kernel regression
(the infinite-width trained network), each with a bootstrap 95% CI over architectures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import parse_spec

__all__ = ["cao_gu_quantity", "cao_gu_lambda_bound", "cao_gu_closed_form_bound", "ntk_regression_error",
           "GeneralizationResult", "generalization_experiment"]


def _labels(y: Any, N: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size != N:
        raise NtkcheckError(f"{y.size} labels for {N} points")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise NtkcheckError("labels must be +1/-1")
    return y


def cao_gu_quantity(K: Any, y: Any, *, prefactor: float = 1.0) -> dict[str, float]:
    """prefactor · sqrt(yᵀK⁻¹y / N) (via the eigendecomposition) and the bound prefactor/sqrt(λ_min(K)).

    Raises NtkcheckError when K is singular (λ_min not certified positive: duplicate/parallel points or a
    degenerate architecture) — the quantity is then infinite, not a number to rank."""
    from ntkcheck.theory.bounds import lam_min_certified

    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or not np.all(np.isfinite(K)):
        raise NtkcheckError("K must be a finite square matrix")
    K = 0.5 * (K + K.T)
    y = _labels(y, K.shape[0])
    lam, err = lam_min_certified(K)
    if not lam > err:
        raise NtkcheckError(f"the NTK Gram matrix is singular (lambda_min = {lam:.3g} +/- {err:.2g}): "
                            "yT K^-1 y is infinite (duplicate or parallel training points?)")
    w, V = np.linalg.eigh(K)
    quad = float(np.sum((V.T @ y) ** 2 / w))
    N = K.shape[0]
    return {"quantity": prefactor * math.sqrt(quad / N), "lambda_bound": prefactor / math.sqrt(lam),
            "lambda_min": lam, "lambda_min_error": err}


def cao_gu_lambda_bound(lambda_min: float, *, prefactor: float = 1.0) -> float:
    """prefactor / sqrt(λ_min) (∞ when λ_min ≤ 0: vacuous)."""
    return prefactor / math.sqrt(lambda_min) if lambda_min > 0 else math.inf


def cao_gu_closed_form_bound(spec: Any, X: Any, *, prefactor: float = 1.0) -> float:
    """prefactor / sqrt(ℓ) with ℓ = ``lb_schur_recursion`` (a certified lower bound on λ_min; train-free)."""
    from ntkcheck.theory.bounds import lb_schur_recursion

    return cao_gu_lambda_bound(lb_schur_recursion(spec, X, "ntk"), prefactor=prefactor)


def ntk_regression_error(K_train: np.ndarray, K_test_train: np.ndarray, y_train: np.ndarray,
                         y_test: np.ndarray) -> float:
    """0-1 test error of the infinite-width trained network's mean prediction K_*ᵀ K⁻¹ y (Jacot et al. 2018)."""
    pred = K_test_train @ np.linalg.solve(K_train, y_train)
    return float(np.mean(np.sign(pred) != y_test))


@dataclass
class GeneralizationResult:
    names: list[str]
    quantity: list[float]
    lambda_bound: list[float]
    closed_form_bound: list[float]
    lambda_min: list[float]
    test_error_trained: list[float]
    test_error_ntk_regression: list[float]
    train_loss_final: list[float]
    config: dict[str, Any]
    correlations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        from ntkcheck.io import to_jsonable

        return to_jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def generalization_experiment(specs: Sequence[Any], *, n_train: int = 100, n_test: int = 300, width: int = 256,
                              steps: int = 200, seeds: Sequence[int] = (0,), data_seed: int = 0,
                              n_boot: int = 1000, quiet: bool = True) -> GeneralizationResult:
    """Per architecture: the quantity on the training set, trained test error (mean over seeds), NTK-regression
    test error; then Kendall τ / Spearman ρ (bootstrap CI) of quantity vs each error. GD step size
    η = 1/λ_max(Θ) (stable for the linearized dynamics, η < 2/λ_max)."""
    import torch

    from ntkcheck.empirical.eigen_nas import arch_name, rank_correlation
    from ntkcheck.empirical.networks import build_network
    from ntkcheck.empirical.training import digits_data, full_batch_gd
    from ntkcheck.theory.kernels import infinite_width_kernels

    from tqdm import tqdm

    X, y = digits_data(n_train + n_test, seed=data_seed, binary=True)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    res = GeneralizationResult([], [], [], [], [], [], [], [], {
        "task": "sklearn digits, even vs odd, rows centred and unit-norm", "n_train": n_train, "n_test": n_test,
        "width": width, "steps": steps, "seeds": list(seeds), "data_seed": data_seed, "loss": "0.5*sum (f-y)^2",
        "optimizer": "full-batch GD, lr = 1/lambda_max(Theta)", "parametrization": "ntk"})
    for s in tqdm([parse_spec(s) for s in specs], desc="generalization", disable=quiet, leave=False):
        kall = infinite_width_kernels(s, np.vstack([Xtr, Xte]))
        T = kall.ntk
        Ktr, Kte = T[:n_train, :n_train], T[n_train:, :n_train]
        q = cao_gu_quantity(Ktr, ytr)
        res.names.append(arch_name(s))
        res.quantity.append(q["quantity"])
        res.lambda_bound.append(q["lambda_bound"])
        res.lambda_min.append(q["lambda_min"])
        res.closed_form_bound.append(cao_gu_closed_form_bound(s, Xtr))
        res.test_error_ntk_regression.append(ntk_regression_error(Ktr, Kte, ytr, yte))
        lr = 1.0 / float(np.linalg.eigvalsh(Ktr)[-1])
        errs, losses = [], []
        for sd in seeds:
            net = build_network(s, Xtr.shape[1], width, seed=int(sd), device="cpu")
            xt = torch.from_numpy(Xtr)
            out = full_batch_gd(net, xt, torch.from_numpy(ytr), lr=lr, steps=steps)
            losses.append(float(out["losses"][-1]))
            with torch.no_grad():
                pred = net(torch.from_numpy(Xte)).reshape(-1).numpy()
            errs.append(float(np.mean(np.sign(pred) != yte)))
        res.test_error_trained.append(float(np.mean(errs)))
        res.train_loss_final.append(float(np.mean(losses)))
    for target in ("test_error_trained", "test_error_ntk_regression"):
        for xname in ("quantity", "lambda_bound", "closed_form_bound"):
            res.correlations[f"{xname}~{target}"] = rank_correlation(
                getattr(res, xname), getattr(res, target), method="kendall", n_boot=n_boot)
    return res
