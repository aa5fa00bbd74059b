"""The fused step of extraction: a chunk of frames to every per-frame feature at once.

Files and in-memory arrays go through the same step: a *segment* of samples holding ``k``
frames is windowed and transformed (float64 real FFT), its power ``|X|**power`` is floored at
``amin`` once, and from that one floored array come the frame features (SFM, dB, tonality,
crest over the bins of the chosen frequency range), the band features (through
:class:`~sfm_audio.bands.BandReducer`) and, from the samples themselves, the frame level.

The costly part of the SFM besides the FFT is the logarithm of every bin. :func:`log_sum`
takes it of products of up to sixteen floored bins instead (fewer logs, the same sum up to
rounding), choosing how many bins to multiply from ``amin`` and the chunk's largest value so
that no product can overflow or underflow float64.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ._errors import ParameterError
from .bands import LOG_RANGE, BandLayout, BandReducer
from .stft import FRAMES_PER_CHUNK, StftParams, array_segments, as_channels, n_frames, scratch
from .threads import DEFAULT_THREADS
from .validate import positive_int

__all__ = [
    "BAND_COLUMNS",
    "ChunkKernel",
    "FRAME_COLUMNS",
    "FloorCounts",
    "LEVEL_FLOOR_DBFS",
    "TONALITY_DB",
    "frame_statistics",
    "kernel_columns",
    "spectral_columns",
    "frame_levels",
    "log_sum",
    "map_ordered",
    "power_frames",
    "signal_flatness",
]

#: the per-frame columns :class:`ChunkKernel` computes, in order; the band columns follow
#: (:func:`kernel_columns`). The one place the column order is written.
FRAME_COLUMNS = ("sfm", "sfm_db", "tonality", "crest", "rms_dbfs")
#: per band, in order after the frame columns: ``sfm_band_<name>`` for every band, then
#: ``crest_band_<name>``, then ``level_band_<name>``
BAND_COLUMNS = ("sfm_band", "crest_band", "level_band")
#: the frame level comes from the samples, not the spectrum: last of the frame columns
_RMS = FRAME_COLUMNS.index("rms_dbfs")
assert _RMS == len(FRAME_COLUMNS) - 1
#: Johnston's tonality reaches 1 at this flatness (dB): a pure tone.
TONALITY_DB = -60.0

#: level of a digitally silent frame (dBFS): the mean square is floored at 1e-20
LEVEL_FLOOR_DBFS = -200.0
_LEVEL_FLOOR = 10.0 ** (LEVEL_FLOOR_DBFS / 10.0)
_MAX_PRODUCT = 16  # logarithms of products of up to 16 bins

T = TypeVar("T")
R = TypeVar("R")


def kernel_columns(layout: BandLayout | None) -> list[str]:
    """Every column :class:`ChunkKernel` computes (``__call__``), in its order."""
    columns = list(FRAME_COLUMNS)
    if layout is not None:
        columns += [f"{group}_{name}" for group in BAND_COLUMNS for name in layout.names]
    return columns


def spectral_columns(layout: BandLayout | None) -> list[str]:
    """The columns of :meth:`ChunkKernel.spectral_values`: :func:`kernel_columns` without
    ``rms_dbfs`` (which comes from the samples)."""
    return [c for c in kernel_columns(layout) if c != FRAME_COLUMNS[_RMS]]


def frame_statistics(
    total: np.ndarray, peak: np.ndarray, log_sum: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SFM, SFM in dB, tonality and crest of frames from their sums over ``n`` floored bins.

    The fused inner step of streaming extraction: the caller reduces each frame's floored
    power ``Pf`` once to ``total = sum(Pf)``, ``peak = max(Pf)`` and ``log_sum = sum(ln Pf)``.
    The definitions are those of :mod:`sfm_audio.flatness`.

    Returns
    -------
    sfm, sfm_db, tonality, crest : np.ndarray [shape=total.shape]
    """
    amean = total / n
    log_gmean = log_sum / n
    sfm = np.exp(log_gmean) / amean
    # from logs directly: cheaper than log10 of the ratio, identical up to rounding
    sfm_db = (10.0 / np.log(10.0)) * (log_gmean - np.log(amean))
    tonal = np.minimum(sfm_db / TONALITY_DB, 1.0)
    crest = peak / amean
    return sfm, sfm_db, tonal, crest


