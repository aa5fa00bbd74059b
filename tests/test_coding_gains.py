"""The gains experiment: real coders at one step against predictions from the extractor."""

import csv
import math

import numpy as np
import pytest
from scipy.signal import lfilter

from sfm_audio._errors import ParameterError, SfmError
from sfm_audio.coding.gains import (
    GAINS_COLUMNS,
    bark_edges_hz,
    coefficient_edges,
    gains_signal,
    validate_pcm_bits,
    write_gains,
)

SR = 16000
AR_LIMIT_DB = -10 * math.log10(1 - 0.9**2)  # 1/SFM of the AR(1) PSD: 7.2125 dB


def _ar1(n, seed, a=0.9, s=0.1):
    w = np.random.default_rng(seed).standard_normal(n) * s * math.sqrt(1 - a * a)
    return lfilter([1.0], [1.0, -a], w)


@pytest.mark.slow
def test_ar1_stationary_gain_reaches_the_limit_and_is_predicted():
    # 60 s and a 256-sample MDCT: the per-coefficient models' side bits (103 each) cost
    # 0.04 bit/sample; the limit is 1/SFM(PSD) = 1/(1 - a^2)
    (row,) = gains_signal(_ar1(SR * 60, 0), sr=SR, pcm_bits=(8,), block=256)
    assert abs(row.measured_stationary_db - AR_LIMIT_DB) <= 0.4
    assert abs(row.predicted_stationary_db - row.measured_stationary_db) <= 0.3
    # the pure high-rate value is the limit itself, up to the PSD estimate
    assert row.highrate_stationary_db == pytest.approx(AR_LIMIT_DB, abs=0.15)


