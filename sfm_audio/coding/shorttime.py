"""The short-time Gaussian R(D): one water level across time and frequency over local spectra.

A stationary Gaussian model gives every block the same coefficient variances; real audio is
loud, then quiet, then tonal. The short-time model gives each group of ``group`` consecutive
blocks its own variances, the mean square of each DCT-II coefficient over the group (the local
spectrum), and reverse water-fills all of them with one water level. It is an *oracle*, not a
rate an adaptive coder can approach: it knows the local spectra for free, and it estimates
them from the very blocks it then codes, so it sits *below* the true R(D): on white noise
0.08 bit below it (the project's own adaptive coder, :mod:`.duality`, spends 3.07 bit/sample
on the bundled speech where one water level over each frame's own spectrum predicts 2.0). A
mean of ``group`` squares is a scaled chi-square, whose log is low by
``(ln(group/2) - digamma(group/2)) / (2 ln 2)`` bit at high rate (0.094 bit for 8 blocks). By
concavity of the logarithm it is at most the stationary rate of the same transform at the same
distortion, up to that estimation noise.

The local variances are kept as a histogram of their logarithms (``BINS_PER_OCTAVE`` bins per
octave, with each bin's count and sum), so memory does not grow with the file; the water level
is solved exactly on the bins' mean values, weighted by their counts.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .. import defaults
from .._errors import ParameterError
from ..validate import positive_float, positive_int
from .transforms import dct_matrix
from .waterfill import reverse_waterfill

__all__ = ["ShortTimeRD", "GROUP_BLOCKS", "BINS_PER_OCTAVE"]

#: blocks per local spectrum
GROUP_BLOCKS = defaults.GROUP_BLOCKS
#: histogram resolution of the local variances
BINS_PER_OCTAVE = 64
_LOG2_MIN, _LOG2_MAX = -300, 64


class ShortTimeRD:
    """Accumulate local DCT spectra of a signal's blocks; evaluate the short-time R(D).

    Parameters
    ----------
    block : int
        Block size ``n``.
    group : int
        Consecutive blocks per local spectrum.
    """

    def __init__(self, block: int, *, group: int = GROUP_BLOCKS) -> None:
        self.n = positive_int(block, "block")
        self.group = positive_int(group, "group")
        self.dct = dct_matrix(self.n)
        size = (_LOG2_MAX - _LOG2_MIN) * BINS_PER_OCTAVE
        self._count = np.zeros(size)
        self._sum = np.zeros(size)
        self._zeros = 0.0

    def update(self, blocks: np.ndarray) -> None:
        """Add consecutive blocks, mean removed, shape (m, n); ``m`` a multiple of ``group``
        except in the last call (a shorter last group is its own local spectrum)."""
        blocks = np.asarray(blocks, dtype=np.float64)
        m = blocks.shape[0]
        if m == 0:
            return
        # the orthonormal DCT-II of each block: for long blocks by FFT, O(n log n) instead
        # of the matrix product's O(n^2) (9x faster at n = 512, the duality's block); for
        # short ones the product is as fast
        if self.n > 64:
            c = scipy.fft.dct(blocks, type=2, norm="ortho", axis=-1)
        else:
            c = blocks @ self.dct.T
        c2 = c * c
        whole = (m // self.group) * self.group
        parts = []
        if whole:
            parts.append(c2[:whole].reshape(-1, self.group, self.n).mean(axis=1))
        if whole < m:
            parts.append(c2[whole:].mean(axis=0, keepdims=True))
        weights = [np.full(p.shape, float(self.group)) for p in parts]
        if whole < m:
            weights[-1][:] = m - whole
        v, w = np.concatenate(parts).ravel(), np.concatenate(weights).ravel()
        positive = v > 0
        self._zeros += float(w[~positive].sum())
        idx = np.floor(np.log2(v[positive]) * BINS_PER_OCTAVE).astype(np.int64)
        idx = np.clip(idx - _LOG2_MIN * BINS_PER_OCTAVE, 0, self._count.size - 1)
        self._count += np.bincount(idx, w[positive], self._count.size)
        self._sum += np.bincount(idx, w[positive] * v[positive], self._count.size)

    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        used = self._count > 0
        values = self._sum[used] / self._count[used]
        weights = self._count[used]
        if self._zeros:
            values = np.concatenate([[0.0], values])
            weights = np.concatenate([[self._zeros], weights])
        if values.size == 0:
            raise ParameterError("the short-time R(D) needs at least one block")
        return values, weights

    @property
    def largest(self) -> float:
        """The largest local variance (to within its histogram bin, 1/64 octave); 0 if none."""
        values, _ = self._points()
        return float(values.max())

    @property
    def variance(self) -> float:
        """Mean of the local variances: the signal's mean square per sample."""
        values, weights = self._points()
        return float(values @ weights / weights.sum())

    def rate(self, distortion: float) -> float:
        """Short-time Gaussian rate in bits per sample at a mean squared error per sample."""
        distortion = positive_float(distortion, "distortion")
        values, weights = self._points()
        return reverse_waterfill(values, distortion=distortion, weights=weights).rate

    def water_level(self, rate: float) -> float:
        """The one water level ``theta`` at which the short-time rate is ``rate`` bits/sample."""
        rate = positive_float(rate, "rate")
        values, weights = self._points()
        return reverse_waterfill(values, rate=rate, weights=weights).theta
