"""Per-file feature extraction: stream a file or an array through the STFT into flatness tables.

This is the extraction path; it imports numpy, soundfile (through :mod:`sfm_audio.io`) and
nothing heavy. A file is read block by block (an array is sliced), framed exactly as
``librosa.stft`` frames it, and every chunk of frames is reduced to per-frame and per-band
features at once by :class:`sfm_audio.kernel.ChunkKernel` (one floor, shared by the frame and
band measures, and the frame level from the samples).

Controls (all in :class:`ExtractOptions`): a frequency range (``fmin``/``fmax``: frame features
use only the bins inside it, band layouts are clipped to it), a time range (``start``/``end``),
the columns (``features``), level gating of the summaries (``min_dbfs``) and summaries per
segment of time (``segment``).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from . import io
from ._errors import ParameterError
from .bands import BandLayout, band_layout, parse_band_spec
from .kernel import BAND_COLUMNS, FRAME_COLUMNS, ChunkKernel, kernel_columns, map_ordered
from .readings import FileReadings, floor_note
from .stft import (
    FRAMES_PER_CHUNK,
    FrameStream,
    StftParams,
    array_segments,
    as_channels,
    bin_range,
    frame_range,
    frame_times,
    n_frames,
    padded_span,
)
from .threads import DEFAULT_THREADS
from .validate import (
    finite_float,
    nonnegative_float,
    positive_float,
    positive_int,
    validate_amin,
    validate_power,
)

__all__ = [
    "ExtractOptions",
    "FileMeta",
    "FrameChunk",
    "Features",
    "FRAME_FEATURES",
    "FEATURE_NAMES",
    "open_features",
    "extract",
]

#: per-frame features, in column order (the kernel's: :data:`sfm_audio.kernel.FRAME_COLUMNS`)
FRAME_FEATURES = FRAME_COLUMNS
#: where ``rms_dbfs`` is among the kernel's columns (kept in every chunk for the summaries)
RMS_COLUMN = FRAME_FEATURES.index("rms_dbfs")
#: names accepted by ``features=``: the frame features and the two groups of band columns
FEATURE_NAMES = FRAME_FEATURES + BAND_COLUMNS
#: label of an array's rows in the ``file`` column
ARRAY_LABEL = "<array>"


def _optional(value, check, name):
    return None if value is None else check(value, name)


def _parse_features(features) -> tuple[str, ...] | None:
    if features is None:
        return None
    names = features.split(",") if isinstance(features, str) else list(features)
    names = [str(n).strip() for n in names if str(n).strip()]
    unknown = [n for n in names if n not in FEATURE_NAMES]
    if unknown or not names:
        raise ParameterError(
            f"features={','.join(names)!r}: unknown {', '.join(unknown) or 'empty list'}; "
            f"choose from {', '.join(FEATURE_NAMES)}", param="features")
    return tuple(n for n in FEATURE_NAMES if n in names)  # table order, no repeats


@dataclass(frozen=True)
class ExtractOptions:
    """Everything that decides the numbers of an extraction, validated once.

    Defaults are librosa's (``n_fft=2048``, ``hop_length=512``, Hann window, centred frames,
    power spectrum, ``amin=1e-10``) plus the MPEG-7 band layout and a mono mix.

    Attributes
    ----------
    sr : float or None
        For a file: resample to this rate (soxr HQ); None keeps the file's rate. An array
        is never resampled: :func:`extract` and :func:`open_features` take its rate apart.
    fmin, fmax : float or None
        Frequency range in Hz: frame features use only the bins ``fmin <= k sr / n_fft <=
        fmax``; band layouts keep the bands inside it (``mel:N``/``linear:N`` spread over it).
        An ``fmax`` above a file's Nyquist frequency is clipped for that file with a warning.
    start, end : float or None
        Time range in seconds: the frames whose time ``frame * hop / sr`` lies inside, with
        their whole-file frame numbers and values.
    features : str, sequence of str or None
        Columns to keep, from :data:`FEATURE_NAMES` (``"sfm,sfm_db,sfm_band"``); None: all.
    min_dbfs : float or None
        Summaries leave out the frames whose ``rms_dbfs`` is below this (and count them in
        ``frames_gated``); the frame table keeps every frame.
    segment : float or None
        Summaries per segment of this many seconds (``segment_start_s``) instead of per file;
        segments start at 0 s and inside the audio (a centred frame at the very end joins the
        last one).
    allow_truncated : bool
        Read a file whose data ends before its header says up to where it ends (with a
        warning) instead of refusing it (see :func:`sfm_audio.io.stream`).
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
    fmin: float | None = None
    fmax: float | None = None
    start: float | None = None
    end: float | None = None
    features: tuple[str, ...] | None = None
    min_dbfs: float | None = None
    segment: float | None = None
    allow_truncated: bool = False

    def __post_init__(self) -> None:
        self.stft_params()  # validates n_fft, hop_length, win_length and the window name
        validate_amin(self.amin)
        validate_power(self.power)
        io.validate_sr(self.sr)
        io.validate_channels(self.channels)
        if self.bands is not None and not isinstance(self.bands, str):
            raise ParameterError(f"bands={self.bands!r} must be a layout name", param="bands")
        # check the spelling now; the layout itself depends on each file's rate
        if self.bands is not None:
            parse_band_spec(self.bands)
        fmin = _optional(self.fmin, nonnegative_float, "fmin")
        fmax = _optional(self.fmax, positive_float, "fmax")
        if fmin is not None and fmax is not None and fmin >= fmax:
            raise ParameterError(f"fmin={fmin:g} Hz must be below fmax={fmax:g} Hz",
                                 param="fmin")
        start = _optional(self.start, nonnegative_float, "start")
        end = _optional(self.end, positive_float, "end")
        if start is not None and end is not None and start >= end:
            raise ParameterError(f"start={start:g} s must be before end={end:g} s",
                                 param="start")
        object.__setattr__(self, "features", _parse_features(self.features))
        if self.features is not None and self.bands is None and not (
                set(self.features) & set(FRAME_FEATURES)):
            raise ParameterError(f"features={','.join(self.features)!r} are band columns, "
                                 "but bands is none", param="features")
        _optional(self.min_dbfs, finite_float, "min_dbfs")
        _optional(self.segment, positive_float, "segment")

    def stft_params(self) -> StftParams:
        return self._stft_params

    @functools.cached_property
    def _stft_params(self) -> StftParams:
        # once per options (the window built here only to check its name cost a corpus
        # run's parent ~0.25 ms per file); cached_property writes past the frozen __setattr__
        params = StftParams(self.n_fft, self.hop_length, self.win_length, self.window, self.center)
        params.fft_window()  # unknown window names fail here, before any file is read
        return params

    @property
    def wants_bands(self) -> bool:
        chosen = self.features or FEATURE_NAMES
        return self.bands is not None and bool({"sfm_band", "crest_band", "level_band"}
                                                & set(chosen))

    def layout(self, sr: float, fmax: float | None = None) -> BandLayout | None:
        """The band layout at rate ``sr`` inside the frequency range (``fmax``: clipped)."""
        if not self.wants_bands:
            return None
        ranged = self.fmin is not None or self.fmax is not None
        return band_layout(self.bands, sr=sr, n_fft=self.n_fft,
                           fmin=self.fmin if ranged else None, fmax=fmax if ranged else None)


