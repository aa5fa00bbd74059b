"""Where the jobs of a run execute: in this process, in a pool of processes, or on Dask.

Every executor has one method, ``map(jobs)``, which yields a :class:`Result` for every
:class:`Job` as it completes (in any order) and never raises for a bad file: a job's
exception, a worker that dies, a task Dask gives up on, all become that file's
:class:`~sfm_audio.corpus.inputs.Failure`. A job is a :class:`Task` (what to compute, e.g.
the table of a file) applied to one input; it writes its part into the staging folder, or
returns the part's bytes where it cannot see that folder (see :mod:`sfm_audio.corpus`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .._errors import (
    ParameterError,
    SfmError,
    debug_enabled,
    internal_error_message,
    is_internal_error,
)
from .._files import atomic_path
from ..threads import one_blas_thread
from .inputs import Failure
from .malloc import malloc_tuned_while_running, tune_malloc
from .staging import sees_staging

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["Task", "Job", "Result", "Inline", "ProcessPool", "DaskCluster", "run_job",
           "run_batch", "batch_size", "failure_of", "process_pool"]

#: BLAS / OpenMP thread counts for one-core jobs
_ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class Task(Protocol):
    """What a run computes for each input; picklable, defined at module level.

    ``suffix`` is the part's extension (``".csv"``); ``key()`` is everything besides the input
    file that decides the part's bytes (it names the part, so that ``resume`` never reuses a
    part made with other options); calling it writes the part of one input.
    """

    suffix: str

    def key(self) -> str: ...

    def __call__(self, path: str, label: str, target: Path) -> None: ...


@dataclass(frozen=True)
class Job:
    """One input of a run; picklable, so it can run in another process or on a cluster."""

    path: str  # the path the job opens (absolute on a Dask worker)
    label: str  # the path as given: the ``file`` column and the name in messages
    part: str  # the part to write (absolute)
    task: Task
    # None: write the part (same machine). A string: write it only when the staging
    # folder's marker holds this token (the worker sees the client's folder), else return
    # the part's bytes; "" always returns the bytes.
    token: str | None = None


@dataclass(frozen=True)
class Result:
    label: str
    failure: Failure | None
    data: bytes | None = None  # the part's bytes, when the job could not write it


def failure_of(label: str, exc: BaseException, opened: str | None = None) -> Failure:
    """A readable failure; messages name the file as the user wrote it (``label``)."""
    def named(text: str) -> str:
        text = text.replace(opened, label) if opened and opened != label else text
        # a file's own failure always names it (e.g. a band layout its rate cannot hold)
        return text if text.startswith(f"{label}: ") else f"{label}: {text}"

    if isinstance(exc, ParameterError):
        return Failure(label, named(str(exc)), usage=True)
    if isinstance(exc, SfmError):
        return Failure(label, named(str(exc)))
    if isinstance(exc, OSError):
        return Failure(label, f"{label}: {exc.strerror or exc}")
    # a bug, not a bad file: one line all the same; the traceback only when debugging
    trace = "".join(traceback.format_exception(exc)) if debug_enabled() else None
    return Failure(label, internal_error_message(exc, label), traceback=trace)


def crash_failure(label: str, how: str) -> Failure:
    return Failure(label, f"{label}: {how} while processing this file")


def run_job(job: Job) -> Result:
    """Run one job on one thread into its part (or its bytes); never raises for a bad file."""
    suffix = job.task.suffix
    try:
        if sees_staging(job.part, job.token):
            with atomic_path(job.part, suffix=suffix) as tmp:
                job.task(job.path, job.label, tmp)
            return Result(job.label, None)
        with tempfile.TemporaryDirectory(prefix="sfm-audio-job-") as tmpdir:
            tmp = Path(tmpdir) / f"part{suffix}"
            job.task(job.path, job.label, tmp)
            return Result(job.label, None, tmp.read_bytes())
    except BaseException as exc:
        if not is_internal_error(exc):
            raise
        return Result(job.label, failure_of(job.label, exc, job.path))


class Inline:
    """Jobs one after the other in this process, BLAS on one thread. ``own_process``: the
    caller owns the process (the CLI), so its malloc may be tuned for good."""

    remote = False

    def __init__(self, *, own_process: bool = False):
        self.own_process = own_process

    def map(self, jobs: Sequence[Job]) -> Iterator[Result]:
        if self.own_process:
            tune_malloc()
        with one_blas_thread():
            for job in jobs:
                yield run_job(job)


def _init_worker() -> None:
    """Pool worker set-up: BLAS and OpenMP on one thread (the pool provides parallelism),
    malloc tuned for the job's arrays."""
    for name in _ONE_THREAD_ENV:
        os.environ[name] = "1"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    tune_malloc()


