"""Per-file feature extraction: stream a file through the STFT into flatness tables.

This is the extraction path; it imports numpy, soundfile (through :mod:`sfm_audio.io`) and
nothing heavy. A file is read block by block, framed exactly as ``librosa.stft`` frames it,
and every chunk of frames is reduced to per-frame and per-band features at once (one floor,
one log, shared by the frame and band measures).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import io
from ._errors import ParameterError
from .bands import BandLayout, BandReducer, band_layout, parse_band_spec
from .flatness import frame_features, validate_amin, validate_power
from .stft import FrameStream, StftParams, _scratch, n_frames

__all__ = [
    "ExtractOptions",
    "FileMeta",
    "FrameChunk",
    "FRAME_FEATURES",
    "SUMMARY_STATS",
    "open_features",
    "extract",
    "summarize",
    "floored_power",
    "chunk_values",
]

#: per-frame features, in column order
FRAME_FEATURES = ("sfm", "sfm_db", "tonality", "crest")
#: statistics of every feature in a per-file summary, in column order
SUMMARY_STATS = ("mean", "median", "std", "p10", "p90")


@dataclass(frozen=True)
class ExtractOptions:
    """Everything that decides the numbers of an extraction, validated once.

    Defaults are librosa's (``n_fft=2048``, ``hop_length=512``, Hann window, centred frames,
    power spectrum, ``amin=1e-10``) plus the MPEG-7 band layout and a mono mix.
    """

    n_fft: int = 2048
    hop_length: int = 512
    win_length: int | None = None
    window: str = "hann"
    center: bool = True
    power: float = 2.0
    amin: float = 1e-10
    sr: float | None = None
    channels: io.Channels = "mix"
    bands: str | None = "mpeg7"

    def __post_init__(self) -> None:
        self.stft_params()  # validates n_fft, hop_length, win_length and the window name
        validate_amin(self.amin)
        validate_power(self.power)
        io.validate_sr(self.sr)
        io.validate_channels(self.channels)
        if self.bands is not None and not isinstance(self.bands, str):
            raise ParameterError(f"bands={self.bands!r} must be a layout name")
        # check the spelling now; the layout itself depends on each file's rate
        if self.bands is not None:
            parse_band_spec(self.bands)

    def stft_params(self) -> StftParams:
        params = StftParams(self.n_fft, self.hop_length, self.win_length, self.window, self.center)
        params.fft_window()  # unknown window names fail here, before any file is read
        return params

    def layout(self, sr: float) -> BandLayout | None:
        return band_layout(self.bands, sr=sr, n_fft=self.n_fft)


@dataclass(frozen=True)
class FileMeta:
    """What is known about a file's feature table before it is computed."""

    path: str
    sr: float
    n_samples: int
    n_frames: int
    channels: list[str]
    layout: BandLayout | None
    columns: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.n_samples / self.sr


def _value_columns(layout: BandLayout | None) -> list[str]:
    columns = list(FRAME_FEATURES)
    if layout is not None:
        columns += [f"sfm_band_{name}" for name in layout.names]
        columns += [f"crest_band_{name}" for name in layout.names]
    return columns


@dataclass
class FrameChunk:
    """Features of consecutive frames of one file.

    ``values`` has shape ``(n_channels, n_frames_chunk, n_columns)`` in the order of
    ``FileMeta.columns``.
    """

    frame0: int
    values: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.values.shape[1]


class _ChunkReducer:
    """FFT and all features of one segment of frames; safe to call from several threads."""

    def __init__(self, options: ExtractOptions, meta: FileMeta, stream: FrameStream):
        self.stream = stream
        self.n_freq = stream.params.n_freq
        self.reducer = BandReducer(meta.layout) if meta.layout is not None else None
        self.power, self.amin = options.power, options.amin
        self._local = threading.local()

    def __call__(self, segment: np.ndarray) -> np.ndarray:
        work = self._local.__dict__  # scratch arrays of this thread, reused chunk after chunk
        spectrum = self.stream.transform(segment, work=work)
        Pf, logPf = floored_power(spectrum, power=self.power, amin=self.amin, work=work)
        return chunk_values(Pf, logPf, self.n_freq, self.reducer)


