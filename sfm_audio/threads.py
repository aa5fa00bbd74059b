"""Thread budgets: how many threads one file gets by default, and keeping BLAS/OpenMP pools
from fighting the threads and processes we start."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["DEFAULT_THREADS", "one_blas_thread"]

#: threads one file's (or array's) features are computed on by default, everywhere: a reader
#: thread and an FFT pool keep both cores of a small machine busy (the numbers do not depend on
#: it). Corpus jobs run one per core, each on one thread.
DEFAULT_THREADS = 2


@contextlib.contextmanager
def one_blas_thread() -> Iterator[Any]:
    """Run the block with BLAS/OpenMP pools limited to one thread.

    Used wherever our own threads or processes already provide the parallelism, so that BLAS
    threads do not oversubscribe the cores, and so that reductions give the same bytes in any
    process.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1) as limits:
        yield limits
