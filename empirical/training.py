r"""Training loops that measure how fast the loss contracts, and the Theorem 3.1 experiment of Chen et al. 2022.

Generic pieces (usable with any ``torch.nn.Module`` mapping (N, d) → (N,) or (N, C)):

* :func:`full_batch_gd` — plain gradient descent θ ← θ − η ∇L on L(θ) = ½‖f(X; θ) − y‖² (the *sum* of
  squares, Theorem 3.1's loss), recording L at every step;
* :func:`sgd_train` — mini-batch SGD (no momentum, no weight decay; Chen et al. §5.1, Fig. 4) with
  cross-entropy or MSE, recording per-epoch training loss and accuracy;
* :func:`fit_contraction` — the per-step contraction factor r of a loss curve, L_k ≈ L_0·r^k, by least squares
  of log L_k on k over a window (and the geometric mean (L_K/L_0)^{1/K} of the window);
* :func:`linearized_losses` — the infinite-width prediction of the same curve: in the NTK regime the residual
  obeys r_{k+1} = (I − ηΘ) r_k (Jacot et al. 2018; Lee et al. 2019), so L_k = ½‖(I − ηΘ)^k r_0‖².

Theorem 3.1 (Chen et al. 2022, §3.2): with full-batch GD and small η,
‖y − f(k)‖² ≤ (1 − η λ_min(K^(H))/2)^k ‖y − f(0)‖², K^(H) the output node's NNGP.  :func:`theorem31_experiment`
trains the paper's DAGs at several widths and compares the fitted contraction with (a) this bound computed
from the exact and from the paper's approximate λ_min(K^(H)), and (b) the sharp linearized prediction
from the exact infinite-width NTK (and from the paper recursion's NTK), which the measured curve should
approach as the width grows.

Network (the contract's, :func:`ntkcheck.empirical.networks.build_network`): Chen et al.'s DAG (linear+ReLU
edges √2·ReLU(W x/√n), skip, zero; no bias) plus a scalar linear readout f = (σ_w/√n) v·X^(H) with σ_w² = 2
(spec ``readout="identity"``), NTK parametrization.  Theorem 3.1 has no readout; with one, the readout
block of the NTK is 2K^(H) ⪰ K^(H), so the bound applies a fortiori (Du et al. 2019 mechanism).
Raw inputs are embedded isometrically in R^n (x ↦ Q x, Q n×d with orthonormal columns, fixed by the seed):
the per-coordinate input Gram stays XXᵀ and a skip from node 0 can meet weighted edges (d_in = n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from ntkcheck.errors import NtkcheckError

__all__ = ["full_batch_gd", "sgd_train", "fit_contraction", "linearized_losses", "digits_data",
           "embed_isometric", "theorem31_experiment", "Theorem31Row", "fig4_sgd_experiment"]


# ---------------------------------------------------------------------------------------------------
# Generic loops
# ---------------------------------------------------------------------------------------------------

def _params(model: torch.nn.Module, params: Iterable[torch.nn.Parameter] | None) -> list[torch.nn.Parameter]:
    ps = [p for p in (model.parameters() if params is None else params) if p.requires_grad]
    if not ps:
        raise NtkcheckError("model has no trainable parameters")
    return ps


def full_batch_gd(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float, steps: int,
                  params: Iterable[torch.nn.Parameter] | None = None, quiet: bool = True,
                  desc: str = "GD") -> dict[str, np.ndarray]:
    r"""Full-batch gradient descent on L = ½ Σ_i ‖f(x_i) − y_i‖²; returns ``losses`` (steps + 1 values,
    float64, L before each step and after the last), ``out0`` (f at initialization) and ``outK`` (at the end).

    A loss that becomes non-finite (η too large) stops the loop: the remaining entries are NaN.
    """
    from tqdm import tqdm

    if lr <= 0 or steps < 0:
        raise NtkcheckError(f"need lr > 0 and steps >= 0, got lr={lr}, steps={steps}")
    ps = _params(model, params)
    y = y.reshape(X.shape[0], -1).to(dtype=next(iter(ps)).dtype)
    losses = np.full(steps + 1, np.nan)
    out0 = None
    for k in tqdm(range(steps + 1), desc=desc, disable=quiet, leave=False):
        out = model(X).reshape(X.shape[0], -1)
        if out0 is None:
            out0 = out.detach().cpu().numpy().astype(np.float64)
        loss = 0.5 * ((out - y) ** 2).sum()
        losses[k] = float(loss.detach())
        if not math.isfinite(losses[k]) or k == steps:
            break
        grads = torch.autograd.grad(loss, ps)
        with torch.no_grad():
            for p, g in zip(ps, grads):
                p.sub_(lr * g)
    with torch.no_grad():
        outK = model(X).reshape(X.shape[0], -1).cpu().numpy().astype(np.float64)
    return {"losses": losses, "out0": out0, "outK": outK}


def sgd_train(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float, epochs: int,
              batch_size: int = 128, loss: str = "ce", seed: int = 0, quiet: bool = True,
              desc: str = "SGD") -> dict[str, np.ndarray]:
    """Mini-batch SGD (plain: no momentum, weight decay or schedule; Chen et al. §5.1) over shuffled
    batches; ``loss="ce"`` (integer labels, as the official code) or ``"mse"`` (½ sum of squares per batch,
    averaged).  Returns per-epoch ``train_loss`` (mean over the epoch's batches, measured before each
    update) and ``train_acc`` (after the epoch, full pass; argmax for CE, sign for scalar MSE), with the
    values at epoch 0 (initialization) first."""
    from tqdm import tqdm

    if loss not in ("ce", "mse"):
        raise NtkcheckError(f"loss must be 'ce' or 'mse', got {loss!r}")
    if lr <= 0 or epochs < 0 or batch_size < 1:
        raise NtkcheckError("need lr > 0, epochs >= 0, batch_size >= 1")
    ps = _params(model, None)
    opt = torch.optim.SGD(ps, lr=lr, momentum=0.0, weight_decay=0.0)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    N = X.shape[0]

    def loss_fn(out, target):
        if loss == "ce":
            return torch.nn.functional.cross_entropy(out, target.long())
        return 0.5 * ((out.reshape(target.shape[0], -1) - target.reshape(target.shape[0], -1).to(out.dtype)) ** 2
                      ).sum(dim=1).mean()

    @torch.no_grad()
    def evaluate():
        out = model(X)
        lval = float(loss_fn(out, y))
        if loss == "ce":
            acc = float((out.argmax(dim=1) == y.long()).double().mean())
        else:
            acc = float((torch.sign(out.reshape(-1)) == torch.sign(y.reshape(-1).to(out.dtype))).double().mean())
        return lval, acc

    l0, a0 = evaluate()
    tl, ta = [l0], [a0]
    for _ in tqdm(range(epochs), desc=desc, disable=quiet, leave=False):
        perm = torch.randperm(N, generator=gen).to(X.device)
        batch_losses = []
        for s in range(0, N, batch_size):
            idx = perm[s:s + batch_size]
            opt.zero_grad(set_to_none=True)
            lb = loss_fn(model(X[idx]), y[idx])
            lb.backward()
            opt.step()
            batch_losses.append(float(lb.detach()))
        tl.append(float(np.mean(batch_losses)))
        ta.append(evaluate()[1])
    return {"train_loss": np.array(tl), "train_acc": np.array(ta)}


def fit_contraction(losses: Sequence[float], start: int = 0, stop: int | None = None) -> dict[str, float]:
    r"""Per-step contraction factor r of a loss curve over steps [start, stop]: least squares of
    log L_k = a + k log r (``rate``, with ``r2`` of the fit) and the window's geometric mean
    ``rate_geo`` = (L_stop/L_start)^{1/(stop − start)}.  Non-finite or non-positive losses end the window."""
    L = np.asarray(losses, dtype=np.float64)
    stop = len(L) - 1 if stop is None else min(int(stop), len(L) - 1)
    seg = L[start:stop + 1]
    ok = np.isfinite(seg) & (seg > 0)
    if not ok.all():
        seg = seg[:int(np.argmin(ok))]  # up to the first bad value
    if seg.size < 2:
        return {"rate": math.nan, "rate_geo": math.nan, "r2": math.nan, "steps": int(seg.size)}
    k = np.arange(seg.size, dtype=np.float64)
    y = np.log(seg)
    A = np.vstack([np.ones_like(k), k]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    pred = A @ coef
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else 1.0
    return {"rate": float(math.exp(coef[1])), "rate_geo": float((seg[-1] / seg[0]) ** (1.0 / (seg.size - 1))),
            "r2": r2, "steps": int(seg.size - 1)}


def linearized_losses(theta: np.ndarray, r0: np.ndarray, lr: float, steps: int) -> np.ndarray:
    r"""L_k = ½‖(I − ηΘ)^k r_0‖², k = 0..steps, the NTK-regime loss curve (Θ symmetric PSD, r_0 = f_0 − y),
    via Θ = U diag(λ) Uᵀ: L_k = ½ Σ_i (1 − ηλ_i)^{2k} (Uᵀr_0)_i²."""
    theta = np.asarray(theta, dtype=np.float64)
    lam, U = np.linalg.eigh(0.5 * (theta + theta.T))
    c2 = (U.T @ np.asarray(r0, dtype=np.float64).reshape(-1)) ** 2
    k = np.arange(steps + 1)[:, None]
    return 0.5 * ((1 - lr * lam)[None, :] ** (2 * k) * c2[None, :]).sum(axis=1)


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------

#: Distinct rows of sklearn's digits (1,797 samples; none duplicated).
N_DIGITS_DISTINCT = 1797


def digits_data(n: int, *, seed: int = 0, center: bool = True, binary: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct samples of sklearn's bundled 8×8 digits (no download), rows centred per sample and
    scaled to unit norm (Chen et al. Remark 3.4), with labels y = ±1 (even/odd digit) when ``binary``, else
    the digit 0..9.  Sampled without replacement with ``seed``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X, t = d.data.astype(np.float64), d.target
    X, idx = np.unique(X, axis=0, return_index=True)
    t = t[idx]
    if not 1 <= n <= X.shape[0]:
        raise NtkcheckError(f"digits has {X.shape[0]} distinct samples; asked for {n}")
    sel = np.sort(np.random.default_rng(seed).choice(X.shape[0], n, replace=False))
    X, t = X[sel], t[sel]
    if center:
        X = X - X.mean(axis=1, keepdims=True)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    y = np.where(t % 2 == 0, 1.0, -1.0) if binary else t.astype(np.int64)
    return X, y


def embed_isometric(X: np.ndarray, n: int, seed: int) -> np.ndarray:
    """X Qᵀ with Q (n×d) having orthonormal columns (seeded): same Gram XXᵀ, dimension n ≥ d."""
    N, d = X.shape
    if n < d:
        raise NtkcheckError(f"width {n} is smaller than the data dimension {d}; the isometric embedding needs n >= d")
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, d)))
    return X @ Q.T


# ---------------------------------------------------------------------------------------------------
# Theorem 3.1 measured
# ---------------------------------------------------------------------------------------------------

@dataclass
class Theorem31Row:
    """One (cell, width, seed) run.

    Rates are per-step loss ratios fitted as geometric means over a window: ``early`` = steps [0, K/4],
    ``late`` = [K/2, K]; ``*_measured`` from the trained network, ``*_lin_exact`` / ``*_lin_paper`` from the
    linearized curve with the exact / paper-recursion infinite-width NTK and the same initial residual.
    ``bound_*`` = 1 − ηλ_min(K^(H))/2 (Theorem 3.1) from the exact / paper NNGP; ``bound_holds_*``: the
    theorem's statement L_k ≤ bound^k L_0 at every recorded step k.  ``curve_rel_err_*`` =
    max_k |L_k − L_k^lin| / L_0.
    """

    cell: str
    width: int
    seed: int
    lr: float
    steps: int
    early_measured: float
    early_lin_exact: float
    early_lin_paper: float
    late_measured: float
    late_lin_exact: float
    late_lin_paper: float
    bound_exact: float
    bound_paper: float
    lambda_min_exact: float
    lambda_min_paper: float
    lambda_min_ntk_exact: float
    lambda_min_ntk_paper: float
    curve_rel_err_exact: float
    curve_rel_err_paper: float
    bound_holds_exact: bool
    bound_holds_paper: bool
    losses: list[float] = field(default_factory=list, repr=False)
    losses_lin_exact: list[float] = field(default_factory=list, repr=False)
    losses_lin_paper: list[float] = field(default_factory=list, repr=False)


def _cell_spec(cell: Any):
    """Chen DAG string / spec / NB201 string → the Chen network spec with a scalar identity readout."""
    from ntkcheck.theory.connectivity import as_spec, nb201_chen_spec

    if isinstance(cell, str) and cell.strip().startswith("|"):
        spec = nb201_chen_spec(cell.strip())
    else:
        spec = as_spec(cell)
    bad = [e.op for e in spec.edges if e.kind not in ("zero", "skip", "linact")]
    if bad:
        raise NtkcheckError(f"Theorem 3.1 experiment needs a Chen network (zero/skip/linact edges), got {bad[0]!r}")
    if spec.is_degenerate:
        raise NtkcheckError(f"cell {cell!r} has no input→output path: nothing to train")
    return spec.with_(readout="identity", input="raw")


def _bound_holds(L: np.ndarray, bound: float) -> bool:
    """Theorem 3.1's statement at every recorded step: L_k ≤ bound^k·L_0 (relative slack 1e-9 for the float64
    loss evaluation; a vacuous bound ≥ 1 holds trivially while L_k ≤ L_0)."""
    k = np.arange(L.size)
    ok = np.isfinite(L)
    return bool(np.all(L[ok] <= (bound ** k[ok]) * L[0] * (1 + 1e-9)))


def theorem31_experiment(cells: Sequence[Any], X: np.ndarray, y: np.ndarray, *, widths: Sequence[int],
                         seeds: Sequence[int] = (0,), steps: int = 200, lr: float | None = None,
                         lr_scale: float = 1.0, device: str = "cpu", quiet: bool = True) -> dict[str, Any]:
    r"""Full-batch GD (Theorem 3.1) on each cell at each width and seed.

    η: one value for all cells (Remark 3.2): ``lr`` if given, else ``lr_scale``/max_cells λ_max(Θ_exact)
    (with ``lr_scale`` ≤ 1 every linearized mode contracts: 0 ≤ 1 − ηλ < 1).  The measured curve is compared
    with the linearized curves ½‖(I − ηΘ)^k r_0‖² (same r_0, exact and paper-recursion NTK) and with
    Theorem 3.1's bound from the exact and the paper λ_min(K^(H)).
    """
    from ntkcheck.empirical.networks import build_network
    from ntkcheck.theory.kernels import infinite_width_kernels
    from ntkcheck.theory.connectivity import lambda_min

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.shape[0] != y.shape[0]:
        raise NtkcheckError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
    if not np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-10):
        raise NtkcheckError("Theorem 3.1 experiment needs unit-norm rows (Remark 3.4); normalise the data first")
    if steps < 4:
        raise NtkcheckError("need at least 4 steps")
    specs = [(str(c), _cell_spec(c)) for c in cells]
    theory = {}
    for name, spec in specs:
        ke = infinite_width_kernels(spec, X, cross_terms=True)
        kp = infinite_width_kernels(spec, X, cross_terms=False)
        # K^(H): the output node's NNGP = the identity readout's NNGP / σ_w²
        KH_e, KH_p = ke.nngp / spec.sigma_w2, kp.nngp / spec.sigma_w2
        theory[name] = {"ntk_exact": ke.ntk, "ntk_paper": kp.ntk,
                        "lam_e": lambda_min(KH_e)[0], "lam_p": lambda_min(KH_p)[0],
                        "lam_ntk_e": lambda_min(ke.ntk)[0], "lam_ntk_p": lambda_min(kp.ntk)[0],
                        "lam_max_ntk_e": float(np.linalg.eigvalsh(ke.ntk)[-1])}
    if lr is None:
        lr = lr_scale / max(t["lam_max_ntk_e"] for t in theory.values())
    rows: list[Theorem31Row] = []
    dev = torch.device(device)
    early, late = (0, steps // 4), (steps // 2, steps)
    for name, spec in specs:
        t = theory[name]
        for n in widths:
            for s in seeds:
                Xe = torch.tensor(embed_isometric(X, int(n), seed=10_000 + int(s)), device=dev)
                net = build_network(spec, d_in=int(n), width=int(n), seed=int(s), device=dev)
                hist = full_batch_gd(net, Xe, torch.tensor(y, device=dev), lr=lr, steps=steps, quiet=quiet,
                                     desc=f"{name} n={n} s={s}")
                L = hist["losses"]
                r0 = hist["out0"].reshape(-1) - y
                Le = linearized_losses(t["ntk_exact"], r0, lr, steps)
                Lp = linearized_losses(t["ntk_paper"], r0, lr, steps)
                fit = {(w, c): fit_contraction(curve, *win)["rate_geo"]
                       for w, win in (("early", early), ("late", late)) for c, curve in (("m", L), ("e", Le), ("p", Lp))}
                be, bp = 1 - lr * t["lam_e"] / 2, 1 - lr * t["lam_p"] / 2
                rows.append(Theorem31Row(
                    cell=name, width=int(n), seed=int(s), lr=float(lr), steps=int(steps),
                    early_measured=fit["early", "m"], early_lin_exact=fit["early", "e"], early_lin_paper=fit["early", "p"],
                    late_measured=fit["late", "m"], late_lin_exact=fit["late", "e"], late_lin_paper=fit["late", "p"],
                    bound_exact=be, bound_paper=bp, lambda_min_exact=t["lam_e"], lambda_min_paper=t["lam_p"],
                    lambda_min_ntk_exact=t["lam_ntk_e"], lambda_min_ntk_paper=t["lam_ntk_p"],
                    curve_rel_err_exact=float(np.nanmax(np.abs(L - Le)) / L[0]),
                    curve_rel_err_paper=float(np.nanmax(np.abs(L - Lp)) / L[0]),
                    bound_holds_exact=_bound_holds(L, be), bound_holds_paper=_bound_holds(L, bp),
                    losses=[float(v) for v in L], losses_lin_exact=[float(v) for v in Le],
                    losses_lin_paper=[float(v) for v in Lp]))
    return {"lr": float(lr), "steps": int(steps), "widths": [int(n) for n in widths],
            "seeds": [int(s) for s in seeds], "cells": [c for c, _ in specs],
            "rows": rows, "summary": _summarize(rows),
            "config": {"loss": "0.5*sum squared error", "optimizer": "full-batch GD", "parametrization": "ntk",
                       "readout": "identity (sigma_w^2 = 2), scalar", "input": "isometric embedding of raw X",
                       "fit": "geometric-mean per-step loss ratio; early = [0, K/4], late = [K/2, K]",
                       "N": int(X.shape[0]), "dtype": "float64"},
            "versions": versions()}


def _summarize(rows: Sequence[Theorem31Row]) -> list[dict[str, Any]]:
    """Per (cell, width): means over seeds of the rates and of the errors against the two predictions."""
    out = []
    keys = sorted({(r.cell, r.width) for r in rows}, key=lambda k: (k[0], k[1]))
    for cell, n in keys:
        rs = [r for r in rows if r.cell == cell and r.width == n]
        m = lambda a: float(np.mean([getattr(r, a) for r in rs]))  # noqa: E731
        out.append({"cell": cell, "width": n, "seeds": len(rs),
                    "late_measured": m("late_measured"), "late_lin_exact": m("late_lin_exact"),
                    "late_lin_paper": m("late_lin_paper"),
                    "abs_err_late_exact": float(np.mean([abs(r.late_measured - r.late_lin_exact) for r in rs])),
                    "abs_err_late_paper": float(np.mean([abs(r.late_measured - r.late_lin_paper) for r in rs])),
                    "curve_rel_err_exact": m("curve_rel_err_exact"), "curve_rel_err_paper": m("curve_rel_err_paper"),
                    "bound_exact": rs[0].bound_exact, "bound_paper": rs[0].bound_paper,
                    "lambda_min_exact": rs[0].lambda_min_exact, "lambda_min_paper": rs[0].lambda_min_paper,
                    "bound_holds_exact": all(r.bound_holds_exact for r in rs),
                    "bound_holds_paper": all(r.bound_holds_paper for r in rs)})
    return out


def versions() -> dict[str, str]:
    """Library versions for reports, torch included."""
    from ntkcheck.theory.connectivity import versions as _v

    return {**_v(), "torch": torch.__version__}


# ---------------------------------------------------------------------------------------------------
# Fig. 4: SGD training curves (paper scale: batch 128, lr 1e-5, width 1024)
# ---------------------------------------------------------------------------------------------------

def _stem_spec(code: str):
    """The official MLP as a spec: a stem linear+ReLU from the raw input to node 1, then the DAG on nodes
    1..H+1 (the DAG's node 0 is the stem output), a linear readout to the classes.  Biases: the official
    code has zero-initialised trainable biases; this network has none (σ_b = 0)."""
    from ntkcheck.spec import chen_dag_spec, parse_spec

    dag = chen_dag_spec(code)
    edges = [[0, 1, "linact:relu"]] + [[e.src + 1, e.dst + 1, e.op] for e in dag.edges]
    return parse_spec({"nodes": dag.nodes + 1, "edges": edges, "readout": "identity", "input": "raw",
                       "sigma_w2": 2.0, "sigma_b2": 0.0, "name": f"stem+{code}"})


def fig4_sgd_experiment(codes: Sequence[str], *, width: int, lr: float, epochs: int, batch_size: int = 128,
                        n_train: int | None = None, seeds: Sequence[int] = (0, 1, 2), device: str = "cpu",
                        parametrization: str = "standard", quiet: bool = True) -> dict[str, Any]:
    """Training accuracy/loss per epoch of the official MLP (stem + DAG + linear readout, cross-entropy,
    Kaiming-normal = the contract's ``standard`` parametrization with σ_w² = 2) on sklearn digits (10
    classes, rows centred and unit-normalised), plain SGD.  Paper scale: width 1024, batch 128, lr 1e-5."""
    from ntkcheck.empirical.networks import build_network

    X, t = digits_data(n_train or N_DIGITS_DISTINCT, seed=0, binary=False)
    dev = torch.device(device)
    Xt = torch.tensor(X, device=dev)
    yt = torch.tensor(t, device=dev)
    curves = {}
    for code in codes:
        spec = _stem_spec(code)
        runs = []
        for s in seeds:
            net = build_network(spec, d_in=X.shape[1], width=width, out_dim=10, seed=int(s), device=dev,
                                parametrization=parametrization)
            runs.append(sgd_train(net, Xt, yt, lr=lr, epochs=epochs, batch_size=batch_size, loss="ce", seed=int(s),
                                  quiet=quiet, desc=f"{code} seed {s}"))
        curves[code] = {"train_acc": np.array([r["train_acc"] for r in runs]),
                        "train_loss": np.array([r["train_loss"] for r in runs])}
    return {"curves": curves, "config": {"width": width, "lr": lr, "epochs": epochs, "batch_size": batch_size,
                                         "n_train": int(X.shape[0]), "seeds": list(seeds), "loss": "cross-entropy",
                                         "parametrization": parametrization, "data": "sklearn digits (10 classes)",
                                         "device": str(dev)},
            "versions": versions()}
