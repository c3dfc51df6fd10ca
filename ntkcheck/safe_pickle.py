r"""A pickle reader for CIFAR batches that cannot run code named by the file.

torchvision's on-disk CIFAR-10/100 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images";
``cifar-10-batches-py/data_batch_1..5``, ``cifar-100-python/train``) is a pickled ``dict`` whose values are
bytes, lists of ints and one numpy ``uint8`` array.  :func:`pickle.load` would call any function a file names
(``os.system``, ``subprocess.Popen``, ``builtins.eval``, ...), so a crafted batch in ``--images DIR`` would be
code execution.  :class:`CifarUnpickler` resolves a global only from a fixed table of the numpy constructors an
array needs; anything else is refused before it is imported, with a one-line error naming the file and the
global.

Which globals a genuine batch names depends on who pickled it:

* Python 2 (the files as distributed; numpy ≤ 1.x): ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``,
  ``numpy.dtype``;
* numpy ≥ 2 re-pickled: the same under ``numpy._core``;
* Python 3, protocol ≥ 5: ``numpy._core.numeric._frombuffer`` (``numpy.core.numeric`` under numpy 1.x);
* Python 3, protocol 2: ``_codecs.encode`` for every ``bytes`` object (admitted for the latin-1 codec only, the
  one that protocol writes).

dict, list, tuple, bytes, str, int, float, bool and None are pickle opcodes and need no global.  The admitted
callables build arrays and dtypes from the data that follows them; none imports a module or calls a function
whose name comes from the file.  The decoded object is then checked against the format
(:func:`read_cifar_batch`) before anything uses it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError

__all__ = ["CifarUnpickler", "load_restricted", "read_cifar_batch"]

try:  # numpy >= 2 (also a shim in numpy 1.26)
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - older numpy
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric


_LATIN1 = ("latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1")  # the spellings pickle has written


def _latin1_encode(obj: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3's protocol-2 pickles use it for ``bytes``: latin-1 only (no codec lookup,
    so no ``encodings.*`` module is imported on the file's say)."""
    if not isinstance(obj, str) or not isinstance(encoding, str) or encoding.lower() not in _LATIN1:
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} (only latin-1 encodes bytes)")
    return obj.encode("latin-1")


class _Sealed:
    """A function the pickle may call but not modify: the ``BUILD`` opcode (which would set attributes on the
    object it is applied to — numpy's own ``_frombuffer``, say) is refused."""

    __slots__ = ("_fn", "_name")

    def __init__(self, fn: Callable[..., Any], name: str):
        self._fn, self._name = fn, name

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError(f"the file sets state on {self._name}")


_reconstruct = _Sealed(_multiarray._reconstruct, "numpy's _reconstruct")
_frombuffer = _Sealed(_numeric._frombuffer, "numpy's _frombuffer")

#: (module, name) as a pickle names it -> the object handed back.  Nothing outside this table is imported.
#: ``ndarray`` and ``dtype`` are the classes themselves (``_reconstruct`` needs the type); ``BUILD`` on a class
#: fails in its ``__setstate__`` descriptor.
ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _Sealed(_latin1_encode, "_codecs.encode"),
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global that a CIFAR batch never contains."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


class CifarUnpickler(pickle.Unpickler):
    """:class:`pickle.Unpickler` whose ``find_class`` answers only from :data:`ALLOWED` (no import at all).
    ``persistent_load`` keeps the base class's refusal; extension codes (``EXT1/2/4``) go through
    ``find_class`` too."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None


def load_restricted(path: str | Path, *, encoding: str = "bytes") -> Any:
    """Unpickle ``path`` with :class:`CifarUnpickler`.  ``encoding`` decodes Python 2 ``str`` objects:
    ``"bytes"`` (Krizhevsky's reader, dict keys stay ``b"data"``) or ``"latin1"`` (torchvision's, keys become
    ``"data"``).  Any failure is a one-line :class:`NtkcheckError` naming the file."""
    if encoding not in ("bytes", "latin1"):
        raise ValueError(f"encoding must be 'bytes' or 'latin1', got {encoding!r}")
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return CifarUnpickler(fh, encoding=encoding).load()
    except RefusedGlobal as exc:
        raise NtkcheckError(f"refused to read CIFAR batch {path}: the file asks to load {exc.qualname}, which a "
                            "CIFAR batch never holds (only dicts, lists, bytes, numbers and numpy arrays are "
                            "read); it may have been tampered with") from None
    except OSError as exc:
        raise NtkcheckError(f"cannot read CIFAR batch {path}: {exc.strerror or exc}") from None
    except MemoryError:
        raise NtkcheckError(f"cannot read CIFAR batch {path}: it does not fit in memory") from None
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data of any kind is a user error
        msg = " ".join(str(exc).split())[:160]
        raise NtkcheckError(f"cannot read CIFAR batch {path}: {type(exc).__name__}: {msg}") from None


def read_cifar_batch(path: str | Path, label_key: bytes, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(data, labels)`` of one CIFAR batch: data (n, 3072) uint8 in channel-major order, labels (n,) int64
    in ``[0, n_classes)``.  The file is read with :func:`load_restricted` (``encoding="bytes"``) and the
    decoded object checked against the format: a dict with ``b"data"`` a 2-D uint8 array of 3072 columns and
    ``label_key`` (``b"labels"`` for CIFAR-10, ``b"fine_labels"`` for CIFAR-100) one integer label per row."""
    path = Path(path)
    d = load_restricted(path)
    if not isinstance(d, dict):
        raise NtkcheckError(f"{path} is not a CIFAR batch (a pickled dict; got {type(d).__name__})")
    if b"data" not in d or label_key not in d:
        raise NtkcheckError(f"{path}: missing {b'data'!r} or {label_key!r} (not a CIFAR-{n_classes} batch)")
    x, y = d[b"data"], d[label_key]
    if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 2 and x.shape[1] == 3072):
        what = (f"{x.dtype} array of shape {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__)
        raise NtkcheckError(f"{path}: expected {b'data'!r} as uint8 data of shape (n, 3072), got {what}")
    if isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iu":
        labels = y.astype(np.int64)
    elif isinstance(y, (list, tuple)) and all(type(v) is int for v in y):
        labels = y
    else:
        raise NtkcheckError(f"{path}: expected {label_key!r} as a list of integer labels")
    if len(labels) != x.shape[0]:
        raise NtkcheckError(f"{path}: {x.shape[0]} images but {len(labels)} labels (one label per row expected)")
    bad = next((int(v) for v in labels if not 0 <= v < n_classes), None)
    if bad is not None:
        raise NtkcheckError(f"{path}: label {bad} outside 0..{n_classes - 1}")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    return np.ascontiguousarray(x), labels
