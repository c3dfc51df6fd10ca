r"""The vocabulary of a bound and the context object that gives every name a value.

A bound is a sympy expression over the names in :data:`NAMES`, or a Python function ``f(ctx) -> float`` of a
:class:`BoundContext`.  Both read the same quantities, computed once per configuration and lazily (a name
that the bound does not use is never computed).

Names (exactly the contract's list, plus ``eta`` for the ``convergence_rate`` quantity):

=========================  =========================================================================================
``N``, ``d``               X is N×d
``L``                      number of dense layers = number of weighted edges of the expanded spec + 1 (the readout)
``n``                      the width (empirical quantities only)
``sigma_w2``, ``sigma_b2`` from the spec
``q(l)``                   pre-activation variance of dense layer l (diagonal of Σ at the node layer l reads)
``mu(r, l)``, ``mu(r)``    μ_r(φ_l; q(l)) = E[φ_l(√q(l) z) h_r(z)], h_r = He_r/√(r!); ``mu(r)`` = ``mu(r, L)``
``lam_min_gram``, ...      λ_min, λ_max of XXᵀ (raw X)
``lam_min_hadamard(r)``    λ_min of (XXᵀ)^{∘r} (r = 0 is the all-ones matrix); ``lam_max_hadamard(r)`` its λ_max
``max_rho``                max over i ≠ j of |cos∠(x_i, x_j)| (0 when N = 1)
``n_skips``, ``n_paths``   skip edges; directed 0 → last paths through non-zero edges
``trace``, ``diag_min``,   of the kernel whose eigenvalue is bounded
``diag_max``
``eta``                    the learning rate of the ``convergence_rate`` quantity (Chen et al. 2022, Thm 3.1)
``E_phi(l)``, ``E_phi2``,  Gaussian moments E[φ_l], E[φ_l²], E[φ_l'], E[φ_l'²] at √q(l) z
``E_dphi``, ``E_dphi2``    (an extension of the kernel vocabulary); without l, the readout's
``ntk_lambda_min``, ...    λ_min, λ_max, trace of either infinite-width kernel (``ntk_*``, ``nngp_*``), whichever is
                           bounded; their certified uncertainty is added to the bound's tolerance
``empirical_ntk_lambda_min(w)``, ``empirical_ntk_lambda_max(w)``, ``empirical_nngp_lambda_min(w)``: median over
                           the problem's seeds of networks of width w (1 ≤ w ≤ :data:`MAX_NAMED_WIDTH`)
=========================  =========================================================================================

plus sympy's functions and constants (``sqrt``, ``log``, ``exp``, ``pi``, ``E``, ``Min``, ``Max``, ``Abs``,
``factorial``, ``binomial``, ``Sum((r+1)*mu(r)**2*lam_min_hadamard(r), (r, 0, 4))``, ...).
"""

from __future__ import annotations

import io
import math
import tokenize
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import ArchSpec

__all__ = [
    "NAMES",
    "SYMBOL_NAMES",
    "FUNCTION_NAMES",
    "BoundExpr",
    "BoundContext",
    "parse_bound",
    "parse_assumption",
    "evaluate_bound",
    "vocabulary_help",
    "mu",
    "lam_min_hadamard",
    "lam_max_hadamard",
    "q",
]

