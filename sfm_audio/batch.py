"""Many files into one table: expand inputs, run a per-file job, join the parts in order.

Each input file is one *job* that writes its own *part* (the file's rows in the output
format, without a header); the parts are joined in sorted path order, so the output does not
depend on how or where the jobs ran. A failing file never stops the run: its error is
collected and the remaining files are finished.

Where the jobs run
------------------
- ``jobs=1``: one after the other in this process.
- ``jobs=N``: a pool of N worker processes, forked from a ``forkserver`` that has imported
  the extraction modules once (``spawn`` where there is no fork server): never a fork of the
  caller's process with its threads and locks. Each job is single-threaded — no reader
  thread, no FFT pool, BLAS pinned to one thread — so N jobs use N cores. A worker that dies
  (a crash, the OOM killer) is reported as the failure of the file it was working on.
  CSV and JSON Lines parts are appended to the output as soon as every earlier file is
  settled, so the join overlaps the computing.
- ``scheduler="tcp://host:8786"``: the same jobs on a running Dask distributed cluster.
  Workers open the input files by their absolute path, so every path must be readable under
  that same path on every worker (a shared filesystem), and the workers need the same
  ``sfm_audio`` installed. Only the inputs must be shared: a worker that sees the client's
  staging folder (checked with a random token the run writes into it) and may write there
  writes its part straight into it; any other worker sends the part's bytes back to the
  client (a part is bounded by one file's table), which writes it. A part the client cannot
  see after a worker said it wrote it is asked for again as bytes. Resuming is decided on the
  client alone.

Staging and resuming
--------------------
Parts live in a staging folder beside the output, ``.<output name>.parts/``, one file per
input named by a hash of everything that decides its bytes (absolute path, the path as
written in the ``file`` column, size and modification time of the input, options, summary,
format and columns). Parts are written to a temporary name and renamed, so a part that exists
is complete. After the join the folder is removed when every file succeeded; when some
failed it is kept, so that a rerun with ``resume=True`` retries only those. Without
``resume`` a stale staging folder is cleared first. With ``resume`` every part already there
is reused and only the missing files are computed; the output is byte for byte the output
of one full run. A run that was killed (even with SIGKILL) leaves only complete parts and
hidden temporary files, which the next run removes. A complete run leaves nothing to resume:
``resume`` then computes everything again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import io
from ._errors import ParameterError, SfmError
from ._files import _umask, atomic_path, check_output_dir
from .features import ExtractOptions, open_features, summarize, summary_columns
from .writers import concatenate_parts, format_of, frame_schema, open_writer, summary_schema

__all__ = [
    "Failure",
    "RunReport",
    "default_jobs",
    "expand_inputs",
    "extract_file",
    "extract_files",
    "process_pool",
    "staging_dir",
    "tune_malloc",
    "write_errors",
]

_GLOB_CHARS = set("*?[")
#: bump when the bytes of a part change for the same inputs and options
_PART_VERSION = 1
#: a file in every staging folder, so that only folders made here are ever removed
_STAGING_MARK = "SFM_AUDIO_PARTS"
#: BLAS / OpenMP thread counts for one-core jobs
_ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class Failure:
    """One input that could not be processed, with a readable reason."""

    file: str
    error: str
    usage: bool = False  # the options, not the file, were at fault (exit status 2)


@dataclass
class RunReport:
    """What a run did.

    Attributes
    ----------
    ok : list of str
        Files in the output, in sorted order (including ``reused`` ones).
    failed : list of Failure
        Inputs that named nothing, then failed files in sorted order.
    output_written : bool
    reused : list of str
        Files whose part was left by an earlier, interrupted run (``resume=True``).
    staging : str or None
        The staging folder when it was kept (some files failed), else None.
    """

    ok: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    output_written: bool = False
    reused: list[str] = field(default_factory=list)
    staging: str | None = None


def default_jobs() -> int:
    """Number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


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


