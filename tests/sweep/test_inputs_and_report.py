"""Inputs (CIFAR pickle reader on a synthetic file in torchvision's format, bundled natural images) and the
report's statistics on cases whose answer is known independently."""

import json
import pickle

import numpy as np
import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.sweep.inputs import CIFAR_MEAN, CIFAR_STD, image_patches, load_inputs, natural_images, read_cifar
from ntkcheck.sweep.report import op_fractions, search_protocol, top_k_retention

from .conftest import run_cli


def _write_cifar10(root, n_per_batch=6, batches=2):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    allx, ally = [], []
    for b in range(batches):
        x = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, n_per_batch).tolist()
        with open(d / f"data_batch_{b + 1}", "wb") as fh:
            pickle.dump({b"data": x, b"labels": y, b"batch_label": b"x"}, fh)
        allx.append(x)
        ally += y
    with open(d / "test_batch", "wb") as fh:
        pickle.dump({b"data": allx[0], b"labels": ally[:n_per_batch]}, fh)
    return d, np.concatenate(allx), np.array(ally)


def test_cifar10_reader_matches_the_pixels(tmp_path):
    d, X, y = _write_cifar10(tmp_path)
    for where in (tmp_path, d):  # the torchvision root or the batch folder itself
        inp = read_cifar(where, 12, seed=0)
        assert inp.images.shape == (12, 3, 32, 32) and inp.images.dtype == np.float32
        # undo the normalisation and find each image among the raw rows, with its label
        raw = np.rint((inp.images * CIFAR_STD[None, :, None, None] + CIFAR_MEAN[None, :, None, None]) * 255)
        for img, lab in zip(raw.reshape(12, -1), inp.labels):
            k = np.flatnonzero((X == img).all(axis=1))
            assert k.size == 1 and y[k[0]] == lab
        assert "cifar10" in inp.source
    with pytest.raises(NtkcheckError, match="holds 12 training images"):
        read_cifar(tmp_path, 13)


def test_cifar100_reader_and_bad_directories(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    x = np.arange(4 * 3072, dtype=np.int64).astype(np.uint8).reshape(4, 3072)
    with open(d / "train", "wb") as fh:
        pickle.dump({b"data": x, b"fine_labels": [3, 1, 4, 1], b"coarse_labels": [0, 0, 0, 0]}, fh)
    inp = read_cifar(tmp_path, 4)
    assert sorted(inp.labels.tolist()) == [1, 1, 3, 4] and "cifar100" in inp.source
    (tmp_path / "empty").mkdir()
    with pytest.raises(NtkcheckError, match="no CIFAR"):
        read_cifar(tmp_path / "empty", 4)
    (d / "train").write_bytes(b"not a pickle")
    with pytest.raises(NtkcheckError, match="cannot read CIFAR batch"):
        read_cifar(tmp_path, 4)


def test_bundled_images_are_natural_and_seeded():
    a, b, c = natural_images(64, seed=0), natural_images(64, seed=0), natural_images(64, seed=1)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    # neighbouring pixels of photos are strongly correlated; Gaussian noise would give ~0
    x = a.images
    r = np.corrcoef(x[:, :, :, :-1].ravel(), x[:, :, :, 1:].ravel())[0, 1]
    assert r > 0.5
    assert set(a.labels.tolist()) <= set(range(10)) and len(set(a.labels.tolist())) > 3
    P = image_patches(a, 50, seed=0)
    assert P.shape == (50, 1, 3, 3)
    assert load_inputs(None, 8).source.startswith("bundled natural images")


def test_report_statistics_on_known_cases():
    acc = np.arange(100, dtype=float)
    assert top_k_retention(acc.copy(), acc, "max", 10) == 1.0
    assert top_k_retention(-acc, acc, "max", 10) == 0.0
    assert top_k_retention(-acc, acc, "min", 10) == 1.0  # the direction flips the verdict
    sp = search_protocol(acc.copy(), acc, "max", runs=50, draws=10, seed=0)
    assert sp["picked"]["mean"] == sp["oracle"]["mean"]
    rev = search_protocol(acc.copy(), acc, "min", runs=50, draws=10, seed=0)
    assert rev["picked"]["mean"] < sp["random"]["mean"] < sp["picked"]["mean"]
    cells = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
             "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"] * 5
    v = np.array([1.0, 0.0] * 5)
    of = op_fractions(cells, v, "max", top=0.5)
    assert of["top"]["nor_conv_3x3"] == 1.0 and of["all"]["none"] == 0.5


