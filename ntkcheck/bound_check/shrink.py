r"""Shrinking a certified counterexample while it stays a certified violation.

Greedy passes, repeated until a whole pass changes nothing (or ``max_evals`` evaluations are spent).  Each
candidate is re-evaluated with :func:`ntkcheck.bound_check.problem.evaluate` — same certification, same
assumptions — and accepted only if it is still ``violated`` by at least :data:`SAFETY` times its tolerance.  In order of preference:

1. **fewer points**: drop one row of X (alone, or together with resetting σ_w² = 2, σ_b² = 0);
2. **fewer layers / edges**: bypass an inner node (its out-edges are re-attached to the sources of its
   non-zero in-edges, removing that node's layer), drop the last node (the one before it becomes the output),
   drop an edge whose target keeps another in-edge, turn a ``dense`` edge into a ``skip``; and the moves of
   the configuration's own family (:func:`ntkcheck.bound_check.space.family_candidates`: drop an fc layer or
   skip, a residual block, set an NB201 op to none / skip_connect, a Chen edge to zero / skip).
   Every candidate architecture must stay in the searched space (:func:`ntkcheck.bound_check.space.member`);
   the assumptions are re-checked by ``evaluate`` (an excluded candidate is never accepted);
3. **simpler activations**: replace an activation by an earlier one in
   :data:`ntkcheck.bound_check.strategies.ACTIVATIONS` (relu, identity, …);
4. **simpler hyper-parameters**: σ_w² → 2 or 1, σ_b² → 0; the width halved (empirical quantity);
5. **fewer input dimensions**: drop one coordinate of X (rows renormalised to the sphere).
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import ArchSpec, parse_spec

from .problem import Configuration, Evaluation, Problem, evaluate
from .space import family_candidates, family_of, member, space_of
from .strategies import ACTIVATIONS, EXPLORED_ACTIVATIONS

__all__ = ["shrink_counterexample", "candidates", "size_of", "SAFETY"]

#: A shrinking step is accepted only if the violation still exceeds SAFETY × its tolerance, so that shrinking
#: never trades a clear counterexample for one that rests on the last digits (e.g. antipodal points, ρ = −1,
#: where arc-cosine kernels lose accuracy).
SAFETY = 10.0


def size_of(cfg: Configuration) -> tuple:
    """The order shrinking decreases: (N, dense layers, edges, nodes, activation complexity, d, ...)."""
    acts = [e.activation for e in cfg.spec.edges if e.activation] + [cfg.spec.readout]
    cx = sum(ACTIVATIONS.index(a) if a in ACTIVATIONS else len(ACTIVATIONS) for a in acts)
    return (cfg.X.shape[0], cfg.spec.L, len(cfg.spec.edges), cfg.spec.nodes, cx, cfg.X.shape[1],
            cfg.spec.sigma_b2 != 0.0, cfg.spec.sigma_w2 not in (1.0, 2.0), cfg.width or 0)


def _spec_from(d: dict[str, Any], base: ArchSpec) -> ArchSpec | None:
    d = dict(d)
    d.pop("name", None)
    d.pop("note", None)
    if base.note and d.get("nodes") == base.nodes:
        d["note"] = base.note        # e.g. the NB201 analog note, while the cell keeps its nodes
    try:
        return parse_spec(d)
    except NtkcheckError:
        return None


def _bypass(spec: ArchSpec, j: int) -> dict[str, Any]:
    d = spec.to_json()
    ins = [e for e in spec.edges if e.dst == j and e.kind != "zero"]
    edges = []
    for e in spec.edges:
        if e.dst == j:
            continue
        if e.src == j:
            for a in ins:
                edges.append([a.src, e.dst, e.op])
            if not ins:
                edges.append([0, e.dst, "zero"])
            continue
        edges.append([e.src, e.dst, e.op])
    ren = lambda k: k - 1 if k > j else k  # noqa: E731
    d["edges"] = [[ren(s), ren(t), op] for s, t, op in edges]
    d["nodes"] = spec.nodes - 1
    return d


def _drop_last(spec: ArchSpec) -> dict[str, Any]:
    d = spec.to_json()
    last = spec.nodes - 1
    d["edges"] = [[e.src, e.dst, e.op] for e in spec.edges if e.dst != last]
    d["nodes"] = spec.nodes - 1
    return d


def _arch_candidates(spec: ArchSpec) -> Iterator[dict[str, Any]]:
    for j in range(1, spec.nodes - 1):
        yield _bypass(spec, j)
    if spec.nodes > 1:
        yield _drop_last(spec)
    base = spec.to_json()
    for k, e in enumerate(spec.edges):
        if sum(f.dst == e.dst for f in spec.edges) > 1:
            yield {**base, "edges": [x for i, x in enumerate(base["edges"]) if i != k]}
    for k, e in enumerate(spec.edges):
        if e.kind == "dense":
            ed = [list(x) for x in base["edges"]]
            ed[k][2] = "skip"
            yield {**base, "edges": ed}


def _simpler(a: str, allowed: tuple[str, ...]) -> list[str]:
    """Activations of ``allowed`` that come before ``a`` in :data:`ACTIVATIONS` (all of them if ``a`` is not listed)."""
    rank = ACTIVATIONS.index(a) if a in ACTIVATIONS else len(ACTIVATIONS)
    return [b for b in ACTIVATIONS[:rank] if b in allowed]


def _activation_candidates(spec: ArchSpec, allowed: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    base = spec.to_json()
    for k, e in enumerate(spec.edges):
        if e.kind == "dense":
            for a in _simpler(e.activation, allowed):
                ed = [list(x) for x in base["edges"]]
                ed[k][2] = f"dense:{a}"
                yield {**base, "edges": ed}
    if spec.readout != "none" and not any(e.kind == "linact" for e in spec.edges):
        for a in _simpler(spec.readout, allowed):
            yield {**base, "readout": a}


def _hyper_candidates(spec: ArchSpec) -> Iterator[dict[str, Any]]:
    base = spec.to_json()
    if spec.sigma_b2 != 0.0:
        yield {**base, "sigma_b2": 0.0}
    if spec.sigma_w2 not in (1.0, 2.0):
        for w in (2.0, 1.0):
            yield {**base, "sigma_w2": w}


def _renorm(X: np.ndarray, unit: bool) -> np.ndarray | None:
    if unit:
        nrm = np.linalg.norm(X, axis=1, keepdims=True)
        if np.any(nrm < 1e-12):
            return None
        X = X / nrm
    if X.shape[0] > 1:
        D = np.linalg.norm(X[:, None] - X[None], axis=-1)
        np.fill_diagonal(D, np.inf)
        if np.min(D) < 1e-9:
            return None
    return X


def candidates(cfg: Configuration, problem: Problem) -> Iterator[tuple[str, Configuration]]:
    """Every one-step simplification of ``cfg``, with a description, in order of preference."""
    X, spec = cfg.X, cfg.spec
    if X.shape[0] > 1:
        for i in range(X.shape[0]):
            yield f"drop point {i}", Configuration(spec, np.delete(X, i, axis=0), cfg.width, "shrink")
        if (spec.sigma_w2, spec.sigma_b2) != (2.0, 0.0):
            # a point may matter only together with the hyper-parameters (σ_b² adds σ_b²·11ᵀ, which keeps
            # λ_min of one point large): also try both steps at once
            s0 = _spec_from({**spec.to_json(), "sigma_w2": 2.0, "sigma_b2": 0.0}, spec)
            for i in range(X.shape[0]):
                if s0 is not None:
                    yield (f"drop point {i} and reset σ_w² = 2, σ_b² = 0",
                           Configuration(s0, np.delete(X, i, axis=0), cfg.width, "shrink"))
    space = space_of(problem.space, problem.quantity)
    family = family_of(spec, space)
    allowed = problem.activations or EXPLORED_ACTIVATIONS
    moves = [(f"{family}: {desc}", d) for desc, d in family_candidates(spec, family)] if family else []
    moves += [("architecture", d) for d in _arch_candidates(spec)]
    moves += [("activation", d) for d in _activation_candidates(spec, allowed)]
    moves += [("hyper-parameter", d) for d in _hyper_candidates(spec)]
    for what, d in moves:
        s = _spec_from(d, spec)
        # a candidate must stay in the searched space: an NB201 cell stays an NB201 cell
        if s is not None and not (s.is_degenerate and not spec.is_degenerate) and member(s, space):
            yield f"{what}: {_diff(spec, s)}", Configuration(s, X, cfg.width, "shrink")
    if cfg.width is not None and cfg.width >= 4:
        yield f"width {cfg.width} → {cfg.width // 2}", Configuration(spec, X, cfg.width // 2, "shrink")
    if X.shape[1] > 1:
        for k in range(X.shape[1]):
            Xk = _renorm(np.delete(X, k, axis=1), problem.unit_norm)
            if Xk is not None:
                yield f"drop coordinate {k}", Configuration(spec, Xk, cfg.width, "shrink")


def _diff(a: ArchSpec, b: ArchSpec) -> str:
    ja, jb = a.to_json(), b.to_json()
    parts = [f"{k}: {ja.get(k)} → {jb.get(k)}" for k in ("nodes", "readout", "sigma_w2", "sigma_b2")
             if ja.get(k) != jb.get(k)]
    if ja["edges"] != jb["edges"]:
        parts.append(f"edges → {jb['edges']}")
    return "; ".join(parts)


def shrink_counterexample(problem: Problem, ev: Evaluation, *, max_evals: int = 400, max_passes: int = 20,
                          deadline: float | None = None) -> tuple[Evaluation, list[str]]:
    """Shrink a certified violation (module docstring); returns the shrunk evaluation and the accepted steps.

    Stops after ``max_evals`` evaluations or at ``deadline`` (a ``time.monotonic()`` value), keeping the
    smallest certified violation reached so far.
    """
    import time

    if not ev.violated:
        raise ValueError("shrink_counterexample needs a certified violation")
    cur, log, spent, seen = ev, [], 0, set()
    for _ in range(max_passes):
        changed = False
        for desc, cand in candidates(cur.config, problem):
            key = cand.key()
            if key in seen:
                continue
            seen.add(key)
            if size_of(cand) >= size_of(cur.config):
                continue
            if spent >= max_evals:
                return cur, log + [f"stopped after {spent} evaluations"]
            if deadline is not None and time.monotonic() >= deadline:
                return cur, log + [f"stopped at the time budget after {spent} evaluations"]
            spent += 1
            new = evaluate(problem, cand)
            if new.violated and -new.slack >= SAFETY * new.tol:
                cur, changed = new, True
                log.append(desc)
                break
        if not changed:
            break
    return cur, log
