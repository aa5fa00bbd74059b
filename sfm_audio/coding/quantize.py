"""Uniform mid-tread scalar quantization with midpoint or centroid reconstruction.

The step of an active coefficient follows from the water level: ``step**2 / 12 = theta``, the
high-resolution distortion of a uniform quantizer. Inactive coefficients are not quantized at
all: their index is 0 and they are reconstructed as 0.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.special import ndtr

from .._errors import ParameterError
from ..validate import positive_float

__all__ = [
    "Reconstruction",
    "RECONSTRUCTIONS",
    "ECSQ_GAP_BITS",
    "step_for_theta",
    "quantize",
    "dequantize",
    "centroid_offsets",
    "uniform_quantizer_entropy",
    "uniform_quantizer_distortion",
    "ecsq_gaussian",
]

Reconstruction = Literal["midpoint", "centroid"]
RECONSTRUCTIONS = ("midpoint", "centroid")

#: High-rate gap of entropy-coded uniform scalar quantization to the Gaussian R(D), in bits:
#: ``1/2 log2(pi e / 6)`` = 0.254614 bit (1.5329 dB).
ECSQ_GAP_BITS = 0.5 * np.log2(np.pi * np.e / 6.0)

#: centroid offsets are sent with this many bits each, as multiples of 1 / 2**bits in [0, 1/2)
OFFSET_BITS = 8


def validate_reconstruction(reconstruction: str) -> str:
    if reconstruction not in RECONSTRUCTIONS:
        raise ParameterError(f"{reconstruction=} must be 'midpoint' or 'centroid'",
                             param="reconstruction")
    return reconstruction


def step_for_theta(theta: float) -> float:
    """Quantizer step whose uniform-noise distortion ``step**2 / 12`` equals ``theta``."""
    return float(np.sqrt(12.0 * positive_float(theta, "theta")))


def quantize(coefficients: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Mid-tread quantization indices ``round(c / step)`` (ties to even).

    Parameters
    ----------
    coefficients : np.ndarray [shape=(..., n)]
    steps : np.ndarray [shape=(n,)]
        Step of each coefficient; ``inf`` marks an inactive coefficient (index 0).

    Returns
    -------
    indices : np.ndarray [shape=(..., n), dtype=int64]
    """
    c = np.asarray(coefficients, dtype=np.float64)
    inverse = 1.0 / np.asarray(steps, dtype=np.float64)
    return np.rint(c * inverse).astype(np.int64)


def dequantize(
    indices: np.ndarray, steps: np.ndarray, *, offsets: np.ndarray | None = None
) -> np.ndarray:
    """Reconstruction values of quantization indices.

    Parameters
    ----------
    indices : np.ndarray [shape=(..., n)]
    steps : np.ndarray [shape=(n,)]
        ``inf`` for inactive coefficients (reconstructed as 0).
    offsets : np.ndarray [shape=(n,)] or None
        ``None``: midpoint reconstruction ``i * step``. Otherwise centroid reconstruction:
        every non-zero index moves toward zero by ``offset * step``,
        ``sign(i) (|i| - offset) step``.

    Returns
    -------
    values : np.ndarray [shape=(..., n), dtype=float64]
    """
    steps = np.asarray(steps, dtype=np.float64)
    finite = np.where(np.isfinite(steps), steps, 0.0)
    i = np.asarray(indices, dtype=np.float64)
    if offsets is None:
        return i * finite
    shift = np.sign(i) * np.asarray(offsets, dtype=np.float64)
    return (i - shift) * finite


def centroid_offsets(
    sum_gap: np.ndarray, count_nonzero: np.ndarray
) -> np.ndarray:
    """Quantized centroid offsets from accumulated statistics.

    The least-squares offset of coefficient ``j`` is the mean of ``|i| - |c| / step`` over its
    non-zero indices; it is clipped to [0, 1/2) and rounded to a multiple of
    ``2**-OFFSET_BITS`` (the decoder receives it with ``OFFSET_BITS`` bits).

    Parameters
    ----------
    sum_gap : np.ndarray [shape=(n,)]
        ``sum(|i| - |c| / step)`` over non-zero indices.
    count_nonzero : np.ndarray [shape=(n,)]

    Returns
    -------
    offsets : np.ndarray [shape=(n,)]
    """
    count = np.asarray(count_nonzero, dtype=np.float64)
    mean = np.divide(sum_gap, count, out=np.zeros_like(count), where=count > 0)
    scale = 2.0**OFFSET_BITS
    return np.clip(np.round(mean * scale), 0, scale / 2 - 1) / scale


