"""Figures and reports of recordings: a file in, a matplotlib figure or a Markdown table out.

This is the library behind ``sfm-audio plot`` and ``sfm-audio demo``. :func:`figure` is the one
entry point for "a figure of a recording": it reads the file (streaming it through
:func:`sfm_audio.overview.overview` for the spectrogram kinds, running
:func:`sfm_audio.coding.run_experiment` for the coding kinds), and hands the computed arrays to
:mod:`sfm_audio.plot`, which draws. :func:`render` does the same and writes the figure
atomically; :func:`markdown_report` renders a coding report as Markdown tables;
:func:`run_demo` runs the whole project on a folder of recordings.

:mod:`sfm_audio.plot` (matplotlib) and :mod:`sfm_audio.coding` are imported inside the functions
that need them, so importing this module stays cheap.

Examples
--------
>>> from sfm_audio import report
>>> fig = report.figure("data/arctic_a0007.wav", "flatness", start=0.5, end=3.0)  # doctest: +SKIP
>>> report.render("data/arctic_a0007.wav", "gain", "gain.svg",
...               blocks=(2, 4, 8, 16))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import AudioFileError, ParameterError
from .flatness import TONALITY_DB
from .validate import int_at_least, nonnegative_float, positive_float

if TYPE_CHECKING:  # plot is the only matplotlib importer; its Figure is matplotlib's
    from .overview import Overview
    from .plot import Figure

__all__ = [
    "KINDS",
    "PlotOptions",
    "figure",
    "render",
    "check_output",
    "markdown_report",
    "default_data_dir",
    "Demo",
    "run_demo",
]

#: The figures :func:`figure` draws.
KINDS = ("flatness", "bands", "eigen", "rd", "gain", "lossless", "prediction", "duality")
#: The figures of the coding experiments: they use the whole file, channels mixed.
CODING_KINDS = ("eigen", "rd", "gain", "lossless", "prediction", "duality")
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
}
DEFAULT_BLOCK = 32
DEFAULT_GAIN_BLOCKS = (2, 4, 8, 16, 32, 64)
DEFAULT_RATES = (0.5, 1.0, 2.0, 4.0)
TRANSFORMS = ("klt", "dct", "mdct", "pcm")
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
    rates: tuple[float, ...] = DEFAULT_RATES
    dpi: float = 150.0
    width: int | None = None
    height: int | None = None
    channels: str | int = "mix"
    db_range: tuple[float, float] | None = (TONALITY_DB, 0.0)
    freq_scale: str = "log"
    fmin: float | None = None
    fmax: float | None = None
    cmap: str | None = None

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
        if kind in CODING_KINDS:
            given = [name for name, value in (
                ("--start/--end", self.start is not None or self.end is not None),
                ("--channels", changes["channels"] != "mix"),
                ("--fmin/--fmax", self.fmin is not None or self.fmax is not None),
                ("--freq-scale", changes["freq_scale"] != "log"),
                ("--cmap", self.cmap is not None),
            ) if value]
            if given:
                raise ParameterError(
                    f"{given[0]} select{'s' if '/' not in given[0] else ''} what the flatness "
                    f"and bands figures show; --kind {kind} uses the whole file (channels mixed)"
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
        raise ParameterError(f"unknown figure option {unknown[0]!r}; use {', '.join(names)}")
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
    """The input files of a figure; folders and globs are expanded for ``lossless``."""
    if kind == "lossless":
        from .corpus import expand_inputs

        paths, failures = expand_inputs(inputs)
        if failures:
            raise AudioFileError(failures[0].error)
        return paths
    if len(inputs) != 1:
        raise ParameterError(
            f"--kind {kind} draws one file; got {len(inputs)} inputs "
            "(only --kind lossless takes several)"
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
    for channel, row in zip(channels, rows, strict=True):
        ov = _overview(path, options, (width, height), bands, channel)
        if channel == "mix":
            which = f" (mix of {n_channels} channels)" if n_channels > 1 else ""
        else:
            which = f", channel {channel} of {n_channels}"
        draw(ov, f"{Path(path).name}{which}", row)
    return fig


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

    def draw(ov: Overview, name: str, row) -> None:
        title = f"{name}: spectrogram and spectral flatness\n{_range_text(ov, options)}"
        # DC (row 0, centred at 0 Hz) has no place on a log-frequency axis: not drawn there
        skip = 1 if options.freq_scale == "log" and ov.freqs[0] <= 0 else 0
        splot.flatness(ov.spec_dbfs[skip:], ov.freq_edges[skip:], ov.col_edges, ov.sfm,
                       ov.times, sfm_db=ov.sfm_db, tonality=ov.tonality, title=title,
                       db_range=options.db_range, freq_scale=options.freq_scale,
                       cmap=options.cmap or "magma", colorbar_label="Power (dBFS)",
                       subfigure=row, figsize=figsize)

    return _spectrogram_figure(inputs, options, figsize, draw, None)


def _fig_bands(inputs, options: PlotOptions, figsize):
    from . import plot as splot

    if options.bands.strip().lower() == "none":
        raise ParameterError("--kind bands needs a band layout; --bands none gives none")

    def draw(ov: Overview, name: str, row) -> None:
        title = (f"{name}: band flatness ({ov.layout.kind}, {ov.layout.n_bands} bands)\n"
                 f"{_range_text(ov, options)}")
        splot.bands(ov.band_sfm, ov.layout.edges_hz, ov.col_edges, title=title,
                    cmap=options.cmap or "viridis", subfigure=row, figsize=figsize)

    return _spectrogram_figure(inputs, options, figsize, draw, options.bands)


def _report(path: str, blocks: tuple[int, ...], rates: tuple[float, ...]) -> dict:
    """The ``sfm-audio code`` JSON report of a file (:func:`sfm_audio.coding.run_experiment`)."""
    from .coding import run_experiment

    return run_experiment(path, blocks=list(blocks), rates=list(rates),
                          transforms=list(TRANSFORMS)).report


def _lossless(path: str) -> dict:
    """The ``lossless`` entry of a file's coding report, without running the coders."""
    from .coding import lossless_file

    return lossless_file(path)


