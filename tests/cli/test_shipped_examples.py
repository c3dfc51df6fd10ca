"""The README's examples run on shipped inputs: the spec name ``example`` and the data name ``example`` are
accepted wherever a spec / a data file is; ``bounds`` marks vacuous bounds as vacuous; ``empirical`` converts
float32 data with a note (its help says so)."""

import json

import numpy as np

from ntkcheck.cli import main


def test_example_spec_and_data_everywhere(tmp_path, capsys):
    from ntkcheck.io import load_data
    from ntkcheck.spec import parse_any_spec, parse_spec

    X = load_data("example")
    assert X.shape == (20, 8) and np.allclose(np.linalg.norm(X, axis=1), 1.0)     # as documented
    assert parse_spec("example") == parse_any_spec("example")
    assert parse_spec("example").nodes == 4
    assert main(["kernel", "example", "example", "-o", str(tmp_path / "K.npz"), "--quiet"]) == 0
    assert main(["empirical", "example", "example", "--width", "32", "-o", str(tmp_path / "e.npz"), "--quiet"]) == 0
    assert main(["bounds", "example", "example", "--quiet"]) == 0
    assert main(["connectivity", "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
                 "--data", "example", "--quiet"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_bounds_vacuous_is_not_holds(capsys):
    assert main(["bounds", "example", "example"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines() if ln.split()[:1] and ln.split()[0].startswith("hermite_")]
    for name, side, value, status, *rest in rows:
        if side == "lower" and float(value) <= 0:
            assert status == "vacuous", name
        else:
            assert status == "holds", name
    assert "w.p. >= 0 " not in out and "with probability >= 0 " not in out
    assert main(["bounds", "example", "example", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {doc["status"][n] for n in doc["vacuous"]} <= {"vacuous"}
    assert all(doc["status"][n] == "vacuous" for n, v in doc["lower_bounds"].items() if v <= 0)


def test_empirical_float32_is_converted_with_a_note(tmp_path, capsys):
    from ntkcheck.io import load_data

    p = tmp_path / "x32.npy"
    np.save(p, load_data("example").astype(np.float32))
    assert main(["empirical", "example", str(p), "--width", "16", "-o", str(tmp_path / "e.npz")]) == 0
    err = capsys.readouterr().err
    assert "float32" in err and "converted to float64" in err
    assert main(["empirical", "example", str(p), "--width", "16", "-o", str(tmp_path / "e.npz"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