def _failure(label: str, exc: BaseException, opened: str | None = None) -> Failure:
    """A readable failure; messages name the file as the user wrote it (``label``)."""
    def named(text: str) -> str:
        return text.replace(opened, label) if opened and opened != label else text

    if isinstance(exc, ParameterError):
        return Failure(label, named(str(exc)), usage=True)
    if isinstance(exc, SfmError):
        return Failure(label, named(str(exc)))
    if isinstance(exc, OSError):
        return Failure(label, f"{label}: {exc.strerror or exc}")
    return Failure(label, f"{label}: unexpected {type(exc).__name__}: {named(str(exc))}")


def _part_name(path: str, options: ExtractOptions, summary: bool, fmt: str,
               schema: list | None = None) -> str:
    """Name of a file's part: a hash of everything that decides the part's bytes."""
    try:
        st = os.stat(path)
        stamp = [st.st_size, st.st_mtime_ns]
    except OSError:
        stamp = None
    key = json.dumps([_PART_VERSION, os.path.abspath(path), path, stamp,
                      repr(asdict(options)), summary, fmt, repr(schema)])
    return hashlib.sha1(key.encode()).hexdigest()[:20] + "." + fmt


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class _Job:
    """One file to extract; picklable, so it can run in another process or on a cluster."""

    path: str  # the path the job opens (absolute on a Dask worker)
    label: str  # the path as given: the ``file`` column and the name in messages
    part: str  # the part to write (absolute on a Dask worker)
    options: ExtractOptions
    fmt: str
    summary: bool
    schema: list | None
    # None: write the part (same machine). A string: write it only when the staging
    # folder's marker holds this token (the worker sees the client's folder), else return
    # the part's bytes; "" always returns the bytes.
    token: str | None = None


@dataclass(frozen=True)
class _Result:
    label: str
    failure: Failure | None
    data: bytes | None = None


def _sees_staging(job: _Job) -> bool:
    """Whether this process sees (and may write) the staging folder of the job's run."""
    if job.token is None:
        return True
    folder = Path(job.part).parent
    try:
        return bool(job.token) and (folder / _STAGING_MARK).read_text() == job.token and \
            os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False


def _run_job(job: _Job) -> _Result:
    """Extract one file on one thread into its part; never raises for a bad file."""
    kwargs = dict(summary=job.summary, header=False, threads=1, label=job.label,
                  expect_schema=job.schema)
    try:
        if _sees_staging(job):
            with atomic_path(job.part, suffix="." + job.fmt) as tmp:
                extract_file(job.path, job.options, tmp, job.fmt, **kwargs)
            return _Result(job.label, None)
        with tempfile.TemporaryDirectory(prefix="sfm-audio-job-") as tmpdir:
            tmp = Path(tmpdir) / f"part.{job.fmt}"
            extract_file(job.path, job.options, tmp, job.fmt, **kwargs)
            return _Result(job.label, None, tmp.read_bytes())
    except Exception as exc:
        return _Result(job.label, _failure(job.label, exc, job.path))


def _crash_failure(label: str, how: str) -> Failure:
    return Failure(label, f"{label}: {how} while extracting this file")


# glibc malloc: by default (and more so under Dask's nanny, which sets
# MALLOC_TRIM_THRESHOLD_=65536 and so pins the mmap threshold at 128 KiB) the per-chunk
# arrays of a few MB are mmap'ed and unmapped chunk after chunk, and every new one
# page-faults its memory in again: up to a third of the run goes to the kernel. Serving
# allocations under 16 MiB from the heap and keeping up to 32 MiB of free heap removes that
# churn; peak memory does not change (measured with scripts/bench_batch.py).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_TUNED = {_M_MMAP_THRESHOLD: 16 << 20, _M_TRIM_THRESHOLD: 32 << 20}
_malloc_lock = threading.Lock()
_malloc_users = 0


