"""Entropy coding of quantization indices with a real range coder (``constriction``).

Every active coefficient gets its own static model: a quantized Gaussian or a quantized
Laplace distribution (whichever codes its indices in fewer bits), with a scale fitted to the
coefficient and the exact index range ``[lo, hi]`` it occupies. The model parameters are sent
as side information and counted in the bits. When the scale is large (very fine steps) the
index is split: the high part ``i >> shift`` is coded with the model, the ``shift`` low bits
with a uniform model, which keeps the alphabet small without measurable loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import constriction
import numpy as np
from scipy.special import ndtr

__all__ = [
    "CoefficientModel",
    "IndexStats",
    "fit_models",
    "index_code_lengths",
    "quantized_family",
    "high_part_mean",
    "low_bits_model",
    "new_encoder",
    "new_decoder",
    "MODEL_SIDE_BITS",
]

Family = Literal["inactive", "constant", "gaussian", "laplace"]
_FAMILIES = ("inactive", "constant", "gaussian", "laplace")

#: Side information per active coefficient: family (2 bits), lo and hi (32 bits each),
#: scale (float32) and shift (5 bits).
MODEL_SIDE_BITS = 2 + 32 + 32 + 32 + 5
#: half-width of the index histogram kept for exact model selection
_HIST = 2048
#: the model's scale, in high-part index units, is kept at or below this
_MAX_SCALE = 2.0**12
#: the high-part alphabet is kept below this size
_MAX_ALPHABET = 1 << 22
_SCALE_FACTORS = (0.7, 0.85, 1.0, 1.2, 1.4)
_MIN_PROB = 2.0**-24

_model = constriction.stream.model
_queue = constriction.stream.queue


@dataclass(frozen=True)
class CoefficientModel:
    """Entropy model of one coefficient's indices (what the decoder receives).

    Attributes
    ----------
    family : {"inactive", "constant", "gaussian", "laplace"}
        ``inactive``: no bits at all (index always 0); ``constant``: every index equals ``lo``.
    lo, hi : int
        Smallest and largest index.
    scale : float
        Standard deviation (Gaussian) or scale ``b`` (Laplace) in index units, float32-exact.
    shift : int
        Low bits coded with a uniform model.
    """

    family: Family
    lo: int = 0
    hi: int = 0
    scale: float = 1.0
    shift: int = 0
    _models: tuple = field(default=(), compare=False, repr=False)

    @property
    def side_bits(self) -> int:
        """Bits of side information (besides the one active flag every coefficient has)."""
        return 0 if self.family == "inactive" else MODEL_SIDE_BITS

    def _build(self) -> tuple:
        if self._models:
            return self._models
        high = low = None
        k = self.shift
        lo_h, hi_h = self.lo >> k, self.hi >> k
        if self.family in ("gaussian", "laplace") and hi_h > lo_h:
            scale = max(self.scale / 2**k, 1e-6)
            high = quantized_family(self.family, lo_h, hi_h, mean=high_part_mean(k), scale=scale)
        if self.family in ("gaussian", "laplace") and k:
            low = low_bits_model(k)
        models = (high, low)
        object.__setattr__(self, "_models", models)
        return models

    def encode(self, encoder, indices: np.ndarray) -> None:
        """Append ``indices`` (shape (m,), integers in [lo, hi]) to a range encoder."""
        if self.family in ("inactive", "constant"):
            return
        high, low = self._build()
        i = np.asarray(indices, dtype=np.int64)
        if high is not None:
            encoder.encode((i >> self.shift).astype(np.int32), high)
        if low is not None:
            encoder.encode((i & ((1 << self.shift) - 1)).astype(np.int32), low)

    def decode(self, decoder, count: int) -> np.ndarray:
        """Read ``count`` indices back from a range decoder, shape (count,), int64."""
        if self.family == "inactive":
            return np.zeros(count, dtype=np.int64)
        if self.family == "constant":
            return np.full(count, self.lo, dtype=np.int64)
        high, low = self._build()
        k = self.shift
        if high is not None:
            i = decoder.decode(high, count).astype(np.int64) << k
        else:
            i = np.full(count, (self.lo >> k) << k, dtype=np.int64)
        if low is not None:
            i += decoder.decode(low, count)
        return i

    def code_lengths(self, indices: np.ndarray) -> np.ndarray:
        """Information content of each index under this model, ``-log2 p(i)`` in bits.

        What an ideal entropy coder spends on them; the range coder spends their sum to
        within a few bits per segment. The ``shift`` low bits count ``shift`` bits each; the
        high part is evaluated without the half-step offset :meth:`encode` gives it when
        ``shift > 0``.

        Parameters
        ----------
        indices : np.ndarray [shape=(m,)]
            Integers in ``[lo, hi]``.

        Returns
        -------
        bits : np.ndarray [shape=(m,)]
        """
        i = np.asarray(indices, dtype=np.int64)
        bits = np.zeros(i.shape)
        if self.family in ("inactive", "constant"):
            return bits
        k = self.shift
        bits += k
        lo_h, hi_h = self.lo >> k, self.hi >> k
        if hi_h > lo_h:
            p = _pmf(self.family, lo_h, hi_h, max(self.scale / 2**k, 1e-6))
            bits -= np.log2(p[(i >> k) - lo_h])
        return bits


class IndexStats:
    """Statistics of the indices and scaled coefficients of ``n`` coefficients, accumulated.

    Parameters
    ----------
    n : int
        Number of coefficients (columns).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.lo = np.full(n, np.iinfo(np.int64).max)
        self.hi = np.full(n, np.iinfo(np.int64).min)
        self.sum_sq = np.zeros(n)
        self.sum_abs = np.zeros(n)
        self.sum_gap = np.zeros(n)
        self.nonzero = np.zeros(n)
        self.hist = np.zeros((n, 2 * _HIST), dtype=np.int64)

    def update(self, scaled: np.ndarray, indices: np.ndarray, active: np.ndarray) -> None:
        """Add rows: ``scaled`` = coefficients / step, ``indices``, both shape (m, n)."""
        m = indices.shape[0]
        if m == 0:
            return
        self.count += m
        self.lo = np.minimum(self.lo, indices.min(axis=0))
        self.hi = np.maximum(self.hi, indices.max(axis=0))
        cols = np.flatnonzero(active)
        if cols.size == 0:
            return
        s = scaled[:, cols]
        i = indices[:, cols]
        self.sum_sq[cols] += np.einsum("ij,ij->j", s, s)
        a = np.abs(s)
        self.sum_abs[cols] += a.sum(axis=0)
        ai = np.abs(i)
        nz = ai > 0
        self.sum_gap[cols] += np.where(nz, ai - a, 0.0).sum(axis=0)
        self.nonzero[cols] += nz.sum(axis=0)
        keys = np.clip(i, -_HIST, _HIST - 1) + _HIST + (np.arange(cols.size) * 2 * _HIST)
        counts = np.bincount(keys.ravel(), minlength=cols.size * 2 * _HIST)
        self.hist[cols] += counts.reshape(cols.size, 2 * _HIST)


