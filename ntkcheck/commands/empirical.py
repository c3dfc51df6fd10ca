"""``ntkcheck empirical``: finite-width NTK and NNGP of the contract's network, averaged over seeds.

Writes an ``.npz`` with ``ntk`` and ``nngp`` (N×N float64, mean over seeds), ``seeds``, the per-seed
certified λ_min of both kernels (``lambda_min_ntk``, ``lambda_min_ntk_err``, ``singular_ntk`` and the same
for ``nngp``), and ``meta``: a JSON string with the configuration, seeds, versions and the λ_min of the
means.  For ``readout="none"`` the NTK is the per-coordinate kernel of the last node.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ntkcheck.cli import nonneg_int, positive_int

HELP = "finite-width NTK and NNGP of a spec's network (mean over seeds, per-seed certified λ_min)"
DESCRIPTION = HELP + ". Exit status 0 on success, 2 for bad input."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC",
                   help="spec: a JSON file, a JSON string, an NB201 string, or 'example' (the bundled DAG)")
    p.add_argument("data", metavar="X.npy",
                   help="data: an (N, d) .npy file with distinct rows, float64 (float32 and integer data are "
                        "converted to float64, with a note), or 'example' (20 points on the unit sphere in R^8)")
    p.add_argument("--width", type=positive_int, required=True, help="hidden width n")
    p.add_argument("--seeds", type=positive_int, default=1, help="number of networks (seeds S, S+1, ...; default 1)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="first seed S (default 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--parametrization", choices=("ntk", "standard", "torch_default"), default="ntk",
                   help="ntk (default), standard (contract σ's in the init) or torch_default (nn.Linear init)")
    p.add_argument("--engine", choices=("auto", "loop", "jacobian", "ntvp", "structured"), default="auto")
    p.add_argument("--params", choices=("all", "weight", "no_classifier", "weight_no_classifier"), default="all",
                   help="parameters θ of the NTK (default all)")
    p.add_argument("--chunk-size", type=positive_int, default=None, help="samples processed at once (engine default)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npz", help="output file (written atomically)")


def memory_estimate(spec, N: int, d: int, width: int, itemsize: int, chunk: int | None) -> float:
    """Bytes the finite-width kernels need, estimated before anything is allocated: the parameters P
    (n² per weighted edge, n·d for the input layer, biases), per-sample gradients of ``chunk`` samples
    (chunk × P), activations N × n per node (forward and backward), and the N×N kernels (NTK, NNGP, sums,
    eigen-decomposition work)."""
    n = float(width)
    P = n * n * max(1, spec.n_dense) + n * d + n * (spec.nodes + 2)
    rows = float(min(N, chunk or N))
    return itemsize * (P * (2.0 + rows) + 4.0 * N * n * (spec.nodes + 1)) + 8.0 * 8.0 * N * N


def run(args: argparse.Namespace):
    import torch

    import ntkcheck
    from ntkcheck.empirical.ntk import iter_seed_kernels, seed_list
    from ntkcheck.empirical.spectra import certified_spectrum
    from ntkcheck.io import (check_memory, check_output_file, data_dtype, data_shape, load_data, save_npz_atomic,
                             to_jsonable)
    from ntkcheck.spec import parse_spec

    check_output_file(args.output, suffixes=(".npz",))
    spec = parse_spec(args.spec)
    N, d = data_shape(args.data)               # the header only: memory is checked before anything is loaded
    dtype = data_dtype(args.data)
    if dtype != np.float64 and not args.quiet:
        print(f"ntkcheck empirical: note: {args.data} is {dtype}; converted to float64", file=sys.stderr)
    from ntkcheck.empirical.networks import resolve_device

    device = resolve_device(args.device)
    need = memory_estimate(spec, N, d, args.width, 8 if args.dtype == "float64" else 4, args.chunk_size)
    what = f"the empirical NTK at width {args.width} on N = {N} points"
    if device.type == "cuda":
        check_memory(need, what + " (GPU)", available=int(torch.cuda.mem_get_info(device)[0]))
    else:
        check_memory(need, what)
    X = load_data(args.data)
    seeds = seed_list(args.seeds, args.seed)
    T_sum = K_sum = None
    per = {k: [] for k in ("lambda_min_ntk", "lambda_min_ntk_err", "singular_ntk",
                           "lambda_min_nngp", "lambda_min_nngp_err", "singular_nngp")}
    from tqdm import tqdm

    bar = tqdm(total=len(seeds), desc=f"empirical width {args.width}", unit="seed", disable=args.quiet)
    for r in iter_seed_kernels(spec, X, args.width, seeds, parametrization=args.parametrization, device=device,
                               dtype=args.dtype, engine=args.engine, params=args.params,
                               chunk_size=args.chunk_size):
        T_sum = r.ntk.copy() if T_sum is None else T_sum + r.ntk
        K_sum = r.nngp.copy() if K_sum is None else K_sum + r.nngp
        for name, M in (("ntk", r.ntk), ("nngp", r.nngp)):
            sp = certified_spectrum(M)
            per[f"lambda_min_{name}"].append(float(sp.lambda_min))
            per[f"lambda_min_{name}_err"].append(float(sp.error_bound))
            per[f"singular_{name}"].append(bool(sp.singular))
        bar.update(1)
    bar.close()
    T, K = T_sum / len(seeds), K_sum / len(seeds)
    spT, spK = certified_spectrum(T), certified_spectrum(K)
    meta = {
        "command": "empirical", "command_line": getattr(args, "command_line", None), "spec": spec.to_json(), "data": str(args.data), "N": int(X.shape[0]),
        "d": int(X.shape[1]), "width": args.width, "seeds": seeds, "device": str(device), "dtype": args.dtype,
        "parametrization": args.parametrization, "engine": args.engine, "params": args.params,
        "ntk_output": "per-coordinate mean over the last node" if spec.readout == "none" else "scalar",
        "nngp_normalization": ("(1/n)<h,h'> of the last node" if spec.readout == "none"
                               else "sigma_w2 (1/n)<phi_out,phi_out'> + sigma_b2"),
        "eigen_method": spT.method,
        "mean_ntk_lambda_min": {"value": float(spT.lambda_min), "error_bound": float(spT.error_bound),
                                "singular": bool(spT.singular)},
        "mean_nngp_lambda_min": {"value": float(spK.lambda_min), "error_bound": float(spK.error_bound),
                                 "singular": bool(spK.singular)},
        "versions": {"ntkcheck": ntkcheck.__version__, "torch": torch.__version__, "numpy": np.__version__},
    }
    save_npz_atomic(args.output, ntk=T, nngp=K, seeds=np.asarray(seeds, dtype=np.int64),
                    **{k: np.asarray(v) for k, v in per.items()},
                    meta=np.asarray(json.dumps(to_jsonable(meta))))
    print(f"wrote {args.output}: N={X.shape[0]}, width {args.width}, {len(seeds)} seed(s); "
          f"λ_min(mean NTK) = {spT.lambda_min:.6g} ± {spT.error_bound:.1e}, "
          f"λ_min(mean NNGP) = {spK.lambda_min:.6g} ± {spK.error_bound:.1e}")
    return 0, {k: v for k, v in meta.items() if k != "versions"} | {"output": str(args.output),
                                                                    "per_seed": per, "versions": meta["versions"]}
