#!/usr/bin/env python
r"""Side-by-side benchmark: ntkcheck vs google's neural-tangents (stax, JAX, float64) vs a per-pair Python loop.

Run on demand (not part of the test suite)::

    benchmarks/setup_peer_env.sh            # once: creates .venv-peer with neural-tangents + jax (CPU)
    python benchmarks/bench_kernels.py [--quick] [--profile] [--peer-python PATH]

Run it with the python that has ntkcheck installed.  neural-tangents lives in a separate virtualenv
(``.venv-peer``); this script starts ``.venv-peer/bin/python benchmarks/bench_kernels.py --peer-worker`` as a
persistent worker (JSON lines over stdin/stdout, arrays through .npy files in a temporary folder), so the
peer's jitted functions stay warm and the two sides can be timed alternately, in one run, on the same data.

(a) Infinite-width NTK of ``{"fc": ["relu"]*5}`` (node 0 = dense input embedding, 4 dense(relu) edges,
    relu readout; σ_w² = 2, σ_b² = 0), i.e. the stax network
    Dense(W_std=√2, b_std=0) → 5 × [Relu → Dense(W_std=√2, b_std=0)] in NTK parametrization
    (design card §2–§3: Σ₀₀ = σ_w² XXᵀ/d + σ_b² and Θ₀₀ = Σ₀₀, as stax's first Dense gives),
    on N = 1000 and N = 4000 Gaussian points, d = 32.  neural-tangents: ``jax.jit(kernel_fn)(X, None, 'ntk')``
    with x64 enabled, compiled once before timing (warm).  Per-pair loop: pure Python (``math``), upper
    triangle + mirror, timed at a small N and extrapolated by the number of pairs N(N+1)/2.
(b) All 15,625 NB201 cells (fully connected analog) on N = 64: ntkcheck ``nb201_kernels(all_nb201_cells(), X)``
    vs stax networks built per cell (FanOut / parallel / FanInSum / Identity / Relu+Dense; the DAG is expanded
    into a tree of paths, which is how stax expresses it) timed on a random sample of cells and extrapolated
    to all cells with an output path; and the per-pair loop on a few cells, extrapolated.
    stax's FanInSum adds the branches' kernels, i.e. it assumes independent branches: on cells whose skip paths
    share an ancestor, its kernel is ntkcheck's ``cross_terms=False`` approximation, not the exact kernel.
    The benchmark reports that as a finding.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SW2 = 2.0
SB2 = 0.0
D = 32
DEPTH = 5  # {"fc": ["relu"]*5}: 4 hidden dense(relu) edges + the relu readout
FC_SPEC = {"fc": ["relu"] * DEPTH, "sigma_w2": SW2, "sigma_b2": SB2}
# NB201 analog classes per edge: 0 = zero, 1 = skip, 2 = dense(relu); edges in ntkcheck.spec.NB201_EDGES order.


# =============================================================================================================
# Peer worker (runs inside .venv-peer; imports jax / neural-tangents only, never ntkcheck)
# =============================================================================================================

def _stax_fc(depth: int):
    from neural_tangents import stax
    sw = math.sqrt(SW2)
    layers = [stax.Dense(1, W_std=sw, b_std=math.sqrt(SB2))]
    for _ in range(depth):
        layers += [stax.Relu(), stax.Dense(1, W_std=sw, b_std=math.sqrt(SB2))]
    return stax.serial(*layers)[2]


def _stax_nb201(cls, edges):
    """stax kernel_fn of an NB201 cell's fully connected analog, or None when node 3 is a zero field."""
    from neural_tangents import stax
    sw, sb = math.sqrt(SW2), math.sqrt(SB2)
    live = {j: [(i, c) for (i, jj), c in zip(edges, cls) if jj == j and c != 0] for j in (1, 2, 3)}
    zero = {0: False}
    for j in (1, 2, 3):
        live[j] = [(i, c) for i, c in live[j] if not zero[i]]
        zero[j] = not live[j]
    if zero[3]:
        return None

    def op(c):
        return stax.Identity() if c == 1 else stax.serial(stax.Relu(), stax.Dense(1, W_std=sw, b_std=sb))

    def build(j):  # layer mapping node 0's representation to node j's
        if j == 0:
            return stax.Identity()
        branches = [stax.serial(build(i), op(c)) for i, c in live[j]]
        if len(branches) == 1:
            return branches[0]
        return stax.serial(stax.FanOut(len(branches)), stax.parallel(*branches), stax.FanInSum())

    return stax.serial(stax.Dense(1, W_std=sw, b_std=sb), build(3), stax.Relu(),
                       stax.Dense(1, W_std=sw, b_std=sb))[2]


