r"""Architecture specs: JSON (or a dict) → a frozen, validated :class:`ArchSpec`.

The architecture contract (README "Architectures: the spec format").  An architecture is a DAG with nodes ``0..nodes-1``:

* node 0 is the input embedding, ``node_0 = (σ_w/√d) W₀ x + σ_b b₀`` (``input="dense"``, the default),
  or the raw input with Σ₀₀ = XXᵀ (``input="raw"``, the convention of Chen et al. 2022, Eq. 1);
* every other node j is the sum (``merge="sum"``) or mean over its non-zero incoming edges
  (``merge="mean"``, divided by the number of incoming edges whose op is not ``zero``);
* edge ops, written as strings in the JSON:

  ============================  =================================================================
  ``zero``                      contributes nothing (NAS-Bench-201 "none")
  ``skip`` / ``skip:β``         contributes β·node_i (β = 1 by default)
  ``dense:<act>``               (σ_w/√n) W φ(node_i) + σ_b b — activation *then* a fresh linear map
  ``linact:<act>``              φ((σ_w/√n) W node_i + σ_b b) — linear map *then* activation (Chen et al.
                                2022's edge; with σ_w² = 2 and ReLU it is their √(2/m)·ReLU(W x))
  ============================  =================================================================

* the readout is ``f(x) = (σ_w/√n) v·φ_out(node_last) + σ_b b_out`` with ``readout = "<act>"``, or
  ``readout = "none"``: the output is the last node itself (its per-coordinate kernel, as in Chen et
  al. 2022's Theorem 3.1, which has no readout).

Shorthands expand to this form: ``{"fc": [...]}`` (one activation per weighted layer, the last one the
readout's; with an explicit ``"readout"`` every entry is a hidden dense layer), ``{"fc": [...], "skips": [[i, j], ...]}``,
``{"residual": [...]}``, ``{"nb201": "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"}`` and
``{"nb201": CELL, "kernel": "conv", "image": [C, H, W]}`` (the cell as the *convolutional* network of
:mod:`ntkcheck.theory.conv_kernels`, a :class:`ConvCellSpec`, parsed by :func:`parse_any_spec` only; the fully
connected analog stays the default, ``"kernel": "fc"``) and
``{"chen_dag": "2_21_112"}`` (the official code's DAG string of Chen et al. 2022: one group per target
node, one digit per source: 0 zero, 1 skip, 2 linear+ReLU).

A spec is validated once, here, at the edge; everything downstream may assume it is well formed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import NtkcheckError

__all__ = [
    "Edge",
    "ArchSpec",
    "ConvCellSpec",
    "parse_spec",
    "parse_any_spec",
    "load_spec",
    "fc_spec",
    "residual_spec",
    "nb201_spec",
    "parse_nb201",
    "nb201_string",
    "chen_dag_spec",
    "NB201_OPS",
    "NB201_EDGES",
    "NB201_ANALOG",
]

EDGE_KINDS = ("zero", "skip", "dense", "linact")

#: The five NAS-Bench-201 operations, in the benchmark's order.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: The six cell edges (src, dst) in the order of the NB201 string (grouped by target node).
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: The fully connected analog of each NB201 op: convolutions are ReLU-then-linear,
#: average pooling has no width-wise analog and maps to an identity (as the connectivity paper's
#: code counts pooling as depth 0).
NB201_ANALOG = {"none": "zero", "skip_connect": "skip", "nor_conv_1x1": "dense:relu",
                "nor_conv_3x3": "dense:relu", "avg_pool_3x3": "skip"}


@dataclass(frozen=True)
class Edge:
    """One edge ``src → dst`` with its operation (see the module docstring)."""

    src: int
    dst: int
    kind: str
    activation: str | None = None
    scale: float = 1.0

    @property
    def op(self) -> str:
        """The edge's op in spec-string form, e.g. ``"dense:tanh"`` or ``"skip:0.5"``."""
        if self.kind in ("dense", "linact"):
            return f"{self.kind}:{self.activation}"
        if self.kind == "skip" and self.scale != 1.0:
            return f"skip:{self.scale!r}"
        return self.kind

    @property
    def has_weights(self) -> bool:
        return self.kind in ("dense", "linact")


