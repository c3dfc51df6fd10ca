"""The finite conv-limit network (empirical/nb201_conv_limit.py) converges to the exact conv kernels
(theory/conv_kernels.py): Monte Carlo mean within standard errors, and error ∝ n^{-1/2} in the channel count.

Both sides are independent code: torch conv2d / avg_pool2d(count_include_pad=False) / autograd NTK (the
``loop`` engine of empirical.ntk) vs the blockwise covariance recursion.  Images are tiny (N = 4, 2×4×4) so
the whole file runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ntkcheck.empirical.nb201_conv_limit import build_conv_limit_net
from ntkcheck.empirical.ntk import empirical_ntk
from ntkcheck.errors import NtkcheckError
from ntkcheck.theory.conv_kernels import conv_cell_kernels

# every op kind, a pooled path and a skip path sharing node 0's sources, conv 1×1 and 3×3
CELL = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
SPEC = {"nb201": CELL, "kernel": "conv", "image": [2, 4, 4]}
# pooled and skip paths from node 0 meet at nodes 2 and 3: the cross terms change the kernel by ~50%
SHARED = "|avg_pool_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|"


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).standard_normal((4, 2, 4, 4))
    return X, torch.from_numpy(X), conv_cell_kernels(SPEC, X)


def test_monte_carlo_nngp_mean_within_standard_errors(data):
    """On a cell whose linear paths share node 0: mean over 24 independent networks of σ_w²/n ⟨Φ(x_i), Φ(x_j)⟩ at n = 256 channels vs the exact NNGP:
    every one of the 10 distinct entries within 4.5 standard errors (Bonferroni over 10 entries at
    family-wise level ≈ 1e-4; the O(1/n) finite-width bias is well below the standard error at this n)."""
    X, Xt, _ = data
    spec = {**SPEC, "nb201": SHARED}
    exact = conv_cell_kernels(spec, X)
    draws = np.stack([build_conv_limit_net(spec, 256, seed=s).nngp(Xt) for s in range(24)])
    mean, se = draws.mean(0), draws.std(0, ddof=1) / np.sqrt(len(draws))
    iu = np.triu_indices(4)
    z = np.abs(mean - exact.nngp)[iu] / se[iu]
    assert z.max() < 4.5, z
    # and the test can fail: the no-cross-term (stax FanInSum) kernel of the same cell is many SEs away
    from ntkcheck.theory.conv_kernels import conv_cells_kernels

    K0, _ = conv_cells_kernels([SHARED], X, cross_terms=False)
    assert (np.abs(mean - K0[0])[iu] / se[iu]).max() > 10


def _slope(widths, errs):
    return float(np.polyfit(np.log(widths), np.log(errs), 1)[0])


def test_empirical_ntk_and_nngp_converge_at_rate_one_over_sqrt_width(data):
    """RMS over seeds of ‖K̂_n − K‖_F/‖K‖_F for n = 16..256 (more seeds at small n, equal cost per width):
    the log-log slope is −1/2 (CLT fluctuations of the finite network; accepted range [−0.8, −0.3])."""
    X, Xt, exact = data
    widths = [16, 32, 64, 128, 256]
    e_ntk, e_nngp = [], []
    for n in widths:
        a, b = [], []
        for s in range(max(4, 512 // n)):
            net = build_conv_limit_net(SPEC, n, seed=1000 + s)
            T = empirical_ntk(net, Xt, engine="loop").numpy()
            a.append(np.linalg.norm(T - exact.ntk) / np.linalg.norm(exact.ntk))
            b.append(np.linalg.norm(net.nngp(Xt) - exact.nngp) / np.linalg.norm(exact.nngp))
        e_ntk.append(np.sqrt(np.mean(np.square(a))))
        e_nngp.append(np.sqrt(np.mean(np.square(b))))
    s_ntk, s_nngp = _slope(widths, e_ntk), _slope(widths, e_nngp)
    assert -0.8 < s_ntk < -0.3, (s_ntk, e_ntk)
    assert -0.8 < s_nngp < -0.3, (s_nngp, e_nngp)


def test_network_definition_and_bad_input():
    net = build_conv_limit_net(SPEC, 8, seed=0)
    # stem, three conv edges (0→1 3×3, 1→2 1×1, 2→3 3×3) and the readout; no biases, no BN
    shapes = sorted(tuple(p.shape) for p in net.parameters())
    assert shapes == sorted([(8, 2, 3, 3), (8, 8, 3, 3), (8, 8, 1, 1), (8, 8, 3, 3), (1, 8)])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    with pytest.raises(NtkcheckError):
        build_conv_limit_net({"nb201": CELL}, 8)
    with pytest.raises(NtkcheckError):
        build_conv_limit_net(SPEC, 0)
