"""sfm_audio.coding.lossless: the Gaussian entropy-rate estimate, calibrated on sources of
known entropy rate, and FLAC at each sample width beside it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.signal import lfilter
from scipy.stats import norm

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    LosslessEstimate,
    exponential_log_bias,
    lossless_estimate,
    pcm_width,
    periodogram,
    spectral_rate,
    to_pcm,
)
from sfm_audio.coding.flac import flac_bytes

N = 1 << 17


def gaussian_integers(rho: float, sigma_w: float, seed: int = 1) -> np.ndarray:
    """Rounded AR(1) (white for rho = 0) with innovation sigma_w, integer step 1."""
    w = np.random.default_rng(seed).normal(0.0, sigma_w, N + 2000)
    return np.rint(lfilter([1.0], [1.0, -rho], w)[2000:]).astype(np.int64)


def entropy_rate(sigma_w: float) -> float:
    """1/2 log2(2 pi e sigma_w^2): docs/definitions.md (closed form; at this resolution the
    entropy rate of the rounded process)."""
    return 0.5 * np.log2(2 * np.pi * np.e * sigma_w**2)


@pytest.mark.parametrize("bits, rho, sigma_w, tolerance", [
    (16, 0.0, 1000.0, 0.02),    # white, 12.0129 bit
    (16, 0.95, 300.0, 0.02),    # AR(1), 10.2759 bit
    (8, 0.0, 4.0, 0.02),        # 8-bit, 4.0471 bit
    (24, 0.95, 76800.0, 0.02),  # 24-bit, 18.2759 bit
])
def test_calibrated_on_known_entropy_rate(bits, rho, sigma_w, tolerance):
    q = gaussian_integers(rho, sigma_w)
    assert np.abs(q).max() < 2 ** (bits - 1)  # the source fits the width
    truth = entropy_rate(sigma_w)
    assert lossless_estimate(q).estimate_bits_per_sample == pytest.approx(truth, abs=tolerance)
    flac = 8 * flac_bytes(q, 16000, bits=bits) / q.size
    assert 0.05 <= flac - truth <= 0.25


@pytest.mark.parametrize("a", [1e-4, 0.3, 1.0, 10.0, 1e3, 1e5])
def test_exponential_bias_is_the_exact_expectation(a):
    """1/2 log2(max(a, 1)) - E[1/2 log2 max(a X, 1)], X ~ Exp(1), by numerical integration
    (the integrand is 0 below x = 1/a)."""
    expected, _ = quad(lambda x: 0.5 * np.log2(a * x) * np.exp(-x), 1 / a, np.inf, limit=400)
    assert exponential_log_bias(np.array(a)) == pytest.approx(
        0.5 * np.log2(max(a, 1.0)) - expected, abs=1e-8)


def test_exponential_bias_limits():
    # gamma / (2 ln 2) for a periodogram's log at high resolution; 0 without signal
    assert exponential_log_bias(np.array(1e12)) == pytest.approx(
        np.euler_gamma / (2 * np.log(2)), abs=1e-9)
    assert exponential_log_bias(np.array(0.0)) == pytest.approx(0.0, abs=1e-12)


def rounded_gaussian_entropy(sigma: float) -> float:
    """Exact entropy (bits) of round(sigma * Z), Z ~ N(0, 1): the sum over its pmf."""
    k = np.arange(-int(40 * sigma) - 5, int(40 * sigma) + 6)
    p = np.diff(norm.cdf((np.append(k, k[-1] + 1) - 0.5) / sigma))
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def test_rounded_gaussian_entropy_reference():
    # the anchor table's uniform quantizer on N(0, 1), step 1: 2.1048 bit; and from 1 step up
    # the Gaussian of the integers' variance sigma^2 + 1/12 (the rounding noise counted once)
    assert rounded_gaussian_entropy(1.0) == pytest.approx(2.1048, abs=5e-5)
    for sigma in (1.0, 2.0, 4.0, 64.0):
        assert rounded_gaussian_entropy(sigma) == pytest.approx(
            0.5 * np.log2(2 * np.pi * np.e * (sigma**2 + 1 / 12)), abs=1e-5)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("sigma", [1.0, 2.0, 4.0])
def test_exact_on_white_gaussian_integers(tmp_path, bits, sigma):
    """White Gaussian integers of sigma steps, stored as 8- or 16-bit WAV and read as the
    coding report reads them: the estimate is the exact entropy of the rounded Gaussian
    within 0.02 bit (the rounding noise counted once; counting it twice gave +0.044 bit at
    sigma = 1)."""
    import soundfile as sf

    from sfm_audio.coding import lossless_file

    q = np.rint(np.random.default_rng(5).normal(0, sigma, N))
    path = tmp_path / "white.wav"
    sf.write(path, q / 2.0 ** (bits - 1), 16000, subtype={8: "PCM_U8", 16: "PCM_16"}[bits])
    entry = lossless_file(path)
    assert entry.pcm_bits == bits and not entry.quantized
    truth = rounded_gaussian_entropy(sigma)
    assert entry.estimate_bits_per_sample == pytest.approx(truth, abs=0.02)


@pytest.mark.parametrize("ratio, tolerance", [
    (1.0, 0.1), (3.0, 0.03), (10.0, 0.015), (30.0, 0.015), (100.0, 0.015)])
def test_unbiased_where_the_spectrum_nears_the_step(ratio, tolerance):
    """White Gaussian noise of variance ratio * theta (theta = 1 here): the spectral term must
    equal 1/2 log2(ratio) (known exactly here) within 0.015 bit from ratio 10 (integers of a
    source of 0.87 step) up, where a plug-in correction at the bin's own value would be off by
    up to 0.05. Nearer the floor the local average straddles the floor's kink: +0.08 bit at
    ratio 1 (no source at all, only rounding noise), -0.023 at 3 (0.4 step)."""
    x = np.random.default_rng(2).normal(0, np.sqrt(ratio), 1 << 18)
    frames = np.lib.stride_tricks.sliding_window_view(x, 4096)[::2048]
    assert spectral_rate(periodogram(frames)).mean() == pytest.approx(
        0.5 * np.log2(ratio), abs=tolerance)


def test_spectrum_below_the_rounding_noise_costs_nothing_beyond_the_gap():
    """A deterministic signal's spectrum may fall below theta (a tone's empty bins, DC):
    those bins cost 0 bits, never a negative number or NaN; exact zeros beside a strong
    tone (where the local average's running sums go slightly negative) included."""
    a = np.zeros((2, 2049))
    a[1, 100] = 1e12
    rate = spectral_rate(a)
    assert np.all(np.isfinite(rate)) and rate[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < rate[1] < 0.05


def test_periodogram_odd_frame_weights():
    """An odd frame has no Nyquist bin: a flat spectrum of ratio r gives 1/2 log2(1 + r) plus
    the bias correction, whatever the parity."""
    a = np.full((1, 8), 3.0)  # rfft of 14 or 15 samples
    assert spectral_rate(a, n_fft=14)[0] == pytest.approx(spectral_rate(a, n_fft=15)[0])


def test_wasted_bits_and_silence():
    q = gaussian_integers(0.95, 300.0)[:20000]
    e16 = lossless_estimate(q).estimate_bits_per_sample
    # the same recording stored with 8 zero low bits (16-bit audio in a 24-bit file)
    assert lossless_estimate(q * 256).estimate_bits_per_sample == pytest.approx(e16, abs=1e-9)
    # digital silence costs nothing
    assert lossless_estimate(np.zeros(10000)).estimate_bits_per_sample == 0.0
    padded = np.concatenate([q, np.zeros(q.size, dtype=q.dtype)])
    assert lossless_estimate(padded).estimate_bits_per_sample < 0.6 * e16


def test_streams_in_pieces():
    q = gaussian_integers(0.0, 50.0)[:30000]
    acc = LosslessEstimate()
    for piece in np.array_split(q, [5, 4096, 4097, 20000]):
        acc.update(piece)
    whole = lossless_estimate(q)
    assert acc.result().frames == whole.frames
    assert acc.result().estimate_bits_per_sample == pytest.approx(
        whole.estimate_bits_per_sample, rel=1e-13)  # frames batched differently: rounding


def test_short_signal_is_one_frame():
    q = gaussian_integers(0.0, 1000.0)[:1000]
    r = lossless_estimate(q)
    assert r.frames == 1
    assert r.estimate_bits_per_sample == pytest.approx(entropy_rate(1000.0), abs=0.3)


@pytest.mark.parametrize("subtype, bits, quantized", [
    ("PCM_U8", 8, False), ("PCM_S8", 8, False), ("PCM_16", 16, False), ("PCM_24", 24, False),
    ("ALAC_20", 24, False), ("DWVW_12", 16, False),
    ("PCM_32", 16, True), ("FLOAT", 16, True), ("DOUBLE", 16, True),
    ("MPEG_LAYER_III", 16, True), ("VORBIS", 16, True),
])
def test_pcm_width(subtype, bits, quantized):
    assert pcm_width(subtype) == (bits, quantized)


@pytest.mark.parametrize("bits", [8, 16, 24])
def test_to_pcm_reads_back_the_integers(tmp_path, bits):
    import soundfile as sf

    q = gaussian_integers(0.0, 2.0 ** (bits - 4))[:5000]
    path = tmp_path / "x.wav"
    sf.write(path, q / 2.0 ** (bits - 1), 8000,
             subtype={8: "PCM_U8", 16: "PCM_16", 24: "PCM_24"}[bits])
    y = sf.read(path, dtype="float64")[0]
    np.testing.assert_array_equal(to_pcm(y, bits), q)
    assert to_pcm(np.array([1.5, -2.0]), bits).tolist() == [2 ** (bits - 1) - 1,
                                                            -(2 ** (bits - 1))]


@pytest.mark.parametrize("call, message", [
    (lambda: lossless_estimate(np.zeros(1)), "at least 2 samples"),
    (lambda: lossless_estimate(np.array([0.5, 1.0, 2.0])), "integer samples"),
    (lambda: LosslessEstimate(frame=1), "frame=1 must be an integer >= 2"),
    (lambda: LosslessEstimate(hop=0), "hop=0 must be a positive integer"),
    (lambda: to_pcm(np.zeros(3), 12), "bits=12 must be 8, 16 or 24"),
    (lambda: flac_bytes(np.zeros(3, dtype=np.int32), 8000, bits=12), "bits=12 must be"),
    (lambda: flac_bytes(np.array([300]), 8000, bits=8), "do not fit in 8 bits"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_bias_table_matches_the_exact_form():
    from sfm_audio.coding.lossless import _bias_table

    a = np.concatenate([10 ** np.random.default_rng(0).uniform(-12, 16, 20000), [0.0, 1e300]])
    assert np.abs(_bias_table(a) - exponential_log_bias(a)).max() < 1e-5
