"""``ntkcheck verify``: run the paper checks, print a table, write report.json / report.md and figures.

The report files are written atomically *after* all checks ran (``ntkcheck.io.write_*_atomic``): a run
that is interrupted or crashes in the runner leaves no half-written report; a check that crashes is
recorded with verdict ``error`` and the report is still complete.

Exit status (:func:`exit_status`): 1 when the toolkit is wrong — a ``role="toolkit"`` record fails, a check
errors, a figure cannot be drawn — or, with ``--baseline``, when a verdict differs from the earlier report; else 0.
The papers' findings never change it.  Every result falls in exactly one bucket of the opening counts
(:func:`bucket`, :data:`HEADLINE`).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ntkcheck.errors import NtkcheckError
from ntkcheck.io import check_writable_dir
from ntkcheck.threads import pin_torch_threads
from ntkcheck.paper_checks.check import (ALPHA, Check, CheckResult, Context, VERDICTS, format_value,
                                         missing_needs, run_check)
from ntkcheck.paper_checks.registry import all_checks, select

REPORT_SCHEMA = "ntkcheck.verify/1"


@dataclass
class VerifyOptions:
    only: str | None = None
    scale: str = "small"
    device: str = "auto"
    seed: int = 0
    jobs: int = 1
    report: str = "ntkcheck-report"
    quiet: bool = False
    nats_bench: str | None = None
    sweep: str | None = None
    figures: bool = True
    cache_dir: str | None = None
    no_cache: bool = False                  # --no-cache: compute everything afresh, never read or write the cache
    baseline: str | None = None             # an earlier report.json: exit 1 when any verdict differs from it
    argv: tuple[str, ...] = ("verify",)     # the arguments after the program name, as the CLI received them


def resolve_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise NtkcheckError(f"--device must be auto, cpu or cuda, got {device!r}")
    has_cuda = False
    if device != "cpu" and importlib.util.find_spec("torch") is not None:
        import torch

        has_cuda = bool(torch.cuda.is_available())
    if device == "cuda" and not has_cuda:
        raise NtkcheckError("--device cuda requested but no CUDA device is available")
    return "cuda" if (device == "cuda" or (device == "auto" and has_cuda)) else "cpu"


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for mod in ("ntkcheck", "numpy", "scipy", "sympy", "torch", "sklearn", "matplotlib"):
        try:
            m = importlib.import_module(mod)
            out[mod] = str(getattr(m, "__version__", "?"))
        except Exception:  # pragma: no cover - reporting only
            out[mod] = "absent"
    return out


def make_context(opts: VerifyOptions) -> Context:
    if opts.scale not in ("small", "paper"):
        raise NtkcheckError(f"--scale must be small or paper, got {opts.scale!r}")
    if opts.jobs < 1:
        raise NtkcheckError(f"--jobs must be >= 1, got {opts.jobs}")
    if opts.seed < 0:
        raise NtkcheckError(f"--seed must be >= 0, got {opts.seed}")
    nb = None
    if opts.nats_bench:
        p = Path(opts.nats_bench)
        if not p.exists():
            raise NtkcheckError(f"--nats-bench file {p} does not exist")
        nb = str(p.resolve())
    kw: dict[str, Any] = {}
    if opts.sweep:
        if not Path(opts.sweep).is_file():
            raise NtkcheckError(f"--sweep store {opts.sweep} does not exist")
        kw["sweep"] = str(Path(opts.sweep).resolve())      # its content is checked by check_sweep_store
    if opts.cache_dir:
        kw["cache_dir"] = Path(opts.cache_dir)
    return Context(scale=opts.scale, seed=opts.seed, device=resolve_device(opts.device), jobs=opts.jobs,
                   accuracy_source="nats-bench" if nb else "microbench", nats_bench=nb, quiet=opts.quiet, **kw)


def _verify_without_cache(opts: VerifyOptions) -> tuple[int, dict[str, Any]]:
    """``verify --no-cache``: the run's cached computations (NB201 population, micro-benchmark, searches, conv
    proxy) go to a scratch directory that starts empty and is removed afterwards, so nothing is read from or
    written to the user's cache; the checks and figures of the run share the scratch copy."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ntkcheck-no-cache-") as scratch:
        return verify(dataclasses.replace(opts, cache_dir=scratch))


