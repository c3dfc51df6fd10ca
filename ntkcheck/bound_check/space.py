r"""Membership of an architecture in a search space, and the shrinking moves that stay inside one.

A counterexample refutes a claim about a space only if it belongs to that space: a shrunk NB201 cell must
still be an NB201 cell, a shrunk residual net a residual net.  :func:`member` decides membership from the
structure of the expanded spec (the strategies of :mod:`ntkcheck.bound_check.strategies` generate exactly
these forms):

=============  ==========================================================================================
``fc``         nodes 0..L−1 joined by the chain ``l−1 → l`` of ``dense`` edges, plus plain ``skip`` edges
               i → j with i < j − 1 (``spec.fc_spec``); input dense, merge sum
``residual``   k ≥ 1 blocks: for every l, exactly ``dense:φ_l`` and ``skip`` from l−1 to l (``spec.residual_spec``)
``nb201``      4 nodes, the six NB201 edges in order, each op the analog of an NB201 op (zero, skip,
               dense:relu), readout relu (``spec.nb201_spec``)
``dag``        ≥ 2 nodes, every edge zero / skip / dense (no linear-then-activation edges), input dense,
               an activation as readout
``chen_dag``   Chen et al. 2022 DAGs: one zero / skip / linact:relu edge for every pair i < j, readout none,
               raw input, σ_w² = 2, σ_b² = 0 (``spec.chen_dag_spec``; the ``convergence_rate`` family)
``all``        the union of fc, residual, nb201 and dag
=============  ==========================================================================================

:func:`family_candidates` yields the structural simplifications of each family expressed in the family's own
terms (drop a hidden layer or a skip of an fc net, drop a residual block, set an NB201 op to ``none`` or
``skip_connect``, set a Chen edge to zero or skip), so shrinking stays useful where the generic graph moves
of :mod:`ntkcheck.bound_check.shrink` would leave the space.
"""

from __future__ import annotations

from typing import Any, Iterator

from ntkcheck.spec import NB201_ANALOG, NB201_EDGES, ArchSpec

__all__ = ["member", "space_of", "family_of", "family_candidates", "FAMILIES"]

FAMILIES = ("fc", "residual", "nb201", "dag", "chen_dag")


def space_of(space: str, quantity: str) -> str:
    """The space actually searched (``convergence_rate`` is always searched on Chen et al.'s DAGs)."""
    return "chen_dag" if quantity == "convergence_rate" else space


def _plain(spec: ArchSpec) -> bool:
    return spec.input == "dense" and spec.merge == "sum" and all(e.kind != "linact" for e in spec.edges)


def is_fc(spec: ArchSpec) -> bool:
    if not _plain(spec) or spec.readout == "none":
        return False
    chain = sorted((e.src, e.dst) for e in spec.edges if e.kind == "dense")
    if chain != [(l - 1, l) for l in range(1, spec.nodes)]:
        return False
    return all(e.kind == "dense" or (e.op == "skip" and e.src < e.dst - 1) for e in spec.edges)


def is_residual(spec: ArchSpec) -> bool:
    if not _plain(spec) or spec.nodes < 2 or spec.readout == "none" or len(spec.edges) != 2 * (spec.nodes - 1):
        return False
    for l in range(1, spec.nodes):
        kinds = sorted((e.kind, e.op) for e in spec.edges if e.dst == l and e.src == l - 1)
        if len(kinds) != 2 or kinds[0][0] != "dense" or kinds[1] != ("skip", "skip"):
            return False
    return True


def is_nb201(spec: ArchSpec) -> bool:
    if not _plain(spec) or spec.nodes != 4 or spec.readout != "relu":
        return False
    analog = set(NB201_ANALOG.values())
    return (tuple((e.src, e.dst) for e in spec.edges) == NB201_EDGES
            and all(e.op in analog for e in spec.edges))


def is_dag(spec: ArchSpec) -> bool:
    return _plain(spec) and spec.nodes >= 2 and spec.readout != "none"


def is_chen_dag(spec: ArchSpec) -> bool:
    if spec.input != "raw" or spec.readout != "none" or (spec.sigma_w2, spec.sigma_b2) != (2.0, 0.0):
        return False
    pairs = sorted((e.src, e.dst) for e in spec.edges)
    return (pairs == sorted((i, j) for j in range(1, spec.nodes) for i in range(j))
            and all(e.op in ("zero", "skip", "linact:relu") for e in spec.edges))


