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
:func:`sfm_audio.features.open_features` (same framing, floor and formulas), for the mix of the
channels or one channel, at the file's own rate, over all bins or those of ``[fmin, fmax]``.

Levels: :attr:`Overview.spec_dbfs` is the spectrogram in **dBFS, 0 dBFS being the power a
full-scale sine (amplitude 1, peak at digital full scale) puts in the FFT bin of its frequency
when that frequency is a bin centre**: ``(A · Σw / 2)²`` for a window ``w`` (see
:func:`full_scale_db`). A full-scale square wave reads ``20·log10(4/π) = +2.1 dBFS`` at its
fundamental; a sine between two bins reads lower by the window's scalloping loss (1.4 dB for
Hann).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import io
from ._errors import ParameterError
from .bands import BandLayout, band_layout
from .kernel import LEVEL_FLOOR_DBFS, ChunkKernel, frame_levels, power_frames, spectral_columns
from .stft import FrameStream, StftParams, bin_range, frame_range, padded_span
from .validate import positive_int, validate_amin

__all__ = [
    "Overview",
    "overview",
    "frame_range",
    "pool_columns",
    "frequency_rows",
    "log_frequency_rows",
    "full_scale_db",
]


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
    rms_dbfs : np.ndarray [shape=(n_points,)]
        Frame level as the extractor's ``rms_dbfs`` (column means of the frames' dB values
        when pooled).
    layout : BandLayout or None
        The band layout; ``layout.edges_hz`` gives the nominal edges, shape (n_bands, 2).
    channels : "mix" or int
        What was drawn: the mean of the channels or one channel (0-based).
    n_channels : int
        Channels of the file.
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
    channels: str | int = "mix"
    n_channels: int = 1
    rms_dbfs: np.ndarray | None = None

    @property
    def spec_dbfs(self) -> np.ndarray:
        """:attr:`spec_db` in dBFS (0 dBFS: a full-scale sine at a bin centre; see
        :func:`full_scale_db`)."""
        return self.spec_db - full_scale_db(self.params)

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


def full_scale_db(params: StftParams) -> float:
    """Power in dB (``10·log10``, reference 1) of a full-scale sine in the bin of its frequency.

    A sine ``A·cos(2π k₀ n / n_fft)`` whose frequency is the centre of bin ``k₀`` gives
    ``|X[k₀]| = A · Σw / 2`` under the STFT window ``w`` (zero-padded to ``n_fft``); with
    ``A = 1`` (full scale) this is ``20·log10(Σw / 2)``, the reference of dBFS. For the
    default Hann window of 2048 samples it is 54.2 dB.
    """
    return float(20.0 * np.log10(np.sum(params.fft_window()) / 2.0))


def frequency_rows(lo: int, hi: int, n_rows: int, *, scale: str = "log") -> np.ndarray:
    """First bin of each row when bins ``lo … hi - 1`` are pooled to ``n_rows`` rows.

    ``scale="log"``: bin 0 (DC), if in the range, is a row of its own; bin ``k >= k₀ =
    max(lo, 1)`` goes to row ``floor(n_rows · ln(k / k₀) / ln((hi - 1) / k₀))`` (the last bin
    into the top row). ``scale="linear"``: bin ``k`` goes to row
    ``floor(n_rows · (k - lo) / (hi - lo))``. Rows that receive no bin are dropped, so bins
    wider than a row stay single.

    Parameters
    ----------
    lo, hi : int
        First bin and one past the last bin of the range.
    n_rows : int
        Rows of the grid (about the picture's height in pixels).
    scale : {"log", "linear"}

    Returns
    -------
    starts : np.ndarray [shape=(n_out,), dtype=intp]
        Index of the first bin of each output row, increasing, starting at ``lo``;
        ``n_out <= min(hi - lo, n_rows + 1)``. Use with ``np.add.reduceat`` on
        ``x[..., lo:hi]`` after subtracting ``lo``.
    """
    n_rows = positive_int(n_rows, "n_rows")
    k = np.arange(lo, hi)
    if scale == "linear":
        rows = (n_rows * (k - lo)) // max(hi - lo, 1)
    elif scale == "log":
        k0, last = max(lo, 1), hi - 1
        if last <= k0:
            return k.astype(np.intp)
        with np.errstate(divide="ignore"):
            ratio = np.log(np.maximum(k, k0) / k0) / np.log(last / k0)
        rows = np.minimum((n_rows * ratio).astype(np.int64), n_rows - 1)
        rows = np.where(k == 0, -1, rows)  # DC alone
    else:
        raise ParameterError(f"{scale=} must be 'log' or 'linear'", param="scale")
    return k[np.flatnonzero(np.diff(rows, prepend=-2))].astype(np.intp)


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
    return frequency_rows(0, n_freq, n_rows, scale="log")