@dataclass(frozen=True)
class FileMeta:
    """What is known about a file's (or an array's) feature table before it is computed.

    ``n_frames`` frames from ``frame0`` (the whole-file number of the first frame of the time
    range); ``bins`` the FFT bins ``lo … hi - 1`` of the frequency range.
    """

    path: str
    sr: float
    n_samples: int
    n_frames: int
    channels: list[str]
    layout: BandLayout | None
    columns: list[str] = field(default_factory=list)
    frame0: int = 0
    hop_length: int = 512
    source_channels: int = 1
    subtype: str = ""
    bins: tuple[int, int] = (0, 0)
    options: ExtractOptions = field(default_factory=ExtractOptions)
    #: filled while the chunks are computed: sample levels and the spectrum at the floor
    readings: FileReadings | None = field(default=None, compare=False, repr=False)

    @property
    def duration(self) -> float:
        return self.n_samples / self.sr

    @property
    def times(self) -> np.ndarray:
        """Times in seconds of the ``n_frames`` frames from ``frame0``, shape (n_frames,)."""
        return frame_times(self.frame0 + np.arange(self.n_frames), sr=self.sr,
                           hop_length=self.hop_length)


def chosen_columns(columns: list[str], features: tuple[str, ...] | None) -> np.ndarray:
    """Indices of ``columns`` that ``features`` asks for (all when None); a ``<name>_band``
    feature takes every ``<name>_band_*`` column."""
    if features is None:
        return np.arange(len(columns))
    keep = [i for i, c in enumerate(columns)
            if c in features or ("_band_" in c and c.split("_band_")[0] + "_band" in features)]
    return np.asarray(keep, dtype=np.intp)


