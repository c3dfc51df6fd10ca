r"""NTK tracking during training (Mok et al. 2022 kernel tracking).

The released ``kernel_track`` code trains one network with SGD and, after every epoch, recomputes the
NTK on a fixed probe batch with the network in **eval** mode, differentiating **every logit** with respect
to **all** parameters (the full NC×NC kernel, biases and classifier included).  It then logs, against the
kernel Θ₀ at initialisation:

* kernel correlation (Pearson over entries, population std),
* relative kernel difference ‖ |Θ₀−Θ_t| ⊘ (|Θ₀|+1e-4) ‖_F,
* ‖Θ₀ − Θ_t‖_F, the cosine ⟨Θ₀,Θ_t⟩_F/(‖Θ₀‖_F‖Θ_t‖_F), ‖Θ_t‖_F, ‖θ‖₂, train loss and accuracy.

Added here ([LGA] §6, "implement the standard form"): the kernel distance S(Θ₀,Θ_t) = 1 − cosine (Fort et
al. 2020) and the kernel velocity v(t) = S(Θ_{t−1}, Θ_t)/Δt with Δt = one epoch; optionally LGA of the
logit-sum kernel on labelled probe data (the LGA code's kernel: 'weight' parameters without the
classifier, BN mode as chosen) to follow the "kernel twisting" of Fig. 1 (L3).

Defaults follow the code: SGD lr 0.025, momentum 0.9, weight decay 3e-4, cross-entropy; the batch size
(1024 there) and the number of epochs (100 there) are arguments so that toy runs stay small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ntkcheck.errors import NtkcheckError
from ntkcheck.empirical.metrics import (frobenius_norm, kernel_correlation, kernel_cosine, kernel_distance, lga,
                                        logit_sum_ntk, relative_kernel_difference)

__all__ = ["TrackingConfig", "TrackingResult", "track_ntk", "probe_kernel"]


@dataclass(frozen=True)
class TrackingConfig:
    """Training and kernel options ([LGA] §5–§6 defaults; ``epochs``/``batch_size`` small for toy runs)."""

    epochs: int = 3
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    batch_size: int = 64
    loss: str = "ce"  # "ce" (cross-entropy, the code) or "mse" (against one-hot targets)
    params: Any = "all"
    output: str = "full"
    bn_train_mode: bool = False  # eval mode for the tracked kernel, as ``batch_wise_ntk``
    seed: int = 0
    store_kernels: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 0:
            raise NtkcheckError(f"epochs must be a non-negative integer, got {self.epochs!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise NtkcheckError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        for name in ("lr", "momentum", "weight_decay"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise NtkcheckError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.loss not in ("ce", "mse"):
            raise NtkcheckError(f"loss must be 'ce' or 'mse', got {self.loss!r}")
        if self.output not in ("full", "sum_logits"):
            raise NtkcheckError(f"output must be 'full' or 'sum_logits', got {self.output!r}")


@dataclass(frozen=True)
class TrackingResult:
    """Per-epoch series, index t = 0 (initialisation) .. epochs; ``velocity[0]`` and the training metrics at
    t = 0 are nan (no step yet)."""

    epochs: tuple[int, ...]
    correlation: tuple[float, ...]
    distance: tuple[float, ...]
    cosine: tuple[float, ...]
    relative_difference: tuple[float, ...]
    abs_difference: tuple[float, ...]
    velocity: tuple[float, ...]
    frobenius: tuple[float, ...]
    param_norm: tuple[float, ...]
    train_loss: tuple[float, ...]
    train_acc: tuple[float, ...]
    lga: tuple[float, ...]
    kernels: tuple[np.ndarray, ...] | None
    config: TrackingConfig


def probe_kernel(model: nn.Module, X: torch.Tensor, cfg: TrackingConfig) -> np.ndarray:
    """The tracked kernel on the probe batch (float64 numpy)."""
    return logit_sum_ntk(model, X, params=cfg.params, output=cfg.output,
                         bn_train_mode=cfg.bn_train_mode).detach().cpu().numpy()


def track_ntk(model: nn.Module, X_train: torch.Tensor, y_train: torch.Tensor, X_probe: torch.Tensor, *,
              config: TrackingConfig | None = None, y_probe: torch.Tensor | None = None,
              progress: bool = False) -> TrackingResult:
    """Train ``model`` **in place** for ``config.epochs`` epochs of minibatch SGD on (X_train, y_train) and
    record the NTK on ``X_probe`` after every epoch (module docstring).  ``y_probe`` enables the LGA series.
    Shuffling is seeded with ``config.seed``; the global RNG is not used."""
    cfg = config or TrackingConfig()
    if not isinstance(model, nn.Module):
        raise NtkcheckError(f"expected a torch module, got {type(model).__name__}")
    p0 = next(model.parameters())
    dev, dt = p0.device, p0.dtype
    X_train, X_probe = X_train.to(device=dev, dtype=dt), X_probe.to(device=dev, dtype=dt)
    y_train = torch.as_tensor(y_train).to(device=dev, dtype=torch.long)
    if X_train.shape[0] != y_train.shape[0] or y_train.ndim != 1:
        raise NtkcheckError(f"{X_train.shape[0]} training inputs but labels of shape {tuple(y_train.shape)}")
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)

    def lga_now() -> float:
        if y_probe is None:
            return math.nan
        K = logit_sum_ntk(model, X_probe, params="weight_no_classifier", bn_train_mode=cfg.bn_train_mode)
        return lga(K, y_probe)

    K0 = probe_kernel(model, X_probe, cfg)
    kernels = [K0]
    series: dict[str, list[float]] = {k: [] for k in ("corr", "dist", "cos", "rel", "abs", "vel", "fro", "pnorm",
                                                      "loss", "acc", "lga")}

    def record(K: np.ndarray, Kprev: np.ndarray | None, loss: float, acc: float) -> None:
        series["corr"].append(kernel_correlation(K0, K))
        series["dist"].append(kernel_distance(K0, K))
        series["cos"].append(kernel_cosine(K0, K))
        series["rel"].append(relative_kernel_difference(K0, K))
        series["abs"].append(float(np.linalg.norm(K0 - K)))
        series["vel"].append(kernel_distance(Kprev, K) if Kprev is not None else math.nan)
        series["fro"].append(frobenius_norm(K))
        with torch.no_grad():
            series["pnorm"].append(float(torch.sqrt(sum((p.double() ** 2).sum() for p in model.parameters()))))
        series["loss"].append(loss)
        series["acc"].append(acc)
        series["lga"].append(lga_now())

    record(K0, None, math.nan, math.nan)
    n = X_train.shape[0]
    it = range(cfg.epochs)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="tracking NTK")
    for _ in it:
        model.train()
        perm = torch.randperm(n, generator=gen).to(dev)
        tot_loss, correct = 0.0, 0
        for s in range(0, n, cfg.batch_size):
            idx = perm[s:s + cfg.batch_size]
            out = model(X_train[idx])
            if cfg.loss == "ce":
                loss = nn.functional.cross_entropy(out, y_train[idx])
            else:
                loss = nn.functional.mse_loss(out, nn.functional.one_hot(y_train[idx], out.shape[1]).to(out.dtype))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot_loss += float(loss.detach()) * idx.numel()
            correct += int((out.argmax(1) == y_train[idx]).sum())
        K = probe_kernel(model, X_probe, cfg)
        record(K, kernels[-1], tot_loss / n, correct / n)
        kernels.append(K)
    t = lambda k: tuple(series[k])  # noqa: E731
    return TrackingResult(tuple(range(cfg.epochs + 1)), t("corr"), t("dist"), t("cos"), t("rel"), t("abs"), t("vel"),
                          t("fro"), t("pnorm"), t("loss"), t("acc"), t("lga"),
                          tuple(kernels) if cfg.store_kernels else None, cfg)
