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
    "cache_dir",
    "check_writable_dir",
    "check_output_file",
    "check_memory",
    "available_memory",
    "atomic_path",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_json_atomic",
    "save_npz_atomic",
    "save_figure_atomic",
    "load_data",
    "data_shape",
    "validate_data",
    "load_array",
    "to_jsonable",
]


def cache_dir() -> Path:
    """ntkcheck's cache directory: $NTKCHECK_CACHE, else $XDG_CACHE_HOME/ntkcheck, else ~/.cache/ntkcheck.
    Caches and hypothesis databases live here, never in the user's working directory."""
    env = os.environ.get("NTKCHECK_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ntkcheck"


def _nearest_existing(path: Path) -> Path:
    p = Path(os.path.normpath(os.path.abspath(path)))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable_dir(path: str | os.PathLike, what: str = "the output directory") -> Path:
    """Fail early (before any work) when ``path`` cannot become a writable directory; ``what`` names it in the
    one-line error (e.g. ``"--report"``).  Nothing is created or left behind."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NtkcheckError(f"{what} {path} exists and is not a directory")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise NtkcheckError(f"cannot create {what} {path}: {base} is not a directory")
    _probe(base, f"{what} {path}")
    return path


def _probe(base: Path, what: str) -> None:
    """Create and delete a temporary file in ``base``: the one reliable writability test (permissions, read-only
    or virtual file systems, root)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ntkcheck-probe.", dir=base)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise NtkcheckError(f"cannot write {what}: {base}: {exc.strerror or exc}") from None


def check_output_file(path: str | os.PathLike, *, suffixes: tuple[str, ...] = ()) -> Path:
    """Fail early (before any work) when ``path`` cannot be written as an output file."""
    path = Path(path)
    if path.is_dir():
        raise NtkcheckError(f"output path is a directory: {path}")
    if suffixes and path.suffix.lower() not in suffixes:
        raise NtkcheckError(f"output file {path} must end in {' or '.join(suffixes)}")
    if path.exists() and not os.access(path, os.W_OK):
        raise NtkcheckError(f"output file {path} is not writable")
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise NtkcheckError(f"cannot create the output directory {path.parent}: {base} is not a directory")
    _probe(base, str(path))
    return path


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable of /proc/meminfo, else physical pages)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def check_memory(nbytes: float, what: str, *, available: int | None = None) -> None:
    """Refuse, before allocating, work whose estimated memory ``nbytes`` exceeds what is available."""
    avail = available_memory() if available is None else available
    if nbytes > avail:
        raise NtkcheckError(f"{what} needs an estimated {_fmt_bytes(nbytes)} of memory, more than the "
                            f"{_fmt_bytes(avail)} available; reduce N or the width")


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


_KINDS = {"b": "boolean", "i": "integer", "u": "unsigned integer", "f": "floating point"}


def _check_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.hasobject:
        raise NtkcheckError(f"{name} holds Python objects (dtype object), not numbers; save a float array")
    if dtype.kind == "c":
        raise NtkcheckError(f"{name} is complex ({dtype}); ntkcheck needs real data (the imaginary part "
                            "would be lost)")
    if dtype.kind not in _KINDS:
        raise NtkcheckError(f"{name} has non-numeric dtype {dtype}; save a float array")


def _check_shape(shape: tuple[int, ...], name: str) -> None:
    if len(shape) != 2:
        raise NtkcheckError(f"{name} must have shape (N, d), got shape {tuple(shape)}")
    if shape[0] < 1 or shape[1] < 1:
        raise NtkcheckError(f"{name} must have N >= 1 rows and d >= 1 columns, got shape {tuple(shape)}")


