"""Figures of the project's results: they draw arrays they are given, nothing more.

The only package that imports matplotlib; :mod:`sfm_audio.plot.fit` fits the text of its
figures to their size. Figures are built with
:class:`matplotlib.figure.Figure` directly, so no pyplot state and no GUI backend is involved:
this works headless and leaves the backend of an interactive user untouched. Every function
takes arrays that are already computed (it never computes an STFT or anything costly), draws on
the caller's axes when given (``ax=`` or ``axes=``) or on a new figure, and returns the figure.
:func:`save` writes a figure completely or not at all.

Shapes follow the project's rule: time is the last axis.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, NullLocator

from .._errors import ParameterError
from .._files import atomic_path
from ..coding.quantize import ECSQ_GAP_BITS
from ..flatness import TONALITY_DB
from ..flatness import flatness as spectrum_flatness
from ..validate import finite_float, positive_float, positive_int
from .fit import fit_text

__all__ = [
    "flatness", "bands", "eigen", "rd", "gain", "lossless", "prediction", "duality",
    "save", "output_format", "ECSQ_GAP_BITS",
    "fit_text", "stacked", "check_cmap", "check_choice", "value_range", "DB_RANGE",
    "FREQ_SCALES",
]

#: Default limits of the flatness-dB axis: Johnston tonality runs from 1 at -60 dB to 0 at 0 dB.
DB_RANGE = (TONALITY_DB, 0.0)
#: Frequency axes of the spectrogram.
FREQ_SCALES = ("log", "linear")
_CMAP_EXAMPLES = ("magma", "viridis", "inferno", "gray_r", "Greys")


# One house style for every figure (applied while artists are created).
_STYLE: dict[str, Any] = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.0,
    "figure.titlesize": 12.0,
    "figure.titleweight": "bold",
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
    "lines.markersize": 5.0,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=mpl.colormaps["tab10"].colors),
    # Same input -> same bytes out (SVG ids are otherwise salted at random).
    "svg.hashsalt": "sfm_audio",
    "pdf.compression": 6,
}

_F = TypeVar("_F", bound=Callable[..., Figure])


def _styled(func: _F) -> _F:
    """Run a figure function under the house style."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- helpers


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def _check_ax(ax: Any) -> Axes:
    if not isinstance(ax, Axes):
        raise ParameterError(f"ax={ax!r} must be a matplotlib Axes or None")
    return ax


def _check_axes(axes: Any, n: int, func: str) -> list[Axes]:
    if isinstance(axes, Axes) or not isinstance(axes, Sequence | np.ndarray):
        raise ParameterError(f"{func}: axes must be a sequence of {n} matplotlib Axes or None")
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) != n:
        raise ParameterError(f"{func}: axes has {len(axes)} Axes; this figure needs {n}")
    return [_check_ax(a) for a in axes]


def _single_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        ax = _check_ax(ax)
        return _root_figure(ax), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _new_figure(subfigure: Any, figsize: tuple[float, float]) -> Figure | SubFigure:
    """A new constrained-layout figure, or the caller's (sub)figure to draw in."""
    if subfigure is None:
        return Figure(figsize=figsize, layout="constrained")
    if not isinstance(subfigure, Figure | SubFigure):
        raise ParameterError(f"subfigure={subfigure!r} must be a matplotlib Figure or SubFigure")
    return subfigure


