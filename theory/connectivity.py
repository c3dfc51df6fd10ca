r"""Connectivity of DAG cells (Chen, Huang, Gong, Hanin, Wang 2022, "Deep Architecture Connectivity Matters
for Its Convergence", NeurIPS 2022, arXiv 2205.05662).  Equation numbers follow the submission version as
stated in Chen, Huang, Gong, Hanin & Wang, NeurIPS 2022, and its released code.

Contents
--------
* Lemma 3.2 maps: :func:`f_arccos` (degree-1 arc-cosine map with c_σ = 2), :func:`h_paper` (the paper's
  written form of the same map), :func:`f_iter` (d-fold composition f^d) and :func:`F_map` (the matrix map
  F(K)_ij = √(K_ii K_jj)·f(K_ij/√(K_ii K_jj)), positively 1-homogeneous).
* :func:`chen_exact_reference` — **the second method**: an independent, deliberately plain implementation
  of the exact infinite-width recursion of the paper's network (node means ν, edge means μ,
  node-to-node cross kernels K^{uv}) and, with ``cross_terms=False``, of the paper's own recursion
  (Lemma 3.2 per edge, Eq. 6/8/10, sum over incoming edges).  It also carries the per-coordinate NTK of
  every node (used by :mod:`ntkcheck.empirical.training` to predict gradient-descent curves).  The
  project's engine is :func:`ntkcheck.theory.kernels.infinite_width_kernels`; tests compare the two.
* Closed forms of the three Fig. 3 DAGs (Eqs. 7, 9, 11 and the exact DAG#2/#3 forms with node means).
* Bounds: :func:`lemma33_bound` (Lemma 3.3, 2×2 principal blocks) and :func:`eq12_bound` (Eq. 12, the
  path-sum bound P − Σ_p f^{d_p}(ρ_ij) minimised over pairs).
* Effective depth/width (Definition 4.1, Eq. 13): :func:`dag_paths`, :func:`depth_width` for any DAG
  spec, :func:`nb201_depth_width` (the official code's route rule for NB201 strings) and
  :func:`darts_depth_width` (the official code's affinity-matrix rule for DARTS/NDS normal cells).
* The NAS pre-filter (§5.3): :func:`filter_code` (constants hard-coded in the official code) and
  :func:`filter_paper` (centre and fraction of the radius over a space, as the paper states it).
* Whole NB201 space: :func:`nb201_connectivity_table` ((d̄, m̄), Eq. 12, exact and paper λ_min of all
  15,625 cells, deduplicated to the 3^6 = 729 distinct "Chen analog" cells).

Conventions: per-coordinate kernels K^{uv}_ij = lim (1/m)⟨X^u_i, X^v_j⟩, node means
ν^v_i = lim (1/m) Σ_k X^v_{i,k}; a linear+ReLU edge from s is Y = φ((σ_w/√m) W X^s + σ_b b), φ = ReLU
(the spec's ``linact:relu``; σ_w² = 2, σ_b = 0 is the paper's √(2/m)·ReLU(W x)).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import (NB201_EDGES, NB201_OPS, ArchSpec, chen_dag_spec, nb201_string, parse_nb201,
                           parse_spec)

__all__ = [
    "f_arccos", "f_prime", "h_paper", "f_iter", "F_map",
    "ChenKernels", "chen_exact_reference", "chen_kernels",
    "FIG3_DAGS", "fig3_paper_2x2", "fig3_exact_2x2", "dag2_exact_kernel", "dag3_exact_kernel",
    "as_spec", "lemma33_bound", "eq12_bound", "eq12_pairwise", "lambda_min",
    "dag_paths", "depth_width", "nb201_routes", "nb201_depth_width", "darts_depth_width",
    "CODE_WINDOW_NB201", "PAPER_WINDOW_NB201", "PAPER_WINDOW_DARTS", "space_window", "filter_code",
    "filter_paper", "nb201_chen_analog", "nb201_chen_spec", "BoundReport", "bound_report",
    "nb201_connectivity_table", "unit_rows", "rank_correlations", "versions", "all_nb201_op_tuples",
]

# ---------------------------------------------------------------------------------------------------
# Lemma 3.2: the arc-cosine map
# ---------------------------------------------------------------------------------------------------


def f_arccos(rho: Any) -> np.ndarray:
    r"""Degree-1 arc-cosine map with c_σ = 2 (Lemma 3.2):

    f(ρ) = (√(1 − ρ²) + (π − arccos ρ)·ρ)/π,  so f(1) = 1, f(0) = 1/π, f(−1) = 0.

    It is E[√2 ReLU(u)·√2 ReLU(v)] for (u, v) standard Gaussian with correlation ρ.  Inputs are clipped to
    [−1, 1] (rounding can push a correlation to 1 + 1e-16).
    """
    r = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    return (np.sqrt(np.maximum(1.0 - r * r, 0.0)) + (np.pi - np.arccos(r)) * r) / np.pi


def f_prime(rho: Any) -> np.ndarray:
    r"""f′(ρ) = (π − arccos ρ)/π = 2·E[ReLU′(u) ReLU′(v)] (the NTK's derivative kernel, c_σ = 2)."""
    r = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    return (np.pi - np.arccos(r)) / np.pi


def h_paper(C: Any) -> np.ndarray:
    r"""The paper's written form of the Lemma 3.2 map: h(C) = (2C·arcsin C + 2√(1 − C²) + πC)/(2π).

    Equal to :func:`f_arccos` (arcsin C = π/2 − arccos C); checked on a grid in the tests (claim C1).
    """
    c = np.clip(np.asarray(C, dtype=np.float64), -1.0, 1.0)
    return (2 * c * np.arcsin(c) + 2 * np.sqrt(np.maximum(1 - c * c, 0.0)) + np.pi * c) / (2 * np.pi)


def f_iter(rho: Any, d: int) -> np.ndarray:
    """f^d(ρ): the d-fold composition (f^0 = identity). Note f³ means f(f(f(·))), not a cube."""
    out = np.asarray(rho, dtype=np.float64)
    for _ in range(int(d)):
        out = f_arccos(out)
    return out


def F_map(K: np.ndarray) -> np.ndarray:
    r"""F(K)_ij = √(K_ii K_jj)·f(K_ij/√(K_ii K_jj)) (Lemma 3.2, Eq. 6), F(cK) = cF(K) for c > 0.

    Rows with K_ii = 0 (a zero field) give 0.
    """
    K = np.asarray(K, dtype=np.float64)
    s = np.sqrt(np.maximum(np.diag(K), 0.0))
    ss = np.outer(s, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.where(ss > 0, K / np.where(ss > 0, ss, 1.0), 0.0)
    return ss * f_arccos(C)


# ---------------------------------------------------------------------------------------------------
# The second method: exact recursion with means and cross kernels
# ---------------------------------------------------------------------------------------------------


@dataclass
class ChenKernels:
    """Output of :func:`chen_exact_reference`.

    ``K[v]``: per-coordinate NNGP of node v (N×N); ``nu[v]``: node means (N,); ``Kx[(u, v)]``: cross kernel
    K^{uv} for u < v; ``ntk[v]``: per-coordinate NTK of node v w.r.t. all edge weights (NTK
    parametrization); ``mode``: ``"exact"`` or ``"paper"``.
    """

    K: list[np.ndarray]
    nu: list[np.ndarray]
    Kx: dict[tuple[int, int], np.ndarray]
    ntk: list[np.ndarray]
    mode: str

    @property
    def nngp(self) -> np.ndarray:
        """K^(H): the output node's NNGP (Theorem 3.1's Gram matrix)."""
        return self.K[-1]

    def readout_ntk(self, sigma_v2: float = 1.0) -> np.ndarray:
        r"""NTK of the scalar readout f = (σ_v/√m) v·X^(H) with v ~ N(0, 1) trained too:
        Θ_f = σ_v²(K^(H) + Θ^(H)) (readout block + the node's own NTK)."""
        return sigma_v2 * (self.K[-1] + self.ntk[-1])


def _relu_edge(Ks: np.ndarray, Ts: np.ndarray, sw2: float, sb2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kernel, mean, NTK) of one edge φ((σ_w/√m) W X^s + σ_b b), φ = ReLU, in the per-coordinate limit.

    Pre-activation covariance Q = σ_w² K^s + σ_b²; E[ReLU(u)ReLU(v)] = √(Q_ii Q_jj)·f(c)/2 with c the
    correlation (so with σ_w² = 2, σ_b = 0 the kernel is F(K^s)); mean E[ReLU(u)] = √(Q_ii/(2π));
    NTK: Θ_u = σ_w²(K^s + Θ^s) + σ_b², Θ_Y = E[ReLU′ReLU′]⊙Θ_u = (f′(c)/2)⊙Θ_u.
    """
    Q = sw2 * Ks + sb2
    s = np.sqrt(np.maximum(np.diag(Q), 0.0))
    ss = np.outer(s, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(ss > 0, Q / np.where(ss > 0, ss, 1.0), 0.0)
    kern = 0.5 * ss * f_arccos(c)
    mean = s / math.sqrt(2 * math.pi)
    ntk = 0.5 * f_prime(c) * (sw2 * (Ks + Ts) + sb2) * (ss > 0)
    return kern, mean, ntk


def chen_exact_reference(spec: ArchSpec | Mapping | str, K0: np.ndarray, nu0: np.ndarray | None = None, *,
                         cross_terms: bool = True) -> ChenKernels:
    r"""Infinite-width kernels of a Chen et al. DAG, computed directly from the exact recursion (second method).

    ``spec``: edges ``zero``, ``skip`` (scale β allowed), ``linact:relu``; σ_w², σ_b² from the spec.
    ``K0``: the input node's per-coordinate kernel (for ``input="raw"`` data, XXᵀ); ``nu0``: its means
    (0 for centred inputs — the default).

    Exact recursion (``cross_terms=True``), for node v with incoming edges e:

    * edge mean μ^e = E[φ(u)] for a linear edge (√(K^s_ii/π) in the paper's setting), β ν^s for a skip;
    * ν^v = Σ_e μ^e;
    * K^v = Σ_{e,e′} ⟨e, e′⟩ with ⟨e, e⟩ = F(K^s) (linear) or β²K^s (skip); two distinct linear edges:
      μ^e μ^{e′ᵀ} (independent weights, non-zero means); linear e and skip from t: μ^e ν^{tᵀ}; skips from s
      and t: β β′ K^{st};
    * K^{uv} (u < v) = Σ_e [β K^{ut} for a skip from t; ν^u μ^{eᵀ} for a linear edge];
    * NTK (NTK parametrization, all edge weights trained): Θ^v = Σ_linear Θ_Y + Σ_{skips s, t} β β′ Θ^{st};
      distinct linear edges have no NTK cross term (independent zero-mean weights).

    Paper recursion (``cross_terms=False``; Lemma 3.2 per edge, Eqs. 6, 8, 10): K^v = Σ_e ⟨e, e⟩ only,
    means and cross kernels dropped.
    """
    spec = as_spec(spec)
    K0 = np.asarray(K0, dtype=np.float64)
    N = K0.shape[0]
    if K0.shape != (N, N):
        raise NtkcheckError(f"K0 must be square, got shape {K0.shape}")
    nu0 = np.zeros(N) if nu0 is None else np.asarray(nu0, dtype=np.float64).reshape(N)
    for e in spec.edges:
        if e.kind == "dense" or (e.kind == "linact" and e.activation != "relu"):
            raise NtkcheckError(f"chen_exact_reference covers zero, skip and linact:relu edges, not {e.op!r}")
    sw2, sb2 = spec.sigma_w2, spec.sigma_b2
    n = spec.nodes
    K: list[np.ndarray] = [K0]
    nu: list[np.ndarray] = [nu0 if cross_terms else np.zeros(N)]
    T: list[np.ndarray] = [np.zeros((N, N))]  # the input has no trainable parameters
    Kx: dict[tuple[int, int], np.ndarray] = {}
    Tx: dict[tuple[int, int], np.ndarray] = {}

    def kx(u: int, v: int) -> np.ndarray:  # cross kernel K^{uv}, any order
        if u == v:
            return K[u]
        return Kx[(u, v)] if u < v else Kx[(v, u)].T

    def tx(u: int, v: int) -> np.ndarray:
        if u == v:
            return T[u]
        return Tx[(u, v)] if u < v else Tx[(v, u)].T

    for v in range(1, n):
        ins = [e for e in spec.incoming(v) if e.kind != "zero"]
        # per edge: (kind, source, scale, own kernel, mean, own NTK)
        info = []
        for e in ins:
            if e.kind == "skip":
                info.append(("skip", e.src, e.scale, None, e.scale * nu[e.src], None))
            else:
                kern, mean, ntk = _relu_edge(K[e.src], T[e.src], sw2, sb2)
                info.append(("lin", e.src, 1.0, kern, mean if cross_terms else np.zeros(N), ntk))
        Kv = np.zeros((N, N))
        Tv = np.zeros((N, N))
        for a, ea in enumerate(info):
            for b, eb in enumerate(info):
                if a == b:
                    if ea[0] == "lin":
                        Kv += ea[3]
                        Tv += ea[5]
                    else:
                        Kv += ea[2] ** 2 * K[ea[1]]
                        Tv += ea[2] ** 2 * T[ea[1]]
                    continue
                if not cross_terms:
                    continue
                if ea[0] == "skip" and eb[0] == "skip":
                    Kv += ea[2] * eb[2] * kx(ea[1], eb[1])
                    Tv += ea[2] * eb[2] * tx(ea[1], eb[1])
                else:  # at least one linear edge: product of means (independent zero-mean weights)
                    Kv += np.outer(ea[4], eb[4])
        K.append(Kv)
        T.append(Tv)
        nu.append(sum((i[4] for i in info), np.zeros(N)))
        for u in range(v):
            C = np.zeros((N, N))
            Ct = np.zeros((N, N))
            if cross_terms:
                for ea in info:
                    if ea[0] == "skip":
                        C += ea[2] * kx(u, ea[1])
                        Ct += ea[2] * tx(u, ea[1])
                    else:
                        C += np.outer(nu[u], ea[4])
            Kx[(u, v)] = C
            Tx[(u, v)] = Ct
    return ChenKernels(K=K, nu=nu, Kx=Kx, ntk=T, mode="exact" if cross_terms else "paper")


def as_spec(obj: ArchSpec | Mapping | str) -> ArchSpec:
    """Like :func:`ntkcheck.spec.parse_spec`, also accepting a bare Chen DAG string such as ``"2_21_112"``."""
    if isinstance(obj, str) and obj.strip() and set(obj.strip()) <= set("0123456789_"):
        return chen_dag_spec(obj.strip())
    return parse_spec(obj)


def _check_chen_spec(spec: ArchSpec) -> None:
    bad = [e.op for e in spec.edges if e.kind not in ("zero", "skip", "linact")]
    if bad:
        raise NtkcheckError(f"Chen et al. theory covers zero, skip and linact edges only; this cell has {bad[0]!r}")


def unit_rows(X: np.ndarray, *, center: bool = False, warn: bool = True) -> np.ndarray:
    r"""Rows scaled to unit norm (optionally centred per sample first): Remark 3.4's "centered normalized
    inputs", K_ii^(0) = 1.  Emits a :class:`UserWarning` when the rows were not unit-norm already."""
    import warnings

    X = np.asarray(X, dtype=np.float64)
    if center:
        X = X - X.mean(axis=1, keepdims=True)
    nrm = np.linalg.norm(X, axis=1)
    if np.any(nrm == 0):
        raise NtkcheckError("data has an all-zero row (after centring); it cannot be normalised")
    if warn and not np.allclose(nrm, 1.0, rtol=0, atol=1e-12):
        warnings.warn("data rows are not unit-norm; normalising them (Chen et al. Remark 3.4 assumes K_ii^(0) = 1)",
                      stacklevel=2)
    return X / nrm[:, None]


def chen_kernels(spec: ArchSpec | Mapping | str, X: np.ndarray, *, cross_terms: bool = True,
                 engine: str = "project") -> np.ndarray:
    """K^(H) (the output node's NNGP) of a Chen DAG on raw data X (K^(0) = XXᵀ, centred: ν^0 = 0).

    ``engine="project"`` uses :func:`ntkcheck.theory.kernels.infinite_width_kernels` (the project's engine;
    ``cross_terms=False`` is the paper's recursion); ``engine="reference"`` uses
    :func:`chen_exact_reference` (the independent second method).
    """
    spec = as_spec(spec)
    _check_chen_spec(spec)
    X = np.asarray(X, dtype=np.float64)
    if engine == "reference":
        return chen_exact_reference(spec, X @ X.T, cross_terms=cross_terms).nngp
    if engine != "project":
        raise NtkcheckError(f"engine must be 'project' or 'reference', got {engine!r}")
    from ntkcheck.theory.kernels import infinite_width_kernels

    spec = spec if spec.readout == "none" else spec.with_(readout="none")
    return np.asarray(infinite_width_kernels(spec, X, cross_terms=cross_terms).nngp, dtype=np.float64)


# ---------------------------------------------------------------------------------------------------
# Fig. 3 closed forms (Eqs. 7, 9, 11)
# ---------------------------------------------------------------------------------------------------

#: The three worked DAGs of Fig. 3 in the official code's string format.
FIG3_DAGS = {"dag1": "2_02_002", "dag2": "1_01_222", "dag3": "2_21_112"}


def fig3_paper_2x2(rho: Any) -> dict[str, np.ndarray]:
    r"""Paper-rule λ_min of the 2×2 block [[P, K_ij], [K_ij, P]] for the Fig. 3 DAGs, unit-diagonal input:
    DAG#1 1 − f³(ρ) (Eq. 7), DAG#2 3(1 − f(ρ)) (Eq. 9), DAG#3 4 − ρ − f(ρ) − 2f²(ρ) (Eq. 11)."""
    r = np.asarray(rho, dtype=np.float64)
    f1 = f_arccos(r)
    return {"dag1": 1 - f_iter(r, 3), "dag2": 3 * (1 - f1), "dag3": 4 - r - f1 - 2 * f_iter(r, 2)}


def dag2_exact_kernel(K0: np.ndarray) -> np.ndarray:
    """Exact K^3 of DAG#2 ``1_01_222`` for unit-diagonal K0: 3F(K0) + (6/π)·11ᵀ."""
    return 3 * F_map(K0) + 6 / np.pi


def dag3_exact_kernel(K0: np.ndarray, nu0: float = 0.0) -> np.ndarray:
    r"""Exact K^3 of DAG#3 ``2_21_112`` for unit-diagonal K0 and equal input means ν^0:

    K^3_ij = (2 + 2/π)·h((f(ρ) + 1/π)/(1 + 1/π)) + f(ρ) + ρ + c,
    c = 2√(2 + 2/π)/π + 2ν^0(√((2 + 2/π)/π) + 1/√π).
    """
    rho = np.asarray(K0, dtype=np.float64)
    a = 2 + 2 / np.pi
    fr = f_arccos(rho)
    c = 2 * math.sqrt(a) / np.pi + 2 * nu0 * (math.sqrt(a / np.pi) + 1 / math.sqrt(np.pi))
    return a * f_arccos((fr + 1 / np.pi) / (1 + 1 / np.pi)) + fr + rho + c


def fig3_exact_2x2(rho: Any) -> dict[str, np.ndarray]:
    r"""Exact-kernel 2×2 λ_min (diag − offdiag for equal diagonals) of the Fig. 3 DAGs, centred unit input:
    DAG#1 1 − f³(ρ); DAG#2 3(1 − f(ρ)); DAG#3 (2 + 2/π)(1 − h((f + 1/π)/(1 + 1/π))) + (1 − f) + (1 − ρ)."""
    r = np.asarray(rho, dtype=np.float64)
    f1 = f_arccos(r)
    a = 2 + 2 / np.pi
    return {"dag1": 1 - f_iter(r, 3), "dag2": 3 * (1 - f1),
            "dag3": a * (1 - f_arccos((f1 + 1 / np.pi) / (1 + 1 / np.pi))) + (1 - f1) + (1 - r)}


# ---------------------------------------------------------------------------------------------------
# Bounds: Lemma 3.3 and Eq. 12
# ---------------------------------------------------------------------------------------------------


def lambda_min(K: np.ndarray) -> tuple[float, float]:
    """(λ_min, error bound) of a symmetric matrix, via the project's certified eigensolver."""
    from ntkcheck.theory.spectra import certified_eigvalsh

    K = np.asarray(K, dtype=np.float64)
    s = certified_eigvalsh(K)
    return float(s.lambda_min), float(s.error_bound)


def lemma33_bound(K: np.ndarray) -> float:
    r"""Lemma 3.3: λ_min(K) ≤ min_{i≠j} λ_min([[K_ii, K_ij], [K_ji, K_jj]]) (Cauchy interlacing).

    The 2×2 λ_min is (a + b)/2 − √(((a − b)/2)² + K_ij²).  Returns +inf for N = 1 (no pair).
    """
    K = np.asarray(K, dtype=np.float64)
    N = K.shape[0]
    if N < 2:
        return math.inf
    d = np.diag(K)
    a, b = d[:, None], d[None, :]
    lam = (a + b) / 2 - np.sqrt(((a - b) / 2) ** 2 + K * K.T)
    lam[np.eye(N, dtype=bool)] = np.inf
    return float(lam.min())


def eq12_pairwise(depths: Sequence[int], rho: Any) -> np.ndarray:
    r"""Eq. 12's per-pair value P − Σ_{p=1..P} f^{d_p}(ρ) (unit-diagonal input kernel)."""
    r = np.asarray(rho, dtype=np.float64)
    depths = list(depths)
    out = np.full(r.shape, float(len(depths)))
    cache: dict[int, np.ndarray] = {}
    for d in depths:
        if d not in cache:
            cache[d] = f_iter(r, d)
        out = out - cache[d]
    return out


def eq12_bound(depths: Sequence[int], K0: np.ndarray) -> float:
    r"""Eq. 12: λ_min(K^(H)) ≤ min_{i≠j} (P − Σ_p f^{d_p}(K^(0)_ij)), K^(0) the unit-diagonal input kernel.

    Off-diagonals are read as correlations ρ_ij = K_ij/√(K_ii K_jj) (identical for unit-norm data).
    Returns +inf for N = 1 and 0.0 for P = 0 (no path: not applicable, the caller reports it so).
    Caveat: where Σ_p f^{d_p}(ρ) < 0, P − Σ is the *larger* 2×2 eigenvalue, and for mixed-depth
    DAGs Eq. 12 can fall below the recursion's 2×2 value; it is a formula, not a guaranteed bound.
    """
    K0 = np.asarray(K0, dtype=np.float64)
    N = K0.shape[0]
    if N < 2:
        return math.inf
    s = np.sqrt(np.diag(K0))
    C = K0 / np.outer(s, s)
    iu = np.triu_indices(N, 1)
    return float(eq12_pairwise(depths, C[iu]).min())


# ---------------------------------------------------------------------------------------------------
# Paths, effective depth and width (Definition 4.1, Eq. 13)
# ---------------------------------------------------------------------------------------------------


def dag_paths(spec: ArchSpec | Mapping | str) -> list[tuple[tuple[int, int, str], ...]]:
    """Every directed path 0 → output through non-``zero`` edges, as tuples of (src, dst, op).

    Enumerated by depth-first search from node 0 (independently of ``ArchSpec.path_depths``); parallel
    edges give separate paths.
    """
    spec = as_spec(spec)
    out_edges: dict[int, list] = {}
    for e in spec.edges:
        if e.kind != "zero":
            out_edges.setdefault(e.src, []).append(e)
    paths: list[tuple[tuple[int, int, str], ...]] = []

    def walk(node: int, acc: list) -> None:
        if node == spec.output_node:
            paths.append(tuple(acc))
            return
        for e in out_edges.get(node, []):
            walk(e.dst, acc + [(e.src, e.dst, e.op)])

    walk(0, [])
    return paths


def _op_depth(op: str) -> int:
    kind = op.split(":")[0]
    return int(kind in ("dense", "linact"))


def _dbar_mbar(depths: Sequence[int]) -> tuple[float, float]:
    """Eq. 13 with the official code's edge cases: d̄ = Σd/P, m̄ = #(d > 0)/d̄; m̄ = 0 when d̄ = 0 and
    (0, 0) when there is no path."""
    depths = list(depths)
    if not depths:
        return 0.0, 0.0
    dbar = sum(depths) / len(depths)
    if dbar == 0:
        return 0.0, 0.0
    return dbar, sum(d > 0 for d in depths) / dbar


def depth_width(spec: ArchSpec | Mapping | str) -> dict[str, Any]:
    """Paths, per-path depths d_p (# weighted edges), d̄ and m̄ (Eq. 13) of a DAG spec.

    Zero edges cut paths; skip (and NB201's pooling, which the analog maps to skip) count depth 0.
    """
    paths = dag_paths(spec)
    depths = [sum(_op_depth(op) for _, _, op in p) for p in paths]
    dbar, mbar = _dbar_mbar(depths)
    return {"paths": [[[s, t, op] for s, t, op in p] for p in paths], "depths": depths, "n_paths": len(depths),
            "d_bar": dbar, "m_bar": mbar}


#: The four routes of an NB201 cell as indices into the 6 ops of NB201_EDGES order (1←0, 2←0, 2←1, 3←0,
#: 3←1, 3←2): 0→1→2→3, 0→1→3, 0→2→3, 0→3 (the official code's enumeration).
_NB201_ROUTES = ((0, 2, 5), (0, 4), (1, 5), (3,))


def nb201_routes(cell: str | Sequence[str]) -> list[int]:
    """Depths of the surviving NB201 routes under the official code's rule: a route with any
    ``none`` op is dropped; its depth counts ``nor_conv`` ops (1×1 and 3×3 alike; skip and avg_pool are 0)."""
    ops = parse_nb201(cell) if isinstance(cell, str) else tuple(cell)
    if len(ops) != 6 or any(o not in NB201_OPS for o in ops):
        raise NtkcheckError(f"an NB201 cell needs 6 ops from {NB201_OPS}, got {ops!r}")
    out = []
    for route in _NB201_ROUTES:
        route_ops = [ops[k] for k in route]
        if any("none" in o for o in route_ops):
            continue
        out.append(sum("nor_conv" in o for o in route_ops))
    return out


def nb201_depth_width(cell: str | Sequence[str]) -> tuple[float, float]:
    """(d̄, m̄) of an NB201 cell string by the official code's rule: zero-depth routes count,
    m̄ = 0 when d̄ = 0, (0, 0) when every route is broken."""
    return _dbar_mbar(nb201_routes(cell))


def darts_depth_width(normal: Sequence[Sequence[Any]]) -> dict[str, Any]:
    r"""(d̄, m̄) of a DARTS/NDS normal cell by the official code's rule (``effective_depth_width``).

    ``normal``: list of (op, input_node) pairs, two per intermediate node (node k//2 + 2 for pair k); inputs
    0 = in0, 1 = in1, 2.. = earlier intermediate nodes.  Rules reproduced: a 7×7 affinity matrix over
    {in0, in1, n2..n5, out} filled with −1; edge k sets entry (in_node → 2 + k//2) to 1 if the op name
    contains "conv", 0 if it contains "skip" or "pool", else −1 ("none"); a later edge from the same input
    into the same node overwrites the earlier one (two edges collapse into one entry); n2..n5 → out are 0
    (concat as a skip-sum); paths are enumerated from in0 (with in1 deleted) and from in1 and pooled.
    Only 4 intermediate nodes are supported (the code's hard-coded layout): more is an error here.
    """
    pairs = [tuple(p) for p in normal]
    if len(pairs) != 8 or any(len(p) != 2 for p in pairs):
        raise NtkcheckError("a DARTS normal cell needs 8 (op, input) pairs (4 intermediate nodes × 2 inputs)")
    A = -np.ones((7, 7), dtype=int)
    for k, (op, src) in enumerate(pairs):
        if not isinstance(op, str) or isinstance(src, bool) or not isinstance(src, (int, np.integer)):
            raise NtkcheckError(f"DARTS edge {k}: expected (op name, input index), got {(op, src)!r}")
        dst = 2 + k // 2
        if not 0 <= src < dst:
            raise NtkcheckError(f"DARTS edge {k}: input {src} must be an earlier node (0..{dst - 1})")
        A[src, dst] = 1 if "conv" in op else (0 if ("skip" in op or "pool" in op) else -1)
    A[2:6, 6] = 0
    depths: list[int] = []
    for start, deleted in ((0, 1), (1, None)):
        def walk(node: int, d: int) -> None:
            if node == 6:
                depths.append(d)
                return
            for nxt in range(node + 1, 7):
                if nxt != deleted and A[node, nxt] >= 0:
                    walk(nxt, d + int(A[node, nxt]))
        walk(start, 0)
    dbar, mbar = _dbar_mbar(depths)
    return {"depths": depths, "n_paths": len(depths), "d_bar": dbar, "m_bar": mbar}


# ---------------------------------------------------------------------------------------------------
# The NAS pre-filter (§5.3): code constants and the paper's rule
# ---------------------------------------------------------------------------------------------------

#: Official code (nas-without-training/search.py, flag --dag): 0.99 ≤ d̄ ≤ 2.51 and 0.99 ≤ m̄ ≤ 3.01.
CODE_WINDOW_NB201 = ((0.99, 2.51), (0.99, 3.01))
#: Paper §5.3 stated values: centre (d̄*, m̄*) and half-radius for NB201 and DARTS.
PAPER_WINDOW_NB201 = {"center": (1.6, 2.2), "half_radius": (0.7, 0.9)}
PAPER_WINDOW_DARTS = {"center": (1.5, 10.5), "half_radius": (0.7, 4.8)}

#: Comparisons at window edges use this slack: d̄, m̄ are ratios of small integers (e.g. m̄ = 1/3 or 4 at the
#: ends of the NB201 range) and the centre ± radius is computed in floating point; 1e-9 is far below the
#: smallest gap between distinct NB201 values (> 1e-3) and far above rounding (1e-15).
WINDOW_SLACK = 1e-9


def space_window(dbar: Iterable[float], mbar: Iterable[float], *, exclude_zero_depth: bool = True
                 ) -> dict[str, tuple[float, float]]:
    """Centre = midpoint of [min, max] and radius = half the range, over a space (§5.3).

    With ``exclude_zero_depth`` (default) cells with d̄ = 0 are left out of the min/max: only then are the
    paper's NB201 numbers (1.6, 2.2) ± (0.7, 0.9) reproduced.
    """
    d = np.asarray(list(dbar), dtype=np.float64)
    m = np.asarray(list(mbar), dtype=np.float64)
    if exclude_zero_depth:
        keep = d > 0
        d, m = d[keep], m[keep]
    if d.size == 0:
        raise NtkcheckError("the space has no cell with d̄ > 0; no window can be formed")
    return {"center": ((d.min() + d.max()) / 2, (m.min() + m.max()) / 2),
            "radius": ((d.max() - d.min()) / 2, (m.max() - m.min()) / 2)}


def filter_code(dbar: Any, mbar: Any, window=CODE_WINDOW_NB201) -> np.ndarray:
    """The official code's hard-coded NB201 filter: keep iff 0.99 ≤ d̄ ≤ 2.51 and 0.99 ≤ m̄ ≤ 3.01."""
    d, m = np.asarray(dbar, dtype=float), np.asarray(mbar, dtype=float)
    (d0, d1), (m0, m1) = window
    return (d >= d0) & (d <= d1) & (m >= m0) & (m <= m1)


def filter_paper(dbar: Any, mbar: Any, center: tuple[float, float], radius: tuple[float, float],
                 fraction: float = 0.5) -> np.ndarray:
    """The paper's rule (§5.3): keep iff |d̄ − d̄*| ≤ fraction·r_d̄ and |m̄ − m̄*| ≤ fraction·r_m̄
    (fraction ½ in the paper; Table 3 also uses ¼, ¾ and 1).  Edges compared with :data:`WINDOW_SLACK`."""
    d, m = np.asarray(dbar, dtype=float), np.asarray(mbar, dtype=float)
    return ((np.abs(d - center[0]) <= fraction * radius[0] + WINDOW_SLACK)
            & (np.abs(m - center[1]) <= fraction * radius[1] + WINDOW_SLACK))


# ---------------------------------------------------------------------------------------------------
# Per-cell bound report and the whole NB201 space
# ---------------------------------------------------------------------------------------------------

#: NB201 op → Chen et al. edge (the "Chen analog": conv = linear+ReLU, avg_pool counted as an identity as
#: the paper's code counts it as depth 0 — pooling has no width-wise analog, so the theory does not cover it).
NB201_CHEN_ANALOG = {"none": "zero", "skip_connect": "skip", "nor_conv_1x1": "linact:relu",
                     "nor_conv_3x3": "linact:relu", "avg_pool_3x3": "skip"}
_KIND_CODE = {"zero": 0, "skip": 1, "linact:relu": 2}


def nb201_chen_analog(cell: str | Sequence[str]) -> tuple[int, ...]:
    """The 6 edge codes (0 zero, 1 skip, 2 linear+ReLU) of an NB201 cell's Chen analog, NB201_EDGES order."""
    ops = parse_nb201(cell) if isinstance(cell, str) else tuple(cell)
    return tuple(_KIND_CODE[NB201_CHEN_ANALOG[o]] for o in ops)


def nb201_chen_spec(cell: str | Sequence[str] | tuple[int, ...]) -> ArchSpec:
    """The Chen-network spec (raw input, no readout, σ_w² = 2) of an NB201 cell or of its analog codes."""
    if isinstance(cell, tuple) and all(isinstance(c, (int, np.integer)) for c in cell):
        codes = cell
    else:
        codes = nb201_chen_analog(cell)
    names = {0: "zero", 1: "skip", 2: "linact:relu"}
    return parse_spec({"nodes": 4, "edges": [[s, t, names[int(c)]] for (s, t), c in zip(NB201_EDGES, codes)],
                       "readout": "none", "input": "raw", "sigma_w2": 2.0, "sigma_b2": 0.0,
                       "name": "nb201-chen-analog:" + "".join(str(int(c)) for c in codes)})


@dataclass
class BoundReport:
    """Bounds and λ_min of one cell on one data set (see :func:`bound_report`)."""

    depths: list[int]
    d_bar: float
    m_bar: float
    degenerate: bool
    lambda_min_exact: float | None = None
    lambda_min_exact_err: float | None = None
    lambda_min_paper: float | None = None
    lambda_min_paper_err: float | None = None
    eq12_bound: float | None = None
    lemma33_bound_exact: float | None = None
    lemma33_bound_paper: float | None = None
    holds: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _verdict(bound: float, lam_exact: float, lam_paper: float, tol: float) -> str:
    if bound <= 0:
        return "vacuous"
    he, hp = bound >= lam_exact - tol, bound >= lam_paper - tol
    return {(True, True): "both", (True, False): "exact only", (False, True): "paper only",
            (False, False): "neither"}[(he, hp)]


def bound_report(spec: ArchSpec | Mapping | str, X: np.ndarray | None = None, *, engine: str = "project",
                 tol: float = 1e-10) -> BoundReport:
    """(d̄, m̄), Eq. 12, Lemma 3.3 (on the exact and on the paper kernel), exact and paper λ_min of a cell.

    ``holds[b]`` says for which kernel bound b is ≥ λ_min: ``both``, ``exact only``, ``paper only``,
    ``neither`` or ``vacuous`` (b ≤ 0).  ``tol`` (default 1e-10) absorbs the eigensolver's rounding on
    O(1)-scaled N ≤ 10³ Gram matrices (error ≲ N·eps·‖K‖ ≈ 1e-12).  X must have unit-norm rows.
    A cell with no input→output path is ``degenerate``: bounds and λ_min are not applicable (None).
    """
    spec = as_spec(spec)
    dw = depth_width(spec)
    rep = BoundReport(depths=dw["depths"], d_bar=dw["d_bar"], m_bar=dw["m_bar"], degenerate=dw["n_paths"] == 0)
    if rep.degenerate:
        rep.notes.append("no input→output path: kernel is 0, bounds and λ_min not applicable")
        return rep
    if X is None:
        return rep
    X = np.asarray(X, dtype=np.float64)
    if not np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-10):
        raise NtkcheckError("bound_report needs unit-norm rows (Remark 3.4); normalise the data first")
    _check_chen_spec(spec)
    Ke = chen_kernels(spec, X, cross_terms=True, engine=engine)
    Kp = chen_kernels(spec, X, cross_terms=False, engine=engine)
    rep.lambda_min_exact, rep.lambda_min_exact_err = lambda_min(Ke)
    rep.lambda_min_paper, rep.lambda_min_paper_err = lambda_min(Kp)
    rep.eq12_bound = eq12_bound(rep.depths, X @ X.T)
    rep.lemma33_bound_exact = lemma33_bound(Ke)
    rep.lemma33_bound_paper = lemma33_bound(Kp)
    for name in ("eq12_bound", "lemma33_bound_exact", "lemma33_bound_paper"):
        rep.holds[name] = _verdict(getattr(rep, name), rep.lambda_min_exact, rep.lambda_min_paper, tol)
    return rep


def all_nb201_op_tuples() -> list[tuple[str, ...]]:
    """All 5^6 = 15,625 NB201 cells as op tuples (NB201_EDGES order, ops in NB201_OPS order)."""
    return list(itertools.product(NB201_OPS, repeat=6))


def nb201_connectivity_table(X: np.ndarray | None = None, *, engine: str = "project", quiet: bool = True
                             ) -> dict[str, Any]:
    """Columns over all 15,625 NB201 cells: ``arch`` (string), ``d_bar``, ``m_bar``, ``n_paths``, ``analog``
    (Chen-analog code), keep flags (code window; paper ½ radius with the stated numbers), and with data X
    (unit-norm rows): ``eq12_bound``, ``lambda_min_exact``, ``lambda_min_paper`` (NaN for degenerate cells,
    reported as not applicable), ``lemma33_bound_exact``, ``lemma33_bound_paper``.

    Every kernel quantity depends on the cell only through its Chen analog (conv 1×1 ≡ 3×3 ≡ linear+ReLU,
    pool ≡ skip), so the kernels are computed once per distinct analog: 3^6 = 729 cells.
    """
    from tqdm import tqdm

    cells = all_nb201_op_tuples()
    archs = [nb201_string(c) for c in cells]
    analog = [nb201_chen_analog(c) for c in cells]
    dm = np.array([nb201_depth_width(c) for c in cells])
    n_paths = np.array([len(nb201_routes(c)) for c in cells])
    cols: dict[str, Any] = {"arch": archs, "analog": ["".join(map(str, a)) for a in analog],
                            "d_bar": dm[:, 0], "m_bar": dm[:, 1], "n_paths": n_paths,
                            "keep_code": filter_code(dm[:, 0], dm[:, 1]),
                            "keep_paper_half": filter_paper(dm[:, 0], dm[:, 1], PAPER_WINDOW_NB201["center"],
                                                            tuple(2 * r for r in PAPER_WINDOW_NB201["half_radius"]),
                                                            0.5)}
    if X is None:
        return cols
    X = np.asarray(X, dtype=np.float64)
    if not np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-10):
        raise NtkcheckError("NB201 bounds need unit-norm data rows (Remark 3.4); normalise the data first")
    K0 = X @ X.T
    uniq = sorted(set(analog))
    per: dict[tuple[int, ...], tuple[float, ...]] = {}
    for a in tqdm(uniq, desc="NB201 Chen-analog cells", disable=quiet):
        spec = nb201_chen_spec(a)
        depths = list(spec.path_depths)
        if spec.is_degenerate or not depths:
            per[a] = (math.nan,) * 5
            continue
        Ke = chen_kernels(spec, X, cross_terms=True, engine=engine)
        Kp = chen_kernels(spec, X, cross_terms=False, engine=engine)
        per[a] = (eq12_bound(depths, K0), lambda_min(Ke)[0], lambda_min(Kp)[0], lemma33_bound(Ke),
                  lemma33_bound(Kp))
    vals = np.array([per[a] for a in analog])
    for k, name in enumerate(("eq12_bound", "lambda_min_exact", "lambda_min_paper", "lemma33_bound_exact",
                              "lemma33_bound_paper")):
        cols[name] = vals[:, k]
    # per cell: for which kernel each bound holds (see bound_report; tol 1e-10 as there)
    for name in ("eq12_bound", "lemma33_bound_paper"):
        cols[name.replace("_bound", "") + "_holds_for"] = [
            "n/a" if not np.isfinite(le) else _verdict(b, le, lp, 1e-10)
            for b, le, lp in zip(cols[name], cols["lambda_min_exact"], cols["lambda_min_paper"])]
    return cols


def versions() -> dict[str, str]:
    """Library versions for reports (numpy, scipy, ntkcheck, python)."""
    import platform

    import scipy

    import ntkcheck

    return {"ntkcheck": ntkcheck.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version()}


def rank_correlations(x: Any, y: Any) -> dict[str, float]:
    """Spearman ρ and Kendall τ (τ-b, ties handled) between two columns, NaN pairs dropped; with p-values."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return {"n": int(ok.sum()), "spearman": math.nan, "kendall": math.nan}
    sp = stats.spearmanr(x[ok], y[ok])
    kt = stats.kendalltau(x[ok], y[ok])
    return {"n": int(ok.sum()), "spearman": float(sp.statistic), "spearman_p": float(sp.pvalue),
            "kendall": float(kt.statistic), "kendall_p": float(kt.pvalue)}
