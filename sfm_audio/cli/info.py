"""``sfm-audio info``: format, rate, channels, length, peak level and clipping of audio files."""

from __future__ import annotations

import math
import sys

import click

from .. import io
from .._errors import SfmError
from .._files import check_output_dir
from ..corpus import STDIN, Failure, scan_inputs
from ._common import (
    allow_truncated_option,
    errors_option,
    exit_if_failed,
    file_error_text,
    handle_errors,
    internal_error,
    quiet_option,
    report_failures,
    scan_options,
    show_warnings_once,
    skipped_note,
)

#: columns of ``info --csv`` / keys of ``info --json``, in order
INFO_FIELDS = ("file", "format", "subtype", "sr", "channels", "frames", "duration_s",
               "peak_dbfs", "clipped")


def _info_row(path: str, allow_truncated: bool = False) -> dict:
    """One file's header and levels (the whole file is read for the peak and clipping)."""
    header = io.info(path, allow_truncated=allow_truncated)
    lv = io.levels(path, allow_truncated=allow_truncated)
    return {"file": path, "format": header.format, "subtype": header.subtype,
            "sr": header.sr, "channels": header.channels, "frames": lv.frames,
            "duration_s": lv.frames / header.sr, "peak_dbfs": lv.peak_dbfs,
            "clipped": lv.clipped}


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per file and line (JSON Lines); a silent file's "
                   "peak_dbfs is null.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@errors_option("List failed files in this CSV (columns file, error) instead of printing them.")
@allow_truncated_option
@scan_options
@quiet_option("No note of the files folders hold in formats that are not audio.")
@handle_errors
def info(inputs, as_json, as_csv, errors_path, allow_truncated, include, exclude, hidden,
         quiet):
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
    show_warnings_once()
    if errors_path is not None:
        check_output_dir(errors_path)
    scan = scan_inputs(inputs, include=include, exclude=exclude, hidden=hidden)
    if STDIN in scan.paths:
        io.stream_stdin()  # a WAV stream is measured as it arrives, never copied
    failed = list(scan.failures)
    if as_csv:
        import csv

        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(INFO_FIELDS)
    for path in scan.paths:
        try:
            row = _info_row(path, allow_truncated)
        except SfmError as exc:  # one bad file does not hide the others
            failed.append(Failure(path, file_error_text(str(exc))))
            continue
        except Exception as exc:  # a bug on one file does not hide the others either
            failed.append(Failure(path, internal_error(exc, path)))
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
    if scan.skipped and not quiet:  # the words extract and code use
        click.echo(skipped_note(scan.skipped), err=True)
    report_failures(failed, errors_path)
    exit_if_failed(len(scan.paths) - len(failed) + len(scan.failures), failed)
