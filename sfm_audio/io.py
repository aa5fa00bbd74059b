"""Reading audio (and writing it, for WAV output and encoded sizes): the only module that
imports soundfile.

Files are read in blocks so that memory stays bounded whatever the file length. Channels are
mixed by averaging (librosa's ``mono=True``), kept apart, or one is selected; resampling with
soxr happens only when a target rate is asked for.

``"-"`` is standard input. A WAV stream is read as it arrives when :func:`stream_stdin` asks
for it (then its length is unknown until its end, and it can be read once); otherwise, and for
every other format (libsndfile cannot decode FLAC from a pipe), standard input is first copied
to an anonymous temporary file, which is then read like any file, as often as needed. Either
way memory stays bounded. WAV headers written by programs that stream (``ffmpeg ... -f wav -``
writes 0xFFFFFFFF as the sizes, sox 0x7FFFF000 as ``sox -n -t wav - synth 0.1 sine 440 | xxd |
head -3`` shows, others 0) are read to the end of the data. :mod:`sfm_audio.stdin` does that
part; this module opens what it hands over like any file.

Everything libsndfile raises, when opening or at any point of the read, becomes an
:class:`~sfm_audio.AudioFileError` naming the file; a file that ends before the length its
header declares is refused rather than read short, unless ``allow_truncated=True`` (a recorder
that lost power): then the samples that are there are read, with a warning saying how many are
missing.

Also here, because they are libsndfile's: the table of sample widths (:func:`integer_bits`,
:func:`sample_bits`), the clipping level (:func:`full_scale`), whole-file levels
(:func:`levels`), WAV writing (:func:`write_wav`) and the size of an encoded stream
(:func:`encoded_size`, which :mod:`sfm_audio.coding.flac` uses for FLAC).

It is one module over 600 lines on purpose: every libsndfile call, and the translation of
everything libsndfile raises into one :class:`~sfm_audio.AudioFileError` line, stays in one
place, so no other module needs to know soundfile's behaviour.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from ._errors import AudioFileError, ParameterError, SfmError
from .stdin import PLACEHOLDER_SIZES, STDIN, RawFormat, StandardInput, parse_raw_format
from .validate import int_at_least, is_integer, positive_float, positive_int

__all__ = [
    "AudioInfo",
    "Channels",
    "Levels",
    "SampleLevels",
    "STDIN",
    "info",
    "levels",
    "full_scale",
    "integer_bits",
    "sample_bits",
    "stream",
    "load",
    "stream_stdin",
    "stdin_is_live",
    "stdin_raw",
    "RawFormat",
    "parse_raw_format",
    "output_channels",
    "output_length",
    "validate_channels",
    "validate_sr",
    "write_wav",
    "encoded_size",
    "EncoderError",
    "allowing_truncated",
    "open_sample_copy",
    "is_audio_file",
    "AUDIO_EXTENSIONS",
]

Channels = Literal["mix", "each"] | int


#: File name endings searched for in folders: everything libsndfile can read.
AUDIO_EXTENSIONS = frozenset(
    "." + ext.lower() for ext in sf.available_formats()
) | {".oga", ".opus", ".aif", ".mp3", ".wave"}

_DATA_LINE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
#: what libsndfile raises (LibsndfileError is a RuntimeError) and soundfile's own checks
_DECODE_ERRORS = (RuntimeError, ValueError, TypeError, OverflowError, MemoryError, OSError)


@dataclass(frozen=True)
class AudioInfo:
    """What libsndfile says about a file, without reading its samples.

    ``sr`` is the sampling rate in Hz (``samplerate`` is kept as a deprecated alias: ``sr`` is
    the name everywhere else). ``frames`` is None when the length is not known before the end
    of the data (a WAV stream read from standard input with :func:`stream_stdin`).
    """

    path: str
    format: str
    subtype: str
    sr: int
    channels: int
    frames: int | None

    @property
    def samplerate(self) -> int:
        """Deprecated alias of :attr:`sr` (soundfile's name)."""
        return self.sr

    @property
    def duration(self) -> float | None:
        """Length in seconds (None when the length is unknown)."""
        return None if self.frames is None else self.frames / self.sr


def is_audio_file(path: str | os.PathLike) -> bool:
    """True when the name ends in an extension libsndfile can read."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _is_stdin(path: str | os.PathLike) -> bool:
    return isinstance(path, str) and path == STDIN


def _reason(exc: BaseException) -> str:
    """libsndfile's words without soundfile's ``Error opening 'x': `` prefix."""
    text = str(exc).strip() or type(exc).__name__
    for prefix in ("Error opening ", "Error reading ", "Error seeking "):
        if text.startswith(prefix) and ": " in text:
            text = text.split(": ", 1)[1]
    if text.startswith("Error : "):
        text = text[len("Error : "):]
    if "does not exist or is not a regular file" in text:
        # libsndfile's answer when a decoder (mpg123 for .mp3) finds no stream it can decode
        text = "no audio stream libsndfile can decode"
    return text.rstrip(".")


def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{path}: no such file")
    if p.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    if p.stat().st_size == 0:
        raise AudioFileError(f"{path}: empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise AudioFileError(f"{path}: permission denied")
    return p


def _soundfile(source, path: str | os.PathLike, *, allow_truncated: bool = False,
               **layout) -> sf.SoundFile:
    """Open ``source`` (a path, or a file descriptor left open) with libsndfile; check it.

    ``layout``: what ``soundfile.SoundFile`` needs to read headerless data (``format="RAW"``,
    ``subtype``, ``samplerate``, ``channels``, ``endian``).
    """
    try:
        handle = sf.SoundFile(source, closefd=False, **layout) if isinstance(source, int) \
            else sf.SoundFile(source, **layout)
    except _DECODE_ERRORS as exc:
        raise AudioFileError(f"{path}: not a readable audio file ({_reason(exc)})") from None
    try:
        try:
            _check_complete(handle, path, allow_truncated)
            frames, rate, n_ch = handle.frames, handle.samplerate, handle.channels
        except _DECODE_ERRORS as exc:
            raise AudioFileError(f"{path}: not a readable audio file ({_reason(exc)})") from None
        if rate <= 0 or n_ch <= 0:
            raise AudioFileError(
                f"{path}: not a readable audio file (header says {rate} Hz, {n_ch} channels)")
        if frames == 0:
            raise AudioFileError(f"{path}: holds no samples")
    except BaseException:
        handle.close()
        raise
    return handle


def _open(path: str | os.PathLike, allow_truncated: bool = False) -> sf.SoundFile:
    allow_truncated = bool(allow_truncated or _ALLOWING[0])
    if _is_stdin(path):
        return _stdin.take(allow_truncated=allow_truncated)
    return _soundfile(_check_path(path), path, allow_truncated=allow_truncated)


def _close(handle: sf.SoundFile) -> None:
    """Close a handle of :func:`_open` (for a standard input stream, stop copying it too)."""
    if _stdin.owns(handle):
        _stdin.release(handle)
    else:
        handle.close()


#: depth of :func:`allowing_truncated` blocks in force (process-wide, as warnings filters are)
_ALLOWING = [0]


@contextlib.contextmanager
def allowing_truncated(allow: bool = True) -> Iterator[None]:
    """Within this block every read takes ``allow_truncated=True`` (when ``allow``).

    For code that reads through layers which do not pass the option on (the coding
    experiment, the figures); it holds for every thread of the process while it lasts.
    """
    _ALLOWING[0] += bool(allow)
    try:
        yield
    finally:
        _ALLOWING[0] -= bool(allow)


#: what the refusal of a truncated file adds (the CLI names the option as typed)
_TRUNCATED_HINT = "allow_truncated=True reads the samples that are there"


def _truncated(path, declared_frames: int, frames: int, sr: float, allow: bool,
               what: str) -> None:
    """Refuse a file ``what`` says is truncated, or (``allow``) warn how much is missing."""
    if not allow:
        raise AudioFileError(f"{path}: truncated file ({what}; {_TRUNCATED_HINT})")
    missing = max(declared_frames - frames, 0)
    warnings.warn(f"{path}: truncated file ({what}): reading the {frames} samples there, "
                  f"{missing} samples ({missing / sr:.3f} s) missing", UserWarning,
                  stacklevel=2)


def _check_complete(handle: sf.SoundFile, path: str | os.PathLike,
                    allow_truncated: bool = False) -> None:
    """Refuse a file whose header promises more sample data than the file holds (or, with
    ``allow_truncated``, warn and read the samples there: ``handle.frames`` counts them)."""
    match = _DATA_LINE.search(handle.extra_info)
    if match is None:
        return
    declared, actual = int(match.group(1)), int(match.group(2))
    # placeholders written by programs that stream are not truncation
    if actual < declared and declared not in PLACEHOLDER_SIZES:
        frames = int(handle.frames)
        # bytes per sample frame from what is there (the header's block align would do too)
        per_frame = actual / frames if frames else 1.0
        _truncated(path, int(round(declared / per_frame)), frames, handle.samplerate,
                   allow_truncated,
                   f"header declares {declared} data bytes, file holds {actual}")


def _header_info(handle: sf.SoundFile, path: str | os.PathLike, *, known: bool) -> AudioInfo:
    return AudioInfo(
        path=str(path),
        format=handle.format,
        subtype=handle.subtype,
        sr=int(handle.samplerate),
        channels=int(handle.channels),
        frames=int(handle.frames) if known else None,
    )


def info(path: str | os.PathLike, *, allow_truncated: bool = False) -> AudioInfo:
    """Describe an audio file without reading its samples.

    ``"-"`` describes standard input (its samples stay unread for :func:`stream`).
    ``allow_truncated``: a file whose data ends before its header says is described with the
    samples it holds (and a warning), not refused.

    Raises
    ------
    AudioFileError
        If the file is missing, empty, truncated or not audio.
    """
    if _is_stdin(path):
        return _stdin.describe(allow_truncated=bool(allow_truncated or _ALLOWING[0]))
    handle = _open(path, allow_truncated)
    try:
        return _header_info(handle, path, known=True)
    finally:
        handle.close()


#: standard input, opened and described as files are
_stdin = StandardInput(_soundfile, _header_info)


def stream_stdin(*, live_only: bool = False, raw: RawFormat | None = None) -> None:
    """Read ``"-"`` (standard input) as it arrives when it is a WAV stream (or raw PCM).

    Call before the first use of ``"-"``. The samples can then be read once, by one
    :func:`stream`, and :func:`info` gives ``frames=None`` (the length is known only at the end).
    Other formats are copied to a temporary file all the same: libsndfile needs to seek in them.

    Parameters
    ----------
    live_only : bool
        Stream only a *live* input, whose length is unknown: a WAV whose header declares a
        placeholder size, or raw PCM; a WAV declaring its length is copied and can be read
        more than once. :func:`stdin_is_live` tells which, once ``"-"`` is opened.
    raw : RawFormat, optional
        Standard input is headerless PCM of this layout (:func:`parse_raw_format`).
    """
    _stdin.set_raw(raw)
    _stdin.set_streaming(live_only=live_only)


def stdin_raw(raw: RawFormat | None) -> None:
    """Standard input is headerless PCM of this layout (None: a file with a header)."""
    _stdin.set_raw(raw)


def stdin_is_live() -> bool:
    """Whether ``"-"`` is being streamed with its length unknown (call after :func:`info`)."""
    return _stdin.live


# --------------------------------------------------------------------------- options


def validate_sr(sr: float | None) -> float | None:
    """Check a target sampling rate; ``None`` keeps the file's own rate."""
    if sr is None:
        return None
    return positive_float(sr, "sr")


def validate_channels(channels: Channels) -> Channels:
    """Check a channel choice: ``"mix"``, ``"each"`` or a non-negative channel index."""
    if isinstance(channels, str) and channels in ("mix", "each"):
        return channels
    if is_integer(channels) and channels >= 0:  # type: ignore[operator]
        return int(channels)  # type: ignore[arg-type]
    raise ParameterError(
        f"channels={channels!r} must be 'mix', 'each' or a channel index >= 0", param="channels"
    )


def output_channels(channels: Channels, n_channels: int) -> list[str]:
    """Labels of the channels :func:`stream` yields: ``["mix"]``, ``["0", "1"]`` or ``["1"]``."""
    channels = validate_channels(channels)
    if channels == "mix":
        return ["mix"]
    if channels == "each":
        return [str(c) for c in range(n_channels)]
    return [str(channels)]


def output_length(frames: int, native_sr: float, sr: float | None) -> int:
    """Number of samples :func:`stream` yields for a file of ``frames`` samples.

    With resampling this is ``ceil(frames * sr / native_sr)``, as ``librosa.resample`` gives.
    """
    if sr is None or sr == native_sr:
        return int(frames)
    return int(np.ceil(frames * sr / native_sr))


# --------------------------------------------------------------------------- reading


def _read(handle: sf.SoundFile, path, n: int, position: int) -> np.ndarray:
    try:
        return handle.read(n, dtype="float64", always_2d=True)
    except _DECODE_ERRORS as exc:
        raise AudioFileError(
            f"{path}: cannot decode the audio after sample {position} ({_reason(exc)})"
        ) from None


#: samples (over all channels) read at once: 32 MB as float64
MAX_BLOCK_SAMPLES = 1 << 22
#: subtypes whose samples may hold any float: NaN, Inf or garbage such as 1e38
_FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})
#: largest magnitude taken for audio: above any integer sample width stored as float (2**31),
#: and its square stays finite in float32
MAX_SAMPLE = 2.0**32


