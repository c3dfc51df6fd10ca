#!/usr/bin/env python
r"""Cost of TE-NAS's κ_N (Chen, Gong, Wang, ICLR 2021, Eq. 3) in units of one batched forward+backward pass.

Run on demand (not part of the test suite)::

    python benchmarks/bench_kappa.py [--cells 4] [--modes paper,code] [--project 6] [--json out.json]

For ``--cells`` NB201 cells of a seeded stratified sample, in ONE process and one thread, per mode of the
``kappa`` metric (paper: C=3, N=1, batch 32, 3 repeats, fresh Kaiming-normal weights per repeat, float64;
code: batch 72, one default-initialised fp32 network, fp32 eigenvalues):

* ``new``: the metric's value with the batched engine (one vectorised backward pass per repeat);
* ``old``: the same value with the per-sample backward loop (the released code's way, the engine used before);
* ``unit``: one train-mode forward pass of the metric's batch through the same network plus one backward pass of
  the summed logits to the 'weight' parameters (the best of 3 timings);

and prints new/unit, old/unit, old/new.  Both engines' values are checked equal to 1e-9 relative.
``--project K``: the per-cell time of ``kappa`` (paper), ``regions`` (paper), ``naswot`` and ``params`` on K
cells through :func:`ntkcheck.metrics.evaluate`, extrapolated to all 15,625 cells on this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _cells(n: int, seed: int = 11) -> list[str]:
    from ntkcheck.sweep.engine import resolve_space, stratified_sample

    cells = [c for c in stratified_sample(resolve_space("nb201"), 40, seed)
             if "none~0|+|none~0|none~1|+|none~0" not in c]
    return cells[::max(1, len(cells) // n)][:n]


def _unit(arch, inputs, cfg) -> float:
    """Best of 3: one batched forward + backward (sum of logits → 'weight' parameters) of the κ network."""
    import torch
    from ntkcheck.metrics.networks import _conv_net, _torch_batch

    dtype = "float64" if cfg["mode"] == "paper" else "float32"
    init = "kaiming_normal_fan_out" if cfg["mode"] == "paper" else "default"
    net = _conv_net(arch, cfg, 0, init, dtype=dtype).train()
    X = _torch_batch(inputs.batch(cfg["batch"], 0)[0], arch, dtype)
    W = [p for n, p in net.named_parameters() if "weight" in n]
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        torch.autograd.grad(net(X).sum(), W, allow_unused=True)
        best = min(best, time.perf_counter() - t)
    return best


def kappa_ratios(cells: list[str], modes: list[str]) -> dict:
    import math

    import torch
    from ntkcheck.metrics import Arch, resolve_config
    from ntkcheck.metrics.registry import Value
    from ntkcheck.metrics.tenas import kappa_value
    from ntkcheck.sweep.inputs import load_inputs

    torch.set_num_threads(1)
    inputs = load_inputs(None, 512)
    out = {}
    for mode in modes:
        cfg = resolve_config("kappa", {"mode": mode})
        rows = []
        for c in cells:
            arch = Arch(c, "nb201")
            unit = _unit(arch, inputs, cfg)
            t = time.perf_counter()
            new = kappa_value(arch, inputs, 0, cfg, engine="batched")
            t_new = time.perf_counter() - t
            t = time.perf_counter()
            old = kappa_value(arch, inputs, 0, cfg, engine="loop")
            t_old = time.perf_counter() - t
            v_new = new.value if isinstance(new, Value) else new
            v_old = old.value if isinstance(old, Value) else old
            same = (v_new == v_old) or (math.isfinite(v_new) and abs(v_new - v_old) <= 1e-9 * abs(v_old))
            rows.append({"cell": c, "unit_s": unit, "new_s": t_new, "old_s": t_old, "new_units": t_new / unit,
                         "old_units": t_old / unit, "old_over_new": t_old / t_new, "kappa_new": v_new,
                         "kappa_old": v_old, "equal": bool(same)})
            print(f"  {mode:5s} unit {unit * 1e3:7.1f} ms  new {t_new:6.2f} s = {t_new / unit:6.1f} units  "
                  f"old {t_old:6.2f} s = {t_old / unit:6.1f} units  old/new {t_old / t_new:4.2f}  "
                  f"equal={same}  {c}", flush=True)
        out[mode] = {"config": cfg, "rows": rows,
                     "median_new_units": statistics.median(r["new_units"] for r in rows),
                     "median_old_units": statistics.median(r["old_units"] for r in rows),
                     "median_old_over_new": statistics.median(r["old_over_new"] for r in rows)}
    return out


def projection(cells: list[str]) -> dict:
    from ntkcheck.metrics import Arch, evaluate, resolve_config
    from ntkcheck.sweep.inputs import load_inputs

    inputs = load_inputs(None, 512)
    med = {}
    for name in ("kappa", "regions", "naswot", "params"):
        cfg = resolve_config(name)
        secs = [evaluate(name, Arch(c, "nb201"), inputs, 0, cfg).seconds for c in cells]
        med[name] = statistics.median(secs)
        print(f"  {name:8s} median {med[name]:.3f} s/cell over {len(cells)} cells", flush=True)
    per_cell = sum(med.values())
    cores = os.cpu_count() or 1
    return {"median_seconds": med, "per_cell_seconds": per_cell, "cores": cores,
            "whole_space_hours_one_core": per_cell * 15625 / 3600,
            "whole_space_hours_all_cores": per_cell * 15625 / 3600 / cores}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--modes", default="paper,code")
    ap.add_argument("--project", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    info = {"machine": platform.machine(), "python": platform.python_version(), "load_before": _load()}
    t0 = time.perf_counter()
    res = {"info": info, "kappa": kappa_ratios(_cells(a.cells), [m for m in a.modes.split(",") if m])}
    for mode, r in res["kappa"].items():
        print(f"{mode}: median new {r['median_new_units']:.1f} units, old {r['median_old_units']:.1f} units, "
              f"old/new {r['median_old_over_new']:.2f}")
    if a.project:
        p = projection(_cells(a.project, seed=12))
        res["projection"] = p
        print(f"whole space (kappa+regions+naswot+params): {p['per_cell_seconds']:.2f} s/cell, "
              f"{p['whole_space_hours_one_core']:.1f} h on one core, {p['whole_space_hours_all_cores']:.1f} h on "
              f"{p['cores']} cores")
    info["load_after"] = _load()
    info["seconds"] = time.perf_counter() - t0
    print(json.dumps(info))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
