"""Text that fits its figure: titles, labels and legends wrapped and shrunk to the canvas.

Constrained layout keeps texts from overlapping each other, but not from outgrowing the
figure or their panel; :func:`fit_text` takes a drawn figure of any size to one where they fit.
"""

from __future__ import annotations

import textwrap
import warnings
from typing import Any

from matplotlib.figure import Figure
from matplotlib.text import Text

from .._errors import ParameterError
from ..validate import positive_float

__all__ = ["fit_text"]

_SHRINK = 0.85
#: titles are shrunk (down to this size, in points) while they take more than this share of
#: the figure's height: a small figure is then left room for its panels
_TITLE_SHARE = 0.3
_SMALLEST_TITLE_PT = 7.0
#: labels and legends longer than their axes are shrunk down to this size (points) only,
#: then wrapped
_SMALLEST_PT = 5.0


def fit_text(fig: Figure, *, min_scale: float = 0.4) -> float:
    """Wrap long titles and shrink the type until every text lies inside the canvas.

    Constrained layout keeps texts from overlapping, but it cannot make a title wider than the
    figure, or an axis label or a legend longer than its panel, fit. This draws the figure
    (without rendering pixels), then, until nothing changes:

    - wraps, at word boundaries, figure titles wider than the figure and axes titles that
      would run into the title of the panel beside them;
    - shrinks the titles (down to 7 pt) while they take more than 30 % of the figure's
      height, so that a small figure keeps room for its panels;
    - shrinks each axis label and each legend larger than its axes (down to 5 pt), and wraps
      what is still too long at 5 pt; a legend that still does not fit inside its axes moves
      out beside them in a figure wider than tall.

    While anything still reaches outside the canvas, it then scales every font by 0.85 (at
    most down to ``min_scale``). Sizes are in inches and points, so the result does not
    depend on the dpi.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    min_scale : float
        Smallest factor the fonts are scaled by.

    Returns
    -------
    scale : float
        The factor the fonts were scaled by (1.0 when everything fitted as drawn).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig, Figure):
        raise ParameterError(f"fig={fig!r} must be a matplotlib Figure")
    min_scale = positive_float(min_scale, "min_scale")
    old_canvas = fig.canvas
    renderer = FigureCanvasAgg(fig).get_renderer()
    scale = 1.0
    originals: dict[int, str] = {}  # texts as drawn, before any wrapping
    try:
        with warnings.catch_warnings():
            # a layout that does not fit yet may warn "axes sizes collapsed to zero"; it is
            # measured below and the type shrunk until it fits
            warnings.filterwarnings("ignore", "constrained_layout not applied", UserWarning)
            while True:
                fig.draw_without_rendering()
                # a text shrunk to 5 pt may still be too long and is wrapped on the next pass
                for _ in range(8):
                    if not (_wrap_titles(fig, renderer, originals)
                            | _shrink_titles(fig, renderer)
                            | _shorten_labels(fig, renderer, originals)
                            | _shrink_legends(fig, renderer, originals)):
                        break
                    fig.draw_without_rendering()
                # labels still too long at the smallest type are left: they overlap a little,
                # but nothing is cut off
                if _inside(fig, renderer) or scale * _SHRINK < min_scale:
                    return scale
                _scale_fonts(fig, _SHRINK)
                scale *= _SHRINK
    finally:
        fig.set_canvas(old_canvas)


def _inside(fig: Figure, renderer: Any) -> bool:
    """True when everything drawn lies within the figure (half a pixel of slack)."""
    box = fig.get_tightbbox(renderer)  # inches
    w, h = fig.get_size_inches()
    slack = 0.5 / fig.dpi
    return box.x0 >= -slack and box.y0 >= -slack and box.x1 <= w + slack and box.y1 <= h + slack


def _long_labels(fig: Figure, renderer: Any) -> list[tuple[Text, float]]:
    """Axis labels longer than their axis (they would run into the next panel), each with
    the ratio axis length / label length."""
    out = []
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        for label, length, vertical in ((ax.xaxis.label, frame.width, False),
                                        (ax.yaxis.label, frame.height, True)):
            if label.get_visible() and label.get_text():
                extent = label.get_window_extent(renderer)
                along = extent.height if vertical else extent.width
                if along > length + 0.5 and along > 0:
                    out.append((label, max(length, 1.0) / along))
    return out


def _shrink(texts: list[Text], ratio: float) -> bool:
    """Shrink the type of ``texts`` (of one size) to ``ratio`` of it, not below
    :data:`_SMALLEST_PT`; False when they are that small already."""
    size = texts[0].get_fontsize()
    if size <= _SMALLEST_PT:
        return False
    for t in texts:
        t.set_fontsize(max(_SMALLEST_PT, size * ratio * 0.97))
    return True


def _shorten_labels(fig: Figure, renderer: Any, originals: dict[int, str]) -> bool:
    """Fit each axis label longer than its axis: shrink its type (not below 5 pt), and wrap
    it at word boundaries when 5 pt is still too long."""
    changed = False
    for label, ratio in _long_labels(fig, renderer):
        changed |= _shrink([label], ratio) or _wrap(label, ratio, originals, least=6)
    return changed


def _shrink_legends(fig: Figure, renderer: Any, originals: dict[int, str]) -> bool:
    """Fit each legend drawn inside its axes but larger than them (the layout would narrow
    the axes to make room for it): shrink its type (not below 5 pt), wrap its entries, and
    when it still does not fit in a figure wider than tall, move it out, beside the axes'
    right edge."""
    changed = False
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_texts():
            continue
        if legend.get_bbox_to_anchor() is not ax.bbox:
            continue  # placed by its own anchor: outside by design, or already moved out
        frame, box = ax.get_window_extent(renderer), legend.get_window_extent(renderer)
        wide = frame.width / max(box.width, 1.0)
        ratio = min(wide, frame.height / max(box.height, 1.0))
        if ratio >= 1.0:
            continue
        texts = legend.get_texts()
        if _shrink(texts, ratio):
            changed = True
            continue
        if wide < 1.0:
            # the handles keep their width: the text must shrink by more than the box
            longest = max(t.get_window_extent(renderer).width for t in texts)
            room = max(longest - (box.width - frame.width), 0.3 * longest)
            wrapped = [_wrap(t, room / longest, originals, least=8) for t in texts]
            if any(wrapped):
                changed = True
                continue
        if fig.bbox.width > fig.bbox.height:  # room beside the axes in a wide figure only
            labels = [t.get_text() for t in texts]
            ax.legend(legend.legend_handles, labels, loc="upper left",
                      bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                      fontsize=texts[0].get_fontsize())
            changed = True
    return changed


def _wrap(t: Text, ratio: float, originals: dict[int, str], *, least: int) -> bool:
    """Wrap a text at word boundaries to lines of ``ratio`` times its longest line; True if
    that changed it. Each line of the text as first drawn (kept in ``originals``) is wrapped,
    so that wrapping twice does not leave short scraps."""
    text = t.get_text()
    first = originals.setdefault(id(t), text)
    fit = max(least, int(max(len(line) for line in text.splitlines()) * 0.95 * ratio))
    wrapped = "\n".join(textwrap.fill(line, fit, break_long_words=False)
                        for line in first.splitlines())
    if wrapped == text:
        return False
    t.set_text(wrapped)
    return True


def _figure_titles(fig: Figure) -> list[Text]:
    """The titles of the figure and of its subfigures."""
    return [t for t in list(fig.texts) + [t for f in fig.subfigs for t in f.texts]
            if t.get_text()]


def _same_row(a: Any, b: Any) -> bool:
    """Whether two boxes overlap vertically: panels side by side."""
    return a.y0 < b.y1 and b.y0 < a.y1


def _wrap_titles(fig: Figure, renderer: Any, originals: dict[int, str]) -> bool:
    """Re-wrap titles wider than their room; True if any changed.

    A figure title has the figure's width. So has an axes title, unless a titled axes lies
    beside its axes: centred on its axes, it may then reach on that side only up to that
    title (or half-way to its centre, when they overlap already).
    """
    width = fig.bbox.width
    titles = [(t, width) for t in _figure_titles(fig)]
    titled = [(ax, ax.get_window_extent(renderer), ax.title.get_window_extent(renderer))
              for ax in fig.axes if ax.get_title()]
    for ax, frame, _ in titled:
        centre = 0.5 * (frame.x0 + frame.x1)
        half = 0.5 * width
        for other, box, text in titled:
            if other is ax or not _same_row(box, frame):
                continue
            gap = text.x0 - centre if text.x0 > centre else centre - text.x1
            midway = 0.5 * abs(0.5 * (box.x0 + box.x1) - centre)
            half = min(half, max(gap, midway) - 2.0)
        titles.append((ax.title, 2.0 * max(half, 1.0)))
    changed = False
    for t, room in titles:
        extent = t.get_window_extent(renderer).width if t.get_text() else 0.0
        if extent > 0.98 * room:
            changed |= _wrap(t, room / extent, originals, least=12)
    return changed


def _shrink_titles(fig: Figure, renderer: Any) -> bool:
    """Shrink the type of every title by 0.85 (not below :data:`_SMALLEST_TITLE_PT`) while
    the titles take more than :data:`_TITLE_SHARE` of the figure's height: the figure titles,
    and in each row of panels its tallest axes title. True if it shrank them."""
    rows: list[tuple[Any, float]] = []  # (frame of a panel, height of its title)
    for ax in fig.axes:
        if ax.get_title():
            frame = ax.get_window_extent(renderer)
            height = ax.title.get_window_extent(renderer).height
            for i, (other, tallest) in enumerate(rows):
                if _same_row(other, frame):
                    rows[i] = (other, max(tallest, height))
                    break
            else:
                rows.append((frame, height))
    figure_titles = _figure_titles(fig)
    total = sum(t.get_window_extent(renderer).height for t in figure_titles)
    total += sum(height for _, height in rows)
    titles = figure_titles + [ax.title for ax in fig.axes if ax.get_title()]
    if not titles or total <= _TITLE_SHARE * fig.bbox.height:
        return False
    largest = max(t.get_fontsize() for t in titles)
    if largest <= _SMALLEST_TITLE_PT:
        return False
    for t in titles:
        t.set_fontsize(max(_SMALLEST_TITLE_PT, min(t.get_fontsize(), largest * _SHRINK)))
    return True


def _scale_fonts(fig: Figure, factor: float) -> None:
    """Multiply the size of every text in the figure (tick labels included) by ``factor``."""
    ticks = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = axis.get_ticklabels(which="both")
            ticks.update(id(t) for t in labels)
            if labels:
                axis.set_tick_params(which="both", labelsize=labels[0].get_fontsize() * factor)
    for t in fig.findobj(Text):
        if id(t) not in ticks:
            t.set_fontsize(t.get_fontsize() * factor)
