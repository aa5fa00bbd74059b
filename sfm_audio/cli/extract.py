"""``sfm-audio extract``: spectral flatness per frame and per band of audio files, one table."""

from __future__ import annotations

import os
import sys
import time

import click

from .. import io
from .._files import check_output_dir
from ..corpus import (
    STDIN,
    default_jobs,
    extract_files,
    scan_inputs,
)
from ..features import ExtractOptions, open_features
from ..writers import format_of
from ._common import (
    allow_truncated_option,
    exit_if_failed,
    handle_errors,
    quiet_option,
    report_failures,
    run_options,
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
              help="Output table: .csv, .jsonl, .npz or .parquet; '-' writes CSV (or JSON "
                   "Lines: --stdout-format jsonl) to stdout.")
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
                   "rms_dbfs, sfm_band, crest_band, level_band [default: all].")
@click.option("--summary", is_flag=True,
              help="One row per file and channel: mean, median, std, p10, p90 of each feature "
                   "(with level_band also tf_sfm_db = tf_temporal_db + tf_spectral_db).")
@click.option("--min-dbfs", type=float, default=None, metavar="DB",
              help="Summaries leave out frames whose rms_dbfs is below this and count them in "
                   "frames_gated; the frame table keeps every frame.")
@click.option("--segment", type=float, default=None, metavar="SECONDS",
              help="Summaries per segment of this many seconds (one row per file, channel and "
                   "segment, with segment_start_s); implies --summary.")
@run_options(
    jobs="Files extracted at once, each in its own single-threaded process "
         "[default: number of cores].",
    scheduler="Run the per-file jobs on a running Dask cluster (e.g. "
              "tcp://127.0.0.1:8786). Workers open the inputs by absolute path: every "
              "path must be readable there too. Needs the dask extra.",
    resume="Keep the files an earlier, interrupted or partly failed run into the same "
           "OUTPUT finished; compute only the rest.",
    errors="List failed files in this CSV (columns file, error) instead of printing them.",
)
@allow_truncated_option
@click.option("--raw-format", default=None, metavar="ENC:RATE:CH",
              help="Standard input (-) is headerless PCM of this layout, e.g. s16le:48000:1 "
                   "(encodings s8, u8, s16le, s24le, s32le, f32le, f64le and the be ones); "
                   "it is read live.")
@click.option("--stdout-format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Format of the table on standard output (-o -): csv (the default) or "
                   "jsonl, one JSON object per row. A file's extension sets its own format.")
@click.option("--keep-partial", is_flag=True,
              help="On a live input, an interrupted run (Ctrl-C, SIGTERM) keeps the rows "
                   "written so far under OUTPUT instead of removing it.")
@scan_options
@quiet_option("No progress bar, no closing count.")
@handle_errors
def extract(inputs, output, n_fft, hop_length, win_length, window, center, power, amin, sr,
            channels, bands, summary, jobs, scheduler, resume, errors_path, raw_format,
            stdout_format, keep_partial, include, exclude, hidden, quiet, **controls):
    """Spectral flatness per frame and per band of audio files.

    INPUTS are files, folders (searched recursively for audio) or glob patterns, or - for
    standard input. Rows are ordered by file path, then frame, then channel. Folders skip
    hidden files and macOS ._ sidecars; files of unknown formats are listed, not opened.
    Files at different sampling rates share one table: a band above a file's Nyquist
    frequency is left empty for it (mel:N and linear:N bands need --sr).

    \b
    Examples:
      sfm-audio extract sfm_audio/data/arctic_a0007.wav -o frames.csv
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

    Live input: - alone, when it is a WAV stream whose header leaves the length open (as
    recorders write to a pipe) or raw PCM (--raw-format), is read as it arrives, never
    copied, in bounded memory. Rows are computed in chunks of at most 0.25 s of audio and
    written and flushed chunk by chunk: with the default hop a row leaves within one chunk
    (0.25 s) of its audio. --segment rows are written as each segment closes, a --summary
    at the end of the input; duration_s is empty in rows written before the end. A
    whole-input --summary keeps its frames in a temporary file on disk, but its exact
    percentiles hold one column of them in memory at the end: 8 bytes per frame, 64.8 MB
    per day of audio at 48 kHz with hop 512 (--segment stays bounded). Ctrl-C ends the run
    with whole rows only; a file OUTPUT is removed unless --keep-partial.

    \b
      arecord -f S16_LE -r 48000 -t wav | sfm-audio extract - -o - --segment 1
    """
    options = ExtractOptions(
        n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
        center=center, power=power, amin=amin, sr=sr, channels=_channels(channels),
        bands=None if bands is None or bands.lower() == "none" else bands, **controls,
    )
    summary = summary or options.segment is not None
    show_warnings_once()
    if stdout_format is not None and output != "-":
        raise click.BadParameter(
            f"applies to -o - only; {output} takes the format of its extension "
            "(.csv, .jsonl, .npz, .parquet)", param_hint="--stdout-format")
    stdout_format = stdout_format or "csv"
    format_of(output)  # a bad OUTPUT is refused before waiting for standard input
    raw = None if raw_format is None else io.parse_raw_format(raw_format)
    if raw is not None and STDIN not in inputs:
        raise click.BadParameter("describes standard input: give - as the input",
                                 param_hint="--raw-format")
    if list(inputs) == [STDIN]:
        # a stream of unknown length is read live; any other is copied, as before
        io.stream_stdin(live_only=True, raw=raw)
        io.info(STDIN)
        if io.stdin_is_live():
            from ._live import extract_live

            extract_live(options, output, summary=summary, keep_partial=keep_partial,
                         resume=resume, quiet=quiet, stdout_format=stdout_format)
            return
    elif raw is not None:
        io.stdin_raw(raw)
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
                  threads=threads, own_process=True, stdout_format=stdout_format, **scan)
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
