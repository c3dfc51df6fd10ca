"""``ntkcheck search METHOD``: run a paper's training-free search on the NB201 cell space end to end.

Methods: ``tenas`` (TE-NAS pruning, Chen et al. 2021 Algorithm 1), ``tenas+dag`` (the same with Chen et al.
2022's pre-reserve rule: per edge and round the 2 removals nearest the supernet (d̄, m̄) centroid are skipped),
``eigen-nas`` (argmax λ_min of the NTK at
init, Zhu et al. 2022), ``lga`` (argmax label-gradient alignment, Mok et al. 2022; at initialisation unless
``--lga-epochs`` > 0), ``chen-filter+<score>`` (Chen et al. 2022's depth/width filter, the official code's
NB201 window with ``--mode code``, the paper's ½-radius rule around (1.6, 2.2) ± (0.7, 0.9) with
``--mode paper``, in front of ``eigen-nas``, ``lga`` or ``kappa``).  ``--mode`` (tenas, tenas+dag,
chen-filter+*) picks the paper's protocol or the released code's behaviour (README "Paper and released-code
modes").  The scores are measured on sklearn digits (no download).

The chosen cell is then judged on the NATS-Bench 200-epoch test accuracies shipped with ntkcheck (all 15,625
cells, ``ntkcheck.data.nb201_accuracies``): its accuracy, rank and percentile on CIFAR-10, CIFAR-100 and
ImageNet16-120, the best cell of the space and the best of the scored candidates for reference.  Nothing is
trained.  ``--nats-bench PATH`` ranks on your own NATS-Bench file instead; ``--toy-accuracy`` adds the toy
protocol (the fc analog of every scored cell trained on digits; minutes, and not a NAS-Bench-201 accuracy).
A time estimate is printed before a run expected to take more than a few seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ntkcheck.errors import NtkcheckError

HELP = "run TE-NAS / Eigen-NAS / LGA / Chen-filter searches on NB201 and rank the chosen cell on NATS-Bench"
DESCRIPTION = ("Run a paper's training-free search on the NB201 cells (scores measured on sklearn digits, no download) "
               "and judge the chosen cell on the NATS-Bench 200-epoch test accuracies shipped with ntkcheck: its "
               "accuracy, rank among all 15,625 cells and percentile on CIFAR-10, CIFAR-100 and ImageNet16-120, with "
               "the best cell and the best scored candidate for reference. Nothing is trained (--toy-accuracy adds "
               "the digits toy protocol). Methods: tenas (TE-NAS, Chen et al. 2021, Algorithm 1), tenas+dag (with "
               "Chen et al. 2022's pre-reserve rule), eigen-nas (argmax NTK lambda_min at init, Zhu et al. 2022), "
               "lga (argmax label-gradient alignment, Mok et al. 2022), chen-filter+SCORE (Chen et al. 2022's "
               "depth/width filter in front of eigen-nas, lga or kappa). A time estimate is printed before runs "
               "expected to take more than about 10 s.")
METHODS = ("tenas", "tenas+dag", "eigen-nas", "lga", "chen-filter+eigen-nas", "chen-filter+lga", "chen-filter+kappa")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("method", metavar="METHOD", help=f"one of: {', '.join(METHODS)}")
    p.add_argument("--space", default="nb201", help="search space (only nb201)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", choices=("small", "paper"), default="small")
    p.add_argument("--mode", choices=("paper", "code"), default="paper",
                   help="tenas and chen-filter: 'paper' = the paper's protocol (Kaiming-normal redrawn per repeat, float64 κ, "
                        "ordinal ranks; the filter's stated 1/2-radius window); 'code' = the released code "
                        "(prune_tenas.py: PyTorch default init, parent weights copied into each candidate, fp32 "
                        "kappa, its tie-breaking; the filter's hard-coded window)")
    p.add_argument("--candidates", type=int, default=None,
                   help="cells sampled for score-based methods (default 24 small / 200 paper)")
    p.add_argument("--nats-bench", metavar="PATH", help="accuracies from your NATS-Bench file or exported "
                   ".csv/.json table (the official file is a pickle that the nats_bench package loads unrestricted: "
                   "give only a file you would trust as code)")
    p.add_argument("--no-accuracy", action="store_true",
                   help="do not look up the chosen cell's NATS-Bench accuracy")
    p.add_argument("--toy-accuracy", action="store_true",
                   help="also train the fc analog of every scored cell on sklearn digits and rank the chosen cell "
                        "among them (toy protocol, not a NAS-Bench-201 accuracy; about 7 s per cell)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="cache directory of the toy protocol (default $NTKCHECK_CACHE or ~/.cache/ntkcheck)")
    p.add_argument("-o", "--output", metavar="OUT.json", help="also write the result as JSON (atomically)")


def _candidates(n: int, seed: int) -> list[str]:
    import numpy as np
    from ntkcheck.spec import NB201_OPS, nb201_string, parse_spec

    rng = np.random.default_rng([seed, 201])
    out: list[str] = []
    tries = 0
    while len(out) < n and tries < 100 * n:
        tries += 1
        s = nb201_string([NB201_OPS[i] for i in rng.integers(0, 5, 6)])
        if s not in out and not parse_spec({"nb201": s}).is_degenerate:
            out.append(s)
    return out


def _score_search(method: str, cells: list[str], seed: int, scale: str) -> dict[str, Any]:
    import torch
    from ntkcheck.empirical import nas_search
    from ntkcheck.empirical.metrics import condition_number, logit_sum_ntk
    from ntkcheck.empirical.nb201_conv import build_nb201_conv, mok_config, tenas_ntk_config
    from ntkcheck.paper_checks.microbench import digits_data

    Xtr, _, ytr, _ = digits_data()
    n = 16 if scale == "small" else 64
    X = torch.as_tensor(Xtr[:n].reshape(-1, 1, 8, 8))
    cfg = tenas_ntk_config(in_channels=1, input_size=8)
    if method == "eigen-nas":
        sel = nas_search.eigen_nas_search(cells, X, config=cfg, seeds=(seed, seed + 1, seed + 2), device="cpu")
    elif method == "lga":
        # Mok et al.'s model (cell BN non-affine and untracked, conv bias); full C=16, N=5 at paper scale,
        # C=4, N=1 at small scale (the full model costs about a minute per cell on 2 CPU cores)
        mcfg = mok_config(in_channels=1, input_size=8, **({"C": 4, "N": 1} if scale == "small" else {}))
        sel = nas_search.lga_search(cells, X, ytr[:n], config=mcfg, seed=seed, device="cpu")
    elif method == "kappa":
        def score(c: str) -> float:
            return condition_number(logit_sum_ntk(build_nb201_conv(c, cfg, seed=seed, device="cpu"), X)).value
        sel = nas_search.select_by_score(cells, score, "min")
    else:
        raise NtkcheckError(f"unknown score {method!r}")
    return {"cell": sel.best, "score": sel.best_score, "direction": sel.direction,
            "trajectory": [{"cell": c, "score": s} for c, s in sel.ranking]}


def _chen_filter(cells: list[str], mode: str = "code") -> tuple[list[str], list[dict[str, Any]]]:
    from ntkcheck.theory.connectivity import PAPER_WINDOW_NB201, filter_code, filter_paper, nb201_depth_width

    kept, info = [], []
    for c in cells:
        d, m = nb201_depth_width(c)
        keep = bool(filter_code(d, m) if mode == "code" else
                    filter_paper(d, m, PAPER_WINDOW_NB201["center"], PAPER_WINDOW_NB201["half_radius"], 1.0))
        info.append({"cell": c, "dbar": d, "mbar": m, "kept": keep})
        if keep:
            kept.append(c)
    return kept, info


#: Rough seconds per scored candidate on one CPU thread (small, paper scale); used only for the estimate printed
#: before a run.  Small scale: measured on the 2-core reference machine, start-up included (eigen-nas 5.8 s and
#: lga 4.7 s with ``--candidates 8``, chen-filter+kappa 4.5 s with ``--candidates 16``).  Paper scale:
#: extrapolated, not measured (64 instead of 16 inputs, about 16x the NTK cost; lga's full C=16, N=5 network about
#: a minute per cell).
SECONDS_PER_CANDIDATE = {"eigen-nas": (0.5, 8.0), "lga": (0.4, 60.0), "kappa": (0.2, 3.0)}
#: Rough seconds of one TE-NAS pruning search (small: measured 15.6 s on the same machine; paper: extrapolated).
SECONDS_TENAS = (15.0, 600.0)
#: Rough seconds to train one fc analog of the toy protocol (``--toy-accuracy``): about 3 minutes for 25 nets on
#: the same machine.
SECONDS_TOY_NET = 7.0


def _estimate(method: str, scale: str, n_cand: int, toy: bool) -> float:
    """Seconds the run is expected to take (a rough guide printed before long runs, never a limit)."""
    j = 0 if scale == "small" else 1
    if method in ("tenas", "tenas+dag"):
        t = SECONDS_TENAS[j]
    else:
        t = n_cand * SECONDS_PER_CANDIDATE[method.split("+", 1)[-1]][j]
    return t + (n_cand * SECONDS_TOY_NET if toy else 0.0)


def _benchmark(cell: str, candidates: list[str]) -> dict[str, Any]:
    """The chosen cell ranked on the shipped NATS-Bench table (:func:`ntkcheck.data.nb201_rank`)."""
    from ntkcheck.data import nb201_rank

    try:
        return nb201_rank(cell, candidates)
    except KeyError as exc:
        raise NtkcheckError(str(exc.args[0])) from None


def _user_table(cell: str, path: str) -> dict[str, Any]:
    """The chosen cell on the user's NATS-Bench file (``--nats-bench``)."""
    from ntkcheck.paper_checks.natsbench import load_nats_bench

    t = load_nats_bench(path)
    acc = t.accuracy_of(cell)
    if acc is None:
        return {"source": t.describe(), "accuracy": None, "note": "chosen cell not in the file"}
    space = sorted(t.accuracies, reverse=True)
    return {"source": t.describe(), "accuracy": acc, "rank_in_file": 1 + sum(a > acc for a in space),
            "n_in_file": len(space)}


