"""``ntkcheck sweep``: registered metrics over a whole search space into a crash-safe results store.

    ntkcheck sweep METRIC[,METRIC...] --space nb201|fc:<family>|FILE --out RESULTS.sqlite [--sample N] [--seed S]
                   [--jobs J | --scheduler tcp://HOST:PORT] [--images DIR] [--set METRIC.KEY=VALUE] [--force-new]
    ntkcheck sweep --list
    ntkcheck sweep export RESULTS.sqlite -o FILE.csv|FILE.parquet
    ntkcheck sweep report RESULTS.sqlite --against nb201:cifar100 [--report-dir DIR]

Every finished task is committed at once; the same command after a crash, ``kill -9`` or Ctrl-C computes only what
is missing.  Exit codes: 0 done, 2 bad input or values that failed (stored with status ``error``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ntkcheck.errors import NtkcheckError

HELP = "sweep training-free metrics over a search space into a resumable store; export and report it"
DESCRIPTION = __doc__.split("\n\n", 1)[0] if __doc__ else HELP
ACTIONS = ("export", "report")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", metavar="METRICS|export|report",
                   help="comma-separated metric names (see --list), or 'export' / 'report' followed by a store")
    p.add_argument("store_path", nargs="?", metavar="RESULTS.sqlite", help="the store (export / report)")
    p.add_argument("--list", action="store_true", help="list the metrics with one line each")
    p.add_argument("--space", default="nb201", help="nb201 (15,625 cells), fc:L=3,acts=relu/tanh,skips=1, or a file "
                   "(one NB201 string per line, or a JSON list of specs)")
    p.add_argument("--out", metavar="RESULTS.sqlite", help="results store (created, or resumed)")
    p.add_argument("--sample", type=int, help="a seeded stratified sample of N architectures")
    p.add_argument("--seed", type=int, default=0, help="sweep seed (weights; sampling)")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1: in this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask distributed cluster")
    p.add_argument("--images", metavar="DIR", help="CIFAR-10/100 in torchvision's on-disk format (default: the "
                   "bundled natural images)")
    p.add_argument("--n-images", type=int, default=512, help="images drawn from the source (default 512)")
    p.add_argument("--set", action="append", default=[], metavar="METRIC.KEY=VALUE",
                   help="change a metric setting, e.g. kappa.mode=code (see --list)")
    p.add_argument("--batch", type=int, help="architectures per task (default 1 for GPU metrics, 32 otherwise)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--force-new", action="store_true", help="move an incompatible store aside (.old) and start anew")
    p.add_argument("-o", "--output", metavar="FILE", help="export: FILE.csv or FILE.parquet")
    p.add_argument("--against", metavar="nb201:DATASET", help="report: accuracies (cifar10, cifar100, "
                   "ImageNet16-120)")
    p.add_argument("--report-dir", metavar="DIR", help="report: where plots and report.json go "
                   "(default: RESULTS-report/ beside the store)")
    p.add_argument("--runs", type=int, default=500, help="report: search-protocol runs (default 500)")
    p.add_argument("--draws", type=int, default=100, help="report: cells drawn per run (default 100)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _parse_sets(sets: list[str], names: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {n: {} for n in names}
    for s in sets:
        if "=" not in s or "." not in s.split("=", 1)[0]:
            raise NtkcheckError(f"--set {s!r}: expected METRIC.KEY=VALUE, e.g. kappa.mode=code")
        lhs, v = s.split("=", 1)
        metric, key = lhs.split(".", 1)
        if metric not in out:
            raise NtkcheckError(f"--set {s!r}: metric {metric} is not in this sweep ({', '.join(names)})")
        out[metric][key] = v
    return out


def _list_metrics(args) -> int:
    from ntkcheck.metrics import METRICS

    if args.json:
        print(json.dumps({m.name: {"doc": m.doc, "needs": sorted(m.needs), "config": dict(m.config),
                                   "direction": m.direction, "spaces": list(m.spaces)} for m in METRICS.values()},
                         indent=2))
        return 0
    if not args.quiet:
        width = max(len(n) for n in METRICS)
        for m in METRICS.values():
            needs = f" [{', '.join(sorted(m.needs))}]" if m.needs else ""
            print(f"{m.name:<{width}}  {m.doc}{needs}")
            if m.config:
                print(f"{'':<{width}}    settings: {', '.join(f'{k}={v}' for k, v in m.config.items())}")
    return 0


class _Bars:
    """One tqdm bar per metric (values to compute, ETA)."""

    def __init__(self, totals: dict[str, int], done: dict[str, int], quiet: bool):
        from tqdm import tqdm

        self.bars = {m: tqdm(total=t + done[m], initial=done[m], desc=m, unit="arch", disable=quiet,
                             leave=True, position=i, dynamic_ncols=True, file=sys.stderr)
                     for i, (m, t) in enumerate(totals.items())}

    def __call__(self, rows) -> None:
        for r in rows:
            self.bars[r.metric].update(1)

    def close(self) -> None:
        for b in self.bars.values():
            b.close()


def _run_sweep(args) -> int:
    from ntkcheck.sweep.inputs import load_inputs
    from ntkcheck.metrics import config_hash, get_metric, resolve_config
    from ntkcheck.sweep.store import open_store
    from ntkcheck.sweep.engine import DaskEngine, LocalEngine, plan, resolve_space, run_sweep, stratified_sample

    names = [n.strip() for n in args.target.split(",") if n.strip()]
    if not names or len(set(names)) != len(names):
        raise NtkcheckError(f"metrics {args.target!r}: give distinct names separated by commas")
    metrics = {n: get_metric(n) for n in names}
    if not args.out:
        raise NtkcheckError("--out RESULTS.sqlite is required")
    if args.jobs < 1:
        raise NtkcheckError(f"--jobs must be >= 1, got {args.jobs}")
    if args.scheduler and args.jobs != 1:
        raise NtkcheckError("--jobs is for the local pool; with --scheduler the cluster's workers run the tasks")
    if args.seed < 0:
        raise NtkcheckError(f"--seed must be >= 0, got {args.seed}")
    if args.batch is not None and args.batch < 1:
        raise NtkcheckError(f"--batch must be >= 1, got {args.batch}")
    cluster = DaskEngine(args.scheduler, args.device) if args.scheduler else None  # fail fast, before any file
    sets = _parse_sets(args.set, names)
    cfgs = {n: resolve_config(n, sets[n]) for n in names}
    space = resolve_space(args.space)
    for n, m in metrics.items():
        if space.kind not in m.spaces:
            raise NtkcheckError(f"metric {n} is not defined on the {space.kind} space (only {', '.join(m.spaces)})")
    archs = stratified_sample(space, args.sample, args.seed)
    inputs = load_inputs(args.images, args.n_images, seed=0)
    wanted = {n: (config_hash(n, cfgs[n], inputs.fingerprint, space.kind), cfgs[n], inputs.source) for n in names}
    store = open_store(args.out, force_new=args.force_new)
    try:
        store.check_compatible(space.kind, wanted)
        store.register(space.kind, wanted)
        hashes = {n: (h, c) for n, (h, c, _) in wanted.items()}
        any_gpu = any("gpu" in m.needs for m in metrics.values())
        batch = args.batch or (1 if any_gpu else 32)
        tasks = plan(store, space.kind, archs, hashes, args.seed, batch)
        todo = {n: 0 for n in names}
        for t in tasks:
            for name, _, _ in t.metrics:
                todo[name] += len(t.archs)
        done = {n: len(archs) - todo[n] for n in names}
        human = not args.quiet and not args.json
        if human:
            print(f"space: {space.label} ({len(archs)} of {len(space.keys)} architectures"
                  f"{f', stratified sample, seed {args.seed}' if len(archs) < len(space.keys) else ''})")
            print(f"inputs: {inputs.source}")
            for n in names:
                print(f"  {n} [{wanted[n][0]}] {json.dumps(cfgs[n], sort_keys=True)}: {done[n]} stored, "
                      f"{todo[n]} to compute")
        engine = None
        if cluster is not None and args.device != "cpu" and any(t.gpu for t in tasks) and not cluster.gpu_workers():
            gpu_names = ", ".join(n for n, m in metrics.items() if "gpu" in m.needs)
            raise NtkcheckError(f"{gpu_names} ask(s) for a GPU but no worker at {args.scheduler} offers one: start "
                                "workers with `dask worker ... --resources GPU=1`, or pass --device cpu")
        if tasks:
            engine = cluster.start(inputs) if cluster else LocalEngine(inputs, args.jobs, args.device)
            if human:
                print(f"engine: {engine.describe()}; store: {args.out}", flush=True)
        bars = _Bars(todo, done, quiet=args.quiet or not tasks)
        try:
            summary = run_sweep(store, engine, tasks, progress=bars) if tasks else None
        finally:
            bars.close()
        total = store.count()
    finally:
        store.close()
        if cluster is not None:
            cluster.close()
    out = {"command": shlex.join(["ntkcheck", "sweep", *sys.argv[2:]]) if sys.argv[1:2] == ["sweep"] else None,
           "store": str(args.out), "space": space.label, "architectures": len(archs), "seed": args.seed,
           "inputs": inputs.source, "metrics": {n: {"config_hash": wanted[n][0], "config": cfgs[n]} for n in names},
           "computed": summary.written if summary else 0, "errors": summary.errors if summary else 0,
           "lost_tasks": summary.failed_tasks if summary else 0, "rows_in_store": total,
           "seconds": round(summary.seconds, 3) if summary else 0.0}
    if args.json:
        print(json.dumps(out, indent=2))
    elif not args.quiet:
        print(f"computed {out['computed']} values in {out['seconds']:.1f} s; the store holds {total} rows")
    if summary and summary.failed_tasks:
        raise NtkcheckError(f"{summary.failed_tasks} task(s) were lost by the engine ({summary.failure}); nothing of "
                            "them was stored: run the same command again to compute them")
    if summary and summary.errors:
        raise NtkcheckError(f"{summary.errors} value(s) failed and are stored with status error "
                            f"(see `ntkcheck sweep export {args.out} -o errors.csv`)")
    return 0


def _export(args) -> int:
    from ntkcheck.sweep.report import export_rows

    if not args.store_path:
        raise NtkcheckError("usage: ntkcheck sweep export RESULTS.sqlite -o FILE.csv|FILE.parquet")
    if not args.output:
        raise NtkcheckError("export needs -o FILE.csv or -o FILE.parquet")
    n = export_rows(args.store_path, args.output)
    if args.json:
        print(json.dumps({"store": args.store_path, "output": args.output, "rows": n}))
    elif not args.quiet:
        print(f"wrote {n} rows to {args.output}")
    return 0


def _report(args) -> int:
    from ntkcheck.sweep.report import format_report, sweep_report

    if not args.store_path:
        raise NtkcheckError("usage: ntkcheck sweep report RESULTS.sqlite --against nb201:cifar100")
    if not args.against:
        raise NtkcheckError("report needs --against nb201:DATASET (cifar10, cifar100 or ImageNet16-120)")
    out_dir = Path(args.report_dir) if args.report_dir else \
        Path(args.store_path).with_name(Path(args.store_path).stem + "-report")
    command = shlex.join(["ntkcheck", "sweep", *sys.argv[2:]]) if sys.argv[1:2] == ["sweep"] else None
    rep = sweep_report(args.store_path, args.against, out_dir, runs=args.runs, draws=args.draws, seed=args.seed,
                       command=command)
    if args.json:
        from ntkcheck.io import to_jsonable

        print(json.dumps(to_jsonable(rep), indent=2))
    elif not args.quiet:
        print(format_report(rep))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list_metrics(args)
    if args.target is None:
        raise NtkcheckError("name the metrics (e.g. ntkcheck sweep kappa,regions --out R.sqlite), or --list")
    if args.target == "export":
        return _export(args)
    if args.target == "report":
        return _report(args)
    if args.store_path is not None:
        raise NtkcheckError(f"unexpected argument {args.store_path!r} (options such as --out name the store)")
    return _run_sweep(args)

