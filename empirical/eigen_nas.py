r"""Eigen-NAS (Zhu et al. 2022): rank architectures by λ_min of the NTK at initialization.

Scores (larger is better; the search selects the **argmax**):

* :func:`eigen_nas_score` — λ_min of the empirical NTK of the contract network on a mini-batch at
  initialization, averaged over seeds (θ = all weights and biases, scalar output, NTK parametrization; our
  reading of Zhu et al.'s procedure, with TE-NAS-style options ``params="weight"``/``parametrization="standard"``);
* :func:`closed_form_score` — the train-free, *data-only* variant: the certified lower bound
  ``lb_schur_recursion`` of ``theory.bounds`` (no network, no gradients; docs/bounds.md §4);
* :func:`exact_score` — λ_min of the infinite-width NTK (what the empirical score estimates).

Search spaces: :func:`fc_search_space` (fully connected nets, an activation per layer from
{relu, leaky_relu, tanh, sigmoid, swish, gelu, erf}, any deep-skip mask) and :func:`nb201_search_space`
(NB201 cells in their fully connected analog). :func:`rank_search_space` scores a list and, when
accuracies are given, reports Kendall τ (and Spearman ρ) with a bootstrap 95% CI over architectures.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import ArchSpec, NB201_OPS, nb201_string, parse_spec

__all__ = ["FC_ACTIVATIONS", "fc_search_space", "nb201_search_space", "eigen_nas_score", "closed_form_score",
           "exact_score", "arch_name", "rank_correlation", "Ranking", "rank_search_space", "SCORERS"]

FC_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "swish", "gelu", "erf")


def _deep_pairs(L: int) -> list[tuple[int, int]]:
    """Deep skips i → j (j ≥ i + 2) among the nodes 0..L−1 of ``{"fc": [L activations]}``."""
    return [(i, j) for i in range(L) for j in range(i + 2, L)]


def fc_search_space(L: int, activations: Sequence[str] = FC_ACTIVATIONS, *, skips: bool = True,
                    sample: int | None = None, seed: int = 0, sigma_w2: float = 2.0,
                    sigma_b2: float = 0.0) -> list[ArchSpec]:
    """All (or ``sample`` random distinct) fc nets with L weighted layers: one activation per layer (the last is
    the readout's) and, with ``skips``, every subset of deep skips. Size |acts|^L · 2^{#deep pairs}."""
    if L < 1:
        raise NtkcheckError("L must be >= 1")
    pairs = _deep_pairs(L) if skips else []
    n_total = len(activations) ** L * 2 ** len(pairs)

    def make(k: int) -> ArchSpec:
        mask, a = divmod(k, len(activations) ** L)
        acts = []
        for _ in range(L):
            a, r = divmod(a, len(activations))
            acts.append(activations[r])
        sk = [list(p) for b, p in enumerate(pairs) if (mask >> b) & 1]
        return parse_spec({"fc": acts, "skips": sk, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2})

    if sample is None or sample >= n_total:
        return [make(k) for k in range(n_total)]
    idx = np.random.default_rng(seed).choice(n_total, size=int(sample), replace=False)
    return [make(int(k)) for k in sorted(idx)]


def nb201_search_space(*, sample: int | None = None, seed: int = 0, include_degenerate: bool = False) -> list[ArchSpec]:
    """NB201 cells (5^6 = 15625) as fully connected analogs; degenerate cells (no input→output path) are left out
    unless asked for (their kernel is constant, λ_min = 0 for N ≥ 2)."""
    cells = [nb201_string(ops) for ops in itertools.product(NB201_OPS, repeat=6)]
    if sample is not None and sample < len(cells):
        rng = np.random.default_rng(seed)
        cells = [cells[i] for i in rng.permutation(len(cells))]
    out = []
    for c in cells:
        s = parse_spec({"nb201": c})
        if include_degenerate or not s.is_degenerate:
            out.append(s)
        if sample is not None and len(out) >= sample:
            break
    return out


def eigen_nas_score(spec: Any, X: Any, *, width: int = 256, seeds: Sequence[int] | int = 3, params: str = "all",
                    parametrization: str = "ntk", device: str = "cpu") -> dict[str, Any]:
    """Mean over seeds of the certified λ_min of the empirical NTK at initialization on the batch X."""
    from ntkcheck.empirical.ntk import iter_seed_kernels
    from ntkcheck.theory.bounds import lam_min_certified

    lams, errs = [], []
    for sk in iter_seed_kernels(spec, X, width, seeds, parametrization=parametrization, device=device, params=params):
        lam, err = lam_min_certified(sk.ntk)
        lams.append(lam)
        errs.append(err)
    return {"score": float(np.mean(lams)), "per_seed": lams, "errors": errs, "width": width}


def closed_form_score(spec: Any, X: Any, *, r_max: int = 20) -> float:
    """Train-free, data-only score: the certified lower bound on λ_min of the infinite-width NTK
    (``theory.bounds.lb_schur_recursion``)."""
    from ntkcheck.theory.bounds import lb_schur_recursion

    return float(lb_schur_recursion(spec, X, "ntk", r_max))


def exact_score(spec: Any, X: Any) -> float:
    """λ_min of the infinite-width NTK (certified value)."""
    from ntkcheck.theory.bounds import exact_kernel, lam_min_certified

    return lam_min_certified(exact_kernel(spec, X, "ntk"))[0]


def arch_name(spec: Any) -> str:
    """A short unique name: the spec's own name (NB201 string) or its edges and readout as compact JSON."""
    import json

    s = parse_spec(spec)
    if s.name:
        return s.name
    return json.dumps({"edges": s.to_json()["edges"], "readout": s.readout}, separators=(",", ":"))


def rank_correlation(x: Sequence[float], y: Sequence[float], *, method: str = "kendall", n_boot: int = 1000,
                     seed: int = 0) -> dict[str, Any]:
    """Kendall τ-b (or Spearman ρ) of x vs y on the finite pairs, with a percentile-bootstrap 95% CI
    (resampling architectures) and the test's p-value."""
    from scipy import stats

    if method not in ("kendall", "spearman"):
        raise NtkcheckError("method must be 'kendall' or 'spearman'")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise NtkcheckError("rank_correlation: x and y differ in length")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"method": method, "value": math.nan, "ci95": [math.nan, math.nan], "p_value": math.nan, "n": n}
    f = stats.kendalltau if method == "kendall" else stats.spearmanr
    r = f(x, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            v = float(f(x[i], y[i])[0])
            if math.isfinite(v):
                boots.append(v)
    ci = [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))] if boots else [math.nan, math.nan]
    return {"method": method, "value": float(r[0]), "ci95": ci, "p_value": float(r[1]), "n": n}


