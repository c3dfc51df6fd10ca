"""The crash-safe results store of ``ntkcheck sweep``: one SQLite file (stdlib ``sqlite3``, WAL journal).

Tables:

* ``results`` — one row per (space, arch, metric, config_hash, seed) (the primary key, so a value can never be
  stored twice) with ``value`` (REAL; ±inf kept, NaN stored as NULL), ``status`` (ok / singular / error),
  ``message`` (one line), ``seconds``, ``device`` and ``versions`` (JSON);
* ``configs`` — config_hash → metric, the full metric configuration (JSON) and the input source's description;
* ``meta`` — ``schema``, ``ntkcheck_version``, ``space`` (what the store was created for), ``planned_archs``
  (how many architectures the last sweep command asked for; the report warns when fewer are stored).

Only the driver writes, one transaction per finished task (``with conn:``), so a ``kill -9`` at any moment leaves
every finished task committed and nothing half-written; the next run reads what is there and computes only the
rest.  A store made by a newer ntkcheck or another schema, for another space, or holding a metric under another
configuration is refused (:class:`StoreMismatch`) unless the caller starts a new one; a file that is not an
SQLite database or lacks these tables is a one-line :class:`~ntkcheck.errors.NtkcheckError`.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ntkcheck import __version__
from ntkcheck.errors import NtkcheckError

__all__ = ["SCHEMA", "Row", "ResultsStore", "StoreMismatch", "open_store", "load_sweep_values"]

SCHEMA = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS configs (config_hash TEXT PRIMARY KEY, metric TEXT NOT NULL, config TEXT NOT NULL,
                                    inputs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    space TEXT NOT NULL, arch TEXT NOT NULL, metric TEXT NOT NULL, config_hash TEXT NOT NULL, seed INTEGER NOT NULL,
    value REAL, status TEXT NOT NULL CHECK (status IN ('ok', 'singular', 'error')), message TEXT NOT NULL,
    seconds REAL NOT NULL, device TEXT NOT NULL, versions TEXT NOT NULL,
    PRIMARY KEY (space, arch, metric, config_hash, seed));
"""


class StoreMismatch(NtkcheckError):
    """The store was written by another configuration, space or a newer ntkcheck."""


@dataclass(frozen=True)
class Row:
    space: str
    arch: str
    metric: str
    config_hash: str
    seed: int
    value: float
    status: str
    message: str
    seconds: float
    device: str
    versions: str


def _version_tuple(v: str) -> tuple:
    out = []
    for part in v.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


class ResultsStore:
    """An open store (use :func:`open_store`).  Reads are plain queries; :meth:`add` commits one task's rows."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    # ---- meta ---------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    def configs(self) -> dict[str, dict[str, Any]]:
        return {h: {"metric": m, "config": json.loads(c), "inputs": i}
                for h, m, c, i in self.conn.execute("SELECT config_hash, metric, config, inputs FROM configs")}

    def check_compatible(self, space: str, wanted: dict[str, tuple[str, dict, str]]) -> None:
        """Refuse (``StoreMismatch``) a store of another space or holding a wanted metric under another config.
        ``wanted``: metric → (config hash, config, inputs description)."""
        meta = self.meta()
        if meta.get("space") not in (None, space):
            raise StoreMismatch(f"{self.path} holds a sweep of space {meta['space']!r}, not {space!r} "
                                "(use another --out, or --force-new to start this file anew)")
        for h, c in self.configs().items():
            w = wanted.get(c["metric"])
            if w is not None and w[0] != h:
                diff = sorted(k for k in set(c["config"]) | set(w[1]) if c["config"].get(k) != w[1].get(k))
                what = (f"settings {', '.join(diff)}" if diff else f"input source ({c['inputs']})"
                        if c["inputs"] != w[2] else "the metric's code version or the image fingerprint")
                raise StoreMismatch(f"{self.path} holds {c['metric']} under another configuration (differs in "
                                    f"{what}); use another --out, or --force-new to start this file anew")

    def set_meta(self, key: str, value: str) -> None:
        """Record a fact about the store (e.g. ``planned_archs``: how many architectures the last sweep asked for)."""
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    def register(self, space: str, wanted: dict[str, tuple[str, dict, str]]) -> None:
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('space', ?)", (space,))
            for metric, (h, cfg, inputs) in sorted(wanted.items()):
                self.conn.execute("INSERT OR IGNORE INTO configs VALUES (?, ?, ?, ?)",
                                  (h, metric, json.dumps(cfg, sort_keys=True), inputs))

    # ---- rows ---------------------------------------------------------------------------------------
    def done(self, space: str, seed: int, hashes: Iterable[str]) -> set[tuple[str, str]]:
        """(arch, config_hash) pairs already stored for this space and seed."""
        hs = list(hashes)
        q = ("SELECT arch, config_hash FROM results WHERE space = ? AND seed = ? AND config_hash IN "
             f"({','.join('?' * len(hs))})")
        return {(a, h) for a, h in self.conn.execute(q, (space, seed, *hs))}

    def mean_seconds(self, hashes: Iterable[str]) -> dict[str, float]:
        """Mean compute seconds per stored value of each config hash that has rows (the cost of a metric)."""
        hs = list(hashes)
        q = (f"SELECT config_hash, AVG(seconds) FROM results WHERE config_hash IN ({','.join('?' * len(hs))}) "
             "GROUP BY config_hash")
        return {h: float(v) for h, v in self.conn.execute(q, hs) if v is not None}

    def add(self, rows: Iterable[Row]) -> int:
        """Insert one task's rows in one transaction; a row already present is left as it is (first write wins)."""
        rows = list(rows)
        with self.conn:
            cur = self.conn.executemany(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.space, r.arch, r.metric, r.config_hash, int(r.seed),
                  None if r.value is None or (isinstance(r.value, float) and math.isnan(r.value)) else float(r.value),
                  r.status, r.message, float(r.seconds), r.device, r.versions) for r in rows])
        return cur.rowcount

    def rows(self, metric: str | None = None) -> Iterator[Row]:
        q = "SELECT * FROM results" + (" WHERE metric = ?" if metric else "") + \
            " ORDER BY metric, config_hash, seed, arch"
        for r in self.conn.execute(q, (metric,) if metric else ()):
            yield Row(*r[:5], math.nan if r[5] is None else r[5], *r[6:])

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level="DEFERRED")
    conn.execute("PRAGMA trusted_schema=OFF")  # a crafted store cannot run SQL functions from its schema
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed transaction survives a killed process
    return conn


