"""The infinite-width recursion (theory/kernels.py) against independent methods.

* a path-expansion reference written here: every node is a linear combination of independent Gaussian
  components (node 0 and every dense edge's output), so all cross-covariances follow from one matrix product —
  a different formulation from the engine's lazy node-by-node recursion (the dual kernels themselves are
  tested against quadrature and Monte Carlo in test_dual_kernels.py);
* the Hermite/Mehler series of the two-layer NTK (contract §10);
* a finite-width numpy network (Monte Carlo) for a DAG whose skip paths are correlated;
* the batched NB201 engine against the general one;
* symmetry and positive semi-definiteness on random specs (hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.spec import parse_spec, nb201_spec
from ntkcheck.theory.dual_kernels import QUAD_RTOL, dual_gram
from ntkcheck.theory.hermite import hermite_coefficients
from ntkcheck.theory.kernels import infinite_width_kernels, ntk_gram, nngp_gram
from ntkcheck.theory.nb201 import all_nb201_cells, nb201_kernels
from ntkcheck.theory.spectra import certified_eigvalsh

from strategies import dag_specs, fc_specs, nb201_cells, sphere_data


def path_expansion_reference(spec, X):
    """Independent exact kernels for dense/skip/zero specs by path expansion.

    Components: c = 0 is node 0, c = 1.. are the dense edges in topological order. Node j = Σ_c A[j, c]·comp_c,
    where A is built by summing skip paths; components are mutually independent, so
    Cov(node a, node b) = Σ_c A[a,c] A[b,c] Cov(comp_c) and the same for the NTK with each component's own NTK.
    """
    sw, sb = spec.sigma_w2, spec.sigma_b2
    N, d = X.shape
    dense_edges = [e for e in spec.edges if e.kind == "dense"]
    ncomp = 1 + len(dense_edges)
    A = np.zeros((spec.nodes, ncomp))
    A[0, 0] = 1.0
    cov = [sw * X @ X.T / d + sb]
    ntk = [cov[0]]
    for j in range(1, spec.nodes):
        live = [e for e in spec.incoming(j) if e.kind != "zero"]
        alpha = 1.0 / len(live) if spec.merge == "mean" and live else 1.0
        for e in live:
            if e.kind == "skip":
                A[j] += alpha * e.scale * A[e.src]
            else:
                Si = sum(A[e.src, c] ** 2 * cov[c] for c in range(len(cov)))
                Ti = sum(A[e.src, c] ** 2 * ntk[c] for c in range(len(ntk)))
                S = sw * dual_gram(e.activation, Si) + sb
                T = S + sw * dual_gram(e.activation, Si, derivative=True) * Ti
                c = 1 + dense_edges.index(e)
                while len(cov) <= c:
                    cov.append(None)
                    ntk.append(None)
                cov[c], ntk[c] = S, T
                A[j, c] += alpha
    n = spec.output_node
    Sn = sum(A[n, c] ** 2 * cov[c] for c in range(ncomp) if A[n, c])
    Tn = sum(A[n, c] ** 2 * ntk[c] for c in range(ncomp) if A[n, c])
    if isinstance(Sn, int):
        Sn = Tn = np.zeros((N, N))
    K = sw * dual_gram(spec.readout, Sn) + sb
    Th = K + sw * dual_gram(spec.readout, Sn, derivative=True) * Tn
    return K, Th


# Relative tolerances (issue 4): closed-form activations are exact up to float64 rounding accumulated over a
# few layers (1e-12); quadrature ones agree to the dual kernels' stated tolerance QUAD_RTOL times a depth factor.
@settings(max_examples=40, deadline=None)
@given(spec=dag_specs(), X=sphere_data())
def test_engine_matches_path_expansion_reference(spec, X):
    res = infinite_width_kernels(spec, X)
    K, Th = path_expansion_reference(spec, X)
    closed = all(a in ("relu", "leaky_relu:0.2", "erf", "identity") for a in spec.activations)
    rtol = 1e-12 if closed else 100 * QUAD_RTOL
    scale = max(1.0, np.abs(K).max(), np.abs(Th).max())
    assert np.abs(res.nngp - K).max() <= rtol * scale
    assert np.abs(res.ntk - Th).max() <= rtol * scale


@settings(max_examples=40, deadline=None)
@given(spec=st.one_of(dag_specs(), fc_specs()), X=sphere_data())
def test_gram_matrices_symmetric_psd(spec, X):
    res = infinite_width_kernels(spec, X)
    for M in (res.nngp, res.ntk):
        assert np.array_equal(M, M.T)
        s = certified_eigvalsh(M)
        # PSD up to the eigen-solver's certified error and the quadrature error per entry times N (Gershgorin).
        assert s.lambda_min >= -(s.error_bound + X.shape[0] * 10 * QUAD_RTOL * max(1.0, s.lambda_max))


@pytest.mark.parametrize("act", ["tanh", "erf", "sigmoid", "gelu"])
def test_two_layer_ntk_is_hermite_series(act):
    """NTK of {"fc": [φ]} on unit-norm data = σ_w² Σ_r (r+1) μ_r(φ; q)² ρ^r + σ_b² with q = σ_w²/d (σ_b = 0).

    Derivation (contract §10 with a = 1): Σ_00 = (σ_w²/d) C, ρ = C_ij; NNGP = σ_w² Σ μ_r² ρ^r (Mehler); the
    derivative term σ_w² E[φ'φ'] Σ_00 = σ_w² Σ_r (r+1) μ_{r+1}² ρ^{r+1}/q · qρ, using μ_r(φ'(√q·)) =
    √(r+1) μ_{r+1}/√q. Truncation at r = 80 with |ρ| ≤ 0.95 leaves < 1e-12 for these smooth activations.
    """
    rng = np.random.default_rng(3)
    d = 6
    X = rng.standard_normal((7, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    C = np.clip(X @ X.T, -1, 1)
    sw = 2.0
    q = sw / d
    mu = hermite_coefficients(act, 80, q=q)
    r = np.arange(81)
    series_ntk = sw * sum((k + 1) * mu[k] ** 2 * C ** k for k in r)
    series_nngp = sw * sum(mu[k] ** 2 * C ** k for k in r)
    res = infinite_width_kernels({"fc": [act], "sigma_w2": sw}, X)
    np.testing.assert_allclose(res.nngp, series_nngp, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(res.ntk, series_ntk, rtol=1e-9, atol=1e-11)


# A DAG whose skip paths are correlated: node 2 = dense(node 1) + skip(node 0), node 3 = skip(node 2) + skip(node 0)
# + dense(node 1). Node 3 sums two copies of node 0 (one through node 2), so Cov(node 2, node 0) = Σ_00 enters twice.
CORRELATED = {"nodes": 4, "edges": [[0, 1, "dense:relu"], [1, 2, "dense:tanh"], [0, 2, "skip"], [2, 3, "skip"],
                                    [0, 3, "skip"], [1, 3, "dense:relu"]], "readout": "erf", "sigma_w2": 1.5}


def _numpy_network_nngp(spec, X, width, rng):
    """One finite-width draw of the network; returns the conditional NNGP σ_w² φ(h)φ(h)ᵀ/n + σ_b² of the readout."""
    from ntkcheck.theory.activations import get_activation

    sw, sb = spec.sigma_w2, spec.sigma_b2
    N, d = X.shape
    h = {0: X @ (np.sqrt(sw / d) * rng.standard_normal((d, width))) + np.sqrt(sb) * rng.standard_normal(width)}
    for j in range(1, spec.nodes):
        acc = np.zeros((N, width))
        for e in spec.incoming(j):
            if e.kind == "skip":
                acc += e.scale * h[e.src]
            elif e.kind == "dense":
                phi = get_activation(e.activation).fn(h[e.src])
                acc += phi @ (np.sqrt(sw / width) * rng.standard_normal((width, width))) + np.sqrt(sb) * rng.standard_normal(width)
        h[j] = acc
    phi = get_activation(spec.readout).fn(h[spec.output_node])
    return sw * phi @ phi.T / width + sb


def test_correlated_skip_paths_cross_terms_match_monte_carlo():
    spec = parse_spec(CORRELATED)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    exact = nngp_gram(spec, X)
    approx = nngp_gram(spec, X, cross_terms=False)
    width, seeds = 1000, 48
    draws = np.stack([_numpy_network_nngp(spec, X, width, rng) for _ in range(seeds)])
    mean = draws.mean(0)
    se = draws.std(0, ddof=1) / np.sqrt(seeds)
    # Sampling error: 5 standard errors per entry, plus an O(1/n) finite-width bias allowance of 2/width·|K|.
    tol = 5 * se + 2.0 / width * np.abs(exact)
    assert np.all(np.abs(mean - exact) <= tol)
    # The no-cross approximation is outside the same band: the cross terms are real and measurable.
    gap = np.abs(exact - approx)
    assert gap.max() > 0.1 * np.abs(exact).max()
    assert np.any(np.abs(mean - approx) > 2 * tol)


def test_residual_and_chain_need_no_cross_terms():
    """Chains and residual nets have in-degree structure without shared skip ancestors: both recursions agree."""
    X = np.random.default_rng(1).standard_normal((6, 3))
    for spec in ({"fc": ["relu", "tanh", "gelu"]}, {"residual": ["relu", "erf", "relu"]}):
        a = infinite_width_kernels(spec, X)
        b = infinite_width_kernels(spec, X, cross_terms=False)
        np.testing.assert_array_equal(a.ntk, b.ntk)


@settings(max_examples=15, deadline=None)
@given(cells=st.lists(nb201_cells(), min_size=1, max_size=6), X=sphere_data(max_n=6))
def test_nb201_batched_matches_general_engine(cells, X):
    K, Th = nb201_kernels(cells, X)
    for c, k, t in zip(cells, K, Th):
        r = infinite_width_kernels(nb201_spec(c), X)
        np.testing.assert_allclose(k, r.nngp, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(t, r.ntk, rtol=1e-12, atol=1e-14)


def test_nb201_cell_count_and_degenerate_cells():
    cells = all_nb201_cells()
    assert len(cells) == 5 ** 6 == len(set(cells))
    X = np.eye(3)
    spec = nb201_spec(("none",) * 6)
    assert spec.is_degenerate
    assert np.all(ntk_gram(spec, X) == 0)


def test_relu_diagonal_is_exact():
    """ReLU NNGP diagonal: with Σ_00 = σ_w²|x|²/d, each dense ReLU layer maps q ↦ σ_w² q / 2 exactly."""
    X = np.random.default_rng(5).standard_normal((9, 4)) * 3
    K = nngp_gram({"fc": ["relu"] * 4, "sigma_w2": 2.0}, X)
    q0 = np.diag(2.0 * (X @ X.T) / 4)  # Σ_00's diagonal as the engine forms it (BLAS rounding included)
    np.testing.assert_array_equal(np.diag(K), q0)  # σ_w² = 2 makes the ReLU map an exact isometry on the diagonal


@st.composite
def relu_chain_specs(draw):
    """Chains and residual nets of (leaky) ReLU layers: the specs that take the fused in-place path."""
    acts = draw(st.lists(st.sampled_from(["relu", "leaky_relu:0.2", "leaky_relu:-0.1"]), min_size=1, max_size=5))
    form = draw(st.sampled_from(["fc", "residual"]))
    extra = {"sigma_w2": draw(st.sampled_from([2.0, 1.3])), "sigma_b2": draw(st.sampled_from([0.0, 0.2]))}
    if form == "residual":
        extra["merge"] = draw(st.sampled_from(["sum", "mean"]))
    return parse_spec({form: acts, **extra})


@settings(max_examples=30, deadline=None)
@given(spec=relu_chain_specs(), X=sphere_data(max_n=9))
def test_fused_chain_path_matches_general_recursion(spec, X):
    """The in-place upper-triangle path (taken automatically for ReLU chains/residual nets) against the general
    lazy recursion on the same spec: same kernels to rounding (1e-13 relative), same layer variances."""
    import ntkcheck.theory.kernels as kmod

    assert kmod._fused_chain_plan(spec) is not None
    fused = kmod.infinite_width_kernels(spec, X)
    rec = kmod._Recursion(spec, X, True, True)
    n = spec.output_node
    Mn = rec.moment(n, n)
    F, Fd = rec._duals(spec.readout, Mn)
    K = spec.sigma_w2 * F + spec.sigma_b2
    Th = K + spec.sigma_w2 * Fd * rec.ntk(n, n)
    scale = max(1.0, np.abs(Th).max())
    assert np.abs(fused.nngp - K).max() <= 1e-13 * scale
    assert np.abs(fused.ntk - Th).max() <= 1e-13 * scale
    assert np.array_equal(fused.ntk, fused.ntk.T)
    general_q = [np.diag(rec.moment(e.src, e.src)) for e in spec.edges if e.kind == "dense"] + [np.diag(Mn)]
    assert len(fused.layer_variances) == len(general_q)
    for a, b in zip(fused.layer_variances, general_q):
        np.testing.assert_allclose(a, b, rtol=1e-13)


@pytest.mark.parametrize("spec", [{"fc": ["relu", "relu"]}, {"residual": ["relu", "relu"]},
                                  {"fc": ["leaky_relu:0.2", "relu"], "skips": []},
                                  {"nodes": 3, "edges": [[0, 1, "dense:relu"], [0, 2, "skip"], [1, 2, "skip"]],
                                   "readout": "relu"}])
@pytest.mark.parametrize("X", [np.array([[1.0], [1.0], [-1.0]]),                  # duplicate rows (d = 1)
                               np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),     # duplicate rows
                               np.array([[1.0, 2.0], [3.0, 6.0], [0.0, 1.0]])])    # parallel rows, ReLU: 1-homogeneous
def test_duplicate_and_parallel_rows_are_singular_not_certified_positive(spec, X):
    """For (leaky) ReLU nets without bias, parallel inputs give identical kernel rows/columns up to scale, so the
    Gram matrix is exactly singular; rounding of ρ near 1 must not turn that into a 'certified' λ_min ≈ 1e-8."""
    for M in (ntk_gram(spec, X), nngp_gram(spec, X)):
        s = certified_eigvalsh(M)
        assert s.singular, (s.lambda_min, s.error_bound)
