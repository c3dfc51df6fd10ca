#!/usr/bin/env python
r"""Sweep benchmark: per-cell cost of TE-NAS-size metrics, store + engine overhead, and Dask worker scaling.

Run on demand (not part of the test suite), with the python that has ntkcheck installed::

    python benchmarks/bench_sweep.py [--cells 4] [--json out.json]

(1) Per-cell cost of ``kappa`` (paper mode: TE-NAS's κ network C=3, N=1, 32×32, batch 32, 3 repeats, float64),
    ``regions`` (paper mode: thin one-channel cell, 3 × 5000 patches), ``naswot`` (NB201 benchmark network C=16,
    N=5, batch 128) and ``params`` on ``--cells`` NB201 cells of a stratified sample, one thread, in this process
    (:func:`ntkcheck.metrics.evaluate`, the function every engine calls).  Extrapolated to all 15,625
    cells on one core and on this machine's cores; no GPU in this task, so the GPU wall time is not measured.
(2) Overhead of the store and the engine: a sweep through :func:`ntkcheck.sweep.engine.run_sweep` into a fresh
    store, wall time vs the sum of the per-value compute seconds recorded in its rows, (a) the in-process engine
    at the default batch (32 cells per task) with ``ntk_lambda_min,dbar``; (b) ``naswot`` at a small size
    (C=4, N=1, batch 64; ~0.1 s per cell, far cheaper than the real metrics, so the worst case) at its default
    batch of 1 cell per task; (c) the same as (a) through a one-worker Dask ``LocalCluster`` (scheduler included).
(3) Scaling: the task list of (a) with 192 cells through a ``LocalCluster`` of one worker and of two workers
    (processes, one thread each), both in this run, ratio of wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def per_cell(n_cells: int) -> dict:
    from ntkcheck.sweep.inputs import load_inputs
    from ntkcheck.metrics import Arch, evaluate, resolve_config
    from ntkcheck.sweep.engine import resolve_space, stratified_sample

    inputs = load_inputs(None, 512)
    cells = [c for c in stratified_sample(resolve_space("nb201"), 40, 11) if "none~0|+|none~0|none~1|+|none~0" not in c]
    cells = cells[::max(1, len(cells) // n_cells)][:n_cells]
    out: dict = {"cells": cells, "metrics": {}}
    for name in ("kappa", "regions", "naswot", "params"):
        cfg = resolve_config(name)
        secs = []
        for c in cells:
            r = evaluate(name, Arch(c, "nb201"), inputs, 0, cfg)
            secs.append(r.seconds)
            print(f"  {name:8s} {r.seconds:8.2f} s  {r.status:8s} {c}", flush=True)
        out["metrics"][name] = {"config": cfg, "seconds": secs, "median": statistics.median(secs)}
    total = sum(m["median"] for m in out["metrics"].values())
    out["per_cell_seconds"] = total
    out["all_cells_one_core_hours"] = total * 15625 / 3600
    out["all_cells_this_machine_hours"] = total * 15625 / 3600 / (os.cpu_count() or 1)
    return out


def _sweep(metrics: dict, cells, batch: int, engine_factory) -> dict:
    from ntkcheck.sweep.inputs import load_inputs
    from ntkcheck.metrics import config_hash, resolve_config
    from ntkcheck.sweep.store import open_store
    from ntkcheck.sweep.engine import plan, run_sweep

    inputs = load_inputs(None, 512)
    with tempfile.TemporaryDirectory() as d:
        st = open_store(Path(d) / "b.sqlite")
        cfgs = {n: resolve_config(n, o) for n, o in metrics.items()}
        wanted = {n: (config_hash(n, c, inputs.fingerprint, "nb201"), c) for n, c in cfgs.items()}
        tasks = plan(st, "nb201", cells, wanted, 0, batch)
        engine = engine_factory(inputs)
        t0 = time.perf_counter()
        s = run_sweep(st, engine, tasks)
        wall = time.perf_counter() - t0
        compute = sum(r.seconds for r in st.rows())
        n = st.count()
        st.close()
    return {"tasks": len(tasks), "values": n, "wall_s": wall, "compute_s": compute, "failed_tasks": s.failed_tasks}


def overhead_and_scaling() -> dict:
    from distributed import LocalCluster

    from ntkcheck.sweep.engine import DaskEngine, LocalEngine, resolve_space, stratified_sample

    space = resolve_space("nb201")
    cheap = {"ntk_lambda_min": {}, "dbar": {}}
    res: dict = {}
    cells = stratified_sample(space, 256, 5)
    a = _sweep(cheap, cells, 32, lambda inp: LocalEngine(inp, 1))
    a["overhead"] = a["wall_s"] / a["compute_s"] - 1
    res["in_process_batch32"] = a
    print(f"  (a) in-process, batch 32: {a}", flush=True)
    b = _sweep({"naswot": {"C": 4, "N": 1, "batch": 64}}, cells[:64], 1, lambda inp: LocalEngine(inp, 1))
    b["overhead"] = b["wall_s"] / b["compute_s"] - 1
    res["in_process_naswot_small_batch1"] = b
    print(f"  (b) in-process naswot small, batch 1: {b}", flush=True)
    cells192 = stratified_sample(space, 192, 6)
    walls = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
            eng = DaskEngine(lc.scheduler_address)
            # warm the workers (imports) outside the timed sweep
            eng.client.run(lambda: __import__("ntkcheck.metrics") and None)
            r = _sweep(cheap, cells, 32, lambda inp: eng.start(inp))
            r["overhead"] = r["wall_s"] * workers / r["compute_s"] - 1
            res[f"dask_{workers}_worker_batch32"] = r
            print(f"  (c) dask {workers} worker(s), 256 cells batch 32: {r}", flush=True)
            eng2 = DaskEngine(lc.scheduler_address)
            s = _sweep(cheap, cells192, 4, lambda inp: eng2.start(inp))
            walls[workers] = s["wall_s"]
            res[f"scaling_{workers}"] = s
            print(f"  (3) dask {workers} worker(s), 192 cells batch 4: {s}", flush=True)
    res["two_vs_one_worker_speedup"] = walls[1] / walls[2]
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--json")
    ap.add_argument("--skip-per-cell", action="store_true")
    args = ap.parse_args()
    import ntkcheck
    from ntkcheck.meta import versions

    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_start": _load()},
           "versions": versions(), "ntkcheck": ntkcheck.__version__, "gpu": "none in this task"}
    print(f"load average at start: {out['machine']['load_start']}", flush=True)
    if not args.skip_per_cell:
        print("(1) per-cell cost at TE-NAS size", flush=True)
        out["per_cell"] = per_cell(args.cells)
    print("(2)+(3) overhead and scaling", flush=True)
    out["engine"] = overhead_and_scaling()
    out["machine"]["load_end"] = _load()
    print(json.dumps(out, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
