"""Tests of empirical/ntk.py: the four NTK engines against each other, against finite differences, and the
empirical kernels at large width against the infinite-width ones.

Tolerances and why:
* engines vs the loop reference, float64: 1e-10 relative in Frobenius norm.  Every engine sums the same
  P products g_ip g_jp in a different order, so they differ by rounding only (≈ P·ε ≈ 1e-13 here);
  1e-10 leaves room for larger nets without hiding any modelling difference (those are O(1)).
* finite differences: central differences with h = 1e-6 have truncation O(h²) ≈ 1e-12 and rounding
  ε/h ≈ 1e-10 per gradient entry; 1e-7 relative on Θ̂.
* large width: the error of the seed mean is judged against the seed-to-seed spread s measured in the
  same run: ‖mean − Θ‖_F ≤ 4·s/√S, where s² = Σ_s ‖Θ̂_s − mean‖²_F/(S−1).  The ratio's square is close
  to an F variable with many degrees of freedom, so 4 (16 in squares) never trips by chance; the O(1/n)
  bias of the mean is ~1/2048 of Θ, far below s/√S.  The test also requires s/√S ≤ 5% of ‖Θ‖ so that it
  could fail: a wrong kernel off by more than ~20% is caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from ntkcheck.empirical.networks import build_network
from ntkcheck.empirical.ntk import (choose_engine, empirical_kernels, empirical_nngp, empirical_ntk,
                                    select_parameters)
from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import chen_dag_spec, fc_spec, parse_spec

ACTS = ["relu", "tanh", "gelu", "erf", "leaky_relu:0.2", "softplus", "sigmoid", "elu", "swish", "identity"]
ENGINES = ["jacobian", "ntvp", "structured"]


@st.composite
def dense_specs(draw):
    nodes = draw(st.integers(1, 4))
    edges = []
    for j in range(1, nodes):
        srcs = draw(st.lists(st.integers(0, j - 1), min_size=1, max_size=3))
        for s in srcs:
            op = draw(st.sampled_from(["zero", "skip", "skip:0.7", "dense", "dense", "dense"]))
            if op == "dense":
                op = "dense:" + draw(st.sampled_from(ACTS))
            edges.append([s, j, op])
    return parse_spec({"nodes": nodes, "edges": edges, "readout": draw(st.sampled_from(ACTS)),
                       "sigma_w2": draw(st.sampled_from([1.0, 2.0, 1.3])),
                       "sigma_b2": draw(st.sampled_from([0.0, 0.2])), "merge": draw(st.sampled_from(["sum", "mean"]))})


@st.composite
def linact_specs(draw):
    nodes = draw(st.integers(2, 4))
    edges = []
    for j in range(1, nodes):
        srcs = draw(st.lists(st.integers(0, j - 1), min_size=1, max_size=3))
        for s in srcs:
            op = draw(st.sampled_from(["zero", "skip", "linact:relu", "linact:tanh", "linact:relu"]))
            edges.append([s, j, op])
    return parse_spec({"nodes": nodes, "edges": edges, "readout": draw(st.sampled_from(["none", "identity"])),
                       "input": draw(st.sampled_from(["raw", "dense"])), "sigma_w2": 2.0,
                       "sigma_b2": draw(st.sampled_from([0.0, 0.1])), "merge": draw(st.sampled_from(["sum", "mean"]))})


def _X(N, d, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((N, d)))


def _rel(a, b):
    return (torch.linalg.norm(a - b) / torch.linalg.norm(b)).item()


def _check_engines(spec, seed, out_dim=1):
    d = 3
    width = d if spec.input == "raw" else 6
    net = build_network(spec, d, width, seed=seed, out_dim=out_dim, device="cpu", bias=spec.sigma_b2 > 0)
    if not any(True for _ in net.parameters()):
        return
    output = "mean" if spec.readout == "none" else "scalar"
    X = _X(4, d, seed)
    ref = empirical_ntk(net, X, output=output, engine="loop")
    if torch.linalg.norm(ref) == 0:  # e.g. a degenerate cell: every engine must give 0 too
        for e in ENGINES:
            assert torch.count_nonzero(empirical_ntk(net, X, output=output, engine=e)) == 0
        return
    for e in ENGINES:
        got = empirical_ntk(net, X, output=output, engine=e, chunk_size=3)
        assert got.dtype == torch.float64 and got.shape == (4, 4)
        assert _rel(got, ref) < 1e-10, (e, spec.to_json())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=dense_specs(), seed=st.integers(0, 10))
def test_engines_agree_on_random_dense_dags(spec, seed):
    _check_engines(spec, seed)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=linact_specs(), seed=st.integers(0, 10))
def test_engines_agree_on_random_linact_dags(spec, seed):
    _check_engines(spec, seed)


@pytest.mark.parametrize("output", ["full", "trace", "mean", "sum_logits"])
@pytest.mark.parametrize("params", ["all", "weight", "no_classifier", "weight_no_classifier"])
def test_engines_agree_multi_output(output, params):
    spec = parse_spec({"fc": ["relu", "tanh", "gelu"], "skips": [[0, 2]], "sigma_b2": 0.2})
    net = build_network(spec, 3, 5, out_dim=3, seed=1, device="cpu")
    X = _X(4, 3)
    ref = empirical_ntk(net, X, output=output, params=params, engine="loop")
    assert ref.shape == ((12, 12) if output == "full" else (4, 4))
    for e in ENGINES:
        assert _rel(empirical_ntk(net, X, output=output, params=params, engine=e, chunk_size=3), ref) < 1e-10


def test_output_contractions_are_consistent():
    # ∇Σ_c f_c = Σ_c ∇f_c, so Θ_sum_logits = Σ_{c,c'} Θ_full[(i,c),(j,c')]; trace/mean from the diagonal blocks
    net = build_network(fc_spec(["relu", "tanh"], sigma_b2=0.1), 3, 6, out_dim=4, seed=2, device="cpu")
    X = _X(5, 3)
    full = empirical_ntk(net, X, output="full", engine="jacobian").reshape(5, 4, 5, 4)
    s = empirical_ntk(net, X, output="sum_logits", engine="loop")
    torch.testing.assert_close(full.sum(dim=(1, 3)), s, rtol=1e-12, atol=1e-12)
    tr = empirical_ntk(net, X, output="trace", engine="structured")
    torch.testing.assert_close(torch.diagonal(full, dim1=1, dim2=3).sum(-1), tr, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(empirical_ntk(net, X, output="mean", engine="ntvp"), tr / 4, rtol=1e-12, atol=1e-12)


def test_against_finite_differences():
    spec = parse_spec({"nodes": 3, "edges": [[0, 1, "dense:tanh"], [0, 2, "skip"], [1, 2, "dense:gelu"]],
                       "readout": "softplus", "sigma_w2": 1.5, "sigma_b2": 0.3})
    net = build_network(spec, 2, 4, seed=3, device="cpu")
    X = _X(3, 2)
    params = [p for p in net.parameters()]
    h = 1e-6
    rows = []
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for k in range(flat.numel()):
                old = flat[k].item()
                flat[k] = old + h
                fp = net(X)[:, 0].clone()
                flat[k] = old - h
                fm = net(X)[:, 0].clone()
                flat[k] = old
                rows.append((fp - fm) / (2 * h))
    G = torch.stack(rows, dim=1)  # (N, P) by finite differences
    fd = G @ G.T
    for e in ["loop"] + ENGINES:
        assert _rel(empirical_ntk(net, X, engine=e), fd) < 1e-7


def test_structured_on_a_plain_torch_mlp():
    # a network written with nn.Linear (not built from a spec): structured == jacobian == loop
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 7), nn.Tanh(), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    X = _X(6, 3)
    ref = empirical_ntk(mlp, X, output="full", engine="loop")
    for e in ENGINES:
        assert _rel(empirical_ntk(mlp, X, output="full", engine=e, chunk_size=4), ref) < 1e-10
    # auto analyses the plain MLP's layers and picks the structured engine
    assert choose_engine(mlp, X, select_parameters(mlp), "full") == "structured"
    # a model it cannot analyse (LayerNorm parameters) falls back on the memory budget
    ln = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2)).double()
    assert choose_engine(ln, X, select_parameters(ln), "full") == "jacobian"
    assert choose_engine(ln, X, select_parameters(ln), "full", budget=10) == "ntvp"


def test_structured_rejects_unsupported_layers():
    net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 1)).double()
    with pytest.raises(NtkcheckError, match="structured"):
        empirical_ntk(net, _X(3, 3), engine="structured")
    shared = nn.Linear(3, 3).double()
    with pytest.raises(NtkcheckError, match="once"):
        empirical_ntk(nn.Sequential(shared, nn.Tanh(), shared), _X(3, 3), output="trace", engine="structured")


def test_structured_memory_grouping_and_chunks():
    net = build_network(fc_spec(["relu", "relu", "relu"]), 3, 8, seed=1, device="cpu")
    X = _X(10, 3)
    ref = empirical_ntk(net, X, engine="structured")
    # tiny budget: one layer per sweep; tiny chunks: many row blocks
    got = empirical_ntk(net, X, engine="structured", chunk_size=3, max_feature_bytes=1)
    assert _rel(got, ref) < 1e-12


def test_float32_network_gives_float64_result_close_to_float64():
    spec = fc_spec(["relu", "tanh"])
    X = _X(4, 3)
    t64 = empirical_ntk(build_network(spec, 3, 16, seed=0, device="cpu"), X)
    t32 = empirical_ntk(build_network(spec, 3, 16, seed=0, device="cpu", dtype="float32"), X)
    assert t32.dtype == torch.float64
    assert _rel(t32, t64) < 1e-5  # float32 forward/backward: ~1e-7 per entry, accumulated over 16² terms


@pytest.mark.parametrize("kw,match", [({"output": "logits"}, "output"), ({"engine": "fast"}, "engine"),
                                      ({"params": "bias"}, "params"), ({"chunk_size": 0}, "chunk_size"),
                                      ({"params": lambda n, p: False}, "selects no")])
def test_bad_arguments(kw, match):
    net = build_network(fc_spec(["relu"]), 3, 4, device="cpu")
    with pytest.raises(NtkcheckError, match=match):
        empirical_ntk(net, _X(3, 3), **kw)


def test_bad_inputs():
    net = build_network(fc_spec(["relu"]), 3, 4, out_dim=2, device="cpu")
    with pytest.raises(NtkcheckError, match="scalar"):
        empirical_ntk(net, _X(3, 3), output="scalar")
    X = _X(3, 3)
    X[1, 1] = float("nan")
    with pytest.raises(NtkcheckError, match="NaN"):
        empirical_ntk(net, X, output="trace")
    with pytest.raises(NtkcheckError):
        empirical_nngp(fc_spec(["relu"]), np.ones((3, 3)), 4, 2)  # duplicate rows
    with pytest.raises(NtkcheckError, match="seeds"):
        empirical_nngp(fc_spec(["relu"]), _X(3, 3).numpy(), 4, 0)


# ---- large width: the empirical kernels approach the exact recursion -------------------------------

def _unit_rows(N, d, seed, center=False):
    X = np.random.default_rng(seed).standard_normal((N, d))
    if center:
        X = X - X.mean(axis=1, keepdims=True)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _assert_converges(per_seed: np.ndarray, exact: np.ndarray, *, other: np.ndarray | None = None):
    S = per_seed.shape[0]
    mean = per_seed.mean(0)
    s = math.sqrt(sum(np.linalg.norm(p - mean) ** 2 for p in per_seed) / (S - 1))
    se = s / math.sqrt(S)
    assert se <= 0.05 * np.linalg.norm(exact), "spread too large for the test to be informative"
    err = np.linalg.norm(mean - exact)
    assert err <= 4 * se, (err, se)
    if other is not None:  # the competing prediction is rejected at the same noise level
        assert np.linalg.norm(mean - other) > 10 * se


def test_chen_dag3_converges_to_exact_recursion_not_paper_rule():
    """Chen et al. 2022 DAG#3 ``2_21_112`` (linact ReLU, raw centred unit input, readout none): the finite
    network's per-coordinate NNGP and NTK converge to the cross-term recursion (digest §2.2, §2.4), computed
    here by theory/connectivity.py's independent reference; the paper's plain-sum rule is rejected."""
    from ntkcheck.theory.connectivity import chen_exact_reference

    d = 1024
    X = _unit_rows(4, d, seed=11, center=True)
    spec = chen_dag_spec("2_21_112")
    ek = empirical_kernels(spec, X, d, 4, device="cpu")
    exact = chen_exact_reference(spec, X @ X.T, cross_terms=True)
    paper = chen_exact_reference(spec, X @ X.T, cross_terms=False)
    # digest §2.3: diagonal 5.6703 for centred unit input (4 under the paper's rule)
    np.testing.assert_allclose(np.diag(exact.nngp), 5.6703, atol=1e-4)
    _assert_converges(ek.nngp_per_seed, exact.nngp, other=paper.nngp)
    assert abs(ek.nngp[0, 0] - 5.6703) < 0.2  # MC value of the digest at m = 4096: 5.687
    _assert_converges(ek.ntk_per_seed, exact.ntk[-1])
    # the project's engine (theory/kernels.py) gives the same limit, and its no-cross-term option is rejected
    from ntkcheck.theory.kernels import infinite_width_kernels

    ik = infinite_width_kernels(spec, X)
    # rtol 1e-7: the NTK's derivative kernel (π − arccos c)/π is evaluated at a correlation c that is 1 up
    # to rounding on the diagonal, where arccos(1 − ε) ≈ √(2ε) ≈ 1.5e-8 turns ulps into ~5e-9 differences
    np.testing.assert_allclose(ik.nngp, exact.nngp, rtol=1e-10)
    np.testing.assert_allclose(ik.ntk, exact.ntk[-1], rtol=1e-7)
    _assert_converges(ek.nngp_per_seed, ik.nngp, other=infinite_width_kernels(spec, X, cross_terms=False).nngp)


def test_nngp_readout_normalization_two_layer_relu():
    """fc ReLU two-layer net: K = σ_w² E[relu(u)relu(v)] with u, v ~ N(0, Σ₀₀), Σ₀₀ = σ_w² XXᵀ/d — the
    arc-cosine closed form (Cho & Saul 2009), written here independently of theory/."""
    d, sw2 = 5, 2.0
    X = _unit_rows(5, d, seed=3)
    S0 = sw2 * X @ X.T / d
    q = np.sqrt(np.diag(S0))
    c = np.clip(S0 / np.outer(q, q), -1, 1)
    th = np.arccos(c)
    K = sw2 * np.outer(q, q) * (np.sin(th) + (np.pi - th) * c) / (2 * np.pi)
    T = K + sw2 * (np.pi - th) / (2 * np.pi) * S0
    ek = empirical_kernels(fc_spec(["relu"]), X, 2048, 6, device="cpu")
    _assert_converges(ek.nngp_per_seed, K)
    _assert_converges(ek.ntk_per_seed, T)
    np.testing.assert_allclose(empirical_nngp(fc_spec(["relu"]), X, 2048, 6, device="cpu"), ek.nngp, rtol=1e-12)


@pytest.mark.parametrize("spec,width,seeds", [
    (fc_spec(["relu", "relu", "relu"]), 2048, 8),
    (parse_spec({"nodes": 4, "edges": [[0, 1, "dense:relu"], [0, 2, "skip"], [1, 2, "dense:tanh"],
                                       [0, 3, "zero"], [1, 3, "skip"], [2, 3, "dense:relu"]],
                 "readout": "relu", "sigma_w2": 2.0, "sigma_b2": 0.1}), 2048, 8),
    # mean merge, scaled skip, smooth activations, biases, a sigmoid edge reading an identically-zero node
    (parse_spec({"nodes": 5, "edges": [[0, 1, "dense:tanh"], [0, 2, "skip"], [1, 2, "dense:gelu"],
                                       [0, 3, "zero"], [3, 4, "dense:sigmoid"], [1, 4, "skip:0.5"],
                                       [2, 4, "dense:erf"]],
                 "readout": "softplus", "merge": "mean", "sigma_w2": 1.5, "sigma_b2": 0.2}), 1024, 6),
    # linact edges on a dense input node: non-zero means, cross terms, mean merge, readout none
    (parse_spec({"nodes": 3, "edges": [[0, 1, "linact:tanh"], [0, 2, "linact:relu"], [1, 2, "skip"],
                                       [1, 2, "linact:relu"]], "readout": "none", "input": "dense",
                 "sigma_b2": 0.1, "merge": "mean"}), 512, 6),  # per-coordinate NTK: n backward passes
], ids=["fc_relu", "skip_dag", "mean_dag_zero_node", "linact_dense_input"])
def test_large_width_matches_infinite_width_engine(spec, width, seeds):
    # 8 seeds: a ReLU net's per-network NNGP fluctuates by ≈ 2.2·√(L/n) relative (≈ 8% here), so 8 seeds
    # bring the standard error of the mean under the 5% informativeness bar of _assert_converges
    from ntkcheck.theory.kernels import infinite_width_kernels

    X = _unit_rows(5, 4, seed=5)
    ik = infinite_width_kernels(spec, X)
    ek = empirical_kernels(spec, X, width, seeds, device="cpu")
    _assert_converges(ek.nngp_per_seed, np.asarray(ik.nngp))
    _assert_converges(ek.ntk_per_seed, np.asarray(ik.ntk))


def test_parameter_free_raw_skip_dag_is_exact_at_any_width():
    """``1_01_111``: X1 = X0, X2 = X1, X3 = X0 + X1 + X2 = 3·X0 with node 0 = √d·x — no weights at all, so the
    per-coordinate NNGP is exactly 9·XXᵀ at every width (hand computation; theory must agree to rounding)
    and the NTK is 0 (θ is empty)."""
    from ntkcheck.theory.kernels import infinite_width_kernels

    X = _unit_rows(4, 6, seed=2)
    spec = chen_dag_spec("1_01_111")
    ek = empirical_kernels(spec, X, 6, 2, device="cpu")
    np.testing.assert_allclose(ek.nngp, 9 * X @ X.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(infinite_width_kernels(spec, X).nngp, ek.nngp, rtol=1e-12, atol=1e-14)
    assert np.count_nonzero(ek.ntk) == 0


# --- engine="auto" on models ntkcheck did not build -------------------------------------------------------------

def _auto_vs_loop(model, X, output, engine="structured"):
    got, info = empirical_ntk(model, X, output=output, return_info=True)
    assert info["engine"] == engine, info
    ref = empirical_ntk(model, X, output=output, engine="loop", chunk_size=1)
    assert _rel(got, ref) < 1e-10
    return info


@pytest.mark.parametrize("output", ["scalar", "full", "mean"])
def test_auto_structured_on_plain_sequential_mlp(output):
    torch.manual_seed(1)
    C = 1 if output == "scalar" else 3
    mlp = nn.Sequential(nn.Linear(5, 16), nn.GELU(), nn.Linear(16, 16), nn.Softplus(), nn.Linear(16, C)).double()
    _auto_vs_loop(mlp, _X(9, 5), output)


@pytest.mark.parametrize("output", ["sum_logits", "full", "trace"])
def test_auto_structured_on_plain_convnet(output):
    # Conv2d (stride, padding, dilation, no bias), pooling, flatten, linear head
    torch.manual_seed(2)
    cnn = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2, dilation=1, bias=False),
                        nn.Tanh(), nn.AvgPool2d(2), nn.MaxPool2d(1), nn.Flatten(), nn.Linear(4 * 1 * 1, 3)).double()
    X = torch.from_numpy(np.random.default_rng(3).standard_normal((5, 2, 7, 7)))
    _auto_vs_loop(cnn, X, output, engine="jacobian")  # small conv net: the Jacobian fits the budget
    ref = empirical_ntk(cnn, X, output=output, engine="loop", chunk_size=1)
    assert _rel(empirical_ntk(cnn, X, output=output, engine="structured"), ref) < 1e-10
    # beyond the budget auto takes the structured engine (per-sample conv gradients, grouped by layer)
    got, info = empirical_ntk(cnn, X, output=output, return_info=True, max_feature_bytes=1)
    assert info["engine"] == "structured" and _rel(got, ref) < 1e-10


def test_auto_accepts_tuple_outputs_and_reports_fallbacks():
    class FeatLogits(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Linear(4, 8), nn.Linear(8, 2)

        def forward(self, x):
            z = torch.relu(self.body(x))
            return z, self.head(z)

    torch.manual_seed(3)
    _auto_vs_loop(FeatLogits().double(), _X(6, 4), "full")

    class Tied(nn.Module):  # the weight is also used outside its layer: the spot check must reject structured
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(4, 4)

        def forward(self, x):
            return (torch.tanh(self.f(x)) @ self.f.weight).sum(1)

    info = _auto_vs_loop(Tied().double(), _X(6, 4), "scalar", engine="jacobian")
    assert "spot check" in info["reason"]
    bn = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 1)).double()  # train mode couples samples
    _, info = empirical_ntk(bn, _X(6, 4), return_info=True)
    assert info["engine"] != "structured" and "batch" in info["reason"]