def log_sum(
    P: np.ndarray, *, amin: float, peak: float | None = None, work: dict | None = None
) -> np.ndarray:
    """``np.log(P).sum(axis=-1)`` for values ``>= amin``, with fewer logarithms.

    The last axis is cut into ``size`` equal runs (``size`` a power of two up to 16) and
    multiplied run against run in one reduction, so each logarithm is that of a product of
    ``size`` values ``n // size`` apart; the ``n % size`` values left over are taken one by
    one. ``size`` is the largest for which ``size * max(|ln amin|, |ln peak|)`` stays below
    :data:`~sfm_audio.bands.LOG_RANGE` (``peak=None``: ``amin`` alone sets it, and rows whose
    products overflowed to infinity are summed again value by value). The result equals the
    plain sum of logs up to a few ulps per product.

    Parameters
    ----------
    P : np.ndarray [shape=(..., n)]
        Values ``>= amin > 0``.
    amin : float
    peak : float, optional
        An upper bound of the values, when known.
    work : dict, optional
        Scratch arrays of the calling thread.

    Returns
    -------
    total : np.ndarray [shape=P.shape[:-1]]
    """
    scale = max(abs(math.log(amin)), 1.0 if peak is None else abs(math.log(peak)), 1.0)
    size = 1
    while size < _MAX_PRODUCT and 2 * size * scale < LOG_RANGE:
        size *= 2
    n = P.shape[-1]
    runs = n // size
    if size == 1 or runs < 2:
        return np.log(P).sum(axis=-1)
    # one reduction over the run axis: a single pass over P, no halving passes
    products = scratch(work, "log_sum_products", P.shape[:-1] + (runs,))
    with np.errstate(over="ignore"):  # caught below, when peak is not known
        np.multiply.reduce(P[..., : runs * size].reshape(P.shape[:-1] + (size, runs)),
                           axis=-2, out=products)
    np.log(products, out=products)
    total = products.sum(axis=-1)
    if n % size:
        total += np.log(P[..., runs * size :]).sum(axis=-1)
    if not np.isfinite(total).all():  # a product overflowed: values above the peak assumed
        bad = ~np.isfinite(total)
        total[bad] = np.log(P[bad]).sum(axis=-1)
    return total


def _power_into(spectrum: np.ndarray, out: np.ndarray, *, power: float) -> None:
    """``|X|**power`` of complex128 spectra (a scratch array, overwritten) into ``out``."""
    if power == 2.0:
        parts = spectrum.view(np.float64)  # re, im, re, im, ...: one contiguous pass
        np.square(parts, out=parts)
        np.add(parts[..., 0::2], parts[..., 1::2], out=out)
    else:
        np.abs(spectrum, out=out)
        if power != 1.0:
            out **= power


#: samples (over all channels) windowed and transformed at once by :func:`power_frames`:
#: 64 frames of 2048; the spectra of such a batch are still in cache when they are squared
FFT_BATCH_SAMPLES = 1 << 17


