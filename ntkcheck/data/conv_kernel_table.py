r"""Building the shipped table of exact conv-kernel spectra of all 15,625 NAS-Bench-201 cells.

The table (:func:`ntkcheck.data.nb201_conv_kernel_table` reads it) holds, for every cell in NATS-Bench index
order, λ_min and λ_max of the exact infinite-width NTK and NNGP of the convolutional cell
(:mod:`ntkcheck.theory.conv_kernels`: conv stem, pooling, GAP readout, cross terms between linear paths, NTK
parametrization, σ_w² = 2, no biases, no batch normalization) on :data:`N_IMAGES` natural 3×8×8 images
(:func:`table_images`), with the certified error bound of each λ_min; κ = λ_max/λ_min is derived on load.

Cost.  Cells whose outputs have the same canonical expression (:func:`~ntkcheck.theory.conv_kernels.
conv_cell_class`) share one computation: 8,764 classes with an input→output path plus the 341 degenerate
cells (no path: zero kernels, NaN in the table).  The classes' representatives (the first member in op-string
order) are computed in op-string order, :data:`CHUNK` at a time, so the stem and the node-1/node-2 prefixes are
shared; each finished chunk is written atomically to the cache directory and a rerun skips it (resumable).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Callable

import numpy as np

from ntkcheck.io import cache_dir, save_npz_atomic
from ntkcheck.spec import nb201_string, parse_nb201

__all__ = ["N_IMAGES", "IMAGE_SEED", "CHUNK", "COLUMNS", "table_images", "kappa", "build_conv_kernel_table",
           "table_csv"]

#: The stated input set: the first N_IMAGES of :func:`ntkcheck.sweep.inputs.natural_images` (seed IMAGE_SEED),
#: 4×4 average-pooled to 3×8×8 and scaled to unit norm (:func:`ntkcheck.sweep.inputs.flat_rows`: the images of
#: the registered ``conv_ntk_lambda_min`` metric).
N_IMAGES = 16
IMAGE_SEED = 0
#: classes per computed chunk (one chunk ≈ 250 × 0.04 CPU-s at N = 16)
CHUNK = 250
#: CSV columns; κ = λ_max/λ_min is derived on load (:func:`kappa`), not stored
COLUMNS = ("index", "arch", "degenerate", "ntk_lambda_min", "ntk_lambda_min_error", "ntk_lambda_max",
           "nngp_lambda_min", "nngp_lambda_min_error", "nngp_lambda_max")
_FIELDS = ("ntk_lambda_min", "ntk_lambda_min_error", "ntk_lambda_max", "nngp_lambda_min", "nngp_lambda_min_error",
           "nngp_lambda_max")


def table_images(n: int = N_IMAGES, seed: int = IMAGE_SEED) -> np.ndarray:
    """The (n, 3, 8, 8) float64 unit-norm images of the table (see :data:`N_IMAGES`)."""
    from ntkcheck.sweep.inputs import flat_rows, natural_images

    return flat_rows(natural_images(n, seed=seed), n).reshape(n, 3, 8, 8)


def kappa(lmin: np.ndarray, err: np.ndarray, lmax: np.ndarray) -> np.ndarray:
    """λ_max/λ_min; +inf where λ_min is within its error bound of 0 (singular); NaN where λ_min is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        k = lmax / lmin
    return np.where(np.isnan(lmin), np.nan, np.where(lmin > err, k, np.inf))


def build_conv_kernel_table(X: np.ndarray, arch: tuple[str, ...], *, chunk_dir: Path | None = None,
                            chunk: int = CHUNK, progress: Callable[[int, int], None] | None = None
                            ) -> dict[str, np.ndarray]:
    """Columns of the table for the cells ``arch`` (NB201 strings, output in this order) on images X.

    Chunks of :data:`CHUNK` class representatives are cached under ``chunk_dir`` (default: the cache directory,
    keyed by the images' bytes and the chunk size); ``progress(done, total)`` counts classes."""
    from ntkcheck.theory.conv_kernels import conv_cell_classes, conv_cells_kernels
    from ntkcheck.theory.spectra import certified_eigvalsh_batch

    X = np.ascontiguousarray(X, dtype=np.float64)
    cells = [parse_nb201(a) for a in arch]
    classes = conv_cell_classes(cells)
    live = [(min(cells[i] for i in members), members) for key, members in classes.items() if key is not None]
    live.sort()
    if chunk_dir is None:
        tag = hashlib.sha256(X.tobytes() + repr(X.shape).encode()).hexdigest()[:16]
        chunk_dir = cache_dir() / "nb201_conv_kernel_table" / f"{tag}_c{chunk}"
    chunk_dir = Path(chunk_dir)
    out = {f: np.full(len(cells), np.nan) for f in _FIELDS}
    for s in range(0, len(live), chunk):
        part = live[s:s + chunk]
        path = chunk_dir / f"chunk_{s // chunk:04d}.npz"
        reps = np.array([nb201_string(r) for r, _ in part])
        vals = None
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                if np.array_equal(z["reps"], reps):
                    vals = {f: z[f] for f in _FIELDS}
        if vals is None:
            K, T = conv_cells_kernels([r for r, _ in part], X, workers=1)
            a, b = certified_eigvalsh_batch(T), certified_eigvalsh_batch(K)
            vals = {"ntk_lambda_min": a["lambda_min"], "ntk_lambda_min_error": a["error_bound"],
                    "ntk_lambda_max": a["lambda_max"], "nngp_lambda_min": b["lambda_min"],
                    "nngp_lambda_min_error": b["error_bound"], "nngp_lambda_max": b["lambda_max"]}
            save_npz_atomic(path, reps=reps, **vals)
        for k, (_, members) in enumerate(part):
            for f in _FIELDS:
                out[f][members] = vals[f][k]
        if progress is not None:
            progress(min(s + chunk, len(live)), len(live))
    out["degenerate"] = np.isnan(out["ntk_lambda_min"])
    out["ntk_kappa"] = kappa(out["ntk_lambda_min"], out["ntk_lambda_min_error"], out["ntk_lambda_max"])
    out["nngp_kappa"] = kappa(out["nngp_lambda_min"], out["nngp_lambda_min_error"], out["nngp_lambda_max"])
    out["n_classes"] = np.array(len(live))
    return out


def table_csv(index: np.ndarray, arch: tuple[str, ...], cols: dict[str, np.ndarray]) -> bytes:
    """The table as CSV bytes (columns :data:`COLUMNS`; floats as their shortest round-trip repr)."""
    buf = io.StringIO()
    buf.write(",".join(COLUMNS) + "\n")
    for k in range(len(arch)):
        vals = [str(int(index[k])), arch[k], "1" if cols["degenerate"][k] else "0"]
        vals += [repr(float(cols[c][k])) for c in COLUMNS[3:]]
        buf.write(",".join(vals) + "\n")
    return buf.getvalue().encode("utf-8")
