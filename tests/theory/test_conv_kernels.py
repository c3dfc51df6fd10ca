"""Exact conv NB201 kernels (theory/conv_kernels.py): against an independent dense-matrix reference, closed-form
special cases, engine invariances, spec validation, and (when installed) neural-tangents' stax.

Tolerances: the engine and the references are float64 computations of the same sums in different orders on
O(1)-sized kernels; observed differences are ~1e-15 relative, so 1e-12 (dense reference) / 1e-10 (stax, the
issue's criterion) leave room for summation-order rounding only, never for a modelling difference (those are
O(1): the all-skip cell differs from stax by a factor 4).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import NB201_EDGES, NB201_OPS, ConvCellSpec, nb201_string, parse_any_spec, parse_spec
from ntkcheck.theory.conv_kernels import (BN_NOTE, conv_cell_kernels, conv_cells_kernels, conv_lambda_min_table,
                                          stax_exact)
from ntkcheck.theory.dual_kernels import dual_gram_pair
from ntkcheck.theory.nb201 import nb201_kernels

ALL_SKIP = ("skip_connect",) * 6
STEM_ONLY = ("none", "none", "none", "skip_connect", "none", "none")  # node 3 = node 0
MIXED = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3")
CELLS = [ALL_SKIP, MIXED, ("avg_pool_3x3",) * 6, ("nor_conv_3x3",) * 6,
         ("avg_pool_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "avg_pool_3x3", "avg_pool_3x3"),
         ("nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none", "nor_conv_3x3", "skip_connect"),
         ("none", "avg_pool_3x3", "none", "skip_connect", "none", "avg_pool_3x3")]


def _images(N=5, C=2, H=4, W=3, seed=0):
    return np.random.default_rng(seed).standard_normal((N, C, H, W))


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


# ---- an independent reference: full (N·P)×(N·P) matrices, nodes as sums of independent Gaussian sources ----

def _shift(H, W, dh, dw):
    """(S Z)[p] = Z[p + d] on the H×W grid, zero outside."""
    P = H * W
    S = np.zeros((P, P))
    for h in range(H):
        for w in range(W):
            if 0 <= h + dh < H and 0 <= w + dw < W:
                S[h * W + w, (h + dh) * W + (w + dw)] = 1.0
    return S


def _avg_pool(H, W):
    P = H * W
    A = np.zeros((P, P))
    for h in range(H):
        for w in range(W):
            nb = [(a, b) for a in (h - 1, h, h + 1) for b in (w - 1, w, w + 1) if 0 <= a < H and 0 <= b < W]
            for a, b in nb:
                A[h * W + w, a * W + b] = 1.0 / len(nb)
    return A


def dense_reference(ops, X, sw=2.0):
    """Node j = Σ_s (I_N ⊗ L_js) G_s over independent sources G_s (the stem and each conv edge): then
    Σ_ab = Σ_s L_as Σ_s L_bsᵀ and Θ_ab likewise — every cross term is automatic."""
    N, C, H, W = X.shape
    P = H * W
    I_N = np.eye(N)

    def conv(M, k):
        r = k // 2
        out = np.zeros_like(M)
        for dh in range(-r, r + 1):
            for dw in range(-r, r + 1):
                S = np.kron(I_N, _shift(H, W, dh, dw))
                out += S @ M @ S.T
        return out

    Xf = X.reshape(N, C, P).transpose(0, 2, 1).reshape(N * P, C)
    S0 = sw / (9 * C) * conv(Xf @ Xf.T, 3)
    sources = [(S0, S0)]
    nodes = [{0: np.eye(P)}]
    A = _avg_pool(H, W)

    def cov(rep, which):
        out = np.zeros((N * P, N * P))
        for s, L in rep.items():
            LL = np.kron(I_N, L)
            out += LL @ sources[s][which] @ LL.T
        return out

    for j in (1, 2, 3):
        rep: dict[int, np.ndarray] = {}
        for (i, t), o in zip(NB201_EDGES, ops):
            if t != j or o == "none" or not nodes[i]:
                continue
            if o in ("skip_connect", "avg_pool_3x3"):
                Lop = np.eye(P) if o == "skip_connect" else A
                for s, L in nodes[i].items():
                    rep[s] = rep.get(s, 0) + Lop @ L
            else:
                k = 1 if o == "nor_conv_1x1" else 3
                F, Fd, _ = dual_gram_pair("relu", cov(nodes[i], 0))
                Se = sw / k ** 2 * conv(F, k)
                sources.append((Se, Se + sw / k ** 2 * conv(Fd * cov(nodes[i], 1), k)))
                rep[len(sources) - 1] = np.eye(P)
        nodes.append(rep)
    if not nodes[3]:
        return np.zeros((N, N)), np.zeros((N, N))
    F, Fd, _ = dual_gram_pair("relu", cov(nodes[3], 0))
    G = Fd * cov(nodes[3], 1)
    K = sw * F.reshape(N, P, N, P).mean(axis=(1, 3))
    return K, K + sw * G.reshape(N, P, N, P).mean(axis=(1, 3))


@pytest.mark.parametrize("ops", CELLS, ids=lambda o: "-".join(x[:4] for x in o))
def test_matches_dense_source_reference(ops):
    X = _images()
    K, T = conv_cells_kernels([ops], X)
    Kr, Tr = dense_reference(ops, X)
    assert _rel(K[0], Kr) < 1e-12 and _rel(T[0], Tr) < 1e-12


def test_all_skip_is_16_times_stem_only():
    """node 3 = 4·node 0 exactly (the cross terms), and ReLU → GAP → linear is homogeneous of degree 1 in Σ."""
    X = _images(N=6, H=5, W=5, seed=3)
    K, T = conv_cells_kernels([ALL_SKIP, STEM_ONLY], X)
    np.testing.assert_allclose(K[0], 16 * K[1], rtol=1e-13, atol=0)
    np.testing.assert_allclose(T[0], 16 * T[1], rtol=1e-13, atol=0)
    # without the cross terms (stax's FanInSum): node 3 = (1 + 1 + 2)·Σ₀₀, a quarter of the exact kernel
    Kn, Tn = conv_cells_kernels([ALL_SKIP], X, cross_terms=False)
    np.testing.assert_allclose(K[0], 4 * Kn[0], rtol=1e-13, atol=0)


def test_one_by_one_images_reduce_to_the_fc_analog():
    """On 1×1 images a 3×3 stem sees only its centre tap (Σ₀₀ = σ_w² XXᵀ/(9C)), 1×1 convs are dense layers and
    pooling is the identity, so by homogeneity the conv kernels are 1/9 of the fully connected analog's."""
    X = _images(N=6, C=4, H=1, W=1, seed=5)
    cells = [c for c in itertools.product(("none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3"), repeat=6)][::37]
    K, T = conv_cells_kernels(cells, X)
    Kf, Tf = nb201_kernels(cells, X.reshape(6, 4))
    np.testing.assert_allclose(9 * K, Kf, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(9 * T, Tf, rtol=1e-12, atol=1e-14)


def test_chunking_threads_and_batching_do_not_change_values():
    X = _images(N=7, H=4, W=4, seed=1)
    cells = [CELLS[1], CELLS[4], CELLS[0], CELLS[5]]
    K, T = conv_cells_kernels(cells, X)
    K1, T1 = conv_cells_kernels(cells[::-1], X, block_floats=40, workers=1)
    np.testing.assert_array_equal(K, K1[::-1])
    np.testing.assert_array_equal(T, T1[::-1])
    for c, ops in enumerate(cells):
        Kc, Tc = conv_cells_kernels([ops], X, workers=3)
        np.testing.assert_array_equal(Kc[0], K[c])


def test_kernels_are_psd_and_flat_data_is_accepted():
    X = _images(N=8, C=3, H=4, W=4, seed=2)
    spec = {"nb201": nb201_string(MIXED), "kernel": "conv", "image": [3, 4, 4]}
    r = conv_cell_kernels(spec, X.reshape(8, -1))
    r2 = conv_cell_kernels(spec, X)
    np.testing.assert_array_equal(r.ntk, r2.ntk)
    tab = conv_lambda_min_table([MIXED], X)
    assert tab.ntk_lambda_min[0] > tab.ntk_error_bound[0] and tab.nngp_lambda_min[0] > tab.nngp_error_bound[0]
    assert np.allclose(r.ntk, r.ntk.T, rtol=0, atol=0) and r.note == BN_NOTE and "BN" in tab.note


def test_degenerate_cell_is_zero_and_flagged():
    X = _images()
    dead = ("none", "none", "nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3")  # node 1 = 0 → node 3 = 0
    K, T = conv_cells_kernels([dead], X)
    assert not K.any() and not T.any()
    assert conv_lambda_min_table([dead], X).degenerate[0]


def test_stax_exact_classification():
    assert not stax_exact(ALL_SKIP) and stax_exact(("nor_conv_3x3",) * 6) and stax_exact(MIXED)
    # two linear in-edges, but one leaves a zero node: exact
    assert stax_exact(("none", "skip_connect", "skip_connect", "nor_conv_1x1", "none", "skip_connect"))


def test_spec_validation():
    cell = nb201_string(MIXED)
    spec = parse_any_spec({"nb201": cell, "kernel": "conv", "image": [3, 8, 8]})
    assert isinstance(spec, ConvCellSpec) and spec.image == (3, 8, 8) and "NO batch normalization" in spec.note
    assert parse_any_spec(spec.to_json()) == spec
    assert "fully connected analog" in parse_spec({"nb201": cell}).note  # fc analog stays the default
    assert parse_spec({"nb201": cell, "kernel": "fc"}) == parse_spec({"nb201": cell})
    bad = [({"nb201": cell, "kernel": "conv"}, "image"),
           ({"nb201": cell, "kernel": "conv", "image": [3, 0, 8]}, ">= 1"),
           ({"nb201": cell, "kernel": "conv", "image": [3, 8, 8], "readout": "tanh"}, "readout"),
           ({"nb201": cell, "kernel": "cnn"}, "'kernel'"),
           ({"nb201": cell, "kernel": "fc", "image": [3, 8, 8]}, "image"),
           ({"fc": ["relu"], "kernel": "fc"}, "nb201"),
           ({"nb201": cell, "kernel": "conv", "image": [3, 100, 100]}, "pixels")]
    for obj, word in bad:
        with pytest.raises(NtkcheckError, match=word):
            parse_any_spec(obj)
    with pytest.raises(NtkcheckError, match="convolutional"):
        parse_spec({"nb201": cell, "kernel": "conv", "image": [3, 8, 8]})
    X = _images(N=4, C=2, H=4, W=4)
    with pytest.raises(NtkcheckError, match="spec says"):
        conv_cell_kernels({"nb201": cell, "kernel": "conv", "image": [3, 4, 4]}, X)
    with pytest.raises(NtkcheckError, match="features per row"):
        conv_cell_kernels({"nb201": cell, "kernel": "conv", "image": [3, 4, 4]}, X.reshape(4, -1))


# ---- neural-tangents (optional) --------------------------------------------------------------------------

def _nt():
    pytest.importorskip("neural_tangents")
    import nt_reference

    return nt_reference


def test_agrees_with_stax_where_fanin_is_exact():
    nt = _nt()
    X = _images(N=5, C=3, H=4, W=5, seed=7)
    rng = np.random.default_rng(0)
    cells = [c for c in (tuple(rng.choice(NB201_OPS, 6)) for _ in range(60)) if stax_exact(c)][:3] + [MIXED]
    K, T = conv_cells_kernels(cells, X)
    for c, ops in enumerate(cells):
        ks, ts = nt.stax_kernels(ops, X)
        if not ks.any():
            assert not K[c].any()
            continue
        assert _rel(K[c], ks) < 1e-10 and _rel(T[c], ts) < 1e-10, ops


def test_stax_fanin_is_the_no_cross_term_kernel_and_a_quarter_on_all_skip():
    nt = _nt()
    X = _images(N=5, C=3, H=4, W=5, seed=8)
    ks, ts = nt.stax_kernels(ALL_SKIP, X)
    K, T = conv_cells_kernels([ALL_SKIP], X)
    assert _rel(K[0], 4 * ks) < 1e-10 and _rel(T[0], 4 * ts) < 1e-10
    ops = CELLS[4]  # pool paths sharing node 0: stax is not exact here
    assert not stax_exact(ops)
    ks, ts = nt.stax_kernels(ops, X)
    Kn, Tn = conv_cells_kernels([ops], X, cross_terms=False)
    Kx, _ = conv_cells_kernels([ops], X)
    assert _rel(Kn[0], ks) < 1e-10 and _rel(Tn[0], ts) < 1e-10 and _rel(Kx[0], ks) > 0.1


# ---- CLI and metric registry -----------------------------------------------------------------------------

def test_cli_kernel_conv_spec_and_nb201_all_sample(tmp_path, capsys):
    import json

    from ntkcheck.cli import main

    X = _images(N=6, C=3, H=4, W=4, seed=11)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Xf.npy", X.reshape(6, -1))
    spec = {"nb201": nb201_string(MIXED), "kernel": "conv", "image": [3, 4, 4]}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    out = tmp_path / "k.npz"
    assert main(["kernel", str(tmp_path / "s.json"), str(tmp_path / "Xf.npy"), "-o", str(out), "--quiet"]) == 0
    z = np.load(out)
    ref = conv_cell_kernels(spec, X)
    np.testing.assert_array_equal(z["ntk"], ref.ntk)
    assert z["ntk_lambda_min"] == pytest.approx(np.linalg.eigvalsh(ref.ntk)[0], abs=float(z["ntk_lambda_min_error"]))
    assert "batch normalization" in json.loads(str(z["meta"]))["config"]["note"]
    out2 = tmp_path / "all.npz"
    assert main(["kernel", "--nb201-all", "--conv", str(tmp_path / "X.npy"), "--sample", "4", "--seed", "3",
                 "-o", str(out2), "--quiet"]) == 0
    z2 = np.load(out2)
    tab = conv_lambda_min_table([str(c) for c in z2["cells"]], X)
    np.testing.assert_array_equal(z2["ntk_lambda_min"], tab.ntk_lambda_min)
    capsys.readouterr()
    for argv, word in [(["kernel", json.dumps({**spec, "image": [3, 4, 5]}), str(tmp_path / "X.npy")], "spec says"),
                       (["kernel", "--nb201-all", "--conv", str(tmp_path / "Xf.npy")], "--image"),
                       (["kernel", "--nb201-all", "--conv", str(tmp_path / "X.npy"), "--sample", "0"], "--sample")]:
        assert main(argv) == 2
        assert word in capsys.readouterr().err


def test_registered_conv_metrics_match_the_engine():
    from ntkcheck.sweep.inputs import flat_rows, natural_images
    from ntkcheck.metrics import Arch, evaluate

    inputs = natural_images(16, seed=0)
    cell = nb201_string(MIXED)
    r = evaluate("conv_ntk_lambda_min", Arch(cell, "nb201"), inputs, 0, {"n": 8})
    K, T = conv_cells_kernels([MIXED], flat_rows(inputs, 8).reshape(8, 3, 8, 8))
    assert r.status == "ok" and r.value == pytest.approx(np.linalg.eigvalsh(T[0])[0], rel=1e-10)
    r = evaluate("conv_nngp_lambda_min", Arch(cell, "nb201"), inputs, 0, {"n": 8})
    assert r.status == "ok" and r.value == pytest.approx(np.linalg.eigvalsh(K[0])[0], rel=1e-8)


# ---- isomorphism classes (conv_cell_class): one computation per class in the whole-space table ----------

def test_class_counts_over_the_whole_space():
    from ntkcheck.theory.conv_kernels import cell_is_degenerate, conv_cell_classes
    from ntkcheck.theory.nb201 import all_nb201_cells

    cells = all_nb201_cells()
    classes = conv_cell_classes(cells)
    assert sorted(classes[None]) == [k for k, c in enumerate(cells) if cell_is_degenerate(c)]
    assert len(classes[None]) == 341                       # 5⁶ − cells with an input→output path
    assert len(classes) - 1 == 8764                         # the count the shipped table states


def test_members_of_a_class_have_equal_kernels_on_a_sample():
    """Every member of 30 seeded random multi-member classes: the engine's kernels agree to rounding (1e-12
    relative: summation order only); a canonical form that merged different functions differs at O(1)."""
    from ntkcheck.theory.conv_kernels import conv_cell_classes
    from ntkcheck.theory.nb201 import all_nb201_cells

    cells = all_nb201_cells()
    multi = [m for k, m in conv_cell_classes(cells).items() if k is not None and len(m) > 1]
    rng = np.random.default_rng(0)
    pick = [multi[i] for i in rng.choice(len(multi), 30, replace=False)]
    X = _images(N=3, C=2, H=3, W=3)
    members = [cells[i] for m in pick for i in m[:4]]
    K, T = conv_cells_kernels(members, X, workers=1)
    s = 0
    for m in pick:
        n = min(4, len(m))
        for k in range(1, n):
            assert _rel(K[s + k], K[s]) < 1e-12 and _rel(T[s + k], T[s]) < 1e-12, [cells[i] for i in m]
        s += n


def test_shared_and_independent_convs_are_different_classes():
    """node 3 = skip(node 1) + skip(node 2) with node 2 = conv(x) (independent of node 1 = conv(x)) versus
    node 2 = skip(node 1) (the same conv twice: variance doubles): different expressions, different kernels."""
    from ntkcheck.theory.conv_kernels import conv_cell_class

    indep = ("nor_conv_3x3", "nor_conv_3x3", "none", "none", "skip_connect", "skip_connect")
    shared = ("nor_conv_3x3", "none", "skip_connect", "none", "skip_connect", "skip_connect")
    # nodes 1 and 2 exchanged (no edge between them): the same function distribution
    a = ("nor_conv_1x1", "nor_conv_3x3", "none", "none", "skip_connect", "avg_pool_3x3")
    b = ("nor_conv_3x3", "nor_conv_1x1", "none", "none", "avg_pool_3x3", "skip_connect")
    assert conv_cell_class(indep) != conv_cell_class(shared)
    assert conv_cell_class(a) == conv_cell_class(b)
    K, T = conv_cells_kernels([indep, shared, a, b], _images(N=3, C=2, H=3, W=3), workers=1)
    assert _rel(K[0], K[1]) > 0.1
    assert _rel(K[2], K[3]) < 1e-12 and _rel(T[2], T[3]) < 1e-12