def peer_worker() -> int:
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import neural_tangents as nt

    fc_fns: dict = {}
    data: dict = {}

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        msg = json.loads(line)
        op = msg["op"]
        try:
            if op == "versions":
                import jaxlib
                reply({"jax": jax.__version__, "jaxlib": jaxlib.__version__, "neural_tangents": nt.__version__,
                       "numpy": np.__version__, "python": platform.python_version(),
                       "jax_devices": [str(d) for d in jax.devices()], "x64": bool(jax.config.jax_enable_x64)})
            elif op == "load":
                data[msg["key"]] = jax.device_put(jnp.asarray(np.load(msg["x"], allow_pickle=False), dtype=jnp.float64))
                reply({"ok": True})
            elif op == "fc":  # warm jitted NTK; first call on a new shape compiles (reported separately)
                X = data[msg["key"]]
                depth = msg["depth"]
                fresh = depth not in fc_fns
                if fresh:
                    fc_fns[depth] = jax.jit(_stax_fc(depth), static_argnames="get")
                t0 = time.perf_counter()
                K = fc_fns[depth](X, None, "ntk").block_until_ready()
                t = time.perf_counter() - t0
                if msg.get("save"):
                    np.save(msg["save"], np.asarray(K))
                reply({"t": t, "dtype": str(K.dtype)})
            elif op == "nb201":  # per cell: eager kernel_fn, or jit (compile + first run), optionally warm
                X = data[msg["key"]]
                mode = msg["mode"]
                times, warm, Ks = [], [], []
                for cls in msg["cells"]:
                    t0 = time.perf_counter()
                    kfn = _stax_nb201(cls, msg["edges"])
                    if mode == "jit":
                        kfn = jax.jit(kfn, static_argnames="get")
                    K = kfn(X, None, "ntk").block_until_ready()
                    times.append(time.perf_counter() - t0)
                    if mode == "jit":
                        t0 = time.perf_counter()
                        kfn(X, None, "ntk").block_until_ready()
                        warm.append(time.perf_counter() - t0)
                    Ks.append(np.asarray(K))
                if msg.get("save"):
                    np.save(msg["save"], np.stack(Ks))
                reply({"times": times, "warm": warm})
            elif op == "tanh":  # fc×depth tanh via ElementwiseNumerical(deg); jit compiled by a first call (timed apart)
                X = data[msg["key"]]
                from neural_tangents import stax
                sw = math.sqrt(SW2)
                layers = [stax.Dense(1, W_std=sw, b_std=0.0)]
                for _ in range(msg["depth"]):
                    layers += [stax.ElementwiseNumerical(jnp.tanh, deg=msg["deg"]), stax.Dense(1, W_std=sw, b_std=0.0)]
                kfn = jax.jit(stax.serial(*layers)[2], static_argnames="get")
                t0 = time.perf_counter()
                kfn(X, None, "ntk").block_until_ready()
                cold = time.perf_counter() - t0
                t0 = time.perf_counter()
                K = kfn(X, None, "ntk").block_until_ready()
                reply({"t": time.perf_counter() - t0, "cold": cold})
                np.save(msg["save"], np.asarray(K))
            elif op == "quit":
                reply({"ok": True})
                return 0
            else:
                reply({"error": f"unknown op {op}"})
        except Exception as exc:  # report to the driver instead of dying silently
            reply({"error": f"{type(exc).__name__}: {exc}"})
    return 0


