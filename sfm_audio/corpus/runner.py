"""One run: a task over many inputs, on an executor, through a staging folder, into a joiner.

:func:`run_task` is what :func:`sfm_audio.corpus.extract_files` and
:func:`sfm_audio.corpus.code_files` share: it decides which parts ``resume`` reuses, sends the
other inputs to the executor (standard input always runs here, first), stores parts that come
back as bytes, tells the joiner about every input, and keeps or removes the staging folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import ParameterError
from ..validate import positive_int
from .executors import DaskCluster, Inline, Job, ProcessPool, Result, Task
from .inputs import STDIN, Failure
from .staging import Staging, store_part

__all__ = ["RunReport", "default_jobs", "executor_for", "run_task"]


@dataclass
class RunReport:
    """What a run did.

    Attributes
    ----------
    ok : list of str
        Files in the output, in input order (including ``reused`` ones).
    failed : list of Failure
        Inputs that named nothing, then failed files in input order.
    output_written : bool
    reused : list of str
        Files whose part was left by an earlier, interrupted run (``resume=True``).
    staging : str or None
        The staging folder when it was kept (some files failed), else None.
    skipped : list of str
        Files found in folders whose extension is not an audio format (not opened).
    """

    ok: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    output_written: bool = False
    reused: list[str] = field(default_factory=list)
    staging: str | None = None
    skipped: list[str] = field(default_factory=list)


def default_jobs() -> int:
    """Number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def executor_for(jobs: int, scheduler: str | None, n_todo: int, *, own_process: bool = False):
    """The executor of a run: Dask with a ``scheduler``, a pool for ``jobs > 1`` and several
    files to compute, else this process."""
    jobs = positive_int(jobs, "jobs")
    if scheduler is not None:
        return DaskCluster(scheduler)
    if jobs > 1 and n_todo > 1:
        return ProcessPool(jobs)
    return Inline(own_process=own_process)


def run_task(
    paths: Sequence[str],
    task: Task,
    joiner,
    staging: Staging,
    report: RunReport,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    own_process: bool = False,
    part_of: dict[str, Path] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_file: Callable[[str, Failure | None], None] | None = None,
) -> None:
    """Run ``task`` over ``paths`` into ``joiner``; fill ``report``; close ``staging``.

    ``part_of`` maps each path to its part (default: ``staging.part(path, task.key(),
    task.suffix)``); jobs open absolute paths, and standard input ``-`` runs in this process,
    where :mod:`sfm_audio.io` keeps its copy. ``staging`` is kept
    for a rerun with ``resume`` when the run is interrupted, or when some files failed and
    others succeeded; else it is removed.
    """
    keep = True  # an interrupted run keeps its parts for resume
    try:
        key = task.key()
        if part_of is None:
            part_of = {path: staging.part(path, key, task.suffix) for path in paths}
        todo, here = [], []
        for path in paths:
            if resume and path != STDIN and part_of[path].is_file():
                report.reused.append(path)
                continue
            # standard input stays "-": its job runs here, where io holds its copy
            source = path if path == STDIN else os.path.abspath(path)
            job = Job(source, path, str(part_of[path]), task)
            (here if path == STDIN else todo).append(job)
        executor = executor_for(jobs, scheduler, len(todo), own_process=own_process)
        if executor.remote:
            todo = [Job(j.path, j.label, j.part, j.task, staging.token) for j in todo]
        if on_plan is not None:
            on_plan(len(todo) + len(here), len(report.reused))

        def results() -> Iterator[Result]:
            yield from Inline(own_process=own_process).map(here)  # standard input: here
            if todo:
                yield from executor.map(todo)

        for path in report.reused:
            joiner.settle(path, True)
        failures = []
        try:
            with contextlib.closing(results()) as stream:
                for result in stream:
                    failure = result.failure
                    if failure is None and result.data is not None:
                        failure = store_part(part_of[result.label], result.label, result.data)
                    joiner.settle(result.label, failure is None)
                    if failure is not None:
                        failures.append(failure)
                    if on_file is not None:
                        on_file(result.label, failure)
            order = {path: i for i, path in enumerate(paths)}
            report.failed += sorted(failures, key=lambda f: order.get(f.file, -1))
            report.output_written = joiner.finish(report.failed)
        except BaseException:
            joiner.abort()
            raise
        report.ok = joiner.good()
        keep = bool(failures) and bool(report.ok)
    finally:
        report.staging = staging.close(keep)


def check_run(jobs: int, resume: bool, to_stdout: bool, scheduler: str | None = None) -> None:
    """Options every run checks before any work."""
    positive_int(jobs, "jobs")
    if resume and to_stdout:
        raise ParameterError("resume needs an output file; it cannot resume '-' (stdout)")
    if scheduler is not None:
        DaskCluster(scheduler)  # Dask installed, the address well formed
