"""Shared pieces of the figure modules.

Every figure module (one per paper: ``zhu2022.py``, ``tenas2021.py``, ``mok2022.py``, ``chen2022.py``)
exposes ``make_figures(scale="small", seed=0, quiet=True) -> list[FigureResult]``; :func:`write_figure`
stores each as PNG, PDF and a CSV of the data behind it, atomically.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ntkcheck.io import save_figure_atomic, write_text_atomic


@dataclass
class FigureResult:
    """A regenerated figure: ``name`` (file stem), a matplotlib ``figure``, a caption stating what is plotted
    and how it relates to the paper's figure, and ``columns``: the plotted data as named equal-length columns."""

    name: str
    figure: Any
    caption: str
    columns: Mapping[str, Sequence[Any]] = field(default_factory=dict)


def write_figure(result: FigureResult, outdir: str | Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write ``<name>.png``, ``<name>.pdf`` and ``<name>.csv`` into ``outdir``; returns the paths."""
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    paths = [save_figure_atomic(result.figure, outdir / f"{result.name}.{fmt}", dpi=150, bbox_inches="tight")
             for fmt in formats]
    if result.columns:
        names = list(result.columns)
        n = max(len(result.columns[k]) for k in names)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(names)
        for i in range(n):
            w.writerow([result.columns[k][i] if i < len(result.columns[k]) else "" for k in names])
        paths.append(write_text_atomic(outdir / f"{result.name}.csv", buf.getvalue()))
    plt.close(result.figure)
    return paths
