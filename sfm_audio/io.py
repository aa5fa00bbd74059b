"""Reading audio: the only module that imports soundfile.

Files are read in blocks so that memory stays bounded whatever the file length. Channels are
mixed by averaging (librosa's ``mono=True``), kept apart, or one is selected; resampling with
soxr happens only when a target rate is asked for.
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from ._errors import AudioFileError, ParameterError

__all__ = [
    "AudioInfo",
    "Channels",
    "info",
    "stream",
    "load",
    "output_channels",
    "output_length",
    "validate_channels",
    "validate_sr",
    "write_wav",
    "flac_bytes",
    "flac_size",
    "is_audio_file",
    "AUDIO_EXTENSIONS",
]

Channels = Literal["mix", "each"] | int

#: File name endings searched for in folders: everything libsndfile can read.
AUDIO_EXTENSIONS = frozenset(
    "." + ext.lower() for ext in sf.available_formats()
) | {".oga", ".opus", ".aif", ".mp3", ".wave"}

_DATA_LINE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


@dataclass(frozen=True)
class AudioInfo:
    """What libsndfile says about a file, without reading its samples."""

    path: str
    format: str
    subtype: str
    samplerate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.samplerate


def is_audio_file(path: str | os.PathLike) -> bool:
    """True when the name ends in an extension libsndfile can read."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


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


def _open(path: str | os.PathLike) -> sf.SoundFile:
    p = _check_path(path)
    try:
        handle = sf.SoundFile(p)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        reason = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
        raise AudioFileError(f"{path}: not a readable audio file ({reason})") from None
    try:
        _check_complete(handle, path)
        if handle.frames == 0:
            raise AudioFileError(f"{path}: holds no samples")
    except BaseException:
        handle.close()
        raise
    return handle


def _check_complete(handle: sf.SoundFile, path: str | os.PathLike) -> None:
    """Refuse a file whose header promises more sample data than the file holds."""
    match = _DATA_LINE.search(handle.extra_info)
    if match is None:
        return
    declared, actual = int(match.group(1)), int(match.group(2))
    # 0 and 0xFFFFFFFF are placeholders written by recorders that stream; not truncation.
    if actual < declared and declared not in (0, 0xFFFFFFFF):
        raise AudioFileError(
            f"{path}: truncated file (header declares {declared} data bytes, "
            f"file holds {actual})"
        )


def info(path: str | os.PathLike) -> AudioInfo:
    """Describe an audio file without reading its samples.

    Raises
    ------
    AudioFileError
        If the file is missing, empty, truncated or not audio.
    """
    with _open(path) as handle:
        return AudioInfo(
            path=str(path),
            format=handle.format,
            subtype=handle.subtype,
            samplerate=int(handle.samplerate),
            channels=int(handle.channels),
            frames=int(handle.frames),
        )


def validate_sr(sr: float | None) -> float | None:
    """Check a target sampling rate; ``None`` keeps the file's own rate."""
    if sr is None:
        return None
    if isinstance(sr, bool) or not np.isfinite(sr) or sr <= 0:
        raise ParameterError(f"{sr=} must be a positive number of samples per second")
    return float(sr)


def validate_channels(channels: Channels) -> Channels:
    """Check a channel choice: ``"mix"``, ``"each"`` or a non-negative channel index."""
    if channels in ("mix", "each"):
        return channels
    if isinstance(channels, (int, np.integer)) and not isinstance(channels, bool):
        if channels < 0:
            raise ParameterError(f"{channels=} must be 'mix', 'each' or a channel index >= 0")
        return int(channels)
    raise ParameterError(f"{channels=} must be 'mix', 'each' or a channel index >= 0")


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


