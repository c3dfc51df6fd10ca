"""Sweep ergonomics: metrics scheduled independently (cheapest family first), the estimate before a run, and a
store that keeps image-free metrics whatever image settings a later run uses."""

import json

from ntkcheck.metrics import resolve_config
from ntkcheck.sweep.engine import plan, resolve_space, stratified_sample
from ntkcheck.sweep.store import open_store

from .conftest import run_cli


def _metrics(*names):
    return {n: (f"h-{n}", resolve_config(n)) for n in names}


def test_plan_separates_families_and_puts_the_cheap_first(tmp_path):
    st = open_store(tmp_path / "p.sqlite")
    try:
        archs = stratified_sample(resolve_space("nb201"), 40, 0)
        tasks = plan(st, "nb201", archs, _metrics("naswot", "dbar", "mbar", "params"), 0, None)
        fams = [tuple(m[0] for m in t.metrics) for t in tasks]
        # d̄ and m̄ (one module, shared work) travel together; params alone; naswot (torch) last, one cell a task
        assert set(fams) == {("dbar", "mbar"), ("params",), ("naswot",)}
        assert fams[-1] == ("naswot",) and all(len(t.archs) == 1 for t in tasks if t.metrics[0][0] == "naswot")
        assert fams.index(("naswot",)) > max(i for i, f in enumerate(fams) if f != ("naswot",))
        # known costs reorder the families and size the CPU tasks to about 2 s of work
        costs = {"params": 1e-4, "dbar": 5e-2, "mbar": 5e-2, "naswot": 0.1}
        tasks = plan(st, "nb201", archs, _metrics("dbar", "mbar", "params"), 0, None, costs)
        assert [t.metrics[0][0] for t in tasks][0] == "params" and len(tasks[0].archs) == 40
        assert max(len(t.archs) for t in tasks if t.metrics[0][0] == "dbar") == 32
    finally:
        st.close()


def test_estimate_line_and_image_free_metrics_survive_other_image_settings(tmp_path):
    r = run_cli("dbar,params", "--sample", "12", "--out", "s.sqlite", "--n-images", "64", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    est = [ln for ln in r.stdout.splitlines() if ln.startswith("estimate:")]
    assert len(est) == 1 and "dbar" in est[0] and "timed on 5 cells" in est[0]
    assert "inputs: none (a function of the architecture alone)" in r.stdout
    r = run_cli("dbar,params", "--sample", "12", "--out", "s.sqlite", "--n-images", "32", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr  # the same store: nothing refused, nothing recomputed
    assert json.loads(r.stdout)["computed"] == 0
    r = run_cli("dbar,params", "--sample", "24", "--out", "s.sqlite", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "(stored)" in [ln for ln in r.stdout.splitlines() if ln.startswith("estimate:")][0]


class _LosingEngine:
    """A fake engine whose first attempt at every task is lost (as when the workers holding the scattered inputs
    die); ``recover`` counts the re-sends.  Without ``recover`` the task counts as failed, to be computed next run."""

    window = 4

    def __init__(self, with_recover: bool):
        self.seen: dict[str, int] = {}
        self.recovered = 0
        if with_recover:
            self.recover = self._recover

    def _recover(self):
        self.recovered += 1

    def submit(self, task):
        self.seen[task.key] = self.seen.get(task.key, 0) + 1
        first = self.seen[task.key] == 1

        class F:
            def result(self):
                if first:
                    raise RuntimeError("lost dependencies")
                return []
        return F()

    def wait(self, futures, timeout):
        return set(futures)

    def close(self, abort=False):
        pass


def test_a_lost_task_is_resubmitted_after_the_engine_recovers():
    from ntkcheck.sweep.engine import Task, run_sweep

    class Store:
        def add(self, rows):
            return len(rows)

    tasks = [Task("nb201", (f"cell{i}",), (("dbar", (), "h"),), 0, False) for i in range(3)]
    eng = _LosingEngine(with_recover=True)
    s = run_sweep(Store(), eng, tasks)
    assert s.failed_tasks == 0 and eng.recovered == 3 and all(n == 2 for n in eng.seen.values())
    eng = _LosingEngine(with_recover=False)                 # the local pool: a lost task is not retried here
    s = run_sweep(Store(), eng, tasks)
    assert s.failed_tasks == 3 and all(n == 1 for n in eng.seen.values())
