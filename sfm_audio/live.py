"""A live input: feature rows as the audio arrives, in bounded memory, whatever its duration.

A recorder writing to a pipe (``arecord -t wav``, ``ffmpeg -f wav -``) gives a stream whose
length is not known before its end, possibly never. :func:`open_live` reads such a stream
(or any file) block by block and computes its frames in small chunks, so that a frame's row
is ready within :data:`LIVE_CHUNK_SECONDS` of audio after the samples it needs arrived;
:class:`SegmentSummaries` closes a segment's summary as soon as no later frame can join it,
and :class:`WholeSummary` keeps the frames of a whole-stream summary on disk until the end.

The numbers are those of the same samples read from a file (:mod:`sfm_audio.features`,
:mod:`sfm_audio.summaries`): the frames are cut, transformed and reduced the same way (a
chunk's frames do not depend on the chunk's size), and the statistics of a summary are taken
over the same contiguous float64 arrays. Only what needs the length differs: ``duration_s``
is empty (NaN) in the rows written before the stream ended.
"""

from __future__ import annotations

import bisect
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import io
from ._errors import ParameterError
from .features import (
    RMS_COLUMN,
    ExtractOptions,
    FileMeta,
    FileReadings,
    FrameChunk,
    chosen_columns,
    kernel_columns,
)
from .kernel import ChunkKernel
from .stft import FRAMES_PER_CHUNK, FrameStream, bin_range, frame_times
from .summaries import source_levels, summary_row

__all__ = [
    "LIVE_CHUNK_SECONDS",
    "LiveStream",
    "SegmentSummaries",
    "WholeSummary",
    "live_frames_per_chunk",
    "open_live",
]

#: audio per chunk of frames on a live input: a row leaves at most this long (plus half a
#: frame) after its samples arrived. Chunks this small cost about 3x the CPU per frame of the
#: file path's 512-frame chunks, still hundreds of times faster than real time.
LIVE_CHUNK_SECONDS = 0.25

_EPS = 1e-9  # the slack of stft.frame_range and summaries.summary_rows, kept identical


def live_frames_per_chunk(sr: float, hop_length: int) -> int:
    """Frames per chunk on a live input: at most :data:`LIVE_CHUNK_SECONDS` of audio (and at
    most :data:`~sfm_audio.stft.FRAMES_PER_CHUNK`), at least one."""
    return max(1, min(FRAMES_PER_CHUNK, int(LIVE_CHUNK_SECONDS * sr / hop_length)))


