"""Many files into one table: expand inputs, run a per-file job, join the parts in order.

Each input file is one job that writes its own *part* (the file's rows in the output
format); parts are joined in sorted path order, so the output does not depend on how the
jobs were scheduled. A failing file never stops the run: its error is collected and the
remaining files are finished.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import io
from ._errors import ParameterError, SfmError
from ._files import atomic_path, check_output_dir
from .features import ExtractOptions, open_features, summarize, summary_columns
from .writers import concatenate_parts, format_of, frame_schema, open_writer, summary_schema

__all__ = ["Failure", "RunReport", "expand_inputs", "extract_file", "extract_files"]

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Failure:
    """One input that could not be processed, with a readable reason."""

    file: str
    error: str
    usage: bool = False  # the options, not the file, were at fault (exit status 2)


@dataclass
class RunReport:
    ok: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    output_written: bool = False


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> tuple[list[str], list[Failure]]:
    """Files, folders (searched recursively for audio) and globs → sorted unique paths.

    Returns the paths and a failure for every input that named nothing usable (a missing
    path, a folder without audio, a glob matching nothing).
    """
    found: set[str] = set()
    failures = []
    for item in inputs:
        text = str(item)
        p = Path(text)
        if p.is_dir():
            audio = [str(f) for f in sorted(p.rglob("*")) if f.is_file() and io.is_audio_file(f)]
            if not audio:
                failures.append(Failure(text, f"{text}: folder holds no audio files"))
            found.update(audio)
        elif p.exists() or not (_GLOB_CHARS & set(text)):
            found.add(text)  # missing files are reported by the job, with the usual message
        else:
            matches = [m for m in glob.glob(text, recursive=True) if Path(m).is_file()]
            if not matches:
                failures.append(Failure(text, f"{text}: no file matches this pattern"))
            found.update(matches)
    return sorted(found), failures


def _rows_of_chunk(meta, chunk, hop: int) -> tuple[list[str], np.ndarray]:
    """Frame-major rows (channels interleaved within a frame) of one chunk."""
    n_ch, k, n_cols = chunk.values.shape
    frames = np.arange(chunk.frame0, chunk.frame0 + k)
    numeric = np.empty((k, n_ch, n_cols + 2))
    numeric[..., 0] = frames[:, None]
    numeric[..., 1] = (frames * hop / meta.sr)[:, None]
    numeric[..., 2:] = np.swapaxes(chunk.values, 0, 1)
    return meta.channels * k, numeric.reshape(k * n_ch, n_cols + 2)


def extract_file(
    path: str,
    options: ExtractOptions,
    writer_target,
    fmt: str,
    *,
    summary: bool = False,
    header: bool = True,
    threads: int = 1,
    label: str | None = None,
    expect_schema: list | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> None:
    """Compute one file's table and write it to ``writer_target`` (a path or text stream).

    ``label`` is the ``file`` column's value (default: the path as given). With
    ``expect_schema``, a file whose columns differ (another sampling rate gives other MPEG-7
    bands) is refused before any work.
    """
    meta, chunks = open_features(path, options, threads=threads)
    label = path if label is None else label
    schema = _schema(meta, summary)
    if expect_schema is not None and schema != expect_schema:
        raise SfmError(
            f"{path}: its columns differ from the other files' (sr={meta.sr:g} Hz gives other "
            "bands); use --sr to bring all files to one rate"
        )
    writer = open_writer(fmt, writer_target, schema, header=header)
    try:
        if summary:
            def counted():
                for chunk in chunks:
                    if on_frames is not None:
                        on_frames(chunk.n_frames)
                    yield chunk

            stats = summarize(meta, counted())
            numeric = np.column_stack([
                np.full(len(meta.channels), meta.duration),
                np.full(len(meta.channels), meta.n_frames),
                stats,
            ])
            writer.write(label, meta.channels, numeric)
        else:
            hop = options.stft_params().hop_length
            for chunk in chunks:
                channel, numeric = _rows_of_chunk(meta, chunk, hop)
                writer.write(label, channel, numeric)
                if on_frames is not None:
                    on_frames(chunk.n_frames)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _failure(path: str, exc: BaseException) -> Failure:
    if isinstance(exc, ParameterError):
        return Failure(path, str(exc), usage=True)
    if isinstance(exc, SfmError):
        return Failure(path, str(exc))
    if isinstance(exc, OSError):
        return Failure(path, f"{path}: {exc.strerror or exc}")
    return Failure(path, f"{path}: unexpected {type(exc).__name__}: {exc}")


def _part_name(path: str, options: ExtractOptions, summary: bool, fmt: str) -> str:
    key = json.dumps([os.path.abspath(path), repr(asdict(options)), summary, fmt])
    return hashlib.sha1(key.encode()).hexdigest()[:20] + "." + fmt


def extract_files(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    options: ExtractOptions | None = None,
    *,
    summary: bool = False,
    threads: int = 1,
    on_file: Callable[[str, Failure | None], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
    stdout=None,
) -> RunReport:
    """Extract every input into one output table.

    Parameters
    ----------
    inputs : sequence of paths, folders or globs
    output : path or "-"
        The format follows the extension (.csv, .jsonl, .npz, .parquet); "-" writes CSV to
        ``stdout``.
    options : ExtractOptions
    summary : bool
        One row per file and channel of statistics instead of one row per frame.
    threads : int
        Threads for a single file (reader + FFT pool).
    on_file, on_frames
        Progress callbacks: after each file, and after each chunk of frames.

    Returns
    -------
    RunReport
        Paths done, failures with reasons; the output holds every good file, in sorted path
        order, and is not written at all when no file succeeded.
    """
    options = options or ExtractOptions()
    fmt = format_of(output)
    to_stdout = str(output) == "-"
    if not to_stdout:
        check_output_dir(output)
    paths, failures = expand_inputs(inputs)
    report = RunReport(failed=list(failures))

    def done(path: str, failure: Failure | None) -> None:
        if failure is None:
            report.ok.append(path)
        else:
            report.failed.append(failure)
        if on_file is not None:
            on_file(path, failure)

    if len(paths) == 1 and not failures:
        # one file: stream straight into the output, no parts
        path = paths[0]
        try:
            if to_stdout:
                extract_file(path, options, stdout or sys.stdout, fmt, summary=summary,
                             threads=threads, on_frames=on_frames)
            else:
                with atomic_path(output, suffix=Path(output).suffix) as tmp:
                    extract_file(path, options, tmp, fmt, summary=summary, threads=threads,
                                 on_frames=on_frames)
            report.output_written = True
            done(path, None)
        except (Exception, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            done(path, _failure(path, exc))
        return report

    with tempfile.TemporaryDirectory(prefix="sfm-audio-parts-",
                                     dir=None if to_stdout else Path(output).parent) as tmpdir:
        parts: list[Path] = []
        schema = _reference_schema(paths, options, summary)
        for path in paths:
            part = Path(tmpdir) / _part_name(path, options, summary, fmt)
            try:
                with atomic_path(part, suffix="." + fmt) as tmp:
                    extract_file(path, options, tmp, fmt, summary=summary, header=False,
                                 threads=threads, expect_schema=schema, on_frames=on_frames)
                parts.append(part)
                done(path, None)
            except Exception as exc:
                done(path, _failure(path, exc))
        if parts:
            if to_stdout:
                with tempfile.NamedTemporaryFile(dir=tmpdir, suffix=".csv") as joined:
                    concatenate_parts(fmt, parts, Path(joined.name), schema)
                    with open(joined.name, encoding="utf-8", newline="") as src:
                        shutil.copyfileobj(src, stdout or sys.stdout)
            else:
                with atomic_path(output, suffix=Path(output).suffix) as tmp:
                    concatenate_parts(fmt, parts, tmp, schema)
            report.output_written = True
    return report


def _schema(meta, summary: bool) -> list:
    return summary_schema(summary_columns(meta)) if summary else frame_schema(meta.columns)


def _reference_schema(paths: list[str], options: ExtractOptions, summary: bool) -> list | None:
    """Columns of the first file (in sorted order) that opens; every part must match them."""
    for path in paths:
        with contextlib.suppress(SfmError, OSError):
            meta, _ = open_features(path, options)
            return _schema(meta, summary)
    return None
