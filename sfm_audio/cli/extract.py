"""``sfm-audio extract`` and ``sfm-audio info``."""

from __future__ import annotations

import math
import os
import sys
import time

import click

from .. import io
from .._errors import SfmError
from .._files import check_output_dir
from ..corpus import (
    STDIN,
    default_jobs,
    extract_files,
    scan_inputs,
)
from ..features import ExtractOptions, open_features
from ._common import (
    EXIT_FAILURE,
    exit_if_failed,
    handle_errors,
    report_failures,
    scan_options,
    show_warnings_once,
    skipped_note,
    staging_note,
)

_DEFAULTS = ExtractOptions()


def _channels(value: str) -> str | int:
    if value in ("mix", "each"):
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not 'mix', 'each' or a channel index") from None


def _frames_of(path: str, options: ExtractOptions) -> int:
    """Frames the lone file will give (at ``--sr`` if given); 0 when unknown."""
    if path == STDIN:
        return 0
    try:
        return open_features(path, options)[0].n_frames
    except Exception:
        return 0


def _progress_wanted(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


class _FileProgress:
    """A bar of files done, with the rate and ETA, opened once the run knows its size."""

    def __init__(self) -> None:
        self.bar = None
        self.t0 = time.monotonic()

    def plan(self, n_compute: int, n_reused: int) -> None:
        label = "files" if not n_reused else f"files ({n_reused} done before)"
        self.bar = click.progressbar(length=max(n_compute, 1), label=label, file=sys.stderr,
                                     show_pos=True, show_eta=True, item_show_func=self._rate)
        self.bar.__enter__()
        self.t0 = time.monotonic()

    def file(self, path, failure) -> None:
        if self.bar is not None:
            self.bar.update(1, path)

    def _rate(self, item) -> str | None:
        if self.bar is None or self.bar.pos == 0:
            return None
        return f"{self.bar.pos / max(time.monotonic() - self.t0, 1e-9):.2f} files/s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


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
@click.option("--fmin", type=float, default=None, metavar="HZ",
              help="Frame features use only the bins at or above this frequency; bands are "
                   "clipped to the range [default: 0 Hz].")
@click.option("--fmax", type=float, default=None, metavar="HZ",
              help="... and at or below this one; above a file's Nyquist frequency it is "
                   "clipped for that file, with a warning [default: Nyquist].")
@click.option("--start", type=float, default=None, metavar="SECONDS",
              help="First frame time to extract (frames keep their whole-file numbers).")
@click.option("--end", type=float, default=None, metavar="SECONDS",
              help="Last frame time to extract.")
@click.option("--features", default=None, metavar="LIST",
              help="Columns to keep, comma-separated, from sfm, sfm_db, tonality, crest, "
                   "rms_dbfs, sfm_band, crest_band [default: all].")
@click.option("--summary", is_flag=True,
              help="One row per file and channel: mean, median, std, p10, p90 of each feature.")
@click.option("--min-dbfs", type=float, default=None, metavar="DB",
              help="Summaries leave out frames whose rms_dbfs is below this and count them in "
                   "frames_gated; the frame table keeps every frame.")
@click.option("--segment", type=float, default=None, metavar="SECONDS",
              help="Summaries per segment of this many seconds (one row per file, channel and "
                   "segment, with segment_start_s); implies --summary.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Files extracted at once, each in its own single-threaded process "
                   "[default: number of cores].")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the per-file jobs on a running Dask cluster (e.g. "
                   "tcp://127.0.0.1:8786). Workers open the inputs by absolute path: every "
                   "path must be readable there too. Needs the dask extra.")
@click.option("--resume", is_flag=True,
              help="Keep the files an earlier, interrupted or partly failed run into the same "
                   "OUTPUT finished; compute only the rest.")
@click.option("--errors", "errors_path", default=None, metavar="FILE.csv",
              help="List failed files in this CSV (columns file, error) instead of printing "
                   "them.")
@scan_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no closing count.")
@handle_errors
def extract(inputs, output, n_fft, hop_length, win_length, window, center, power, amin, sr,
            channels, bands, summary, jobs, scheduler, resume, errors_path, include, exclude,
            hidden, quiet, **controls):
    """Spectral flatness per frame and per band of audio files.

    INPUTS are files, folders (searched recursively for audio) or glob patterns, or - for
    standard input. Rows are ordered by file path, then frame, then channel. Folders skip
    hidden files and macOS ._ sidecars; files of unknown formats are listed, not opened.
    Files at different sampling rates share one table: a band above a file's Nyquist
    frequency is left empty for it (mel:N and linear:N bands need --sr).

    \b
    Examples:
      sfm-audio extract data/arctic_a0007.wav -o frames.csv
      sfm-audio extract corpus/ -o summary.csv --summary --bands octave
      sfm-audio extract song.flac -o - --channels each --bands none | head
      sfm-audio extract corpus/ -o frames.parquet --jobs 8 --errors failed.csv
      sfm-audio extract corpus/ -o frames.parquet --resume   # after a crash
      sfm-audio extract /shared/corpus -o frames.csv --scheduler tcp://host:8786

    A corpus run keeps one part per file in .OUTPUT.parts/ beside OUTPUT and joins them in
    path order at the end; the folder is removed when every file succeeded and kept when
    some failed, so that --resume retries only those. Without --resume a stale folder is
    cleared. With --scheduler the workers send each part back to this machine: only the
    inputs must be shared with them.
    """
    options = ExtractOptions(
        n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
        center=center, power=power, amin=amin, sr=sr, channels=_channels(channels),
        bands=None if bands is None or bands.lower() == "none" else bands, **controls,
    )
    summary = summary or options.segment is not None
    show_warnings_once()
    if jobs is not None and scheduler is not None:
        raise click.UsageError("use either --jobs (local processes) or --scheduler (Dask)")
    if errors_path is not None:
        check_output_dir(errors_path)
        if output != "-" and os.path.abspath(errors_path) == os.path.abspath(output):
            raise click.BadParameter("must not be the output table", param_hint="--errors")
    n_jobs = jobs if jobs is not None else default_jobs()
    # a lone file keeps both cores busy by itself (reader thread + FFT threads)
    threads = 1 if jobs == 1 else 2
    scan = dict(include=include, exclude=exclude, hidden=hidden)
    kwargs = dict(summary=summary, jobs=n_jobs, scheduler=scheduler, resume=resume,
                  threads=threads, own_process=True, **scan)
    if _progress_wanted(quiet):
        paths = scan_inputs(inputs, **scan).paths
        if len(paths) == 1 and scheduler is None:
            total = _frames_of(paths[0], options)
            with click.progressbar(length=max(total, 1), label="frames",
                                   file=sys.stderr) as bar:
                report = extract_files(inputs, output, options, on_frames=bar.update, **kwargs)
        else:
            files = _FileProgress()
            try:
                report = extract_files(inputs, output, options, on_plan=files.plan,
                                       on_file=files.file, **kwargs)
            finally:
                files.close()
    else:
        report = extract_files(inputs, output, options, **kwargs)
    if report.skipped and not quiet:
        click.echo(skipped_note(report.skipped), err=True)
    report_failures(report.failed, errors_path)
    n_inputs = len(report.ok) + len(report.failed)
    if n_inputs > 1 and not quiet:
        reused = f" ({len(report.reused)} reused from an earlier run)" if report.reused else ""
        click.echo(f"{len(report.ok)} ok, {len(report.failed)} failed{reused}", err=True)
        if errors_path is not None and report.failed:
            click.echo(f"failures listed in {errors_path}", err=True)
        if report.staging is not None:
            click.echo(staging_note(report.staging), err=True)
    exit_if_failed(len(report.ok), report.failed)


#: columns of ``info --csv`` / keys of ``info --json``, in order
INFO_FIELDS = ("file", "format", "subtype", "sr", "channels", "frames", "duration_s",
               "peak_dbfs", "clipped")


def _info_row(path: str) -> dict:
    """One file's header and levels (the whole file is read for the peak and clipping)."""
    header = io.info(path)
    lv = io.levels(path)
    return {"file": path, "format": header.format, "subtype": header.subtype,
            "sr": header.samplerate, "channels": header.channels, "frames": lv.frames,
            "duration_s": lv.frames / header.samplerate, "peak_dbfs": lv.peak_dbfs,
            "clipped": lv.clipped}


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per file and line (JSON Lines); a silent file's "
                   "peak_dbfs is null.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@scan_options
@handle_errors
def info(inputs, as_json, as_csv, include, exclude, hidden):
    """Format, rate, channels, length, peak level and clipping of audio files.

    INPUTS are files, folders (searched recursively for audio), glob patterns, or '-' for
    standard input. Each file is read once to the end: the peak is in dBFS (0 dBFS = full
    scale) over all channels, and clipped counts the samples at full scale (the largest code
    of an integer format, magnitude 1.0 for float and lossy formats).

    \b
    Columns (--csv) and keys (--json):
      file, format, subtype, sr, channels, frames, duration_s, peak_dbfs, clipped
    """
    if as_json and as_csv:
        raise click.UsageError("use either --json or --csv")
    scan = scan_inputs(inputs, include=include, exclude=exclude, hidden=hidden)
    if STDIN in scan.paths:
        io.stream_stdin()  # a WAV stream is measured as it arrives, never copied
    errors = [failure.error for failure in scan.failures]
    if as_csv:
        import csv

        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(INFO_FIELDS)
    for path in scan.paths:
        try:
            row = _info_row(path)
        except SfmError as exc:  # one bad file does not hide the others
            errors.append(str(exc))
            continue
        if as_json:
            import json

            peak = row["peak_dbfs"]
            row["peak_dbfs"] = peak if math.isfinite(peak) else None
            click.echo(json.dumps(row, allow_nan=False))
        elif as_csv:
            table.writerow([row[key] for key in INFO_FIELDS])
        else:
            click.echo(f"{path}\t{row['format']} {row['subtype']}\t{row['sr']} Hz\t"
                       f"{row['channels']} ch\t{row['duration_s']:.3f} s\t"
                       f"{row['frames']} samples\tpeak {row['peak_dbfs']:.2f} dBFS\t"
                       f"{row['clipped']} clipped")
    sys.stdout.flush()
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    if errors:
        raise SystemExit(EXIT_FAILURE)
