r"""Finite-width check of λ_min: λ_min(Θ̂_n) ≥ λ_min(Θ)/2 (and the upper analogue ≤ 3/2·λ_min(Θ)).

Statement tested (a *statistical* check, not a theorem of this toolkit): the NMM-2021-style finite-width result
(and the finite-width bound of Zhu et al. 2022) says that, with high probability over the
initialization and for width n large enough, the empirical NTK's λ_min is within a constant factor of the
infinite-width λ_min. The natural constant-factor form, from Weyl's inequality |λ̂ − λ| ≤ ‖Θ̂ − Θ‖₂ ≤ λ/2, is

    λ_min(Θ)/2 ≤ λ_min(Θ̂_n) ≤ 3/2 · λ_min(Θ)         (factors are parameters: ``lo``, ``hi``).

For each width and seed we compute the certified λ_min of Θ̂_n (float64, contract network, NTK parametrization)
and report the fraction of seeds satisfying each side (with a Wilson 95% interval), the mean relative error
|λ̂ − λ|/λ and its log-log slope in n (expected ≈ −1/2), and the *onset width*: the smallest tested width from
which every larger tested width has fraction ≥ ``required``. Nothing here is timed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import parse_spec

__all__ = ["FiniteWidthResult", "finite_width_check", "wilson_interval"]


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, c - h), min(1.0, c + h))


@dataclass
class FiniteWidthResult:
    spec: dict
    kernel: str
    lambda_inf: float
    lambda_inf_error: float
    widths: list[int]
    seeds: list[int]
    lambda_emp: np.ndarray            # (len(widths), len(seeds))
    lambda_emp_error: np.ndarray
    lo: float
    hi: float
    required: float
    frac_lower: list[float] = field(default_factory=list)
    frac_upper: list[float] = field(default_factory=list)
    frac_both: list[float] = field(default_factory=list)
    wilson_both: list[tuple[float, float]] = field(default_factory=list)
    rel_error_mean: list[float] = field(default_factory=list)
    slope: float = math.nan
    onset_width_lower: int | None = None
    onset_width_both: int | None = None

    def to_json(self) -> dict[str, Any]:
        from ntkcheck.io import to_jsonable

        return to_jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def _onset(widths: Sequence[int], fracs: Sequence[float], required: float) -> int | None:
    ok = [f >= required for f in fracs]
    for i in range(len(widths)):
        if all(ok[i:]):
            return int(widths[i])
    return None


def finite_width_check(spec: Any, X: Any, widths: Sequence[int] = (64, 256, 1024), seeds: Sequence[int] | int = 5,
                       *, kernel: str = "ntk", lo: float = 0.5, hi: float = 1.5, required: float = 1.0,
                       parametrization: str = "ntk", device: str = "cpu", quiet: bool = True) -> FiniteWidthResult:
    """Run the check of the module docstring for one architecture on data X (rows as given).

    ``kernel``: "ntk" (Θ̂ vs Θ) or "nngp" (the empirical NNGP vs K).  ``required``: the seed fraction that
    counts as "holds at this width" for the onset width.  Raises NtkcheckError when the infinite-width λ_min is
    not certified positive (the ratio test is then meaningless: singular data or degenerate architecture).
    """
    from ntkcheck.empirical.ntk import iter_seed_kernels, seed_list, width_seed
    from ntkcheck.io import validate_data
    from ntkcheck.theory.bounds import exact_kernel, lam_min_certified

    spec = parse_spec(spec)
    X = validate_data(X)
    if kernel not in ("ntk", "nngp"):
        raise NtkcheckError(f"kernel must be 'ntk' or 'nngp', got {kernel!r}")
    if not (0 < lo <= 1 <= hi):
        raise NtkcheckError(f"need 0 < lo <= 1 <= hi, got lo={lo}, hi={hi}")
    widths = sorted(int(w) for w in widths)
    if not widths or widths[0] <= 0:
        raise NtkcheckError("widths must be positive integers")
    sl = seed_list(seeds)
    K = exact_kernel(spec, X, kernel)
    lam, err = lam_min_certified(K)
    if not lam > err:
        raise NtkcheckError(f"infinite-width lambda_min = {lam:.3g} +/- {err:.2g} is not certified positive "
                            "(singular data or degenerate architecture): the finite-width ratio is undefined")
    lam_e = np.empty((len(widths), len(sl)))
    err_e = np.empty_like(lam_e)
    for a, n in enumerate(widths):
        for b, sk in enumerate(iter_seed_kernels(spec, X, n, [width_seed(s, n) for s in sl],
                                                 parametrization=parametrization, device=device,
                                                 ntk=(kernel == "ntk"), progress=not quiet)):
            lam_e[a, b], err_e[a, b] = lam_min_certified(sk.ntk if kernel == "ntk" else sk.nngp)
    res = FiniteWidthResult(spec.to_json(), kernel, lam, err, widths, sl, lam_e, err_e, lo, hi, required)
    S = len(sl)
    for a in range(len(widths)):
        low = lam_e[a] - err_e[a] >= lo * lam         # certified: holds even at the pessimistic end
        up = lam_e[a] + err_e[a] <= hi * lam
        res.frac_lower.append(float(np.mean(low)))
        res.frac_upper.append(float(np.mean(up)))
        res.frac_both.append(float(np.mean(low & up)))
        res.wilson_both.append(wilson_interval(int(np.sum(low & up)), S))
        res.rel_error_mean.append(float(np.mean(np.abs(lam_e[a] - lam)) / lam))
    if len(widths) >= 2 and all(r > 0 for r in res.rel_error_mean):
        res.slope = float(np.polyfit(np.log(widths), np.log(res.rel_error_mean), 1)[0])
    res.onset_width_lower = _onset(widths, res.frac_lower, required)
    res.onset_width_both = _onset(widths, res.frac_both, required)
    return res
