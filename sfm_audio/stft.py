"""Short-time Fourier transform framed exactly as ``librosa.stft``, whole or streamed.

Frames are cut the way librosa cuts them (window padded to ``n_fft`` at the centre; with
``center=True`` the signal is padded with ``n_fft // 2`` zeros at both ends), and the FFT runs
in double precision. :class:`FrameStream` produces the same frames block by block, so a long
file streams with bounded memory and yields exactly the whole-array result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ._errors import ParameterError
from .validate import finite_float, is_bool, nonnegative_float, positive_int

__all__ = [
    "StftParams",
    "get_window",
    "stft",
    "FrameStream",
    "n_frames",
    "frame_times",
    "frame_range",
    "padded_span",
    "bin_range",
    "array_segments",
    "as_channels",
    "scratch",
    "FRAMES_PER_CHUNK",
]

# a + b cos(x) + c cos(2x) coefficients of scipy's general_cosine windows; evaluated the way
# scipy evaluates them so the values are bit-identical, without importing scipy.signal (0.5 s).
_COSINE_WINDOWS = {
    "hann": (0.5, 0.5),
    "hanning": (0.5, 0.5),
    "hamming": (0.54, 1.0 - 0.54),  # scipy computes 1 - alpha; 0.46 differs by an ulp
    "blackman": (0.42, 0.50, 0.08),
}


def get_window(window: str | tuple | float | np.ndarray, win_length: int) -> np.ndarray:
    """Periodic ("fftbins") window of ``win_length`` samples, as ``librosa.filters.get_window``.

    ``window`` is any name or tuple ``scipy.signal.get_window`` accepts, a callable taking the
    length, or an array of ``win_length`` values.
    """
    if callable(window):
        return np.asarray(window(win_length), dtype=np.float64)
    if isinstance(window, str) and window.lower() in _COSINE_WINDOWS:
        if win_length == 1:
            return np.ones(1)  # scipy's rule for a one-sample window
        coefficients = _COSINE_WINDOWS[window.lower()]
        fac = np.linspace(-np.pi, np.pi, win_length + 1)
        w = np.zeros(win_length + 1)
        for k, a in enumerate(coefficients):
            w += a * np.cos(k * fac)
        return w[:win_length]
    if isinstance(window, (str, tuple)) or np.isscalar(window):
        from scipy.signal import get_window as scipy_get_window

        try:
            return scipy_get_window(window, win_length, fftbins=True)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"window={window!r} is not a window scipy.signal.get_window "
                                 f"knows ({exc})", param="window") from None
    w = np.asarray(window, dtype=np.float64)
    if w.shape != (win_length,):
        raise ParameterError(
            f"window array has shape {w.shape}, expected ({win_length},) for {win_length=}"
        )
    return w


@dataclass(frozen=True)
class StftParams:
    """Validated STFT parameters with librosa's defaults and rules.

    ``hop_length`` defaults to ``win_length // 4`` and ``win_length`` to ``n_fft``, as in
    librosa.
    """

    n_fft: int = 2048
    hop_length: int | None = None
    win_length: int | None = None
    window: str | tuple | float | np.ndarray = "hann"
    center: bool = True

    def __post_init__(self) -> None:
        n_fft = positive_int(self.n_fft, "n_fft")
        win = positive_int(n_fft if self.win_length is None else self.win_length, "win_length")
        if win > n_fft:
            raise ParameterError(f"win_length={win} must be at most n_fft={n_fft}",
                                 param="win_length")
        hop = positive_int(win // 4 if self.hop_length is None else self.hop_length,
                           "hop_length")
        object.__setattr__(self, "n_fft", n_fft)
        object.__setattr__(self, "win_length", win)
        object.__setattr__(self, "hop_length", hop)
        object.__setattr__(self, "center", is_bool(self.center, "center"))

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    def fft_window(self) -> np.ndarray:
        """The analysis window zero-padded at both sides to ``n_fft`` (librosa's pad_center)."""
        w = get_window(self.window, self.win_length)
        left = (self.n_fft - self.win_length) // 2
        return np.pad(w, (left, self.n_fft - self.win_length - left))


def padded_span(first: int, stop: int, params: StftParams) -> tuple[int, int, StftParams]:
    """The samples frames ``first … stop - 1`` cover, and how to frame them.

    Returns ``lo, hi, uncentred``: samples ``lo … hi - 1`` in the signal's own numbering
    (``lo < 0`` and ``hi > n_samples`` where centring pads zeros beyond the ends), and the
    parameters that frame exactly those samples, padded as librosa pads the whole signal,
    without centring them again. Reading only that span (a seek) gives the frames of the
    whole signal bit for bit.
    """
    pad = params.n_fft // 2 if params.center else 0
    lo = first * params.hop_length - pad
    hi = (stop - 1) * params.hop_length - pad + params.n_fft
    uncentred = StftParams(params.n_fft, params.hop_length, params.win_length, params.window,
                           False)
    return lo, hi, uncentred


def n_frames(n_samples: int, params: StftParams) -> int:
    """Number of frames librosa produces for a signal of ``n_samples``."""
    padded = n_samples + (2 * (params.n_fft // 2) if params.center else 0)
    if padded < params.n_fft:
        return 0
    return 1 + (padded - params.n_fft) // params.hop_length


def frame_times(frames: np.ndarray, *, sr: float, hop_length: int) -> np.ndarray:
    """Frame index to time in seconds, ``frames * hop_length / sr`` (``librosa.frames_to_time``)."""
    return np.asarray(frames) * hop_length / float(sr)


#: frames of one chunk, the unit of work handed to a thread: the band and frame statistics
#: cost about a hundred numpy calls per chunk whatever its size, spread here over 512 frames
#: (sfm-audio extract of the 10-minute bench file, best of 7 interleaved runs: 1.24 / 1.12 /
#: 1.11 s at 256 / 512 / 1024 frames; peak RSS on 60 minutes: 90 / 115 / 167 MB)
FRAMES_PER_CHUNK = 512


def scratch(work: dict | None, name: str, shape: tuple, dtype: type = np.float64) -> np.ndarray:
    """A reusable array of ``shape`` from the dict ``work``, allocated on first use or change.

    Each thread keeps its own ``work`` dict: reusing the same megabytes chunk after chunk
    avoids page-faulting fresh memory for every chunk. ``work=None`` allocates.
    """
    if work is None:
        return np.empty(shape, dtype=dtype)
    array = work.get(name)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = work[name] = np.empty(shape, dtype=dtype)
    return array


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
        Length of the signal in samples.
    sr : float
    params : StftParams
    start, end : float or None
        Range in seconds; ``None`` means the beginning / the end of the signal.
    path : str
        Named in error messages.

    Returns
    -------
    first, stop : int
        Frame indices ``first`` (inclusive) to ``stop`` (exclusive) in the whole signal.

    Raises
    ------
    ParameterError
        ``start >= end``, a negative start, a range reaching outside the signal, or a range so
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
        raise ParameterError(f"start={start:g} s must be before end={end:g} s", param="start")
    if start is not None and start < 0:
        raise ParameterError(f"start={start:g} s must not be negative", param="start")
    if start is not None and start >= duration:
        raise ParameterError(
            f"{where}start={start:g} s is outside the file (it lasts {duration:g} s)",
            param="start",
        )
    # half a sample of slack so that "--end <duration as printed>" is accepted
    if end is not None and end > duration + 0.5 / sr:
        raise ParameterError(f"{where}end={end:g} s is outside the file (it lasts {duration:g} s)",
                             param="end")
    if end is not None and end <= 0:
        raise ParameterError(f"end={end:g} s must be positive", param="end")
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


def bin_range(
    sr: float, n_fft: int, *, fmin: float | None = None, fmax: float | None = None,
    path: str = "",
) -> tuple[int, int]:
    """FFT bins ``k`` whose frequency ``k * sr / n_fft`` lies in ``[fmin, fmax]`` Hz.

    ``fmin=None`` starts at 0 Hz (DC) and ``fmax=None`` ends at Nyquist. An ``fmax`` above
    Nyquist is clipped to it with a :class:`UserWarning` (naming ``path`` if given; without
    it the message is the same for every file of one rate, so a warnings filter says it once
    per rate), so one range can serve files of several rates; every other impossible range is
    an error.

    Returns
    -------
    lo, hi : int
        First bin and one past the last bin: ``S[lo:hi]`` are the bins of the range.

    Raises
    ------
    ParameterError
        A negative or non-finite limit, ``fmin >= fmax``, ``fmin`` at or above Nyquist, or a
        range narrower than two bins (one bin is trivially flat).
    """
    nyquist = sr / 2
    top = n_fft // 2
    where = f"{path}: " if path else ""
    lo_hz = 0.0 if fmin is None else nonnegative_float(fmin, "fmin")
    hi_hz = nyquist if fmax is None else nonnegative_float(fmax, "fmax")
    if fmin is not None and fmax is not None and lo_hz >= hi_hz:
        raise ParameterError(f"fmin={lo_hz:g} Hz must be below fmax={hi_hz:g} Hz", param="fmin")
    if lo_hz >= nyquist:
        raise ParameterError(f"{where}fmin={lo_hz:g} Hz is not below Nyquist ({nyquist:g} Hz)",
                             param="fmin")
    if hi_hz > nyquist:
        # "a rate of", not "sr=": the command line would read that as its --sr option
        warnings.warn(f"{where}fmax={hi_hz:g} Hz is above Nyquist at a rate of {sr:g} Hz; "
                      f"using {nyquist:g} Hz there", UserWarning, stacklevel=2)
        hi_hz = nyquist
    df = sr / n_fft
    eps = 1e-9
    lo = max(0, math.ceil(lo_hz / df - eps))
    hi = min(top, math.floor(hi_hz / df + eps)) + 1
    if hi - lo < 2:
        raise ParameterError(
            f"{where}the range {lo_hz:g}-{hi_hz:g} Hz holds {max(hi - lo, 0)} FFT bin(s) at "
            f"{n_fft=} and sr={sr:g} (bins are {df:g} Hz apart); it needs at least two",
            param="fmin",
        )
    return lo, hi


def as_channels(y: np.ndarray) -> np.ndarray:
    """A real signal of shape ``(n,)`` or ``(n_channels, n)`` as a 2-D array, checked.

    Raises
    ------
    ParameterError
        Not 1-D or 2-D, not floating-point (complex or integer), empty, or holding NaN or
        infinite values.
    """
    y = np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[-1] == 0:
        raise ParameterError(
            f"y must have shape (n_samples,) or (n_channels, n_samples), got {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):  # librosa's rule too (util.valid_audio)
        hint = ("; convert integer samples, e.g. y / 32768 for int16"
                if np.issubdtype(y.dtype, np.integer) else "")
        raise ParameterError(
            f"y must be real floating-point audio (full scale ±1), got dtype {y.dtype}{hint}")
    y2 = y.reshape(-1, y.shape[-1])
    if not np.isfinite(y2.sum()) and not np.isfinite(y2).all():
        bad = np.flatnonzero(~np.isfinite(y2).all(axis=0))[0]
        raise ParameterError(f"y holds a NaN or infinite value at sample {bad}")
    return y2


def array_segments(
    y: np.ndarray,
    params: StftParams,
    *,
    first: int = 0,
    stop: int | None = None,
    frames_per_chunk: int = FRAMES_PER_CHUNK,
    mix: bool = False,
) -> Iterator[np.ndarray]:
    """Segments of an in-memory signal holding frames ``first … stop - 1``, as librosa frames.

    Each segment has shape ``(n_channels, (k - 1) * hop_length + n_fft)`` for ``k`` frames
    (``k <= frames_per_chunk``); it is a view of ``y`` where no padding is needed, else a
    small zero-padded copy. :meth:`FrameStream.transform` turns a segment into spectra.

    Parameters
    ----------
    y : np.ndarray [shape=(n_channels, n_samples)]
    params : StftParams
    first, stop : int
        Frame range (``stop=None``: every frame).
    frames_per_chunk : int
    mix : bool
        Average the channels of every segment (float64, channel by channel, as the file
        reader mixes), giving one channel.
    """
    n = y.shape[-1]
    n_fft, hop = params.n_fft, params.hop_length
    pad = n_fft // 2 if params.center else 0
    stop = n_frames(n, params) if stop is None else stop
    for f0 in range(first, stop, frames_per_chunk):
        k = min(frames_per_chunk, stop - f0)
        a = f0 * hop - pad
        b = (f0 + k - 1) * hop + n_fft - pad
        if a >= 0 and b <= n:
            segment = y[:, a:b]
        else:
            segment = np.zeros((y.shape[0], b - a), dtype=y.dtype)
            lo, hi = max(a, 0), min(b, n)
            segment[:, lo - a : hi - a] = y[:, lo:hi]
        if mix and y.shape[0] > 1:
            out = segment[0].astype(np.float64)
            for c in range(1, y.shape[0]):
                out += segment[c]
            out /= y.shape[0]
            segment = out[np.newaxis]
        yield segment


def _check_length(n_samples: int, params: StftParams) -> None:
    if n_frames(n_samples, params) == 0:
        raise ParameterError(
            f"n_fft={params.n_fft} is too large for a signal of {n_samples} samples "
            "with center=False"
        )


class FrameStream:
    """Turn consecutive blocks of samples into windowed STFT frames, block by block.

    Parameters
    ----------
    params : StftParams
    n_channels : int
    frames_per_chunk : int
        Frames per segment (:data:`FRAMES_PER_CHUNK` by default).

    Notes
    -----
    Output chunks have shape ``(n_channels, n_frames_chunk, n_freq)``: frequency last inside
    the library, because every reduction runs over frequency. :func:`stft` returns the
    librosa layout ``(..., n_freq, n_frames)``.
    """

    def __init__(self, params: StftParams, n_channels: int, *,
                 frames_per_chunk: int = FRAMES_PER_CHUNK):
        self.params = params
        self.n_channels = n_channels
        self.frames_per_chunk = frames_per_chunk
        self._window = params.fft_window()
        pad = params.n_fft // 2 if params.center else 0
        self._buffer = np.zeros((n_channels, pad))
        self._samples_in = 0
        self.frames_out = 0

    def _emit(self, final: bool) -> Iterator[np.ndarray]:
        """Yield signal segments, each holding up to ``frames_per_chunk`` whole frames."""
        n_fft, hop = self.params.n_fft, self.params.hop_length
        available = self._buffer.shape[-1]
        count = 0 if available < n_fft else 1 + (available - n_fft) // hop
        start = 0
        # also a last short chunk of at least half the size: the samples kept for the next
        # block (copied again with it) are then fewer than half a chunk's
        least = 1 if final else max(1, self.frames_per_chunk // 2)
        while count - start >= least:
            k = min(self.frames_per_chunk, count - start)
            first = start * hop
            # a view: the buffer is replaced, never written in place, so it stays valid
            yield self._buffer[:, first : first + (k - 1) * hop + n_fft]
            start += k
        self.frames_out += start
        self._buffer = self._buffer[:, start * hop :]

    @property
    def samples_in(self) -> int:
        """Samples pushed so far (per channel)."""
        return self._samples_in

    def transform(self, segment: np.ndarray, *, work: dict | None = None) -> np.ndarray:
        """Windowed real FFT of every frame in a segment: shape (n_channels, k, n_freq).

        ``work`` is an optional dict of scratch arrays owned by the calling thread; reusing
        them avoids page-faulting fresh megabytes for every chunk.
        """
        n_fft, hop = self.params.n_fft, self.params.hop_length
        frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft, axis=-1)[:, ::hop]
        if work is None:
            return np.fft.rfft(frames * self._window, axis=-1)
        windowed = scratch(work, "windowed", frames.shape, np.float64)
        np.multiply(frames, self._window, out=windowed)
        spectrum = scratch(work, "spectrum", frames.shape[:-1] + (self.params.n_freq,),
                           np.complex128)
        return np.fft.rfft(windowed, axis=-1, out=spectrum)

    def push(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """Add samples (shape (n_channels, n)); yield the segments of frames now complete."""
        self._samples_in += block.shape[-1]
        self._buffer = np.concatenate([self._buffer, block], axis=-1)
        yield from self._emit(final=False)

    def finish(self) -> Iterator[np.ndarray]:
        """Pad the end as librosa does and yield the remaining segments."""
        _check_length(self._samples_in, self.params)
        if self.params.center:
            pad = np.zeros((self.n_channels, self.params.n_fft // 2))
            self._buffer = np.concatenate([self._buffer, pad], axis=-1)
        yield from self._emit(final=True)

    def segments(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """All segments of a stream of blocks; :meth:`transform` turns each into spectra."""
        for block in blocks:
            yield from self.push(block)
        yield from self.finish()

    def run(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Complex spectra, shape (n_channels, k, n_freq), of a stream of blocks."""
        for segment in self.segments(blocks):
            yield self.transform(segment)


def stft(
    y: np.ndarray,
    *,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str | tuple | float | np.ndarray = "hann",
    center: bool = True,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Complex STFT of ``y``, framed as ``librosa.stft`` frames it, in double precision.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n_samples)]
        Real signal.
    n_fft, hop_length, win_length, window, center
        librosa's parameters and defaults.
    pad_mode : {"constant"}
        Only zero padding (librosa's default) is supported.

    Returns
    -------
    D : np.ndarray [shape=(..., 1 + n_fft // 2, n_frames), dtype=complex128]
    """
    if pad_mode != "constant":
        raise ParameterError(f"{pad_mode=} is not supported; only 'constant' (zero) padding")
    params = StftParams(n_fft, hop_length, win_length, window, center)
    y = np.asarray(y)
    if y.ndim == 0 or np.iscomplexobj(y):
        raise ParameterError("y must be a real array of shape (..., n_samples)")
    if not np.isfinite(y).all():
        raise ParameterError("y contains NaN or infinite values")
    lead = y.shape[:-1]
    flat = y.reshape(-1, y.shape[-1]).astype(np.float64, copy=False)
    stream = FrameStream(params, flat.shape[0])
    chunks = list(stream.run([flat]))
    frames = np.concatenate(chunks, axis=1) if chunks else np.zeros((flat.shape[0], 0, 0))
    return np.swapaxes(frames, -1, -2).reshape(*lead, params.n_freq, -1)
