"""sfm_audio.coding.spectra: coding gain, Welch PSD, held-out gains, representation measures."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    WelchPSD,
    ar1_psd,
    block_covariance,
    coding_gain,
    coding_gain_db,
    coding_rate,
    dct_matrix,
    gaussian_entropy,
    heldout_coding_gain_db,
    klt,
    log_spectrum_variance,
    psd_flatness,
    singular_value_flatness,
    spectrum_measures,
    uniform_quantizer_entropy,
    welch_psd,
)
from sfm_audio.flatness import flatness


def test_kolmogorov_szego_limit_on_exact_psd():
    # docs/definitions.md: limit 1/(1 - rho^2) = 7.2125 dB for rho = 0.9
    assert -10 * np.log10(flatness(ar1_psd(1 << 14, 0.9))) == pytest.approx(
        -10 * np.log10(1 - 0.9**2), abs=1e-4)


@pytest.mark.parametrize("nperseg", [16, 256, 1024])
def test_welch_psd_matches_scipy(nperseg, ar1_signal):
    y = ar1_signal(20000, 0.8, seed=3) + 0.3
    ours = welch_psd(y, nperseg=nperseg)
    _, ref = scipy.signal.welch(y - y.mean(), fs=1.0, window="hann", nperseg=nperseg,
                                noverlap=nperseg // 2, detrend=False, return_onesided=False,
                                scaling="density")
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    # streamed in pieces: the same numbers
    acc = WelchPSD(nperseg, mean=float(y.mean()))
    for piece in np.array_split(y, [1, 7, 5000, 5003]):
        acc.update(piece)
    np.testing.assert_allclose(acc.psd(), ours, rtol=1e-12)


def test_ar1_recording_psd_limit(ar1_signal):
    y = ar1_signal(1 << 20, 0.9, seed=7)
    assert -10 * np.log10(psd_flatness(y)) == pytest.approx(
        -10 * np.log10(1 - 0.9**2), abs=0.25)


def test_heldout_gain_on_stationary_ar1(ar1_signal):
    """Basis from one half, variances from the other: on a stationary AR(1) recording both
    the in-sample and the held-out N = 8 KLT gain sit at theory (eigh of rho^|i-j|)."""
    y = ar1_signal(1 << 20, 0.9, seed=7)
    lam = scipy.linalg.eigh(scipy.linalg.toeplitz(0.9 ** np.arange(8)), eigvals_only=True)
    theory = 10 * np.log10(lam.mean() / np.exp(np.log(lam).mean()))  # 6.3109 dB
    half = y.size // 2
    first, second = block_covariance(y[:half], 8), block_covariance(y[half:], 8)
    mean, ab, ba = heldout_coding_gain_db(first, second)
    assert mean == pytest.approx((ab + ba) / 2)
    assert mean == pytest.approx(theory, abs=0.05)
    assert coding_gain_db(klt(block_covariance(y, 8))[0]) == pytest.approx(theory, abs=0.05)


def test_heldout_gain_exposes_overfitting():
    """White noise has no gain to find; with few blocks per dimension the in-sample KLT
    'finds' several dB that the other half does not confirm."""
    y = np.random.default_rng(5).standard_normal(64 * 96)
    half = y.size // 2
    first, second = block_covariance(y[:half], 64), block_covariance(y[half:], 64)
    in_sample = coding_gain_db(klt(block_covariance(y, 64))[0])
    held, _, _ = heldout_coding_gain_db(first, second)
    assert in_sample > 2.0
    assert held < 0.3
    # the DCT is not fitted: its "held-out" gain is its gain on each half
    _, on_second, on_first = heldout_coding_gain_db(first, second, "dct")
    d = dct_matrix(64)
    assert on_second == pytest.approx(coding_gain_db(np.diag(d @ second @ d.T)), rel=1e-12)
    assert on_first == pytest.approx(coding_gain_db(np.diag(d @ first @ d.T)), rel=1e-12)


def test_ecsq_gap_is_the_high_rate_limit():
    """The entropy of a fine uniform quantizer on N(0, 1) exceeds the Gaussian R(D) at
    D = step^2 / 12 by ECSQ_GAP_BITS (docs/definitions.md, 0.254614 bit)."""
    from sfm_audio.coding import ECSQ_GAP_BITS

    step = 0.01
    gap = uniform_quantizer_entropy(1.0, step) - 0.5 * np.log2(12 / step**2)
    assert gap == pytest.approx(ECSQ_GAP_BITS, abs=1e-4)
    assert uniform_quantizer_entropy(1.0, 1.0) == pytest.approx(2.1048, abs=1e-4)


def test_representation_measures():
    cov = scipy.linalg.toeplitz(0.5 ** np.arange(6))
    lam = np.linalg.eigvalsh(cov)
    assert gaussian_entropy(cov) == pytest.approx(
        0.5 * np.log2((2 * np.pi * np.e) ** 6 * np.prod(lam)))
    assert gaussian_entropy(np.zeros((3, 3))) == -np.inf
    W = np.diag([3.0, 3.0, 3.0])
    assert singular_value_flatness(W) == pytest.approx(1.0)
    assert log_spectrum_variance(np.array([1.0, np.e, np.e**2])) == pytest.approx(2 / 3)
    assert log_spectrum_variance(np.zeros(3)) == 0.0
    Z = np.random.default_rng(0).standard_normal((4, 50))
    expected = 0.5 * np.log2(np.linalg.det(np.eye(4) + 4 / (50 * 0.25) * Z @ Z.T))
    assert coding_rate(Z, 0.5) == pytest.approx(expected)
    m = spectrum_measures(cov)
    assert m["sfm"] == pytest.approx(1 / coding_gain(lam))
    assert spectrum_measures(W, kind="matrix")["coding_gain_db"] is None
    X = np.random.default_rng(1).standard_normal((200, 3))
    assert spectrum_measures(X, kind="samples")["n"] == 3


@pytest.mark.parametrize("call, message", [
    (lambda: coding_gain(np.zeros(4)), "undefined: every variance is zero"),
    (lambda: coding_gain(np.array([1.0, -1.0])), "non-negative"),
    (lambda: psd_flatness(np.ones(100), nperseg=4096), "nperseg=4096 is longer than the signal"),
    (lambda: WelchPSD(1), "nperseg=1 must be an integer >= 2"),
    (lambda: coding_rate(np.ones((2, 2)), 0), "eps=0 must be"),
    (lambda: spectrum_measures(np.eye(2), kind="x"), "kind='x' must be"),
    (lambda: uniform_quantizer_entropy(0.0, 1.0), "std=0.0 must be"),
    (lambda: gaussian_entropy(np.array([[1.0, 2.0], [0.0, 1.0]])), "symmetric"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_infinite_gain_when_a_variance_is_zero():
    assert coding_gain(np.array([1.0, 0.0])) == np.inf
