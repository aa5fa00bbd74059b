"""Lossless coding estimate: the Gaussian entropy rate of integer PCM from its short-time spectrum.

Integer samples (step ``Delta``) of a locally Gaussian source need, to be coded without loss,
about their entropy rate. Per frequency bin of the short-time spectrum ``S`` *of the integers*
(which already holds the rounding noise, ``theta = Delta**2 / 12`` per bin for a source that is
not deterministic) that is ``1/2 log2(2 pi e S / Delta**2)``: the differential entropy of a
Gaussian of the integers' variance, less ``log2 Delta``. This module estimates, per frame and
rfft bin,

    ``1/2 log2(max(S / theta, 1)) + 1/2 log2(2 pi e / 12)``,   ``theta = Delta**2 / 12``.

``theta`` is not added to ``S`` a second time: ``1/2 log2(1 + S / theta)`` would count the
rounding noise twice (+0.044 bit at 1 integer step of white noise, +0.008 at 2). For white
Gaussian integers of standard deviation ``sigma`` steps the estimate is
``1/2 log2(2 pi e (sigma**2 + 1/12))``, which equals the exact entropy of the rounded Gaussian
(the sum over its probability mass function) within 1e-5 bit for ``sigma >= 1``; the estimator
meets it within 0.02 bit at ``sigma`` = 1, 2 and 4 steps (``tests/test_coding_lossless.py``).
The floor at ``theta`` (0 bits beyond the gap) is for bins a Gaussian source cannot produce, a
spectrum below the rounding noise: a deterministic signal's (DC, a tone's empty bins, digital
silence in part of a frame). Below about 0.5 step the estimate tends to the gap
``1/2 log2(2 pi e / 12)`` = 0.2546 bit while the entropy tends to 0: an estimate, not a bound.
It is compared with what libFLAC spends (``scripts/lossless_flac.py`` explains the distance).

The step is the file's own: integers of its sample width, and within each frame the largest
power of two that divides every sample (the "wasted bits" FLAC also detects, so a 16-bit
recording stored as 24 bits is estimated as the 16-bit recording it is). A frame of digital
silence (every sample zero) costs 0 bits, as FLAC's constant subframes nearly do.

The spectrum ``S`` is a raw Hann periodogram (frames of 4096 samples, libFLAC's default block,
hop 2048, normalised by ``sum(w**2)``). Its bins are exponentially distributed around the true
spectrum, so ``log max(P / theta, 1)`` is biased low; the exact bias of an exponential bin,
:func:`exponential_log_bias`, is added back, evaluated at a local average of the periodogram
over 17 neighbouring bins (the plug-in value of the bin itself would leave up to 0.05 bit of
bias; the local average leaves about 0.01 bit at 1 step, as ``tests/test_coding_lossless.py``
checks). A multitaper estimate is deliberately not used: its sidelobes leak on tonal audio.

On non-stationary audio the number depends on the frame: a longer frame averages spectra that
change within it and, by concavity of the logarithm, gives a higher estimate (on the bundled
speech 8.28, 8.81, 9.29 and 9.96 bit/sample for frames of 512, 2048, 4096 and 8192 samples,
``scripts/coding_numbers.py``).
Only for a source that is Gaussian and stationary within a frame is it the entropy rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.special import exp1

from .._errors import ParameterError
from ..io import integer_bits
from ..validate import int_at_least, positive_int
from .quantize import ECSQ_GAP_BITS

__all__ = [
    "LosslessEstimate",
    "LosslessResult",
    "lossless_estimate",
    "exponential_log_bias",
    "periodogram",
    "spectral_rate",
    "pcm_width",
    "to_pcm",
]

FRAME = 4096
HOP = 2048
#: bins in the local average at which the bias correction is evaluated
SMOOTH_BINS = 17

#: width used for every other input (float, 32-bit, lossy-decoded)
DEFAULT_PCM_BITS = 16


def pcm_width(subtype: str) -> tuple[int, bool]:
    """Sample width a file is estimated and FLAC-coded at, and whether it had to be quantized.

    Integer subtypes of at most 24 bits (:func:`sfm_audio.io.integer_bits`) keep their
    integers, coded at the next FLAC width (8, 16 or 24; a 12-bit code at 16 bits is exact);
    anything else (float, 32-bit integer, MP3, Vorbis, ...) is quantized to 16 bits.

    Returns
    -------
    bits : int
    quantized : bool
        True when the file is not integer PCM of that width.
    """
    bits = integer_bits(subtype)
    if bits is not None and bits <= 24:
        return next(width for width in (8, 16, 24) if width >= bits), False
    return DEFAULT_PCM_BITS, True


def to_pcm(y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Quantize float samples in [-1, 1) to ``bits``-bit integers, ``round(y * 2**(bits-1))``.

    Clipped to the integer range. Samples read from a PCM file of that width come back
    exactly.

    Returns
    -------
    q : np.ndarray [shape=y.shape, dtype=int32]
    """
    if bits not in (8, 16, 24):
        raise ParameterError(f"{bits=} must be 8, 16 or 24", param="bits")
    scale = float(1 << (bits - 1))
    y = np.asarray(y, dtype=np.float64)
    return np.clip(np.rint(y * scale), -scale, scale - 1).astype(np.int32)