@dataclass
class LiveStream:
    """The chunks of frames of a live input, computed as its samples arrive.

    Iterate once. While iterating, :attr:`samples` is the number of samples (per channel,
    at the output rate) read so far, and :attr:`ended` says whether the input has ended
    (then :attr:`samples` is its length); :attr:`stopped` says that iteration ended at
    ``options.end`` instead, before the input's end.

    Attributes
    ----------
    meta : FileMeta
        The table's columns, channels and rate; its ``n_samples`` and ``n_frames`` are 0
        (unknown) and ``frame0`` is the first frame of ``options.start``.
    frames_per_chunk : int
    """

    path: str
    meta: FileMeta
    native_sr: float
    frames_per_chunk: int
    last: int | None
    samples: int = 0
    ended: bool = False
    stopped: bool = False

    @property
    def duration(self) -> float:
        """Length of the input in seconds once it ended, else NaN."""
        return self.samples / self.meta.sr if self.ended else math.nan

    def __iter__(self) -> Iterator[FrameChunk]:
        meta, options = self.meta, self.meta.options
        params = options.stft_params()
        k = self.frames_per_chunk
        stream = FrameStream(params, len(meta.channels), frames_per_chunk=k)
        kernel = ChunkKernel(params, power=options.power, amin=options.amin, bins=meta.bins,
                             layout=meta.layout)
        chosen = chosen_columns(kernel_columns(meta.layout), options.features)
        if len(chosen) == kernel.n_columns:
            chosen = slice(None)
        # one chunk of new frames per block read: the read returns once they have arrived
        block = max(1, round(k * params.hop_length * self.native_sr / meta.sr))
        blocks = io.stream(self.path, sr=options.sr, channels=options.channels,
                           block_frames=block, prefetch=True, levels=meta.readings.levels)
        lo, hi = meta.bins
        n_bins = max(hi - lo, 1)
        frame = 0

        def cut(segment: np.ndarray) -> FrameChunk | None:
            nonlocal frame
            values, peak, floors = kernel.with_floors(segment)
            n = values.shape[1]
            a = max(meta.frame0 - frame, 0)
            b = n if self.last is None else min(n, self.last + 1 - frame)
            frame += n
            if b <= a:
                return None
            return FrameChunk(frame - n + a, values[:, a:b, chosen],
                              values[:, a:b, RMS_COLUMN], peak[:, a:b],
                              floors.per_frame[:, a:b] / n_bins)

        try:
            for samples in blocks:
                for segment in stream.push(samples):
                    self.samples = stream.samples_in
                    chunk = cut(segment)
                    if chunk is not None:
                        yield chunk
                    if self.last is not None and frame > self.last:
                        self.stopped = True
                        return
            self.samples, self.ended = stream.samples_in, True
            for segment in stream.finish():
                chunk = cut(segment)
                if chunk is not None:
                    yield chunk
        finally:
            blocks.close()  # stops the reader thread and the copying of standard input
        self._check_range()

    def _check_range(self) -> None:
        """At the end of the input: refuse a time range it did not reach, as for a file."""
        options, where = self.meta.options, f"{self.path}: "
        duration = self.duration
        if options.start is not None and options.start >= duration:
            raise ParameterError(f"{where}the input ended at {duration:g} s, before "
                                 f"start={options.start:g} s", param="start")
        if options.end is not None and options.end > duration + 0.5 / self.meta.sr:
            raise ParameterError(f"{where}the input ended at {duration:g} s, before "
                                 f"end={options.end:g} s", param="end")