def _check_samples(block: np.ndarray, handle, path, position: int, floating: bool) -> None:
    """Refuse NaN, Inf and (in float files) magnitudes above :data:`MAX_SAMPLE`."""
    if floating:
        # two passes without a temporary; NaN propagates into both
        lo, hi = block.min(initial=0.0), block.max(initial=0.0)
        if np.isfinite(lo) and np.isfinite(hi) and max(-lo, hi) <= MAX_SAMPLE:
            return
    elif np.isfinite(block.sum()):  # one pass; NaN and Inf propagate into the sum
        return
    finite = np.isfinite(block)
    bad = ~finite | (np.abs(np.where(finite, block, 0.0)) > MAX_SAMPLE)
    rows = np.flatnonzero(bad.any(axis=1))
    if not rows.size:
        return
    row = int(rows[0])
    value = block[row][bad[row]][0]
    where = f"{path}: sample {row + position} (t = {(row + position) / handle.samplerate:.6f} s)"
    if not np.isfinite(value):
        raise AudioFileError(f"{where} is NaN or infinite")
    raise AudioFileError(f"{where} is {value:.3g}, beyond +-2**32: not audio (a corrupt float "
                         "file?)")


def _raw_blocks(
    handle: sf.SoundFile, path: str | os.PathLike, channels: Channels, block_frames: int,
    start: int = 0, stop: int | None = None, *, known: bool = True,
    declared: int | None = None, count: list[int] | None = None,
    allow_truncated: bool = False, levels: SampleLevels | None = None,
) -> Iterator[np.ndarray]:
    """Blocks of shape (n_channels_out, n) in float64, checked for NaN and Inf.

    With ``known`` (the header's length is to be trusted), a file that ends before it is
    refused; so is a stream (not ``known``) that ends before ``declared`` samples.
    ``count[0]`` is kept at the number of frames read so far.
    """
    n_in = handle.channels
    # at most MAX_BLOCK_SAMPLES per read, whatever the channel count a header claims
    block_frames = max(1, min(block_frames, MAX_BLOCK_SAMPLES // n_in))
    if known:
        stop = handle.frames if stop is None else min(stop, handle.frames)
    if isinstance(channels, int) and channels >= n_in:
        raise ParameterError(
            f"channels={channels} is out of range: {path} has {n_in} channel(s)",
            param="channels",
        )
    floating = handle.subtype in _FLOAT_SUBTYPES
    # integer codes read as float64 are finite and at most 1 in magnitude: nothing to check
    checked = integer_bits(handle.subtype) is None
    position = 0
    if start:
        if known:
            try:
                handle.seek(start)
            except _DECODE_ERRORS as exc:
                raise AudioFileError(f"{path}: cannot seek to sample {start} "
                                     f"({_reason(exc)})") from None
            position = start
        else:  # a stream: read up to start
            while position < start:
                skipped = _read(handle, path, min(block_frames, start - position), position)
                if skipped.shape[0] == 0:
                    break
                position += skipped.shape[0]
    while stop is None or position < stop:
        want = block_frames if stop is None else min(block_frames, stop - position)
        block = _read(handle, path, want, position)
        if block.shape[0] == 0:
            break
        if checked:
            _check_samples(block, handle, path, position, floating)
        if levels is not None:
            levels.add(position, block)
        position += block.shape[0]
        if count is not None:
            count[0] = position
        if channels == "mix" and n_in > 1:
            # column by column: numpy's mean over a short last axis is several times slower
            out = block[:, 0].copy()
            for c in range(1, n_in):
                out += block[:, c]
            out /= n_in
            yield out[np.newaxis]
        elif channels == "each" or channels == "mix":
            yield np.ascontiguousarray(block.T)
        else:
            yield np.ascontiguousarray(block[:, channels])[np.newaxis]
    short = stop is not None and position < stop
    if not known and declared is not None and (stop is None or stop > declared):
        short = position < declared
    if short:
        length = handle.frames if known else declared
        _truncated(path, length, position, handle.samplerate, allow_truncated,
                   f"the header declares {length} samples, the data ends after {position}")
    if position <= start and not known:
        raise AudioFileError(f"{path}: holds no samples" if not start else
                             f"{path}: ends before sample {start}")


def _resampled(
    blocks: Iterable[np.ndarray], n_out: int, native_sr: float, sr: float,
    total_out: int | Callable[[], int],
) -> Iterator[np.ndarray]:
    """Resample a stream; ``total_out`` may be a function, asked once the input has ended."""
    import soxr

    # librosa's default resampler is soxr at "HQ" quality; ask for the same.
    resampler = soxr.ResampleStream(native_sr, sr, n_out, dtype="float64", quality="HQ")
    emitted = 0
    pending = None
    for block in blocks:
        if pending is not None:
            out = resampler.resample_chunk(pending.T, last=False)
            if out.shape[0]:
                if not callable(total_out):
                    out = out[: max(total_out - emitted, 0)]
                emitted += out.shape[0]
                yield np.ascontiguousarray(out.T)
        pending = block
    total = total_out() if callable(total_out) else total_out
    final = resampler.resample_chunk(
        pending.T if pending is not None else np.zeros((0, n_out)), last=True
    )
    final = final[: max(total - emitted, 0)]
    emitted += final.shape[0]
    if emitted < total:
        # librosa fixes the length to ceil(n * ratio); pad the last few samples with zeros.
        final = np.concatenate([final, np.zeros((total - emitted, n_out))])
    if final.shape[0]:
        yield np.ascontiguousarray(final.T)


def _prefetch(
    blocks: Iterator[np.ndarray], depth: int = 2, on_stop: Callable[[], None] | None = None
) -> Iterator[np.ndarray]:
    """Read the next blocks on a thread while the caller computes on the current one.

    The reader never blocks for ever: every hand-over waits a short time and gives up when the
    consumer has stopped (it finished, failed, or closed this generator early). ``on_stop``
    is called when the consumer stops, before waiting for the reader, to unblock a reader
    waiting for data that will not come (a pipe).
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for block in blocks:
                if not put(block):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    thread = threading.Thread(target=work, name="sfm-audio-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if on_stop is not None:
            on_stop()
        thread.join()


def stream(
    path: str | os.PathLike,
    *,
    sr: float | None = None,
    channels: Channels = "mix",
    block_frames: int = 1 << 16,
    prefetch: bool = False,
    start: int = 0,
    stop: int | None = None,
    allow_truncated: bool = False,
    levels: SampleLevels | None = None,
) -> Iterator[np.ndarray]:
    """Yield consecutive blocks of samples of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads (WAV, FLAC, OGG, MP3, AIFF, ...), or ``"-"`` for standard
        input.
    sr : float or None
        Target sampling rate; ``None`` keeps the file's own rate. Resampling uses soxr at
        "HQ" quality, as ``librosa.load`` does, and yields ``ceil(n * sr / native_sr)``
        samples.
    channels : {"mix", "each"} or int
        ``"mix"`` averages the channels (librosa's ``mono=True``), ``"each"`` keeps all,
        an integer selects one channel (0-based).
    block_frames : int
        Samples read per block (fewer for files of more than 64 channels: a block holds at
        most :data:`MAX_BLOCK_SAMPLES` samples over all channels).
    prefetch : bool
        Read the next blocks on a background thread while the caller works. Closing the
        generator early (``close()``, or dropping it) stops that thread.
    start, stop : int
        Read only samples ``start`` to ``stop`` (in the file's own rate, before resampling).
    allow_truncated : bool
        Read a file whose data ends before its header says (a recorder that lost power) up
        to where it ends, with a ``UserWarning`` saying how many samples are missing, instead
        of refusing it.
    levels : SampleLevels, optional
        Filled with the peak and the samples at full scale of every source channel, from the
        samples as read (before mixing and resampling).

    Yields
    ------
    block : np.ndarray [shape=(n_channels_out, n), dtype=float64]

    Raises
    ------
    AudioFileError
        Missing, empty, truncated, corrupt or non-audio file (at opening or at any point of
        the read), or a NaN/Inf sample (the message gives its time).
    ParameterError
        Invalid ``sr``, ``channels``, ``block_frames``, ``start`` or ``stop``.
    """
    sr = validate_sr(sr)
    channels = validate_channels(channels)
    block_frames = positive_int(block_frames, "block_frames")
    start = int_at_least(start, "start", 0)
    if stop is not None and (int_at_least(stop, "stop", 0) <= start):
        raise ParameterError(f"{start=} and {stop=} must satisfy 0 <= start < stop",
                             param="stop")
    allow_truncated = bool(allow_truncated or _ALLOWING[0])
    handle = _open(path, allow_truncated)
    try:
        known, declared = _stdin.expected(handle)
        native_sr = float(handle.samplerate)
        n_out = handle.channels if channels == "each" else 1
        count = [0]
        blocks: Iterator[np.ndarray] = _raw_blocks(
            handle, path, channels, block_frames, start, stop, known=known, declared=declared,
            count=count, allow_truncated=allow_truncated, levels=levels,
        )
        if sr is not None and sr != native_sr:
            if known:
                end = handle.frames if stop is None else min(stop, handle.frames)
                total: int | Callable[[], int] = output_length(end - start, native_sr, sr)
            else:
                def total() -> int:
                    return output_length(count[0] - start, native_sr, sr)
            blocks = _resampled(blocks, n_out, native_sr, sr, total)
        if prefetch:
            blocks = _prefetch(blocks, on_stop=lambda: _stdin.interrupt(handle))
        yield from blocks
    finally:
        _close(handle)


def load(
    path: str | os.PathLike, *, sr: float | None = None, channels: Channels = "mix",
    allow_truncated: bool = False,
) -> tuple[np.ndarray, float]:
    """Read a whole file into memory, as ``librosa.load`` does.

    Use :func:`stream` for long files; this is for short signals and experiments.

    Parameters
    ----------
    path : str or os.PathLike
    sr : float or None
        Resample to this rate (soxr HQ); None keeps the file's own rate.
    channels : "mix", "each" or int
        ``"mix"`` (the default) averages the channels, an index picks one, ``"each"`` keeps
        them all.
    allow_truncated : bool
        Read a file whose data ends early up to where it ends (with a warning).

    Returns
    -------
    y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
        One channel (a mix, a picked channel, or a mono file) is 1-D, as librosa returns it;
        several channels (``"each"``) are channels first, time last.
    sr : float
        The rate of ``y``.
    """
    native_sr = float(info(path, allow_truncated=allow_truncated).sr)
    blocks = list(stream(path, sr=sr, channels=channels, allow_truncated=allow_truncated))
    y = np.concatenate(blocks, axis=-1)
    return (y[0] if y.shape[0] == 1 else y), (native_sr if sr is None else float(sr))


# --------------------------------------------------------------------------- levels


#: bits of the integer subtypes: their largest code is full scale
_SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
                 "DPCM_8": 8, "DPCM_16": 16, "DWVW_12": 12, "DWVW_16": 16, "DWVW_24": 24,
                 "ALAC_16": 16, "ALAC_20": 20, "ALAC_24": 24, "ALAC_32": 32}


def integer_bits(subtype: str) -> int | None:
    """Width of a libsndfile subtype whose samples are integer codes (``"PCM_24"`` -> 24);
    None for floating-point and lossy subtypes (``"FLOAT"``, ``"VORBIS"``, ``"MPEG_LAYER_III"``)."""
    return _SUBTYPE_BITS.get(subtype)


#: bits of the other uncompressed subtypes and of the numpy dtypes an array arrives in
_OTHER_BITS = {"FLOAT": 32, "DOUBLE": 64, "ULAW": 8, "ALAW": 8,
               **{f"{kind}{bits}": bits for kind in ("float", "int", "uint")
                  for bits in (8, 16, 32, 64) if (kind, bits) != ("float", 8)}}


def sample_bits(subtype: str) -> int:
    """Sample width in bits of a libsndfile subtype (``"PCM_24"`` -> 24, ``"ALAC_24"`` -> 24,
    ``"FLOAT"`` -> 32) or of an array's numpy dtype name (``"float32"`` -> 32); 0 where there
    is none (MP3, Vorbis, Opus, ...). The one table of widths: :func:`integer_bits` is the
    integer part of it."""
    bits = integer_bits(subtype)
    return bits if bits is not None else _OTHER_BITS.get(subtype, 0)


def full_scale(subtype: str) -> float:
    """The magnitude from which a sample counts as clipped, in libsndfile's float scale.

    Integer subtypes: the largest positive code, ``1 - 2**(1 - bits)`` (``-1.0``, the most
    negative code, is beyond it too). Floating-point and decoded lossy formats: 1.0.
    """
    bits = integer_bits(subtype)
    return 1.0 if bits is None else 1.0 - 2.0 ** (1 - bits)


def _channel_levels(block: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Peak magnitude and samples at or beyond ``limit`` of each column of ``block`` (shape
    (n, n_channels)), NaN propagating into the peak.

    Column by column, and counted only where the block reaches ``limit`` at all: numpy's
    reductions over ``axis=0`` of a few columns run about ten times slower (0.9 s of CPU on
    a 10-minute stereo file, beside the 0.5 s of the whole FFT floor).
    """
    peak = np.empty(block.shape[1], dtype=block.dtype)
    clipped = np.zeros(block.shape[1], dtype=np.int64)
    for c in range(block.shape[1]):
        column = block[:, c]
        peak[c] = np.maximum(column.max(), -column.min())
    if not np.all(peak < limit):  # some sample at full scale (or NaN): counted
        for c in range(block.shape[1]):
            clipped[c] = np.count_nonzero(np.abs(block[:, c]) >= limit)
    return peak, clipped


class SampleLevels:
    """Peak magnitude and samples at full scale of each source channel, per span of samples.

    Filled by :func:`stream` (``levels=``) from the samples as they are read, before channels
    are mixed or the rate changed, so a mix or a resampled stream still reports the clipping
    of the file itself.

    Parameters
    ----------
    n_channels : int
        Channels of the source.
    limit : float
        Magnitude from which a sample counts as clipped (:func:`full_scale`).
    span : float or None
        Samples per span (``segment`` seconds times the source rate); None: one span.
    first, last : int or None
        Only samples ``first … last - 1`` are counted (the time range of a table).
    """

    def __init__(self, n_channels: int, limit: float, span: float | None = None,
                 first: int = 0, last: int | None = None) -> None:
        self.n_channels, self.limit, self.span = int(n_channels), float(limit), span
        self.first, self.last = int(first), last
        self.peak: dict[int, np.ndarray] = {}
        self.clipped: dict[int, np.ndarray] = {}

    def add(self, position: int, block: np.ndarray) -> None:
        """Count ``block`` (shape (n, n_channels)), whose first sample is ``position``."""
        a = max(self.first, position)
        b = position + block.shape[0] if self.last is None else min(self.last,
                                                                     position + block.shape[0])
        while a < b:
            index = 0 if self.span is None else int(a // self.span)
            end = b if self.span is None else min(b, int(math.ceil((index + 1) * self.span)))
            end = max(end, a + 1)
            peak, clipped = _channel_levels(block[a - position:end - position], self.limit)
            if index in self.peak:
                np.maximum(self.peak[index], peak, out=self.peak[index])
                self.clipped[index] += clipped
            else:
                self.peak[index], self.clipped[index] = peak, clipped
            a = end

    def spans(self) -> list[int]:
        """Indices of the spans holding samples, in order."""
        return sorted(self.peak)


@dataclass(frozen=True)
class Levels:
    """Sample levels of a whole file, over all its channels.

    Attributes
    ----------
    frames : int
        Samples per channel actually read.
    peak : float
        Largest magnitude (1.0 = full scale).
    clipped : int
        Samples (over all channels) whose magnitude reaches :func:`full_scale`.
    """

    frames: int
    peak: float
    clipped: int

    @property
    def peak_dbfs(self) -> float:
        """``20 log10(peak)``; ``-inf`` for a silent file."""
        return float(20.0 * np.log10(self.peak)) if self.peak > 0 else float("-inf")


def levels(path: str | os.PathLike, *, block_frames: int = 1 << 16,
           allow_truncated: bool = False) -> Levels:
    """Read a whole file once and measure its peak and the samples at full scale.

    Raises
    ------
    AudioFileError
        As :func:`stream` (``allow_truncated`` as there).
    """
    block_frames = positive_int(block_frames, "block_frames")
    allow_truncated = bool(allow_truncated or _ALLOWING[0])
    handle = _open(path, allow_truncated)
    try:
        limit = full_scale(handle.subtype)
        count = [0]
        peak, clipped = 0.0, 0
        known, declared = _stdin.expected(handle)
        for block in _raw_blocks(handle, path, "each", block_frames, known=known,
                                 declared=declared, count=count,
                                 allow_truncated=allow_truncated):
            magnitude = np.abs(block)
            peak = max(peak, float(magnitude.max()))
            clipped += int(np.count_nonzero(magnitude >= limit))
        return Levels(count[0], peak, clipped)
    finally:
        _close(handle)


# --------------------------------------------------------------------------- writing


def write_wav(
    path: str | os.PathLike, y: np.ndarray, sr: float, *, subtype: str = "PCM_16"
) -> None:
    """Write ``y`` (shape (n,) or (n_channels, n)) to a WAV file, completely or not at all."""
    from ._files import atomic_path

    y = np.asarray(y)
    data = y.T if y.ndim == 2 else y
    with atomic_path(path, suffix=".wav") as tmp:
        sf.write(tmp, data, int(round(sr)), subtype=subtype, format="WAV")


def open_sample_copy(path: str | os.PathLike, sr: float) -> sf.SoundFile:
    """A new mono file of float64 samples, open for ``write(samples)`` (shape (n,)).

    :func:`stream` reads it back bit for bit, as often as needed, without decoding the
    original again: a pass that must read a file several times writes the samples it read
    once. Sony Wave64, which has no 4 GiB limit; close it (or use it as a context manager)
    before reading.
    """
    return sf.SoundFile(path, "w", samplerate=int(round(sr)), channels=1, subtype="DOUBLE",
                        format="W64")


class EncoderError(SfmError):
    """libsndfile (or the codec library behind it) refused to encode."""


class _CountingSink:
    """A write-only file that keeps no data, only the size of what would have been written.

    libsndfile seeks back to finish some headers (FLAC's), so the size is the furthest byte
    written, not the sum of the writes.
    """

    def __init__(self) -> None:
        self.position = 0
        self.size = 0

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        self.position += n
        self.size = max(self.size, self.position)
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, n: int = -1) -> bytes:
        return b""

    def flush(self) -> None:
        pass


def encoded_size(
    blocks: Iterable[np.ndarray], sr: float, *, channels: int, format: str, subtype: str
) -> int:
    """Size in bytes of the file libsndfile writes for ``blocks``, streamed, kept nowhere.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,) or (channels, n)]
        Samples in the dtype libsndfile is to read them in (int16, int32 or float); errors
        raised by the iterable itself pass through unchanged.
    sr : float
    channels : int
    format, subtype : str
        libsndfile's names (``"FLAC"``, ``"PCM_16"``).

    Raises
    ------
    EncoderError
        The encoder refused the rate, the width or a block (its words, without soundfile's).
    """
    sink = _CountingSink()
    try:
        out = sf.SoundFile(sink, "w", samplerate=int(round(sr)), channels=channels,
                           format=format, subtype=subtype)
    except _DECODE_ERRORS as exc:
        raise EncoderError(_reason(exc)) from None
    try:
        for block in blocks:
            try:
                out.write(block.T if block.ndim == 2 else block)  # soundfile: (n, channels)
            except _DECODE_ERRORS as exc:
                raise EncoderError(_reason(exc)) from None
        try:
            out.close()
        except _DECODE_ERRORS as exc:
            raise EncoderError(_reason(exc)) from None
    finally:
        with contextlib.suppress(*_DECODE_ERRORS):
            out.close()
    return sink.size
