"""Standard input (``"-"``) as an audio source, for :mod:`sfm_audio.io`.

A WAV stream can be read as it arrives: a thread (:class:`_Pump`) copies standard input into
a pipe that libsndfile reads, after rewriting a header whose data size is a placeholder so
that libsndfile reads to the end of the stream. So can headerless PCM whose layout is given
(:class:`RawFormat`, ``s16le:48000:1``). Anything else, or a WAV that is to be read more than
once, is first copied to an anonymous temporary file (libsndfile needs to seek in most
formats). Either way memory stays bounded, and every wait is short, so a stalled writer
upstream or a reader that stopped never hangs the process.

A *live* input is one streamed because its length is not known before its end: a WAV whose
header declares a placeholder size (what a recorder writing to a pipe leaves), or raw PCM.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import AudioFileError, ParameterError

if TYPE_CHECKING:  # sfm_audio.io is the module that imports soundfile
    import soundfile as sf

__all__ = ["STDIN", "PLACEHOLDER_SIZES", "RawFormat", "StandardInput", "open_ended",
           "parse_raw_format", "wav_data_field"]

#: the input name that stands for standard input
STDIN = "-"
#: WAV size fields that programs writing to a pipe leave in place of the unknown length
PLACEHOLDER_SIZES = (0, 0xFFFFFFFF, 0x7FFFF000)


#: raw sample encodings (the names ffmpeg's -f and sox's -e/-b describe) -> libsndfile subtype
_RAW_ENCODINGS = {"s8": "PCM_S8", "u8": "PCM_U8", "s16": "PCM_16", "s24": "PCM_24",
                  "s32": "PCM_32", "f32": "FLOAT", "f64": "DOUBLE"}
_ENDIAN = {"le": "LITTLE", "be": "BIG", "": "FILE"}


@dataclass(frozen=True)
class RawFormat:
    """The layout of headerless PCM: ``s16le:48000:1`` (encoding, rate in Hz, channels).

    Attributes
    ----------
    encoding : str
        ``s8``, ``u8``, or ``s16``, ``s24``, ``s32``, ``f32``, ``f64`` followed by ``le``
        (little-endian) or ``be`` (big-endian).
    samplerate, channels : int
    """

    encoding: str
    samplerate: int
    channels: int

    def soundfile_args(self) -> dict:
        """The keyword arguments of ``soundfile.SoundFile`` that open such data."""
        ordered = self.encoding.endswith(("le", "be"))
        width = self.encoding[:-2] if ordered else self.encoding
        order = self.encoding[-2:] if ordered else ""
        return {"format": "RAW", "subtype": _RAW_ENCODINGS[width], "endian": _ENDIAN[order],
                "samplerate": self.samplerate, "channels": self.channels}

    def __str__(self) -> str:
        return f"{self.encoding}:{self.samplerate}:{self.channels}"


def parse_raw_format(text: str) -> RawFormat:
    """``"s16le:48000:1"`` -> :class:`RawFormat`; ParameterError (``raw_format``) otherwise."""
    parts = str(text).strip().lower().split(":")
    encodings = [e + o for e in _RAW_ENCODINGS for o in (("",) if e in ("s8", "u8")
                                                         else ("le", "be"))]
    usage = (f"raw_format={text!r} must be ENCODING:RATE:CHANNELS, e.g. s16le:48000:1, with "
             f"ENCODING one of {', '.join(encodings)}")
    if len(parts) != 3 or parts[0] not in encodings:
        raise ParameterError(usage, param="raw_format")
    try:
        rate, channels = int(parts[1]), int(parts[2])
    except ValueError:
        raise ParameterError(usage, param="raw_format") from None
    if rate <= 0 or not 0 < channels <= 1024:
        raise ParameterError(f"raw_format={text!r}: the rate must be positive and the "
                             "channels 1 to 1024", param="raw_format")
    return RawFormat(parts[0], rate, channels)


def wav_data_field(head: bytes) -> tuple[int, int] | None:
    """``(offset of the data chunk's size field, that size)`` in a RIFF/WAVE header."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(head):
        chunk, size = head[position : position + 4], struct.unpack_from("<I", head, position + 4)[0]
        if chunk == b"data":
            return position + 4, size
        position += 8 + size + (size & 1)
    return None


def open_ended(head: bytes, data_bytes: int | None = None) -> bytes:
    """A WAV header with placeholder sizes made readable to the end of the data.

    ``data_bytes=None`` (a pipe): 0xFFFFFFFF, which libsndfile reads up to the end of the
    stream. Otherwise the true size of the data (a copy on disk). Other headers are unchanged.
    """
    field = wav_data_field(head)
    if field is None:
        return head
    offset, size = field
    if data_bytes is None:
        if size != 0:
            return head  # libsndfile reads a pipe to its end whatever a nonzero size says
        new_size = 0xFFFFFFFF
    else:
        if size not in PLACEHOLDER_SIZES or data_bytes > 0xFFFFFFFF:
            return head  # a real size is kept: a stream shorter than it is truncated
        new_size = data_bytes
    patched = bytearray(head)
    patched[offset : offset + 4] = struct.pack("<I", new_size)
    riff = 0xFFFFFFFF if data_bytes is None else min(0xFFFFFFFF, offset + 4 + data_bytes - 8)
    patched[4:8] = struct.pack("<I", riff)
    return bytes(patched)


class _Pump:
    """Copy bytes from standard input into a pipe that libsndfile reads, until told to stop.

    libsndfile needs a file descriptor to read a stream it cannot seek in, and a WAV header
    whose data size is 0 must be rewritten before libsndfile sees it. Every wait is short and
    checks the stop flag, so :meth:`stop` returns at once even when the writer upstream stalls
    or libsndfile stopped reading; nothing is written after the reading end is closed.
    """

    def __init__(self, head: bytes, source: int):
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(head, source),
                                        name="sfm-audio-stdin", daemon=True)
        self._thread.start()

    def _run(self, head: bytes, source: int) -> None:
        try:
            if not self._write(head):
                return
            while not self._stop.is_set():
                ready, _, _ = select.select([source], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(source, 1 << 16)
                if not data or not self._write(data):
                    return
        except OSError:
            return  # upstream failed: libsndfile sees the end of the stream
        finally:
            os.close(self._write_fd)

    def _write(self, data: bytes) -> bool:
        view = memoryview(data)
        while view.nbytes:
            if self._stop.is_set():
                return False
            _, ready, _ = select.select([], [self._write_fd], [], 0.05)
            if ready:
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(self._write_fd, view):]
        return True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class StandardInput:
    """Standard input as an audio source of this process (``"-"``).

    Until it is first used it may be set to be streamed (:meth:`set_streaming`) and be given
    the layout of headerless PCM (:meth:`set_raw`); a stream is read once, through a
    :class:`_Pump`; a spooled copy is an anonymous temporary file.

    Parameters
    ----------
    open_audio : callable
        ``open_audio(source, name, **soundfile_args)`` opens a path or a file descriptor (left
        open) with libsndfile and checks it, raising AudioFileError naming ``name``.
    describe : callable
        ``describe(handle, name, known=...)`` gives the AudioInfo of an open handle.
    """

    def __init__(self, open_audio: Callable[..., sf.SoundFile],
                 describe: Callable[..., object]) -> None:
        self._open_audio, self._describe = open_audio, describe
        self._lock = threading.RLock()
        self._reset(None)

    def _reset(self, source) -> None:
        self.source = source  # the sys.stdin this state belongs to
        self.streaming = False
        self.live_only = False  # stream only an input of unknown length (see set_streaming)
        self.raw: RawFormat | None = None
        self.pump: _Pump | None = None
        self.handle: sf.SoundFile | None = None  # the streamed handle, once opened
        self.taken = False
        self.spool = None  # the anonymous copy (a file object)
        self.spool_path: str | None = None
        self.declared: int | None = None  # the length a streamed WAV's header declares

    def _current(self) -> None:
        """Start afresh when sys.stdin was replaced (a test runner feeding new input)."""
        if self.source is not sys.stdin:
            if self.spool is not None:
                self.spool.close()
            self._reset(sys.stdin)

    def _binary(self):
        stdin = sys.stdin
        if stdin is None:
            raise AudioFileError(f"{STDIN}: there is no standard input")
        return getattr(stdin, "buffer", stdin)

    def _fd(self, binary) -> int | None:
        try:
            return binary.fileno()
        except (AttributeError, OSError, ValueError):
            return None  # an in-memory stream (a test runner's input)

    def set_streaming(self, *, live_only: bool = False) -> None:
        """Read a WAV (or raw PCM) stream as it arrives; with ``live_only``, only one whose
        length is unknown (a placeholder data size, or raw PCM): a WAV that declares its
        length is then copied, so that it can be read more than once."""
        with self._lock:
            self._current()
            if self.handle is None and self.spool_path is None:
                self.streaming, self.live_only = True, live_only

    def set_raw(self, raw: RawFormat | None) -> None:
        """Standard input holds headerless PCM of this layout (None: it has a header)."""
        with self._lock:
            self._current()
            if self.handle is None and self.spool_path is None:
                self.raw = raw

    @property
    def live(self) -> bool:
        """Whether standard input is streamed with its length unknown (after first use)."""
        return self.handle is not None and self.declared is None

    def _open(self, source: int | str, **options) -> sf.SoundFile:
        layout = {} if self.raw is None else self.raw.soundfile_args()
        return self._open_audio(source, STDIN, **options, **layout)

    def _start(self) -> None:
        """Open standard input: a pipe for a WAV stream, else an anonymous copy on disk."""
        if self.handle is not None or self.spool_path is not None:
            return
        if self.taken:
            raise AudioFileError(f"{STDIN}: standard input was already read")
        binary = self._binary()
        fd = self._fd(binary)
        if fd is not None and os.isatty(fd):
            raise AudioFileError(
                f"{STDIN}: standard input is a terminal; pipe audio into it "
                "(e.g. sox in.mp3 -t wav - | sfm-audio ...)")
        head = self._head(binary, fd, wav=self.raw is None)
        if not head:
            raise AudioFileError(f"{STDIN}: standard input is empty (0 bytes)")
        field = None if self.raw is not None else wav_data_field(head)
        open_length = self.raw is not None or (field is not None and
                                                field[1] in PLACEHOLDER_SIZES)
        if self.streaming and fd is not None and (field is not None or self.raw is not None) \
                and (open_length or not self.live_only):
            self.pump = _Pump(head if field is None else open_ended(head), fd)
            try:
                self.handle = self._open(self.pump.read_fd)
                # a real data size (not a placeholder) is a length the stream must reach
                self.declared = None if open_length else self.handle.frames
            except BaseException:
                self.pump.stop()
                os.close(self.pump.read_fd)
                self.pump = None
                raise
            return
        self._copy(head, binary, fd)

    @staticmethod
    def _head(binary, fd: int | None, *, wav: bool = True) -> bytes:
        """The first bytes, up to the start of a WAV header's data (at most 1 MiB); without
        ``wav`` (raw PCM), the first bytes that arrive."""
        head = b""
        while len(head) < 1 << 20:
            chunk = os.read(fd, 1 << 16) if fd is not None else binary.read(1 << 16)
            if not chunk:
                break
            head += chunk
            if not wav or len(head) >= 12 and (head[:4] != b"RIFF" or
                                               wav_data_field(head) is not None):
                break
        return head

    def _copy(self, head: bytes, binary, fd: int | None) -> None:
        spool = tempfile.TemporaryFile(prefix="sfm-audio-stdin-")
        try:
            spool.write(head)
            while True:
                chunk = os.read(fd, 1 << 20) if fd is not None else binary.read(1 << 20)
                if not chunk:
                    break
                spool.write(chunk)
            field = None if self.raw is not None else wav_data_field(head)
            if field is not None:
                total = spool.tell()
                fixed = open_ended(head[: field[0] + 4], total - field[0] - 4)
                spool.seek(0)
                spool.write(fixed)
            spool.flush()
        except BaseException:
            spool.close()
            raise
        self.spool = spool
        proc = f"/proc/self/fd/{spool.fileno()}"
        if os.path.exists(proc):
            self.spool_path = proc  # opening it gives a file position of its own
        else:  # no /proc: a named copy, removed at exit
            named = tempfile.NamedTemporaryFile(prefix="sfm-audio-stdin-", delete=False)
            with named:
                spool.seek(0)
                while chunk := spool.read(1 << 20):
                    named.write(chunk)
            atexit.register(lambda: Path(named.name).unlink(missing_ok=True))
            self.spool_path = named.name

    def describe(self, **options):
        """The AudioInfo of standard input; its samples stay unread. ``options`` go to
        ``open_audio`` (``allow_truncated``)."""
        with self._lock:
            self._current()
            self._start()
            if self.handle is not None:
                return self._describe(self.handle, STDIN, known=False)
            handle = self._open(self.spool_path, **options)
            try:
                return self._describe(handle, STDIN, known=True)
            finally:
                handle.close()

    def take(self, **options) -> sf.SoundFile:
        """A handle to read the samples: the stream (once) or a new handle on the copy.
        ``options`` go to ``open_audio`` (``allow_truncated``)."""
        with self._lock:
            self._current()
            self._start()
            if self.spool_path is not None:
                return self._open(self.spool_path, **options)
            if self.taken:
                raise AudioFileError(f"{STDIN}: standard input was already read")
            self.taken = True
            return self.handle

    def owns(self, handle) -> bool:
        return handle is not None and handle is self.handle

    def expected(self, handle) -> tuple[bool, int | None]:
        """``(known, declared)``: whether ``handle.frames`` is the length, else the length
        the stream must at least reach (None when its header leaves it open)."""
        if self.owns(handle):
            return False, self.declared
        return True, None

    def interrupt(self, handle) -> None:
        """Stop feeding a streamed handle: a reader blocked on it sees the end of the data."""
        if self.owns(handle) and self.pump is not None:
            self.pump.stop()

    def release(self, handle) -> None:
        with self._lock:
            self.interrupt(handle)
            handle.close()
            if self.pump is not None:
                os.close(self.pump.read_fd)
            self.handle = None
            self.pump = None
