"""Caches of ``ntkcheck verify`` are keyed by the code they depend on; ``verify --no-cache`` bypasses them.

The fingerprint (:mod:`ntkcheck.cache`) is a SHA-256 over the package sources and the numpy/scipy/torch versions;
an edit of an engine's source in a copy of the tree changes it, and a cache entry written under one fingerprint is
not read under another.
"""

from __future__ import annotations

import json
import shutil

import pytest

from ntkcheck import cache as code_cache
from ntkcheck.cli import main
from ntkcheck.paper_checks import runner
from ntkcheck.paper_checks.check import Check, verdict_numeric
from ntkcheck.paper_checks.microbench import MicrobenchConfig, cached_json


@pytest.fixture
def tree_copy(tmp_path):
    """A copy of the installed package sources: {package: folder in the copy}."""
    roots = {}
    for name, root in code_cache.package_roots().items():
        dst = tmp_path / "tree" / name
        shutil.copytree(root, dst, ignore=shutil.ignore_patterns("__pycache__", "*.gz", "*.npy"))
        roots[name] = dst
    return roots


def test_an_engine_edit_changes_the_fingerprint(tree_copy):
    versions = {"numpy": "1", "scipy": "2", "torch": "3"}
    before = code_cache.source_fingerprint(tree_copy, versions)
    assert code_cache.source_fingerprint(tree_copy, versions) == before          # deterministic
    kernels = tree_copy["ntkcheck.theory"] / "kernels.py"
    src = kernels.read_text()
    old = "return e.scale * e2.scale * self.moment(e.src, e2.src)"
    assert src.count(old) == 1
    kernels.write_text(src.replace(old, "return None"))                         # skip–skip cross terms dropped
    after = code_cache.source_fingerprint(tree_copy, versions)
    assert after != before
    kernels.write_text(src)
    assert code_cache.source_fingerprint(tree_copy, versions) == before
    assert code_cache.source_fingerprint(tree_copy, {**versions, "torch": "4"}) != before   # a library upgrade too


def test_the_fingerprint_does_not_depend_on_the_install_layout(tree_copy, tmp_path):
    """A wheel nests theory/, empirical/, paper_checks/ (and figures/) inside ntkcheck/; an editable install keeps
    them beside it: the same sources give the same fingerprint, figures/ left out."""
    versions = {"numpy": "1"}
    flat = code_cache.source_fingerprint(tree_copy, versions)
    nested = tmp_path / "wheel" / "ntkcheck"
    shutil.copytree(tree_copy["ntkcheck"], nested)
    roots = {"ntkcheck": nested}
    for name, sub in (("ntkcheck.theory", "theory"), ("ntkcheck.empirical", "empirical"),
                      ("ntkcheck.paper_checks", "paper_checks")):
        shutil.copytree(tree_copy[name], nested / sub)
        roots[name] = nested / sub
    (nested / "figures").mkdir()
    (nested / "figures" / "fig.py").write_text("x = 1\n")
    assert code_cache.source_fingerprint(roots, versions, exclude=[nested / "figures"]) == flat


def test_the_fingerprint_covers_every_engine_package():
    fp = code_cache.code_fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert set(code_cache.package_roots()) == {"ntkcheck", "ntkcheck.theory", "ntkcheck.empirical",
                                               "ntkcheck.paper_checks"}


def test_a_warm_cache_is_not_reused_after_an_engine_change(tmp_path, monkeypatch, tree_copy):
    versions = {"numpy": "1", "scipy": "2", "torch": "3"}
    clean = code_cache.source_fingerprint(tree_copy, versions)[:16]
    calls = []

    def compute():
        calls.append(1)
        return {"kappa": 23.7}

    monkeypatch.setattr(code_cache, "code_fingerprint", lambda: clean)
    key_clean = MicrobenchConfig().key()
    assert cached_json(tmp_path, "tenas2021/trajectory", {"cell": "x"}, compute) == {"kappa": 23.7}
    cached_json(tmp_path, "tenas2021/trajectory", {"cell": "x"}, compute)
    assert len(calls) == 1                                                       # warm: read, not recomputed
    p = tree_copy["ntkcheck.empirical"] / "metrics.py"
    p.write_text(p.read_text().replace("lmax / lmin", "lmin / lmax"))            # κ inverted
    edited = code_cache.source_fingerprint(tree_copy, versions)[:16]
    monkeypatch.setattr(code_cache, "code_fingerprint", lambda: edited)
    cached_json(tmp_path, "tenas2021/trajectory", {"cell": "x"}, compute)
    assert len(calls) == 2                                                       # the edit made the cache cold
    assert MicrobenchConfig().key() != key_clean


def test_population_and_proxy_keys_include_the_fingerprint(monkeypatch):
    from ntkcheck.paper_checks.nb201_population import MetricConfig
    from ntkcheck.paper_checks.nb201_proxy import ProxyConfig

    monkeypatch.setattr(code_cache, "code_fingerprint", lambda: "a" * 16)
    monkeypatch.setattr("ntkcheck.paper_checks.nb201_population._inputs_fingerprint", lambda cfg: "inputs")
    keys = (MetricConfig.for_scale("small", 0).key(), ProxyConfig().key())
    monkeypatch.setattr(code_cache, "code_fingerprint", lambda: "b" * 16)
    assert MetricConfig.for_scale("small", 0).key() != keys[0]
    assert ProxyConfig().key() != keys[1]


def _writes_cache(ctx):
    seen = cached_json(ctx.cache_dir, "probe", {"k": 1}, lambda: {"dir": str(ctx.cache_dir)})
    return verdict_numeric(1.0, 1.0, atol=0.0, details={"cache_dir": seen["dir"]})


PROBE = Check(id="fake.cache", paper="fake", claim="c", source="s", kind="exact", how_measured="m", how_claimed="c",
              tolerance="0", tolerance_reason="why", fn=_writes_cache, budget_s=1)


def test_no_cache_neither_reads_nor_writes_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "all_checks", lambda: [PROBE])
    user_cache = tmp_path / "cache"
    monkeypatch.setenv("NTKCHECK_CACHE", str(user_cache))
    args = ["verify", "--only", "fake.cache", "--report", str(tmp_path / "rep"), "--quiet", "--no-figures"]
    assert main(args) == 0
    assert list(user_cache.glob("probe-*.json"))                                # an ordinary run writes it
    shutil.rmtree(user_cache)
    assert main(args + ["--no-cache"]) == 0
    assert not user_cache.exists()                                                # --no-cache wrote nothing
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["configuration"]["cache_dir"] == "off (--no-cache)"
    scratch = rep["results"][0]["details"]["cache_dir"]
    assert scratch != str(user_cache)
    assert main(args + ["--no-cache", "--cache-dir", str(tmp_path / "other")]) == 2