def _toy_accuracy(cell: str, args, population_cells: list[str]) -> dict[str, Any]:
    """Toy protocol: the fc analog of the chosen and every scored cell trained on sklearn digits; the chosen
    cell's accuracy and its rank among them (1 = best).  Not a NAS-Bench-201 accuracy."""
    from ntkcheck.paper_checks.check import Context
    from ntkcheck.paper_checks.microbench import Arch, MicrobenchConfig, build_table

    ctx = Context(scale=args.scale, seed=args.seed, **({"cache_dir": Path(args.cache_dir)} if args.cache_dir else {}))
    cfg = MicrobenchConfig.for_scale(args.scale, args.seed)
    cells = list(dict.fromkeys([cell] + population_cells))
    archs = [Arch("search_" + "".join(ch for ch in c if ch.isalnum() or ch == "_"), "nb201-fc", c, c) for c in cells]
    t = build_table(cfg, ctx.cache_dir, archs=archs, quiet=args.quiet)
    accs = [float(r["acc_test"]) for r in t.records]
    acc = accs[0]
    return {"protocol": "toy protocol (not NAS-Bench-201): the fc analog of each cell trained "
                        f"{cfg.epochs} epochs on sklearn digits; rank among the {len(accs)} scored cells",
            "accuracy": acc, "rank": 1 + sum(a > acc for a in accs), "n_ranked": len(accs),
            "best_accuracy_among_scored": max(accs)}


