r"""Linear-region counting R_N (TE-NAS §3.1.2, Eq. 4–5).

An activation pattern assigns every ReLU neuron the sign of its pre-activation; for fixed θ the
input space splits into regions of constant pattern (Eq. 4), and R_{N,θ} is the number of distinct
patterns realised.  Given samples x_1..x_S, the empirical count is the number of distinct binary rows of
the pattern matrix A ∈ {0,1}^{S×(#neurons)} — a lower bound on R_{N,θ} that never decreases when samples
are added (T5).  R̂_N = E_θ[R_{N,θ}] is estimated by averaging over weight draws (Eq. 5).

* :func:`activation_patterns`: forward hooks on every ``nn.ReLU`` (TE-NAS hooks those with 4-D input;
  ``only_4d=True`` reproduces it), storing ``output > 0`` (= pre-activation > 0) of every element.
* :func:`count_unique_rows` (``torch.unique``) and :func:`tenas_hamming_count` (the released code's
  Σ_i 1/#{j: A_j = A_i} via a Hamming matrix; equal to the unique count, T6).
* :func:`tenas_region_count`: the TE-NAS preset — the thin one-channel NB201 cell
  (:func:`ntkcheck.empirical.nb201_conv.thin_config`), 1×3×3 one-channel inputs, 3000 samples in batches
  of 1000, train-mode BN, inside ``no_grad``, 3 repeats.
* A 2-D toy: :class:`ToyReLUNet` (2 → k → 1, biases), :func:`grid_region_count` (patterns on a dense grid)
  and :func:`arrangement_region_count` (the exact number of cells of the k lines w_i·x + b_i = 0 that meet
  an open box, by the Euler-formula count 1 + #lines meeting the box + #crossings inside it, valid for lines
  in general position; with an unbounded box it is 1 + k + k(k−1)/2, Zaslavsky/Buck).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ntkcheck.errors import NtkcheckError

__all__ = [
    "activation_patterns",
    "count_unique_rows",
    "tenas_hamming_count",
    "count_linear_regions",
    "RegionCount",
    "tenas_region_count",
    "gaussian_patches",
    "ToyReLUNet",
    "grid_region_count",
    "arrangement_region_count",
    "general_position_count",
    "bounding_box",
]


def activation_patterns(model: nn.Module, X: torch.Tensor, *, train_mode: bool = True, only_4d: bool = False,
                        batch_size: int | None = None) -> torch.Tensor:
    """Binary activation patterns, one row per sample: the concatenation over every ``nn.ReLU`` that ran of
    ``output > 0`` for each of its elements (TE-NAS ``register_hook``; [TE] §2.3).

    ``train_mode`` sets ``model.train()`` (TE-NAS: BN with batch statistics of each batch) for the call;
    ``batch_size`` splits X (TE-NAS: 1000).  Returns a bool tensor (S, #elements) on the CPU.
    """
    if not isinstance(model, nn.Module):
        raise NtkcheckError(f"expected a torch module, got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or X.ndim < 2 or X.shape[0] < 1:
        raise NtkcheckError("X must be a tensor with a leading sample dimension")
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise NtkcheckError("the model has no nn.ReLU module: no activation pattern to record")
    store: list[torch.Tensor] = []

    def hook(mod, inp, out):
        if only_4d and inp[0].ndim != 4:
            return
        store.append((out > 0).reshape(out.shape[0], -1).cpu())

    handles = [m.register_forward_hook(hook) for m in relus]
    was = model.training
    model.train(train_mode)
    bs = batch_size or X.shape[0]
    rows = []
    try:
        with torch.no_grad():
            for s in range(0, X.shape[0], bs):
                store.clear()
                model(X[s:s + bs])
                if not store:
                    raise NtkcheckError("no ReLU ran during the forward pass")
                rows.append(torch.cat(store, dim=1))
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    return torch.cat(rows, dim=0)


def count_unique_rows(A: torch.Tensor | np.ndarray) -> int:
    """Number of distinct rows of a pattern matrix (``torch.unique(dim=0)``)."""
    A = torch.as_tensor(A)
    if A.ndim != 2:
        raise NtkcheckError(f"pattern matrix must be 2-D, got shape {tuple(A.shape)}")
    return int(torch.unique(A, dim=0).shape[0])


def tenas_hamming_count(A: torch.Tensor | np.ndarray, dtype: torch.dtype = torch.float32) -> float:
    """The released TE-NAS count ([TE] §2.3 "Counting"): H = A(1−A)ᵀ + (1−A)Aᵀ (Hamming distances),
    E = 1 − sign(H), R = Σ_i 1/Σ_j E_ij.  The code uses fp16 on GPU; on CPU the default here is fp32 (Hamming
    distances are integers below 2^24, exact in fp32).  Returns a float (an integer up to rounding)."""
    A = torch.as_tensor(A).to(dtype)
    H = A @ (1 - A).T + (1 - A) @ A.T
    E = 1 - torch.sign(H)
    return float((1.0 / E.sum(dim=1).to(torch.float64)).sum())


def count_linear_regions(model: nn.Module, X: torch.Tensor, **kw) -> int:
    """R_{N,θ} seen by the samples X: distinct rows of :func:`activation_patterns` (``kw`` passed on)."""
    return count_unique_rows(activation_patterns(model, X, **kw))


def gaussian_patches(n: int, *, seed: int, size: int = 3, channels: int = 1, dtype: torch.dtype = torch.float64,
                     device: str | torch.device = "cpu") -> torch.Tensor:
    """Synthetic stand-in for TE-NAS's normalised 1×3×3 image patches: i.i.d. N(0,1) entries (normalised
    pixels have mean 0, std 1), shape (n, channels, size, size).  Real patches can be passed instead."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, channels, size, size, generator=g, dtype=dtype).to(device)


