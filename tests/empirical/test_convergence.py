"""Tests of empirical/convergence.py: the O(n^{-1/2}) rate of the empirical kernels, measured against
theory/kernels.py's exact kernels.

The expected slope −1/2 is the known fluctuation rate of one finite network's kernels (Hanin & Nica 2020;
design card §4) — it is not computed by the code under test.  The fit's confidence interval (95%, t-based
and bootstrap) must contain −1/2 and exclude 0 (no convergence) and −1 (a different rate); a negative
control (comparing against a kernel that is 25% off, comparable to the fluctuation at n = 64) must give a slope whose interval excludes −1/2, so
the test can fail.  The networks are small (N = 6, d = 3, widths 64…1024, 6 seeds) to keep it cheap; the
seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck.empirical.convergence import QUANTITIES, fit_loglog_slope, width_convergence
from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import fc_spec

WIDTHS = [64, 128, 256, 512, 1024]


def _X():
    X = np.random.default_rng(1).standard_normal((6, 3))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def conv():
    return width_convergence(fc_spec(["relu", "relu"]), _X(), WIDTHS, 6, device="cpu")


def test_fitted_slopes_contain_minus_half(conv):
    for q in ("ntk_fro", "nngp_fro"):
        f = conv.fits[q]
        assert f.method == "t" and f.n_points == len(WIDTHS) * 6
        assert f.contains(-0.5), (q, f)
        assert f.ci_high < 0 and f.ci_low > -1, (q, f)
    # the λ_min errors are noisier (a single eigenvalue); their intervals must still contain −1/2
    for q in ("ntk_lmin", "nngp_lmin"):
        assert conv.fits[q].contains(-0.5), (q, conv.fits[q])


def test_table_and_record(conv):
    t = conv.table
    assert len(t["width"]) == len(WIDTHS) * 6
    assert set(QUANTITIES) <= set(t)
    assert np.all(t["ntk_fro"] > 0) and np.all(t["ntk_lmin_emp_err"] < 1e-10)
    # errors shrink with the width: mean error at 1024 below that at 64
    assert t["ntk_fro"][t["width"] == 1024].mean() < t["ntk_fro"][t["width"] == 64].mean()
    rec = conv.to_json()
    assert rec["config"]["widths"] == WIDTHS and rec["config"]["seeds"] == list(range(6))
    assert "torch" in rec["config"]["versions"]
    assert rec["theory_lmin"]["ntk"]["lambda_min"] > 0


def test_bootstrap_interval_agrees(conv):
    for q in ("ntk_fro", "nngp_fro"):
        b = fit_loglog_slope(conv.table["width"], conv.table[q], method="bootstrap", n_boot=400, seed=3)
        assert b.slope == pytest.approx(conv.fits[q].slope, rel=1e-12)  # the same point estimate
        assert b.contains(-0.5)


def test_negative_control_wrong_kernel_does_not_converge():
    from ntkcheck.theory.kernels import infinite_width_kernels

    X = _X()
    spec = fc_spec(["relu", "relu"])
    ik = infinite_width_kernels(spec, X)
    res = width_convergence(spec, X, [64, 256, 1024], 4, device="cpu", theory=(1.25 * ik.nngp, 1.25 * ik.ntk))
    for q in ("ntk_fro", "nngp_fro"):
        assert not res.fits[q].contains(-0.5), res.fits[q]


def test_fit_on_synthetic_power_law():
    # independent data: e = 3·n^{-1/2}·exp(0.1 z), z ~ N(0, 1)
    rng = np.random.default_rng(0)
    w = np.repeat([50, 100, 200, 400, 800], 8)
    e = 3 * w ** -0.5 * np.exp(0.1 * rng.standard_normal(w.size))
    t = fit_loglog_slope(w, e)
    assert t.contains(-0.5) and t.ci_high - t.ci_low < 0.2
    assert t.intercept == pytest.approx(np.log(3), abs=0.2)
    b = fit_loglog_slope(w, e, method="bootstrap", n_boot=300)
    assert b.contains(-0.5)
    assert np.isnan(fit_loglog_slope([1, 2], [0.1, 0.2]).slope)          # too few points
    assert np.isnan(fit_loglog_slope([4, 4, 4], [0.1, 0.2, 0.3]).slope)  # one width only


@pytest.mark.parametrize("kw,match", [({"widths": [64]}, "widths"), ({"widths": [0, 64]}, "widths"),
                                      ({"seeds": 0}, "seeds"), ({"parametrization": "standard"}, "ntk"),
                                      ({"method": "jackknife"}, "method")])
def test_bad_arguments(kw, match):
    args = {"widths": [8, 16], "seeds": 2, **kw}
    with pytest.raises(NtkcheckError, match=match):
        width_convergence(fc_spec(["relu"]), _X(), args.pop("widths"), args.pop("seeds"), device="cpu", **args)
