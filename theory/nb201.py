r"""Infinite-width kernels of NAS-Bench-201 cells, vectorized over a batch of cells.

Each cell is represented by its fully connected analog (:data:`ntkcheck.spec.NB201_ANALOG`):
none → ``zero``, skip_connect and avg_pool_3x3 → ``skip``, nor_conv_1x1 and nor_conv_3x3 → ``dense:relu``.
Under the analog the 5⁶ = 15,625 cells fall into 3⁶ = 729 classes of (zero, skip, dense) per edge; the
kernels are computed once per class and broadcast back, and within a class batch the recursion of
:mod:`ntkcheck.theory.kernels` runs on arrays of shape (B, N, N) with 0/1 masks per edge — no Python loop
over cells or over pairs of points.  The recursion is the exact one, with the cross terms between skip
paths into a node (e.g. node 3 = skip(0) + skip(2) with node 2 = skip(0) + ... shares node 0).

``all_nb201_cells()`` enumerates the cells as ``itertools.product(NB201_OPS, repeat=6)`` in the order of
:data:`ntkcheck.spec.NB201_EDGES`.  This is *not* the NAS-Bench-201/NATS-Bench index order; match cells
through their strings (:func:`ntkcheck.spec.nb201_string`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.io import validate_data
from ntkcheck.spec import NB201_ANALOG, NB201_EDGES, NB201_OPS, nb201_string, parse_nb201

from .dual_kernels import dual_gram_pair
from .spectra import certified_eigvalsh_batch

__all__ = ["all_nb201_cells", "analog_class", "nb201_kernels", "nb201_lambda_min_all", "NB201LambdaTable"]

_CLASS = {"zero": 0, "skip": 1, "dense:relu": 2}


def all_nb201_cells() -> list[tuple[str, ...]]:
    """The 15,625 NB201 cells as 6-tuples of ops (edge order :data:`NB201_EDGES`)."""
    return list(itertools.product(NB201_OPS, repeat=6))


def analog_class(cell: Sequence[str] | str) -> tuple[int, ...]:
    """The (zero=0, skip=1, dense=2) class of each edge of a cell's fully connected analog."""
    ops = parse_nb201(cell) if isinstance(cell, str) else tuple(cell)
    if len(ops) != 6 or any(o not in NB201_OPS for o in ops):
        raise NtkcheckError(f"an NB201 cell is 6 ops from {NB201_OPS}, got {ops!r}")
    return tuple(_CLASS[NB201_ANALOG[o]] for o in ops)


def _class_kernels(classes: np.ndarray, X: np.ndarray, sigma_w2: float, sigma_b2: float, readout: str):
    """Exact NNGP and NTK for a batch of analog classes (B, 6) → arrays (B, N, N)."""
    B = classes.shape[0]
    N, d = X.shape
    sw, sb = sigma_w2, sigma_b2
    skip = {e: (classes[:, k] == 1).astype(float)[:, None, None] for k, e in enumerate(NB201_EDGES)}
    dense = {e: (classes[:, k] == 2).astype(float)[:, None, None] for k, e in enumerate(NB201_EDGES)}
    M00 = np.broadcast_to(sw * (X @ X.T) / d + sb, (B, N, N))
    M: dict[tuple[int, int], np.ndarray] = {(0, 0): M00}
    T: dict[tuple[int, int], np.ndarray] = {(0, 0): M00}

    def get(D, a, b):
        return D[(a, b)] if a >= b else np.swapaxes(D[(b, a)], 1, 2)

    dense_out: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def dense_from(i):
        if i not in dense_out:
            F, Fd, _ = dual_gram_pair("relu", M[(i, i)])
            S = sw * F + sb
            dense_out[i] = (S, S + sw * Fd * T[(i, i)])
        return dense_out[i]

    for j in (1, 2, 3):
        srcs = [i for i in range(j)]
        Mjj = np.zeros((B, N, N))
        Tjj = np.zeros((B, N, N))
        for i in srcs:
            S, Te = dense_from(i)
            Mjj += skip[(i, j)] * M[(i, i)] + dense[(i, j)] * S
            Tjj += skip[(i, j)] * T[(i, i)] + dense[(i, j)] * Te
        for a_, i in enumerate(srcs):
            for i2 in srcs[a_ + 1:]:
                both = skip[(i, j)] * skip[(i2, j)]
                cm, ct = get(M, i, i2), get(T, i, i2)
                Mjj += both * (cm + np.swapaxes(cm, 1, 2))
                Tjj += both * (ct + np.swapaxes(ct, 1, 2))
        M[(j, j)], T[(j, j)] = Mjj, Tjj
        for k in range(j):  # cross-blocks with earlier nodes: only skips carry them
            M[(j, k)] = sum(skip[(i, j)] * get(M, i, k) for i in srcs)
            T[(j, k)] = sum(skip[(i, j)] * get(T, i, k) for i in srcs)
    F, Fd, _ = dual_gram_pair(readout, M[(3, 3)])
    K = sw * F + sb
    Th = K + sw * Fd * T[(3, 3)]
    return 0.5 * (K + np.swapaxes(K, 1, 2)), 0.5 * (Th + np.swapaxes(Th, 1, 2))


