"""sfm_audio.coding: the anchor table, properties, the AR(1) recording, the real coder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.signal import lfilter

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    ECSQ_GAP_BITS,
    BlockCovariance,
    ar1_covariance,
    ar1_psd,
    block_covariance,
    code_signal,
    coding_gain,
    coding_gain_db,
    coding_rate,
    coefficient_variances,
    dct_matrix,
    eigen_flatness,
    gaussian_entropy,
    klt,
    log_spectrum_variance,
    lossless_bound,
    prefix_curve,
    psd_flatness,
    reverse_waterfill,
    singular_value_flatness,
    spectrum_measures,
    transform_matrix,
    uniform_quantizer_entropy,
)


def ar1_signal(n: int, rho: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], rng.standard_normal(n))


# ---------------------------------------------------------------- anchor table (DESIGN.md)
@pytest.mark.parametrize("n, gain", [(2, 3.6062), (4, 5.4093), (8, 6.3109), (16, 6.7617),
                                     (32, 6.9871)])
def test_klt_gain_ar1_09(n, gain):
    lam, _ = klt(ar1_covariance(n, 0.9))
    assert coding_gain_db(lam) == pytest.approx(gain, abs=1e-4)


@pytest.mark.parametrize("n, gain", [(4, 5.3870), (8, 6.2761), (16, 6.7264)])
def test_dct_gain_ar1_09(n, gain):
    cov = ar1_covariance(n, 0.9)
    assert coding_gain_db(coefficient_variances(cov, dct_matrix(n))) == pytest.approx(
        gain, abs=1e-4)


def test_gain_limit_ar1():
    assert -10 * np.log10(1 - 0.9**2) == pytest.approx(7.2125, abs=1e-4)
    assert -10 * np.log10(1 - 0.95**2) == pytest.approx(10.1100, abs=1e-4)
    # the limit is 1/SFM of the PSD (Kolmogorov-Szego), here on an exact PSD grid
    from sfm_audio.flatness import flatness
    assert -10 * np.log10(flatness(ar1_psd(1 << 14, 0.9))) == pytest.approx(7.2125, abs=1e-4)


def test_ar1_095_n8():
    cov = ar1_covariance(8, 0.95)
    assert coding_gain_db(klt(cov)[0]) == pytest.approx(8.8462, abs=1e-4)
    assert coding_gain_db(coefficient_variances(cov, dct_matrix(8))) == pytest.approx(
        8.8259, abs=1e-4)


def test_ar1_eigenvalues_n4():
    lam, basis = klt(ar1_covariance(4, 0.9))
    np.testing.assert_allclose(lam, [3.52664, 0.30964, 0.10236, 0.06136], atol=1e-5)
    np.testing.assert_allclose(basis @ basis.T, np.eye(4), atol=1e-12)


def test_waterfill_anchor_r8():
    lam, _ = klt(ar1_covariance(8, 0.9))
    wf = reverse_waterfill(lam, distortion=0.1)
    assert wf.rate == pytest.approx(0.649243, abs=1e-6)
    assert wf.theta == pytest.approx(0.126148, abs=1e-6)
    assert wf.n_active == 4
    back = reverse_waterfill(lam, rate=wf.rate)
    assert back.theta == pytest.approx(wf.theta, rel=1e-12)
    assert back.distortion == pytest.approx(0.1, rel=1e-12)


def test_waterfill_limit_ar1():
    psd = ar1_psd(1 << 16, 0.9)
    wf = reverse_waterfill(psd, distortion=0.01)
    assert wf.rate == pytest.approx(2.123964, abs=1e-6)
    # below (1-rho)/(1+rho) every frequency is active and R = 1/2 log2((1-rho^2)/D)
    assert wf.n_active == psd.size
    assert wf.rate == pytest.approx(0.5 * np.log2((1 - 0.81) / 0.01), abs=1e-9)
    assert (1 - 0.9) / (1 + 0.9) == pytest.approx(0.052632, abs=1e-6)


def test_ecsq_gap_and_quantizer_entropy():
    assert ECSQ_GAP_BITS == pytest.approx(0.254614, abs=1e-6)
    assert 20 * np.log10(2) * ECSQ_GAP_BITS == pytest.approx(1.5329, abs=1e-4)
    assert uniform_quantizer_entropy(1.0, 1.0) == pytest.approx(2.1048, abs=1e-4)


def test_white_noise_periodogram_sfm():
    # the lossless bound of white noise sits below 1/2 log2(var/theta) by the e^-gamma bias
    rng = np.random.default_rng(3)
    x = np.rint(rng.normal(0, 1000, 1 << 18))
    r = lossless_bound(x)
    ideal = 0.5 * np.log2(1000**2 * 12)
    assert r.bound_bits_per_sample == pytest.approx(
        ideal + 0.5 * np.log2(np.exp(-np.euler_gamma)), abs=0.02)
    assert r.active_fraction == pytest.approx(1.0)
    assert r.bound_ecsq_bits_per_sample == pytest.approx(
        r.bound_bits_per_sample + ECSQ_GAP_BITS, abs=1e-9)


# ---------------------------------------------------------------- transforms and covariances
def test_dct_matrix_is_scipy_dct():
    from scipy.fft import dct

    x = np.random.default_rng(0).standard_normal(12)
    np.testing.assert_allclose(dct_matrix(12) @ x, dct(x, norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(dct_matrix(12) @ dct_matrix(12).T, np.eye(12), atol=1e-12)


def test_block_covariance_methods_agree_on_ar1():
    y = ar1_signal(1 << 17, 0.9, seed=1)
    a = block_covariance(y, 8)
    b = block_covariance(y, 8, method="toeplitz")
    c = block_covariance(y, 8, hop=3)
    np.testing.assert_allclose(a, ar1_covariance(8, 0.9), atol=0.05)
    np.testing.assert_allclose(b, ar1_covariance(8, 0.9), atol=0.05)
    np.testing.assert_allclose(a, c, atol=0.03)
    assert np.allclose(b, b.T) and np.all(np.linalg.eigvalsh(b) >= -1e-12)


@pytest.mark.parametrize("method, hop", [("sample", None), ("sample", 5), ("toeplitz", None)])
def test_block_covariance_streams(method, hop):
    y = np.random.default_rng(2).standard_normal(10007)
    whole = block_covariance(y, 16, hop=hop, method=method)
    acc = BlockCovariance(16, hop=hop, method=method, mean=float(y.mean()))
    for piece in np.array_split(y, [3, 10, 500, 501, 4000, 9999]):
        acc.update(piece)
    np.testing.assert_allclose(acc.covariance(), whole, rtol=1e-10, atol=1e-12)


def test_toeplitz_matches_definition():
    y = np.random.default_rng(4).standard_normal(300)
    x = y - y.mean()
    r = [x[: x.size - k] @ x[k:] / x.size for k in range(5)]
    cov = block_covariance(y, 5, method="toeplitz")
    np.testing.assert_allclose(cov[0], r, rtol=1e-12)


def test_does_not_mutate_input():
    y = np.arange(64.0)
    keep = y.copy()
    block_covariance(y, 4)
    psd_flatness(y, nperseg=16)
    code_signal(np.sin(y), block=4, rate=2.0)
    np.testing.assert_array_equal(y, keep)


# ---------------------------------------------------------------- hypothesis properties
@st.composite
def toeplitz_covariances(draw):
    """Covariances of stationary sources: Toeplitz of a positive PSD's autocorrelation."""
    n = draw(st.integers(2, 12))
    m = 64
    weights = draw(arrays(np.float64, 4, elements=st.floats(0.0, 5.0)))
    w = 2 * np.pi * np.arange(m) / m
    psd = 0.05 + sum(a * (1 + np.cos(w - k)) for k, a in enumerate(weights))
    r = np.real(np.fft.ifft(psd))[:n]
    idx = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return r[idx]


