"""Shrinking: a large certified violation becomes a minimal one that is still certified; steps never make the
configuration larger; a non-violation cannot be shrunk."""

import numpy as np
import pytest

from ntkcheck.bound_check.problem import Configuration, evaluate, make_problem
from ntkcheck.bound_check.shrink import SAFETY, candidates, shrink_counterexample, size_of
from ntkcheck.bound_check.strategies import make_data
from ntkcheck.spec import fc_spec, nb201_spec, parse_spec


def test_large_counterexample_shrinks_to_two_points_and_one_layer():
    # λ_min ≥ diag_min is false as soon as two points have a non-zero kernel entry; it holds for N = 1,
    # so the minimal counterexample has exactly 2 points and the two-layer net (L = 1).
    p = make_problem("ntk_lambda_min", lower="diag_min")
    spec = fc_spec(["tanh", "sigmoid", "relu", "gelu"], skips=[[0, 2], [1, 3]], sigma_w2=1.3, sigma_b2=0.4)
    X = make_data("clustered", 6, 5, seed=1, k=2, scale_exp=1.0)
    ev = evaluate(p, Configuration(spec, X))
    assert ev.violated
    small, log = shrink_counterexample(p, ev)
    assert small.violated and -small.slack >= SAFETY * small.tol
    c = small.config
    assert c.X.shape[0] == 2 and c.spec.L == 1 and c.spec.readout == "relu"
    assert (c.spec.sigma_w2, c.spec.sigma_b2) == (2.0, 0.0) and c.X.shape[1] <= 2
    assert any(s.startswith("drop point") for s in log) and any("architecture" in s or s.startswith("fc: drop") for s in log)
    # independent re-check of the shrunk configuration
    from ntkcheck.theory.kernels import infinite_width_kernels
    K = infinite_width_kernels(c.spec, c.X).ntk
    assert np.linalg.eigvalsh(K)[0] < K.diagonal().min() - 1e-6


def test_candidates_are_valid_and_never_larger():
    p = make_problem("ntk_lambda_min", lower="diag_min")
    for spec in (nb201_spec("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"),
                 parse_spec({"residual": ["tanh", "relu"], "sigma_b2": 0.2}),
                 fc_spec(["erf", "relu", "relu"], skips=[[0, 2]])):
        cfg = Configuration(spec, make_data("sphere", 4, 3, seed=0))
        n = 0
        for desc, c in candidates(cfg, p):
            n += 1
            assert size_of(c) < size_of(cfg) or desc.startswith(("drop point", "width")), desc
            assert not c.spec.is_degenerate
            assert np.allclose(np.linalg.norm(c.X, axis=1), 1.0)
        assert n >= 6


def test_only_violations_can_be_shrunk():
    p = make_problem("ntk_lambda_max", upper="trace")
    ev = evaluate(p, Configuration(fc_spec(["relu"]), make_data("sphere", 3, 3, seed=0)))
    assert ev.status == "holds"
    with pytest.raises(ValueError):
        shrink_counterexample(p, ev)
