"""A file's table rows: frame rows as they stream, or statistics of its frames.

:func:`sfm_audio.features.open_features` gives a file's :class:`~sfm_audio.features.FileMeta`
and its chunks of frames; this module turns them into the numeric columns of its table
(:func:`table_schema`) and their rows (:func:`table_rows`): one row per frame and channel,
or per channel (or segment and channel) the statistics of the frames (:func:`summary_rows`),
spooled to disk column by column so that memory stays bounded.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator

import numpy as np

from . import io
from ._errors import ParameterError
from .columns import Column, frame_schema
from .features import FileMeta, FrameChunk
from .stft import frame_times
from .tfflatness import TF_COLUMNS, TfSums, band_log_bias

__all__ = [
    "SUMMARY_STATS",
    "bits_of",
    "source_levels",
    "summarize",
    "summary_columns",
    "summary_row",
    "summary_rows",
    "table_rows",
    "table_schema",
]

#: statistics of every feature in a per-file summary, in column order
SUMMARY_STATS = ("mean", "median", "std", "p10", "p90")


class _ColumnSpool:
    """Per-channel, per-column frame values on disk, so summaries keep memory bounded."""

    def __init__(self, n_channels: int, n_columns: int, n_frames_total: int):
        self._shape = (n_channels, n_columns, n_frames_total)
        self._file = tempfile.TemporaryFile()
        self._file.truncate(n_channels * n_columns * n_frames_total * 8)

    def write(self, chunk: FrameChunk) -> None:
        n_ch, n_col, total = self._shape
        fd = self._file.fileno()
        block = np.ascontiguousarray(np.moveaxis(chunk.values, -1, 1))  # (ch, col, k)
        for c in range(n_ch):
            for j in range(n_col):
                os.pwrite(fd, block[c, j].tobytes(), ((c * n_col + j) * total + chunk.frame0) * 8)

    def column(self, c: int, j: int) -> np.ndarray:
        n_ch, n_col, total = self._shape
        self._file.seek((c * n_col + j) * total * 8)
        return np.fromfile(self._file, dtype=np.float64, count=total)

    def close(self) -> None:
        self._file.close()


def _level_columns(meta: FileMeta) -> list[int]:
    """Where the ``level_band_*`` columns are among ``meta.columns`` (band order)."""
    return [j for j, name in enumerate(meta.columns) if name.startswith("level_band_")]


def summary_columns(meta: FileMeta) -> list[str]:
    """``<feature>_<stat>`` for every column and statistic (the last columns of a summary),
    then, when the band levels are among the columns, the time–frequency flatness
    :data:`~sfm_audio.tfflatness.TF_COLUMNS`."""
    names = [f"{name}_{stat}" for name in meta.columns for stat in SUMMARY_STATS]
    if _level_columns(meta):
        names += list(TF_COLUMNS)
    return names


#: frames read at a time in a summary's final pass (the time–frequency sums take every band
#: of a block at once: ~2.5 MB for 40 bands); a live input's statistics hold one column
_BLOCK_FRAMES = 8192

Block = Callable[[int, int, int], np.ndarray]


def _blocks(n: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, _BLOCK_FRAMES):
        yield a, min(a + _BLOCK_FRAMES, n)


def _tf_values(meta: FileMeta, block: Block, n: int, kept: np.ndarray | None) -> list[float]:
    """:func:`~sfm_audio.tfflatness.tf_flatness` of the kept frames' band levels (dB),
    weighted by each band's bins, with the periodogram's log bias of each band removed.

    Accumulated block by block (:class:`~sfm_audio.tfflatness.TfSums`): only one block of
    frames' band levels is in memory at a time, whatever the number of frames.
    """
    layout = meta.layout
    level_at = _level_columns(meta)
    n_kept = n if kept is None else int(kept.sum())
    if not level_at or n_kept == 0:
        return [math.nan] * len(TF_COLUMNS)
    power = meta.options.power
    if power != 2.0:  # the factorisation is one of variances: power spectra only
        return [math.nan] * len(TF_COLUMNS)
    widths = (layout.bin_hi - layout.bin_lo + 1) // layout.group * layout.group
    bias = band_log_bias(meta.options.stft_params().fft_window(), widths)
    sums = TfSums(widths, log_bias=bias)
    for a, b in _blocks(n):
        levels_db = np.stack([block(j, a, b) for j in level_at])
        if kept is not None:
            levels_db = levels_db[:, kept[a:b]]
        sums.add(10.0 ** (levels_db * (power / 20.0)))  # back to mean power per bin
    tf = sums.result()
    return [tf.sfm_db, tf.temporal_db, tf.spectral_db]


def table_schema(meta: FileMeta, summary: bool) -> list[Column]:
    """The numeric columns of a file's table, after ``file`` and ``channel``.

    Frame table: ``frame``, ``time_s`` and the feature columns. Summary: ``segment_start_s``
    (with ``segment``), ``sr``, ``channels`` (of the source), ``bits`` (the sample width of
    the source: 16 for PCM_16, 32 for FLOAT, 0 for compressed formats; see :func:`bits_of`),
    ``duration_s`` (of the source), ``frames``, ``frames_gated``, ``peak_dbfs`` and
    ``clipped`` (the peak and the samples at full scale of the row's channel of the source,
    as ``sfm-audio info`` measures them: for ``mix`` the largest peak and all clipped samples
    of the channels mixed; ``-inf`` dBFS for digital silence), ``floor_share`` (share of the
    row's bins in the frequency range at the floor ``amin``: a lossy codec's emptied band),
    and the statistics of every column.
    """
    if not summary:
        return frame_schema(meta.columns)
    head = [Column("segment_start_s", "time")] if meta.options.segment is not None else []
    head += [Column("sr", "int"), Column("channels", "int"), Column("bits", "int"),
             Column("duration_s", "time"),
             Column("frames", "int"), Column("frames_gated", "int"),
             Column("peak_dbfs", "value"), Column("clipped", "int"),
             Column("floor_share", "value")]
    return head + [Column(name, "value") for name in summary_columns(meta)]


def bits_of(subtype: str) -> int:
    """Sample width in bits of a libsndfile subtype or a numpy dtype name, 0 where there is
    none: :func:`sfm_audio.io.sample_bits`, the one table of widths."""
    return io.sample_bits(subtype)


def _stats(v: np.ndarray) -> list[float]:
    """Mean, median, std, p10, p90 of ``v``, which is reordered: the percentiles partition it
    in place and the std sums squares block by block, so no copy of it is made (a live
    input's summary holds this one column, 8 bytes per frame, and a block)."""
    if v.size == 0:  # every frame gated
        return [math.nan] * len(SUMMARY_STATS)
    mean = float(v.mean())
    squares = 0.0
    for a, b in _blocks(v.size):
        d = v[a:b] - mean
        squares += float(d @ d)
    std = math.sqrt(squares / v.size)
    p10, median, p90 = np.percentile(v, [10, 50, 90], overwrite_input=True)
    return [mean, float(median), std, float(p10), float(p90)]


def _kept_column(block: Block, j: int, n: int, kept: np.ndarray | None,
                 n_kept: int) -> np.ndarray:
    """Column ``j``'s values of the kept frames, gathered block by block into one array."""
    out = np.empty(n_kept)
    at = 0
    for a, b in _blocks(n):
        x = block(j, a, b)
        if kept is not None:
            x = x[kept[a:b]]
        out[at : at + x.size] = x
        at += x.size
    return out


def _dbfs(peak: float) -> float:
    """``20 log10(peak)``; ``-inf`` for digital silence, as ``sfm-audio info`` says it (a
    floor such as -200 would read as a measured level; JSON writes null)."""
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def _floor_share(floored: np.ndarray) -> float:
    """Mean share of the bins at the floor over frames not wholly at it (silence is not an
    emptied band); 0 when there are none."""
    sounding = floored[floored < 1.0]
    return float(sounding.mean()) if sounding.size else 0.0


def _source_levels(meta: FileMeta) -> io.SampleLevels | None:
    """The source's levels of a file opened to be summarized (None for an array given
    without its readings); a file opened without them cannot give a summary's levels."""
    if meta.readings is None:
        return None
    if meta.readings.levels is None:
        raise ParameterError(f"{meta.path}: a summary reports the source's levels; open it "
                             "with open_features(..., levels=True)", param="levels")
    return meta.readings.levels


def source_levels(meta: FileMeta, c: int, segment_start: float | None) -> tuple[float, int]:
    """``(peak, clipped)`` of row channel ``c`` over the segment starting at
    ``segment_start`` (None: every sample read), from ``meta.readings``."""
    levels = _source_levels(meta)
    if levels is None or not levels.peak:
        return 0.0, 0
    spans = levels.spans() if segment_start is None else [
        round(segment_start / meta.options.segment)]
    peaks = [levels.peak[s] for s in spans if s in levels.peak]
    clipped = [levels.clipped[s] for s in spans if s in levels.clipped]
    if not peaks:
        return 0.0, 0
    peak, count = np.max(peaks, axis=0), np.sum(clipped, axis=0)
    label = meta.channels[c]
    if label.isdigit():
        return float(peak[int(label)]), int(count[int(label)])
    return float(peak.max()), int(count.sum())


def _levels(meta: FileMeta, n_segments: int, first: int) -> Callable[[int, int], tuple]:
    """``(segment, channel) -> (peak, clipped)`` of the source samples (see
    :class:`sfm_audio.io.SampleLevels`): a segment's samples are those of its own span of
    time (the samples that frames at a segment's edge reach beyond it count for no segment,
    as for a live input, whose later segments are not known yet)."""
    levels = _source_levels(meta)
    peaks = np.zeros((n_segments, meta.source_channels))
    clipped = np.zeros((n_segments, meta.source_channels), dtype=np.int64)
    if levels is not None:
        for span in levels.spans():
            s = span - first
            if meta.options.segment is None:
                s = 0
            elif not 0 <= s < n_segments:
                continue
            np.maximum(peaks[s], levels.peak[span], out=peaks[s])
            clipped[s] += levels.clipped[span]

    def of(s: int, c: int) -> tuple[float, int]:
        label = meta.channels[c]
        if label.isdigit():
            return float(peaks[s, int(label)]), int(clipped[s, int(label)])
        return float(peaks[s].max(initial=0.0)), int(clipped[s].sum())  # the mix

    return of


def summary_row(meta: FileMeta, segment_start: float | None, duration: float,
                column: Callable[[int], np.ndarray], *,
                levels: tuple[float, int] | None = None,
                floored: np.ndarray | bool | None = None,
                block: Block | None = None, n_frames: int | None = None) -> list[float]:
    """One channel's summary row (of a segment, or of the whole file) in the columns of
    :func:`table_schema`.

    ``column(j)`` gives the values of the frames in column ``j`` of ``meta.columns``, then
    ``rms_dbfs`` (``j = len(meta.columns)``), the peak magnitude (``j + 1``) and the share of
    each frame's bins at the floor ``amin`` (``j + 2``, when there is one), each of shape
    (n_frames,); ``duration`` is the source's length in seconds (NaN when unknown, as for a
    live input before its end). ``levels``: the source's ``(peak, clipped)`` for the row
    (default: the frames' peak, clipping unknown); ``floored``: the share at the floor per
    frame (n_frames,), True to read it as column ``j + 2``, None when unknown.

    ``block(j, a, b)`` (default ``column(j)[a:b]``) gives frames ``a:b`` of column ``j``, and
    ``n_frames`` their number (default ``column(len(meta.columns)).shape[0]``): the row is
    computed from blocks of frames, holding at most one column's kept frames (8 bytes per
    frame, for the percentiles) and one block of every band, so that a summary of a live
    input of any length keeps its frames on disk. The numbers do not depend on how ``block``
    reads them.
    """
    n_col = len(meta.columns)
    if block is None:
        def block(j: int, a: int, b: int) -> np.ndarray:
            return column(j)[a:b]
    n = column(n_col).shape[0] if n_frames is None else n_frames
    min_dbfs = meta.options.min_dbfs
    kept = None if min_dbfs is None else np.concatenate(
        [block(n_col, a, b) >= min_dbfs for a, b in _blocks(n)] or [np.zeros(0, bool)])
    n_kept = n if kept is None else int(kept.sum())
    row = [] if segment_start is None else [segment_start]
    row += [meta.sr, meta.source_channels, bits_of(meta.subtype), duration, n, n - n_kept]
    if levels is None:
        peak = max((float(block(n_col + 1, a, b).max(initial=0.0)) for a, b in _blocks(n)),
                   default=0.0)
        row += [_dbfs(peak), math.nan]
    else:
        row += [_dbfs(levels[0]), levels[1]]
    if floored is None or floored is False:
        row.append(math.nan)
    elif floored is True:
        row.append(_floor_share(_kept_column(block, n_col + 2, n, kept, n_kept)))
    else:
        row.append(_floor_share(floored if kept is None else floored[kept]))
    for j in range(n_col):
        row += _stats(_kept_column(block, j, n, kept, n_kept))
    if _level_columns(meta):
        row += _tf_values(meta, block, n, kept)
    return row


def summary_rows(meta: FileMeta, chunks: Iterator[FrameChunk]) -> tuple[list[str], np.ndarray]:
    """A file's summary rows: per channel, or per segment and channel (segment-major).

    Returns
    -------
    channels : list of str
        The ``channel`` label of each row.
    numeric : np.ndarray [shape=(n_rows, len(table_schema(meta, True)))]
    """
    n_ch, n_col = len(meta.channels), len(meta.columns)
    spool = _ColumnSpool(n_ch, n_col + 3, meta.n_frames)
    try:
        for chunk in chunks:
            floored = chunk.floored if chunk.floored is not None else np.zeros_like(chunk.peak)
            spool.write(FrameChunk(chunk.frame0 - meta.frame0, np.concatenate(
                [chunk.values, chunk.rms_dbfs[..., None], chunk.peak[..., None],
                 floored[..., None]], axis=-1)))
        times = meta.times
        options = meta.options
        first = 0
        if options.segment is None:
            starts, index = [None], np.zeros(meta.n_frames, dtype=np.intp)
        else:
            # a centred frame at (or past) the end of the audio joins the last segment that
            # starts inside the audio, instead of opening a segment of one frame
            last = max(int(np.ceil(meta.duration / options.segment - 1e-9)) - 1, 0)
            index = np.minimum(np.floor(times / options.segment + 1e-9), last).astype(np.intp)
            first = int(index[0])
            index -= first
            starts = [(first + j) * options.segment for j in range(int(index[-1]) + 1)]
        bounds = np.searchsorted(index, np.arange(len(starts) + 1))
        columns = [[spool.column(c, j) for j in range(n_col + 3)] for c in range(n_ch)]
        levels_of = _levels(meta, len(starts), first)
        labels, rows = [], []
        for s_i, seg_start in enumerate(starts):
            a, b = bounds[s_i], bounds[s_i + 1]
            for c in range(n_ch):
                labels.append(meta.channels[c])
                rows.append(summary_row(meta, seg_start, meta.duration,
                                        lambda j, c=c, a=a, b=b: columns[c][j][a:b],
                                        levels=levels_of(s_i, c),
                                        floored=True))
        return labels, np.asarray(rows, dtype=np.float64)
    finally:
        spool.close()


def summarize(meta: FileMeta, chunks: Iterator[FrameChunk]) -> np.ndarray:
    """The statistics of a file's frames, one row per channel (or segment and channel).

    Returns
    -------
    stats : np.ndarray [shape=(n_rows, n_columns * 5)]
        For every column of ``meta.columns``: mean, median, std (population), 10th and 90th
        percentiles (linear interpolation, numpy's default), in that order, over the frames
        not gated by ``min_dbfs`` (NaN when every frame is gated). (The time–frequency
        flatness columns of :func:`summary_rows` are not among them.)
    """
    _, numeric = summary_rows(meta, chunks)
    n_stats = len(meta.columns) * len(SUMMARY_STATS)
    end = numeric.shape[1] - (len(TF_COLUMNS) if _level_columns(meta) else 0)
    return numeric[:, end - n_stats : end]


def table_rows(
    meta: FileMeta, chunks: Iterator[FrameChunk], summary: bool
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Rows of a file's table in the columns of :func:`table_schema`, block by block.

    Yields ``(channel labels, numeric)`` for :meth:`sfm_audio.writers.Writer.write`: frame
    rows (frame-major, channels interleaved within a frame) chunk by chunk, or all the summary
    rows at once.
    """
    if summary:
        yield summary_rows(meta, chunks)
        return
    for chunk in chunks:
        n_ch, k, n_cols = chunk.values.shape
        frames = np.arange(chunk.frame0, chunk.frame0 + k)
        numeric = np.empty((k, n_ch, n_cols + 2))
        numeric[..., 0] = frames[:, None]
        numeric[..., 1] = frame_times(frames, sr=meta.sr, hop_length=meta.hop_length)[:, None]
        numeric[..., 2:] = np.swapaxes(chunk.values, 0, 1)
        yield meta.channels * k, numeric.reshape(k * n_ch, n_cols + 2)