variances_st = arrays(np.float64, st.integers(1, 16),
                      elements=st.floats(1e-6, 100.0) | st.just(0.0)).filter(lambda v: v.max() > 0)


@settings(max_examples=60, deadline=None)
@given(variances_st, st.floats(0.001, 0.999))
def test_waterfill_hits_distortion_target(v, fraction):
    target = fraction * v.mean()
    wf = reverse_waterfill(v, distortion=target)
    assert wf.distortions.mean() == pytest.approx(target, rel=1e-9)
    assert wf.distortion == pytest.approx(target, rel=1e-9)
    assert (wf.rates >= 0).all() and wf.rate >= 0
    assert (wf.rates[v == 0] == 0).all()
    np.testing.assert_allclose(wf.distortions, np.minimum(wf.theta, v))


@settings(max_examples=60, deadline=None)
@given(variances_st, st.floats(0.01, 12.0))
def test_waterfill_hits_rate_target(v, rate):
    wf = reverse_waterfill(v, rate=rate)
    assert wf.rates.mean() == pytest.approx(rate, rel=1e-9)
    assert (wf.rates >= 0).all()
    assert (wf.rates[v == 0] == 0).all()


@settings(max_examples=40, deadline=None)
@given(variances_st)
def test_rd_non_increasing_and_convex(v):
    d = np.linspace(0.02, 0.98, 25) * v.mean()
    r = np.array([reverse_waterfill(v, distortion=x).rate for x in d])
    assert (np.diff(r) <= 1e-12).all()
    assert (np.diff(r, 2) >= -1e-9 * max(1.0, r.max())).all()
    assert reverse_waterfill(v, distortion=v.mean()).rate == 0
    assert reverse_waterfill(v, distortion=2 * v.mean()).rate == 0