class Peer:
    """Driver side of the worker protocol."""

    def __init__(self, python: str):
        self.proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--peer-worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})

    def call(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("neural-tangents worker died (see its stderr above)")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError("neural-tangents worker: " + out["error"])
        return out

    def close(self):
        try:
            self.call(op="quit")
        except Exception:
            pass
        self.proc.wait(timeout=30)


# =============================================================================================================
# Plain per-pair Python loops (the recursion of design card §3, one pair of points at a time)
# =============================================================================================================

def _relu_duals(q1: float, c: float, q2: float) -> tuple[float, float]:
    """(E[relu(u)relu(v)], E[relu'(u)relu'(v)]) for (u, v) ~ N(0, [[q1, c], [c, q2]]) (arc-cosine kernels)."""
    s = math.sqrt(q1 * q2)
    if s == 0.0:
        return 0.0, 0.25
    rho = max(-1.0, min(1.0, c / s))
    th = math.acos(rho)
    return (s / (2 * math.pi) * (math.sqrt(max(0.0, 1 - rho * rho)) + (math.pi - th) * rho),
            (math.pi - th) / (2 * math.pi))


def loop_fc_ntk(X: np.ndarray, depth: int = DEPTH) -> np.ndarray:
    """NTK of Dense → depth × [relu → Dense], one pair at a time (upper triangle, mirrored)."""
    N, d = X.shape
    rows = [list(map(float, x)) for x in X]
    out = [[0.0] * N for _ in range(N)]
    for i in range(N):
        xi = rows[i]
        qi = SW2 * sum(a * a for a in xi) / d + SB2
        for j in range(i, N):
            xj = rows[j]
            qj = SW2 * sum(a * a for a in xj) / d + SB2
            c = SW2 * sum(a * b for a, b in zip(xi, xj)) / d + SB2
            q1, q2, t, t1, t2 = qi, qj, c, qi, qj
            for _ in range(depth):
                k, kd = _relu_duals(q1, c, q2)
                k11, kd11 = _relu_duals(q1, q1, q1)
                k22, kd22 = _relu_duals(q2, q2, q2)
                c, q1, q2 = SW2 * k + SB2, SW2 * k11 + SB2, SW2 * k22 + SB2
                t, t1, t2 = c + SW2 * kd * t, q1 + SW2 * kd11 * t1, q2 + SW2 * kd22 * t2
            out[i][j] = out[j][i] = t
    return np.array(out)


def _loop_dag_pair(xs, xt, d, cls, edges):
    """Exact NTK entry Θ(x_s, x_t) of an NB201 analog cell (cross terms between skip paths included).

    Every quantity between nodes a, b is a 2×2 table [E[a(u) b(v)]]_{u,v ∈ {s,t}} stored as (ss, st, ts, tt).
    """
    def tr(m):
        return (m[0], m[2], m[1], m[3])

    def add(m, n):
        return (m[0] + n[0], m[1] + n[1], m[2] + n[2], m[3] + n[3])

    Z = (0.0, 0.0, 0.0, 0.0)
    ss = SW2 * sum(a * a for a in xs) / d + SB2
    tt = SW2 * sum(a * a for a in xt) / d + SB2
    st = SW2 * sum(a * b for a, b in zip(xs, xt)) / d + SB2
    C = {(0, 0): (ss, st, st, tt)}
    T = {(0, 0): (ss, st, st, tt)}

    def get(Dct, a, b):
        return Dct[(a, b)] if a >= b else tr(Dct[(b, a)])

    def dense(i):
        m, th = C[(i, i)], T[(i, i)]
        k_ss, kd_ss = _relu_duals(m[0], m[0], m[0])
        k_st, kd_st = _relu_duals(m[0], m[1], m[3])
        k_tt, kd_tt = _relu_duals(m[3], m[3], m[3])
        S = (SW2 * k_ss + SB2, SW2 * k_st + SB2, SW2 * k_st + SB2, SW2 * k_tt + SB2)
        Te = (S[0] + SW2 * kd_ss * th[0], S[1] + SW2 * kd_st * th[1], S[2] + SW2 * kd_st * th[2],
              S[3] + SW2 * kd_tt * th[3])
        return S, Te

    for j in (1, 2, 3):
        ins = [(i, c) for (i, jj), c in zip(edges, cls) if jj == j and c != 0]
        skips = [i for i, c in ins if c == 1]
        Cjj, Tjj = Z, Z
        for i, c in ins:
            if c == 2:
                S, Te = dense(i)
                Cjj, Tjj = add(Cjj, S), add(Tjj, Te)
        for i in skips:
            for i2 in skips:
                Cjj, Tjj = add(Cjj, get(C, i, i2)), add(Tjj, get(T, i, i2))
        C[(j, j)], T[(j, j)] = Cjj, Tjj
        for k in range(j):
            Ck, Tk = Z, Z
            for i in skips:
                Ck, Tk = add(Ck, get(C, i, k)), add(Tk, get(T, i, k))
            C[(j, k)], T[(j, k)] = Ck, Tk
    m, th = C[(3, 3)], T[(3, 3)]
    k, kd = _relu_duals(m[0], m[1], m[3])
    K = SW2 * k + SB2
    return K + SW2 * kd * th[1]


def loop_nb201_ntk(X: np.ndarray, cls, edges) -> np.ndarray:
    N, d = X.shape
    rows = [list(map(float, x)) for x in X]
    out = np.empty((N, N))
    for i in range(N):
        for j in range(i, N):
            out[i, j] = out[j, i] = _loop_dag_pair(rows[i], rows[j], d, cls, edges)
    return out


# =============================================================================================================
# Driver
# =============================================================================================================

def _med(xs):
    return statistics.median(xs) if xs else float("nan")


def _fmt(t):
    return f"{t:.3g} s" if t == t else "n/a"


def _exact_fc_ntk_diag(X: np.ndarray, depth: int = DEPTH) -> np.ndarray:
    """Closed-form NTK diagonal for σ_w² = 2, σ_b² = 0 ReLU chains: every layer keeps q = 2|x|²/d
    (E[relu(u)²] = q/2, E[relu'(u)²] = 1/2), so Θ(x, x) = (depth + 1)·q.  Evaluated in exact rational
    arithmetic from the float64 inputs and rounded once."""
    assert SW2 == 2.0 and SB2 == 0.0
    d = X.shape[1]
    out = np.empty(X.shape[0])
    for i, x in enumerate(X):
        s = sum(Fraction(float(a)) ** 2 for a in x)
        out[i] = float((depth + 1) * Fraction(2) * s / d)
    return out


def _offdiag_rel(A: np.ndarray, B: np.ndarray) -> tuple[float, float]:
    """(max entrywise |A−B|/|B|, max |A−B| / max |B|) over the off-diagonal entries."""
    mask = ~np.eye(A.shape[0], dtype=bool)
    diff = np.abs(A - B)[mask]
    ref = np.abs(B)[mask]
    return float(np.max(diff / ref)), float(np.max(diff) / np.max(ref))


def _diag_rel(v: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(v - ref) / np.abs(ref)))


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
            "cpu_count": os.cpu_count()}
    try:
        info["lscpu"] = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:12]
    except OSError:
        pass
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        import ntkcheck
        info["ntkcheck"] = getattr(ntkcheck, "__version__", "?")
    except Exception:
        pass
    try:
        import scipy
        info["scipy"] = scipy.__version__
    except Exception:
        pass
    try:
        cfg = np.show_config(mode="dicts")
        info["blas"] = cfg.get("Build Dependencies", {}).get("blas", {}).get("name")
    except Exception:
        pass
    return info


