"""Figures of the extractor's numbers: the spectrogram with its flatness, and band
flatness."""


from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, NullLocator

from .._errors import ParameterError
from ..validate import positive_float
from .base import (
    DB_RANGE,
    FREQ_SCALES,
    check_axes,
    check_choice,
    check_cmap,
    edges,
    fmt_hz,
    matrix,
    new_figure,
    root_figure,
    set_title,
    styled,
    value_range,
    vector,
)

__all__ = ["flatness", "bands"]


def _db_limits(sfm_db: np.ndarray, limits: tuple[float, float]
               ) -> tuple[float, float, str | None]:
    """``limits``, extended to the data when values fall outside (a pure tone's SFM is far
    below -60 dB), and a note saying so (None when they were kept)."""
    lo, hi = limits
    finite = sfm_db[np.isfinite(sfm_db)]
    if not finite.size:
        return lo, hi, None
    low, high = float(finite.min()), float(finite.max())
    if low >= lo and high <= hi:
        return lo, hi, None
    new_lo = min(lo, 10.0 * math.floor(low / 10.0))
    new_hi = max(hi, 10.0 * math.ceil(high / 10.0))
    return new_lo, new_hi, f"SFM (dB) axis extended to {new_lo:g}…{new_hi:g} to show every value"


def _mark_gated(ax_level: Axes, shaded: Sequence[Axes], ft: np.ndarray, level: np.ndarray,
                min_dbfs: float) -> str:
    """Shade the frames whose level is below ``min_dbfs`` (left out of summaries), draw the
    threshold on the level axis, and say how many frames that is."""
    below = level < min_dbfs
    ax_level.axhline(min_dbfs, color="C2", ls=":", lw=0.8)
    if below.any():
        step = float(np.median(np.diff(ft))) if ft.shape[0] > 1 else 1.0
        starts = np.flatnonzero(below & ~np.r_[False, below[:-1]])
        ends = np.flatnonzero(below & ~np.r_[below[1:], False])
        for a, b in zip(starts, ends, strict=True):
            for ax in shaded:
                ax.axvspan(ft[a] - step / 2, ft[b] + step / 2, color="0.5", alpha=0.25,
                           lw=0, zorder=0)
    return (f"grey: {int(below.sum())} of {below.shape[0]} frames below {min_dbfs:g} dBFS "
            "(min-dbfs: left out of summaries)")


