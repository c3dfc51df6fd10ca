r"""What a results store says: export (long or wide table) and the leaderboard against NB201 accuracies.

**Leaderboard** (:func:`sweep_report`).  Every metric of an NB201 store, the size baselines #params, FLOPs
(NAS-Bench-201 API convention) and #conv ops computed in closed form (:mod:`ntkcheck.metrics.size`) whether or not
the store holds them, and rank-sum combinations of metrics (``--combine kappa+regions``: each cell's ranks under
the metrics added, the way TE-NAS (Chen, Gong, Wang, ICLR 2021, §3.3) combines κ_N and R_N), ranked by

* Kendall τ-b and Spearman ρ with the target, each with a bootstrap confidence interval
  (:func:`ntkcheck.stats.kendall`, :func:`ntkcheck.stats.spearman`);
* Kendall's partial τ given #params (:func:`ntkcheck.stats.partial_kendall`): what the metric says about accuracy
  beyond network size;
* top-k retention at 1 %, 5 % and 10 % of the population (:func:`ntkcheck.stats.top_k_retention`); a fraction
  that is less than one cell of the population is not reported and says so.

Sign convention: every metric is oriented so that its better end is high before any statistic (its registered
``direction``; κ_N is negated; d̄ and m̄ score −|value − centre| of Chen et al.'s NB201 window, NeurIPS 2022 §5), so
τ > 0 means that the cells a metric prefers are the more accurate ones.  Targets: the NATS-Bench 200-epoch test
accuracy of ``--against nb201:DATASET`` (:func:`ntkcheck.data.nb201_accuracies`), and any column of a user table
(``--targets FILE.csv``, e.g. validation accuracies).  Populations: all cells the store holds values for, and
those cells without an unreachable op (:func:`has_unreachable_op`: every op other than ``none`` lies on a path
from the cell input to its output; 9,445 of the 15,625 cells, the size of NAS-Bench-Suite-Zero's NB201 table,
Krishnakumar et al., NeurIPS 2022 Datasets and Benchmarks).  ``report.md`` carries a protocol line under every
table (target, population, n, sign convention, interval method); ``report.json`` the same numbers.

**Per metric** (for each metric, configuration and seed of the store, over its own cells): Chen et al.'s search
protocol (NASWOT's; Chen et al. 2022 §5 code: ``runs`` runs, each drawing ``draws`` cells and picking the best by
the metric), the op shares among its top 10 % of cells (TE-NAS Fig. 4), and a scatter plot of accuracy against the
metric (PNG, PDF and the CSV behind it).

**Warnings**: a metric with values for fewer cells than the store holds (an unfinished sweep), failed values,
and top-k fractions below one cell.
"""

from __future__ import annotations

import csv
import io
import math
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.sweep.store import open_store

__all__ = ["export_rows", "wide_table", "sweep_report", "format_report", "search_protocol", "top_k_retention",
           "op_fractions", "has_unreachable_op", "parse_combine", "BASELINES", "TOP_FRACTIONS"]

EXPORT_COLUMNS = ("space", "arch", "metric", "config_hash", "seed", "value", "status", "message", "seconds",
                  "device")
#: the size baselines of every leaderboard: registry names, computed in closed form when the store lacks them
BASELINES = ("params", "flops", "conv_ops")
#: registry metrics that measure size (drawn and listed as baselines when a store holds them)
SIZE_METRICS = ("params", "params_mb", "flops", "flops_torch", "conv_ops")
TOP_FRACTIONS = (0.01, 0.05, 0.10)
SIGN_CONVENTION = ("each metric oriented so that its better end is high (lower-is-better metrics such as kappa "
                   "negated; dbar, mbar scored by -|value - centre of Chen et al.'s NB201 window|, NeurIPS 2022 "
                   "§5; a rank sum by the sum of the oriented ranks): tau > 0 means the preferred cells are the "
                   "more accurate")