def bench_fc(args, peer, tmp, report):
    from ntkcheck.theory.kernels import ntk_gram
    rng = np.random.default_rng(args.seed)
    sizes = args.fc_sizes
    Xs = {N: rng.standard_normal((N, D)) for N in sizes}
    for N, X in Xs.items():
        np.save(tmp / f"fc{N}.npy", X)
        if peer:
            peer.call(op="load", key=f"fc{N}", x=str(tmp / f"fc{N}.npy"))

    res = {N: {"ntkcheck": [], "nt": []} for N in sizes}
    # Correctness first (untimed): both sides on every N, NT's result saved for the comparison; this also
    # compiles the NT function for every shape (warm-up for both).
    Ks = {}
    comp = {}
    for N, X in Xs.items():
        Ks[N] = ntk_gram(FC_SPEC, X)
        if peer:
            out = peer.call(op="fc", key=f"fc{N}", depth=DEPTH, save=str(tmp / f"nt_fc{N}.npy"))
            comp[N] = out["t"]
    acc = {}
    for N, X in Xs.items():
        ref_diag = _exact_fc_ntk_diag(X)
        a = {"ntkcheck_diag_rel_err": _diag_rel(np.diag(Ks[N]), ref_diag)}
        if peer:
            Knt = np.load(tmp / f"nt_fc{N}.npy", allow_pickle=False)
            a["nt_dtype"] = str(Knt.dtype)
            a["nt_diag_rel_err"] = _diag_rel(np.diag(Knt), ref_diag)
            a["offdiag_max_entry_rel"], a["offdiag_max_norm_rel"] = _offdiag_rel(Ks[N], Knt)
            a["nt_compile_plus_first_run_s"] = comp[N]
            del Knt
        acc[N] = a
    # Per-pair loop: correctness vs ntkcheck at the small N.
    Xl = Xs[sizes[0]][: args.loop_n]
    Kl = loop_fc_ntk(Xl)
    Kc = ntk_gram(FC_SPEC, Xl)
    acc["loop"] = {"n": args.loop_n, "offdiag_max_entry_rel_vs_ntkcheck": _offdiag_rel(Kc, Kl)[0],
                   "loop_diag_rel_err": _diag_rel(np.diag(Kl), _exact_fc_ntk_diag(Xl))}
    del Ks, Kc, Kl

    loop_t = []
    for r in range(args.repeats):  # interleaved: ntkcheck, peer, (loop) — then the next size
        for N, X in Xs.items():
            t0 = time.perf_counter()
            ntk_gram(FC_SPEC, X)
            res[N]["ntkcheck"].append(time.perf_counter() - t0)
            if peer:
                res[N]["nt"].append(peer.call(op="fc", key=f"fc{N}", depth=DEPTH)["t"])
        if r < args.loop_repeats:
            t0 = time.perf_counter()
            loop_fc_ntk(Xl)
            loop_t.append(time.perf_counter() - t0)
        print(f"  fc round {r + 1}/{args.repeats}: " + ", ".join(
            f"N={N}: ntkcheck {res[N]['ntkcheck'][-1]:.3f}s" + (f" nt {res[N]['nt'][-1]:.3f}s" if peer else "")
            for N in sizes), flush=True)
    n = args.loop_n
    per_pair = _med(loop_t) / (n * (n + 1) / 2)
    out = {"sizes": sizes, "repeats": args.repeats, "accuracy": acc, "loop_n": n, "loop_times_s": loop_t,
           "loop_s_per_pair": per_pair, "times": {}}
    for N in sizes:
        tn, tp = _med(res[N]["ntkcheck"]), _med(res[N]["nt"])
        tl = per_pair * N * (N + 1) / 2
        out["times"][N] = {"ntkcheck_s": res[N]["ntkcheck"], "nt_s": res[N]["nt"], "ntkcheck_median_s": tn,
                           "nt_median_s": tp, "loop_extrapolated_s": tl,
                           "ratio_ntkcheck_over_nt": tn / tp if peer else None,
                           "ratio_ntkcheck_over_loop": tn / tl}
    report["fc"] = out


