r"""Hermite coefficients μ_r(φ; q) of an activation and its Gaussian moments.

Definitions (Zhu et al. 2022):

* z ~ N(0, 1), ϕ(z) = e^{−z²/2}/√(2π) its density;
* h_r(z) = He_r(z)/√(r!), the orthonormal probabilists' Hermite polynomials, E[h_r h_s] = δ_rs;
* μ_r(φ; q) = E[φ(√q z) h_r(z)], q > 0 the pre-activation variance, so that
  φ(√q ·) = Σ_r μ_r(φ; q) h_r in L²(N(0,1)).

Identities used by the tests (all classical; Zhu et al. 2022; O'Donnell, *Analysis of Boolean
Functions*, ch. 11, for Gaussian integration by parts):

* Parseval: Σ_r μ_r(φ; q)² = E[φ(√q z)²];
* Stein: μ_1(φ; q) = E[z φ(√q z)] = √q E[φ'(√q z)];
* derivative: √q μ_r(φ'; q) = √(r+1) μ_{r+1}(φ; q);
* homogeneity: if φ(c x) = c φ(x) for c > 0 then μ_r(φ; q) = √q μ_r(φ; 1);
* Mehler: E[φ(u)φ(v)] = Σ_r μ_r² ρ^r for (u, v) standard normal with correlation ρ.

Numerical method (:func:`hermite_coefficients`)
------------------------------------------------
μ_r = ∫ φ(√q z) g_r(z) dz with the *Hermite functions* g_r(z) = h_r(z) ϕ(z), evaluated by the three-term
recurrence

    g_0 = ϕ(z),  g_1 = z ϕ(z),  g_{r+1} = (z g_r − √r g_{r−1}) / √(r+1),

which is He_{r+1} = z He_r − r He_{r−1} divided by √((r+1)!) (no factorials are formed, and carrying the
weight ϕ in the recurrence keeps every value bounded).  The real line is truncated to [−L, L] with L = 24:
by Cramér's inequality |He_r(z)| e^{−z²/4} ≤ 1.0865 √(r!) (Abramowitz–Stegun 22.14.17), so
|g_r(z)| ≤ 0.434 e^{−z²/4} uniformly in r, and the neglected tail is ≤ e^{−L²/4} = e^{−144} ≈ 3·10⁻⁶³ times
the growth of φ — negligible for any polynomially bounded φ and q ≤ 10⁸.

[−L, L] is cut at 0, at the activation's kinks scaled to z = k/√q (where φ or φ' is not smooth: quadrature
converges only algebraically across them), and into panels of width ≤ 1.  Each panel is integrated by
24-point Gauss–Legendre, and again on its two halves; a panel is accepted when the two differ by at most its
share (width/2L) of the tolerance, otherwise it is bisected (adaptive, vectorised over all panels and all r).
This resolves narrow features such as tanh(√q z) at q = 10⁴ (transition width 10⁻²) automatically.

Stated tolerance: |error in μ_r| ≤ rtol · ‖φ‖_q with ‖φ‖_q = E[φ(√q z)²]^{1/2} and rtol = 10⁻¹⁴ by default,
plus a rounding floor of 100 ε times ∫|integrand| per panel.  Since |μ_r| ≤ ‖φ‖_q (Cauchy–Schwarz), this is a
relative tolerance on the whole coefficient vector.  Tests check it against closed forms for r ≤ 400 and
q ∈ [10⁻⁴, 10⁴] (ReLU: measured error ≤ 2·10⁻¹⁶ √q), and against scipy's QUADPACK for smooth activations.  If the tolerance cannot be met
(a discontinuity of φ that is not listed in ``kinks``), :class:`~ntkcheck.errors.NtkcheckError` is raised.

Exact coefficients (:func:`hermite_coefficients_exact`)
-------------------------------------------------------
For an activation whose sympy expression is piecewise polynomial times exponentials e^{βx} (ReLU, leaky
ReLU, identity, ELU, polynomials, ``Max``/``Abs``/``Heaviside`` expressions registered by a user) every μ_r
is a finite combination (after e^{βz}ϕ(z) = e^{β²/2}ϕ(z − β)) of truncated Gaussian moments M_k(a, b) = ∫_a^b z^k ϕ(z) dz, which satisfy

    M_0 = Φ(b) − Φ(a),  M_1 = ϕ(a) − ϕ(b),  M_k = a^{k−1}ϕ(a) − b^{k−1}ϕ(b) + (k−1) M_{k−2}

(integration by parts, with t^{k−1}ϕ(t) = 0 at t = ±∞).  For ReLU this yields the closed form quoted in the
Zhu et al. 2022: μ_0 = 1/√(2π), μ_1 = 1/2, μ_r = (−1)^{r/2−1} (r−3)!! / √(2π r!) for even r ≥ 2 and 0
for odd r ≥ 3; for leaky ReLU with slope s, φ = (1−s) relu + s·id gives μ_r = (1−s) μ_r(relu) + s δ_{r1}.
Other activations raise :class:`NoClosedForm`.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import sympy as sp

from ntkcheck.errors import NtkcheckError
from ntkcheck.theory.activations import X_SYMBOL, Activation, get_activation

__all__ = [
    "NoClosedForm",
    "hermite_h",
    "hermite_functions",
    "hermite_coefficients",
    "hermite_coefficients_exact",
    "gaussian_moments",
    "hermite_table",
    "format_hermite_table",
    "DEFAULT_RTOL",
    "TRUNCATION_L",
]

#: Default relative tolerance of the quadrature, relative to ‖φ‖_q = E[φ(√q z)²]^{1/2}.
DEFAULT_RTOL = 1e-14
#: Half-width of the integration interval in z (see the module docstring for the tail bound).
TRUNCATION_L = 24.0
_GL_ORDER = 24
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(_GL_ORDER)
_MAX_PANELS = 200_000
_MAX_LEVELS = 60
_R_MAX_LIMIT = 1000


class NoClosedForm(NtkcheckError):
    """Raised by :func:`hermite_coefficients_exact` for an activation outside the closed-form families."""

    def __init__(self, name: str):
        super().__init__(f"no closed form for μ_r({name})")


# ---------------------------------------------------------------------------------------------------------
# Hermite polynomials and functions
# ---------------------------------------------------------------------------------------------------------

def _check_r_max(r_max) -> int:
    if isinstance(r_max, bool) or not isinstance(r_max, (int, np.integer)):
        raise NtkcheckError(f"r_max must be a non-negative integer, got {r_max!r}")
    r_max = int(r_max)
    if r_max < 0 or r_max > _R_MAX_LIMIT:
        raise NtkcheckError(f"r_max must be in [0, {_R_MAX_LIMIT}], got {r_max}")
    return r_max


def _check_rtol(rtol) -> float:
    try:
        r = float(rtol)
    except (TypeError, ValueError):
        raise NtkcheckError(f"rtol must be a positive number, got {rtol!r}") from None
    if not (np.isfinite(r) and 0.0 < r < 1.0):
        raise NtkcheckError(f"rtol must be in (0, 1), got {rtol!r}")
    return r


def _check_q(q) -> float:
    try:
        qf = float(q)
    except (TypeError, ValueError):
        raise NtkcheckError(f"variance q must be a positive number, got {q!r}") from None
    if not (np.isfinite(qf) and qf > 0.0):
        raise NtkcheckError(f"variance q must be a positive finite number, got {q!r}")
    return qf


def _hermite_recurrence(r_max: int, z: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Rows start·h_0(z) .. start·h_{r_max}(z) from h_{r+1} = (z h_r − √r h_{r−1})/√(r+1)."""
    out = np.empty((r_max + 1,) + z.shape, dtype=np.float64)
    out[0] = start
    if r_max >= 1:
        out[1] = z * start
    for r in range(1, r_max):
        out[r + 1] = (z * out[r] - math.sqrt(r) * out[r - 1]) / math.sqrt(r + 1)
    return out


