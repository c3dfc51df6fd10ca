"""Tests of empirical/networks.py: the torch network is exactly the contract's DAG.

Expected values come from a second method: forward passes written out by hand from the contract's
formulas (design card §2) with the network's own weights, numpy activations from theory/activations.py,
and the gradient identity ∂f/∂W_std = ∂f/∂W_ntk / m_W between the two parametrizations.
Tolerances: 1e-12 relative for float64 forward comparisons (a few roundings of O(1) numbers per entry);
statistical checks use 6 standard errors (false-alarm probability < 1e-8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ntkcheck.empirical.networks import (ScaledLinear, build_network, register_torch_activation,
                                         torch_activation)
from ntkcheck.empirical.ntk import empirical_ntk
from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import chen_dag_spec, fc_spec, nb201_spec, parse_spec
from ntkcheck.theory.activations import get_activation, register_activation, unregister_activation


DAG = parse_spec({"nodes": 4, "edges": [[0, 1, "dense:relu"], [0, 2, "skip"], [1, 2, "dense:tanh"],
                                        [0, 3, "zero"], [1, 3, "skip:0.5"], [2, 3, "dense:gelu"]],
                  "readout": "erf", "sigma_w2": 1.7, "sigma_b2": 0.3, "merge": "mean"})


def _rng_X(N=5, d=3, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((N, d)))


@pytest.mark.parametrize("name", ["relu", "leaky_relu:0.2", "leaky_relu", "tanh", "sigmoid", "erf", "swish", "silu",
                                  "gelu", "elu", "elu:0.5", "softplus", "identity"])
def test_torch_activation_matches_numpy_form(name):
    # independent: theory's numpy φ (scipy special functions) at points incl. large |x| (softplus cut-off)
    x = np.concatenate([np.linspace(-30, 30, 241), [-1e-3, 0.0, 1e-3]])
    t = torch_activation(name)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(t, get_activation(name).fn(x), rtol=1e-13, atol=1e-15)


def test_user_activation_needs_torch_form():
    register_activation("cubeuser", "x**3")
    try:
        with pytest.raises(NtkcheckError, match="no torch form"):
            build_network(fc_spec(["cubeuser"]), 3, 4, device="cpu")
        register_torch_activation("cubeuser", lambda t: t ** 3, overwrite=True)
        net = build_network(fc_spec(["cubeuser"]), 3, 4, device="cpu")
        assert net(_rng_X()).shape == (5, 1)
    finally:
        unregister_activation("cubeuser")


def test_fc_forward_by_hand():
    spec = fc_spec(["relu", "tanh", "sigmoid"], sigma_w2=1.5, sigma_b2=0.2)
    net = build_network(spec, 3, 7, seed=4, device="cpu")
    X = _rng_X()
    sw, sb = math.sqrt(1.5), math.sqrt(0.2)
    P = dict(net.named_parameters())
    h = sw / math.sqrt(3) * X @ P["stem.weight"].T + sb * P["stem.bias"]
    h = sw / math.sqrt(7) * torch.relu(h) @ P["edge_layers.e0_0_1.weight"].T + sb * P["edge_layers.e0_0_1.bias"]
    h = sw / math.sqrt(7) * torch.tanh(h) @ P["edge_layers.e1_1_2.weight"].T + sb * P["edge_layers.e1_1_2.bias"]
    f = sw / math.sqrt(7) * torch.sigmoid(h) @ P["classifier.weight"].T + sb * P["classifier.bias"]
    torch.testing.assert_close(net(X), f, rtol=1e-12, atol=1e-14)


def test_dag_forward_by_hand_mean_merge_skip_scale_zero():
    net = build_network(DAG, 3, 6, seed=2, device="cpu")
    X = _rng_X()
    sw, sb = math.sqrt(1.7), math.sqrt(0.3)
    P = dict(net.named_parameters())

    def lin(name, a):
        return sw / math.sqrt(a.shape[1]) * a @ P[name + ".weight"].T + sb * P[name + ".bias"]

    n0 = lin("stem", X)
    n1 = lin("edge_layers.e0_0_1", torch.relu(n0))
    n2 = (n0 + lin("edge_layers.e2_1_2", torch.tanh(n1))) / 2          # mean over 2 non-zero edges
    gelu = lambda t: t * 0.5 * (1 + torch.erf(t / math.sqrt(2)))       # noqa: E731
    n3 = (0.5 * n1 + lin("edge_layers.e5_2_3", gelu(n2))) / 2          # the zero edge is not counted
    f = lin("classifier", torch.erf(n3))
    nodes = net.nodes(X)
    for got, want in zip(nodes, [n0, n1, n2, n3]):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(net(X), f, rtol=1e-12, atol=1e-14)


def test_linact_raw_input_chen_dag_by_hand():
    # 2_21_112: X1 = L(X0); X2 = L(X0) + X1; X3 = X0 + X1 + L(X2); node 0 = √d x (per-coordinate Gram XXᵀ)
    d = 5
    net = build_network(chen_dag_spec("2_21_112"), d, d, seed=1, device="cpu")
    X = _rng_X(4, d)
    P = dict(net.named_parameters())
    L = lambda name, a: torch.relu(math.sqrt(2.0 / a.shape[1]) * a @ P[name + ".weight"].T)  # noqa: E731
    x0 = math.sqrt(d) * X
    x1 = L("edge_layers.e0_0_1", x0)
    x2 = L("edge_layers.e1_0_2", x0) + x1
    x3 = x0 + x1 + L("edge_layers.e5_2_3", x2)
    torch.testing.assert_close(net(X), x3, rtol=1e-12, atol=1e-14)
    assert [n for n, _ in net.named_parameters()] == ["edge_layers.e0_0_1.weight", "edge_layers.e1_0_2.weight",
                                                      "edge_layers.e5_2_3.weight"]
    # per-coordinate NNGP estimate is (1/n)<X3, X3'>
    torch.testing.assert_close(net.nngp(X), x3 @ x3.T / d)


def test_raw_input_width_conflict_is_an_error():
    with pytest.raises(NtkcheckError, match="width = d"):
        build_network(chen_dag_spec("2_21_112"), 5, 8)
    # without a skip from the raw input, any width works
    net = build_network(chen_dag_spec("2_22_222"), 5, 8, device="cpu")
    assert net(_rng_X(3, 5)).shape == (3, 8)


def test_parameter_names_for_nas_selections():
    net = build_network(DAG, 3, 4, out_dim=10, device="cpu")
    names = [n for n, _ in net.named_parameters()]
    assert "classifier.weight" in names and "classifier.bias" in names and "stem.weight" in names
    assert net(_rng_X()).shape == (5, 10)
    # bias parameters exist only when sigma_b2 > 0 unless asked for
    assert all("bias" not in n for n, _ in build_network(fc_spec(["relu"]), 3, 4).named_parameters())
    assert any("bias" in n for n, _ in build_network(fc_spec(["relu"]), 3, 4, bias=True).named_parameters())


def test_seeding_and_init_statistics():
    a = build_network(DAG, 3, 64, seed=7, device="cpu")
    b = build_network(DAG, 3, 64, seed=7, device="cpu")
    c = build_network(DAG, 3, 64, seed=8, device="cpu")
    X = _rng_X()
    assert torch.equal(a(X), b(X))
    assert not torch.allclose(a(X), c(X))
    w = torch.cat([p.reshape(-1) for p in a.parameters()])
    M = w.numel()
    # NTK parametrization: all trainable entries iid N(0, 1); 6 standard errors for mean and variance
    assert abs(w.mean().item()) < 6 / math.sqrt(M)
    assert abs(w.var().item() - 1) < 6 * math.sqrt(2 / M)


def test_standard_parametrization_same_function_rescaled_gradients():
    spec = fc_spec(["relu", "tanh"], sigma_w2=2.0, sigma_b2=0.5)
    X = _rng_X(4, 3)
    ntk_net = build_network(spec, 3, 9, seed=5, device="cpu")
    std_net = build_network(spec, 3, 9, seed=5, device="cpu", parametrization="standard")
    # the same standard normals, scaled in the init instead of the forward: the same function
    torch.testing.assert_close(std_net(X), ntk_net(X), rtol=1e-12, atol=1e-14)
    assert all(m.w_mult == 1.0 and m.b_mult == 1.0 for m in std_net.modules() if isinstance(m, ScaledLinear))
    # chain rule: ∂f/∂W_std = ∂f/∂W_ntk / m_W, so each parameter's kernel term scales by 1/m²
    for name, p in ntk_net.named_parameters():
        mod = ntk_net.get_submodule(name.rsplit(".", 1)[0])
        m = mod.w_mult if name.endswith("weight") else mod.b_mult
        T_ntk = empirical_ntk(ntk_net, X, params=lambda n, q, name=name: n == name, engine="jacobian")
        T_std = empirical_ntk(std_net, X, params=lambda n, q, name=name: n == name, engine="jacobian")
        torch.testing.assert_close(T_std, T_ntk / m ** 2, rtol=1e-10, atol=0)


def test_float32_and_device_options():
    net = build_network(fc_spec(["relu", "relu"]), 3, 8, dtype="float32", device="cpu")
    assert next(net.parameters()).dtype == torch.float32
    out = net(_rng_X().float())
    assert out.dtype == torch.float32
    if not torch.cuda.is_available():
        with pytest.raises(NtkcheckError, match="cuda"):
            build_network(fc_spec(["relu"]), 3, 8, device="cuda")
    else:  # pragma: no cover - exercised on a GPU machine
        net = build_network(fc_spec(["relu"]), 3, 8, device="cuda")
        assert next(net.parameters()).is_cuda
    auto = build_network(fc_spec(["relu"]), 3, 8)
    assert next(auto.parameters()).device.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("kw,match", [({"width": 0}, "width"), ({"width": -3}, "width"), ({"d_in": 0}, "d_in"),
                                      ({"out_dim": 0}, "out_dim"), ({"parametrization": "mup"}, "parametrization"),
                                      ({"device": "tpu"}, "device"), ({"dtype": "float16"}, "dtype"),
                                      ({"width": 2.5}, "width")])
def test_bad_arguments(kw, match):
    args = {"d_in": 3, "width": 4, **kw}
    d_in, width = args.pop("d_in"), args.pop("width")
    with pytest.raises(NtkcheckError, match=match):
        build_network(fc_spec(["relu"]), d_in, width, **args)


def test_wrong_input_shape_is_an_error():
    net = build_network(fc_spec(["relu"]), 3, 4, device="cpu")
    with pytest.raises(NtkcheckError, match="shape"):
        net(torch.zeros(2, 5))


def test_degenerate_nb201_cell_outputs_the_readout_of_zero():
    # no input→output path: node 3 is identically 0; f = σ_w/√n v·relu(0) = 0
    spec = nb201_spec("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|")
    assert spec.is_degenerate
    net = build_network(spec, 3, 4, device="cpu")
    assert torch.count_nonzero(net(_rng_X())) == 0


def test_torch_default_parametrization_matches_nn_linear_init():
    """'torch_default' draws like nn.Linear.reset_parameters: W, b ~ U(−1/√fan_in, 1/√fan_in), biases present.
    Compared with an actual nn.Linear (second method): same support and the same variance 1/(3·fan_in)."""
    import torch
    from torch import nn

    fan_in, width = 50, 400
    net = build_network(fc_spec(["relu", "relu"]), fan_in, width, parametrization="torch_default", seed=0)
    W = net.stem.weight.detach().double()
    ref = nn.Linear(fan_in, width, dtype=torch.float64).weight.detach()
    bound = 1 / np.sqrt(fan_in)
    for w in (W, ref):
        assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.99 * bound
        # variance of U(−b, b) is b²/3; 20,000 draws: relative s.e. ≈ 0.9%, tolerance 5%
        assert abs(float(w.var()) - bound ** 2 / 3) <= 0.05 * bound ** 2 / 3
    assert net.stem.bias is not None
    assert float(net.stem.bias.abs().max()) <= bound
    # it is used as drawn: no σ_w/√fan_in multiplier in the forward pass
    X = torch.randn(3, fan_in, dtype=torch.float64)
    np.testing.assert_allclose(net.stem(X).detach().numpy(), (X @ W.T + net.stem.bias).detach().numpy(), atol=1e-12)
