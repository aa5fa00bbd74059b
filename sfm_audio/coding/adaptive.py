"""Forward-adaptive coder of DCT blocks: one quantizer step, one range-coded model per sub-band.

Each sub-band of each block sends its own side information (largest index, model family,
quantized scale), so the decoder needs nothing from other blocks. Used by the per-frame
duality (:mod:`.duality`), which measures the bits it spends on each block.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._errors import ParameterError
from ..validate import int_at_least
from .entropy import (
    categorical_table,
    high_part_mean,
    index_code_lengths,
    low_bits_model,
)
from .quantize import quantize, step_for_theta

__all__ = [
    "SUBBANDS",
    "SCALE_STEPS_PER_OCTAVE",
    "SCALE_BITS",
    "AdaptiveBlockCoder",
    "SubbandModels",
]

#: sub-bands per block, each with its own model
SUBBANDS = 16
#: scales are sent as ``round(4 log2 scale)`` in 6 bits: 2**-4 .. 2**11.75 index units
SCALE_STEPS_PER_OCTAVE = 4
SCALE_BITS = 6
_Q_MIN, _Q_MAX = -16, -16 + (1 << SCALE_BITS) - 1
#: high-part alphabet kept below 2 * this many symbols (larger indices send low bits raw)
_MAX_HIGH = 1 << 11
#: the two model families, indexed by the sub-band's family bit
_FAMILIES = ("gaussian", "laplace")


def _gamma_bits(values: np.ndarray) -> np.ndarray:
    """Length of the Elias gamma code of integers >= 1."""
    return 2 * np.floor(np.log2(values)).astype(np.int64) + 1


@dataclass(frozen=True)
class SubbandModels:
    """The side information of a segment's blocks: what the decoder rebuilds the models from.

    Attributes
    ----------
    peak : np.ndarray [shape=(m, k)]
        Largest index magnitude of each sub-band of each block (0: nothing coded).
    laplace : np.ndarray [shape=(m, k)]
        True where the sub-band's model is a Laplace, False where a Gaussian.
    level : np.ndarray [shape=(m, k)]
        Scale of the sub-band's model, ``round(SCALE_STEPS_PER_OCTAVE * log2 scale)``.
    """

    peak: np.ndarray
    laplace: np.ndarray
    level: np.ndarray


class AdaptiveBlockCoder:
    """Forward-adaptive coder of DCT blocks: one quantizer step, one model per sub-band.

    Side information per sub-band of every block: the largest index magnitude ``m``
    (Elias gamma code of ``m + 1``); when ``m > 0`` also the family (1 bit: Gaussian or
    Laplace, whichever codes the sub-band in fewer bits) and the scale (``SCALE_BITS`` bits,
    quarter-octave steps). The indices are range-coded with that model on ``[-m, m]``; when
    ``m + 1 > 2**11`` the ``shift`` low bits of an index are sent raw (uniform model) and the
    high part with the model, as :class:`~.entropy.CoefficientModel` does.

    The model choice and the code lengths of a whole group of blocks are computed at once
    (numpy); the range coder is called once per distinct model (family, ``m``, scale level)
    of the group, with that model's probability table (built once and kept), so the symbols
    of a group are sent sorted by model (stable, so in block order within it), an order the
    decoder rebuilds from the side information.

    Parameters
    ----------
    block : int
        Coefficients per block.
    theta : float > 0
        Water level; the quantizer step is ``sqrt(12 theta)``.
    subbands : int
        Sub-bands per block (equal widths, to within one coefficient).
    edges : np.ndarray [shape=(k + 1,)] or None
        Explicit sub-band edges in coefficients, increasing from 0 to ``block`` (e.g. Bark
        bands, :func:`.gains.bark_edges`); replaces ``subbands``.
    """

    def __init__(self, block: int, theta: float, *, subbands: int = SUBBANDS,
                 edges: np.ndarray | None = None) -> None:
        self.n = int_at_least(block, "block", 2)
        self.step = step_for_theta(theta)
        if edges is None:
            k = min(int_at_least(subbands, "subbands", 1), self.n)
            self.edges = np.linspace(0, self.n, k + 1).round().astype(int)
        else:
            e = np.asarray(edges, dtype=np.int64)
            if e.ndim != 1 or e.size < 2 or e[0] != 0 or e[-1] != self.n or (np.diff(e) <= 0).any():
                raise ParameterError(f"edges must increase from 0 to block={self.n}",
                                     param="edges")
            self.edges = e
        self.steps = np.full(self.n, self.step)

    def _layout(self, subs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the coefficients of the sub-bands ``subs`` (flat ids ``block * k + band``,
        in that order) lie in the flattened blocks, how many each has, and where each
        begins in that list."""
        k = self.edges.size - 1
        band = subs % k
        widths = np.diff(self.edges)[band]
        offsets = np.cumsum(widths) - widths
        starts = (subs // k) * self.n + self.edges[band]
        positions = np.repeat(starts - offsets, widths) + np.arange(int(widths.sum()))
        return positions, widths, offsets

    def _symbols(self, models: SubbandModels) -> tuple[np.ndarray, list]:
        """Flat positions of the coded indices in the order they are sent, and the groups of
        that order: ``(laplace, m, shift, level, start, stop)``, one model (one probability
        table) and one range-coder call each."""
        peak = models.peak.ravel()
        key = ((2 * peak + models.laplace.ravel()) << SCALE_BITS) + (
            models.level.ravel() - _Q_MIN)
        subs = np.flatnonzero(peak)
        subs = subs[np.argsort(key[subs], kind="stable")]
        positions, widths, offsets = self._layout(subs)
        first = np.flatnonzero(np.diff(key[subs], prepend=-1))
        head = subs[first]
        groups = list(zip(models.laplace.ravel()[head].tolist(), peak[head].tolist(),
                          _shift_of(peak[head]).tolist(), models.level.ravel()[head].tolist(),
                          offsets[first].tolist(),
                          [*offsets[first[1:]].tolist(), positions.size]))
        return positions, groups

    def encode(self, coefficients: np.ndarray, encoder) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray, SubbandModels]:
        """Quantize and range-code blocks of coefficients, shape (m, n).

        Returns
        -------
        indices : np.ndarray [shape=(m, n)]
        side_bits : np.ndarray [shape=(m,)]
            Side information of each block.
        payload_bits : np.ndarray [shape=(m,)]
            Information content of each block's indices under the models sent
            (:func:`~.entropy.index_code_lengths`, as
            :meth:`~.entropy.CoefficientModel.code_lengths` counts them).
        models : SubbandModels
            What the decoder rebuilds each sub-band's model from (the side information).
        """
        indices = quantize(coefficients, self.steps)
        scaled = coefficients / self.step
        starts = self.edges[:-1]
        widths = np.diff(self.edges)
        peak = np.maximum.reduceat(np.abs(indices), starts, axis=1)
        scales = {
            "gaussian": np.sqrt(np.add.reduceat(scaled * scaled, starts, axis=1) / widths),
            "laplace": np.add.reduceat(np.abs(scaled), starts, axis=1) / widths,
        }
        with np.errstate(divide="ignore"):
            levels = {
                f: np.clip(np.round(SCALE_STEPS_PER_OCTAVE * np.log2(v)), _Q_MIN, _Q_MAX)
                .astype(np.int64) for f, v in scales.items()
            }
        side = (_gamma_bits(peak + 1) + np.where(peak > 0, 1 + SCALE_BITS, 0)).sum(axis=1)
        # code length of every coded sub-band under both families, all blocks at once
        subs = np.flatnonzero(peak)
        positions, counts, offsets = self._layout(subs)
        m = peak.ravel()[subs]
        shift = _shift_of(m)
        wide = np.repeat(shift > 0, counts)  # (rare) sub-bands that send low bits raw
        each_m = np.repeat(m, counts)
        i = indices.ravel()[positions]
        a = np.minimum(np.abs(i), _MAX_HIGH - 1)
        end = a == each_m
        bits = {}
        for f in _FAMILIES:
            level = np.repeat(levels[f].ravel()[subs] - _Q_MIN, counts)
            inner, ends = _length_tables(f)
            lengths = np.where(end, ends[level, np.minimum(each_m, _MAX_HIGH - 1)],
                               inner[level, a])
            if wide.any():
                k, mw = np.repeat(shift, counts)[wide], each_m[wide]
                lengths[wide] = k + index_code_lengths(
                    f, i[wide] >> k, (-mw) >> k, mw >> k,
                    _high_scale(level[wide] + _Q_MIN, k))
            bits[f] = np.add.reduceat(lengths, offsets) if subs.size else lengths
        laplace = np.zeros(peak.shape, dtype=bool)
        laplace.flat[subs] = bits["laplace"] < bits["gaussian"]
        chosen = np.zeros(peak.shape)
        chosen.flat[subs] = np.minimum(bits["laplace"], bits["gaussian"])
        models = SubbandModels(peak, laplace, np.where(laplace, levels["laplace"],
                                                       levels["gaussian"]))
        where, groups = self._symbols(models)
        flat = indices.ravel()[where]
        for is_laplace, mk, k, level, a, b in groups:
            table, origin = _table(is_laplace, mk, k, level)
            encoder.encode(((flat[a:b] >> k) - origin).astype(np.int32), table)
            if k:
                encoder.encode((flat[a:b] & ((1 << k) - 1)).astype(np.int32), low_bits_model(k))
        return indices, side.astype(np.float64), chosen.sum(axis=1), models

    def decode(self, decoder, models: SubbandModels) -> np.ndarray:
        """Read the indices of a segment's blocks back, given their side information."""
        where, groups = self._symbols(models)
        flat = np.zeros(models.peak.shape[0] * self.n, dtype=np.int64)
        for is_laplace, mk, k, level, a, b in groups:
            table, origin = _table(is_laplace, mk, k, level)
            got = decoder.decode(table, b - a).astype(np.int64)
            got += origin
            got <<= k
            if k:
                got += decoder.decode(low_bits_model(k), b - a)
            flat[where[a:b]] = got
        return flat.reshape(-1, self.n)


