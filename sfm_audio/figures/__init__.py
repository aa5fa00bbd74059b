"""Figures of recordings: a file in, a matplotlib figure out.

This is the library behind ``sfm-audio plot``. :func:`figure` is the one entry point for "a
figure of a recording": it reads the file (streaming it through
:func:`sfm_audio.overview.overview` for the spectrogram kinds, running
:func:`sfm_audio.coding.run_experiment` for the coding kinds, whose
:class:`~sfm_audio.coding.records.CodingReport` it reads by attribute), and hands the computed
arrays to :mod:`sfm_audio.plot`, which draws. :func:`render` does the same and writes the figure
atomically. Errors name the library's parameters (``kind``, ``blocks``, ...); the CLI turns
them into its options.

This package holds the dispatch; :mod:`~sfm_audio.figures.options` the kinds, sizes and
:class:`PlotOptions`; :mod:`~sfm_audio.figures.spectral` the extractor's figures (``flatness``,
``bands``); :mod:`~sfm_audio.figures.coding` the coding experiments' figures.
:mod:`sfm_audio.plot` (matplotlib) and :mod:`sfm_audio.coding` are imported inside the functions
that need them, so importing this package stays cheap.

Examples
--------
>>> from sfm_audio import figures
>>> fig = figures.figure("speech.wav", "flatness", start=0.5, end=3.0)  # doctest: +SKIP
>>> figures.render("speech.wav", "gain", "gain.svg",
...               blocks=(2, 4, 8, 16))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import AudioFileError, ParameterError
from .coding import (
    as_report,
    fig_duality,
    fig_eigen,
    fig_frame_gains,
    fig_gain,
    fig_gains,
    fig_lossless,
    fig_prediction,
    fig_rd,
)
from .options import CODING_KINDS as CODING_KINDS
from .options import (
    CORPUS_KINDS,
    KINDS,
    PlotOptions,
    check_kind,
    plot_options_from,
)
from .options import GAINS_FIGURE_BITS as GAINS_FIGURE_BITS
from .options import MIN_PIXELS as MIN_PIXELS
from .options import SIZES as SIZES
from .spectral import fig_bands, fig_flatness

if TYPE_CHECKING:  # plot is the only matplotlib importer; its Figure is matplotlib's
    from ..coding.records import CodingReport, Lossless
    from ..plot import Figure

__all__ = [
    "KINDS",
    "PlotOptions",
    "figure",
    "render",
    "check_output",
    "check_kind",
]


def _check_inputs(kind: str, inputs: list[str]) -> list[str]:
    """The input files of a figure; folders and globs are expanded for ``lossless`` and
    ``gains`` (which also takes one CSV of ``sfm-audio code --gains``)."""
    if kind == "gains" and len(inputs) == 1 and str(inputs[0]).lower().endswith(".csv"):
        if not Path(inputs[0]).is_file():
            raise AudioFileError(f"{inputs[0]}: no such file")
        return inputs
    if kind in CORPUS_KINDS:
        from ..corpus import expand_inputs

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
    from .. import plot as splot  # the project's only matplotlib user
    from .._files import check_output_dir

    path = check_output_dir(path)
    splot.output_format(path)
    return path


def _as_inputs(path_or_paths: Any) -> list[str]:
    if isinstance(path_or_paths, (str, Path)) or hasattr(path_or_paths, "__fspath__"):
        return [str(path_or_paths)]
    return [str(p) for p in path_or_paths]


_FIGURES: dict[str, Callable[..., Figure]] = {
    "flatness": fig_flatness,
    "bands": fig_bands,
    "eigen": fig_eigen,
    "rd": fig_rd,
    "gain": fig_gain,
    "lossless": fig_lossless,
    "prediction": fig_prediction,
    "duality": fig_duality,
    "gains": fig_gains,
    "frame-gains": fig_frame_gains,
}


def _prepare(path_or_paths: Any, kind: str, options: dict[str, Any]):
    kind = check_kind(kind)
    opts = plot_options_from(options).check(kind)
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
        precomputed["report"] = as_report(report)
    if reports is not None:
        precomputed["reports"] = reports
    from .. import plot as splot

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
    from .. import plot as splot

    kind, opts, inputs = _prepare(path_or_paths, kind, options)
    output = check_output(output)
    fig = _draw(kind, inputs, opts, report=report, reports=reports)
    return splot.save(fig, output, dpi=opts.dpi)
