"""Shared helpers for the connectivity (Chen et al. 2022) tests."""

import numpy as np
import pytest
from hypothesis import strategies as st


def unit_data(rng: np.random.Generator, N: int, d: int) -> np.ndarray:
    X = rng.standard_normal((N, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@st.composite
def chen_dag_strings(draw, min_nodes: int = 1, max_nodes: int = 4):
    """Official-code DAG strings: one group per target node g = 1..H, one digit (0 zero, 1 skip, 2 linear)
    per source 0..g-1."""
    H = draw(st.integers(min_nodes, max_nodes))
    groups = ["".join(draw(st.sampled_from("012")) for _ in range(g)) for g in range(1, H + 1)]
    return "_".join(groups)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
