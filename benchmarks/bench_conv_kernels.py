#!/usr/bin/env python
r"""Time and memory of the exact convolutional NB201 kernels (theory/conv_kernels.py), and neural-tangents beside it.

Run on demand (not part of the test suite), with the python that has ntkcheck (and, optionally, neural-tangents
with jax, see RESULTS.md for working pins) installed::

    python benchmarks/bench_conv_kernels.py [--quick] [--json OUT.json]

(a) one cell, standalone (stem and every node computed), N images of 3×8×8, N ∈ {16, 32, 64};
(b) the same cell at N = 32 with H = W ∈ {4, 8, 12};
(c) amortized per cell over a batch of 25 consecutive cells of the enumeration (shared stem / node-1 / node-2
    prefixes computed once), N = 64, 8×8 — the issue's target is < 1 s per cell on 2 cores;
(d) neural-tangents stax (Conv SAME, AvgPool normalize_edges, GlobalAvgPool, float64; the kernel_fn called
    eagerly, timed after a first call — ``jax.jit`` of it took 441 s to compile on the loaded machine) on the same
    stax-exact cell and data, timed alternately with (a), values compared.
Peak memory: tracemalloc's peak of numpy allocations during the call (ntkcheck only).
Cell: |nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2| (every
op kind; stax is exact on it).  Data: Gaussian images, seed 0.  Medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ntkcheck.spec import NB201_OPS
from ntkcheck.theory.conv_kernels import conv_cells_kernels

CELL = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3")


def _images(N, H, W, C=3):
    return np.random.default_rng(0).standard_normal((N, C, H, W))


def _time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def _peak(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _stax():
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import warnings

        warnings.filterwarnings("ignore")
        import jax
        import nt_reference

        return jax, nt_reference
    except ImportError:
        return None, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, 1 repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write the numbers here")
    a = ap.parse_args(argv)
    reps = 1 if a.quick else a.repeats
    res: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                             "load_start": os.getloadavg()}, "cell": "|".join(CELL)}
    jax, ntr = _stax()
    rows = []
    for N in ((8, 16) if a.quick else (16, 32, 64)):
        X = _images(N, 8, 8)
        t, (K, T) = _time(lambda: conv_cells_kernels([CELL], X), reps)
        row = {"N": N, "H": 8, "W": 8, "ntkcheck_s": t, "peak_MB": _peak(lambda: conv_cells_kernels([CELL], X)) / 2**20}
        if ntr is not None:
            kfn = ntr.stax_conv_cell(CELL)  # not jax.jit: its XLA compile took 441 s on the loaded 2-core box
            x = np.transpose(X, (0, 2, 3, 1))
            t0 = time.perf_counter()
            k = kfn(x, None, ("nngp", "ntk"))
            k.ntk.block_until_ready()
            row["nt_first_call_s"] = time.perf_counter() - t0

            def nt_call():
                kk = kfn(x, None, ("nngp", "ntk"))
                kk.ntk.block_until_ready()
                return kk

            row["nt_s"], kk = _time(nt_call, reps)
            row["ratio_ntkcheck_over_nt"] = t / row["nt_s"]
            row["max_rel_diff_ntk"] = float(np.abs(T[0] - np.asarray(kk.ntk)).max() / np.abs(T[0]).max())
        rows.append(row)
        print(json.dumps(row), flush=True)
    res["a_one_cell_vs_N"] = rows
    rows = []
    for HW in ((4, 8) if a.quick else (4, 8, 12)):
        X = _images(16 if a.quick else 32, HW, HW)
        t, _ = _time(lambda: conv_cells_kernels([CELL], X), reps)
        rows.append({"N": X.shape[0], "H": HW, "W": HW, "ntkcheck_s": t,
                     "peak_MB": _peak(lambda: conv_cells_kernels([CELL], X)) / 2**20})
        print(json.dumps(rows[-1]), flush=True)
    res["b_one_cell_vs_HW"] = rows
    N = 16 if a.quick else 64
    cells = list(itertools.islice(itertools.product(NB201_OPS, repeat=6), 3000, 3025))
    X = _images(N, 8, 8)
    t, _ = _time(lambda: conv_cells_kernels(cells, X), 1)
    res["c_batch_25_cells"] = {"N": N, "H": 8, "W": 8, "seconds_total": t, "seconds_per_cell": t / len(cells),
                               "first_cell": "|".join(cells[0]), "last_cell": "|".join(cells[-1])}
    print(json.dumps(res["c_batch_25_cells"]), flush=True)
    res["machine"]["load_end"] = os.getloadavg()
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