def hermite_h(r_max: int, z) -> np.ndarray:
    r"""Orthonormal probabilists' Hermite polynomials h_r(z) = He_r(z)/√(r!), r = 0..r_max.

    Parameters
    ----------
    r_max : int ≥ 0.
    z : array_like of real numbers.

    Returns
    -------
    ndarray of shape (r_max + 1,) + shape(z): row r is h_r(z), from the stable three-term recurrence
    h_0 = 1, h_1 = z, h_{r+1} = (z h_r − √r h_{r−1})/√(r+1)  (Abramowitz–Stegun 22.7.14, normalised).
    E[h_r(z) h_s(z)] = δ_rs for z ~ N(0, 1).
    """
    r_max = _check_r_max(r_max)
    z = np.asarray(z, dtype=np.float64)
    return _hermite_recurrence(r_max, z, np.ones_like(z))


def hermite_functions(r_max: int, z) -> np.ndarray:
    r"""Weighted Hermite functions g_r(z) = h_r(z) ϕ(z), ϕ the standard normal density, r = 0..r_max.

    Computed by the same recurrence started from g_0 = ϕ, so that no large intermediate appears:
    |g_r(z)| ≤ 1.0865 e^{−z²/4}/√(2π) for all r (Cramér's inequality, Abramowitz–Stegun 22.14.17).
    μ_r(φ; q) = ∫ φ(√q z) g_r(z) dz.
    """
    r_max = _check_r_max(r_max)
    z = np.asarray(z, dtype=np.float64)
    return _hermite_recurrence(r_max, z, np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi))


