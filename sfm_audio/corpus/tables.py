"""Feature tables of many files: ``sfm-audio extract`` as a library call.

:func:`extract_file` writes one file's table; :func:`extract_files` runs it over a corpus
(see :mod:`sfm_audio.corpus` for where the jobs run and how resuming works). The table of
several files has the union of their columns: files at different sampling rates get
different bands, and a band above a file's Nyquist frequency is left empty for that file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from .._errors import ParameterError, SfmError, is_internal_error
from .._files import atomic_path, check_output_dir
from ..bands import parse_band_spec
from ..columns import Column, union_schema
from ..features import ExtractOptions, FileMeta, open_features
from ..summaries import table_rows, table_schema
from ..threads import DEFAULT_THREADS
from ..writers import format_of, open_writer
from .executors import failure_of, start_workers_early
from .inputs import Failure, scan_inputs
from .joiner import TableJoiner
from .runner import RunReport, check_run, run_task
from .staging import Staging, remove_staging

__all__ = ["extract_file", "extract_files", "table_schema", "TableTask"]

#: band layouts whose edges follow each file's rate: files at different rates share no bands
_RATE_DEPENDENT_BANDS = ("mel", "linear")


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
    schema: list[Column] | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> None:
    """Compute one file's table and write it to ``writer_target`` (a path or text stream).

    ``label`` is the ``file`` column's value (default: the path as given). ``schema`` is the
    columns of the whole table (default: the file's own); the file's columns must be among
    them, and the others are left empty.
    """
    # the source's levels only where a summary reports them
    meta, chunks = open_features(path, options, threads=threads, levels=summary)
    label = path if label is None else label
    own = table_schema(meta, summary)
    try:
        writer = open_writer(fmt, writer_target, own if schema is None else schema,
                             header=header, row_schema=own)
    except ParameterError:
        raise SfmError(f"{path}: its columns differ from the other files' (sr={meta.sr:g} Hz "
                       "gives other bands); use --sr to bring all files to one rate") from None
    try:
        def counted():
            for chunk in chunks:
                if on_frames is not None:
                    on_frames(chunk.n_frames)
                yield chunk

        for channel, numeric in table_rows(meta, counted(), summary):
            writer.write(label, channel, numeric)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _worker_modules(fmt: str) -> tuple[str, ...]:
    """Modules the pool's fork server imports for the workers beyond the task's own:
    pyarrow for Parquet parts (imported once there, not once per worker)."""
    return ("pyarrow.ipc",) if fmt == "parquet" else ()


@dataclass(frozen=True)
class TableTask:
    """The table of one file as a part of a run (picklable)."""

    options: ExtractOptions
    fmt: str
    summary: bool
    schema: list[Column] | None

    @property
    def suffix(self) -> str:
        return "." + self.fmt

    @property
    def preload(self) -> tuple[str, ...]:
        return _worker_modules(self.fmt)

    def key(self) -> str:
        return repr([asdict(self.options), self.summary, self.fmt, self.schema])

    def __call__(self, path: str, label: str, target: Path) -> None:
        extract_file(path, self.options, target, self.fmt, summary=self.summary, header=False,
                     threads=1, label=label, schema=self.schema)


def _corpus_schema(paths: Sequence[str], options: ExtractOptions,
                   summary: bool) -> list[Column] | None:
    """The union of the columns of every file that opens (headers only, read on threads);
    None when none opens. Refuses, before any work, a rate-dependent band layout over files
    at several rates."""
    def describe(path: str) -> FileMeta | None:
        try:
            return open_features(path, options)[0]
        except (SfmError, OSError):
            return None

    with ThreadPoolExecutor(8) as pool:
        metas = [m for m in pool.map(describe, paths) if m is not None]
    if not metas:
        return None
    rates = sorted({m.sr for m in metas})
    if options.bands is not None and len(rates) > 1 and \
            parse_band_spec(options.bands)[0] in _RATE_DEPENDENT_BANDS:
        raise ParameterError(
            f"bands={options.bands!r} places its bands by each file's sampling rate, and the "
            f"files have {len(rates)} rates ({', '.join(f'{r:g}' for r in rates)} Hz): "
            "resample them to one rate (sr=RATE), or use "
            "mpeg7, octave, third-octave or edges bands, which files of any rate share",
            param="bands")
    # files of one rate and layout share their columns: each distinct set once (building
    # and merging a schema per file cost ~0.2 ms of this process per file)
    distinct = {tuple(m.columns): m for m in metas}
    return union_schema([table_schema(m, summary) for m in distinct.values()])


def extract_files(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    options: ExtractOptions | None = None,
    *,
    summary: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    threads: int = DEFAULT_THREADS,
    own_process: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    hidden: bool = False,
    stdout_format: str = "csv",
    on_plan: Callable[[int, int], None] | None = None,
    on_file: Callable[[str, Failure | None], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
    stdout=None,
) -> RunReport:
    """Extract every input into one output table.

    Parameters
    ----------
    inputs : sequence of paths, folders or globs, or "-" (standard input)
    output : path or "-"
        The format follows the extension (.csv, .jsonl, .npz, .parquet); "-" writes
        ``stdout_format`` (CSV or JSON Lines) to ``stdout``.
    options : ExtractOptions
    summary : bool
        One row per file and channel of statistics instead of one row per frame.
    jobs : int
        Files extracted at once, each on one core in its own process (1: in this process).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); the jobs run on its
        workers instead, which must see the input files under their absolute paths.
    resume : bool
        Reuse the parts an earlier, interrupted run left in
        :func:`~sfm_audio.corpus.staging_dir` and compute only the missing files; the output
        is the same as one full run's.
    threads : int
        Threads for a lone file (reader + FFT pool; default
        :data:`~sfm_audio.threads.DEFAULT_THREADS`) when it is the only input and no
        scheduler is given; corpus jobs always use one.
    own_process : bool
        The caller owns this process (the CLI does): corpus jobs run in it with ``jobs=1``
        may tune its malloc for good (:func:`~sfm_audio.corpus.tune_malloc`).
    include, exclude, hidden
        Filters of what folders and patterns find (:func:`~sfm_audio.corpus.scan_inputs`).
    stdout_format : {"csv", "jsonl"}
        The table's format on standard output (``output="-"``).
    on_plan : callable(n_to_compute, n_reused), optional
        Called once before a multi-file run starts.
    on_file, on_frames : callable, optional
        Progress: after each computed file (path, failure or None), and after each chunk of
        frames (lone file only).
    stdout : text stream, optional
        Where "-" writes (default ``sys.stdout``).

    Returns
    -------
    RunReport
        Paths done, failures with reasons; the output holds every good file, in input
        order, and is not written at all when no file succeeded. Its columns are the union
        of the files' columns.
    """
    options = options or ExtractOptions()
    fmt = format_of(output, stdout=stdout_format)
    to_stdout = str(output) == "-"
    check_run(jobs, resume, to_stdout, scheduler)
    if not to_stdout:
        check_output_dir(output)
    scan = scan_inputs(inputs, include=include, exclude=exclude, hidden=hidden)
    report = RunReport(failed=list(scan.failures), skipped=scan.skipped)
    paths = scan.paths

    if len(paths) == 1 and not scan.failures and scheduler is None:
        _extract_one(paths[0], output, options, fmt, report, summary=summary, threads=threads,
                     on_file=on_file, on_frames=on_frames, stdout=stdout)
        return report

    if scheduler is None and jobs > 1 and len(paths) > 1:  # imports while headers are read
        start_workers_early([TableTask.__module__, *_worker_modules(fmt)])
    # before any work: the columns of the table, which may refuse the run. Standard input is
    # read twice (header, then samples) in this process: io keeps an anonymous copy of it.
    schema = _corpus_schema(paths, options, summary)
    task = TableTask(options, fmt, summary, schema)
    staging = Staging(None if to_stdout else output, resume=resume)
    key = task.key()  # once: it is the repr of every option and column
    part_of = {p: staging.part(p, key, task.suffix) for p in paths}
    joiner = TableJoiner(fmt, paths, part_of, schema, staging.folder, output, stdout)
    run_task(paths, task, joiner, staging, report, jobs=jobs, scheduler=scheduler,
             resume=resume, own_process=own_process, part_of=part_of, on_plan=on_plan,
             on_file=on_file)
    return report


def _extract_one(path, output, options, fmt, report, *, summary, threads, on_file, on_frames,
                 stdout) -> None:
    """A lone file streams straight into the output: no parts, all threads on one file."""
    failure = None
    try:
        if str(output) == "-":
            extract_file(path, options, stdout or sys.stdout, fmt, summary=summary,
                         threads=threads, on_frames=on_frames)
        else:
            with atomic_path(output, suffix=Path(output).suffix) as tmp:
                extract_file(path, options, tmp, fmt, summary=summary, threads=threads,
                             on_frames=on_frames)
            remove_staging(output)  # the output is complete: parts of an earlier run are stale
        report.output_written = True
        report.ok.append(path)
    except BaseException as exc:
        if not is_internal_error(exc):
            raise
        failure = failure_of(path, exc)
        report.failed.append(failure)
    if on_file is not None:
        on_file(path, failure)