# ---- workers -----------------------------------------------------------------------------------------

def _worker(check_id: str, ctx_fields: dict[str, Any]) -> CheckResult:
    """Process-pool entry point: look the check up by id (functions need not be picklable)."""
    pin_torch_threads()
    ctx = Context(**ctx_fields)
    check = next(c for c in all_checks() if c.id == check_id)
    return run_check(check, ctx)


def _ctx_fields(ctx: Context) -> dict[str, Any]:
    return {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)
            if f.name not in ("rng", "progress_fn", "shared", "check_id")}


def prepare_nb201_population(ctx: Context, checks: Sequence[Check]) -> None:
    """Measure the NB201 population's metrics once (disk-cached) before checks run, so that parallel workers
    share them instead of measuring the same cells twice."""
    if not any("nb201" in c.needs for c in checks if ctx.scale in c.scales and not missing_needs(c, ctx)):
        return
    from ntkcheck.paper_checks.nb201_population import population

    try:
        population(ctx)
    except Exception:  # noqa: BLE001 - the checks that need it call it again and report the error as theirs
        ctx.shared.pop("nb201_population", None)


def accuracy_source_info(ctx: Context, checks: Sequence[Check]) -> dict[str, Any]:
    """Build (or load from cache) the accuracy table once, before checks run, and describe it."""
    if not any("accuracies" in c.needs for c in checks):
        return {"source": ctx.accuracy_source, "used": False}
    from ntkcheck.paper_checks import microbench

    table = microbench.accuracy_table(ctx)
    return {"used": True, **table.describe()}


def data_sources(acc_info: dict[str, Any], results: Sequence[CheckResult]) -> list[str]:
    """Every data set the run's results used, cited (sorted, so the report does not depend on run order)."""
    out = set()
    if acc_info.get("used"):
        out.add(str(acc_info.get("description", acc_info.get("source"))))
    for r in results:
        src = (r.details or {}).get("data_source")
        if src and r.verdict not in ("skipped",):
            out.update([src] if isinstance(src, str) else src)
    return sorted(out)


def run_checks(checks: Sequence[Check], ctx: Context) -> list[CheckResult]:
    from tqdm import tqdm

    results: list[CheckResult] = []
    bar = tqdm(total=len(checks), desc="verify", unit="check", disable=ctx.quiet, file=sys.stderr)
    ctx.progress_fn = lambda msg: bar.set_postfix_str(msg[:50])
    try:
        if ctx.jobs <= 1 or len(checks) <= 1:
            for c in checks:
                bar.set_postfix_str(c.id)
                results.append(run_check(c, ctx))
                bar.update(1)
        else:
            import concurrent.futures as cf
            import multiprocessing as mp

            fields = _ctx_fields(ctx)
            by_id: dict[str, CheckResult] = {}
            with cf.ProcessPoolExecutor(max_workers=ctx.jobs, mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(_worker, c.id, fields): c for c in checks}
                for fut in cf.as_completed(futs):
                    c = futs[fut]
                    try:
                        by_id[c.id] = fut.result()
                    except Exception as exc:  # the worker process itself died
                        by_id[c.id] = CheckResult(id=c.id, paper=c.paper, kind=c.kind, claim=c.claim, source=c.source,
                                                  verdict="error", error=f"worker failed: {type(exc).__name__}: {exc}",
                                                  scale=ctx.scale, role=c.role)
                    bar.set_postfix_str(c.id)
                    bar.update(1)
            results = [by_id[c.id] for c in checks]
    finally:
        bar.close()
        ctx.progress_fn = None
    return results


