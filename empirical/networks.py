r"""Finite-width torch networks built from an :class:`~ntkcheck.spec.ArchSpec`.

The network is *exactly* the contract's DAG, so that its kernels converge to theory's:

* node 0 (``input="dense"``): ``node_0 = (σ_w/√d) W₀ x + σ_b b₀`` ∈ Rⁿ (the layer is named ``stem``);
  node 0 (``input="raw"``): ``node_0 = √d · x`` ∈ R^d, scaled so that its *per-coordinate* Gram
  ``(1/d)⟨node_0(x), node_0(x')⟩`` is ``XXᵀ`` — the spec's Σ₀₀ = XXᵀ for raw input (Chen et al. 2022,
  Eq. 1, with K⁽⁰⁾ = ⟨x, x'⟩).  An edge reading node 0 then has fan-in d.
* ``zero`` edges contribute nothing; ``skip:β`` contributes ``β·node_i``;
* ``dense(φ)`` contributes ``(σ_w/√n_i) W φ(node_i) + σ_b b`` (activation *then* a fresh linear map);
* ``linact(φ)`` contributes ``φ((σ_w/√n_i) W node_i + σ_b b)`` (linear map *then* activation; Chen et
  al. 2022, Eq. 2, with σ_w² = c_σ = 2);
* node j is the sum (``merge="sum"``) or the mean over its non-``zero`` incoming edges (``merge="mean"``);
* readout ``f(x) = (σ_w/√n) V φ_out(node_last) + σ_b b_out`` ∈ R^{out_dim} (the layer is named
  ``classifier``, so LGA's "classifier excluded" selection works), or ``readout="none"``: the output is
  the last node itself, whose kernels are taken per coordinate, e.g. NNGP = (1/n)⟨X^H(x), X^H(x')⟩.

Parametrization (Jacot et al. 2018; Lee et al. 2019 for "standard"):

* ``"ntk"``: trainable W, b ~ N(0, 1); the forward pass multiplies them by σ_w/√fan_in and σ_b;
* ``"standard"``: trainable W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²) used as they are (PyTorch-style layer,
  with the contract's σ's in the initialisation).  For the same seed both parametrizations draw the same
  standard normals, so they compute the *same function*; only their NTKs differ (the standard one grows
  with the width);
* ``"torch_default"``: PyTorch's own ``nn.Linear`` initialisation, which the NAS papers' code uses
  (``kaiming_uniform_(a=√5)``: W ~ U(−1/√fan_in, 1/√fan_in), and b ~ U(−1/√fan_in, 1/√fan_in), biases present by
  default), used as they are; the spec's σ's do not enter.  Its infinite-width limit is the contract's with
  σ_w² = 1/3 and σ_b² = 1/(3·fan_in) → 0, so theory/ comparisons should use ``"ntk"`` or ``"standard"``.

Widths: every hidden node has width n, except that with ``input="raw"`` a node reached only through skips
from node 0 has width d; a node receiving both (a skip chain from the raw input and a weighted edge) needs
n = d, else :class:`~ntkcheck.errors.NtkcheckError`.

Biases exist as parameters when ``bias=True``; the default ``bias=None`` means "when σ_b² > 0" (with
σ_b = 0 an NTK-parametrized bias has zero gradient anyway, and a standard-parametrized one would add a
term that the contract's network does not have).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import ArchSpec, parse_spec

__all__ = [
    "ScaledLinear",
    "SpecNetwork",
    "NetworkConfig",
    "build_network",
    "torch_activation",
    "register_torch_activation",
    "resolve_device",
    "resolve_dtype",
]

TorchFn = Callable[[torch.Tensor], torch.Tensor]
_USER_TORCH: dict[str, TorchFn] = {}


def register_torch_activation(name: str, fn: TorchFn, *, overwrite: bool = False) -> None:
    """Give a user activation (registered with :func:`ntkcheck.theory.activations.register_activation`)
    its torch form ``fn`` (elementwise, differentiable), so that networks can use it."""
    key = name.lower()
    if key in _USER_TORCH and not overwrite:
        raise NtkcheckError(f"torch activation {name!r} already registered")
    if not callable(fn):
        raise NtkcheckError("register_torch_activation needs a callable")
    _USER_TORCH[key] = fn


def torch_activation(name: str) -> TorchFn:
    """The torch function of an activation named as in the spec (``relu``, ``leaky_relu:0.2``, ...).

    The forms match :mod:`ntkcheck.theory.activations` exactly: GELU is the exact x·Φ(x), softplus is
    log(1 + eˣ) without PyTorch's linear cut-off, leaky ReLU's default slope is 0.01, ELU's α is 1.
    """
    from ntkcheck.theory.activations import get_activation, parse_activation_name

    act = get_activation(name)  # validates the name and parameters
    fam, param = parse_activation_name(act.name)
    if fam == "relu":
        return torch.relu
    if fam == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return lambda t: F.leaky_relu(t, negative_slope=slope)
    if fam == "identity":
        return lambda t: t
    if fam == "tanh":
        return torch.tanh
    if fam == "sigmoid":
        return torch.sigmoid
    if fam == "erf":
        return torch.erf
    if fam == "swish":
        return F.silu
    if fam == "gelu":
        return lambda t: F.gelu(t, approximate="none")
    if fam == "elu":
        alpha = 1.0 if param is None else float(param)
        return lambda t: F.elu(t, alpha=alpha)
    if fam == "softplus":
        return lambda t: torch.logaddexp(t, torch.zeros((), dtype=t.dtype, device=t.device))
    if fam in _USER_TORCH:
        return _USER_TORCH[fam]
    raise NtkcheckError(f"activation {act.name!r} has no torch form; register one with "
                        "ntkcheck.empirical.networks.register_torch_activation")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → cuda when available, else cpu; ``"cuda"`` without a GPU is an error."""
    if isinstance(device, torch.device):
        return device
    dev = str(device).lower()
    if dev == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NtkcheckError("device 'cuda' requested but no CUDA GPU is available")
        return torch.device(dev)
    if dev == "cpu":
        return torch.device("cpu")
    raise NtkcheckError(f"device must be auto, cpu or cuda, got {device!r}")


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``torch.float32``/``torch.float64`` or the strings ``float32``/``float64``."""
    if dtype in (torch.float32, torch.float64):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "float64": torch.float64, "fp64": torch.float64,
             "double": torch.float64, "float": torch.float32}
    if isinstance(dtype, str) and dtype.lower() in names:
        return names[dtype.lower()]
    raise NtkcheckError(f"dtype must be float32 or float64, got {dtype!r}")


class ScaledLinear(nn.Module):
    r"""``y = w_mult · a Wᵀ + b_mult · b`` with trainable W (out×in) and optional b.

    NTK parametrization: W, b ~ N(0, 1), ``w_mult = σ_w/√fan_in``, ``b_mult = σ_b``.
    Standard parametrization: W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²), ``w_mult = b_mult = 1``.
    The gradient of a scalar g w.r.t. W is ``w_mult · δ aᵀ`` with δ = ∂g/∂y, which is what the structured
    NTK engine uses: the layer's NTK contribution is ``w_mult² ⟨a, a'⟩⟨δ, δ'⟩ + b_mult² ⟨δ, δ'⟩``.
    """

    def __init__(self, fan_in: int, fan_out: int, *, bias: bool, w_mult: float, b_mult: float):
        super().__init__()
        self.fan_in, self.fan_out = int(fan_in), int(fan_out)
        self.weight = nn.Parameter(torch.empty(fan_out, fan_in, dtype=torch.float64))
        self.bias = nn.Parameter(torch.empty(fan_out, dtype=torch.float64)) if bias else None
        self.w_mult = float(w_mult)
        self.b_mult = float(b_mult)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        y = F.linear(a, self.weight)
        if self.w_mult != 1.0:
            y = y * self.w_mult
        if self.bias is not None:
            y = y + (self.bias * self.b_mult if self.b_mult != 1.0 else self.bias)
        return y

    def extra_repr(self) -> str:
        return (f"fan_in={self.fan_in}, fan_out={self.fan_out}, bias={self.bias is not None}, "
                f"w_mult={self.w_mult:.6g}, b_mult={self.b_mult:.6g}")


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that determines a :class:`SpecNetwork` (recorded in reports)."""

    spec: ArchSpec
    d_in: int
    width: int
    out_dim: int = 1
    parametrization: str = "ntk"
    seed: int = 0
    bias: bool = False

    def to_json(self) -> dict:
        return {"spec": self.spec.to_json(), "d_in": self.d_in, "width": self.width, "out_dim": self.out_dim,
                "parametrization": self.parametrization, "seed": self.seed, "bias": self.bias}