def open_live(path: str, options: ExtractOptions | None = None, *,
              frames_per_chunk: int | None = None) -> LiveStream:
    """Open a live input (``"-"`` after :func:`sfm_audio.io.stream_stdin`) or any file.

    Everything that can be checked without the length is checked here, before any sample is
    read: channel out of range, frequency range, band layout, a time range holding no frame.

    Parameters
    ----------
    path : str
    options : ExtractOptions, optional
    frames_per_chunk : int, optional
        Default :func:`live_frames_per_chunk`.
    """
    options = options or ExtractOptions()
    params = options.stft_params()
    audio = io.info(path)
    native = float(audio.samplerate)
    rate = native if options.sr is None else float(options.sr)
    if isinstance(options.channels, int) and options.channels >= audio.channels:
        raise ParameterError(f"channels={options.channels} is out of range: {path} has "
                             f"{audio.channels} channel(s)", param="channels")
    bins = bin_range(rate, params.n_fft, fmin=options.fmin, fmax=options.fmax)
    fmax = None if options.fmax is None else min(options.fmax, rate / 2)
    layout = options.layout(rate, fmax)
    columns = kernel_columns(layout)
    columns = [columns[i] for i in chosen_columns(columns, options.features)]
    hop = params.hop_length
    # the frames of [start, end] as stft.frame_range finds them
    first = 0 if options.start is None else max(0, math.ceil(options.start * rate / hop - _EPS))
    last = None if options.end is None else math.floor(options.end * rate / hop + _EPS)
    if last is not None and last < first:
        raise ParameterError(f"{path}: the range {options.start or 0:g}–{options.end:g} s "
                             f"holds no frame (frames are every {hop / rate:g} s); widen it")
    limit = io.full_scale(audio.subtype) if io.integer_bits(audio.subtype) else 1.0
    first_sample = max(first * hop - (params.n_fft // 2 if params.center else 0), 0)
    # the source samples under the frames of the range, as a file's summary counts them
    last_sample = None if last is None else math.ceil(
        (last * hop - (params.n_fft // 2 if params.center else 0) + params.n_fft)
        * native / rate)
    levels = io.SampleLevels(audio.channels, limit,
                             None if options.segment is None else options.segment * native,
                             int(first_sample * native / rate), last_sample)
    meta = FileMeta(path, rate, 0, 0, io.output_channels(options.channels, audio.channels),
                    layout, columns, first, hop, audio.channels, audio.subtype, bins, options,
                    FileReadings(levels))
    k = live_frames_per_chunk(rate, hop) if frames_per_chunk is None else frames_per_chunk
    return LiveStream(path, meta, native, k, last)


class _ColumnLog:
    """Frame values appended chunk by chunk, read back one column at a time.

    Up to :attr:`MEMORY` bytes are kept in memory, then written to an anonymous temporary
    file as one record, column by column; so memory stays bounded however many frames come.
    """

    MEMORY = 4 << 20

    def __init__(self) -> None:
        self._pending: list[np.ndarray] = []
        self._pending_bytes = 0
        self._records: list[tuple[int, int]] = []  # (offset, frames) of each record on disk
        self._starts: list[int] = []  # first frame of each record
        self._on_disk = 0  # frames in the records
        self._file = None
        self._shape: tuple[int, int] | None = None  # (channels, columns)
        self.frames = 0

    def append(self, values: np.ndarray) -> None:
        """Add frames: ``values`` of shape (n_channels, k, n_columns)."""
        self._shape = (values.shape[0], values.shape[2])
        self._pending.append(np.array(values, dtype=np.float64))
        self._pending_bytes += values.nbytes
        self.frames += values.shape[1]
        if self._pending_bytes >= self.MEMORY:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="sfm-audio-live-")
        offset = self._file.seek(0, os.SEEK_END)
        n = sum(block.shape[1] for block in self._pending)
        n_ch, n_col = self._shape
        # column by column, so that only one column of the record is copied at a time (the
        # whole record transposed at once cost three copies of MEMORY at every flush)
        for c in range(n_ch):
            for j in range(n_col):
                self._file.write(np.concatenate([b[c, :, j] for b in self._pending]).tobytes())
        self._file.flush()  # the columns are read back with os.pread, past the buffer
        self._starts.append(self._on_disk)
        self._records.append((offset, n))
        self._on_disk += n
        self._pending, self._pending_bytes = [], 0

    def column(self, c: int, j: int) -> np.ndarray:
        """Every frame's value of column ``j`` of channel ``c``: shape (frames,), contiguous."""
        out = np.empty(self.frames)
        if self._shape is None:
            return out
        n_col = self._shape[1]
        at = 0
        for offset, n in self._records:
            data = os.pread(self._file.fileno(), n * 8, offset + (c * n_col + j) * n * 8)
            out[at : at + n] = np.frombuffer(data, dtype=np.float64)
            at += n
        for block in self._pending:
            n = block.shape[1]
            out[at : at + n] = block[c, :, j]
            at += n
        return out

    def block(self, c: int, j: int, a: int, b: int) -> np.ndarray:
        """Frames ``a:b`` of column ``j`` of channel ``c``: only those are read."""
        out = np.empty(max(b - a, 0))
        if self._shape is None or b <= a:
            return out
        n_col = self._shape[1]
        i = max(bisect.bisect_right(self._starts, a) - 1, 0)
        while i < len(self._records) and self._starts[i] < b:
            (offset, n), start = self._records[i], self._starts[i]
            lo, hi = max(a, start), min(b, start + n)
            if lo >= hi:  # the block lies past the records, in memory
                break
            data = os.pread(self._file.fileno(), (hi - lo) * 8,
                            offset + ((c * n_col + j) * n + lo - start) * 8)
            out[lo - a : hi - a] = np.frombuffer(data, dtype=np.float64)
            i += 1
        start = self._on_disk
        for pending in self._pending:
            n = pending.shape[1]
            lo, hi = max(a, start), min(b, start + n)
            if lo < hi:
                out[lo - a : hi - a] = pending[c, lo - start : hi - start, j]
            start += n
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _with_levels(chunk: FrameChunk) -> np.ndarray:
    """A chunk's values with ``rms_dbfs``, the peak and the share at the floor as three more
    columns (as :func:`sfm_audio.summaries.summary_rows` spools them)."""
    return np.concatenate([chunk.values, chunk.rms_dbfs[..., None], chunk.peak[..., None],
                           chunk.floored[..., None]], axis=-1)


def _rows(meta: FileMeta, log: _ColumnLog, start: float | None,
          duration: float) -> tuple[list[str], np.ndarray]:
    labels, rows = [], []
    for c, label in enumerate(meta.channels):
        labels.append(label)
        rows.append(summary_row(meta, start, duration, lambda j, c=c: log.column(c, j),
                                levels=source_levels(meta, c, start), floored=True,
                                block=lambda j, a, b, c=c: log.block(c, j, a, b),
                                n_frames=log.frames))
    return labels, np.asarray(rows, dtype=np.float64)


class WholeSummary:
    """The summary of every frame of a live input, written at its end (one row per channel).

    The frames wait on disk (:class:`_ColumnLog`); the statistics are then taken a column at
    a time, over exactly the arrays a file's summary uses.
    """

    def __init__(self, live: LiveStream) -> None:
        self.live = live
        self._log = _ColumnLog()

    def add(self, chunk: FrameChunk) -> Iterator[tuple[list[str], np.ndarray]]:
        """Take a chunk (no row is ready before the end)."""
        self._log.append(_with_levels(chunk))
        return iter(())

    def finish(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """At the end of the input: one row per channel."""
        try:
            yield _rows(self.live.meta, self._log, None, self.live.duration)
        finally:
            self._log.close()

    def close(self) -> None:
        self._log.close()


class SegmentSummaries:
    """Summaries per segment of ``options.segment`` seconds, each as soon as it closes.

    A frame at time ``t`` belongs to segment ``floor(t / segment)``, except that a centred
    frame past the end of the audio joins the last segment that starts inside it (as
    :func:`sfm_audio.summaries.summary_rows` assigns them). So a frame is assigned once the
    samples read show that its segment starts inside the audio, or at the end of the input;
    a segment closes when a frame of a later segment is assigned.
    """

    def __init__(self, live: LiveStream) -> None:
        self.live = live
        self.size = float(live.meta.options.segment)
        self._open: int | None = None  # the segment being filled
        self._log = _ColumnLog()
        self._waiting: list[tuple[np.ndarray, np.ndarray]] = []  # (segments, values) unassigned

    def _last(self) -> int | None:
        """The last segment known to start inside the audio (final once the input ended)."""
        live = self.live
        if live.stopped:
            return None  # stopped at the end time: no frame lies past the audio
        seconds = live.samples / live.meta.sr
        return max(int(np.ceil(seconds / self.size - _EPS)) - 1, 0)

    def add(self, chunk: FrameChunk) -> Iterator[tuple[list[str], np.ndarray]]:
        """Take a chunk; yield the rows of the segments it closes."""
        frames = np.arange(chunk.frame0, chunk.frame0 + chunk.n_frames)
        times = frame_times(frames, sr=self.live.meta.sr, hop_length=self.live.meta.hop_length)
        index = np.floor(times / self.size + _EPS).astype(np.intp)
        self._waiting.append((index, _with_levels(chunk)))
        yield from self._assign()

    def finish(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """At the end of the input: the rows of the segments still open."""
        try:
            yield from self._assign()
            if self._open is not None:
                yield self._close()
        finally:
            self._log.close()

    def close(self) -> None:
        self._log.close()

    def _assign(self) -> Iterator[tuple[list[str], np.ndarray]]:
        last = self._last()
        while self._waiting:
            index, values = self._waiting[0]
            if last is not None and not self.live.ended:
                ready = int(np.searchsorted(index, last, side="right"))  # index <= last
            else:
                ready = index.shape[0]
            if last is not None:
                index = np.minimum(index, last)
            for segment in np.unique(index[:ready]):
                if self._open is not None and segment != self._open:
                    yield self._close()
                    # segments holding no frame (shorter than a hop) still get their rows
                    while self._open + 1 < segment:
                        self._open += 1
                        yield self._close()
                self._open = int(segment)
                where = index[:ready] == segment
                self._log.append(values[:, where])
            if ready < index.shape[0]:
                self._waiting[0] = (self._waiting[0][0][ready:], values[:, ready:])
                return
            self._waiting.pop(0)

    def _close(self) -> tuple[list[str], np.ndarray]:
        start = self._open * self.size
        log, self._log = self._log, _ColumnLog()
        try:
            return _rows(self.live.meta, log, start, self.live.duration)
        finally:
            log.close()
