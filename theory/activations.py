r"""Activation functions φ, their derivatives φ' and symbolic forms.

Each activation is an immutable :class:`Activation` record carrying

* ``fn``, ``deriv``: vectorised numpy functions φ(x), φ'(x) (float64);
* ``expr``: a sympy expression in the symbol ``x`` (``None`` for a user function given numerically);
* ``kinks``: the points where φ or φ' is not smooth (for example 0 for ReLU), at which the
  Gauss–Hermite quadrature of :mod:`ntkcheck.theory.hermite` splits the real line;
* ``homogeneous``: True when φ(c x) = c φ(x) for c > 0 (ReLU family, identity), so that
  μ_r(φ; q) = √q μ_r(φ; 1) and the dual kernels scale exactly.

Names follow the spec contract (README "Architectures: the spec format"): ``relu``, ``leaky_relu[:slope]``
(default slope 0.01, PyTorch's default), ``tanh``, ``sigmoid``, ``erf``, ``swish`` (alias ``silu``),
``gelu`` (exact, x·Φ(x)), ``elu[:alpha]`` (default 1), ``softplus``, ``identity`` — and any name added
with :func:`register_activation`.

References: Nair & Hinton 2010 (ReLU); Maas et al. 2013 (leaky ReLU); Clevert et al. 2016 (ELU);
Hendrycks & Gimpel 2016 (GELU); Ramachandran et al. 2017 (swish/SiLU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp
from scipy import special

from ntkcheck.errors import NtkcheckError

__all__ = [
    "Activation",
    "X_SYMBOL",
    "get_activation",
    "register_activation",
    "unregister_activation",
    "activation_names",
    "parse_activation_name",
]

#: The symbol in which every activation's sympy expression is written.
X_SYMBOL = sp.Symbol("x", real=True)

ArrayFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """An activation φ with its derivative and, where known, its symbolic form.

    Attributes
    ----------
    name : canonical name including parameters, e.g. ``"leaky_relu:0.2"``.
    fn, deriv : numpy ufunc-like callables for φ and φ'.
    expr : sympy expression of φ in :data:`X_SYMBOL`, or ``None``.
    kinks : points of non-smoothness of φ or φ' (sorted).
    homogeneous : φ(c x) = c φ(x) for all c > 0.
    odd_after_shift : the constant c with φ − c odd (so μ_r = 0 for even r ≥ 2), or None.
    param : the family's parameter (leaky ReLU slope, ELU α), exactly as given; the name shows its repr.
    """

    name: str
    fn: ArrayFn = field(repr=False, compare=False)
    deriv: ArrayFn = field(repr=False, compare=False)
    expr: sp.Expr | None = field(default=None, repr=False, compare=False)
    kinks: tuple[float, ...] = ()
    homogeneous: bool = False
    odd_after_shift: float | None = None
    param: float | None = None

    @property
    def family(self) -> str:
        return self.name.split(":", 1)[0]

    def __call__(self, x):
        return self.fn(np.asarray(x, dtype=np.float64))


def _relu_family(slope: float) -> Activation:
    s = float(slope)

    def fn(x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > 0, x, s * x)

    def deriv(x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > 0, 1.0, s)

    x = X_SYMBOL
    expr = sp.Piecewise((x, x > 0), (sp.nsimplify(s) * x, True))
    name = "relu" if s == 0.0 else f"leaky_relu:{s!r}"
    return Activation(name, fn, deriv, expr, kinks=(0.0,), homogeneous=True,
                      odd_after_shift=0.0 if s == 1.0 else None, param=s)


def _sigmoid(x):
    return special.expit(x)


def _make_builtin(family: str, param: float | None) -> Activation:
    x = X_SYMBOL
    if family == "relu":
        if param is not None:
            raise NtkcheckError("activation 'relu' takes no parameter (did you mean leaky_relu:<slope>?)")
        return _relu_family(0.0)
    if family == "leaky_relu":
        slope = 0.01 if param is None else param
        return _relu_family(slope)
    if param is not None and family not in ("elu",):
        raise NtkcheckError(f"activation '{family}' takes no parameter")
    if family == "identity":
        return Activation("identity", lambda t: np.asarray(t, dtype=np.float64) * 1.0,
                          lambda t: np.ones_like(np.asarray(t, dtype=np.float64)), x,
                          homogeneous=True, odd_after_shift=0.0)
    if family == "tanh":
        return Activation("tanh", np.tanh, lambda t: 1.0 - np.tanh(t) ** 2, sp.tanh(x), odd_after_shift=0.0)
    if family == "sigmoid":
        return Activation("sigmoid", _sigmoid, lambda t: _sigmoid(t) * (1.0 - _sigmoid(t)),
                          1 / (1 + sp.exp(-x)), odd_after_shift=0.5)
    if family == "erf":
        return Activation("erf", special.erf, lambda t: 2.0 / np.sqrt(np.pi) * np.exp(-np.asarray(t) ** 2),
                          sp.erf(x), odd_after_shift=0.0)
    if family == "swish":
        return Activation("swish", lambda t: t * _sigmoid(t),
                          lambda t: _sigmoid(t) * (1.0 + t * (1.0 - _sigmoid(t))), x / (1 + sp.exp(-x)))
    if family == "gelu":
        def gelu(t):
            t = np.asarray(t, dtype=np.float64)
            return t * special.ndtr(t)

        def dgelu(t):
            t = np.asarray(t, dtype=np.float64)
            return special.ndtr(t) + t * np.exp(-0.5 * t * t) / np.sqrt(2.0 * np.pi)

        return Activation("gelu", gelu, dgelu, x * (1 + sp.erf(x / sp.sqrt(2))) / 2)
    if family == "elu":
        alpha = 1.0 if param is None else param

        def elu(t):
            t = np.asarray(t, dtype=np.float64)
            return np.where(t > 0, t, alpha * np.expm1(np.minimum(t, 0.0)))

        def delu(t):
            t = np.asarray(t, dtype=np.float64)
            return np.where(t > 0, 1.0, alpha * np.exp(np.minimum(t, 0.0)))

        name = "elu" if alpha == 1.0 else f"elu:{alpha!r}"
        return Activation(name, elu, delu, sp.Piecewise((x, x > 0), (sp.nsimplify(alpha) * (sp.exp(x) - 1), True)),
                          kinks=(0.0,), param=alpha)
    if family == "softplus":
        return Activation("softplus", lambda t: np.logaddexp(0.0, t), _sigmoid, sp.log(1 + sp.exp(x)))
    raise KeyError(family)


_BUILTIN = ("relu", "leaky_relu", "tanh", "sigmoid", "erf", "swish", "gelu", "elu", "softplus", "identity")
_ALIASES = {"silu": "swish", "linear": "identity", "lrelu": "leaky_relu"}
_USER: dict[str, Activation] = {}


def activation_names() -> list[str]:
    """All activation family names that :func:`get_activation` accepts (built-in, aliases, user)."""
    return sorted(set(_BUILTIN) | set(_ALIASES) | set(_USER))


def parse_activation_name(name: str) -> tuple[str, float | None]:
    """Split ``"family[:param]"`` into (canonical family, param)."""
    if not isinstance(name, str) or not name.strip():
        raise NtkcheckError(f"activation name must be a non-empty string, got {name!r}")
    fam, _, par = name.strip().partition(":")
    fam = _ALIASES.get(fam.lower(), fam.lower())
    param = None
    if par:
        try:
            param = float(par)
        except ValueError:
            raise NtkcheckError(f"activation parameter in {name!r} is not a number") from None
        if not np.isfinite(param):
            raise NtkcheckError(f"activation parameter in {name!r} must be finite")
    return fam, param


def get_activation(name: str | Activation) -> Activation:
    """Return the :class:`Activation` named ``name`` (``"relu"``, ``"leaky_relu:0.2"``, ``"silu"``, ...).

    Raises :class:`~ntkcheck.errors.NtkcheckError` naming the problem for an unknown name.
    """
    if isinstance(name, Activation):
        return name
    fam, param = parse_activation_name(name)
    if fam in _USER:
        if param is not None:
            raise NtkcheckError(f"user activation '{fam}' takes no parameter")
        return _USER[fam]
    try:
        return _make_builtin(fam, param)
    except KeyError:
        raise NtkcheckError(f"unknown activation {name!r}; known: {', '.join(activation_names())}") from None


def register_activation(name: str, expr: sp.Expr | str | None = None, *, fn: ArrayFn | None = None,
                        deriv: ArrayFn | None = None, kinks: tuple[float, ...] = (),
                        homogeneous: bool = False, overwrite: bool = False) -> Activation:
    """Register a user activation under ``name`` and return it.

    Give either a sympy expression in ``x`` (a string is parsed with :func:`sympy.sympify`; φ and φ' are
    lambdified, and the Hermite coefficients may then have an exact form), or a numpy function ``fn``
    (with ``deriv``; when ``deriv`` is omitted it is taken by central finite differences, which limits
    NTK accuracy to about 1e-8 relative).  ``kinks`` lists points where φ or φ' is not smooth.
    """
    if not name or ":" in name or not name.replace("_", "").isalnum():
        raise NtkcheckError(f"activation name {name!r} must be alphanumeric/underscores without ':'")
    key = name.lower()
    if (key in _BUILTIN or key in _ALIASES) or (key in _USER and not overwrite):
        raise NtkcheckError(f"activation {name!r} already exists")
    if (expr is None) == (fn is None):
        raise NtkcheckError("register_activation needs exactly one of expr (sympy) or fn (numpy)")
    if expr is not None:
        if isinstance(expr, str):
            try:
                expr = sp.sympify(expr, locals={"x": X_SYMBOL})
            except (sp.SympifyError, SyntaxError, TypeError) as exc:
                raise NtkcheckError(f"cannot parse activation expression {expr!r}: {exc}") from None
        extra = expr.free_symbols - {X_SYMBOL}
        if extra:
            raise NtkcheckError(f"activation expression has symbols other than x: {sorted(map(str, extra))}")
        f = sp.lambdify(X_SYMBOL, expr, modules=["numpy", "scipy"])
        df = sp.lambdify(X_SYMBOL, sp.diff(expr, X_SYMBOL), modules=["numpy", "scipy"])
        fn = lambda t, f=f: np.broadcast_to(np.asarray(f(np.asarray(t, dtype=np.float64)), dtype=np.float64),  # noqa: E731
                                            np.shape(t)).copy()
        deriv = lambda t, df=df: np.broadcast_to(np.asarray(df(np.asarray(t, dtype=np.float64)), dtype=np.float64),  # noqa: E731
                                                 np.shape(t)).copy()
    elif deriv is None:
        h = 1e-5

        def deriv(t, fn=fn):
            t = np.asarray(t, dtype=np.float64)
            return (fn(t + h) - fn(t - h)) / (2 * h)

    act = Activation(key, fn, deriv, expr, kinks=tuple(sorted(float(k) for k in kinks)), homogeneous=homogeneous)
    _USER[key] = act
    return act


def unregister_activation(name: str) -> None:
    """Remove a user activation (for tests and notebooks)."""
    _USER.pop(name.lower(), None)