POPULATIONS = {"all": "all cells of the store that every metric has",
               "reachable": "those of them without an unreachable op (every op other than none on an input-to-"
                            "output path; 9,445 of all 15,625 NB201 cells)"}


# ---- populations ------------------------------------------------------------------------------------

def has_unreachable_op(cell: str) -> bool:
    """True iff some op of the NB201 cell other than ``none`` lies on no path from node 0 (the cell's input) to
    node 3 (its output) through edges whose op is not ``none``: its output never reaches the cell output, or its
    input never depends on the cell input.  9,445 of the 15,625 cells have no such op."""
    from ntkcheck.spec import NB201_EDGES, parse_nb201

    live = [e for e, op in zip(NB201_EDGES, parse_nb201(cell)) if op != "none"]
    fwd, bwd = {0}, {3}
    for j in (1, 2, 3):
        if any(s in fwd and t == j for s, t in live):
            fwd.add(j)
    for j in (2, 1, 0):
        if any(t in bwd and s == j for s, t in live):
            bwd.add(j)
    return any(not (s in fwd and t in bwd) for s, t in live)


# ---- reading a store ----------------------------------------------------------------------------------

def _read_store(store_path: str) -> tuple[dict[str, str], dict[str, dict], dict[tuple[str, str, int], list]]:
    st = open_store(store_path, create=False)
    try:
        meta, configs = st.meta(), st.configs()
        groups: dict[tuple[str, str, int], list] = defaultdict(list)
        for r in st.rows():
            groups[(r.metric, r.config_hash, r.seed)].append(r)
    finally:
        st.close()
    return meta, configs, dict(sorted(groups.items()))


def _labels(keys) -> dict[tuple[str, str, int], str]:
    """A readable, hash-free label per (metric, config hash, seed): the metric name, then "config 2", "seed 1"
    only where the store holds the metric more than once (configurations numbered in hash order)."""
    by_metric: dict[str, list] = defaultdict(list)
    for k in keys:
        by_metric[k[0]].append(k)
    out = {}
    for m, ks in by_metric.items():
        hashes = sorted({k[1] for k in ks})
        seeds = sorted({k[2] for k in ks})
        for k in ks:
            parts = [m]
            if len(hashes) > 1:
                parts.append(f"config {hashes.index(k[1]) + 1}")
            if len(seeds) > 1:
                parts.append(f"seed {k[2]}")
            out[k] = " ".join(parts)
    return out


# ---- export -----------------------------------------------------------------------------------------

def wide_table(store_path: str) -> tuple[list[str], list[list[Any]]]:
    """One row per architecture: for an NB201 store ``nb201_index`` (the benchmark's index), ``arch`` (the cell
    string), one column per metric (label as in the report; NaN where failed or missing) and the NATS-Bench
    200-epoch test accuracies of the three datasets; for other spaces ``arch`` and the metrics."""
    meta, _, groups = _read_store(store_path)
    labels = _labels(groups)
    cols = [labels[k] for k in groups]
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for k, rows in groups.items():
        for r in rows:
            values[r.arch][labels[k]] = math.nan if r.status == "error" else float(r.value)
    nb201 = meta.get("space") == "nb201"
    if nb201:
        from ntkcheck.data import DATASETS, nb201_table

        t = nb201_table()
        pos = {a: i for i, a in enumerate(t.arch)}
        archs = sorted(values, key=lambda a: pos[a])
        header = ["nb201_index", "arch", *cols, *(f"test_accuracy_{d}" for d in DATASETS)]
        body = [[int(t.index[pos[a]]), a, *(values[a].get(c, math.nan) for c in cols),
                 *(float(t.accuracy[d][pos[a]]) for d in DATASETS)] for a in archs]
    else:
        archs = sorted(values)
        header = ["arch", *cols]
        body = [[a, *(values[a].get(c, math.nan) for c in cols)] for a in archs]
    return header, body


