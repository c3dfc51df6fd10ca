"""Synthetic κ_N / R̂_N engines for the NB201 checks (tests only): cheap stand-ins for the conv-net measurements of
:mod:`ntkcheck.paper_checks.nb201_population`, with a controlled dependence on the real CIFAR-100 accuracy.

``oracle(sign, sigma)``: metric = exp(sign·z + sigma·ε), with z the normal score of the cell's CIFAR-100 accuracy
rank and ε a standard normal drawn from the cell string.  For a bivariate normal, Kendall τ = (2/π)·asin(ρ) and
ρ = 1/√(1 + σ²): σ = 1.29 gives |τ| ≈ 0.42 (TE-NAS's κ effect), σ = 1.05 gives ≈ 0.50 (R̂_N).
"""

import hashlib

import numpy as np
from scipy.stats import norm, rankdata

from ntkcheck.data import nb201_table

SIGMA_KAPPA = 1.29
SIGMA_R = 1.05


def _z() -> dict[str, float]:
    t = nb201_table()
    r = rankdata(t.accuracy["cifar100"]) / (len(t) + 1)
    return dict(zip(t.arch, norm.ppf(r).tolist()))


_Z = None


def _eps(cell: str, salt: str) -> float:
    h = int.from_bytes(hashlib.sha256(f"{salt}|{cell}".encode()).digest()[:8], "little")
    return float(np.random.default_rng(h).standard_normal())


def zscore(cell: str) -> float:
    """The normal score of the cell's CIFAR-100 accuracy rank."""
    global _Z
    if _Z is None:
        _Z = _z()
    return _Z[cell]


def oracle(sign: float, sigma: float, salt: str = "k", scale: float = 1.0):
    def fn(cell, cfg):
        return scale * float(np.exp(sign * zscore(cell) + sigma * _eps(cell, salt)))
    return fn


def size_params(cell, cfg) -> float:
    """A cheap stand-in for #params of the NB201 benchmark network: a 3×3 conv edge holds 9×, a 1×1 edge 1× the
    weights of a unit (the stem and classifier are the same for every cell)."""
    from ntkcheck.spec import parse_nb201

    ops = parse_nb201(cell)
    return 1e4 + 1e3 * (9 * ops.count("nor_conv_3x3") + ops.count("nor_conv_1x1"))


def install(monkeypatch, tmp_path, *, kappa=None, R=None, n=None):
    """Replace the population's engines (κ: lower is better, R̂: higher is better) and return a Context."""
    from ntkcheck.paper_checks import nb201_population as P
    from ntkcheck.paper_checks.check import Context

    monkeypatch.setattr(P, "METRICS", {"kappa": kappa or oracle(-1, SIGMA_KAPPA, "k", 1e3),
                                       "R_N": R or oracle(+1, SIGMA_R, "r", 1e2)})
    monkeypatch.setattr(P, "SIZE_ENGINES", {"params": size_params, "flops": lambda c, cfg: 3e2 * size_params(c, cfg),
                                            "n_conv": lambda c, cfg: float(P.conv_op_count(c))})
    if n is not None:
        monkeypatch.setattr(P, "population_size", lambda scale: n)
    return Context(scale="small", seed=0, cache_dir=tmp_path / "cache")