#: name → (arity, description).  Arity None: a symbol; an int or tuple: a function and its argument counts.
NAMES: dict[str, tuple[Any, str]] = {
    "N": (None, "number of data points (X is N×d)"),
    "d": (None, "input dimension"),
    "L": (None, "number of dense layers: weighted edges of the expanded spec + 1 (the readout)"),
    "n": (None, "width of the finite network (empirical quantities only)"),
    "sigma_w2": (None, "weight variance σ_w² of the spec"),
    "sigma_b2": (None, "bias variance σ_b² of the spec"),
    "q": ((1,), "q(l): pre-activation variance of dense layer l (diagonal of Σ at the node it reads)"),
    "mu": ((1, 2), "mu(r, l) = μ_r(φ_l; q(l)) = E[φ_l(√q(l) z) h_r(z)], h_r = He_r/√(r!); mu(r) = mu(r, L)"),
    "lam_min_gram": (None, "λ_min(XXᵀ) of the raw data"),
    "lam_max_gram": (None, "λ_max(XXᵀ) of the raw data"),
    "lam_min_hadamard": ((1,), "lam_min_hadamard(r) = λ_min((XXᵀ)^{∘r}); r = 0 is the all-ones matrix"),
    "lam_max_hadamard": ((1,), "lam_max_hadamard(r) = λ_max((XXᵀ)^{∘r})"),
    "max_rho": (None, "max over i≠j of |cos∠(x_i, x_j)| (0 when N = 1)"),
    "n_skips": (None, "number of skip edges of the expanded spec"),
    "n_paths": (None, "number of directed paths node 0 → last node through non-zero edges"),
    "trace": (None, "trace of the kernel whose eigenvalue is bounded"),
    "diag_min": (None, "smallest diagonal entry of the kernel whose eigenvalue is bounded"),
    "diag_max": (None, "largest diagonal entry of the kernel whose eigenvalue is bounded"),
    "eta": (None, "learning rate η of the convergence_rate quantity (Chen et al. 2022, Thm 3.1)"),
    # Gaussian moments of layer l's activation at its scale q(l) (the Gaussian-moment vocabulary)
    "E_phi": ((0, 1), "E_phi(l) = E[φ_l(√q(l) z)]; without l, the readout's (extension beyond §10)"),
    "E_phi2": ((0, 1), "E_phi2(l) = E[φ_l(√q(l) z)²] (extension beyond §10)"),
    "E_dphi": ((0, 1), "E_dphi(l) = E[φ_l'(√q(l) z)] (extension beyond §10)"),
    "E_dphi2": ((0, 1), "E_dphi2(l) = E[φ_l'(√q(l) z)²] (extension beyond §10)"),
    # quantities of either kernel, whichever is bounded (relations between two kernels)
    "ntk_lambda_min": (None, "λ_min of the infinite-width NTK Θ of the configuration"),
    "ntk_lambda_max": (None, "λ_max of the infinite-width NTK Θ"),
    "ntk_trace": (None, "trace of the infinite-width NTK Θ"),
    "nngp_lambda_min": (None, "λ_min of the infinite-width NNGP K"),
    "nngp_lambda_max": (None, "λ_max of the infinite-width NNGP K"),
    "nngp_trace": (None, "trace of the infinite-width NNGP K"),
    # finite width: the median over the problem's seeds (--seeds) of networks of width w (contract §4, NTK param.)
    "empirical_ntk_lambda_min": ((1,), "empirical_ntk_lambda_min(w): median over --seeds networks of width w of "
                                       "λ_min of the empirical NTK Θ̂ (w an integer 1..%d)" % 4096),
    "empirical_ntk_lambda_max": ((1,), "empirical_ntk_lambda_max(w): the same for λ_max of Θ̂"),
    "empirical_nngp_lambda_min": ((1,), "empirical_nngp_lambda_min(w): the same for λ_min of the empirical NNGP"),
}

#: Largest width an ``empirical_*(w)`` name may ask for (memory: w² weights per layer per network).
MAX_NAMED_WIDTH = 4096
#: Symbols naming a spectral quantity of one of the two infinite-width kernels: (kernel, statistic).
KERNEL_SYMBOLS = {f"{k}_{s}": (k, s) for k in ("ntk", "nngp") for s in ("lambda_min", "lambda_max", "trace")}
#: Functions naming a finite-width quantity: (kernel, statistic).
EMPIRICAL_FUNCTIONS = {"empirical_ntk_lambda_min": ("ntk", "lambda_min"),
                       "empirical_ntk_lambda_max": ("ntk", "lambda_max"),
                       "empirical_nngp_lambda_min": ("nngp", "lambda_min")}
SYMBOL_NAMES = tuple(k for k, (a, _) in NAMES.items() if a is None)
FUNCTION_NAMES = tuple(k for k, (a, _) in NAMES.items() if a is not None)

