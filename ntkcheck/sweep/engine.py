"""Sweeps of registered metrics over a search space: planning, engines, and the driver loop.

* :func:`resolve_space` turns ``nb201`` | ``fc:<family>`` | ``FILE`` into architecture keys, optionally a seeded,
  stratified sample (:func:`stratified_sample`: strata = number of conv ops of an NB201 cell, number of skips of
  an fc net; each stratum gets its share of the sample by largest remainders, drawn without replacement).
* :func:`plan` compares the wanted (arch, metric) pairs with the store and groups what is missing into tasks of
  ``batch`` architectures; :func:`run_task` (a top-level function, so Dask workers and pool processes can import
  it) evaluates one task and returns its rows.
* Engines: :class:`LocalEngine` (the driver process itself for ``jobs=1``, else a ``spawn`` process pool) and
  :class:`DaskEngine` (an existing ``distributed`` cluster; tasks of GPU metrics ask for ``resources={"GPU": 1}``).
  Values do not depend on the engine or on ``jobs``: every metric seeds its own randomness from the sweep seed and
  runs with one BLAS/torch thread.
* :func:`run_sweep` submits tasks with a bounded window, commits each finished task's rows in one transaction, and
  on Ctrl-C stops the engine (pool processes killed, cluster futures cancelled) with everything finished committed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.sweep.inputs import Inputs
from ntkcheck.sweep.store import ResultsStore, Row

__all__ = ["Space", "resolve_space", "stratified_sample", "Task", "plan", "run_task", "LocalEngine", "DaskEngine",
           "run_sweep", "SweepSummary", "versions_json"]


# ---- spaces ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Space:
    kind: str                 # "nb201" or "fc": what an architecture key is
    label: str                # as the user named it
    keys: tuple[str, ...]     # every architecture of the space (before sampling)
    strata: tuple[int, ...]   # stratum of each key


def _nb201_space() -> Space:
    from ntkcheck.spec import NB201_OPS, nb201_string

    ops = list(itertools.product(NB201_OPS, repeat=6))
    return Space("nb201", "nb201", tuple(nb201_string(o) for o in ops),
                 tuple(sum(op.startswith("nor_conv") for op in o) for o in ops))


def _fc_key(spec) -> str:
    return json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"))


def _fc_space(family: str) -> Space:
    from ntkcheck.empirical.eigen_nas import FC_ACTIVATIONS, fc_search_space

    opts: dict[str, str] = {}
    for part in filter(None, family.split(",")):
        if "=" not in part:
            raise NtkcheckError(f"fc space: expected key=value in {part!r} (e.g. fc:L=3,acts=relu/tanh,skips=1)")
        k, v = part.split("=", 1)
        opts[k.strip()] = v.strip()
    unknown = set(opts) - {"L", "acts", "skips", "sigma_w2", "sigma_b2"}
    if unknown:
        raise NtkcheckError(f"fc space: unknown key(s) {', '.join(sorted(unknown))} (known: L, acts, skips, "
                            "sigma_w2, sigma_b2)")
    try:
        L = int(opts.get("L", "2"))
        sw, sb = float(opts.get("sigma_w2", "2")), float(opts.get("sigma_b2", "0"))
    except ValueError:
        raise NtkcheckError(f"fc space: L must be an integer and sigma_w2/sigma_b2 numbers in {family!r}") from None
    acts = tuple(a for a in opts.get("acts", "/".join(FC_ACTIVATIONS)).split("/") if a)
    skips = opts.get("skips", "1") not in ("0", "false", "no")
    if not 1 <= L <= 6:
        raise NtkcheckError(f"fc space: L must be in 1..6, got {L}")
    n = len(acts) ** L * 2 ** (len([(i, j) for i in range(L) for j in range(i + 2, L)]) if skips else 0)
    if n > 10 ** 6:
        raise NtkcheckError(f"fc space: {n} architectures; narrow acts or L")
    specs = fc_search_space(L, acts, skips=skips, sigma_w2=sw, sigma_b2=sb)
    return Space("fc", f"fc:{family}", tuple(_fc_key(s) for s in specs),
                 tuple(sum(e.kind == "skip" for e in s.edges) for s in specs))


def _file_space(path: Path) -> Space:
    from ntkcheck.spec import parse_nb201, parse_spec

    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise NtkcheckError(f"cannot read space file {path}: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NtkcheckError(f"space file {path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(items, list) or not items:
            raise NtkcheckError(f"space file {path}: expected a non-empty JSON list of architecture specs")
    else:
        items = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not items:
            raise NtkcheckError(f"space file {path}: no architectures (one NB201 string per line)")
    if all(isinstance(i, str) and i.startswith("|") for i in items):
        for k, s in enumerate(items):
            try:
                parse_nb201(s)
            except NtkcheckError as exc:
                raise NtkcheckError(f"space file {path}: line {k + 1}: {exc}") from None
        keys = tuple(dict.fromkeys(items))
        return Space("nb201", f"file:{path.name}", keys,
                     tuple(sum(o.startswith("nor_conv") for o in parse_nb201(s)) for s in keys))
    specs = []
    for k, item in enumerate(items):
        try:
            specs.append(parse_spec(item))
        except NtkcheckError as exc:
            raise NtkcheckError(f"space file {path}: item {k + 1}: {exc}") from None
    keys = tuple(dict.fromkeys(_fc_key(s) for s in specs))
    return Space("fc", f"file:{path.name}", keys, tuple(0 for _ in keys))


def resolve_space(name: str) -> Space:
    """``nb201`` (all 15,625 cells), ``fc:<family>`` (``L=..,acts=a/b/..,skips=0|1``) or a file (one NB201 string
    per line, or a JSON list of specs)."""
    if name == "nb201":
        return _nb201_space()
    if name.startswith("fc:"):
        return _fc_space(name[3:])
    p = Path(name)
    if p.is_file():
        return _file_space(p)
    raise NtkcheckError(f"unknown space {name!r} (nb201, fc:<family> such as fc:L=3,acts=relu/tanh, or an "
                        "existing file)")


def stratified_sample(space: Space, n: int | None, seed: int) -> tuple[str, ...]:
    """All keys (``n`` None or ≥ the size), else ``n`` keys: per stratum round(n·share) by largest remainders,
    each drawn without replacement by a generator seeded with (seed, stratum); returned in space order."""
    keys = space.keys
    if n is None or n >= len(keys):
        return keys
    if n < 1:
        raise NtkcheckError(f"--sample must be >= 1, got {n}")
    strata = np.asarray(space.strata)
    labels, counts = np.unique(strata, return_counts=True)
    exact = n * counts / counts.sum()
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take), kind="stable")[: n - int(take.sum())]:
        take[i] += 1
    chosen: list[int] = []
    for lab, t in zip(labels, take):
        idx = np.flatnonzero(strata == lab)
        chosen.extend(np.random.default_rng([seed, 7, int(lab)]).choice(idx, size=int(t), replace=False).tolist())
    return tuple(keys[i] for i in sorted(chosen))


# ---- tasks -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """Architectures × metrics to evaluate together: ``metrics`` is ((name, config, config_hash), ...)."""

    space: str
    archs: tuple[str, ...]
    metrics: tuple[tuple[str, tuple[tuple[str, Any], ...], str], ...]
    seed: int
    gpu: bool

    @property
    def key(self) -> str:
        h = hashlib.sha256(json.dumps([self.space, self.archs, [(m[0], m[2]) for m in self.metrics], self.seed,
                                       self.gpu]).encode())
        return "ntkcheck-sweep-" + h.hexdigest()[:20]


def _family(name: str) -> str:
    """Metrics of one module share per-architecture work (``arch.memo``: one kernel for several spectra), so they
    are scheduled together; metrics of different modules are scheduled independently."""
    from ntkcheck.metrics import get_metric

    return get_metric(name).fn.__module__


def plan(store: ResultsStore, space: str, archs: Sequence[str], metrics: dict[str, tuple[str, dict]], seed: int,
         batch: int | None, costs: dict[str, float] | None = None) -> list[Task]:
    """Tasks for the (arch, metric) pairs not in the store; ``metrics``: name → (config hash, config).

    Metrics are scheduled independently, one family (module) at a time in a task, so a cheap metric does not wait
    for an expensive one; the tasks of the cheapest families come first (``costs``: seconds per architecture of
    each metric, e.g. :meth:`ResultsStore.mean_seconds`; unknown costs count as cheap for metrics without torch,
    dear for the others).  Metrics that need a GPU and those that do not never share a task (only the former ask
    for a GPU on a cluster).  ``batch``: architectures per task; None = 1 for GPU metrics, else about 2 s of
    work by the known costs (32 to 4096 architectures), or 32."""
    from ntkcheck.metrics import get_metric

    costs = costs or {}
    done = store.done(space, seed, [h for h, _ in metrics.values()])
    groups: dict[tuple[bool, str], list] = {}
    for n, (h, c) in metrics.items():
        gpu = "gpu" in get_metric(n).needs
        groups.setdefault((gpu, _family(n)), []).append((n, tuple(sorted(c.items())), h))

    def cost(key) -> float:
        return sum(costs.get(n, 1.0 if "torch" not in get_metric(n).needs else 1e3) for n, _, _ in groups[key])

    def known(key) -> bool:
        return all(n in costs for n, _, _ in groups[key])

    tasks: list[Task] = []
    for key in sorted(groups, key=lambda k: (cost(k), k[1])):
        gpu, group = key[0], groups[key]
        # default: 1 architecture per GPU task; 32 per CPU task, or ~2 s of work when the cost is known (a
        # closed-form metric then takes thousands of cells per task instead of paying a commit every 32)
        size = batch or (1 if gpu else 32 if not known(key) else int(min(4096, max(32, 2.0 / max(cost(key), 1e-9)))))
        pending: dict[tuple, list[str]] = {}
        for a in archs:
            missing = tuple(m for m in group if (a, m[2]) not in done)
            if missing:
                pending.setdefault(missing, []).append(a)
        for ms, arch_list in pending.items():
            for s in range(0, len(arch_list), size):
                tasks.append(Task(space, tuple(arch_list[s:s + size]), ms, seed, gpu))
    return tasks


def versions_json() -> str:
    from ntkcheck.meta import versions

    v = versions()
    return json.dumps({k: v[k] for k in ("ntkcheck", "numpy", "scipy", "torch") if k in v}, sort_keys=True)


_VERSIONS: list[str] = []


def _resolve_device(device: str, gpu: bool) -> str:
    if device != "auto":
        return device
    if not gpu:
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def run_task(task: Task, inputs: Inputs, device: str = "auto") -> list[Row]:
    """Evaluate every (arch, metric) of a task; a metric that raises gives an error row (one-line message)."""
    from ntkcheck.metrics import Arch, evaluate, single_threaded

    if not _VERSIONS:
        _VERSIONS.append(versions_json())
    dev = _resolve_device(device, task.gpu)
    rows = []
    with single_threaded():  # once per task (torch metrics also set torch's own thread count, per value)
        for a in task.archs:
            arch = Arch(a, task.space, device=dev)
            for name, cfg, h in task.metrics:
                r = evaluate(name, arch, inputs, task.seed, dict(cfg), limit_threads=False)
                rows.append(Row(task.space, a, name, h, task.seed, r.value, r.status, r.message, r.seconds,
                                r.device, _VERSIONS[0]))
    return rows


# ---- engines -----------------------------------------------------------------------------------------

_WORKER_INPUTS: list[Inputs] = []


def _pool_init(inputs: Inputs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the pool itself
    _WORKER_INPUTS[:] = [inputs]


def _pool_task(task: Task, device: str) -> list[Row]:
    return run_task(task, _WORKER_INPUTS[0], device)


class _Done:
    """A finished in-process 'future'."""

    def __init__(self, rows=None, exc=None):
        self._rows, self._exc = rows, exc

    def result(self):
        if self._exc is not None:
            raise self._exc
        return self._rows


class LocalEngine:
    """``jobs`` = 1: tasks run in the driver process; > 1: a ``spawn`` process pool of ``jobs`` workers."""

    def __init__(self, inputs: Inputs, jobs: int = 1, device: str = "auto"):
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise NtkcheckError(f"--jobs must be a positive integer, got {jobs!r}")
        self.inputs, self.jobs, self.device = inputs, jobs, device
        self.window = 1 if jobs == 1 else 2 * jobs
        self.pool = None
        if jobs > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            os.environ.setdefault("OMP_NUM_THREADS", "1")
            self.pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=_pool_init,
                                            initargs=(inputs,))

    def describe(self) -> str:
        return "in-process" if self.pool is None else f"local process pool ({self.jobs} workers)"

    def submit(self, task: Task):
        if self.pool is None:
            return _Done(run_task(task, self.inputs, self.device))
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(_pool_task, task, self.device)
        except BrokenProcessPool:
            raise NtkcheckError("a worker process died (out of memory?); the values finished so far are stored: "
                                "run the same command again, perhaps with fewer --jobs") from None

    def wait(self, futures, timeout: float):
        if self.pool is None:
            return set(futures)
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(futures, timeout=timeout, return_when=FIRST_COMPLETED).done

    def close(self, abort: bool = False) -> None:
        if self.pool is None:
            return
        if abort:
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:  # our own workers, by their process objects
                if p.is_alive():
                    p.kill()
        else:
            self.pool.shutdown(wait=True)


class DaskEngine:
    """Tasks on an existing Dask ``distributed`` cluster at ``address`` (``tcp://HOST:PORT``)."""

    def __init__(self, address: str, device: str = "auto", connect_timeout: float = 4.0):
        try:
            from distributed import Client
        except ImportError:
            raise NtkcheckError("--scheduler needs dask[distributed] (pip install 'dask[distributed]')") from None
        if "://" not in address:
            raise NtkcheckError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
        self.device = device
        try:
            self.client = Client(address, timeout=f"{connect_timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise NtkcheckError(f"cannot reach the Dask scheduler at {address} within {connect_timeout:g} s "
                                f"({type(exc).__name__})") from None
        n = len(self.client.scheduler_info().get("workers", {}))
        self.n_workers = n
        self.window = max(4, 4 * n)
        #: whether tasks of GPU metrics ask for a worker's GPU resource (False: run them on the CPU workers)
        self.gpu_resources = True
        self.address = address
        self.inputs = None
        self._generation = 0

    def start(self, inputs: Inputs) -> "DaskEngine":
        """Send the inputs to every worker once (tasks refer to them by their future)."""
        self._inputs = inputs
        self.inputs = self.client.scatter(inputs, broadcast=True, hash=False)
        return self

    def recover(self) -> None:
        """After a lost task: send the inputs again (a worker that joined after :meth:`start` holds no copy, so
        killing the workers that did loses the scattered inputs — the scheduler's "lost dependencies")."""
        self.inputs = self.client.scatter(self._inputs, broadcast=True, hash=False)
        self._generation += 1     # resubmitted tasks get new keys (the scheduler keeps the lost ones' errors)

    def describe(self) -> str:
        return f"Dask cluster at {self.address}"

    def gpu_workers(self) -> int:
        """Workers that offer a ``GPU`` resource (``dask worker --resources GPU=1``)."""
        workers = self.client.scheduler_info().get("workers", {})
        return sum(1 for w in workers.values() if (w.get("resources") or {}).get("GPU", 0) >= 1)

    def submit(self, task: Task):
        key = task.key if not self._generation else f"{task.key}-r{self._generation}"
        return self.client.submit(run_task, task, self.inputs, self.device, key=key, pure=False,
                                  resources={"GPU": 1} if task.gpu and self.device != "cpu" and self.gpu_resources
                                  else None)

    def wait(self, futures, timeout: float):
        end = time.monotonic() + timeout
        while True:
            done = {f for f in futures if f.done()}
            if done or time.monotonic() >= end:
                return done
            time.sleep(0.02)

    def close(self, abort: bool = False) -> None:
        try:  # on Ctrl-C do not wait for the cluster: running tasks finish there and their results are dropped
            self.client.close(timeout=1 if abort else 5)
        except Exception:  # noqa: BLE001 - closing a client to a dying cluster must not mask the sweep's outcome
            pass


# ---- the driver loop ---------------------------------------------------------------------------------

@dataclass
class SweepSummary:
    planned: int = 0            # (arch, metric) values that were missing
    written: int = 0            # rows committed in this run
    errors: int = 0             # rows with status error written in this run
    failed_tasks: int = 0       # tasks the engine lost (worker died too often): not written, retried next run
    failure: str = ""
    seconds: float = 0.0
    interrupted: bool = False


#: How often a task the engine lost is resubmitted (after :meth:`DaskEngine.recover`) before it counts as failed
#: (it is then computed by the next run of the same command).
MAX_RESUBMITS = 2


def run_sweep(store: ResultsStore, engine, tasks: Sequence[Task], *,
              progress: Callable[[list[Row]], None] | None = None, poll: float = 0.2) -> SweepSummary:
    """Submit ``tasks`` (at most ``engine.window`` in flight), commit each finished task's rows in one transaction.
    KeyboardInterrupt: stop the engine at once and re-raise (finished tasks are committed)."""
    t0 = time.perf_counter()
    s = SweepSummary(planned=sum(len(t.archs) * len(t.metrics) for t in tasks))
    queue = list(tasks)[::-1]
    inflight: dict[Any, Task] = {}
    attempts: dict[str, int] = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < engine.window:
                t = queue.pop()
                inflight[engine.submit(t)] = t
            for f in engine.wait(inflight, poll):
                inflight_task = inflight.pop(f)
                try:
                    rows = f.result()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # noqa: BLE001 - the engine lost the task: nothing is written
                    t = inflight_task
                    attempts[t.key] = attempts.get(t.key, 0) + 1
                    if hasattr(engine, "recover") and attempts[t.key] <= MAX_RESUBMITS:
                        engine.recover()          # e.g. the workers holding the scattered inputs died
                        queue.append(t)
                        continue
                    s.failed_tasks += 1
                    s.failure = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:200]
                    continue
                s.written += store.add(rows)
                s.errors += sum(r.status == "error" for r in rows)
                if progress:
                    progress(rows)
    except KeyboardInterrupt:
        s.interrupted = True
        engine.close(abort=True)
        raise
    finally:
        s.seconds = time.perf_counter() - t0
    engine.close()
    return s