def _single_block(options: PlotOptions, kind: str) -> int:
    if options.blocks is None:
        return DEFAULT_BLOCK
    if len(options.blocks) != 1:
        raise ParameterError(f"--kind {kind} draws one block size; got --block "
                             f"{','.join(map(str, options.blocks))}")
    return options.blocks[0]


def _block_entry(report: dict, n: int) -> dict:
    for entry in report["blocks"]:
        if int(entry["block"]) == n:
            return entry
    raise ParameterError(f"the coding report has no block size {n}")


def _fig_eigen(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot

    n = _single_block(options, "eigen")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    lam = block["transforms"]["klt"]["variances"]
    thetas = [p["theta"] for p in block["rd"]]
    rates = [p["rate"] for p in block["rd"]]
    title = (f"{Path(inputs[0]).name}: KLT eigen-spectrum, N = {n}\n"
             f"water levels at {', '.join(f'{r:g}' for r in rates)} bit/sample")
    return splot.eigen(lam, thetas=thetas, rates=rates, block=n, title=title, figsize=figsize)


#: caption of the ``rd`` figure; ``{group}`` is the short-time model's group of blocks
RD_CAPTION = (
    "Lines: Gaussian models of the source, the same for every transform. Audio that changes "
    "over time is easier than one stationary model of it, so points can sit left of that "
    "line; the short-time line (a model per {group} blocks) is what an adaptive coder can "
    "approach."
)


def _fig_rd(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot
    from .coding.shorttime import GROUP_BLOCKS
    from .coding.theory import rd_curves

    n = _single_block(options, "rd")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    theory = rd_curves(report, block)
    measured = {}
    for name in TRANSFORMS:
        pts = [p["measured"][name] for p in block["rd"] if name in p.get("measured", {})]
        pts = [q for q in pts if q["snr_db"] is not None]  # lossless: SNR infinite
        if pts:
            measured[name.upper()] = ([q["bits_per_sample"] for q in pts],
                                      [q["snr_db"] for q in pts])
    duality = report.get("duality")
    if duality and duality.get("snr_db") is not None:  # what the short-time theory describes
        measured[f"adaptive DCT, {duality['block']}-sample frames"] = (
            [duality["bits_per_sample"]], [duality["snr_db"]])
    title = (f"{Path(inputs[0]).name}: rate–distortion, N = {n}\n"
             "Gaussian R(D) of the source (lines), quantizer + range coder (markers)")
    return splot.rd(theory, measured, caption=RD_CAPTION.format(group=GROUP_BLOCKS),
                    title=title, figsize=figsize)


def _fig_gain(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot

    blocks = tuple(options.blocks) if options.blocks else DEFAULT_GAIN_BLOCKS
    if len(blocks) < 2:
        raise ParameterError("--kind gain draws gain against block size; give at least two "
                             "block sizes, e.g. --block 2,4,8,16,32")
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]
    def column(name: str, key: str) -> list[float]:
        values = [e["transforms"][name].get(key) for e in entries]
        return [float("nan") if v is None else v for v in values]

    gains = {name.upper(): column(name, "coding_gain_db")
             for name in TRANSFORMS if name in entries[0]["transforms"]}
    # the KLT is fitted to the blocks it is measured on; its held-out gain is the honest one
    heldout = ({"KLT": column("klt", "heldout_coding_gain_db")}
               if "klt" in entries[0]["transforms"] else None)
    limit = report.get("gain_limit_db")
    title = f"{Path(inputs[0]).name}: coding gain against block size"
    if limit is not None:
        title += f"\n1/SFM of the PSD = {limit:.2f} dB, the limit as N grows"
    return splot.gain(list(blocks), gains, limit, heldout_db=heldout, title=title,
                      figsize=figsize)


def _fig_lossless(inputs, options: PlotOptions, figsize, reports=None):
    from . import plot as splot

    estimate, flac, names = [], [], []
    for i, path in enumerate(inputs):
        result = reports[i]["lossless"] if reports else _lossless(path)
        estimate.append(result["estimate_bits_per_sample"])
        flac.append(result["flac_bits_per_sample"])
        quantized = " (quantized)" if result.get("quantized") else ""
        names.append(f"{Path(path).name}, {result['pcm_bits']}-bit{quantized}")
    what = Path(inputs[0]).name if len(inputs) == 1 else f"{len(inputs)} files"
    title = (f"Lossless coding of {what}\n"
             "FLAC against the Gaussian entropy-rate estimate")
    return splot.lossless(estimate, flac, names, title=title, figsize=figsize)


def _fig_prediction(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot
    from .coding.prediction import predict_file

    blocks = tuple(options.blocks) if options.blocks else DEFAULT_GAIN_BLOCKS
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]
    coding = {
        name.upper(): [e["transforms"][name]["coding_gain_db"] for e in entries]
        for name in ("klt", "dct", "mdct") if name in entries[0]["transforms"]
    }
    if "KLT" in coding:  # the in-sample KLT gain overfits (beyond the limit at large N)
        held = [e["transforms"]["klt"].get("heldout_coding_gain_db") for e in entries]
        del coding["KLT"]
        if all(g is not None for g in held):
            coding = {"KLT held out": held, **coding}
    rows = report.get("prediction") or []
    if not rows:
        raise ParameterError(f"{inputs[0]}: too short for linear prediction")
    orders = [p["order"] for p in rows]
    psd, predictions = predict_file(inputs[0], orders=orders[-1:], nperseg=report["nperseg"])
    half = psd.size // 2 + 1
    freqs = [k * report["sr"] / psd.size for k in range(half)]
    gains = [float("nan") if p["gain_db"] is None else p["gain_db"] for p in rows]
    title = (f"{Path(inputs[0]).name}: prediction gain and coding gain, two roads to "
             f"1/SFM of the PSD")
    return splot.prediction(orders, gains, list(blocks), coding, report.get("gain_limit_db"),
                            freqs, psd[:half], predictions[0].residual_psd[:half],
                            residual_order=orders[-1], title=title, figsize=figsize)


def _fig_duality(inputs, options: PlotOptions, figsize, report=None):
    from . import plot as splot
    from .coding.duality import DEFAULT_BLOCK as DUALITY_BLOCK
    from .coding.duality import DEFAULT_RATE as DUALITY_RATE
    from .coding.duality import duality_file

    if report is not None and report.get("duality"):
        block, rate = report["duality"]["block"], report["duality"]["rate"]
    else:
        block = _single_block(options, "duality") if options.blocks else DUALITY_BLOCK
        rate = options.rates[0] if len(options.rates) == 1 else DUALITY_RATE
    d = duality_file(inputs[0], block=block, rate=rate)
    summary = d.summary()
    fit = {"intercept": summary["intercept"], "energy_coef": summary["energy_coef"],
           "flatness_coef": summary["flatness_coef"], "r2": summary["r2_fit"]}
    title = (f"{Path(inputs[0]).name}: bits of each {block}-sample frame, one water level "
             f"for {rate:g} bit/sample (adaptive DCT coder, SFM of the extractor's frame)")
    return splot.duality(d.predicted_bits, d.bits, d.energy_term(), d.flatness_term(), fit=fit,
                         r2_predicted=summary["r2_predicted"], title=title, figsize=figsize)


_FIGURES: dict[str, Callable[..., Figure]] = {
    "flatness": _fig_flatness,
    "bands": _fig_bands,
    "eigen": _fig_eigen,
    "rd": _fig_rd,
    "gain": _fig_gain,
    "lossless": _fig_lossless,
    "prediction": _fig_prediction,
    "duality": _fig_duality,
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
    report: dict | None = None,
    reports: Sequence[dict] | None = None,
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
    report : dict, optional
        A coding report of :func:`sfm_audio.coding.run_experiment` of the file, reused by
        ``eigen``, ``rd``, ``gain``, ``prediction`` and ``duality`` instead of running the
        experiment again. Its numbers are drawn as they are: the block sizes asked for must
        be in it, and its rates are the ones shown (``rates`` is not used).
    reports : sequence of dict, optional
        One coding report per input (only its ``lossless`` entry is read), reused by
        ``lossless``.
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
        precomputed["report"] = report
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
    report: dict | None = None,
    reports: Sequence[dict] | None = None,
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


# --------------------------------------------------------------------------- reports


def markdown_report(report: dict) -> str:
    """The transform-coding report as Markdown: gains per block size, R(D), lossless.

    Parameters
    ----------
    report : dict
        A report of :func:`sfm_audio.coding.run_experiment`.

    Returns
    -------
    text : str
    """
    lines = [f"# Transform coding of `{Path(report['file']).name}`", ""]
    lines += [
        f"sr {report['sr']:g} Hz, {report['samples']} samples, variance "
        f"{report['variance']:.4g}, PSD flatness {report['psd_sfm']:.4g} "
        f"(gain limit 1/SFM {report['gain_limit_db']:.2f} dB), mean per-frame SFM "
        + ("–" if report.get("frame_sfm_mean") is None else f"{report['frame_sfm_mean']:.4g}")
        + " (the PSD is the spectrum averaged over the whole file, the per-frame SFM the "
        "flatness of each frame's own spectrum: they can differ a lot either way)",
        "",
        *[f"- note: {w}" for w in report.get("warnings", [])],
        *([""] if report.get("warnings") else []),
        "## Coding gain (dB)",
        "",
        "| N | " + " | ".join(t.upper() for t in TRANSFORMS) + " | KLT held out | eigen SFM |",
        "|---:|" + "---:|" * (len(TRANSFORMS) + 2),
    ]
    for entry in report["blocks"]:
        tr = entry["transforms"]
        gains = " | ".join(
            f"{tr[t]['coding_gain_db']:.2f}" if t in tr and tr[t]["coding_gain_db"] is not None
            else "–" for t in TRANSFORMS
        )
        held = tr.get("klt", {}).get("heldout_coding_gain_db")
        eig = tr.get("klt", {}).get("eigen_sfm")
        lines.append(f"| {entry['block']} | {gains} | "
                     f"{'–' if held is None else f'{held:.2f}'} | "
                     f"{'–' if eig is None else f'{eig:.4f}'} |")
    for entry in report["blocks"]:
        lines += [
            "",
            f"## Rate–distortion, N = {entry['block']}",
            "",
            "Each cell: measured bits / SNR (dB) / stationary R(D) / short-time R(D), the two "
            "Gaussian rates at the measured distortion (bit/sample).",
            "",
            "| target (bit/sample) | "
            + " | ".join(f"{t.upper()}" for t in TRANSFORMS) + " |",
            "|---:|" + "---:|" * len(TRANSFORMS),
        ]
        for p in entry["rd"]:
            cells = []
            for t in TRANSFORMS:
                m = p.get("measured", {}).get(t)
                cells.append("–" if m is None else " / ".join(
                    "–" if m.get(k) is None else format(m[k], f)
                    for k, f in (("bits_per_sample", ".3f"), ("snr_db", ".2f"),
                                 ("stationary_rate", ".3f"), ("short_time_rate", ".3f"))))
            lines.append(f"| {p['rate']:g} | " + " | ".join(cells) + " |")
    ll = report.get("lossless")
    if ll:
        lines += [
            "",
            "## Lossless (bit/sample)",
            "",
            "| sample width | Gaussian entropy-rate estimate | FLAC |",
            "|---:|---:|---:|",
            f"| {ll['pcm_bits']}-bit{' (quantized)' if ll.get('quantized') else ''} | "
            f"{ll['estimate_bits_per_sample']:.3f} | {ll['flac_bits_per_sample']:.3f} |",
        ]
    lines += _markdown_roads(report)
    from .glossary import CODING_GLOSSARY

    lines += ["", "## Glossary", ""]
    lines += [f"- **{term}**: {text}" for term, text in CODING_GLOSSARY]
    return "\n".join(lines) + "\n"


def _markdown_roads(report: dict) -> list[str]:
    """Markdown of the prediction gains and of the per-frame duality of a coding report."""

    def num(x, spec: str) -> str:
        return "–" if x is None else format(x, spec)

    lines: list[str] = []
    rows = report.get("prediction") or []
    if rows:
        lines += ["", "## Linear prediction", "",
                  "| order | gain (dB) | residual SFM |", "|---:|---:|---:|"]
        lines += [f"| {p['order']} | {num(p['gain_db'], '.2f')} | {p['residual_sfm']:.3f} |"
                  for p in rows]
    d = report.get("duality")
    if d:
        lines += [
            "", f"## Bits against flatness, {d['block']}-sample frames", "",
            f"{d['blocks']} frames, one water level θ = {d['theta']:.4g} for "
            f"{d['rate']:g} bit/sample of per-frame water-filling; the adaptive "
            f"{d['transform'].upper()} coder spends {d['bits_per_sample']:.3f} bit/sample "
            f"(spread between frames {d['bits_std']:.3f}). R² of the frames' bits against "
            f"per-frame water-filling {num(d['r2_predicted'], '.3f')}; fit bits ≈ "
            f"{num(d.get('intercept'), '.2f')} + {num(d['energy_coef'], '.2f')}·½log2(E/θ) + "
            f"{num(d['flatness_coef'], '.2f')}·½log2(SFM) with the extractor's SFM of each "
            f"frame, R² {num(d['r2_fit'], '.3f')}.",
        ]
    return lines


def _write_text(path: Path, text: str) -> None:
    from ._files import atomic_path

    with atomic_path(path, suffix=path.suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- demo


def default_data_dir() -> Path:
    """The bundled recordings: ``data/`` beside the package."""
    return Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Demo:
    """What :func:`run_demo` did.

    Attributes
    ----------
    data_dir : Path
        The folder of recordings used.
    inputs : list of str
        The recordings found there, in path order; the first is the one the single-file
        figures and the coding report show.
    written : list of (Path, str)
        Each file written, with one line saying what it holds.
    seconds : float
        Wall time of the run.
    """

    data_dir: Path
    inputs: list[str]
    written: list[tuple[Path, str]]
    seconds: float


def run_demo(
    outdir: str | Path = "sfm_demo",
    *,
    data_dir: str | Path | None = None,
    block: int = DEFAULT_BLOCK,
    on_skip: Callable[[str], None] | None = None,
) -> Demo:
    """Run the whole project on a folder of recordings and write every result to ``outdir``.

    Writes the frame table and per-file summary (CSV), every figure (PNG), and the
    transform-coding report of the first recording (JSON and a Markdown table).

    Parameters
    ----------
    outdir : str or Path
        Output folder, created if missing.
    data_dir : str, Path or None
        Folder of recordings; by default the bundled ``data/`` (:func:`default_data_dir`).
    block : int
        Block size of the eigen and rate–distortion figures.
    on_skip : callable, optional
        Called with one line for each file that could not be read (the run goes on).

    Returns
    -------
    Demo

    Raises
    ------
    ParameterError
        A missing data folder, an output path that is not a folder, or a bad block size.
    AudioFileError
        No readable recording in the data folder.
    """
    from .corpus import expand_inputs, extract_files
    from .features import ExtractOptions

    t0 = time.perf_counter()
    block = int_at_least(block, "block", 2, "an integer >= 2")
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if not data.is_dir():
        raise ParameterError(f"data folder {str(data)!r} does not exist", param="data_dir")
    inputs, failures = expand_inputs([str(data)])
    if not inputs:
        raise AudioFileError(failures[0].error if failures else f"{data}: no audio files")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{str(out)!r} exists and is not a folder", param="outdir")
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str]] = []

    options = ExtractOptions()
    for name, summary, what in (("frames.csv", False, "frame table (one row per frame)"),
                                ("summary.csv", True, "summary (one row per file)")):
        result = extract_files(inputs, out / name, options, summary=summary)
        if on_skip is not None:
            for f in result.failed:
                on_skip(f"skipped: {f.error}")
        if not result.output_written:
            raise AudioFileError(f"no file in {data} could be read")
        written.append((out / name, what))

    main_file = inputs[0]
    rates = DEFAULT_RATES
    blocks = tuple(sorted(set(DEFAULT_GAIN_BLOCKS) | {block}))
    main_report = _report(main_file, blocks, rates)
    # the other recordings only need their lossless entry, not the coders
    reports = [main_report] + [{"lossless": _lossless(path)} for path in inputs[1:]]
    json_path, md_path = out / "coding.json", out / "coding.md"
    _write_text(json_path, json.dumps(main_report, indent=2, allow_nan=False) + "\n")
    written.append((json_path, f"transform-coding report of {Path(main_file).name} (JSON)"))
    _write_text(md_path, markdown_report(main_report))
    written.append((md_path, "the same report as Markdown tables"))

    figures: list[tuple[str, list[str], dict[str, Any], str]] = [
        ("flatness", [main_file], {}, "spectrogram with SFM, dB and tonality"),
        ("bands", [main_file], {}, "MPEG-7 band flatness heat map"),
        ("eigen", [main_file], {"blocks": (block,), "report": main_report},
         f"KLT eigenvalues and water levels, N = {block}"),
        ("rd", [main_file], {"blocks": (block,), "report": main_report},
         "rate–distortion, theory and measured"),
        ("gain", [main_file], {"blocks": blocks, "report": main_report},
         "coding gain against block size"),
        ("lossless", inputs, {"reports": reports}, "FLAC against the lossless estimate"),
        ("prediction", [main_file], {"blocks": blocks, "report": main_report},
         "prediction gain against order beside coding gains; residual and signal spectra"),
        ("duality", [main_file], {"report": main_report},
         "bits of each frame against water-filling and against the frame's flatness"),
    ]
    for kind, files, extra, what in figures:
        path = render(files, kind, out / f"{kind}.png", dpi=100.0, **extra)
        written.append((path, what))
    return Demo(data_dir=data, inputs=list(inputs), written=written,
                seconds=time.perf_counter() - t0)
