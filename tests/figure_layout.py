"""Automatic layout check of a matplotlib figure: what a journal's production editor would reject at a glance.

``layout_problems(fig)`` renders the figure with the Agg canvas and returns one line per defect;
``assert_clean_layout(fig, name)`` fails with all of them.  Checked, in display pixels:

* every text that is drawn (titles, suptitle, axis labels, tick labels, legend texts and titles, colour-bar
  labels, annotations) lies inside the figure canvas (nothing clipped);
* no two drawn texts overlap, and no text of one Axes reaches into the plotting area of another (a tick label
  running into the next panel);
* every Axes that draws data (lines, markers, bars, images, scatter points) has an x label and a y label; a
  panel may leave one off when it shares that axis with a labelled panel (``sharey=True`` rows); colour bars
  need one label;
* no legend covers data: no line vertex or point of a line segment, no scatter point, no bar, and no marker lies
  under a legend's box.

Reference lines drawn across the whole Axes (``axhline``/``axvline``/``axvspan``, whose transform is not the
data transform) are not data.  ``TOL`` pixels of slack absorb anti-aliasing.  Import it from any test
(``from figure_layout import assert_clean_layout``: ``tests/`` is on the path under pytest's rootdir conftest).
"""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np

#: Pixels two boxes may share before they count as overlapping (anti-aliasing, glyph side bearings).
TOL = 1.0


def _render(fig):
    """Draw ``fig`` on an Agg canvas; return the renderer and every Text that was drawn (visible, non-empty)."""
    import matplotlib.text as mtext
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    drawn: dict[int, object] = {}
    orig = mtext.Text.draw

    def draw(self, renderer):
        orig(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.setdefault(id(self), self)

    with mock.patch.object(mtext.Text, "draw", draw):
        fig.canvas.draw()
    return fig.canvas.get_renderer(), list(drawn.values())


def _describe(t) -> str:
    s = " ".join(t.get_text().split())
    return repr(s if len(s) <= 40 else s[:37] + "...")


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOL) and (min(a.y1, b.y1) - max(a.y0, b.y0) > TOL)


def _along(v: np.ndarray) -> np.ndarray:
    """The vertices ``v`` (display coordinates) and 24 points on every segment between consecutive ones."""
    if len(v) < 2:
        return v
    t = np.linspace(0, 1, 25)[:, None]
    return np.concatenate([a + t * (b - a) for a, b in itertools.pairwise(v)] + [v])


def _is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>"


def _is_data_transform(artist, ax) -> bool:
    return artist.get_transform().contains_branch(ax.transData)


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the data an Axes draws (inside its frame): line vertices and points along the line
    segments, markers, scatter offsets, corners and centres of bars and patches drawn in data coordinates."""
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection
    from matplotlib.patches import Rectangle

    pts: list[np.ndarray] = []
    for ln in ax.get_lines():
        if not ln.get_visible() or not _is_data_transform(ln, ax):
            continue
        xy = ln.get_transform().transform(np.asarray(ln.get_xydata(), float))
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        pts.append(_along(xy) if ln.get_linestyle() not in ("None", "none", "", " ") else xy)
    for c in ax.collections:
        if not c.get_visible():
            continue
        if isinstance(c, PathCollection) and len(c.get_offsets()):
            pts.append(c.get_offset_transform().transform(np.asarray(c.get_offsets(), float)))
        elif isinstance(c, (LineCollection, PolyCollection)) and _is_data_transform(c, ax):
            pts += [_along(c.get_transform().transform(seg.vertices)) for seg in c.get_paths()]
    for p in ax.patches:
        if not p.get_visible() or not _is_data_transform(p, ax):
            continue
        bb = p.get_window_extent()
        if isinstance(p, Rectangle) and p.get_fill():            # a bar: its whole area is data
            xs, ys = np.linspace(bb.x0, bb.x1, 12), np.linspace(bb.y0, bb.y1, 12)
            pts.append(np.array(list(itertools.product(xs, ys))))
        else:                                                      # an outline: points along it
            pts.append(_along(p.get_transform().transform(p.get_path().vertices)))
    for im in ax.images:
        if im.get_visible():
            bb = im.get_window_extent()
            pts.append(np.array(list(itertools.product(np.linspace(bb.x0, bb.x1, 12), np.linspace(bb.y0, bb.y1, 12)))))
    if not pts:
        return np.zeros((0, 2))
    xy = np.concatenate(pts)
    frame = ax.get_window_extent()
    inside = ((xy[:, 0] >= frame.x0 - TOL) & (xy[:, 0] <= frame.x1 + TOL)
              & (xy[:, 1] >= frame.y0 - TOL) & (xy[:, 1] <= frame.y1 + TOL))
    return xy[inside & np.all(np.isfinite(xy), axis=1)]


def _draws_data(ax) -> bool:
    return bool(ax.get_lines() or ax.collections or ax.patches or ax.images)


def _label_ok(ax, which: str) -> bool:
    label = ax.get_xlabel() if which == "x" else ax.get_ylabel()
    if label.strip():
        return True
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    others = [o for o in group.get_siblings(ax) if o is not ax]
    return any((o.get_xlabel() if which == "x" else o.get_ylabel()).strip() for o in others)


def layout_problems(fig) -> list[str]:
    """Every layout defect of ``fig`` (module docstring), one line each; empty when the layout is clean."""
    renderer, texts = _render(fig)
    canvas = fig.bbox
    problems: list[str] = []
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    for t, bb in boxes:
        if (bb.x0 < canvas.x0 - TOL or bb.y0 < canvas.y0 - TOL or bb.x1 > canvas.x1 + TOL
                or bb.y1 > canvas.y1 + TOL):
            problems.append(f"text {_describe(t)} is clipped by the figure edge")
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        if _overlap(b1, b2):
            problems.append(f"texts {_describe(t1)} and {_describe(t2)} overlap")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for t, bb in boxes:
        own = t.axes
        if own is None:
            continue
        for ax in axes:
            if ax is own:
                continue
            if _overlap(bb, ax.get_window_extent(renderer)):
                problems.append(f"text {_describe(t)} reaches into another panel")
    for i, ax in enumerate(axes):
        name = ax.get_title() or f"panel {i}"
        if _is_colorbar(ax):
            if not (ax.get_xlabel().strip() or ax.get_ylabel().strip()):
                problems.append(f"colour bar {i} has no label")
            continue
        if _draws_data(ax):
            for which in ("x", "y"):
                if not _label_ok(ax, which):
                    problems.append(f"Axes {name!r} has no {which} label")
        pts = _data_points(ax)
        legends = [lg for lg in [ax.get_legend()] if lg is not None and lg.get_visible()]
        legends += [lg for lg in fig.legends if lg.get_visible()]
        for lg in legends:
            bb = lg.get_window_extent(renderer)
            under = ((pts[:, 0] > bb.x0 + TOL) & (pts[:, 0] < bb.x1 - TOL)
                     & (pts[:, 1] > bb.y0 + TOL) & (pts[:, 1] < bb.y1 - TOL)) if len(pts) else np.zeros(0, bool)
            if under.any():
                problems.append(f"the legend of Axes {name!r} covers {int(under.sum())} plotted data point(s)")
    return problems


def assert_clean_layout(fig, name: str = "figure") -> None:
    """Fail with every layout defect of ``fig`` (see :func:`layout_problems`)."""
    problems = layout_problems(fig)
    assert not problems, f"{name}: " + "; ".join(problems)
