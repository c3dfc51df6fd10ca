"""What `ntkcheck verify`'s exit status, counts, --baseline, --only and input checks mean (tiny fake checks, so
every test runs in about a second)."""

import json
import re

import pytest

from ntkcheck.cli import main
from ntkcheck.errors import NtkcheckError
from ntkcheck.paper_checks import runner
from ntkcheck.paper_checks.check import Check, Outcome, verdict_numeric
from ntkcheck.paper_checks.registry import all_checks, select


def fake(label, verdict, kind="exact", role=""):
    def fn(ctx):
        if verdict == "error":
            raise ZeroDivisionError("a defect")
        return Outcome(verdict, measured=1.0, claimed=1.0)

    return Check(id=f"fake.{label}", paper="fake", claim="c", source="s", kind=kind, how_measured="m",
                 how_claimed="c", tolerance="t", tolerance_reason="why", fn=fn, budget_s=1, role=role)


FAKES = [fake("tk_ok", "pass"), fake("tk_bad", "fail"), fake("err", "error"),
         fake("paper_ok", "pass", "statistical"), fake("paper_bad", "fail", "statistical"),
         fake("paper_exact_bad", "fail", "exact", role="paper"),
         fake("paper_unsure", "inconclusive", "statistical"),
         fake("hyp_ok", "pass", "hypothesis"), fake("hyp_bad", "fail", "hypothesis"),
         fake("ext_bad", "fail", "statistical", role="extension"),
         fake("ext_hyp", "pass", "hypothesis", role="extension"),
         fake("cons_bad", "fail", "consistency"), fake("vac", "vacuous"), fake("skip", "skipped")]


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setattr(runner, "all_checks", lambda: list(FAKES))


def _verify(tmp_path, *args, report="rep"):
    return main(["verify", "--report", str(tmp_path / report), "--cache-dir", str(tmp_path / "cache"), "--quiet",
                 "--no-figures", *args])


def _report(tmp_path, report="rep"):
    return json.loads((tmp_path / report / "report.json").read_text())


# ---- exit status = toolkit integrity ------------------------------------------------------------------------

def test_paper_findings_never_change_the_exit_status(fakes, tmp_path):
    everything_but_toolkit = "fake.paper_*,fake.hyp_*,fake.ext_*,fake.cons_bad,fake.vac,fake.skip,fake.tk_ok"
    assert _verify(tmp_path, "--only", everything_but_toolkit) == 0
    rep = _report(tmp_path)
    assert rep["exit_code"] == 0 and rep["failed"] == []
    assert rep["headline"]["paper_claims_not_reproduced"] == 2


def test_a_failing_toolkit_record_or_an_error_exits_1(fakes, tmp_path):
    assert _verify(tmp_path, "--only", "fake.tk_bad") == 1
    assert _report(tmp_path)["failed"] == ["fake.tk_bad"]
    assert _verify(tmp_path, "--only", "fake.err") == 1
    assert _verify(tmp_path, "--only", "fake.paper_ok,fake.err") == 1


def test_counts_add_up_and_keep_hypotheses_and_extensions_apart(fakes, tmp_path):
    _verify(tmp_path)
    rep = _report(tmp_path)
    h = rep["headline"]
    assert sum(h.values()) == len(rep["results"]) == len(FAKES)
    assert h == {"toolkit_math_verified": 1, "toolkit_math_failed": 1, "paper_claims_reproduced": 1,
                 "paper_claims_not_reproduced": 2, "inconclusive": 1, "underpowered": 0, "hypotheses": 2,
                 "extensions": 2, "consistency": 1, "vacuous": 1, "skipped": 1, "errors": 1}
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.splitlines()[2] == ("**1 toolkit math verified / 1 toolkit math FAILED; 1 paper claims reproduced / "
                                  "2 paper claims not reproduced; 1 inconclusive, 0 underpowered; 2 hypotheses, "
                                  "2 toolkit extensions, 1 paper's own arithmetic, 1 vacuous, 1 skipped, 1 errors.**")
    for section in ("## Toolkit math", "## Paper claims", "## Hypotheses", "## Toolkit extensions",
                    "## Consistency"):
        assert section in md
    hyp = md.split("## Hypotheses")[1].split("## Toolkit extensions")[0]
    assert "fake.hyp_bad" in hyp and "fake.paper_bad" not in hyp and "fake.ext_hyp" not in hyp


def test_real_registry_counts_add_up_by_role():
    """Every real record falls in exactly one bucket whatever its verdict; hypotheses are never paper claims."""
    for c in all_checks():
        for v in ("pass", "fail", "inconclusive", "underpowered", "vacuous", "skipped", "error"):
            r = runner.CheckResult(id=c.id, paper=c.paper, kind=c.kind, claim="", source="", verdict=v, role=c.role)
            b = runner.bucket(r)
            assert b in dict(runner.HEADLINE)
            if c.kind == "hypothesis" or c.role in ("extension", "consistency"):
                assert not b.startswith("paper_claims") and not b.startswith("toolkit_math")