def floored_power(
    spectrum: np.ndarray, *, power: float, amin: float, work: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``max(amin, |X|**power)`` of complex spectra and its natural log.

    Parameters
    ----------
    spectrum : np.ndarray [shape=(..., n_frames, n_freq), dtype=complex]
    power, amin : float
    work : dict, optional
        Scratch arrays of the calling thread, reused from call to call.

    Returns
    -------
    Pf, logPf : np.ndarray [shape=(..., n_frames, n_freq + 1)]
        With one trailing zero column, which lets band end indices stay inside the array.
    """
    work = {} if work is None else work
    n_freq = spectrum.shape[-1]
    shape = spectrum.shape[:-1] + (n_freq + 1,)
    Pf = _scratch(work, "Pf", shape, np.float64)
    logPf = _scratch(work, "logPf", shape, np.float64)
    Pf[..., n_freq] = 0.0
    logPf[..., n_freq] = 0.0
    P = Pf[..., :n_freq]
    if power == 2.0:
        np.multiply(spectrum.real, spectrum.real, out=P)
        imag2 = _scratch(work, "imag2", P.shape, np.float64)
        np.multiply(spectrum.imag, spectrum.imag, out=imag2)
        P += imag2
    else:
        np.abs(spectrum, out=P)
        if power != 1.0:
            P **= power
    np.maximum(P, amin, out=P)
    np.log(P, out=logPf[..., :n_freq])
    return Pf, logPf


def chunk_values(
    Pf: np.ndarray, logPf: np.ndarray, n_freq: int, reducer: BandReducer | None
) -> np.ndarray:
    """Every feature column of floored power frames (see :func:`floored_power`).

    Returns
    -------
    values : np.ndarray [shape=(..., n_frames, 4 + 2 * n_bands)]
        sfm, sfm_db, tonality, crest, then the band SFMs, then the band crests.
    """
    n_bands = reducer.layout.n_bands if reducer is not None else 0
    values = np.empty(Pf.shape[:-1] + (4 + 2 * n_bands,))
    for i, column in enumerate(frame_features(Pf, logPf, n_freq)):
        values[..., i] = column
    if reducer is not None:
        values[..., 4 : 4 + n_bands], values[..., 4 + n_bands :] = reducer(Pf, logPf)
    return values


def _chunks(
    path: str, options: ExtractOptions, meta: FileMeta, threads: int
) -> Iterator[FrameChunk]:
    params = options.stft_params()
    stream = FrameStream(params, len(meta.channels))
    # about one segment of frames per block, so each block is copied into the frame buffer once
    block_frames = max(1 << 14, stream.frames_per_chunk * params.hop_length)
    blocks = io.stream(path, sr=options.sr, channels=options.channels, prefetch=threads > 1,
                       block_frames=block_frames)
    reduce = _ChunkReducer(options, meta, stream)
    segments = stream.segments(blocks)
    frame0 = 0
    if threads <= 1:
        for segment in segments:
            values = reduce(segment)
            yield FrameChunk(frame0, values)
            frame0 += values.shape[1]
        return
    # numpy's FFT and ufuncs release the GIL: a small pool keeps both cores busy while the
    # results come back in order and at most 2 * threads chunks are in flight.
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sfm-audio-fft") as pool:
        pending: deque = deque()
        try:
            for segment in segments:
                pending.append(pool.submit(reduce, segment))
                if len(pending) >= 2 * threads:
                    values = pending.popleft().result()
                    yield FrameChunk(frame0, values)
                    frame0 += values.shape[1]
            while pending:
                values = pending.popleft().result()
                yield FrameChunk(frame0, values)
                frame0 += values.shape[1]
        finally:
            for future in pending:
                future.cancel()


def open_features(
    path: str | os.PathLike, options: ExtractOptions | None = None, *, threads: int = 1
) -> tuple[FileMeta, Iterator[FrameChunk]]:
    """Describe a file's feature table and return an iterator over its chunks.

    The file is opened and checked (missing, empty, truncated, not audio, channel out of
    range, band layout impossible at its rate) before this returns; samples are read lazily.

    Parameters
    ----------
    path : str or os.PathLike
    options : ExtractOptions, optional
    threads : int
        With 2 or more, read the file on a background thread and compute chunks on a pool of
        ``threads`` threads (for a single file; a corpus run keeps each job on one core with
        ``threads=1``). The numbers are identical either way.
    """
    options = options or ExtractOptions()
    path = str(path)
    audio = io.info(path)
    if isinstance(options.channels, int) and options.channels >= audio.channels:
        raise ParameterError(
            f"channels={options.channels} is out of range: {path} has {audio.channels} channel(s)"
        )
    sr = float(audio.samplerate) if options.sr is None else float(options.sr)
    n_samples = io.output_length(audio.frames, audio.samplerate, options.sr)
    params = options.stft_params()
    count = n_frames(n_samples, params)
    if count == 0:
        raise ParameterError(
            f"{path}: {n_samples} samples are too few for n_fft={params.n_fft} with center=False"
        )
    layout = options.layout(sr)
    labels = io.output_channels(options.channels, audio.channels)
    meta = FileMeta(path, sr, n_samples, count, labels, layout, _value_columns(layout))
    return meta, _chunks(path, options, meta, int(threads))


@dataclass(frozen=True)
class Features:
    """A whole file's features as arrays, time last.

    Attributes
    ----------
    meta : FileMeta
    times : np.ndarray [shape=(n_frames,)]
        Frame times in seconds (``frame * hop_length / sr``).
    values : dict of str to np.ndarray [shape=(n_channels, n_frames)]
        One entry per column (``"sfm"``, ``"sfm_db"``, ``"tonality"``, ``"crest"``,
        ``"sfm_band_250_297"``, ...).
    band_sfm, band_crest : np.ndarray [shape=(n_channels, n_bands, n_frames)] or None
    """

    meta: FileMeta
    times: np.ndarray
    values: dict[str, np.ndarray]
    band_sfm: np.ndarray | None
    band_crest: np.ndarray | None


def extract(path: str | os.PathLike, **options: object) -> Features:
    """Compute all features of a file into memory (for analysis and plots of short files).

    Keyword arguments are those of :class:`ExtractOptions`. Use :func:`open_features` to
    stream long files.

    Examples
    --------
    >>> f = extract("data/arctic_a0007.wav", bands="octave")  # doctest: +SKIP
    >>> f.values["sfm"].shape  # doctest: +SKIP
    (1, 126)
    """
    meta, chunks = open_features(path, ExtractOptions(**options))
    table = np.concatenate([c.values for c in chunks], axis=1)
    values = {name: table[..., i] for i, name in enumerate(meta.columns)}
    band_sfm = band_crest = None
    if meta.layout is not None:
        nb = meta.layout.n_bands
        band_sfm = np.swapaxes(table[..., 4 : 4 + nb], -1, -2)
        band_crest = np.swapaxes(table[..., 4 + nb :], -1, -2)
    hop = ExtractOptions(**options).stft_params().hop_length
    times = np.arange(meta.n_frames) * hop / meta.sr
    return Features(meta, times, values, band_sfm, band_crest)


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


def summary_columns(meta: FileMeta) -> list[str]:
    """``<feature>_<stat>`` for every feature and statistic, after duration and frames."""
    return [f"{name}_{stat}" for name in meta.columns for stat in SUMMARY_STATS]


def summarize(meta: FileMeta, chunks: Iterator[FrameChunk]) -> np.ndarray:
    """Reduce a file's frames to one row per channel of statistics.

    Returns
    -------
    stats : np.ndarray [shape=(n_channels, n_columns * 5)]
        For every column of ``meta.columns``: mean, median, std (population), 10th and 90th
        percentiles (linear interpolation, numpy's default), in that order.
    """
    spool = _ColumnSpool(len(meta.channels), len(meta.columns), meta.n_frames)
    try:
        for chunk in chunks:
            spool.write(chunk)
        out = np.empty((len(meta.channels), len(meta.columns), len(SUMMARY_STATS)))
        for c in range(len(meta.channels)):
            for j in range(len(meta.columns)):
                v = spool.column(c, j)
                p10, median, p90 = np.percentile(v, [10, 50, 90])
                out[c, j] = (v.mean(), median, v.std(), p10, p90)
        return out.reshape(len(meta.channels), -1)
    finally:
        spool.close()


def display_path(path: str | os.PathLike) -> str:
    """The path as given, with forward slashes (stable across platforms in tables)."""
    return Path(path).as_posix()