def bench_nb201(args, peer, tmp, report):
    from ntkcheck.spec import NB201_EDGES, nb201_string
    from ntkcheck.theory.kernels import infinite_width_kernels
    from ntkcheck.theory.nb201 import _has_path, all_nb201_cells, analog_class, nb201_kernels, nb201_lambda_min_all

    edges = [list(e) for e in NB201_EDGES]
    rng = np.random.default_rng(args.seed + 1)
    X = rng.standard_normal((args.nb201_n, D))
    np.save(tmp / "nb.npy", X)
    cells = all_nb201_cells()
    cls = np.array([analog_class(c) for c in cells])
    live = _has_path(cls)
    live_idx = np.flatnonzero(live)
    n_classes = len(np.unique(cls, axis=0))
    n_live_classes = len(np.unique(cls[live], axis=0))
    sample = rng.choice(live_idx, size=min(args.nb201_sample, live_idx.size), replace=False)
    jit_sample = sample[: args.nb201_jit_sample]
    loop_sample = sample[: args.nb201_loop_cells]

    # Correctness first (untimed): ntkcheck exact (all cells), ntkcheck without cross terms and the per-pair
    # loop (sampled cells), NT (sampled cells).
    _, Th_all = nb201_kernels(cells, X)
    acc = {"n_sample": int(sample.size)}
    nocross = np.stack([infinite_width_kernels(nb201_string(cells[i]), X, cross_terms=False).ntk for i in sample])
    exact = Th_all[sample]
    differs = np.array([np.max(np.abs(e - n)) / np.max(np.abs(e)) > 1e-12 for e, n in zip(exact, nocross)])
    acc["sample_cells_with_cross_terms"] = int(differs.sum())
    acc["max_rel_exact_vs_nocross"] = float(max((np.max(np.abs(e - n)) / np.max(np.abs(e))
                                                 for e, n in zip(exact, nocross)), default=0.0))
    loop_err = 0.0
    for i in loop_sample:
        Kl = loop_nb201_ntk(X, tuple(int(c) for c in cls[i]), edges)
        loop_err = max(loop_err, float(np.max(np.abs(Kl - Th_all[i]) / np.abs(Th_all[i]))))
    acc["loop_vs_ntkcheck_exact_max_entry_rel"] = loop_err
    acc["loop_cells_checked"] = int(loop_sample.size)
    del Th_all

    if peer:
        peer.call(op="load", key="nb", x=str(tmp / "nb.npy"))
    # Timing, interleaved by rounds: ntkcheck (all 15,625 cells), NT (one slice of the sample), loop (one cell).
    R = args.nb201_repeats
    t_nc, t_lam, t_eager, t_jit, t_warm, t_loop = [], [], [], [], [], []
    eager_chunks = np.array_split(sample, R)
    jit_chunks = np.array_split(jit_sample, R)
    for r in range(R):
        t0 = time.perf_counter()
        _, Th = nb201_kernels(cells, X)
        t_nc.append(time.perf_counter() - t0)
        del Th
        t0 = time.perf_counter()
        nb201_lambda_min_all(X)
        t_lam.append(time.perf_counter() - t0)
        if peer:
            out = peer.call(op="nb201", key="nb", mode="eager", edges=edges,
                            cells=[[int(c) for c in cls[i]] for i in eager_chunks[r]], save=str(tmp / f"nt_nb{r}.npy"))
            t_eager += out["times"]
            if jit_chunks[r].size:
                out = peer.call(op="nb201", key="nb", mode="jit", edges=edges,
                                cells=[[int(c) for c in cls[i]] for i in jit_chunks[r]])
                t_jit += out["times"]
                t_warm += out["warm"]
        if r < len(loop_sample):
            i = loop_sample[r]
            t0 = time.perf_counter()
            loop_nb201_ntk(X, tuple(int(c) for c in cls[i]), edges)
            t_loop.append(time.perf_counter() - t0)
        print(f"  nb201 round {r + 1}/{R}: ntkcheck all cells: kernels {t_nc[-1]:.2f}s, "
              f"lambda_min table {t_lam[-1]:.2f}s", flush=True)
    if peer:
        # same order as `sample`
        Knt = np.concatenate([np.load(tmp / f"nt_nb{r}.npy", allow_pickle=False) for r in range(R)])
        rel_exact = np.array([np.max(np.abs(k - e)) / np.max(np.abs(e)) for k, e in zip(Knt, exact)])
        rel_nocross = np.array([np.max(np.abs(k - n)) / np.max(np.abs(n)) for k, n in zip(Knt, nocross)])
        acc["nt_vs_nocross_max_norm_rel"] = float(rel_nocross.max())
        off = np.array([_offdiag_rel(n, k)[0] for k, n in zip(Knt, nocross)])
        acc["nt_vs_nocross_offdiag_max_entry_rel"] = float(off.max())
        dg = np.array([_diag_rel(np.diag(k), np.diag(n)) for k, n in zip(Knt, nocross)])
        acc["nt_vs_ntkcheck_diag_max_rel (NT arccos near 1)"] = float(dg.max())
        acc["nt_vs_exact_max_norm_rel_on_cells_without_cross_terms"] = float(rel_exact[~differs].max(initial=0.0))
        acc["nt_vs_exact_max_norm_rel_on_cells_with_cross_terms"] = float(rel_exact[differs].max(initial=0.0))
        acc["nt_vs_exact_median_norm_rel_on_cells_with_cross_terms"] = (float(np.median(rel_exact[differs]))
                                                                        if differs.any() else 0.0)
        acc["nt_disagrees_with_exact_gt_1e-7"] = int((rel_exact > 1e-7).sum())
        acc["nt_disagreements_all_on_cross_term_cells"] = bool(np.all(differs[rel_exact > 1e-7]))
        worst = int(np.argmax(np.where(differs, rel_exact, -1.0))) if differs.any() else None
        if worst is not None:
            acc["example_cross_term_cell"] = {"cell": nb201_string(cells[sample[worst]]),
                                              "nt_vs_exact_norm_rel": float(rel_exact[worst]),
                                              "exact_lambda_min": float(np.linalg.eigvalsh(exact[worst])[0]),
                                              "nt_lambda_min": float(np.linalg.eigvalsh(Knt[worst])[0])}
        del Knt
    n_live = int(live.sum())
    tn = _med(t_nc)
    out = {"N": args.nb201_n, "n_cells": len(cells), "n_cells_with_path": n_live, "n_analog_classes": n_classes,
           "n_live_classes": n_live_classes, "repeats": R, "ntkcheck_s": t_nc, "ntkcheck_median_s": tn,
           "accuracy": acc, "loop_cell_times_s": t_loop,
           "ntkcheck_lambda_min_all_s": t_lam, "ntkcheck_lambda_min_all_median_s": _med(t_lam)}
    tl = _med(t_loop) * n_live
    out["loop_extrapolated_all_cells_s"] = tl
    out["loop_extrapolated_per_class_s"] = _med(t_loop) * n_live_classes
    out["ratio_ntkcheck_over_loop"] = tn / tl
    if peer:
        for name, ts in (("eager", t_eager), ("jit_cold", t_jit), ("jit_warm", t_warm)):
            if not ts:
                continue
            mean = statistics.fmean(ts)
            out[f"nt_{name}_cells_timed"] = len(ts)
            out[f"nt_{name}_mean_s_per_cell"] = mean
            out[f"nt_{name}_median_s_per_cell"] = _med(ts)
            out[f"nt_{name}_extrapolated_all_cells_s"] = mean * n_live
            out[f"nt_{name}_extrapolated_per_class_s"] = mean * n_live_classes
            out[f"ratio_ntkcheck_over_nt_{name}"] = tn / (mean * n_live)
            out[f"ratio_ntkcheck_over_nt_{name}_per_class"] = tn / (mean * n_live_classes)
    report["nb201"] = out


