"""sfm_audio.coding.transforms: covariances, KLT, DCT.

Anchor values: docs/definitions.md, anchor table (each also recomputed here by scipy).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    BlockCovariance,
    ar1_covariance,
    block_covariance,
    coding_gain,
    coding_gain_db,
    coefficient_variances,
    dct_matrix,
    eigen_flatness,
    klt,
    transform_matrix,
)


def toeplitz_ar1(n: int, rho: float) -> np.ndarray:
    """rho^|i-j|, built here so the anchors do not depend on ar1_covariance."""
    return scipy.linalg.toeplitz(rho ** np.arange(n))


# anchor table, docs/definitions.md
@pytest.mark.parametrize("n, gain", [(2, 3.6062), (4, 5.4093), (8, 6.3109), (16, 6.7617),
                                     (32, 6.9871)])
def test_klt_gain_ar1_09(n, gain):
    lam, _ = klt(ar1_covariance(n, 0.9))
    assert coding_gain_db(lam) == pytest.approx(gain, abs=1e-4)
    # the same gain from scipy's eigh of the Toeplitz matrix built here
    ref = scipy.linalg.eigh(toeplitz_ar1(n, 0.9), eigvals_only=True)
    assert coding_gain_db(lam) == pytest.approx(
        10 * np.log10(ref.mean() / np.exp(np.log(ref).mean())), abs=1e-10)


@pytest.mark.parametrize("n, gain", [(4, 5.3870), (8, 6.2761), (16, 6.7264)])
def test_dct_gain_ar1_09(n, gain):
    cov = ar1_covariance(n, 0.9)
    assert coding_gain_db(coefficient_variances(cov, dct_matrix(n))) == pytest.approx(
        gain, abs=1e-4)


def test_ar1_covariance_is_toeplitz():
    np.testing.assert_allclose(ar1_covariance(6, 0.7), toeplitz_ar1(6, 0.7), rtol=1e-14)


def test_ar1_095_n8():
    cov = ar1_covariance(8, 0.95)
    assert coding_gain_db(klt(cov)[0]) == pytest.approx(8.8462, abs=1e-4)
    assert coding_gain_db(coefficient_variances(cov, dct_matrix(8))) == pytest.approx(
        8.8259, abs=1e-4)


def test_ar1_eigenvalues_n4():
    lam, basis = klt(ar1_covariance(4, 0.9))
    np.testing.assert_allclose(lam, [3.52664, 0.30964, 0.10236, 0.06136], atol=1e-5)
    np.testing.assert_allclose(basis @ basis.T, np.eye(4), atol=1e-12)


def test_dct_matrix_is_scipy_dct():
    from scipy.fft import dct

    x = np.random.default_rng(0).standard_normal(12)
    np.testing.assert_allclose(dct_matrix(12) @ x, dct(x, norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(dct_matrix(12) @ dct_matrix(12).T, np.eye(12), atol=1e-12)


def test_block_covariance_methods_agree_on_ar1(ar1_signal):
    y = ar1_signal(1 << 17, 0.9, seed=1)
    a = block_covariance(y, 8)
    b = block_covariance(y, 8, method="toeplitz")
    c = block_covariance(y, 8, hop=3)
    np.testing.assert_allclose(a, toeplitz_ar1(8, 0.9), atol=0.05)
    np.testing.assert_allclose(b, toeplitz_ar1(8, 0.9), atol=0.05)
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
    np.testing.assert_array_equal(y, keep)


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


@pytest.mark.parametrize("call, message", [
    (lambda: ar1_covariance(1, 0.5), "n=1 must be an integer >= 2"),
    (lambda: ar1_covariance(4, 1.0), "rho=1.0 must be"),
    (lambda: ar1_covariance(4, 0.5, 0.0), "variance=0.0 must be"),
    (lambda: block_covariance(np.ones(10), 1), "block=1 must be an integer >= 2"),
    (lambda: block_covariance(np.ones(10), 11), "block=11 is longer than the signal"),
    (lambda: block_covariance(np.ones(10), 2, hop=0), "hop=0 must be"),
    (lambda: block_covariance(np.ones(10), 2, method="x"), "method='x' must be"),
    (lambda: block_covariance(np.array([1.0, np.nan, 2.0]), 2), "finite"),
    (lambda: block_covariance(np.ones((2, 10)), 2), "shape"),
    (lambda: klt(np.ones((2, 3))), "square"),
    (lambda: klt(np.array([[1.0, 2.0], [0.0, 1.0]])), "symmetric"),
    (lambda: coefficient_variances(np.eye(3), np.eye(2)), "does not match"),
    (lambda: transform_matrix("fft", np.eye(3)), "transform='fft' must be one of"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ParameterError, match=message):
        call()
