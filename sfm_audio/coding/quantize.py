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
    k_max = int(np.ceil(40.0 * std / step)) + 1
    k = np.arange(-k_max, k_max + 1)
    p = ndtr((k + 0.5) * step / std) - ndtr((k - 0.5) * step / std)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())