def exponential_log_bias(a: np.ndarray) -> np.ndarray:
    """``log2(max(a, 1)) / 2 - E[log2 max(a X, 1)] / 2`` for ``X`` exponential with mean 1, bits.

    The amount by which ``1/2 log2(max(P / theta, 1))`` of a periodogram bin ``P``
    (exponential around its mean ``S``, ``a = S / theta``) falls short of
    ``1/2 log2(max(a, 1))`` on average. Since ``E[ln max(a X, 1)] = E1(1/a)``, it is
    ``1/2 [ln max(a, 1) - E1(1/a)] / ln 2``: 0 for ``a -> 0``, ``-E1(1) / (2 ln 2) = -0.158``
    bit at ``a = 1`` (the floor lifts the mean there) and ``gamma / (2 ln 2) = 0.4164`` bit for
    ``a -> inf`` (the bias of a periodogram's log).

    Parameters
    ----------
    a : np.ndarray
        Non-negative ratios ``S / theta``.

    Returns
    -------
    bias : np.ndarray [shape=a.shape]
    """
    a = np.asarray(a, dtype=np.float64)
    z = 1.0 / np.maximum(a, 1e-300)
    # E1(z) underflows to 0 beyond z ~ 700, as it should (no bins there)
    with np.errstate(under="ignore"):
        e1 = exp1(np.minimum(z, 1e3))
    return 0.5 * (np.log(np.maximum(a, 1.0)) - e1) / np.log(2.0)


def periodogram(frames: np.ndarray) -> np.ndarray:
    """Hann periodograms ``|rfft(w x)|**2 / sum(w**2)`` of frames, shape (m, k) -> (m, k//2+1).

    For a stationary signal of spectrum ``S`` each bin's mean is (the window-smoothed) ``S``.
    """
    k = frames.shape[-1]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(k) / k)
    spectra = np.fft.rfft(frames * window, axis=-1)
    return (spectra.real**2 + spectra.imag**2) / float((window**2).sum())


def spectral_rate(a: np.ndarray, *, n_fft: int | None = None) -> np.ndarray:
    """Per-frame mean over frequency of ``1/2 log2(max(S / theta, 1))``, estimated without bias.

    Parameters
    ----------
    a : np.ndarray [shape=(n_frames, k // 2 + 1)]
        Periodograms of frames of ``k`` samples over ``theta`` (rfft bins).
    n_fft : int or None
        The frame length ``k``; default ``2 * (a.shape[-1] - 1)`` (even frames).

    Returns
    -------
    bits : np.ndarray [shape=(n_frames,)]
        ``1/2 log2(max(a, 1))`` plus :func:`exponential_log_bias` at a local average of ``a`` over
        ``SMOOTH_BINS`` bins, averaged over all ``k`` bins of the full spectrum.
    """
    a = np.asarray(a, dtype=np.float64)
    k = 2 * (a.shape[-1] - 1) if n_fft is None else int(n_fft)
    local = uniform_filter1d(a, min(SMOOTH_BINS, a.shape[-1]), axis=-1, mode="nearest")
    # the filter's running sums leave tiny negative values beside a tone's empty bins
    np.maximum(local, 0.0, out=local)
    bits = 0.5 * np.log2(np.maximum(a, 1.0)) + _bias_table(local)
    weights = np.full(a.shape[-1], 2.0)
    weights[0] = 1.0
    if k % 2 == 0:
        weights[-1] = 1.0  # Nyquist
    return bits @ (weights / k)


