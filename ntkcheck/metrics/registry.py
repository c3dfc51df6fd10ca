r"""The training-free metrics of ntkcheck, each defined once and used by ``sweep``, ``verify`` and ``search`` alike.

A metric is one small function ``fn(arch: Arch, inputs: Inputs, seed: int, cfg: dict) -> float | Value``
registered once with :func:`register`::

    @register("params", "number of parameters of the NB201 benchmark network (or the fc net)",
              needs={"torch"}, config={"C": 16, "N": 5, "width": 256}, direction="max")
    def _params(arch, inputs, seed, cfg):
        return float(sum(p.numel() for p in _network(arch, cfg, seed).parameters()))

* ``needs``: a subset of {"torch", "gpu", "labels"}; "gpu" means the metric benefits from a GPU (on a Dask
  cluster its tasks ask for ``resources={"GPU": 1}``), it still runs on a CPU.
* ``config``: every setting that changes the value, with its default.  :func:`resolve_config` merges the user's
  overrides (unknown keys are errors, values keep the default's type) and the metric's own ``resolve`` hook
  (e.g. ``kappa``'s batch size follows its mode); :func:`config_hash` hashes the result together with the metric
  name, its ``version`` (bump it when the code changes a value), the input source's fingerprint and the space.
* ``direction``: "max" or "min", the better end of the metric (TE-NAS κ_N: "min").
* ``centre``: for a metric whose better values lie in a central window rather than at one end (Chen et al.'s
  d̄, m̄), the window's centre; :func:`better_score` then ranks by closeness to it.
* ``spaces``: the search spaces it is defined on ("nb201" cells, "fc" specs of the contract).
* ``reads_inputs``: False for a function of the architecture alone (``dbar``, ``params``, ``flops``...): its
  config hash then leaves the input source out (:data:`NO_INPUTS`), so a store keeps such a metric whatever
  ``--images`` / ``--n-images`` a later sweep uses.
* The function returns a float, or a :class:`Value` with a status ("ok", "singular") and a one-line message.
  Exceptions become status "error" in :func:`evaluate`.  ``arch.memo`` is a per-architecture dict for sharing
  a kernel between metrics in one task (keys must include every config entry the shared object depends on).

torch is imported only inside the torch metrics, so ``theory``-only metrics (``dbar``, ``ntk_lambda_min``…) and
``ntkcheck sweep --list`` start without it.  Papers cited: [TE] Chen, Gong, Wang, ICLR 2021; [LGA] Mok et al., CVPR 2022;
[Z] Zhu et al., NeurIPS 2022; [C] Chen et al., NeurIPS 2022; NASWOT: Mellor, Turner, Storkey,
Crowley, "Neural Architecture Search without Training", ICML 2021 (``hook_logdet``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


from ntkcheck.errors import NtkcheckError
from ntkcheck.threads import pin_torch_threads, single_threaded
from ntkcheck.sweep.inputs import Inputs
from ntkcheck.spec import ArchSpec, parse_spec

__all__ = ["NO_INPUTS", "better_score", "Metric", "Value", "Arch", "Result", "METRICS", "register", "get_metric",
           "resolve_config", "config_hash", "evaluate", "single_threaded", "metric_names"]

NEEDS = frozenset({"torch", "gpu", "labels"})


@dataclass(frozen=True)
class Value:
    """A metric value with its status: "ok" or "singular" (the value is then what the definition gives, e.g.
    κ = inf or a λ_min within its error bound of 0), and a one-line message."""

    value: float
    status: str = "ok"
    message: str = ""


@dataclass(frozen=True)
class Result:
    """One evaluated (architecture, metric): value, status ok/singular/error, message, seconds, device."""

    value: float
    status: str
    message: str
    seconds: float
    device: str


@dataclass
class Arch:
    """An architecture of a space: ``key`` (the NB201 string, or the spec's compact JSON), ``space`` ("nb201" or
    "fc"), the parsed ``spec`` (for NB201 its fully connected analog), ``device`` and a per-task ``memo``."""

    key: str
    space: str
    device: str = "cpu"
    memo: dict = field(default_factory=dict)

    @property
    def cell(self) -> str:
        if self.space != "nb201":
            raise NtkcheckError(f"{self.key} is not an NB201 cell")
        return self.key

    @property
    def spec(self) -> ArchSpec:
        if "_spec" not in self.memo:
            self.memo["_spec"] = parse_spec({"nb201": self.key} if self.space == "nb201" else json.loads(self.key))
        return self.memo["_spec"]


@dataclass(frozen=True)
class Metric:
    name: str
    doc: str
    fn: Callable[[Arch, Inputs, int, dict], Any]
    needs: frozenset
    config: Mapping[str, Any]
    direction: str
    spaces: tuple[str, ...]
    version: int = 1
    resolve: Callable[[dict], dict] | None = None
    reads_inputs: bool = True
    centre: float | None = None

    @property
    def better(self) -> str:
        """The metric's notion of better in words: "max", "min" or "centre 1.625"."""
        return self.direction if self.centre is None else f"closest to {self.centre:.4g}"