_TESTS = {"fc": is_fc, "residual": is_residual, "nb201": is_nb201, "dag": is_dag, "chen_dag": is_chen_dag}


def member(spec: ArchSpec, space: str) -> bool:
    """True when ``spec`` belongs to ``space`` (module docstring); ``all`` is the union of fc, residual,
    nb201 and dag."""
    if space == "all":
        return any(_TESTS[f](spec) for f in ("fc", "residual", "nb201", "dag"))
    return _TESTS[space](spec)


def family_of(spec: ArchSpec, space: str) -> str | None:
    """The most specific family of ``space`` that ``spec`` belongs to (None: not in the space)."""
    order = ("nb201", "residual", "fc", "dag") if space == "all" else (space,)
    return next((f for f in order if _TESTS[f](spec)), None)


def _fc_layers(spec: ArchSpec) -> tuple[list[str], list[tuple[int, int]]]:
    acts = [None] * (spec.nodes - 1)
    for e in spec.edges:
        if e.kind == "dense":
            acts[e.dst - 1] = e.activation
    return acts, [(e.src, e.dst) for e in spec.edges if e.kind == "skip"]


def _with(spec: ArchSpec, **d: Any) -> dict[str, Any]:
    base = spec.to_json()
    base.pop("name", None)
    base.pop("note", None)
    return {**base, **d}


def family_candidates(spec: ArchSpec, family: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Structural simplifications that keep ``spec`` in ``family`` (module docstring), as spec dicts."""
    if family == "fc":
        acts, skips = _fc_layers(spec)
        for k in range(len(acts)):              # drop hidden dense layer k+1 (node k+1 disappears)
            j = k + 1
            ren = lambda i: i - 1 if i > j else i  # noqa: E731
            edges = [[l - 1, l, f"dense:{a}"] for l, a in enumerate(acts[:k] + acts[k + 1:], start=1)]
            edges += [[ren(s), ren(t), "skip"] for s, t in skips
                      if j not in (s, t) and ren(s) < ren(t) - 1]
            yield f"drop hidden layer {j}", _with(spec, nodes=spec.nodes - 1, edges=edges)
        for s, t in skips:
            edges = [[e.src, e.dst, e.op] for e in spec.edges if not (e.kind == "skip" and (e.src, e.dst) == (s, t))]
            yield f"drop skip {s}→{t}", _with(spec, edges=edges)
    elif family == "residual":
        blocks = [e.activation for e in sorted(spec.edges, key=lambda e: e.dst) if e.kind == "dense"]
        for k in range(len(blocks)) if len(blocks) > 1 else ():
            rest = blocks[:k] + blocks[k + 1:]
            edges = []
            for l, a in enumerate(rest, start=1):
                edges += [[l - 1, l, f"dense:{a}"], [l - 1, l, "skip"]]
            yield f"drop residual block {k + 1}", _with(spec, nodes=len(rest) + 1, edges=edges)
    elif family == "nb201":
        for k, e in enumerate(spec.edges):
            for new, label in (("zero", "none"), ("skip", "skip_connect")):
                if e.kind == "dense":           # a convolution becomes none / skip_connect (fewer layers)
                    edges = [[f.src, f.dst, f.op] for f in spec.edges]
                    edges[k][2] = new
                    yield f"NB201 edge {e.src}→{e.dst} → {label}", _with(spec, edges=edges)
    elif family == "chen_dag":
        for k, e in enumerate(spec.edges):
            for new in ("zero", "skip"):
                if e.kind == "linact":          # linear+ReLU becomes zero / skip (fewer layers)
                    edges = [[f.src, f.dst, f.op] for f in spec.edges]
                    edges[k][2] = new
                    yield f"Chen edge {e.src}→{e.dst} → {new}", _with(spec, edges=edges)
        if spec.nodes > 2:                      # drop the last node: node H−1 becomes the output
            edges = [[e.src, e.dst, e.op] for e in spec.edges if e.dst != spec.nodes - 1]
            yield "drop the last Chen node", _with(spec, nodes=spec.nodes - 1, edges=edges)
