r"""Effective depth and width (d̄, m̄) of a *supernet* from its architecture weights, and the TE-NAS+DAG
pre-reserve rule (Chen, Huang, Gong, Hanin & Wang, NeurIPS 2022, §5.3; code ``TENAS/prune_tenas.py:alpha2affinity``,
``effective_depth_width_prob``, ``prune_func_rank`` of VITA-Group/architecture_convergence).

**Edge values.**  An op counts as a weighted layer (value 1) if its name contains "conv", as a skip
(value 0) if it contains "skip" or "pool", and as no edge (value −1) otherwise ("none").  An op is alive
when its architecture weight is ≥ 0 (pruned ops carry −1000 = −INF in the code).  Edge (u → v) carries
the fractions (f₋₁, f₀, f₁) of its alive ops in the three classes; an edge with no alive op is (1, 0, 0).

**Paths.**  Every route u₀ → … → output through edges with f₋₁ < 1, together with a value assignment
v_k ∈ {0, 1} per edge with f_{v_k} > 0, is one path p with weight π_p = Π f_{v_k} and depth d_p = Σ v_k
(depth-first, next node ascending, value 0 before 1).

    d̄ = Σ_p π_p d_p / Σ_p π_p ,      m̄ = (Σ_{p: d_p > 0} π_p) / d̄

(the width numerator is *not* normalised by Σπ).  On DARTS the paths from in0 (in1 deleted) and from in1
are pooled as in the code: d̄ = (P₀ d̄₀ + P₁ d̄₁)/(P₀ + P₁) with P the path counts.  For a single-path
supernet this is the deterministic rule of :func:`ntkcheck.theory.connectivity.nb201_depth_width`.  The
arithmetic follows the code's order of operations, so that ties between candidates (which decide the
pre-reserve choice in round 1 on NB201) fall the same way. Edge cases as in the code: m̄ = nan
when d̄ = 0 (0/0); no path at all (the code divides by zero) → (nan, nan).

**Pre-reserve** (:func:`pre_reserved`): in each pruning round and on each edge with more than one alive
op, the (d̄, m̄) of the supernet after removing each alive op is computed; the ``k`` removals nearest
(squared Euclidean distance) to the centroid of these points are skipped — neither evaluated nor pruned
that round.  k = min(pre_reserve, #alive − prune_number − 1) (code default pre_reserve = 2 on NB201).
Ties are broken by op order (a stable sort; numpy's argsort on ≤ 16 entries, as in the code, is stable).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import NB201_EDGES, NB201_OPS

__all__ = ["INF", "DARTS_OPS", "DARTS_EDGES", "edge_value", "alive_alphas", "supernet_depth_width", "pre_reserved"]

#: The code's mark of a pruned op (architecture weight −INF).
INF = 1000.0
#: The DARTS op list of the TE-NAS code (``cell_operations.DARTS_SPACE``) and the 14 edges of a DARTS cell in
#: architecture-weight order: node k ∈ {2..5} reads in0, in1, n2, …, n_{k−1}.
DARTS_OPS = ("none", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
             "avg_pool_3x3", "max_pool_3x3")
DARTS_EDGES = tuple((j, k) for k in range(2, 6) for j in range(k))


def edge_value(op: str) -> int:
    """1 for a weighted op ("conv" in the name), 0 for skip or pooling, −1 otherwise (none)."""
    if "skip" in op or "pool" in op:
        return 0
    return 1 if "conv" in op else -1


def alive_alphas(alive: Sequence[Iterable[str]], ops: Sequence[str] = NB201_OPS) -> np.ndarray:
    """Architecture weights (E × |ops|) of an alive set: 0 for alive ops, −INF for the others."""
    ops = tuple(ops)
    A = np.full((len(alive), len(ops)), -INF)
    for e, names in enumerate(alive):
        for n in names:
            if n not in ops:
                raise NtkcheckError(f"op {n!r} is not in the op list {list(ops)}")
            A[e, ops.index(n)] = 0.0
    return A


def _fractions(alpha_row: np.ndarray, ops: Sequence[str]) -> np.ndarray:
    f = np.zeros(3)
    for op, a in zip(ops, alpha_row):
        if a >= 0:
            f[edge_value(op) + 1] += 1
    if f.sum() > 0:
        return f / f.sum()
    return np.array([1.0, 0.0, 0.0])


def _paths(F: np.ndarray, start: int, end: int, skip: int | None = None) -> list[tuple[int, float]]:
    """(depth, π) of every (route, value assignment) from ``start`` to ``end`` (node ``skip`` removed)."""
    out: list[tuple[int, float]] = []

    def walk(u: int, d: int, prob: float) -> None:
        if u == end:
            out.append((d, prob))
            return
        for v in range(u + 1, end + 1):
            if v == skip or not F[u, v, 0] < 1:
                continue
            for val in (0, 1):
                if F[u, v, val + 1] > 0:
                    walk(v, d + val, prob * F[u, v, val + 1])

    walk(start, 0, 1.0)
    return out


def supernet_depth_width(alphas: np.ndarray | Sequence[Sequence[float]], ops: Sequence[str] | None = None, *,
                         space: str = "nb201") -> tuple[float, float]:
    """(d̄, m̄) of a supernet from its architecture weights (module docstring).

    ``alphas``: E × |ops| (NB201: 6 edges in :data:`ntkcheck.spec.NB201_EDGES` order, ops default
    :data:`ntkcheck.spec.NB201_OPS`; DARTS: 14 edges in :data:`DARTS_EDGES` order, ops default
    :data:`DARTS_OPS`); an op is alive iff its weight is ≥ 0.
    """
    if space not in ("nb201", "darts"):
        raise NtkcheckError(f"space must be 'nb201' or 'darts', got {space!r}")
    edges = NB201_EDGES if space == "nb201" else DARTS_EDGES
    ops = tuple(ops) if ops is not None else (NB201_OPS if space == "nb201" else DARTS_OPS)
    A = np.asarray(alphas, dtype=np.float64)
    if A.shape != (len(edges), len(ops)):
        raise NtkcheckError(f"{space} architecture weights must have shape ({len(edges)}, {len(ops)}), got {A.shape}")
    n = 4 if space == "nb201" else 7
    F = np.zeros((n, n, 3))
    F[:, :] = (1.0, 0.0, 0.0)
    if space == "darts":
        F[2:6, 6] = (0.0, 1.0, 0.0)  # intermediate nodes → output: skip edges (the concat as a sum)
    for e, (u, v) in enumerate(edges):
        F[u, v] = _fractions(A[e], ops)
    groups = [_paths(F, 0, 3)] if space == "nb201" else [_paths(F, 0, 6, skip=1), _paths(F, 1, 6)]
    n_paths = sum(len(g) for g in groups)
    if n_paths == 0 or any(len(g) and sum(p for _, p in g) == 0 for g in groups):
        return math.nan, math.nan
    depth_acc = 0.0
    width_acc = 0.0
    for g in groups:
        total = 0
        for _, p in g:
            total += p
        for d, p in g:
            depth_acc += d * p / total * len(g)
            width_acc += p if d > 0 else 0
    dbar = depth_acc / n_paths
    with np.errstate(divide="ignore", invalid="ignore"):
        mbar = float(np.float64(width_acc) / np.float64(dbar))
    return float(dbar), mbar


def pre_reserved(alive: Sequence[Sequence[str]], *, pre_reserve: int, prune_number: int,
                 ops: Sequence[str] = NB201_OPS, space: str = "nb201") -> set[tuple[int, str]]:
    """The (edge index, op) removals that TE-NAS+DAG skips this round (module docstring)."""
    if isinstance(pre_reserve, bool) or not isinstance(pre_reserve, int) or pre_reserve < 0:
        raise NtkcheckError(f"pre_reserve must be a non-negative integer, got {pre_reserve!r}")
    out: set[tuple[int, str]] = set()
    for e, names in enumerate(alive):
        if len(names) <= 1:
            continue
        k = min(pre_reserve, len(names) - min(prune_number, len(names) - 1) - 1)
        if k <= 0:
            continue
        pts = []
        for op in names:
            pruned = [tuple(o for o in a if not (k2 == e and o == op)) for k2, a in enumerate(alive)]
            pts.append(supernet_depth_width(alive_alphas(pruned, ops), ops, space=space))
        P = np.array(pts)
        dist = ((P - P.mean(0, keepdims=True)) ** 2).sum(1)
        for i in np.argsort(dist, kind="stable")[:k]:
            out.add((e, names[int(i)]))
    return out
