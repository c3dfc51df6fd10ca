r"""Width convergence of the empirical kernels to the infinite-width ones.

For every width n and seed s, one network of the contract is drawn and its kernels compared with theory's
exact ones (:func:`ntkcheck.theory.kernels.infinite_width_kernels`, or kernels given by the caller):

    e_F(n, s) = ‖Θ̂_n − Θ‖_F / ‖Θ‖_F ,      e_λ(n, s) = |λ_min(Θ̂_n) − λ_min(Θ)| ,

and the same for the NNGP K.  Both fluctuate at rate O(n^{-1/2}) for one network (Jacot et al. 2018;
Lee et al. 2019; Hanin & Nica 2020 for the size of the fluctuations; the mean's bias is O(1/n)), so the
slope of log e against log n is ≈ −1/2.

The fit is ordinary least squares of log e(n, s) on log n over all (n, s) with e > 0; its confidence
interval is either t-based (slope ± t_{k−2, (1+level)/2}·se, which assumes independent, homoscedastic
residuals in log space — each point is an independent network: the network of (n, s) is seeded with
:func:`ntkcheck.empirical.ntk.width_seed` (s, n), so no weights are shared across widths) or a bootstrap percentile interval that
resamples seeds with replacement within each width (``n_boot`` replicates, seeded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import parse_spec

__all__ = ["SlopeFit", "fit_loglog_slope", "WidthConvergence", "width_convergence", "QUANTITIES"]

#: The measured error quantities, in table order.
QUANTITIES = ("ntk_fro", "ntk_lmin", "nngp_fro", "nngp_lmin")


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares slope of log(error) on log(width) with a confidence interval."""

    slope: float
    intercept: float
    stderr: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    n_points: int

    def contains(self, value: float) -> bool:
        return bool(self.ci_low <= value <= self.ci_high)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    k = len(x)
    resid = y - intercept - slope * x
    se = math.sqrt(float(np.sum(resid ** 2)) / (k - 2) / sxx) if k > 2 else float("nan")
    return slope, intercept, se


