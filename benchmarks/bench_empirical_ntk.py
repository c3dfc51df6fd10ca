#!/usr/bin/env python
r"""Empirical NTK of models a user writes (plain nn.Sequential MLPs, NB201 conv cells): ntkcheck's
``empirical_ntk(net, X)`` (engine="auto") against what a researcher would write instead, side by side in one run.

Baselines (float64, CPU):
* ``torch.func`` Jacobian: ``vmap(jacrev(f))`` over all samples, then ``einsum('np,mp->nm', J, J)`` — the
  "Jacobian contraction" of the PyTorch tutorial *Neural Tangent Kernels* (torch.func);
* ``torch.func`` NTK-vector products: the tutorial's ``vmap(vmap(vjp → jvp))`` over pairs;
* the per-sample loop: one ``autograd.grad`` per sample, rows stacked, G Gᵀ (the NAS papers' code;
  ntkcheck's ``engine="loop"``).
Where a baseline would take minutes or more memory than the machine has, it is timed on a smaller N and
extrapolated by its cost model (Jacobian: linear in N for J plus N² for the contraction, measured separately;
NTK-vector products: N²; loop: N), and the table says so.

FLOP/s of the structured engine: forward + backward 4·N·Σ fan_in·fan_out plus the Gram products
2·N²·Σ (fan_in + fan_out), divided by its time, against this machine's matmul peak (measured: 103 GFLOP/s
float64, 197 float32 on the 2 cores).

Usage: python benchmarks/bench_empirical_ntk.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

from ntkcheck.empirical.ntk import empirical_ntk

PEAK64 = 103e9


def mlp(d_in: int, width: int, depth: int, seed: int = 0) -> nn.Module:
    """depth Linear layers: d_in → width → … → width → 1, ReLU between (a plain nn.Sequential)."""
    torch.manual_seed(seed)
    dims = [d_in] + [width] * (depth - 1) + [1]
    layers: list[nn.Module] = []
    for k in range(depth):
        layers.append(nn.Linear(dims[k], dims[k + 1]))
        if k < depth - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).double()


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def func_jacobian_ntk(net, X):
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in net.named_parameters()}

    def f(p, x):
        return functional_call(net, p, (x.unsqueeze(0),)).squeeze(0).sum()

    jac = vmap(jacrev(f), (None, 0))(params, X)
    J = torch.cat([j.reshape(X.shape[0], -1) for j in jac.values()], dim=1)
    return torch.einsum("np,mp->nm", J, J)


def func_ntvp_ntk(net, X):
    from torch.func import functional_call, jvp, vjp, vmap

    params = {k: v.detach() for k, v in net.named_parameters()}

    def f(p, x):
        return functional_call(net, p, (x.unsqueeze(0),)).squeeze(0).reshape(-1)[:1]

    def get_ntk(x1, x2):
        out, vjp_fn = vjp(lambda p: f(p, x1), params)

        def slice_(vec):
            return jvp(lambda p: f(p, x2), (params,), vjp_fn(vec))[1]

        return vmap(slice_)(torch.eye(out.numel(), dtype=out.dtype))

    return vmap(vmap(get_ntk, (None, 0)), (0, None))(X, X)[..., 0, 0]


def _warm(net, X, output="scalar"):
    """One-time costs (torch.func's first transform takes ~10 s, lazy initialisation) paid before any timing."""
    empirical_ntk(net, X[:4], output=output)
    empirical_ntk(net, X[:4], output=output, engine="loop")
    func_jacobian_ntk(net, X[:4])
    func_ntvp_ntk(net, X[:2])


def structured_flops(net, N):
    lin = [m for m in net.modules() if isinstance(m, nn.Linear)]
    return sum(4 * N * m.in_features * m.out_features + 2 * N * N * (m.in_features + m.out_features) for m in lin)


def run_mlp(width, depth, N, small, quick):
    net = mlp(32, width, depth)
    X = torch.randn(N, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    row = {"model": f"MLP 32→{width}×{depth - 1}→1 (depth {depth})", "N": N,
           "params": sum(p.numel() for p in net.parameters())}
    _warm(net, X)
    (K, info), t_auto = timed(lambda: empirical_ntk(net, X, return_info=True))
    row.update(engine=info["engine"], auto_s=t_auto, gflops=structured_flops(net, N) / t_auto / 1e9)
    row["peak_fraction"] = row["gflops"] * 1e9 / PEAK64
    P = row["params"]
    _warm(net, X)
    # torch.func Jacobian: run at N if J fits comfortably (N·P·8 ≤ 4 GB), else at `small` and extrapolate
    n_j = N if 8 * N * P <= 4e9 else small
    Kj, t_j = timed(lambda: func_jacobian_ntk(net, X[:n_j]))
    row["jacobian_err"] = float((Kj - K[:n_j, :n_j]).abs().max() / K.abs().max())
    row["jacobian_s"] = t_j * (N / n_j) ** 2 if n_j < N else t_j  # N² bound on the extrapolation (einsum term)
    row["jacobian_note"] = "measured" if n_j == N else f"extrapolated ×(N/{n_j})² from N={n_j} (J is {8 * N * P / 2**30:.0f} GiB at N)"
    n_v = 16 if quick else 40
    Kv, t_v = timed(lambda: func_ntvp_ntk(net, X[:n_v]))
    row["ntvp_err"] = float((Kv - K[:n_v, :n_v]).abs().max() / K.abs().max())
    row["ntvp_s"] = t_v * (N / n_v) ** 2
    row["ntvp_note"] = f"extrapolated ×(N/{n_v})² from N={n_v}"
    n_l = small
    Kl, t_l = timed(lambda: empirical_ntk(net, X[:n_l], engine="loop"))
    row["loop_err"] = float((Kl - K[:n_l, :n_l]).abs().max() / K.abs().max())
    row["loop_s"] = t_l * N / n_l
    row["loop_note"] = f"extrapolated ×N/{n_l} from N={n_l}"
    for k in ("jacobian", "ntvp", "loop"):
        row[f"speedup_vs_{k}"] = row[f"{k}_s"] / t_auto
    return row


def run_nb201(N, cells, quick):
    from ntkcheck.empirical.nb201_conv import build_nb201_conv, tenas_ntk_config

    X = torch.randn(N, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    rows = []
    for cell in cells:
        net = build_nb201_conv(cell, tenas_ntk_config(bn_affine=False), seed=0).double().eval()
        _warm(net, X, output="sum_logits")
        ta, tj = [], []
        for _ in range(1 if quick else 3):  # interleaved repeats, medians (the machine is shared)
            (K, info), t = timed(lambda: empirical_ntk(net, X, output="sum_logits", return_info=True))
            ta.append(t)
            Kj, t = timed(lambda: func_jacobian_ntk(net, X))
            tj.append(t)
        t_auto, t_j = float(np.median(ta)), float(np.median(tj))
        rows.append({"model": f"NB201 conv (TE-NAS C=3, eval BN, non-affine) {cell}", "N": N,
                     "params": sum(p.numel() for p in net.parameters()), "engine": info["engine"],
                     "auto_s": t_auto, "jacobian_s": t_j, "speedup_vs_jacobian": t_j / t_auto,
                     "auto_runs_s": ta, "jacobian_runs_s": tj,
                     "jacobian_err": float((Kj - K).abs().max() / K.abs().max())})
    return rows


def peak_memory_child(width, depth, N):
    """Peak RSS (GiB) and time of empirical_ntk(net, X) at N in a fresh process."""
    code = (f"import time,resource,torch;from benchmarks.bench_empirical_ntk import mlp;"
            f"from ntkcheck.empirical.ntk import empirical_ntk;net=mlp(32,{width},{depth});"
            f"X=torch.randn({N},32,dtype=torch.float64);t=time.perf_counter();K,i=empirical_ntk(net,X,return_info=True);"
            f"print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20, i['engine'])")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    t, gib, eng = out.stdout.split()
    return {"model": f"MLP 32→{width}×{depth - 1}→1", "N": N, "auto_s": float(t), "peak_rss_gib": float(gib),
            "engine": eng}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    res = {"uptime_start": os.popen("uptime").read().strip(), "torch": torch.__version__, "rows": []}
    N = 200 if args.quick else 1000
    small = 50 if args.quick else 100
    for width, depth in ([(512, 3)] if args.quick else [(512, 3), (1024, 4)]):
        r = run_mlp(width, depth, N, small, args.quick)
        print(json.dumps(r), flush=True)
        res["rows"].append(r)
    cells = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
             "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|"]
    for r in run_nb201(32 if args.quick else 128, cells[:1] if args.quick else cells, args.quick):
        print(json.dumps(r), flush=True)
        res["rows"].append(r)
    if not args.skip_memory:
        r = peak_memory_child(512, 3, 2000 if args.quick else 10000)
        print(json.dumps(r), flush=True)
        res["rows"].append(r)
    res["uptime_end"] = os.popen("uptime").read().strip()
    res["maxrss_gib_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(res["uptime_start"], "→", res["uptime_end"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
