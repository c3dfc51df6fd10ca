"""Tests of the convolutional NB201 network (empirical/nb201_conv.py).

Independent second methods: op semantics against hand-written tensor formulas (average pooling at a corner
= mean of 4 pixels, identity cells, the equal-weight supernet average); the NTK against a Jacobian computed
with ``torch.func.jacrev`` of the *batched* function (a different autodiff path from the per-sample backward
loop of the code under test); reproducibility against a second build.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ntkcheck.empirical.metrics import logit_sum_ntk
from ntkcheck.empirical.nb201_conv import (CANDIDATE_OPS, NB201ConvConfig, alive_from_cell, build_nb201_conv,
                                           cell_from_alive, reinitialize, tenas_ntk_config, thin_config)
from ntkcheck.errors import NtkcheckError
from torch_reference import jac_kernel

CELL = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"
SMALL = tenas_ntk_config(C=2, input_size=8, bn_track_running_stats=False)






def x_img(n=4, c=3, s=8, seed=0):
    return torch.randn(n, c, s, s, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_output_shapes_and_channels():
    net = build_nb201_conv(CELL, SMALL, seed=0, device="cpu")
    assert net(x_img()).shape == (4, 10)
    assert net.classifier.in_features == 4 * 2  # C, 2C, 4C
    assert net.cell_string == CELL
    thin = build_nb201_conv(CELL, thin_config(), seed=0, device="cpu")
    assert thin(x_img(5, 1, 3)).shape == (5, 10)
    assert thin.classifier.in_features == 1 and isinstance(thin.stem, nn.Identity)
    deep = build_nb201_conv(None, NB201ConvConfig(C=2, N=2, input_size=8, num_classes=3), seed=0, device="cpu")
    assert deep(x_img()).shape == (4, 3) and len(deep.search_cells) == 6


def test_seeded_reproducibility_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = build_nb201_conv(CELL, SMALL, seed=7, device="cpu")
    b = build_nb201_conv(CELL, SMALL, seed=7, device="cpu")
    c = build_nb201_conv(CELL, SMALL, seed=8, device="cpu")
    assert torch.equal(state, torch.get_rng_state())
    for (n, p), (_, q), (_, r) in zip(a.state_dict().items(), b.state_dict().items(), c.state_dict().items()):
        assert torch.equal(p, q), n
    assert any(not torch.equal(p, r) for (n, p), (_, r) in zip(a.named_parameters(), c.named_parameters())
               if "conv" in n or "stem.0" in n)
    x = x_img()
    assert torch.equal(a(x), b(x))
    # reinitialize(seed) on another net reproduces a fresh build with that seed
    reinitialize(c, seed=7, init="kaiming_normal")
    for (n, p), (_, q) in zip(a.state_dict().items(), c.state_dict().items()):
        assert torch.equal(p, q), n


def test_kaiming_normal_init_variance():
    # Kaiming-normal fan_in: Var W = 2/fan_in.  A 3x3 conv 64->64 has 36864 weights: the sample variance
    # has relative std sqrt(2/36864) ≈ 0.0074, so rtol 0.05 is ~7 sigma.
    cfg = NB201ConvConfig(C=64, N=1, stages=1, input_size=4)
    net = build_nb201_conv(None, cfg, candidate_ops=("nor_conv_3x3",), seed=1, device="cpu")
    w = net.search_cells[0].edges[0]["nor_conv_3x3"].op[1].weight
    assert w.var().item() == pytest.approx(2 / (64 * 9), rel=0.05)
    bn = net.search_cells[0].edges[0]["nor_conv_3x3"].op[2]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_all_none_cell_gives_constant_output_and_zero_gradient():
    net = build_nb201_conv("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                           tenas_ntk_config(C=2, input_size=8, stages=1), seed=0, device="cpu")
    x = x_img(5)
    net.train()
    out = net(x)
    # the cell outputs 0, so everything after it is input-independent: all rows equal (exactly)
    assert torch.equal(out, out[:1].expand_as(out))
    out.sum().backward()
    assert torch.count_nonzero(net.stem[0].weight.grad) == 0


def test_skip_and_avgpool_semantics():
    cfg = tenas_ntk_config(C=2, input_size=8, stages=1)
    x = x_img(3)
    skip = build_nb201_conv("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", cfg, seed=0, device="cpu")
    skip.eval()
    h = skip.stem(x)
    assert torch.allclose(skip.search_cells[0](h), h, rtol=0, atol=0)
    pool = build_nb201_conv("|none~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|", cfg, seed=0, device="cpu")
    y = pool.search_cells[0](h)
    # corner pixel: mean of the 2x2 block (count_include_pad=False); interior: mean of the 3x3 block
    assert torch.allclose(y[:, :, 0, 0], h[:, :, :2, :2].mean((2, 3)), rtol=1e-14, atol=1e-14)
    assert torch.allclose(y[:, :, 3, 4], h[:, :, 2:5, 3:6].mean((2, 3)), rtol=1e-14, atol=1e-14)
    # a chain 0 -> 1 -> 2 -> 3 of skips is the identity too
    chain = build_nb201_conv("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|", cfg,
                             seed=0, device="cpu")
    assert torch.equal(chain.search_cells[0](h), h)


def test_conv_op_is_relu_conv_bn():
    cfg = tenas_ntk_config(C=2, input_size=8, stages=1)
    net = build_nb201_conv("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|", cfg, seed=3, device="cpu")
    net.eval()
    h = net.stem(x_img(2))
    op = net.search_cells[0].edges[3]["nor_conv_3x3"].op
    conv, bn = op[1], op[2]
    z = torch.nn.functional.conv2d(torch.clamp(h, min=0), conv.weight, padding=1)
    ref = (z - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps)
    ref = ref * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]
    assert torch.allclose(net.search_cells[0](h), ref, rtol=1e-12, atol=1e-12)


def test_supernet_edge_is_equal_weight_average():
    cfg = tenas_ntk_config(C=2, input_size=8, stages=1)
    ops = ("none", "skip_connect", "avg_pool_3x3")
    alive = [("none",)] * 3 + [("skip_connect", "avg_pool_3x3"), ("none",), ("none",)]
    net = build_nb201_conv(alive, cfg, candidate_ops=ops, seed=0, device="cpu")
    h = net.stem(x_img(2))
    pooled = torch.nn.functional.avg_pool2d(h, 3, 1, 1, count_include_pad=False)
    assert torch.allclose(net.search_cells[0](h), 0.5 * (h + pooled), rtol=1e-14, atol=1e-14)
    with pytest.raises(NtkcheckError):
        net.cell_string  # noqa: B018 - not single-path
    net.set_alive(alive_from_cell("|none~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|"))
    assert torch.allclose(net.search_cells[0](h), pooled, rtol=1e-14, atol=1e-14)


def test_ntk_symmetric_psd_and_matches_jacrev():
    net = build_nb201_conv(CELL, SMALL, seed=2, device="cpu")
    X = x_img(5)
    K = logit_sum_ntk(net, X, params="weight", bn_train_mode=True).numpy()
    K_ref = jac_kernel(net, X, lambda n: "weight" in n)
    # two autodiff paths in float64: agreement to 1e-10 relative to the largest entry
    assert np.max(np.abs(K - K_ref)) <= 1e-10 * np.max(np.abs(K_ref))
    assert np.array_equal(K, K.T) or np.max(np.abs(K - K.T)) <= 1e-12 * np.max(np.abs(K))
    ev = np.linalg.eigvalsh(K_ref)
    assert ev[0] >= -1e-10 * ev[-1]  # PSD up to float64 round-off (T1)


def test_bad_inputs():
    with pytest.raises(NtkcheckError):
        build_nb201_conv("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", SMALL)
    with pytest.raises(NtkcheckError):
        NB201ConvConfig(C=2, in_channels=3, stem=False)
    with pytest.raises(NtkcheckError):
        NB201ConvConfig(C=0)
    with pytest.raises(NtkcheckError):
        build_nb201_conv(None, SMALL, candidate_ops=("skip_connect", "bogus"))
    with pytest.raises(NtkcheckError):
        build_nb201_conv(CELL, SMALL, init="xavier")
    net = build_nb201_conv(None, SMALL, device="cpu")
    with pytest.raises(NtkcheckError):
        net.set_alive([()] * 6)
    with pytest.raises(NtkcheckError):
        net.set_alive([("none",)] * 6)  # 'none' is not a candidate of the default supernet
    with pytest.raises(NtkcheckError):
        net(torch.zeros(2, 1, 8, 8, dtype=torch.float64))
    assert cell_from_alive(alive_from_cell(CELL)) == CELL
    assert set(net.alive[0]) == set(CANDIDATE_OPS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    a = build_nb201_conv(CELL, SMALL, seed=0, device="cpu")
    b = build_nb201_conv(CELL, SMALL, seed=0, device="cuda")
    a.eval(), b.eval()
    x = x_img()
    assert torch.allclose(a(x), b(x.cuda()).cpu(), rtol=1e-10, atol=1e-10)
