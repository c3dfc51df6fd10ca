"""What a disk cache of ``ntkcheck verify`` is keyed by: the code that computed it.

Every on-disk cache of the verify run (the NB201 population's per-cell κ_N / R̂_N, TE-NAS's search
trajectories, the digits micro-benchmark, the conv proxy's kernels) puts :func:`code_fingerprint` into its key,
next to its configuration.  The fingerprint is the SHA-256 of

* the relative path and the bytes of every ``.py`` file of the packages the cached values are computed by
  (``ntkcheck``, ``ntkcheck.theory``, ``ntkcheck.empirical``, ``ntkcheck.paper_checks``), in sorted path order;
* the installed versions of numpy, scipy and torch (the numerical libraries the values depend on).

So any edit of an engine (a dropped term, a wrong index) or a library upgrade makes every cache cold: a warm
cache can never hide an engine change.  The price is that editing any source file (a docstring included)
recomputes the caches; ``ntkcheck verify --no-cache`` recomputes without reading or writing them at all.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterable, Mapping

__all__ = ["FINGERPRINT_PACKAGES", "FINGERPRINT_LIBRARIES", "NOT_FINGERPRINTED", "code_fingerprint",
           "source_fingerprint", "package_roots"]

#: The packages whose sources the cached values depend on (ntkcheck's own CLI/metrics/data code included).
FINGERPRINT_PACKAGES = ("ntkcheck", "ntkcheck.theory", "ntkcheck.empirical", "ntkcheck.paper_checks")
#: The libraries whose versions enter the fingerprint.
FINGERPRINT_LIBRARIES = ("numpy", "scipy", "torch")
#: Sub-packages that compute no cached value (left out wherever they are installed: a wheel puts them inside
#: ``ntkcheck/``, an editable install beside it).
NOT_FINGERPRINTED = ("ntkcheck.figures",)


def package_roots(packages: Iterable[str] = FINGERPRINT_PACKAGES) -> dict[str, Path]:
    """``{package name: its source folder}`` of the installed packages (without importing them)."""
    out = {}
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"package {name} is not installed")
        out[name] = Path(list(spec.submodule_search_locations)[0])
    return out


def _library_versions(libraries: Iterable[str]) -> dict[str, str]:
    out = {}
    for lib in libraries:
        try:
            out[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            out[lib] = "absent"
    return out


def source_fingerprint(roots: Mapping[str, Path], versions: Mapping[str, str],
                       exclude: Iterable[Path] = ()) -> str:
    """SHA-256 (hex) over every ``.py`` file under each root — keyed ``<package>/<relative path>``, in sorted
    order, each entry its key, its length and its bytes — and the ``versions`` mapping.  A sub-folder that is
    itself one of the given roots is counted under that root only (``ntkcheck/`` holds ``ntkcheck/commands`` but
    not ``theory/``; a nested root is never hashed twice); files under a folder of ``exclude`` are left out."""
    own = {Path(p).resolve() for p in roots.values()}
    skip = {Path(p).resolve() for p in exclude}
    files: dict[str, Path] = {}
    for name, root in roots.items():
        root = Path(root).resolve()
        if root in skip:
            continue
        for path in root.rglob("*.py"):
            inner = path.relative_to(root).parents      # the folders between root and the file
            if any((root / q) in own or (root / q) in skip for q in inner if q != Path(".")):
                continue
            if "__pycache__" in path.parts:
                continue
            files[f"{name}/{path.relative_to(root).as_posix()}"] = path
    h = hashlib.sha256()
    for key in sorted(files):
        data = files[key].read_bytes()
        h.update(f"{key}\0{len(data)}\0".encode())
        h.update(data)
    for lib in sorted(versions):
        h.update(f"{lib}={versions[lib]}\0".encode())
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The fingerprint of the installed sources and library versions (module docstring); 16 hex digits,
    computed once per process (about 10 ms)."""
    skip = [root for p in NOT_FINGERPRINTED if importlib.util.find_spec(p) is not None
            for root in package_roots((p,)).values()]
    return source_fingerprint(package_roots(), _library_versions(FINGERPRINT_LIBRARIES), skip)[:16]