@dataclass
class FrameChunk:
    """Features of consecutive frames of one file.

    ``values`` has shape ``(n_channels, n_frames_chunk, n_columns)`` in the order of
    ``FileMeta.columns``; ``rms_dbfs``, ``peak`` (largest sample magnitude) and ``floored``
    (share of the frame's bins at the floor ``amin``), shape ``(n_channels,
    n_frames_chunk)``, are there whatever the columns, for the summaries.
    """

    frame0: int
    values: np.ndarray
    rms_dbfs: np.ndarray | None = None
    peak: np.ndarray | None = None
    floored: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return self.values.shape[1]


def _file_segments(path: str, options: ExtractOptions, meta: FileMeta, params: StftParams,
                   prefetch: bool, frames_per_chunk: int) -> Iterator[np.ndarray]:
    """Segments of frames ``frame0 … frame0 + n_frames - 1`` of a file, read block by block."""
    levels = meta.readings.levels if meta.readings is not None else None
    # about one segment of frames per block, so each block is copied into the frame buffer once
    block_frames = max(1 << 14, frames_per_chunk * params.hop_length)
    total = n_frames(meta.n_samples, params)
    if meta.frame0 == 0 and meta.n_frames == total:
        stream = FrameStream(params, len(meta.channels), frames_per_chunk=frames_per_chunk)
        blocks = io.stream(path, sr=options.sr, channels=options.channels, prefetch=prefetch,
                           block_frames=block_frames, allow_truncated=options.allow_truncated,
                           levels=levels)
        yield from stream.segments(blocks)
        return
    lo, hi, uncentred = padded_span(meta.frame0, meta.frame0 + meta.n_frames, params)
    stream = FrameStream(uncentred, len(meta.channels), frames_per_chunk=frames_per_chunk)
    if options.sr is None:  # seek: read only the samples of the range
        read = io.stream(path, channels=options.channels, prefetch=prefetch,
                         block_frames=block_frames, allow_truncated=options.allow_truncated,
                         levels=levels, start=max(lo, 0),
                         stop=min(hi, meta.n_samples))
        skip = 0
    else:  # resampled: stream from the start and drop the samples before the range
        read = io.stream(path, sr=options.sr, channels=options.channels, prefetch=prefetch,
                         block_frames=block_frames, allow_truncated=options.allow_truncated,
                         levels=levels)
        skip = max(lo, 0)

    def blocks() -> Iterator[np.ndarray]:
        n_ch = len(meta.channels)
        if lo < 0:
            yield np.zeros((n_ch, -lo))
        position, wanted = 0, min(hi, meta.n_samples) - max(lo, 0)
        for block in read:
            a = min(max(skip - position, 0), block.shape[-1])
            position += block.shape[-1]
            piece = block[:, a:]
            piece = piece[:, : max(wanted, 0)]
            wanted -= piece.shape[-1]
            if piece.shape[-1]:
                yield piece
            if wanted <= 0:
                break
        if hi > meta.n_samples:
            yield np.zeros((n_ch, hi - meta.n_samples))

    yield from stream.segments(blocks())


def _chunks(source, options: ExtractOptions, meta: FileMeta, threads: int,
            frames_per_chunk: int = FRAMES_PER_CHUNK) -> Iterator[FrameChunk]:
    params = options.stft_params()
    if isinstance(source, np.ndarray):
        y = source
        if meta.readings is not None and meta.readings.levels is not None:
            meta.readings.levels.add(0, y.T)
        if isinstance(options.channels, int):
            y = y[options.channels : options.channels + 1]
        segments = array_segments(y, params, first=meta.frame0,
                                  stop=meta.frame0 + meta.n_frames,
                                  frames_per_chunk=frames_per_chunk,
                                  mix=options.channels == "mix")
    else:
        segments = _file_segments(source, options, meta, params, threads > 1, frames_per_chunk)
    kernel = ChunkKernel(params, power=options.power, amin=options.amin, bins=meta.bins,
                         layout=meta.layout)
    chosen = chosen_columns(kernel_columns(meta.layout), options.features)
    if len(chosen) == kernel.n_columns:  # every column: no copy
        chosen = slice(None)
    frame0 = meta.frame0
    n_bins = max(meta.bins[1] - meta.bins[0], 1) if meta.bins[1] else kernel.params.n_freq
    for values, peak, floors in map_ordered(kernel.with_floors, segments, threads):
        if meta.readings is not None:
            meta.readings.add_floors(floors.per_bin, floors.sounding)
        yield FrameChunk(frame0, values[..., chosen], values[..., RMS_COLUMN], peak,
                         floors.per_frame / n_bins)
        frame0 += values.shape[1]
    note = floor_note(meta)
    if note is not None:  # once per file, when its last chunk is done
        warnings.warn(note, UserWarning, stacklevel=2)


