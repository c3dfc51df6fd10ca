"""Regressions: bounds at large pre-activation variance, and r_max below the single-term list."""

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.theory.bounds import bounds_report, gaussian_moments
from ntkcheck.theory.hermite import gaussian_moments as hermite_moments


@pytest.mark.parametrize("act", ["tanh", "erf", "sigmoid", "gelu", "elu"])
@pytest.mark.parametrize("q", [100.0, 1e4])
def test_moments_match_adaptive_quadrature_at_large_variance(act, q):
    # theory.hermite integrates adaptively (independent rule); both must agree to the stated 1e-13 relative
    a = gaussian_moments(act, q, 4)
    b = hermite_moments(act, q)
    assert abs(a.e2[0] - b["E_phi2"]) <= 1e-13 * b["E_phi2"]
    assert abs(a.de2[0] - b["E_dphi2"]) <= 1e-13 * b["E_dphi2"]


@pytest.mark.parametrize("act", ["tanh", "erf"])
def test_every_bound_holds_on_large_scale_data(act):
    X = 100.0 * np.eye(2)  # q(1) = σ_w²·10⁴/d: narrow φ(√q z)
    rep = bounds_report({"fc": [act]}, X, "ntk")
    assert rep.holds and all(rep.holds.values()), {k: v for k, v in rep.holds.items() if not v}


def test_r_max_below_the_single_term_list(tmp_path, capsys):
    p = tmp_path / "X.npy"
    np.save(p, np.random.default_rng(0).standard_normal((6, 4)))
    assert main(["bounds", '{"fc": ["tanh", "relu"]}', str(p), "--r-max", "2"]) == 0
