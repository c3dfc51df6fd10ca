"""Closed-form NB201 sizes (ntkcheck.metrics.size) against torch counts and the NAS-Bench-201 API's published costs."""

import itertools

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.metrics import Arch, config_hash, evaluate, resolve_config
from ntkcheck.metrics.size import CIFAR10, CIFAR100, IMAGENET16_120, NB201Macro, nb201_size
from ntkcheck.spec import NB201_OPS, nb201_string
from ntkcheck.sweep.inputs import natural_images

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NO_CONV = "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|none~0|skip_connect~1|avg_pool_3x3~2|"
ALL_CELLS = [nb201_string(o) for o in itertools.product(NB201_OPS, repeat=6)]


@pytest.mark.parametrize("macro, cell, flops, params_mb", [
    # NAS-Bench-201 API get_cost_info, as quoted by users of the benchmark (e.g. the ranges printed in
    # EvoXBench's NB201 problem bounds and MO-HPOBench's README): max = all-conv3x3 cell, min = no conv op
    (CIFAR10, ALL_CONV3, 220.11969, 1.531546),
    (CIFAR10, NO_CONV, 7.78305, 0.073306),
    (CIFAR100, ALL_CONV3, 220.12554, 1.537396),
    (CIFAR100, NO_CONV, 7.78890, 0.079156),
    (IMAGENET16_120, ALL_CONV3, 55.03756, 1.538696),
    (IMAGENET16_120, NO_CONV, 1.95340, 0.080456),
])
def test_published_nb201_api_costs_are_reproduced(macro, cell, flops, params_mb):
    s = nb201_size([cell], macro)
    # the API prints 5-6 decimals of an exact rational; the closed form is exact integers / 1e6
    assert s.flops[0] == pytest.approx(flops, abs=5e-6)
    assert s.params_mb[0] == pytest.approx(params_mb, abs=5e-7)


def test_published_extremes_over_the_whole_space():
    s = nb201_size(ALL_CELLS)
    assert s.flops.max() == pytest.approx(220.11969, abs=5e-6) and s.flops.min() == pytest.approx(7.78305, abs=5e-6)
    assert s.params_mb.max() == pytest.approx(1.531546, abs=5e-7)
    assert s.params_mb.min() == pytest.approx(0.073306, abs=5e-7)
    assert np.array_equal(s.conv_ops, [sum(o.startswith("nor_conv") for o in ops)
                                       for ops in itertools.product(NB201_OPS, repeat=6)])


def test_closed_form_equals_torch_on_a_seeded_sample_of_cells():
    """Every count is exact (integers): params = Σ numel, flops_torch = FlopCounterMode's total, and the NB201 API
    rule re-counted by forward hooks (conv k²·C_in·C_out (+C_out bias) per output position, linear in·out + out)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv

    torch.set_num_threads(1)
    idx = np.random.default_rng(2026).choice(len(ALL_CELLS), size=50, replace=False)
    cells = [ALL_CELLS[i] for i in sorted(idx)] + [ALL_CONV3, NO_CONV]
    closed = nb201_size(cells)
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            per = m.kernel_size[0] * m.kernel_size[1] * m.in_channels * m.out_channels // m.groups
            macs[0] += (per + (m.out_channels if m.bias is not None else 0)) * out.shape[2] * out.shape[3]
        else:
            macs[0] += m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)

    for i, c in enumerate(cells):
        net = build_nb201_conv(c, NB201ConvConfig(C=16, N=5, num_classes=10), seed=0, init="default",
                               dtype=torch.float32).eval()
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(hook)
        macs[0] = 0
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            net(torch.zeros(1, 3, 32, 32))
        assert sum(p.numel() for p in net.parameters()) == closed.params[i], c
        assert counter.get_total_flops() == closed.flops_torch[i], c
        assert macs[0] == closed.macs[i], c


def test_other_skeletons_follow_the_same_rule():
    import torch

    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv

    net = build_nb201_conv(ALL_CONV3, NB201ConvConfig(C=4, N=2, num_classes=7), seed=0, init="default",
                           dtype=torch.float32)
    assert nb201_size([ALL_CONV3], NB201Macro(C=4, N=2, num_classes=7)).params[0] == \
        sum(p.numel() for p in net.parameters())
    with pytest.raises(NtkcheckError, match="multiple of 4"):
        NB201Macro(input_size=30)


def test_registered_size_metrics_and_their_hash_ignores_the_images():
    small = natural_images(4, seed=0)
    a = Arch(ALL_CONV3, "nb201")
    val = {n: evaluate(n, a, small, 0, resolve_config(n)) for n in ("params", "params_mb", "flops", "flops_torch",
                                                                     "conv_ops")}
    assert all(r.status == "ok" for r in val.values())
    assert val["params"].value == 1531546 and val["params_mb"].value == pytest.approx(1.531546, abs=1e-12)
    assert val["flops"].value == pytest.approx(220.11969, abs=1e-9) and val["conv_ops"].value == 6
    other = natural_images(8, seed=1).fingerprint
    for n in ("params", "flops", "dbar", "mbar", "conv_ops"):
        assert config_hash(n, resolve_config(n), small.fingerprint, "nb201") == \
            config_hash(n, resolve_config(n), other, "nb201")
    assert config_hash("naswot", resolve_config("naswot"), small.fingerprint, "nb201") != \
        config_hash("naswot", resolve_config("naswot"), other, "nb201")


def test_fc_sizes_count_the_torch_network():
    import json

    from torch import nn

    from ntkcheck.empirical.networks import build_network
    from ntkcheck.spec import parse_spec
    from ntkcheck.sweep.engine import resolve_space

    key = resolve_space("fc:L=2,acts=relu").keys[0]
    a, small = Arch(key, "fc"), natural_images(4, seed=0)
    net = build_network(parse_spec(json.loads(key)), 192, 256, out_dim=10, seed=0)
    lin = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert evaluate("params", a, small, 0, resolve_config("params")).value == sum(p.numel() for p in net.parameters())
    want = sum(m.in_features * m.out_features + (m.out_features if m.bias is not None else 0) for m in lin) / 1e6
    assert evaluate("flops", a, small, 0, resolve_config("flops")).value == pytest.approx(want, rel=1e-15)
    ft = evaluate("flops_torch", a, small, 0, resolve_config("flops_torch"))
    assert ft.status == "ok" and ft.value >= 2 * sum(m.in_features * m.out_features for m in lin)
