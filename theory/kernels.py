r"""Infinite-width NNGP and NTK Gram matrices of any architecture of the contract (the spec format: README and :mod:`ntkcheck.spec`).

Notation.  For nodes a, b of the DAG and inputs x, x' we track, in the limit of infinite width n,

* M_ab(x, x') = lim (1/n)⟨X^a(x), X^b(x')⟩ — the (uncentred) second-moment kernel of nodes a and b;
* ν_a(x) = lim (1/n) Σ_k X^a_k(x) — the node's mean (non-zero only downstream of ``linact`` edges);
* Θ_ab(x, x') — the per-coordinate NTK cross-block.

For the contract's Gaussian family (``dense`` and ``skip`` edges) every node is a centred Gaussian field,
ν = 0 and M = Σ is its covariance.  The rules:

* node 0: ``input="dense"``: Σ₀₀ = σ_w² XXᵀ/d + σ_b², Θ₀₀ = Σ₀₀ (W₀, b₀ are trained);
  ``input="raw"``: M₀₀ = XXᵀ, ν₀ = 0, Θ₀₀ = 0 (no parameters);
* ``dense(φ)`` edge e from node i (activation, then a fresh linear map):
  S_e = σ_w² E[φ(u)φ(v)] + σ_b² with (u, v) ~ N(0, Σ_ii), and T_e = S_e + σ_w² E[φ'(u)φ'(v)] ⊙ Θ_ii;
  its cross-moment with anything else is 0 (fresh zero-mean weights);
* ``linact(φ)`` edge e from node i (linear map, then activation; Chen et al. 2022, Eq. 2): the
  pre-activation g = (σ_w/√n)W X^i + σ_b b is Gaussian with P = σ_w² M_ii + σ_b² and NTK Θ_g = P + σ_w² Θ_ii;
  S_e = E[φ(g)φ(g')], mean m_e = E[φ(g)], T_e = E[φ'(g)φ'(g')] ⊙ Θ_g. Its cross-moment with any quantity Z
  that does not contain W_e (another edge, an earlier node) is m_e ⊗ ν_Z, because g is independent of Z in
  the limit — this is the term Chen et al.'s Lemma 3.2 recursion drops;
* ``skip:β`` from node i carries β·X^i: its moments with anything are β times those of node i;
* node j (α = 1 for ``merge="sum"``, 1/#non-zero in-edges for ``"mean"``):
  M_jj = α² Σ_{e,e'→j} ⟨e, e'⟩, M_jk = α Σ_{e→j} ⟨e, node k⟩ (k ≠ j), ν_j = α Σ_e ν_e,
  Θ_jj = α² (Σ_{weighted e} T_e + Σ_{skips e,e'} ββ' Θ_{i i'}), Θ_jk = α Σ_{skips e} β Θ_{i k};
* readout φ_out on the last node: K = σ_w² E[φ_out φ_out](M_nn) + σ_b², Θ = K + σ_w² E[φ_out' φ_out'](M_nn) ⊙ Θ_nn;
  ``readout="none"``: K = M_nn and Θ = Θ_nn (the last node itself, per coordinate).

With ``cross_terms=False`` every e ≠ e' term is dropped and means are ignored: each node's kernel is the plain
sum of its incoming edges' own kernels.  That is an approximation (exact for chains and residual nets, not
for DAGs whose skip paths share ancestors, nor for nodes with two ``linact`` in-edges), labelled so in every
result; for Chen et al. 2022 DAGs it is the paper's own recursion (Lemma 3.2 per edge, Eqs. 6–10).

The cross-blocks M_ab, Θ_ab (a ≠ b) are computed lazily and only when a later node needs them, so a chain of
depth L costs L dual-kernel evaluations of N×N matrices and no cross-blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ntkcheck.io import validate_data
from ntkcheck.spec import ArchSpec, Edge, parse_spec

from .activations import get_activation
from .dual_kernels import _relu_dual_block, dual_gram_pair, mean_activation, mirror_upper, symmetrize_inplace

__all__ = ["InfiniteWidthKernels", "infinite_width_kernels", "nngp_gram", "ntk_gram", "node_kernels"]


@dataclass(frozen=True)
class InfiniteWidthKernels:
    """Result of :func:`infinite_width_kernels`.

    Attributes
    ----------
    nngp, ntk : (N, N) float64 Gram matrices of the network output (per output unit).
    layer_variances : for each weighted layer the output depends on, in spec order (``dense``/``linact`` edges
        — an edge into a node that never reaches the output is not evaluated and has no entry — then the readout),
        the vector q(l) = diag of the covariance of the pre-activation that layer's φ is applied to
        (contract §10).  For ``dense`` edges and the readout this is diag Σ of the node read; for ``linact``
        edges it is diag(σ_w² M_ii + σ_b²).
    layer_activations : the activation of each entry of ``layer_variances``.
    cross_terms : whether the exact recursion (True) or the no-cross approximation (False) was used.
    quadrature_error : the largest estimated absolute error of any numerical dual-kernel evaluation
        (0 when every activation has a closed form).  It is per evaluation, not propagated through depth.
    degenerate : the output node is identically zero (no input→output path): both kernels are 0.
    """

    nngp: np.ndarray
    ntk: np.ndarray
    spec: ArchSpec = field(repr=False)
    layer_variances: tuple[np.ndarray, ...] = field(repr=False)
    layer_activations: tuple[str, ...]
    cross_terms: bool
    quadrature_error: float
    degenerate: bool
    node_means: np.ndarray | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return "exact" if self.cross_terms else "approximation: cross terms between edges dropped"


class _Recursion:
    """Lazy, memoized evaluation of the moment recursion for one spec and one data set."""

    def __init__(self, spec: ArchSpec, X: np.ndarray, cross_terms: bool, with_ntk: bool, progress: bool = False):
        self.spec, self.X, self.cross, self.with_ntk = spec, X, cross_terms, with_ntk
        self.progress = progress
        self.N = X.shape[0]
        self.zero = np.zeros((self.N, self.N))
        self.M: dict[tuple[int, int], np.ndarray] = {}
        self.T: dict[tuple[int, int], np.ndarray] = {}
        self.nu: dict[int, np.ndarray | None] = {}
        self.edge_cache: dict[int, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = {}
        self.layer_q: dict[int, tuple[np.ndarray, str]] = {}
        self.quad_err = 0.0
        self.in_edges = {j: [(k, e) for k, e in enumerate(spec.edges) if e.dst == j and e.kind != "zero"]
                         for j in range(spec.nodes)}

    # ---- helpers -----------------------------------------------------------------------------------
    def alpha(self, j: int) -> float:
        if self.spec.merge == "mean" and self.in_edges[j]:
            return 1.0 / len(self.in_edges[j])
        return 1.0

    def _duals(self, act: str, S: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(E[φφ], E[φ'φ'] or None when the NTK is not needed) on covariance S."""
        F, Fd, err = dual_gram_pair(act, S, need_derivative=self.with_ntk, progress=self.progress)
        self.quad_err = max(self.quad_err, float(err))
        return F, Fd

    # ---- node means --------------------------------------------------------------------------------
    def mean(self, j: int) -> np.ndarray | None:
        """ν_j, or None when it is identically zero."""
        if j in self.nu:
            return self.nu[j]
        if j == 0 or not self.cross:
            self.nu[j] = None
            return None
        total = None
        for k, e in self.in_edges[j]:
            m = self.edge_mean(k, e)
            if m is not None:
                total = m.copy() if total is None else total + m
        if total is not None:
            total *= self.alpha(j)
        self.nu[j] = total
        return total

    def edge_mean(self, k: int, e: Edge) -> np.ndarray | None:
        if e.kind == "skip":
            m = self.mean(e.src)
            return None if m is None else e.scale * m
        if e.kind == "linact":
            return self.edge(k, e)[1]
        return None  # dense: zero-mean weights

    # ---- one weighted edge's own moments -------------------------------------------------------
    def edge(self, k: int, e: Edge) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(S_e, mean m_e or None, T_e or None) of a dense/linact edge, memoized by edge index."""
        if k in self.edge_cache:
            return self.edge_cache[k]
        sw, sb = self.spec.sigma_w2, self.spec.sigma_b2
        Mi = self.moment(e.src, e.src)
        if e.kind == "dense":
            S_in = Mi  # node i is a centred Gaussian field: M_ii = Σ_ii
            self.layer_q[k] = (np.diag(S_in).copy(), e.activation)
            F, Fd = self._duals(e.activation, S_in)
            F *= sw
            F += sb
            S = F
            T = None
            if self.with_ntk:
                Fd *= sw
                Fd *= self.ntk(e.src, e.src)
                Fd += S
                T = Fd
            out = (S, None, T)
        else:  # linact
            P = sw * Mi + sb
            self.layer_q[k] = (np.diag(P).copy(), e.activation)
            S, Fd = self._duals(e.activation, P)
            m = mean_activation(e.activation, np.diag(P)) if self.cross else None
            if m is not None and not np.any(m):
                m = None
            T = None
            if self.with_ntk:
                T = Fd * (P + sw * self.ntk(e.src, e.src))
            out = (S, m, T)
        self.edge_cache[k] = out
        return out

    # ---- second moments ----------------------------------------------------------------------------
    def moment(self, a: int, b: int) -> np.ndarray:
        """M_ab (N×N), with M_ba = M_abᵀ."""
        if a < b:
            return self.moment(b, a).T
        key = (a, b)
        if key in self.M:
            return self.M[key]
        if a in self.spec.zero_nodes or b in self.spec.zero_nodes:
            val = self.zero
        elif a == 0:
            X, d = self.X, self.X.shape[1]
            G = X @ X.T
            val = G if self.spec.input == "raw" else self.spec.sigma_w2 * G / d + self.spec.sigma_b2
        elif a == b:
            val = self._diag_moment(a)
        else:
            if not self.cross:
                raise RuntimeError("cross-blocks are not used without cross terms")
            val = self._cross_moment(a, b)
        self.M[key] = val
        return val

    def _diag_moment(self, j: int) -> np.ndarray:
        edges = self.in_edges[j]
        terms = [e.scale ** 2 * self.moment(e.src, e.src) if e.kind == "skip" and e.scale != 1.0
                 else self.moment(e.src, e.src) if e.kind == "skip" else self.edge(k, e)[0]
                 for k, e in edges]
        if self.cross:
            for p, (k, e) in enumerate(edges):
                for k2, e2 in edges[p + 1:]:
                    c = self._edge_pair(k, e, k2, e2)
                    if c is not None:
                        terms += [c, c.T]
        return _scaled_sum(terms, self.alpha(j) ** 2, self.zero)

    def _edge_pair(self, k: int, e: Edge, k2: int, e2: Edge) -> np.ndarray | None:
        """⟨e, e'⟩ for two distinct edges into the same node (None when zero)."""
        if e.kind == "dense" or e2.kind == "dense":
            return None
        if e.kind == "skip" and e2.kind == "skip":
            return e.scale * e2.scale * self.moment(e.src, e2.src)
        m1, m2 = self.edge_mean(k, e), self.edge_mean(k2, e2)
        if m1 is None or m2 is None:
            return None
        return np.outer(m1, m2)

    def _cross_moment(self, a: int, b: int) -> np.ndarray:
        """M_ab for a > b: node a's in-edges against node b (which contains none of their weights)."""
        total = np.zeros((self.N, self.N))
        nub = self.mean(b)
        for k, e in self.in_edges[a]:
            if e.kind == "skip":
                total += e.scale * self.moment(e.src, b)
            elif e.kind == "linact" and nub is not None:
                m = self.edge_mean(k, e)
                if m is not None:
                    total += np.outer(m, nub)
        return self.alpha(a) * total

    # ---- NTK ---------------------------------------------------------------------------------------
    def ntk(self, a: int, b: int) -> np.ndarray:
        if a < b:
            return self.ntk(b, a).T
        key = (a, b)
        if key in self.T:
            return self.T[key]
        if a in self.spec.zero_nodes or b in self.spec.zero_nodes:
            val = self.zero
        elif a == 0:
            val = self.zero if self.spec.input == "raw" else self.moment(0, 0)
        elif a == b:
            edges = self.in_edges[a]
            terms = [(e.scale ** 2 * self.ntk(e.src, e.src) if e.scale != 1.0 else self.ntk(e.src, e.src))
                     if e.kind == "skip" else self.edge(k, e)[2] for k, e in edges]
            if self.cross:
                skips = [e for _, e in edges if e.kind == "skip"]
                for p, e in enumerate(skips):
                    for e2 in skips[p + 1:]:
                        c = e.scale * e2.scale * self.ntk(e.src, e2.src)
                        terms += [c, c.T]
            val = _scaled_sum(terms, self.alpha(a) ** 2, self.zero)
        else:
            total = np.zeros((self.N, self.N))
            for _, e in self.in_edges[a]:
                if e.kind == "skip":
                    total += e.scale * self.ntk(e.src, b)
            val = self.alpha(a) * total
        self.T[key] = val
        return val


