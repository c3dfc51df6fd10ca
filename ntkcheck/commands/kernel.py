"""``ntkcheck kernel``: exact infinite-width NNGP and NTK Gram matrices of a spec on a data set."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ntkcheck.cli import nonneg_int, positive_int
from ntkcheck.errors import NtkcheckError
from ntkcheck.io import (check_memory, check_output_file, data_shape, load_array, load_data, save_npz_atomic,
                         validate_data)
from ntkcheck.meta import run_metadata

HELP = "exact infinite-width NNGP/NTK Gram matrices of an architecture (or of all NB201 cells)"
DESCRIPTION = (HELP + ". SPEC is a JSON file, a JSON string, an NB201 cell string, or 'example'; X is an (N, d) "
               ".npy array, or (N, C, H, W) images for a convolutional NB201 cell ({\"nb201\": CELL, \"kernel\": "
               "\"conv\", \"image\": [C, H, W]}). The output .npz holds 'nngp', 'ntk', their certified "
               "λ_min/λ_max and a 'meta' JSON string. Long convolutional runs show progress with an estimate of "
               "the time left and stop within about a second of Ctrl-C.")


def add_arguments(p) -> None:
    p.add_argument("spec", nargs="?", help="spec JSON file / JSON string / NB201 string ('example' for the bundled DAG)")
    p.add_argument("data", nargs="?", help="data file X.npy of shape (N, d), or (N, C, H, W) for a convolutional "
                                           "cell; 'example' for the bundled 20 points on the unit sphere in R^8")
    p.add_argument("-o", "--output", help="output .npz (written atomically)")
    p.add_argument("--sphere", nargs=2, type=positive_int, metavar=("N", "D"),
                   help="instead of a data file: N points uniform on the unit sphere in R^D (seeded)")
    p.add_argument("--seed", type=nonneg_int, default=None, help="seed for --sphere data and for the --nb201-all --conv sample of cells (default 0)")
    p.add_argument("--normalize", choices=["none", "sphere"], default="none",
                   help="'sphere' scales every row of X to unit norm first (reported)")
    p.add_argument("--no-cross-terms", action="store_true",
                   help="drop the cross terms between edges into a node (a labelled approximation)")
    p.add_argument("--nb201-all", action="store_true",
                   help="compute all 15,625 NB201 cells (fully connected analog) and store λ_min of each")
    p.add_argument("--conv", action="store_true",
                   help="with --nb201-all: the exact kernels of the convolutional cells (conv stem, pooling, GAP; "
                        "no BN) instead of the fc analog, on a seeded sample of --sample cells")
    p.add_argument("--sample", type=positive_int, default=100, metavar="N",
                   help="with --nb201-all --conv: number of cells, drawn with --seed (default 100; 15625 = all; "
                        "the whole space: --table, or `ntkcheck sweep conv_ntk_lambda_min --space nb201`)")
    p.add_argument("--table", metavar="OUT.csv.gz",
                   help="with --nb201-all --conv: all 15,625 cells (isomorphic cells computed once), written as the "
                        "gzip CSV the package ships (NATS-Bench index order) plus OUT_images.npy; default data: "
                        "the table's 16 natural 3×8×8 images; resumable (finished chunks are cached)")
    p.add_argument("--image", nargs=3, type=positive_int, metavar=("C", "H", "W"),
                   help="with --nb201-all --conv and flat (N, C·H·W) data: the image shape")


#: Kernel matrices alive at once per node of the recursion (Σ, Θ, Σ̇ and work arrays): the memory estimate.
_MATRICES_PER_NODE = 6


def _check_kernel_memory(N: int, nodes: int) -> None:
    check_memory(8.0 * N * N * _MATRICES_PER_NODE * max(1, nodes), f"computing the N×N kernels for N = {N}")


def _data(args, nodes: int = 1) -> tuple[np.ndarray, str]:
    if args.sphere and args.data:
        raise NtkcheckError(f"give either a data file ({args.data}) or --sphere N D, not both")
    if args.sphere and args.normalize != "none":
        raise NtkcheckError("--normalize applies to a data file; --sphere data is already on the sphere")
    if args.sphere:
        n, d = args.sphere
        if n * d > 10**8:
            raise NtkcheckError(f"--sphere {n} {d} is too large ({n * d} numbers)")
        _check_kernel_memory(n, nodes)
        args.seed = 0 if args.seed is None else args.seed
        rng = np.random.default_rng(args.seed)
        X = rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        # d = 1 gives only ±1: the same distinct-rows check as for a data file
        return validate_data(X, name=f"--sphere {n} {d} data"), f"sphere(N={n}, d={d}, seed={args.seed})"
    if not args.data:
        raise NtkcheckError("give a data file X.npy or --sphere N D")
    if args.seed is not None:
        raise NtkcheckError("--seed only seeds --sphere data; a data file needs no seed")
    _check_kernel_memory(data_shape(args.data)[0], nodes)   # from the header, before loading
    X = load_data(args.data)
    if args.normalize == "sphere":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise NtkcheckError("cannot normalize a zero row onto the sphere")
        X = validate_data(X / norms)
    return X, str(args.data)


def run(args) -> int:
    from ntkcheck.spec import ConvCellSpec, parse_any_spec
    from ntkcheck.theory.spectra import certified_extreme_eigvalsh

    if args.output:
        check_output_file(args.output)
    if args.nb201_all:
        if args.data is None and args.spec and not args.sphere:  # `kernel --nb201-all X.npy`
            args.data, args.spec = args.spec, None
        if args.spec:
            raise NtkcheckError("--nb201-all computes every NB201 cell: give no SPEC, only X.npy or --sphere")
        if args.no_cross_terms:
            raise NtkcheckError("--no-cross-terms does not apply to --nb201-all")
        if args.table:
            if not args.conv:
                raise NtkcheckError("--table goes with --nb201-all --conv")
            return _run_conv_table(args)
        return _run_nb201_conv(args) if args.conv else _run_nb201(args)
    if args.table:
        raise NtkcheckError("--table goes with --nb201-all --conv")
    if args.conv or args.image:
        raise NtkcheckError("--conv/--image go with --nb201-all; for one cell put \"kernel\": \"conv\" and "
                            "\"image\" in the spec")
    if not args.spec:
        raise NtkcheckError("missing SPEC (a JSON file, JSON string, NB201 string, or 'example')")
    if args.data is None and not args.sphere:
        raise NtkcheckError("missing data: give X.npy or --sphere N D")
    spec = parse_any_spec(Path(args.spec) if Path(args.spec).suffix == ".json" else args.spec)
    if isinstance(spec, ConvCellSpec):
        return _run_conv(args, spec)
    X, data_desc = _data(args, spec.nodes)
    from ntkcheck.theory.kernels import infinite_width_kernels

    t0 = time.perf_counter()
    res = infinite_width_kernels(spec, X, cross_terms=not args.no_cross_terms, progress=not args.quiet)
    secs = time.perf_counter() - t0
    specs = {name: certified_extreme_eigvalsh(M) for name, M in (("ntk", res.ntk), ("nngp", res.nngp))}
    summary = {
        "spec": spec.to_json(), "data": data_desc, "N": X.shape[0], "d": X.shape[1],
        "normalized": args.normalize == "sphere" or bool(args.sphere),
        "recursion": res.label, "quadrature_error": res.quadrature_error, "seconds": secs,
        "degenerate": res.degenerate,
        **{f"{k}_spectrum": v.summary() for k, v in specs.items()},
    }
    _save_kernels(args, summary, res, specs)
    # human-readable summary (cli.py silences it under --quiet and --json)
    print(f"spec: {spec}  ({res.label})")
    if spec.note:
        print(f"note: {spec.note}")
    print(f"data: {data_desc}  N={X.shape[0]} d={X.shape[1]}  time {secs:.3f}s")
    _print_spectra(specs)
    if res.quadrature_error:
        print(f"  largest estimated quadrature error per dual-kernel entry: {res.quadrature_error:.2g}")
    if args.output:
        print(f"wrote {args.output}")
    return 0, {**summary, "command_line": getattr(args, "command_line", None)}


def _save_kernels(args, summary: dict, res, specs: dict) -> None:
    """The .npz of one kernel run (atomic): both Gram matrices, certified λ_min with error bounds, metadata."""
    if args.output:
        meta = run_metadata("kernel", summary, seed=args.seed if args.sphere else None,
                            command_line=getattr(args, "command_line", None))
        save_npz_atomic(args.output, nngp=res.nngp, ntk=res.ntk,
                        ntk_lambda_min=specs["ntk"].lambda_min, ntk_lambda_min_error=specs["ntk"].error_bound,
                        nngp_lambda_min=specs["nngp"].lambda_min, nngp_lambda_min_error=specs["nngp"].error_bound,
                        meta=json.dumps(meta, default=str))


def _print_spectra(specs: dict) -> None:
    for k, sp in specs.items():
        print(f"  {k:5s} λ_min = {sp.lambda_min:.10g} ± {sp.error_bound:.2g}   λ_max = {sp.lambda_max:.10g}   "
              f"cond = {sp.cond:.4g}   [{sp.status}]")


def _run_nb201(args) -> int:
    from ntkcheck.theory.nb201 import nb201_lambda_min_all

    X, data_desc = _data(args)
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        progress = lambda it: tqdm(list(it), desc="NB201 analog classes (chunks)", unit="chunk")  # noqa: E731
    t0 = time.perf_counter()
    tab = nb201_lambda_min_all(X, progress=progress)
    secs = time.perf_counter() - t0
    live = ~tab.degenerate
    best = int(np.argmax(np.where(live, tab.ntk_lambda_min, -np.inf)))
    summary = {"data": data_desc, "N": X.shape[0], "d": X.shape[1], "cells": len(tab.cells),
               "distinct_analog_classes": tab.n_classes, "degenerate_cells": int(tab.degenerate.sum()),
               "seconds": secs, "best_cell_by_ntk_lambda_min": tab.cells[best],
               "best_ntk_lambda_min": float(tab.ntk_lambda_min[best]),
               "note": "NB201 cells as their fully connected analog (conv → dense:relu, avg_pool → skip)"}
    return _write_table(args, "kernel --nb201-all", summary, tab, seed=args.seed if args.sphere else None)


def _write_table(args, command: str, summary: dict, tab, seed) -> int:
    """Save a per-cell λ_min table (atomic .npz with metadata) and print its summary."""
    if args.output:
        meta = run_metadata(command, summary, seed=seed, command_line=getattr(args, "command_line", None))
        save_npz_atomic(args.output, cells=np.array(tab.cells), ntk_lambda_min=tab.ntk_lambda_min,
                        ntk_lambda_min_error=tab.ntk_error_bound, nngp_lambda_min=tab.nngp_lambda_min,
                        nngp_lambda_min_error=tab.nngp_error_bound, degenerate=tab.degenerate,
                        meta=json.dumps(meta, default=str))
    for k, v in summary.items():
        print(f"{k}: {v}")
    if args.output:
        print(f"wrote {args.output}")
    return 0, {**summary, "command_line": getattr(args, "command_line", None)}


def _images(args, image) -> tuple[np.ndarray, str]:
    """Image data (N, C, H, W) for the conv kernels: --sphere N D (D = C·H·W), or X.npy of shape (N, C, H, W) or
    (N, C·H·W); distinct images required; --normalize sphere scales every image to unit norm."""
    from ntkcheck.theory.conv_kernels import as_images

    if args.sphere or not args.data:
        X, desc = _data(args)
        return as_images(X, image), desc
    path = Path(args.data)
    raw = load_array(path)
    if raw.ndim == 2 and image is None:
        raise NtkcheckError(f"{path.name} is flat (N, d): give the image shape (--image C H W)")
    X = as_images(raw, image)
    flat = validate_data(X.reshape(X.shape[0], -1), name=path.name)
    if args.normalize == "sphere":
        norms = np.linalg.norm(flat, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise NtkcheckError("cannot normalize a zero image onto the sphere")
        X = (flat / norms).reshape(X.shape)
    return X, str(args.data)


def _run_conv(args, spec) -> int:
    """One convolutional NB201 cell: exact NNGP/NTK (theory.conv_kernels) with certified λ_min."""
    from ntkcheck.theory.conv_kernels import conv_cell_kernels
    from ntkcheck.theory.spectra import certified_extreme_eigvalsh

    if args.no_cross_terms:
        raise NtkcheckError("--no-cross-terms is not offered for the conv kernel (use the Python API, "
                            "conv_cells_kernels(..., cross_terms=False), for stax's FanInSum kernel)")
    X, data_desc = _images(args, spec.image)
    n_pairs = X.shape[0] * (X.shape[0] + 1) // 2
    bar = None
    if not args.quiet:        # image pairs done, with tqdm's estimate of the time left; Ctrl-C stops between chunks
        from tqdm import tqdm

        bar = tqdm(total=n_pairs, desc="conv kernel (image pairs)", unit="pair", unit_scale=True, leave=False)
    t0 = time.perf_counter()
    try:
        res = conv_cell_kernels(spec, X, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    secs = time.perf_counter() - t0
    specs = {name: certified_extreme_eigvalsh(M) for name, M in (("ntk", res.ntk), ("nngp", res.nngp))}
    summary = {
        "spec": spec.to_json(), "data": data_desc, "N": X.shape[0], "image": list(X.shape[1:]),
        "normalized": args.normalize == "sphere" or bool(args.sphere), "recursion": res.label, "note": res.note,
        "seconds": secs, "degenerate": res.degenerate, **{f"{k}_spectrum": v.summary() for k, v in specs.items()},
    }
    _save_kernels(args, summary, res, specs)
    print(f"spec: {spec} conv, image {list(spec.image)}  ({res.label})")
    print(f"note: {res.note}")
    print(f"data: {data_desc}  N={X.shape[0]}  time {secs:.3f}s")
    _print_spectra(specs)
    if args.output:
        print(f"wrote {args.output}")
    return 0, {**summary, "command_line": getattr(args, "command_line", None)}


def _run_nb201_conv(args) -> int:
    """``--nb201-all --conv``: certified λ_min of the exact conv kernels on a seeded sample of the 15,625 cells."""
    from ntkcheck.theory.conv_kernels import conv_lambda_min_table
    from ntkcheck.theory.nb201 import all_nb201_cells

    if args.sample > 15625:
        raise NtkcheckError(f"--sample must be in 1..15625, got {args.sample}")
    if args.sphere and not args.image:
        raise NtkcheckError("--sphere data for --conv needs --image C H W")
    args.seed = 0 if args.seed is None else args.seed   # seeds the sample of cells (and --sphere data)
    X, data_desc = _images(args, tuple(args.image) if args.image else None)
    cells = all_nb201_cells()
    if args.sample < len(cells):
        pick = np.sort(np.random.default_rng(args.seed).choice(len(cells), args.sample, replace=False))
        cells = [cells[i] for i in pick]
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(cells), desc="NB201 conv cells", unit="cell")
    t0 = time.perf_counter()
    try:
        tab = conv_lambda_min_table(cells, X, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    secs = time.perf_counter() - t0
    live = ~tab.degenerate
    best = int(np.argmax(np.where(live, tab.ntk_lambda_min, -np.inf)))
    summary = {"data": data_desc, "N": X.shape[0], "image": list(X.shape[1:]), "cells": len(tab.cells),
               "sampled": len(tab.cells) < 15625, "seed": args.seed, "degenerate_cells": int(tab.degenerate.sum()),
               "seconds": secs, "seconds_per_cell": secs / len(tab.cells),
               "best_cell_by_ntk_lambda_min": tab.cells[best], "best_ntk_lambda_min": float(tab.ntk_lambda_min[best]),
               "note": tab.note}
    return _write_table(args, "kernel --nb201-all --conv", summary, tab, seed=args.seed)


def _run_conv_table(args) -> int:
    """``--nb201-all --conv --table OUT.csv.gz``: the exact conv-kernel table of all 15,625 cells."""
    import gzip
    import hashlib
    import resource

    from ntkcheck.data import nb201_table
    from ntkcheck.data.conv_kernel_table import build_conv_kernel_table, table_csv, table_images
    from ntkcheck.io import atomic_path, write_bytes_atomic

    out = Path(args.table)
    if not out.name.endswith(".csv.gz"):
        raise NtkcheckError(f"--table must name a .csv.gz file, got {out.name}")
    check_output_file(out)
    img_path = out.with_name(out.name[:-len(".csv.gz")] + "_images.npy")
    if args.data or args.sphere:
        X, data_desc = _images(args, tuple(args.image) if args.image else None)
    else:
        X, data_desc = table_images(), "bundled natural images (16, seed 0), 3x8x8, unit norm"
    tab = nb201_table()
    t0, c0 = time.perf_counter(), time.process_time()
    done = [0]

    def progress(k: int, total: int) -> None:
        if not args.quiet and k - done[0] >= 500 or k == total:
            print(f"  classes {k}/{total}  {time.perf_counter() - t0:.0f}s", flush=True)
            done[0] = k

    cols = build_conv_kernel_table(X, tab.arch, progress=progress)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    raw = table_csv(tab.index, tab.arch, cols)
    write_bytes_atomic(out, gzip.compress(raw, mtime=0))
    with atomic_path(img_path) as tmp:
        np.save(tmp, np.asarray(X, dtype=np.float64), allow_pickle=False)
    summary = {"data": data_desc, "N": X.shape[0], "image": list(X.shape[1:]), "cells": len(tab.arch),
               "classes": int(cols["n_classes"]), "degenerate_cells": int(cols["degenerate"].sum()),
               "seconds": secs, "cpu_seconds": cpu,
               "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "csv_sha256": hashlib.sha256(raw).hexdigest(),
               "images_sha256": hashlib.sha256(img_path.read_bytes()).hexdigest()}
    for k, v in summary.items():
        print(f"{k}: {v}")
    print(f"wrote {out} and {img_path}")
    return 0, {**summary, "command_line": getattr(args, "command_line", None)}