def validate_data(X: Any, *, name: str = "X", allow_duplicates: bool = False, dtype=np.float64) -> np.ndarray:
    """Check a data matrix: real numbers (no complex, object or string arrays), 2-D (N, d) with N, d >= 1,
    finite, and (by default) pairwise distinct rows."""
    if isinstance(X, np.ndarray) or hasattr(X, "dtype"):
        arr = np.asarray(X)
        _check_dtype(arr.dtype, name)
    try:
        X = np.asarray(X)
        if X.dtype.kind == "c" or X.dtype.hasobject and any(isinstance(v, complex) for v in X.ravel()[:1000]):
            raise NtkcheckError(f"{name} is complex; ntkcheck needs real data (the imaginary part would be lost)")
        X = np.asarray(X, dtype=dtype)
    except NtkcheckError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise NtkcheckError(f"{name} is not a numeric array ({' '.join(str(exc).split())})") from None
    _check_shape(X.shape, name)
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


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a ``.npy`` file's header alone; not a readable ``.npy`` file → one-line error."""
    if not path.exists():
        raise NtkcheckError(f"data file not found: {path}")
    if path.is_dir():
        raise NtkcheckError(f"data path is a directory, not a .npy file: {path}")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
            fh.seek(0)
            if magic != b"\x93NUMPY":
                kind = " (it is a .npz archive; give one array as .npy)" if magic[:2] == b"PK" else ""
                raise NtkcheckError(f"data file {path} is not a .npy file{kind}; save the array with numpy.save")
            try:
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh, max_header_size=100_000)
            except Exception as exc:  # noqa: BLE001 - a corrupt header is a user error
                raise NtkcheckError(f"data file {path} has a corrupt .npy header "
                                    f"({' '.join(str(exc).split())[:120]})") from None
    except OSError as exc:
        raise NtkcheckError(f"cannot read data file {path}: {exc.strerror or exc}") from None
    _check_dtype(np.dtype(dtype), str(path.name))
    return tuple(int(s) for s in shape), np.dtype(dtype)


def _read_npy(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The array of a ``.npy`` file whose header was checked; memory checked first, no pickles."""
    check_memory(3.0 * float(np.prod(shape, dtype=float)) * 8, f"loading {path.name} (shape {tuple(shape)})")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a truncated/corrupt file is a user error
        raise NtkcheckError(f"cannot read data file {path}: it is not a complete .npy array "
                            f"({' '.join(str(exc).split())[:120]})") from None


#: The data name ``example``: 20 points uniform on the unit sphere in R^8 (seed 0), shipped as
#: ``ntkcheck/examples/X.npy`` so that every README example runs on shipped inputs.
EXAMPLE_DATA = "example"


def _data_path(path: str | os.PathLike) -> Path:
    """``path``, or the bundled example data for the name ``example`` (when no such file exists)."""
    if str(path) == EXAMPLE_DATA and not os.path.exists(path):
        from importlib import resources

        return Path(str(resources.files("ntkcheck").joinpath("examples/X.npy")))
    return Path(path)


def data_shape(path: str | os.PathLike) -> tuple[int, int]:
    """(N, d) of a ``.npy`` data file from its header alone, after the checks :func:`load_data` makes before
    reading (a .npy file, real numeric dtype, 2-D, non-empty): memory can be estimated before loading."""
    path = _data_path(path)
    shape, _ = _npy_header(path)
    _check_shape(shape, str(path.name))
    return shape[0], shape[1]


def data_dtype(path: str | os.PathLike) -> np.dtype:
    """The dtype of a ``.npy`` data file, from its header (before conversion to float64 by :func:`load_data`)."""
    return _npy_header(_data_path(path))[1]


def load_array(path: str | os.PathLike) -> np.ndarray:
    """Read a real numeric ``.npy`` file (no pickles) of any shape, header checked before reading (images)."""
    path = _data_path(path)
    shape, _ = _npy_header(path)
    if 0 in shape:
        raise NtkcheckError(f"{path.name} is empty (shape {shape})")
    return _read_npy(path, shape)


def load_data(path: str | os.PathLike, *, allow_duplicates: bool = False, max_rows: int | None = None) -> np.ndarray:
    """Load an (N, d) real ``.npy`` data file as float64 and validate it (see :func:`validate_data`).

    The header is read first (:func:`data_shape`): a file that is not a ``.npy`` array, an object/complex/
    string dtype, a wrong number of dimensions, an empty array, more than ``max_rows`` rows or more data than
    memory holds is refused before the array is read.  ``example`` names the bundled data (20 × 8, unit rows).
    """
    path = _data_path(path)
    shape = data_shape(path)
    if max_rows is not None and shape[0] > max_rows:
        raise NtkcheckError(f"{path.name} has N = {shape[0]} rows; this command takes at most {max_rows}")
    return validate_data(_read_npy(path, shape), name=str(path.name), allow_duplicates=allow_duplicates)
