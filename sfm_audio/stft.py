"""Short-time Fourier transform framed exactly as ``librosa.stft``, whole or streamed.

Frames are cut the way librosa cuts them (window padded to ``n_fft`` at the centre; with
``center=True`` the signal is padded with ``n_fft // 2`` zeros at both ends), and the FFT runs
in double precision. :class:`FrameStream` produces the same frames block by block, so a long
file streams with bounded memory and yields exactly the whole-array result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ._errors import ParameterError

__all__ = ["StftParams", "get_window", "stft", "FrameStream", "n_frames", "frame_times"]

# a + b cos(x) + c cos(2x) coefficients of scipy's general_cosine windows; evaluated the way
# scipy evaluates them so the values are bit-identical, without importing scipy.signal (0.5 s).
_COSINE_WINDOWS = {
    "hann": (0.5, 0.5),
    "hanning": (0.5, 0.5),
    "hamming": (0.54, 1.0 - 0.54),  # scipy computes 1 - alpha; 0.46 differs by an ulp
    "blackman": (0.42, 0.50, 0.08),
}


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def get_window(window: str | tuple | float | np.ndarray, win_length: int) -> np.ndarray:
    """Periodic ("fftbins") window of ``win_length`` samples, as ``librosa.filters.get_window``.

    ``window`` is any name or tuple ``scipy.signal.get_window`` accepts, a callable taking the
    length, or an array of ``win_length`` values.
    """
    if callable(window):
        return np.asarray(window(win_length), dtype=np.float64)
    if isinstance(window, str) and window.lower() in _COSINE_WINDOWS:
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
            raise ParameterError(f"unknown window {window!r}: {exc}") from None
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
        if not _is_int(self.n_fft) or self.n_fft <= 0:
            raise ParameterError(f"n_fft={self.n_fft!r} must be a positive integer")
        win = self.n_fft if self.win_length is None else self.win_length
        if not _is_int(win) or win <= 0:
            raise ParameterError(f"win_length={win!r} must be a positive integer")
        if win > self.n_fft:
            raise ParameterError(f"win_length={win} must be at most n_fft={self.n_fft}")
        hop = win // 4 if self.hop_length is None else self.hop_length
        if not _is_int(hop) or hop <= 0:
            raise ParameterError(f"hop_length={hop!r} must be a positive integer")
        object.__setattr__(self, "n_fft", int(self.n_fft))
        object.__setattr__(self, "win_length", int(win))
        object.__setattr__(self, "hop_length", int(hop))
        object.__setattr__(self, "center", bool(self.center))

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    def fft_window(self) -> np.ndarray:
        """The analysis window zero-padded at both sides to ``n_fft`` (librosa's pad_center)."""
        w = get_window(self.window, self.win_length)
        left = (self.n_fft - self.win_length) // 2
        return np.pad(w, (left, self.n_fft - self.win_length - left))


def n_frames(n_samples: int, params: StftParams) -> int:
    """Number of frames librosa produces for a signal of ``n_samples``."""
    padded = n_samples + (2 * (params.n_fft // 2) if params.center else 0)
    if padded < params.n_fft:
        return 0
    return 1 + (padded - params.n_fft) // params.hop_length


def frame_times(frames: np.ndarray, *, sr: float, hop_length: int) -> np.ndarray:
    """Frame index to time in seconds, ``frames * hop_length / sr`` (``librosa.frames_to_time``)."""
    return np.asarray(frames) * hop_length / float(sr)


def _scratch(work: dict, name: str, shape: tuple, dtype: type) -> np.ndarray:
    """A reusable array of ``shape`` from ``work``, allocated on first use or shape change."""
    array = work.get(name)
    if array is None or array.shape != shape:
        array = work[name] = np.empty(shape, dtype=dtype)
    return array


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
        Frames transformed together; a few hundred keep the working set in cache.

    Notes
    -----
    Output chunks have shape ``(n_channels, n_frames_chunk, n_freq)``: frequency last inside
    the library, because every reduction runs over frequency. :func:`stft` returns the
    librosa layout ``(..., n_freq, n_frames)``.
    """

    def __init__(self, params: StftParams, n_channels: int, *, frames_per_chunk: int = 256):
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
        while count - start >= (1 if final else self.frames_per_chunk):
            k = min(self.frames_per_chunk, count - start)
            first = start * hop
            # a view: the buffer is replaced, never written in place, so it stays valid
            yield self._buffer[:, first : first + (k - 1) * hop + n_fft]
            start += k
        self.frames_out += start
        self._buffer = self._buffer[:, start * hop :]

    def transform(self, segment: np.ndarray, *, work: dict | None = None) -> np.ndarray:
        """Windowed real FFT of every frame in a segment: shape (n_channels, k, n_freq).

        ``work`` is an optional dict of scratch arrays owned by the calling thread; reusing
        them avoids page-faulting fresh megabytes for every chunk.
        """
        n_fft, hop = self.params.n_fft, self.params.hop_length
        frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft, axis=-1)[:, ::hop]
        if work is None:
            return np.fft.rfft(frames * self._window, axis=-1)
        windowed = _scratch(work, "windowed", frames.shape, np.float64)
        np.multiply(frames, self._window, out=windowed)
        spectrum = _scratch(work, "spectrum", frames.shape[:-1] + (self.params.n_freq,),
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
