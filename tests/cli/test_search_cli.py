"""`ntkcheck search`: the chosen cell judged on the shipped NATS-Bench table (no training by default), the toy
protocol only on request and labelled, one torch thread as in `verify`, outputs probed before work, and the time
estimate.  Tiny settings (3 candidates, eigen-nas at small scale: a few seconds)."""

import json

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.commands import search as S


def _no_training(monkeypatch):
    from ntkcheck.paper_checks import microbench

    def refuse(*a, **k):
        raise AssertionError("search trained networks without --toy-accuracy")
    monkeypatch.setattr(microbench, "build_table", refuse)


def test_search_ranks_on_the_shipped_table_without_training(tmp_path, monkeypatch, capsys):
    import torch

    from ntkcheck.data import DATASETS, nb201_accuracies

    _no_training(monkeypatch)
    n_before = torch.get_num_threads()
    torch.set_num_threads(2)
    out = tmp_path / "s.json"
    try:
        assert main(["search", "eigen-nas", "--candidates", "3", "-o", str(out)]) == 0
        assert torch.get_num_threads() == 1                # pinned as verify and sweep pin it
    finally:
        torch.set_num_threads(n_before)
    res = json.loads(out.read_text())
    assert "toy_accuracy" not in res
    b = res["benchmark"]
    cands = [t["cell"] for t in res["trajectory"]]
    for d in DATASETS:                                     # recomputed from the {cell: accuracy} mapping
        acc = nb201_accuracies(d)
        vals = np.array(sorted(acc.values(), reverse=True))
        a = acc[res["cell"]]
        r = b["datasets"][d]
        assert r["accuracy"] == a
        assert r["rank"] == int(np.searchsorted(-vals, -a, side="left")) + 1
        assert r["percentile"] == pytest.approx(100 * np.mean(vals < a))
        assert r["best_accuracy"] == vals[0] and acc[r["best_cell"]] == vals[0]
        assert r["best_candidate_accuracy"] == max(acc[c] for c in cands)
    # the space's best cells (NATS-Bench tss, 200 epochs): 94.37 / 73.51 / 47.31 (ntkcheck.data docstring)
    assert [round(b["datasets"][d]["best_accuracy"], 2) for d in DATASETS] == [94.37, 73.51, 47.31]
    text = capsys.readouterr().out
    assert "rank" in text and "percentile" in text and "NATS-Bench" in text and "toy" not in text


def test_toy_protocol_only_on_request_and_labelled(tmp_path, monkeypatch, capsys):
    from ntkcheck.paper_checks import microbench

    class T:
        records = [{"acc_test": 80.0}, {"acc_test": 90.0}, {"acc_test": 70.0}, {"acc_test": 60.0}]
    monkeypatch.setattr(microbench, "build_table", lambda *a, **k: T())
    out = tmp_path / "s.json"
    assert main(["search", "eigen-nas", "--candidates", "3", "--toy-accuracy", "--cache-dir", str(tmp_path / "c"),
                 "-o", str(out)]) == 0
    res = json.loads(out.read_text())
    toy = res["toy_accuracy"]
    assert toy["protocol"].startswith("toy protocol") and toy["rank"] == 2 and toy["n_ranked"] == 4
    assert "benchmark" in res                              # the real table is still the headline
    assert "toy protocol" in capsys.readouterr().out


def test_outputs_probed_before_work(tmp_path, monkeypatch, capsys):
    def no_work(*a, **k):
        raise AssertionError("work started before the outputs were checked")
    monkeypatch.setattr(S, "_score_search", no_work)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["search", "eigen-nas", "--toy-accuracy", "--cache-dir", str(blocker)]) == 2
    assert main(["search", "eigen-nas", "-o", str(blocker / "out.json")]) == 2
    assert main(["search", "eigen-nas", "--toy-accuracy", "--no-accuracy"]) == 2
    err = capsys.readouterr().err
    assert err.count("ntkcheck: error:") == 3 and "Traceback" not in err


def test_time_estimate_printed_before_long_runs(monkeypatch, capsys):
    assert S._estimate("eigen-nas", "small", 3, False) < 10 <= S._estimate("eigen-nas", "small", 200, False)
    assert S._estimate("tenas", "small", 24, True) > S._estimate("tenas", "small", 24, False)
    seen = []

    def fake(method, cells, seed, scale):
        seen.append(capsys.readouterr().err)              # what was printed before the work started
        return {"cell": cells[0], "score": 1.0, "direction": "max", "trajectory": [{"cell": cells[0], "score": 1.0}]}
    monkeypatch.setattr(S, "_score_search", fake)
    assert main(["search", "eigen-nas", "--candidates", "40", "--no-accuracy"]) == 0
    assert "expected to take about" in seen[0]
    assert main(["search", "eigen-nas", "--candidates", "40", "--no-accuracy", "--quiet"]) == 0
    assert seen[1] == ""
