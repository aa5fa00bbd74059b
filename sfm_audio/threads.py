"""Thread budgets: how many threads one file gets by default, and keeping BLAS/OpenMP pools
from fighting the threads and processes we start."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["DEFAULT_THREADS", "one_blas_thread"]

#: threads one file's (or array's) features are computed on by default, everywhere: a reader
#: thread and an FFT pool keep both cores of a small machine busy (the numbers do not depend on
#: it). Corpus jobs run one per core, each on one thread.
DEFAULT_THREADS = 2


_controller: tuple[int, Any] | None = None


def _pools() -> Any:
    """threadpoolctl's view of this process's BLAS/OpenMP pools, found once and found again
    only when modules have been imported since: finding them walks every loaded library
    (0.3-0.5 ms), which ``threadpool_limits`` did on every call, and a pool is only loaded
    with an extension module."""
    global _controller
    modules = len(sys.modules)
    if _controller is None or _controller[0] != modules:
        from threadpoolctl import ThreadpoolController

        # counted after the import, which adds threadpoolctl's own modules
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[Any]:
    """Run the block with BLAS/OpenMP pools limited to one thread.

    Used wherever our own threads or processes already provide the parallelism, so that BLAS
    threads do not oversubscribe the cores, and so that reductions give the same bytes in any
    process.
    """
    with _pools().limit(limits=1) as limits:
        yield limits