def _geometry(options: ExtractOptions, rate: float, fmax: float | None
              ) -> tuple[BandLayout | None, tuple[str, ...]]:
    """The band layout and the chosen columns of files at ``rate``, built once per options and
    rate (a corpus run's parent describes every file first: building the MPEG-7 layout each
    time was ~0.5 ms of its CPU per file). The layout is shared, so it is read-only."""
    try:
        return _cached_geometry(options, rate, fmax)
    except TypeError:  # unhashable options (a window given as an array): built each time
        return _cached_geometry.__wrapped__(options, rate, fmax)


@functools.lru_cache(maxsize=64)
def _cached_geometry(options: ExtractOptions, rate: float, fmax: float | None
                     ) -> tuple[BandLayout | None, tuple[str, ...]]:
    layout = options.layout(rate, fmax)
    if layout is not None:
        for values in (layout.lo_hz, layout.hi_hz, layout.bin_lo, layout.bin_hi, layout.group):
            values.flags.writeable = False
    columns = kernel_columns(layout)
    return layout, tuple(columns[i] for i in chosen_columns(columns, options.features))


def _sample_levels(params: StftParams, rate: float, native: float, n_samples: int, n_in: int,
                   subtype: str, first: int, stop: int, segment: float | None
                   ) -> io.SampleLevels:
    """Levels of the source samples under frames ``first … stop - 1`` (per segment)."""
    pad = params.n_fft // 2 if params.center else 0
    lo = max(first * params.hop_length - pad, 0)
    hi = min((stop - 1) * params.hop_length - pad + params.n_fft, n_samples)
    scale = native / rate  # the range is in output samples, the levels in source samples
    limit = io.full_scale(subtype) if io.integer_bits(subtype) else 1.0
    return io.SampleLevels(n_in, limit, None if segment is None else segment * native,
                           int(lo * scale), int(math.ceil(hi * scale)))


def open_features(
    source: str | os.PathLike | np.ndarray,
    options: ExtractOptions | None = None,
    *,
    threads: int = DEFAULT_THREADS,
    sr: float | None = None,
    levels: bool = True,
) -> tuple[FileMeta, Iterator[FrameChunk]]:
    """Describe a file's (or an array's) feature table and return an iterator over its chunks.

    A file is opened and checked (missing, empty, truncated, not audio, channel out of
    range, band layout impossible at its rate, time or frequency range outside it) before
    this returns; samples are read lazily.

    Parameters
    ----------
    source : str, os.PathLike or np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
        A file, or samples in memory (librosa's layout: channels first, time last).
    options : ExtractOptions, optional
    threads : int
        With 2 or more (the default, :data:`~sfm_audio.threads.DEFAULT_THREADS`), read the
        file on a background thread and compute chunks on a pool of ``threads`` threads (for
        a single file; a corpus run keeps each job on one core with ``threads=1``). The
        numbers are identical either way.
    sr : float
        The rate of an array (required with one; not allowed with a path, whose rate is its
        own and which ``options.sr`` resamples).
    levels : bool
        Measure the peak and the clipped samples of the source as it is read
        (``meta.readings.levels``), which a summary reports (:mod:`sfm_audio.summaries`);
        False skips that pass over the samples where nothing reads them (a frame table,
        :func:`extract`).
    """
    options = options or ExtractOptions()
    threads = positive_int(threads, "threads")
    params = options.stft_params()
    if isinstance(source, (str, os.PathLike)):
        if sr is not None:
            raise ParameterError("sr= gives the rate of an array; to resample a file use "
                                 "ExtractOptions(sr=...) (extract(path, target_sr=...))",
                                 param="sr")
        path = str(source)
        audio = io.info(path, allow_truncated=options.allow_truncated)
        n_in, subtype = audio.channels, audio.subtype
        native = float(audio.sr)
        rate = native if options.sr is None else float(options.sr)
        n_samples = io.output_length(audio.frames, audio.sr, options.sr)
    else:
        if sr is None:
            raise ParameterError("an array needs its sampling rate: sr=...", param="sr")
        if options.sr is not None:
            raise ParameterError("an array is not resampled (options.sr); give its own rate "
                                 "as sr=", param="sr")
        rate = native = positive_float(sr, "sr")
        y = as_channels(source)
        if y.shape[0] > y.shape[1]:
            # soundfile's layout is (frames, channels): a likely mistake, never real audio
            raise ParameterError(
                f"y has shape {y.shape}: {y.shape[0]} channels of {y.shape[1]} sample(s); "
                "audio arrays are (n_channels, n_samples), as in librosa: pass y.T for "
                "soundfile's (frames, channels)")
        source, path = y, ARRAY_LABEL
        n_in, subtype, n_samples = y.shape[0], str(y.dtype), y.shape[-1]
    if isinstance(options.channels, int) and options.channels >= n_in:
        raise ParameterError(
            f"channels={options.channels} is out of range: {path} has {n_in} channel(s)",
            param="channels")
    first, stop = frame_range(n_samples, rate, params, start=options.start, end=options.end,
                              path=path)
    # a clipped fmax is said once per rate (the message does not name the file)
    bins = bin_range(rate, params.n_fft, fmin=options.fmin, fmax=options.fmax)
    fmax = None if options.fmax is None else min(options.fmax, rate / 2)
    layout, columns = _geometry(options, rate, fmax)
    labels = io.output_channels(options.channels, n_in)
    meta = FileMeta(path, rate, n_samples, stop - first, labels, layout, list(columns), first,
                    params.hop_length, n_in, subtype, bins, options,
                    FileReadings(_sample_levels(params, rate, native, n_samples, n_in,
                                                subtype, first, stop, options.segment)
                                 if levels else None))
    return meta, _chunks(source, options, meta, threads)