def profile_fc(args, report):
    """cProfile of ntkcheck's fc NTK at the largest N, plus a breakdown of the elementwise passes."""
    import cProfile
    import io
    import pstats
    from ntkcheck.theory.kernels import ntk_gram
    N = max(args.fc_sizes)
    X = np.random.default_rng(args.seed).standard_normal((N, D))
    ntk_gram(FC_SPEC, X)
    pr = cProfile.Profile()
    pr.enable()
    ntk_gram(FC_SPEC, X)
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(14)
    prof = s.getvalue()
    print(prof)
    # The ufunc calls inside _arccos_pair_inplace do not show in cProfile (ufuncs are not profiled
    # functions); time the same kinds of passes on an N×N matrix of correlations directly.
    R = np.clip(np.random.default_rng(1).uniform(-1, 1, (N, N)), -1, 1)
    tmp = np.empty_like(R)
    passes = {
        "arccos": lambda: np.arccos(R, out=tmp),
        "sqrt": lambda: np.sqrt(np.abs(R), out=tmp),
        "multiply": lambda: np.multiply(R, R, out=tmp),
        "clip": lambda: np.clip(R, -1.0, 1.0, out=tmp),
        "copy (strided slice assign)": lambda: tmp.__setitem__(slice(None), R),
        "transpose copy R.T": lambda: np.copyto(tmp, R.T),
    }
    breakdown = {}
    for k, f in passes.items():
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        breakdown[k] = _med(ts)
    # How much would threading the row blocks help?  (ufuncs release the GIL.)
    from concurrent.futures import ThreadPoolExecutor
    nthreads = os.cpu_count() or 1
    blocks = np.array_split(np.arange(N), 8 * nthreads)

    def arccos_rows(b):
        np.arccos(R[b[0]:b[-1] + 1], out=tmp[b[0]:b[-1] + 1])

    ts = []
    with ThreadPoolExecutor(nthreads) as ex:
        for _ in range(3):
            t0 = time.perf_counter()
            list(ex.map(arccos_rows, blocks))
            ts.append(time.perf_counter() - t0)
    breakdown[f"arccos, {nthreads} threads over row blocks"] = _med(ts)
    for k, v in breakdown.items():
        print(f"  {k:45s} {v:.3f} s  (one pass over {N}x{N})")
    report["profile"] = {"N": N, "cprofile_top": prof, "ufunc_pass_s": breakdown}


# =============================================================================================================
# (c) quadrature activations on raw data: fc×3 tanh, d = 16, Gaussian X (not on the sphere)
# =============================================================================================================

TANH_SPEC = {"fc": ["tanh"] * 3}


def adaptive_fc_reference(acts, X, sw=SW2, sb=SB2):
    """NTK of an fc chain by the per-pair adaptive quadrature (dual_kernel_with_error on every pair, no Mehler
    path): Σ ← σ_w² E[φφ] + σ_b², Θ ← Σ + σ_w² E[φ'φ'] ⊙ Θ (design card §3), on a small X."""
    from ntkcheck.theory.dual_kernels import dual_kernel_with_error

    S = sw * (X @ X.T) / X.shape[1] + sb
    T = S.copy()
    for a in acts:  # the hidden dense(φ) edges and the readout (fc: [φ]*k has k − 1 edges + the φ readout)
        q = np.diag(S)
        F = dual_kernel_with_error(a, q[:, None], S, q[None, :])[0]
        Fd = dual_kernel_with_error(a, q[:, None], S, q[None, :], derivative=True)[0]
        S = sw * F + sb
        T = S + sw * Fd * T
    return T