def _padded_blocks(
    path: str, lo: int, hi: int, n_samples: int, block_frames: int, channels: str | int
) -> Iterator[np.ndarray]:
    """Samples ``lo … hi - 1`` of one channel or the mix, zeros where the range leaves the file."""
    if lo < 0:
        yield np.zeros((1, -lo))
    read_lo, read_hi = max(lo, 0), min(hi, n_samples)
    if read_hi > read_lo:
        yield from io.stream(path, channels=channels, block_frames=block_frames,
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
    channels: str | int = "mix",
    freq_scale: str = "log",
    fmin: float | None = None,
    fmax: float | None = None,
    block_frames: int = 1 << 16,
) -> Overview:
    """Stream a time range of a file into a pooled spectrogram and its flatness.

    Parameters
    ----------
    path : str or os.PathLike
        Any audio file libsndfile reads.
    start, end : float or None
        Range in seconds (frames whose time lies in ``[start, end]``); ``None`` for the
        beginning / the end of the file.
    width : int
        Maximum number of spectrogram columns (the picture's width in pixels).
    height : int or None
        Pool the frequency bins to about this many rows of a log- or linear-frequency grid
        (see :func:`frequency_rows`); ``None`` keeps every bin.
    n_fft, hop_length, win_length, window, center
        STFT parameters, librosa's names and defaults (except ``hop_length=512``, the
        extractor's default).
    bands : str, BandLayout or None
        Band layout of :func:`sfm_audio.bands.band_layout` (``"mpeg7"``, ``"octave"``,
        ``"mel:40"``, ...); ``None`` or ``"none"`` skips band flatness.
    amin : float
        Floor of the power spectrum (in both means of the SFM and before the dB).
    channels : "mix" or int
        The mean of the channels (librosa's ``mono=True``) or one channel (0-based).
    freq_scale : {"log", "linear"}
        Grid on which ``height`` pools the bins.
    fmin, fmax : float or None
        Frequency range in Hz (:func:`sfm_audio.stft.bin_range`): the spectrogram rows and the
        frame flatness use only the bins in ``[fmin, fmax]``, and the band layout is clipped
        to it. An ``fmax`` above Nyquist is clipped to it with a warning.
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
    >>> from sfm_audio.examples import example
    >>> ov = overview(example(), start=1.0, end=2.0, width=400)  # doctest: +SKIP
    >>> ov.spec_db.shape, ov.sfm.shape  # doctest: +SKIP
    ((1025, 32), (32,))
    """
    width = positive_int(width, "width")
    block_frames = positive_int(block_frames, "block_frames")
    if height is not None:
        height = positive_int(height, "height")
    amin = validate_amin(amin)
    params = StftParams(n_fft, hop_length, win_length, window, center)
    channels = io.validate_channels(channels)
    if channels == "each":
        raise ParameterError("channels='each': an overview draws one channel or the mix; "
                             "call it once per channel", param="channels")
    if freq_scale not in ("log", "linear"):
        raise ParameterError(f"{freq_scale=} must be 'log' or 'linear'", param="freq_scale")
    window_values = params.fft_window()  # unknown windows fail before the file is read
    del window_values
    path = str(path)
    audio = io.info(path)
    sr = float(audio.sr)
    b_lo, b_hi = bin_range(sr, params.n_fft, fmin=fmin, fmax=fmax, path=path)
    layout = band_layout(bands, sr=sr, n_fft=params.n_fft, fmin=fmin,
                         fmax=None if fmax is None else min(float(fmax), sr / 2))
    starts = None if height is None else frequency_rows(b_lo, b_hi, height, scale=freq_scale)
    first, stop = frame_range(audio.frames, sr, params, start=start, end=end, path=path)
    count = stop - first
    n_cols = min(int(width), count)
    pooled = n_cols < count

    hop = params.hop_length
    # the samples of the range, already padded as librosa pads the whole file: frame them
    # without further centring
    lo, hi, uncentred = padded_span(first, stop, params)
    frames = FrameStream(uncentred, 1)
    window_fft = frames.params.fft_window()
    n_bands = layout.n_bands if layout is not None else 0
    kernel = ChunkKernel(params, amin=amin, bins=(b_lo, b_hi), layout=layout)
    spec_pool = _Pool(n_cols, b_hi - b_lo)
    feat_pool = _Pool(n_cols, 4 + n_bands) if pooled else None
    feats = None if pooled else np.empty((count, 4 + n_bands))
    work: dict = {}
    # the columns of kernel.spectral_values the figures draw (crest columns are not drawn)
    spectral = spectral_columns(layout)
    drawn = [spectral.index(name) for name in ("sfm", "sfm_db", "tonality")]
    if layout is not None:
        drawn += [spectral.index(f"sfm_band_{name}") for name in layout.names]
    drawn = np.asarray(drawn, dtype=np.intp)
    done = 0
    blocks = _padded_blocks(path, lo, hi, audio.frames, block_frames, channels)
    for segment in frames.segments(blocks):
        Pf = power_frames(segment, frames.params, window_fft, power=2.0, amin=amin,
                          work=work)[0]  # (k, n_freq + 1)
        k = Pf.shape[0]
        P = Pf[:, b_lo:b_hi]
        # sfm, sfm_db, tonality and the band SFMs (crest columns are not drawn)
        values = kernel.spectral_values(Pf, work)[:, drawn]
        mean_square, _ = frame_levels(segment, frames.params, k, work)
        level = 10.0 * np.log10(np.maximum(mean_square[0], 10.0 ** (LEVEL_FLOOR_DBFS / 10)))
        values = np.concatenate([values, level[:, None]], axis=1)
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
    power = spec_pool.means()  # (n_cols, b_hi - b_lo)
    bin_freqs = np.arange(b_lo, b_hi) * sr / n_fft
    if starts is None:
        freqs = bin_freqs
        freq_edges = (np.arange(b_lo, b_hi + 1) - 0.5) * sr / n_fft
    else:
        sizes = np.diff(np.append(starts, b_hi))
        power = np.add.reduceat(power, starts - b_lo, axis=1) / sizes
        freqs = np.add.reduceat(bin_freqs, starts - b_lo) / sizes
        freq_edges = (np.append(starts, b_hi) - 0.5) * sr / n_fft
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
        band_sfm=np.ascontiguousarray(table[:, 3:-1].T) if layout is not None else None,
        layout=layout,
        channels=channels,
        n_channels=audio.channels,
        rms_dbfs=table[:, -1].copy(),
    )