def export_rows(store_path: str, output: str, *, wide: bool = False) -> int:
    """The store to ``output`` (.csv or .parquet), written atomically: every row, one value per row, or with
    ``wide`` one row per architecture (:func:`wide_table`).  Returns the number of rows written."""
    from ntkcheck.io import atomic_path, write_text_atomic

    suffix = Path(output).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise NtkcheckError(f"export: {output}: the file name must end in .csv or .parquet")
    if wide:
        header, body = wide_table(store_path)
        columns = {h: [r[i] for r in body] for i, h in enumerate(header)}
    else:
        st = open_store(store_path, create=False)
        try:
            rows = list(st.rows())
        finally:
            st.close()
        header = list(EXPORT_COLUMNS)
        body = [[getattr(r, c) for c in EXPORT_COLUMNS] for r in rows]
        columns = {c: [getattr(r, c) for r in rows] for c in EXPORT_COLUMNS}
    if suffix == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for r in body:
            w.writerow([repr(float(v)) if isinstance(v, float) else v for v in r])
        write_text_atomic(output, buf.getvalue())
        return len(body)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise NtkcheckError("Parquet export needs pyarrow (pip install 'ntkcheck[parquet]'); or export to .csv") \
            from None
    with atomic_path(output) as tmp:
        pq.write_table(pa.table(columns), str(tmp))
    return len(body)


# ---- per-metric statistics --------------------------------------------------------------------------------

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


# ---- figures ----------------------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_dir: Path, stem: str) -> list[str]:
    from ntkcheck.io import save_figure_atomic

    files = []
    for ext in ("png", "pdf"):
        p = out_dir / f"{stem}.{ext}"
        save_figure_atomic(fig, p, dpi=150, bbox_inches="tight")
        files.append(str(p))
    return files


def _write_csv(path: Path, header: list[str], rows) -> str:
    from ntkcheck.io import write_text_atomic

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in r])
    write_text_atomic(path, buf.getvalue())
    return str(path)


def scatter_figure(label: str, better: str, values: np.ndarray, acc: np.ndarray, tau: float, target: str):
    """Accuracy against one metric (log x when positive over more than three decades), τ in the title."""
    plt = _plt()
    fin = np.isfinite(values) & np.isfinite(acc)
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    ax.scatter(values[fin], acc[fin], s=2, alpha=0.4, rasterized=True)
    pos = values[fin] > 0
    if pos.all() and pos.size and values[fin].max() / max(values[fin].min(), 1e-300) > 1e3:
        ax.set_xscale("log")
    ax.set_xlabel("\n".join(textwrap.wrap(f"{label} (better: {better})", 50)))
    ax.set_ylabel("\n".join(textwrap.wrap(target, 40)))
    ax.set_title("\n".join(textwrap.wrap(f"{label}: Kendall τ = {tau:.3f} (n = {int(fin.sum())})", 48)),
                 fontsize=10)
    fig.tight_layout()
    return fig


def _scatter(out_dir: Path, stem: str, label: str, better: str, cells, values, acc, tau: float,
             target: str) -> list[str]:
    plt = _plt()
    fig = scatter_figure(label, better, values, acc, tau, target)
    files = _save(fig, out_dir, stem)
    plt.close(fig)
    files.append(_write_csv(out_dir / f"{stem}.csv", ["arch", label, "accuracy"], zip(cells, values, acc)))
    return files


_KIND_STYLE = {"metric": ("tab:blue", "metric"), "baseline": ("0.55", "size baseline (#params, FLOPs, #conv)"),
               "combined": ("tab:orange", "rank-sum combination")}