# ---- --baseline ---------------------------------------------------------------------------------------------

def test_baseline_same_verdicts_exit_0_and_a_flipped_one_exit_1(fakes, monkeypatch, tmp_path, capsys):
    only = "fake.tk_ok,fake.paper_ok,fake.hyp_ok"
    assert _verify(tmp_path, "--only", only) == 0
    base = str(tmp_path / "rep" / "report.json")
    assert _verify(tmp_path, "--only", only, "--baseline", base, report="rep2") == 0
    assert _report(tmp_path, "rep2")["baseline"]["n_changed"] == 0
    flipped = [fake("paper_ok", "fail", "statistical") if c.id == "fake.paper_ok" else c for c in FAKES]
    monkeypatch.setattr(runner, "all_checks", lambda: flipped)
    capsys.readouterr()
    assert _verify(tmp_path, "--only", only, "--baseline", base, report="rep3") == 1
    err = capsys.readouterr().err
    assert "fake.paper_ok: pass -> fail" in err
    b = _report(tmp_path, "rep3")["baseline"]
    assert b["changed"] == [{"id": "fake.paper_ok", "old": "pass", "new": "fail"}]
    assert "fake.paper_ok: pass -> fail" in (tmp_path / "rep3" / "report.md").read_text()


def test_baseline_lists_records_present_on_one_side(fakes, tmp_path):
    assert _verify(tmp_path, "--only", "fake.tk_ok,fake.paper_ok") == 0
    base = str(tmp_path / "rep" / "report.json")
    assert _verify(tmp_path, "--only", "fake.tk_ok,fake.hyp_ok", "--baseline", base, report="rep2") == 1
    b = _report(tmp_path, "rep2")["baseline"]
    assert b["only_in_this_run"] == ["fake.hyp_ok"] and b["only_in_baseline"] == []   # paper_ok not selected now
    assert _verify(tmp_path, "--only", "fake.*", "--baseline", base, report="rep3") == 1
    b = _report(tmp_path, "rep3")["baseline"]
    assert "fake.tk_bad" in b["only_in_this_run"] and b["only_in_baseline"] == []


def test_bad_or_foreign_baseline_is_one_line_exit_2(fakes, tmp_path, capsys):
    (tmp_path / "x.json").write_text('{"schema": "something else", "results": []}')
    (tmp_path / "y.json").write_text("not json")
    for path in (tmp_path / "x.json", tmp_path / "y.json", tmp_path / "missing.json"):
        assert _verify(tmp_path, "--only", "fake.tk_ok", "--baseline", str(path)) == 2
    err = capsys.readouterr().err
    assert err.count("ntkcheck: error: --baseline") == 3 and "Traceback" not in err
    assert not (tmp_path / "rep").exists()


# ---- --only -------------------------------------------------------------------------------------------------

def test_only_exact_ids_globs_and_papers_never_substrings():
    checks = all_checks()
    assert [c.id for c in select(checks, "tenas2021.T1")] == ["tenas2021.T1"]
    assert [c.id for c in select(checks, "zhu2022.1")] == ["zhu2022.1"]
    assert [c.id for c in select(checks, "TENAS2021.t1")] == ["tenas2021.T1"]          # case-insensitive
    assert {c.id for c in select(checks, "tenas2021")} == {c.id for c in checks if c.paper == "tenas2021"}
    assert {c.id for c in select(checks, "tenas2021.T1*")} >= {"tenas2021.T1", "tenas2021.T10", "tenas2021.T11"}
    assert [c.id for c in select(checks, "zhu2022.1, mok2022.L1")] == ["zhu2022.1", "mok2022.L1"]
    for bad in ("tenas", "T1", "zhu2022.1,nothing.here", "mok2022.Q*"):
        with pytest.raises(NtkcheckError, match="matches no check"):
            select(checks, bad)


def test_unknown_only_pattern_exits_2(fakes, tmp_path, capsys):
    assert _verify(tmp_path, "--only", "fake.tk") == 2                   # a prefix is not an id
    assert "fake.tk" in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()


# ---- outputs and inputs checked before any work -------------------------------------------------------------

