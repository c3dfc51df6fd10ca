"""Tests of the NAS metrics (empirical/metrics.py).

Second methods: numpy ``eigvalsh`` of Gram matrices built independently with numpy; np.corrcoef for LGA and
the kernel correlation; explicit formulas written out element by element; the classifier's contribution to
the logit-sum NTK in closed form (num_classes · HHᵀ with H the pooled features); ``torch.func.jacrev`` of
the batched function for the kernel of a conv network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ntkcheck.empirical.metrics import (condition_number, eigen_nas_score, frobenius_norm, kernel_correlation,
                                        kernel_cosine, kernel_distance, label_similarity, lga, lga_score,
                                        logit_sum_ntk, ntk_mean, ntk_metrics, ntk_trace,
                                        relative_kernel_difference, tenas_kappa)
from ntkcheck.empirical.nb201_conv import build_nb201_conv, tenas_ntk_config
from ntkcheck.errors import NtkcheckError
from torch_reference import jac_kernel

CELL = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|"
SMALL = tenas_ntk_config(C=2, input_size=8, bn_track_running_stats=False)






def gram(N, P, seed):
    G = np.random.default_rng(seed).standard_normal((N, P))
    return G @ G.T


def x_img(n=6, seed=0):
    return torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- condition number --------------------------------------------------------------------------------

def test_condition_number_matches_numpy_and_is_scale_invariant():
    K = gram(8, 20, 0)
    ev = np.linalg.eigvalsh(K)
    c = condition_number(K)
    # float64 symmetric eigensolvers agree to ~N·eps·λmax; rtol 1e-10 leaves room for κ ≈ 10-100
    assert c.value == pytest.approx(ev[-1] / ev[0], rel=1e-10)
    assert c.lambda_min == pytest.approx(ev[0], rel=1e-10) and not c.singular and c.value >= 1
    assert condition_number(7.5 * K).value == pytest.approx(c.value, rel=1e-10)  # T1: κ(cΘ) = κ(Θ)
    assert condition_number(torch.as_tensor(K)).value == pytest.approx(c.value, rel=1e-12)


def test_condition_number_singular_is_inf_with_flag():
    K = gram(10, 4, 1)  # rank 4 < 10: λ_min = 0 up to round-off
    c = condition_number(K)
    assert c.singular and math.isinf(c.value)
    assert condition_number(np.diag([1.0, 2.0, 1e-3]), tol=1e-2).singular


def test_condition_number_compat_modes():
    K = gram(8, 20, 2)
    ev = np.linalg.eigvalsh(K)
    # fp32 eigenvalues: relative error ~ κ·1e-7; κ here is < 100, so rtol 1e-4
    assert condition_number(K, compat="tenas").value == pytest.approx(ev[-1] / ev[0], rel=1e-4)
    assert condition_number(np.zeros((3, 3)), compat="tenas").value == 1e5  # 0/0 = NaN -> 1e5 (B3)
    assert condition_number(np.diag([1.0, 2.0, 4.0]), compat="mok").value == pytest.approx(4.0)
    # Mok's code drops exact zeros: diag(0, 2, 4) -> 4/2
    assert condition_number(np.diag([0.0, 2.0, 4.0]), compat="mok").value == pytest.approx(2.0)
    with pytest.raises(NtkcheckError):
        condition_number(K, compat="fp16")
    with pytest.raises(NtkcheckError):
        condition_number(np.ones((2, 3)))
    with pytest.raises(NtkcheckError):
        condition_number(np.array([[1.0, np.nan], [np.nan, 1.0]]))


# ---- the NAS-code kernel -------------------------------------------------------------------------------

def test_logit_sum_ntk_classifier_block_closed_form():
    # ∂(Σ_c f_c)/∂W_classifier[c, :] = h (pooled features) for every class c, so the classifier's share of
    # the kernel is num_classes · ⟨h_i, h_j⟩ — independent of the backward loop.
    net = build_nb201_conv(CELL, SMALL, seed=0, device="cpu")
    X = x_img()
    feats = []
    h = net.classifier.register_forward_hook(lambda m, i, o: feats.append(i[0].detach()))
    K_w = logit_sum_ntk(net, X, params="weight").numpy()
    h.remove()
    K_nc = logit_sum_ntk(net, X, params="weight_no_classifier").numpy()
    H = feats[0].numpy()
    assert np.allclose(K_w - K_nc, 10 * H @ H.T, rtol=1e-10, atol=1e-12 * np.abs(K_w).max())
    # and the full kernel against jacrev of the batched function (train-mode BN coupling)
    K_ref = jac_kernel(net, X, lambda n: "weight" in n)
    assert np.max(np.abs(K_w - K_ref)) <= 1e-10 * np.abs(K_ref).max()
    assert net.training  # mode restored


def test_logit_sum_ntk_full_contracts_to_sum_logits():
    # L10: the N×N logit-sum kernel equals the NC×NC per-logit kernel summed over class blocks
    net = build_nb201_conv(CELL, tenas_ntk_config(C=2, input_size=8, num_classes=3), seed=1, device="cpu")
    X = x_img(4)
    Kf = logit_sum_ntk(net, X, params="all", output="full").numpy()
    Ks = logit_sum_ntk(net, X, params="all").numpy()
    assert np.allclose(Kf.reshape(4, 3, 4, 3).sum((1, 3)), Ks, rtol=1e-10, atol=1e-12 * np.abs(Ks).max())


def test_tenas_kappa_and_eigen_nas_against_numpy():
    X = x_img()
    fac = lambda s: build_nb201_conv(CELL, SMALL, seed=s, device="cpu")  # noqa: E731
    res = tenas_kappa(fac, X, repeats=2)
    lam = []
    for s in range(2):
        ev = np.linalg.eigvalsh(jac_kernel(fac(s), X, lambda n: "weight" in n))
        # jacrev and loop kernels agree to 1e-10 relative; κ < 1e4 here, so rtol 1e-6
        assert res.values[s] == pytest.approx(ev[-1] / ev[0], rel=1e-6)
    assert res.mean == pytest.approx(np.mean(res.values), rel=1e-12)
    fixed = tenas_kappa(fac(0), [X] * 3, repeats=3)  # one batch given three times: the same κ three times
    assert fixed.values[0] == fixed.values[1] == fixed.values[2] and fixed.std == 0.0
    eig = eigen_nas_score(fac, X, seeds=(0, 1), params="all")
    for s, lm in zip((0, 1), eig.lambda_mins):
        ev = np.linalg.eigvalsh(jac_kernel(fac(s), X, lambda n: True))
        assert lm == pytest.approx(ev[0], rel=1e-6, abs=1e-9 * ev[-1])
    assert eig.score == pytest.approx(np.mean(eig.lambda_mins))
    with pytest.raises(NtkcheckError):
        tenas_kappa(fac, X, repeats=0)
    with pytest.raises(NtkcheckError):
        logit_sum_ntk(fac(0), X, params="bias_only")


# ---- LGA ---------------------------------------------------------------------------------------------------

def lga_by_loops(K, y, diag=True):
    """LGA written out from the digest's formula §4 with explicit loops (independent of the vectorised code)."""
    N = len(y)
    pairs = [(i, j) for i in range(N) for j in range(N) if diag or i != j]
    k = [K[i][j] for i, j in pairs]
    l_ = [1.0 if y[i] == y[j] else -1.0 for i, j in pairs]
    mk, ml = sum(k) / len(k), sum(l_) / len(l_)
    num = sum((a - mk) * (b - ml) for a, b in zip(k, l_))
    den = math.sqrt(sum((a - mk) ** 2 for a in k)) * math.sqrt(sum((b - ml) ** 2 for b in l_))
    return num / den