@dataclass(frozen=True)
class Features:
    """A whole file's (or array's) features as arrays, time last.

    Attributes
    ----------
    meta : FileMeta
    times : np.ndarray [shape=(n_frames,)]
        Frame times in seconds (``frame * hop_length / sr``).
    values : dict of str to np.ndarray [shape=(n_channels, n_frames)]
        One entry per column (``"sfm"``, ``"sfm_db"``, ``"tonality"``, ``"crest"``,
        ``"rms_dbfs"``, ``"sfm_band_250_297"``, ...).
    band_sfm, band_crest : np.ndarray [shape=(n_channels, n_bands, n_frames)] or None
    band_level : np.ndarray [shape=(n_channels, n_bands, n_frames)] or None
        Band levels in dB (``level_band_*``, see :meth:`sfm_audio.kernel.ChunkKernel.
        band_levels`).
    """

    meta: FileMeta
    times: np.ndarray
    values: dict[str, np.ndarray]
    band_sfm: np.ndarray | None
    band_crest: np.ndarray | None
    band_level: np.ndarray | None = None

    def to_pandas(self):
        """The frame table as a ``pandas.DataFrame``, with the command line's columns.

        Columns ``file``, ``channel``, ``frame``, ``time_s`` and the feature columns; one row
        per frame and channel, frame-major (the order of ``sfm-audio extract``). Needs pandas
        (an optional dependency, imported here only).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Features.to_pandas needs pandas: pip install pandas") from None
        n_ch, count = len(self.meta.channels), self.times.shape[0]
        frames = self.meta.frame0 + np.arange(count)
        table = {
            "file": np.full(count * n_ch, self.meta.path, dtype=object),
            "channel": np.tile(np.asarray(self.meta.channels, dtype=object), count),
            "frame": np.repeat(frames, n_ch),
            "time_s": np.repeat(self.times, n_ch),
        }
        for name in self.meta.columns:
            table[name] = self.values[name].T.ravel()
        return pd.DataFrame(table)


_DEFAULTS = ExtractOptions()


def extract(
    source: str | os.PathLike | np.ndarray,
    *,
    sr: float | None = None,
    target_sr: float | None = None,
    n_fft: int = _DEFAULTS.n_fft,
    hop_length: int = _DEFAULTS.hop_length,
    win_length: int | None = _DEFAULTS.win_length,
    window: str = _DEFAULTS.window,
    center: bool = _DEFAULTS.center,
    power: float = _DEFAULTS.power,
    amin: float = _DEFAULTS.amin,
    channels: io.Channels = _DEFAULTS.channels,
    bands: str | None = _DEFAULTS.bands,
    fmin: float | None = _DEFAULTS.fmin,
    fmax: float | None = _DEFAULTS.fmax,
    start: float | None = _DEFAULTS.start,
    end: float | None = _DEFAULTS.end,
    features: str | tuple[str, ...] | None = _DEFAULTS.features,
    min_dbfs: float | None = _DEFAULTS.min_dbfs,
    segment: float | None = _DEFAULTS.segment,
    allow_truncated: bool = _DEFAULTS.allow_truncated,
    threads: int = DEFAULT_THREADS,
) -> Features:
    """Compute all features of a file or an array into memory.

    Parameters
    ----------
    source : str, os.PathLike or np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
        A file, or samples in memory in librosa's layout (channels first, time last). An
        array with more channels than samples is refused: it is soundfile's (frames,
        channels) layout, to be passed as ``y.T``.
    sr : float or None
        With an array: **its** sampling rate (required), as in librosa's feature functions;
        the array is not resampled. With a path: deprecated spelling of ``target_sr``
        (resamples, with a DeprecationWarning).
    target_sr : float or None
        With a path: the rate to resample the file to (soxr HQ), as ``ExtractOptions(sr=...)``
        and ``sfm-audio extract --sr``; None keeps the file's own rate. Not allowed with an
        array, which is never resampled.
    n_fft, hop_length, win_length, window, center, power, amin
        The STFT and the floor, as in ``librosa.feature.spectral_flatness``.
    channels, bands, fmin, fmax, start, end, features, min_dbfs, segment, allow_truncated
        As the fields of :class:`ExtractOptions`: ``"mix"``/``"each"``/an index; a band
        layout (``"mpeg7"``, ``"octave"``, ``"mel:40"``, ... or None); a frequency range in
        Hz; a time range in seconds; the columns to keep; the summaries' level gate and
        segments (kept in ``meta.options``); reading a truncated file.
    threads : int
        Threads computing chunks of frames (default
        :data:`~sfm_audio.threads.DEFAULT_THREADS`, both cores of a small machine); the
        numbers do not depend on it.

    Returns
    -------
    Features
        For an array, the same numbers as for a file holding the same samples.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).standard_normal(22050)
    >>> f = extract(y, sr=22050, bands="octave")
    >>> f.values["sfm"].shape, f.band_sfm.shape
    ((1, 44), (1, 8, 44))
    """
    options = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                   center=center, power=power, amin=amin, channels=channels, bands=bands,
                   fmin=fmin, fmax=fmax, start=start, end=end, features=features,
                   min_dbfs=min_dbfs, segment=segment, allow_truncated=allow_truncated)
    if isinstance(source, (str, os.PathLike)):
        if sr is not None:
            if target_sr is not None:
                raise ParameterError("give target_sr= alone: sr= is an array's own rate",
                                     param="sr")
            warnings.warn("extract(path, sr=...) resamples the file: spell it target_sr= "
                          "(sr= is an array's own rate, as in librosa)", DeprecationWarning,
                          stacklevel=2)
            target_sr = sr
        opts = ExtractOptions(sr=target_sr, **options)
        meta, chunks = open_features(source, opts, threads=threads, levels=False)
    else:
        if target_sr is not None:
            raise ParameterError("an array is not resampled: target_sr= is for a path; give "
                                 "the array's own rate as sr=", param="target_sr")
        opts = ExtractOptions(**options)
        meta, chunks = open_features(source, opts, threads=threads, sr=sr, levels=False)
    # column-major: each column and each block of band columns is a contiguous view
    table = np.empty((len(meta.channels), len(meta.columns), meta.n_frames))
    for c in chunks:
        table[..., c.frame0 - meta.frame0 : c.frame0 - meta.frame0 + c.n_frames] = (
            np.swapaxes(c.values, -1, -2))
    values = {name: table[:, i] for i, name in enumerate(meta.columns)}
    bands = {}
    if meta.layout is not None:
        names = meta.layout.names
        for kind in ("sfm", "crest", "level"):
            if f"{kind}_band_{names[0]}" in values:
                at = meta.columns.index(f"{kind}_band_{names[0]}")
                bands[kind] = table[:, at : at + len(names)]  # band columns follow one another
    band_sfm, band_crest = bands.get("sfm"), bands.get("crest")
    return Features(meta, meta.times, values, band_sfm, band_crest, bands.get("level"))