#: what the store records as the input source of a metric that reads no images
NO_INPUTS = "none (a function of the architecture alone)"

METRICS: dict[str, Metric] = {}


def register(name: str, doc: str, *, needs=(), config: Mapping[str, Any] | None = None, direction: str = "max",
             spaces: tuple[str, ...] = ("nb201", "fc"), version: int = 1,
             resolve: Callable[[dict], dict] | None = None, reads_inputs: bool = True,
             centre: float | None = None):
    """Decorator: register ``fn`` as metric ``name`` (see the module docstring).  A name registers once."""
    needs = frozenset(needs)
    if needs - NEEDS:
        raise ValueError(f"unknown needs {sorted(needs - NEEDS)}")
    if direction not in ("max", "min"):
        raise ValueError("direction must be 'max' or 'min'")
    if "\n" in doc:
        raise ValueError("a metric's doc is one line")

    def deco(fn):
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        METRICS[name] = Metric(name, doc, fn, needs, dict(config or {}), direction, tuple(spaces), version, resolve,
                               bool(reads_inputs), None if centre is None else float(centre))
        return fn

    return deco


def metric_names() -> tuple[str, ...]:
    return tuple(METRICS)


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise NtkcheckError(f"unknown metric {name!r} (known: {', '.join(METRICS)})")
    return METRICS[name]


def _coerce(metric: str, key: str, v: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0"):
            return v.lower() in ("true", "1")
        if isinstance(v, bool):
            return v
    elif isinstance(default, int):
        try:
            out = int(v)
            if str(out) == str(v).strip() or isinstance(v, int):
                return out
        except (TypeError, ValueError):
            pass
    elif isinstance(default, float):
        try:
            out = float(v)
            if math.isfinite(out):
                return out
        except (TypeError, ValueError):
            pass
    elif isinstance(default, str) and isinstance(v, str):
        return v
    raise NtkcheckError(f"{metric}.{key}: {v!r} is not a valid {type(default).__name__}")


def resolve_config(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metric's full configuration: defaults, then ``overrides`` (validated), then its ``resolve`` hook."""
    m = get_metric(name)
    cfg = dict(m.config)
    for k, v in (overrides or {}).items():
        if k not in cfg:
            known = ", ".join(cfg) or "none"
            raise NtkcheckError(f"metric {name} has no setting {k!r} (settings: {known})")
        cfg[k] = _coerce(name, k, v, m.config[k])
    return m.resolve(cfg) if m.resolve else cfg


def config_hash(name: str, cfg: Mapping[str, Any], inputs_fingerprint: str, space: str) -> str:
    """sha256 (16 hex digits) of everything that fixes a metric's value apart from the architecture and seed.
    The input source enters only for a metric that reads it (``reads_inputs``)."""
    m = get_metric(name)
    blob = json.dumps({"metric": name, "version": m.version, "config": dict(cfg),
                       "inputs": inputs_fingerprint if m.reads_inputs else NO_INPUTS,
                       "space": space}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def better_score(name: str, values):
    """The metric's values oriented so that higher is better: v ("max"), −v ("min"), −|v − centre| (a central
    window).  NaN stays NaN.  A metric not in the registry (an old store) counts as "max"."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    m = METRICS.get(name)
    if m is None or (m.centre is None and m.direction == "max"):
        return v
    if m.centre is not None:
        return -np.abs(v - m.centre)
    return -v


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {msg}"[:300]


def evaluate(name: str, arch: Arch, inputs: Inputs, seed: int, cfg: Mapping[str, Any], *,
             limit_threads: bool = True) -> Result:
    """Run one metric on one architecture; any exception becomes status "error" with a one-line message.
    BLAS and torch run single-threaded so that a value does not depend on how many run side by side
    (``limit_threads=False``: the caller holds :func:`single_threaded` already)."""
    m = get_metric(name)
    t0 = time.perf_counter()
    try:
        if arch.space not in m.spaces:
            raise NtkcheckError(f"metric {name} is not defined on the {arch.space} space")
        with single_threaded() if limit_threads else contextlib.nullcontext():
            if "torch" in m.needs:
                pin_torch_threads()
            out = m.fn(arch, inputs, int(seed), dict(cfg))
        v = out if isinstance(out, Value) else Value(float(out))
        return Result(float(v.value), v.status, v.message, time.perf_counter() - t0, arch.device)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a metric that raises is recorded as an error row
        return Result(math.nan, "error", _one_line(exc), time.perf_counter() - t0, arch.device)