SCORERS: dict[str, Callable[..., float]] = {
    "closed_form": lambda s, X, **kw: closed_form_score(s, X),
    "exact": lambda s, X, **kw: exact_score(s, X),
    "empirical": lambda s, X, **kw: eigen_nas_score(s, X, **kw)["score"],
}


@dataclass
class Ranking:
    names: list[str]
    scores: dict[str, list[float]]                     # scorer → score per architecture
    order: dict[str, list[int]]                        # scorer → indices, best (largest) first
    accuracies: list[float] | None = None
    correlations: dict[str, dict[str, Any]] = field(default_factory=dict)
    selected: dict[str, str] = field(default_factory=dict)   # scorer → argmax architecture

    def to_json(self) -> dict[str, Any]:
        from ntkcheck.io import to_jsonable

        return to_jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def rank_search_space(specs: Sequence[Any], X: Any, *, scorers: Sequence[str] = ("closed_form", "exact"),
                      accuracies: Sequence[float] | Mapping[str, float] | None = None, n_boot: int = 1000,
                      seed: int = 0, quiet: bool = True, **score_kw: Any) -> Ranking:
    """Score every architecture with each scorer (names in :data:`SCORERS`), sort by descending score, and, with
    ``accuracies`` (a list aligned with ``specs`` or a dict by architecture name/JSON), report Kendall τ and
    Spearman ρ of score vs accuracy with bootstrap CIs."""
    from tqdm import tqdm

    specs = [parse_spec(s) for s in specs]
    names = [arch_name(s) for s in specs]
    for sc in scorers:
        if sc not in SCORERS:
            raise NtkcheckError(f"unknown scorer {sc!r}; known: {', '.join(SCORERS)}")
    scores: dict[str, list[float]] = {sc: [] for sc in scorers}
    for s in tqdm(specs, desc="Eigen-NAS", disable=quiet, leave=False):
        for sc in scorers:
            scores[sc].append(float(SCORERS[sc](s, X, **score_kw)))
    order = {sc: [int(i) for i in np.argsort(-np.asarray(v), kind="stable")] for sc, v in scores.items()}
    rk = Ranking(names, scores, order, selected={sc: names[o[0]] for sc, o in order.items()})
    if accuracies is not None:
        if isinstance(accuracies, Mapping):
            acc = [float(accuracies.get(n, math.nan)) for n in names]
        else:
            acc = [float(a) for a in accuracies]
            if len(acc) != len(specs):
                raise NtkcheckError(f"{len(acc)} accuracies for {len(specs)} architectures")
        rk.accuracies = acc
        for sc in scorers:
            rk.correlations[sc] = {m: rank_correlation(scores[sc], acc, method=m, n_boot=n_boot, seed=seed)
                                   for m in ("kendall", "spearman")}
    return rk
