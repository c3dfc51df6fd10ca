r"""What a results store says: export (CSV, Parquet) and the report against NB201 accuracies.

For each metric (and configuration, seed) of an NB201 store, against the shipped 200-epoch test accuracies
(:func:`ntkcheck.data.nb201_accuracies`, NATS-Bench tss):

* Kendall τ-b and Spearman ρ of metric vs accuracy over the cells with a finite value, each with a percentile
  bootstrap 95 % interval over cells (:func:`ntkcheck.empirical.eigen_nas.rank_correlation`);
* top-k retention: |top-k by the metric ∩ top-k by accuracy| / k for k = 1 %, 5 %, 10 % of the cells, the metric's
  better end given by its registered direction (κ_N: lower);
* Chen et al.'s search protocol (NASWOT's, [C] §5 code): ``runs`` runs, each drawing ``draws`` cells uniformly
  without replacement from the swept cells and picking the best by the metric (a non-finite or failed value ranks
  last); the mean and standard deviation of the picked cells' accuracies, beside a random pick and the best of
  each draw (oracle) for scale;
* per-op fractions among the top 10 % of cells by the metric (TE-NAS Fig. 4): the share of each NB201 op over the
  six edges of those cells, beside its share over all swept cells;
* a scatter plot of accuracy vs metric, Kendall τ in the title, as PNG, PDF and the CSV behind it.
"""

from __future__ import annotations

import csv
import io

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.sweep.store import open_store

__all__ = ["export_rows", "sweep_report", "format_report", "search_protocol", "top_k_retention", "op_fractions"]

EXPORT_COLUMNS = ("space", "arch", "metric", "config_hash", "seed", "value", "status", "message", "seconds",
                  "device")


def export_rows(store_path: str, output: str) -> int:
    """Every row of the store, one value per row, to ``output`` (.csv or .parquet), written atomically."""
    from ntkcheck.io import atomic_path, write_text_atomic

    suffix = Path(output).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise NtkcheckError(f"export: {output}: the file name must end in .csv or .parquet")
    st = open_store(store_path, create=False)
    try:
        rows = list(st.rows())
    finally:
        st.close()
    if suffix == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(EXPORT_COLUMNS)
        for r in rows:
            w.writerow([getattr(r, c) if c != "value" else repr(float(r.value)) for c in EXPORT_COLUMNS])
        write_text_atomic(output, buf.getvalue())
        return len(rows)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise NtkcheckError("Parquet export needs pyarrow (pip install 'ntkcheck[parquet]'); or export to .csv") from None
    table = pa.table({c: [getattr(r, c) for r in rows] for c in EXPORT_COLUMNS})
    with atomic_path(output) as tmp:
        pq.write_table(table, str(tmp))
    return len(rows)


# ---- statistics ------------------------------------------------------------------------------------

def _order_key(values: np.ndarray, direction: str) -> np.ndarray:
    """Sort key, best first: the metric's better end first; NaN (failed) last, ±inf where they fall."""
    v = np.where(np.isnan(values), np.inf if direction == "min" else -np.inf, values)
    return v if direction == "min" else -v


def top_k_retention(values: np.ndarray, acc: np.ndarray, direction: str, k: int) -> float:
    """|top-k by metric ∩ top-k by accuracy| / k (stable sorts, so ties are broken by cell order)."""
    by_metric = np.argsort(_order_key(values, direction), kind="stable")[:k]
    by_acc = np.argsort(-acc, kind="stable")[:k]
    return len(set(by_metric.tolist()) & set(by_acc.tolist())) / k


