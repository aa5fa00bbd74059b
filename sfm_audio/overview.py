"""What the figures of a long recording need, computed while streaming with bounded memory.

A one-hour file has hundreds of thousands of STFT frames; a figure is a couple of thousand
pixels wide. :func:`overview` reads a time range of a file block by block, frames it exactly as
``librosa.stft`` frames the whole file, and reduces every chunk of frames at once to

- the power spectrogram **pooled to the picture's width**: the frames are split into
  ``n_cols = min(width, n_frames)`` consecutive columns of (nearly) equal size, frame ``i`` of
  the range going to column ``floor(i * n_cols / n_frames)``, and each column holds the
  **mean over its frames of the floored power** ``max(|X|², amin)``, shown in dB
  (``10·log10``, reference 1);
- optionally, the frequency bins pooled to the picture's height on a **log-frequency grid**
  (``height`` rows evenly spaced in ``log f`` from the first bin above DC to Nyquist): bins
  whose log-frequency falls in the same row are averaged (mean power, then dB); where bins are
  wider than a row (low frequencies) each bin stays a row of its own, and DC is always its own
  row. A figure on a log axis then draws a few hundred rows instead of ``n_fft / 2 + 1``,
  which keeps the memory of the drawing itself bounded too;
- the per-frame flatness (SFM, SFM in dB, Johnston tonality) and the flatness of each band,
  pooled the same way when there are more frames than columns: each column holds the
  **arithmetic mean of the per-frame values** of its frames (so the pooled ``sfm_db`` is the
  mean of the frames' dB values, not the dB of the mean SFM). With no more frames than
  columns nothing is pooled and the values are the frames' own.

Memory is ``O(n_freq · width)`` for the pooled picture plus one block of samples and one
chunk of frames, whatever the file length. The numbers per frame are those of
:func:`sfm_audio.features.open_features` (same framing, floor and formulas); only the mono mix
at the file's own rate is drawn.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import io
from ._errors import ParameterError
from .bands import BandLayout, BandReducer, band_layout
from .features import chunk_values, floored_power
from .flatness import validate_amin
from .stft import FrameStream, StftParams, n_frames
from .validate import finite_float, positive_int

__all__ = ["Overview", "overview", "frame_range", "pool_columns", "log_frequency_rows"]


@dataclass(frozen=True)
class Overview:
    """A time range of one file, reduced to what its figures draw.

    Attributes
    ----------
    path : str
    sr : float
        Sampling rate of the file (Hz).
    params : StftParams
        The STFT geometry of the frames.
    frame0 : int
        Index in the whole file of the first frame of the range.
    n_frames : int
        Frames in the range (frame ``f`` is at ``f * hop_length / sr`` seconds).
    frames_per_column : float
        ``n_frames / n_cols``; 1 when nothing was pooled.
    freqs : np.ndarray [shape=(n_rows,)]
        Centre frequency of each spectrogram row in Hz (the mean of its bins' frequencies);
        ``n_rows = n_freq`` and these are the bin frequencies unless ``height`` pooled them.
    freq_edges : np.ndarray [shape=(n_rows + 1,)]
        Row edges in Hz: half a bin below the first and above the last bin of each row (the
        lowest edge, of the DC row, is negative).
    col_edges : np.ndarray [shape=(n_cols + 1,)]
        Column edges in seconds: half a hop before the first and after the last frame of each
        column.
    spec_db : np.ndarray [shape=(n_rows, n_cols)]
        Mean floored power of each column's frames (and of each row's bins), in dB.
    times : np.ndarray [shape=(n_points,)]
        Times in seconds of the flatness values: the frame times when nothing was pooled
        (``n_points = n_frames``), else the column centres (``n_points = n_cols``).
    sfm, sfm_db, tonality : np.ndarray [shape=(n_points,)]
        Per-frame flatness, its dB value and Johnston tonality (column means when pooled).
    band_sfm : np.ndarray [shape=(n_bands, n_points)] or None
        Flatness per band (column means when pooled); None without a band layout.
    layout : BandLayout or None
        The band layout; ``layout.edges_hz`` gives the nominal edges, shape (n_bands, 2).
    """

    path: str
    sr: float
    params: StftParams
    frame0: int
    n_frames: int
    frames_per_column: float
    freqs: np.ndarray
    freq_edges: np.ndarray
    col_edges: np.ndarray
    spec_db: np.ndarray
    times: np.ndarray
    sfm: np.ndarray
    sfm_db: np.ndarray
    tonality: np.ndarray
    band_sfm: np.ndarray | None
    layout: BandLayout | None

    @property
    def start(self) -> float:
        """Time in seconds of the first frame of the range."""
        return self.frame0 * self.params.hop_length / self.sr

    @property
    def end(self) -> float:
        """Time in seconds of the last frame of the range."""
        return (self.frame0 + self.n_frames - 1) * self.params.hop_length / self.sr

    @property
    def pooled(self) -> bool:
        """True when the flatness values are column means rather than single frames."""
        return self.times.shape[0] != self.n_frames

    @property
    def frame_times(self) -> np.ndarray:
        """Alias of :attr:`times`, the name :func:`sfm_audio.plot.flatness` uses."""
        return self.times


def frame_range(
    n_samples: int,
    sr: float,
    params: StftParams,
    *,
    start: float | None = None,
    end: float | None = None,
    path: str = "",
) -> tuple[int, int]:
    """Frames whose time ``f * hop_length / sr`` lies in ``[start, end]`` seconds.

    Parameters
    ----------
    n_samples : int
        Length of the file in samples.
    sr : float
    params : StftParams
    start, end : float or None
        Range in seconds; ``None`` means the beginning / the end of the file.
    path : str
        Named in error messages.

    Returns
    -------
    first, stop : int
        Frame indices ``first`` (inclusive) to ``stop`` (exclusive) in the whole file.

    Raises
    ------
    ParameterError
        ``start >= end``, a negative start, a range reaching outside the file, or a range so
        short that it holds no frame.
    """
    where = f"{path}: " if path else ""
    duration = n_samples / sr
    total = n_frames(n_samples, params)
    if total == 0:
        raise ParameterError(
            f"{where}{n_samples} samples are too few for n_fft={params.n_fft} with center=False"
        )
    if start is not None:
        start = finite_float(start, "start")
    if end is not None:
        end = finite_float(end, "end")
    if start is not None and end is not None and start >= end:
        raise ParameterError(f"start={start:g} s must be before end={end:g} s")
    if start is not None and start < 0:
        raise ParameterError(f"start={start:g} s must not be negative")
    if start is not None and start >= duration:
        raise ParameterError(
            f"{where}start={start:g} s is outside the file (it lasts {duration:g} s)"
        )
    # half a sample of slack so that "--end <duration as printed>" is accepted
    if end is not None and end > duration + 0.5 / sr:
        raise ParameterError(f"{where}end={end:g} s is outside the file (it lasts {duration:g} s)")
    if end is not None and end <= 0:
        raise ParameterError(f"end={end:g} s must be positive")
    hop = params.hop_length
    eps = 1e-9
    first = 0 if start is None else max(0, math.ceil(start * sr / hop - eps))
    last = total - 1 if end is None else min(total - 1, math.floor(end * sr / hop + eps))
    if last < first:
        raise ParameterError(
            f"{where}the range {start or 0:g}–{end if end is not None else duration:g} s holds "
            f"no frame (frames are every {hop / sr:g} s); widen it"
        )
    return first, last + 1


def pool_columns(first: int, count: int, n_total: int, n_cols: int) -> np.ndarray:
    """Column of each of the frames ``first … first + count - 1`` of a range of ``n_total``.

    Frame ``i`` goes to column ``floor(i * n_cols / n_total)``: consecutive, nearly equal
    columns (sizes differ by at most one frame).

    Returns
    -------
    cols : np.ndarray [shape=(count,), dtype=int64]
    """
    i = np.arange(first, first + count, dtype=np.int64)
    return (i * n_cols) // n_total


def log_frequency_rows(n_freq: int, n_rows: int) -> np.ndarray:
    """First bin of each row when bins are pooled to ``n_rows`` rows of a log-frequency grid.

    Bin 0 (DC) is a row of its own; bin ``k >= 1`` goes to row
    ``floor(n_rows · ln k / ln(n_freq - 1))`` of the grid above DC (the last bin, Nyquist,
    into the top row), and rows that receive no bin are dropped, so low bins wider than a row
    stay single.

    Parameters
    ----------
    n_freq : int
        Number of frequency bins, ``n_fft // 2 + 1``.
    n_rows : int
        Rows of the log grid above DC (about the picture's height in pixels).

    Returns
    -------
    starts : np.ndarray [shape=(n_out,), dtype=intp]
        Index of the first bin of each output row, increasing, starting at 0;
        ``n_out <= min(n_freq, n_rows + 1)``. Use with ``np.add.reduceat``.
    """
    n_rows = positive_int(n_rows, "n_rows")
    if n_freq <= 2:
        return np.arange(n_freq, dtype=np.intp)
    k = np.arange(1, n_freq)
    rows = np.minimum((n_rows * np.log(k) / np.log(n_freq - 1)).astype(np.int64), n_rows - 1)
    row = np.concatenate(([-1], rows))
    return np.flatnonzero(np.diff(row, prepend=-2)).astype(np.intp)


def _padded_blocks(
    path: str, lo: int, hi: int, n_samples: int, block_frames: int
) -> Iterator[np.ndarray]:
    """Mono samples ``lo … hi - 1`` of the file, zeros where the range leaves the file."""
    if lo < 0:
        yield np.zeros((1, -lo))
    read_lo, read_hi = max(lo, 0), min(hi, n_samples)
    if read_hi > read_lo:
        yield from io.stream(path, channels="mix", block_frames=block_frames,
                             start=read_lo, stop=read_hi)
    if hi > n_samples:
        yield np.zeros((1, hi - n_samples))


class _Pool:
    """Running sums of values of shape (k, m) per column, and the frame count per column."""

    def __init__(self, n_cols: int, m: int):
        self.sums = np.zeros((n_cols, m))
        self.counts = np.zeros(n_cols, dtype=np.int64)

    def add(self, cols: np.ndarray, values: np.ndarray) -> None:
        starts = np.concatenate(([0], np.flatnonzero(np.diff(cols)) + 1))
        self.sums[cols[starts]] += np.add.reduceat(values, starts, axis=0)
        self.counts[cols[starts]] += np.diff(np.append(starts, cols.shape[0]))

    def means(self) -> np.ndarray:
        return self.sums / self.counts[:, None]


def overview(
    path: str | os.PathLike,
    *,
    start: float | None = None,
    end: float | None = None,
    width: int = 1500,
    height: int | None = None,
    n_fft: int = 2048,
    hop_length: int | None = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    bands: str | BandLayout | None = "mpeg7",
    amin: float = 1e-10,
    block_frames: int = 1 << 16,
) -> Overview:
    """Stream a time range of a file into a pooled spectrogram and its flatness.

    Parameters
    ----------
    path : str or os.PathLike
        Any audio file libsndfile reads; channels are mixed to mono.
    start, end : float or None
        Range in seconds (frames whose time lies in ``[start, end]``); ``None`` for the
        beginning / the end of the file.
    width : int
        Maximum number of spectrogram columns (the picture's width in pixels).
    height : int or None
        Pool the frequency bins to about this many rows of a log-frequency grid (see
        :func:`log_frequency_rows`); ``None`` keeps every bin.
    n_fft, hop_length, win_length, window, center
        STFT parameters, librosa's names and defaults (except ``hop_length=512``, the
        extractor's default).
    bands : str, BandLayout or None
        Band layout of :func:`sfm_audio.bands.band_layout` (``"mpeg7"``, ``"octave"``,
        ``"mel:40"``, ...); ``None`` or ``"none"`` skips band flatness.
    amin : float
        Floor of the power spectrum (in both means of the SFM and before the dB).
    block_frames : int
        Samples read per block; memory does not grow with the file's length.

    Returns
    -------
    Overview

    Raises
    ------
    AudioFileError
        Missing, empty, truncated or non-audio file.
    ParameterError
        Bad STFT parameters or band layout, a bad range (see :func:`frame_range`), or a
        ``width`` or ``height`` below 1.

    Examples
    --------
    >>> ov = overview("data/arctic_a0007.wav", start=1.0, end=2.0, width=400)  # doctest: +SKIP
    >>> ov.spec_db.shape, ov.sfm.shape  # doctest: +SKIP
    ((1025, 32), (32,))
    """
    width = positive_int(width, "width")
    if height is not None:
        height = positive_int(height, "height")
    amin = validate_amin(amin)
    params = StftParams(n_fft, hop_length, win_length, window, center)
    starts = None if height is None else log_frequency_rows(params.n_freq, height)
    window_values = params.fft_window()  # unknown windows fail before the file is read
    del window_values
    path = str(path)
    audio = io.info(path)
    sr = float(audio.samplerate)
    layout = band_layout(bands, sr=sr, n_fft=params.n_fft)
    first, stop = frame_range(audio.frames, sr, params, start=start, end=end, path=path)
    count = stop - first
    n_cols = min(int(width), count)
    pooled = n_cols < count

    hop, n_freq = params.hop_length, params.n_freq
    pad = n_fft // 2 if params.center else 0
    lo = first * hop - pad
    hi = (stop - 1) * hop - pad + n_fft
    # the samples of the range, already padded as librosa pads the whole file: frame them
    # without further centring
    frames = FrameStream(StftParams(n_fft, hop, params.win_length, window, False), 1)
    n_bands = layout.n_bands if layout is not None else 0
    reducer = BandReducer(layout) if layout is not None else None
    spec_pool = _Pool(n_cols, n_freq)
    feat_pool = _Pool(n_cols, 3 + n_bands) if pooled else None
    feats = None if pooled else np.empty((count, 3 + n_bands))
    work: dict = {}
    drawn = np.r_[0:3, 4 : 4 + n_bands]  # columns of chunk_values the figures use
    done = 0
    blocks = _padded_blocks(path, lo, hi, audio.frames, int(block_frames))
    for segment in frames.segments(blocks):
        spectrum = frames.transform(segment, work=work)[0]  # (k, n_freq)
        k = spectrum.shape[0]
        Pf, logPf = floored_power(spectrum, power=2.0, amin=amin, work=work)
        P = Pf[:, :n_freq]
        # sfm, sfm_db, tonality and the band SFMs (crest columns are not drawn)
        values = chunk_values(Pf, logPf, n_freq, reducer)[:, drawn]
        cols = pool_columns(done, k, count, n_cols)
        spec_pool.add(cols, P)
        if feat_pool is not None:
            feat_pool.add(cols, values)
        else:
            feats[done : done + k] = values
        done += k
    if done != count:  # the framing above is exact; this guards against a short read
        raise ParameterError(f"{path}: expected {count} frames in the range, computed {done}")

    first_of_col = -((-np.arange(n_cols + 1, dtype=np.int64) * count) // n_cols)
    col_edges = (first + first_of_col - 0.5) * hop / sr
    power = spec_pool.means()  # (n_cols, n_freq)
    bin_freqs = np.arange(n_freq) * sr / n_fft
    if starts is None:
        freqs = bin_freqs
        freq_edges = (np.arange(n_freq + 1) - 0.5) * sr / n_fft
    else:
        sizes = np.diff(np.append(starts, n_freq))
        power = np.add.reduceat(power, starts, axis=1) / sizes
        freqs = np.add.reduceat(bin_freqs, starts) / sizes
        freq_edges = (np.append(starts, n_freq) - 0.5) * sr / n_fft
    spec_db = 10.0 * np.log10(np.maximum(power, amin)).T
    if feat_pool is not None:
        table = feat_pool.means()
        times = 0.5 * (col_edges[:-1] + col_edges[1:])
    else:
        table = feats
        times = (first + np.arange(count)) * hop / sr
    return Overview(
        path=path,
        sr=sr,
        params=params,
        frame0=first,
        n_frames=count,
        frames_per_column=count / n_cols,
        freqs=freqs,
        freq_edges=freq_edges,
        col_edges=col_edges,
        spec_db=np.ascontiguousarray(spec_db),
        times=times,
        sfm=table[:, 0].copy(),
        sfm_db=table[:, 1].copy(),
        tonality=table[:, 2].copy(),
        band_sfm=np.ascontiguousarray(table[:, 3:].T) if layout is not None else None,
        layout=layout,
    )
