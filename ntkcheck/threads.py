"""Thread counts: every command that computes runs one BLAS/OpenMP thread and one torch thread per process.

The networks and matrices of a check or a metric are small, so intra-op threads only add overhead (and OpenMP
spin-waiting stalls a shared, oversubscribed machine: the same search took 12 s or 385 s on two cores depending
on the neighbour's load); values must not depend on how many run side by side.  Parallelism comes from
processes (``--jobs``, Dask workers), never from threads.  One definition for ``verify``, ``sweep`` and
``search``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["pin_torch_threads", "one_torch_thread", "single_threaded"]

_CONTROLLERS: dict[bool, Any] = {}


def pin_torch_threads() -> None:
    """Set torch's intra-op thread count to 1 (nothing when torch is not installed)."""
    if "torch" not in sys.modules and importlib.util.find_spec("torch") is None:
        return
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """One torch thread inside the block, the caller's count restored after it."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _thread_controller():
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries, found once per process (finding them reads
    /proc/self/maps, ~8 ms, more than a closed-form metric costs) and again once torch has been imported (it
    brings its own OpenMP)."""
    from threadpoolctl import ThreadpoolController

    key = "torch" in sys.modules
    if key not in _CONTROLLERS:
        _CONTROLLERS[key] = ThreadpoolController()
    return _CONTROLLERS[key]


def single_threaded():
    """A context in which BLAS/OpenMP run one thread (:func:`ntkcheck.metrics.evaluate` enters it unless its
    caller already has, e.g. :func:`ntkcheck.sweep.engine.run_task` once per task rather than once per value)."""
    return _thread_controller().limit(limits=1)
