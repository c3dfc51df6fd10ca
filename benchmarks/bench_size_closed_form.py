#!/usr/bin/env python
r"""The closed-form NB201 sizes of :mod:`ntkcheck.metrics.size` against torch, on every one of the 15,625 cells.

Run on demand (not part of the test suite; about 15 minutes on one idle core)::

    python benchmarks/bench_size_closed_form.py [--start I] [--stop J] [--json out.json]

(``--start``/``--stop``: a slice of the cells in index order, so that shards can run side by side; the JSON is
rewritten every 250 cells, so an interrupted shard still records how far it got.)

For each cell the NB201 benchmark network (C=16, N=5, 10 classes, :func:`ntkcheck.empirical.nb201_conv.
build_nb201_conv`, float32) is built and compared with :func:`ntkcheck.metrics.size.nb201_size`:

* ``params``: Σ numel of the network's parameters;
* ``flops_torch``: :class:`torch.utils.flop_counter.FlopCounterMode` over one forward pass of one 3×32×32 image;
* ``flops`` (NAS-Bench-201 API convention): multiply-adds of every ``Conv2d`` and ``Linear`` module, biases
  included, read from forward hooks on the same pass (the AutoDL-Projects counter's rule, re-implemented here
  from its description, not from the closed form).

Prints the number of cells where each count differs (expected: 0 of 15,625), the time of the closed form for the
whole space, and the time of the torch counts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", type=int, default=0, help="first cell (index order)")
    ap.add_argument("--stop", type=int, default=None, help="one past the last cell (default: all)")
    ap.add_argument("--json", help="write the summary here")
    args = ap.parse_args()

    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from ntkcheck.empirical.nb201_conv import NB201ConvConfig, build_nb201_conv
    from ntkcheck.metrics.size import nb201_size
    from ntkcheck.spec import NB201_OPS, nb201_string

    torch.set_num_threads(1)
    cells = [nb201_string(o) for o in itertools.product(NB201_OPS, repeat=6)][args.start: args.stop]
    load0 = _load()
    t0 = time.perf_counter()
    closed = nb201_size(cells)
    t_closed = time.perf_counter() - t0

    def macs_hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            per_pos = m.kernel_size[0] * m.kernel_size[1] * m.in_channels * m.out_channels // m.groups
            macs[0] += (per_pos + (m.out_channels if m.bias is not None else 0)) * out.shape[2] * out.shape[3]
        else:
            macs[0] += m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)

    cfg = NB201ConvConfig(C=16, N=5, num_classes=10)
    bad = {"params": 0, "flops": 0, "flops_torch": 0}
    first_bad: list[str] = []
    x = torch.zeros(1, 3, 32, 32)
    t0 = time.perf_counter()
    for i, c in enumerate(cells):
        net = build_nb201_conv(c, cfg, seed=0, init="default", dtype=torch.float32).eval()
        macs = [0]
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(macs_hook)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            net(x)
        got = {"params": sum(p.numel() for p in net.parameters()), "flops": macs[0],
               "flops_torch": counter.get_total_flops()}
        want = {"params": int(closed.params[i]), "flops": int(closed.macs[i]),
                "flops_torch": int(closed.flops_torch[i])}
        for k in bad:
            if got[k] != want[k]:
                bad[k] += 1
                if len(first_bad) < 5:
                    first_bad.append(f"{c}: {k} torch {got[k]} closed form {want[k]}")
        if (i + 1) % 250 == 0 or i + 1 == len(cells):
            print(f"{i + 1} cells, {time.perf_counter() - t0:.0f} s, mismatches {bad}", flush=True)
            _write(args.json, {"start": args.start, "checked": i + 1, "of": len(cells), "mismatches": bad,
                               "first_mismatches": first_bad, "seconds": round(time.perf_counter() - t0, 1)})
    t_torch = time.perf_counter() - t0
    out = {"start": args.start, "checked": len(cells), "of": len(cells), "mismatches": bad,
           "first_mismatches": first_bad,
           "closed_form_seconds_all_cells": round(t_closed, 4), "torch_seconds_all_cells": round(t_torch, 1),
           "torch_version": torch.__version__, "load_before": load0, "load_after": _load(),
           "max_flops_nb201_api": float(closed.flops.max()), "min_flops_nb201_api": float(closed.flops.min()),
           "max_params_mb": float(closed.params_mb.max())}
    print(json.dumps(out, indent=2))
    _write(args.json, out)


def _write(path: str | None, obj: dict) -> None:
    if path:
        with open(path + ".tmp", "w") as fh:
            json.dump(obj, fh, indent=2)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
