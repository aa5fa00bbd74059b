"""Figures of recordings: a file in, a matplotlib figure out.

This is the library behind ``sfm-audio plot``. :func:`figure` is the one entry point for "a
figure of a recording": it reads the file (streaming it through
:func:`sfm_audio.overview.overview` for the spectrogram kinds, running
:func:`sfm_audio.coding.run_experiment` for the coding kinds, whose
:class:`~sfm_audio.coding.records.CodingReport` it reads by attribute), and hands the computed
arrays to :mod:`sfm_audio.plot`, which draws. :func:`render` does the same and writes the figure
atomically. Errors name the library's parameters (``kind``, ``blocks``, ...); the CLI turns
them into its options.

:mod:`sfm_audio.plot` (matplotlib) and :mod:`sfm_audio.coding` are imported inside the functions
that need them, so importing this module stays cheap.

Examples
--------
>>> from sfm_audio import figures
>>> fig = figures.figure("speech.wav", "flatness", start=0.5, end=3.0)  # doctest: +SKIP
>>> figures.render("speech.wav", "gain", "gain.svg",
...               blocks=(2, 4, 8, 16))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import defaults
from ._errors import AudioFileError, ParameterError
from .flatness import TONALITY_DB
from .stdin import STDIN
from .validate import finite_float, int_at_least, nonnegative_float, positive_float

if TYPE_CHECKING:  # plot is the only matplotlib importer; its Figure is matplotlib's
    from .coding.records import BlockSection, CodingReport, Lossless
    from .overview import Overview
    from .plot import Figure

__all__ = [
    "KINDS",
    "PlotOptions",
    "figure",
    "render",
    "check_output",
    "check_kind",
]

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
        from . import io
        from . import plot as splot

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


def _plot_options(options: dict[str, Any]) -> PlotOptions:
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


# --------------------------------------------------------------------------- checks


def check_kind(kind: str) -> str:
    """``kind`` normalised (stripped, lower case); an unknown kind raises ParameterError."""
    name = str(kind).strip().lower()
    if name not in KINDS:
        raise ParameterError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}", param="kind")
    return name


def _check_inputs(kind: str, inputs: list[str]) -> list[str]:
    """The input files of a figure; folders and globs are expanded for ``lossless`` and
    ``gains`` (which also takes one CSV of ``sfm-audio code --gains``)."""
    if kind == "gains" and len(inputs) == 1 and str(inputs[0]).lower().endswith(".csv"):
        if not Path(inputs[0]).is_file():
            raise AudioFileError(f"{inputs[0]}: no such file")
        return inputs
    if kind in CORPUS_KINDS:
        from .corpus import expand_inputs

        paths, failures = expand_inputs(inputs)
        if failures:
            raise AudioFileError(failures[0].error)
        return paths
    if len(inputs) != 1:
        raise ParameterError(
            f"kind={kind} draws one file; got {len(inputs)} inputs "
            "(only kind=lossless and kind=gains take several)", param="kind"
        )
    return inputs


def check_output(path: str | Path) -> Path:
    """Refuse an output whose folder is missing or unwritable or whose format is unknown.

    Checked before any work, so a long file is not analysed for nothing; :func:`sfm_audio.plot.
    save` checks again and writes atomically.
    """
    from . import plot as splot  # the project's only matplotlib user
    from ._files import check_output_dir

    path = check_output_dir(path)
    splot.output_format(path)
    return path


def _as_inputs(path_or_paths: Any) -> list[str]:
    if isinstance(path_or_paths, (str, Path)) or hasattr(path_or_paths, "__fspath__"):
        return [str(path_or_paths)]
    return [str(p) for p in path_or_paths]


def _params_text(options: PlotOptions) -> str:
    return f"n_fft {options.n_fft}, hop {options.hop_length}"


# --------------------------------------------------------------------------- figures


def _channel_list(path: str, channels: str | int) -> tuple[list[str | int], int]:
    """The channels to draw (``"mix"`` or indices) and the file's channel count.

    An index out of range is refused by :func:`sfm_audio.io.stream` when the overview starts
    reading, before any sample is read.
    """
    from . import io

    n = io.info(path).channels
    if channels == "each":
        return list(range(n)), n
    return [channels], n


def _overview(path: str, options: PlotOptions, size_px: tuple[int, int], bands: str | None,
              channel: str | int) -> Overview:
    """Stream the range into as many columns (and frequency rows) as the figure has pixels."""
    from .overview import overview

    width, height = size_px
    return overview(path, start=options.start, end=options.end, width=width, height=height,
                    n_fft=options.n_fft, hop_length=options.hop_length, bands=bands,
                    channels=channel, freq_scale=options.freq_scale, fmin=options.fmin,
                    fmax=options.fmax)


def _spectrogram_figure(inputs, options: PlotOptions, figsize, draw: Callable[..., Any],
                        bands: str | None):
    """One row of panels per drawn channel; ``draw(ov, title, subfigure)`` draws a row."""
    from . import plot as splot

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


def _fig_flatness(inputs, options: PlotOptions, figsize):
    from . import plot as splot

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


def _fig_bands(inputs, options: PlotOptions, figsize):
    from . import plot as splot

    if options.bands.strip().lower() == "none":
        raise ParameterError("kind=bands needs a band layout; bands=none gives none",
                             param="bands")

    def draw(ov: Overview, name: str, row, limits=None) -> None:
        title = (f"{name}: band flatness ({ov.layout.kind}, {ov.layout.n_bands} bands)\n"
                 f"{_range_text(ov, options)}")
        splot.bands(ov.band_sfm, ov.layout.edges_hz, ov.col_edges, title=title,
                    cmap=options.cmap or "viridis", subfigure=row, figsize=figsize)

    return _spectrogram_figure(inputs, options, figsize, draw, options.bands)


def _report(path: str, blocks: tuple[int, ...], rates: tuple[float, ...]) -> CodingReport:
    """The coding report of a file (:func:`sfm_audio.coding.run_experiment`)."""
    from .coding import run_experiment

    return run_experiment(path, blocks=list(blocks), rates=list(rates),
                          transforms=list(defaults.TRANSFORMS)).report


def _as_report(report: CodingReport | dict | None) -> CodingReport | None:
    """A report given to :func:`figure`: the record, or its JSON (``to_dict()``) as a dict."""
    if report is None or not isinstance(report, dict):
        return report
    from .coding.records import CodingReport

    return CodingReport.from_dict(report)


def _as_lossless(entry: Lossless | dict) -> Lossless:
    from .coding.records import CodingReport, Lossless

    if isinstance(entry, CodingReport):
        return entry.lossless
    if isinstance(entry, dict):
        return Lossless.from_dict(entry.get("lossless", entry))
    return entry


def _lossless(path: str) -> Lossless:
    """The ``lossless`` section of a file's coding report, without running the coders."""
    from .coding import lossless_file

    return lossless_file(path)