def test_lga_tiny_case_against_direct_formula():
    K = gram(6, 10, 3)
    y = [0, 1, 0, 2, 1, 0]
    assert lga(K, y) == pytest.approx(lga_by_loops(K, y), rel=1e-12)
    assert lga(K, y, include_diag=False) == pytest.approx(lga_by_loops(K, y, diag=False), rel=1e-12)
    assert lga(K, y) == pytest.approx(np.corrcoef(K.ravel(), label_similarity(y).ravel())[0, 1], rel=1e-12)


def test_lga_exact_properties_L1():
    y = np.array([0, 1, 1, 2, 0, 2, 1])
    L = label_similarity(y)
    K = gram(7, 12, 4)
    assert lga(L, y) == pytest.approx(1.0, abs=1e-12)
    assert lga(-L, y) == pytest.approx(-1.0, abs=1e-12)
    assert lga(3.0 * K + 5.0, y) == pytest.approx(lga(K, y), rel=1e-10)
    Y = np.eye(3)[y]
    assert lga(K, y) == pytest.approx(np.corrcoef(K.ravel(), (Y @ Y.T).ravel())[0, 1], rel=1e-10)  # {0,1} encoding
    assert -1 <= lga(K, y) <= 1
    assert math.isnan(lga(np.ones((7, 7)), y)) and lga(np.ones((7, 7)), y, compat="mok") == 1e-4
    with pytest.raises(NtkcheckError):
        lga(K, y[:5])