# ---------------------------------------------------------------------------------------------------------
# Adaptive Gauss–Legendre quadrature, vectorised over panels and integrand rows
# ---------------------------------------------------------------------------------------------------------

def _gauss_legendre(integrand: Callable[[np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray):
    """Per-panel Gauss–Legendre sums of integrand rows and of their absolute values: two (K, P) arrays."""
    half = 0.5 * (b - a)
    mid = 0.5 * (b + a)
    z = mid[:, None] + half[:, None] * _GL_NODES[None, :]           # (P, n)
    f = integrand(z.ravel()).reshape(-1, z.shape[0], z.shape[1])      # (K, P, n)
    w = half[:, None] * _GL_WEIGHTS[None, :]
    return np.einsum("kpn,pn->kp", f, w), np.einsum("kpn,pn->kp", np.abs(f), w)


def _adaptive_integral(integrand, breakpoints: np.ndarray, tolerance: Callable[[np.ndarray], np.ndarray],
                       what: str) -> tuple[np.ndarray, np.ndarray]:
    """∫ integrand over [breakpoints[0], breakpoints[-1]] for all K rows at once.

    ``tolerance(estimate)`` maps the current (K,) estimate to (K,) absolute tolerances for the whole
    integral; each panel gets its share (width / total width).  Returns (value, estimated error bound).
    """
    a, b = breakpoints[:-1], breakpoints[1:]
    total_width = breakpoints[-1] - breakpoints[0]
    result = None
    err_acc = None
    for _level in range(_MAX_LEVELS):
        m = 0.5 * (a + b)
        coarse, _ = _gauss_legendre(integrand, a, b)
        fl, fl_abs = _gauss_legendre(integrand, a, m)
        fr, fr_abs = _gauss_legendre(integrand, m, b)
        fine, fine_abs = fl + fr, fl_abs + fr_abs
        if not np.all(np.isfinite(fine)):
            raise NtkcheckError(f"{what}: the activation returned non-finite values")
        if result is None:
            result = np.zeros(fine.shape[0])
            err_acc = np.zeros(fine.shape[0])
        pending_sum = fine.sum(axis=1)
        tol = tolerance(result + pending_sum)                             # (K,)
        err = np.abs(coarse - fine)
        allowed = tol[:, None] * ((b - a) / total_width)[None, :] + 100 * np.finfo(float).eps * fine_abs
        ok = np.all(err <= allowed, axis=0)
        result = result + fine[:, ok].sum(axis=1)
        err_acc = err_acc + err[:, ok].sum(axis=1)
        if np.all(ok):
            return result, err_acc
        a_bad, b_bad, m_bad = a[~ok], b[~ok], m[~ok]
        if np.any((b_bad - a_bad) < 1e-12 * (1.0 + np.abs(m_bad))) or 2 * a_bad.size > _MAX_PANELS:
            break
        a = np.concatenate([a_bad, m_bad])
        b = np.concatenate([m_bad, b_bad])
    where = ", ".join(f"{x:.3g}" for x in np.unique(np.round(0.5 * (a + b), 3))[:5])
    raise NtkcheckError(f"{what}: quadrature did not reach its tolerance near z = {where} "
                        "(a discontinuity missing from the activation's kinks, or a noisy function such as a "
                        "finite-difference derivative: then pass a larger rtol)")


def _breakpoints(act: Activation, sqrt_q: float) -> np.ndarray:
    """[−L, L] cut at 0, at the kinks k/√q inside (−L, L) and into unit panels."""
    L = TRUNCATION_L
    pts = [np.linspace(-L, L, int(2 * L) + 1)]
    kinks = np.asarray(act.kinks, dtype=np.float64) / sqrt_q
    pts.append(kinks[np.abs(kinks) < L])
    return np.unique(np.concatenate(pts))


def _gaussian_integrals(act: Activation, r_max: int, q: float, rtol: float, derivative_rows: bool):
    """Rows: μ_0..μ_{r_max}(φ; q), E[φ²], and if derivative_rows also E[φ'], E[φ'²] (all at √q z)."""
    sqrt_q = math.sqrt(q)
    norm_row = r_max + 1
    c = 1.0 / math.sqrt(2.0 * math.pi)

    def integrand(z):
        x = sqrt_q * z
        with np.errstate(over="ignore", invalid="ignore"):     # non-finite values are reported below
            return _rows(x, z)

    def _rows(x, z):
        phi = np.broadcast_to(np.asarray(act.fn(x), dtype=np.float64), x.shape)
        gauss = c * np.exp(-0.5 * z * z)
        rows = [_hermite_recurrence(r_max, z, gauss) * phi[None, :], (phi * phi * gauss)[None, :]]
        if derivative_rows:
            dphi = np.broadcast_to(np.asarray(act.deriv(x), dtype=np.float64), x.shape)
            rows.append(np.stack([dphi * gauss, dphi * dphi * gauss]))
        return np.concatenate(rows, axis=0)

    def tolerance(est):
        norm_phi = math.sqrt(max(est[norm_row], 0.0))
        tol = np.full(est.shape, rtol * norm_phi)
        tol[norm_row] = rtol * max(est[norm_row], 0.0)
        if derivative_rows:
            norm_dphi = math.sqrt(max(est[norm_row + 2], 0.0))
            tol[norm_row + 1] = rtol * norm_dphi
            tol[norm_row + 2] = rtol * max(est[norm_row + 2], 0.0)
        return np.maximum(tol, 1e-300)

    what = f"{'Gaussian moments' if derivative_rows else 'Hermite coefficients'} of {act.name} at q={q:g}"
    value, _err = _adaptive_integral(integrand, _breakpoints(act, sqrt_q), tolerance, what)
    return value


def hermite_coefficients(act: str | Activation, r_max: int, q: float = 1.0, *,
                         rtol: float = DEFAULT_RTOL) -> np.ndarray:
    r"""Hermite coefficients μ_r(φ; q) = E[φ(√q z) h_r(z)], r = 0..r_max, z ~ N(0, 1).

    Parameters
    ----------
    act : activation name (``"relu"``, ``"leaky_relu:0.2"``, ...) or :class:`Activation`.
    r_max : largest order, 0 ≤ r_max ≤ 1000.
    q : pre-activation variance, q > 0 (default 1).
    rtol : quadrature tolerance relative to ‖φ‖_q = E[φ(√q z)²]^{1/2} (see the module docstring).

    Returns
    -------
    float64 array (μ_0, ..., μ_{r_max}).

    Notes
    -----
    For a homogeneous activation (φ(c x) = c φ(x), c > 0) the result is √q μ_r(φ; 1), exactly.
    Reference values: Zhu et al. 2022 (table computed by adaptive quadrature).
    """
    act = get_activation(act)
    r_max = _check_r_max(r_max)
    q = _check_q(q)
    rtol = _check_rtol(rtol)
    if act.homogeneous and q != 1.0:
        return math.sqrt(q) * _gaussian_integrals(act, r_max, 1.0, rtol, False)[: r_max + 1]
    return _gaussian_integrals(act, r_max, q, rtol, False)[: r_max + 1]


def gaussian_moments(act: str | Activation, q: float = 1.0, *, rtol: float = DEFAULT_RTOL) -> dict[str, float]:
    r"""Gaussian moments of φ at variance q, by the same quadrature as :func:`hermite_coefficients`.

    Returns a dict with keys
    ``"E_phi"`` = E[φ(√q z)], ``"E_phi2"`` = E[φ(√q z)²], ``"E_dphi"`` = E[φ'(√q z)], ``"E_dphi2"`` = E[φ'(√q z)²].
    (Stein: μ_1(φ; q) = √q E_dphi; Parseval: Σ μ_r² = E_phi2; Zhu et al. 2022)
    The tolerance is rtol relative to ‖φ‖_q for E_phi and to ‖φ'‖_q for E_dphi (squares for the second
    moments).  A user activation whose derivative is taken by finite differences is accurate to only
    ~1e-10 relative: pass ``rtol=1e-9`` for it.
    """
    act = get_activation(act)
    q = _check_q(q)
    v = _gaussian_integrals(act, 0, q, _check_rtol(rtol), True)
    return {"E_phi": float(v[0]), "E_phi2": float(v[1]), "E_dphi": float(v[2]), "E_dphi2": float(v[3])}


# ---------------------------------------------------------------------------------------------------------
# Exact (sympy) coefficients for piecewise-polynomial activations
# ---------------------------------------------------------------------------------------------------------

_Z = sp.Symbol("z", real=True)


def _std_normal_pdf(t):
    if t in (sp.oo, -sp.oo):
        return sp.Integer(0)
    return sp.exp(-t ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _std_normal_cdf(t):
    if t == sp.oo:
        return sp.Integer(1)
    if t == -sp.oo:
        return sp.Integer(0)
    return (1 + sp.erf(t / sp.sqrt(2))) / 2


def _truncated_moments(k_max: int, a, b) -> list:
    """M_k(a, b) = ∫_a^b z^k ϕ(z) dz for k = 0..k_max (recurrence in the module docstring)."""
    def tail(t, k):                                           # t^{k−1} ϕ(t), zero at ±∞
        return sp.Integer(0) if t in (sp.oo, -sp.oo) else t ** (k - 1) * _std_normal_pdf(t)

    M = [_std_normal_cdf(b) - _std_normal_cdf(a)]
    if k_max >= 1:
        M.append(_std_normal_pdf(a) - _std_normal_pdf(b))
    for k in range(2, k_max + 1):
        M.append(tail(a, k) - tail(b, k) + (k - 1) * M[k - 2])
    return M


def _hermite_poly_exact(r_max: int) -> list:
    """He_0..He_{r_max} as sympy Polys in z (He_{r+1} = z He_r − r He_{r−1})."""
    he = [sp.Poly(1, _Z), sp.Poly(_Z, _Z)]
    for r in range(1, r_max):
        he.append(sp.Poly(_Z, _Z) * he[r] - r * he[r - 1])
    return he[: r_max + 1]


def _exp_poly_terms(e: sp.Expr, name: str) -> dict:
    """Write e(x) = Σ_β P_β(x) e^{βx} (β real constants, P_β polynomials); return {β: P_β}."""
    x = X_SYMBOL
    out: dict = {}
    for term in sp.Add.make_args(sp.expand(e, power_exp=True, mul=True)):
        if term == 0:
            continue
        coeff, dep = term.as_independent(x, as_Add=False)
        beta, poly = sp.Integer(0), sp.Integer(1)
        for factor in sp.Mul.make_args(dep):
            if factor == 1:
                continue
            base, expo = factor.as_base_exp()
            if isinstance(factor, sp.exp) or base == sp.E:
                arg = factor.args[0] if isinstance(factor, sp.exp) else expo
                b = sp.simplify(arg / x)
                if b.free_symbols or not b.is_real:
                    raise NoClosedForm(name)
                beta += b
            elif base == x and expo.is_Integer and expo >= 0:
                poly *= factor
            else:
                raise NoClosedForm(name)
        if coeff.free_symbols or coeff.is_real is False:
            raise NoClosedForm(name)
        out[beta] = out.get(beta, sp.Integer(0)) + coeff * poly
    return out


def _exp_polynomial_pieces(expr: sp.Expr, name: str) -> list[tuple[dict, sp.Expr, sp.Expr]]:
    """Split a piecewise exponential-polynomial expression in x into ({β: P_β}, a, b) on disjoint (a, b)."""
    x = X_SYMBOL
    try:
        expr = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    except Exception:                                         # pragma: no cover - sympy internals
        raise NoClosedForm(name) from None
    branches = list(expr.args) if isinstance(expr, sp.Piecewise) else [(expr, sp.true)]
    remaining = sp.S.Reals
    pieces = []
    for e, cond in branches:
        if not e.free_symbols <= {x}:
            raise NoClosedForm(name)
        terms = _exp_poly_terms(e, name)
        try:
            cset = sp.S.Reals if cond is sp.true else cond.as_set()
        except Exception:
            raise NoClosedForm(name) from None
        here = sp.Intersection(cset, remaining)
        remaining = sp.Complement(remaining, cset)
        parts = here.args if isinstance(here, sp.Union) else (here,)
        for part in parts:
            if part is sp.S.EmptySet or isinstance(part, sp.FiniteSet):
                continue                                       # measure zero
            if not isinstance(part, sp.Interval):
                raise NoClosedForm(name)
            pieces.append((terms, part.start, part.end))
    return pieces


def _shift(t, beta):
    return t if t in (sp.oo, -sp.oo) else t - beta


def hermite_coefficients_exact(act: str | Activation, r_max: int, q=1) -> list[sp.Expr]:
    r"""Exact μ_0..μ_{r_max}(φ; q) as sympy expressions, for piecewise exponential-polynomial φ.

    Domain: activations whose sympy ``expr`` is a polynomial in x, or a ``Piecewise``/``Max``/``Abs``/
    ``Heaviside`` combination of terms P(x)·e^{βx} (P polynomial, β real) with real breakpoints: ReLU,
    leaky ReLU, identity, ELU, user polynomials.  q > 0 may be a number (floats are converted to rationals)
    or a positive sympy symbol.

    Method: with φ(√q z) = Σ_β P_β(z) e^{β z} on (a_j, b_j) (β already scaled by √q),
    μ_r = Σ_j Σ_β ∫_{a_j}^{b_j} P_β(z) He_r(z) e^{βz} ϕ(z) dz / √(r!), and e^{βz}ϕ(z) = e^{β²/2}ϕ(z − β) turns
    each integral into Σ_k [z^k](P_β He_r) Σ_i C(k,i) β^{k−i} M_i(a_j − β, b_j − β) e^{β²/2}, with the
    truncated Gaussian moments M_i of the module docstring.  For ReLU this is the closed form of the
    Zhu et al. 2022

    Raises
    ------
    NoClosedForm : for any other activation (message "no closed form for μ_r(<name>)").
    """
    act = get_activation(act)
    r_max = _check_r_max(r_max)
    if act.expr is None:
        raise NoClosedForm(act.name)
    if isinstance(q, sp.Basic):
        q_s = q
        if q_s.is_positive is not True:
            raise NtkcheckError(f"variance q must be positive, got {q}")
    else:
        _check_q(q)
        q_s = sp.Integer(int(q)) if isinstance(q, (int, np.integer)) else sp.nsimplify(float(q), rational=True)
    sqrt_q = sp.sqrt(q_s)
    pieces = _exp_polynomial_pieces(act.expr, act.name)
    he = _hermite_poly_exact(r_max)
    mu = [sp.Integer(0)] * (r_max + 1)
    for terms, a, b in pieces:
        a_z = a if a in (sp.oo, -sp.oo) else a / sqrt_q
        b_z = b if b in (sp.oo, -sp.oo) else b / sqrt_q
        for beta_x, poly_x in terms.items():
            beta = beta_x * sqrt_q
            p = sp.Poly(sp.expand(poly_x.subs(X_SYMBOL, sqrt_q * _Z)), _Z)
            if p.is_zero:
                continue
            k_max = p.degree() + r_max
            M = _truncated_moments(k_max, _shift(a_z, beta), _shift(b_z, beta))
            if beta == 0:
                I = M                                          # I_k = ∫ z^k ϕ over (a, b)
            else:                                              # I_k = e^{β²/2} Σ_i C(k,i) β^{k−i} M_i
                w = sp.exp(beta ** 2 / 2)
                I = [w * sum(sp.binomial(k, i) * beta ** (k - i) * M[i] for i in range(k + 1))
                     for k in range(k_max + 1)]
            for r in range(r_max + 1):
                prod = p * he[r]
                s_r = sum((c * I[k] for (k,), c in prod.terms()), sp.Integer(0))
                mu[r] += s_r / sp.sqrt(sp.factorial(r))
    return [sp.factor_terms(sp.expand(m)) for m in mu]


# ---------------------------------------------------------------------------------------------------------
# Tables for reports
# ---------------------------------------------------------------------------------------------------------

def hermite_table(acts: Iterable[str | Activation], r_max: int = 8, q: float = 1.0) -> list[dict]:
    """One row per activation: ``{"activation", "q", "mu": [μ_0..μ_r_max], "E_phi", "E_phi2", "E_dphi",
    "E_dphi2"}`` (floats), as in the table of the Zhu et al. 2022"""
    rows = []
    for a in acts:
        act = get_activation(a)
        row = {"activation": act.name, "q": _check_q(q),
               "mu": [float(v) for v in hermite_coefficients(act, r_max, q)]}
        row.update(gaussian_moments(act, q))
        rows.append(row)
    return rows


def format_hermite_table(rows: Sequence[dict], digits: int = 6) -> str:
    """Markdown rendering of :func:`hermite_table` rows (values below 10⁻¹² printed as 0)."""
    if not rows:
        return ""
    r_max = len(rows[0]["mu"]) - 1

    def fmt(v):
        return "0" if abs(v) < 1e-12 else f"{v:.{digits}f}"

    head = ["φ", "q"] + [f"μ{r}" for r in range(r_max + 1)] + ["E[φ]", "E[φ²]", "E[φ′]", "E[φ′²]"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["activation"], f"{row['q']:g}"] + [fmt(v) for v in row["mu"]] + [
            fmt(row[k]) for k in ("E_phi", "E_phi2", "E_dphi", "E_dphi2")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