def _cdf(family: str, x: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Distribution function of a zero-mean Gaussian (std ``scale``) or Laplace (``b``)."""
    if family == "gaussian":
        return ndtr(x / scale)
    z = x / scale
    tail = 0.5 * np.exp(-np.abs(z))
    return np.where(z < 0, tail, 1.0 - tail)


def _pmf(family: str, lo: int, hi: int, scale: float) -> np.ndarray:
    """Probabilities of ``lo..hi`` as constriction's quantized models give them: the mass
    beyond ``lo - 1/2`` and ``hi + 1/2`` goes to the two end symbols (it is not spread by
    renormalizing), and no symbol falls below ``_MIN_PROB``."""
    cdf = _cdf(family, np.arange(lo, hi + 2) - 0.5, scale)
    cdf[0], cdf[-1] = 0.0, 1.0
    return np.maximum(np.diff(cdf), _MIN_PROB)


def index_code_lengths(
    family: str, indices: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """``-log2 p(i)`` of each index under its own quantized model, elementwise.

    The same probabilities as :meth:`CoefficientModel.code_lengths` (tails to the end
    symbols, floor ``2**-24``), but every index may have its own range and scale, so the
    code lengths of many models are computed in one vectorised call.

    Parameters
    ----------
    family : {"gaussian", "laplace"}
    indices, lo, hi, scale : np.ndarray
        Broadcast together; ``lo <= indices <= hi``, ``lo < hi``, ``scale > 0``.

    Returns
    -------
    bits : np.ndarray
    """
    i = np.asarray(indices, dtype=np.float64)
    upper = np.where(i >= hi, 1.0, _cdf(family, i + 0.5, scale))
    lower = np.where(i <= lo, 0.0, _cdf(family, i - 0.5, scale))
    return -np.log2(np.maximum(upper - lower, _MIN_PROB))


def _fit_one(stats: IndexStats, j: int) -> CoefficientModel:
    lo, hi = int(stats.lo[j]), int(stats.hi[j])
    if lo == hi:
        return CoefficientModel("constant", lo, hi)
    m = stats.count
    sigma = max(np.sqrt(stats.sum_sq[j] / m), 1e-6)
    b = max(stats.sum_abs[j] / m, 1e-6)
    shift = max(0, int(np.ceil(np.log2(max(sigma, b) / _MAX_SCALE))))
    while (hi >> shift) - (lo >> shift) >= _MAX_ALPHABET:
        shift += 1
    if shift == 0 and lo >= -_HIST and hi < _HIST:
        hist = stats.hist[j, lo + _HIST: hi + _HIST + 1]
        best = None
        for family, base in (("gaussian", sigma), ("laplace", b)):
            for f in _SCALE_FACTORS:
                scale = float(np.float32(base * f))
                bits = -(hist * np.log2(_pmf(family, lo, hi, scale))).sum()
                if best is None or bits < best[0]:
                    best = (bits, family, scale)
        _, family, scale = best
    else:
        gaussian_bits = np.log2(sigma * np.sqrt(2.0 * np.pi * np.e))
        laplace_bits = np.log2(2.0 * np.e * b)
        family, scale = ("gaussian", sigma) if gaussian_bits <= laplace_bits else ("laplace", b)
        scale = float(np.float32(scale))
    return CoefficientModel(family, lo, hi, scale, shift)


def fit_models(stats: IndexStats, active: np.ndarray) -> list[CoefficientModel]:
    """One model per coefficient from accumulated statistics (``inactive`` where not active)."""
    return [
        _fit_one(stats, j) if active[j] else CoefficientModel("inactive")
        for j in range(stats.n)
    ]


def quantized_family(family: str, lo: int, hi: int, *, mean: float | None = None,
                     scale: float | None = None):
    """constriction's quantized Gaussian or Laplace on ``[lo, hi]``.

    With ``mean`` and ``scale`` None, they are given per symbol (arrays) to the coder's
    ``encode(symbols, model, means, scales)`` and ``decode(model, means, scales)``: one call
    codes symbols of many scales.
    """
    cls = _model.QuantizedGaussian if family == "gaussian" else _model.QuantizedLaplace
    if mean is None or scale is None:
        return cls(lo, hi)
    return cls(lo, hi, mean, scale)


def high_part_mean(shift: int) -> float:
    """Mean of the high part ``i >> shift`` of indices centred on 0 (0 when ``shift == 0``)."""
    return 0.5 - 0.5 / 2**shift if shift else 0.0


def low_bits_model(shift: int):
    """Uniform model of the ``shift`` low bits sent raw."""
    return _model.Uniform(1 << shift)


def new_encoder():
    """A fresh ``constriction.stream.queue.RangeEncoder``."""
    return _queue.RangeEncoder()


def new_decoder(compressed: np.ndarray):
    """A ``constriction.stream.queue.RangeDecoder`` over compressed words (uint32)."""
    return _queue.RangeDecoder(np.asarray(compressed, dtype=np.uint32))