@settings(max_examples=40, deadline=None)
@given(toeplitz_covariances())
def test_klt_decorrelates_and_beats_dct(cov):
    lam, basis = klt(cov)
    d = basis @ cov @ basis.T
    scale = max(1.0, np.abs(cov).max())
    np.testing.assert_allclose(d - np.diag(np.diag(d)), 0, atol=1e-9 * scale)
    np.testing.assert_allclose(np.diag(d), lam, atol=1e-9 * scale)
    assert (np.diff(lam) <= 1e-12 * scale).all()
    g_klt = coding_gain(lam)
    g_dct = coding_gain(coefficient_variances(cov, dct_matrix(cov.shape[0])))
    assert g_klt >= g_dct * (1 - 1e-9) and g_dct >= 1 - 1e-9
    assert eigen_flatness(cov) == pytest.approx(1 / g_klt, rel=1e-9)


# ---------------------------------------------------------------- the AR(1) recording
@pytest.fixture(scope="module")
def ar1_recording():
    return ar1_signal(1 << 21, 0.9, seed=7)


def test_ar1_recording_gains(ar1_recording):
    y = ar1_recording
    cov = block_covariance(y, 8)
    assert coding_gain_db(klt(cov)[0]) == pytest.approx(6.3109, abs=0.1)
    assert -10 * np.log10(psd_flatness(y)) == pytest.approx(7.2125, abs=0.25)


@pytest.mark.parametrize("rate", [0.5, 1.0, 2.0, 3.0, 4.0])
def test_ar1_recording_real_bits(ar1_recording, rate):
    y = ar1_recording
    cov = block_covariance(y, 8)
    lam = klt(cov)[0]
    result, decoded, (sent, received) = code_signal(y, block=8, rate=rate, covariance=cov)
    np.testing.assert_array_equal(sent, received)
    assert result.indices_match
    shannon = reverse_waterfill(lam, distortion=result.distortion).rate
    excess = result.bits_per_sample - shannon
    assert excess > 0  # no real coder beats R(D)
    measured_snr = 10 * np.log10(y.var() / result.distortion)
    theory_snr = 10 * np.log10(y.var() / reverse_waterfill(lam, rate=rate).distortion)
    if rate >= 3:
        assert 0.15 <= excess <= 0.45
        assert measured_snr == pytest.approx(theory_snr, abs=1.0)
    assert np.mean((decoded - y) ** 2) == pytest.approx(result.distortion, rel=1e-9)