@dataclass(frozen=True)
class ArchSpec:
    """A validated architecture (see the module docstring for the semantics of each field).

    ``name`` records where the spec came from (e.g. the NB201 string) and ``note`` any modelling choice
    a report must mention (e.g. that an NB201 cell is represented by its fully connected analog).
    """

    nodes: int
    edges: tuple[Edge, ...]
    readout: str = "relu"
    sigma_w2: float = 2.0
    sigma_b2: float = 0.0
    merge: str = "sum"
    input: str = "dense"
    name: str | None = field(default=None, compare=False)
    note: str | None = field(default=None, compare=False)

    # ---- structure -------------------------------------------------------------------------------
    @property
    def output_node(self) -> int:
        return self.nodes - 1

    def incoming(self, j: int) -> tuple[Edge, ...]:
        """Edges into node j, in spec order."""
        return tuple(e for e in self.edges if e.dst == j)

    @cached_property
    def activations(self) -> tuple[str, ...]:
        """Activation names in order of use (edges, then the readout), without repetition."""
        seen: list[str] = []
        for a in [e.activation for e in self.edges if e.activation] + ([self.readout] if self.readout != "none" else []):
            if a not in seen:
                seen.append(a)
        return tuple(seen)

    @property
    def n_skips(self) -> int:
        return sum(e.kind == "skip" for e in self.edges)

    @property
    def n_dense(self) -> int:
        return sum(e.has_weights for e in self.edges)

    @property
    def L(self) -> int:
        """Number of weighted layers: weighted edges plus the readout (contract §10)."""
        return self.n_dense + (0 if self.readout == "none" else 1)

    @cached_property
    def path_depths(self) -> tuple[int, ...]:
        """Depth (number of weighted edges) of every directed path 0 → last node through non-zero edges.

        Parallel edges give separate paths; k residual blocks give 2^k paths (this tuple has one entry per path;
        use :attr:`path_depth_histogram` for large DAGs).
        """
        return tuple(d for d, c in self.path_depth_histogram.items() for _ in range(c))

    @cached_property
    def path_depth_histogram(self) -> dict[int, int]:
        """{depth: number of 0 → last-node paths with that many weighted edges}, by dynamic programming over
        the DAG (polynomial, unlike listing the paths: k residual blocks have 2^k paths)."""
        hist: list[dict[int, int]] = [dict() for _ in range(self.nodes)]
        hist[0] = {0: 1}
        for j in range(1, self.nodes):
            for e in self.incoming(j):
                if e.kind == "zero":
                    continue
                for dep, cnt in hist[e.src].items():
                    key = dep + int(e.has_weights)
                    hist[j][key] = hist[j].get(key, 0) + cnt
        return dict(sorted(hist[self.output_node].items()))

    @property
    def n_paths(self) -> int:
        return sum(self.path_depth_histogram.values())

    @cached_property
    def zero_nodes(self) -> frozenset[int]:
        """Nodes that are identically zero: every incoming edge is ``zero`` or a skip from a zero node.

        (A weighted edge from a zero node is not zero in general: it outputs φ(0) and biases.)
        """
        zero: set[int] = set()
        for j in range(1, self.nodes):
            if all(e.kind == "zero" or (e.kind == "skip" and e.src in zero) for e in self.incoming(j)):
                zero.add(j)
        return frozenset(zero)

    @property
    def is_degenerate(self) -> bool:
        """True when no directed path joins the input to the output: the output does not depend on x,
        so every Gram matrix is constant (0 without biases) and λ_min = 0 is reported as "degenerate"."""
        reach = {0}
        for j in range(1, self.nodes):
            if any(e.kind != "zero" and e.src in reach for e in self.incoming(j)):
                reach.add(j)
        return self.output_node not in reach

    # ---- serialisation ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"nodes": self.nodes, "edges": [[e.src, e.dst, e.op] for e in self.edges],
                             "readout": self.readout, "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2,
                             "merge": self.merge, "input": self.input}
        if self.name:
            d["name"] = self.name
        if self.note:
            d["note"] = self.note
        return d

    def with_(self, **changes: Any) -> "ArchSpec":
        """A copy with fields changed, validated again."""
        return parse_spec({**self.to_json(), **changes})

    def __str__(self) -> str:
        return self.name or json.dumps(self.to_json()["edges"])


