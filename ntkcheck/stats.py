r"""The toolkit's one statistics module: rank correlations with bootstrap intervals, partial Kendall τ,
multiplicity adjustment and top-k retention.

Every interval here is a bootstrap interval from :func:`scipy.stats.bootstrap` (BCa by default, resampling the
observations as pairs / triples), every p-value comes from a named test, and every function is a pure function
of its inputs and ``seed``: the same call gives the same bytes, whatever ``PYTHONHASHSEED`` or the number of
worker processes.

The result of an estimator is an :class:`Estimate` carrying the point value, the interval, the sample size, the
p-value against "no association" and a one-line ``method`` string that states the protocol, so that a report can
print how each number was obtained.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "Estimate",
    "Magnitude",
    "Power",
    "benjamini_hochberg",
    "binomial_pvalue",
    "bootstrap",
    "holm",
    "kendall",
    "kendall_combination",
    "magnitude",
    "mc_error_of_quantile",
    "partial_kendall",
    "partial_tau",
    "percentile_pvalue",
    "power_correlation",
    "power_kendall",
    "power_mean_difference",
    "power_proportion",
    "proportion",
    "refine",
    "spearman",
    "stratified_kendall",
    "top_k_retention",
    "wald_pvalue",
]

DEFAULT_RESAMPLES = 2000     # BCa needs ~2000 resamples for stable 95% end points (Efron & Tibshirani 1993, §14.3)
DEFAULT_CONFIDENCE = 0.95

# Above this many observations the O(n²) pairwise Kendall statistic on resampled data is replaced by scipy's
# O(n log n) one per resample (6x faster already at n = 220, measured); above _BCA_MAX_N BCa's jackknife (n
# evaluations) is replaced by the percentile interval, which at such n agrees with BCa to well below the Monte
# Carlo error of the end points (bias and skewness corrections shrink like 1/√n).
_PAIRWISE_MAX_N = 30
_BCA_MAX_N = 3000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    statistic : float
        The estimate on the full sample.
    low, high : float
        End points of the two-sided interval at the stated confidence (``nan`` when undefined).
    n : int
        Number of observations (pairs, triples) the estimate rests on.
    pvalue : float
        Two-sided p-value against "no association" (``nan`` when undefined); the test is named in ``method``.
    method : str
        One line stating the protocol, e.g. ``"Kendall τ-b, 95% BCa bootstrap CI, 2000 resamples, seed 0"``.
    """

    statistic: float
    low: float
    high: float
    n: int
    pvalue: float
    method: str
    se: float = math.nan            # bootstrap standard error (sd of the resampled statistics)
    mc_error: float = math.nan      # Monte Carlo standard error of the interval's end points (see mc_error_of_quantile)
    n_resamples: int = 0

    @property
    def ci(self) -> tuple[float, float]:
        """The interval as ``(low, high)``."""
        return (self.low, self.high)

    def p_at(self, value: float) -> float:
        r"""Two-sided p-value of H₀: θ = ``value``, a Wald test with the bootstrap standard error:
        p = 2(1 − Φ(|θ̂ − value| / se)).  nan when the standard error is unknown or 0."""
        if not (math.isfinite(self.se) and self.se > 0 and math.isfinite(self.statistic)):
            return math.nan
        return float(2 * _st.norm.sf(abs(self.statistic - value) / self.se))

    def near(self, value: float, k: float = 2.0) -> bool:
        """True iff ``value`` lies within ``k`` Monte Carlo standard errors of an end point of the interval: a
        decision "inside / outside" at ``value`` could then flip with the bootstrap seed."""
        if not math.isfinite(self.mc_error):
            return False
        return bool(min(abs(self.low - value), abs(self.high - value)) <= k * self.mc_error)

    def excludes(self, value: float) -> bool:
        """True iff ``value`` lies outside the closed interval [low, high] (False when the interval is nan)."""
        return bool(math.isfinite(self.low) and math.isfinite(self.high) and not (self.low <= value <= self.high))

    def to_json(self) -> dict[str, Any]:
        f = lambda v: None if v is None or not math.isfinite(float(v)) else float(v)
        return {"statistic": f(self.statistic), "ci": [f(self.low), f(self.high)], "n": int(self.n),
                "pvalue": f(self.pvalue), "se": f(self.se), "mc_error": f(self.mc_error), "method": self.method}


# ---- rank statistics on the last axis (vectorised over bootstrap resamples) ----------------------------------

def _pair_signs(a: np.ndarray) -> np.ndarray:
    """sign(a_i − a_j) for all i < j along the last axis, shape (..., n(n−1)/2)."""
    n = a.shape[-1]
    i, j = np.triu_indices(n, k=1)
    return np.sign(a[..., i] - a[..., j])


