"""sfm_audio.coding.givens: a KLT basis sent as quantized Givens angles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    BlockCoder,
    ar1_covariance,
    basis_from_angles,
    block_covariance,
    code_signal,
    givens_angles,
    klt,
    send_klt_basis,
)
from sfm_audio.coding.givens import PRECISION_BITS, BasisQuantizer, quantize_angles


@pytest.mark.parametrize("n", [2, 3, 8, 33])
def test_angles_rebuild_the_basis(n):
    q = ortho_group.rvs(n, random_state=n)
    angles, signs = givens_angles(q)
    assert angles.shape == (n * (n - 1) // 2,)
    assert np.all(np.abs(angles) <= np.pi)
    np.testing.assert_allclose(basis_from_angles(angles, n), signs[:, None] * q, atol=1e-12)


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_quantized_angles_give_an_orthonormal_basis(bits):
    q = ortho_group.rvs(16, random_state=0)
    b = basis_from_angles(quantize_angles(givens_angles(q)[0], bits), 16)
    np.testing.assert_allclose(b @ b.T, np.eye(16), atol=1e-12)
    step = 2 * np.pi / 2**bits
    assert np.all(np.abs(quantize_angles(givens_angles(q)[0], bits) / step
                         - np.rint(quantize_angles(givens_angles(q)[0], bits) / step)) < 1e-9)


def test_finer_angles_leak_less():
    """The decoded basis's coefficient variances approach the eigenvalues as angles get finer."""
    lam, basis = klt(ar1_covariance(16, 0.95))
    quantizer = BasisQuantizer(basis, lam)
    errors = [np.abs(quantizer.decoded(bits)[1] - lam).max() for bits in (4, 8, 12, 16)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-6


def test_precision_follows_the_signal_length():
    """More samples spread the angles' cost thinner: the encoder affords finer angles, and
    the bits it declares are exactly angle_bits * n(n-1)/2 + the precision field."""
    lam, basis = klt(ar1_covariance(16, 0.95))
    short = send_klt_basis(basis, lam, rate=2.0, samples=2_000)
    long = send_klt_basis(basis, lam, rate=2.0, samples=20_000_000)
    assert short.angle_bits < long.angle_bits
    for sent in (short, long):
        assert sent.side_bits == sent.angle_bits * 16 * 15 // 2 + PRECISION_BITS


def test_coder_uses_the_decoded_basis_and_counts_it():
    rng = np.random.default_rng(0)
    y = np.convolve(rng.standard_normal(40000), [1.0, 0.8, 0.5, 0.2], mode="same")
    cov = block_covariance(y, 8)
    result, decoded, (sent, received) = code_signal(y, block=8, rate=2.0, covariance=cov)
    np.testing.assert_array_equal(sent, received)
    assert result.basis_bits == result.angle_bits * 28 + PRECISION_BITS
    assert result.side_bits > result.basis_bits
    # the coder codes with exactly what the decoder rebuilds from the quantized angles
    lam, basis = klt(cov)
    coder = BlockCoder(basis, lam, rate=2.0, transform="klt", samples=y.size)
    rebuilt = basis_from_angles(quantize_angles(givens_angles(basis)[0], coder.sent.angle_bits), 8)
    np.testing.assert_array_equal(coder.basis, rebuilt)
    assert coder.sent.angle_bits == result.angle_bits
    assert np.mean((decoded - y) ** 2) == pytest.approx(result.distortion, rel=1e-9)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="expected 3 angles for n=3"):
        basis_from_angles(np.zeros(2), 3)
    with pytest.raises(ParameterError, match="bits=0 must be a positive integer"):
        quantize_angles(np.zeros(2), 0)
    lam, basis = klt(ar1_covariance(4, 0.5))
    with pytest.raises(ParameterError, match="samples=0 must be a positive integer"):
        send_klt_basis(basis, lam, rate=1.0, samples=0)
    with pytest.raises(ParameterError, match="samples= is needed"):
        BlockCoder(basis, lam, rate=1.0, transform="klt")