#: log10(a) grid of the tabulated bias; below it the bias is 0 to 1e-9, above it constant
_TABLE_LOG10 = np.linspace(-9.0, 13.0, 4401)
_TABLE = exponential_log_bias(10.0**_TABLE_LOG10)


def _bias_table(a: np.ndarray) -> np.ndarray:
    """:func:`exponential_log_bias` by linear interpolation in ``log10(a)`` (error < 1e-5;
    scipy's E1 costs about a microsecond a value where ``1/a`` is of order 1 to 50)."""
    step = _TABLE_LOG10[1] - _TABLE_LOG10[0]
    x = (np.log10(np.maximum(a, 1e-300)) - _TABLE_LOG10[0]) / step
    np.clip(x, 0.0, _TABLE.size - 1.0, out=x)  # below the grid: ~0; above it: the limit
    i = np.minimum(x.astype(np.intp), _TABLE.size - 2)
    x -= i
    return _TABLE[i] + x * (_TABLE[i + 1] - _TABLE[i])


@dataclass(frozen=True)
class LosslessResult:
    """The lossless estimate in bits per sample and how many frames it averages."""

    estimate_bits_per_sample: float
    frames: int


class LosslessEstimate:
    """Accumulate the lossless estimate over integer samples given in pieces.

    Parameters
    ----------
    frame, hop : int
        Hann frame length and hop.
    """

    def __init__(self, *, frame: int = FRAME, hop: int = HOP) -> None:
        self.frame = int_at_least(frame, "frame", 2)
        self.hop = positive_int(hop, "hop")
        self._sum = 0.0
        self.frames = 0
        self.samples = 0
        self._carry = np.zeros(0)

    def _add(self, frames: np.ndarray) -> None:
        # each frame's integer step: the largest power of two dividing all its samples
        common = np.bitwise_or.reduce(np.abs(frames.astype(np.int64)), axis=-1)
        silent = common == 0
        theta = np.where(silent, 1, common & -common).astype(np.float64) ** 2 / 12.0
        a = periodogram(frames) / theta[:, None]
        bits = spectral_rate(a, n_fft=frames.shape[-1]) + ECSQ_GAP_BITS
        self._sum += float(np.where(silent, 0.0, bits).sum())
        self.frames += frames.shape[0]

    def update(self, samples: np.ndarray) -> None:
        """Add the next piece of samples (shape (n,), integer-valued)."""
        s = np.asarray(samples, dtype=np.float64)
        if s.size and not np.array_equal(s, np.rint(s)):
            raise ParameterError("the lossless estimate needs integer samples")
        self.samples += s.size
        x = np.concatenate([self._carry, s])
        if x.size < self.frame:
            self._carry = x
            return
        frames = np.lib.stride_tricks.sliding_window_view(x, self.frame)[:: self.hop]
        self._add(frames)
        self._carry = x[frames.shape[0] * self.hop:].copy()

    def result(self) -> LosslessResult:
        """The estimate. A signal shorter than one frame is taken as one frame of its length."""
        if self.samples < 2:
            raise ParameterError(
                f"the lossless estimate needs at least 2 samples, got {self.samples}")
        total, frames = self._sum, self.frames
        if frames == 0:
            self._add(self._carry[None, :])
            total, frames = self._sum, self.frames
            self._sum, self.frames = 0.0, 0
        return LosslessResult(
            estimate_bits_per_sample=float(total / frames), frames=frames,
        )


def lossless_estimate(samples: np.ndarray) -> LosslessResult:
    """Lossless estimate of integer samples (shape (n,)) in bits per sample.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.rint(rng.normal(0, 1000, 1 << 17))
    >>> truth = 0.5 * np.log2(2 * np.pi * np.e * 1000**2)   # 12.0129 bit
    >>> abs(lossless_estimate(x).estimate_bits_per_sample - truth) < 0.02
    True
    """
    acc = LosslessEstimate()
    acc.update(samples)
    return acc.result()