_SYMBOLS = {k: sp.Symbol(k) for k in SYMBOL_NAMES}
_FUNCTIONS = {k: sp.Function(k) for k in FUNCTION_NAMES}
mu = _FUNCTIONS["mu"]
q = _FUNCTIONS["q"]
lam_min_hadamard = _FUNCTIONS["lam_min_hadamard"]
lam_max_hadamard = _FUNCTIONS["lam_max_hadamard"]


def _sympy_globals() -> dict[str, Any]:
    g: dict[str, Any] = {}
    exec("from sympy import *", g)  # noqa: S102 - sympy's own namespace, as parse_expr's default
    return g


_GLOBALS = _sympy_globals()
_LOCALS: dict[str, Any] = {**_SYMBOLS, **_FUNCTIONS}


_ARGS = {"q": "l", "mu": "r, l", "lam_min_hadamard": "r", "lam_max_hadamard": "r", "E_phi": "l", "E_phi2": "l",
         "E_dphi": "l", "E_dphi2": "l", **{k: "w" for k in EMPIRICAL_FUNCTIONS}}


def vocabulary_help() -> str:
    """The vocabulary as text for ``--help`` and the docs."""
    lines = []
    for k, (arity, doc) in NAMES.items():
        sig = k if arity is None else f"{k}({_ARGS[k]})"
        lines.append(f"  {sig:22s} {doc}")
    return "\n".join(lines)


@dataclass(frozen=True)
class BoundExpr:
    """A parsed bound: the user's text, the sympy expression and the vocabulary names it uses."""

    text: str
    expr: sp.Expr = field(compare=False)
    symbols: tuple[str, ...]
    functions: tuple[str, ...]

    def __str__(self) -> str:
        return self.text

    @property
    def is_relation(self) -> bool:
        """True for a relation or a logical value (``N > 2``): an assumption, never a bound's value."""
        # not sp.logic.boolalg.Boolean: a sympy Symbol is a Boolean too
        return isinstance(self.expr, (sp.core.relational.Relational, sp.logic.boolalg.BooleanAtom,
                                      sp.logic.boolalg.BooleanFunction))

    @property
    def is_constant(self) -> bool:
        """True when no vocabulary name occurs: the same value on every configuration."""
        return not self.symbols and not self.functions


def _names_in(text: str) -> list[tuple[str, bool]]:
    """(NAME token, followed by '(') pairs, for error messages."""
    out = []
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return out
    for i, t in enumerate(toks):
        if t.type == tokenize.NAME:
            nxt = toks[i + 1].string if i + 1 < len(toks) else ""
            out.append((t.string, nxt == "("))
    return out


def parse_bound(text: str | sp.Expr | BoundExpr, *, what: str = "bound") -> BoundExpr:
    """Parse a bound expression; raise :class:`NtkcheckError` for unparsable text or an unknown name."""
    if isinstance(text, BoundExpr):
        return text
    if isinstance(text, sp.Basic):
        expr, src = text, str(text)
    else:
        if not isinstance(text, str) or not text.strip():
            raise NtkcheckError(f"{what} must be a non-empty expression")
        src = text.strip()
        if "__" in src or ";" in src or any(name == "lambda" for name, _ in _names_in(src)):
            raise NtkcheckError(f"{what} {src!r} is not a plain expression")
        for name, called in _names_in(src):
            if called and name not in _LOCALS and not callable(_GLOBALS.get(name)):
                raise NtkcheckError(f"unknown function {name!r} in {what} {src!r}; "
                                    f"known: {', '.join(FUNCTION_NAMES)} and sympy's functions")
        try:
            expr = parse_expr(src, local_dict=dict(_LOCALS), global_dict=dict(_GLOBALS),
                              transformations=standard_transformations + (convert_xor,), evaluate=True)
        except Exception as exc:  # noqa: BLE001 - any parser failure is a user error
            raise NtkcheckError(f"cannot parse {what} {src!r}: {type(exc).__name__}: {exc}") from None
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Basic):
        raise NtkcheckError(f"unknown name or a function without its arguments in {what} {src!r} "
                            f"(write e.g. mu(1), lam_min_hadamard(2))")
    unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in _SYMBOLS)
    if unknown:
        raise NtkcheckError(f"unknown name(s) {', '.join(unknown)} in {what} {src!r}; "
                            f"known: {', '.join(SYMBOL_NAMES + FUNCTION_NAMES)}")
    funcs = set()
    for f in expr.atoms(AppliedUndef):
        name = f.func.__name__
        if name not in _FUNCTIONS:
            raise NtkcheckError(f"unknown function {name!r} in {what} {src!r}")
        if len(f.args) not in NAMES[name][0]:
            raise NtkcheckError(f"{name} takes {' or '.join(map(str, NAMES[name][0]))} argument(s) in {what} {src!r}")
        funcs.add(name)
    for f in expr.atoms(AppliedUndef):
        if f.func.__name__ in EMPIRICAL_FUNCTIONS and f.args[0].is_number:
            _as_index(f.args[0], f"{f.func.__name__}(w) in {what} {src!r}", minimum=1, maximum=MAX_NAMED_WIDTH)
    syms = tuple(sorted(str(s) for s in expr.free_symbols))
    return BoundExpr(src, expr, syms, tuple(sorted(funcs)))


