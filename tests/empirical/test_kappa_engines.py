"""κ_N's gradient rows by one vectorised backward pass equal the per-sample backward loop, batch coupling included."""

import math

import pytest
import torch

from ntkcheck.empirical.metrics import logit_sum_ntk
from ntkcheck.empirical.nb201_conv import build_nb201_conv, tenas_ntk_config
from ntkcheck.metrics import Arch, resolve_config
from ntkcheck.metrics.registry import Value
from ntkcheck.metrics.tenas import kappa_value
from ntkcheck.sweep.inputs import natural_images

CELLS = ("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
         "|avg_pool_3x3~0|+|none~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")


def _val(v):
    return v.value if isinstance(v, Value) else v


@pytest.mark.parametrize("mode", ["paper", "code"])
def test_kappa_metric_is_the_same_with_the_batched_and_the_loop_engine(mode):
    inputs = natural_images(48, seed=0)
    cfg = resolve_config("kappa", {"mode": mode, "batch": 6, "repeats": 2})
    for cell in CELLS:
        new = _val(kappa_value(Arch(cell, "nb201"), inputs, 0, cfg, engine="batched"))
        old = _val(kappa_value(Arch(cell, "nb201"), inputs, 0, cfg, engine="loop"))
        assert math.isfinite(old)
        # the same gradients summed in another order: float64 (paper) to 1e-9, the fp32 network and fp32
        # eigenvalues of the code mode to 1e-4 relative
        assert new == pytest.approx(old, rel=1e-9 if mode == "paper" else 1e-4)


def test_batched_kernel_keeps_the_batch_coupling_of_train_mode_batch_norm():
    net = build_nb201_conv(CELLS[0], tenas_ntk_config(), seed=1, init="kaiming_normal_fan_out", dtype=torch.float64)
    X = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    loop = logit_sum_ntk(net, X, engine="loop")
    batched = logit_sum_ntk(net, X, engine="batched")
    assert torch.allclose(batched, loop, rtol=1e-11, atol=1e-11 * float(loop.abs().max()))
    # the batch statistics matter: the first two samples forwarded as a batch of their own give another kernel
    # block, so the agreement above is the coupled kernel's (the loop engine forwards the whole batch once)
    from ntkcheck.empirical.ntk import empirical_ntk

    net.train()
    uncoupled = empirical_ntk(net, X[:2], params="weight", output="sum_logits", engine="loop", chunk_size=2)
    assert not torch.allclose(uncoupled, loop[:2, :2], rtol=1e-3)


def test_batched_engine_equals_the_loop_for_every_output_contraction_and_in_chunks():
    from torch import nn

    from ntkcheck.empirical.ntk import empirical_ntk

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3)).double().train()
    X = torch.randn(9, 5, dtype=torch.float64)
    for output in ("full", "trace", "mean", "sum_logits"):
        for chunk in (None, 3):
            ref = empirical_ntk(net, X, output=output, engine="loop", chunk_size=chunk)
            got = empirical_ntk(net, X, output=output, engine="batched", chunk_size=chunk)
            # float64, the same products summed in another order: 1e-12 of the largest entry
            assert torch.allclose(got, ref, rtol=0, atol=1e-12 * float(ref.abs().max())), (output, chunk)