def search_protocol(values: np.ndarray, acc: np.ndarray, direction: str, *, runs: int = 500, draws: int = 100,
                    seed: int = 0) -> dict[str, Any]:
    """Chen et al. / NASWOT protocol: ``runs`` × (draw ``draws`` cells, pick the best by the metric)."""
    n = values.shape[0]
    if draws > n:
        raise NtkcheckError(f"search protocol: {draws} draws per run but only {n} cells in the store")
    key = _order_key(values, direction)
    rng = np.random.default_rng([seed, 500])
    picked, oracle, random_pick = [], [], []
    for _ in range(runs):
        idx = rng.choice(n, size=draws, replace=False)
        picked.append(acc[idx[np.argmin(key[idx])]])  # argmin takes the first of ties, in draw order
        oracle.append(acc[idx].max())
        random_pick.append(acc[idx[0]])
    f = lambda a: {"mean": float(np.mean(a)), "std": float(np.std(a))}  # noqa: E731
    return {"runs": runs, "draws": draws, "seed": seed, "picked": f(picked), "random": f(random_pick),
            "oracle": f(oracle)}


def op_fractions(cells: list[str], values: np.ndarray, direction: str, top: float = 0.10) -> dict[str, Any]:
    """Share of each NB201 op over the six edges of the top ``top`` fraction of cells by the metric, and over all."""
    from ntkcheck.spec import NB201_OPS, parse_nb201

    k = max(1, int(round(top * len(cells))))
    best = np.argsort(_order_key(values, direction), kind="stable")[:k]
    ops = [parse_nb201(c) for c in cells]

    def share(idx) -> dict[str, float]:
        counts = defaultdict(int)
        for i in idx:
            for o in ops[i]:
                counts[o] += 1
        tot = 6 * len(idx)
        return {o: counts[o] / tot for o in NB201_OPS}

    return {"top_fraction": top, "k": k, "top": share(best), "all": share(range(len(cells)))}


def _scatter(out_dir: Path, name: str, cells, values, acc, tau: float, label: str, dataset: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkcheck.io import save_figure_atomic, write_text_atomic

    fin = np.isfinite(values)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(values[fin], acc[fin], s=2, alpha=0.4, rasterized=True)
    pos = values[fin] > 0
    if pos.all() and pos.size and values[fin].max() / max(values[fin].min(), 1e-300) > 1e3:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel(f"{dataset} test accuracy (%)")
    ax.set_title(f"{name}: Kendall τ = {tau:.3f} (n = {int(fin.sum())})")
    fig.tight_layout()
    files = []
    for ext in ("png", "pdf"):
        p = out_dir / f"scatter_{name}.{ext}"
        save_figure_atomic(fig, p, dpi=150)
        files.append(str(p))
    plt.close(fig)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["arch", name, "accuracy"])
    for c, v, a in zip(cells, values, acc):
        w.writerow([c, repr(float(v)), repr(float(a))])
    p = out_dir / f"scatter_{name}.csv"
    write_text_atomic(p, buf.getvalue())
    files.append(str(p))
    return files


