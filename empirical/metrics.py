r"""Training-free NAS metrics computed from the empirical NTK.

Definitions and sources (papers: [TE] = Chen, Gong & Wang, TE-NAS, ICLR 2021; [LGA] = Mok et al., CVPR 2022,
``zhu2022_nas_generalization.md`` = [Z]):

* The NAS-code kernel ([TE] §1, §2.2; [LGA] §3): per sample i the gradient row g_i = ∂/∂θ Σ_c f_c(x_i; θ)
  (backward of sample i's logit row with an all-ones upstream gradient) over a *batched* forward pass, so
  that train-mode BN couples the samples; Θ = G Gᵀ (N×N).  Parameter filters: TE-NAS takes every parameter
  whose name contains ``'weight'`` and that receives a gradient (conv, BN affine, classifier weights, no
  biases); the LGA code additionally drops names containing ``'classifier'``.  :func:`logit_sum_ntk`.
* κ_N = λ_max/λ_min of Θ ([TE] Eq. 3; lower is better): :func:`condition_number`, :func:`tenas_kappa`.
* Eigen-NAS score = λ_min(Θ) at initialisation, averaged over seeds; select the maximum ([Z] §5): :func:`eigen_nas_score`.
* LGA = Pearson correlation of the N² entries of Θ and of the ±1 label-similarity matrix ([LGA] §4):
  :func:`lga`, :func:`lga_score`.
* Mok et al.'s other metrics ([LGA] §3): mean of Θ ("knas"), condition number ("tenas"), Frobenius norm,
  and trace (NASI's trace norm; not in their released code, [LGA] §3): :func:`ntk_metrics`.
* Kernel comparisons ([LGA] §6): kernel distance S = 1 − ⟨Θ₁,Θ₂⟩_F/(‖Θ₁‖_F‖Θ₂‖_F) (Fort et al. 2020),
  kernel correlation (Pearson over entries, population std), relative difference
  ‖ |Θ₀−Θ_t| ⊘ (|Θ₀|+1e-4) ‖_F: :func:`kernel_distance`, :func:`kernel_correlation`,
  :func:`relative_kernel_difference`.

* TE-NAS's BN recalibration (``lib/procedures/ntk.py:recal_bn``): :func:`recal_bn`.

Models that return ``(features, logits)`` (the NB201 / TE-NAS search models) are read at the logits
(:func:`ntkcheck.empirical.outputs.model_logits`).  All kernels are handled in float64 unless a ``compat`` mode
asks to reproduce a released code's numerics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ntkcheck.errors import NtkcheckError

__all__ = [
    "logit_sum_ntk",
    "ConditionNumber",
    "condition_number",
    "KappaResult",
    "tenas_kappa",
    "recal_bn",
    "EigenNASScore",
    "eigen_nas_score",
    "label_similarity",
    "lga",
    "lga_score",
    "NTKMetrics",
    "ntk_metrics",
    "ntk_mean",
    "ntk_trace",
    "frobenius_norm",
    "kernel_distance",
    "kernel_cosine",
    "kernel_correlation",
    "relative_kernel_difference",
]

ParamSpec = str | Callable[[str, torch.Tensor], bool]


# ---- the NAS-code kernel -----------------------------------------------------------------------------

def logit_sum_ntk(model: nn.Module, X: torch.Tensor, *, params: ParamSpec = "weight", output: str = "sum_logits",
                  bn_train_mode: bool = True, engine: str = "auto") -> torch.Tensor:
    r"""Empirical NTK the way the NAS codes compute it ([TE] §2.2 table, [LGA] §3, §6).

    One batched forward pass of all N samples (so train-mode BN statistics couple the samples, as in
    TE-NAS's ``get_ntk_n``), then the gradient of every differentiated output: ``engine="loop"`` runs one
    backward pass per output as the released codes do, ``engine="batched"`` all of them in one vectorised
    backward pass (:func:`ntkcheck.empirical.ntk.empirical_ntk`); the two give the same numbers (tested).  The
    batch coupling makes every gradient row a backward pass through the whole batch, so both cost about N
    backward passes of the batch in arithmetic; the vectorised one saves the N sequential launches, which is
    what a GPU pays for, while on a CPU the loop was as fast or faster (benchmarks/RESULTS.md, κ_N cost).
    ``engine="auto"``: "batched" when the model's parameters sit on an accelerator, else "loop":

    * ``output="sum_logits"``: row i is g_i = ∂/∂θ Σ_c f_c(x_i); returns Θ = G Gᵀ, N×N;
    * ``output="full"``: row (i, c) is ∂f_c(x_i)/∂θ, sample-major order; returns the NC×NC kernel.

    ``params`` as in :func:`ntkcheck.empirical.ntk.select_parameters`: ``"weight"`` (TE-NAS: names
    containing 'weight'), ``"weight_no_classifier"`` (the LGA code), ``"all"``, ``"no_classifier"`` or a
    callable.  A parameter that receives no gradient contributes a zero row block (the same kernel as TE-NAS's
    ``W.grad is not None`` filter).  ``bn_train_mode`` puts the model in ``train()`` (batch statistics,
    TE-NAS/LGA default) or ``eval()`` for the call; the previous mode is restored.  Float64 result.
    """
    from ntkcheck.empirical.ntk import empirical_ntk

    if not isinstance(model, nn.Module):
        raise NtkcheckError(f"expected a torch module, got {type(model).__name__}")
    if output not in ("sum_logits", "full"):
        raise NtkcheckError(f"unknown output {output!r} for logit_sum_ntk (expected sum_logits or full)")
    if engine not in ("auto", "batched", "loop"):
        raise NtkcheckError(f"unknown engine {engine!r} for logit_sum_ntk (expected auto, batched or loop)")
    if engine == "auto":
        p = next(model.parameters(), None)
        engine = "batched" if p is not None and p.device.type != "cpu" else "loop"
    was_training = model.training
    model.train(bn_train_mode)
    try:
        return empirical_ntk(model, X, params=params, output=output, engine=engine, chunk_size=None)
    finally:
        model.train(was_training)


def _as_kernel(K: Any, name: str = "K") -> np.ndarray:
    if isinstance(K, torch.Tensor):
        K = K.detach().cpu().to(torch.float64).numpy()
    try:
        K = np.asarray(K, dtype=np.float64)
    except (TypeError, ValueError):
        raise NtkcheckError(f"{name} is not a numeric matrix") from None
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise NtkcheckError(f"{name} must be a square matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise NtkcheckError(f"{name} contains NaN or infinite entries")
    return K


# ---- condition number κ_N ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConditionNumber:
    """κ = λ_max/λ_min ([TE] Eq. 3).  ``singular`` is True when λ_min ≤ tol (then ``value`` = inf in the
    float64 mode); ``error_bound`` is the certified eigenvalue error bound (nan in compat modes)."""

    value: float
    lambda_min: float
    lambda_max: float
    singular: bool
    error_bound: float
    compat: str


def _spectrum(K: np.ndarray):
    from ntkcheck.theory.spectra import certified_eigvalsh  # the lead's certified solver

    return certified_eigvalsh(K)


def condition_number(K: Any, *, tol: float | None = None, compat: str = "float64") -> ConditionNumber:
    r"""Condition number κ_N = λ_max/λ_min of a kernel matrix ([TE] Eq. 3, §2.2).

    ``compat="float64"`` (default): symmetrise, certified float64 eigenvalues
    (:func:`ntkcheck.theory.spectra.certified_eigvalsh`); the matrix counts as singular when λ_min ≤ tol
    (``tol=None``: the solver's own singularity verdict, which accounts for its error bound) and then
    κ = inf with ``singular=True`` — never a huge or negative number.

    ``compat="tenas"``: TE-NAS's released numerics ([TE] §2.2, B3): fp32 ``eigvalsh`` (ascending; the
    code's ``torch.symeig``), κ = λ_last/λ_first with no abs or eps, then ``np.nan_to_num(κ, nan=1e5)``
    (which also maps ±inf to ±1.797e308).  The result may be negative or astronomically large.  (The code's
    Gram matrix is itself accumulated in fp32; here the given K — float64 from :func:`logit_sum_ntk` — is
    rounded to fp32 before the eigensolver.)

    ``compat="mok"``: Mok et al.'s released numerics ([LGA] §3): fp32 general eigen-solver, the real and
    imaginary parts flattened into one list, exact zeros removed, κ = max/min of what remains, 1e-4 if
    nothing remains.
    """
    if compat == "float64":
        Kd = _as_kernel(K)
        Kd = 0.5 * (Kd + Kd.T)
        sp = _spectrum(Kd)
        lmin, lmax = float(sp.lambda_min), float(sp.lambda_max)
        singular = bool(sp.singular) if tol is None else bool(lmin <= tol)
        singular = singular or lmin <= 0.0
        value = math.inf if singular else lmax / lmin
        return ConditionNumber(value, lmin, lmax, singular, float(sp.error_bound), compat)
    if compat == "tenas":
        Kt = torch.as_tensor(_as_kernel(K), dtype=torch.float32)
        ev = torch.linalg.eigvalsh(Kt)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.float32(ev[-1].item()) / np.float32(ev[0].item())
        value = float(np.nan_to_num(np.float64(raw), copy=True, nan=100000.0))
        lmin, lmax = float(ev[0]), float(ev[-1])
        return ConditionNumber(value, lmin, lmax, bool(lmin <= (tol or 0.0)), math.nan, compat)
    if compat == "mok":
        ev = np.linalg.eigvals(_as_kernel(K).astype(np.float32))
        flat = np.stack([ev.real, ev.imag], axis=1).reshape(-1).astype(np.float32)
        flat = flat[flat != 0]
        value = float(flat.max() / flat.min()) if flat.size else 1e-4
        lmin, lmax = float(ev.real.min()), float(ev.real.max())
        return ConditionNumber(value, lmin, lmax, bool(lmin <= (tol or 0.0)), math.nan, compat)
    raise NtkcheckError(f"unknown compat mode {compat!r} (expected float64, tenas or mok)")


# ---- model-level scores --------------------------------------------------------------------------------

ModelOrFactory = nn.Module | Callable[[int], nn.Module]


def _draw_batches(X: torch.Tensor, repeats: int, batch_size: int | None, seed: int
                  ) -> tuple[list[torch.Tensor], tuple[tuple[int, ...], ...]]:
    """``repeats`` batches of ``batch_size`` rows of the pool X, each from a fresh seeded shuffle (the
    released code's ``get_ntk_n`` opens a new iterator over a shuffled loader on every call)."""
    M = int(X.shape[0])
    B = M // repeats if batch_size is None else batch_size
    if isinstance(B, bool) or not isinstance(B, int) or B < 2:
        raise NtkcheckError(f"cannot draw {repeats} batches of at least 2 samples from a pool of {M}: pass "
                            "batch_size=, a list of batches or a callable r -> batch")
    if B > M:
        raise NtkcheckError(f"batch_size={B} exceeds the {M} samples of X")
    rng = np.random.default_rng(seed)
    idx = tuple(tuple(int(i) for i in rng.permutation(M)[:B]) for _ in range(repeats))
    return [X[torch.as_tensor(list(ix))] for ix in idx], idx


def _batches(X: torch.Tensor | Sequence[torch.Tensor] | Callable[[int], torch.Tensor], repeats: int, *,
             vary: bool = False, batch_size: int | None = None, seed: int = 0
             ) -> tuple[list, tuple[tuple[int, ...], ...] | None]:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise NtkcheckError(f"repeats must be a positive integer, got {repeats!r}")
    if isinstance(X, torch.Tensor):
        if batch_size is not None or (vary and repeats > 1):
            return _draw_batches(X, repeats, batch_size, seed)
        return [X] * repeats, None
    if batch_size is not None:
        raise NtkcheckError("batch_size= draws batches from one tensor X; with a list or callable X the batches "
                            "are given")
    if callable(X):
        return [X(r) for r in range(repeats)], None
    X = list(X)
    if len(X) != repeats:
        raise NtkcheckError(f"got {len(X)} batches for {repeats} repeats")
    return X, None


def _models(model: ModelOrFactory, repeats: int) -> list[nn.Module]:
    if isinstance(model, nn.Module):
        return [model] * repeats
    if callable(model):
        return [model(r) for r in range(repeats)]
    raise NtkcheckError(f"expected a torch module or a factory seed -> module, got {type(model).__name__}")


@dataclass(frozen=True)
class KappaResult:
    """κ_N over repeats: ``mean`` (inf if any repeat is singular), per-repeat ``values`` and details;
    ``batch_indices``: the rows of X each repeat used, when they were drawn from a pool (else None)."""

    mean: float
    std: float
    values: tuple[float, ...]
    details: tuple[ConditionNumber, ...]
    batch_indices: tuple[tuple[int, ...], ...] | None = None


def tenas_kappa(model: ModelOrFactory, X: torch.Tensor | Sequence[torch.Tensor] | Callable[[int], torch.Tensor], *,
                repeats: int = 3, params: ParamSpec = "weight", output: str = "sum_logits",
                bn_train_mode: bool = True, compat: str = "float64", tol: float | None = None,
                batch_size: int | None = None, seed: int = 0, engine: str = "auto") -> KappaResult:
    r"""TE-NAS's κ_N ([TE] §2.2): the condition number of the logit-sum NTK, averaged over ``repeats``.

    Two protocols, chosen by what ``model`` is:

    * a module — the released code (``prune_tenas.py``): the weights stay fixed over the repeats (no
      re-initialisation happens: the released code's ``--init kaiming_normal`` matches none of its init names) and **each repeat reads a new batch** (``get_ntk_n``
      iterates a freshly shuffled loader).  A single tensor ``X`` is then the pool the batches are drawn
      from: ``batch_size`` rows per repeat (default ``len(X) // repeats``), each repeat from its own
      permutation of a generator seeded with ``seed``; ``batch_indices`` records the rows.
    * a factory ``r -> module`` — the paper's protocol (Appendix A): fresh weights per repeat on one batch
      (a single tensor is reused unless ``batch_size`` asks for draws).

    ``X`` may also be a list of one batch per repeat or a callable ``r -> batch`` (used as given; pass
    ``[X] * repeats`` to evaluate one fixed batch repeatedly).  Models returning ``(features, logits)`` are
    read at the logits (:func:`ntkcheck.empirical.outputs.model_logits`).  Defaults follow the code:
    parameters named 'weight', gradient of the sum of logits, train-mode BN.  ``engine`` as in
    :func:`logit_sum_ntk` ("batched": one vectorised backward pass per repeat; "loop": the code's per-sample
    backward passes, same values; "auto": batched on an accelerator, loop on the CPU).
    """
    Xs, idx = _batches(X, repeats, vary=isinstance(model, nn.Module), batch_size=batch_size, seed=seed)
    ms = _models(model, repeats)
    det = tuple(condition_number(logit_sum_ntk(m, x, params=params, output=output, bn_train_mode=bn_train_mode,
                                               engine=engine),
                                 tol=tol, compat=compat) for m, x in zip(ms, Xs))
    vals = tuple(d.value for d in det)
    mean = float(np.mean(vals)) if all(math.isfinite(v) for v in vals) else math.inf
    std = float(np.std(vals)) if math.isfinite(mean) else math.nan
    return KappaResult(mean, std, vals, det, idx)


def recal_bn(model: nn.Module, batches: Iterable[torch.Tensor], n_batches: int) -> nn.Module:
    r"""Recalibrate the running statistics of every ``BatchNorm2d`` that tracks them, as TE-NAS's
    ``recal_bn`` ([TE] §2.2, ``lib/procedures/ntk.py``): running mean and variance set to 0, the batch
    counter to 0 and ``momentum = None`` (so the running statistics become the cumulative average over the
    batches seen), then ``n_batches`` forward passes of ``batches`` in train mode without gradients.

    ``batches`` yields input tensors (or ``(inputs, targets)`` pairs, of which the inputs are used).  As in
    the released code the model is left in train mode and the momentum stays ``None``.  BN layers without
    running statistics are left alone (the released code would fail on them).  Returns the model.
    """
    if not isinstance(model, nn.Module):
        raise NtkcheckError(f"expected a torch module, got {type(model).__name__}")
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 0:
        raise NtkcheckError(f"n_batches must be a non-negative integer, got {n_batches!r}")
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and m.track_running_stats and m.running_mean is not None:
            m.running_mean.data.fill_(0)
            m.running_var.data.fill_(0)
            m.num_batches_tracked.data.zero_()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for i, b in enumerate(batches):
            if i >= n_batches:
                break
            model(b[0] if isinstance(b, (tuple, list)) else b)
    return model


@dataclass(frozen=True)
class EigenNASScore:
    """Eigen-NAS score ([Z] §5): mean of λ_min over seeds (larger is better), with per-seed values and
    certified error bounds."""

    score: float
    lambda_mins: tuple[float, ...]
    error_bounds: tuple[float, ...]
    seeds: tuple[int, ...]


def eigen_nas_score(model_factory: Callable[[int], nn.Module], X: torch.Tensor, *, seeds: Iterable[int] = (0, 1, 2),
                    params: ParamSpec = "all", output: str = "sum_logits", bn_train_mode: bool = True) -> EigenNASScore:
    r"""Eigen-NAS: score(arch) = λ_min(Θ̂) with Θ̂_ij = ⟨∇_θ f(x_i; θ₀), ∇_θ f(x_j; θ₀)⟩ at initialisation,
    averaged over seeds; the search selects the **maximum** ([Z] §5, §9 item 4; direction [Z] §A.3).

    No official code exists ([Z] §10), so the choices are stated: θ = all parameters (the contract's
    default; pass ``params="weight"`` for the TE-NAS pattern), the gradient of the sum of logits, BN in train
    mode; λ_min from the certified float64 solver.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise NtkcheckError("eigen_nas_score needs at least one seed")
    lm, eb = [], []
    for s in seeds:
        K = _as_kernel(logit_sum_ntk(model_factory(s), X, params=params, output=output, bn_train_mode=bn_train_mode))
        sp = _spectrum(0.5 * (K + K.T))
        lm.append(float(sp.lambda_min))
        eb.append(float(sp.error_bound))
    return EigenNASScore(float(np.mean(lm)), tuple(lm), tuple(eb), seeds)


# ---- LGA -------------------------------------------------------------------------------------------------

def label_similarity(y: Any) -> np.ndarray:
    """L_ij = +1 if y_i = y_j (diagonal included), −1 otherwise ([LGA] §4, ``p_utils.label_sim_matrix``)."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1 or y.size < 1:
        raise NtkcheckError(f"labels must be a 1-D array of class ids, got shape {y.shape}")
    return np.where(y[:, None] == y[None, :], 1.0, -1.0)


def lga(K: Any, y: Any, *, include_diag: bool = True, compat: str = "float64") -> float:
    r"""Label-Gradient Alignment ([LGA] §4, exactly as the official code computes it):

        LGA(Θ, y) = ⟨Θ̃, L̃⟩_F / (‖Θ̃‖_F ‖L̃‖_F),   Θ̃ = Θ − mean(Θ),  L̃ = L − mean(L)

    with L the ±1 label-similarity matrix and *global scalar* means (not the double centring H K H).  This
    is the Pearson correlation between the N² entries of Θ and L.  ``include_diag=False`` uses only the
    N(N−1) off-diagonal entries (the diagonal-inclusive value is biased upwards, ≈ 0.29 for a random Gram
    matrix, [LGA] §4, L2).  Undefined (constant Θ or a single class): returns nan, or 1e-4 with
    ``compat="mok"`` (the code's NaN → 1e-4).  Higher is better.
    """
    Kd = _as_kernel(K)
    L = label_similarity(y)
    if L.shape != Kd.shape:
        raise NtkcheckError(f"{L.shape[0]} labels for a {Kd.shape[0]}×{Kd.shape[0]} kernel")
    if compat not in ("float64", "mok"):
        raise NtkcheckError(f"unknown compat mode {compat!r} (expected float64 or mok)")
    if include_diag:
        a, b = Kd.reshape(-1), L.reshape(-1)
    else:
        off = ~np.eye(Kd.shape[0], dtype=bool)
        a, b = Kd[off], L[off]
    a = a - a.mean()
    b = b - b.mean()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    val = float(a @ b / den) if den > 0 else math.nan
    if math.isnan(val) and compat == "mok":
        return 1e-4
    return val


def lga_score(model: nn.Module, X: torch.Tensor, y: Any, *, params: ParamSpec = "weight_no_classifier",
              bn_train_mode: bool = True, include_diag: bool = True) -> float:
    """LGA of a model on a batch with the LGA code's kernel ([LGA] §3: logit-sum gradients, 'weight'
    parameters without the classifier, train-mode BN for ``others_all_bn``)."""
    return lga(logit_sum_ntk(model, X, params=params, bn_train_mode=bn_train_mode), y, include_diag=include_diag)


# ---- Mok et al.'s other metrics ---------------------------------------------------------------------------

def ntk_mean(K: Any) -> float:
    """Mean of all N² entries of Θ ("knas" in the LGA code, [LGA] §3)."""
    return float(_as_kernel(K).mean())


def ntk_trace(K: Any) -> float:
    """tr Θ = Σ λ_i (NASI's trace norm for a PSD kernel; [LGA] §3)."""
    return float(np.trace(_as_kernel(K)))


def frobenius_norm(K: Any) -> float:
    """‖Θ‖_F ("f_norm" in the LGA code, [LGA] §3)."""
    return float(np.linalg.norm(_as_kernel(K)))


@dataclass(frozen=True)
class NTKMetrics:
    """The at-init NTK metrics of Mok et al.'s code ([LGA] §3) plus the trace; ``lga`` is nan without labels."""

    mean: float
    trace: float
    frobenius: float
    cond: ConditionNumber
    lga: float
    lga_offdiag: float


def ntk_metrics(K: Any, y: Any | None = None, *, compat: str = "float64") -> NTKMetrics:
    """All of :class:`NTKMetrics` from one kernel (float64; ``compat`` is passed to :func:`condition_number`)."""
    Kd = _as_kernel(K)
    la = lga(Kd, y) if y is not None else math.nan
    lo = lga(Kd, y, include_diag=False) if y is not None and Kd.shape[0] > 1 else math.nan
    return NTKMetrics(ntk_mean(Kd), ntk_trace(Kd), frobenius_norm(Kd), condition_number(Kd, compat=compat), la, lo)


# ---- kernel comparisons ([LGA] §6) -----------------------------------------------------------------------

def _pair(K1: Any, K2: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_kernel(K1, "K1"), _as_kernel(K2, "K2")
    if a.shape != b.shape:
        raise NtkcheckError(f"kernels have different shapes {a.shape} and {b.shape}")
    return a, b


def kernel_cosine(K1: Any, K2: Any) -> float:
    """⟨Θ₁,Θ₂⟩_F / (‖Θ₁‖_F ‖Θ₂‖_F) (``corr_tom`` in the LGA code's tracking, [LGA] §6); nan if a kernel is 0."""
    a, b = _pair(K1, K2)
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.sum(a * b) / den) if den > 0 else math.nan


def kernel_distance(K1: Any, K2: Any) -> float:
    """Kernel distance S(Θ₁, Θ₂) = 1 − ⟨Θ₁,Θ₂⟩_F/(‖Θ₁‖_F‖Θ₂‖_F) (Fort et al. 2020; [LGA] §6).

    S(Θ,Θ) = 0, S(Θ,aΘ) = 0 for a > 0, S ∈ [0,1] for PSD kernels (L9).  The LGA repository's unused
    ``kernel_dist`` multiplies elementwise before the trace (only the diagonal counts); this is the standard form.
    """
    return 1.0 - kernel_cosine(K1, K2)


def kernel_correlation(K1: Any, K2: Any) -> float:
    """Pearson correlation of the entries, mean[(Θ₁−μ₁)(Θ₂−μ₂)]/(σ₁σ₂) with population std ([LGA] §6
    ``corr``); nan if a kernel is constant."""
    a, b = _pair(K1, K2)
    a, b = a - a.mean(), b - b.mean()
    den = a.std() * b.std()
    return float(np.mean(a * b) / den) if den > 0 else math.nan


def relative_kernel_difference(K0: Any, Kt: Any, *, eps: float = 1e-4) -> float:
    """‖ |Θ₀ − Θ_t| ⊘ (|Θ₀| + eps) ‖_F, elementwise ratio then Frobenius, eps = 1e-4 as in the LGA code ([LGA] §6)."""
    a, b = _pair(K0, Kt)
    return float(np.linalg.norm(np.abs(a - b) / (np.abs(a) + eps)))