def make_figures(scale: str, seed: int, quiet: bool, outdir: Path, papers: Sequence[str] | None = None,
                 context: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Regenerate every present figure module's figures into ``outdir``; returns (written, errors).
    ``context``: further :class:`Context` fields (``cache_dir``, ``sweep``) so that each figure is drawn from the
    same populations and caches as its check."""
    from ntkcheck.figures.common import write_figure
    from ntkcheck.paper_checks.registry import PAPER_MODULES

    written: list[dict[str, Any]] = []
    errors: list[str] = []
    for p in papers or PAPER_MODULES:
        modname = f"ntkcheck.figures.{p}"
        if importlib.util.find_spec(modname) is None:
            continue
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(modname)
            for fr in mod.make_figures(scale=scale, seed=seed, quiet=quiet, context=context):
                paths = write_figure(fr, outdir)
                written.append({"paper": p, "name": fr.name, "caption": fr.caption,
                                "files": [str(x) for x in paths]})
        except Exception as exc:
            errors.append(f"{p}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        if written and written[-1]["paper"] == p:
            written[-1]["seconds_for_paper"] = round(time.perf_counter() - t0, 2)
    return written, errors


# ---- multiplicity ------------------------------------------------------------------------------------

#: What the multiplicity adjustment covers, for the report.
MULTIPLICITY_RULE = ("Holm's step-down adjustment (family-wise error rate 5%) over the paper-claim family of this "
                     "run: every result with role 'paper' and kind 'statistical' that reports the p-value of its "
                     "deciding test; a pass or fail whose adjusted p-value is >= 0.05 becomes inconclusive")


def in_claim_family(r: CheckResult) -> bool:
    """A member of the paper-claim family: a statistical paper claim with the raw p-value of its deciding test."""
    p = (r.details or {}).get("p_raw")
    return r.role == "paper" and r.kind == "statistical" and p is not None


def adjust_for_multiplicity(results: Sequence[CheckResult]) -> dict[str, Any]:
    """Holm over the paper-claim family (:func:`ntkcheck.stats.holm`): store the adjusted p-value next to the raw
    one in each member's details, and re-derive the verdicts that are significance decisions — a ``pass`` or
    ``fail`` backed by its p-value (``details["p_decides"]``) whose adjusted p-value is ≥ α becomes
    ``inconclusive`` (the verdict before is kept in ``details["verdict_before_multiplicity"]``).  Returns the
    family's description for report.json.  Runs after all checks, in the order of ``results`` (the adjustment
    does not depend on the order, so neither on ``--jobs``)."""
    from ntkcheck.stats import holm

    fam = [r for r in results if in_claim_family(r)]
    adjusted = holm([float(r.details["p_raw"]) for r in fam]) if fam else []
    for r, a in zip(fam, adjusted):
        a = float(a)
        r.details["p_adjusted"] = a
        r.details["multiplicity"] = f"Holm over the {len(fam)} paper-claim tests of this run"
        if r.verdict in ("pass", "fail") and r.details.get("p_decides") == r.verdict and not a < ALPHA:
            r.details["verdict_before_multiplicity"] = r.verdict
            what = "reproduced" if r.verdict == "pass" else "contradicted"
            r.reason = (f"{what} at the raw level (p = {float(r.details['p_raw']):.2g}) but not after Holm over "
                        f"{len(fam)} paper claims (adjusted p = {a:.2g} >= {ALPHA:g})"
                        + (f"; {r.reason}" if r.reason else ""))
            r.verdict = "inconclusive"
    return {"method": "Holm", "alpha": ALPHA, "rule": MULTIPLICITY_RULE, "family_size": len(fam),
            "members": [r.id for r in fam]}


def _p_cell(r: Mapping[str, Any]) -> str:
    """'raw / adjusted' p-values of a result ("—" when it reports none)."""
    d = r.get("details") or {}
    raw, adj = d.get("p_raw"), d.get("p_adjusted")
    if raw is None:
        return "—"
    return f"{raw:.2g} / {adj:.2g}" if adj is not None else f"{raw:.2g} / —"


# ---- report ------------------------------------------------------------------------------------------

def summarize(results: Sequence[CheckResult]) -> dict[str, int]:
    counts = {v: 0 for v in VERDICTS}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    return {k: v for k, v in counts.items() if v}


#: The report's buckets, in the order of its opening counts: (key, label).  Every result falls in exactly one
#: (:func:`bucket`), so the counts add up to the number of records.
HEADLINE = (
    ("toolkit_math_verified", "toolkit math verified"),
    ("toolkit_math_failed", "toolkit math FAILED"),
    ("paper_claims_reproduced", "paper claims reproduced"),
    ("paper_claims_not_reproduced", "paper claims not reproduced"),
    ("inconclusive", "inconclusive"),
    ("underpowered", "underpowered"),
    ("hypotheses", "hypotheses"),
    ("extensions", "toolkit extensions"),
    ("consistency", "paper's own arithmetic"),
    ("vacuous", "vacuous"),
    ("skipped", "skipped"),
    ("errors", "errors"),
)


def bucket(r: CheckResult | Mapping[str, Any]) -> str:
    """The one headline bucket of a result (a :class:`CheckResult` or its JSON form).

    ``error`` and ``skipped`` first (any role); then the role's own section: ``consistency``, ``extension``
    (the toolkit's own questions), ``hypothesis`` records of a paper; what is left is toolkit math (verified /
    FAILED) or a paper claim (reproduced / not reproduced / inconclusive / underpowered), ``vacuous`` apart."""
    get = r.get if isinstance(r, Mapping) else (lambda k: getattr(r, k))
    verdict, role, kind = get("verdict"), get("role"), get("kind")
    if verdict == "error":
        return "errors"
    if verdict == "skipped":
        return "skipped"
    if role == "consistency":
        return "consistency"
    if role == "extension":
        return "extensions"
    if kind == "hypothesis":
        return "hypotheses"
    if verdict in ("vacuous", "inconclusive", "underpowered"):
        return verdict
    if role == "toolkit":
        return "toolkit_math_verified" if verdict == "pass" else "toolkit_math_failed"
    return "paper_claims_reproduced" if verdict == "pass" else "paper_claims_not_reproduced"


def headline(results: Sequence[CheckResult]) -> dict[str, int]:
    """How many results fall in each bucket of :data:`HEADLINE` (they add up to ``len(results)``)."""
    out = {key: 0 for key, _ in HEADLINE}
    for r in results:
        out[bucket(r)] += 1
    return out


def headline_text(h: dict[str, int]) -> str:
    """The opening counts: toolkit math verified / failed; paper claims reproduced / not reproduced; then
    inconclusive, underpowered; then the sections (hypotheses, extensions, the paper's own arithmetic) and the
    rest, each shown when non-zero."""
    lab = dict(HEADLINE)
    first = (f"{h['toolkit_math_verified']} {lab['toolkit_math_verified']} / {h['toolkit_math_failed']} "
             f"{lab['toolkit_math_failed']}; {h['paper_claims_reproduced']} {lab['paper_claims_reproduced']} / "
             f"{h['paper_claims_not_reproduced']} {lab['paper_claims_not_reproduced']}; {h['inconclusive']} "
             f"inconclusive, {h['underpowered']} underpowered")
    rest = ", ".join(f"{h[k]} {lab[k]}" for k, _ in HEADLINE[6:] if h.get(k))
    return first + (f"; {rest}" if rest else "")


def exit_status(results: Sequence[CheckResult], figure_errors: Sequence[str] = (),
                baseline_changes: Mapping[str, Any] | None = None) -> int:
    """1 when the toolkit is wrong — a ``role="toolkit"`` record fails, a check errors or a figure cannot be
    drawn — or, with ``--baseline``, when any verdict differs from the earlier report; else 0.  Paper findings
    (reproduced or not, inconclusive, underpowered, hypotheses, extensions, consistency) never change it."""
    broken = any(r.failed for r in results) or bool(figure_errors)
    changed = bool(baseline_changes and baseline_changes.get("n_changed"))
    return 1 if (broken or changed) else 0


# ---- --baseline ----------------------------------------------------------------------------------------

def load_baseline(path: str | os.PathLike) -> dict[str, str]:
    """``{id: verdict}`` of an earlier ``report.json`` of ``ntkcheck verify``; a missing, unreadable or foreign
    file is a one-line :class:`NtkcheckError` (checked before any work)."""
    import json

    p = Path(path)
    if not p.is_file():
        raise NtkcheckError(f"--baseline {p} does not exist or is not a file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NtkcheckError(f"--baseline {p} is not a JSON report ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or doc.get("schema") != REPORT_SCHEMA or not isinstance(doc.get("results"), list):
        raise NtkcheckError(f"--baseline {p} is not a report.json of ntkcheck verify (schema {REPORT_SCHEMA})")
    out: dict[str, str] = {}
    for r in doc["results"]:
        if not (isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("verdict"), str)):
            raise NtkcheckError(f"--baseline {p}: a result without an id and a verdict")
        out[r["id"]] = r["verdict"]
    return out


def compare_baseline(old: Mapping[str, str], results: Sequence[CheckResult], only: str | None,
                     name: str) -> dict[str, Any]:
    """Verdicts that differ from the baseline (``old → new``), and records present on one side only.  With
    ``--only``, baseline records the selection would not include are left out of the comparison."""
    from ntkcheck.paper_checks.registry import id_matches, only_patterns

    pats = only_patterns(only)
    new = {r.id: r.verdict for r in results}
    old = {k: v for k, v in old.items() if not pats or any(id_matches(k, p) for p in pats)}
    changed = [{"id": k, "old": old[k], "new": new[k]} for k in new if k in old and old[k] != new[k]]
    only_old = sorted(k for k in old if k not in new)
    only_new = [k for k in new if k not in old]
    return {"file": name, "changed": changed, "only_in_baseline": only_old, "only_in_this_run": only_new,
            "n_changed": len(changed) + len(only_old) + len(only_new)}


def baseline_lines(b: Mapping[str, Any]) -> list[str]:
    """The comparison with the baseline, one line per changed record."""
    if not b["n_changed"]:
        return [f"every verdict as in the baseline {b['file']}"]
    out = [f"{b['n_changed']} record(s) differ from the baseline {b['file']}:"]
    out += [f"  {c['id']}: {c['old']} -> {c['new']}" for c in b["changed"]]
    out += [f"  {k}: only in the baseline" for k in b["only_in_baseline"]]
    out += [f"  {k}: not in the baseline" for k in b["only_in_this_run"]]
    return out


# ---- probing outputs before any work ---------------------------------------------------------------------

def check_sweep_store(ctx: Context) -> None:
    """``--sweep STORE``: refuse (one line, before any work) a store that is missing, not a results store, of
    another search space, or without both ``kappa`` and ``regions`` of NB201 cells; keeps the loaded population
    for the run."""
    from ntkcheck.paper_checks.nb201_population import sweep_population
    from ntkcheck.sweep.store import open_store

    st = open_store(ctx.sweep, create=False)
    try:
        space = st.meta().get("space")
        metrics = {c["metric"] for c in st.configs().values()}
    finally:
        st.close()
    if space != "nb201":
        raise NtkcheckError(f"--sweep {ctx.sweep} holds a sweep of space {space!r}, not 'nb201' (run `ntkcheck sweep "
                            "kappa,regions --space nb201 --out STORE`)")
    missing = [m for m in ("kappa", "regions") if m not in metrics]
    if missing:
        raise NtkcheckError(f"--sweep {ctx.sweep} holds no {' and no '.join(missing)} values (it has "
                            f"{', '.join(sorted(metrics)) or 'no metric'}; run `ntkcheck sweep kappa,regions --space "
                            "nb201 --out STORE`)")
    try:
        ctx.shared["nb201_population"] = sweep_population(ctx)
    except NtkcheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - a store whose rows the population cannot read is bad input
        raise NtkcheckError(f"--sweep {ctx.sweep} cannot be read as an NB201 population ({type(exc).__name__}: "
                            f"{' '.join(str(exc).split())[:200]})") from None


def interval_of(r: dict[str, Any]) -> list[float] | None:
    """The 95% interval a result reports (bootstrap, Clopper-Pearson, ...), or None."""
    d = r.get("details") or {}
    for key in ("ci95", "clopper_pearson95", "interval95"):
        v = d.get(key)
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return [float(v[0]), float(v[1])]
    return None


def _power_cell(r: dict[str, Any]) -> str:
    pw = r.get("power")
    if not pw:
        return "—" if r["kind"] not in ("statistical", "hypothesis") else "not stated"
    ok = {True: "≥", False: "<", None: "?"}[pw["adequate"]]
    eff = "direction only" if pw["effect"] is None else f"claimed {pw['effect']:.3g} {ok} MDE"
    return f"{pw['test']}; MDE {pw['min_detectable']:.3g}; {eff}"


def _measured_cell(r: dict[str, Any]) -> str:
    ci = interval_of(r)
    m = format_value(r["measured"])
    return m + (f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "")


#: What each role decides, for report.md (the same paragraphs as ``ntkcheck verify --help``).
ROLE_TEXT = (
    ("Toolkit math", "toolkit",
     "the toolkit's own math and engines (kernel recursions, empirical NTKs, metrics, bounds, the accuracy table) "
     "against an independent reference: exact math, a second method, Monte Carlo, or facts that pin the data. "
     "`pass` = verified; `fail` = the toolkit is wrong, and `verify` exits 1."),
    ("Paper claims", "paper",
     "a paper's claim judged on the paper's kind of data: exact claims within a stated tolerance, statistical "
     "claims by a 95% interval with n, the test and the smallest effect detectable with 80% power at α = 0.05 "
     "(MDE). `pass` = reproduced, `fail` = not reproduced; `inconclusive` when the interval does not decide, "
     "`underpowered` when the design cannot detect the claimed effect. Never changes the exit status."),
    ("Hypotheses", "hypothesis",
     "a paper's statement that cannot be tested as the paper states it here (its numbers are unavailable, or the "
     "protocol run is a smaller stand-in for the paper's): `supported` / `not supported` / `inconclusive`. Never "
     "counted as a reproduced or not reproduced claim; never changes the exit status."),
    ("Toolkit extensions", "extension",
     "the toolkit's own questions, not a claim of any paper (a claim carried over to another setting, a property "
     "of the toolkit's bounds). Reported apart; never changes the exit status."),
    ("Consistency: the paper's own arithmetic (not a reproduction)", "consistency",
     "the paper's numbers checked against each other; nothing the toolkit measures. Never changes the exit status."),
)


def _section_rows(results: Sequence[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    if key == "hypothesis":
        return [r for r in results if r.get("role") == "paper" and r["kind"] == "hypothesis"]
    if key == "paper":
        return [r for r in results if r.get("role") == "paper" and r["kind"] != "hypothesis"]
    return [r for r in results if r.get("role") == key]


def render_markdown(report: dict[str, Any]) -> str:
    h = report["headline"]
    code = report["exit_code"]
    meaning = ("0: no toolkit record failed, no check errored" if code == 0 else
               "1: " + ("the toolkit is wrong somewhere (a toolkit record failed or a check errored)"
                        if report["failed"] or report.get("figure_errors") else "a verdict differs from the baseline"))
    lines = ["# ntkcheck verify report", "", f"**{headline_text(h)}.**", "",
             f"- command: `{report['command']}`",
             f"- scale: `{report['configuration']['scale']}`, seed: {report['seed']}, device: "
             f"`{report['configuration']['device']}`, jobs: {report['configuration']['jobs']}",
             "- data: " + ("; ".join(report["data_sources"]) or "none"),
             f"- cache: `{report['configuration']['cache_dir']}`",
             f"- total time: {report['timings']['total_s']:.1f} s (checks {report['timings']['checks_s']:.1f} s, "
             f"figures {report['timings']['figures_s']:.1f} s)",
             "- verdicts: " + ", ".join(f"{k}: {v}" for k, v in report["summary"].items()),
             f"- exit status {meaning}. Exit 1 means the toolkit is wrong (or, with `--baseline`, that a verdict "
             "changed); paper findings never change it.",
             "- Multiplicity: " + (report.get("multiplicity") or {}).get("rule", MULTIPLICITY_RULE)
             + f" (family size {(report.get('multiplicity') or {}).get('family_size', 0)}). Where a paper states an "
             "effect, `pass` needs the paper's value inside the 95% interval (and the direction established); an "
             "interval that excludes it is `fail`, with both numbers and whether the direction agrees.",
             "", "## What each section decides", ""]
    lines += [f"- **{title.split(':')[0]}**: {text}" for title, _, text in ROLE_TEXT] + [""]
    if report.get("baseline"):
        lines += ["## Changes against the baseline", ""] + [f"- {x.strip()}" for x in baseline_lines(report["baseline"])]
        lines.append("")
    for title, key, _ in ROLE_TEXT:
        rows = _section_rows(report["results"], key)
        if not rows:
            continue
        lines += [f"## {title}", ""]
        if key in ("paper", "hypothesis", "extension"):
            lines += ["| check | kind | paper value | measured [95% interval] | n | power | p raw / Holm | verdict |",
                      "|---|---|---|---|---|---|---|---|"]
            for r in rows:
                n = (r.get("power") or {}).get("n", "—")
                lines.append(f"| `{r['id']}` | {r['kind']} | {_md(format_value(r['claimed']))} | "
                             f"{_md(_measured_cell(r))} | {n} | {_md(_power_cell(r))} | {_p_cell(r)} | "
                             f"**{r['verdict']}** |")
        else:
            lines += ["| check | kind | measured | claimed | verdict | time (s) |", "|---|---|---|---|---|---|"]
            for r in rows:
                lines.append(f"| `{r['id']}` | {r['kind']} | {_md(format_value(r['measured']))} | "
                             f"{_md(format_value(r['claimed']))} | **{r['verdict']}** | {r['seconds']:.1f} |")
        lines.append("")
    lines += ["## Details", ""]
    for r in report["results"]:
        lines += [f"### {r['id']} — {r['verdict']}", "", f"- claim: {r['claim']}", f"- source: {r['source']}",
                  f"- kind: {r['kind']}, role: {r.get('role', '?')} (counted as: {_SECTION_OF[bucket(r)]})",
                  f"- measured: {r['how_measured']}",
                  f"- claimed: {r['how_claimed']}", f"- tolerance: {r['tolerance']} — {r['tolerance_reason']}"]
        if r.get("power"):
            lines.append(f"- power: {r['power']['summary']} ({r['power']['method']})")
        d = r.get("details") or {}
        if d.get("p_raw") is not None:
            lines.append(f"- test: {d.get('test', '')}; p raw {d['p_raw']:.3g}"
                         + (f", Holm-adjusted {d['p_adjusted']:.3g}" if d.get("p_adjusted") is not None else ""))
        if d.get("magnitude"):
            lines.append(f"- magnitude: {d['magnitude']}")
        if d.get("size_baselines"):
            lines.append(f"- size baselines: {d['size_baselines'].get('line', '')}")
        if r.get("reason"):
            lines.append(f"- reason: {r['reason']}")
        if r.get("error"):
            lines.append(f"- error: `{r['error']}`")
        lines.append("")
    if report.get("figures"):
        lines += ["## Figures", ""]
        for f in report["figures"]:
            lines.append(f"- `{f['name']}` ({f['paper']}): {f['caption']}")
        lines.append("")
    if report.get("figure_errors"):
        lines += ["## Figure errors", ""] + [f"- {e}" for e in report["figure_errors"]] + [""]
    return "\n".join(lines) + "\n"


_SECTION_OF = dict(HEADLINE)


def _md(s: str) -> str:
    return s.replace("|", "\\|")


def print_table(results: Sequence[CheckResult]) -> None:
    """The verdict table, as wide as the terminal (80 columns when not a terminal); long cells wrap at word
    boundaries.  Below 140 columns the measured value and the claim go on a second line under the check's id,
    so that no column is squeezed to nothing."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    colour = {"pass": "green", "fail": "red bold", "error": "red bold", "vacuous": "yellow", "skipped": "dim",
              "supported": "cyan", "not supported": "magenta", "inconclusive": "yellow", "underpowered": "yellow",
              "consistent": "blue", "inconsistent": "magenta"}
    console = Console(stderr=False)
    wide = console.width >= 140
    t = Table(title="ntkcheck verify", show_lines=not wide)
    t.add_column("check" if wide else "check: measured [95%] / reason; claimed", no_wrap=wide,
                 overflow="fold", ratio=None if wide else 1)
    t.add_column("role", no_wrap=True)
    if wide:
        t.add_column("measured [95%] / reason", overflow="fold", ratio=3)
        t.add_column("claimed", overflow="fold", ratio=2)
    t.add_column("p raw / Holm", no_wrap=True)
    t.add_column("verdict", no_wrap=True)
    for r in results:
        row = dataclasses.asdict(r)
        shown = r.reason if r.verdict in ("skipped", "error") and (r.reason or r.error) else _measured_cell(row)
        shown = shown or r.error or ""
        claimed = format_value(r.claimed)
        role = "hypothesis" if (r.kind == "hypothesis" and r.role == "paper") else r.role
        verdict = f"[{colour.get(r.verdict, 'white')}]{r.verdict}[/]"
        if wide:
            t.add_row(r.id, role, escape(shown), escape(claimed), _p_cell(row), verdict)
        else:
            detail = escape(shown) + (f"; claimed {escape(claimed)}" if claimed and claimed != "—" else "")
            t.add_row(f"{r.id}\n[dim]{detail}[/]" if detail else r.id, role, _p_cell(row), verdict)
    console.print(t)


