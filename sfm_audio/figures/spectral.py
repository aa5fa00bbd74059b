"""The extractor's figures of :mod:`sfm_audio.figures`: ``flatness`` and ``bands``, a file
streamed through :func:`sfm_audio.overview.overview` into as many columns as the figure has
pixels, one row of panels per drawn channel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import ParameterError
from ..stdin import STDIN

if TYPE_CHECKING:
    from ..overview import Overview
    from .options import PlotOptions

def _params_text(options: PlotOptions) -> str:
    return f"n_fft {options.n_fft}, hop {options.hop_length}"


# --------------------------------------------------------------------------- figures


def _channel_list(path: str, channels: str | int) -> tuple[list[str | int], int]:
    """The channels to draw (``"mix"`` or indices) and the file's channel count.

    An index out of range is refused by :func:`sfm_audio.io.stream` when the overview starts
    reading, before any sample is read.
    """
    from .. import io

    n = io.info(path).channels
    if channels == "each":
        return list(range(n)), n
    return [channels], n


def _overview(path: str, options: PlotOptions, size_px: tuple[int, int], bands: str | None,
              channel: str | int) -> Overview:
    """Stream the range into as many columns (and frequency rows) as the figure has pixels."""
    from ..overview import overview

    width, height = size_px
    return overview(path, start=options.start, end=options.end, width=width, height=height,
                    n_fft=options.n_fft, hop_length=options.hop_length, bands=bands,
                    channels=channel, freq_scale=options.freq_scale, fmin=options.fmin,
                    fmax=options.fmax)


def _spectrogram_figure(inputs, options: PlotOptions, figsize, draw: Callable[..., Any],
                        bands: str | None):
    """One row of panels per drawn channel; ``draw(ov, title, subfigure)`` draws a row."""
    from .. import plot as splot

    path = inputs[0]
    channels, n_channels = _channel_list(path, options.channels)
    if len(channels) > 1 and options.height is None:  # each row 60 % of a one-channel figure
        figsize = (figsize[0], figsize[1] * (0.4 + 0.6 * len(channels)))
    width = max(1, round(figsize[0] * options.dpi))
    height = max(1, round(figsize[1] * options.dpi / len(channels)))
    fig, rows = splot.stacked(len(channels), figsize)
    # every channel first, so that their rows share one colour scale and can be compared
    views = [_overview(path, options, (width, height), bands, channel) for channel in channels]
    limits = _shared_limits(views) if len(views) > 1 else None
    name = "standard input" if path == STDIN else Path(path).name
    for channel, row, ov in zip(channels, rows, views, strict=True):
        if channel == "mix":
            which = f" (mix of {n_channels} channels)" if n_channels > 1 else ""
        else:
            which = f", channel {channel} of {n_channels}"
        draw(ov, f"{name}{which}", row, limits)
    return fig


def _shared_limits(views: list[Overview], top_db: float = 80.0) -> tuple[float, float]:
    """One colour range (dBFS) for the spectrograms of several channels: ``top_db`` below the
    loudest of them."""
    tops = [float(np.nanmax(np.where(np.isfinite(v.spec_dbfs), v.spec_dbfs, np.nan)))
            for v in views if np.isfinite(v.spec_dbfs).any()]
    top = max(tops) if tops else 0.0
    return top - top_db, top


def _range_text(ov: Overview, options: PlotOptions) -> str:
    text = f"{_params_text(options)}, {ov.start:.2f}–{ov.end:.2f} s, sr {ov.sr:g} Hz"
    if options.fmin is not None or options.fmax is not None:
        lo, hi = ov.freqs[0], ov.freqs[-1]
        text += f", bins {lo:.0f}–{hi:.0f} Hz"
    if ov.pooled:
        text += f", means of {ov.frames_per_column:.1f} frames per column"
    return text


def fig_flatness(inputs, options: PlotOptions, figsize):
    from .. import plot as splot

    def draw(ov: Overview, name: str, row, limits=None) -> None:
        title = f"{name}: spectrogram and spectral flatness\n{_range_text(ov, options)}"
        # DC (row 0, centred at 0 Hz) has no place on a log-frequency axis: not drawn there
        skip = 1 if options.freq_scale == "log" and ov.freqs[0] <= 0 else 0
        splot.flatness(ov.spec_dbfs[skip:], ov.freq_edges[skip:], ov.col_edges, ov.sfm,
                       ov.times, sfm_db=ov.sfm_db, level=ov.rms_dbfs,
                       min_dbfs=options.min_dbfs, color_limits=limits, title=title,
                       db_range=options.db_range, freq_scale=options.freq_scale,
                       cmap=options.cmap or "magma", colorbar_label="Power (dBFS)",
                       subfigure=row, figsize=figsize)

    return _spectrogram_figure(inputs, options, figsize, draw, None)


def fig_bands(inputs, options: PlotOptions, figsize):
    from .. import plot as splot

    if options.bands.strip().lower() == "none":
        raise ParameterError("kind=bands needs a band layout; bands=none gives none",
                             param="bands")

    def draw(ov: Overview, name: str, row, limits=None) -> None:
        title = (f"{name}: band flatness ({ov.layout.kind}, {ov.layout.n_bands} bands)\n"
                 f"{_range_text(ov, options)}")
        splot.bands(ov.band_sfm, ov.layout.edges_hz, ov.col_edges, title=title,
                    cmap=options.cmap or "viridis", subfigure=row, figsize=figsize)

    return _spectrogram_figure(inputs, options, figsize, draw, options.bands)