@styled
def flatness(
    spec_db: np.ndarray,
    freqs: np.ndarray,
    times: np.ndarray,
    sfm: np.ndarray,
    frame_times: np.ndarray,
    *,
    sfm_db: np.ndarray | None = None,
    tonality: np.ndarray | None = None,
    level: np.ndarray | None = None,
    min_dbfs: float | None = None,
    color_limits: tuple[float, float] | None = None,
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
        is also given) when no ``level`` is given. It is ``min(sfm_db / -60, 1)``, a mirror
        image of ``sfm_db``: ``level`` says more beside it.
    level : np.ndarray [shape=(n_frames,)], optional
        Frame level in dBFS (the extractor's ``rms_dbfs``); drawn in the third panel, on a
        twin axis when ``sfm_db`` is also given.
    min_dbfs : float, optional
        With ``level``: the frames below it (those ``--min-dbfs`` leaves out of summaries)
        are shaded in the flatness panels and the threshold is drawn.
    color_limits : (float, float), optional
        Colour range of the spectrogram in dB (e.g. shared by the channels of a file);
        default: ``top_db`` below the maximum of ``spec_db``.
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
    S = matrix("spec_db", spec_db)
    n_freq, n_cols = S.shape
    f = vector("freqs", freqs)
    t = vector("times", times)
    f_edges = edges("freqs", f, n_freq, "Hz")
    t_edges = edges("times", t, n_cols, "s")
    y = vector("sfm", sfm)
    ft = vector("frame_times", frame_times, y.shape[0], what=" like sfm")
    extra = {}
    if level is not None:
        tonality = None  # the level replaces the mirror image of sfm_db
    for name, val in (("sfm_db", sfm_db), ("tonality", tonality), ("level", level)):
        if val is not None:
            extra[name] = vector(name, val, y.shape[0], what=" like sfm")
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
    # a log axis starts at 20 Hz at the lowest: below it a third of its height went to the
    # few bins above DC (3.9-20 Hz at 16 kHz); a range above 20 Hz starts at its lower edge
    f_low = f_draw[0]
    if log_freq and f_low < 20.0 and f_draw[-1] > 40.0:
        f_low = 20.0

    n_panels = 3 if extra else 2
    created = axes is None
    if created:
        fig = new_figure(subfigure, figsize)
        ratios = [3.0, 1.2, 1.2][:n_panels]
        gs = fig.add_gridspec(n_panels, 2, height_ratios=ratios, width_ratios=[1.0, 0.022])
        ax0 = fig.add_subplot(gs[0, 0])
        panels = [ax0] + [fig.add_subplot(gs[i, 0], sharex=ax0) for i in range(1, n_panels)]
        cax = fig.add_subplot(gs[0, 1])
        for a in panels[:-1]:
            a.tick_params(labelbottom=False)
    else:
        panels = check_axes(axes, n_panels, "flatness")
        fig = root_figure(panels[0])
        cax = None
        for a in panels[1:]:
            if not a.get_shared_x_axes().joined(panels[0], a):
                with contextlib.suppress(ValueError):  # already shared elsewhere: leave it
                    a.sharex(panels[0])

    ax_spec, ax_sfm = panels[0], panels[1]
    finite = S_draw[np.isfinite(S_draw)]
    vmax = float(finite.max()) if finite.size else 0.0
    vmin = vmax - top_db if top_db is not None else (float(finite.min()) if finite.size else -1)
    if color_limits is not None:
        vmin, vmax = value_range(color_limits, "color_limits")
    mesh = ax_spec.pcolormesh(
        t_edges, f_draw, S_draw, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat",
        rasterized=True,
    )
    if log_freq:
        ax_spec.set_yscale("log")
        ax_spec.set_ylim(f_low, f_draw[-1])
        # 1-2-5 ticks, so the top decade (1k-10k Hz at 22 kHz) is labelled inside too
        ticks = [m * 10.0**e for e in range(0, 7) for m in (1, 2, 5)]
        ticks = [x for x in ticks if f_low <= x <= f_draw[-1]]
        ax_spec.yaxis.set_major_locator(FixedLocator(ticks))
        ax_spec.yaxis.set_minor_locator(NullLocator())
        ax_spec.set_yticklabels([fmt_hz(x) for x in ticks])
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
        second = "level" if "level" in extra else "tonality" if "tonality" in extra else None
        notes = []
        if "sfm_db" in extra:
            ax3.plot(ft, extra["sfm_db"], color="C1", label="Flatness (dB)")
            ax3.set_ylabel("SFM (dB)", color="C1")
            if db_lim is not None:
                lo, hi, note = _db_limits(extra["sfm_db"], db_lim)
                ax3.set_ylim(lo, hi)
                notes += [note] if note else []
            ax_t = ax3.twinx() if second else None
        else:
            ax_t = ax3
        if ax_t is not None and second == "tonality":
            ax_t.plot(ft, extra["tonality"], color="C2", label="Tonality")
            ax_t.set_ylim(0.0, 1.0)
            ax_t.set_ylabel("Tonality", color="C2")
        elif ax_t is not None:
            ax_t.plot(ft, extra["level"], color="C2", label="Level (dBFS)", lw=1.0)
            ax_t.set_ylabel("Level (dBFS)", color="C2")
            if min_dbfs is not None:
                notes.append(_mark_gated(ax_t, [ax_sfm, ax3], ft, extra["level"],
                                         float(min_dbfs)))
        if ax_t is not None and ax_t is not ax3:
            ax_t.spines["right"].set_visible(True)
            ax_t.grid(False)
        if notes:  # above the panel, where no curve runs and the layout keeps room
            ax3.set_title("; ".join(notes), loc="left", fontsize="x-small", color="0.3",
                          pad=2.0)
    for a in panels:
        a.set_xlabel("")
    bottom.set_xlabel("Time (s)")
    set_title(fig, panels, title, created)
    return root_figure(panels[0])


@styled
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
    B = matrix("band_sfm", band_sfm)
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
    t_edges = edges("frame_times", vector("frame_times", frame_times), n_frames, "s")
    cmap = check_cmap(cmap)
    if axes is not None and subfigure is not None:
        raise ParameterError("give axes or subfigure, not both")

    created = axes is None
    if created:
        fig = new_figure(subfigure, figsize)
        gs = fig.add_gridspec(1, 2, width_ratios=[5.0, 1.0])
        ax_map = fig.add_subplot(gs[0, 0])
        ax_mean = fig.add_subplot(gs[0, 1], sharey=ax_map)
        ax_mean.tick_params(labelleft=False)
    else:
        ax_map, ax_mean = check_axes(axes, 2, "bands")
        fig = root_figure(ax_map)
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
    ax_map.set_yticklabels([f"{fmt_hz(lo[i])}–{fmt_hz(hi[i])}" for i in ticks])
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
    set_title(fig, [ax_map, ax_mean], title, created)
    return fig