def uniform_quantizer_entropy(std: float, step: float) -> float:
    """Entropy in bits of the mid-tread uniform quantizer's index on a N(0, std^2) source.

    Examples
    --------
    >>> round(uniform_quantizer_entropy(1.0, 1.0), 4)
    2.1048
    """
    std = positive_float(std, "std")
    step = positive_float(step, "step")
    if std / step > _HIGH_RESOLUTION:
        # h - log2(step) plus the first correction, step^2 J / 24 nats with the Fisher
        # information J = 1 / std^2 (the next term is below 1e-9 bit here)
        r2 = (step / std) ** 2
        return float(np.log2(std * np.sqrt(2.0 * np.pi * np.e) / step) + r2 / 24 / np.log(2))
    lo, hi, _ = _cells(std, step)
    p = ndtr(hi) - ndtr(lo)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


#: above this many steps per standard deviation the high-resolution forms (with their first
#: correction for the entropy) are exact to 1e-9
_HIGH_RESOLUTION = 50.0


def _cells(std: float, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell edges (in units of std) and centres of the mid-tread quantizer, +-40 std."""
    k_max = int(np.ceil(40.0 * std / step)) + 1
    k = np.arange(-k_max, k_max + 1)
    return (k - 0.5) * step / std, (k + 0.5) * step / std, k * step / std


def uniform_quantizer_distortion(std: float, step: float) -> float:
    """Mean squared error of the mid-tread uniform quantizer (midpoint reconstruction) on a
    N(0, std^2) source, exactly (closed-form Gaussian integrals over each cell).

    Tends to ``step**2 / 12`` at high resolution and to ``std**2`` when ``step >> std``.

    Examples
    --------
    >>> round(uniform_quantizer_distortion(1.0, 0.01) / (0.01**2 / 12), 6)
    1.0
    """
    std = positive_float(std, "std")
    step = positive_float(step, "step")
    if std / step > _HIGH_RESOLUTION:
        return step**2 / 12.0
    lo, hi, c = _cells(std, step)
    phi_lo, phi_hi = np.exp(-0.5 * lo**2), np.exp(-0.5 * hi**2)
    phi_lo, phi_hi = phi_lo / np.sqrt(2 * np.pi), phi_hi / np.sqrt(2 * np.pi)
    mass = ndtr(hi) - ndtr(lo)
    first = phi_lo - phi_hi                             # integral of u phi(u)
    second = mass + lo * phi_lo - hi * phi_hi           # integral of u^2 phi(u)
    return float(std**2 * (second - 2.0 * c * first + c**2 * mass).sum())


def ecsq_gaussian(variances: np.ndarray, theta: float) -> tuple[float, float]:
    """Rate and distortion of entropy-coded uniform scalar quantization of independent
    Gaussian components, allocated as the coder allocates them, exactly.

    Every component whose variance exceeds the water level ``theta`` is quantized with step
    ``sqrt(12 theta)`` (midpoint reconstruction) and its index ideally entropy coded; the
    others are not coded (error = their variance). At high rate this is the Gaussian R(D)
    plus :data:`ECSQ_GAP_BITS`; the gap shrinks below that only at low rate (below about 1
    bit per component).

    Parameters
    ----------
    variances : np.ndarray [shape=(n,)]
    theta : float > 0

    Returns
    -------
    rate, distortion : float
        Bits per sample and mean squared error per sample (means over the components).
    """
    v = np.asarray(variances, dtype=np.float64)
    step = step_for_theta(theta)
    rate, distortion = 0.0, 0.0
    for lam in v:
        if lam > theta:
            rate += uniform_quantizer_entropy(float(np.sqrt(lam)), step)
            distortion += uniform_quantizer_distortion(float(np.sqrt(lam)), step)
        else:
            distortion += lam
    return rate / v.size, distortion / v.size