def stacked(n: int, figsize: tuple[float, float]) -> tuple[Figure, list[Figure | SubFigure]]:
    """A new figure split into ``n`` rows, one (sub)figure each, to pass as ``subfigure=``.

    With ``n == 1`` the single row is the figure itself, so the result is the same figure a
    plain call draws.
    """
    n = positive_int(n, "n")
    fig = Figure(figsize=figsize, layout="constrained")
    if n == 1:
        return fig, [fig]
    return fig, list(np.ravel(fig.subfigures(n, 1)))


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` stripped and lower-cased if it is one of ``choices``, else ParameterError."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ParameterError(f"{name}={value!r} must be one of {', '.join(choices)}", param=name)
    return text


def value_range(value: Any, name: str) -> tuple[float, float]:
    """``value`` as a pair ``(low, high)`` of finite numbers with ``low < high``.

    Raises
    ------
    ParameterError
        Not two numbers, not finite, or ``low >= high``; the message names ``name``.
    """
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be two numbers LOW,HIGH", param=name) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ParameterError(f"{name}={lo:g},{hi:g} must be finite with LOW < HIGH", param=name)
    return lo, hi


def check_cmap(name: Any) -> str:
    """``name`` if matplotlib's colour-map registry has it, else ParameterError naming a few."""
    if isinstance(name, str) and name in mpl.colormaps:
        return name
    known = sorted(n for n in mpl.colormaps if not n.endswith("_r"))
    raise ParameterError(
        f"cmap={name!r} is not a matplotlib colour map; e.g. {', '.join(_CMAP_EXAMPLES)} "
        f"({len(known)} names, each also reversed with _r)", param="cmap"
    )


def _set_title(fig: Figure, axes: list[Axes], title: str, created: bool) -> None:
    """Title a multi-panel figure: suptitle on a figure we made, top panel on the caller's."""
    if created:
        fig.suptitle(title)
    else:
        axes[0].set_title(title)


def _vector(name: str, x: Any, n: int | None = None, *, what: str = "") -> np.ndarray:
    """Validate a 1-D array (optionally of length ``n``); never copies needlessly, never writes."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a 1-D array of numbers: {exc}") from None
    if a.ndim != 1:
        raise ParameterError(f"{name} must be 1-D; got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ParameterError(f"{name} has shape {a.shape}; expected ({n},){what}")
    return a


def _sizes(name: str, x: Any, what: str) -> np.ndarray:
    """A non-empty 1-D array of finite, positive numbers (block sizes, prediction orders)."""
    a = _vector(name, x)
    if a.shape[0] == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ParameterError(f"{name} must be a non-empty array of positive {what}")
    return a


def _matrix(name: str, x: Any) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a 2-D array of numbers: {exc}") from None
    if a.ndim != 2 or 0 in a.shape:
        raise ParameterError(f"{name} must be a non-empty 2-D array; got shape {a.shape}")
    return a


def _edges(name: str, x: np.ndarray, n: int, unit: str) -> np.ndarray:
    """Cell edges from ``n`` cell centres or ``n + 1`` edges (strictly increasing)."""
    if x.shape[0] not in (n, n + 1):
        raise ParameterError(
            f"{name} has shape {x.shape}; expected ({n},) centres or ({n + 1},) edges"
        )
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"{name} must be finite")
    if x.shape[0] > 1 and not np.all(np.diff(x) > 0):
        raise ParameterError(f"{name} must be strictly increasing ({unit})")
    if x.shape[0] == n + 1:
        return x.copy()
    if n == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate(([x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]))


def _fmt_hz(f: float) -> str:
    if abs(f) >= 1000.0:
        return f"{f / 1000.0:.3g}k"
    return f"{f:.3g}"


# --------------------------------------------------------------------------- figures


@_styled
def flatness(
    spec_db: np.ndarray,
    freqs: np.ndarray,
    times: np.ndarray,
    sfm: np.ndarray,
    frame_times: np.ndarray,
    *,
    sfm_db: np.ndarray | None = None,
    tonality: np.ndarray | None = None,
    title: str = "Spectrogram and spectral flatness",
    top_db: float | None = 80.0,
    db_range: tuple[float, float] | None = DB_RANGE,
    freq_scale: str = "log",
    cmap: str = "magma",
    colorbar_label: str = "Power (dB)",
    axes: Sequence[Axes] | None = None,
    subfigure: Figure | SubFigure | None = None,
    figsize: tuple[float, float] = (10.0, 7.0),
) -> Figure:
    """Spectrogram in dB on a log (or linear) frequency axis, with the per-frame flatness beneath.

    Parameters
    ----------
    spec_db : np.ndarray [shape=(n_freq, n_cols)]
        Power spectrogram in dB, already pooled to the picture's width by the caller.
    freqs : np.ndarray [shape=(n_freq,) or (n_freq + 1,)]
        Bin centre frequencies in Hz, or bin edges. On a log axis a row whose centre is at or
        below 0 Hz (the DC bin) cannot sit and is left out; a non-positive lowest *edge* is
        replaced by half the row's upper edge.
    times : np.ndarray [shape=(n_cols,) or (n_cols + 1,)]
        Column centre times in seconds, or column edges.
    sfm : np.ndarray [shape=(n_frames,)]
        Spectral flatness per frame, in [0, 1].
    frame_times : np.ndarray [shape=(n_frames,)]
        Time of each frame in seconds.
    sfm_db : np.ndarray [shape=(n_frames,)], optional
        Flatness in dB; drawn in a third panel.
    tonality : np.ndarray [shape=(n_frames,)], optional
        Johnston tonality in [0, 1]; drawn in the third panel (on a twin axis when ``sfm_db``
        is also given).
    title : str
        Figure title; the caller names the file and the key parameters.
    top_db : float or None
        Colour range: values more than ``top_db`` below the maximum show as the lowest colour
        (the data are not changed). ``None`` spans the full range.
    db_range : (float, float) or None
        Limits of the flatness-dB axis; the default -60..0 dB is the range over which Johnston
        tonality goes from 1 to 0, so a steady file is not magnified into noise. ``None``
        scales the axis to the data.
    freq_scale : {"log", "linear"}
        Frequency axis of the spectrogram.
    cmap : str
        Colour map of the spectrogram (a name in matplotlib's colour-map registry).
    colorbar_label : str
        Label of the colour bar, saying the unit of ``spec_db`` (e.g. ``"Power (dBFS)"``).
    axes : sequence of Axes, optional
        Two Axes (three when ``sfm_db`` or ``tonality`` is given) to draw on, top to bottom;
        their time axes are shared. By default a new figure is made.
    subfigure : Figure or SubFigure, optional
        Draw the panels, colour bar and title in this (sub)figure instead of a new figure
        (e.g. one subfigure per channel); not with ``axes``.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    S = _matrix("spec_db", spec_db)
    n_freq, n_cols = S.shape
    f = _vector("freqs", freqs)
    t = _vector("times", times)
    f_edges = _edges("freqs", f, n_freq, "Hz")
    t_edges = _edges("times", t, n_cols, "s")
    y = _vector("sfm", sfm)
    ft = _vector("frame_times", frame_times, y.shape[0], what=" like sfm")
    extra = {}
    for name, val in (("sfm_db", sfm_db), ("tonality", tonality)):
        if val is not None:
            extra[name] = _vector(name, val, y.shape[0], what=" like sfm")
    if top_db is not None:
        top_db = positive_float(top_db, "top_db")
    db_lim = None if db_range is None else value_range(db_range, "db_range")
    log_freq = check_choice(freq_scale, "freq_scale", FREQ_SCALES) == "log"
    cmap = check_cmap(cmap)
    if axes is not None and subfigure is not None:
        raise ParameterError("give axes or subfigure, not both")

    if log_freq:  # rows that fit a log-frequency axis
        if f.shape[0] == n_freq:
            keep = f > 0
        else:
            keep = f_edges[1:] > 0
        if not keep.any():
            raise ParameterError("freqs has no positive frequency to draw on a log axis")
        first = int(np.argmax(keep))
    else:
        first = 0
    S_draw = S[first:]
    f_draw = f_edges[first:].copy()
    if log_freq and f_draw[0] <= 0:
        f_draw[0] = 0.5 * f_draw[1]

    n_panels = 3 if extra else 2
    created = axes is None
    if created:
        fig = _new_figure(subfigure, figsize)
        ratios = [3.0, 1.2, 1.2][:n_panels]
        gs = fig.add_gridspec(n_panels, 2, height_ratios=ratios, width_ratios=[1.0, 0.022])
        ax0 = fig.add_subplot(gs[0, 0])
        panels = [ax0] + [fig.add_subplot(gs[i, 0], sharex=ax0) for i in range(1, n_panels)]
        cax = fig.add_subplot(gs[0, 1])
        for a in panels[:-1]:
            a.tick_params(labelbottom=False)
    else:
        panels = _check_axes(axes, n_panels, "flatness")
        fig = _root_figure(panels[0])
        cax = None
        for a in panels[1:]:
            if not a.get_shared_x_axes().joined(panels[0], a):
                with contextlib.suppress(ValueError):  # already shared elsewhere: leave it
                    a.sharex(panels[0])

    ax_spec, ax_sfm = panels[0], panels[1]
    finite = S_draw[np.isfinite(S_draw)]
    vmax = float(finite.max()) if finite.size else 0.0
    vmin = vmax - top_db if top_db is not None else (float(finite.min()) if finite.size else -1)
    mesh = ax_spec.pcolormesh(
        t_edges, f_draw, S_draw, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat",
        rasterized=True,
    )
    if log_freq:
        ax_spec.set_yscale("log")
        ax_spec.set_ylim(f_draw[0], f_draw[-1])
    else:
        ax_spec.set_ylim(max(f_draw[0], 0.0), f_draw[-1])
    ax_spec.set_xlim(t_edges[0], t_edges[-1])
    ax_spec.set_ylabel("Frequency (Hz)")
    ax_spec.grid(False)
    if cax is not None:
        cbar = fig.colorbar(mesh, cax=cax)
    else:
        cbar = fig.colorbar(mesh, ax=ax_spec, fraction=0.03, pad=0.01)
    cbar.set_label(colorbar_label)

    ax_sfm.plot(ft, y, color="C0", label="SFM")
    ax_sfm.set_ylim(0.0, 1.0)
    ax_sfm.set_ylabel("SFM")

    bottom = ax_sfm
    if extra:
        ax3 = panels[2]
        bottom = ax3
        # no legend (it would take room from the panels): each axis label is in its line's
        # colour
        if "sfm_db" in extra:
            ax3.plot(ft, extra["sfm_db"], color="C1", label="Flatness (dB)")
            ax3.set_ylabel("SFM (dB)", color="C1")
            if db_lim is not None:
                ax3.set_ylim(*db_lim)
            ax_t = ax3.twinx() if "tonality" in extra else None
        else:
            ax_t = ax3
        if ax_t is not None:
            ax_t.plot(ft, extra["tonality"], color="C2", label="Tonality")
            ax_t.set_ylim(0.0, 1.0)
            ax_t.set_ylabel("Tonality", color="C2")
            if ax_t is not ax3:
                ax_t.spines["right"].set_visible(True)
                ax_t.grid(False)
    for a in panels:
        a.set_xlabel("")
    bottom.set_xlabel("Time (s)")
    _set_title(fig, panels, title, created)
    return _root_figure(panels[0])


@_styled
def bands(
    band_sfm: np.ndarray,
    band_edges: np.ndarray,
    frame_times: np.ndarray,
    *,
    title: str = "Band flatness",
    cmap: str = "viridis",
    axes: Sequence[Axes] | None = None,
    subfigure: Figure | SubFigure | None = None,
    figsize: tuple[float, float] = (10.0, 5.0),
) -> Figure:
    """Heat map of flatness per band over time, with the mean flatness of each band beside it.

    Parameters
    ----------
    band_sfm : np.ndarray [shape=(n_bands, n_frames)]
        Flatness of each band in each frame, in [0, 1].
    band_edges : np.ndarray [shape=(n_bands + 1,) or (n_bands, 2)]
        Band edges in Hz: contiguous edges, or a (low, high) pair per band (bands such as
        MPEG-7's widened ones may overlap). They label the band axis.
    frame_times : np.ndarray [shape=(n_frames,) or (n_frames + 1,)]
        Frame centre times in seconds, or frame edges.
    title : str
        Figure title; the caller names the file and the key parameters.
    cmap : str
        Colour map of the heat map (fixed to the range 0..1), a name in matplotlib's registry.
    axes : sequence of 2 Axes, optional
        Heat map axes and mean-flatness axes (their band axes are shared). By default a new
        figure is made.
    subfigure : Figure or SubFigure, optional
        Draw the panels and title in this (sub)figure instead of a new figure; not with
        ``axes``.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    B = _matrix("band_sfm", band_sfm)
    n_bands, n_frames = B.shape
    e = np.asarray(band_edges, dtype=float)
    if e.shape == (n_bands + 1,):
        lo, hi = e[:-1], e[1:]
    elif e.shape == (n_bands, 2):
        lo, hi = e[:, 0], e[:, 1]
    else:
        raise ParameterError(
            f"band_edges has shape {e.shape}; expected ({n_bands + 1},) or ({n_bands}, 2) "
            f"for band_sfm of shape {B.shape}"
        )
    if not (np.all(np.isfinite(e)) and np.all(hi > lo) and np.all(lo >= 0)):
        raise ParameterError("band_edges must be finite, non-negative and have high > low")
    t_edges = _edges("frame_times", _vector("frame_times", frame_times), n_frames, "s")
    cmap = check_cmap(cmap)
    if axes is not None and subfigure is not None:
        raise ParameterError("give axes or subfigure, not both")

    created = axes is None
    if created:
        fig = _new_figure(subfigure, figsize)
        gs = fig.add_gridspec(1, 2, width_ratios=[5.0, 1.0])
        ax_map = fig.add_subplot(gs[0, 0])
        ax_mean = fig.add_subplot(gs[0, 1], sharey=ax_map)
        ax_mean.tick_params(labelleft=False)
    else:
        ax_map, ax_mean = _check_axes(axes, 2, "bands")
        fig = _root_figure(ax_map)
        if not ax_mean.get_shared_y_axes().joined(ax_map, ax_mean):
            with contextlib.suppress(ValueError):
                ax_mean.sharey(ax_map)

    rows = np.arange(n_bands + 1) - 0.5
    mesh = ax_map.pcolormesh(
        t_edges, rows, B, cmap=cmap, vmin=0.0, vmax=1.0, shading="flat", rasterized=True
    )
    ax_map.grid(False)
    ax_map.set_xlim(t_edges[0], t_edges[-1])
    ax_map.set_ylim(rows[0], rows[-1])
    # at most 16 band labels, fewer when the panel is short: about 3/4 of the (sub)figure's
    # height, a label every 1.5 lines of tick type, so neighbouring labels do not overlap
    fits = 16
    if created:
        height_pt = 72.0 * fig.bbox.height / fig.dpi
        fits = max(2, min(fits, int(0.75 * height_pt / (1.5 * mpl.rcParams["ytick.labelsize"]))))
    step = max(1, math.ceil(n_bands / fits))
    ticks = np.arange(0, n_bands, step)
    ax_map.yaxis.set_major_locator(FixedLocator(ticks))
    ax_map.yaxis.set_minor_locator(NullLocator())
    ax_map.set_yticklabels([f"{_fmt_hz(lo[i])}–{_fmt_hz(hi[i])}" for i in ticks])
    ax_map.set_ylabel("Band (Hz)")
    ax_map.set_xlabel("Time (s)")

    with np.errstate(all="ignore"):
        mean = np.nanmean(B, axis=1) if np.isfinite(B).any() else np.full(n_bands, np.nan)
    ax_mean.barh(np.arange(n_bands), mean, height=0.8, color="C0")
    ax_mean.set_xlim(0.0, 1.0)
    ax_mean.set_xlabel("Mean SFM (0–1)")
    ax_mean.grid(True, axis="x")
    ax_mean.grid(False, axis="y")

    cbar = fig.colorbar(mesh, ax=[ax_map, ax_mean], fraction=0.04, pad=0.01)
    cbar.set_label("SFM (0–1)")
    _set_title(fig, [ax_map, ax_mean], title, created)
    return fig


@_styled
def eigen(
    eigenvalues: np.ndarray,
    *,
    thetas: np.ndarray | Sequence[float] | None = None,
    rates: np.ndarray | Sequence[float] | None = None,
    block: int | None = None,
    title: str | None = None,
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (8.0, 6.0),
) -> Figure:
    """KLT eigenvalues on a log scale with reverse water-filling levels and bit allocation.

    Component ``i`` receives ``b_i = max(0, ½·log2(λ_i / θ))`` bits at water level ``θ``;
    zero eigenvalues receive none.

    Parameters
    ----------
    eigenvalues : np.ndarray [shape=(n_components,)]
        Covariance eigenvalues (variances of the KLT coefficients), non-negative; drawn sorted
        in descending order. Zero values cannot show on the log axis and are left out there.
    thetas : np.ndarray [shape=(n_levels,)], optional
        Water levels, positive, one per chosen rate; each is drawn as a horizontal line.
    rates : np.ndarray [shape=(n_levels,)], optional
        The rate (bit/sample) each water level achieves; labels the lines. Needs ``thetas``.
    block : int, optional
        Block size N; must equal ``n_components``. Named in the default title.
    title : str, optional
        Figure title; by default ``"KLT eigen-spectrum"`` with the block size.
    axes : sequence of Axes, optional
        Two Axes (one when ``thetas`` is None): eigenvalues, then bits per component; their
        component axes are shared. By default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    lam = _vector("eigenvalues", eigenvalues)
    n = lam.shape[0]
    if n == 0:
        raise ParameterError("eigenvalues must not be empty")
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ParameterError("eigenvalues must be finite and non-negative")
    if block is not None and (isinstance(block, bool) or block != n):
        raise ParameterError(f"{block=} does not match the {n} eigenvalues given")
    if thetas is None:
        if rates is not None:
            raise ParameterError("rates given without thetas: give one water level per rate")
        th = np.empty(0)
        r = None
    else:
        th = _vector("thetas", thetas)
        if not np.all(np.isfinite(th)) or np.any(th <= 0):
            raise ParameterError("thetas must be positive finite water levels")
        r = None if rates is None else _vector("rates", rates, th.shape[0], what=" like thetas")
    if title is None:
        title = "KLT eigen-spectrum" + (f", N = {block}" if block is not None else "")

    n_panels = 2 if th.size else 1
    created = axes is None
    if created:
        fig = Figure(figsize=figsize, layout="constrained")
        if n_panels == 2:
            ax_l, ax_b = fig.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.3])
            panels = [ax_l, ax_b]
        else:
            panels = [fig.add_subplot()]
    else:
        panels = _check_axes(axes, n_panels, "eigen")
        fig = _root_figure(panels[0])
        if n_panels == 2 and not panels[1].get_shared_x_axes().joined(*panels):
            with contextlib.suppress(ValueError):
                panels[1].sharex(panels[0])

    idx = np.arange(1, n + 1)
    lam_sorted = np.sort(lam)[::-1]
    ax_l = panels[0]
    pos = lam_sorted > 0
    ax_l.plot(idx[pos], lam_sorted[pos], "o-", color="k", label="Eigenvalues λᵢ", zorder=3)
    ax_l.set_yscale("log")
    shown = np.concatenate((lam_sorted[pos], th))
    # Nothing to show, or a single value: give the log axis a decade each way.
    if shown.size == 0 or shown.max() <= shown.min() * (1.0 + 1e-9):
        centre = shown[0] if shown.size else 1.0
        ax_l.set_ylim(centre / 10.0, centre * 10.0)
    ax_l.set_ylabel("Eigenvalue λᵢ (sample units²)")
    colours = [f"C{j % 10}" for j in range(th.size)]
    for j, theta in enumerate(th):
        label = f"θ = {theta:.3g}"
        if r is not None:
            label += f" (R = {r[j]:g} bit/sample)"
        ax_l.axhline(theta, color=colours[j], linestyle="--", linewidth=1.2, label=label)
    ax_l.legend(loc="upper right")

    if n_panels == 2:
        ax_b = panels[1]
        width = 0.8 / th.size
        safe = np.where(lam_sorted > 0, lam_sorted, 1.0)
        for j, theta in enumerate(th):
            with np.errstate(divide="ignore", under="ignore"):
                b = np.maximum(0.0, 0.5 * np.log2(safe / theta))
            bits = np.where(lam_sorted > 0, b, 0.0)
            label = f"R = {r[j]:g} bit/sample" if r is not None else f"θ = {theta:.3g}"
            offset = (j - (th.size - 1) / 2.0) * width
            ax_b.bar(idx + offset, bits, width=width, color=colours[j], label=label)
        ax_b.set_ylabel("Bits bᵢ (bit/coefficient)")
        ax_b.grid(False, axis="x")
        ax_b.legend(loc="upper right")
    bottom = panels[-1]
    bottom.set_xlabel("Component index i (descending variance)")
    if n <= 32:
        bottom.set_xticks(idx if n <= 16 else idx[::2])
    _set_title(fig, panels, title, created)
    return fig


def _pairs(name: str, mapping: Mapping[str, Any] | None) -> dict[str, tuple[np.ndarray, ...]]:
    """Validate ``{label: (x, y)}`` with 1-D x and y of one length."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ParameterError(f"{name} must be a mapping name -> (x, y)")
    out = {}
    for key, val in mapping.items():
        try:
            x, y = val
        except (TypeError, ValueError):
            raise ParameterError(f"{name}[{key!r}] must be a pair (x, y) of arrays") from None
        xa = _vector(f"{name}[{key!r}][0]", x)
        ya = _vector(f"{name}[{key!r}][1]", y, xa.shape[0], what=f" like {name}[{key!r}][0]")
        out[str(key)] = (xa, ya)
    return out


@_styled
def rd(
    theory: Mapping[str, tuple[np.ndarray, np.ndarray]],
    measured: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    caption: str | None = None,
    title: str = "Rate–distortion",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Rate–distortion: SNR against bits per sample, theory as lines, measurements as marks.

    Parameters
    ----------
    theory : mapping str -> (np.ndarray [shape=(n,)], np.ndarray [shape=(n,)])
        Line name -> (rate in bit/sample, SNR in dB), e.g. the stationary and short-time
        Gaussian R(D) of the source (:func:`sfm_audio.coding.theory.rd_curves`); each line
        gets its own style, in grey tones, so it is not mistaken for a transform.
    measured : mapping str -> (np.ndarray [shape=(m,)], np.ndarray [shape=(m,)]), optional
        Transform name -> (measured bit/sample, measured SNR in dB) of the operational coder,
        each point at the rate it spent and the SNR it reached; drawn as coloured markers.
    caption : str, optional
        A sentence or two under the axes (only on a figure this function makes, at least
        4 x 3 inches), e.g. why points may sit left of a line.
    title : str
        Axes title; the caller names the file and the key parameters.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    th = _pairs("theory", theory)
    ms = _pairs("measured", measured)
    if not th and not ms:
        raise ParameterError("rd needs at least one theory or measured curve")
    created = ax is None
    fig, ax = _single_axes(ax, figsize)

    styles = [("-", "0.15"), ("-.", "0.35"), ("--", "0.55"), (":", "0.3")]
    for i, (k, (x, y)) in enumerate(th.items()):
        style, grey = styles[i % len(styles)]
        ax.plot(x, y, style, color=grey, linewidth=1.6, label=k)
    markers = "osD^vP*X"
    for i, (k, (x, y)) in enumerate(ms.items()):
        ax.plot(
            x, y, markers[i % len(markers)], linestyle="none", color=f"C{i % 10}",
            markeredgecolor="k", markeredgewidth=0.5, label=f"{k} measured", zorder=3,
        )
    ax.set_xlabel("Rate (bit/sample)")
    ax.set_ylabel("SNR (dB)")
    ax.set_xlim(left=0.0)
    if created and fig.get_size_inches()[0] >= 5.5:
        # beside the axes: inside, eight entries hide the points at mid rates
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7.5)
    else:
        ax.legend(loc="lower right")
    ax.set_title(title)
    width, height = fig.get_size_inches()
    if caption and created and width >= 4.0 and height >= 3.0:  # no room on a thumbnail
        fig.supxlabel(textwrap.fill(caption, int(14 * width)), fontsize=7.5, ha="left", x=0.02)
    return fig


@_styled
def gain(
    blocks: np.ndarray | Sequence[int],
    gains_db: Mapping[str, np.ndarray],
    limit_db: float | None,
    *,
    heldout_db: Mapping[str, np.ndarray] | None = None,
    title: str = "Coding gain",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Coding gain against block size for each transform, with the 1/SFM limit of the PSD.

    ``1/SFM`` bounds the gain of the true covariance; measured gains can cross it (the
    in-sample KLT overfits, and the PSD is itself an estimate).

    Parameters
    ----------
    blocks : np.ndarray [shape=(n_sizes,)]
        Block sizes N (positive); the x axis is logarithmic in base 2.
    gains_db : mapping str -> np.ndarray [shape=(n_sizes,)]
        Transform name (e.g. KLT, DCT, PCM) -> in-sample coding gain in dB at each block
        size (NaN or inf where undefined: not drawn).
    limit_db : float or None
        ``10·log10(1/SFM)`` of the power spectral density, the limit of the gain as N grows;
        drawn as a horizontal line. ``None`` omits it.
    heldout_db : mapping str -> np.ndarray [shape=(n_sizes,)], optional
        Transform name -> held-out gain (fitted on one half of the blocks, measured on the
        other), drawn dashed in the colour of the same transform (NaN where none).
    title : str
        Axes title; the caller names the file and the key parameters.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    N = _sizes("blocks", blocks, "block sizes")
    if not isinstance(gains_db, Mapping) or not gains_db:
        raise ParameterError("gains_db must be a non-empty mapping name -> gains in dB")

    def _curves(name: str, mapping: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {
            str(k): _vector(f"{name}[{k!r}]", np.asarray(v, dtype=float), N.shape[0],
                            what=" like blocks")
            for k, v in mapping.items()
        }

    curves = _curves("gains_db", gains_db)
    if heldout_db is not None and not isinstance(heldout_db, Mapping):
        raise ParameterError("heldout_db must be a mapping name -> gains in dB, or None")
    held = _curves("heldout_db", heldout_db or {})
    if limit_db is not None:
        limit_db = finite_float(limit_db, "limit_db")
    fig, ax = _single_axes(ax, figsize)

    colour = {k: f"C{i % 10}" for i, k in enumerate(list(curves) + [
        k for k in held if k not in curves])}
    for k, g in curves.items():
        label = f"{k} (in-sample)" if k in held else k
        ax.plot(N, np.where(np.isfinite(g), g, np.nan), "o-", color=colour[k], label=label)
    for k, g in held.items():
        ax.plot(N, np.where(np.isfinite(g), g, np.nan), "s--", color=colour[k],
                markerfacecolor="white", label=f"{k} held out (other half)")
    if limit_db is not None:
        ax.axhline(
            limit_db, color="0.3", linestyle="--", linewidth=1.2,
            label=f"1/SFM limit ({limit_db:.2f} dB)",
        )
    values = np.concatenate([g[np.isfinite(g)] for g in [*curves.values(), *held.values()]] + [
        np.array([0.0] if limit_db is None else [0.0, limit_db])
    ])
    lo, hi = float(values.min()), float(values.max())
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(N))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{v:g}" for v in N])
    ax.set_xlabel("Block size N (samples)")
    ax.set_ylabel("Coding gain (dB)")
    ax.legend(loc="best")
    ax.set_title(title)
    return fig


@_styled
def lossless(
    estimate_bits: np.ndarray,
    flac_bits: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    title: str = "Lossless coding: FLAC against the Gaussian estimate",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.0, 6.0),
) -> Figure:
    """FLAC's bits per sample against the lossless estimate, one point per file.

    The estimate is the Gaussian entropy rate of the integer samples from their short-time
    spectrum (:mod:`sfm_audio.coding.lossless`), not a bound: a file may sit on either side
    of the diagonal.

    Parameters
    ----------
    estimate_bits : np.ndarray [shape=(n_files,)]
        Lossless estimate in bit/sample of each file.
    flac_bits : np.ndarray [shape=(n_files,)]
        Bits per sample FLAC spends on each file.
    labels : sequence of str [length n_files], optional
        File names. Points are numbered and the legend gives each number's name, so names
        never overlap however close the points are (only the first 30 are listed).
    title : str
        Axes title.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure; taller than wide, the names go below the axes.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    x = _vector("estimate_bits", estimate_bits)
    if x.shape[0] == 0:
        raise ParameterError("estimate_bits must not be empty")
    y = _vector("flac_bits", flac_bits, x.shape[0], what=" like estimate_bits")
    if labels is not None:
        if isinstance(labels, str):
            raise ParameterError("labels must be a sequence of strings, one per file")
        labels = [str(s) for s in labels]
        if len(labels) != x.shape[0]:
            raise ParameterError(
                f"labels has {len(labels)} names; expected {x.shape[0]} like estimate_bits"
            )
    created = ax is None
    fig, ax = _single_axes(ax, figsize)

    both = np.concatenate((x, y))
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    pad = max(0.08 * (hi - lo), 0.25)
    lo, hi = max(0.0, lo - pad), hi + pad
    ax.plot([lo, hi], [lo, hi], "--", color="0.4", linewidth=1.0,
            label="FLAC = estimate")
    ax.plot(x, y, "o", linestyle="none", color="C0", markeredgecolor="k",
            markeredgewidth=0.5, label="files" if labels is None else None, zorder=3)
    if labels is not None:
        listed = min(len(labels), 30)
        # one number label per group of points that would overlap (within 2 % of the axis),
        # turning around the points so that neighbouring groups do not collide
        groups: list[list[int]] = []
        for i in range(listed):
            for g in groups:
                if abs(x[g[0]] - x[i]) < 0.02 * (hi - lo) and abs(y[g[0]] - y[i]) < 0.02 * (
                        hi - lo):
                    g.append(i)
                    break
            else:
                groups.append([i])
        offsets = [(5, 5), (5, -11), (-13, 5), (-13, -11)]
        for j, g in enumerate(groups):
            ax.annotate(", ".join(str(i + 1) for i in g), (x[g[0]], y[g[0]]),
                        xytext=offsets[j % 4], textcoords="offset points", fontsize=7.5)
        for i in range(listed):
            ax.plot([], [], linestyle="none", label=f"{i + 1}: {labels[i]}")
        if listed < len(labels):
            ax.plot([], [], linestyle="none", label=f"... {len(labels) - listed} more files")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Lossless estimate: Gaussian entropy rate (bit/sample)")
    ax.set_ylabel("FLAC (bit/sample)")
    if labels is None:
        ax.legend(loc="upper left")
    elif created and figsize[1] > figsize[0]:  # the names below the axes of a tall figure
        fig.legend(loc="outside lower center", fontsize=7.5)
    else:  # the names beside the axes, where they cover no point
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7.5)
    _set_title(fig, [ax], title, created)  # over the figure: the legend widens it
    return fig


# --------------------------------------------------------------------------- output


def _two_panels(axes: Sequence[Axes] | None, figsize: tuple[float, float],
                func: str) -> tuple[Figure, list[Axes], bool]:
    """Two panels: a new figure (side by side, or one above the other when the figure is
    taller than wide), or the caller's two Axes."""
    if axes is None:
        fig = Figure(figsize=figsize, layout="constrained")
        portrait = figsize[1] > figsize[0]
        return fig, list(fig.subplots(2, 1) if portrait else fig.subplots(1, 2)), True
    panels = _check_axes(axes, 2, func)
    return _root_figure(panels[0]), panels, False


@_styled
def prediction(
    orders: np.ndarray | Sequence[int],
    gains_db: np.ndarray | Sequence[float],
    blocks: np.ndarray | Sequence[int],
    coding_gains_db: Mapping[str, np.ndarray],
    limit_db: float | None,
    freqs: np.ndarray,
    psd: np.ndarray,
    residual_psd: np.ndarray,
    *,
    residual_order: int,
    title: str = "Two roads to one limit",
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (11.0, 4.6),
) -> Figure:
    """Prediction gain against order beside coding gains against block size, and the spectra.

    Left: the linear-prediction gain ``10 log10(r0 / E_p)`` at each order ``p`` and the coding
    gain of each transform at each block size ``N``, on one log-2 axis, with the
    ``1/SFM`` limit of the PSD both approach. Right: the signal's PSD and the residual's,
    each divided by its mean (0 dB = the mean power), so a flat residual lies on 0 dB.

    Parameters
    ----------
    orders : np.ndarray [shape=(n_orders,)]
        Prediction orders (positive).
    gains_db : np.ndarray [shape=(n_orders,)]
        Prediction gain at each order, dB.
    blocks : np.ndarray [shape=(n_sizes,)]
        Block sizes N (positive).
    coding_gains_db : mapping str -> np.ndarray [shape=(n_sizes,)]
        Transform name -> coding gain in dB at each block size.
    limit_db : float or None
        ``10 log10(1/SFM)`` of the PSD; ``None`` omits the line.
    freqs : np.ndarray [shape=(n_freq,)]
        Frequencies in Hz of the spectra.
    psd, residual_psd : np.ndarray [shape=(n_freq,)]
        Power spectral densities (non-negative) of the signal and of the residual.
    residual_order : int
        Order of the predictor whose residual is drawn (named in the legend).
    title : str
        Figure title; the caller names the file.
    axes : sequence of two Axes, optional
        Where to draw; by default a new figure.
    figsize : (float, float)
        Size in inches of a new figure; taller than wide, the panels are stacked.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    p = _sizes("orders", orders, "prediction orders")
    g = _vector("gains_db", gains_db, p.shape[0], what=" like orders")
    N = _sizes("blocks", blocks, "block sizes")
    curves = {str(k): _vector(f"coding_gains_db[{k!r}]", v, N.shape[0], what=" like blocks")
              for k, v in coding_gains_db.items()}
    if limit_db is not None:
        limit_db = finite_float(limit_db, "limit_db")
    f = _vector("freqs", freqs)
    spectra = {}
    for name, x in (("psd", psd), ("residual_psd", residual_psd)):
        v = _vector(name, x, f.shape[0], what=" like freqs")
        if not np.all(np.isfinite(v)) or np.any(v < 0) or not v.mean() > 0:
            raise ParameterError(f"{name} must be finite, non-negative and not all zero")
        spectra[name] = v
    order = positive_int(residual_order, "residual_order")
    fig, (ax_g, ax_s), created = _two_panels(axes, figsize, "prediction")

    ok = np.isfinite(g)
    ax_g.plot(p[ok], g[ok], "s-", color="k", label="linear prediction, order p")
    for i, (k, v) in enumerate(curves.items()):
        ax_g.plot(N, v, "o-", color=f"C{i % 10}", label=f"{k}, block N")
    if limit_db is not None:
        ax_g.axhline(limit_db, color="0.3", linestyle="--", linewidth=1.2,
                     label=f"1/SFM of the PSD ({limit_db:.2f} dB)")
    ticks = np.unique(np.concatenate([p, N]))
    ax_g.set_xscale("log", base=2)
    ax_g.xaxis.set_major_locator(FixedLocator(ticks))
    ax_g.xaxis.set_minor_locator(NullLocator())
    ax_g.set_xticklabels([f"{v:g}" for v in ticks])
    ax_g.set_xlabel("Prediction order p  /  block size N")
    ax_g.set_ylabel("Gain (dB)")
    ax_g.legend(loc="lower right")
    ax_g.set_title("Gain")

    for name, colour, label in (("psd", "C0", "signal"),
                                ("residual_psd", "C3", f"residual, order {order}")):
        v = spectra[name]
        sfm = float(spectrum_flatness(v))
        with np.errstate(divide="ignore"):
            ax_s.plot(f, 10 * np.log10(v / v.mean()), color=colour,
                      label=f"{label} (SFM {sfm:.3f})")
    ax_s.axhline(0.0, color="0.3", linewidth=0.8)
    ax_s.set_xlabel("Frequency (Hz)")
    ax_s.set_ylabel("PSD / mean power (dB)")
    ax_s.legend(loc="lower left")
    ax_s.set_title("Spectra: the residual is what becomes flat")
    _set_title(fig, [ax_g, ax_s], title, created)
    return fig


@_styled
def duality(
    predicted_bits: np.ndarray,
    bits: np.ndarray,
    energy_term: np.ndarray,
    flatness_term: np.ndarray,
    *,
    fit: Mapping[str, float],
    r2_predicted: float | None,
    title: str = "Bits against flatness, frame by frame",
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (11.0, 4.6),
) -> Figure:
    """Per-block bits of an adaptive coder against water-filling and against flatness.

    Left: measured bits per sample of each block against the bits per-frame reverse
    water-filling predicts, with the line ``y = x``. Right: measured bits against
    ``1/2 log2(SFM)`` of the frame, coloured by the energy term ``1/2 log2(E / theta)``.

    Parameters
    ----------
    predicted_bits, bits : np.ndarray [shape=(n_blocks,)]
        Bits per sample, predicted and measured.
    energy_term, flatness_term : np.ndarray [shape=(n_blocks,)]
        ``1/2 log2(E / theta)`` and ``1/2 log2(SFM)`` of each block (non-finite ones, blocks
        of zeros, are not drawn on the right).
    fit : mapping
        ``intercept``, ``energy_coef``, ``flatness_coef``, ``r2`` of the least-squares fit
        ``bits = c0 + c_E x_E + c_F x_F``; shown in the right panel's title.
    r2_predicted : float or None
        R² of the measured bits against the predicted bits.
    title : str
        Figure title; the caller names the file, block size and rate.
    axes : sequence of two Axes, optional
        Where to draw; by default a new figure.
    figsize : (float, float)
        Size in inches of a new figure; taller than wide, the panels are stacked.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    pred = _vector("predicted_bits", predicted_bits)
    n = pred.shape[0]
    if n == 0:
        raise ParameterError("duality needs at least one block")
    b = _vector("bits", bits, n, what=" like predicted_bits")
    xe = _vector("energy_term", energy_term, n, what=" like predicted_bits")
    xf = _vector("flatness_term", flatness_term, n, what=" like predicted_bits")
    coef = {}
    for key in ("intercept", "energy_coef", "flatness_coef", "r2"):
        value = fit.get(key) if isinstance(fit, Mapping) else None
        coef[key] = float("nan") if value is None else finite_float(value, f"fit[{key!r}]")
    fig, (ax_p, ax_f), created = _two_panels(axes, figsize, "duality")

    top = float(max(np.nanmax(pred), np.nanmax(b), 0.0))
    ax_p.plot([0.0, top], [0.0, top], color="0.3", linestyle="--", linewidth=1.0,
              label="measured = predicted")
    label = "blocks" + ("" if r2_predicted is None else f" (R² = {r2_predicted:.3f})")
    ax_p.plot(pred, b, "o", color="C0", markersize=3.5, alpha=0.7, label=label)
    ax_p.set_xlabel("Predicted r = mean max(0, ½·log2(c²/θ)) (bit/sample)")
    ax_p.set_ylabel("Measured (bit/sample)")
    ax_p.legend(loc="upper left")
    ax_p.set_title("Measured against per-frame water-filling")

    ok = np.isfinite(xe) & np.isfinite(xf)
    points = ax_f.scatter(xf[ok], b[ok], c=xe[ok], s=12, cmap="viridis")
    _root_figure(ax_f).colorbar(points, ax=ax_f, label="½·log2(E/θ) (bit)")
    ax_f.set_xlabel("½·log2(SFM) of the frame (bit)")
    ax_f.set_ylabel("Measured (bit/sample)")
    ax_f.set_title(
        f"bits ≈ {coef['intercept']:.2f} + {coef['energy_coef']:.2f}·½log2(E/θ) + "
        f"{coef['flatness_coef']:.2f}·½log2(SFM), R² = {coef['r2']:.3f}"
    )
    _set_title(fig, [ax_p, ax_f], title, created)
    return fig


def output_format(path: str | os.PathLike) -> str:
    """The format matplotlib writes for ``path``'s extension (e.g. ``"png"``).

    Raises
    ------
    ParameterError
        For a missing extension or one matplotlib cannot write, naming the ones it can.
    """
    path = Path(path)
    ext = path.suffix[1:].lower()
    supported = sorted(Figure().canvas.get_supported_filetypes())
    if not ext:
        raise ParameterError(
            f"output {str(path)!r} has no extension; use one of "
            f"{', '.join('.' + e for e in supported)}"
        )
    if ext not in supported:
        raise ParameterError(
            f"matplotlib cannot write {path.suffix!r} files ({str(path)!r}); "
            f"use one of {', '.join('.' + e for e in supported)}"
        )
    return ext


def save(fig: Figure, path: str | os.PathLike, *, dpi: float = 150.0) -> Path:
    """Write ``fig`` to ``path`` completely or not at all; the format follows the extension.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        Output file: ``.png``, ``.pdf``, ``.svg`` or any other format matplotlib can write.
        Its folder must exist and be writable.
    dpi : float
        Resolution; a PNG is ``figsize × dpi`` pixels.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ParameterError
        For an extension matplotlib cannot write, a missing or unwritable folder, or a bad dpi.
        No file is left behind.
    """
    if not isinstance(fig, Figure):
        raise ParameterError(f"fig={fig!r} must be a matplotlib Figure")
    dpi = positive_float(dpi, "dpi")
    path = Path(path)
    ext = output_format(path)
    # Fixed metadata so the same figure gives the same bytes.
    metadata = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}.get(ext)
    with mpl.rc_context({"svg.hashsalt": _STYLE["svg.hashsalt"]}):
        with atomic_path(path, suffix=path.suffix) as tmp:
            fig.savefig(tmp, format=ext, dpi=dpi, metadata=metadata)
    return path
