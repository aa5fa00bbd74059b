"""What a figure of :mod:`sfm_audio.figures` depends on besides its inputs: the kinds, their
sizes, and :class:`PlotOptions` with its checks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .. import defaults
from .._errors import ParameterError
from ..flatness import TONALITY_DB
from ..validate import finite_float, int_at_least, nonnegative_float, positive_float

__all__ = ["KINDS", "CODING_KINDS", "CORPUS_KINDS", "GAINS_FIGURE_BITS", "SIZES", "MIN_PIXELS",
           "PlotOptions", "check_kind"]

#: The figures :func:`figure` draws.
KINDS = ("flatness", "bands", "eigen", "rd", "gain", "lossless", "prediction", "duality",
         "gains", "frame-gains")
#: The figures of the coding experiments: they use the whole file, channels mixed.
CODING_KINDS = ("eigen", "rd", "gain", "lossless", "prediction", "duality", "gains",
                "frame-gains")
#: kinds that take several inputs (files, folders, globs)
CORPUS_KINDS = ("lossless", "gains")
#: the operating point (PCM bits per sample) the gains figure draws
GAINS_FIGURE_BITS = 8
#: figure size in inches of each kind (the library's defaults); pixels = inches × dpi
SIZES = {
    "flatness": (10.0, 7.0),
    "bands": (10.0, 5.0),
    "eigen": (8.0, 6.0),
    "rd": (7.0, 5.0),
    "gain": (7.0, 5.0),
    "lossless": (6.0, 6.0),
    "prediction": (11.0, 4.6),
    "duality": (11.0, 4.6),
    "gains": (7.0, 6.5),
    "frame-gains": (11.0, 5.2),
}
#: smallest figure side in pixels
MIN_PIXELS = 50


@dataclass(frozen=True)
class PlotOptions:
    """Everything a figure depends on besides its input files and output path.

    Attributes
    ----------
    start, end : float or None
        Range in seconds of the ``flatness`` and ``bands`` figures (the coding figures use the
        whole file).
    n_fft, hop_length : int
        STFT geometry of the ``flatness`` and ``bands`` figures.
    bands : str
        Band layout of the ``bands`` figure (:func:`sfm_audio.bands.band_layout`).
    blocks : tuple of int or None
        Block size of ``eigen`` and ``rd`` (one; default 32), sizes of ``gain`` (at least two;
        default 2, 4, 8, 16, 32, 64).
    rates : tuple of float
        Rates in bit/sample of ``eigen`` and ``rd``.
    dpi : float
        Resolution; pixels = inches × dpi.
    width, height : int or None
        Figure size in pixels (at least 50); by default the kind's size in inches × dpi.
    channels : {"mix", "each"} or int
        ``flatness`` and ``bands``: the mean of the channels (librosa's ``mono=True``), each
        channel in its own row of panels, or one channel (0-based). The title says which.
    db_range : (float, float) or None
        Limits of the flatness-dB axis (default -60..0 dB, the range of Johnston tonality);
        None scales it to the data.
    freq_scale : {"log", "linear"}
        Frequency axis of the ``flatness`` spectrogram.
    fmin, fmax : float or None
        Frequency range in Hz of ``flatness`` and ``bands``: the spectrogram shows, and the
        flatness is computed over, only the FFT bins in ``[fmin, fmax]``; band layouts are
        clipped to it. An ``fmax`` above Nyquist is clipped to it with a warning.
    cmap : str or None
        Colour map of the spectrogram or band heat map (a name in matplotlib's registry);
        default ``magma`` for ``flatness``, ``viridis`` for ``bands``.
    """

    start: float | None = None
    end: float | None = None
    n_fft: int = 2048
    hop_length: int = 512
    bands: str = "mpeg7"
    blocks: tuple[int, ...] | None = None
    rates: tuple[float, ...] = defaults.RATES
    dpi: float = 150.0
    width: int | None = None
    height: int | None = None
    channels: str | int = "mix"
    db_range: tuple[float, float] | None = (TONALITY_DB, 0.0)
    freq_scale: str = "log"
    fmin: float | None = None
    fmax: float | None = None
    cmap: str | None = None
    min_dbfs: float | None = None

    def check(self, kind: str) -> PlotOptions:
        """The options with every value checked (and canonical) for figure ``kind``.

        Raises
        ------
        ParameterError
            A bad value, or a spectrogram option (range, channels, frequency range, colour
            map, frequency scale) given to a coding figure, which uses the whole mixed file.
        """
        from .. import io
        from .. import plot as splot

        kind = check_kind(kind)
        changes: dict[str, Any] = {}
        channels = self.channels
        if isinstance(channels, str) and channels.strip().isdigit():
            channels = int(channels)
        changes["channels"] = io.validate_channels(channels)
        if self.db_range is not None:
            changes["db_range"] = splot.value_range(self.db_range, "db_range")
        changes["freq_scale"] = splot.check_choice(self.freq_scale, "freq_scale",
                                                   splot.FREQ_SCALES)
        for name in ("fmin", "fmax"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = nonnegative_float(value, name)
        if changes.get("fmin") is not None and changes.get("fmax") is not None and (
            changes["fmin"] >= changes["fmax"]
        ):
            raise ParameterError(f"fmin={changes['fmin']:g} Hz must be below "
                                 f"fmax={changes['fmax']:g} Hz", param="fmin")
        if self.cmap is not None:
            changes["cmap"] = splot.check_cmap(self.cmap)
        if self.min_dbfs is not None:
            changes["min_dbfs"] = finite_float(self.min_dbfs, "min_dbfs")
        if kind in CODING_KINDS:
            given = [name for name in ("start", "end", "channels", "fmin", "fmax",
                                       "freq_scale", "cmap", "min_dbfs")
                     if getattr(self, name) != getattr(PlotOptions, name)
                     and not (name == "channels" and changes["channels"] == "mix")
                     and not (name == "freq_scale" and changes["freq_scale"] == "log")]
            if given:
                name = given[0]
                raise ParameterError(
                    f"{name}={getattr(self, name)} selects what the flatness and bands figures "
                    f"show; kind={kind} uses the whole file (channels mixed)", param=name
                )
        self.figsize(kind)
        return dataclasses.replace(self, **changes)

    def figsize(self, kind: str) -> tuple[float, float]:
        """Size in inches of figure ``kind``: the kind's default unless width/height are set."""
        w_in, h_in = SIZES[check_kind(kind)]
        dpi = positive_float(self.dpi, "dpi")
        if self.width is not None:
            w_in = int_at_least(self.width, "width", MIN_PIXELS, f"at least {MIN_PIXELS} pixels")
            w_in /= dpi
        if self.height is not None:
            h_in = int_at_least(self.height, "height", MIN_PIXELS,
                                f"at least {MIN_PIXELS} pixels")
            h_in /= dpi
        return w_in, h_in


def plot_options_from(options: dict[str, Any]) -> PlotOptions:
    """The :class:`PlotOptions` of keyword options, refusing an unknown name."""
    names = [f.name for f in dataclasses.fields(PlotOptions)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ParameterError(f"unknown figure option {unknown[0]!r}; use {', '.join(names)}",
                             param=unknown[0])
    if options.get("blocks") is not None:
        options["blocks"] = tuple(options["blocks"])
    if options.get("rates") is not None:
        options["rates"] = tuple(options["rates"])
    return PlotOptions(**options)


def check_kind(kind: str) -> str:
    """``kind`` normalised (stripped, lower case); an unknown kind raises ParameterError."""
    name = str(kind).strip().lower()
    if name not in KINDS:
        raise ParameterError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}", param="kind")
    return name