def test_unwritable_report_or_cache_dir_exits_2_and_writes_nothing(monkeypatch, tmp_path, capsys):
    ran = []
    monkeypatch.setattr(runner, "all_checks", lambda: [Check(
        id="fake.ran", paper="fake", claim="c", source="s", kind="exact", how_measured="m", how_claimed="c",
        tolerance="t", tolerance_reason="w", fn=lambda ctx: ran.append(1) or verdict_numeric(1, 1))])
    (tmp_path / "afile").write_text("x")
    assert main(["verify", "--report", str(tmp_path / "afile" / "rep"), "--quiet", "--no-figures",
                 "--cache-dir", str(tmp_path / "cache")]) == 2
    assert main(["verify", "--report", str(tmp_path / "rep"), "--quiet", "--no-figures",
                 "--cache-dir", str(tmp_path / "afile" / "cache")]) == 2
    assert main(["verify", "--report", str(tmp_path / "afile"), "--quiet", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.count("ntkcheck: error:") == 3 and "Traceback" not in err
    assert ran == [] and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_sweep_store_of_another_space_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from ntkcheck.sweep.store import Row, open_store

    st = open_store(tmp_path / "fc.sqlite")
    st.register("fc:relu", {"kappa": ("hk", {"batch": 4}, "t"), "regions": ("hr", {"samples": 10}, "t")})
    st.add([Row("fc:relu", "relu-relu", "kappa", "hk", 0, 1.0, "ok", "", 0.1, "cpu", "t")])
    st.close()
    st = open_store(tmp_path / "nometric.sqlite")
    st.register("nb201", {"naswot": ("hn", {}, "t")})
    st.close()
    monkeypatch.chdir(tmp_path)
    for store in ("fc.sqlite", "nometric.sqlite"):
        assert main(["verify", "--only", "tenas2021.T3a", "--sweep", store, "--quiet", "--no-figures",
                     "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert "not 'nb201'" in err and "no kappa" in err and err.count("\n") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc.sqlite", "nometric.sqlite"]


# ---- records: roles and words a reader meets -----------------------------------------------------------------

FORBIDDEN = re.compile(r"digest|design card|issue \d|bug B\d|\[(R|P|V|D|qual)[\] ]|TODO|/(?:work|tmp)/", re.I)


def test_record_texts_use_no_internal_vocabulary():
    for c in all_checks():
        for f in ("claim", "source", "how_measured", "how_claimed", "tolerance", "tolerance_reason"):
            assert not FORBIDDEN.search(getattr(c, f)), (c.id, f, getattr(c, f))
        assert "trust" not in c.describe()


def test_roles_of_the_re_filed_records():
    by = {c.id: c for c in all_checks()}
    for cid in ("mok2022.L4", "chen2022.C17"):
        assert by[cid].role == "toolkit" and by[cid].kind in ("exact", "numeric")
    for cid in ("mok2022.L5", "conv_nb201.K1", "conv_nb201.K2", "conv_nb201.K3", "zhu2022.12", "zhu2022.14",
                "zhu2022.15", "zhu2022.16", "zhu2022.G"):
        assert by[cid].role == "extension", cid
    # the toy-protocol records of Mok et al. are hypotheses that state the paper's protocol and the one run
    for cid in ("mok2022.L3", "mok2022.L6a", "mok2022.L6b", "mok2022.L7a", "mok2022.L7b", "mok2022.L8",
                "mok2022.L11a", "mok2022.L11b"):
        c = by[cid]
        assert c.kind == "hypothesis" and c.role == "paper", cid
        assert "paper's protocol" in c.how_measured and "Run here" in c.how_measured, cid
    assert "label-alignment gain" in by["mok2022.L11b"].how_measured
    assert "initialisations" in by["mok2022.L3"].how_measured


def test_terminal_text_wraps_at_word_boundaries(monkeypatch):
    import os

    monkeypatch.setattr("shutil.get_terminal_size", lambda fallback=(80, 24): os.terminal_size((80, 24)))
    text = runner.wrap(runner.headline_text({k: 123 for k, _ in runner.HEADLINE}))
    words = runner.headline_text({k: 123 for k, _ in runner.HEADLINE}).split()
    assert all(len(line) <= 80 for line in text.splitlines()) and text.split() == words


def test_l3_seed_replicates_are_new_seeds_and_cached(monkeypatch, tmp_path):
    """L3's further initialisations: a seed of their own per replicate, written to the cache once."""
    import numpy as np

    from ntkcheck.paper_checks import nb201_proxy
    from ntkcheck.paper_checks.check import Context

    seeds = []

    def measure(cell, cfg, seed):
        seeds.append(seed)
        return {"kernels": np.full((3, 2, 2), float(seed)), "labels": np.zeros(2), "acc_digits": 1.0}

    monkeypatch.setattr(nb201_proxy, "_measure", measure)
    cfg = nb201_proxy.ProxyConfig(n_cells=16)
    idx = nb201_proxy.stratified_cells(16, 8, 0)
    t = nb201_proxy.ProxyTable(cfg, idx, tuple(f"c{i}" for i in idx), (0, 1, 3),
                               [np.zeros((3, 2, 2))] * 16, [np.zeros(2)] * 16, np.zeros(16))
    top = nb201_proxy.high_accuracy_stratum(t)
    acc = t.accuracy("cifar10")
    assert len(top) == 2 and set(acc[top]) == set(np.sort(acc)[-2:])
    ctx = Context(cache_dir=tmp_path)
    runs = nb201_proxy.seed_replicates(ctx, t, top, 3)
    assert len(seeds) == 4 and len(set(seeds)) == 4 and [len(r) for r in runs] == [3, 3]
    assert nb201_proxy.seed_replicates(ctx, t, top, 3)[1][2][0, 0, 0] == runs[1][2][0, 0, 0] and len(seeds) == 4