def bench_tanh(args, peer, tmp, report):
    from ntkcheck.theory.kernels import infinite_width_kernels

    rng = np.random.default_rng(args.seed)
    out = {}
    n_ref = 12
    for N in ([200] if args.quick else [200, 1000]):
        X = rng.standard_normal((N, 16))
        t0 = time.perf_counter()
        res = infinite_width_kernels(TANH_SPEC, X)
        t_nc = time.perf_counter() - t0
        # the fc recursion is entrywise given the diagonals, so the kernel of the first n_ref points is the
        # top-left block of the kernel of all N points
        t0 = time.perf_counter()
        ref = adaptive_fc_reference(TANH_SPEC["fc"], X[:n_ref])
        t_ref = time.perf_counter() - t0
        err_ref = float(np.max(np.abs(res.ntk[:n_ref, :n_ref] - ref)) / np.max(np.abs(ref)))
        row = {"ntkcheck_s": t_nc, "ntkcheck_vs_adaptive_max_rel": err_ref, "adaptive_n": n_ref,
               "adaptive_s": t_ref, "adaptive_s_per_pair": t_ref / (n_ref * (n_ref + 1) / 2),
               "quadrature_error_bound": res.quadrature_error}
        if peer is not None and N <= 200:
            np.save(tmp / "xt.npy", X)
            peer.call(op="load", key="xt", x=str(tmp / "xt.npy"))
            r = peer.call(op="tanh", key="xt", depth=3, deg=96, save=str(tmp / "kt.npy"))
            Knt = np.load(tmp / "kt.npy", allow_pickle=False)
            # the stax network is Dense → 3 × [tanh → Dense]: ntkcheck's {"fc": ["tanh"]*3} has 2 hidden
            # dense(tanh) edges and the tanh readout, i.e. the same 3 tanh layers
            row.update(nt_deg96_s=r["t"], nt_cold_s=r["cold"],
                       nt_vs_ntkcheck_max_rel=float(np.max(np.abs(Knt - res.ntk)) / np.max(np.abs(res.ntk))),
                       nt_vs_adaptive_max_rel=float(np.max(np.abs(Knt[:n_ref, :n_ref] - ref)) / np.max(np.abs(ref))),
                       ratio_ntkcheck_over_nt=t_nc / r["t"])
        out[N] = row
        print(f"  N={N}: {row}", flush=True)
    report["tanh"] = out


# =============================================================================================================
# (d) the whole `ntkcheck kernel` process vs neural-tangents + numpy eigvalsh of both Gram matrices
# =============================================================================================================

_NT_PROCESS = r"""
import sys, time, math, numpy as np, jax
jax.config.update("jax_enable_x64", True)
from neural_tangents import stax
X = np.load(sys.argv[1], allow_pickle=False); depth = int(sys.argv[2])
layers = [stax.Dense(1, W_std=math.sqrt(2.0), b_std=0.0)]
for _ in range(depth):
    layers += [stax.Relu(), stax.Dense(1, W_std=math.sqrt(2.0), b_std=0.0)]
kfn = jax.jit(stax.serial(*layers)[2], static_argnames="get")
k = kfn(X, None, ("nngp", "ntk"))
K, T = np.asarray(k.nngp), np.asarray(k.ntk)
wk, wt = np.linalg.eigvalsh(K), np.linalg.eigvalsh(T)
np.savez(sys.argv[3], nngp_ext=[wk[0], wk[-1]], ntk_ext=[wt[0], wt[-1]])
"""


