"""Nothing a user reads names the project's internal vocabulary: the README, docs/, the bound checker's README,
every subcommand's --help, and the report of a small `ntkcheck verify` (figure captions and figure texts:
tests/figures/test_figure_layout.py).  A reader resolves a paper and its section, never "digest §8", "design card
§3", "issue 9", "bug B1", the trust labels [R]/[P]/[V]/[D]/[qual], a TODO, or a path of the machine that wrote it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ntkcheck.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]

#: The internal words, each with what it is (the message names the word found).
FORBIDDEN = re.compile(
    r"\bdigests?\b|design[ -]card|\bissues? \d+|\bbug B\d+|\[(?:R|P|V|D|qual)\]|\bTODO\b"
    r"|(?<![\w.~])/(?:work|tmp|home|root|Users)/", re.IGNORECASE)


def forbidden_words(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Every internal word (and every string of ``extra``, e.g. the cache path) in ``text``, with its line."""
    hits = []
    for i, line in enumerate(text.splitlines(), 1):
        for m in FORBIDDEN.finditer(line):
            hits.append(f"line {i}: {m.group(0)!r} in {line.strip()[:120]!r}")
        hits += [f"line {i}: {e!r} in {line.strip()[:120]!r}" for e in extra if e and e in line]
    return hits


def test_the_pattern_catches_each_word():
    paths = [f"/{top}/{rest}" for top, rest in (("work", "x"), ("tmp", "abc"), ("home", "me/.cache"))]
    for bad in ("digest §8", "design card §3", "issue 9", "bug B1", "[R]", "[qual]", "TODO-LGA", *paths):
        assert forbidden_words(bad), bad
    for ok in ("Section 3.2", "Eq. 7", "sha256 checksum", "hexdigest", "~/.cache/ntkcheck", "docs/api.md"):
        assert not forbidden_words(ok), ok


DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
        "ntkcheck/bound_check/README.md"]


@pytest.mark.parametrize("doc", DOCS)
def test_documents(doc):
    hits = forbidden_words((ROOT / doc).read_text(encoding="utf-8"))
    assert not hits, f"{doc}: " + "; ".join(hits)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_texts(command, capsys):
    assert main(([command] if command else []) + ["--help"]) == 0
    hits = forbidden_words(capsys.readouterr().out)
    assert not hits, f"ntkcheck {command} --help: " + "; ".join(hits)


def test_verify_report(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("NTKCHECK_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)                    # a relative --report: any absolute path in it is a leak
    code = main(["verify", "--only", "chen2022.C11,chen2022.C17,chen2022.C12", "--no-figures", "--quiet",
                 "--report", "rep"])
    assert code in (0, 1)
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    js = json.dumps(json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8")), ensure_ascii=False,
                    indent=1)
    hits = forbidden_words(md, (str(cache), str(tmp_path))) + forbidden_words(js, (str(cache), str(tmp_path)))
    assert not hits, "; ".join(hits)