@dataclass(frozen=True)
class RegionCount:
    """R̂_N over repeats ([TE] Eq. 5): mean, per-repeat counts, and the samples per count (the upper bound)."""

    mean: float
    counts: tuple[int, ...]
    n_samples: int


def tenas_region_count(model: nn.Module | Callable[[int], nn.Module], *, repeats: int = 3, n_samples: int = 3000,
                       batch_size: int = 1000, seed: int = 0,
                       inputs: torch.Tensor | Callable[[int], torch.Tensor] | None = None) -> RegionCount:
    """TE-NAS's R̂_N ([TE] §2.3): per repeat r, the number of distinct activation patterns of ``n_samples``
    inputs forwarded in batches of ``batch_size`` with train-mode BN; averaged over repeats.

    ``model`` is a module (weights fixed over repeats, the released code) or a factory ``r -> module``
    (fresh Kaiming-normal weights per repeat, the paper).  ``inputs`` is a tensor (one set reused), a
    callable ``r -> tensor``, or None: :func:`gaussian_patches` of shape 1×3×3 with seed ``seed + r``.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise NtkcheckError(f"repeats must be a positive integer, got {repeats!r}")
    counts = []
    for r in range(repeats):
        m = model if isinstance(model, nn.Module) else model(r)
        dev = next(m.parameters()).device
        dt = next(m.parameters()).dtype
        if inputs is None:
            x = gaussian_patches(n_samples, seed=seed + r, dtype=dt, device=dev)
        elif isinstance(inputs, torch.Tensor):
            x = inputs
        else:
            x = inputs(r)
        counts.append(count_linear_regions(m, x.to(device=dev, dtype=dt), train_mode=True, only_4d=True,
                                           batch_size=batch_size))
    return RegionCount(float(np.mean(counts)), tuple(counts), int(x.shape[0]))


# ---- exact 2-D toy -------------------------------------------------------------------------------------

class ToyReLUNet(nn.Module):
    """f(x) = v·ReLU(W x + b), x ∈ R², k hidden ReLUs with biases; W, b ~ N(0, 1), seeded."""

    def __init__(self, k: int, *, seed: int = 0, dtype: torch.dtype = torch.float64):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise NtkcheckError(f"number of hidden neurons must be a positive integer, got {k!r}")
        g = torch.Generator().manual_seed(seed)
        self.hidden = nn.Linear(2, k).to(dtype)
        self.relu = nn.ReLU()
        self.out = nn.Linear(k, 1).to(dtype)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.randn(k, 2, generator=g, dtype=dtype))
            self.hidden.bias.copy_(torch.randn(k, generator=g, dtype=dtype))
            self.out.weight.copy_(torch.randn(1, k, generator=g, dtype=dtype))
            self.out.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.relu(self.hidden(x)))


def grid_region_count(model: nn.Module, box: tuple[float, float, float, float], resolution: int) -> int:
    """Distinct activation patterns on a ``resolution × resolution`` grid over the closed box
    (x0, x1, y0, y1) — the sample-based count, a lower bound on the regions meeting the box."""
    x0, x1, y0, y1 = box
    if not (x1 > x0 and y1 > y0) or resolution < 2:
        raise NtkcheckError("box must be (x0, x1, y0, y1) with x1 > x0, y1 > y0, and resolution >= 2")
    dt = next(model.parameters()).dtype
    xs = torch.linspace(x0, x1, resolution, dtype=dt)
    ys = torch.linspace(y0, y1, resolution, dtype=dt)
    P = torch.cartesian_prod(xs, ys)
    return count_linear_regions(model, P, train_mode=False)


def _segment_in_box(w: np.ndarray, b: float, box) -> bool:
    """Does the line w·x + b = 0 meet the open box?  (Its corner values do not all share a sign.)"""
    x0, x1, y0, y1 = box
    vals = [w[0] * x + w[1] * y + b for x in (x0, x1) for y in (y0, y1)]
    return min(vals) < 0 < max(vals)


def arrangement_region_count(W: np.ndarray, b: np.ndarray,
                             box: tuple[float, float, float, float] | None = None) -> int:
    r"""Exact number of cells of the line arrangement {x : W_i·x + b_i = 0} (i = 1..k) meeting a box.

    For lines in general position (no two parallel, no three concurrent) inside a convex domain D, each line
    that crosses D adds 1 + (number of earlier lines it crosses inside D) cells, so
    #cells = 1 + #{lines meeting D} + #{pairwise crossings inside D} (Euler's formula for planar graphs).
    ``box=None`` is the whole plane: 1 + k + k(k−1)/2.  Raises if the lines are not in general position
    (determinants or concurrency residuals below 1e-12 relative: such an arrangement has fewer cells).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if W.ndim != 2 or W.shape[1] != 2 or W.shape[0] != b.shape[0]:
        raise NtkcheckError("arrangement needs W of shape (k, 2) and b of shape (k,)")
    k = W.shape[0]
    if np.any(np.linalg.norm(W, axis=1) == 0):
        raise NtkcheckError("a zero row of W is not a line")
    pts = []
    for i in range(k):
        for j in range(i + 1, k):
            A = W[[i, j]]
            det = np.linalg.det(A)
            if abs(det) < 1e-12 * np.linalg.norm(A[0]) * np.linalg.norm(A[1]):
                raise NtkcheckError(f"lines {i} and {j} are parallel: not in general position")
            pts.append(np.linalg.solve(A, -b[[i, j]]))
    for p in pts:  # no three lines concurrent
        res = np.abs(W @ p + b) / np.linalg.norm(W, axis=1)
        if np.sum(res < 1e-12 * (1 + np.linalg.norm(p))) > 2:
            raise NtkcheckError("three lines meet in one point: not in general position")
    if box is None:
        return general_position_count(k)
    x0, x1, y0, y1 = box
    n_lines = sum(_segment_in_box(W[i], b[i], box) for i in range(k))
    n_cross = sum(x0 < p[0] < x1 and y0 < p[1] < y1 for p in pts)
    return 1 + n_lines + n_cross


def general_position_count(k: int) -> int:
    """1 + k + k(k−1)/2: cells of k lines in general position in R² (TE-NAS T5; Zaslavsky 1975)."""
    return 1 + k + k * (k - 1) // 2


def bounding_box(W: np.ndarray, b: np.ndarray, margin: float = 1.0) -> tuple[float, float, float, float]:
    """A box containing every pairwise crossing of the lines (and a point of each line) with ``margin`` to
    spare, so that every line meets it and every crossing lies inside: the in-box count is then
    1 + k + k(k−1)/2, i.e. every cell of the arrangement meets the box."""
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    pts = [np.linalg.solve(W[[i, j]], -b[[i, j]]) for i in range(len(b)) for j in range(i + 1, len(b))]
    # plus the foot of each line from the origin, so that a single line also crosses the box
    pts += [-b[i] * W[i] / (W[i] @ W[i]) for i in range(len(b))]
    P = np.array(pts)
    lo, hi = P.min(axis=0) - margin, P.max(axis=0) + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])