def leaderboard_figure(boards: list[dict], target: str):
    """Horizontal bars of Kendall τ with their intervals, one panel per population, rows in the order of the
    first panel (best first)."""
    plt = _plt()
    order = [r["label"] for r in boards[0]["rows"]]
    n = len(order)
    fig, axes = plt.subplots(1, len(boards), figsize=(4.2 * len(boards) + 1.6, 0.42 * n + 1.9), sharey=True,
                             squeeze=False)
    for ax, b in zip(axes[0], boards):
        rows = {r["label"]: r for r in b["rows"]}
        for y, lab in enumerate(order):
            r = rows[lab]
            k = r["kendall"]
            t = k["statistic"]
            if t is None:
                continue
            colour = _KIND_STYLE[r["kind"]][0]
            lo, hi = k["ci"]
            err = None if lo is None or hi is None else [[t - lo], [hi - t]]
            ax.barh(y, t, color=colour, xerr=err, capsize=3, height=0.7, error_kw={"elinewidth": 1})
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(n))
        ax.set_yticklabels(order)
        ax.set_xlabel("Kendall τ-b with accuracy (95% CI)")
        ax.set_title("\n".join(textwrap.wrap(f"{b['population_name']} (n = {b['n_cells']})", 40)), fontsize=10)
    axes[0][0].invert_yaxis()  # best first (the y axis is shared: invert it once)
    axes[0][0].set_ylabel("metric")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c, _ in _KIND_STYLE.values()]
    fig.legend(handles, [lab for _, lab in _KIND_STYLE.values()], loc="lower center", ncol=3, fontsize=8,
               frameon=False)
    fig.suptitle("\n".join(textwrap.wrap(f"Leaderboard against {target}", 70)), fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _leaderboard_figure(out_dir: Path, boards: list[dict], target: str) -> list[str]:
    plt = _plt()
    fig = leaderboard_figure(boards, target)
    files = _save(fig, out_dir, "leaderboard")
    plt.close(fig)
    return files


# ---- the leaderboard ----------------------------------------------------------------------------------------

def parse_combine(specs, available) -> list[tuple[str, ...]]:
    """``["kappa+regions", ...]`` → [("kappa", "regions"), ...]; every part a metric label of the store or a
    baseline, at least two distinct parts."""
    out = []
    for spec in specs or ():
        for one in str(spec).split(","):
            parts = tuple(p.strip() for p in one.split("+"))
            if len(parts) < 2 or any(not p for p in parts) or len(set(parts)) != len(parts):
                raise NtkcheckError(f"--combine {one!r}: expected two or more distinct metrics joined by '+', "
                                    "e.g. kappa+regions")
            missing = [p for p in parts if p not in available]
            if missing:
                raise NtkcheckError(f"--combine {one!r}: {', '.join(missing)} not in the store or the baselines "
                                    f"({', '.join(available)})")
            out.append(parts)
    return out


def read_targets(path: str, cells: list[str]) -> dict[str, np.ndarray]:
    """A user table of further targets: CSV with a column ``arch`` (NB201 cell strings) or ``index`` (NB201
    indices) and one or more numeric columns (e.g. ``valid_accuracy``); each becomes a target, aligned to
    ``cells`` (NaN for a cell the table lacks)."""
    from ntkcheck.data import nb201_table

    p = Path(path)
    try:
        with p.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise NtkcheckError(f"--targets {path}: cannot read ({type(exc).__name__})") from None
    if len(rows) < 2:
        raise NtkcheckError(f"--targets {path}: expected a header and at least one row")
    header = [h.strip() for h in rows[0]]
    key = "arch" if "arch" in header else "index" if "index" in header else None
    if key is None:
        raise NtkcheckError(f"--targets {path}: needs a column 'arch' (NB201 cell strings) or 'index' (NB201 indices)")
    ki = header.index(key)
    cols = [i for i, h in enumerate(header) if i != ki and h not in ("arch", "index")]
    if not cols:
        raise NtkcheckError(f"--targets {path}: no target column besides {key!r}")
    arch_of = None
    if key == "index":
        t = nb201_table()
        arch_of = dict(zip(t.index.tolist(), t.arch))
    table: dict[str, list[float]] = {}
    for ln, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise NtkcheckError(f"--targets {path}: line {ln} has {len(r)} fields, the header {len(header)}")
        try:
            a = r[ki].strip() if arch_of is None else arch_of[int(r[ki])]
            table[a] = [float(r[i]) for i in cols]
        except (ValueError, KeyError):
            raise NtkcheckError(f"--targets {path}: line {ln}: not a number or not an NB201 {key}") from None
    pos = {a: i for i, a in enumerate(cells)}
    out = {}
    for j, i in enumerate(cols):
        v = np.full(len(cells), np.nan)
        for a, vals in table.items():
            if a in pos:
                v[pos[a]] = vals[j]
        out[f"{header[i]} (from {p.name})"] = v
    return out


def _rank_sum(scores: list[np.ndarray]) -> np.ndarray:
    """TE-NAS's combination: the sum of each cell's ranks under the (oriented) metrics; NaN if any is NaN."""
    from scipy.stats import rankdata

    out = np.zeros(scores[0].shape[0])
    bad = np.zeros(out.shape, dtype=bool)
    for s in scores:
        fin = np.isfinite(s)
        bad |= ~fin
        r = np.full(s.shape, np.nan)
        r[fin] = rankdata(s[fin])
        out += np.where(fin, r, 0)
    out[bad] = np.nan
    return out


def _board(series: list[dict], target: np.ndarray, mask: np.ndarray, params: np.ndarray, *, seed: int,
           n_resamples: int, warnings: list[str], pop_label: str) -> tuple[list[dict], dict[str, str]]:
    from ntkcheck.stats import kendall, partial_kendall, spearman, top_k_retention as topk

    y = target[mask]
    z = params[mask]
    n = int(np.isfinite(y).sum())
    rows, methods = [], {}
    for s in series:
        x = s["score"][mask]
        k = kendall(x, y, seed=seed, n_resamples=n_resamples)
        r = spearman(x, y, seed=seed, n_resamples=n_resamples)
        pk = None if s["metric"] == "params" else partial_kendall(x, y, z, seed=seed, n_resamples=n_resamples)
        methods.setdefault("kendall", k.method)
        methods.setdefault("spearman", r.method)
        if pk is not None:
            methods.setdefault("partial_kendall", pk.method)
        tk = {}
        for frac in TOP_FRACTIONS:
            name = f"{frac:.0%}"
            if frac * k.n < 1:
                tk[name] = None
                msg = (f"{pop_label}: top-{name} of {k.n} cells is {frac * k.n:.2f} cells, below one cell: "
                       "not reported")
                if msg not in warnings:
                    warnings.append(msg)
            else:
                tk[name] = topk(x, y, frac, better="max")
        rows.append({"label": s["label"], "metric": s["metric"], "kind": s["kind"], "better": s["better"],
                     "kendall": k.to_json(), "spearman": r.to_json(),
                     "partial_kendall_given_params": None if pk is None else pk.to_json(), "top_k_retention": tk})
    rows.sort(key=lambda r: (-(r["kendall"]["statistic"] if r["kendall"]["statistic"] is not None else -2),
                             r["label"]))
    return rows, {**methods, "n_target": str(n)}


def sweep_report(store_path: str, against: str, out_dir: Path, *, runs: int = 500, draws: int = 100, seed: int = 0,
                 n_boot: int = 1000, command: str | None = None, combine=(), targets: str | None = None
                 ) -> dict[str, Any]:
    """The report (module docstring) as a dict; ``report.md``, ``report.json`` and the figures go to ``out_dir``.
    ``n_boot``: bootstrap resamples of every interval."""
    from ntkcheck.data import DATASETS, SOURCE, nb201_accuracies
    from ntkcheck.io import write_json_atomic, write_text_atomic
    from ntkcheck.meta import versions
    from ntkcheck.metrics import METRICS, better_score, get_metric
    from ntkcheck.metrics.size import nb201_size
    from ntkcheck.stats import kendall

    if not against.startswith("nb201:") or against.split(":", 1)[1] not in DATASETS:
        raise NtkcheckError(f"--against {against!r}: expected nb201:DATASET with DATASET one of {', '.join(DATASETS)}")
    if runs < 1 or draws < 1:
        raise NtkcheckError("--runs and --draws must be >= 1")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise NtkcheckError(f"--resamples must be an integer >= 100, got {n_boot!r}")
    dataset = against.split(":", 1)[1]
    meta, configs, groups = _read_store(store_path)
    if meta.get("space") != "nb201":
        raise NtkcheckError(f"{store_path} holds a {meta.get('space')} sweep; accuracies exist for nb201 only")
    if not groups:
        raise NtkcheckError(f"{store_path} holds no results")
    labels = _labels(groups)
    baselines = [b for b in BASELINES if b not in {k[0] for k in groups}]
    combos = parse_combine(combine, [*labels.values(), *baselines])
    union = sorted({r.arch for rows in groups.values() for r in rows})
    warnings: list[str] = []
    by_group = {k: {r.arch: r for r in rows} for k, rows in groups.items()}
    common = [a for a in union if all(a in g for g in by_group.values())]
    for k, g in by_group.items():
        if len(g) < len(union):
            warnings.append(f"{labels[k]}: values for {len(g)} of the {len(union)} cells in the store (an unfinished "
                            "sweep? the same sweep command computes the rest)")
        errors = sum(r.status == "error" for r in g.values())
        if errors:
            warnings.append(f"{labels[k]}: {errors} cell(s) failed (status error) and are left out of its statistics")
    planned = int(meta.get("planned_archs", "0") or 0)
    if planned > len(union):
        warnings.append(f"the store holds {len(union)} of the {planned} cells its last sweep command asked for (an "
                        "unfinished sweep? the same command computes the rest)")
    if len(common) < len(union):
        warnings.append(f"the leaderboard compares the metrics on the {len(common)} cells that every metric has "
                        f"(of {len(union)} in the store)")
    extra_targets = read_targets(targets, common) if targets else {}
    out_dir.mkdir(parents=True, exist_ok=True)

    accs = nb201_accuracies(dataset)
    test_name = f"{dataset} test accuracy (NATS-Bench tss, 200 epochs)"
    target_arrays = {test_name: np.array([accs[c] for c in common]), **extra_targets}
    size = nb201_size(common)
    params = size.params.astype(float)
    series = []
    for k, g in by_group.items():
        v = np.array([g[c].value if g[c].status != "error" else math.nan for c in common], dtype=float)
        m = METRICS.get(k[0])
        series.append({"label": labels[k], "metric": k[0], "kind": "baseline" if k[0] in SIZE_METRICS else "metric",
                       "values": v,
                       "score": better_score(k[0], v), "better": m.better if m else "max"})
    base_values = {"params": params, "flops": size.flops, "conv_ops": size.conv_ops.astype(float)}
    for b in baselines:
        series.append({"label": b, "metric": b, "kind": "baseline", "values": base_values[b],
                       "score": better_score(b, base_values[b]), "better": get_metric(b).better})
    by_label = {s["label"]: s for s in series}
    for parts in combos:
        series.append({"label": "+".join(parts), "metric": "+".join(parts), "kind": "combined", "values": None,
                       "score": _rank_sum([by_label[p]["score"] for p in parts]),
                       "better": "max (sum of the oriented ranks)"})
    reachable = np.array([not has_unreachable_op(c) for c in common])
    pops = {"all": np.ones(len(common), dtype=bool), "reachable": reachable}
    boards = []
    for tname, tvals in target_arrays.items():
        for pname, mask in pops.items():
            rows, methods = _board(series, tvals, mask, params, seed=seed, n_resamples=n_boot, warnings=warnings,
                                   pop_label=f"{tname}, {pname} cells")
            boards.append({"target": tname, "population": pname, "population_name": f"{pname} cells",
                           "population_definition": POPULATIONS[pname], "n_cells": int(mask.sum()),
                           "rows": rows, "methods": methods})

    report: dict[str, Any] = {"command": command, "store": Path(store_path).name, "against": against,
                              "accuracy_source": SOURCE, "seed": seed, "resamples": n_boot,
                              "sign_convention": SIGN_CONVENTION, "populations": POPULATIONS,
                              "n_cells_store": len(union), "n_cells_common": len(common), "warnings": warnings,
                              "versions": versions(), "leaderboard": boards, "metrics": []}
    report["leaderboard_figure"] = [Path(f).name for f in _leaderboard_figure(
        out_dir, [b for b in boards if b["target"] == test_name], test_name)]

    accs_all = accs
    # a metric with a value for every common cell: its τ is the leaderboard's (all cells, test accuracy)
    same = {r["label"]: r["kendall"] for r in boards[0]["rows"]}
    for k, g in by_group.items():
        cells = sorted(g)
        values = np.array([g[c].value if g[c].status != "error" else math.nan for c in cells], dtype=float)
        acc = np.array([accs_all[c] for c in cells])
        score = better_score(k[0], values)
        n = len(cells)
        m = METRICS.get(k[0])
        tau = same[labels[k]] if n == len(common) else kendall(score, acc, seed=seed, n_resamples=n_boot).to_json()
        entry: dict[str, Any] = {
            "metric": k[0], "label": labels[k], "config_hash": k[1], "config": configs.get(k[1], {}).get("config"),
            "inputs": configs.get(k[1], {}).get("inputs"), "seed": k[2], "better": m.better if m else "max",
            "n_cells": n, "n_ok": sum(r.status == "ok" for r in g.values()),
            "n_singular": sum(r.status == "singular" for r in g.values()),
            "n_error": sum(r.status == "error" for r in g.values()), "kendall": tau}
        entry["search_protocol"] = (search_protocol(score, acc, "max", runs=runs, draws=draws, seed=seed)
                                    if draws <= n else {"skipped": f"{n} cells < {draws} draws per run"})
        entry["op_fractions_top10"] = op_fractions(cells, score, "max")
        stem = f"scatter_{k[0]}_{k[1]}_s{k[2]}"
        entry["plots"] = [Path(f).name for f in _scatter(out_dir, stem, labels[k], entry["better"], cells, values,
                                                         acc, tau["statistic"] if tau["statistic"] is not None
                                                         else math.nan, test_name)]
        report["metrics"].append(entry)
    write_json_atomic(out_dir / "report.json", report)
    write_text_atomic(out_dir / "report.md", _markdown(report))
    report["report_dir"] = str(out_dir)
    return report


# ---- text ---------------------------------------------------------------------------------------------------

def _est(e: dict | None, digits: int = 3) -> str:
    if e is None or e["statistic"] is None:
        return "n/a"
    lo, hi = e["ci"]
    ci = "" if lo is None or hi is None else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{e['statistic']:.{digits}f}{ci}"


def _topk(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _protocol_line(b: dict, resamples: int) -> str:
    m = b["methods"]
    return (f"Protocol: target {b['target']}; population {b['population_definition']}, n = {b['n_cells']} cells "
            f"(per row n = pairs with finite values); sign: {SIGN_CONVENTION}; tau: {m.get('kendall', 'n/a')}; "
            f"rho: {m.get('spearman', 'n/a')}; partial tau given #params (closed form, NB201 C=16 N=5): "
            f"{m.get('partial_kendall', 'n/a')}; top-k: |top-k by metric ∩ top-k by target| / k, "
            "k = round(fraction · n) (Abdelfattah et al., ICLR 2021); a metric unrelated to the target retains the "
            "fraction itself on average.")


def _markdown(rep: dict) -> str:
    L = [f"# Leaderboard of `{rep['store']}` against NB201 {rep['against'].split(':', 1)[1]}", ""]
    if rep.get("command"):
        L += [f"Command: `{rep['command']}`", ""]
    L += [f"Accuracies: {rep['accuracy_source']}", "",
          f"Cells: {rep['n_cells_store']} in the store, {rep['n_cells_common']} with a value of every metric.", ""]
    if rep["warnings"]:
        L += ["## Warnings", ""] + [f"- {w}" for w in rep["warnings"]] + [""]
    for b in rep["leaderboard"]:
        L += [f"## {b['target']}: {b['population_name']} (n = {b['n_cells']})", "",
              "| metric | kind | better | n | Kendall τ [95% CI] | Spearman ρ [95% CI] | partial τ given #params | "
              "top-1% | top-5% | top-10% |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in b["rows"]:
            tk = r["top_k_retention"]
            L.append(f"| {r['label']} | {r['kind']} | {r['better']} | {r['kendall']['n']} | {_est(r['kendall'])} | "
                     f"{_est(r['spearman'])} | {_est(r['partial_kendall_given_params'])} | {_topk(tk['1%'])} | "
                     f"{_topk(tk['5%'])} | {_topk(tk['10%'])} |")
        L += ["", _protocol_line(b, rep["resamples"]), ""]
    L += [f"Figure: {', '.join(rep['leaderboard_figure'])}", "", "## Per metric (its own cells, test accuracy)", ""]
    for e in rep["metrics"]:
        L.append(f"### {e['label']}")
        L.append("")
        L.append(f"- configuration: `{e['config']}`; seed {e['seed']}; inputs: {e['inputs']}")
        L.append(f"- cells: {e['n_cells']} ({e['n_ok']} ok, {e['n_singular']} singular, {e['n_error']} error); "
                 f"better: {e['better']}")
        L.append(f"- Kendall τ (oriented, n = {e['kendall']['n']}): {_est(e['kendall'])}; {e['kendall']['method']}")
        sp = e["search_protocol"]
        if "picked" in sp:
            L.append(f"- search protocol of Chen et al. 2022 §5 ({sp['runs']} runs × {sp['draws']} cells drawn, "
                     f"seed {sp['seed']}; mean ± std of the test accuracy of the pick): picked "
                     f"{sp['picked']['mean']:.2f} ± {sp['picked']['std']:.2f}, random {sp['random']['mean']:.2f} ± "
                     f"{sp['random']['std']:.2f}, best of the draw {sp['oracle']['mean']:.2f} ± "
                     f"{sp['oracle']['std']:.2f}")
        else:
            L.append(f"- search protocol: {sp['skipped']}")
        of = e["op_fractions_top10"]
        L.append(f"- op shares over the six edges of its top {of['k']} cells (TE-NAS Fig. 4; all cells in brackets): "
                 + ", ".join(f"{o} {of['top'][o]:.2f} ({of['all'][o]:.2f})" for o in of["top"]))
        L.append(f"- plots: {', '.join(e['plots'])}")
        L.append("")
    return "\n".join(L)


def format_report(rep: dict[str, Any]) -> str:
    lines = [f"sweep report: {rep['store']} against {rep['against']}", f"accuracies: {rep['accuracy_source']}"]
    for w in rep["warnings"]:
        lines.append(f"warning: {w}")
    for b in rep["leaderboard"]:
        lines.append(f"\n{b['target']}, {b['population_name']} (n = {b['n_cells']}):")
        width = max(len(r["label"]) for r in b["rows"])
        for r in b["rows"]:
            tk = r["top_k_retention"]
            lines.append(f"  {r['label']:<{width}}  tau {_est(r['kendall'])}  rho {_est(r['spearman'])}  "
                         f"partial tau | params {_est(r['partial_kendall_given_params'])}  top-5% {_topk(tk['5%'])}")
    lines.append(f"\nsign: {SIGN_CONVENTION}")
    lines.append(f"report: {rep.get('report_dir')}/report.md (protocol of every number), report.json, "
                 f"{', '.join(rep['leaderboard_figure'])}")
    return "\n".join(lines)