# ---- parsing -------------------------------------------------------------------------------------

def _check_activation(name: Any, where: str) -> str:
    from ntkcheck.theory.activations import get_activation  # numpy/sympy only

    if not isinstance(name, str):
        raise NtkcheckError(f"{where}: activation must be a string, got {name!r}")
    try:
        return get_activation(name).name
    except NtkcheckError as exc:
        raise NtkcheckError(f"{where}: {exc}") from None


def _parse_op(op: Any, where: str) -> tuple[str, str | None, float]:
    if not isinstance(op, str) or not op.strip():
        raise NtkcheckError(f"{where}: edge op must be a string like 'dense:relu', got {op!r}")
    kind, _, arg = op.strip().partition(":")
    kind = kind.lower()
    if kind == "zero" or kind == "none":
        if arg:
            raise NtkcheckError(f"{where}: op 'zero' takes no argument")
        return "zero", None, 1.0
    if kind in ("skip", "identity"):
        scale = 1.0
        if arg:
            try:
                scale = float(arg)
            except ValueError:
                raise NtkcheckError(f"{where}: skip scale in {op!r} is not a number") from None
            if not math.isfinite(scale):
                raise NtkcheckError(f"{where}: skip scale must be finite")
        return "skip", None, scale
    if kind in ("dense", "linact"):
        if not arg:
            raise NtkcheckError(f"{where}: op {op!r} needs an activation, e.g. '{kind}:relu'")
        return kind, _check_activation(arg, where), 1.0
    raise NtkcheckError(f"{where}: unknown edge op {op!r} (expected zero, skip[:β], dense:<act>, linact:<act>)")


def _as_int(v: Any, what: str) -> int:
    import numbers

    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)) or int(v) != v:
        raise NtkcheckError(f"{what} must be an integer, got {v!r}")
    return int(v)


