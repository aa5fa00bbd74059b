"""``sfm-audio plot``: parse the options, call :mod:`sfm_audio.figures`, print what was
written.

:mod:`sfm_audio.figures` imports matplotlib and :mod:`sfm_audio.coding` only when a figure is
drawn, so loading this module (for ``--help``) stays cheap.
"""

from __future__ import annotations

import click

from .. import figures, io
from .._errors import AudioFileError, ParameterError
from ._common import (
    allow_truncated_option,
    handle_errors,
    quiet_option,
    scan_options,
    show_warnings_once,
    skipped_note,
    split_list,
    warnings_after_success,
)


def _db_range(text: str) -> tuple[float, ...] | None:
    """``auto`` or ``LOW,HIGH`` (checked further by the library)."""
    if text.strip().lower() == "auto":
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(f"db_range={text!r} must be two numbers LOW,HIGH or auto",
                             param="db_range") from None


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Figure file; the format follows the extension (.png, .pdf, .svg, ...).")
@click.option("--kind", default="flatness", show_default=True,
              help=f"{', '.join(figures.KINDS[:-1])} or {figures.KINDS[-1]}.")
@click.option("--start", type=float, default=None, help="Start of the range in seconds.")
@click.option("--end", type=float, default=None, help="End of the range in seconds.")
@click.option("--n-fft", type=int, default=2048, show_default=True, help="FFT length.")
@click.option("--hop-length", type=int, default=512, show_default=True,
              help="Samples between frames.")
@click.option("--bands", default="mpeg7", show_default=True,
              help="Band layout for --kind bands: mpeg7, octave, third-octave, mel:N, linear:N, "
                   "edges:f0,f1,...")
@click.option("--block", "blocks", default=None,
              help="Block size N (eigen, rd; default 32) or sizes N,N,... (gain; default "
                   "2,4,8,16,32,64).")
@click.option("--rates", default=None,
              help="Rates in bit/sample for eigen and rd (default 0.5,1,2,4).")
@click.option("--dpi", type=float, default=150.0, show_default=True, help="Resolution.")
@click.option("--width", type=int, default=None,
              help="Figure width in pixels (default: the figure's inches × dpi). The "
                   "spectrogram is pooled to this many columns while streaming.")
@click.option("--height", type=int, default=None, help="Figure height in pixels.")
@click.option("--channels", default="mix", show_default=True,
              help="flatness, bands: 'mix' (average), 'each' (one row of panels per channel) "
                   "or a channel index (0-based).")
@click.option("--fmin", type=float, default=None,
              help="flatness, bands: lowest frequency in Hz; the spectrogram and the flatness "
                   "use only the bins in [fmin, fmax].")
@click.option("--fmax", type=float, default=None,
              help="flatness, bands: highest frequency in Hz (above Nyquist: clipped to it).")
@click.option("--freq-scale", default="log", show_default=True,
              help="flatness: frequency axis, log or linear.")
@click.option("--db-range", default=None, metavar="LOW,HIGH",
              help="flatness: limits of the flatness-dB axis, or 'auto' to fit the data "
                   "[default: -60,0, the range of Johnston tonality].")
@click.option("--min-dbfs", type=float, default=None, metavar="DB",
              help="flatness: shade the frames whose level (rms_dbfs, drawn in the bottom "
                   "panel) is below this, the frames extract --min-dbfs leaves out of "
                   "summaries.")
@click.option("--cmap", default=None,
              help="Colour map of the spectrogram (default magma) or band map (default "
                   "viridis): any matplotlib colour-map name.")
@allow_truncated_option
@scan_options
@quiet_option("Print neither the figure written nor notes of skipped files.")
@handle_errors
def plot(inputs, output, kind, blocks, rates, db_range, allow_truncated, include, exclude,
         hidden, quiet, **options):
    """Draw a figure of one audio file (several for --kind lossless and gains).

    \b
    flatness    spectrogram (log frequency, dB) with the SFM beneath, and its
                dB beside the frame level (rms_dbfs)
    bands       band-flatness heat map with the mean flatness of each band
    eigen       KLT eigenvalues with the water level of each rate and the bits
                per component
    rd          SNR against bits/sample: Gaussian theory (lines) and the real
                coder (markers)
    gain        coding gain of KLT, DCT and PCM against block size, with the
                1/SFM(PSD) limit
    lossless    FLAC bits/sample against the lossless estimate, one point per
                file (INPUT may also be folders or globs)
    prediction  prediction gain against order beside the coding gains; residual
                and signal spectra
    duality     each frame's measured bits against its predicted bits, and
                against ½·log2(SFM) coloured by energy
    gains       measured gain over PCM against the gain predicted from the
                extractor's band levels, one point per file and coder, at 8
                bit/sample (INPUT: folders, globs or a CSV of code --gains)
    frame-gains each frame's bits (adaptive MDCT coder, 8-bit PCM step)
                against the bits predicted from its band levels, and the
                flatness effect as a partial residual after energy

    A long recording is streamed: the spectrogram is pooled to the figure's pixel width, so
    memory stays bounded whatever the length. The spectrogram's colour bar is in dBFS:
    0 dBFS is the power a full-scale sine puts in the bin of its frequency.
    """
    block_list = split_list(blocks, int, "--block")
    rate_list = split_list(rates, float, "--rates")
    if block_list:
        options["blocks"] = tuple(block_list)
    if rate_list:
        options["rates"] = tuple(rate_list)
    if db_range is not None:
        options["db_range"] = _db_range(db_range)
    show_warnings_once()
    corpus_kind = str(kind).strip().lower() in ("lossless", "gains")
    table = len(inputs) == 1 and str(inputs[0]).lower().endswith(".csv")
    if corpus_kind and not table:  # the kinds that take folders and globs
        from ..corpus import scan_inputs

        scan = scan_inputs(inputs, include=include, exclude=exclude, hidden=hidden)
        if scan.failures:
            raise AudioFileError(scan.failures[0].error)
        if scan.skipped and not quiet:
            click.echo(skipped_note(scan.skipped), err=True)
        inputs = scan.paths
    with io.allowing_truncated(allow_truncated), warnings_after_success():
        path = figures.render(inputs, kind, output, **options)
    if not quiet:
        click.echo(f"wrote {path}")


# --kind duality takes its block and rate from --block and --rates
plot.param_aliases = {"duality_block": "--block", "duality_rate": "--rates"}
