"""`ntkcheck verify` through ntkcheck.cli.main: exit codes, report schema, atomic report writing.

Fake checks are injected by replacing the registry seen by the runner; a couple of real, quick checks run
too, including one made to fail on purpose with a monkeypatched wrong formula.
"""

import json

import pytest

from ntkcheck.cli import main
from ntkcheck.paper_checks import runner
from ntkcheck.paper_checks.check import Check, Outcome, verdict_numeric


def fake(label, fn, kind="exact"):
    return Check(id=f"fake.{label}", paper="fake", claim="c", source="s", kind=kind, how_measured="m",
                 how_claimed="c", tolerance="1e-9", tolerance_reason="why", fn=fn, budget_s=1)


def boom(ctx):
    raise ZeroDivisionError("wrong formula")


FAKES = [fake("ok", lambda ctx: verdict_numeric(1.0, 1.0, atol=1e-9)),
         fake("bad", lambda ctx: verdict_numeric(1.0, 2.0, atol=1e-9)),
         fake("hyp", lambda ctx: verdict_numeric(1.0, 2.0, atol=1e-9), kind="hypothesis"),
         fake("err", boom),
         fake("vac", lambda ctx: Outcome("vacuous", reason="bound <= 0"))]


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setattr(runner, "all_checks", lambda: list(FAKES))


def _verify(tmp_path, *args):
    return main(["verify", "--report", str(tmp_path / "rep"), "--quiet", "--no-figures", *args])


def test_exit_codes(fakes, tmp_path):
    assert _verify(tmp_path, "--only", "fake.ok,fake.hyp,fake.vac") == 0     # hypothesis and vacuous never fail
    assert _verify(tmp_path, "--only", "fake.bad") == 1
    assert _verify(tmp_path, "--only", "fake.err") == 1                       # a crash is a failure


def test_report_schema(fakes, tmp_path):
    code = _verify(tmp_path, "--seed", "7")
    assert code == 1
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    for key in ("schema", "seed", "configuration", "versions", "accuracy_source", "timings", "summary",
                "results", "exit_code", "failed"):
        assert key in rep
    assert rep["seed"] == 7 and rep["exit_code"] == 1
    assert set(rep["failed"]) == {"fake.bad", "fake.err"}
    by = {r["id"]: r for r in rep["results"]}
    assert by["fake.hyp"]["verdict"] == "not supported"
    assert by["fake.err"]["verdict"] == "error" and "wrong formula" in by["fake.err"]["error"]
    for r in rep["results"]:
        for key in ("claim", "source", "kind", "measured", "claimed", "tolerance", "tolerance_reason", "seconds"):
            assert key in r
    assert "torch" in rep["versions"] and rep["configuration"]["scale"] == "small"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "fake.bad" in md and "- data:" in md
    # the referee's three counts open both files; the exact, shell-quoted command line is recorded
    assert rep["headline"]["toolkit_math_verified"] == 1 and rep["headline"]["toolkit_math_failed"] == 1
    assert rep["headline"]["paper_claims_not_reproduced"] == 0 and rep["headline"]["errors"] == 1
    assert rep["headline"]["hypotheses"] == 1          # a hypothesis is never a paper claim not reproduced
    assert md.splitlines()[2].startswith("**1 toolkit math verified / 1 toolkit math FAILED; 0 paper claims "
                                         "reproduced / 0 paper claims not reproduced")
    assert rep["command"] == f"ntkcheck verify --report {tmp_path / 'rep'} --quiet --no-figures --seed 7"
    assert f"`{rep['command']}`" in md


def test_command_is_shell_quoted(fakes, tmp_path):
    import shlex

    assert _verify(tmp_path, "--only", "fake.ok, fake.vac") == 0
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert shlex.split(rep["command"])[1:] == ["verify", "--report", str(tmp_path / "rep"), "--quiet",
                                               "--no-figures", "--only", "fake.ok, fake.vac"]


def test_interrupted_run_leaves_no_half_written_report(monkeypatch, tmp_path):
    """A run that dies mid-way (an exception the runner does not catch) writes nothing; an older complete
    report stays as it was, and no temporary file is left behind."""
    def die(ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "all_checks", lambda: [FAKES[0], fake("die", die)])
    rep = tmp_path / "rep"
    assert _verify(tmp_path, "--only", "fake.ok") == 0
    before = (rep / "report.json").read_text()
    assert _verify(tmp_path) == 130
    assert (rep / "report.json").read_text() == before
    assert sorted(p.name for p in rep.iterdir()) == ["report.json", "report.md"]


def test_bad_input_exits_2(fakes, tmp_path, capsys):
    assert _verify(tmp_path, "--only", "no-such-check") == 2
    assert _verify(tmp_path, "--jobs", "0") == 2
    assert _verify(tmp_path, "--nats-bench", str(tmp_path / "missing.pth")) == 2
    err = capsys.readouterr().err
    assert err.count("ntkcheck: error:") == 3 and "Traceback" not in err


def test_real_quick_checks_and_table(tmp_path, capsys):
    code = main(["verify", "--only", "tenas2021.T6,tenas2021.Table1,mok2022.L9,mok2022.numbers",
                 "--report", str(tmp_path / "rep"), "--no-figures"])
    assert code == 0
    out = capsys.readouterr().out
    assert "tenas2021.T6" in out and "verdict" in out
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    verdicts = {r["id"]: r["verdict"] for r in rep["results"]}
    assert verdicts == {"tenas2021.T6": "pass", "tenas2021.Table1": "consistent", "mok2022.L9": "pass",
                        "mok2022.numbers": "skipped"}
    assert rep["headline"]["consistency"] == 1 and rep["headline"]["toolkit_math_verified"] == 2


def test_monkeypatched_wrong_formula_fails(monkeypatch, tmp_path):
    """T6 compares TE-NAS's Hamming count with numpy's unique-row count: an off-by-one formula must fail."""
    from ntkcheck.empirical import linear_regions

    true = linear_regions.tenas_hamming_count
    monkeypatch.setattr(linear_regions, "tenas_hamming_count", lambda A, **kw: true(A, **kw) + 1.0)
    code = _verify(tmp_path, "--only", "tenas2021.T6")
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert code == 1 and rep["results"][0]["verdict"] == "fail"


def test_jobs_process_pool(tmp_path):
    code = main(["verify", "--only", "tenas2021.Table1,mok2022.L9", "--jobs", "2", "--quiet", "--no-figures",
                 "--report", str(tmp_path / "rep")])
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert code == 0 and [r["id"] for r in rep["results"]] == ["tenas2021.Table1", "mok2022.L9"]
    assert [r["verdict"] for r in rep["results"]] == ["consistent", "pass"]
