r"""Writing a search's outcome: ``report.json``, ``report.md``, a one-page figure (PNG and PDF), and

* with a certified counterexample: ``spec.json`` + ``X.npy`` (the shrunk counterexample, loadable by
  ``ntkcheck kernel spec.json X.npy``), and the figure shows both sides with the tolerance and the spectrum;
* with none: ``tightest/spec.json`` + ``tightest/X.npy`` (the configuration of smallest relative slack) and the
  tightness histogram (bound/quantity over every configuration tried) as the figure.

Every file is written atomically (:mod:`ntkcheck.io`); the reports record seed, versions and configuration.
"""

from __future__ import annotations

import io
import math
import platform
from pathlib import Path
from typing import Any

import numpy as np

from ntkcheck.io import save_figure_atomic, write_bytes_atomic, write_json_atomic, write_text_atomic

from .search import SearchResult

__all__ = ["write_report", "versions", "tightness_figure", "counterexample_figure"]


def versions() -> dict[str, str]:
    import hypothesis
    import scipy
    import sympy

    import ntkcheck

    v = {"ntkcheck": ntkcheck.__version__, "python": platform.python_version(), "numpy": np.__version__,
         "scipy": scipy.__version__, "sympy": sympy.__version__, "hypothesis": hypothesis.__version__}
    try:
        import torch
        v["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    return v


def _save_npy(path: Path, X: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.save(buf, np.asarray(X, dtype=np.float64), allow_pickle=False)
    return write_bytes_atomic(path, buf.getvalue())


def tightness_figure(result: SearchResult):
    """Histogram of bound/quantity over the configurations tried (log-spaced when the ratios span decades)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    r = np.array([x for x in result.ratios if math.isfinite(x)])
    p = result.problem
    if r.size:
        pos = r[r > 0]
        if pos.size and pos.max() / max(pos.min(), 1e-300) > 100:
            bins = np.logspace(np.log10(pos.min()), np.log10(pos.max()), 40)
            ax.hist(pos, bins=bins, color="tab:blue")
            ax.set_xscale("log")
        else:
            ax.hist(r, bins=40, color="tab:blue")
        ax.axvline(1.0, color="tab:red", ls="--", label="bound = quantity")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no non-vacuous configuration", ha="center", transform=ax.transAxes)
    ax.set_xlabel("bound / quantity")
    ax.set_ylabel("configurations")
    side = "lower" if p.direction == "lower" else "upper"
    ax.set_title(f"Tightness of the {side} bound on {p.quantity}\n{p.bound_text}  ({result.tried} tried)",
                 fontsize=9)
    return fig


def counterexample_figure(result: SearchResult):
    """Both sides with the certified tolerance, and the spectrum of the kernel, for the shrunk counterexample."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ce = result.counterexample
    p = result.problem
    from matplotlib.ticker import MaxNLocator

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.0, 4.2), layout="constrained")
    vals = [ce.bound_value, ce.quantity_value]
    a1.bar([0, 1], vals, color=["tab:orange", "tab:blue"], yerr=[0, ce.tol], capsize=6)
    a1.set_xticks([0, 1], ["bound", p.quantity])
    a1.set_title(f"slack {ce.slack:.4g}  (tolerance {ce.tol:.2g})", fontsize=9)
    a1.set_xlabel("side of the inequality")
    a1.set_ylabel("value")
    a2.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))   # indices and seeds are whole numbers
    try:
        from .problem import make_context
        from ntkcheck.theory.spectra import certified_eigvalsh
        if ce.quantity is not None and not ce.quantity.per_seed:
            ev = certified_eigvalsh(make_context(p, ce.config).K).eigenvalues
            a2.plot(range(1, len(ev) + 1), ev, "o-", label="kernel eigenvalues")
            a2.set_xlim(0.5, len(ev) + 0.5)
            a2.axhline(ce.bound_value, color="tab:orange", ls="--", label="bound")
            a2.set_xlabel("eigenvalue index i (ascending)")
            a2.set_ylabel("λ_i of the kernel")
            fig.legend(*a2.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8,
                       frameon=False)
        elif ce.quantity is not None:
            lam = [s[1] for s in ce.quantity.per_seed]
            a2.plot(range(len(lam)), lam, "o", label="λ_min per seed")
            a2.set_xlim(-0.5, len(lam) - 0.5)
            a2.axhline(ce.bound_value, color="tab:orange", ls="--", label="bound")
            a2.set_xlabel("seed of the finite-width network")
            a2.set_ylabel("λ_min of the empirical NTK")
            fig.legend(*a2.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8,
                       frameon=False)
    except Exception as exc:  # noqa: BLE001 - the figure is an aid; the numbers are in the report
        a2.text(0.5, 0.5, f"spectrum unavailable: {exc}", ha="center", transform=a2.transAxes, fontsize=7)
    a2.set_title(f"N = {ce.config.X.shape[0]}, d = {ce.config.X.shape[1]}, L = {ce.config.spec.L}", fontsize=9)
    fig.suptitle(f"Counterexample: {p.describe()}", fontsize=9)
    return fig