def bench_process(args, peer_python, tmp, report):
    N = 1000 if args.quick else 4000
    depth = 6
    X = np.random.default_rng(args.seed).standard_normal((N, D))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    xp = tmp / "xp.npy"
    np.save(xp, X)
    spec = json.dumps({"fc": ["relu"] * depth})
    ntk_bin = str(Path(sys.executable).parent / "ntkcheck")
    rounds = []
    for _ in range(1):
        t0 = time.perf_counter()
        subprocess.run([ntk_bin, "kernel", spec, str(xp), "-o", str(tmp / "k.npz"), "--quiet"], check=True)
        t_nc = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([peer_python, "-c", _NT_PROCESS, str(xp), str(depth), str(tmp / "nt.npz")], check=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        t_nt = time.perf_counter() - t0
        rounds.append((t_nc, t_nt))
        print(f"  N={N}: ntkcheck kernel (whole process) {t_nc:.2f} s, NT + 2×eigvalsh (whole process) {t_nt:.2f} s",
              flush=True)
    z, w = np.load(tmp / "k.npz", allow_pickle=False), np.load(tmp / "nt.npz", allow_pickle=False)
    acc = {"ntk_lambda_min_ntkcheck": float(z["ntk_lambda_min"]), "ntk_lambda_min_error": float(z["ntk_lambda_min_error"]),
           "ntk_lambda_min_nt_eigvalsh": float(w["ntk_ext"][0]),
           "nngp_lambda_min_ntkcheck": float(z["nngp_lambda_min"]), "nngp_lambda_min_nt_eigvalsh": float(w["nngp_ext"][0])}
    ratios = [a / b for a, b in rounds]
    report["process"] = {"N": N, "depth": depth, "rounds_s": rounds, "ratios": ratios, "accuracy": acc}
    print(f"  ratios ntkcheck/(NT+eigvalsh): {ratios}; {acc}", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and samples (a smoke run, ~1-2 minutes)")
    p.add_argument("--peer-python", default=str(ROOT / ".venv-peer" / "bin" / "python"),
                   help="python of the neural-tangents virtualenv (benchmarks/setup_peer_env.sh)")
    p.add_argument("--no-peer", action="store_true", help="skip neural-tangents")
    p.add_argument("--only", choices=["fc", "nb201", "tanh", "process"], help="run one part")
    p.add_argument("--profile", action="store_true", help="also cProfile ntkcheck's fc kernel at the largest N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the full report to this JSON file")
    p.add_argument("--peer-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.peer_worker:
        return peer_worker()
    if args.quick:
        args.fc_sizes, args.repeats, args.loop_n, args.loop_repeats = [300, 1000], 3, 60, 2
        args.nb201_n, args.nb201_sample, args.nb201_jit_sample, args.nb201_loop_cells, args.nb201_repeats = \
            64, 24, 6, 2, 2
    else:
        args.fc_sizes, args.repeats, args.loop_n, args.loop_repeats = [1000, 4000], 5, 200, 3
        args.nb201_n, args.nb201_sample, args.nb201_jit_sample, args.nb201_loop_cells, args.nb201_repeats = \
            64, 200, 40, 4, 4

    report = {"date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "machine": machine_info(),
              "quick": args.quick}
    peer = None
    if not args.no_peer:
        if Path(args.peer_python).exists():
            peer = Peer(args.peer_python)
            report["peer_versions"] = peer.call(op="versions")
            print("peer:", report["peer_versions"], flush=True)
        else:
            print(f"neural-tangents side skipped: {args.peer_python} not found (run benchmarks/setup_peer_env.sh)")
    try:
        with tempfile.TemporaryDirectory(prefix="ntkbench") as tmpd:
            tmp = Path(tmpd)
            if args.only in (None, "fc"):
                print("(a) fully connected depth-5 ReLU NTK", flush=True)
                bench_fc(args, peer, tmp, report)
            if args.only in (None, "nb201"):
                print("(b) all NB201 cells", flush=True)
                bench_nb201(args, peer, tmp, report)
            if args.only in (None, "tanh"):
                print("(c) fc×3 tanh on raw Gaussian data, d = 16", flush=True)
                bench_tanh(args, peer, tmp, report)
            if args.only in (None, "process") and Path(args.peer_python).exists() and not args.no_peer:
                print("(d) `ntkcheck kernel` fc×6 ReLU whole process vs NT + eigvalsh", flush=True)
                bench_process(args, args.peer_python, tmp, report)
    finally:
        if peer:
            peer.close()
    if args.profile:
        profile_fc(args, report)
    try:
        report["machine"]["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    print_summary(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))
    return 0


def print_summary(rep):
    print("\n==== summary (ratios = ntkcheck time / other time; < 1 means ntkcheck is faster) ====")
    m = rep["machine"]
    print(f"date {rep['date_utc']} UTC; cpus {m.get('cpu_count')}; load avg start {m.get('loadavg_start')}, "
          f"end {m.get('loadavg_end')}")
    if "peer_versions" in rep:
        print("peer:", rep["peer_versions"])
    if "fc" in rep:
        fc = rep["fc"]
        print(f"(a) fc depth-5 ReLU NTK, d={D}, medians of {fc['repeats']} interleaved repeats; loop timed at "
              f"N={fc['loop_n']} and extrapolated by N(N+1)/2")
        for N, t in fc["times"].items():
            r = t["ratio_ntkcheck_over_nt"]
            print(f"  N={N}: ntkcheck {_fmt(t['ntkcheck_median_s'])}, neural-tangents (warm jit) "
                  f"{_fmt(t['nt_median_s'])}, loop (extrap.) {_fmt(t['loop_extrapolated_s'])}; "
                  + (f"ntkcheck/NT = {r:.3g}, " if r is not None else "")
                  + f"ntkcheck/loop = {t['ratio_ntkcheck_over_loop']:.3g}")
        for N, a in fc["accuracy"].items():
            print(f"  accuracy N={N}: {a}")
    if "nb201" in rep:
        nb = rep["nb201"]
        print(f"(b) NB201, N={nb['N']}: {nb['n_cells']} cells, {nb['n_cells_with_path']} with an output path, "
              f"{nb['n_analog_classes']} analog classes; ntkcheck all cells {_fmt(nb['ntkcheck_median_s'])} "
              f"(median of {nb['repeats']}; nb201_kernels returns all 15,625 (N,N) NTKs and NNGPs); "
              f"nb201_lambda_min_all (per class kernels + certified lambda_min) "
              f"{_fmt(nb['ntkcheck_lambda_min_all_median_s'])}")
        for name in ("eager", "jit_cold", "jit_warm"):
            if f"nt_{name}_mean_s_per_cell" in nb:
                print(f"  NT {name}: {nb[f'nt_{name}_mean_s_per_cell']:.3g} s/cell (mean of "
                      f"{nb[f'nt_{name}_cells_timed']}), extrapolated {nb[f'nt_{name}_extrapolated_all_cells_s']:.4g} s"
                      f" for all cells with a path -> ntkcheck/NT = {nb[f'ratio_ntkcheck_over_nt_{name}']:.3g}; "
                      f"per class ({nb['n_live_classes']}) {nb[f'nt_{name}_extrapolated_per_class_s']:.4g} s -> "
                      f"{nb[f'ratio_ntkcheck_over_nt_{name}_per_class']:.3g}")
        print(f"  loop: {_med(nb['loop_cell_times_s']):.3g} s/cell, extrapolated {nb['loop_extrapolated_all_cells_s']:.4g} s"
              f" (all cells with a path) / {nb['loop_extrapolated_per_class_s']:.4g} s (per class) -> ntkcheck/loop = "
              f"{nb['ratio_ntkcheck_over_loop']:.3g}")
        print(f"  accuracy: {nb['accuracy']}")
    if "profile" in rep:
        print("(profile) one-pass ufunc times:", {k: round(v, 4) for k, v in rep["profile"]["ufunc_pass_s"].items()})


if __name__ == "__main__":
    sys.exit(main())