def _scaled_sum(terms: list[np.ndarray], scale: float, zero: np.ndarray) -> np.ndarray:
    """scale·Σ terms without copying a lone term (cached arrays are never modified in place)."""
    if not terms:
        return zero
    if len(terms) == 1 and scale == 1.0:
        return terms[0]
    total = terms[0] + terms[1] if len(terms) > 1 else terms[0].copy()
    for t in terms[2:]:
        total += t
    if scale != 1.0:
        total *= scale
    return total


def _fused_chain_plan(spec: ArchSpec) -> list[tuple[float, float, float]] | None:
    """If ``spec`` is a chain or residual net of (leaky) ReLU dense layers with a (leaky) ReLU readout, return
    per layer (slope a, skip scale β or 0, merge factor α); else None.  Such nets need no cross-blocks, so every
    kernel is a symmetric elementwise map of the previous one and can be updated in place (see
    :func:`_fused_chain_kernels`)."""
    if spec.input != "dense" or spec.readout == "none":
        return None
    out_act = get_activation(spec.readout)
    if out_act.family not in ("relu", "leaky_relu"):
        return None
    plan = []
    for j in range(1, spec.nodes):
        live = [e for e in spec.incoming(j) if e.kind != "zero"]
        dense = [e for e in live if e.kind == "dense"]
        skips = [e for e in live if e.kind == "skip"]
        if (len(dense) != 1 or len(skips) > 1 or len(live) != len(dense) + len(skips)
                or any(e.src != j - 1 for e in live)):
            return None
        act = get_activation(dense[0].activation)
        if act.family not in ("relu", "leaky_relu"):
            return None
        alpha = 1.0 / len(live) if spec.merge == "mean" else 1.0
        plan.append((act.param or 0.0, skips[0].scale if skips else 0.0, alpha))
    plan.append((out_act.param or 0.0, 0.0, 1.0))  # the readout
    return plan