def _node_widths(spec: ArchSpec, d_in: int, width: int) -> list[int]:
    """Width of every node (see the module docstring)."""
    widths: list[int] = [d_in if spec.input == "raw" else width]
    for j in range(1, spec.nodes):
        ws = set()
        for e in spec.incoming(j):
            if e.kind == "zero" or (e.kind == "skip" and e.src in spec.zero_nodes):
                continue
            ws.add(width if e.has_weights else widths[e.src])
        if len(ws) > 1:
            raise NtkcheckError(f"node {j} adds a skip from the raw input (width d={d_in}) to a weighted edge "
                                f"(width n={width}); use width = d for this spec")
        widths.append(ws.pop() if ws else width)
    return widths


class SpecNetwork(nn.Module):
    """The contract's network for one spec (build it with :func:`build_network`).

    ``forward(X)`` returns (N, out_dim) (or (N, n) for ``readout="none"``); ``nodes(X)`` every node;
    ``features(X)`` the readout's input φ_out(node_last) (the last node itself for ``readout="none"``);
    ``nngp(X)`` the per-coordinate NNGP estimate of one network (see :meth:`nngp`).
    """

    #: Samples never interact (no batch norm): per-sample gradients may be taken from one batched pass.
    independent_samples = True

    def __init__(self, config: NetworkConfig):
        super().__init__()
        spec = config.spec
        self.config = config
        self.spec = spec
        self.d_in, self.width, self.out_dim = config.d_in, config.width, config.out_dim
        self.parametrization = config.parametrization
        self.node_widths = _node_widths(spec, config.d_in, config.width)
        sw, sb = math.sqrt(spec.sigma_w2), math.sqrt(spec.sigma_b2)
        ntk = config.parametrization == "ntk"
        self._init_scales: dict[str, tuple[float, float]] = {}

        def layer(name: str, fan_in: int, fan_out: int) -> ScaledLinear:
            w_mult, b_mult = (sw / math.sqrt(fan_in), sb) if ntk else (1.0, 1.0)
            if config.parametrization == "torch_default":  # uniform bounds, not standard deviations
                self._init_scales[name] = (1.0 / math.sqrt(fan_in), 1.0 / math.sqrt(fan_in))
            else:
                self._init_scales[name] = (1.0, 1.0) if ntk else (sw / math.sqrt(fan_in), sb)
            return ScaledLinear(fan_in, fan_out, bias=config.bias, w_mult=w_mult, b_mult=b_mult)

        self.stem = layer("stem", config.d_in, config.width) if spec.input == "dense" else None
        self.edge_layers = nn.ModuleDict()
        self._edge_keys: list[str | None] = []
        self._edge_acts: list[TorchFn | None] = []
        for k, e in enumerate(spec.edges):
            if e.has_weights:
                key = f"e{k}_{e.src}_{e.dst}"
                self.edge_layers[key] = layer(f"edge_layers.{key}", self.node_widths[e.src], config.width)
                self._edge_keys.append(key)
                self._edge_acts.append(torch_activation(e.activation))
            else:
                self._edge_keys.append(None)
                self._edge_acts.append(None)
        last = self.node_widths[spec.output_node]
        if spec.readout != "none":
            self.readout_fn: TorchFn | None = torch_activation(spec.readout)
            self.classifier = layer("classifier", last, config.out_dim)
        else:
            self.readout_fn = None
            self.classifier = None
        self._reset_parameters(config.seed)

    # ---- initialisation ---------------------------------------------------------------------------
    def _reset_parameters(self, seed: int) -> None:
        """Draw every parameter from one CPU generator in a fixed order (device-independent)."""
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        uniform = self.parametrization == "torch_default"

        def draw(shape, scale):
            if uniform:  # U(−scale, scale), as nn.Linear.reset_parameters
                return (2 * torch.rand(shape, generator=gen, dtype=torch.float64) - 1) * scale
            return torch.randn(shape, generator=gen, dtype=torch.float64) * scale

        with torch.no_grad():
            for name, mod in self.named_modules():
                if isinstance(mod, ScaledLinear):
                    ws, bs = self._init_scales[name]
                    mod.weight.copy_(draw(mod.weight.shape, ws))
                    if mod.bias is not None:
                        mod.bias.copy_(draw(mod.bias.shape, bs))

    # ---- forward ----------------------------------------------------------------------------------
    def nodes(self, X: torch.Tensor) -> list[torch.Tensor]:
        """All node values, node_0 … node_last, each (N, width of the node)."""
        spec = self.spec
        if X.dim() != 2 or X.shape[1] != self.d_in:
            raise NtkcheckError(f"network expects inputs of shape (N, {self.d_in}), got {tuple(X.shape)}")
        if spec.input == "dense":
            vals = [self.stem(X)]
        else:
            vals = [X * math.sqrt(self.d_in)]
        N = X.shape[0]
        for j in range(1, spec.nodes):
            acc = None
            count = 0
            for k, e in enumerate(spec.edges):
                if e.dst != j or e.kind == "zero":
                    continue
                count += 1
                src = vals[e.src]
                if e.kind == "skip" and e.src in spec.zero_nodes:
                    continue  # an identically zero field (its width may differ from node j's)
                if e.kind == "skip":
                    term = src if e.scale == 1.0 else src * e.scale
                elif e.kind == "dense":
                    term = self.edge_layers[self._edge_keys[k]](self._edge_acts[k](src))
                else:  # linact
                    term = self._edge_acts[k](self.edge_layers[self._edge_keys[k]](src))
                acc = term if acc is None else acc + term
            if acc is None:
                acc = X.new_zeros(N, self.node_widths[j])
            elif spec.merge == "mean" and count > 1:
                acc = acc / count
            vals.append(acc)
        return vals

    def features(self, X: torch.Tensor) -> torch.Tensor:
        """The readout's input φ_out(node_last) (N, n); the last node for ``readout="none"``."""
        h = self.nodes(X)[-1]
        return h if self.readout_fn is None else self.readout_fn(h)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = self.features(X)
        return h if self.classifier is None else self.classifier(h)

    @torch.no_grad()
    def nngp(self, X: torch.Tensor) -> torch.Tensor:
        r"""One network's NNGP estimate in the contract's normalization (float64, N×N):

        activation readout: ``K̂ = σ_w² (1/n)⟨φ_out(h(x)), φ_out(h(x'))⟩ + σ_b²`` (→ σ_w² E[φ_out φ_out] + σ_b²);
        ``readout="none"``: ``K̂ = (1/n)⟨h(x), h(x')⟩`` with h the last node.
        """
        phi = self.features(X).to(torch.float64)
        K = phi @ phi.T / phi.shape[1]
        if self.readout_fn is not None:
            K = self.spec.sigma_w2 * K + self.spec.sigma_b2
        return K