def nb201_kernels(cells: Iterable[Sequence[str] | str], X: Any, *, sigma_w2: float = 2.0, sigma_b2: float = 0.0,
                  readout: str = "relu", chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact infinite-width (NNGP, NTK) of the fully connected analogs of NB201 cells, shape (B, N, N) each.

    Identical analog classes are computed once. ``chunk`` bounds the number of classes processed at a time
    (default: about 2·10⁸ bytes of working memory).
    """
    X = validate_data(X, allow_duplicates=True)
    cls = np.array([analog_class(c) for c in cells], dtype=int).reshape(-1, 6)
    uniq, inv = np.unique(cls, axis=0, return_inverse=True)
    N = X.shape[0]
    chunk = chunk or max(1, int(2e8 // (30 * 8 * N * N)))
    Ks, Ts = [], []
    for s in range(0, uniq.shape[0], chunk):
        K, Th = _class_kernels(uniq[s:s + chunk], X, sigma_w2, sigma_b2, readout)
        Ks.append(K)
        Ts.append(Th)
    K = np.concatenate(Ks)[inv.ravel()]
    Th = np.concatenate(Ts)[inv.ravel()]
    return K, Th


@dataclass(frozen=True)
class NB201LambdaTable:
    """λ_min (with error bounds) of the NNGP and NTK of every NB201 cell's analog on one data set."""

    cells: tuple[str, ...]
    ntk_lambda_min: np.ndarray
    ntk_error_bound: np.ndarray
    nngp_lambda_min: np.ndarray
    nngp_error_bound: np.ndarray
    degenerate: np.ndarray
    n_classes: int


def nb201_lambda_min_all(X: Any, *, cells: Sequence[Sequence[str]] | None = None, sigma_w2: float = 2.0,
                         sigma_b2: float = 0.0, readout: str = "relu", progress=None) -> NB201LambdaTable:
    """λ_min of the exact NNGP and NTK for all 15,625 NB201 cells (or ``cells``) on data X.

    Cells without an input→output path (all paths cut by ``none``) are flagged ``degenerate``.
    """
    X = validate_data(X, allow_duplicates=True)
    cells = list(cells) if cells is not None else all_nb201_cells()
    cls = np.array([analog_class(c) for c in cells], dtype=int)
    uniq, inv = np.unique(cls, axis=0, return_inverse=True)
    inv = inv.ravel()
    N = X.shape[0]
    chunk = max(1, int(2e8 // (30 * 8 * N * N)))
    out = {k: np.empty(uniq.shape[0]) for k in ("nl", "ne", "kl", "ke")}
    starts = range(0, uniq.shape[0], chunk)
    it = progress(starts) if progress else starts
    for s in it:
        K, Th = _class_kernels(uniq[s:s + chunk], X, sigma_w2, sigma_b2, readout)
        a = certified_eigvalsh_batch(Th)
        b = certified_eigvalsh_batch(K)
        out["nl"][s:s + chunk], out["ne"][s:s + chunk] = a["lambda_min"], a["error_bound"]
        out["kl"][s:s + chunk], out["ke"][s:s + chunk] = b["lambda_min"], b["error_bound"]
    names = tuple(nb201_string(c) if not isinstance(c, str) else c for c in cells)
    # No input→output path: every path crosses a 'zero' edge.
    paths = _has_path(cls)
    return NB201LambdaTable(names, out["nl"][inv], out["ne"][inv], out["kl"][inv], out["ke"][inv], ~paths,
                            uniq.shape[0])


def _has_path(cls: np.ndarray) -> np.ndarray:
    live = {e: cls[:, k] != 0 for k, e in enumerate(NB201_EDGES)}
    r1 = live[(0, 1)]
    r2 = live[(0, 2)] | (r1 & live[(1, 2)])
    return live[(0, 3)] | (r1 & live[(1, 3)]) | (r2 & live[(2, 3)])
