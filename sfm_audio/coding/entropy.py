"""Entropy coding of quantization indices with a real range coder (``constriction``).

Every active coefficient gets its own static model: a quantized Gaussian or a quantized
Laplace distribution (whichever codes its indices in fewer bits), with a scale fitted to the
coefficient and the exact index range ``[lo, hi]`` it occupies. The model parameters are sent
as side information and counted in the bits. When the scale is large (very fine steps) the
index is split: the high part ``i >> shift`` is coded with the model, the ``shift`` low bits
with a uniform model, which keeps the alphabet small without measurable loss.

The range coder codes with the model's probability table (``constriction``'s ``Categorical``,
built once per coefficient from the parameters sent, as the decoder rebuilds it): a table
lookup codes 4-7 times faster than evaluating the parametric model symbol by symbol. Only
alphabets longer than ``_MAX_TABLE`` symbols (very fine steps of heavy-tailed coefficients)
keep constriction's parametric model.
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
    "ColumnModels",
    "fit_models",
    "best_table_model",
    "HIST",
    "index_code_lengths",
    "quantized_family",
    "categorical_table",
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
HIST = 2048
#: the model's scale, in high-part index units, is kept at or below this
_MAX_SCALE = 2.0**12
#: the high-part alphabet is kept below this size
_MAX_ALPHABET = 1 << 22
_SCALE_FACTORS = (0.7, 0.85, 1.0, 1.2, 1.4)
_MIN_PROB = 2.0**-24
#: longest alphabet coded with a probability table; longer ones use the parametric model
_MAX_TABLE = 1 << 16

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
        """The range coder's models: ``(high, origin, low)``, ``high`` coding the high part
        ``i >> shift`` minus ``origin`` (a table over ``[lo_h, hi_h]``, so ``origin = lo_h``;
        0 for a parametric model, which takes the high part itself), ``low`` the low bits."""
        if self._models:
            return self._models
        high = low = None
        origin = 0
        k = self.shift
        lo_h, hi_h = self.lo >> k, self.hi >> k
        if self.family in ("gaussian", "laplace") and hi_h > lo_h:
            scale = max(self.scale / 2**k, 1e-6)
            if hi_h - lo_h < _MAX_TABLE:
                high = categorical_table(self.family, lo_h, hi_h, mean=high_part_mean(k),
                                         scale=scale)
                origin = lo_h
            else:
                high = quantized_family(self.family, lo_h, hi_h, mean=high_part_mean(k),
                                        scale=scale)
        if self.family in ("gaussian", "laplace") and k:
            low = low_bits_model(k)
        models = (high, origin, low)
        object.__setattr__(self, "_models", models)
        return models

    def encode(self, encoder, indices: np.ndarray) -> None:
        """Append ``indices`` (shape (m,), integers in [lo, hi]) to a range encoder."""
        if self.family in ("inactive", "constant"):
            return
        high, origin, low = self._build()
        i = np.asarray(indices, dtype=np.int64)
        if high is not None:
            encoder.encode(((i >> self.shift) - origin).astype(np.int32), high)
        if low is not None:
            encoder.encode((i & ((1 << self.shift) - 1)).astype(np.int32), low)

    def decode(self, decoder, count: int) -> np.ndarray:
        """Read ``count`` indices back from a range decoder, shape (count,), int64."""
        if self.family == "inactive":
            return np.zeros(count, dtype=np.int64)
        if self.family == "constant":
            return np.full(count, self.lo, dtype=np.int64)
        high, origin, low = self._build()
        k = self.shift
        if high is not None:
            i = (decoder.decode(high, count).astype(np.int64) + origin) << k
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


class ColumnModels:
    """The models of several coefficients, coding the rows of a segment in one go.

    The same code as :meth:`CoefficientModel.encode` and :meth:`CoefficientModel.decode`
    called coefficient by coefficient (same models, same order, so the same words), with the
    symbols of every coefficient prepared (shifted, offset, converted) in one array operation
    instead of one per coefficient. Indices come one row per coefficient, shape (k, m): each
    row is contiguous, as the range coder takes it.

    Parameters
    ----------
    models : sequence of CoefficientModel
        One per row.
    """

    def __init__(self, models) -> None:
        self.models = list(models)
        built = [m._build() if m.family in ("gaussian", "laplace") else (None, 0, None)
                 for m in self.models]
        self.high = [b[0] for b in built]
        self.low = [b[2] for b in built]
        self.shift = np.array([m.shift for m in self.models], dtype=np.int64)
        self.origin = np.array([b[1] for b in built], dtype=np.int64)
        # the high part of a coefficient that sends none: lo >> shift (0 for an inactive one)
        self.base = np.array([m.lo >> m.shift for m in self.models], dtype=np.int64)
        self.shifted = bool(self.shift.any())

    def _symbols(self, indices: np.ndarray, *, spend: bool = False
                 ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """The high-part symbols (k, m) int32 and, per shifted row, its low bits (``spend``:
        ``indices``, whole floats, may be overwritten)."""
        if not self.shifted:  # indices given as whole floats convert the same way
            if spend and indices.dtype == np.float64:
                return np.subtract(indices, self.origin[:, np.newaxis],
                                   out=indices).astype(np.int32), {}
            return (indices - self.origin[:, np.newaxis]).astype(np.int32), {}
        i = np.asarray(indices, dtype=np.int64)
        high = (i >> self.shift[:, np.newaxis]) - self.origin[:, np.newaxis]
        low = {j: (i[j] & ((1 << int(k)) - 1)).astype(np.int32)
               for j, k in enumerate(self.shift) if self.low[j] is not None}
        return high.astype(np.int32), low

    def _encode(self, encoder, high: np.ndarray, low: dict[int, np.ndarray]) -> None:
        for j, model in enumerate(self.high):
            if model is not None:
                encoder.encode(high[j], model)
            if j in low:
                encoder.encode(low[j], self.low[j])

    def encode(self, encoder, indices: np.ndarray) -> None:
        """Append ``indices`` (shape (k, m), row ``j`` in model ``j``'s range)."""
        self._encode(encoder, *self._symbols(indices))

    def decode(self, decoder, count: int) -> np.ndarray:
        """Read ``count`` indices of every row back, shape (k, count), int64."""
        out = np.empty((len(self.models), count), dtype=np.int64)
        low_bits = {}
        for j, (model, low) in enumerate(zip(self.high, self.low)):
            if model is not None:
                out[j] = decoder.decode(model, count)
                out[j] += self.origin[j]
            else:
                out[j] = self.base[j]
            if low is not None:
                low_bits[j] = decoder.decode(low, count)
        if self.shifted:
            out <<= self.shift[:, np.newaxis]
            for j, bits in low_bits.items():
                out[j] += bits
        return out

    def code(self, indices: np.ndarray, *, spend: bool = False) -> tuple[np.ndarray, bool]:
        """Range-code ``indices`` (shape (k, m)) as one segment, decode it, and compare.

        Returns the segment's words and whether the decoder read back exactly the symbols
        sent (high parts and low bits, which together are the indices; a row that sends
        nothing is checked to hold the one index its model allows), compared as symbols:
        no indices are assembled from them. ``spend``: the caller has no further use for
        ``indices`` (whole floats), which then hold the symbols' working copy.
        """
        high, low = self._symbols(indices, spend=spend)
        encoder = new_encoder()
        self._encode(encoder, high, low)
        words = encoder.get_compressed()
        decoder = new_decoder(words)
        count = high.shape[1]
        got = np.empty_like(high)
        same = True
        for j, model in enumerate(self.high):  # in the order they were sent
            got[j] = self.base[j] if model is None else decoder.decode(model, count)
            if j in low:
                same &= bool(np.array_equal(decoder.decode(self.low[j], count), low[j]))
        return words, same and bool(np.array_equal(got, high))


class IndexStats:
    """Statistics of the indices and scaled coefficients of ``n`` coefficients, accumulated.

    Parameters
    ----------
    n : int
        Number of coefficients (columns).
    gaps : bool
        Also accumulate ``sum_gap`` and ``nonzero`` (what centroid reconstruction needs).
    """

    def __init__(self, n: int, *, gaps: bool = True) -> None:
        self.n = n
        self.gaps = gaps
        self.count = 0
        self.lo = np.full(n, np.iinfo(np.int64).max)
        self.hi = np.full(n, np.iinfo(np.int64).min)
        self.sum_sq = np.zeros(n)
        self.sum_abs = np.zeros(n)
        self.sum_gap = np.zeros(n)
        self.nonzero = np.zeros(n)
        #: counts of the indices ``-HIST .. HIST - 1`` of each coefficient; complete for the
        #: coefficients whose indices all lie there, the only ones it is used for
        self.hist = np.zeros((n, 2 * HIST), dtype=np.int64)

    def update(self, scaled: np.ndarray, indices: np.ndarray, active: np.ndarray) -> None:
        """Add rows: ``scaled`` = coefficients / step, ``indices``, both shape (m, n)."""
        m = indices.shape[0]
        if m == 0:
            return
        active = np.asarray(active, dtype=bool)
        rest = np.flatnonzero(~active)
        if rest.size:
            self.lo[rest] = np.minimum(self.lo[rest], indices[:, rest].min(axis=0))
            self.hi[rest] = np.maximum(self.hi[rest], indices[:, rest].max(axis=0))
        cols = np.flatnonzero(active)
        self.update_columns(scaled[:, cols].T, indices[:, cols].T, cols)

    def update_columns(self, scaled: np.ndarray, indices: np.ndarray, cols: np.ndarray) -> None:
        """Add the rows of the coefficients ``cols`` only: ``scaled`` and ``indices`` of
        shape (cols.size, m), one row per coefficient, row ``c`` belonging to coefficient
        ``cols[c]``.

        Coefficients not in ``cols`` keep their statistics (their count still grows by
        ``m``: it counts the blocks of the signal).
        """
        m = indices.shape[1]
        if m == 0:
            return
        self.count += m
        cols = np.asarray(cols, dtype=np.intp)
        if cols.size == 0:
            return
        lo, hi = indices.min(axis=1), indices.max(axis=1)
        self.lo[cols] = np.minimum(self.lo[cols], lo)
        self.hi[cols] = np.maximum(self.hi[cols], hi)
        self.sum_sq[cols] += np.einsum("ij,ij->i", scaled, scaled)
        a = np.abs(scaled)
        self.sum_abs[cols] += a.sum(axis=1)
        if self.gaps:
            ai = np.abs(indices)
            nz = ai > 0
            self.sum_gap[cols] += np.where(nz, ai - a, 0.0).sum(axis=1)
            self.nonzero[cols] += nz.sum(axis=1)
        # the histogram of a coefficient is used only when all its indices lie in
        # [-HIST, HIST): one bincount over the ranges these rows span, then each range
        # added where it belongs (no clipping, no full-width counts per segment)
        inside = np.flatnonzero((lo >= -HIST) & (hi < HIST))
        if inside.size == 0:
            return
        i = indices if inside.size == cols.size else indices[inside]
        lo, width = lo[inside], hi[inside] - lo[inside] + 1
        start = np.cumsum(width) - width
        counts = np.bincount((i + (start - lo)[:, np.newaxis]).ravel(),
                             minlength=int(start[-1] + width[-1]))
        where = np.repeat(cols[inside] * (2 * HIST) + lo + HIST - start, width)
        self.hist.reshape(-1)[where + np.arange(where.size)] += counts


def _cdf(family: str, x: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Distribution function of a zero-mean Gaussian (std ``scale``) or Laplace (``b``)."""
    if family == "gaussian":
        return ndtr(x / scale)
    z = x / scale
    tail = 0.5 * np.exp(-np.abs(z))
    return np.where(z < 0, tail, 1.0 - tail)


def _pmf(family: str, lo: int, hi: int, scale: float, mean: float = 0.0) -> np.ndarray:
    """Probabilities of ``lo..hi`` as constriction's quantized models give them: the mass
    beyond ``lo - 1/2`` and ``hi + 1/2`` goes to the two end symbols (it is not spread by
    renormalizing), and no symbol falls below ``_MIN_PROB``."""
    cdf = _cdf(family, np.arange(lo, hi + 2) - 0.5 - mean, scale)
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
    if shift == 0 and lo >= -HIST and hi < HIST:
        hist = stats.hist[j, lo + HIST: hi + HIST + 1]
        _, family, scale = best_table_model(hist, lo, hi, sigma=sigma, b=b)
    else:
        gaussian_bits = np.log2(sigma * np.sqrt(2.0 * np.pi * np.e))
        laplace_bits = np.log2(2.0 * np.e * b)
        family, scale = ("gaussian", sigma) if gaussian_bits <= laplace_bits else ("laplace", b)
        scale = float(np.float32(scale))
    return CoefficientModel(family, lo, hi, scale, shift)


def best_table_model(counts: np.ndarray, lo: int, hi: int, *, sigma: float,
                     b: float) -> tuple[float, Family, float]:
    """The model a coefficient with these index counts is sent with: of the quantized
    Gaussian (scale ``sigma``) and Laplace (scale ``b``) on ``[lo, hi]``, each at the scale
    factors the coder tries, the one that codes the counts in the fewest bits.

    Parameters
    ----------
    counts : np.ndarray [shape=(hi - lo + 1,)]
        How often each index ``lo .. hi`` occurs (or its probability: the bits are then
        per index).
    lo, hi : int
    sigma, b : float
        Root mean square and mean magnitude of the indices (positive).

    Returns
    -------
    (bits, family, scale)
    """
    best = None
    edges = np.arange(lo, hi + 2) - 0.5
    for family, base in (("gaussian", sigma), ("laplace", b)):
        # every scale factor's probabilities at once, as _pmf gives them one by one
        scales = np.array([np.float32(base * f) for f in _SCALE_FACTORS], dtype=np.float64)
        cdf = _cdf(family, edges[np.newaxis, :], scales[:, np.newaxis])
        cdf[:, 0], cdf[:, -1] = 0.0, 1.0
        bits = -(counts * np.log2(np.maximum(np.diff(cdf, axis=1), _MIN_PROB))).sum(axis=1)
        for scale, value in zip(scales, bits):
            if best is None or value < best[0]:
                best = (float(value), family, float(scale))
    return best


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


def categorical_table(family: str, lo: int, hi: int, *, mean: float, scale: float):
    """constriction's ``Categorical`` over the symbols ``0 .. hi - lo`` standing for the
    indices ``lo .. hi``, with the probabilities of the quantized Gaussian or Laplace of that
    mean and scale (tails to the end symbols, as :func:`quantized_family`'s models give them).

    Built from the parameters alone, so the decoder rebuilds the very same table. Codes the
    same symbols as the parametric model in about the same bits (both round the
    probabilities to 24-bit fixed point), 4-7 times faster.
    """
    return _model.Categorical(_pmf(family, lo, hi, scale, mean), perfect=False)


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
