"""glibc malloc tuned for corpus jobs (used by the executors' worker processes).

By default (and more so under Dask's nanny, which sets ``MALLOC_TRIM_THRESHOLD_=65536`` and so
pins the mmap threshold at 128 KiB) the per-chunk arrays of a few MB are mmap'ed and unmapped
chunk after chunk, and every new one page-faults its memory in again, time spent in the
kernel. Serving allocations under 16 MiB from the heap and keeping up to 32 MiB of free heap
removes that churn; one arena for all threads keeps that free memory in one heap instead of
one per thread. (No script in ``scripts/`` isolates this effect: ``bench_batch.py`` times
whole runs with the tuning on and measures neither system time nor memory.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

__all__ = ["tune_malloc", "malloc_tuned_while_running"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_MALLOC_TUNED = {_M_MMAP_THRESHOLD: 16 << 20, _M_TRIM_THRESHOLD: 32 << 20}
#: one heap for every thread of a process of our own: each thread's arena kept its own free
#: memory up to the trim threshold (a reader thread allocates what the main thread frees);
#: ``code`` on 10 minutes with --jobs 2 peaked at 244 MB over its processes, 213 MB with one
#: arena, at the same speed (a thread's arena lock is taken a few times per chunk)
_ONE_ARENA = {_M_ARENA_MAX: 1}
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
    """Tune glibc malloc of this process for corpus runs (see the module docstring).

    It lasts as long as the process, so call it only in a process of your own (the CLI and
    the pool workers do), before it starts threads (a thread keeps the arena it first
    allocated from). Returns False where it does not apply (no glibc).
    """
    return _mallopt({**_MALLOC_TUNED, **_ONE_ARENA})


def _env_int(name: str) -> int | None:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


@contextlib.contextmanager
def malloc_tuned_while_running() -> Iterator[None]:
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
