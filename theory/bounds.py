r"""Certified lower and upper bounds on λ_min of the infinite-width NNGP and NTK Gram matrices.

Every bound is a named pure function; its statement, assumptions and proof are in ``docs/bounds.md``
(section numbers are given as "bounds.md §k").  The setting is the contract of
``architecture-and-kernels.md`` (§2–§3): a DAG of ``zero``/``skip[:β]``/``dense:<φ>`` edges, per-edge
activations, ``merge`` sum or mean, ``input`` dense or raw, a readout ``dense(φ_out)`` or ``none``.
``linact`` edges (Chen et al. 2022) make nodes non-Gaussian and are not covered (NtkcheckError).

The key structural fact (bounds.md §2): every node is a linear combination, with deterministic
coefficients γ_{j,a}, of *atoms* — the input embedding and the outputs of the dense edges — which are
pairwise uncorrelated at infinite width (each has its own fresh zero-mean weights).  Hence, exactly,

    Σ_jj = Σ_a γ_{j,a}² S_a,   Θ_jj = Σ_a γ_{j,a}² T_a,

with S_a, T_a PSD; so λ_min(Σ_jj) ≥ Σ_a γ_{j,a}² λ_min(S_a).  A dense edge reading node i has, by Mehler's
formula with per-point scales q_i(x), S = σ_w² Σ_r D_r R_i^{∘r} D_r + σ_b² 11ᵀ (D_r = diag μ_r(φ; q_i(x)),
R_i the correlation matrix of node i), and T = S + σ_w² Ṡ ⊙ Θ_ii with Ṡ = Σ_r D'_r R_i^{∘r} D'_r,
D'_r = diag μ_r(φ'; q_i(x)).  Every bound below is a way of lower-bounding these PSD sums.

Trust: everything here is mathematics derived for this toolkit and checked numerically, *not* the
theorem of Zhu et al. 2022; :func:`nmm_template` is a parametrized template
after Nguyen–Mondelli–Montúfar 2021 and is never counted as a certified bound.

Numerics: Gaussian moments by composite Gauss–Legendre quadrature on z ∈ [−12, 12] split at every kink
(relative error ≲ 1e-13 for the built-in activations); data eigenvalues are taken with their error bound
subtracted (lower bounds) so that each returned lower bound is certified up to the quadrature tolerance
``QUAD_RTOL`` (stated in bounds.md §8).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import ArchSpec, parse_spec
from ntkcheck.theory.activations import Activation, get_activation

__all__ = [
    "QUAD_RTOL", "R_MAX_DEFAULT",
    "gaussian_moments", "lam_min_certified", "max_rho", "lam_min_hadamard", "input_correlation",
    "lb_hermite_term", "lb_hermite_gershgorin", "lb_hermite_best_term", "lb_hermite_series",
    "lb_schur_recursion", "lb_ntk_layer_sum", "lb_two_layer_hadamard", "lb_two_layer_gershgorin",
    "ub_min_diagonal", "ub_trace_mean", "ub_pair_block", "ub_rayleigh", "ub_min_diagonal_closed_form",
    "nmm_template", "kernel_diagonal", "lower_bounds", "upper_bounds", "bounds_report", "BoundsReport",
]

#: Relative tolerance of the Gaussian-moment quadrature (bounds.md §8); tests allow this much slack.
QUAD_RTOL = 1e-10
#: Hermite terms used explicitly; the rest enter through the Parseval tail (bounds.md §3).
R_MAX_DEFAULT = 20
KERNELS = ("ntk", "nngp")


# ---- Gaussian moments ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _gl_grid(kinks: tuple[float, ...], zmax: float = 12.0, seg: float = 1.0, order: int = 24):
    """Composite Gauss–Legendre nodes/weights on [−zmax, zmax] with the kinks as breakpoints."""
    pts = set(np.arange(-zmax, zmax + 1e-9, seg).tolist())
    pts.update(float(k) for k in kinks if -zmax < k < zmax)
    pts = np.array(sorted(pts))
    t, w = np.polynomial.legendre.leggauss(order)
    a, b = pts[:-1, None], pts[1:, None]
    z = (0.5 * (b - a) * t[None, :] + 0.5 * (a + b)).ravel()
    wz = (0.5 * (b - a) * w[None, :]).ravel()
    wz = wz * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, wz


def _hermite_table(z: np.ndarray, r_max: int) -> np.ndarray:
    """h_r(z) = He_r(z)/√(r!) for r = 0..r_max (stable three-term recurrence), shape (r_max+1, len(z))."""
    H = np.empty((r_max + 1, z.size))
    H[0] = 1.0
    if r_max >= 1:
        H[1] = z
    for r in range(1, r_max):
        H[r + 1] = (z * H[r] - math.sqrt(r) * H[r - 1]) / math.sqrt(r + 1)
    return H


@dataclass(frozen=True)
class Moments:
    """Gaussian moments of φ at scales q (arrays over the q's; ``mu[r]``, ``dmu[r]`` have shape (len(q),)).

    ``mu[r]`` = μ_r(φ; q) = E[φ(√q z) h_r(z)], ``dmu[r]`` = μ_r(φ'; q), ``e2`` = E[φ(√q z)²],
    ``de2`` = E[φ'(√q z)²].  ``mu_lb``/``dmu_lb`` are the same with coefficients that vanish by parity (or are
    below 1e-12 of the norm) set exactly to 0 — safe for lower bounds, which only decrease.
    """

    q: np.ndarray
    mu: np.ndarray
    dmu: np.ndarray
    e2: np.ndarray
    de2: np.ndarray
    mu_lb: np.ndarray
    dmu_lb: np.ndarray


def _parity_mask(act: Activation, r_max: int, derivative: bool) -> np.ndarray:
    """True where μ_r (of φ, or of φ' when ``derivative``) vanishes exactly by a symmetry of φ."""
    r = np.arange(r_max + 1)
    zero = np.zeros(r_max + 1, bool)
    fam = act.family
    if fam == "identity":
        return r >= (1 if derivative else 2)
    if act.odd_after_shift is not None:          # φ − c odd  ⇒ φ' even
        if derivative:
            zero |= (r % 2 == 1)
        else:
            zero |= (r % 2 == 0) & (r >= 2)
            if act.odd_after_shift == 0.0:
                zero |= r == 0
    if fam in ("relu", "leaky_relu"):            # φ = a·x + b·|x|  ⇒ φ' = a + b·sign
        if derivative:
            zero |= (r % 2 == 0) & (r >= 2)
        else:
            zero |= (r % 2 == 1) & (r >= 3)
    return zero


def gaussian_moments(act: str | Activation, q: Iterable[float] | float, r_max: int = R_MAX_DEFAULT) -> Moments:
    """μ_r(φ; q), μ_r(φ'; q) for r ≤ r_max, E[φ(√q z)²] and E[φ'(√q z)²] at each scale q ≥ 0 (bounds.md §8).

    Quadrature: composite Gauss–Legendre (order 24 per unit segment) on z ∈ [−12, 12] against the Gaussian
    density, with φ's kinks and the integer points of [−16, 16] in activation coordinates (mapped to z = x/√q)
    as breakpoints, so that the O(1)-wide features of φ (the transition of tanh, erf, ...) stay resolved when
    φ(√q z) is narrow at large q.  Independent of ``theory.hermite`` (that module is the cross-check in the tests).
    """
    act = get_activation(act)
    qall = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if np.any(qall < 0) or not np.all(np.isfinite(qall)):
        raise NtkcheckError("gaussian_moments: scales q must be finite and >= 0")
    qs, inv = np.unique(qall, return_inverse=True)
    inv = inv.reshape(-1)
    R = int(r_max)
    mu = np.empty((R + 1, qs.size))
    dmu = np.empty((R + 1, qs.size))
    e2 = np.empty(qs.size)
    de2 = np.empty(qs.size)
    base = _gl_grid((0.0,))
    features = np.arange(-16.0, 17.0)  # unit-scale feature points of φ in activation coordinates
    for k, qv in enumerate(qs):
        s = math.sqrt(qv)
        if s > 0:
            z, w = _gl_grid(tuple([0.0] + [kk / s for kk in act.kinks] + (features / s).tolist()))
        else:
            z, w = base
        H = _hermite_table(z, R)
        f = act.fn(s * z)
        fp = act.deriv(s * z)
        mu[:, k] = H @ (w * f)
        dmu[:, k] = H @ (w * fp)
        e2[k] = np.dot(w, f * f)
        de2[k] = np.dot(w, fp * fp)
    mu_lb, dmu_lb = mu.copy(), dmu.copy()
    mu_lb[_parity_mask(act, R, False)] = 0.0
    dmu_lb[_parity_mask(act, R, True)] = 0.0
    mu_lb[np.abs(mu_lb) <= 1e-12 * np.sqrt(np.maximum(e2, 0.0))[None, :]] = 0.0
    dmu_lb[np.abs(dmu_lb) <= 1e-12 * np.sqrt(np.maximum(de2, 0.0))[None, :]] = 0.0
    return Moments(qall, mu[:, inv], dmu[:, inv], e2[inv], de2[inv], mu_lb[:, inv], dmu_lb[:, inv])


# ---- certified eigenvalues and data quantities --------------------------------------------------------

def lam_min_certified(A: np.ndarray) -> tuple[float, float]:
    """(λ̂_min, error bound) of a symmetric matrix: ``theory.spectra.certified_eigvalsh`` when present, else
    numpy's eigvalsh with the bound ‖A v − λ̂ v‖₂ + N·ε·‖A‖_F (residual bound for a symmetric matrix plus the
    backward error of the solver, bounds.md §8)."""
    A = np.asarray(A, dtype=np.float64)
    A = 0.5 * (A + A.T)
    try:
        from ntkcheck.theory.spectra import certified_eigvalsh  # lands with the lead's engine
    except ImportError:
        certified_eigvalsh = None
    if certified_eigvalsh is not None:
        sp_ = certified_eigvalsh(A)
        return float(sp_.lambda_min), float(sp_.error_bound)
    w, V = np.linalg.eigh(A)
    v = V[:, 0]
    res = float(np.linalg.norm(A @ v - w[0] * v))
    return float(w[0]), res + A.shape[0] * np.finfo(float).eps * float(np.linalg.norm(A))


def _lam_lb(A: np.ndarray) -> float:
    lam, err = lam_min_certified(A)
    return lam - err


def _check_data(X: Any) -> np.ndarray:
    from ntkcheck.io import validate_data

    return validate_data(X, allow_duplicates=True)


def input_correlation(spec: ArchSpec | Any, X: Any) -> np.ndarray:
    """The correlation matrix R₀ of node 0 (for unit rows and dense input: C̃ = aC + (1 − a)11ᵀ)."""
    spec, X = parse_spec(spec), _check_data(X)
    S0 = _input_cov(spec, X)
    d = np.sqrt(np.diag(S0))
    if np.any(d == 0):
        raise NtkcheckError("node 0 has a point with zero variance: its correlation is undefined")
    return S0 / np.outer(d, d)


def max_rho(X: Any) -> float:
    """max_{i≠j} |cos∠(x_i, x_j)| (0 when N = 1) — contract §10 ``max_rho``."""
    X = _check_data(X)
    n = np.linalg.norm(X, axis=1)
    if np.any(n == 0):
        raise NtkcheckError("max_rho: X has a zero row")
    C = (X / n[:, None]) @ (X / n[:, None]).T
    if C.shape[0] == 1:
        return 0.0
    np.fill_diagonal(C, 0.0)
    return float(min(1.0, np.max(np.abs(C))))


def lam_min_hadamard(X: Any, r: int) -> float:
    """λ_min((XXᵀ)^{∘r}) (raw X; r = 0 is the all-ones matrix) — contract §10 ``lam_min_hadamard(r)``."""
    X = _check_data(X)
    C = X @ X.T
    return lam_min_certified(C ** int(r))[0]


def _input_cov(spec: ArchSpec, X: np.ndarray) -> np.ndarray:
    if spec.input == "raw":
        return X @ X.T
    return spec.sigma_w2 * (X @ X.T) / X.shape[1] + spec.sigma_b2


# ---- the atom decomposition and the propagated quantities ---------------------------------------------

def _atoms(spec: ArchSpec) -> list[dict[Any, float]]:
    """γ_{j,a} for every node j: atom 'in' (node-0 embedding) or the index k of a dense edge (bounds.md §2)."""
    if any(e.kind == "linact" for e in spec.edges):
        raise NtkcheckError("bounds cover dense/skip/zero edges only: 'linact' edges (Chen et al. 2022) make "
                            "nodes non-Gaussian; use the connectivity module for those specs")
    gam: list[dict[Any, float]] = [dict() for _ in range(spec.nodes)]
    gam[0] = {"in": 1.0}
    for j in range(1, spec.nodes):
        inc = [(k, e) for k, e in enumerate(spec.edges) if e.dst == j and e.kind != "zero"]
        c = 1.0 / len(inc) if (spec.merge == "mean" and inc) else 1.0
        g: dict[Any, float] = {}
        for k, e in inc:
            if e.kind == "dense":
                g[k] = g.get(k, 0.0) + c
            else:  # skip
                for a, v in gam[e.src].items():
                    g[a] = g.get(a, 0.0) + c * e.scale * v
        gam[j] = {a: v for a, v in g.items() if v != 0.0}
    return gam


@dataclass
class _Node:
    """Propagated facts about a node (or the readout atom) — all certified (bounds.md §4)."""

    q: np.ndarray           # diag Σ (per point), exact up to quadrature
    theta: np.ndarray       # diag Θ (per point)
    lS: float               # ≤ λ_min(Σ)
    lT: float               # ≤ λ_min(Θ)
    rho: float              # ≥ max_{x≠x'} |corr_Σ(x, x')|
    hadam: np.ndarray       # hadam[r] ≤ λ_min(R^{∘r}), r = 0..R+1 (nondecreasing in r ≥ 1)
    theta_ge_sigma: bool    # Θ ⪰ Σ holds (false when the raw-input atom, with Θ = 0, is present)
    # per-term pieces (for the single-term and layer-sum bounds)
    termS: np.ndarray | None = None   # termS[r] ≤ λ_min of the r-th Mehler term of S (atoms only)
    factors: dict[str, float] = field(default_factory=dict)
    moments: Any = None


def _lam_ones(N: int) -> float:
    return 1.0 if N == 1 else 0.0


def _hadamard_lower(node_lS: float, q: np.ndarray, rho: float, N: int, R: int,
                    exact: np.ndarray | None = None) -> np.ndarray:
    """Lower bounds on λ_min(R^{∘r}), r = 0..R+1 (bounds.md §3.2): max of λ_min(R) ≥ λ_min(Σ)/max q,
    Gershgorin 1 − (N−1)ρ̄^r, the exact data value at node 0, made nondecreasing (Schur: λ(R^{∘(r+1)}) ≥ λ(R^{∘r}))."""
    h = np.zeros(R + 2)
    h[0] = _lam_ones(N)
    if N == 1:
        h[:] = 1.0
        return h
    qmax = float(np.max(q)) if q.size else 0.0
    base = node_lS / qmax if qmax > 0 else 0.0
    run = 0.0
    for r in range(1, R + 2):
        cand = [base, 1.0 - (N - 1) * rho ** r, run]
        if exact is not None and r < exact.size:
            cand.append(exact[r])
        run = max(cand)
        h[r] = min(run, 1.0)
    return h


def _const(v: np.ndarray) -> bool:
    return v.size > 0 and float(np.max(v) - np.min(v)) <= 1e-12 * max(1.0, float(np.max(np.abs(v))))


def _dense_atom(act_name: str, src: _Node, spec: ArchSpec, N: int, R: int, mode: str) -> _Node:
    """Facts about the output of a dense(φ) edge reading node ``src`` (bounds.md §3–§5)."""
    act = get_activation(act_name)
    sw, sb = spec.sigma_w2, spec.sigma_b2
    m = gaussian_moments(act, src.q, R)
    zero_node = not np.any(src.q > 0)
    h = src.hadam if not zero_node else np.r_[_lam_ones(N), np.zeros(R + 1)]
    ones = _lam_ones(N)
    q_out = sw * m.e2 + sb
    # --- S = σ_w² Σ_r D_r R^{∘r} D_r + σ_b² 11ᵀ
    mr = np.min(m.mu_lb ** 2, axis=1)                      # min over points of μ_r²
    termS = sw * mr * h[:R + 1]
    termS[0] = (sw * mr[0] + sb) * ones
    tail = 0.0
    if _const(src.q) and not zero_node:                    # Parseval tail Σ_{r>R} μ_r² (bounds.md §3.3)
        t = float(np.min(m.e2 - np.sum(m.mu ** 2, axis=0))) - QUAD_RTOL * float(np.max(m.e2))
        tail = sw * max(t, 0.0) * h[R + 1]
    lS = float(np.sum(termS)) + tail
    # --- ρ̄ of S (bounds.md §3.4): per point (σ_w² k(ρ̄) + σ_b²)/(σ_w² k(1) + σ_b²), k(ρ̄) with a tail bound
    if zero_node or N == 1:
        rho = 1.0 if N > 1 else 0.0
    else:
        pw = src.rho ** np.arange(R + 1)
        A = pw @ (m.mu ** 2) + src.rho ** (R + 1) * np.maximum(m.e2 - np.sum(m.mu ** 2, axis=0), 0.0)
        A = A + QUAD_RTOL * m.e2
        num, den = sw * A + sb, sw * m.e2 + sb
        rho = float(min(1.0, np.max(np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0))))
    # --- T = S + σ_w² Ṡ ⊙ Θ_src
    d0 = float(np.min(m.dmu_lb[0] ** 2))                   # min E[φ']² — the μ_1 contraction (μ_0(φ') = μ_1(φ)/√q)
    dd = float(np.min(m.de2))                              # min E[φ'²] — the Schur diagonal contraction
    if mode == "mu1":
        cross = d0 * src.lT
    elif mode == "diag":
        cross = dd * src.lT
    else:
        dmr = np.min(m.dmu_lb ** 2, axis=1)
        lSdot = float(dmr[0] * ones + np.sum(dmr[1:] * h[1:R + 1]))
        P1 = dd * src.lT
        P2 = lSdot * float(np.min(src.theta)) if src.theta.size else 0.0
        P3 = 0.0
        if src.theta_ge_sigma and not zero_node:
            # Ṡ ⊙ Σ = Σ_r (D'_r D_q^{1/2}) R^{∘(r+1)} (D'_r D_q^{1/2})
            w = np.min(m.dmu_lb ** 2 * src.q[None, :], axis=1)
            P3 = float(np.sum(w[:R] * h[1:R + 1]) + w[R] * h[R + 1])
        cross = max(P1, P2, P3)
    lT = lS + sw * cross
    theta = q_out + sw * m.de2 * src.theta
    return _Node(q=q_out, theta=theta, lS=lS, lT=lT, rho=rho, hadam=np.empty(0), theta_ge_sigma=True,
                 termS=termS, factors={"mu1": sw * d0, "diag": sw * dd}, moments=m)


def _combine(gam: Mapping[Any, float], atoms: Mapping[Any, _Node], N: int, R: int) -> _Node:
    """Node = Σ_a γ_a · atom_a with uncorrelated atoms (bounds.md §2)."""
    if not gam:
        z = np.zeros(N)
        return _Node(q=z, theta=z, lS=0.0, lT=0.0, rho=1.0 if N > 1 else 0.0, hadam=np.zeros(R + 2),
                     theta_ge_sigma=True)
    q = sum(g * g * atoms[a].q for a, g in gam.items())
    theta = sum(g * g * atoms[a].theta for a, g in gam.items())
    lS = sum(g * g * atoms[a].lS for a, g in gam.items())
    lT = sum(g * g * atoms[a].lT for a, g in gam.items())
    # ρ̄_j = max_x Σ_a ρ̄_a w_a(x), w_a(x) = γ_a² s_a(x)/q_j(x)  (Cauchy–Schwarz, bounds.md §3.4)
    safe = np.where(q > 0, q, 1.0)
    mix = sum(g * g * atoms[a].q * atoms[a].rho for a, g in gam.items()) / safe
    rho = float(min(1.0, np.max(np.where(q > 0, mix, 1.0)))) if N > 1 else 0.0
    tgs = all(atoms[a].theta_ge_sigma for a in gam)
    return _Node(q=np.asarray(q, float), theta=np.asarray(theta, float), lS=float(lS), lT=float(lT), rho=rho,
                 hadam=np.empty(0), theta_ge_sigma=tgs)


@dataclass
class _Prop:
    nodes: list[_Node]
    out_gam: dict[Any, float]      # the output as atoms (readout: {'out': 1})
    atoms: dict[Any, _Node]
    N: int
    R: int


def _input_facts(spec: ArchSpec, X: np.ndarray, R: int) -> tuple:
    """Node-0 data quantities: S_00, its diagonal, certified λ_min, ρ̄_0 and λ_lb(R_0^{∘r}), r ≤ R+1."""
    N = X.shape[0]
    S0 = _input_cov(spec, X)
    q0 = np.diag(S0).copy()
    lS0 = max(_lam_lb(S0), 0.0)
    exact_h = None
    rho0 = 1.0 if N > 1 else 0.0
    if np.all(q0 > 0):
        R0 = S0 / np.sqrt(np.outer(q0, q0))
        if N > 1:
            off = np.abs(R0 - np.diag(np.diag(R0)))
            rho0 = float(min(1.0, np.max(off) + 4 * np.finfo(float).eps))
        exact_h = _hadamard_exact_lb(R0, R)
    return q0, lS0, rho0, exact_h


#: Hadamard powers of the input correlation whose λ_min is computed exactly; the others are filled in by
#: monotonicity (λ(R^{∘r}) ≥ λ(R^{∘s}) for s ≤ r, bounds.md §1 F2).
_EXACT_POWERS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)


def _hadamard_exact_lb(R0: np.ndarray, R: int) -> np.ndarray:
    """Certified lower bounds on λ_min(R_0^{∘r}), r = 0..R+1 (eigvalsh minus the backward-error bound
    2·N·ε·‖A‖_F, bounds.md §8), exact at the powers in _EXACT_POWERS, monotone fill in between."""
    N = R0.shape[0]
    h = np.zeros(R + 2)
    h[0] = _lam_ones(N)
    eps = np.finfo(float).eps
    run = 0.0
    for r in range(1, R + 2):
        if r in _EXACT_POWERS or r == R + 1:
            A = R0 ** r
            lam = float(np.linalg.eigvalsh(0.5 * (A + A.T))[0])
            run = max(run, lam - 2 * N * eps * float(np.linalg.norm(A)))
        h[r] = max(run, 0.0)
    return h


def _propagate(spec: ArchSpec, X: np.ndarray, R: int, mode: str = "full", inp: tuple | None = None) -> _Prop:
    N = X.shape[0]
    gam = _atoms(spec)
    q0, lS0, rho0, exact_h = inp if inp is not None else _input_facts(spec, X, R)
    raw = spec.input == "raw"
    atom_in = _Node(q=q0, theta=np.zeros(N) if raw else q0.copy(), lS=lS0, lT=0.0 if raw else lS0, rho=rho0,
                    hadam=np.empty(0), theta_ge_sigma=not raw,
                    termS=np.r_[0.0, lS0, np.zeros(R - 1)] if R >= 1 else np.zeros(1))
    atoms: dict[Any, _Node] = {"in": atom_in}
    nodes: list[_Node] = []
    for j in range(spec.nodes):
        # atoms of dense edges into j read earlier nodes, which are complete
        for k, e in enumerate(spec.edges):
            if e.dst == j and e.kind == "dense":
                atoms[k] = _dense_atom(e.activation, nodes[e.src], spec, N, R, mode)
        nd = _combine(gam[j], atoms, N, R)
        nd.hadam = _hadamard_lower(nd.lS, nd.q, nd.rho, N, R, exact=exact_h if set(gam[j]) == {"in"} else None)
        nodes.append(nd)
    if spec.readout != "none":
        atoms["out"] = _dense_atom(spec.readout, nodes[-1], spec, N, R, mode)
        out_gam = {"out": 1.0}
    else:
        out_gam = dict(gam[-1])
    return _Prop(nodes, out_gam, atoms, N, R)


def _prep(spec: Any, X: Any, kernel: str) -> tuple[ArchSpec, np.ndarray]:
    spec = parse_spec(spec)
    X = _check_data(X)
    if kernel not in KERNELS:
        raise NtkcheckError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    _atoms(spec)  # rejects linact
    return spec, X


def _out_term(p: _Prop, spec: ArchSpec, r: int, kernel: str, gersh_only: bool) -> float:
    """Σ_a γ_a² × (single Mehler term r of atom a's kernel) — bounds.md §3.1."""
    total = 0.0
    for a, g in p.out_gam.items():
        if a == "in":
            # Σ_00 (and Θ_00 = Σ_00 for dense input, 0 for raw) counts as the r = 1 term
            ain = p.atoms["in"]
            if r != 1 or (kernel == "ntk" and spec.input == "raw"):
                v = 0.0
            elif gersh_only:
                v = float(np.min(ain.q)) * (1.0 if p.N == 1 else max(0.0, 1.0 - (p.N - 1) * ain.rho))
            else:
                v = ain.lS
            total += g * g * v
            continue
        e_act = spec.readout if a == "out" else spec.edges[a].activation
        src = p.nodes[-1] if a == "out" else p.nodes[spec.edges[a].src]
        m = p.atoms[a].moments
        if m is None or m.mu_lb.shape[0] <= r:
            m = gaussian_moments(e_act, src.q, r)
        mr = float(np.min(m.mu_lb[r] ** 2))
        if r == 0:
            lamR = _lam_ones(p.N)
        elif gersh_only:
            lamR = 1.0 if p.N == 1 else max(0.0, 1.0 - (p.N - 1) * src.rho ** r)
        else:
            lamR = float(src.hadam[r])
        c = (r + 1) if (kernel == "ntk" and src.theta_ge_sigma) else 1
        total += g * g * spec.sigma_w2 * c * mr * lamR
    return float(total)


# ---- lower bounds ------------------------------------------------------------------------------------

def lb_hermite_term(spec: Any, X: Any, r: int, kernel: str = "ntk", r_max: int = R_MAX_DEFAULT) -> float:
    r"""Single Hermite term r at the output (bounds.md §3.1, generalizing the two-layer bound of Nguyen–Mondelli–Montúfar 2021).

    λ_min(K) ≥ σ_w² c_r min_x μ_r(φ_out; q(x))² · λ_min(R_n^{∘r}),  c_r = r + 1 (NTK, when Θ_nn ⪰ Σ_nn) or 1,
    with λ_min(R_n^{∘r}) replaced by its propagated lower bound (exact data eigenvalue when the readout reads
    node 0: then R_n = C̃ and this is the two-layer bound of contract §10).  With readout "none" the output
    is Σ_a γ_a² (term r of each atom).  Zero (vacuous) when μ_r(φ_out) = 0, e.g. even r ≥ 2 for tanh.
    """
    spec, X = _prep(spec, X, kernel)
    p = _propagate(spec, X, max(int(r_max), int(r)))
    return _out_term(p, spec, int(r), kernel, gersh_only=False)


def lb_hermite_gershgorin(spec: Any, X: Any, r: int, kernel: str = "ntk", r_max: int = R_MAX_DEFAULT) -> float:
    r"""Gershgorin form of the single-term bound (bounds.md §3.2):
    λ_min(K) ≥ σ_w² c_r min μ_r(φ_out; q)² · (1 − (N−1) ρ̄_n^r), where ρ̄_n ≥ max_{i≠j}|corr| at the node the
    readout reads, propagated in closed form from ``max_rho`` of the input (bounds.md §3.4)."""
    spec, X = _prep(spec, X, kernel)
    p = _propagate(spec, X, max(int(r_max), int(r)))
    return _out_term(p, spec, int(r), kernel, gersh_only=True)


def lb_hermite_best_term(spec: Any, X: Any, kernel: str = "ntk", r_max: int = R_MAX_DEFAULT) -> float:
    """max_{0 ≤ r ≤ r_max} of :func:`lb_hermite_term` (bounds.md §3.1) — the "max_r μ_r² λ_min(C^{∘r})" form."""
    spec, X = _prep(spec, X, kernel)
    p = _propagate(spec, X, int(r_max))
    return max(_out_term(p, spec, r, kernel, gersh_only=False) for r in range(0, int(r_max) + 1))


def _out_value(p: _Prop, kernel: str) -> float:
    return float(sum(g * g * (p.atoms[a].lT if kernel == "ntk" else p.atoms[a].lS) for a, g in p.out_gam.items()))


def lb_hermite_series(spec: Any, X: Any, kernel: str = "ntk", r_max: int = R_MAX_DEFAULT) -> float:
    r"""All Mehler terms at the output, depth handled by the Schur/Hadamard propagation (bounds.md §3.3):

    NNGP: λ_min(K) ≥ σ_w² Σ_{r=0}^{R} min μ_r² λ_lb(R_n^{∘r}) + σ_w²·tail·λ_lb(R_n^{∘(R+1)}), tail = E[φ²] − Σ_{r≤R} μ_r²;
    NTK: the same with weights (r + 1) (Θ_nn ⪰ Σ_nn), i.e. the output's own Ṡ ⊙ Σ_nn part.
    Unlike :func:`lb_schur_recursion` the NTK part does not use λ_min(Θ_nn)."""
    spec, X = _prep(spec, X, kernel)
    p = _propagate(spec, X, int(r_max))
    if kernel == "nngp":
        return _out_value(p, "nngp")
    return float(sum(_out_term(p, spec, r, "ntk", gersh_only=False) for r in range(0, int(r_max) + 1)))


def lb_schur_recursion(spec: Any, X: Any, kernel: str = "ntk", r_max: int = R_MAX_DEFAULT) -> float:
    r"""The full propagated bound (bounds.md §4): for every dense atom
    λ(S) ≥ σ_w² Σ_r min μ_r² λ_lb(R^{∘r}) (+ Parseval tail), λ(T) ≥ λ(S) + σ_w² max(P1, P2, P3) with
    P1 = λ_lb(Θ_src)·min E[φ'²] and P2 = λ_lb(Ṡ)·min diag Θ_src (Schur: λ(A⊙B) ≥ λ(A) min B_ii),
    P3 = Σ_r min(μ_r(φ')² q) λ_lb(R^{∘(r+1)}) (Θ_src ⪰ Σ_src); nodes add γ²-weighted atom bounds."""
    spec, X = _prep(spec, X, kernel)
    return _out_value(_propagate(spec, X, int(r_max), "full"), kernel)


def lb_ntk_layer_sum(spec: Any, X: Any, contraction: str = "mu1", r_max: int = R_MAX_DEFAULT) -> float:
    r"""The NTK as a sum of PSD layer terms (bounds.md §5): unrolling T_e = S_e + σ_w² Ṡ_e ⊙ Θ_src,

    λ_min(Θ) ≥ Σ_{atoms a} Σ_{paths a → out} Π (γ² and contraction factors c_l) · λ_lb(S_a),

    with c_l = σ_w² min_x μ_1(φ_l; q_l(x))²/q_l(x) = σ_w² min E[φ_l']² (``contraction="mu1"``, from
    Ṡ ⪰ E[φ']² 11ᵀ) or c_l = σ_w² min E[φ_l'²] (``"diag"``, the Schur diagonal).  For a chain
    this is Σ_l λ_lb(Σ^{(l)}) Π_{k>l} c_k; a skip adds terms (never removes one)."""
    if contraction not in ("mu1", "diag"):
        raise NtkcheckError("contraction must be 'mu1' or 'diag'")
    spec, X = _prep(spec, X, "ntk")
    return _out_value(_propagate(spec, X, int(r_max), contraction), "ntk")


def _two_layer_ok(spec: ArchSpec, X: np.ndarray) -> str:
    if spec.readout == "none" or spec.n_dense != 0 or spec.input != "dense" or spec.nodes != 1:
        return "not a two-layer network ({'fc': [φ]}: node 0 → readout)"
    n = np.linalg.norm(X, axis=1)
    if not np.allclose(n, 1.0, rtol=0, atol=1e-12):
        return "needs unit-norm rows"
    return ""


def lb_two_layer_hadamard(spec: Any, X: Any, r: int, kernel: str = "ntk") -> float | None:
    r"""Contract §10 vocabulary, two-layer net on the sphere (bounds.md §6):
    λ_min ≥ σ_w² c_r μ_r(φ; q(1))² a^r λ_min(C^{∘r}),  a = σ_w²/(d q(1)), C = XXᵀ,  c_r = r+1 (NTK) / 1 (NNGP),
    from C̃^{∘r} ⪰ a^r C^{∘r}.  None when the spec is not a two-layer net or rows are not unit-norm."""
    spec, X = _prep(spec, X, kernel)
    if _two_layer_ok(spec, X):
        return None
    r = int(r)
    q1 = spec.sigma_w2 / X.shape[1] + spec.sigma_b2
    a = spec.sigma_w2 / (X.shape[1] * q1)
    mu = gaussian_moments(spec.readout, [q1], r).mu_lb[r, 0]
    c = r + 1 if kernel == "ntk" else 1
    return float(spec.sigma_w2 * c * mu * mu * a ** r * max(_lam_lb((X @ X.T) ** r), 0.0))


def lb_two_layer_gershgorin(spec: Any, X: Any, r: int, kernel: str = "ntk") -> float | None:
    r"""As :func:`lb_two_layer_hadamard` with λ_min(C^{∘r}) ≥ 1 − (N−1)·max_rho^r (bounds.md §6)."""
    spec, X = _prep(spec, X, kernel)
    if _two_layer_ok(spec, X):
        return None
    r = int(r)
    N = X.shape[0]
    q1 = spec.sigma_w2 / X.shape[1] + spec.sigma_b2
    a = spec.sigma_w2 / (X.shape[1] * q1)
    mu = gaussian_moments(spec.readout, [q1], r).mu_lb[r, 0]
    c = r + 1 if kernel == "ntk" else 1
    g = 1.0 if N == 1 else 1.0 - (N - 1) * max_rho(X) ** r
    return float(spec.sigma_w2 * c * mu * mu * a ** r * g)


def nmm_template(spec: Any, X: Any, r: int = 2, *, c_lambda: float = 1.0, c1: float = 1.0, c2: float = 1.0,
                 layer: str = "readout") -> dict[str, Any]:
    r"""TEMPLATE after Nguyen–Mondelli–Montúfar 2021 — *not* the paper's theorem, *not* a
    certified bound.  On the sphere: "λ_min(K) ≥ c_λ·μ_r(φ; q)² with probability ≥ 1 − N e^{−c1 d} −
    N² e^{−c2 d N^{−2/(r−0.5)}}" for data drawn i.i.d. from a well-spread distribution; the absolute
    constants c_λ, c1, c2 are unknown and are parameters here.  (NMM scale ‖x‖ = √d gives the Ω(d) factor;
    on the unit sphere it is O(1).)  Returns value, probability, and the labels."""
    spec = parse_spec(spec)
    X = _check_data(X)
    N, d = X.shape
    r = int(r)
    if r < 1:
        raise NtkcheckError("nmm_template: r must be >= 1")
    p = _propagate(spec, X, r)
    if True:
        src = p.nodes[-1]
        act = spec.readout if spec.readout != "none" else next(
            (e.activation for e in reversed(spec.edges) if e.kind == "dense"), "identity")
        val = c_lambda * float(np.min(gaussian_moments(act, src.q, r).mu_lb[r] ** 2))
    prob = 1.0 - N * math.exp(-c1 * d) - N * N * math.exp(-c2 * d * N ** (-2.0 / (r - 0.5)))
    return {"value": val, "probability": max(prob, 0.0), "r": r, "constants": {"c_lambda": c_lambda, "c1": c1, "c2": c2},
            "label": "template after Nguyen-Mondelli-Montufar 2021; constants are parameters, not certified",
            "vacuous_probability": prob <= 0.0}


# ---- diagonal and upper bounds -----------------------------------------------------------------------

def kernel_diagonal(spec: Any, X: Any, kernel: str = "ntk") -> np.ndarray:
    """diag K (per point) by the scalar recursion of bounds.md §7 (1-D Gaussian moments only; an
    independent check of the matrix engine's diagonal)."""
    spec, X = _prep(spec, X, kernel)
    p = _propagate(spec, X, 1)
    return np.asarray(sum(g * g * (p.atoms[a].theta if kernel == "ntk" else p.atoms[a].q)
                          for a, g in p.out_gam.items()), dtype=float)


def ub_min_diagonal_closed_form(spec: Any, X: Any, kernel: str = "ntk") -> float:
    """λ_min(K) ≤ min_i K_ii, with the diagonal from :func:`kernel_diagonal` (+ QUAD_RTOL slack)."""
    d = kernel_diagonal(spec, X, kernel)
    return float(np.min(d) * (1 + QUAD_RTOL))


def _sym(K: Any) -> np.ndarray:
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or not np.all(np.isfinite(K)):
        raise NtkcheckError("kernel must be a finite square matrix")
    return 0.5 * (K + K.T)


def ub_min_diagonal(K: Any) -> float:
    """λ_min(K) ≤ min_i K_ii (Rayleigh quotient at e_i; bounds.md §7.1)."""
    return float(np.min(np.diag(_sym(K))))


def ub_trace_mean(K: Any) -> float:
    """λ_min(K) ≤ tr(K)/N (the mean eigenvalue; bounds.md §7.1)."""
    K = _sym(K)
    return float(np.trace(K) / K.shape[0])


def ub_pair_block(K: Any) -> float:
    """λ_min(K) ≤ min_{i<j} λ_min([[K_ii, K_ij], [K_ij, K_jj]]) (Cauchy interlacing; bounds.md §7.2).
    The 2×2 minimum eigenvalue is (a+b)/2 − √(((a−b)/2)² + c²).  Equals min diagonal when N = 1."""
    K = _sym(K)
    N = K.shape[0]
    if N == 1:
        return float(K[0, 0])
    i, j = np.triu_indices(N, 1)
    a, b, c = K[i, i], K[j, j], K[i, j]
    return float(np.min(0.5 * (a + b) - np.hypot(0.5 * (a - b), c)))


def _test_vectors(K: np.ndarray, X: np.ndarray | None) -> dict[str, np.ndarray]:
    N = K.shape[0]
    vs: dict[str, np.ndarray] = {}
    if N >= 2:
        if X is not None:
            Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
            C = Xn @ Xn.T
            np.fill_diagonal(C, -np.inf)
            i, j = np.unravel_index(int(np.argmax(C)), C.shape)
            v = np.zeros(N); v[i], v[j] = 1.0, -1.0
            vs["most_correlated_pair"] = v
            w, V = np.linalg.eigh(X @ X.T)
            vs["data_gram_bottom_eigvec"] = V[:, 0]
            vc = V[:, 0] - V[:, 0].mean()
            if np.linalg.norm(vc) > 0:
                vs["data_gram_bottom_centered"] = vc
        vs["alternating"] = (-1.0) ** np.arange(N)
        v = np.ones(N); v[0] = -(N - 1)
        vs["centered_e1"] = v
    return vs


def ub_rayleigh(K: Any, X: Any = None) -> float:
    """λ_min(K) ≤ min_v vᵀKv/vᵀv over structured test vectors (bounds.md §7.3): e_i − e_j for the most
    correlated data pair, the bottom eigenvector of XXᵀ (raw and centred), the alternating vector, and
    1 − N e_1.  With N = 1 it is K_11."""
    K = _sym(K)
    Xa = None if X is None else _check_data(X)
    vs = _test_vectors(K, Xa)
    if not vs:
        return float(K[0, 0])
    return float(min(v @ K @ v / (v @ v) for v in vs.values()))


def upper_bounds(K: Any, X: Any = None) -> dict[str, float]:
    """All matrix upper bounds on λ_min(K)."""
    return {"min_diagonal": ub_min_diagonal(K), "pair_block_2x2": ub_pair_block(K),
            "rayleigh_structured": ub_rayleigh(K, X), "trace_over_N": ub_trace_mean(K)}


def lower_bounds(spec: Any, X: Any, kernel: str = "ntk", r_max: int = R_MAX_DEFAULT,
                 r_list: Sequence[int] = (1, 2, 3, 4)) -> dict[str, float]:
    """Every certified lower bound on λ_min(K) by name (two-layer-only forms when they apply)."""
    spec, X = _prep(spec, X, kernel)
    out: dict[str, float] = {}
    # the single-term bounds of r_list need Hermite coefficients up to max(r_list) even when r_max is smaller
    r_max = max(int(r_max), *(int(r) for r in r_list)) if r_list else int(r_max)
    inp = _input_facts(spec, X, int(r_max))
    full = _propagate(spec, X, int(r_max), "full", inp)
    out["schur_recursion"] = _out_value(full, kernel)
    if kernel == "nngp":
        out["hermite_series"] = _out_value(full, "nngp")
    else:
        out["hermite_series"] = float(sum(_out_term(full, spec, r, "ntk", False) for r in range(0, int(r_max) + 1)))
    out["hermite_best_term"] = max(_out_term(full, spec, r, kernel, False) for r in range(0, int(r_max) + 1))
    for r in r_list:
        out[f"hermite_term_r{r}"] = _out_term(full, spec, r, kernel, False)
        out[f"hermite_gershgorin_r{r}"] = _out_term(full, spec, r, kernel, True)
    out["hermite_gershgorin_best"] = max(_out_term(full, spec, r, kernel, True) for r in range(0, int(r_max) + 1))
    if kernel == "ntk":
        for c in ("mu1", "diag"):
            out[f"ntk_layer_sum_{c}"] = _out_value(_propagate(spec, X, int(r_max), c, inp), "ntk")
    if not _two_layer_ok(spec, X):
        for r in r_list:
            out[f"two_layer_hadamard_r{r}"] = lb_two_layer_hadamard(spec, X, r, kernel)
            out[f"two_layer_gershgorin_r{r}"] = lb_two_layer_gershgorin(spec, X, r, kernel)
    return out


# ---- the report ---------------------------------------------------------------------------------------

@dataclass
class BoundsReport:
    kernel: str
    lambda_min: float
    lambda_min_error: float
    lower_bounds: dict[str, float]
    upper_bounds: dict[str, float]
    vacuous: list[str]
    holds: dict[str, bool]
    tightness: dict[str, float | None]
    degenerate: bool
    singular: bool
    unit_norm: bool
    templates: dict[str, Any]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "lambda_min": self.lambda_min, "lambda_min_error": self.lambda_min_error,
                "lower_bounds": self.lower_bounds, "upper_bounds": self.upper_bounds, "vacuous": self.vacuous,
                "holds": self.holds, "tightness_ratio": self.tightness, "degenerate": self.degenerate,
                "singular": self.singular, "unit_norm_rows": self.unit_norm, "templates": self.templates,
                "notes": self.notes}


