"""Accuracies from the user's own NATS-Bench topology (tss) benchmark, for ``ntkcheck verify --nats-bench``.

Two inputs are accepted:

1. **The official benchmark file or directory** (``NATS-tss-v1_0-3ffb9-simple`` or ``…-full.pickle.pbz2``),
   read through the official ``nats_bench`` package (an optional extra: ``pip install ntkcheck[natsbench]``),
   imported lazily: ``nats_bench.create(path, "tss", fast_mode=True, verbose=False)``, then for every
   architecture index ``api.arch(i)`` (the NB201 cell string) and
   ``api.get_more_info(i, dataset, hp="200", is_random=False)["test-accuracy"]`` — the 200-epoch test
   accuracy averaged over the benchmark's seeds, the target both Mok et al. and TE-NAS correlate against
   (``lga_mok2022.md`` §5).  The benchmark's own format stores pickled result objects that only that
   package decodes, so without it this path stops with a one-line error.
2. **An exported table** (``.csv`` or ``.json``) with one row per architecture: ``arch`` (the NB201 string)
   and ``accuracy`` (percent, 0–100), optionally ``dataset`` and ``index``.  This is what
   :func:`export_table` writes from the official API, so a table can be produced once on a machine with the
   package and used anywhere.  The tests exercise this path on a synthetic file, and the official-API path
   with a stand-in ``nats_bench`` module (the real package and file are not available here).
"""

from __future__ import annotations

import csv
import importlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ntkcheck.errors import NtkcheckError
from ntkcheck.spec import parse_nb201

DATASETS = ("cifar10", "cifar10-valid", "cifar100", "ImageNet16-120")


@dataclass(frozen=True)
class NatsTable:
    """NB201 cell strings and their test accuracies (percent) from one benchmark file."""

    archs: tuple[str, ...]
    accuracies: tuple[float, ...]
    dataset: str
    path: str
    reader: str                       # "nats_bench API" or "exported table"
    indices: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.archs)

    def describe(self) -> str:
        return (f"NATS-Bench topology file {self.path} ({self.reader}; {len(self)} architectures; "
                f"{self.dataset} 200-epoch test accuracy)")

    def accuracy_of(self, arch: str) -> float | None:
        try:
            return self.accuracies[self.archs.index(arch)]
        except ValueError:
            return None


def _validate(archs: Sequence[str], accs: Sequence[Any], where: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if not archs:
        raise NtkcheckError(f"{where}: no architectures found")
    out_a, out_v = [], []
    for k, (a, v) in enumerate(zip(archs, accs)):
        try:
            parse_nb201(a)
        except NtkcheckError as exc:
            raise NtkcheckError(f"{where}: row {k + 1}: {exc}") from None
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise NtkcheckError(f"{where}: row {k + 1}: accuracy {v!r} is not a number") from None
        if not (math.isfinite(x) and 0.0 <= x <= 100.0):
            raise NtkcheckError(f"{where}: row {k + 1}: accuracy {x} is not a percentage in [0, 100]")
        out_a.append(str(a))
        out_v.append(x)
    if len(set(out_a)) != len(out_a):
        raise NtkcheckError(f"{where}: duplicate architecture strings")
    return tuple(out_a), tuple(out_v)


def _read_table(path: Path, dataset: str | None) -> NatsTable:
    try:
        if path.suffix.lower() == ".json":
            obj = json.loads(path.read_text())
            rows = obj["rows"] if isinstance(obj, dict) else obj
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise NtkcheckError(f"{path}: expected a list of {{'arch': ..., 'accuracy': ...}} objects")
        else:
            with path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise NtkcheckError(f"cannot read NATS-Bench table {path}: {exc}") from None
    if not rows:
        raise NtkcheckError(f"{path}: the table has no rows")
    missing = {"arch", "accuracy"} - set(rows[0])
    if missing:
        raise NtkcheckError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need arch, accuracy)")
    ds = {str(r.get("dataset", "")) for r in rows} - {""}
    if dataset is not None:
        rows = [r for r in rows if str(r.get("dataset", dataset)) == dataset]
        if not rows:
            raise NtkcheckError(f"{path}: no rows for dataset {dataset!r} (found: {', '.join(sorted(ds))})")
    elif len(ds) > 1:
        raise NtkcheckError(f"{path}: rows for several datasets ({', '.join(sorted(ds))}); choose one")
    archs, accs = _validate([r["arch"] for r in rows], [r["accuracy"] for r in rows], str(path))
    idx = tuple(int(r["index"]) for r in rows) if all(str(r.get("index", "")).strip() for r in rows) else ()
    return NatsTable(archs, accs, dataset or (ds.pop() if ds else "unknown"), str(path), "exported table", idx)


def _official_api():
    try:
        return importlib.import_module("nats_bench")
    except ImportError:
        raise NtkcheckError("reading a NATS-Bench benchmark file needs the optional package nats_bench "
                            "(pip install 'ntkcheck[natsbench]'), or pass an exported .csv/.json table") from None


def _read_official(path: Path, dataset: str, max_archs: int | None) -> NatsTable:
    nb = _official_api()
    try:
        api = nb.create(str(path), "tss", fast_mode=True, verbose=False)
    except Exception as exc:  # the package's own errors: one line for the user
        raise NtkcheckError(f"nats_bench could not open {path} as a topology (tss) benchmark: "
                            f"{type(exc).__name__}: {exc}") from None
    n = len(api)
    take = range(n) if max_archs is None else range(min(n, max_archs))
    archs, accs, idx = [], [], []
    for i in take:
        info = api.get_more_info(i, dataset, hp="200", is_random=False)
        archs.append(api.arch(i))
        accs.append(info["test-accuracy"])
        idx.append(i)
    a, v = _validate(archs, accs, str(path))
    return NatsTable(a, v, dataset, str(path), "nats_bench API", tuple(idx))


def load_nats_bench(path: str | Path, dataset: str = "cifar10", *, max_archs: int | None = None) -> NatsTable:
    """Load NB201 cells and 200-epoch test accuracies (see the module docstring for the two inputs)."""
    p = Path(path)
    if dataset not in DATASETS:
        raise NtkcheckError(f"unknown NATS-Bench dataset {dataset!r} (known: {', '.join(DATASETS)})")
    if not p.exists():
        raise NtkcheckError(f"NATS-Bench file {p} does not exist")
    if p.is_file() and p.suffix.lower() in (".csv", ".json"):
        return _read_table(p, dataset if _has_dataset_column(p) else None)
    return _read_official(p, dataset, max_archs)


def _has_dataset_column(p: Path) -> bool:
    try:
        if p.suffix.lower() == ".json":
            obj = json.loads(p.read_text())
            rows = obj["rows"] if isinstance(obj, dict) else obj
            return bool(rows) and isinstance(rows[0], dict) and "dataset" in rows[0]
        with p.open(newline="") as fh:
            return "dataset" in (csv.DictReader(fh).fieldnames or [])
    except Exception:
        return False


def export_table(benchmark: str | Path, out_csv: str | Path, datasets: Sequence[str] = ("cifar10",)) -> Path:
    """Write an exported table (``index,arch,dataset,accuracy``) from the official benchmark file."""
    from ntkcheck.io import write_text_atomic
    import io as _io

    buf = _io.StringIO()
    w = csv.writer(buf)
    w.writerow(["index", "arch", "dataset", "accuracy"])
    for ds in datasets:
        t = _read_official(Path(benchmark), ds, None)
        for i, a, v in zip(t.indices, t.archs, t.accuracies):
            w.writerow([i, a, ds, v])
    return write_text_atomic(out_csv, buf.getvalue())