def open_store(path: str | os.PathLike, *, create: bool = True, force_new: bool = False) -> ResultsStore:
    """Open (or create) a store.  ``force_new`` moves an existing file aside to ``<name>.old`` first (nothing is
    deleted) and starts an empty store.  Corrupt or foreign files and newer versions are one-line errors."""
    path = Path(path)
    if path.is_dir():
        raise NtkcheckError(f"store path {path} is a directory")
    if force_new and path.exists():
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(path.with_name(path.name + ".old" + suffix))
        path.replace(path.with_name(path.name + ".old"))
    exists = path.exists() and path.stat().st_size > 0
    if not exists and not create:
        raise NtkcheckError(f"results store {path} does not exist")
    if exists:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise NtkcheckError(f"{path} is not an ntkcheck results store (not an SQLite database)")
    elif create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(path)
        if exists:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"meta", "configs", "results"} <= tables:
                conn.close()
                raise NtkcheckError(f"{path} is an SQLite database but not an ntkcheck results store")
            conn.execute("PRAGMA quick_check").fetchone()
        else:
            with conn:
                conn.executescript(_DDL)
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
                conn.execute("INSERT INTO meta VALUES ('ntkcheck_version', ?)", (__version__,))
    except sqlite3.DatabaseError as exc:
        raise NtkcheckError(f"{path} is a corrupt results store ({exc})") from None
    store = ResultsStore(path, conn)
    meta = store.meta()
    if meta.get("schema") != str(SCHEMA):
        store.close()
        raise StoreMismatch(f"{path} has store schema {meta.get('schema')}, this ntkcheck reads schema {SCHEMA} "
                            "(use --force-new to start this file anew)")
    if _version_tuple(meta.get("ntkcheck_version", "0")) > _version_tuple(__version__):
        store.close()
        raise StoreMismatch(f"{path} was written by ntkcheck {meta['ntkcheck_version']}, newer than this "
                            f"{__version__} (upgrade, or --force-new to start this file anew)")
    return store


def load_sweep_values(store: str | os.PathLike | ResultsStore, metric: str, config: dict[str, Any] | None = None,
                      *, seed: int | None = None, status: Iterable[str] = ("ok", "singular")) -> dict[str, float]:
    """``{arch: value}`` of ``metric`` from a store, for ``verify --sweep`` and other readers.

    ``config``: the metric's settings that must match (a subset of the stored configuration, e.g.
    ``{"mode": "code"}``); None accepts the store's only configuration of that metric (an error if it holds
    several).  ``seed``: one seed (None: the store's only seed, an error if several).  Rows with another status
    (errors) are left out."""
    st = store if isinstance(store, ResultsStore) else open_store(store, create=False)
    try:
        hashes = [h for h, c in st.configs().items() if c["metric"] == metric and
                  all(c["config"].get(k) == v for k, v in (config or {}).items())]
        if not hashes:
            raise NtkcheckError(f"{st.path} holds no {metric} values" + (f" with {config}" if config else ""))
        if len(hashes) > 1:
            raise NtkcheckError(f"{st.path} holds {metric} under {len(hashes)} configurations; name the settings")
        q = "SELECT DISTINCT seed FROM results WHERE config_hash = ?"
        seeds = sorted(s for (s,) in st.conn.execute(q, (hashes[0],)))
        if seed is None:
            if len(seeds) > 1:
                raise NtkcheckError(f"{st.path} holds {metric} for seeds {seeds}; choose one")
            seed = seeds[0] if seeds else 0
        ok = tuple(status)
        q = (f"SELECT arch, value FROM results WHERE config_hash = ? AND seed = ? AND status IN "
             f"({','.join('?' * len(ok))}) ORDER BY arch")
        return {a: (math.nan if v is None else float(v)) for a, v in st.conn.execute(q, (hashes[0], seed, *ok))}
    finally:
        if st is not store:
            st.close()