def exact_kernel(spec: Any, X: Any, kernel: str = "ntk") -> np.ndarray:
    """The reference Gram matrix from the lead's engine (``theory.kernels``)."""
    try:
        from ntkcheck.theory.kernels import infinite_width_kernels
    except ImportError:
        raise NtkcheckError("the exact kernel engine (ntkcheck.theory.kernels) is not available yet") from None
    k = infinite_width_kernels(parse_spec(spec), _check_data(X))
    return np.asarray(k.ntk if kernel == "ntk" else k.nngp, dtype=np.float64)


def bounds_report(spec: Any, X: Any, kernel: str = "ntk", K: Any = None, r_max: int = R_MAX_DEFAULT) -> BoundsReport:
    """Every bound with its verdict against the certified λ_min of the exact kernel (``K`` or the engine's).

    ``holds[name]`` is True when a lower bound b satisfies b ≤ λ̂ + err + slack (upper: b ≥ λ̂ − err − slack),
    slack = QUAD_RTOL·max(1, |b|, ‖K‖) (bounds.md §8); vacuous lower bounds (≤ 0) are listed and not "passed".
    The tightness ratio is bound/λ_min (lower) or λ_min/bound (upper), None when λ_min ≤ its error."""
    spec, X = _prep(spec, X, kernel)
    if K is None:
        K = exact_kernel(spec, X, kernel)
    K = _sym(K)
    if K.shape[0] != X.shape[0]:
        raise NtkcheckError(f"kernel is {K.shape[0]}x{K.shape[0]} but X has {X.shape[0]} rows")
    lam, err = lam_min_certified(K)
    notes: list[str] = []
    if spec.is_degenerate:
        notes.append("degenerate architecture: no input->output path; the kernel is 0 up to bias terms (constant)")
    Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    G = Xn @ Xn.T
    np.fill_diagonal(G, 0.0)
    parallel = X.shape[0] > 1 and bool(np.max(np.abs(G)) >= 1.0 - 1e-12)
    singular = lam <= err or parallel
    if parallel:
        notes.append("data has duplicate or parallel rows: lambda_min is (numerically) 0; lower bounds "
                     "are expected to be vacuous, not violated")
    unit = bool(np.allclose(np.linalg.norm(X, axis=1), 1.0, rtol=0, atol=1e-12))
    if not unit:
        notes.append("rows are not unit-norm: bounds use per-point scales q(x) (minimum over points)")
    if spec.note:
        notes.append(spec.note)
    lbs = lower_bounds(spec, X, kernel, r_max)
    ubs = upper_bounds(K, X)
    ubs["min_diagonal_closed_form"] = ub_min_diagonal_closed_form(spec, X, kernel)
    scale = max(1.0, float(np.max(np.abs(K))))
    holds, tight, vac = {}, {}, []
    for n, b in lbs.items():
        holds[n] = bool(b <= lam + err + QUAD_RTOL * scale * 10)
        if b <= 0:
            vac.append(n)
        tight[n] = (b / lam) if (lam > err and b > 0) else None
    for n, b in ubs.items():
        holds[n] = bool(b >= lam - err - QUAD_RTOL * scale * 10)
        tight[n] = (lam / b) if (lam > err and b > 0) else None
    templates = {"nmm_2021": nmm_template(spec, X)}
    return BoundsReport(kernel, lam, err, lbs, ubs, vac, holds, tight, spec.is_degenerate, singular, unit,
                        templates, notes)