def sweep_report(store_path: str, against: str, out_dir: Path, *, runs: int = 500, draws: int = 100, seed: int = 0,
                 n_boot: int = 1000, command: str | None = None) -> dict[str, Any]:
    """The report (module docstring) as a dict; plots and ``report.json`` are written to ``out_dir``."""
    from ntkcheck.data import DATASETS, SOURCE, nb201_accuracies
    from ntkcheck.empirical.eigen_nas import rank_correlation
    from ntkcheck.io import write_json_atomic
    from ntkcheck.meta import versions
    from ntkcheck.metrics import METRICS

    if not against.startswith("nb201:") or against.split(":", 1)[1] not in DATASETS:
        raise NtkcheckError(f"--against {against!r}: expected nb201:DATASET with DATASET one of {', '.join(DATASETS)}")
    if runs < 1 or draws < 1:
        raise NtkcheckError("--runs and --draws must be >= 1")
    dataset = against.split(":", 1)[1]
    st = open_store(store_path, create=False)
    try:
        if st.meta().get("space") != "nb201":
            raise NtkcheckError(f"{store_path} holds a {st.meta().get('space')} sweep; accuracies exist for nb201 only")
        configs = st.configs()
        groups: dict[tuple[str, str, int], list] = defaultdict(list)
        for r in st.rows():
            groups[(r.metric, r.config_hash, r.seed)].append(r)
    finally:
        st.close()
    if not groups:
        raise NtkcheckError(f"{store_path} holds no results")
    accs = nb201_accuracies(dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"command": command, "store": str(store_path), "against": against,
                              "accuracy_source": SOURCE, "seed": seed, "versions": versions(), "metrics": []}
    for (metric, h, s), rows in sorted(groups.items()):
        rows.sort(key=lambda r: r.arch)
        cells = [r.arch for r in rows]
        values = np.array([r.value if r.status != "error" else math.nan for r in rows], dtype=float)
        acc = np.array([accs[c] for c in cells])
        direction = METRICS[metric].direction if metric in METRICS else "max"
        n = len(cells)
        entry: dict[str, Any] = {
            "metric": metric, "config_hash": h, "config": configs.get(h, {}).get("config"),
            "inputs": configs.get(h, {}).get("inputs"), "seed": s, "direction": direction, "n_cells": n,
            "n_ok": sum(r.status == "ok" for r in rows), "n_singular": sum(r.status == "singular" for r in rows),
            "n_error": sum(r.status == "error" for r in rows),
            "kendall": rank_correlation(values, acc, method="kendall", n_boot=n_boot, seed=seed),
            "spearman": rank_correlation(values, acc, method="spearman", n_boot=n_boot, seed=seed),
            "top_k_retention": {f"{p}%": top_k_retention(values, acc, direction, max(1, int(round(p / 100 * n))))
                                for p in (1, 5, 10)},
        }
        entry["search_protocol"] = (search_protocol(values, acc, direction, runs=runs, draws=draws, seed=seed)
                                    if draws <= n else {"skipped": f"{n} cells < {draws} draws per run"})
        entry["op_fractions_top10"] = op_fractions(cells, values, direction)
        label = f"{metric} ({'lower' if direction == 'min' else 'higher'} is better)"
        entry["plots"] = _scatter(out_dir, f"{metric}_{h}_s{s}", cells, values, acc, entry["kendall"]["value"],
                                  label, dataset)
        report["metrics"].append(entry)
    write_json_atomic(out_dir / "report.json", report)
    report["report_json"] = str(out_dir / "report.json")
    return report


def format_report(rep: dict[str, Any]) -> str:
    lines = [f"sweep report: {rep['store']} against {rep['against']}",
             f"accuracies: {rep['accuracy_source']}"]
    if rep.get("command"):
        lines.append(f"command: {rep['command']}")
    for e in rep["metrics"]:
        k, sp = e["kendall"], e["spearman"]
        lines.append(f"\n{e['metric']} [{e['config_hash']}] seed {e['seed']}, {e['n_cells']} cells "
                     f"({e['n_ok']} ok, {e['n_singular']} singular, {e['n_error']} error); better: {e['direction']}")
        lines.append(f"  inputs: {e['inputs']}")
        lines.append(f"  Kendall tau = {k['value']:.4f} [{k['ci95'][0]:.4f}, {k['ci95'][1]:.4f}] (n = {k['n']}); "
                     f"Spearman rho = {sp['value']:.4f} [{sp['ci95'][0]:.4f}, {sp['ci95'][1]:.4f}]")
        lines.append("  top-k retention: " + ", ".join(f"{p}: {v:.3f}" for p, v in e["top_k_retention"].items()))
        sp_ = e["search_protocol"]
        if "picked" in sp_:
            lines.append(f"  search protocol ({sp_['runs']} runs x {sp_['draws']} cells): picked "
                         f"{sp_['picked']['mean']:.2f} +- {sp_['picked']['std']:.2f}; random "
                         f"{sp_['random']['mean']:.2f} +- {sp_['random']['std']:.2f}; best of draw "
                         f"{sp_['oracle']['mean']:.2f} +- {sp_['oracle']['std']:.2f}")
        else:
            lines.append(f"  search protocol: {sp_['skipped']}")
        of = e["op_fractions_top10"]
        lines.append(f"  op shares in the top {of['k']} cells (all cells): " +
                     ", ".join(f"{o} {of['top'][o]:.2f} ({of['all'][o]:.2f})" for o in of["top"]))
        lines.append(f"  plots: {', '.join(e['plots'])}")
    lines.append(f"\nreport: {rep.get('report_json')}")
    return "\n".join(lines)