def parse_assumption(text: str | sp.Basic) -> BoundExpr:
    """Parse an assumption: a relation (``N <= d``, ``n >= 4*N``, ``L == 1``) or a conjunction of them."""
    if isinstance(text, str):
        src = text.strip()
        # sympy's parser reads '==' as Python equality of expressions; rewrite it to Eq.
        if "==" in src:
            lhs, _, rhs = src.partition("==")
            if "==" in rhs:
                raise NtkcheckError(f"assumption {src!r}: write one '==' per assumption")
            b = parse_bound(f"Eq({lhs}, {rhs})", what="assumption")
            return BoundExpr(src, b.expr, b.symbols, b.functions)
        b = parse_bound(src, what="assumption")
    else:
        b = parse_bound(text, what="assumption")
    if not b.is_relation or any(not isinstance(a, (sp.core.relational.Relational, sp.logic.boolalg.BooleanAtom,
                                                   sp.logic.boolalg.BooleanFunction))
                                for a in (b.expr.args if isinstance(b.expr, sp.logic.boolalg.BooleanFunction) else ())):
        raise NtkcheckError(f"assumption {b.text!r} must be a relation such as 'N <= d'")
    return b


# ---- the context ---------------------------------------------------------------------------------------

def _layer_activations(spec: ArchSpec) -> tuple[str, ...]:
    """Activation of each dense layer in the order of §10: weighted edges in spec order, then the readout."""
    acts = [e.activation for e in spec.edges if e.has_weights]
    if spec.readout != "none":
        acts.append(spec.readout)
    return tuple(acts)


