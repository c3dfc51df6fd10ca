r"""Hypothesis strategies over architectures and data, exported for users' own test suites.

Architectures, each strategy yielding a validated :class:`~ntkcheck.spec.ArchSpec`:

* :func:`fc_specs` — fully connected chains with mixed per-layer activations and an optional deep-skip mask;
* :func:`residual_specs` — node_l = node_{l−1} + dense(φ_l)(node_{l−1});
* :func:`nb201_specs` — NAS-Bench-201 cells (their fully connected analog);
* :func:`dag_specs` — general DAGs: every pair i < j is joined by zero / skip / dense(φ);
* :func:`chen_dag_specs` — Chen et al. 2022 DAGs (linear-then-ReLU edges, readout none, raw input), the
  family of the ``convergence_rate`` quantity.

Data (:func:`datasets`): N×d float64 with pairwise distinct rows, drawn from one of four distributions —
``sphere`` (uniform on S^{d−1}), ``clustered`` (k centres plus small noise), ``nearly_parallel`` (one direction
plus noise of size 10^{−e}), ``low_rank`` (rank-k Gaussian); rows are normalised to unit norm unless
``unit_norm=False`` (then row norms are drawn in [0.5, 2]).  Hypothesis draws the discrete choices and the
scales, and an integer seed for numpy's generator draws the coordinates, so shrinking moves towards small
N, d, few layers, the first activations of :data:`ACTIVATIONS` and the simplest distribution.

Every choice list is ordered simplest first: that order is what shrinking (hypothesis' and ours) moves to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ntkcheck.spec import ArchSpec, parse_spec

__all__ = ["ACTIVATIONS", "EXPLORED_ACTIVATIONS", "DATA_KINDS", "Domain", "fc_specs", "residual_specs", "nb201_specs", "dag_specs",
           "chen_dag_specs", "architectures", "datasets", "make_data", "sigma_values"]

#: Activations, simplest first (the order shrinking prefers).
ACTIVATIONS = ("relu", "identity", "leaky_relu:0.2", "erf", "tanh", "sigmoid", "softplus", "gelu", "swish", "elu")
#: Activations the search draws by default: all but elu, whose dual kernel (2-D adaptive quadrature across
#: its kink) costs 6–15 s per N = 8 evaluation in the current engine; pass ``Domain(activations=ACTIVATIONS)``
#: to include it.
EXPLORED_ACTIVATIONS = tuple(a for a in ACTIVATIONS if a != "elu")
DATA_KINDS = ("sphere", "clustered", "nearly_parallel", "low_rank")


@dataclass(frozen=True)
class Domain:
    """Ranges the search draws from (narrowed by simple assumptions such as ``N <= 4`` or ``L == 1``)."""

    N: tuple[int, int] = (1, 10)
    d: tuple[int, int] = (1, 10)
    L: tuple[int, int] = (1, 4)
    n: tuple[int, int] = (16, 256)
    N_le_d: bool = False
    N_lt_d: bool = False
    unit_norm: bool = True
    activations: tuple[str, ...] = EXPLORED_ACTIVATIONS


def sigma_values(default_w: float = 2.0, default_b: float = 0.0):
    """(σ_w², σ_b²): half the time the defaults, otherwise σ_w² ∈ [0.5, 4], σ_b² ∈ [0, 1]."""
    w = st.one_of(st.just(default_w), st.floats(0.5, 4.0, allow_nan=False))
    b = st.one_of(st.just(default_b), st.floats(0.0, 1.0, allow_nan=False))
    return st.tuples(w, b)


@st.composite
def fc_specs(draw, L: tuple[int, int] = (1, 4), activations=EXPLORED_ACTIVATIONS, skips: bool = True) -> ArchSpec:
    n_layers = draw(st.integers(max(1, L[0]), max(1, L[1])))
    acts = draw(st.lists(st.sampled_from(activations), min_size=n_layers, max_size=n_layers))
    deep = [(i, j) for j in range(n_layers) for i in range(j - 1)]   # i < j − 1 among nodes 0..L−1
    mask = draw(st.lists(st.booleans(), min_size=len(deep), max_size=len(deep))) if (skips and deep) else []
    sw, sb = draw(sigma_values())
    return parse_spec({"fc": list(acts), "skips": [list(p) for p, m in zip(deep, mask) if m],
                       "sigma_w2": sw, "sigma_b2": sb})


@st.composite
def residual_specs(draw, blocks: tuple[int, int] = (1, 3), activations=EXPLORED_ACTIVATIONS) -> ArchSpec:
    k = draw(st.integers(blocks[0], blocks[1]))
    acts = draw(st.lists(st.sampled_from(activations), min_size=k, max_size=k))
    readout = draw(st.sampled_from(activations))
    sw, sb = draw(sigma_values())
    return parse_spec({"residual": list(acts), "readout": readout, "sigma_w2": sw, "sigma_b2": sb})


@st.composite
def nb201_specs(draw, activations=("relu",)) -> ArchSpec:
    ops = draw(st.lists(st.sampled_from(("skip_connect", "nor_conv_1x1", "none", "nor_conv_3x3", "avg_pool_3x3")),
                        min_size=6, max_size=6))
    readout = draw(st.sampled_from(activations))
    sw, sb = draw(sigma_values())
    from ntkcheck.spec import nb201_string
    return parse_spec({"nb201": nb201_string(ops), "readout": readout, "sigma_w2": sw, "sigma_b2": sb})


@st.composite
def dag_specs(draw, nodes: tuple[int, int] = (2, 5), activations=EXPLORED_ACTIVATIONS) -> ArchSpec:
    n = draw(st.integers(nodes[0], nodes[1]))
    op = st.one_of(st.just("skip"), st.sampled_from(activations).map(lambda a: f"dense:{a}"), st.just("zero"))
    edges = [[i, j, draw(op)] for j in range(1, n) for i in range(j)]
    readout = draw(st.sampled_from(activations))
    sw, sb = draw(sigma_values())
    return parse_spec({"nodes": n, "edges": edges, "readout": readout, "sigma_w2": sw, "sigma_b2": sb})


@st.composite
def chen_dag_specs(draw, nodes: tuple[int, int] = (1, 3)) -> ArchSpec:
    H = draw(st.integers(nodes[0], nodes[1]))
    groups = ["".join(draw(st.sampled_from("210")) for _ in range(g)) for g in range(1, H + 1)]
    return parse_spec({"chen_dag": "_".join(groups)})


def architectures(space: str = "all", domain: Domain = Domain(), quantity: str = "ntk_lambda_min"):
    """The architecture strategy of a search space (``fc``, ``residual``, ``dag``, ``nb201``, ``all``)."""
    if quantity == "convergence_rate":
        return chen_dag_specs()
    acts = domain.activations
    parts = {"fc": fc_specs(L=domain.L, activations=acts),
             "residual": residual_specs(blocks=(max(1, domain.L[0] - 1), max(1, min(3, domain.L[1] - 1))),
                                        activations=acts),
             "nb201": nb201_specs(),
             "dag": dag_specs(activations=acts)}
    if space == "all":
        return st.one_of(parts["fc"], parts["residual"], parts["dag"], parts["nb201"])
    return parts[space]


def make_data(kind: str, N: int, d: int, seed: int, *, k: int = 2, scale_exp: float = 1.0,
              unit_norm: bool = True) -> np.ndarray:
    """N×d data of one of :data:`DATA_KINDS` (see the module docstring); rows pairwise distinct."""
    rng = np.random.default_rng(seed)
    if kind == "sphere":
        X = rng.standard_normal((N, d))
    elif kind == "clustered":
        C = rng.standard_normal((max(1, k), d))
        C /= np.linalg.norm(C, axis=1, keepdims=True)
        X = C[rng.integers(0, len(C), N)] + 10.0 ** (-scale_exp) * rng.standard_normal((N, d))
    elif kind == "nearly_parallel":
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        X = u + 10.0 ** (-scale_exp) * rng.standard_normal((N, d))
    elif kind == "low_rank":
        r = max(1, min(k, d))
        X = rng.standard_normal((N, r)) @ rng.standard_normal((r, d))
    else:
        raise ValueError(kind)
    nrm = np.linalg.norm(X, axis=1, keepdims=True)
    X = X / np.where(nrm > 0, nrm, 1.0)
    if not unit_norm:
        X = X * rng.uniform(0.5, 2.0, size=(N, 1))
    if not _distinct(X):
        X = X + 1e-3 * rng.standard_normal((N, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True) if unit_norm else 1.0
    return X


def _distinct(X: np.ndarray, tol: float = 1e-9) -> bool:
    if X.shape[0] < 2:
        return True
    D = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)
    np.fill_diagonal(D, np.inf)
    return bool(np.min(D) > tol) and bool(np.all(np.linalg.norm(X, axis=1) > 0))


@st.composite
def datasets(draw, domain: Domain = Domain()) -> np.ndarray:
    """N×d data (see the module docstring), honouring ``domain`` (ranges, N ≤ d, unit norm)."""
    d = draw(st.integers(domain.d[0], domain.d[1]))
    n_hi = domain.N[1]
    if domain.N_le_d:
        n_hi = min(n_hi, d)
    if domain.N_lt_d:
        n_hi = min(n_hi, d - 1)
    n_lo = min(domain.N[0], max(1, n_hi))
    N = draw(st.integers(n_lo, max(n_lo, n_hi)))
    kind = draw(st.sampled_from(DATA_KINDS))
    k = draw(st.integers(1, 4))
    e = draw(st.floats(0.3, 3.0, allow_nan=False))
    seed = draw(st.integers(0, 2**31 - 1))
    if d == 1 and domain.unit_norm and N > 2:
        N = 2                     # S^0 = {±1} holds only two distinct unit points
    X = make_data(kind, N, d, seed, k=k, scale_exp=e, unit_norm=domain.unit_norm)
    if d == 1 and domain.unit_norm and N == 2:
        X = np.array([[1.0], [-1.0]])
    return X


@st.composite
def configurations_strategy(draw, space: str, domain: Domain, quantity: str, uses_width: bool) -> dict[str, Any]:
    spec = draw(architectures(space, domain, quantity))
    X = draw(datasets(domain))
    width = draw(st.integers(domain.n[0], domain.n[1])) if uses_width else None
    return {"spec": spec, "X": X, "width": width}