def test_export_and_report_end_to_end(tmp_path):
    r = run_cli("dbar,mbar", "--sample", "120", "--out", "s.sqlite", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from ntkcheck.sweep.store import load_sweep_values
    from ntkcheck.theory.connectivity import nb201_depth_width

    dbar = load_sweep_values(tmp_path / "s.sqlite", "dbar")
    assert len(dbar) == 120 and all(v == nb201_depth_width(c)[0] for c, v in dbar.items())
    with pytest.raises(NtkcheckError, match="no kappa"):
        load_sweep_values(tmp_path / "s.sqlite", "kappa")
    r = run_cli("export", "s.sqlite", "-o", "s.csv", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    import csv

    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert len(rows) == 240 and {"arch", "metric", "value", "status", "seed"} <= set(rows[0])
    assert rows[0]["arch"].startswith("|")
    r = run_cli("report", "s.sqlite", "--against", "nb201:cifar100", "--runs", "20", "--draws", "50", "--json",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    (m,) = [e for e in rep["metrics"] if e["metric"] == "dbar"]
    assert -1 <= m["kendall"]["value"] <= 1 and m["kendall"]["n"] == 120
    assert "NATS-Bench" in rep["accuracy_source"] and "natural images" in m["inputs"]
    for f in m["plots"]:
        assert (tmp_path / f).exists() or __import__("pathlib").Path(f).exists()
    r = run_cli("report", "s.sqlite", "--against", "nb201:mnist", cwd=tmp_path)
    assert r.returncode == 2 and "nb201:DATASET" in r.stderr


def test_stratified_sample_is_seeded_proportional_and_order_free():
    from ntkcheck.sweep.engine import resolve_space, stratified_sample

    sp = resolve_space("nb201")
    a, b = stratified_sample(sp, 500, 3), stratified_sample(sp, 500, 3)
    assert a == b and len(set(a)) == 500 and a != stratified_sample(sp, 500, 4)
    strata = dict(zip(sp.keys, sp.strata))
    counts = np.bincount([strata[k] for k in a], minlength=7)
    expected = 500 * np.bincount(sp.strata, minlength=7) / len(sp.keys)
    assert np.all(np.abs(counts - expected) < 1)  # largest remainders: within one of the exact share
    assert stratified_sample(sp, None, 0) == sp.keys


def test_fc_and_file_spaces(tmp_path):
    from ntkcheck.sweep.engine import resolve_space

    sp = resolve_space("fc:L=3,acts=relu/tanh,skips=1")
    assert sp.kind == "fc" and len(sp.keys) == 2 ** 3 * 2 and len(set(sp.keys)) == 16  # one deep skip 0→2
    assert len(resolve_space("fc:L=3,acts=relu/tanh,skips=0").keys) == 8
    with pytest.raises(NtkcheckError, match="unknown key"):
        resolve_space("fc:depth=3")
    f = tmp_path / "cells.txt"
    f.write_text("# two cells\n|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|\n"
                 "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    sp = resolve_space(str(f))
    assert sp.kind == "nb201" and len(sp.keys) == 2
    f.write_text("|bogus~0|\n")
    with pytest.raises(NtkcheckError, match="line 1"):
        resolve_space(str(f))
    j = tmp_path / "specs.json"
    j.write_text(json.dumps([{"fc": ["relu", "tanh"]}, {"residual": ["relu", "relu"]}]))
    sp = resolve_space(str(j))
    assert sp.kind == "fc" and len(sp.keys) == 2