def _single_block(options: PlotOptions, kind: str) -> int:
    if options.blocks is None:
        return defaults.FIGURE_BLOCK
    if len(options.blocks) != 1:
        raise ParameterError(f"kind={kind} draws one block size; got blocks="
                             f"{','.join(map(str, options.blocks))}", param="blocks")
    return options.blocks[0]


def _block_entry(report: CodingReport, n: int) -> BlockSection:
    try:
        return report.block(n)
    except KeyError:
        raise ParameterError(f"the coding report has no block size {n}",
                             param="blocks") from None


def _fig_eigen(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot

    n = _single_block(options, "eigen")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    lam = block.transforms["klt"].variances
    thetas = [p.theta for p in block.rd]
    rates = [p.rate for p in block.rd]
    title = (f"{Path(inputs[0]).name}: KLT eigen-spectrum, N = {n}\n"
             f"water levels at {', '.join(f'{r:g}' for r in rates)} bit/sample")
    return splot.eigen(lam, thetas=thetas, rates=rates, block=n, title=title, figsize=figsize)


#: caption of the ``rd`` figure; ``{group}`` is the short-time model's group of blocks
RD_CAPTION = (
    "Lines: Gaussian models of the source, the same for every transform. Audio that changes "
    "over time is easier than one stationary model of it, so points can sit left of that "
    "line; the short-time line (a model per {group} blocks, known to the decoder for free) "
    "is an oracle, not a rate an adaptive coder reaches."
)


def _fig_rd(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot
    from .coding.theory import rd_curves

    n = _single_block(options, "rd")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    theory = rd_curves(report, block)
    measured = {}
    for name in defaults.TRANSFORMS:
        pts = [p.measured[name] for p in block.rd if name in p.measured]
        pts = [q for q in pts if q.snr_db is not None]  # lossless: SNR infinite
        if pts:
            measured[name.upper()] = ([q.bits_per_sample for q in pts],
                                      [q.snr_db for q in pts])
    duality = report.duality
    if duality and duality.snr_db is not None:  # what the short-time theory describes
        measured[f"adaptive DCT, {duality.block}-sample frames"] = (
            [duality.bits_per_sample], [duality.snr_db])
    title = (f"{Path(inputs[0]).name}: rate–distortion, N = {n}\n"
             "Gaussian R(D) of the source (lines), quantizer + range coder (markers)")
    return splot.rd(theory, measured,
                    caption=RD_CAPTION.format(group=block.theory.short_time_group_blocks),
                    title=title, figsize=figsize)


def _fig_gain(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot

    blocks = tuple(options.blocks) if options.blocks else defaults.GAIN_BLOCKS
    if len(blocks) < 2:
        raise ParameterError("kind=gain draws gain against block size; give at least two "
                             "block sizes, e.g. blocks=2,4,8,16,32", param="blocks")
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]

    def column(name: str, key: str) -> list[float]:
        return [e.column(name, key) for e in entries]

    gains = {name.upper(): column(name, "coding_gain_db")
             for name in defaults.TRANSFORMS if name in entries[0].transforms}
    # the KLT is fitted to the blocks it is measured on; its held-out gain is the honest one
    heldout = ({"KLT": column("klt", "heldout_coding_gain_db")}
               if "klt" in entries[0].transforms else None)
    limit = report.gain_limit_db
    title = f"{Path(inputs[0]).name}: coding gain against block size"
    if limit is not None:
        title += f"\n1/SFM of the PSD = {limit:.2f} dB, the limit as N grows"
    return splot.gain(list(blocks), gains, limit, heldout_db=heldout, title=title,
                      figsize=figsize)


def _fig_lossless(inputs, options: PlotOptions, figsize, reports=None):
    from . import plot as splot

    estimate, flac, names = [], [], []
    for i, path in enumerate(inputs):
        result = _as_lossless(reports[i]) if reports else _lossless(path)
        estimate.append(result.estimate_bits_per_sample)
        flac.append(result.flac_bits_per_sample)
        quantized = " (quantized)" if result.quantized else ""
        names.append(f"{Path(path).name}, {result.pcm_bits}-bit{quantized}")
    what = Path(inputs[0]).name if len(inputs) == 1 else f"{len(inputs)} files"
    title = (f"Lossless coding of {what}\n"
             "FLAC against the Gaussian entropy-rate estimate")
    return splot.lossless(estimate, flac, names, title=title, figsize=figsize)


def _fig_prediction(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot
    from .coding.prediction import predict_file

    blocks = tuple(options.blocks) if options.blocks else defaults.GAIN_BLOCKS
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]
    coding = {
        name.upper(): [e.transforms[name].coding_gain_db for e in entries]
        for name in ("klt", "dct", "mdct") if name in entries[0].transforms
    }
    if "KLT" in coding:  # the in-sample KLT gain overfits (beyond the limit at large N)
        held = [e.transforms["klt"].heldout_coding_gain_db for e in entries]
        del coding["KLT"]
        if all(g is not None for g in held):
            coding = {"KLT held out": held, **coding}
    rows = report.prediction
    if not rows:
        raise ParameterError(f"{inputs[0]}: too short for linear prediction")
    orders = [p.order for p in rows]
    psd, predictions = predict_file(inputs[0], orders=orders[-1:], nperseg=report.nperseg)
    half = psd.size // 2 + 1
    freqs = [k * report.sr / psd.size for k in range(half)]
    gains = [float("nan") if p.gain_db is None else p.gain_db for p in rows]
    title = (f"{Path(inputs[0]).name}: prediction gain and coding gain, two roads to "
             f"1/SFM of the PSD")
    return splot.prediction(orders, gains, list(blocks), coding, report.gain_limit_db,
                            freqs, psd[:half], predictions[0].residual_psd[:half],
                            residual_order=orders[-1], title=title, figsize=figsize)


def _fig_duality(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot
    from .coding.duality import duality_file

    if report is not None and report.duality:
        block, rate = report.duality.block, report.duality.rate
    else:
        block = _single_block(options, "duality") if options.blocks else defaults.DUALITY_BLOCK
        rate = options.rates[0] if len(options.rates) == 1 else defaults.DUALITY_RATE
    d = duality_file(inputs[0], block=block, rate=rate)
    summary = d.summary()
    fit = {"intercept": summary["intercept"], "energy_coef": summary["energy_coef"],
           "flatness_coef": summary["flatness_coef"], "r2": summary["r2_fit"]}
    title = (f"{Path(inputs[0]).name}: bits of each {block}-sample frame, one water level "
             f"for {rate:g} bit/sample (adaptive DCT coder, SFM of the extractor's frame)")
    return splot.duality(d.predicted_bits, d.bits, d.energy_term(), d.flatness_term(), fit=fit,
                         r2_predicted=summary["r2_predicted"], title=title, figsize=figsize)



def _gains_rows(inputs: list[str]) -> list[dict]:
    """Rows of the gains experiment: read from a ``--gains`` CSV, or computed (first
    ``DEFAULT_SECONDS`` of each file, at :data:`GAINS_FIGURE_BITS`)."""
    import csv

    if len(inputs) == 1 and inputs[0].lower().endswith(".csv"):
        with open(inputs[0], newline="") as handle:
            rows = list(csv.DictReader(handle))
        need = {"file", "pcm_bits", "measured_stationary_db", "predicted_stationary_db",
                "measured_adaptive_db", "predicted_adaptive_db"}
        if not rows or need - set(rows[0]):
            raise ParameterError(f"{inputs[0]}: not a table of sfm-audio code --gains (needs "
                                 f"{', '.join(sorted(need))})", param="inputs")
        return rows
    from .coding.gains import gains_file

    return [r.to_dict() for path in inputs
            for r in gains_file(path, pcm_bits=(GAINS_FIGURE_BITS,))]


def _fig_gains(inputs, options: PlotOptions, figsize):
    from . import plot as splot

    rows = _gains_rows(inputs)
    points = sorted({int(r["pcm_bits"]) for r in rows})
    bits = GAINS_FIGURE_BITS if GAINS_FIGURE_BITS in points else points[0]
    at = [r for r in rows if int(r["pcm_bits"]) == bits]

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if r[key] in (None, "") else float(r[key]) for r in at])

    coders = ("adaptive", "stationary")
    measured = {c: column(f"measured_{c}_db") for c in coders}
    predicted = {c: column(f"predicted_{c}_db") for c in coders}
    what = Path(at[0]["file"]).name if len(at) == 1 else f"{len(at)} files"
    title = (f"Gain over PCM at {bits} bit/sample, {what}\nreal coders against the "
             "extractor's rate-aware prediction (nothing fitted)")
    return splot.gains(measured, predicted, title=title, figsize=figsize)


def _fig_frame_gains(inputs, options: PlotOptions, figsize):
    from . import io
    from . import plot as splot
    from .coding.gains import DEFAULT_BLOCK, DEFAULT_SECONDS, frame_gains

    path = inputs[0]
    sr = io.info(path).samplerate
    stop = min(io.info(path).frames, int(DEFAULT_SECONDS * sr))
    y = np.concatenate([c[0] for c in io.stream(path, block_frames=1 << 16, stop=stop)])
    block = _single_block(options, "frame-gains") if options.blocks else DEFAULT_BLOCK
    f = frame_gains(y, sr=sr, pcm_bits=GAINS_FIGURE_BITS, block=block)
    title = (f"{Path(path).name}: bits of each {f.block}-sample MDCT frame of the adaptive coder "
             f"at the {f.pcm_bits}-bit PCM step,\nmeasured against predicted from the "
             "extractor's Bark band levels of that frame (no coded coefficient used)")
    return splot.frame_gains(f.measured, f.predicted, f.energy_only, title=title,
                             figsize=figsize)


_FIGURES: dict[str, Callable[..., Figure]] = {
    "flatness": _fig_flatness,
    "bands": _fig_bands,
    "eigen": _fig_eigen,
    "rd": _fig_rd,
    "gain": _fig_gain,
    "lossless": _fig_lossless,
    "prediction": _fig_prediction,
    "duality": _fig_duality,
    "gains": _fig_gains,
    "frame-gains": _fig_frame_gains,
}


def _prepare(path_or_paths: Any, kind: str, options: dict[str, Any]):
    kind = check_kind(kind)
    opts = _plot_options(options).check(kind)
    inputs = _check_inputs(kind, _as_inputs(path_or_paths))
    return kind, opts, inputs


def figure(
    path_or_paths: str | Path | Sequence[str | Path],
    kind: str = "flatness",
    *,
    report: CodingReport | dict | None = None,
    reports: Sequence[CodingReport | Lossless | dict] | None = None,
    **options: Any,
) -> Figure:
    """Figure ``kind`` of a recording (several for ``lossless``), as a matplotlib Figure.

    Parameters
    ----------
    path_or_paths : str, Path or sequence of them
        One audio file; for ``kind="lossless"`` any number of files, folders or globs.
    kind : str
        ``flatness`` (spectrogram with SFM, dB and tonality beneath), ``bands`` (band-flatness
        heat map), ``eigen`` (KLT eigenvalues and water levels), ``rd`` (rate–distortion,
        theory and measured), ``gain`` (coding gain against block size), ``lossless``
        (FLAC against the lossless estimate), ``prediction`` (prediction gain against order
        beside the coding gains, and the residual's spectrum beside the signal's) or
        ``duality`` (bits of each frame of an adaptive coder against per-frame water-filling
        and against the frame's flatness).
    report : CodingReport or dict, optional
        A coding report of :func:`sfm_audio.coding.run_experiment` of the file (the record
        or its JSON as a dict), reused by
        ``eigen``, ``rd``, ``gain``, ``prediction`` and ``duality`` instead of running the
        experiment again. Its numbers are drawn as they are: the block sizes asked for must
        be in it, and its rates are the ones shown (``rates`` is not used).
    reports : sequence of CodingReport, Lossless or dict, optional
        One coding report (or its ``lossless`` section) per input, reused by ``lossless``.
    **options
        Fields of :class:`PlotOptions` (``start``, ``end``, ``n_fft``, ``hop_length``,
        ``bands``, ``blocks``, ``rates``, ``dpi``, ``width``, ``height``, ``channels``,
        ``db_range``, ``freq_scale``, ``fmin``, ``fmax``, ``cmap``).

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        Unknown kind or option, or a bad option value.
    AudioFileError
        A missing, empty or unreadable file.
    """
    kind, opts, inputs = _prepare(path_or_paths, kind, options)
    return _draw(kind, inputs, opts, report=report, reports=reports)


def _draw(kind: str, inputs: list[str], opts: PlotOptions, *, report, reports) -> Figure:
    precomputed: dict[str, Any] = {}
    if report is not None:
        precomputed["report"] = _as_report(report)
    if reports is not None:
        precomputed["reports"] = reports
    from . import plot as splot

    figsize = opts.figsize(kind)
    fig = _FIGURES[kind](inputs, opts, figsize, **precomputed)
    splot.fit_text(fig)
    return fig


def render(
    path_or_paths: str | Path | Sequence[str | Path],
    kind: str,
    output: str | Path,
    *,
    report: CodingReport | dict | None = None,
    reports: Sequence[CodingReport | Lossless | dict] | None = None,
    **options: Any,
) -> Path:
    """Draw :func:`figure` ``kind`` of the input(s) and write it to ``output`` atomically.

    The output's folder and format are checked before any audio is read; the format follows
    the extension (``.png``, ``.pdf``, ``.svg``, ...). Parameters are those of :func:`figure`.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    from . import plot as splot

    kind, opts, inputs = _prepare(path_or_paths, kind, options)
    output = check_output(output)
    fig = _draw(kind, inputs, opts, report=report, reports=reports)
    return splot.save(fig, output, dpi=opts.dpi)
