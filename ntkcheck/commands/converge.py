"""``ntkcheck converge``: Theorem 3.1 of Chen et al. 2022 measured.

``--scale small`` (default): full-batch gradient descent on ½‖f − y‖² with N unit-norm sklearn digits
(labels ±1 by parity), the paper's DAGs (or given cells: Chen DAG strings or NB201 strings, as their Chen
analog) at several widths; the fitted per-step loss contraction is compared with the linearized
infinite-width prediction (exact and paper-recursion NTK) and with Theorem 3.1's bound 1 − ηλ_min(K^(H))/2
from the exact and from the paper's approximate λ_min.

``--scale paper``: the Fig. 4 protocol — stem + DAG + linear readout, cross-entropy, plain SGD with batch 128,
lr 1e-5, width 1024, Kaiming-normal (standard parametrization), 3 seeds — on all 1,797 sklearn digits (no
download; the paper used MNIST/CIFAR-10), on a GPU when one is present.  ``--epochs`` sets the length.
"""

from __future__ import annotations

import argparse

import numpy as np

from ntkcheck.cli import nonneg_int, positive_float, positive_int
from ntkcheck.errors import NtkcheckError

HELP = "measure gradient-descent loss contraction of DAG cells against Chen et al. 2022's Theorem 3.1"

DEFAULT_CELLS = ("2_02_002", "1_01_222", "2_21_112")