def _mallopt(settings: dict[int, int]) -> bool:
    """Apply glibc ``mallopt`` settings; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return all(libc.mallopt(param, value) == 1 for param, value in settings.items())
    except (OSError, AttributeError):
        return False


def tune_malloc() -> bool:
    """Tune glibc malloc of this process for corpus runs (see the note above ``_mallopt``).

    It lasts as long as the process, so call it only in a process of your own (the CLI and
    the pool workers do). Returns False where it does not apply (no glibc).
    """
    return _mallopt(_MALLOC_TUNED)


def _env_int(name: str) -> int | None:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


@contextlib.contextmanager
def _malloc_tuned_while_running() -> Iterator[None]:
    """Tune malloc while jobs run in a process that is not ours (a Dask worker).

    Only where the process runs with fixed thresholds from its environment (Dask's nanny sets
    ``MALLOC_TRIM_THRESHOLD_``), which are restored exactly when the last job ends; a process
    with glibc's adaptive thresholds is left alone, since those cannot be switched back on.
    """
    global _malloc_users
    trim, mmap = _env_int("MALLOC_TRIM_THRESHOLD_"), _env_int("MALLOC_MMAP_THRESHOLD_")
    if trim is None and mmap is None:
        yield
        return
    with _malloc_lock:
        if _malloc_users == 0:
            _mallopt(_MALLOC_TUNED)
        _malloc_users += 1
    try:
        yield
    finally:
        with _malloc_lock:
            _malloc_users -= 1
            if _malloc_users == 0:
                default = 128 * 1024  # glibc's initial values of both thresholds
                _mallopt({_M_MMAP_THRESHOLD: default if mmap is None else mmap,
                          _M_TRIM_THRESHOLD: default if trim is None else trim})


def _init_worker() -> None:
    """Pool worker set-up: BLAS and OpenMP on one thread (the pool provides parallelism),
    malloc tuned for the job's arrays."""
    for name in _ONE_THREAD_ENV:
        os.environ[name] = "1"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    tune_malloc()


def _run_dask_job(job: _Job) -> _Result:
    """A job on a Dask worker: one thread as everywhere, malloc tuned while it runs."""
    with _malloc_tuned_while_running():
        return _run_job(job)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def _map_inline(jobs: Sequence[_Job], fn: Callable[[_Job], _Result]) -> Iterator[_Result]:
    with _one_blas_thread():
        for job in jobs:
            yield fn(job)


def _map_pool(
    jobs: Sequence[_Job], n_workers: int, fn: Callable[[_Job], _Result] = _run_job
) -> Iterator[_Result]:
    """Run ``fn`` over ``jobs`` on worker processes; yield results as they complete.

    At most two jobs per worker are in flight. When a worker dies, the pool breaks and every
    job in flight is lost; those jobs are then run again one at a time, each in a fresh
    single-process pool, so that the file that kills its worker is found and reported while
    the others complete. The remaining jobs continue on a new pool.
    """
    context = _pool_context()
    todo = deque(jobs)
    n_workers = max(1, min(n_workers, len(todo)))
    while todo:
        suspects: list[_Job] = []
        pool = ProcessPoolExecutor(n_workers, mp_context=context, initializer=_init_worker)
        clean = False
        try:
            running: dict = {}
            while todo or running:
                while todo and len(running) < 2 * n_workers:
                    job = todo.popleft()
                    running[pool.submit(fn, job)] = job
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        suspects.append(job)
                        continue
                    yield result
                if suspects:
                    # the pool is broken: collect what finished, the rest are suspects
                    for future, job in running.items():
                        try:
                            yield future.result()
                        except BrokenProcessPool:
                            suspects.append(job)
                    running.clear()
                    break
            clean = True
        finally:
            pool.shutdown(wait=clean, cancel_futures=True)
        if suspects:
            _check_workers_start(context)
        for job in suspects:
            yield _run_isolated(job, fn, context)


def _check_workers_start(context) -> None:
    """After a pool broke: make sure that a worker can run at all, so that a pool that
    cannot start (an unimportable main module, no memory) is not blamed on every file."""
    try:
        with ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker) as pool:
            pool.submit(os.getpid).result()
    except BrokenProcessPool:
        raise SfmError(
            "worker processes die on start-up; run with --jobs 1 to see why (a script that "
            "calls sfm_audio needs an `if __name__ == '__main__':` guard)"
        ) from None