def test_lga_random_baseline_L2():
    # Statistical (digest L2): labels independent of a random Gram matrix.  Off-diagonal LGA is ~0 with
    # |LGA| < 4/sqrt(#pairs) (a 4-sigma bound for a correlation of #pairs nearly independent entries; the
    # digest saw 0 violations in 200 draws); the diagonal-inclusive LGA is biased upwards (≈ 0.29 there).
    rng = np.random.default_rng(5)
    N, P = 64, 200
    off, full = [], []
    for _ in range(20):
        G = rng.standard_normal((N, P))
        y = rng.integers(0, 10, N)
        off.append(lga(G @ G.T, y, include_diag=False))
        full.append(lga(G @ G.T, y))
    assert max(abs(v) for v in off) < 4 / math.sqrt(N * (N - 1))
    assert np.mean(full) > 0.2


def test_lga_score_uses_weight_no_classifier_kernel():
    net = build_nb201_conv(CELL, SMALL, seed=0, device="cpu")
    X, y = x_img(), [0, 1, 0, 1, 2, 2]
    K = jac_kernel(net, X, lambda n: "weight" in n and "classifier" not in n)
    assert lga_score(net, X, y) == pytest.approx(lga_by_loops(K, y), rel=1e-8)


# ---- Mok et al.'s other metrics and kernel comparisons ------------------------------------------------------

def test_mok_metrics_and_kernel_comparisons():
    K1, K2 = gram(5, 9, 6), gram(5, 9, 7)
    assert ntk_mean(K1) == pytest.approx(sum(map(sum, K1.tolist())) / 25, rel=1e-12)
    assert ntk_trace(K1) == pytest.approx(np.linalg.eigvalsh(K1).sum(), rel=1e-10)
    assert frobenius_norm(K1) == pytest.approx(math.sqrt(sum(v * v for v in K1.ravel())), rel=1e-12)
    m = ntk_metrics(K1, [0, 1, 0, 1, 1])
    assert m.cond.value == pytest.approx(condition_number(K1).value) and not math.isnan(m.lga)
    assert math.isnan(ntk_metrics(K1).lga)
    # L9: kernel-distance axioms, correlation with itself, relative difference with itself
    assert kernel_distance(K1, K1) == pytest.approx(0.0, abs=1e-14)
    assert kernel_distance(K1, 4.0 * K1) == pytest.approx(0.0, abs=1e-14)
    assert 0.0 <= kernel_distance(K1, K2) <= 1.0
    assert kernel_correlation(K1, K1) == pytest.approx(1.0, abs=1e-12)
    assert relative_kernel_difference(K1, K1) == 0.0
    assert kernel_correlation(K1, K2) == pytest.approx(np.corrcoef(K1.ravel(), K2.ravel())[0, 1], rel=1e-12)
    cos = float(np.sum(K1 * K2) / np.sqrt(np.sum(K1 * K1) * np.sum(K2 * K2)))
    assert kernel_cosine(K1, K2) == pytest.approx(cos, rel=1e-12)
    rel = math.sqrt(sum((abs(a - b) / (abs(a) + 1e-4)) ** 2 for a, b in zip(K1.ravel(), K2.ravel())))
    assert relative_kernel_difference(K1, K2) == pytest.approx(rel, rel=1e-12)
    with pytest.raises(NtkcheckError):
        kernel_distance(K1, K2[:4, :4])
