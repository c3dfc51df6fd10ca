"""Reference data shipped with ntkcheck: the NAS-Bench-201 accuracy table and the exact conv-kernel table.

``nb201_accuracies(dataset)`` — the 200-epoch test accuracy (percent) of all 15,625 NAS-Bench-201 cells.
``nb201_conv_kernel_table()`` — λ_min, λ_max and κ of the exact infinite-width NTK and NNGP of the
convolutional version of every cell, and the images they were computed on (computed by this toolkit; see
:mod:`ntkcheck.data.conv_kernel_table`).

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

__all__ = ["DATASETS", "SHA256", "SOURCE", "NB201Table", "nb201_table", "nb201_accuracies", "nb201_rank",
           "ConvKernelTable", "nb201_conv_kernel_table", "CONV_TABLE_SHA256", "CONV_IMAGES_SHA256"]

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


def _verified_bytes(filename: str, sha256: str, *, gz: bool) -> bytes:
    """The shipped file's (decompressed) bytes, after checking their SHA-256 against the recorded one."""
    raw = resources.files(__name__).joinpath(filename).read_bytes()
    if gz:
        raw = gzip.decompress(raw)
    checksum = hashlib.sha256(raw).hexdigest()
    if checksum != sha256:
        raise DataIntegrityError(f"{filename}: sha256 {checksum} does not match the recorded {sha256}")
    return raw


@lru_cache(maxsize=1)
def nb201_table() -> NB201Table:
    """Load, checksum-verify and parse the shipped table (cached per process; arrays are read-only)."""
    raw = _verified_bytes(FILENAME, SHA256, gz=True)
    checksum = SHA256
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
    return NB201Table(index=index, arch=arch, accuracy=acc, sha256=checksum)


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


CONV_TABLE_FILENAME = "nb201_conv_kernels.csv.gz"
CONV_IMAGES_FILENAME = "nb201_conv_kernels_images.npy"
#: SHA-256 of the decompressed conv-kernel CSV and of the images .npy (printed by the command that made them).
CONV_TABLE_SHA256 = "8adbb290d00c5b1fc9dc6fdacc373ef4905d5fcb8e968a6832ae7342be69821e"
CONV_IMAGES_SHA256 = "f53c46532b9f2476264218e582307d25d2a8e65947826faf84d77adc91f67dd3"
#: How the conv-kernel table was made (repeated in every report that uses it).
CONV_SOURCE = ("exact infinite-width NTK/NNGP of the convolutional NB201 cells (conv stem, pooling, GAP readout, "
               "cross terms between linear paths, NTK parametrization, sigma_w^2 = 2, no biases, no batch "
               "normalization) on 16 natural 3x8x8 unit-norm images (bundled photo crops, seed 0); made by "
               f"`ntkcheck kernel --nb201-all --conv --table {CONV_TABLE_FILENAME}`; shipped as "
               f"ntkcheck/data/{CONV_TABLE_FILENAME} (sha256 verified on load)")


@dataclass(frozen=True)
class ConvKernelTable:
    """The exact conv-kernel table of all 15,625 NB201 cells (NATS-Bench index order).

    ``arch``: cell strings; ``ntk_lambda_min``, ``nngp_lambda_min`` (certified, with ``*_error`` bounds),
    ``ntk_lambda_max``, ``nngp_lambda_max``, ``ntk_kappa``, ``nngp_kappa`` = λ_max/λ_min (+inf where λ_min is
    within its error bound of 0); all NaN for the ``degenerate`` cells (no input→output path: zero kernels).
    ``images``: the (16, 3, 8, 8) float64 images the kernels were computed on."""

    arch: tuple[str, ...]
    ntk_lambda_min: np.ndarray
    ntk_lambda_min_error: np.ndarray
    ntk_lambda_max: np.ndarray
    nngp_lambda_min: np.ndarray
    nngp_lambda_min_error: np.ndarray
    nngp_lambda_max: np.ndarray
    ntk_kappa: np.ndarray
    nngp_kappa: np.ndarray
    degenerate: np.ndarray
    images: np.ndarray
    sha256: str
    source: str = CONV_SOURCE

    def __len__(self) -> int:
        return len(self.arch)


@lru_cache(maxsize=1)
def nb201_conv_kernel_table() -> ConvKernelTable:
    """Load and checksum-verify the shipped exact conv-kernel table and its images (cached; arrays read-only).

    Any row recomputes with ``ntkcheck kernel '{"nb201": ARCH, "kernel": "conv", "image": [3, 8, 8]}' IMAGES.npy``
    on the table's ``images`` saved as .npy."""
    raw = _verified_bytes(CONV_TABLE_FILENAME, CONV_TABLE_SHA256, gz=True)
    img_raw = _verified_bytes(CONV_IMAGES_FILENAME, CONV_IMAGES_SHA256, gz=False)
    images = np.load(io.BytesIO(img_raw), allow_pickle=False)
    images.setflags(write=False)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    from .conv_kernel_table import COLUMNS, kappa

    if tuple(rows[0]) != COLUMNS:
        raise DataIntegrityError(f"{CONV_TABLE_FILENAME}: columns {rows[0]}, expected {list(COLUMNS)}")
    body = rows[1:]
    index = np.array([int(r[0]) for r in body], dtype=np.int64)
    if not np.array_equal(index, np.arange(len(body))):
        raise DataIntegrityError(f"{CONV_TABLE_FILENAME}: rows are not in NB201 index order 0..{len(body) - 1}")
    arch = tuple(r[1] for r in body)
    if arch != nb201_table().arch:
        raise DataIntegrityError(f"{CONV_TABLE_FILENAME}: cells differ from the accuracy table's")
    cols = {}
    for j, name in enumerate(COLUMNS[3:], start=3):
        a = np.array([float(r[j]) for r in body], dtype=np.float64)
        a.setflags(write=False)
        cols[name] = a
    for name in ("ntk", "nngp"):
        k = kappa(cols[f"{name}_lambda_min"], cols[f"{name}_lambda_min_error"], cols[f"{name}_lambda_max"])
        k.setflags(write=False)
        cols[f"{name}_kappa"] = k
    deg = np.array([r[2] == "1" for r in body])
    deg.setflags(write=False)
    return ConvKernelTable(arch=arch, **cols, degenerate=deg, images=images, sha256=CONV_TABLE_SHA256)