def _pool_context():
    """``forkserver`` where there is one (POSIX), else ``spawn``: never a plain fork of this
    process and its threads. The fork server imports the extraction modules once, so a worker
    starts by a fork instead of a fresh interpreter and a second import of numpy. Jobs carry
    absolute paths, so a fork server started in another working directory is harmless."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` one-core worker processes, set up as the corpus runs set them up
    (fork server or spawn, BLAS on one thread, malloc tuned). For other per-file jobs, such
    as the coding experiment."""
    return ProcessPoolExecutor(jobs, mp_context=_pool_context(), initializer=_init_worker)


def _run_isolated(job: _Job, fn: Callable[[_Job], _Result], context) -> _Result:
    with ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker) as pool:
        try:
            return pool.submit(fn, job).result()
        except BrokenProcessPool:
            return _Result(job.label, _crash_failure(job.label, "the worker process died"))


def _map_dask(jobs: Sequence[_Job], address: str) -> Iterator[_Result]:
    """Run the jobs on the Dask cluster at ``address``; yield results as they complete."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ParameterError(
            "--scheduler needs Dask distributed: pip install 'sfm-audio[dask]'"
        ) from None
    try:
        client = Client(address, timeout=20, set_as_default=False)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"scheduler={address!r} is not a Dask scheduler address: "
                             f"{exc}") from None
    except Exception as exc:
        raise SfmError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    with client:
        futures = client.map(_run_dask_job, list(jobs), pure=False)
        job_of = {future.key: job for future, job in zip(futures, jobs)}
        # as_completed holds each future until it is yielded; once its result is here the
        # future is released, so results never pile up on the workers
        finished = as_completed(futures, loop=client.loop, with_results=True,
                                raise_errors=False)
        del futures
        for future, result in finished:
            job = job_of.pop(future.key)
            future.release()
            del future
            if isinstance(result, _Result):
                if result.failure is None and result.data is None and \
                        not Path(job.part).is_file():
                    # written where this machine cannot see it: ask for the bytes instead
                    job = dataclasses.replace(job, token="")
                    again = client.submit(_run_dask_job, job, pure=False)
                    job_of[again.key] = job
                    finished.add(again)
                    continue
                yield result
            elif isinstance(result, tuple):  # (type, exception, traceback) of an erred task
                exc = result[1]
                if type(exc).__name__ == "KilledWorker":
                    how = "the Dask workers running it died"
                    yield _Result(job.label, _crash_failure(job.label, how))
                else:
                    yield _Result(job.label, _failure(job.label, exc, job.path))
            else:
                yield _Result(job.label, Failure(
                    job.label, f"{job.label}: the Dask task was cancelled ({result!r})"))


# --------------------------------------------------------------------------- staging


def staging_dir(output: str | os.PathLike) -> Path:
    """The folder beside ``output`` where a run keeps its per-file parts."""
    output = Path(output)
    return output.parent / f".{output.name}.parts"


def _prepare_staging(staging: Path, resume: bool) -> str:
    """Create the staging folder; clear a stale one (keep its parts with ``resume``).

    Returns the run's token, written into the folder's marker file: a Dask worker that reads
    the same token there sees this very folder and may write its part into it.
    """
    if staging.exists() and not (staging / _STAGING_MARK).is_file():
        raise ParameterError(
            f"{str(staging)!r} exists and was not made by sfm-audio; move it out of the way"
        )
    if staging.exists() and not resume:
        shutil.rmtree(staging)
    staging.mkdir(exist_ok=True)
    token = secrets.token_hex(16)
    (staging / _STAGING_MARK).write_text(token)
    _remove_temporaries(staging)
    return token


def _remove_temporaries(staging: Path) -> None:
    """Remove half-written parts (hidden names) left by killed jobs or a killed run."""
    for leftover in staging.glob(".*"):
        with contextlib.suppress(OSError):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


def _remove_staging(output: str | os.PathLike) -> None:
    staging = staging_dir(output)
    if (staging / _STAGING_MARK).is_file():
        shutil.rmtree(staging, ignore_errors=True)


def _store_part(part: Path, result: _Result) -> Failure | None:
    """Write a part that came back as bytes (from a Dask worker)."""
    try:
        with atomic_path(part, suffix=part.suffix) as tmp:
            tmp.write_bytes(result.data)
    except OSError as exc:
        return Failure(result.label, f"{result.label}: cannot write its part {part}: "
                                     f"{exc.strerror or exc}")
    return None


def write_errors(path: str | os.PathLike, failures: Sequence[Failure]) -> None:
    """Write failures as CSV (columns ``file``, ``error``), completely or not at all.

    ``error`` is the reason without the leading ``"<file>: "`` that the ``file`` column
    already gives.
    """
    import csv

    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", encoding="utf-8",
                                                       newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "error"])
        for failure in failures:
            reason = failure.error
            if reason.startswith(failure.file + ": "):
                reason = reason[len(failure.file) + 2:]
            writer.writerow([failure.file, reason])


# --------------------------------------------------------------------------- runs


def extract_files(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    options: ExtractOptions | None = None,
    *,
    summary: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    threads: int = 1,
    own_process: bool = False,
    on_plan: Callable[[int, int], None] | None = None,
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
    jobs : int
        Files extracted at once, each on one core in its own process (1: in this process).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); the jobs run on its
        workers instead, which must see the input files under their absolute paths.
    resume : bool
        Reuse the parts an earlier, interrupted run left in :func:`staging_dir` and
        compute only the missing files; the output is the same as one full run's.
    threads : int
        Threads for a lone file (reader + FFT pool) when it is the only input and no
        scheduler is given; corpus jobs always use one.
    own_process : bool
        The caller owns this process (the CLI does): corpus jobs run in it with ``jobs=1``
        may tune its malloc for good (:func:`tune_malloc`).
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
        Paths done, failures with reasons; the output holds every good file, in sorted path
        order, and is not written at all when no file succeeded.
    """
    options = options or ExtractOptions()
    fmt = format_of(output)
    to_stdout = str(output) == "-"
    if jobs < 1:
        raise ParameterError(f"{jobs=} must be at least 1")
    if resume and to_stdout:
        raise ParameterError("resume needs an output file; it cannot resume '-' (stdout)")
    if not to_stdout:
        check_output_dir(output)
    paths, failures = expand_inputs(inputs)
    report = RunReport(failed=list(failures))

    if len(paths) == 1 and not failures and scheduler is None:
        _extract_one(paths[0], output, options, fmt, report, summary=summary, threads=threads,
                     resume=resume, on_file=on_file, on_frames=on_frames, stdout=stdout)
        return report

    schema = _reference_schema(paths, options, summary)
    if to_stdout:
        staging = Path(tempfile.mkdtemp(prefix="sfm-audio-parts-"))
        token = secrets.token_hex(16)
        (staging / _STAGING_MARK).write_text(token)
    else:
        staging = staging_dir(output)
        token = _prepare_staging(staging, resume)
    keep_staging = True  # an interrupted run keeps its parts for --resume
    try:
        part_of = {path: staging / _part_name(path, options, summary, fmt, schema)
                   for path in paths}
        todo = []
        for path in paths:
            if resume and part_of[path].is_file():
                report.reused.append(path)
                continue
            todo.append(_Job(os.path.abspath(path), path, os.path.abspath(part_of[path]),
                             options, fmt, summary, schema,
                             token if scheduler is not None else None))
        if on_plan is not None:
            on_plan(len(todo), len(report.reused))

        if scheduler is not None and todo:
            results = _map_dask(todo, scheduler)
        elif jobs > 1 and len(todo) > 1:
            results = _map_pool(todo, jobs)
        else:
            if own_process:
                tune_malloc()
            results = _map_inline(todo, _run_job)
        joiner = _Joiner(fmt, paths, part_of, schema, staging, output, stdout)
        for path in report.reused:
            joiner.settle(path, True)
        file_failures = []
        try:
            with contextlib.closing(results):
                for result in results:
                    failure = result.failure
                    if failure is None and result.data is not None:
                        failure = _store_part(part_of[result.label], result)
                    joiner.settle(result.label, failure is None)
                    if failure is not None:
                        file_failures.append(failure)
                    if on_file is not None:
                        on_file(result.label, failure)
            report.output_written = joiner.finish()
        except BaseException:
            joiner.abort()
            raise
        order = {path: i for i, path in enumerate(paths)}
        report.ok = joiner.good()
        report.failed += sorted(file_failures, key=lambda f: order.get(f.file, -1))
        parts = report.ok
        keep_staging = bool(file_failures) and bool(parts) and not to_stdout
    finally:
        if to_stdout or not keep_staging:
            if to_stdout:
                shutil.rmtree(staging, ignore_errors=True)
            else:
                _remove_staging(output)
    if keep_staging:
        _remove_temporaries(staging)
        report.staging = str(staging)
    return report


