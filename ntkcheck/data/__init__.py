"""Reference data shipped with ntkcheck: the NAS-Bench-201 accuracy table.

``nb201_accuracies(dataset)`` — the 200-epoch test accuracy (percent) of all 15,625 NAS-Bench-201 cells.

Source
------
NATS-Bench topology search space (tss): X. Dong, L. Liu, K. Musial, B. Gabrys, "NATS-Bench: Benchmarking NAS
Algorithms for Architecture Topology and Size", IEEE TPAMI 2021 (benchmark and API under the MIT license).  Values
are ``api.get_more_info(i, dataset, hp="200", is_random=False)["test-accuracy"]`` for i = 0..15,624 (the mean over
the benchmark's seeds), as exported by a third party and reformatted (numbers unchanged up to 6 decimals).  The file
is the project's ``../shared/data/natsbench_tss_200ep_test_accuracy.csv`` (README beside it), shipped here
gzip-compressed; the SHA-256 of the *decompressed* bytes is checked on every load against :data:`SHA256`.

Columns: ``index`` (the benchmark's architecture index, in the order of ``api.arch(i)``), ``arch`` (the NB201 cell
string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``), then one accuracy column per dataset in :data:`DATASETS`.
Sanity facts: the best cells score 94.37 / 73.51 / 47.31; cells without an input→output path score chance level.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import numpy as np

__all__ = ["DATASETS", "SHA256", "SOURCE", "NB201Table", "nb201_table", "nb201_accuracies", "nb201_rank"]

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
FILENAME = "natsbench_tss_200ep_test_accuracy.csv.gz"
#: SHA-256 of the decompressed CSV (``../shared/data/README.md``).
SHA256 = "bb578eadee663d0aa7710c5e4c7518ba6d73af15dbe71faf4ad2029ea8f29113"
#: One-line citation, repeated in every report that uses the table.
SOURCE = ("NATS-Bench tss (Dong, Liu, Musial, Gabrys, TPAMI 2021; MIT license): 200-epoch test accuracy of all "
          "15,625 NAS-Bench-201 cells, get_more_info(i, dataset, hp='200', is_random=False)['test-accuracy'], "
          f"shipped as ntkcheck/data/{FILENAME} (sha256 of the CSV {SHA256[:16]}…, verified on load)")


class DataIntegrityError(RuntimeError):
    """The shipped table does not match its recorded checksum."""


@dataclass(frozen=True)
class NB201Table:
    """The whole table: ``index`` (int, shape (15625,)), ``arch`` (cell strings) and ``accuracy[dataset]``."""

    index: np.ndarray
    arch: tuple[str, ...]
    accuracy: dict[str, np.ndarray]
    sha256: str
    source: str = SOURCE

    def __len__(self) -> int:
        return len(self.arch)


@lru_cache(maxsize=1)
def nb201_table() -> NB201Table:
    """Load, checksum-verify and parse the shipped table (cached per process; arrays are read-only)."""
    raw = gzip.decompress(resources.files(__name__).joinpath(FILENAME).read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise DataIntegrityError(f"{FILENAME}: sha256 {digest} does not match the recorded {SHA256}")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    expected = ["index", "arch", *DATASETS]
    if header != expected:
        raise DataIntegrityError(f"{FILENAME}: columns {header}, expected {expected}")
    index = np.array([int(r[0]) for r in body], dtype=np.int64)
    order = np.argsort(index, kind="stable")
    index = index[order]
    arch = tuple(body[i][1] for i in order)
    acc = {}
    for j, d in enumerate(DATASETS, start=2):
        a = np.array([float(body[i][j]) for i in order], dtype=np.float64)
        a.setflags(write=False)
        acc[d] = a
    index.setflags(write=False)
    return NB201Table(index=index, arch=arch, accuracy=acc, sha256=digest)


def nb201_accuracies(dataset: str) -> dict[str, float]:
    """``{cell string: 200-epoch test accuracy (%)}`` for all 15,625 NB201 cells on ``dataset``.

    dataset: one of ``"cifar10"``, ``"cifar100"``, ``"ImageNet16-120"``.  Source: NATS-Bench tss (Dong et al.,
    TPAMI 2021), see the module docstring; the checksum of the shipped file is verified on load.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    t = nb201_table()
    return dict(zip(t.arch, t.accuracy[dataset].tolist()))


def nb201_rank(cell: str, candidates: Iterable[str] = ()) -> dict[str, Any]:
    """The chosen ``cell`` on the shipped NATS-Bench table: per dataset its 200-epoch test accuracy, rank among
    all 15,625 cells (1 = best; ties share the better rank), percentile (share of cells strictly below it, in %),
    the best cell of the space and the best of ``candidates`` (e.g. the cells a search scored).  ``KeyError`` for
    a string that is not an NB201 cell of the table.  This is how ``ntkcheck search`` judges the cell it finds."""
    t = nb201_table()
    pos = {a: i for i, a in enumerate(t.arch)}
    if cell not in pos:
        raise KeyError(f"cell {cell} is not in the shipped NATS-Bench table")
    cand = sorted({pos[c] for c in candidates if c in pos})
    out: dict[str, Any] = {"source": SOURCE, "n_cells": len(t), "datasets": {}}
    for d in DATASETS:
        acc = t.accuracy[d]
        a = float(acc[pos[cell]])
        best = int(np.argmax(acc))
        row = {"accuracy": a, "rank": 1 + int(np.sum(acc > a)), "percentile": 100.0 * float(np.mean(acc < a)),
               "best_cell": t.arch[best], "best_accuracy": float(acc[best])}
        if cand:
            cb = cand[int(np.argmax(acc[cand]))]
            row.update(best_candidate=t.arch[cb], best_candidate_accuracy=float(acc[cb]),
                       rank_among_candidates=1 + int(np.sum(acc[cand] > a)), n_candidates=len(cand))
        out["datasets"][d] = row
    return out
