"""The NATS-Bench loader (paper_checks/natsbench.py).

The official benchmark file stores pickled result objects that only the ``nats_bench`` package decodes, and
neither the package nor a real file is available here.  So: the exported-table path is tested on synthetic
CSV/JSON files written by the tests; the official-API path is tested with a stand-in ``nats_bench`` module
that implements the three calls the loader makes (create, arch, get_more_info); a missing package gives a
one-line error.
"""

import json
import sys
import types

import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.paper_checks.natsbench import export_table, load_nats_bench
from ntkcheck.spec import NB201_OPS, nb201_string

CELLS = [nb201_string([NB201_OPS[(i + k) % 5] for k in range(6)]) for i in range(5)]
ACCS = [91.5, 88.25, 93.0, 10.0, 85.5]


def write_csv(path, rows, header="index,arch,dataset,accuracy"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def test_csv_table(tmp_path):
    p = write_csv(tmp_path / "t.csv", [(i, c, "cifar10", a) for i, (c, a) in enumerate(zip(CELLS, ACCS))] +
                  [(0, CELLS[0], "cifar100", 70.0)])
    t = load_nats_bench(p, "cifar10")
    assert t.archs == tuple(CELLS) and t.accuracies == tuple(ACCS) and t.indices == (0, 1, 2, 3, 4)
    assert t.reader == "exported table" and "5 architectures" in t.describe()
    assert t.accuracy_of(CELLS[2]) == 93.0 and t.accuracy_of("nope") is None
    assert load_nats_bench(p, "cifar100").accuracies == (70.0,)


def test_json_table(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"rows": [{"arch": c, "accuracy": a} for c, a in zip(CELLS, ACCS)]}))
    assert load_nats_bench(p).accuracies == tuple(ACCS)


@pytest.mark.parametrize("rows,msg", [
    ([(0, "|bad~0|", "cifar10", 90)], "malformed NB201"),
    ([(0, CELLS[0], "cifar10", 190)], "percentage"),
    ([(0, CELLS[0], "cifar10", "x")], "not a number"),
    ([(0, CELLS[0], "cifar10", 90), (1, CELLS[0], "cifar10", 91)], "duplicate"),
    ([(0, CELLS[0], "cifar10-valid", 90)], "no rows for dataset"),
])
def test_bad_tables(tmp_path, rows, msg):
    p = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(NtkcheckError, match=msg):
        load_nats_bench(p, "cifar10")


def test_missing_columns_and_file(tmp_path):
    with pytest.raises(NtkcheckError, match="missing column"):
        load_nats_bench(write_csv(tmp_path / "t.csv", [(CELLS[0],)], header="arch"))
    with pytest.raises(NtkcheckError, match="does not exist"):
        load_nats_bench(tmp_path / "nope.pickle.pbz2")
    with pytest.raises(NtkcheckError, match="unknown NATS-Bench dataset"):
        load_nats_bench(tmp_path / "t.csv", "mnist")


def test_official_path_without_package(tmp_path, monkeypatch):
    f = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    f.mkdir()
    monkeypatch.setitem(sys.modules, "nats_bench", None)      # import fails as if not installed
    with pytest.raises(NtkcheckError, match="needs the optional package nats_bench"):
        load_nats_bench(f)


def test_official_path_with_standin_api(tmp_path, monkeypatch):
    calls = {}

    class API:
        def __len__(self):
            return len(CELLS)

        def arch(self, i):
            return CELLS[i]

        def get_more_info(self, i, dataset, hp="12", is_random=True):
            calls["hp"], calls["is_random"], calls["dataset"] = hp, is_random, dataset
            return {"test-accuracy": ACCS[i], "train-accuracy": 99.0}

    def create(path, space, fast_mode=False, verbose=True):
        calls["create"] = (path, space, fast_mode)
        return API()

    monkeypatch.setitem(sys.modules, "nats_bench", types.SimpleNamespace(create=create))
    f = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    f.mkdir()
    t = load_nats_bench(f, "cifar100")
    assert t.reader == "nats_bench API" and t.accuracies == tuple(ACCS)
    assert calls == {"create": (str(f), "tss", True), "hp": "200", "is_random": False, "dataset": "cifar100"}
    out = export_table(f, tmp_path / "exp.csv", datasets=("cifar100",))
    assert load_nats_bench(out, "cifar100").archs == tuple(CELLS)


def test_verify_with_synthetic_nats_file(tmp_path, monkeypatch):
    """`ntkcheck verify --nats-bench` on a synthetic file: the NB201 population is drawn from the file's cells and
    judged on the file's accuracies (a cheap synthetic R̂_N engine correlated with them), and the report names
    the file as its data source.  A dataset the file lacks is not invented: T3b needs CIFAR-100 rows."""
    import numpy as np

    import nb201_fakes
    from ntkcheck.cli import main
    from ntkcheck.paper_checks import nb201_population as P

    rng = np.random.default_rng(0)
    cells = list(dict.fromkeys(nb201_string([NB201_OPS[j] for j in rng.integers(1, 5, 6)]) for _ in range(60)))[:40]
    acc = {c: 50.0 + i * 0.5 for i, c in enumerate(cells)}
    p = write_csv(tmp_path / "nats.csv", [(i, c, "cifar100", acc[c]) for i, c in enumerate(cells)])
    nb201_fakes.install(monkeypatch, tmp_path, n=40,
                        R=lambda cell, cfg: acc[cell] + 8 * nb201_fakes._eps(cell, "r"))
    code = main(["verify", "--only", "tenas2021.T3b", "--nats-bench", str(p), "--quiet", "--no-figures",
                 "--cache-dir", str(tmp_path / "cache"), "--report", str(tmp_path / "rep")])
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert code == 0
    res = rep["results"][0]
    assert res["verdict"] == "pass" and res["power"]["n"] == 40 and set(res["details"]["per_dataset"]) == {"cifar100"}
    assert any("nats.csv" in s for s in rep["data_sources"])
    assert P.stratified_cells(types.SimpleNamespace(seed=0, nats_bench=str(p)), 40) == sorted(cells, key=cells.index)