def _raw_blocks(
    handle: sf.SoundFile, path: str | os.PathLike, channels: Channels, block_frames: int,
    start: int = 0, stop: int | None = None,
) -> Iterator[np.ndarray]:
    """Blocks of shape (n_channels_out, n) in float64, checked for NaN and Inf."""
    n_in = handle.channels
    stop = handle.frames if stop is None else min(stop, handle.frames)
    if start:
        handle.seek(start)
    if isinstance(channels, int) and channels >= n_in:
        raise ParameterError(
            f"channels={channels} is out of range: {path} has {n_in} channel(s)"
        )
    position = start
    while position < stop:
        block = handle.read(min(block_frames, stop - position), dtype="float64", always_2d=True)
        if block.shape[0] == 0:
            break
        # one pass without a temporary; NaN and Inf propagate into the sum
        if not np.isfinite(block.sum()):
            bad_rows = np.flatnonzero(~np.isfinite(block).all(axis=1))
            if bad_rows.size:
                bad = int(bad_rows[0]) + position
                raise AudioFileError(
                    f"{path}: sample {bad} (t = {bad / handle.samplerate:.6f} s) "
                    "is NaN or infinite"
                )
        position += block.shape[0]
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


def _resampled(
    blocks: Iterable[np.ndarray], n_out: int, native_sr: float, sr: float, total_out: int
) -> Iterator[np.ndarray]:
    import soxr

    # librosa's default resampler is soxr at "HQ" quality; ask for the same.
    resampler = soxr.ResampleStream(native_sr, sr, n_out, dtype="float64", quality="HQ")
    emitted = 0
    pending = None
    for block in blocks:
        if pending is not None:
            out = resampler.resample_chunk(pending.T, last=False)
            if out.shape[0]:
                out = out[: max(total_out - emitted, 0)]
                emitted += out.shape[0]
                yield np.ascontiguousarray(out.T)
        pending = block
    final = resampler.resample_chunk(
        pending.T if pending is not None else np.zeros((0, n_out)), last=True
    )
    final = final[: max(total_out - emitted, 0)]
    emitted += final.shape[0]
    if emitted < total_out:
        # librosa fixes the length to ceil(n * ratio); pad the last few samples with zeros.
        final = np.concatenate([final, np.zeros((total_out - emitted, n_out))])
    if final.shape[0]:
        yield np.ascontiguousarray(final.T)


