"""``sfm-audio extract`` and ``sfm-audio info``."""

from __future__ import annotations

import sys

import click

from .. import io
from ..batch import expand_inputs, extract_files
from ..features import ExtractOptions
from ._common import EXIT_FAILURE, EXIT_USAGE, handle_errors

_DEFAULTS = ExtractOptions()


def _channels(value: str) -> str | int:
    if value in ("mix", "each"):
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not 'mix', 'each' or a channel index") from None


def _progress_wanted(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Output table: .csv, .jsonl, .npz or .parquet; '-' writes CSV to stdout.")
@click.option("--n-fft", type=int, default=_DEFAULTS.n_fft, show_default=True,
              help="FFT length in samples.")
@click.option("--hop-length", type=int, default=_DEFAULTS.hop_length, show_default=True,
              help="Samples between frames.")
@click.option("--win-length", type=int, default=_DEFAULTS.win_length,
              help="Window length (default: n_fft); the window is zero-padded to n_fft.")
@click.option("--window", default=_DEFAULTS.window, show_default=True,
              help="Any scipy.signal.get_window name.")
@click.option("--center/--no-center", default=_DEFAULTS.center, show_default=True,
              help="Pad n_fft//2 zeros at both ends so frame t is centred at t*hop.")
@click.option("--power", type=float, default=_DEFAULTS.power, show_default=True,
              help="Exponent of |STFT|: 2 power spectrum, 1 magnitude.")
@click.option("--amin", type=float, default=_DEFAULTS.amin, show_default=True,
              help="Floor of the power spectrum, applied in both means.")
@click.option("--sr", type=float, default=_DEFAULTS.sr,
              help="Resample to this rate (soxr HQ); default: each file's own rate.")
@click.option("--channels", default=str(_DEFAULTS.channels), show_default=True,
              help="'mix' (average), 'each', or a channel index (0-based).")
@click.option("--bands", default=_DEFAULTS.bands, show_default=True,
              help="none, mpeg7, octave, third-octave, mel:N, linear:N or edges:f0,f1,...")
@click.option("--summary", is_flag=True,
              help="One row per file and channel: mean, median, std, p10, p90 of each feature.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no closing count.")
@handle_errors
def extract(inputs, output, n_fft, hop_length, win_length, window, center, power, amin, sr,
            channels, bands, summary, quiet):
    """Spectral flatness per frame and per band of audio files.

    INPUTS are files, folders (searched recursively for audio) or glob patterns. Rows are
    ordered by file path, then frame, then channel.

    \b
    Examples:
      sfm-audio extract data/arctic_a0007.wav -o frames.csv
      sfm-audio extract corpus/ -o summary.csv --summary --bands octave
      sfm-audio extract song.flac -o - --channels each --bands none | head
    """
    options = ExtractOptions(
        n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
        center=center, power=power, amin=amin, sr=sr, channels=_channels(channels),
        bands=None if bands is None or bands.lower() == "none" else bands,
    )
    bar = None
    on_frames = on_file = None
    if _progress_wanted(quiet):
        paths, _ = expand_inputs(inputs)
        if len(paths) == 1:
            try:
                total = io.info(paths[0]).frames // max(1, options.hop_length)
            except Exception:
                total = 0
            bar = click.progressbar(length=max(total, 1), label="frames", file=sys.stderr)
            on_frames = bar.update
        else:
            bar = click.progressbar(length=len(paths), label="files", file=sys.stderr,
                                    show_pos=True)
            on_file = lambda path, failure: bar.update(1)  # noqa: E731
    threads = 2
    if bar is not None:
        with bar:
            report = extract_files(inputs, output, options, summary=summary, threads=threads,
                                   on_file=on_file, on_frames=on_frames)
    else:
        report = extract_files(inputs, output, options, summary=summary, threads=threads)
    for failure in report.failed:
        click.echo(f"Error: {failure.error}", err=True)
    n_inputs = len(report.ok) + len(report.failed)
    if n_inputs > 1 and not quiet:
        click.echo(f"{len(report.ok)} ok, {len(report.failed)} failed", err=True)
    if report.failed:
        all_usage = not report.ok and all(f.usage for f in report.failed)
        raise SystemExit(EXIT_USAGE if all_usage else EXIT_FAILURE)


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@handle_errors
def info(inputs):
    """Format, sample rate, channels, duration and sample count of audio files."""
    paths, failures = expand_inputs(inputs)
    for path in paths:
        try:
            a = io.info(path)
        except Exception as exc:  # one bad file does not hide the others
            click.echo(f"Error: {exc}", err=True)
            failures.append(path)
            continue
        click.echo(f"{path}\t{a.format} {a.subtype}\t{a.samplerate} Hz\t{a.channels} ch\t"
                   f"{a.duration:.3f} s\t{a.frames} samples")
    for failure in failures:
        if not isinstance(failure, str):
            click.echo(f"Error: {failure.error}", err=True)
    if failures:
        raise SystemExit(EXIT_FAILURE)
