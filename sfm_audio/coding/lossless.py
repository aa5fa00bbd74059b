"""The lossless bound: short-time spectral reverse water-filling at one LSB of distortion.

Integer PCM samples carry quantization noise of ``Delta**2 / 12`` (``Delta`` = one LSB). Coding
them without further loss needs, for a locally Gaussian source, at least the rate of reverse
water-filling on the short-time spectrum at ``theta = Delta**2 / 12``: per Hann frame (4096
samples, hop 2048, periodogram normalised by ``sum(w**2)``), the mean over all frequency bins of
``max(0, 1/2 log2(P / theta))``, averaged over frames. Entropy-coded scalar quantization pays
about ``ECSQ_GAP_BITS`` more on every active bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import ParameterError
from .quantize import ECSQ_GAP_BITS

__all__ = ["LosslessBound", "LosslessResult", "lossless_bound", "to_int16"]

FRAME = 4096
HOP = 2048


def to_int16(y: np.ndarray) -> np.ndarray:
    """Quantize float samples in [-1, 1) to 16-bit PCM (``round(y * 32768)``, clipped).

    Samples read from a 16-bit file come back exactly.
    """
    y = np.asarray(y, dtype=np.float64)
    return np.clip(np.rint(y * 32768.0), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class LosslessResult:
    """Bits per sample of the lossless bound, with and without the ECSQ gap."""

    bound_bits_per_sample: float
    bound_ecsq_bits_per_sample: float
    active_fraction: float
    frames: int


class LosslessBound:
    """Accumulate the lossless bound over integer samples given in pieces.

    Parameters
    ----------
    step : float
        Quantizer step ``Delta`` in the units of the samples (1.0 for integer PCM).
    frame, hop : int
        Hann frame length and hop.
    """

    def __init__(self, *, step: float = 1.0, frame: int = FRAME, hop: int = HOP) -> None:
        if not np.isfinite(step) or step <= 0:
            raise ParameterError(f"{step=} must be a positive finite number")
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 2:
            raise ParameterError(f"{frame=} must be an integer >= 2")
        if isinstance(hop, bool) or not isinstance(hop, (int, np.integer)) or hop < 1:
            raise ParameterError(f"{hop=} must be a positive integer")
        self.theta = step**2 / 12.0
        self.frame, self.hop = int(frame), int(hop)
        n = np.arange(self.frame)
        self.window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / self.frame)
        self._norm = float((self.window**2).sum())
        # weight of each rfft bin in the mean over all `frame` bins of the full spectrum
        w = np.full(self.frame // 2 + 1, 2.0)
        w[0] = 1.0
        if self.frame % 2 == 0:
            w[-1] = 1.0
        self._weights = w / self.frame
        self._rate = 0.0
        self._active = 0.0
        self.frames = 0
        self.samples = 0
        self._carry = np.zeros(0)

    def _add(self, frames: np.ndarray) -> None:
        spectra = np.fft.rfft(frames * self.window, axis=-1)
        P = (spectra.real**2 + spectra.imag**2) / self._norm
        with np.errstate(divide="ignore"):
            r = np.maximum(0.0, 0.5 * np.log2(P / self.theta))
        self._rate += float((r @ self._weights).sum())
        self._active += float(((P > self.theta) @ self._weights).sum())
        self.frames += frames.shape[0]

    def update(self, samples: np.ndarray) -> None:
        """Add the next piece of samples (shape (n,), integer-valued)."""
        s = np.asarray(samples, dtype=np.float64)
        self.samples += s.size
        x = np.concatenate([self._carry, s])
        if x.size < self.frame:
            self._carry = x
            return
        frames = np.lib.stride_tricks.sliding_window_view(x, self.frame)[:: self.hop]
        self._add(frames)
        self._carry = x[frames.shape[0] * self.hop:].copy()

    def result(self) -> LosslessResult:
        """The bound. A signal shorter than one frame is zero-padded to one frame."""
        if self.samples == 0:
            raise ParameterError("the lossless bound needs at least one sample")
        rate, active, frames = self._rate, self._active, self.frames
        if frames == 0:
            padded = np.zeros(self.frame)
            padded[: self._carry.size] = self._carry
            self._add(padded[None, :])
            rate, active, frames = self._rate, self._active, self.frames
            self._rate = self._active = 0.0
            self.frames = 0
        bound = rate / frames
        fraction = active / frames
        return LosslessResult(
            bound_bits_per_sample=bound,
            bound_ecsq_bits_per_sample=float(bound + ECSQ_GAP_BITS * fraction),
            active_fraction=fraction,
            frames=frames,
        )


def lossless_bound(samples: np.ndarray, *, step: float = 1.0) -> LosslessResult:
    """Lossless bound of integer samples (shape (n,)) in bits per sample.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.rint(rng.normal(0, 1000, 1 << 16))
    >>> r = lossless_bound(x)   # white: 1/2 log2(1000^2 * 12) + E[log] bias of a periodogram
    >>> 11.0 < r.bound_bits_per_sample < 11.6
    True
    """
    acc = LosslessBound(step=step)
    acc.update(samples)
    return acc.result()