def fit_loglog_slope(widths: Sequence[float], errors: Sequence[float], *, groups: Sequence[int] | None = None,
                     method: str = "t", level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> SlopeFit:
    """Fit log(error) = a + b·log(width) (see the module docstring); non-positive errors are left out.

    ``groups`` (the seed of each point) is not needed by either method: the bootstrap resamples points
    within each width.  Returns NaNs when fewer than 3 positive errors over at least 2 widths remain.
    """
    if method not in ("t", "bootstrap"):
        raise NtkcheckError(f"method must be 't' or 'bootstrap', got {method!r}")
    if not 0 < level < 1:
        raise NtkcheckError(f"level must be in (0, 1), got {level}")
    w = np.asarray(widths, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    ok = np.isfinite(e) & (e > 0)
    w, e = w[ok], e[ok]
    if len(e) < 3 or len(np.unique(w)) < 2:
        nan = float("nan")
        return SlopeFit(nan, nan, nan, nan, nan, level, method, int(len(e)))
    x, y = np.log(w), np.log(e)
    slope, intercept, se = _ols(x, y)
    if method == "t":
        from scipy import stats

        q = float(stats.t.ppf(0.5 + level / 2, len(x) - 2))
        lo, hi = slope - q * se, slope + q * se
    else:
        rng = np.random.default_rng(seed)
        idx_by_w = [np.flatnonzero(w == u) for u in np.unique(w)]
        boots = np.empty(n_boot)
        for b in range(n_boot):
            idx = np.concatenate([rng.choice(ix, size=len(ix), replace=True) for ix in idx_by_w])
            boots[b] = _ols(x[idx], y[idx])[0]
        lo, hi = (float(v) for v in np.quantile(boots, [0.5 - level / 2, 0.5 + level / 2]))
    return SlopeFit(slope, intercept, se, float(lo), float(hi), level, method, int(len(x)))


@dataclass(frozen=True)
class WidthConvergence:
    """Result of :func:`width_convergence`.

    ``table``: one row per (width, seed) with columns ``width, seed, ntk_fro, ntk_lmin, nngp_fro,
    nngp_lmin, ntk_lmin_emp, nngp_lmin_emp`` (numpy arrays of equal length); ``fits``: a
    :class:`SlopeFit` per quantity in :data:`QUANTITIES`; ``theory_lmin``: λ_min of the exact NTK and NNGP
    with their certified error bounds; ``config``: everything needed to rerun it.
    """

    table: dict[str, np.ndarray] = field(repr=False)
    fits: dict[str, SlopeFit]
    theory_lmin: dict[str, dict[str, float]]
    config: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        from ntkcheck.io import to_jsonable

        return to_jsonable({"table": self.table, "fits": self.fits, "theory_lmin": self.theory_lmin,
                            "config": self.config})


def width_convergence(spec, X, widths: Sequence[int], seeds, *, theory: tuple[np.ndarray, np.ndarray] | None = None,
                      parametrization: str = "ntk", device="auto", dtype="float64", engine: str = "auto",
                      base_seed: int = 0, method: str = "t", level: float = 0.95, n_boot: int = 2000,
                      quiet: bool = True) -> WidthConvergence:
    """Measure the relative Frobenius and λ_min errors of the empirical NTK and NNGP over widths and seeds
    against the exact kernels and fit their log-log slopes (see the module docstring).

    ``theory``: (NNGP, NTK) to compare with; by default theory's
    :func:`~ntkcheck.theory.kernels.infinite_width_kernels`.  Only ``parametrization="ntk"`` converges
    (the standard parametrization's NTK grows with n); asking for another is an error.
    """
    import torch
    from tqdm import tqdm

    from ntkcheck.empirical.ntk import iter_seed_kernels, seed_list, width_seed
    from ntkcheck.empirical.spectra import certified_spectrum
    from ntkcheck.io import validate_data

    spec = parse_spec(spec)
    X = validate_data(X)
    if parametrization != "ntk":
        raise NtkcheckError("width convergence to the infinite-width NTK needs parametrization 'ntk'")
    try:
        ws = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise NtkcheckError(f"widths must be a list of positive integers, got {widths!r}") from None
    if len(ws) < 2 or any(w <= 0 for w in ws):
        raise NtkcheckError(f"widths must hold at least two positive integers, got {ws}")
    sl = seed_list(seeds, base_seed)
    if theory is None:
        from ntkcheck.theory.kernels import infinite_width_kernels

        ik = infinite_width_kernels(spec, X)
        K_th, T_th = np.asarray(ik.nngp, dtype=np.float64), np.asarray(ik.ntk, dtype=np.float64)
    else:
        K_th, T_th = (np.asarray(a, dtype=np.float64) for a in theory)
    N = X.shape[0]
    if K_th.shape != (N, N) or T_th.shape != (N, N):
        raise NtkcheckError(f"theory kernels must be {N}×{N}")
    sp_T, sp_K = certified_spectrum(T_th), certified_spectrum(K_th)
    nT, nK = np.linalg.norm(T_th), np.linalg.norm(K_th)
    if nT == 0 or nK == 0:
        raise NtkcheckError("the exact kernel is zero (degenerate architecture): relative errors are undefined")
    cols: dict[str, list[float]] = {c: [] for c in ("width", "seed", *QUANTITIES, "ntk_lmin_emp", "nngp_lmin_emp",
                                                    "ntk_lmin_emp_err", "nngp_lmin_emp_err")}
    bar = tqdm(total=len(ws) * len(sl), desc="width convergence", unit="net", disable=quiet)
    for w in ws:
        # independent networks per (seed, width): width_seed avoids weights shared across widths
        for s0, r in zip(sl, iter_seed_kernels(spec, X, w, [width_seed(s, w) for s in sl],
                                               parametrization=parametrization, device=device, dtype=dtype,
                                               engine=engine)):
            spT, spK = certified_spectrum(r.ntk), certified_spectrum(r.nngp)
            cols["width"].append(w)
            cols["seed"].append(s0)
            cols["ntk_fro"].append(float(np.linalg.norm(r.ntk - T_th) / nT))
            cols["ntk_lmin"].append(abs(float(spT.lambda_min) - float(sp_T.lambda_min)))
            cols["nngp_fro"].append(float(np.linalg.norm(r.nngp - K_th) / nK))
            cols["nngp_lmin"].append(abs(float(spK.lambda_min) - float(sp_K.lambda_min)))
            cols["ntk_lmin_emp"].append(float(spT.lambda_min))
            cols["nngp_lmin_emp"].append(float(spK.lambda_min))
            cols["ntk_lmin_emp_err"].append(float(spT.error_bound))
            cols["nngp_lmin_emp_err"].append(float(spK.error_bound))
            bar.update(1)
    bar.close()
    table = {k: np.asarray(v, dtype=np.int64 if k in ("width", "seed") else np.float64) for k, v in cols.items()}
    fits = {q: fit_loglog_slope(table["width"], table[q], method=method, level=level, n_boot=n_boot,
                                seed=base_seed) for q in QUANTITIES}
    theory_lmin = {"ntk": {"lambda_min": float(sp_T.lambda_min), "error_bound": float(sp_T.error_bound)},
                   "nngp": {"lambda_min": float(sp_K.lambda_min), "error_bound": float(sp_K.error_bound)}}
    config = {"spec": spec.to_json(), "N": N, "d": int(X.shape[1]), "widths": ws, "seeds": sl,
              "parametrization": parametrization, "dtype": str(dtype), "engine": engine, "method": method,
              "level": level, "n_boot": n_boot if method == "bootstrap" else None,
              "theory": "given" if theory is not None else "ntkcheck.theory.kernels.infinite_width_kernels",
              "versions": {"torch": torch.__version__, "numpy": np.__version__}}
    return WidthConvergence(table=table, fits=fits, theory_lmin=theory_lmin, config=config)