def _as_float(v: Any, what: str) -> float:
    import numbers

    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise NtkcheckError(f"{what} must be a number, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise NtkcheckError(f"{what} must be finite, got {v}")
    return v


def _find_cycle(nodes: int, edges: Iterable[tuple[int, int]]) -> list[int] | None:
    adj: dict[int, list[int]] = {i: [] for i in range(nodes)}
    for s, t in edges:
        adj[s].append(t)
    color = [0] * nodes
    stack_path: list[int] = []

    def dfs(u: int) -> list[int] | None:
        color[u] = 1
        stack_path.append(u)
        for v in adj[u]:
            if color[v] == 1:
                return stack_path[stack_path.index(v):] + [v]
            if color[v] == 0:
                c = dfs(v)
                if c:
                    return c
        stack_path.pop()
        color[u] = 2
        return None

    for u in range(nodes):
        if color[u] == 0:
            c = dfs(u)
            if c:
                return c
    return None


_KNOWN_KEYS = {"nodes", "edges", "readout", "sigma_w2", "sigma_b2", "merge", "input", "name", "note",
               "fc", "skips", "residual", "nb201", "chen_dag", "kernel"}


def _expand_shorthand(d: Mapping[str, Any]) -> dict[str, Any]:
    d = dict(d)
    forms = [k for k in ("fc", "residual", "nb201", "chen_dag") if k in d]
    if len(forms) > 1:
        raise NtkcheckError(f"spec has more than one shorthand: {forms}")
    if forms and "edges" in d:
        raise NtkcheckError(f"spec has both '{forms[0]}' and 'edges'")
    if "skips" in d and "fc" not in d:
        raise NtkcheckError("'skips' is only valid together with 'fc'")
    if not forms:
        return d
    form = forms[0]
    fixed = {"fc": ("nodes",), "residual": ("nodes",), "nb201": ("nodes",),
             "chen_dag": ("nodes", "readout", "input", "sigma_w2", "sigma_b2")}[form]
    clash = [k for k in fixed if k in d]
    if clash:
        why = f"'{form}' fixes them"
        raise NtkcheckError(f"spec key(s) {clash} conflict with the '{form}' shorthand ({why})")
    body = d.pop(form)
    if form == "fc":
        acts = _act_list(body, "fc")
        for k, a in enumerate(acts):
            _check_activation(a, f"fc[{k}]")
        # Without an explicit 'readout' the last entry is the readout's activation (L entries = L weighted
        # layers, contract §10); with one, every entry is a hidden dense layer and the readout is the given one.
        L = len(acts) if "readout" not in d else len(acts) + 1
        edges: list[list[Any]] = [[l - 1, l, f"dense:{acts[l - 1]}"] for l in range(1, L)]
        for k, sk in enumerate(d.pop("skips", []) or []):
            if not isinstance(sk, (list, tuple)) or len(sk) not in (2, 3):
                raise NtkcheckError(f"skips[{k}] must be [i, j] or [i, j, scale], got {sk!r}")
            i, j = _as_int(sk[0], f"skips[{k}][0]"), _as_int(sk[1], f"skips[{k}][1]")
            op = "skip" if len(sk) == 2 else f"skip:{_as_float(sk[2], f'skips[{k}][2]')!r}"
            edges.append([i, j, op])
        d.setdefault("readout", acts[-1])
        d.update(nodes=L, edges=edges)
    elif form == "residual":
        acts = _act_list(body, "residual")
        edges = []
        for l, a in enumerate(acts, start=1):
            edges += [[l - 1, l, f"dense:{a}"], [l - 1, l, "skip"]]
        d.setdefault("readout", acts[-1])
        d.update(nodes=len(acts) + 1, edges=edges)
    elif form == "nb201":
        ops = parse_nb201(body)
        d.update(nodes=4, edges=[[s, t, NB201_ANALOG[o]] for (s, t), o in zip(NB201_EDGES, ops)])
        d.setdefault("readout", "relu")
        d.setdefault("name", nb201_string(ops))
        d.setdefault("note", "NAS-Bench-201 cell as its fully connected analog (conv → dense:relu, avg_pool → skip)")
    elif form == "chen_dag":
        d.update(_chen_dag_fields(body))
    return d


def _act_list(body: Any, key: str) -> list[str]:
    if not isinstance(body, (list, tuple)) or not body:
        raise NtkcheckError(f"'{key}' must be a non-empty list of activation names")
    return [str(a) for a in body]


def _chen_dag_fields(code: Any) -> dict[str, Any]:
    if not isinstance(code, str):
        raise NtkcheckError(f"chen_dag must be a string like '2_21_112', got {code!r}")
    groups = code.strip().split("_")
    edges = []
    for g, digits in enumerate(groups, start=1):
        if len(digits) != g or any(c not in "012" for c in digits):
            raise NtkcheckError(f"malformed chen_dag {code!r}: group {g} must have {g} digits from 0/1/2")
        for s, c in enumerate(digits):
            edges.append([s, g, {"0": "zero", "1": "skip", "2": "linact:relu"}[c]])
    return {"nodes": len(groups) + 1, "edges": edges, "readout": "none", "input": "raw",
            "sigma_w2": 2.0, "sigma_b2": 0.0, "name": f"chen_dag:{code.strip()}",
            "note": "Chen et al. 2022 DAG (Eq. 1-2): linear+ReLU edges with c_sigma = 2, no bias, raw centred input"}


#: The spec name ``example``: the DAG shipped as ``ntkcheck/examples/dag.json`` (README "Examples").
EXAMPLE = "example"


def example_spec_text() -> str:
    """The JSON text of the bundled example DAG (what the spec name ``example`` stands for)."""
    from importlib import resources

    return resources.files("ntkcheck").joinpath("examples/dag.json").read_text(encoding="utf-8")


def parse_spec(obj: Mapping[str, Any] | str | os.PathLike | ArchSpec) -> ArchSpec:
    """Parse and validate a spec given as a dict, a JSON string, a path to a JSON file, an NB201 string, or the
    name ``example`` (the bundled DAG, ``ntkcheck/examples/dag.json``).

    Raises :class:`~ntkcheck.errors.NtkcheckError` with a one-line message for any malformed spec.
    """
    if isinstance(obj, ArchSpec):
        return obj
    if isinstance(obj, os.PathLike):
        return load_spec(obj)
    if isinstance(obj, str):
        s = obj.strip()
        if s == EXAMPLE and not os.path.exists(s):
            s = example_spec_text()
        if s.startswith("|"):
            return nb201_spec(s)
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except json.JSONDecodeError as exc:
                raise NtkcheckError(f"spec is not valid JSON: {exc}") from None
        else:
            return load_spec(s)
    if not isinstance(obj, Mapping):
        raise NtkcheckError(f"spec must be a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - _KNOWN_KEYS
    kernel = obj.get("kernel", "fc")
    if kernel == "conv" or "image" in obj:
        raise NtkcheckError("a spec with \"kernel\": \"conv\" / \"image\" is a convolutional NB201 cell: only "
                            "`ntkcheck kernel` and the conv_* metrics evaluate it (parse it with parse_any_spec)")
    if unknown:
        raise NtkcheckError(f"spec has unknown key(s): {sorted(unknown)}")
    if kernel != "fc":
        raise NtkcheckError(f"'kernel' must be 'fc' (default) or 'conv', got {kernel!r}")
    if "kernel" in obj and "nb201" not in obj:
        raise NtkcheckError("'kernel' is only valid together with 'nb201'")
    d = _expand_shorthand({k: v for k, v in obj.items() if k != "kernel"})
    if "nodes" not in d or "edges" not in d:
        raise NtkcheckError("spec needs 'nodes' and 'edges' (or a shorthand: fc, residual, nb201, chen_dag)")
    nodes = _as_int(d["nodes"], "'nodes'")
    if nodes < 1:
        raise NtkcheckError(f"'nodes' must be >= 1 (node 0 is the input), got {nodes}")
    raw_edges = d["edges"]
    if not isinstance(raw_edges, (list, tuple)):
        raise NtkcheckError("'edges' must be a list of [src, dst, op]")
    edges: list[Edge] = []
    for k, e in enumerate(raw_edges):
        where = f"edge {k}"
        if not isinstance(e, (list, tuple)) or len(e) != 3:
            raise NtkcheckError(f"{where} must be [src, dst, op], got {e!r}")
        s, t = _as_int(e[0], f"{where} src"), _as_int(e[1], f"{where} dst")
        where = f"edge {k} ({s}→{t})"
        if not (0 <= s < nodes and 0 <= t < nodes):
            raise NtkcheckError(f"{where}: node index out of range 0..{nodes - 1}")
        if s == t:
            raise NtkcheckError(f"{where}: edge from a node to itself (self-loop)")
        if t == 0:
            raise NtkcheckError(f"{where}: node 0 is the input and cannot have incoming edges")
        kind, act, scale = _parse_op(e[2], where)
        edges.append(Edge(s, t, kind, act, scale))
    backward = [e for e in edges if e.src > e.dst]
    if backward:
        cyc = _find_cycle(nodes, [(e.src, e.dst) for e in edges])
        if cyc:
            raise NtkcheckError(f"spec graph has a cycle: {' → '.join(map(str, cyc))}")
        e = backward[0]
        raise NtkcheckError(f"edge {e.src}→{e.dst} goes from a later to an earlier node; "
                            "number nodes in topological order (src < dst)")
    for j in range(1, nodes):
        if not any(e.dst == j for e in edges):
            raise NtkcheckError(f"node {j} has no incoming edge (list a 'zero' edge for an intentionally empty node)")
    readout = d.get("readout", "relu")
    if not isinstance(readout, str):
        raise NtkcheckError(f"'readout' must be an activation name or 'none', got {readout!r}")
    readout = "none" if readout.lower() == "none" else _check_activation(readout, "readout")
    sw = _as_float(d.get("sigma_w2", 2.0), "'sigma_w2'")
    sb = _as_float(d.get("sigma_b2", 0.0), "'sigma_b2'")
    if sw <= 0:
        raise NtkcheckError(f"'sigma_w2' must be > 0, got {sw}")
    if sb < 0:
        raise NtkcheckError(f"'sigma_b2' must be >= 0, got {sb}")
    merge = d.get("merge", "sum")
    if merge not in ("sum", "mean"):
        raise NtkcheckError(f"'merge' must be 'sum' or 'mean', got {merge!r}")
    inp = d.get("input", "dense")
    if inp not in ("dense", "raw"):
        raise NtkcheckError(f"'input' must be 'dense' or 'raw', got {inp!r}")
    kinds = {e.kind for e in edges}
    if "linact" in kinds and "dense" in kinds:
        raise NtkcheckError("a spec cannot mix 'dense' and 'linact' edges: a dense edge would read a "
                            "non-Gaussian node, whose infinite-width kernel has no closed recursion")
    if "linact" in kinds and readout != "none" and readout != "identity":
        raise NtkcheckError("a spec with 'linact' edges needs readout 'none' or 'identity' "
                            "(an activation on a non-Gaussian node has no exact kernel)")
    name = d.get("name")
    note = d.get("note")
    return ArchSpec(nodes=nodes, edges=tuple(edges), readout=readout, sigma_w2=sw, sigma_b2=sb, merge=merge,
                    input=inp, name=str(name) if name is not None else None,
                    note=str(note) if note is not None else None)


def load_spec(path: str | os.PathLike) -> ArchSpec:
    """Read a JSON spec file (see :func:`parse_spec`)."""
    return parse_spec(_read_json(path))


def _read_json(path: str | os.PathLike) -> Any:
    p = Path(path)
    if not p.is_file():
        raise NtkcheckError(f"spec file not found: {p}" if not p.exists() else f"spec path is not a file: {p}")
    try:
        obj = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NtkcheckError(f"spec file {p} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise NtkcheckError(f"cannot read spec file {p}: {exc.strerror or exc}") from None
    return obj


# ---- builders ------------------------------------------------------------------------------------

def fc_spec(activations: Iterable[str], *, skips: Iterable[Iterable[int]] = (), **kw: Any) -> ArchSpec:
    """Fully connected net with one activation per weighted layer (the last one is the readout's)."""
    return parse_spec({"fc": list(activations), "skips": [list(s) for s in skips], **kw})


def residual_spec(activations: Iterable[str], **kw: Any) -> ArchSpec:
    """Residual net: node_l = node_{l-1} + dense(φ_l)(node_{l-1})."""
    return parse_spec({"residual": list(activations), **kw})


def parse_nb201(s: Any) -> tuple[str, ...]:
    """Parse ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` into the 6 ops in :data:`NB201_EDGES` order."""
    if not isinstance(s, str):
        raise NtkcheckError(f"NB201 cell must be a string, got {s!r}")
    groups = s.strip().split("+")
    if len(groups) != 3:
        raise NtkcheckError(f"malformed NB201 string {s!r}: expected 3 '+'-separated node groups")
    ops: list[str] = []
    for g, grp in enumerate(groups, start=1):
        if not (grp.startswith("|") and grp.endswith("|")):
            raise NtkcheckError(f"malformed NB201 string {s!r}: group {g} must be enclosed in '|'")
        items = grp[1:-1].split("|")
        if len(items) != g:
            raise NtkcheckError(f"malformed NB201 string {s!r}: node {g} needs {g} inputs, got {len(items)}")
        for src, item in enumerate(items):
            op, sep, idx = item.partition("~")
            if not sep or idx != str(src):
                raise NtkcheckError(f"malformed NB201 string {s!r}: item {item!r} should be 'op~{src}'")
            if op not in NB201_OPS:
                raise NtkcheckError(f"malformed NB201 string {s!r}: unknown op {op!r} (known: {', '.join(NB201_OPS)})")
            ops.append(op)
    return tuple(ops)


def nb201_string(ops: Iterable[str]) -> str:
    """Inverse of :func:`parse_nb201`."""
    o = list(ops)
    if len(o) != 6:
        raise NtkcheckError("an NB201 cell has 6 edges")
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def nb201_spec(s: str | Iterable[str], **kw: Any) -> ArchSpec:
    """The fully connected analog of an NB201 cell (string or 6 ops)."""
    if not isinstance(s, str):
        s = nb201_string(s)
    return parse_spec({"nb201": s, **kw})


def chen_dag_spec(code: str, **kw: Any) -> ArchSpec:
    """A DAG of Chen et al. 2022 from the official code's string, e.g. ``"2_21_112"`` (DAG#3 of Fig. 3)."""
    return parse_spec({"chen_dag": code, **kw})


# ---- convolutional NB201 cells ----------------------------------------------------------------------

#: The network a ConvCellSpec denotes, stated in every result built from one.
CONV_NOTE = ("NAS-Bench-201 cell as a convolutional network: 3×3 conv stem (SAME), ReLU→conv k×k (SAME), "
             "3×3 avg pool (stride 1, SAME, padding not counted), skip, none; ReLU → global average pool → "
             "linear readout; NTK parametrization, no biases, NO batch normalization (BN at initialization is "
             "not part of this infinite-width limit)")

_CONV_KEYS = {"nb201", "kernel", "image", "sigma_w2", "name", "note"}
_MAX_PIXELS = 4096


@dataclass(frozen=True)
class ConvCellSpec:
    """``{"nb201": CELL, "kernel": "conv", "image": [C, H, W]}``: an NB201 cell as the convolutional network of
    :mod:`ntkcheck.theory.conv_kernels` (:data:`CONV_NOTE`), on C-channel H×W images, weight variance σ_w²."""

    cell: tuple[str, ...]
    image: tuple[int, int, int]
    sigma_w2: float = 2.0
    name: str | None = field(default=None, compare=False)
    note: str = field(default=CONV_NOTE, compare=False)

    @property
    def kernel(self) -> str:
        return "conv"

    @property
    def is_degenerate(self) -> bool:
        """No input→output path (every path crosses 'none'): both kernels are 0."""
        return nb201_spec(self.cell).is_degenerate

    def to_json(self) -> dict[str, Any]:
        return {"nb201": nb201_string(self.cell), "kernel": "conv", "image": list(self.image),
                "sigma_w2": self.sigma_w2, "note": self.note}

    def __str__(self) -> str:
        return self.name or nb201_string(self.cell)


def _conv_cell_spec(d: Mapping[str, Any]) -> ConvCellSpec:
    unknown = set(d) - _CONV_KEYS
    if unknown:
        raise NtkcheckError(f"a conv NB201 spec takes only {sorted(_CONV_KEYS)}; got {sorted(unknown)} "
                            "(the conv kernel fixes the readout (ReLU → GAP → linear), no biases, sum merge)")
    if "nb201" not in d:
        raise NtkcheckError("\"kernel\": \"conv\" needs an \"nb201\" cell string")
    ops = parse_nb201(d["nb201"])
    img = d.get("image")
    if not isinstance(img, (list, tuple)) or len(img) != 3:
        raise NtkcheckError(f"\"image\" must be [C, H, W], got {img!r}")
    C, H, W = (_as_int(v, f"image[{k}]") for k, v in enumerate(img))
    if min(C, H, W) < 1:
        raise NtkcheckError(f"\"image\" entries must be >= 1, got {[C, H, W]}")
    if H * W > _MAX_PIXELS:
        raise NtkcheckError(f"image {H}×{W} has {H * W} pixels; the exact conv kernel stores (H·W)² numbers per "
                            f"image pair, limit {_MAX_PIXELS} pixels")
    sw = _as_float(d.get("sigma_w2", 2.0), "'sigma_w2'")
    if sw <= 0:
        raise NtkcheckError(f"'sigma_w2' must be > 0, got {sw}")
    name = d.get("name")
    return ConvCellSpec(cell=ops, image=(C, H, W), sigma_w2=sw, name=str(name) if name is not None else None,
                        note=str(d.get("note", CONV_NOTE)))


def parse_any_spec(obj: Any) -> "ArchSpec | ConvCellSpec":
    """:func:`parse_spec`, plus ``"kernel": "conv"`` NB201 specs, which become a :class:`ConvCellSpec`."""
    if isinstance(obj, (ArchSpec, ConvCellSpec)):
        return obj
    if isinstance(obj, os.PathLike):
        obj = _read_json(obj)
    elif isinstance(obj, str):
        t = obj.strip()
        if t == EXAMPLE and not os.path.exists(t):
            t = example_spec_text()
        if t.startswith("{"):
            try:
                obj = json.loads(t)
            except json.JSONDecodeError as exc:
                raise NtkcheckError(f"spec is not valid JSON: {exc}") from None
        elif not t.startswith("|"):
            obj = _read_json(t)
    if isinstance(obj, Mapping) and (obj.get("kernel") == "conv" or "image" in obj):
        if obj.get("kernel", "conv") != "conv":
            raise NtkcheckError("\"image\" is only valid with \"kernel\": \"conv\"")
        return _conv_cell_spec(obj)
    return parse_spec(obj)
