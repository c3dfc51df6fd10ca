"""No input file runs code: crafted CIFAR batches, object-array .npy and .npz files through the real command
lines are refused (exit 2, one line on stderr naming the file, no traceback), and the marker file each payload
would create never appears; nothing is written.  Genuine batches — as Python 2 pickled them and as Python 3
re-pickles them under every protocol — still read to the exact pixels and labels that were stored."""

import io
import json
import os
import pickle
import struct
import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.errors import NtkcheckError
from ntkcheck.safe_pickle import _numeric, load_restricted, read_cifar_batch
from ntkcheck.sweep.inputs import read_cifar

SPEC = '{"fc": ["relu", "relu"]}'
SWEEP = ["sweep", "ntk_lambda_min", "--set", "ntk_lambda_min.n=4", "--space", "fc:L=3,acts=relu/tanh,skips=1",
         "--sample", "2", "--n-images", "4"]   # a metric that reads the images


# ---- payloads: objects whose unpickling would create a marker file -----------------------------------------

class _System:
    """Unpickles as ``os.system("touch MARKER")`` (pickled as the global ``posix.system``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class _Popen(_System):
    """Unpickles as ``subprocess.Popen(["touch", MARKER])``: the unpickler would import subprocess."""

    def __reduce__(self):
        return subprocess.Popen, (["touch", self.marker],)


class _Eval(_System):
    """Unpickles as ``builtins.eval("__import__('os').system(...)")``."""

    def __reduce__(self):
        return eval, (f"__import__('os').system(\"touch '{self.marker}'\")",)


def _payload_bytes(kind: str, marker) -> bytes:
    """A pickle whose loading would run ``touch MARKER``; the payload sits inside an otherwise valid batch."""
    x = np.zeros((4, 3072), dtype=np.uint8)
    if kind == "protocol0-GLOBAL":   # the classic hand-written exploit: c os\nsystem\n (S'cmd'\n tR.
        return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    if kind == "protocol0-INST":     # the INST opcode imports and calls in one step
        return f"(S'touch {marker}'\nios\nsystem\n.".encode()
    cls = {"os.system": _System, "subprocess.Popen": _Popen, "builtins.eval": _Eval}[kind]
    return pickle.dumps({b"data": x, b"labels": [0, 1, 2, cls(marker)]}, protocol=4)


def _npy_payload(path, marker):
    """A .npy holding an object array whose element unpickles as os.system (numpy pickles object arrays)."""
    np.save(path, np.array([[1.0, _System(marker)]], dtype=object), allow_pickle=True)


# ---- genuine batches -----------------------------------------------------------------------------------------

class _Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote for the CIFAR files: every ``str`` (Python 2's bytes) as
    SHORT_BINSTRING/BINSTRING, which Python 3 decodes with ``encoding="bytes"`` or ``"latin1"``."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def _py2str(self, b: bytes):
        head = (pickle.SHORT_BINSTRING + bytes([len(b)]) if len(b) < 256
                else pickle.BINSTRING + struct.pack("<i", len(b)))
        self.write(head + b)
        self.memoize(b)

    def save_bytes(self, obj):
        self._py2str(obj)

    def save_str(self, obj):
        self._py2str(obj.encode("latin1"))

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def _py2_batch(d: dict) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(d)
    # numpy 1.x (the era of the distributed files) named its module numpy.core
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def _batch(n=6, seed=0, n_classes=10):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, n_classes, n).tolist()


def _cifar10_dir(tmp_path, payload: bytes | None = None):
    """torchvision's layout with two genuine batches; ``payload`` (bytes) replaces data_batch_2."""
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir(parents=True)
    for b in (1, 2):
        x, y = _batch(seed=b)
        with open(d / f"data_batch_{b}", "wb") as fh:
            pickle.dump({b"data": x, b"labels": y, b"batch_label": b"training batch"}, fh)
    if payload is not None:
        (d / "data_batch_2").write_bytes(payload)
    return d


def _one_line_refusal(cap, needle):
    err = cap.err.strip()
    assert err.startswith("ntkcheck: error:") and "\n" not in err, err
    assert needle in err and "Traceback" not in err, err
    return err


# ---- crafted CIFAR batches -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, refused", [("os.system", "posix.system"), ("subprocess.Popen", "subprocess.Popen"),
                                           ("builtins.eval", "builtins.eval"), ("protocol0-GLOBAL", "os.system"),
                                           ("protocol0-INST", "os.system")])
