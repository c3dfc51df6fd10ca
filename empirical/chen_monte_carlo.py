"""Finite-width Monte Carlo of Chen et al. 2022's DAG network (Eqs. 1–2) in numpy.

One draw: X0 = √m·Q x with Q an m×d matrix of orthonormal columns (so (1/m)⟨X0_i, X0_j⟩ = ⟨x_i, x_j⟩ exactly),
a skip edge passes its node, a linear+ReLU edge gives √2·ReLU(W X^s/√m) with W iid N(0, 1) (float32 products
for speed; kernels accumulated in float64).  Used by the C4 paper check and its test as the measuring
instrument; the exact and the paper recursion (``theory.connectivity.chen_exact_reference``) are fed the
*realised* K^0 and ν^0 of each draw.
"""

from __future__ import annotations

import math

import numpy as np

from ntkcheck.spec import chen_dag_spec

__all__ = ["chen_dag_draw", "chen_mc_errors"]


def chen_dag_draw(code: str, X: np.ndarray, m: int, rng: np.random.Generator):
    """One finite-width draw: returns ((1/m) X^H X^Hᵀ, K^0, ν^0) for the DAG ``code`` (e.g. ``"2_21_112"``)."""
    spec = chen_dag_spec(code)
    Q, _ = np.linalg.qr(rng.standard_normal((m, X.shape[1])))
    nodes = [math.sqrt(m) * X @ Q.T]  # (N, m)
    for v in range(1, spec.nodes):
        acc = np.zeros_like(nodes[0])
        for e in spec.incoming(v):
            if e.kind == "skip":
                acc = acc + nodes[e.src]
            elif e.kind == "linact":
                W = rng.standard_normal((m, m), dtype=np.float32)
                acc = acc + math.sqrt(2) * np.maximum(nodes[e.src].astype(np.float32) @ W.T / math.sqrt(m), 0)
        nodes.append(acc.astype(np.float64))
    H = nodes[-1]
    return H @ H.T / m, nodes[0] @ nodes[0].T / m, nodes[0].mean(axis=1)


def chen_mc_errors(code: str, X: np.ndarray, m: int, draws: int, rng: np.random.Generator):
    """Per-draw errors (draws, N, N) of the Monte Carlo kernel against the exact and against the paper recursion."""
    from ntkcheck.theory.connectivity import chen_exact_reference

    ex_err, pa_err = [], []
    for _ in range(draws):
        K, K0, nu0 = chen_dag_draw(code, X, m, rng)
        ex_err.append(K - chen_exact_reference(code, K0, nu0).nngp)
        pa_err.append(K - chen_exact_reference(code, K0, nu0, cross_terms=False).nngp)
    return np.array(ex_err), np.array(pa_err)
