"""sfm_audio.coding.shorttime: the short-time Gaussian R(D) over local DCT spectra."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma

from sfm_audio._errors import ParameterError
from sfm_audio.coding import ShortTimeRD, dct_matrix, reverse_waterfill


def local_variances(y: np.ndarray, n: int, group: int) -> np.ndarray:
    """Mean squares of the DCT coefficients over whole groups of blocks, computed directly."""
    m = (y.size // (n * group)) * group
    c = y[: m * n].reshape(m, n) @ dct_matrix(n).T
    return (c**2).reshape(-1, group, n).mean(axis=1).ravel()


def test_histogram_gives_the_exact_water_filling():
    """Against reverse water-filling on every local variance itself (no histogram)."""
    rng = np.random.default_rng(0)
    n, group = 16, 8
    envelope = np.repeat(np.exp(rng.normal(0, 1.5, 64)), 1024)  # loud and quiet passages
    y = rng.standard_normal(envelope.size) * envelope
    acc = ShortTimeRD(n, group=group)
    for piece in np.split(y.reshape(-1, n), 8):
        acc.update(piece)
    v = local_variances(y, n, group)
    assert acc.variance == pytest.approx(v.mean(), rel=1e-12)
    for fraction in (0.001, 0.03, 0.3):
        d = fraction * v.mean()
        assert acc.rate(d) == pytest.approx(reverse_waterfill(v, distortion=d).rate, abs=2e-3)


def test_stationary_white_noise_sits_at_the_chi_square_bias():
    """On a stationary Gaussian source at high rate the short-time rate is below the true
    1/2 log2(sigma^2 / D) only by the log-bias of a mean of `group` squares (documented)."""
    rng = np.random.default_rng(1)
    y = rng.standard_normal(1 << 18)
    acc = ShortTimeRD(32, group=8)
    acc.update(y.reshape(-1, 32))
    d = 1e-3
    bias = (np.log(4) - digamma(4)) / (2 * np.log(2))  # 0.094 bit for 8 blocks
    assert acc.rate(d) == pytest.approx(0.5 * np.log2(1 / d) - bias, abs=0.01)


def test_short_last_group_counts_with_its_blocks():
    acc = ShortTimeRD(4, group=8)
    acc.update(np.ones((10, 4)))  # one group of 8 and one of 2 blocks
    assert acc.variance == pytest.approx(1.0)
    acc.update(np.zeros((3, 4)))
    assert acc.variance == pytest.approx(10 / 13)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="group=0 must be a positive integer"):
        ShortTimeRD(8, group=0)
    with pytest.raises(ParameterError, match="at least one block"):
        ShortTimeRD(8).rate(0.1)
    acc = ShortTimeRD(4)
    acc.update(np.ones((8, 4)))
    with pytest.raises(ParameterError, match="distortion=0.0 must be"):
        acc.rate(0.0)