def test_crafted_batch_is_refused_by_sweep_before_anything_runs_or_is_written(tmp_path, kind, refused, capsys):
    marker = tmp_path / "pwned"
    d = _cifar10_dir(tmp_path / "images", _payload_bytes(kind, marker))
    out = tmp_path / "out" / "store.sqlite"
    assert main([*SWEEP, "--images", str(tmp_path / "images"), "--out", str(out)]) == 2
    err = _one_line_refusal(capsys.readouterr(), str(d / "data_batch_2"))
    assert refused in err
    assert not marker.exists()
    assert not out.exists() and not out.parent.exists()     # the store is never created


def test_crafted_batch_in_a_real_process_leaves_no_trace(tmp_path):
    """The installed entry point in a fresh interpreter: exit 2, one stderr line, nothing on stdout."""
    marker = tmp_path / "pwned"
    d = _cifar10_dir(tmp_path / "images", _payload_bytes("os.system", marker))
    out = tmp_path / "store.sqlite"
    p = subprocess.run([sys.executable, "-m", "ntkcheck.cli", *SWEEP, "--images", str(d), "--out", str(out)],
                       check=False, capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stdout == "" and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert str(d / "data_batch_2") in p.stderr and "posix.system" in p.stderr
    assert not marker.exists() and not out.exists()
    assert sorted(q.name for q in tmp_path.iterdir()) == ["images"]


def test_the_unpickler_imports_nothing_the_file_names(tmp_path):
    """A global from a module not yet imported is refused without importing it."""
    name = "ntkcheck_never_imported_module"
    p = tmp_path / "b"
    p.write_bytes(f"c{name}\nf\n(tR.".encode())
    with pytest.raises(NtkcheckError, match=rf"{name}\.f") as exc:
        load_restricted(p)
    assert str(p) in str(exc.value) and name not in sys.modules


def test_admitted_functions_cannot_be_modified(tmp_path):
    """BUILD (set attributes / call __setstate__) applied to an admitted global is refused, and numpy's
    functions and classes are unchanged afterwards (``_numeric``: numpy's ``_core.numeric``)."""
    before = (_numeric._frombuffer.__defaults__, dict(_numeric._frombuffer.__dict__))
    for glob in (b"numpy._core.numeric\n_frombuffer", b"_codecs\nencode", b"numpy.core.multiarray\n_reconstruct",
                 b"numpy\nndarray", b"numpy\ndtype"):
        p = tmp_path / "b"
        #        GLOBAL   state: (None, {"__defaults__": (1,)})                                 BUILD STOP
        p.write_bytes(b"c" + glob + b"\n" + b"(N}X\x0c\x00\x00\x00__defaults__K\x01\x85stb.")
        with pytest.raises(NtkcheckError, match="cannot read CIFAR batch"):
            load_restricted(p)
    assert (_numeric._frombuffer.__defaults__, dict(_numeric._frombuffer.__dict__)) == before
    assert np.frombuffer(b"\x01\x02", dtype=np.uint8).tolist() == [1, 2]


def test_decoded_structure_is_checked(tmp_path):
    """Files that use only admitted globals but are not CIFAR batches: one-line errors, never used."""
    x, y = _batch(4)
    cases = {
        "list": ([x, y], "not a CIFAR batch"),
        "str-keys": ({"data": x, "labels": y}, "missing"),
        "object-data": ({b"data": np.array([[1, 2]], dtype=object), b"labels": [1]}, "uint8"),
        "float-data": ({b"data": x.astype(np.float32), b"labels": y}, "uint8"),
        "flat-data": ({b"data": x.reshape(-1), b"labels": y}, "uint8"),
        "short-labels": ({b"data": x, b"labels": y[:-1]}, "one label per row"),
        "str-labels": ({b"data": x, b"labels": ["1"] * 4}, "integer labels"),
        "label-range": ({b"data": x, b"labels": [0, 1, 2, 10]}, "label 10 outside 0..9"),
        "huge-label": ({b"data": x, b"labels": [0, 1, 2, 2 ** 70]}, "outside"),
    }
    for name, (obj, needle) in cases.items():
        p = tmp_path / name
        p.write_bytes(pickle.dumps(obj))
        with pytest.raises(NtkcheckError, match=needle) as exc:
            read_cifar_batch(p, b"labels", 10)
        assert str(p) in str(exc.value) and "\n" not in str(exc.value), name
    p = tmp_path / "truncated"
    p.write_bytes(pickle.dumps({b"data": x, b"labels": y})[:-40])
    with pytest.raises(NtkcheckError, match="cannot read CIFAR batch"):
        read_cifar_batch(p, b"labels", 10)
    p = tmp_path / "codec"     # _codecs.encode is admitted for protocol 2's bytes, with the latin-1 codec only
    p.write_bytes(b"c_codecs\nencode\n(X\x01\x00\x00\x00aX\x05\x00\x00\x00rot13tR.")
    with pytest.raises(NtkcheckError, match="rot13"):
        load_restricted(p)


# ---- genuine batches still read exactly ----------------------------------------------------------------------

@pytest.mark.parametrize("writer", ["python2", "protocol2", "protocol3", "protocol4", "protocol5"])
def test_genuine_batch_reads_the_stored_pixels_and_labels(tmp_path, writer):
    x, y = _batch(5, seed=3, n_classes=100)
    d = {b"data": x, b"fine_labels": y, b"coarse_labels": [v // 5 for v in y], b"filenames": [b"a.png"] * 5}
    raw = _py2_batch(d) if writer == "python2" else pickle.dumps(d, protocol=int(writer[-1]))
    p = tmp_path / "train"
    p.write_bytes(raw)
    X, Y = read_cifar_batch(p, b"fine_labels", 100)
    assert X.dtype == np.uint8 and np.array_equal(X, x)
    assert Y.dtype == np.int64 and Y.tolist() == y
    if writer == "python2":     # torchvision's own decoding (latin1) of the same file
        t = load_restricted(p, encoding="latin1")
        assert np.array_equal(t["data"], x) and t["fine_labels"] == y and t["filenames"] == ["a.png"] * 5


def test_read_cifar_gives_the_same_images_whatever_pickled_the_batches(tmp_path):
    """The same batches written by Python 2 and by Python 3's default protocol give the same Inputs, whose
    images are the stored rows (undoing the CIFAR mean/std normalisation) with their labels."""
    batches = [_batch(seed=b) for b in (1, 2)]
    fps = []
    for writer in ("python2", "default"):
        d = tmp_path / writer / "cifar-10-batches-py"
        d.mkdir(parents=True)
        for b, (x, y) in enumerate(batches, start=1):
            doc = {b"data": x, b"labels": y}
            (d / f"data_batch_{b}").write_bytes(_py2_batch(doc) if writer == "python2" else pickle.dumps(doc))
        inp = read_cifar(tmp_path / writer, 12, seed=0)
        fps.append(inp.fingerprint)
        mean, std = np.array([0.4914, 0.4822, 0.4465]), np.array([0.2023, 0.1994, 0.2010])  # CIFAR constants
        raw = np.rint((inp.images * std[None, :, None, None] + mean[None, :, None, None]) * 255).reshape(12, -1)
        X = np.concatenate([x for x, _ in batches])
        Y = np.concatenate([y for _, y in batches])
        for img, lab in zip(raw, inp.labels):
            k = np.flatnonzero((X == img).all(axis=1))
            assert k.size == 1 and Y[k[0]] == lab
    assert fps[0] == fps[1]


def test_sweep_runs_on_genuine_batches(tmp_path, capsys):
    _cifar10_dir(tmp_path / "images")
    out = tmp_path / "store.sqlite"
    assert main([*SWEEP, "--images", str(tmp_path / "images"), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"].startswith("cifar10 training images") and out.exists()


# ---- .npy / .npz -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["kernel", SPEC, "{x}", "-o", "{d}/out.npz"],
    ["kernel", "{x}", "--nb201-all", "--conv", "--image", "3", "2", "2", "-o", "{d}/out.npz"],
    ["empirical", SPEC, "{x}", "--width", "8", "-o", "{d}/out.npz"],
    ["bounds", SPEC, "{x}", "-o", "{d}/out.json"],
    ["connectivity", "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|", "--data", "{x}",
     "-o", "{d}/out.json"],
])
@pytest.mark.parametrize("kind", ["object.npy", "crafted.npz"])
def test_object_arrays_are_refused_by_every_data_reader(tmp_path, argv, kind, capsys):
    marker = tmp_path / "pwned"
    x = tmp_path / kind
    if kind.endswith(".npy"):
        _npy_payload(x, marker)
    else:
        with open(x, "wb") as fh:
            np.savez(fh, X=np.array([[1.0, _System(marker)]], dtype=object), allow_pickle=True)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([a.replace("{x}", str(x)).replace("{d}", str(tmp_path)) for a in argv]) == 2
    _one_line_refusal(capsys.readouterr(), kind)
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_crafted_cache_entry_is_recomputed_not_unpickled(tmp_path):
    """The micro-benchmark's .npz cache reads with allow_pickle=False: an object array planted in the cache
    directory reads as a missing entry (recomputed), and its payload never runs."""
    from ntkcheck.paper_checks.microbench import _load

    marker = tmp_path / "pwned"
    p = tmp_path / "entry.npz"
    np.savez(p, acc=np.array([_System(marker)], dtype=object), allow_pickle=True)
    assert _load(p) is None and not marker.exists()