def _ints(s: str) -> list[int]:
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None
    if not v or any(x <= 0 for x in v):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {s!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cells", nargs="*", help=f"Chen DAG or NB201 strings (default: {' '.join(DEFAULT_CELLS)})")
    p.add_argument("--scale", choices=("small", "paper"), default="small")
    p.add_argument("--widths", type=_ints, default=None, help="comma-separated widths (small: 64,256,1024)")
    p.add_argument("--seeds", type=positive_int, default=None, help="number of seeds (small: 2, paper: 3)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="first seed (and the data sample's seed)")
    p.add_argument("--n", type=positive_int, default=10, help="number of data points for --scale small")
    p.add_argument("--steps", type=positive_int, default=200, help="GD steps for --scale small")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (small: 1/max λ_max(NTK) over the cells; paper: 1e-5)")
    p.add_argument("--epochs", type=positive_int, default=100, help="SGD epochs for --scale paper (paper: 1000 on MNIST)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto (cuda if present), cpu or cuda")
    p.add_argument("-o", "--output", metavar="OUT.json", help="write the full report (atomically)")


def run(args: argparse.Namespace) -> int:
    from ntkcheck.empirical import training
    from ntkcheck.empirical.networks import resolve_device
    from ntkcheck.io import write_json_atomic

    cells = list(args.cells) or list(DEFAULT_CELLS)
    if args.output:
        from ntkcheck.io import check_output_file
        check_output_file(args.output, suffixes=(".json",))
    dev = str(resolve_device(args.device))
    if args.n < 2 and args.scale == "small":
        raise NtkcheckError("--n must be at least 2")
    if args.n > 1797 and args.scale == "small":
        raise NtkcheckError(f"--n must be at most 1797 (the sklearn digits), got {args.n}")
    if args.widths and max(args.widths) > 1 << 16:
        raise NtkcheckError(f"--widths: {max(args.widths)} is too large (at most 65536)")
    from ntkcheck.io import check_memory

    w = max(args.widths or [1024])
    # weights, gradients and two work copies of up to 6 w×w edge matrices (a 3-node DAG), float64
    check_memory(8.0 * 4 * 6 * w * w, f"training width-{w} networks")
    if args.scale == "small":
        widths = args.widths or [64, 256, 1024]
        if min(widths) < 64:
            raise NtkcheckError("widths must be >= 64 (the digits' dimension; inputs are embedded isometrically)")
        seeds = list(range(args.seed, args.seed + (args.seeds or 2)))
        X, y = training.digits_data(args.n, seed=args.seed)
        res = training.theorem31_experiment(cells, X, y, widths=widths, seeds=seeds, steps=args.steps, lr=args.lr,
                                            device=dev, quiet=args.quiet)
        res["config"].update(scale="small", data=f"sklearn digits, {args.n} samples (seed {args.seed}), "
                                                 "centred and unit-normalised rows, y = +-1 by parity",
                             device=dev, seed=args.seed)
        rows = [{k: v for k, v in r.__dict__.items()} for r in res["rows"]]
        res["rows"] = rows
        verdict = _small_verdict(res)
        res["verdict"] = verdict
    else:
        width = (args.widths or [1024])[0]
        seeds = list(range(args.seed, args.seed + (args.seeds or 3)))
        lr = args.lr if args.lr is not None else 1e-5
        codes = [c for c in cells]
        for c in codes:
            if c.strip().startswith("|"):
                raise NtkcheckError("--scale paper trains the official MLP: give Chen DAG strings, not NB201 cells")
        res = training.fig4_sgd_experiment(codes, width=width, lr=lr, epochs=args.epochs, seeds=seeds, device=dev,
                                           quiet=args.quiet)
        res["config"].update(scale="paper", seed=args.seed)
        res["curves"] = {k: {kk: vv.tolist() for kk, vv in v.items()} for k, v in res["curves"].items()}
        res["final_train_acc_mean"] = {k: float(np.mean(np.array(v["train_acc"])[:, -1])) for k, v in res["curves"].items()}
    res["command_line"] = getattr(args, "command_line", None)
    if args.output:
        write_json_atomic(args.output, res)
    if args.scale == "small":   # cli.py silences the table under --quiet and prints `res` under --json
        _print_small(res)
    else:
        for k, v in res["final_train_acc_mean"].items():
            print(f"{k:<12} final train accuracy (mean over seeds) {v:.4f}")
    return 0, res


def _small_verdict(res: dict) -> dict:
    """Per cell: does the theorem's bound hold at every width, and does the measured curve approach the exact
    linearized prediction as the width grows (error at the largest width below the smallest width's)?"""
    out = {}
    for cell in res["cells"]:
        rows = [s for s in res["summary"] if s["cell"] == cell]
        rows.sort(key=lambda s: s["width"])
        out[cell] = {"bound_holds_exact_all_widths": all(s["bound_holds_exact"] for s in rows),
                     "bound_holds_paper_all_widths": all(s["bound_holds_paper"] for s in rows),
                     "curve_err_exact_by_width": [round(s["curve_rel_err_exact"], 5) for s in rows],
                     "curve_err_paper_by_width": [round(s["curve_rel_err_paper"], 5) for s in rows],
                     "improves_with_width": (None if len(rows) < 2 else
                                             rows[-1]["curve_rel_err_exact"] < rows[0]["curve_rel_err_exact"])}
    return out


def _print_small(res: dict) -> None:
    print(f"full-batch GD, lr = {res['lr']:.4g}, {res['steps']} steps, N = {res['config']['N']}")
    hdr = (f"{'cell':<12}{'width':>6}  {'late rate':>9} {'lin exact':>9} {'lin paper':>9}  "
           f"{'curve err ex':>12} {'curve err pa':>12}  {'bound ex':>9} {'holds':>5}")
    print(hdr)
    for s in res["summary"]:
        print(f"{s['cell']:<12}{s['width']:>6}  {s['late_measured']:>9.5f} {s['late_lin_exact']:>9.5f} "
              f"{s['late_lin_paper']:>9.5f}  {s['curve_rel_err_exact']:>12.4g} {s['curve_rel_err_paper']:>12.4g}  "
              f"{s['bound_exact']:>9.6f} {str(s['bound_holds_exact']):>5}")
    for c, v in res["verdict"].items():
        print(f"{c}: bound holds (exact λ) at all widths: {v['bound_holds_exact_all_widths']}; "
              f"curve error vs exact NTK falls with width: "
              f"{'n/a (one width)' if v['improves_with_width'] is None else v['improves_with_width']}")
