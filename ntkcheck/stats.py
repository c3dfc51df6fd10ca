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
    "benjamini_hochberg",
    "holm",
    "kendall",
    "partial_kendall",
    "spearman",
    "top_k_retention",
]

DEFAULT_RESAMPLES = 2000     # BCa needs ~2000 resamples for stable 95% end points (Efron & Tibshirani 1993, §14.3)
DEFAULT_CONFIDENCE = 0.95

# Above this many observations the O(n²) pairwise Kendall statistic is replaced by scipy's O(n log n) one per
# resample, and BCa's jackknife (n evaluations) by the percentile interval, which at such n agrees with BCa to
# well below the Monte Carlo error of the end points (bias and skewness corrections shrink like 1/√n).
_PAIRWISE_MAX_N = 1500
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

    @property
    def ci(self) -> tuple[float, float]:
        """The interval as ``(low, high)``."""
        return (self.low, self.high)

    def excludes(self, value: float) -> bool:
        """True iff ``value`` lies outside the closed interval [low, high] (False when the interval is nan)."""
        return bool(math.isfinite(self.low) and math.isfinite(self.high) and not (self.low <= value <= self.high))

    def to_json(self) -> dict[str, Any]:
        f = lambda v: None if v is None or not math.isfinite(float(v)) else float(v)
        return {"statistic": f(self.statistic), "ci": [f(self.low), f(self.high)], "n": int(self.n),
                "pvalue": f(self.pvalue), "method": self.method}


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
    lo, hi, _, m = _interval((x, y), _tau_b, seed=seed, n_resamples=n_resamples, confidence=confidence,
                             method=method)
    # the point value from the same function the resamples use (equal to scipy's to rounding)
    return Estimate(float(_tau_b(x, y)), lo, hi, n, float(res.pvalue),
                    _protocol("Kendall τ-b", confidence, m, n_resamples, seed, "scipy.stats.kendalltau"))


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
    lo, hi, _, m = _interval((x, y), _spearman_rho, seed=seed, n_resamples=n_resamples, confidence=confidence,
                             method=method)
    return Estimate(float(_spearman_rho(x, y)), lo, hi, n, float(res.pvalue),
                    _protocol("Spearman ρ", confidence, m, n_resamples, seed, "scipy.stats.spearmanr"))


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
    lo, hi, dist, m = _interval((x, y, z), _partial_tau, seed=seed, n_resamples=n_resamples,
                                confidence=confidence, method=method)
    d = dist[np.isfinite(dist)]
    p = min(1.0, 2 * min((np.sum(d <= 0) + 1) / (d.size + 1), (np.sum(d >= 0) + 1) / (d.size + 1))) if d.size \
        else math.nan
    return Estimate(t, lo, hi, n, float(p),
                    _protocol("Kendall partial τ given one covariate", confidence, m, n_resamples, seed,
                              "bootstrap percentile p-value against 0"))


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
