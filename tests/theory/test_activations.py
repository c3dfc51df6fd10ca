"""Tests of ntkcheck.theory.activations.

Second methods: central finite differences for every derivative, the sympy expression (lambdified and
differentiated symbolically) against the numpy functions, and textbook identities of the activations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck.errors import NtkcheckError
from ntkcheck.theory.activations import (
    X_SYMBOL,
    Activation,
    activation_names,
    get_activation,
    parse_activation_name,
    register_activation,
    unregister_activation,
)

BUILTIN = ["relu", "leaky_relu", "leaky_relu:0.2", "tanh", "sigmoid", "erf", "swish", "gelu", "elu", "elu:0.5",
           "softplus", "identity"]

# grid avoiding the kink at 0 by at least 1e-3 (the finite-difference stencil must not straddle it)
GRID = np.concatenate([np.linspace(-8.0, -1e-3, 97), np.linspace(1e-3, 8.0, 97)])


@pytest.mark.parametrize("name", BUILTIN)
def test_deriv_vs_central_differences(name):
    # Central difference with h = 1e-5: truncation h²|φ'''|/6 ≤ 2e-10 (|φ'''| ≤ 10 for these φ on the grid)
    # and rounding ε|φ|/h ≤ 2e-16·8/1e-5 ≈ 2e-10; tolerance 1e-8 covers both with margin.
    act = get_activation(name)
    h = 1e-5
    fd = (act.fn(GRID + h) - act.fn(GRID - h)) / (2 * h)
    assert np.max(np.abs(act.deriv(GRID) - fd)) < 1e-8


@pytest.mark.parametrize("name", BUILTIN)
def test_sympy_expr_matches_numpy(name):
    # the symbolic form (used for exact Hermite coefficients) must be the same function as fn, and its
    # symbolic derivative the same as deriv; tolerance 1e-12 relative (lambdify vs hand-written numpy)
    act = get_activation(name)
    assert act.expr is not None and act.expr.free_symbols <= {X_SYMBOL}
    f = sp.lambdify(X_SYMBOL, act.expr, modules=["numpy", "scipy"])
    df = sp.lambdify(X_SYMBOL, sp.diff(act.expr, X_SYMBOL), modules=["numpy", "scipy"])
    x = GRID
    fx = np.broadcast_to(np.asarray(f(x), dtype=float), x.shape)
    dfx = np.broadcast_to(np.asarray(df(x), dtype=float), x.shape)
    assert np.allclose(fx, act.fn(x), rtol=1e-12, atol=1e-14)
    assert np.allclose(dfx, act.deriv(x), rtol=1e-12, atol=1e-14)


def test_known_values():
    # values from the definitions (not from the module): relu, leaky slope, sigmoid(0), gelu = xΦ(x), elu(−∞)
    x = np.array([-2.0, 0.5])
    assert np.array_equal(get_activation("relu")(x), [0.0, 0.5])
    assert np.allclose(get_activation("leaky_relu")(x), [-0.02, 0.5])         # default slope 0.01 (PyTorch)
    assert np.allclose(get_activation("leaky_relu:0.2")(x), [-0.4, 0.5])
    assert get_activation("sigmoid")(0.0) == 0.5
    assert math.isclose(float(get_activation("gelu")(1.0)), 0.5 * (1 + math.erf(1 / math.sqrt(2))), rel_tol=1e-15)
    assert math.isclose(float(get_activation("elu")(-50.0)), -1.0, rel_tol=1e-15)
    assert math.isclose(float(get_activation("elu:0.5")(-50.0)), -0.5, rel_tol=1e-15)
    assert math.isclose(float(get_activation("softplus")(0.0)), math.log(2.0), rel_tol=1e-15)
    # softplus must not overflow for large inputs (logaddexp), and sigmoid saturates cleanly
    assert np.isfinite(get_activation("softplus")(1e4)) and get_activation("sigmoid")(-1e4) == 0.0


def test_flags_kinks_homogeneity_parity():
    assert get_activation("relu").kinks == (0.0,) and get_activation("elu").kinks == (0.0,)
    assert get_activation("tanh").kinks == ()
    x = np.linspace(-5, 5, 41)
    for name in ("relu", "leaky_relu:0.2", "identity"):
        act = get_activation(name)
        assert act.homogeneous
        assert np.allclose(act(3.7 * x), 3.7 * act(x), rtol=1e-15, atol=0)      # φ(cx) = cφ(x), c > 0
    for name in ("tanh", "sigmoid", "gelu", "elu", "swish", "softplus", "erf"):
        assert not get_activation(name).homogeneous
    for name in ("tanh", "sigmoid", "erf", "identity"):
        act = get_activation(name)
        c = act.odd_after_shift
        assert c is not None and np.allclose(act(-x) - c, -(act(x) - c), atol=1e-15)


def test_aliases():
    x = np.linspace(-4, 4, 17)
    silu, swish = get_activation("silu"), get_activation("swish")
    assert silu.name == swish.name == "swish"
    assert np.array_equal(silu(x), swish(x))
    assert np.allclose(swish(x), x / (1 + np.exp(-x)), rtol=1e-15)
    assert get_activation("SiLU").name == "swish"
    assert get_activation("linear").name == "identity"
    assert get_activation("lrelu:0.3").name == "leaky_relu:0.3"
    assert get_activation("leaky_relu:0.01").name == "leaky_relu:0.01" == get_activation("leaky_relu").name
    act = get_activation("relu")
    assert get_activation(act) is act
    assert {"relu", "silu", "swish", "gelu"} <= set(activation_names())


def test_unknown_and_malformed_names():
    with pytest.raises(NtkcheckError, match=r"^unknown activation 'foo'; known: .*relu"):
        get_activation("foo")
    with pytest.raises(NtkcheckError, match="takes no parameter"):
        get_activation("relu:0.1")
    with pytest.raises(NtkcheckError, match="takes no parameter"):
        get_activation("tanh:2")
    with pytest.raises(NtkcheckError, match="not a number"):
        get_activation("leaky_relu:abc")
    with pytest.raises(NtkcheckError, match="must be finite"):
        get_activation("leaky_relu:inf")
    for bad in ("", "   ", None, 3):
        with pytest.raises(NtkcheckError, match="non-empty string"):
            parse_activation_name(bad)
    # messages are one line (the CLI prints them as `ntkcheck: error: ...`)
    try:
        get_activation("foo\nbar")
    except NtkcheckError as exc:
        assert "\n" not in str(exc)


def test_register_from_sympy_string():
    unregister_activation("t_act_sym")
    act = register_activation("t_act_sym", "x**2*exp(-x**2)")
    try:
        assert isinstance(act, Activation) and get_activation("t_act_sym") is act
        x = np.linspace(-3, 3, 13)
        assert np.allclose(act.fn(x), x ** 2 * np.exp(-x ** 2), rtol=1e-15)
        assert np.allclose(act.deriv(x), (2 * x - 2 * x ** 3) * np.exp(-x ** 2), rtol=1e-13, atol=1e-15)
        # a constant expression still broadcasts to the input's shape
        unregister_activation("t_act_const")
        c = register_activation("t_act_const", "3")
        assert c.fn(x).shape == x.shape and np.all(c.deriv(x) == 0)
    finally:
        unregister_activation("t_act_sym")
        unregister_activation("t_act_const")


@settings(max_examples=20, deadline=None)
@given(x=st.floats(min_value=-6.0, max_value=6.0))
def test_register_from_numpy_function_fd_derivative(x):
    # deriv omitted → central differences with h = 1e-5 (documented ≈1e-8 relative); φ = sin: |φ'''| ≤ 1,
    # truncation h²/6 ≈ 2e-11, rounding ε/h ≈ 1e-11; tolerance 1e-9
    unregister_activation("t_act_np")
    act = register_activation("t_act_np", fn=np.sin)
    try:
        assert abs(float(act.deriv(np.array(x))) - math.cos(x)) < 1e-9
        assert act.expr is None
    finally:
        unregister_activation("t_act_np")


def test_register_errors():
    with pytest.raises(NtkcheckError, match="already exists"):
        register_activation("relu", "x")
    with pytest.raises(NtkcheckError, match="already exists"):
        register_activation("silu", "x")
    with pytest.raises(NtkcheckError, match="exactly one of"):
        register_activation("t_act_x", "x", fn=np.sin)
    with pytest.raises(NtkcheckError, match="exactly one of"):
        register_activation("t_act_x")
    with pytest.raises(NtkcheckError, match="alphanumeric"):
        register_activation("bad:name", "x")
    with pytest.raises(NtkcheckError, match="other than x"):
        register_activation("t_act_y", "x*y")
    with pytest.raises(NtkcheckError, match="cannot parse"):
        register_activation("t_act_z", "x**")
    unregister_activation("t_act_dup")
    register_activation("t_act_dup", "x")
    try:
        with pytest.raises(NtkcheckError, match="already exists"):
            register_activation("t_act_dup", "2*x")
        act = register_activation("t_act_dup", "2*x", overwrite=True)
        assert float(act(1.5)) == 3.0
        with pytest.raises(NtkcheckError, match="takes no parameter"):
            get_activation("t_act_dup:2")
    finally:
        unregister_activation("t_act_dup")


@pytest.mark.parametrize("name", ["leaky_relu:0.2", "elu:0.5", "leaky_relu:-0.3", "leaky_relu:0.123456789",
                                  "elu:0.123456789"])
def test_name_round_trip(name):
    # specs and reports carry activations by name: get_activation(act.name) must be the same function
    act = get_activation(name)
    again = get_activation(act.name)
    x = np.linspace(-3, 3, 13)
    assert np.array_equal(act.fn(x), again.fn(x)) and np.array_equal(act.deriv(x), again.deriv(x))