def _md(result: SearchResult, meta: dict[str, Any]) -> str:
    p = result.problem
    L = [f"# ntkcheck bound: {result.verdict}", "",
         f"- command: `{meta['command']}`" if meta.get("command") else "- command: (library call)",
         f"- claim: `{p.describe()}`",
         f"- evidence: {result.evidence} evaluated, non-vacuous configurations (minimum {result.min_evidence} for "
         f"'holds')" + (f"; undecided: {result.reason}" if result.verdict == "undecided" else ""), f"- quantity: {p.quantity}; direction: {p.direction}; space: {p.space}",
         f"- configurations tried: {result.tried} ("
         + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.tried_counts().items())
         + (f"; {result.counts['excluded']} more drawn and excluded by the assumptions"
            if result.counts.get("excluded") else "") + "); stopped by: "
         f"{result.stopped_by}; {result.elapsed:.1f} s",
         f"- seed {result.seed}; trial budget {result.trials}; time budget {result.budget}",
         f"- data: {'unit-norm rows (on the sphere)' if p.unit_norm else 'rows of free norm'}, pairwise distinct",
         "- certified: a violation counts only when −slack exceeds the eigenvalue error bound plus the quadrature "
         "tolerance (see `ntkcheck.bound_check.quantities`)", ""]
    ce = result.counterexample
    if ce is not None:
        cfg = ce.config
        L += ["## Counterexample (shrunk)", "",
              "| side | value |", "|---|---|",
              f"| bound | {ce.bound_value:.12g} |", f"| {p.quantity} | {ce.quantity_value:.12g} |",
              f"| slack (holds iff ≥ 0) | {ce.slack:.6g} |", f"| tolerance | {ce.tol:.3g} |", "",
              f"- architecture: `{cfg.spec.to_json()}`" + (f" ({cfg.spec.note})" if cfg.spec.note else ""),
              f"- N = {cfg.X.shape[0]}, d = {cfg.X.shape[1]}" + (f", width n = {cfg.width}" if cfg.width else ""),
              f"- files: `spec.json`, `X.npy`; first found at trial {result.found_at} ({result.found_in})"]
        if ce.note:
            L.append(f"- {ce.note}")
        if result.shrink_log:
            L += ["", "Shrinking steps: " + "; ".join(result.shrink_log)]
        f = result.found
        if f is not None:
            L += ["", f"Before shrinking: N = {f.config.X.shape[0]}, d = {f.config.X.shape[1]}, L = {f.config.spec.L}, "
                  f"bound {f.bound_value:.6g}, quantity {f.quantity_value:.6g}."]
    else:
        L += ["## No certified violation", "",
              f"- smallest slack: {result.min_slack:.6g}"
              + (" (negative but within the certified tolerance: rounding, not a violation)"
                 if result.min_slack < 0 else "")]
        t = result.tightest
        if t is not None:
            L += [f"- tightest configuration (smallest slack/(|bound|+|quantity|)): bound {t.bound_value:.6g}, "
                  f"quantity {t.quantity_value:.6g}, ratio {t.ratio:.6g}; saved in `tightest/`",
                  f"  - architecture: `{t.config.spec.to_json()}`, N = {t.config.X.shape[0]}, d = {t.config.X.shape[1]}"]
        L += ["- figure: tightness histogram (bound/quantity) in `report.png` / `report.pdf`"]
    L += ["", "## Versions", "", ", ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    return "\n".join(L) + "\n"


def write_report(result: SearchResult, out: str | Path, *, command: str | None = None) -> list[Path]:
    """Write the report files into directory ``out`` (module docstring); returns the paths written.
    ``command``: the shell-quoted command line that reproduces the run (``shlex.join``)."""
    import matplotlib.pyplot as plt

    out = Path(out)
    meta = {"versions": versions(), "command": command}
    paths = [write_json_atomic(out / "report.json", {**result.to_json(), **meta})]
    paths.append(write_text_atomic(out / "report.md", _md(result, meta)))
    if result.counterexample is not None:
        cfg = result.counterexample.config
        paths += [write_json_atomic(out / "spec.json", cfg.spec.to_json()), _save_npy(out / "X.npy", cfg.X)]
        fig = counterexample_figure(result)
    else:
        if result.tightest is not None:
            t = result.tightest.config
            paths += [write_json_atomic(out / "tightest" / "spec.json", t.spec.to_json()),
                      _save_npy(out / "tightest" / "X.npy", t.X)]
        fig = tightness_figure(result)
    for ext in ("png", "pdf"):
        paths.append(save_figure_atomic(fig, out / f"report.{ext}", dpi=120))
    plt.close(fig)
    return paths