def _print_benchmark(b: dict[str, Any]) -> None:
    print(f"NATS-Bench 200-epoch test accuracy of the chosen cell (rank among all {b['n_cells']:,} cells; "
          "1 = best):")
    for d, r in b["datasets"].items():
        line = (f"  {d:<15} {r['accuracy']:6.2f}%  rank {r['rank']:>6,}  percentile {r['percentile']:5.1f}  "
                f"(best cell {r['best_accuracy']:.2f}%")
        if "best_candidate_accuracy" in r:
            line += f"; best of the {r['n_candidates']} scored {r['best_candidate_accuracy']:.2f}%"
        print(line + ")")
    best = {r["best_cell"] for r in b["datasets"].values()}
    print(f"  best cell{'s' if len(best) > 1 else ''}: {', '.join(sorted(best))}")
    print("  source: NATS-Bench tss (Dong et al., TPAMI 2021), shipped as ntkcheck.data")


def run(args: argparse.Namespace) -> int:
    method = args.method
    if method not in METHODS:
        raise NtkcheckError(f"unknown search method {method!r} (choose from {', '.join(METHODS)})")
    if args.space != "nb201":
        raise NtkcheckError(f"unknown search space {args.space!r} (only nb201)")
    if args.seed < 0:
        raise NtkcheckError("--seed must be >= 0")
    if args.no_accuracy and args.toy_accuracy:
        raise NtkcheckError("--no-accuracy and --toy-accuracy contradict each other")
    if args.output:
        from ntkcheck.io import check_output_file

        check_output_file(args.output, suffixes=(".json",))
    if args.nats_bench and not Path(args.nats_bench).exists():
        raise NtkcheckError(f"--nats-bench file {args.nats_bench} does not exist")
    n_cand = args.candidates if args.candidates is not None else (24 if args.scale == "small" else 200)
    if n_cand < 1:
        raise NtkcheckError("--candidates must be >= 1")
    if args.toy_accuracy:                      # the toy protocol's cache must be writable before any work
        from ntkcheck.io import cache_dir, check_writable_dir

        check_writable_dir(args.cache_dir or cache_dir())
    from ntkcheck.threads import pin_torch_threads

    pin_torch_threads()                        # one torch thread, exactly as `verify` and `sweep` run
    t0 = time.perf_counter()
    est = _estimate(method, args.scale, n_cand, args.toy_accuracy)
    if est >= 10 and not args.quiet:
        print(f"ntkcheck search: expected to take about {est:.0f} s on one CPU thread", file=sys.stderr)
    result: dict[str, Any] = {"method": method, "space": args.space, "seed": args.seed, "scale": args.scale}
    population: list[str] = []
    if method in ("tenas", "tenas+dag"):
        from dataclasses import replace

        from ntkcheck.paper_checks.tenas2021 import digit_pools, search_config
        from ntkcheck.empirical.nas_search import tenas_prune

        images, patches = digit_pools(seed=args.seed)
        tcfg = search_config(args.scale, args.seed, mode=args.mode)
        if method == "tenas+dag":
            tcfg = replace(tcfg, pre_reserve=2)
        res = tenas_prune(tcfg, images=images, patches=patches, progress=not args.quiet)
        result.update(mode=args.mode, cell=res.cell, n_evaluations=res.n_evaluations,
                      trajectory=[{"round": i, "kappa": k, "R": r} for i, (k, r) in enumerate(res.trajectory)])
        population = _candidates(n_cand, args.seed) if args.toy_accuracy else []
    else:
        cells = _candidates(n_cand, args.seed)
        score = method
        if method.startswith("chen-filter+"):
            score = method.split("+", 1)[1]
            kept, info = _chen_filter(cells, args.mode)
            window = ("official code NB201 window 0.99 <= dbar <= 2.51, 0.99 <= mbar <= 3.01" if args.mode == "code"
                      else "paper rule |dbar - 1.6| <= 0.7, |mbar - 2.2| <= 0.9")
            result["filter"] = {"kept": len(kept), "of": len(cells), "mode": args.mode, "window": window,
                                "cells": info}
            if not kept:
                raise NtkcheckError("Chen's filter kept no candidate cell; raise --candidates")
            cells = kept
        result.update(_score_search(score, cells, args.seed, args.scale))
        population = cells
    if not args.no_accuracy:
        result["benchmark"] = _benchmark(result["cell"], population)
        if args.nats_bench:
            result["accuracy"] = _user_table(result["cell"], args.nats_bench)
    if args.toy_accuracy:
        result["toy_accuracy"] = _toy_accuracy(result["cell"], args, population)
    result["seconds"] = time.perf_counter() - t0
    result["command_line"] = getattr(args, "command_line", None)
    if args.output:
        from ntkcheck.io import write_json_atomic

        write_json_atomic(args.output, result)
    # cli.py silences this under --quiet and prints `result` under --json
    shown = f"{method} (mode {args.mode})" if method in ("tenas", "tenas+dag") or "chen" in method else method
    print(f"method: {shown}   chosen cell: {result['cell']}")
    if method in ("tenas", "tenas+dag"):
        for r in result["trajectory"]:
            print(f"  round {r['round']}: kappa_N = {r['kappa']:.4g}, R_N = {r['R']:.4g}")
    else:
        for r in result["trajectory"][:10]:
            print(f"  {r['score']:.5g}  {r['cell']}")
        if len(result["trajectory"]) > 10:
            print(f"  ... {len(result['trajectory']) - 10} more")
    if "benchmark" in result:
        _print_benchmark(result["benchmark"])
    acc = result.get("accuracy")
    if acc and acc.get("accuracy") is not None:
        print(f"your NATS-Bench file: {acc['accuracy']:.2f}% (rank {acc['rank_in_file']} of {acc['n_in_file']}); "
              f"source: {acc['source']}")
    toy = result.get("toy_accuracy")
    if toy:
        print(f"toy protocol (digits, not NAS-Bench-201): {toy['accuracy']:.2f}% (rank {toy['rank']} of "
              f"{toy['n_ranked']} scored cells)")
    print(f"time: {result['seconds']:.1f} s")
    return 0, result