# ---------------------------------------------------------------- the coder
@pytest.mark.parametrize("transform", ["klt", "dct", "pcm"])
@pytest.mark.parametrize("reconstruction", ["midpoint", "centroid"])
def test_round_trip_bit_for_bit(transform, reconstruction):
    rng = np.random.default_rng(11)
    # Laplacian-ish, non-stationary, length not a multiple of the block or the chunk
    y = ar1_signal(20011, 0.8, seed=5) * np.exp(rng.normal(0, 1, 20011).cumsum() / 300)
    for rate in (0.25, 2.0, 9.0):
        result, decoded, (sent, received) = code_signal(
            y, block=16, rate=rate, transform=transform, reconstruction=reconstruction,
            chunk_blocks=100)
        assert sent.shape == received.shape == (-(-y.size // 16), 16)
        np.testing.assert_array_equal(sent, received)
        assert decoded.shape == y.shape
        assert result.bits > result.side_bits > 0


def test_centroid_never_worse_on_laplacian():
    y = np.random.default_rng(1).laplace(size=1 << 15)
    mid, _, _ = code_signal(y, block=4, rate=1.0, transform="pcm")
    cen, _, _ = code_signal(y, block=4, rate=1.0, transform="pcm", reconstruction="centroid")
    assert cen.distortion < mid.distortion
    assert cen.side_bits > mid.side_bits


def test_high_rate_uses_split_models():
    y = ar1_signal(1 << 14, 0.99, seed=2)
    result, decoded, (sent, received) = code_signal(y, block=8, rate=16.0)
    np.testing.assert_array_equal(sent, received)
    assert result.bits_per_sample < 17.5
    assert 10 * np.log10(y.var() / result.distortion) > 90


def test_prefix_curve():
    lam, _ = klt(ar1_covariance(8, 0.9))
    rows = prefix_curve(lam)
    assert [r["k"] for r in rows] == list(range(1, 9))
    assert rows[-1]["distortion"] == 0
    assert rows[0]["distortion"] == pytest.approx(lam[1:].sum() / 8)
    d = [r["distortion"] for r in rows]
    assert (np.diff(d) <= 0).all()
    for r in rows[:-1]:
        assert r["waterfill_distortion"] >= r["distortion"]


# ---------------------------------------------------------------- representation measures
def test_representation_measures():
    cov = ar1_covariance(6, 0.5)
    lam = klt(cov)[0]
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


# ---------------------------------------------------------------- bad input
def test_bad_inputs():
    with pytest.raises(ParameterError, match="n=1 must be an integer >= 2"):
        ar1_covariance(1, 0.5)
    with pytest.raises(ParameterError, match="rho=1.0 must be"):
        ar1_covariance(4, 1.0)
    with pytest.raises(ParameterError, match="variance=0.0 must be"):
        ar1_covariance(4, 0.5, 0.0)
    with pytest.raises(ParameterError, match="block=1 must be an integer >= 2"):
        block_covariance(np.ones(10), 1)
    with pytest.raises(ParameterError, match="block=11 is longer than the signal"):
        block_covariance(np.ones(10), 11)
    with pytest.raises(ParameterError, match="hop=0 must be"):
        block_covariance(np.ones(10), 2, hop=0)
    with pytest.raises(ParameterError, match="method='x' must be"):
        block_covariance(np.ones(10), 2, method="x")
    with pytest.raises(ParameterError, match="finite"):
        block_covariance(np.array([1.0, np.nan, 2.0]), 2)
    with pytest.raises(ParameterError, match="shape"):
        block_covariance(np.ones((2, 10)), 2)
    with pytest.raises(ParameterError, match="square"):
        klt(np.ones((2, 3)))
    with pytest.raises(ParameterError, match="symmetric"):
        klt(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ParameterError, match="does not match"):
        coefficient_variances(np.eye(3), np.eye(2))
    with pytest.raises(ParameterError, match="transform='fft' must be one of"):
        transform_matrix("fft", np.eye(3))
    with pytest.raises(ParameterError, match="undefined: every variance is zero"):
        coding_gain(np.zeros(4))
    assert coding_gain(np.array([1.0, 0.0])) == np.inf
    with pytest.raises(ParameterError, match="non-negative"):
        coding_gain(np.array([1.0, -1.0]))
    with pytest.raises(ParameterError, match="exactly one"):
        reverse_waterfill(np.ones(3))
    with pytest.raises(ParameterError, match="exactly one"):
        reverse_waterfill(np.ones(3), distortion=0.1, rate=1.0)
    with pytest.raises(ParameterError, match="distortion=0.0 must be"):
        reverse_waterfill(np.ones(3), distortion=0.0)
    with pytest.raises(ParameterError, match="rate=-1.0 must be"):
        reverse_waterfill(np.ones(3), rate=-1.0)
    with pytest.raises(ParameterError, match="every variance is zero"):
        reverse_waterfill(np.zeros(3), rate=1.0)
    wf = reverse_waterfill(np.zeros(3), distortion=1.0)
    assert wf.rate == 0 and wf.distortion == 0
    with pytest.raises(ParameterError, match="rate=0.0 must be"):
        code_signal(np.ones(64), block=4, rate=0.0)
    with pytest.raises(ParameterError, match="rate=17.0 must be"):
        code_signal(np.random.default_rng(0).standard_normal(64), block=4, rate=17.0)
    with pytest.raises(ParameterError, match="transform='x' must be one of"):
        code_signal(np.random.default_rng(0).standard_normal(64), block=4, rate=1.0,
                    transform="x")
    with pytest.raises(ParameterError, match="reconstruction='x' must be"):
        code_signal(np.random.default_rng(0).standard_normal(64), block=4, rate=1.0,
                    reconstruction="x")
    with pytest.raises(ParameterError, match="silence"):
        code_signal(np.zeros(64), block=4, rate=1.0)
    with pytest.raises(ParameterError, match="block=128 is longer"):
        code_signal(np.ones(64), block=128, rate=1.0)
    with pytest.raises(ParameterError, match="nperseg=4096 is longer than the signal"):
        psd_flatness(np.ones(100), nperseg=4096)
    with pytest.raises(ParameterError, match="eps=0 must be"):
        coding_rate(np.ones((2, 2)), 0)
    with pytest.raises(ParameterError, match="kind='x' must be"):
        spectrum_measures(np.eye(2), kind="x")
    with pytest.raises(ParameterError, match="std=0.0 must be"):
        uniform_quantizer_entropy(0.0, 1.0)
    with pytest.raises(ParameterError, match="at least one sample"):
        lossless_bound(np.zeros(0))
