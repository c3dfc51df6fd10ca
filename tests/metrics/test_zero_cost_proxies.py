"""The zero-cost proxies: hand-computed values on one-layer networks, the degenerate cell, determinism, data use."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from ntkcheck.empirical import zero_cost as zc
from ntkcheck.metrics import Arch, evaluate, resolve_config
from ntkcheck.sweep.inputs import natural_images

PROXIES = ("grad_norm", "snip", "plain", "grasp", "fisher", "jacov", "epe_nas", "l2_norm", "synflow", "zen", "nwot",
           "zico", "meco")
TINY = {"C": 4, "N": 1, "batch": 16}
CELLS = ("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
         "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|")
DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def inputs():
    return natural_images(64, seed=0)


def _cfg(name):
    base = resolve_config(name)
    return resolve_config(name, {k: v for k, v in TINY.items() if k in base})


def _linear(seed=0, d=5, k=3):
    torch.manual_seed(seed)
    lin = nn.Linear(d, k).double()
    X = torch.randn(8, d, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return lin, X, y


def _ce_weight_grad(W, b, X, y):
    """∂/∂W of the mean cross-entropy of softmax(X Wᵀ + b), by hand: (1/N) Σ_n (p_n − e_{y_n}) x_nᵀ."""
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return P.T @ X / len(y)


def test_gradient_proxies_equal_hand_computed_values_on_one_linear_layer():
    lin, X, y = _linear()
    W, G = zc.loss_weight_grads(lin, X, y)
    Wn, bn = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    Gh = _ce_weight_grad(Wn, bn, X.numpy(), y.numpy())
    # float64 throughout: agreement to 1e-12 relative (a few roundings of O(1) numbers)
    assert zc.grad_norm(W, G) == pytest.approx(np.linalg.norm(Gh), rel=1e-12)
    assert zc.snip(W, G) == pytest.approx(np.abs(Wn * Gh).sum(), rel=1e-12)
    assert zc.plain(W, G) == pytest.approx((Wn * Gh).sum(), rel=1e-12)


def test_synflow_of_one_linear_layer_is_the_sum_of_absolute_weights():
    # R = Σ_c (Σ_j |W_cj| + |b_c|) on the all-ones input, so ∂R/∂W_cj = 1 and S = Σ |W|
    lin, _, _ = _linear(seed=3)
    assert zc.synflow(lin, (5,)) == pytest.approx(float(lin.weight.detach().abs().sum()), rel=1e-12)


def test_zico_of_one_linear_layer_equals_the_formula_on_hand_gradients():
    lin, X, y = _linear(seed=4)
    Wn, bn = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    g1 = _ce_weight_grad(Wn, bn, X.numpy()[:4], y.numpy()[:4]).ravel()
    g2 = _ce_weight_grad(Wn, bn, X.numpy()[4:], y.numpy()[4:]).ravel()
    mean_abs, sd = (np.abs(g1) + np.abs(g2)) / 2, np.abs(g1 - g2) / 2  # population std of two numbers
    nz = sd > 0
    assert zc.zico(lin, X, y, splits=2) == pytest.approx(math.log(np.sum(mean_abs[nz] / sd[nz])), rel=1e-9)


def test_epe_nas_of_one_class_is_the_absolute_log_correlation_sum():
    J = np.random.default_rng(0).normal(size=(4, 7))
    R = np.corrcoef(J)
    assert zc.epe_nas(J, np.zeros(4, int)) == pytest.approx(abs(np.log(np.abs(R) + 1e-5).sum()), rel=1e-12)
    # a class with a single sample contributes log(1 + k)
    assert zc.epe_nas(J[:1], np.zeros(1, int)) == pytest.approx(math.log(1 + 1e-5), rel=1e-12)


def test_jacov_is_minus_sum_of_log_and_inverse_of_shifted_correlation_eigenvalues():
    # uncorrelated rows: R = I, every eigenvalue 1, score = −N (log(1+k) + 1/(1+k)) with N = 2
    J = np.array([[1.0, -1, 0, 0], [0, 0, 1, -1]])  # two orthogonal zero-mean rows: R = I₂
    assert zc.jacov(J) == pytest.approx(-2 * (math.log(1 + 1e-5) + 1 / (1 + 1e-5)), rel=1e-12)
    assert math.isnan(zc.jacov(np.ones((3, 4))))  # constant rows: correlation undefined


@pytest.mark.parametrize("name", PROXIES)
def test_every_proxy_is_finite_and_deterministic_on_two_cells(inputs, name):
    cfg = _cfg(name)
    for cell in CELLS:
        a = evaluate(name, Arch(cell, "nb201"), inputs, 0, cfg)
        b = evaluate(name, Arch(cell, "nb201"), inputs, 0, cfg)
        assert a.status == "ok" and math.isfinite(a.value), (cell, a)
        assert a.value == b.value


def test_the_cell_of_none_ops_gives_the_documented_degenerate_values(inputs):
    # the output is the classifier's bias whatever the input and the other weights
    got = {n: evaluate(n, Arch(DEAD, "nb201"), inputs, 0, _cfg(n)) for n in PROXIES}
    for n in ("grad_norm", "snip", "plain", "grasp", "synflow", "zico"):
        assert got[n].status == "ok" and got[n].value == 0.0, (n, got[n])
    # fisher keeps the classifier's term: logits = b for every sample, ∂L/∂logit_nk = (p_k − [y_n = k])/N
    from ntkcheck.metrics.networks import _conv_net

    cfg = _cfg("fisher")
    b = _conv_net(Arch(DEAD, "nb201"), cfg, 0, "default", dtype="float32").classifier.bias.detach().double().numpy()
    y = inputs.labels[:cfg["batch"]]
    p = np.exp(b - b.max()) / np.exp(b - b.max()).sum()
    g = (p[None, :] - np.eye(10)[y]) / len(y) * b[None, :]
    # float32 network: 1e-5 relative
    assert got["fisher"].value == pytest.approx(0.5 * (g ** 2).mean(0).sum() * 4 * cfg["C"], rel=1e-5)
    for n in ("jacov", "epe_nas", "zen", "nwot"):
        assert got[n].status == "singular" and got[n].value == -math.inf, (n, got[n])


def test_data_free_proxies_ignore_the_images_and_data_proxies_do_not(inputs):
    other = natural_images(64, seed=1)
    arch = CELLS[0]
    for n in ("synflow", "l2_norm", "zen"):
        assert evaluate(n, Arch(arch, "nb201"), inputs, 0, _cfg(n)).value == \
            evaluate(n, Arch(arch, "nb201"), other, 0, _cfg(n)).value
    for n in ("grad_norm", "jacov", "nwot", "meco"):
        assert evaluate(n, Arch(arch, "nb201"), inputs, 0, _cfg(n)).value != \
            evaluate(n, Arch(arch, "nb201"), other, 0, _cfg(n)).value


def test_nwot_is_naswot_on_a_batch_of_64(inputs):
    cfg = {"C": 4, "N": 1, "batch": 64}
    a = evaluate("nwot", Arch(CELLS[1], "nb201"), inputs, 0, resolve_config("nwot", cfg))
    b = evaluate("naswot", Arch(CELLS[1], "nb201"), inputs, 0, resolve_config("naswot", cfg))
    assert a.value == b.value and resolve_config("nwot")["batch"] == 64