@pytest.mark.slow
def test_alternating_level_ar1_adaptive_beats_stationary_and_is_predicted():
    n = SR * 20
    level = np.repeat(np.tile([1.0, 0.1], n // 8192 + 1), 4096)[:n]  # 20 dB apart
    (row,) = gains_signal(_ar1(n, 1) * level, sr=SR, pcm_bits=(8,))
    assert row.measured_adaptive_db >= row.measured_stationary_db + 3.0
    assert abs(row.predicted_adaptive_db - row.measured_adaptive_db) <= 1.0
    # the temporal term of the time–frequency flatness: 10 log10(AM/GM) of (1, 0.01) at
    # most (frames straddling a step smear it)
    assert -7.1 < row.tf_temporal_db < -4.0


def test_rows_columns_and_csv(tmp_path):
    rows = gains_signal(_ar1(SR * 3, 2), sr=SR, pcm_bits=(4, 8))
    assert [r.pcm_bits for r in rows] == [4, 8]
    for r in rows:
        assert r.step == 2.0 ** (1 - r.pcm_bits)
        # both transform coders quantize the same coefficients with the same step
        assert r.transform_distortion <= r.pcm_distortion * 1.01
        assert 0 <= r.subfloor_fraction <= 1
    out = write_gains(tmp_path / "g.csv", rows)
    with open(out) as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == GAINS_COLUMNS and len(table) == 3
    assert float(table[2][GAINS_COLUMNS.index("measured_adaptive_db")]) == pytest.approx(
        rows[1].measured_adaptive_db, rel=1e-8)
    assert rows[0].to_dict()["file"] == "<array>"


def test_bark_edges_map_to_coefficients():
    e = bark_edges_hz(16000)
    assert e[0] == 0 and e[-1] == 8000 and (np.diff(e) > 0).all()
    c = coefficient_edges(e, sr=16000, block=1024)
    assert c[0] == 0 and c[-1] == 1024 and c.size == e.size
    # coefficient k sits at (k + 1/2) sr / (2 block): 100 Hz falls after coefficient 12
    assert c[1] == 13


def test_bad_inputs():
    with pytest.raises(ParameterError, match="pcm_bits"):
        validate_pcm_bits([8, 1])
    with pytest.raises(ParameterError, match="pcm_bits"):
        validate_pcm_bits([])
    with pytest.raises(ParameterError, match="fewer than two blocks"):
        gains_signal(np.ones(100), sr=SR)
    with pytest.raises(SfmError, match="constant"):
        gains_signal(np.zeros(SR), sr=SR)
    with pytest.raises(ParameterError, match="finite"):
        gains_signal(np.full(SR, np.nan), sr=SR)


def test_frame_gains_follow_the_frames_and_the_flatness_effect():
    from sfm_audio.agreement import agreement
    from sfm_audio.coding.gains import frame_gains

    n = SR * 8
    level = np.repeat(np.tile([1.0, 0.1], n // 8192 + 1), 4096)[:n]
    f = frame_gains(_ar1(n, 3) * level, sr=SR, pcm_bits=8)
    assert f.measured.shape == f.predicted.shape == f.energy_only.shape
    # the per-frame bits, predicted from the extractor's band levels alone, agree on y = x
    assert agreement(f.measured, f.predicted).r2 > 0.8
    # the AR(1)'s spectral shape saves bits against a flat spectrum of the same energy
    assert (f.predicted < f.energy_only).mean() > 0.9
    with pytest.raises(ParameterError, match="pcm_bits"):
        frame_gains(np.ones(4096), sr=SR, pcm_bits=1)


@pytest.mark.parametrize("n", [3576, 4566])
def test_a_clip_of_a_few_blocks_is_predicted(n):
    # the coder codes ceil(n / block) + 1 frames of block coefficients, more than the n
    # samples by up to two blocks, and PCM codes the samples alone: rates summed over the
    # coder's frames, not averaged (averaged, the adaptive prediction was 8 dB too high here)
    (row,) = gains_signal(_ar1(n, 4), sr=22050, pcm_bits=(8,))
    assert row.predicted_pcm_bits_per_sample == pytest.approx(
        row.pcm_bits_per_sample, abs=0.05)
    assert row.predicted_adaptive_bits_per_sample == pytest.approx(
        row.adaptive_bits_per_sample, abs=0.1)
    assert abs(row.predicted_adaptive_db - row.measured_adaptive_db) <= 1.0
    # the stationary models fitted to five frames save what _in_sample_saving says, not more
    assert abs(row.predicted_stationary_bits_per_sample - row.stationary_bits_per_sample) \
        <= 0.02 * row.stationary_bits_per_sample


def test_quiet_signal_pcm_rate_at_low_resolution():
    # sigma = 0.38 steps: the high-rate cross-entropy drops the index grid's own entropy
    # (0.23 bit here); the predicted histogram coded as the coder codes it does not
    (row,) = gains_signal(0.03 * _ar1(SR * 10, 2), sr=SR, pcm_bits=(8,))
    assert row.predicted_pcm_bits_per_sample == pytest.approx(
        row.pcm_bits_per_sample, abs=0.02)
    assert row.predicted_pcm_distortion == pytest.approx(row.pcm_distortion, rel=0.02)


@pytest.mark.parametrize("sigma", [0.1, 0.3, 0.5, 1.0, 3.0])
def test_gaussian_mse_is_the_quantizer_error_by_quadrature(sigma):
    from scipy.integrate import quad
    from scipy.stats import norm

    from sfm_audio.coding.predicted_gains import _gaussian_mse

    # E[(X - round(X))^2] for X ~ N(0, sigma^2), cell by cell by adaptive quadrature
    exact = sum(quad(lambda x, k=k: (x - k) ** 2 * norm.pdf(x, scale=sigma), k - 0.5,
                     k + 0.5)[0] for k in range(-40, 41))
    assert _gaussian_mse(np.array([sigma**2]), 1.0)[0] == pytest.approx(exact, rel=1e-9)
    # its asymptotes: all to zero (v) far below the step, theta = 1/12 far above
    assert _gaussian_mse(np.array([sigma**2]), 1.0)[0] <= min(sigma**2, 1 / 12) + 1e-12
