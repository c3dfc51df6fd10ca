"""A real Dask cluster on 127.0.0.1: one scheduler and two workers as subprocesses.  A sweep runs through it, one
worker is killed (SIGKILL) mid-sweep, and the store still ends complete and equal to the local pool's results.
Everything started here is stopped, also when the test fails."""

import contextlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from .conftest import CHEAP, cli, run_cli, values, wait_rows

pytest.importorskip("distributed")

ARGS = (CHEAP, "--sample", "30", "--seed", "1", "--batch", "1", "--quiet")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, log):
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT)


def _wait_for_workers(address: str, n: int, limit: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout="20s", set_as_default=False) as c:
        c.wait_for_workers(n, timeout=limit)


@pytest.fixture
def cluster(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "cluster.log", "w")
    procs = []
    try:
        procs.append(_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                             "--no-dashboard"], log))
        for _ in range(2):
            procs.append(_start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                                 "--no-dashboard", "--host", "127.0.0.1"], log))
        _wait_for_workers(address, 2)
        yield address, procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
            if p.poll() is None:
                p.kill()
                p.wait()
        log.close()


def test_sweep_on_cluster_survives_a_killed_worker(tmp_path, cluster):
    address, procs = cluster
    local = run_cli(*ARGS, "--out", "local.sqlite", "--jobs", "2", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    p = cli(*ARGS, "--out", "dask.sqlite", "--scheduler", address, cwd=tmp_path)
    try:
        wait_rows(tmp_path / "dask.sqlite", 9, p)
        procs[1].send_signal(signal.SIGKILL)  # one of the two workers dies mid-sweep
        procs[1].wait(timeout=10)
        out, err = p.communicate(timeout=240)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert values(tmp_path / "dask.sqlite") == values(tmp_path / "local.sqlite")
    assert len(values(tmp_path / "local.sqlite")) == 30 * 3
    _gpu_task_waits_for_a_gpu_worker(address)


def _task_state(dask_scheduler, key):
    ts = dask_scheduler.tasks.get(key)  # not there until the client's submit message has arrived
    return (None, {}) if ts is None else (ts.state, dict(ts.resource_restrictions or {}))


def _gpu_task_waits_for_a_gpu_worker(address):
    """A task of a GPU metric carries resources={"GPU": 1}; with CPU-only workers it is never run."""
    from ntkcheck.sweep.inputs import natural_images
    from ntkcheck.sweep.engine import DaskEngine, Task

    eng = DaskEngine(address).start(natural_images(8))
    try:
        t = Task("nb201", ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",), (("naswot", (), "h"),), 0, True)
        fut = eng.submit(t)
        state = None
        for _ in range(400):
            state, restr = eng.client.run_on_scheduler(_task_state, key=t.key)
            if state == "no-worker":
                break
            time.sleep(0.05)
        assert restr == {"GPU": 1} and state == "no-worker" and not fut.done()
        cpu = eng.submit(Task("nb201", t.archs, (("dbar", (), "h2"),), 0, False))
        assert len(cpu.result(timeout=60)) == 1  # the same worker takes CPU tasks
        fut.cancel()
    finally:
        eng.close()


def test_unreachable_scheduler_is_one_line(tmp_path):
    t0 = time.monotonic()
    r = run_cli("dbar", "--out", "x.sqlite", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Dask scheduler" in r.stderr
    assert not (tmp_path / "x.sqlite").exists()
    assert time.monotonic() - t0 < 120  # a hang guard, not a speed assertion (the 10 s target is in benchmarks/)
