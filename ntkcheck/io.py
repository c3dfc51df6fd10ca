"""Atomic file output and validated input.

Reports, kernels and figures are written to a temporary file in the destination directory and
moved into place with :func:`os.replace`, so a crash or a user error never leaves a half-written
file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import NtkcheckError

__all__ = [
    "atomic_path",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_json_atomic",
    "save_npz_atomic",
    "save_figure_atomic",
    "load_data",
    "validate_data",
    "load_array",
    "to_jsonable",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it onto ``path``, else delete it."""
    path = Path(path)
    if path.is_dir():
        raise NtkcheckError(f"output path is a directory: {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NtkcheckError(f"cannot create the output directory {path.parent}: {exc.strerror or exc}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, dataclasses, paths and sets to JSON-serialisable objects.

    Non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"`` so that the JSON stays standard.
    """
    import dataclasses
    import math

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isfinite(x):
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def save_npz_atomic(path: str | os.PathLike, **arrays: Any) -> Path:
    """np.savez straight into the temporary file (streamed from the arrays: no in-memory copy of the archive)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return Path(path)


def save_figure_atomic(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically; the format follows the file extension."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **kwargs)
    return path


def validate_data(X: Any, *, name: str = "X", allow_duplicates: bool = False, dtype=np.float64) -> np.ndarray:
    """Check a data matrix: 2-D (N, d) with N, d >= 1, finite, and (by default) pairwise distinct rows."""
    try:
        X = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise NtkcheckError(f"{name} is not a numeric array ({exc})") from None
    if X.ndim != 2:
        raise NtkcheckError(f"{name} must have shape (N, d), got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise NtkcheckError(f"{name} must have N >= 1 rows and d >= 1 columns, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        bad = int(np.sum(~np.isfinite(X)))
        raise NtkcheckError(f"{name} contains {bad} NaN or infinite value(s)")
    if not allow_duplicates and X.shape[0] > 1:
        _, first, counts = np.unique(X, axis=0, return_index=True, return_counts=True)
        if np.any(counts > 1):
            i = int(first[np.argmax(counts > 1)])
            raise NtkcheckError(f"{name} has duplicate rows (row {i} appears {int(counts.max())} times); "
                                "the Gram matrix would be singular")
    return X


def load_data(path: str | os.PathLike, *, allow_duplicates: bool = False) -> np.ndarray:
    """Load an (N, d) float64 ``.npy`` data file and validate it (see :func:`validate_data`)."""
    path = Path(path)
    return validate_data(load_array(path), name=str(path.name), allow_duplicates=allow_duplicates)


def load_array(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.npy`` file (no pickles) of any shape; a missing or unreadable file is a one-line error."""
    path = Path(path)
    if not path.exists():
        raise NtkcheckError(f"data file not found: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error
        raise NtkcheckError(f"cannot read data file {path}: {exc}") from None