def wrap(text: str) -> str:
    """``text`` wrapped at word boundaries to the terminal's width (80 columns when not a terminal)."""
    import shutil
    import textwrap

    width = shutil.get_terminal_size((80, 24)).columns
    return "\n".join(textwrap.fill(line, width=max(40, width - 1), break_long_words=False, break_on_hyphens=False)
                     for line in text.splitlines())


def _cache_label(opts: VerifyOptions) -> str:
    """The cache location as the report writes it: never an absolute path of this machine."""
    if opts.no_cache:
        return "off (--no-cache)"
    if opts.cache_dir:
        p = Path(opts.cache_dir)
        return str(p) if not p.is_absolute() else "--cache-dir (" + p.name + ")"
    return "$NTKCHECK_CACHE" if os.environ.get("NTKCHECK_CACHE") else "~/.cache/ntkcheck"


def verify(opts: VerifyOptions) -> tuple[int, dict[str, Any]]:
    """Run the selected checks and write the report; returns (exit code, report).  Every input is checked
    before any work: the options, the selection, the baseline, the report and cache directories (writable or
    creatable) and a ``--sweep`` store; a bad one is a one-line NtkcheckError and nothing is written."""
    if opts.no_cache and opts.cache_dir is None:
        return _verify_without_cache(opts)
    t_start = time.perf_counter()
    ctx = make_context(opts)
    checks = select(all_checks(), opts.only)
    old = load_baseline(opts.baseline) if opts.baseline else None
    outdir = Path(opts.report)
    check_writable_dir(outdir, "--report")
    check_writable_dir(ctx.cache_dir, "--cache-dir" if opts.cache_dir else "the cache directory")
    if ctx.sweep:
        check_sweep_store(ctx)
    pin_torch_threads()
    t0 = time.perf_counter()
    acc_info = accuracy_source_info(ctx, checks)
    t_acc = time.perf_counter() - t0
    t0 = time.perf_counter()
    prepare_nb201_population(ctx, checks)
    t_pop = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = run_checks(checks, ctx)
    multiplicity = adjust_for_multiplicity(results)
    t_checks = time.perf_counter() - t0
    figs: list[dict[str, Any]] = []
    fig_errors: list[str] = []
    t0 = time.perf_counter()
    if opts.figures:
        papers = sorted({c.paper for c in checks})
        figs, fig_errors = make_figures(opts.scale, opts.seed, opts.quiet, outdir / "figures", papers,
                                        context={"cache_dir": ctx.cache_dir, "sweep": ctx.sweep})
    t_figs = time.perf_counter() - t0
    failed = [r.id for r in results if r.failed]
    base = (compare_baseline(old, results, opts.only, Path(opts.baseline).name) if old is not None else None)
    code = exit_status(results, fig_errors, base)
    report = {
        "schema": REPORT_SCHEMA,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": shlex.join(["ntkcheck", *opts.argv]),
        "seed": opts.seed,
        "configuration": {"scale": opts.scale, "device": ctx.device, "device_requested": opts.device,
                          "jobs": opts.jobs, "only": opts.only,
                          "nats_bench": Path(ctx.nats_bench).name if ctx.nats_bench else None,
                          "sweep": Path(ctx.sweep).name if ctx.sweep else None,
                          "cache_dir": _cache_label(opts), "figures": opts.figures,
                          "cpu_count": os.cpu_count()},
        "versions": versions(),
        "accuracy_source": acc_info,
        "timings": {"total_s": time.perf_counter() - t_start, "accuracy_table_s": t_acc, "nb201_population_s": t_pop,
                    "checks_s": t_checks,
                    "figures_s": t_figs, "per_check_s": {r.id: r.seconds for r in results},
                    "over_budget": [r.id for r in results if r.budget_s and r.seconds > r.budget_s]},
        "headline": headline(results),
        "data_sources": data_sources(acc_info, results),
        "summary": summarize(results),
        "multiplicity": multiplicity,
        "failed": failed,
        "baseline": base,
        "exit_code": code,
        "results": [r.to_json() for r in results],
        "figures": figs,
        "figure_errors": fig_errors,
    }
    from ntkcheck.io import write_json_atomic, write_text_atomic

    outdir.mkdir(parents=True, exist_ok=True)
    md = render_markdown(report)              # render first: a rendering bug must not leave a lone report.json
    write_json_atomic(outdir / "report.json", report)
    write_text_atomic(outdir / "report.md", md)
    return code, report
