r"""Exact infinite-width NNGP and NTK of convolutional NAS-Bench-201 cells on images.

The network (spec ``{"nb201": CELL, "kernel": "conv", "image": [C, H, W]}``; NTK parametrization, σ_w² = 2 by
default, no biases, **no batch normalization** — BN at initialization is not part of this limit):

* node 0 (stem) = 3×3 convolution of the image, SAME zero padding, fan-in C·9;
* an edge ``nor_conv_k×k`` (k = 1, 3) = ReLU then a fresh k×k convolution, SAME zero padding, fan-in n·k²;
  ``avg_pool_3x3`` = 3×3 average pooling, stride 1, SAME padding, padding not counted (PyTorch's
  ``count_include_pad=False``, stax's ``normalize_edges=True``); ``skip_connect`` = identity; ``none`` = 0;
* node j = Σ of its in-edges (NB201_EDGES order); readout f = (σ_w/√n) v · GAP(ReLU(node 3)).

Notation.  Images i, j ∈ [N], pixels p, p' ∈ [P], P = H·W.  For nodes a, b the infinite-width per-channel
cross-covariance and NTK cross-block are the 4-index arrays

.. math::  Σ_{ab}[i,p,j,p'] = \lim \tfrac1n ⟨X^a_{·,p}(x_i), X^b_{·,p'}(x_j)⟩,  \quad Θ_{ab}[i,p,j,p'].

Spatial operators act on one pixel index: the shift :math:`S_d` (zero padding) and the pooling matrix
:math:`A = A_H ⊗ A_W`, :math:`(A_H)_{hk} = 1/c_h` for |h − k| ≤ 1, c_h the number of valid rows.
The recursion (Novak et al. 2019, "Bayesian deep CNNs with many channels are GPs", §2, for the conv and
ReLU rules; Arora et al. 2019, CNTK, for the NTK; the DAG cross terms as in :mod:`ntkcheck.theory.kernels`):

* stem:  :math:`Σ_{00}[i,p,j,p'] = \frac{σ_w^2}{9C} \sum_{|d|_\infty ≤ 1} ⟨x_i[:, p+d], x_j[:, p'+d]⟩`, Θ₀₀ = Σ₀₀;
* conv k from node i (fresh weights, so zero cross-covariance and cross-NTK with everything else):
  :math:`S_e = \frac{σ_w^2}{k^2}\sum_d S_d\, E[\mathrm{relu}(u)\mathrm{relu}(v)]\, S_d^⊤`,
  :math:`T_e = S_e + \frac{σ_w^2}{k^2}\sum_d S_d (E[\mathrm{relu}'\mathrm{relu}'] ⊙ Θ_{ii}) S_d^⊤`, (u, v) ~ N(0, Σ_ii);
* linear edges (skip: L = I, pool: L = A) carry :math:`L Σ_{i·}` / :math:`L Θ_{i·}` on their pixel index;
* node j:  :math:`Σ_{jj} = \sum_{\text{conv } e} S_e + \sum_{\text{linear } e, e'} L_e Σ_{ii'} L_{e'}^⊤` (all ordered
  pairs: the cross terms between correlated linear paths from a shared ancestor, which stax's ``FanInSum``
  drops), :math:`Σ_{jk} = \sum_{\text{linear } e} L_e Σ_{ik}`; the same for Θ;
* readout:  :math:`K_{ij} = \frac{σ_w^2}{P^2}\sum_{p,p'} E[\mathrm{relu}\,\mathrm{relu}](Σ_{33})[i,p,j,p']`,
  :math:`Θ_{ij} = K_{ij} + \frac{σ_w^2}{P^2}\sum_{p,p'} (E[\mathrm{relu}'\mathrm{relu}'] ⊙ Θ_{33})[i,p,j,p']`.

ReLU dual kernels are the arc-cosine closed forms (:func:`ntkcheck.theory.dual_kernels._relu_dual_block`).

Structure used.  Every rule acts on one image pair (i, j) at a time, except that the dual kernels need the
pixel variances q_a[i, p] = Σ_aa[i,p,i,p].  So the engine (i) runs the recursion on the N diagonal blocks
(i, i) first and records q of every node, then (ii) streams the N(N−1)/2 off-diagonal blocks i < j in chunks
of about 2¹⁸ numbers (symmetry Σ[j,·,i,·] = Σ[i,·,j,·]ᵀ halves the work).  Within a chunk, quantities of
node j depend only on the ops of the edges into nodes ≤ j, so for a batch of cells sorted by op string the
stem is computed once, each node-1 variant once (5) and each node-2 variant once (≤ 125).

Cost per cell, N images of H×W (P = HW): time ∝ N(N+1)/2 · P² · (a few dozen elementwise passes: one
arc-cosine evaluation per node with an outgoing conv edge and one for the readout, k² shift-adds per k×k conv,
two P×P matmuls per pooled edge pair); memory O(N·P) per node for the variances + a workspace of about 30
arrays of 2¹⁸ floats per worker thread (the chunk size, independent of N) + the (N, N) outputs — never the
(NP)² covariance.  Measured (``benchmarks/bench_conv_kernels.py``, 2-core box at load ≈ 14): one cell
standalone 1.1 s / 2.9 s / 14 s for N = 16 / 32 / 64 images of 8×8, peak numpy memory 90–113 MB; 4×4 images
8× faster than 8×8 (P² scaling); in a batch of consecutive cells (shared prefixes) ≈ 0.7–1 s per cell at
N = 64, 8×8.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.io import validate_data
from ntkcheck.spec import NB201_EDGES, NB201_OPS, ConvCellSpec, nb201_string, parse_any_spec, parse_nb201

from .dual_kernels import _relu_dual_block
from .spectra import certified_eigvalsh_batch

__all__ = ["ConvKernels", "conv_cell_kernels", "conv_cells_kernels", "conv_lambda_min_table", "ConvLambdaTable",
           "as_images", "stax_exact", "cell_is_degenerate", "conv_cell_class", "conv_cell_classes", "BN_NOTE"]

#: Every conv-kernel result carries this note.
BN_NOTE = ("exact infinite-width kernel of the convolutional NB201 cell WITHOUT batch normalization "
           "(BN at initialization is not part of this limit); NTK parametrization, no biases")

_CONV = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
_LINEAR = ("skip_connect", "avg_pool_3x3")
#: number of cell ops that determine node j (edges into nodes ≤ j, NB201_EDGES order)
_PREFIX = (0, 1, 3, 6)
_BLOCK_FLOATS = 1 << 18


def as_images(X: Any, image: Sequence[int] | None) -> np.ndarray:
    """Data as a float64 (N, C, H, W) array: X of shape (N, C, H, W), or (N, C·H·W) with ``image`` = (C, H, W)."""
    X = np.asarray(X)
    if X.ndim == 2:
        if image is None:
            raise NtkcheckError("flat data (N, d) needs the spec's 'image': [C, H, W]")
        C, H, W = image
        if X.shape[1] != C * H * W:
            raise NtkcheckError(f"data has {X.shape[1]} features per row, but image {list(image)} needs {C * H * W}")
        X = X.reshape(X.shape[0], C, H, W)
    elif X.ndim == 4:
        if image is not None and tuple(X.shape[1:]) != tuple(image):
            raise NtkcheckError(f"data images have shape {list(X.shape[1:])}, the spec says {list(image)}")
    else:
        raise NtkcheckError(f"image data must be (N, C, H, W) or (N, C·H·W), got shape {X.shape}")
    flat = validate_data(X.reshape(X.shape[0], -1), allow_duplicates=True)
    return flat.reshape(X.shape)


def stax_exact(cell: Sequence[str] | str) -> bool:
    """True when independent-branch fan-in (stax's FanInSum) is exact for this cell: every node is a sum of
    independent Gaussian sources (the stem and each conv edge) carried along linear (skip/pool) paths, and no
    node has two linear in-edges whose sources overlap (they would be correlated: the cross terms)."""
    ops = parse_nb201(cell) if isinstance(cell, str) else tuple(cell)
    src: list[set] = [{"stem"}]
    for j in (1, 2, 3):
        mine: set = set()
        for (s, t), o in zip(NB201_EDGES, ops):
            if t != j or o == "none":
                continue
            if o in _LINEAR:
                if mine & src[s]:
                    return False
                mine |= src[s]
            elif src[s]:
                mine.add((s, t))
        src.append(mine)
    return True


def cell_is_degenerate(cell: Sequence[str] | str) -> bool:
    """True when the cell has no input→output path (node 3 is identically 0): both kernels are 0."""
    return 3 in _zero_nodes(parse_nb201(cell) if isinstance(cell, str) else tuple(cell))


def conv_cell_class(cell: Sequence[str] | str) -> str | None:
    """Canonical expression of the cell's output (node 3); cells with equal expressions compute the same
    distribution of functions, so their exact NNGP and NTK agree.  ``None`` for a degenerate cell.

    Formed bottom-up: node 0 is ``x``; node j is the sorted multiset of terms ``op(source expression)`` over
    its in-edges, written ``[t1+t2+…]``, where ``none`` edges and edges out of an identically-zero node are
    dropped (a conv of 0 is 0: no biases); a node with no term is zero.  ``skip_connect``, ``avg_pool_3x3``,
    ``nor_conv_1x1`` and ``nor_conv_3x3`` stay distinct ops (skip is not flattened into its source).
    Why equal expressions mean equal distributions: each term names its source node unambiguously — a term
    of node 2 with a non-``x`` source comes from node 1, and two terms of node 3 with the same non-``x``
    source expression come from nodes 1 and 2 only when node 2 has no live edge from node 1 (otherwise its
    expression strictly contains node 1's), and then the two nodes are exchangeable.  So equal expressions
    give the same computation graph up to relabelling, with fresh weights on every conv edge.
    """
    ops = parse_nb201(cell) if isinstance(cell, str) else tuple(cell)
    expr: dict[int, str | None] = {0: "x"}
    for j in (1, 2, 3):
        terms = sorted(f"{o}({expr[s]})" for (s, t), o in zip(NB201_EDGES, ops)
                       if t == j and o != "none" and expr[s] is not None)
        expr[j] = "[" + "+".join(terms) + "]" if terms else None
    return expr[3]


def conv_cell_classes(cells: Iterable[Sequence[str] | str]) -> dict[str | None, list[int]]:
    """``{canonical expression: positions of its cells in ``cells``}`` (:func:`conv_cell_class`), classes in
    order of first appearance; the degenerate cells under the key ``None``."""
    out: dict[str | None, list[int]] = {}
    for k, c in enumerate(cells):
        out.setdefault(conv_cell_class(c), []).append(k)
    return out


def _zero_nodes(ops: Sequence[str]) -> set[int]:
    """Nodes that are identically 0 (every in-edge is 'none' or leaves a zero node; conv of 0 is 0)."""
    zero: set[int] = set()
    for j in (1, 2, 3):
        if all(o == "none" or s in zero for (s, t), o in zip(NB201_EDGES, ops) if t == j):
            zero.add(j)
    return zero


# ---- spatial operators on stacks of blocks Z[b, h, w, h', w'] ------------------------------------------

def _axis_slice(ndim: int, axis: int, sl: slice) -> tuple:
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def _conv_shift_sum(Z: np.ndarray, k: int) -> np.ndarray:
    r"""Σ_{d ∈ {−r..r}²} Z[p + d, p' + d] with zeros outside the image (r = k // 2): separable, h then w."""
    r = k // 2
    out = Z
    for a1, a2 in ((1, 3), (2, 4)):
        acc = out.copy()
        n = Z.shape[a1]
        for d in range(1, min(r, n - 1) + 1):
            dst = [slice(None)] * 5
            src = [slice(None)] * 5
            dst[a1], dst[a2], src[a1], src[a2] = slice(0, n - d), slice(0, n - d), slice(d, n), slice(d, n)
            acc[tuple(dst)] += out[tuple(src)]
            acc[tuple(src)] += out[tuple(dst)]
        out = acc
    return out


def _pool_axis(Z: np.ndarray, axis: int) -> np.ndarray:
    """3-tap average along one spatial axis, stride 1, SAME padding, padding not counted."""
    n = Z.shape[axis]
    out = Z.copy()
    if n > 1:
        out[_axis_slice(5, axis, slice(1, n))] += Z[_axis_slice(5, axis, slice(0, n - 1))]
        out[_axis_slice(5, axis, slice(0, n - 1))] += Z[_axis_slice(5, axis, slice(1, n))]
    cnt = np.full(n, 3.0 if n > 1 else 1.0)
    if n > 1:
        cnt[0] = cnt[-1] = 2.0
    shape = [1] * 5
    shape[axis] = n
    out /= cnt.reshape(shape)
    return out


def _pool(Z: np.ndarray, side: str) -> np.ndarray:
    """A = A_H ⊗ A_W applied to the left (row) or right (column) pixel index of every block, separably by
    shift-adds (no BLAS: OpenBLAS threads on a shared, loaded 2-core box made the P×P matmul 20× slower)."""
    a, b = (1, 2) if side == "l" else (3, 4)
    return _pool_axis(_pool_axis(Z, a), b)


def _lin(op: str, Z: np.ndarray, side: str) -> np.ndarray:
    return Z if op == "skip_connect" else _pool(Z, side)


def _add_pair(acc, Z, fresh: bool = False):
    """acc + Z for (Σ, Θ) pairs, None meaning 0; ``fresh``: Z was just computed and may be taken over."""
    if Z is None:
        return acc
    if acc is None:
        return Z if fresh else (Z[0].copy(), Z[1].copy())
    acc[0].__iadd__(Z[0])
    acc[1].__iadd__(Z[1])
    return acc


# ---- the recursion on one chunk of image pairs ---------------------------------------------------------

class _Chunk:
    """Σ/Θ blocks of all nodes of a family of cells on the image pairs (I[b], J[b]).

    ``diag`` marks the pass over i == j blocks, which records the pixel variances q in ``qstore``; other
    chunks read them.  Values are memoized by (quantity, nodes, op prefix) and never modified in place.
    """

    def __init__(self, X: np.ndarray, I: np.ndarray, J: np.ndarray, diag: bool, qstore: dict, sw: float,
                 cross: bool):
        self.I, self.J, self.diag, self.q, self.sw, self.cross = I, J, diag, qstore, sw, cross
        N, C, H, W = X.shape
        self.N, self.H, self.W, self.P = N, H, W, H * W
        self.memo: dict = {}
        # stem: Σ₀₀ = σ_w²/(9C) Σ_d S_d G S_dᵀ with G[b, p, p'] = ⟨x_I[:, p], x_J[:, p']⟩
        Xf = X.reshape(N, C, H * W)
        G = np.einsum("bcp,bcq->bpq", Xf[I], Xf[J], optimize=True).reshape(len(I), H, W, H, W)
        S00 = _conv_shift_sum(G, 3) * (sw / (9.0 * C))
        self.memo[("ST", 0, 0, ())] = (S00, S00)

    def evict(self, ops: tuple[str, ...]) -> None:
        """Drop memo entries whose op prefix is not a prefix of ``ops`` (cells come sorted)."""
        self.memo = {k: v for k, v in self.memo.items() if ops[:len(k[-1])] == k[-1]}

    # (Σ_ab, Θ_ab) or None when zero
    def pair(self, ops: tuple[str, ...], a: int, b: int):
        pre = ops[:_PREFIX[max(a, b)]]
        key = ("ST", a, b, pre)
        if key in self.memo:
            return self.memo[key]
        if a == b:
            val = self._diag(ops, a)
        elif a > b:
            val = None
            for (s, t), o in zip(NB201_EDGES, ops):
                if t == a and o in _LINEAR:
                    Z = self.pair(ops, s, b)
                    if Z is not None:
                        val = _add_pair(val, (_lin(o, Z[0], "l"), _lin(o, Z[1], "l")), o != "skip_connect")
        else:
            val = None
            for (s, t), o in zip(NB201_EDGES, ops):
                if t == b and o in _LINEAR:
                    Z = self.pair(ops, a, s)
                    if Z is not None:
                        val = _add_pair(val, (_lin(o, Z[0], "r"), _lin(o, Z[1], "r")), o != "skip_connect")
        self.memo[key] = val
        return val

    def _diag(self, ops, j: int):
        ins = [(s, o) for (s, t), o in zip(NB201_EDGES, ops) if t == j and o != "none"]
        val = None
        for s, o in ins:
            if o in _CONV:
                val = _add_pair(val, self.conv_source(ops, s, _CONV[o]))
        lin = [(s, o) for s, o in ins if o in _LINEAR]
        if self.cross:
            # Σ_{e,e'} L_e Σ_{ii'} L_e'ᵀ = Σ_{e'} (Σ_{j i'}) L_e'ᵀ: reuses the memoized cross-blocks Σ_{j i'}
            for s2, o2 in lin:
                Z = self.pair(ops, j, s2)
                if Z is not None:
                    val = _add_pair(val, tuple(_lin(o2, z, "r") for z in Z), o2 != "skip_connect")
        else:
            for s, o in lin:
                Z = self.pair(ops, s, s)
                if Z is not None:
                    val = _add_pair(val, tuple(_lin(o, _lin(o, z, "l"), "r") for z in Z), o != "skip_connect")
        return val

    def conv_source(self, ops, i: int, k: int):
        """(S_e, T_e) of a ReLU → k×k conv edge out of node i."""
        pre = ops[:_PREFIX[i]]
        key = ("conv", i, k, pre)
        if key in self.memo:
            return self.memo[key]
        FG = self.relu_duals(ops, i)
        val = None
        if FG is not None:
            F, G = FG
            S = _conv_shift_sum(F, k) if k > 1 else F.copy()
            T = _conv_shift_sum(G, k) if k > 1 else G.copy()
            if k > 1:
                S /= k * k
                T /= k * k
            T += S
            val = (S, T)
        self.memo[key] = val
        return val

    def relu_duals(self, ops, i: int):
        """(σ_w² E[relu relu](Σ_ii), σ_w² E[relu' relu'] ⊙ Θ_ii) blockwise, or None when node i is zero."""
        pre = ops[:_PREFIX[i]]
        key = ("dual", i, pre)
        if key in self.memo:
            return self.memo[key]
        ST = self.pair(ops, i, i)
        val = None
        if ST is not None:
            S, T = ST
            B, P = S.shape[0], self.P
            S2 = S.reshape(B, P, P)
            if self.diag:
                q = np.einsum("bpp->bp", S2).copy()
                self.q.setdefault((i, pre), np.empty((self.N, P)))[self.I] = q
                qr = qc = q
            else:
                qs = self.q[(i, pre)]
                qr, qc = qs[self.I], qs[self.J]
            sr, sc = np.sqrt(qr), np.sqrt(qc)
            with np.errstate(divide="ignore"):
                ir = np.where(sr > 0, 1.0 / np.where(sr > 0, sr, 1.0), 0.0)
                ic = np.where(sc > 0, 1.0 / np.where(sc > 0, sc, 1.0), 0.0)
            F, D = _relu_dual_block(S2, ir, ic, sr, sc, 0.0, self.sw, True)
            D *= T.reshape(B, P, P)
            shape = S.shape
            val = (F.reshape(shape), D.reshape(shape))
        self.memo[key] = val
        return val


# ---- drivers --------------------------------------------------------------------------------------------

def _sorted_cells(cells: Iterable[Sequence[str] | str]) -> list[tuple[str, ...]]:
    out = []
    for c in cells:
        ops = parse_nb201(c) if isinstance(c, str) else tuple(c)
        if len(ops) != 6 or any(o not in NB201_OPS for o in ops):
            raise NtkcheckError(f"an NB201 cell is 6 ops from {NB201_OPS}, got {ops!r}")
        out.append(ops)
    return out


def conv_cells_kernels(cells: Iterable[Sequence[str] | str], X: Any, image: Sequence[int] | None = None, *,
                       sigma_w2: float = 2.0, cross_terms: bool = True, workers: int = 2,
                       block_floats: int = _BLOCK_FLOATS, progress: Callable[[int], None] | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact infinite-width (NNGP, NTK) of the convolutional NB201 cells ``cells`` on images X: (B, N, N) each.

    X is (N, C, H, W), or (N, C·H·W) with ``image`` = (C, H, W).  ``cross_terms=False`` drops the cross terms
    between linear paths into a node (what stax's FanInSum computes: a labelled approximation).  Cells are
    evaluated in op-string order so that shared prefixes (stem, node 1, node 2) are computed once per chunk of
    image pairs; results come back in the given order.  ``workers`` threads share the chunks (numpy releases
    the GIL); ``progress(k)`` is called after each chunk with the number of image pairs done (N(N+1)/2 in all).
    An exception in the caller's thread (Ctrl-C) or in ``progress`` stops the work between chunks: running chunks
    stop at their next cell, queued chunks are cancelled, so the interrupt is honoured within one chunk's time
    (about 2¹⁸ numbers per cell), whatever N.  No batch normalization (see :data:`BN_NOTE`).
    """
    Xi = as_images(X, image)
    ops_list = _sorted_cells(cells)
    B = len(ops_list)
    N, C, H, W = Xi.shape
    P = H * W
    order = sorted(range(B), key=lambda c: ops_list[c])
    K = np.zeros((B, N, N))
    Th = np.zeros((B, N, N))
    if B == 0:
        return K, Th
    qstore: dict = {}
    stop = threading.Event()
    per = max(1, block_floats // (P * P))

    def run(I: np.ndarray, J: np.ndarray | None) -> int:
        if stop.is_set():                      # interrupted: a queued chunk does nothing
            return 0
        try:
            return chunk(I, J)
        except BaseException:                  # an error or interrupt in a worker stops the others too
            stop.set()
            raise

    def chunk(I: np.ndarray, J: np.ndarray | None) -> int:
        diag = J is None
        J = I if diag else J
        ch = _Chunk(Xi, I, J, diag, qstore, sigma_w2, cross_terms)
        prev = None
        for c in order:
            if stop.is_set():
                return 0
            ops = ops_list[c]
            if prev is not None and ops != prev:
                ch.evict(ops)
            prev = ops
            FG = ch.relu_duals(ops, 3)
            if FG is None:
                continue
            k = FG[0].reshape(len(I), -1).sum(axis=1) / (P * P)
            t = k + FG[1].reshape(len(I), -1).sum(axis=1) / (P * P)
            K[c, I, J] = k
            K[c, J, I] = k
            Th[c, I, J] = t
            Th[c, J, I] = t
        if progress is not None:
            progress(len(I))
        return len(I)

    # pass 1: diagonal blocks, in order (they record the pixel variances q of every node); pass 2: i < j blocks
    for s in range(0, N, per):
        run(np.arange(s, min(N, s + per)), None)
    iu, ju = np.triu_indices(N, 1)
    jobs = [(iu[s:s + per], ju[s:s + per]) for s in range(0, iu.size, per)]
    if workers <= 1 or len(jobs) <= 1:
        for I, J in jobs:
            run(I, J)
    else:
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(run, I, J) for I, J in jobs]
            for f in futures:
                f.result()
        except BaseException:
            stop.set()                         # running chunks stop at their next cell
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return K, Th


@dataclass(frozen=True)
class ConvKernels:
    """Result of :func:`conv_cell_kernels`: (N, N) NNGP and NTK of the network output, with the spec and labels."""

    nngp: np.ndarray
    ntk: np.ndarray
    spec: ConvCellSpec = field(repr=False)
    cross_terms: bool
    degenerate: bool
    note: str = BN_NOTE

    @property
    def label(self) -> str:
        return ("exact (conv cell, cross terms between linear paths included)" if self.cross_terms else
                "approximation: cross terms between linear paths dropped (stax FanInSum)")


def conv_cell_kernels(spec: Any, X: Any, *, cross_terms: bool = True, workers: int = 2,
                      progress: Callable[[int], None] | None = None) -> ConvKernels:
    """Exact infinite-width NNGP and NTK of one convolutional NB201 cell (a :class:`~ntkcheck.spec.ConvCellSpec`
    or anything :func:`~ntkcheck.spec.parse_any_spec` turns into one) on images X (module docstring).
    ``progress(k)``: called with the number of image pairs done, N(N+1)/2 in all (:func:`conv_cells_kernels`)."""
    spec = parse_any_spec(spec)
    if not isinstance(spec, ConvCellSpec):
        raise NtkcheckError('conv_cell_kernels needs {"nb201": CELL, "kernel": "conv", "image": [C, H, W]}')
    K, T = conv_cells_kernels([spec.cell], X, spec.image, sigma_w2=spec.sigma_w2, cross_terms=cross_terms,
                              workers=workers, progress=progress)
    return ConvKernels(nngp=K[0], ntk=T[0], spec=spec, cross_terms=cross_terms,
                       degenerate=3 in _zero_nodes(spec.cell))


@dataclass(frozen=True)
class ConvLambdaTable:
    """Certified λ_min (with error bounds) of the exact conv NNGP and NTK of NB201 cells on one data set."""

    cells: tuple[str, ...]
    ntk_lambda_min: np.ndarray
    ntk_error_bound: np.ndarray
    nngp_lambda_min: np.ndarray
    nngp_error_bound: np.ndarray
    ntk_lambda_max: np.ndarray
    degenerate: np.ndarray
    note: str = BN_NOTE


def conv_lambda_min_table(cells: Sequence[Sequence[str] | str], X: Any, image: Sequence[int] | None = None, *,
                          sigma_w2: float = 2.0, batch: int = 25, workers: int = 2,
                          progress: Callable[[int], None] | None = None) -> ConvLambdaTable:
    """λ_min of the exact conv NNGP and NTK (certified, :func:`~ntkcheck.theory.spectra.certified_eigvalsh_batch`)
    for ``cells``, computed ``batch`` cells at a time in op-string order (shared prefixes computed once per batch;
    memory ≈ 2·batch·N² floats for the Gram matrices).  ``progress(k)`` is called with the number of cells done."""
    ops = _sorted_cells(cells)
    order = sorted(range(len(ops)), key=lambda c: ops[c])
    n = len(ops)
    out = {k: np.zeros(n) for k in ("nl", "ne", "kl", "ke", "nx")}
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        K, T = conv_cells_kernels([ops[c] for c in idx], X, image, sigma_w2=sigma_w2, workers=workers)
        a, b = certified_eigvalsh_batch(T), certified_eigvalsh_batch(K)
        out["nl"][idx], out["ne"][idx], out["nx"][idx] = a["lambda_min"], a["error_bound"], a["lambda_max"]
        out["kl"][idx], out["ke"][idx] = b["lambda_min"], b["error_bound"]
        if progress is not None:
            progress(len(idx))
    degenerate = np.array([3 in _zero_nodes(o) for o in ops], dtype=bool)
    return ConvLambdaTable(tuple(nb201_string(o) for o in ops), out["nl"], out["ne"], out["kl"], out["ke"],
                           out["nx"], degenerate)
