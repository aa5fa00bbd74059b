"""The coding experiment's independent parts as tasks, and the pool of processes they run on.

Once the first pass (:mod:`.passes`) has given the mean, the second pass, each transform at
each block size (all its rates), the linear prediction, the duality and the lossless estimate
are independent of one another. Each is a picklable ``*_task`` function here, run with BLAS
on one thread (:func:`single_blas_thread`) so that its sums come out in the same order
wherever it runs: on a pool of worker processes (:func:`part_pool`, ``jobs > 1``) or in the
calling process when its result is first asked for (:class:`Inline`). Either way the report
is the same bytes. :func:`run_part` and :func:`part_result` carry a part's warnings back to the
caller, naming the file the user gave rather than its temporary copy.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import defaults, io
from ..threads import one_blas_thread
from .coder import BlockCoder, CodingResult
from .duality import FrameDuality, duality_section
from .givens import BasisQuantizer
from .groups import CHUNK_BLOCKS
from .heldout import heldout_prediction
from .mdct import run_transform_coders
from .passes import SecondPass, file_reader, first_pass, second_pass
from .prediction import prediction_section
from .records import Lossless

if TYPE_CHECKING:  # the experiment's module imports this one
    from .experiment import ExperimentOptions


__all__ = [
    "single_blas_thread", "second_pass_task", "coders_task", "prediction_task",
    "lossless_task", "duality_task", "part_pool", "Later", "Inline", "run_part",
    "part_result", "share_parts", "warm_up",
]


def single_blas_thread(func):
    """Run ``func`` with BLAS on one thread: sums then come out in the same order whatever
    the machine's thread count, so a report is the same bytes in a pool worker (pinned to one
    thread) and in the calling process."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper


@single_blas_thread
def second_pass_task(source, n_samples: int, mean: float, seg: int,
                      options: ExperimentOptions) -> SecondPass:
    """The second pass as a task of its own (it may run in a worker process)."""
    return second_pass(file_reader(source), n_samples, mean, seg, options)


@single_blas_thread
def coders_task(source, b: int, t: str, basis: np.ndarray, v: np.ndarray, n_samples: int,
                 mean: float, options: ExperimentOptions
                 ) -> tuple[list[CodingResult], list[np.ndarray] | None]:
    """Transform ``t`` at block size ``b`` coded at every rate (its own two passes over the
    file; its coders share one transform of each group of blocks). Returns the results in
    the order of ``options.rates`` and, when asked, the decoded signals (float32)."""
    quantizer = BasisQuantizer(basis, v) if t == "klt" else None
    coders = [BlockCoder(basis, v, rate=r, transform=t, reconstruction=options.reconstruction,
                         samples=n_samples, quantizer=quantizer) for r in options.rates]
    chunks: dict[int, list[np.ndarray]] = {k: [] for k in range(len(coders))}
    on_decoded = None
    if options.keep_decoded:
        def on_decoded(k: int, s: np.ndarray) -> None:
            chunks[k].append(s.astype(np.float32))
    results = run_transform_coders(file_reader(source), b, mean, coders, samples=n_samples,
                                   chunk_blocks=CHUNK_BLOCKS, on_decoded=on_decoded)
    decoded = None
    if options.keep_decoded:
        decoded = [np.concatenate(chunks.pop(k)) for k in range(len(coders))]
    return results, decoded


@single_blas_thread
def prediction_task(source, mean: float, orders: list[int], seg: int, n_samples: int):
    """The predictors of every usable order and, for the held-out protocol, theirs fitted on
    one part of the signal and measured on the other (``None`` without predictors)."""
    pieces = file_reader(source)
    predictions = prediction_section(pieces, mean=mean, orders=orders, nperseg=seg,
                                     samples=n_samples)
    lpc = None
    if predictions:
        lpc = heldout_prediction(pieces, mean=mean, orders=[p.order for p in predictions],
                                 samples=n_samples, unit=defaults.HELDOUT_UNIT)
    return predictions, lpc


@single_blas_thread
def lossless_task(path, meta: io.AudioInfo, source) -> Lossless:
    """The lossless estimate and FLAC of ``path``, from the copy ``source`` of its samples."""
    return first_pass(path, meta, read=source).lossless


@single_blas_thread
def duality_task(source, block: int, rate: float, mean: float
                  ) -> tuple[FrameDuality | None, list[str]]:
    """The duality, and why it is null when it is (returned: a worker's list stays there)."""
    undefined: list[str] = []
    duality = duality_section(source, block=block, rate=rate, mean=mean, notes=undefined)
    return duality, undefined


@contextlib.contextmanager
def part_pool(jobs: int):
    """A pool of ``jobs`` one-thread worker processes, set up as corpus runs set them up; on
    an error, the parts not started are dropped."""
    from ..corpus.executors import process_pool

    # the fork server imports the experiment's module, as when the pool lived there: the
    # tasks' arguments are its classes (``ExperimentOptions``), and it imports this module
    pool = process_pool(jobs, preload=(f"{__package__}.experiment",))
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


class Later:
    """A computation run in this process when its result is first asked for (the interface
    of a future, for jobs=1: the parts then run in the order the report needs them)."""

    def __init__(self, fn, *args) -> None:
        self._call = (fn, args)
        self._value = None

    def result(self):
        if self._call is not None:
            fn, args = self._call
            self._value, self._call = fn(*args), None
        return self._value


class Inline:
    """Parts run in this process, each when its result is needed."""

    def submit(self, fn, *args) -> Later:
        return Later(fn, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def run_part(fn, *args):
    """``fn(*args)`` and the warnings it raised, ``(value, [(category, message), ...])``:
    a worker's warnings reach the caller this way, and each names the file as the caller
    does (see :func:`part_result`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args)
    return value, [(w.category, str(w.message)) for w in caught]


def part_result(part, path, source):
    """The value of a part run by :func:`run_part`; its warnings are raised here, the copy
    ``source`` named as the file ``path`` it was made from."""
    value, caught = part.result()
    for category, message in caught:
        warnings.warn(message.replace(str(source), str(path)), category, stacklevel=2)
    return value


def share_parts(parts: dict) -> dict:
    """Run here, from the last, every part (``key -> (future, args)`` of
    :func:`coders_task`) that no worker has started, while the workers take them from the
    first; ``key -> (future or finished part, args)``."""
    for key in reversed(list(parts)):
        future, args = parts[key]
        if future.cancel():
            parts[key] = Later(run_part, coders_task, *args), args
            parts[key][0].result()
    return parts


def warm_up() -> None:
    """A no-op task: starts a pool's workers while this process reads the file."""
