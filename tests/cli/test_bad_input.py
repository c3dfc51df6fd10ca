"""Issue 15: the bad inputs a new user met, and the class each stands for — one line on stderr naming the
problem, exit 2, nothing written; `--quiet` and `--json` mean the same on every subcommand."""

import json

import numpy as np
import pytest

from ntkcheck.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.standard_normal((5, 3)))
    np.save(tmp_path / "big.npy", rng.standard_normal((200_000, 3)))
    np.save(tmp_path / "complex.npy", rng.standard_normal((4, 2)) + 1j)
    np.save(tmp_path / "object.npy", np.array([[1.0, "a"]], dtype=object), allow_pickle=True)
    np.save(tmp_path / "vector.npy", np.arange(3.0))
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    (tmp_path / "text.npy").write_text("1 2 3\n4 5 6\n")
    return tmp_path


SPEC = '{"fc": ["relu", "relu"]}'


@pytest.mark.parametrize("argv, needle", [
    (["kernel", SPEC, "--sphere", "5", "3", "--seed", "-1"], "--seed"),
    (["kernel", SPEC, "{d}/X.npy", "--sphere", "5", "3"], "not both"),
    (["kernel", SPEC, "{d}/complex.npy"], "complex"),
    (["kernel", SPEC, "{d}/object.npy"], "Python objects"),
    (["kernel", SPEC, "{d}/text.npy"], "is not a .npy file"),
    (["kernel", SPEC, "{d}/vector.npy"], "shape (N, d)"),
    (["kernel", SPEC, "{d}/empty.npy"], "N >= 1"),
    (["kernel", SPEC, "{d}/big.npy"], "estimated"),
    (["kernel", SPEC, "--sphere", "0", "3"], "positive integer"),
    (["empirical", SPEC, "{d}/big.npy", "--width", "64", "-o", "{d}/e.npz"], "estimated"),
    (["empirical", SPEC, "{d}/X.npy", "--width", "1e10", "-o", "{d}/e.npz"], "estimated"),
    (["empirical", SPEC, "{d}/X.npy", "--width", "0", "-o", "{d}/e.npz"], "positive integer"),
    (["empirical", SPEC, "{d}/X.npy", "--width", "nan", "-o", "{d}/e.npz"], "positive integer"),
    (["empirical", SPEC, "{d}/X.npy", "--width", "8", "-o", "{d}/nodir/../X.npy/e.npz"], "X.npy"),
    (["bounds", SPEC, "{d}/complex.npy"], "complex"),
    (["bound", "--quantity", "ntk_lambda_min", "--lower", "1", "--budget", "nan"], "finite"),
    (["connectivity", "--darts", "[1, 2]"], "--darts"),
    (["converge", "--lr", "-1"], "number > 0"),
])
def test_bad_input_one_line_exit_2_nothing_written(files, argv, needle, capsys):
    argv = [a.replace("{d}", str(files)) for a in argv]
    before = sorted(p.name for p in files.iterdir())
    assert main(argv) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert err.startswith("ntkcheck: error:") and "\n" not in err and needle in err, err
    assert "allow_pickle" not in err and "Traceback" not in err and cap.out == ""
    assert sorted(p.name for p in files.iterdir()) == before


@pytest.mark.parametrize("argv", [
    ["kernel", SPEC, "--sphere", "5", "3"],
    ["bounds", SPEC, "{d}/X.npy"],
    ["connectivity", "2_21_112"],
    ["bound", "--quantity", "ntk_lambda_max", "--upper", "trace", "--trials", "10", "--space", "fc",
     "--activations", "relu"],
    ["empirical", SPEC, "{d}/X.npy", "--width", "8", "-o", "{d}/e.npz"],
])
def test_quiet_and_json_mean_the_same_everywhere(files, argv, capsys):
    argv = [a.replace("{d}", str(files)) for a in argv]
    assert main(argv + ["--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""                       # --quiet: nothing but errors
    for extra in (["--json"], ["--quiet", "--json"]):
        assert main(argv + extra) == 0
        cap = capsys.readouterr()
        doc = json.loads(cap.out)                                 # one JSON document, nothing else
        assert doc["command_line"].startswith(f"ntkcheck {argv[0]}") and cap.err == ""


def test_json_error_document(files, capsys):
    assert main(["kernel", SPEC, str(files / "text.npy"), "--json"]) == 2
    cap = capsys.readouterr()
    assert json.loads(cap.out)["exit_code"] == 2 and "not a .npy file" in cap.err


def test_outputs_record_the_shell_quoted_command(files):
    out = files / "k k.npz"
    assert main(["kernel", SPEC, "--sphere", "4", "2", "-o", str(out), "--quiet"]) == 0
    meta = json.loads(str(np.load(out)["meta"]))
    assert meta["command_line"] == f"ntkcheck kernel '{SPEC}' --sphere 4 2 -o '{out}' --quiet"