def power_frames(
    segment: np.ndarray, params: StftParams, window: np.ndarray, *, power: float,
    amin: float, work: dict | None = None,
) -> np.ndarray:
    """``max(amin, |X|**power)`` of the windowed FFT of every frame of a segment.

    The frames are windowed, transformed and squared a batch of about
    :data:`FFT_BATCH_SAMPLES` samples at a time, into the rows of one array: squaring the
    spectra of a whole chunk after its FFT would read them back from memory instead of cache
    (measured: half the cost of the squaring).

    Parameters
    ----------
    segment : np.ndarray [shape=(n_channels, (k - 1) * hop_length + n_fft)]
    params : StftParams
    window : np.ndarray [shape=(n_fft,)]
        ``params.fft_window()``.
    power, amin : float
    work : dict, optional
        Scratch arrays of the calling thread.

    Returns
    -------
    Pf : np.ndarray [shape=(n_channels, k, n_freq + 1)]
        The trailing zero column lets band end indices stay inside the array
        (:class:`~sfm_audio.bands.BandReducer`).
    """
    n_fft, hop, n_freq = params.n_fft, params.hop_length, params.n_freq
    frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft, axis=-1)[:, ::hop]
    channels, k = frames.shape[:2]
    batch = max(1, min(k, FFT_BATCH_SAMPLES // (channels * n_fft)))
    Pf = scratch(work, "Pf", (channels, k, n_freq + 1))
    Pf[..., n_freq] = 0.0
    windowed = scratch(work, "windowed", (channels, batch, n_fft))
    spectrum = scratch(work, "spectrum", (channels, batch, n_freq), np.complex128)
    for a in range(0, k, batch):
        n = min(batch, k - a)
        np.multiply(frames[:, a : a + n], window, out=windowed[:, :n])
        np.fft.rfft(windowed[:, :n], axis=-1, out=spectrum[:, :n])
        _power_into(spectrum[:, :n], Pf[:, a : a + n, :n_freq], power=power)
    P = Pf[..., :n_freq]
    if P.min(initial=np.inf) < amin:  # a read-only check: most chunks need no floor
        np.maximum(P, amin, out=P)
    return Pf


def frame_levels(
    segment: np.ndarray, params: StftParams, k: int, work: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean square and peak magnitude of the ``n_fft`` samples of each of ``k`` frames.

    The samples are the unwindowed frame, as ``librosa.feature.rms`` with
    ``frame_length=n_fft`` frames them.

    Parameters
    ----------
    segment : np.ndarray [shape=(n_channels, (k - 1) * hop_length + n_fft)]

    Returns
    -------
    mean_square, peak : np.ndarray [shape=(n_channels, k)]
    """
    n_fft, hop = params.n_fft, params.hop_length
    x = np.asarray(segment)
    sq = scratch(work, "level_squares", x.shape)
    np.square(x, out=sq, dtype=np.float64)  # in float64 whatever the input type
    if n_fft % hop == 0:
        # sums and maxima of hop-sized blocks, then of the n_fft / hop blocks of each frame,
        # added as n_fft / hop shifted slices (whole-row operations, no short inner axis)
        r = n_fft // hop
        blocks = sq[:, : (k - 1 + r) * hop].reshape(x.shape[0], -1, hop)
        sums, largest = blocks.sum(axis=-1), blocks.max(axis=-1)
        energy, peak_square = sums[:, :k].copy(), largest[:, :k].copy()
        for j in range(1, r):
            energy += sums[:, j : j + k]
            np.maximum(peak_square, largest[:, j : j + k], out=peak_square)
        # the largest magnitude is the square root of the largest square
        peak = np.sqrt(peak_square)
    else:
        # (start, end) pairs, overlapping: keep the even outputs; one zero column at the end
        # keeps the last end index inside the array
        bounds = np.stack([np.arange(k) * hop, np.arange(k) * hop + n_fft], axis=-1).ravel()
        padded = np.concatenate([sq, np.zeros((x.shape[0], 1))], axis=-1)
        energy = np.add.reduceat(padded, bounds, axis=-1)[:, ::2]
        peak = np.sqrt(np.maximum.reduceat(padded, bounds, axis=-1)[:, ::2])
    return energy / n_fft, peak


@dataclass
class FloorCounts:
    """How much of a chunk's spectrum (the kernel's bins) sits at the floor ``amin``.

    ``per_frame`` (n_channels, k): bins at the floor in each frame; ``per_bin``
    (n_channels, n_bins): frames, among those not wholly at the floor, in which each bin is;
    ``sounding`` (n_channels,): how many such frames.
    """

    per_frame: np.ndarray
    per_bin: np.ndarray
    sounding: np.ndarray


class ChunkKernel:
    """FFT and every feature of one segment of frames; safe to call from several threads.

    Parameters
    ----------
    params : StftParams
    power, amin : float
        Already validated.
    bins : (int, int) or None
        Frame features use bins ``lo … hi - 1`` (see :func:`sfm_audio.stft.bin_range`);
        None: all bins.
    layout : BandLayout or None
        Band features, or None.

    Notes
    -----
    A call returns ``(values, peak)``: ``values`` has shape ``(n_channels, k, 5 + 3 n_bands)``
    (sfm, sfm_db, tonality, crest, rms_dbfs, the band SFMs, the band crests, the band levels)
    and ``peak`` the largest sample magnitude of each frame, shape ``(n_channels, k)``.
    """

    def __init__(
        self,
        params: StftParams,
        *,
        power: float = 2.0,
        amin: float = 1e-10,
        bins: tuple[int, int] | None = None,
        layout: BandLayout | None = None,
    ):
        self.params = params
        self.power, self.amin = float(power), float(amin)
        self.bins = (0, params.n_freq) if bins is None else (int(bins[0]), int(bins[1]))
        self.layout = layout
        self.reducer = BandReducer(layout) if layout is not None else None
        self._window = params.fft_window()
        self._level_scale = float(self._window @ self._window)
        self._local = threading.local()

    @property
    def n_columns(self) -> int:
        """Columns of ``__call__``'s values: :func:`kernel_columns` of the layout."""
        return len(FRAME_COLUMNS) + (len(BAND_COLUMNS) * self.layout.n_bands
                                     if self.layout is not None else 0)

    def spectral_values(self, Pf: np.ndarray, work: dict | None = None) -> np.ndarray:
        """Features of floored power frames (:func:`power_frames`), shape
        (..., k, n_columns - 1): the columns of :func:`spectral_columns`.

        sfm, sfm_db, tonality and crest over the kernel's bins (:func:`frame_statistics`),
        then the band SFMs, the band crests and the band levels (:meth:`band_levels`).
        """
        lo, hi = self.bins
        P = Pf[..., lo:hi]
        nb = self.layout.n_bands if self.layout is not None else 0
        out = np.empty(P.shape[:-1] + (self.n_columns - 1,))
        peak = P.max(axis=-1)
        logs = log_sum(P, amin=self.amin, peak=float(peak.max(initial=self.amin)), work=work)
        for i, column in enumerate(frame_statistics(P.sum(axis=-1), peak, logs, hi - lo)):
            out[..., i] = column
        if self.reducer is not None:
            sfm, crest, mean = self.reducer(Pf, work, floor=self.amin, means=True)
            at = _RMS  # the band columns follow the spectral frame columns
            out[..., at : at + nb], out[..., at + nb : at + 2 * nb] = sfm, crest
            out[..., at + 2 * nb :] = self.band_levels(mean)
        return out

    def band_levels(self, mean: np.ndarray) -> np.ndarray:
        """Band levels in dB from the mean floored power per bin of each band.

        ``(20 / power) log10(mean / sum(w**2) ** (power / 2))``: with ``power=2``,
        ``10 log10`` of the band's variance per sample (per coefficient of an orthonormal
        transform), since a bin of white noise of variance ``s2`` has mean power
        ``s2 sum(w**2)``; a white noise of variance ``s2`` reads ``10 log10 s2`` in every band.
        """
        scale = self._level_scale ** (self.power / 2.0)
        return (20.0 / self.power) * np.log10(mean / scale)

    def sfm(self, segment: np.ndarray) -> np.ndarray:
        """The per-frame SFM only of one segment, shape (n_channels, k)."""
        work = self._local.__dict__
        Pf = power_frames(segment, self.params, self._window, power=self.power,
                          amin=self.amin, work=work)
        lo, hi = self.bins
        P = Pf[..., lo:hi]
        logs = log_sum(P, amin=self.amin, work=work)
        return np.exp(logs / (hi - lo)) / (P.sum(axis=-1) / (hi - lo))

    def __call__(self, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, peak, _ = self._compute(segment, floors=False)
        return values, peak

    def with_floors(self, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray, FloorCounts]:
        """As a call, and how much of the spectrum sits at the floor ``amin``
        (:class:`FloorCounts`): a lossy codec's emptied band drags the SFM toward 0."""
        return self._compute(segment, floors=True)

    def _compute(self, segment: np.ndarray, *, floors: bool):
        work = self._local.__dict__  # scratch arrays of this thread, reused chunk after chunk
        Pf = power_frames(segment, self.params, self._window, power=self.power,
                          amin=self.amin, work=work)
        k = Pf.shape[-2]
        spectral = self.spectral_values(Pf, work)
        values = np.empty(Pf.shape[:-1] + (self.n_columns,))
        values[..., :_RMS] = spectral[..., :_RMS]
        values[..., _RMS + 1 :] = spectral[..., _RMS:]
        mean_square, peak = frame_levels(segment, self.params, k, work)
        values[..., _RMS] = 10.0 * np.log10(np.maximum(mean_square, _LEVEL_FLOOR))
        counts = None
        if floors:
            lo, hi = self.bins
            P = Pf[..., lo:hi]
            # one reduction finds the frames with a bin at the floor; in uncompressed audio
            # there are none, and nothing more is counted
            touched = P.min(axis=-1) <= self.amin
            per_frame = np.zeros(touched.shape, dtype=np.int64)
            per_bin = np.zeros(touched.shape[:-1] + (hi - lo,), dtype=np.int64)
            if touched.any():
                at_floor = P <= self.amin
                per_frame = np.count_nonzero(at_floor, axis=-1)
                # bins of the frames not wholly at the floor (silence is not a codec)
                live = (per_frame < hi - lo)[..., None]
                per_bin = np.count_nonzero(at_floor & live, axis=-2)
            sounding = per_frame < hi - lo
            counts = FloorCounts(per_frame, per_bin, np.count_nonzero(sounding, axis=-1))
        return values, peak, counts


def map_ordered(func: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """``map(func, items)`` on ``threads`` threads, results in order, a bounded number in flight.

    numpy's FFT and ufuncs release the GIL, so chunks computed on two threads use two cores.
    At most ``2 * threads`` items are pending; stopping the iteration cancels the rest.
    """
    if threads <= 1:
        yield from map(func, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sfm-audio-fft") as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(func, item))
                if len(pending) >= 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def signal_flatness(
    y: np.ndarray, params: StftParams, *, power: float, amin: float, threads: int = DEFAULT_THREADS,
    frames_per_chunk: int = FRAMES_PER_CHUNK,
) -> np.ndarray:
    """Per-frame SFM of a signal, streamed in chunks of frames (the STFT is never held).

    Parameters
    ----------
    y : np.ndarray [shape=(..., n_samples)]
    params : StftParams
    power, amin : float
        Already validated.
    threads : int

    Returns
    -------
    sfm : np.ndarray [shape=(..., 1, n_frames)]
    """
    threads = positive_int(threads, "threads")
    y = np.asarray(y)
    if y.ndim == 0:
        raise ParameterError("y must be a real array of shape (..., n_samples)")
    lead = y.shape[:-1]
    flat = as_channels(y.reshape(-1, y.shape[-1]))
    count = n_frames(flat.shape[-1], params)
    if count == 0:
        raise ParameterError(f"n_fft={params.n_fft} is too large for a signal of "
                             f"{flat.shape[-1]} samples with center=False")
    kernel = ChunkKernel(params, power=power, amin=amin)
    out = np.empty((flat.shape[0], count))
    f0 = 0
    segments = array_segments(flat, params, frames_per_chunk=frames_per_chunk)
    for sfm in map_ordered(kernel.sfm, segments, threads):
        out[:, f0 : f0 + sfm.shape[-1]] = sfm
        f0 += sfm.shape[-1]
    return out.reshape(*lead, 1, count)