def _tau_b_pairwise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Kendall τ-b along the last axis by explicit pair counting:
    τ_b = Σ_{i<j} s^x_{ij} s^y_{ij} / √(Σ|s^x_{ij}| · Σ|s^y_{ij}|), s^x_{ij} = sign(x_i − x_j)."""
    sx, sy = _pair_signs(x), _pair_signs(y)
    num = np.sum(sx * sy, axis=-1)
    den = np.sqrt(np.sum(np.abs(sx), axis=-1) * np.sum(np.abs(sy), axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _tau_b(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x, y = np.moveaxis(np.asarray(x, float), axis, -1), np.moveaxis(np.asarray(y, float), axis, -1)
    if x.shape[-1] <= _PAIRWISE_MAX_N:
        # chunk the leading axes so that the pair arrays stay below ~40 MB
        n = x.shape[-1]
        lead = x.shape[:-1]
        xf, yf = x.reshape(-1, n), y.reshape(-1, n)
        step = max(1, int(2e6 // max(n * (n - 1) // 2, 1)))
        out = np.concatenate([_tau_b_pairwise(xf[s:s + step], yf[s:s + step]) for s in range(0, xf.shape[0], step)])
        return out.reshape(lead)
    flat = [(_st.kendalltau(a, b).statistic) for a, b in zip(x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1]))]
    return np.asarray(flat, float).reshape(x.shape[:-1])


class _ResampledTau:
    r"""Kendall τ-b of bootstrap resamples from the resample's index counts, without re-sorting the data.

    A resample is a multiset of the n original rows, row i taken w_i times.  Copies of one row are tied in every
    variable, so they add to neither the numerator nor the denominators of τ-b, and

    .. math:: \tau_b(w) = \frac{w^\top (S^x \circ S^y) w}{\sqrt{(w^\top |S^x| w)(w^\top |S^y| w)}},
              \qquad S^x_{ij} = \operatorname{sign}(x_i - x_j),

    one matrix product per resample batch instead of n² sign evaluations per resample.  The statistic is handed
    to :func:`scipy.stats.bootstrap` as a function of resampled *indices* (its BCa jackknife then removes one
    index at a time, the same leave-one-out samples as on the data).
    """

    def __init__(self, *cols: np.ndarray):
        self.n = cols[0].size
        self.sign = [np.sign(c[:, None] - c[None, :]) for c in cols]
        self._quad: dict[tuple, np.ndarray] = {}

    def _matrix(self, key: tuple) -> np.ndarray:
        if key not in self._quad:
            kind, a, b = key
            self._quad[key] = self.sign[a] * self.sign[b] if kind == "s" else np.abs(self.sign[a])
        return self._quad[key]

    def counts(self, idx: np.ndarray, axis: int = -1) -> tuple[np.ndarray, tuple[int, ...]]:
        idx = np.moveaxis(np.asarray(idx), axis, -1).astype(np.int64)
        lead = idx.shape[:-1]
        rows = idx.reshape(-1, idx.shape[-1])
        flat = rows + self.n * np.arange(rows.shape[0])[:, None]
        W = np.bincount(flat.ravel(), minlength=rows.shape[0] * self.n).reshape(rows.shape[0], self.n)
        return W.astype(float), lead

    def quad(self, W: np.ndarray, key: tuple) -> np.ndarray:
        return np.einsum("ri,ri->r", W @ self._matrix(key), W)

    def tau(self, W: np.ndarray, a: int, b: int) -> np.ndarray:
        num = self.quad(W, ("s", a, b))
        den = np.sqrt(self.quad(W, ("a", a, a)) * self.quad(W, ("a", b, b)))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def kendall(self, idx: np.ndarray, axis: int = -1) -> np.ndarray:
        W, lead = self.counts(idx, axis)
        return self.tau(W, 0, 1).reshape(lead)

    def partial(self, idx: np.ndarray, axis: int = -1) -> np.ndarray:
        W, lead = self.counts(idx, axis)
        txy, txz, tyz = self.tau(W, 0, 1), self.tau(W, 0, 2), self.tau(W, 1, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((txy - txz * tyz) / np.sqrt((1 - txz ** 2) * (1 - tyz ** 2))).reshape(lead)


#: Largest n for the resample-count form of τ (n×n matrices; above it scipy's O(n log n) τ per resample).
_COUNTS_MAX_N = 1000


def _spearman_rho(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman ρ along ``axis``: the Pearson correlation of mid-ranks."""
    rx = _st.rankdata(np.asarray(x, float), axis=axis)
    ry = _st.rankdata(np.asarray(y, float), axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    num = np.sum(rx * ry, axis=axis)
    den = np.sqrt(np.sum(rx * rx, axis=axis) * np.sum(ry * ry, axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _partial_tau(x: np.ndarray, y: np.ndarray, z: np.ndarray, axis: int = -1) -> np.ndarray:
    txy, txz, tyz = _tau_b(x, y, axis), _tau_b(x, z, axis), _tau_b(y, z, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (txy - txz * tyz) / np.sqrt((1 - txz ** 2) * (1 - tyz ** 2))


# ---- the bootstrap --------------------------------------------------------------------------------------------

def _clean(*arrays: Sequence[float]) -> tuple[np.ndarray, ...]:
    arrs = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = {a.size for a in arrs}
    if len(n) != 1:
        raise ValueError(f"paired samples must have equal length, got {sorted(n)}")
    keep = np.all([np.isfinite(a) for a in arrs], axis=0)
    return tuple(a[keep] for a in arrs)


def mc_error_of_quantile(sd: float, n_resamples: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    r"""Monte Carlo standard error of a bootstrap interval's end point.

    Parameters
    ----------
    sd : float
        Standard deviation of the bootstrap distribution.
    n_resamples : int
        Number of resamples B.
    confidence : float
        Two-sided level; the end points are the a = (1 − confidence)/2 and 1 − a quantiles.

    Returns
    -------
    float
        The standard error of the estimated a-quantile over the randomness of the resampling alone.

    Notes
    -----
    The sample a-quantile of B draws has asymptotic variance a(1 − a) / (B f(q_a)²), f the density at the
    quantile; with a normal bootstrap distribution f(q_a) = φ(z_a)/sd, so

    .. math:: \operatorname{se}_{MC} = \mathrm{sd}^{*}\,\frac{\sqrt{a(1-a)/B}}{\varphi(z_a)}

    (≈ 0.06 sd* at B = 2000 and a = 0.025).  BCa end points are shifted percentiles and share this error
    to first order.

    References
    ----------
    A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*, Cambridge 1997, §2.5.2.
    B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall 1993, §19.3.
    """
    a = (1 - confidence) / 2
    if not (math.isfinite(sd) and n_resamples > 0):
        return math.nan
    return float(sd * math.sqrt(a * (1 - a) / n_resamples) / _st.norm.pdf(_st.norm.ppf(a)))


def _interval(data: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], *, seed: int, n_resamples: int,
              confidence: float, method: str) -> tuple[float, float, np.ndarray, str]:
    """Paired bootstrap interval of ``statistic`` (vectorised on the last axis) over the rows of ``data``.
    Returns (low, high, bootstrap distribution, interval name)."""
    n = data[0].size
    if method == "BCa" and n > _BCA_MAX_N:
        method = "percentile"
    with warnings.catch_warnings():
        # a degenerate bootstrap distribution (tiny n, many ties) makes BCa undefined: handled below
        warnings.simplefilter("ignore", _st.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = _st.bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                            confidence_level=confidence, method=method, rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    dist = np.asarray(res.bootstrap_distribution, float)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # BCa's acceleration or bias correction undefined: the percentile interval of the same resamples
        d = dist[np.isfinite(dist)]
        if d.size:
            a = (1 - confidence) / 2
            lo, hi = (float(v) for v in np.quantile(d, [a, 1 - a]))
            method = "percentile (BCa undefined)"
    return lo, hi, dist, method


def _finish(statistic: float, lo: float, hi: float, n: int, pvalue: float, method: str, dist: np.ndarray,
            n_resamples: int, confidence: float) -> Estimate:
    d = dist[np.isfinite(dist)]
    sd = float(np.std(d, ddof=1)) if d.size > 1 else math.nan
    return Estimate(float(statistic), lo, hi, int(n), float(pvalue), method, sd,
                    mc_error_of_quantile(sd, int(d.size), confidence), int(n_resamples))


def _degenerate(n: int, what: str) -> Estimate:
    return Estimate(math.nan, math.nan, math.nan, n, math.nan, f"{what}: undefined (fewer than 3 pairs or a constant)")


def _protocol(name: str, confidence: float, method: str, n_resamples: int, seed: int, test: str) -> str:
    return (f"{name}, {confidence:.0%} {method} bootstrap CI over paired resamples, {n_resamples} resamples, "
            f"seed {seed}; p: {test}")


def kendall(x: Sequence[float], y: Sequence[float], *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES,
            confidence: float = DEFAULT_CONFIDENCE, method: str = "BCa") -> Estimate:
    r"""Kendall's τ-b between ``x`` and ``y`` with a paired bootstrap confidence interval.

    Parameters
    ----------
    x, y : array_like
        Paired observations; pairs with a non-finite member are dropped.
    seed : int
        Seed of the bootstrap's generator (``numpy.random.default_rng(seed)``).
    n_resamples : int
        Number of bootstrap resamples.
    confidence : float
        Two-sided confidence level of the interval.
    method : {"BCa", "percentile", "basic"}
        Interval of :func:`scipy.stats.bootstrap`; BCa falls back to percentile above 3000 pairs (its jackknife
        costs n evaluations; at that n both agree within the end points' Monte Carlo error).

    Returns
    -------
    Estimate
        τ-b, its interval, n, and the two-sided p-value of :func:`scipy.stats.kendalltau` (exact for small n
        without ties, else the normal approximation with the tie-corrected variance).

    Notes
    -----
    With :math:`s^x_{ij} = \operatorname{sign}(x_i - x_j)`,

    .. math:: \tau_b = \frac{\sum_{i<j} s^x_{ij} s^y_{ij}}{\sqrt{\sum_{i<j} |s^x_{ij}| \, \sum_{i<j} |s^y_{ij}|}},

    i.e. (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)) with n₀ = n(n−1)/2 and n₁, n₂ the pairs tied in x, y.
    The bootstrap resamples the n pairs with replacement (ties created by duplicated pairs are handled by τ-b).

    References
    ----------
    M. G. Kendall, "The treatment of ties in ranking problems", Biometrika 33 (1945) 239–251.
    B. Efron, "Better bootstrap confidence intervals", JASA 82 (1987) 171–185 (BCa).
    """
    x, y = _clean(x, y)
    n = x.size
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return _degenerate(n, "Kendall τ-b")
    res = _st.kendalltau(x, y)
    if n <= _COUNTS_MAX_N:
        lo, hi, dist, m = _interval((np.arange(n),), _ResampledTau(x, y).kendall, seed=seed,
                                    n_resamples=n_resamples, confidence=confidence, method=method)
    else:
        lo, hi, dist, m = _interval((x, y), _tau_b, seed=seed, n_resamples=n_resamples, confidence=confidence,
                                    method=method)
    # the point value from the same function the resamples use (equal to scipy's to rounding)
    return _finish(float(_tau_b(x, y)), lo, hi, n, float(res.pvalue),
                   _protocol("Kendall τ-b", confidence, m, n_resamples, seed, "scipy.stats.kendalltau"), dist,
                   n_resamples, confidence)


def spearman(x: Sequence[float], y: Sequence[float], *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES,
             confidence: float = DEFAULT_CONFIDENCE, method: str = "BCa") -> Estimate:
    r"""Spearman's ρ between ``x`` and ``y`` with a paired bootstrap confidence interval.

    Parameters are those of :func:`kendall`.

    Returns
    -------
    Estimate
        ρ, its interval, n, and the two-sided p-value of :func:`scipy.stats.spearmanr` (t distribution with
        n − 2 degrees of freedom).

    Notes
    -----
    ρ is the Pearson correlation of the mid-ranks R(x), R(y):

    .. math:: \rho = \frac{\sum_i (R_i^x - \bar R^x)(R_i^y - \bar R^y)}
                          {\sqrt{\sum_i (R_i^x - \bar R^x)^2 \sum_i (R_i^y - \bar R^y)^2}}.

    References
    ----------
    C. Spearman, "The proof and measurement of association between two things", Am. J. Psychol. 15 (1904) 72–101.
    B. Efron, "Better bootstrap confidence intervals", JASA 82 (1987) 171–185 (BCa).
    """
    x, y = _clean(x, y)
    n = x.size
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return _degenerate(n, "Spearman ρ")
    res = _st.spearmanr(x, y)
    lo, hi, dist, m = _interval((x, y), _spearman_rho, seed=seed, n_resamples=n_resamples, confidence=confidence,
                                method=method)
    return _finish(float(_spearman_rho(x, y)), lo, hi, n, float(res.pvalue),
                   _protocol("Spearman ρ", confidence, m, n_resamples, seed, "scipy.stats.spearmanr"), dist,
                   n_resamples, confidence)


def partial_kendall(x: Sequence[float], y: Sequence[float], z: Sequence[float], *, seed: int = 0,
                    n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
                    method: str = "BCa") -> Estimate:
    r"""Kendall's partial τ of ``x`` and ``y`` given one covariate ``z`` (e.g. a metric and accuracy given
    #params), with a paired bootstrap confidence interval over the triples.

    Parameters are those of :func:`kendall`, plus the covariate ``z``.

    Returns
    -------
    Estimate
        τ_{xy·z}, its interval, n, and a bootstrap p-value against 0 (see Notes).

    Notes
    -----
    .. math:: \tau_{xy\cdot z} = \frac{\tau_{xy} - \tau_{xz}\,\tau_{yz}}{\sqrt{(1 - \tau_{xz}^2)(1 - \tau_{yz}^2)}}

    with each τ a τ-b.  The partial τ has no tabulated null distribution with ties, so its p-value is the
    bootstrap's two-sided percentile p-value, p = min(1, 2·min(P*(τ* ≤ 0), P*(τ* ≥ 0))) with P* over the
    resamples and +1 added to numerator and denominator (Davison & Hinkley 1997, §4.4): the smallest level at
    which the equal-tailed percentile interval excludes 0.  Undefined (nan) when x or y is a function of z
    (|τ_xz| = 1 or |τ_yz| = 1).

    References
    ----------
    M. G. Kendall, "Partial rank correlation", Biometrika 32 (1942) 277–283.
    A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*, Cambridge 1997, §4.4.
    """
    x, y, z = _clean(x, y, z)
    n = x.size
    if n < 4 or min(np.ptp(x), np.ptp(y), np.ptp(z)) == 0:
        return _degenerate(n, "partial Kendall τ")
    t = float(_partial_tau(x, y, z))
    if not math.isfinite(t):
        return _degenerate(n, "partial Kendall τ")
    if n <= _COUNTS_MAX_N:
        lo, hi, dist, m = _interval((np.arange(n),), _ResampledTau(x, y, z).partial, seed=seed,
                                    n_resamples=n_resamples, confidence=confidence, method=method)
    else:
        lo, hi, dist, m = _interval((x, y, z), _partial_tau, seed=seed, n_resamples=n_resamples,
                                    confidence=confidence, method=method)
    return _finish(t, lo, hi, n, wald_pvalue(t, dist, 0.0),
                   _protocol("Kendall partial τ given one covariate", confidence, m, n_resamples, seed,
                             "Wald z with the bootstrap standard error, against 0"), dist, n_resamples, confidence)


def wald_pvalue(statistic: float, distribution: Sequence[float], value: float = 0.0) -> float:
    r"""Two-sided p-value of H₀: θ = ``value`` from the bootstrap standard error: p = 2(1 − Φ(|θ̂ − value|/se*)),
    se* the standard deviation of the finite resampled statistics.

    Notes
    -----
    Unlike the percentile p-value (:func:`percentile_pvalue`), which cannot fall below 2/(B + 1), this one is not
    floored by the number of resamples — which matters once it is multiplied by the size of a Holm family.

    References
    ----------
    B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall 1993, §12.2, §16.
    """
    d = np.asarray(distribution, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2 or not math.isfinite(statistic):
        return math.nan
    se = float(np.std(d, ddof=1))
    if se == 0:
        return 0.0 if statistic != value else 1.0
    return float(2 * _st.norm.sf(abs(statistic - value) / se))


def partial_tau(x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> float:
    r"""Kendall's partial τ_{xy·z} of the finite triples, without an interval (for a census, where the whole
    population is observed): (τ_xy − τ_xz τ_yz)/√((1 − τ_xz²)(1 − τ_yz²)) (Kendall 1942; see
    :func:`partial_kendall`)."""
    x, y, z = _clean(x, y, z)
    return float(_partial_tau(x, y, z)) if x.size >= 4 else math.nan


def percentile_pvalue(distribution: Sequence[float], value: float = 0.0) -> float:
    r"""Two-sided bootstrap percentile p-value of H₀: θ = ``value``.

    Notes
    -----
    p = min(1, 2·min((#{θ* ≤ value} + 1)/(B + 1), (#{θ* ≥ value} + 1)/(B + 1))) over the B finite resamples θ*:
    the smallest level at which the equal-tailed percentile interval excludes ``value``.

    References
    ----------
    A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*, Cambridge 1997, §4.4.
    """
    d = np.asarray(distribution, dtype=float)
    d = d[np.isfinite(d)]
    if not d.size:
        return math.nan
    lo, hi = (np.sum(d <= value) + 1) / (d.size + 1), (np.sum(d >= value) + 1) / (d.size + 1)
    return float(min(1.0, 2 * min(lo, hi)))


def bootstrap(data: Sequence[Sequence[float]], statistic: Callable[..., np.ndarray], *, name: str, seed: int = 0,
              n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE, method: str = "BCa",
              null: float = 0.0) -> Estimate:
    r"""Any statistic of paired observations with a paired bootstrap interval (scipy.stats.bootstrap).

    Parameters
    ----------
    data : sequence of array_like
        Equal-length samples; row i of all of them is resampled together (rows with a non-finite value are
        dropped).
    statistic : callable
        ``statistic(*samples, axis=-1)``, vectorised over leading axes (as scipy.stats.bootstrap's
        ``vectorized=True`` expects).
    name : str
        What the statistic is, for the ``method`` line.
    null : float
        The value the p-value tests (bootstrap percentile p-value, :func:`percentile_pvalue`).

    Returns
    -------
    Estimate

    Notes
    -----
    The BCa interval (Efron 1987) corrects the percentile interval for the bootstrap distribution's bias
    z₀ = Φ⁻¹(#{θ* < θ̂}/B) and skewness (acceleration from the jackknife); it falls back to the percentile interval
    above 3000 rows or where the corrections are undefined (said in ``method``).

    References
    ----------
    B. Efron, "Better bootstrap confidence intervals", JASA 82 (1987) 171–185.
    """
    arrs = _clean(*data)
    n = arrs[0].size
    if n < 3:
        return _degenerate(n, name)
    t = float(statistic(*arrs, axis=-1))
    if not math.isfinite(t):
        return _degenerate(n, name)
    return _wald_estimate(t, arrs, statistic, n, name=name, seed=seed, n_resamples=n_resamples,
                          confidence=confidence, method=method, null=null)


def _wald_estimate(point: float, data: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], n: int, *,
                   name: str, seed: int, n_resamples: int, confidence: float, method: str, null: float) -> Estimate:
    """The bootstrap interval of ``statistic`` over ``data`` and the Wald p-value of ``point`` against ``null``
    with the bootstrap standard error, as one :class:`Estimate`."""
    lo, hi, dist, m = _interval(data, statistic, seed=seed, n_resamples=n_resamples, confidence=confidence,
                                method=method)
    return _finish(point, lo, hi, n, wald_pvalue(point, dist, null),
                   _protocol(name, confidence, m, n_resamples, seed,
                             f"Wald z with the bootstrap standard error, against {null:g}"),
                   dist, n_resamples, confidence)


def kendall_combination(columns: Sequence[Sequence[float]], combine: Callable[[Callable[[int, int], np.ndarray]],
                                                                            np.ndarray], *, name: str, seed: int = 0,
                        n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
                        method: str = "BCa", null: float = 0.0) -> Estimate:
    r"""A function of Kendall τ-b's among several paired columns (a difference of two τ, a gain over the better of
    two), with a paired BCa bootstrap interval.

    Parameters
    ----------
    columns : sequence of array_like
        Equal-length columns (rows with a non-finite value dropped).
    combine : callable
        ``combine(tau)`` where ``tau(a, b)`` gives τ-b of columns a and b (one value per resample); returns the
        statistic, e.g. ``lambda t: t(0, 2) - t(1, 2)``.
    name : str
        What the statistic is, for the ``method`` line.
    null : float
        The value the p-value tests (:func:`wald_pvalue`).

    Returns
    -------
    Estimate

    Notes
    -----
    Every τ-b of a resample is computed from its index counts (the resample-count form of :class:`_ResampledTau`,
    exact, n ≤ 1000; above that scipy's τ per resample): the columns are fixed per row, so a score that is itself
    a rank over the sample (TE-NAS's rank sum) keeps the value it has on the whole sample.

    References
    ----------
    B. Efron, "Better bootstrap confidence intervals", JASA 82 (1987) 171–185.
    """
    cols = _clean(*columns)
    n = cols[0].size
    if n < 3 or any(np.ptp(c) == 0 for c in cols):
        return _degenerate(n, name)

    if n <= _COUNTS_MAX_N:
        rt = _ResampledTau(*cols)

        def statistic(idx, axis=-1):
            W, lead = rt.counts(idx, axis)
            return np.asarray(combine(lambda a, b: rt.tau(W, a, b)), float).reshape(lead)
        data: tuple[np.ndarray, ...] = (np.arange(n),)
        point = float(statistic(np.arange(n)[None, :])[0])
    else:
        def statistic(*arrs, axis=-1):
            return np.asarray(combine(lambda a, b: _tau_b(arrs[a], arrs[b], axis)), float)
        data = cols
        point = float(statistic(*cols))
    if not math.isfinite(point):
        return _degenerate(n, name)
    return _wald_estimate(point, data, statistic, n, name=name, seed=seed, n_resamples=n_resamples,
                          confidence=confidence, method=method, null=null)


def stratified_kendall(x: Sequence[float], y: Sequence[float], groups: Sequence[Any], *, seed: int = 0,
                       n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
                       min_group: int = 4) -> tuple[Estimate, dict[Any, float]]:
    r"""Kendall τ-b within groups, combined as the pair-count-weighted mean, with a stratified bootstrap interval.

    Parameters
    ----------
    x, y : array_like
        Paired observations (non-finite pairs dropped).
    groups : array_like
        Group label of each pair (e.g. the network family); groups with fewer than ``min_group`` pairs are left out.

    Returns
    -------
    (Estimate, dict)
        The combined τ with a percentile interval over resamples drawn *within* each group (the group sizes fixed),
        its bootstrap percentile p-value against 0, and τ-b per group.

    Notes
    -----
    .. math:: \bar\tau = \frac{\sum_g w_g \tau_{b,g}}{\sum_g w_g}, \qquad w_g = n_g (n_g - 1)/2,

    the weights being the number of pairs that each group's τ counts.  scipy.stats.bootstrap has no strata, so
    the resampling is done here (indices drawn with replacement within each group from ``default_rng(seed)``) and
    the interval is the percentile one.

    References
    ----------
    M. G. Kendall, *Rank Correlation Methods*, 4th ed., Griffin 1970, ch. 3 (τ-b) and ch. 6.
    A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*, Cambridge 1997, §3.7 (stratified
    resampling).
    """
    x, y, = (np.asarray(a, dtype=float).ravel() for a in (x, y))
    g = np.asarray(groups).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, g = x[keep], y[keep], g[keep]
    labels = sorted(set(g.tolist()), key=str)
    idx = {k: np.flatnonzero(g == k) for k in labels if np.sum(g == k) >= min_group}

    def combine(sel: dict[Any, np.ndarray]) -> float:
        num = den = 0.0
        for i in sel.values():
            t = float(_tau_b(x[i], y[i])) if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0 else math.nan
            if math.isfinite(t):
                w = len(i) * (len(i) - 1) / 2
                num, den = num + w * t, den + w
        return num / den if den else math.nan

    per = {k: float(_tau_b(x[i], y[i])) for k, i in idx.items()}
    n = int(sum(len(i) for i in idx.values()))
    val = combine(idx)
    if not math.isfinite(val):
        return _degenerate(n, "stratified Kendall τ-b"), per
    rng = np.random.default_rng(seed)
    dist = np.array([combine({k: rng.choice(i, size=len(i), replace=True) for k, i in idx.items()})
                     for _ in range(n_resamples)])
    d = dist[np.isfinite(dist)]
    a = (1 - confidence) / 2
    lo, hi = (float(v) for v in np.quantile(d, [a, 1 - a]))
    method = (f"pair-weighted mean of within-group Kendall τ-b over {len(idx)} groups, {confidence:.0%} percentile "
              f"bootstrap CI resampling within groups, {n_resamples} resamples, seed {seed}; p: Wald z with the "
              "bootstrap standard error, against 0")
    return _finish(val, lo, hi, n, wald_pvalue(val, d, 0.0), method, dist, n_resamples, confidence), per


def refine(estimate: Callable[[int], Estimate], boundaries: Sequence[float], *,
           n_resamples: int = DEFAULT_RESAMPLES, max_resamples: int = 5 * DEFAULT_RESAMPLES) -> Estimate:
    r"""An interval whose decision at ``boundaries`` does not hang on the bootstrap's Monte Carlo error.

    Parameters
    ----------
    estimate : callable
        ``estimate(n_resamples) -> Estimate`` (a bootstrap estimator with everything but the resample count bound).
    boundaries : sequence of float
        The values the verdict compares the interval with (0 for a direction, the paper's value for a magnitude).
    n_resamples, max_resamples : int
        First and (if needed) second number of resamples.

    Returns
    -------
    Estimate
        The first estimate when no boundary lies within 2 Monte Carlo standard errors of an end point
        (:meth:`Estimate.near`); else the estimate with ``max_resamples`` (MC error √5 smaller at the defaults).
        A boundary still :meth:`~Estimate.near` the result leaves the decision to the caller, who must then call
        it ``inconclusive``: a verdict must never depend on the bootstrap seed.

    Notes
    -----
    The end point's Monte Carlo error is :func:`mc_error_of_quantile`; 2 standard errors make a flip with another
    seed a < 5 % event per boundary.

    References
    ----------
    A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their Application*, Cambridge 1997, §2.5.2.
    """
    est = estimate(n_resamples)
    if any(est.near(b) for b in boundaries) and max_resamples > n_resamples:
        est = estimate(max_resamples)
    return est


# ---- multiplicity -----------------------------------------------------------------------------------------------

def holm(pvalues: Sequence[float]) -> np.ndarray:
    r"""Holm's step-down adjusted p-values (family-wise error rate control).

    Parameters
    ----------
    pvalues : array_like
        Raw p-values of the family; ``nan`` entries are not members of the family and stay ``nan``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order; rejecting where adjusted p ≤ α controls the family-wise error
        rate at α under any dependence.

    Notes
    -----
    With the m finite p-values sorted, p₍₁₎ ≤ … ≤ p₍ₘ₎,

    .. math:: \tilde p_{(i)} = \min\Bigl(1, \max_{j \le i} (m - j + 1)\, p_{(j)}\Bigr).

    References
    ----------
    S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979) 65–70.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def benjamini_hochberg(pvalues: Sequence[float]) -> np.ndarray:
    r"""Benjamini–Hochberg adjusted p-values (false discovery rate control), via
    :func:`scipy.stats.false_discovery_control`.

    Parameters
    ----------
    pvalues : array_like
        Raw p-values; ``nan`` entries are not members of the family and stay ``nan``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Notes
    -----
    With the m finite p-values sorted, :math:`\tilde p_{(i)} = \min_{j \ge i} \min(1, m\,p_{(j)}/j)`; valid
    under independence or positive regression dependence.

    References
    ----------
    Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate", JRSS B 57 (1995) 289–300.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = _st.false_discovery_control(p[ok], method="bh")
    return out


# ---- top-k ----------------------------------------------------------------------------------------------------

def top_k_retention(score: Sequence[float], target: Sequence[float], frac: float, *, better: str = "max") -> float:
    r"""The share of the best ``frac`` of the population by ``target`` (e.g. accuracy) that the best ``frac``
    by ``score`` retains.

    Parameters
    ----------
    score, target : array_like
        Paired values; pairs with a non-finite member are dropped.
    frac : float
        Fraction of the population in the top set, 0 < frac ≤ 1; k = max(1, round(frac·n)).
    better : {"max", "min"}
        Whether a high or a low ``score`` is better (``target``: higher is better).

    Returns
    -------
    float
        |top_k(score) ∩ top_k(target)| / k; k/n is its expectation for a score unrelated to the target.

    Notes
    -----
    Ties at the k-th place are broken by position (stable sort), so the result is deterministic.

    References
    ----------
    M. S. Abdelfattah, A. Mehrotra, Ł. Dudziak, N. D. Lane, "Zero-cost proxies for lightweight NAS", ICLR 2021
    (top-k overlap of a proxy's ranking with the accuracy ranking).
    """
    if not 0 < frac <= 1:
        raise ValueError(f"frac must lie in (0, 1], got {frac}")
    if better not in ("max", "min"):
        raise ValueError(f"better must be 'max' or 'min', got {better!r}")
    s, t = _clean(score, target)
    n = s.size
    if n == 0:
        return math.nan
    k = max(1, round(frac * n))
    s = -s if better == "max" else s
    top_s = np.argsort(s, kind="stable")[:k]
    top_t = np.argsort(-t, kind="stable")[:k]
    return np.intersect1d(top_s, top_t).size / k


# ---- proportions ------------------------------------------------------------------------------------------------

def binomial_pvalue(successes: int, trials: int, p0: float) -> float:
    r"""Two-sided exact binomial p-value of H₀: success probability = ``p0``, central (doubled smaller tail).

    Notes
    -----
    p = min(1, 2·min(P(X ≥ k), P(X ≤ k))), X ~ Bin(n, p0): the smallest level at which the central
    (Clopper–Pearson) interval of :func:`proportion` excludes p0, so the p-value and the interval never disagree.
    For p0 = 1 (or 0) the p-value is 1 when all (no) trials succeed and 0 otherwise.

    References
    ----------
    C. J. Clopper and E. S. Pearson, "The use of confidence or fiducial limits illustrated in the case of the
    binomial", Biometrika 26 (1934) 404–413.
    """
    k, n = int(successes), int(trials)
    if n <= 0:
        return math.nan
    upper = float(_st.binom.sf(k - 1, n, p0))     # P(X ≥ k)
    lower = float(_st.binom.cdf(k, n, p0))        # P(X ≤ k)
    return min(1.0, 2 * min(upper, lower))


def proportion(successes: int, trials: int, *, p0: float = 0.5, confidence: float = DEFAULT_CONFIDENCE) -> Estimate:
    r"""A success rate with its exact (Clopper–Pearson) interval, via
    ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``.

    Parameters
    ----------
    successes, trials : int
        k and n.
    p0 : float
        The rate the p-value tests (:func:`binomial_pvalue`).
    confidence : float
        Two-sided level.

    Returns
    -------
    Estimate
        k/n, the interval, n and the exact two-sided p-value against ``p0``.

    Notes
    -----
    The end points solve P(X ≥ k | p_lo) = a and P(X ≤ k | p_hi) = a with a = (1 − confidence)/2 (beta quantiles);
    the interval covers the true rate with probability ≥ confidence for every n.

    References
    ----------
    C. J. Clopper and E. S. Pearson, Biometrika 26 (1934) 404–413.
    """
    k, n = int(successes), int(trials)
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan, 0, math.nan, "success rate: no trials")
    ci = _st.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return Estimate(k / n, float(ci.low), float(ci.high), n, binomial_pvalue(k, n, p0),
                    f"success rate {k}/{n}, {confidence:.0%} exact Clopper-Pearson interval; p: exact binomial "
                    f"test against {p0:.3g} (two-sided, central)", mc_error=0.0)


# ---- magnitude: is the paper's value what the data say? ---------------------------------------------------------

@dataclass(frozen=True)
class Magnitude:
    """The comparison of an interval with a paper's stated effect (see :func:`magnitude`).

    Attributes
    ----------
    paper : float
        The paper's value.
    inside : bool
        The paper's value lies inside the interval.
    equivalent : bool | None
        The interval lies inside [paper − margin, paper + margin] (two one-sided tests); None without a margin.
    direction : str
        "reproduced" (the interval excludes 0 on the paper's side), "opposite" (on the other side) or "undecided".
    reproduced : bool | None
        True: inside or equivalent, and the direction reproduced; False: the interval excludes the paper's value
        (and it is not equivalent); None: undecided (the paper's value inside but the direction not established,
        or a boundary within the bootstrap's Monte Carlo error of an end point).
    p_direction : float
        Two-sided p-value against no effect (the estimator's own test).
    p_paper : float
        Two-sided p-value of H₀: θ = paper (Wald, bootstrap standard error).
    p_equivalence : float | None
        TOST p-value: max of the two one-sided p-values at paper ± margin (None without a margin).
    mc_limited : bool
        A decision boundary (0 or the paper's value) lies within 2 Monte Carlo standard errors of an end point.
    line : str
        One line a reader sees, e.g. "direction reproduced, magnitude not (paper 0.50 outside [0.21, 0.33])".
    """

    paper: float
    inside: bool
    equivalent: bool | None
    direction: str
    reproduced: bool | None
    p_direction: float
    p_paper: float
    p_equivalence: float | None
    mc_limited: bool
    margin: float | None
    line: str

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def magnitude(est: Estimate, paper: float, *, margin: float | None = None) -> Magnitude:
    r"""Compare an interval estimate with the effect a paper states.

    Parameters
    ----------
    est : Estimate
        The measured effect and its (1 − α) interval.
    paper : float
        The paper's value of the same quantity (its sign is the claimed direction).
    margin : float, optional
        Equivalence margin δ: differences |θ − paper| < δ are declared practically equal (state its reason where
        it is chosen).

    Returns
    -------
    Magnitude

    Notes
    -----
    *Reproduced* needs the direction established (the interval excludes 0 on the paper's side) **and** the
    magnitude: the paper's value inside the interval (no evidence against it), or the interval inside
    [paper − δ, paper + δ] — the two one-sided tests (TOST) of equivalence at level α/2 each, a conservative form
    of Schuirmann's procedure (which uses the 1 − 2α interval).  *Not reproduced* when the interval excludes the
    paper's value and equivalence is not shown; the line says whether the direction still agrees
    ("direction reproduced, magnitude not").  When 0 or the paper's value lies within the end points' Monte Carlo
    error (:meth:`Estimate.near`) the comparison is undecided.

    References
    ----------
    D. J. Schuirmann, "A comparison of the two one-sided tests procedure and the power approach for assessing the
    equivalence of average bioavailability", J. Pharmacokinet. Biopharm. 15 (1987) 657–680.
    D. Lakens, "Equivalence tests", Soc. Psychol. Personal. Sci. 8 (2017) 355–362.
    """
    lo, hi, t = est.low, est.high, est.statistic
    sign = 1 if paper > 0 else -1
    finite = all(math.isfinite(v) for v in (lo, hi, t))
    inside = bool(finite and lo <= paper <= hi)
    equivalent = None
    p_eq = None
    if margin is not None:
        equivalent = bool(finite and paper - margin <= lo and hi <= paper + margin)
        if math.isfinite(est.se) and est.se > 0:
            p_eq = float(max(_st.norm.sf((t - (paper - margin)) / est.se),
                             _st.norm.sf(((paper + margin) - t) / est.se)))
    if not finite:
        direction = "undecided"
    elif (sign > 0 and lo > 0) or (sign < 0 and hi < 0):
        direction = "reproduced"
    elif (sign > 0 and hi < 0) or (sign < 0 and lo > 0):
        direction = "opposite"
    else:
        direction = "undecided"
    mc = bool(finite and (est.near(paper) or est.near(0.0)))
    if margin is not None and finite:
        mc = mc or est.near(paper - margin) or est.near(paper + margin)
    ci = f"[{lo:.3g}, {hi:.3g}]"
    if not finite:
        reproduced, line = None, "statistic undefined"
    elif mc:
        reproduced, line = None, (f"undecided: a boundary (0 or the paper's {paper:.3g}) lies within the bootstrap's "
                                  f"Monte Carlo error ({est.mc_error:.2g}) of the interval {ci}")
    elif inside or equivalent:
        how = f"paper {paper:.3g} inside {ci}" if inside else f"{ci} within paper {paper:.3g} ± {margin:.3g}"
        if direction == "reproduced":
            reproduced, line = True, f"direction and magnitude reproduced ({how})"
        else:
            reproduced, line = None, f"magnitude compatible ({how}) but the direction is not established"
    else:
        reproduced = False
        where = f"paper {paper:.3g} outside {ci}"
        line = {"reproduced": f"direction reproduced, magnitude not ({where})",
                "opposite": f"direction and magnitude not reproduced: opposite sign ({where})",
                "undecided": f"magnitude not reproduced, direction undecided ({where})"}[direction]
    return Magnitude(float(paper), inside, equivalent, direction, reproduced, float(est.pvalue), est.p_at(paper),
                     p_eq, mc, margin, line)


# ---- power --------------------------------------------------------------------------------------------------------

_Z_ALPHA = 1.959963984540054      # z_{1 - 0.05/2}
_Z_POWER = 0.8416212335729143     # z_{0.8}


def _z_sum(alpha: float, power: float) -> float:
    if alpha == 0.05 and power == 0.8:
        return _Z_ALPHA + _Z_POWER
    return float(_st.norm.ppf(1 - alpha / 2) + _st.norm.ppf(power))


@dataclass(frozen=True)
class Power:
    """The power of a statistical design: the smallest effect it detects with probability ``power`` at level
    ``alpha`` (two-sided), next to the paper's claimed effect in the same units.

    ``effect`` is the distance of the claimed value from the null (|claimed − null|); ``adequate`` is True iff
    effect ≥ min_detectable; ``None`` when the paper states no effect size (the claim is only a direction) — then
    a *smallest effect of interest* may stand in for it (:meth:`with_smallest_effect`).
    """

    test: str
    n: int
    min_detectable: float
    claimed_effect: float | None
    null: float = 0.0
    alpha: float = 0.05
    power: float = 0.8
    method: str = ""
    effect_source: str = "paper"     # "paper": the paper's stated effect; "smallest effect of interest": ours

    @property
    def effect(self) -> float | None:
        return None if self.claimed_effect is None else abs(float(self.claimed_effect) - float(self.null))

    @property
    def adequate(self) -> bool | None:
        if self.effect is None:
            return None
        return bool(math.isfinite(self.min_detectable) and self.effect >= self.min_detectable)

    def with_smallest_effect(self, effect: float, reason: str) -> Power:
        """The same design judged against a stated smallest effect of interest (for a direction-only claim)."""
        from dataclasses import replace

        if self.claimed_effect is not None:
            return self
        return replace(self, claimed_effect=self.null + effect,
                       effect_source=f"smallest effect of interest ({reason})")

    def summary(self) -> str:
        adequate = {True: "detectable", False: "NOT detectable", None: "no effect size claimed"}[self.adequate]
        what = "claimed effect" if self.effect_source == "paper" else "smallest effect of interest"
        eff = "" if self.effect is None else f"; {what} {self.effect:.3g} {adequate}"
        return f"{self.test}, n={self.n}, min detectable {self.min_detectable:.3g} (80% power, α=0.05){eff}"

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "n": int(self.n), "min_detectable": float(self.min_detectable),
                "claimed_effect": None if self.claimed_effect is None else float(self.claimed_effect),
                "null": float(self.null), "effect": self.effect, "alpha": self.alpha, "power": self.power,
                "adequate": self.adequate, "method": self.method, "effect_source": self.effect_source,
                "summary": self.summary()}


def power_kendall(n: int, claimed: float | None, *, null: float = 0.0, alpha: float = 0.05,
                  power: float = 0.8) -> Power:
    r"""Power of a Kendall τ test against ``null``.

    Notes
    -----
    The smallest detectable |τ − null| is (z_{1−α/2} + z_{power})·σ₀ with the asymptotic null standard deviation
    σ₀² = 2(2n + 5) / (9n(n − 1)) (no ties).  Under an alternative τ ≠ 0 the variance of τ̂ is smaller, so this
    is conservative for ``null`` ≠ 0 too.

    References
    ----------
    M. G. Kendall, "A new measure of rank correlation", Biometrika 30 (1938) 81–93.
    """
    n = int(n)
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1))) if n >= 2 else math.inf
    return Power(f"Kendall tau-b vs {null:g} (two-sided)", n, _z_sum(alpha, power) * sd, claimed, null, alpha, power,
                 "asymptotic normal, Var(tau) = 2(2n+5)/(9n(n-1))")


def power_correlation(n: int, claimed: float | None, *, null: float = 0.0, name: str = "Pearson r",
                      alpha: float = 0.05, power: float = 0.8) -> Power:
    r"""Power of a correlation test against ``null`` through Fisher's z.

    Notes
    -----
    z = atanh(r) has standard error 1/√(n − 3); the smallest detectable correlation above ``null`` is
    tanh(atanh(null) + (z_{1−α/2} + z_{power})/√(n − 3)) − null.

    References
    ----------
    R. A. Fisher, "On the probable error of a coefficient of correlation deduced from a small sample",
    Metron 1 (1921) 3–32.
    """
    n = int(n)
    dz = _z_sum(alpha, power) / math.sqrt(n - 3) if n > 3 else math.inf
    mde = math.tanh(math.atanh(null) + dz) - null if math.isfinite(dz) else math.inf
    eff = claimed
    if claimed is not None and n > 3:       # compare on the z scale, report on the r scale
        eff_z = abs(math.atanh(max(-0.999999, min(0.999999, claimed))) - math.atanh(null))
        eff = null + math.copysign(math.tanh(math.atanh(null) + eff_z) - null, claimed - null) if eff_z else null
    return Power(f"{name} vs {null:g} (two-sided)", n, mde, eff, null, alpha, power,
                 "Fisher z-transform, SE 1/sqrt(n-3)")


def power_mean_difference(n1: int, sd: float, claimed: float | None, *, n2: int = 0, null: float = 0.0,
                          test: str = "", alpha: float = 0.05, power: float = 0.8) -> Power:
    r"""Power of a test on a mean (``n2 = 0``: one sample of size n1) or a difference of two means.

    Notes
    -----
    With standard deviation ``sd`` per observation the smallest detectable difference is
    (z_{1−α/2} + z_{power})·sd·√(1/n1 + 1/n2) (z test; the t correction is < 5 % for n ≥ 30).

    References
    ----------
    J. Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., Erlbaum 1988, ch. 2.
    """
    se = sd * math.sqrt(1 / n1 + (1 / n2 if n2 else 0.0)) if n1 > 0 else math.inf
    name = test or ("difference of two means (z test)" if n2 else f"mean vs {null:g} (z test)")
    return Power(name, int(n1 + n2), _z_sum(alpha, power) * se, claimed, null, alpha, power,
                 f"normal approximation, sd {sd:.3g}")


def power_proportion(n: int, p0: float, claimed: float | None, *, alpha: float = 0.05, power: float = 0.8,
                     test: str = "") -> Power:
    r"""Power of a test of a success rate over n independent trials against p0.

    Notes
    -----
    The smallest detectable |p − p0| is (z_{1−α/2}·√(p0(1−p0)) + z_{power}·√(p1(1−p1)))/√n, solved for p1 by
    fixed-point iteration (normal approximation to the binomial).

    References
    ----------
    J. L. Fleiss, B. Levin, M. C. Paik, *Statistical Methods for Rates and Proportions*, 3rd ed., Wiley 2003, §2.5.
    """
    n = int(n)
    za, zb = _z_sum(alpha, power) - _Z_POWER, _Z_POWER
    d = (za + zb) * math.sqrt(max(p0 * (1 - p0), 1e-12) / max(n, 1))
    for _ in range(50):
        p1 = min(max(p0 - d if (claimed is not None and claimed < p0) else p0 + d, 0.0), 1.0)
        d = (za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))) / math.sqrt(max(n, 1))
    return Power(test or f"binomial rate vs {p0:g} (two-sided)", n, d, claimed, p0, alpha, power,
                 "normal approximation to the binomial")