def _pool_context(preload: Sequence[str] = ()):
    """``forkserver`` where there is one (POSIX), else ``spawn``: never a plain fork of this
    process and its threads. The fork server imports ``preload`` (the task's modules) once,
    so a worker starts by a fork instead of a fresh interpreter and a second import of numpy,
    then freezes it (:mod:`._frozen`), so the pages a worker shares with it stay shared.
    Jobs carry absolute paths, so a fork server started in another working directory is
    harmless."""
    import multiprocessing  # here: a run on one core never starts a process

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, *preload, f"{__package__}._frozen"])
        return context
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _one_thread_environment() -> Iterator[None]:
    """This process's environment with BLAS and OpenMP on one thread, while a fork server
    starts: the server and the workers it forks then never start the thread pools that
    ``_init_worker`` would limit to one thread anyway (an OpenBLAS pool's threads spin for
    a while when they start: 0.1-0.2 s of CPU per process with numpy and scipy loaded). A
    part coded there gives the digits it gives here (``tests/test_coding_experiment.py``)."""
    saved = {name: os.environ.get(name) for name in _ONE_THREAD_ENV}
    os.environ.update(dict.fromkeys(_ONE_THREAD_ENV, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_workers_early(preload: Sequence[str] = ()) -> None:
    """Start the fork server now, so that it imports ``preload`` while this process is still
    busy (reading the inputs' headers) instead of while the first job waits for a worker.
    The server then serves the run's pool (and lives until this process ends)."""
    _start_server(_pool_context(preload))


def _start_server(context) -> None:
    """Start the fork server of ``context`` if it has one and it is not running."""
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _one_thread_environment():
            forkserver.ensure_running()


def process_pool(jobs: int, preload: Sequence[str] = ()) -> ProcessPoolExecutor:
    """A pool of ``jobs`` one-core worker processes, set up as corpus runs set them up
    (fork server or spawn, BLAS on one thread, malloc tuned)."""
    from concurrent.futures import ProcessPoolExecutor

    context = _pool_context(preload)
    _start_server(context)
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker)


#: the most jobs sent to a worker at once
MAX_BATCH = 4


def batch_size(left: int, workers: int) -> int:
    """Jobs in the next batch when ``left`` jobs wait for ``workers``: a quarter of each
    worker's share, at most :data:`MAX_BATCH`, so the last jobs go one by one."""
    return max(1, min(MAX_BATCH, left // (4 * workers)))


def run_batch(fn, jobs: Sequence[Job]) -> list[Result]:
    """Several jobs, one after the other, in one call of a worker."""
    return [fn(job) for job in jobs]


class ProcessPool:
    """Jobs on ``n_workers`` one-core worker processes; results as they complete.

    Jobs go to the workers in small batches (:func:`batch_size`: at most :data:`MAX_BATCH`
    jobs, and fewer as the run's end nears, so that no worker keeps a queue while others
    idle): each message to a worker and back cost this process ~0.3 ms of CPU, which a batch
    shares.
    At most two batches per worker are in flight. When a worker dies, the pool breaks and
    every job in flight is lost; those jobs are then run again one at a time, each in a
    fresh single-process pool, so that the file that kills its worker is found and reported
    while the others complete. The remaining jobs continue on a new pool.
    """

    remote = False

    def __init__(self, n_workers: int, fn=run_job):
        self.n_workers, self.fn = n_workers, fn

    def map(self, jobs: Sequence[Job]) -> Iterator[Result]:
        from concurrent.futures.process import BrokenProcessPool

        preload = sorted({name for job in jobs for name in
                          (type(job.task).__module__, *getattr(job.task, "preload", ()))})
        todo = deque(jobs)
        n_workers = max(1, min(self.n_workers, len(todo)))
        while todo:
            suspects: list[Job] = []
            pool = process_pool(n_workers, preload)
            clean = False
            try:
                running: dict = {}
                while todo or running:
                    while todo and len(running) < 2 * n_workers:
                        batch = [todo.popleft()
                                 for _ in range(batch_size(len(todo), n_workers))]
                        running[pool.submit(run_batch, self.fn, batch)] = batch
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        batch = running.pop(future)
                        try:
                            results = future.result()
                        except BrokenProcessPool:
                            suspects += batch
                            continue
                        yield from results
                    if suspects:
                        # the pool is broken: collect what finished, the rest are suspects
                        for future, batch in running.items():
                            try:
                                results = future.result()
                            except BrokenProcessPool:
                                suspects += batch
                                continue
                            yield from results
                        running.clear()
                        break
                clean = True
            finally:
                pool.shutdown(wait=clean, cancel_futures=True)
            if suspects:
                _check_workers_start(preload)
            for job in suspects:
                yield self._isolated(job, preload)

    def _isolated(self, job: Job, preload: Sequence[str]) -> Result:
        from concurrent.futures.process import BrokenProcessPool

        with process_pool(1, preload) as pool:
            try:
                return pool.submit(self.fn, job).result()
            except BrokenProcessPool:
                return Result(job.label, crash_failure(job.label, "the worker process died"))


def _check_workers_start(preload: Sequence[str]) -> None:
    """After a pool broke: make sure that a worker can run at all, so that a pool that
    cannot start (an unimportable main module, no memory) is not blamed on every file."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        with process_pool(1, preload) as pool:
            pool.submit(os.getpid).result()
    except BrokenProcessPool:
        raise SfmError(
            "worker processes die on start-up; run with --jobs 1 to see why (a script that "
            "calls sfm_audio needs an `if __name__ == '__main__':` guard)"
        ) from None


def _run_dask_batch(jobs: Sequence[Job]) -> list[Result]:
    """Jobs on a Dask worker: one thread as everywhere, malloc tuned while they run."""
    with malloc_tuned_while_running():
        return run_batch(run_job, jobs)


class DaskCluster:
    """Jobs on the Dask cluster at ``address``; results as they complete.

    Jobs go as batches (:func:`batch_size` over the cluster's threads: a task
    costs the client ~1 ms). A batch that errs as a whole (its worker died) is run again job
    by job, so only the file that kills its worker fails. Jobs carry the run's token
    (``remote``): a worker that sees the staging folder writes its part there, any other
    returns the bytes. A part this machine cannot see after a worker said it wrote it is
    asked for again as bytes.
    """

    remote = True

    def __init__(self, address: str):
        """Check that Dask is installed and that ``address`` reads as a scheduler address
        (a client that fails to connect to a malformed one hangs on its way out)."""
        try:
            from distributed.comm import parse_address
            from distributed.comm.addressing import parse_host_port
        except ImportError:
            raise ParameterError(
                "--scheduler needs Dask distributed: pip install 'sfm-audio[dask]'"
            ) from None
        try:
            protocol, location = parse_address(str(address))
            if protocol in ("tcp", "tls"):
                parse_host_port(location)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"scheduler={address!r} is not a Dask scheduler address: "
                                 f"{exc}", param="scheduler") from None
        self.address = address

    def _client(self):
        from distributed import Client

        try:
            return Client(self.address, timeout=20, set_as_default=False)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"scheduler={self.address!r} is not a Dask scheduler "
                                 f"address: {exc}", param="scheduler") from None
        except Exception as exc:
            raise SfmError(f"cannot connect to the Dask scheduler at {self.address}: "
                           f"{exc}") from None

    def map(self, jobs: Sequence[Job]) -> Iterator[Result]:
        with self._client() as client:
            from distributed import as_completed

            threads = max(1, sum(client.nthreads().values()))
            batches, todo = [], list(jobs)
            while todo:
                size = batch_size(len(todo), threads)
                batches.append(todo[:size])
                del todo[:size]
            futures = client.map(_run_dask_batch, batches, pure=False)
            batch_of = {future.key: batch for future, batch in zip(futures, batches)}
            # as_completed holds each future until it is yielded; once its result is here the
            # future is released, so results never pile up on the workers
            finished = as_completed(futures, loop=client.loop, with_results=True,
                                    raise_errors=False)
            del futures

            def again(batch: list[Job]) -> None:
                future = client.submit(_run_dask_batch, batch, pure=False)
                batch_of[future.key] = batch
                finished.add(future)

            for future, result in finished:
                batch = batch_of.pop(future.key)
                future.release()
                del future
                if isinstance(result, list):
                    for job, one in zip(batch, result):
                        if one.failure is None and one.data is None and \
                                not Path(job.part).is_file():
                            # written where this machine cannot see it: ask for the bytes
                            again([dataclasses.replace(job, token="")])
                            continue
                        yield one
                elif isinstance(result, tuple) and len(batch) > 1:
                    for job in batch:  # which of them failed the batch: each on its own
                        again([job])
                elif isinstance(result, tuple):  # (type, exception, traceback) of an erred task
                    job, exc = batch[0], result[1]
                    if type(exc).__name__ == "KilledWorker":
                        how = "the Dask workers running it died"
                        yield Result(job.label, crash_failure(job.label, how))
                    else:
                        yield Result(job.label, failure_of(job.label, exc, job.path))
                else:
                    for job in batch:
                        yield Result(job.label, Failure(
                            job.label, f"{job.label}: the Dask task was cancelled ({result!r})"))