def _prefetch(blocks: Iterator[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """Read the next blocks on a thread while the caller computes on the current one."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        items.put(block, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

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
) -> Iterator[np.ndarray]:
    """Yield consecutive blocks of samples of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads (WAV, FLAC, OGG, MP3, AIFF, ...).
    sr : float or None
        Target sampling rate; ``None`` keeps the file's own rate. Resampling uses soxr at
        "HQ" quality, as ``librosa.load`` does, and yields ``ceil(n * sr / native_sr)``
        samples.
    channels : {"mix", "each"} or int
        ``"mix"`` averages the channels (librosa's ``mono=True``), ``"each"`` keeps all,
        an integer selects one channel (0-based).
    block_frames : int
        Samples read per block.
    prefetch : bool
        Read the next blocks on a background thread while the caller works.
    start, stop : int
        Read only samples ``start`` to ``stop`` (in the file's own rate, before resampling).

    Yields
    ------
    block : np.ndarray [shape=(n_channels_out, n), dtype=float64]

    Raises
    ------
    AudioFileError
        Missing, empty, truncated or non-audio file, or a NaN/Inf sample (the message gives
        its time).
    ParameterError
        Invalid ``sr``, ``channels`` or ``block_frames``.
    """
    sr = validate_sr(sr)
    channels = validate_channels(channels)
    if isinstance(block_frames, bool) or not isinstance(block_frames, (int, np.integer)) or (
        block_frames <= 0
    ):
        raise ParameterError(f"{block_frames=} must be a positive integer")
    if start < 0 or (stop is not None and stop <= start):
        raise ParameterError(f"{start=} and {stop=} must satisfy 0 <= start < stop")
    handle = _open(path)
    try:
        native_sr = float(handle.samplerate)
        n_out = handle.channels if channels == "each" else 1
        blocks: Iterator[np.ndarray] = _raw_blocks(
            handle, path, channels, int(block_frames), int(start), stop
        )
        if sr is not None and sr != native_sr:
            end = handle.frames if stop is None else min(stop, handle.frames)
            total = output_length(end - int(start), native_sr, sr)
            blocks = _resampled(blocks, n_out, native_sr, sr, total)
        if prefetch:
            blocks = _prefetch(blocks)
        yield from blocks
    finally:
        handle.close()


def load(
    path: str | os.PathLike, *, sr: float | None = None, channels: Channels = "mix"
) -> tuple[np.ndarray, float]:
    """Read a whole file: ``(y, sr)`` with ``y`` of shape (n_channels_out, n_samples).

    Use :func:`stream` for long files; this is for short signals and experiments.
    """
    with _open(path) as handle:
        native_sr = float(handle.samplerate)
    blocks = list(stream(path, sr=sr, channels=channels))
    return np.concatenate(blocks, axis=-1), (native_sr if sr is None else float(sr))


def write_wav(
    path: str | os.PathLike, y: np.ndarray, sr: float, *, subtype: str = "PCM_16"
) -> None:
    """Write ``y`` (shape (n,) or (n_channels, n)) to a WAV file, completely or not at all."""
    from ._files import atomic_path

    y = np.asarray(y)
    data = y.T if y.ndim == 2 else y
    with atomic_path(path, suffix=".wav") as tmp:
        sf.write(tmp, data, int(round(sr)), subtype=subtype, format="WAV")


class _CountingSink:
    """A write-only file that keeps no data, only the size of what would have been written.

    libsndfile seeks back to finish the FLAC header, so the size is the furthest byte
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


#: FLAC subtype and the left shift that puts a ``bits``-wide integer where libsndfile reads it
_FLAC_WIDTHS = {8: ("PCM_S8", np.int16, 8), 16: ("PCM_16", np.int16, 0),
                24: ("PCM_24", np.int32, 8)}


def flac_size(
    blocks: Iterable[np.ndarray], sr: float, *, channels: int = 1, bits: int = 16
) -> int:
    """Size in bytes of the FLAC stream libFLAC writes for integer ``blocks``, streamed.

    The whole stream is counted (header, seek table and frames, everything a decoder needs),
    and nothing is kept in memory: blocks are encoded as they come.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,) or (n, channels), integer dtype]
        Samples as integers of ``bits`` bits (in ``[-2**(bits-1), 2**(bits-1))``).
    sr : float
    channels : int
    bits : {8, 16, 24}
        Sample width of the FLAC stream.
    """
    if bits not in _FLAC_WIDTHS:
        raise ParameterError(f"{bits=} must be 8, 16 or 24", param="bits")
    subtype, dtype, shift = _FLAC_WIDTHS[bits]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    sink = _CountingSink()
    with sf.SoundFile(sink, "w", samplerate=int(round(sr)), channels=channels,
                      format="FLAC", subtype=subtype) as out:
        for block in blocks:
            block = np.asarray(block)
            if not np.issubdtype(block.dtype, np.integer):
                raise ParameterError(
                    f"samples must be integers (int8, int16, int32), not {block.dtype}")
            if block.size and (block.min() < lo or block.max() > hi):
                raise ParameterError(f"samples do not fit in {bits} bits")
            # libsndfile reads int16 / int32 as full scale: put the bits at the top
            out.write(block.astype(dtype) << dtype(shift))
    return sink.size


def flac_bytes(samples: np.ndarray, sr: float, *, bits: int = 16) -> int:
    """Size in bytes of ``samples`` (integers of ``bits`` bits, shape (n,) or (n, channels))
    encoded by libFLAC.

    The whole FLAC stream is counted: header, seek table and frames, everything a decoder
    needs. See :func:`flac_size` to encode block by block.
    """
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    return flac_size([samples], sr, channels=channels, bits=bits)