def build_network(spec, d_in: int, width: int, *, out_dim: int = 1, parametrization: str = "ntk",
                  seed: int = 0, device: str | torch.device = "auto", dtype: str | torch.dtype = torch.float64,
                  bias: bool | None = None) -> SpecNetwork:
    """Build the contract's network for ``spec`` (see the module docstring), seeded and on ``device``.

    Raises :class:`~ntkcheck.errors.NtkcheckError` for width ≤ 0, d_in ≤ 0, out_dim ≤ 0, an unknown
    parametrization/device/dtype, or an activation without a torch form.
    """
    spec = parse_spec(spec)
    for what, v in (("width", width), ("d_in", d_in), ("out_dim", out_dim)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
            raise NtkcheckError(f"{what} must be a positive integer, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise NtkcheckError(f"seed must be an integer, got {seed!r}")
    width, d_in, out_dim, seed = int(width), int(d_in), int(out_dim), int(seed)
    if parametrization not in ("ntk", "standard", "torch_default"):
        raise NtkcheckError(f"parametrization must be 'ntk', 'standard' or 'torch_default', got {parametrization!r}")
    if spec.readout == "none" and out_dim != 1:
        raise NtkcheckError("readout 'none' has no output layer: out_dim does not apply")
    if bias is None:  # PyTorch's layers have biases by default; the contract's only when σ_b² > 0
        use_bias = True if parametrization == "torch_default" else spec.sigma_b2 > 0
    else:
        use_bias = bool(bias)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    cfg = NetworkConfig(spec=spec, d_in=d_in, width=width, out_dim=out_dim, parametrization=parametrization,
                        seed=seed, bias=use_bias)
    return SpecNetwork(cfg).to(device=dev, dtype=dt)
