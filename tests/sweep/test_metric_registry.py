"""The metric registry: names, configuration hashing, error rows, and values checked against independent code."""

import math

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.sweep.inputs import natural_images
from ntkcheck.metrics import (METRICS, Arch, config_hash, evaluate, get_metric, register, resolve_config)

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def inputs():
    return natural_images(160, seed=0)


def test_issue_names_are_registered_with_one_line_docs():
    for name in ("kappa", "regions", "naswot", "params", "flops", "lga", "ntk_lambda_min", "nngp_lambda_min",
                 "empirical_lambda_min", "eigennas", "dbar", "mbar"):
        m = get_metric(name)
        assert m.doc and "\n" not in m.doc
    with pytest.raises(ValueError):
        register("dbar", "again")(lambda *a: 0.0)
    with pytest.raises(NtkcheckError, match="unknown metric"):
        get_metric("accuracy")


def test_config_resolution_and_hash(inputs):
    assert resolve_config("kappa")["batch"] == 32 and resolve_config("kappa", {"mode": "code"})["batch"] == 72
    assert resolve_config("regions", {"mode": "code"})["samples"] == 3000
    with pytest.raises(NtkcheckError, match="no setting"):
        resolve_config("kappa", {"width": 3})
    with pytest.raises(NtkcheckError, match="not a valid int"):
        resolve_config("kappa", {"repeats": "two"})
    with pytest.raises(NtkcheckError, match="mode"):
        resolve_config("kappa", {"mode": "both"})
    base = config_hash("kappa", resolve_config("kappa"), inputs.fingerprint, "nb201")
    assert base == config_hash("kappa", resolve_config("kappa", {"batch": "32"}), inputs.fingerprint, "nb201")
    assert base != config_hash("kappa", resolve_config("kappa", {"mode": "code"}), inputs.fingerprint, "nb201")
    assert base != config_hash("kappa", resolve_config("kappa"), natural_images(160, seed=1).fingerprint, "nb201")


def test_naswot_equals_slogdet_of_hamming_kernel_from_the_pattern_matrix(inputs):
    """Independent route: the full binary pattern matrix of every ReLU (activation_patterns) → K → slogdet."""
    import torch

    from ntkcheck.empirical.linear_regions import activation_patterns
    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv

    cfg = {"C": 2, "N": 1, "batch": 24}
    r = evaluate("naswot", Arch(CELL, "nb201"), inputs, 0, resolve_config("naswot", cfg))
    net = build_nb201_conv(CELL, NB201ConvConfig(C=2, N=1, num_classes=10), seed=0, init="default",
                           device="cpu", dtype=torch.float32)
    A = activation_patterns(net, torch.as_tensor(inputs.images[:24]), train_mode=True).numpy().astype(np.float64)
    K = A @ A.T + (1 - A) @ (1 - A).T
    assert r.status == "ok" and r.value == pytest.approx(np.linalg.slogdet(K)[1], rel=1e-12)


def test_structural_metrics_and_exact_lambda_min(inputs):
    from ntkcheck.theory.connectivity import nb201_depth_width
    from ntkcheck.theory.kernels import infinite_width_kernels
    from ntkcheck.sweep.inputs import flat_rows
    from ntkcheck.spec import parse_spec

    d, m = nb201_depth_width(CELL)
    assert evaluate("dbar", Arch(CELL, "nb201"), inputs, 0, {}).value == d
    assert evaluate("mbar", Arch(CELL, "nb201"), inputs, 0, {}).value == m
    # the batched NB201 engine used by the metric vs the general DAG recursion on the same analog
    r = evaluate("ntk_lambda_min", Arch(CELL, "nb201"), inputs, 0, {"n": 12})
    K = infinite_width_kernels(parse_spec({"nb201": CELL}), flat_rows(inputs, 12)).ntk
    assert r.status == "ok" and r.value == pytest.approx(np.linalg.eigvalsh(K)[0], rel=1e-8)
    dead = evaluate("ntk_lambda_min", Arch(DEAD, "nb201"), inputs, 0, {"n": 12})
    assert dead.status == "singular" and "degenerate" in dead.message


def test_error_row_for_a_metric_outside_its_space_and_a_raising_metric(inputs):
    r = evaluate("kappa", Arch('{"edges":[[0,1,"dense:relu"]],"nodes":2}', "fc"), inputs, 0, resolve_config("kappa"))
    assert r.status == "error" and "not defined on the fc space" in r.message and math.isnan(r.value)
    name = "_test_raises"
    register(name, "raises", config={})(lambda a, i, s, c: 1 / 0)
    try:
        r = evaluate(name, Arch(CELL, "nb201"), inputs, 0, {})
        assert r.status == "error" and r.message.startswith("ZeroDivisionError") and "\n" not in r.message
    finally:
        METRICS.pop(name)


def test_params_counts_the_benchmark_network():
    from ntkcheck.sweep.inputs import natural_images as ni

    small = ni(4, seed=0)
    full = evaluate("params", Arch(CELL, "nb201"), small, 0, resolve_config("params")).value
    dead = evaluate("params", Arch(DEAD, "nb201"), small, 0, resolve_config("params")).value
    # 3 conv ops per cell differ; the convs carry C·C·k² weights plus 2C BN affine parameters each
    assert full > dead > 0
