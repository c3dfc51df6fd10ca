"""Hypothesis strategies that generate valid ntkcheck objects: activations, specs (fc, residual, skip masks,
general DAGs, NB201 cells) and data sets on the sphere with distinct, well separated rows."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ntkcheck.spec import NB201_OPS, parse_spec

#: Activations with closed-form dual kernels (fast, exact) and the quadrature ones.
CLOSED = ["relu", "leaky_relu:0.2", "erf", "identity"]
QUADRATURE = ["tanh", "sigmoid", "swish", "gelu", "elu", "softplus"]
ALL_ACTS = CLOSED + QUADRATURE


def activations(pool=ALL_ACTS):
    return st.sampled_from(pool)


@st.composite
def fc_specs(draw, acts=ALL_ACTS, max_layers=4, skips=True):
    L = draw(st.integers(1, max_layers))
    layers = draw(st.lists(activations(acts), min_size=L, max_size=L))
    mask = []
    if skips and L >= 3:
        for j in range(2, L):
            for i in range(0, j - 1):
                if draw(st.booleans()):
                    mask.append([i, j])
    sw = draw(st.sampled_from([1.0, 2.0, 1.5]))
    sb = draw(st.sampled_from([0.0, 0.1]))
    return parse_spec({"fc": layers, "skips": mask, "sigma_w2": sw, "sigma_b2": sb})


@st.composite
def dag_specs(draw, acts=ALL_ACTS, max_nodes=5, ops=("zero", "skip", "dense")):
    """A general DAG in the contract: every node j >= 1 has 1-3 listed incoming edges from earlier nodes."""
    nodes = draw(st.integers(2, max_nodes))
    edges = []
    for j in range(1, nodes):
        k = draw(st.integers(1, min(3, j + 1)))
        for _ in range(k):
            i = draw(st.integers(0, j - 1))
            kind = draw(st.sampled_from(ops))
            if kind == "dense":
                op = f"dense:{draw(activations(acts))}"
            elif kind == "skip":
                op = draw(st.sampled_from(["skip", "skip:0.5"]))
            else:
                op = "zero"
            edges.append([i, j, op])
    readout = draw(activations(acts))
    merge = draw(st.sampled_from(["sum", "mean"]))
    sb = draw(st.sampled_from([0.0, 0.05]))
    return parse_spec({"nodes": nodes, "edges": edges, "readout": readout, "merge": merge, "sigma_b2": sb})


@st.composite
def nb201_cells(draw):
    ops = draw(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
    return tuple(ops)


@st.composite
def sphere_data(draw, min_n=2, max_n=7, min_d=2, max_d=6, min_sep=0.2):
    """Unit-norm rows, pairwise distance >= min_sep (so Gram matrices are well conditioned)."""
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(min_d, max_d))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    for _ in range(50):
        X = rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        D = np.linalg.norm(X[:, None] - X[None], axis=-1) + np.eye(n) * 10
        if D.min() >= min_sep and np.min(np.linalg.norm(X[:, None] + X[None], axis=-1) + np.eye(n) * 10) >= min_sep:
            return X
    return X[:1]