@dataclass(frozen=True)
class BoundContext:
    """Everything a bound may name, for one configuration (spec, X, width), computed lazily and cached.

    ``kernel_name`` is ``"ntk"`` or ``"nngp"`` (the kernel whose eigenvalue is bounded, which ``trace``,
    ``diag_min``, ``diag_max`` refer to); ``kernel`` overrides it with a given matrix (an empirical NTK).
    """

    spec: ArchSpec
    X: np.ndarray = field(repr=False, compare=False)
    kernel_name: str = "ntk"
    width: int | None = None
    eta: float | None = None
    kernel: np.ndarray | None = field(default=None, repr=False, compare=False)
    seeds: int = 8
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # -- data --
    @property
    def N(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def L(self) -> int:
        return self.spec.L

    @property
    def n(self) -> int:
        if self.width is None:
            raise NtkcheckError("the name 'n' (width) is defined only for empirical quantities")
        return int(self.width)

    @property
    def sigma_w2(self) -> float:
        return self.spec.sigma_w2

    @property
    def sigma_b2(self) -> float:
        return self.spec.sigma_b2

    @property
    def n_skips(self) -> int:
        return self.spec.n_skips

    @property
    def n_paths(self) -> int:
        return self.spec.n_paths

    @cached_property
    def gram(self) -> np.ndarray:
        return self.X @ self.X.T

    def _spectrum(self, key: str, A: np.ndarray):
        if key not in self._cache:
            from ntkcheck.theory.spectra import certified_eigvalsh
            self._cache[key] = certified_eigvalsh(A)
        return self._cache[key]

    def gram_spectrum(self):
        return self._spectrum("gram", self.gram)

    def hadamard_spectrum(self, r: int):
        r = _as_index(r, "lam_*_hadamard(r)", minimum=0)
        return self._spectrum(f"had{r}", self.gram ** r)

    @property
    def lam_min_gram(self) -> float:
        return float(self.gram_spectrum().lambda_min)

    @property
    def lam_max_gram(self) -> float:
        return float(self.gram_spectrum().lambda_max)

    def lam_min_hadamard(self, r: int) -> float:
        return float(self.hadamard_spectrum(r).lambda_min)

    def lam_max_hadamard(self, r: int) -> float:
        return float(self.hadamard_spectrum(r).lambda_max)

    @cached_property
    def max_rho(self) -> float:
        if self.N < 2:
            return 0.0
        nrm = np.linalg.norm(self.X, axis=1)
        C = self.gram / np.outer(nrm, nrm)
        np.fill_diagonal(C, 0.0)
        return float(np.max(np.abs(C)))

    # -- kernels --
    @cached_property
    def kernels(self):
        """The lead's infinite-width engine on this configuration (NNGP, NTK, layer variances)."""
        from ntkcheck.theory.kernels import infinite_width_kernels
        return infinite_width_kernels(self.spec, self.X)

    @cached_property
    def K(self) -> np.ndarray:
        """The kernel whose eigenvalue is bounded."""
        if self.kernel is not None:
            return np.asarray(self.kernel, dtype=np.float64)
        return np.asarray(getattr(self.kernels, self.kernel_name), dtype=np.float64)

    @property
    def trace(self) -> float:
        return float(np.trace(self.K))

    @property
    def diag_min(self) -> float:
        return float(np.min(np.diag(self.K)))

    @property
    def diag_max(self) -> float:
        return float(np.max(np.diag(self.K)))

    # -- named quantities of either kernel and of finite width --
    @property
    def names_tol(self) -> float:
        """Certified uncertainty of the kernel quantities the bound named (added to the bound's tolerance)."""
        return float(sum(self._cache.get("names_tol", {}).values()))

    def kernel_quantity(self, name: str) -> float:
        """``ntk_lambda_min``, ``nngp_trace``, ...: the infinite-width kernel's statistic, whose certified
        uncertainty (eigenvalue error bound + N·quadrature tolerance per layer, as for the bounded quantity)
        is recorded in :attr:`names_tol`."""
        from .quantities import compute_quantity

        kname, stat = KERNEL_SYMBOLS[name]
        if stat == "trace":
            M = np.asarray(getattr(self.kernels, kname), dtype=np.float64)
            val = float(np.trace(M))
            tol = M.shape[0] * _entry_tol(self, M) * (self.spec.L + 1)
        else:
            other = BoundContext(spec=self.spec, X=self.X, kernel_name=kname)
            other.__dict__["kernels"] = self.kernels          # share the engine's result (cached_property slot)
            qv = compute_quantity(f"{kname}_{stat}", other)
            val, tol = qv.value, qv.tol_kernel
        self._cache.setdefault("names_tol", {})[name] = tol
        return val

    def empirical_quantity(self, name: str, w: Any) -> float:
        """``empirical_ntk_lambda_min(w)`` etc.: median over ``seeds`` networks (seeds 0..seeds−1) of width w."""
        from ntkcheck.empirical.ntk import iter_seed_kernels
        from ntkcheck.theory.spectra import certified_eigvalsh

        w = _as_index(w, f"{name}(w)", minimum=1, maximum=MAX_NAMED_WIDTH)
        key = ("empirical", name, w)
        if key not in self._cache:
            kname, stat = EMPIRICAL_FUNCTIONS[name]
            vals, errs = [], []
            for sk in iter_seed_kernels(self.spec, self.X, w, int(self.seeds), ntk=(kname == "ntk")):
                s = certified_eigvalsh(np.asarray(getattr(sk, kname), dtype=np.float64))
                vals.append(float(s.lambda_min if stat == "lambda_min" else s.lambda_max))
                errs.append(float(s.error_bound if stat == "lambda_min" else s.error_bound_max))
            self._cache[key] = (float(np.median(vals)), float(max(errs)))
        val, tol = self._cache[key]
        self._cache.setdefault("names_tol", {})[f"{name}({w})"] = tol
        return val

    # -- layers --
    @cached_property
    def layer_activations(self) -> tuple[str, ...]:
        return tuple(self.kernels.layer_activations)

    @cached_property
    def q_diagonals(self) -> tuple[np.ndarray, ...] | None:
        """diag Σ read by each dense layer (the engine's ``layer_variances``); None when the engine does not
        list every layer (a layer reading an identically-zero node), so q and mu are undefined (NaN)."""
        lv = tuple(np.asarray(v, dtype=np.float64).reshape(-1) for v in self.kernels.layer_variances)
        if len(lv) != self.L or tuple(self.layer_activations) != _layer_activations(self.spec):
            return None
        return lv

    def q(self, l: int) -> float:
        """q(l); NaN when the diagonal is not constant (rows of unequal norm), so the scale is undefined."""
        l = _as_index(l, "q(l)", minimum=1, maximum=self.L)
        if self.q_diagonals is None:
            return float("nan")
        v = self.q_diagonals[l - 1]
        if v.size and np.ptp(v) > 1e-9 * max(1.0, float(np.max(np.abs(v)))):
            return float("nan")
        return float(np.mean(v))

    def mu(self, r: int, l: int | None = None) -> float:
        """μ_r(φ_l; q(l)) from the Hermite module (cached per layer up to the largest r requested)."""
        r = _as_index(r, "mu(r, l)", minimum=0)
        l = self.L if l is None else _as_index(l, "mu(r, l)", minimum=1, maximum=self.L)
        ql = self.q(l)
        if not math.isfinite(ql) or ql <= 0:
            return float("nan")
        key = ("mu", l)
        have = self._cache.get(key)
        if have is None or len(have) <= r:
            from ntkcheck.theory.hermite import hermite_coefficients
            r_max = max(r, 8)
            have = np.asarray(hermite_coefficients(self.layer_activations[l - 1], r_max, q=ql), dtype=np.float64)
            self._cache[key] = have
        return float(have[r])

    def moment(self, key: str, l: int | None = None) -> float:
        """Gaussian moment ``key`` (E_phi, E_phi2, E_dphi, E_dphi2) of φ_l at q(l), from the Hermite module."""
        l = self.L if l is None else _as_index(l, f"{key}(l)", minimum=1, maximum=self.L)
        ql = self.q(l)
        if not math.isfinite(ql) or ql <= 0:
            return float("nan")
        ck = ("moments", l)
        if ck not in self._cache:
            from ntkcheck.theory.hermite import gaussian_moments
            self._cache[ck] = gaussian_moments(self.layer_activations[l - 1], ql)
        return float(self._cache[ck][key])

    def value(self, name: str) -> float:
        """The value of a vocabulary symbol (not a function)."""
        if name == "eta":
            if self.eta is None:
                raise NtkcheckError("the name 'eta' is defined only for the convergence_rate quantity")
            return float(self.eta)
        if name not in SYMBOL_NAMES:
            raise NtkcheckError(f"unknown name {name!r}")
        if name in KERNEL_SYMBOLS:
            return self.kernel_quantity(name)
        return float(getattr(self, name))


def _entry_tol(ctx: "BoundContext", M: np.ndarray) -> float:
    """Per-entry uncertainty of an infinite-width kernel matrix (as in :mod:`.quantities`)."""
    from .quantities import CLOSED_FORM_RTOL, quad_rtol

    scale = max(1.0, float(np.max(np.abs(M)))) if M.size else 1.0
    return max(quad_rtol() * scale, float(getattr(ctx.kernels, "quadrature_error", 0.0)), CLOSED_FORM_RTOL * scale)


def _as_index(v: Any, where: str, *, minimum: int, maximum: int | None = None) -> int:
    try:
        fv = float(v)
    except (TypeError, ValueError):
        raise NtkcheckError(f"{where}: index {v!r} is not a number") from None
    if not math.isfinite(fv) or fv != int(fv):
        raise NtkcheckError(f"{where}: index {v!r} must be an integer")
    i = int(fv)
    if i < minimum or (maximum is not None and i > maximum):
        hi = "" if maximum is None else f"..{maximum}"
        raise NtkcheckError(f"{where}: index {i} out of range {minimum}{hi}")
    return i


_CALLS: Mapping[str, Callable[..., float]] = {
    "q": lambda ctx, l: ctx.q(l),
    "mu": lambda ctx, r, l=None: ctx.mu(r, l),
    "lam_min_hadamard": lambda ctx, r: ctx.lam_min_hadamard(r),
    "lam_max_hadamard": lambda ctx, r: ctx.lam_max_hadamard(r),
    **{k: (lambda ctx, l=None, k=k: ctx.moment(k, l)) for k in ("E_phi", "E_phi2", "E_dphi", "E_dphi2")},
    **{k: (lambda ctx, w, k=k: ctx.empirical_quantity(k, w)) for k in EMPIRICAL_FUNCTIONS},
}


def evaluate_bound(bound: BoundExpr | Callable[[BoundContext], float], ctx: BoundContext) -> float:
    """The bound's value on a context, as a float (NaN when it is not real, e.g. sqrt of a negative).

    Symbols are substituted first, then sums/products are expanded (``doit``), then every application of
    a vocabulary function, whose arguments are now numbers, is replaced by its value; repeated until none
    is left (``mu(1, L)`` needs ``L`` first).
    """
    if callable(bound) and not isinstance(bound, BoundExpr):
        return float(bound(ctx))
    if bound.is_relation:
        raise NtkcheckError(f"{bound.text!r} is a relation (true/false), not a number")
    expr = bound.expr
    if bound.symbols:
        expr = expr.xreplace({_SYMBOLS[s]: sp.Float(ctx.value(s), 17) if s not in ("N", "d", "L", "n", "n_skips",
                                                                                       "n_paths")
                              else sp.Integer(int(ctx.value(s))) for s in bound.symbols})
    for _ in range(8):
        expr = expr.doit() if expr.has(sp.Sum, sp.Product) else expr
        apps = [a for a in expr.atoms(AppliedUndef) if a.func.__name__ in _CALLS]
        if not apps:
            break
        ready = {a: sp.Float(_CALLS[a.func.__name__](ctx, *[_number(x, a) for x in a.args]), 17)
                 for a in apps if all(x.is_number for x in a.args)}
        if not ready:
            raise NtkcheckError(f"cannot evaluate {bound.text!r}: function arguments are not numbers")
        expr = expr.xreplace(ready)
    try:
        val = complex(sp.N(expr, 17)) if expr.is_number else None
    except (TypeError, ValueError):
        val = None
    if val is None:
        raise NtkcheckError(f"cannot evaluate {bound.text!r}: it does not reduce to a number")
    if abs(val.imag) > 1e-12 * max(1.0, abs(val.real)):
        return float("nan")
    return float(val.real)


def _number(x: sp.Basic, app: sp.Basic) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise NtkcheckError(f"argument {x} of {app} is not a real number") from None


def evaluate_assumption(assumption: BoundExpr, ctx: BoundContext) -> bool:
    """True when the assumption holds on the context (a NaN side counts as not holding)."""
    expr = assumption.expr
    syms = {_SYMBOLS[s]: sp.Float(ctx.value(s), 17) for s in assumption.symbols}
    expr = expr.xreplace(syms)
    for _ in range(8):
        expr = expr.doit() if expr.has(sp.Sum, sp.Product) else expr
        apps = [a for a in expr.atoms(AppliedUndef) if a.func.__name__ in _CALLS]
        if not apps:
            break
        expr = expr.xreplace({a: sp.Float(_CALLS[a.func.__name__](ctx, *[_number(x, a) for x in a.args]), 17)
                              for a in apps if all(x.is_number for x in a.args)})
    if expr in (sp.true, True):
        return True
    if expr in (sp.false, False):
        return False
    raise NtkcheckError(f"assumption {assumption.text!r} does not reduce to true/false")