def _extract_one(path, output, options, fmt, report, *, summary, threads, resume,
                 on_file, on_frames, stdout) -> None:
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
            _remove_staging(output)  # the output is complete: parts of an earlier run are stale
        report.output_written = True
        report.ok.append(path)
    except Exception as exc:
        failure = _failure(path, exc)
        report.failed.append(failure)
    if on_file is not None:
        on_file(path, failure)


class _Joiner:
    """Join the parts into the output in path order.

    CSV and JSON Lines are appended as soon as every earlier path is settled (done or
    failed), so the join overlaps the computing; NPZ and Parquet are joined at the end by
    :func:`sfm_audio.writers.concatenate_parts`. A file output is built in a temporary file
    in the staging folder (the same filesystem) and renamed onto the output when complete.
    """

    def __init__(self, fmt: str, paths: list[str], part_of: dict[str, Path], schema,
                 staging: Path, output, stdout):
        self.fmt, self.paths, self.part_of, self.schema = fmt, paths, part_of, schema
        self.staging, self.output = staging, output
        self.stdout = stdout or sys.stdout if str(output) == "-" else None
        self.streaming = fmt in ("csv", "jsonl")
        self.ok: dict[str, bool] = {}
        self.next = 0  # paths[:next] are joined
        self.tmp: Path | None = None
        self.out = None  # binary file (output) or text stream (stdout) being appended to

    def settle(self, path: str, ok: bool) -> None:
        self.ok[path] = ok
        if self.streaming:
            self._advance()

    def good(self) -> list[str]:
        return [path for path in self.paths if self.ok.get(path)]

    def _advance(self) -> None:
        while self.next < len(self.paths) and self.paths[self.next] in self.ok:
            path = self.paths[self.next]
            if self.ok[path]:
                self._append(self.part_of[path])
            self.next += 1

    def _new_tmp(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=".joined-", suffix="." + self.fmt, dir=self.staging)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def _append(self, part: Path) -> None:
        if self.out is None:
            tmp = self._new_tmp()
            concatenate_parts(self.fmt, [], tmp, self.schema)  # the CSV header, if any
            if self.stdout is not None:
                self.stdout.write(tmp.read_text(encoding="utf-8"))
                self.out = self.stdout
            else:
                self.out = open(tmp, "ab")
        if self.stdout is not None:
            with open(part, encoding="utf-8", newline="") as src:
                shutil.copyfileobj(src, self.out, 1 << 20)
        else:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, self.out, 1 << 20)

    def finish(self) -> bool:
        """Complete the output; False when no file succeeded (nothing is written)."""
        if self.streaming:
            self._advance()
            if self.out is None:
                return False
            if self.stdout is None:
                self.out.close()
        else:
            parts = [self.part_of[path] for path in self.good()]
            if not parts:
                return False
            concatenate_parts(self.fmt, parts, self._new_tmp(), self.schema)
            if self.stdout is not None:
                with open(self.tmp, encoding="utf-8", newline="") as src:
                    shutil.copyfileobj(src, self.stdout)
        if self.stdout is None:
            os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.output)  # same folder as the output: an atomic rename
        else:
            self.stdout.flush()
            self.tmp.unlink()
        self.tmp = None
        return True

    def abort(self) -> None:
        if self.out is not None and self.stdout is None:
            self.out.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()


def _schema(meta, summary: bool) -> list:
    return summary_schema(summary_columns(meta)) if summary else frame_schema(meta.columns)


def _reference_schema(paths: list[str], options: ExtractOptions, summary: bool) -> list | None:
    """Columns of the first file (in sorted order) that opens; every part must match them."""
    for path in paths:
        with contextlib.suppress(SfmError, OSError):
            meta, _ = open_features(path, options)
            return _schema(meta, summary)
    return None
