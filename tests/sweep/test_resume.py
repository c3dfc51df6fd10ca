"""The store survives kill -9 and Ctrl-C: the same command resumes, computes only what is missing, loses and
duplicates nothing, and the values equal an uninterrupted run's (also with another --jobs)."""

import signal
import sqlite3

import pytest

from .conftest import CHEAP, cli, n_rows, run_cli, values, wait_rows

ARGS = (CHEAP, "--sample", "24", "--seed", "3", "--batch", "1", "--quiet")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    r = run_cli(*ARGS, "--out", "ref.sqlite", "--jobs", "2", cwd=d)
    assert r.returncode == 0, r.stderr
    return values(d / "ref.sqlite")


def test_kill9_mid_sweep_then_resume(tmp_path, reference):
    store = tmp_path / "r.sqlite"
    p = cli(*ARGS, "--out", "r.sqlite", cwd=tmp_path)
    try:
        wait_rows(store, 6, p)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == -signal.SIGKILL
    partial = n_rows(store)
    assert 0 < partial < len(reference), "the kill must land mid-sweep"
    con = sqlite3.connect(str(store))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    again = run_cli(*ARGS[:-1], "--out", "r.sqlite", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    import json

    summary = json.loads(again.stdout)
    assert summary["computed"] == len(reference) - partial  # only what was missing
    assert values(store) == reference  # nothing lost or duplicated; equal to a --jobs 2 run


def test_ctrl_c_commits_what_finished_and_resumes(tmp_path, reference):
    store = tmp_path / "r.sqlite"
    p = cli(*ARGS, "--out", "r.sqlite", cwd=tmp_path)
    try:
        wait_rows(store, 3, p)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err
    stored = values(store)
    assert stored and set(stored) <= set(reference)
    assert run_cli(*ARGS, "--out", "r.sqlite", cwd=tmp_path).returncode == 0
    assert values(store) == reference


def test_refusals_are_one_line_exit_2(tmp_path):
    r = run_cli("dbar", "--sample", "5", "--out", "s.sqlite", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cases = [
        # a new metric in an existing store is fine; it fixes that metric's configuration (n=8)
        (("ntk_lambda_min", "--set", "ntk_lambda_min.n=8", "--sample", "5", "--out", "s.sqlite"), None),
        (("ntk_lambda_min", "--set", "ntk_lambda_min.n=16", "--sample", "5", "--out", "s.sqlite"), "another"),
        (("dbar", "--space", "fc:L=2,acts=relu", "--out", "s.sqlite"), "space"),
        (("nosuch", "--out", "s.sqlite"), "unknown metric"),
        (("dbar", "--space", "nosuch", "--out", "s.sqlite"), "unknown space"),
        (("dbar", "--out", "junk.sqlite"), "not an ntkcheck results store"),
    ]
    (tmp_path / "junk.sqlite").write_bytes(b"\x00garbage" * 100)
    for args, needle in cases:
        r = run_cli(*args, "--quiet", cwd=tmp_path)
        if needle is None:
            assert r.returncode == 0, r.stderr
            continue
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr, (args, r.stderr)
    # a newer writer
    con = sqlite3.connect(str(tmp_path / "s.sqlite"))
    with con:
        con.execute("UPDATE meta SET value = '99.0.0' WHERE key = 'ntkcheck_version'")
    con.close()
    r = run_cli("dbar", "--sample", "5", "--out", "s.sqlite", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "newer" in r.stderr
    r = run_cli("dbar", "--sample", "5", "--out", "s.sqlite", "--quiet", "--force-new", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "s.sqlite.old").exists()


def test_corrupt_sqlite_file_is_one_line(tmp_path):
    r = run_cli("dbar", "--sample", "20", "--out", "c.sqlite", "--quiet", cwd=tmp_path)
    assert r.returncode == 0
    raw = bytearray((tmp_path / "c.sqlite").read_bytes())
    raw[100:] = b"\xff" * (len(raw) - 100)  # keep the SQLite header, destroy the pages
    (tmp_path / "c.sqlite").write_bytes(bytes(raw))
    for sub in (("dbar", "--sample", "20", "--out", "c.sqlite"), ("export", "c.sqlite", "-o", "x.csv")):
        r = run_cli(*sub, "--quiet", cwd=tmp_path)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "x.csv").exists()