def _fused_chain_kernels(spec: ArchSpec, X: np.ndarray, plan, with_ntk: bool):
    """NNGP and NTK of a (leaky) ReLU chain/residual net, computed in place on the upper triangle.

    Per layer with pre-activation covariance M (diagonal q) and NTK T, slope a, skip β and merge factor α:
    with ρ = M_ij/√(q_i q_j) and θ = arccos ρ (arc-cosine kernels, module :mod:`.dual_kernels`),

        M' = α²[σ_w²((1−a)²√(q_i q_j)(sin θ + (π−θ)cos θ)/(2π) + a M) + σ_b² + β² M],
        T' = α²[σ_w²((1−a)²(π−θ)/(2π) + a) T + (M' before the skip term) + β² T].

    Each entry depends only on the same entry and on the diagonal, which is kept exactly in a separate
    vector (ρ = 1 there), so the update can overwrite M and T block-row by block-row; the lower triangle is
    filled once at the end.  The readout is the last layer with β = 0.  Same values as the general recursion
    (tested), about 5× less memory traffic.
    """
    sw, sb = spec.sigma_w2, spec.sigma_b2
    N, d = X.shape
    M = sw * (X @ X.T) / d + sb  # the same expression as the general recursion (bit-identical diagonal)
    T = M.copy() if with_ntk else None
    q = np.diag(M).copy()
    tq = q.copy()
    rows = max(1, 32768 // max(N, 1))
    layer_q = []
    for a, beta, alpha in plan:
        layer_q.append(q.copy())
        sq = np.sqrt(q)
        with np.errstate(divide="ignore"):
            inv = np.where(sq > 0, 1.0 / np.where(sq > 0, sq, 1.0), 0.0)
        a2 = alpha * alpha
        for r0 in range(0, N, rows):
            r1 = min(N, r0 + rows)
            Mb = M[r0:r1, r0:]
            W, P = _relu_dual_block(Mb, inv[r0:r1], inv[r0:], sq[r0:r1], sq[r0:], a, sw, with_ntk)
            if sb:
                W += sb
            if with_ntk:
                Tb = T[r0:r1, r0:]
                P *= Tb  # σ_w² E[φ'φ'] ⊙ T
                P += W
                if beta:
                    P += (beta * beta) * Tb
                if a2 != 1.0:
                    P *= a2
                Tb[...] = P
            if beta:
                W += (beta * beta) * Mb
            if a2 != 1.0:
                W *= a2
            Mb[...] = W
        # exact diagonal: ρ = 1, θ = 0
        qn = sw * ((0.5 * (1 - a) ** 2 + a) * q) + sb + beta * beta * q
        if a2 != 1.0:
            qn = a2 * qn
        idx = np.arange(N)
        M[idx, idx] = qn
        if with_ntk:
            dphi = np.where(q > 0, 0.5 * (1 - a) ** 2 + a, 0.25 * (1 - a) ** 2 + a)
            tq = a2 * (sw * (0.5 * (1 - a) ** 2 + a) * q + sb + sw * dphi * tq + beta * beta * tq)
            T[idx, idx] = tq
        q = qn
    mirror_upper(M)
    if with_ntk:
        mirror_upper(T)
    else:
        T = np.full((N, N), np.nan)
    return M, T, layer_q


def _prepare(spec: Any, X: Any) -> tuple[ArchSpec, np.ndarray]:
    spec = parse_spec(spec)
    X = validate_data(X, allow_duplicates=True)
    return spec, X


def infinite_width_kernels(spec: Any, X: Any, *, cross_terms: bool = True, ntk: bool = True,
                           progress: bool = False) -> InfiniteWidthKernels:
    r"""Exact infinite-width NNGP K and NTK Θ of ``spec`` on the rows of ``X`` (module docstring).

    Parameters
    ----------
    spec : ArchSpec, dict, JSON string, path or NB201 string (parsed with :func:`ntkcheck.spec.parse_spec`).
    X : (N, d) float64 data; rows need not be distinct (duplicate rows give a singular Gram matrix).
    cross_terms : False drops the cross terms between edges into a node (a labelled approximation).
    ntk : False skips the NTK (returns ``ntk`` = NaN matrix) for speed when only the NNGP is needed.
    progress : show a progress bar (stderr, only once a dual-kernel evaluation has run for 2 s).
    """
    spec, X = _prepare(spec, X)
    plan = _fused_chain_plan(spec)
    if plan is not None:
        K, Th, q_layers = _fused_chain_kernels(spec, X, plan, ntk)
        acts = tuple(e.activation for e in spec.edges if e.kind == "dense") + (spec.readout,)
        return InfiniteWidthKernels(nngp=K, ntk=Th, spec=spec, layer_variances=tuple(q_layers),
                                    layer_activations=acts, cross_terms=cross_terms, quadrature_error=0.0,
                                    degenerate=spec.is_degenerate, node_means=None)
    rec = _Recursion(spec, X, cross_terms, ntk, progress)
    n = spec.output_node
    N = X.shape[0]
    sw, sb = spec.sigma_w2, spec.sigma_b2
    Mn = rec.moment(n, n)
    q_layers = []
    acts = []
    for k in sorted(rec.layer_q):
        q_layers.append(rec.layer_q[k][0])
        acts.append(rec.layer_q[k][1])
    if spec.readout == "none":
        K = Mn.copy()
        Th = rec.ntk(n, n).copy() if ntk else np.full((N, N), np.nan)
    else:
        q_layers.append(np.diag(Mn).copy())
        acts.append(spec.readout)
        F, Fd = rec._duals(spec.readout, Mn)
        K = F
        K *= sw
        K += sb
        if ntk:
            Fd *= sw
            Fd *= rec.ntk(n, n)
            Fd += K
            Th = Fd
        else:
            Th = np.full((N, N), np.nan)
    K = _symmetrize(K)
    Th = _symmetrize(Th)
    return InfiniteWidthKernels(nngp=K, ntk=Th, spec=spec, layer_variances=tuple(q_layers),
                                layer_activations=tuple(acts), cross_terms=cross_terms,
                                quadrature_error=rec.quad_err, degenerate=spec.is_degenerate,
                                node_means=rec.mean(n) if cross_terms else None)


def _symmetrize(A: np.ndarray) -> np.ndarray:
    """(A + Aᵀ)/2 in place (removes rounding asymmetry), tile by tile without a full copy."""
    if A.ndim != 2:
        A += np.swapaxes(A, -1, -2).copy()
        A *= 0.5
        return A
    return symmetrize_inplace(A)


def nngp_gram(spec: Any, X: Any, *, cross_terms: bool = True) -> np.ndarray:
    """Infinite-width NNGP Gram matrix K (N×N) of the network output; see :func:`infinite_width_kernels`."""
    return infinite_width_kernels(spec, X, cross_terms=cross_terms, ntk=False).nngp


def ntk_gram(spec: Any, X: Any, *, cross_terms: bool = True) -> np.ndarray:
    """Infinite-width NTK Gram matrix Θ (N×N) of the network output; see :func:`infinite_width_kernels`."""
    return infinite_width_kernels(spec, X, cross_terms=cross_terms).ntk


def node_kernels(spec: Any, X: Any, *, cross_terms: bool = True) -> dict[str, dict[int, np.ndarray]]:
    """Per-node second moments M_jj, NTKs Θ_jj and means ν_j (for diagnostics and the connectivity checks)."""
    spec, X = _prepare(spec, X)
    rec = _Recursion(spec, X, cross_terms, True)
    out: dict[str, dict[int, np.ndarray]] = {"nngp": {}, "ntk": {}, "mean": {}}
    for j in range(spec.nodes):
        out["nngp"][j] = rec.moment(j, j)
        out["ntk"][j] = rec.ntk(j, j)
        m = rec.mean(j)
        out["mean"][j] = np.zeros(X.shape[0]) if m is None else m
    return out