@functools.lru_cache(maxsize=4096)
def _table(laplace: bool, m: int, shift: int, level: int) -> tuple[object, int]:
    """The probability table of a sub-band's high part (``i >> shift`` for ``|i| <= m``) and
    the index its first symbol stands for; what the decoder rebuilds from the side
    information, so built once per distinct model and kept."""
    lo, hi = (-m) >> shift, m >> shift
    scale = float(_high_scale(level, shift))
    return categorical_table(_FAMILIES[laplace], lo, hi, mean=high_part_mean(shift),
                             scale=scale), lo


#: the scale each sent level stands for (float32-exact, as the decoder rebuilds it)
_LEVEL_SCALES = (2.0 ** (np.arange(_Q_MIN, _Q_MAX + 1) / SCALE_STEPS_PER_OCTAVE)).astype(
    np.float32).astype(np.float64)


@functools.cache
def _length_tables(family: str) -> tuple[np.ndarray, np.ndarray]:
    """Code lengths of indices in ``[-m, m]`` (``m < _MAX_HIGH``, no low bits raw) under the
    model of each level, by :func:`~.entropy.index_code_lengths`: ``inner[level, |i|]`` for
    ``|i| < m`` and ``ends[level, m]`` for ``|i| == m`` (the end symbols, which also carry
    the tails), both of shape (levels, ``_MAX_HIGH``)."""
    scale = _high_scale(np.arange(_Q_MIN, _Q_MAX + 1), 0)[:, None]
    i = np.arange(_MAX_HIGH)[None, :]
    inner = index_code_lengths(family, i, -np.inf, np.inf, scale)
    ends = index_code_lengths(family, i, -i, i, scale)
    return inner, ends


def _high_scale(level: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The model scale of the high part ``i >> shift`` for a sent level: the level's scale
    over ``2**shift``, at least 1e-6."""
    return np.maximum(np.ldexp(_LEVEL_SCALES[np.asarray(level) - _Q_MIN], -shift), 1e-6)


def _shift_of(m: np.ndarray) -> np.ndarray:
    """Low bits sent raw for sub-bands of largest magnitude ``m >= 1``: the least ``s >= 0``
    with ``m + 1 <= _MAX_HIGH * 2**s``."""
    return np.frexp(np.asarray(m, dtype=np.int64) // _MAX_HIGH)[1].astype(np.int64)
