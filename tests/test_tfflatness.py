"""Time–frequency flatness: the exact factorisation, the log bias and analytic anchors."""

import numpy as np
import pytest
from scipy.special import digamma

from sfm_audio._errors import ParameterError
from sfm_audio.features import ExtractOptions, extract, open_features
from sfm_audio.summaries import summary_rows, table_schema
from sfm_audio.tfflatness import TF_COLUMNS, TfSums, band_log_bias, tf_flatness

SR = 22050


def _summary(y, **options):
    meta, chunks = open_features(y, ExtractOptions(**options), sr=SR)
    _, numeric = summary_rows(meta, chunks)
    names = [c.name for c in table_schema(meta, True)]
    return dict(zip(names, numeric[0])), numeric, names


def test_factorisation_is_exact_for_any_spectrogram():
    rng = np.random.default_rng(1)
    v = rng.lognormal(sigma=3.0, size=(17, 40))
    widths = rng.integers(1, 30, size=17)
    bias = rng.normal(size=17) * 0.1
    tf = tf_flatness(v, widths, log_bias=bias)
    assert tf.sfm_db == pytest.approx(tf.temporal_db + tf.spectral_db, abs=1e-10)
    # the total against the definition: weighted GM over AM of every coefficient's variance
    cells = np.repeat(v, widths, axis=0)
    logs = np.repeat(np.log(v) - bias[:, None], widths, axis=0)
    direct = 10 * np.log10(np.exp(logs.mean()) / cells.mean())
    assert tf.sfm_db == pytest.approx(direct, abs=1e-9)
    assert tf.frames == 40


def test_single_bin_bias_is_minus_gamma_for_any_window():
    for window in (np.hanning(512), np.ones(512)):
        assert band_log_bias(window, np.array([1]))[0] == pytest.approx(-np.euler_gamma)


def test_rectangular_window_bias_is_the_gamma_law_of_k_independent_bins():
    k = np.array([1, 2, 5, 40])
    assert band_log_bias(np.ones(1024), k) == pytest.approx(digamma(k) - np.log(k), abs=1e-9)


def test_hann_bias_against_simulation():
    # the mean of K adjacent Hann-periodogram bins of white noise, simulated
    rng = np.random.default_rng(2)
    n, k = 512, 4
    w = np.hanning(n + 1)[:-1]
    x = rng.standard_normal((4000, n)) * w
    P = np.abs(np.fft.rfft(x, axis=1)) ** 2 / (w @ w)
    mean_k = P[:, 40 : 40 + k].mean(axis=1)
    simulated = np.log(mean_k).mean()  # E[P] = 1 exactly
    assert band_log_bias(w, np.array([k]))[0] == pytest.approx(simulated, abs=0.03)


def test_white_noise_is_flat_in_time_and_frequency():
    y = np.random.default_rng(3).standard_normal(SR * 10) * 0.1
    row, _, _ = _summary(y, bands="third-octave")
    for name in TF_COLUMNS:
        assert abs(row[name]) < 0.05, name
    # the levels read the variance per sample, 10 log10(0.01) = -20 dB, up to the log bias
    levels = extract(y, sr=SR, bands="linear:16").band_level
    assert np.mean(10 ** (levels / 10)) == pytest.approx(0.01, rel=0.02)


def test_amplitude_modulated_noise_temporal_term_in_closed_form():
    # +-20 dB steps every 8192 samples, frames aligned with the steps: E_f alternates between
    # s2 and s2 / 100, so the temporal term is 10 log10(GM / AM) of (1, 0.01)
    rng = np.random.default_rng(4)
    n = 8192
    y = rng.standard_normal(n * 40) * np.repeat(np.tile([1.0, 0.1], 20), n)
    row, _, _ = _summary(y, bands="linear:32", n_fft=2048, hop_length=2048, center=False)
    expected = 10 * np.log10(np.sqrt(1 * 0.01) / 0.505)
    assert row["tf_temporal_db"] == pytest.approx(expected, abs=0.1)
    assert abs(row["tf_spectral_db"]) < 0.1
    assert row["tf_sfm_db"] == pytest.approx(row["tf_temporal_db"] + row["tf_spectral_db"],
                                             abs=1e-9)


def test_tf_columns_per_segment_and_only_with_levels():
    y = np.random.default_rng(5).standard_normal(SR * 4)
    _, numeric, names = _summary(y, bands="octave", segment=1.0)
    assert names[-3:] == list(TF_COLUMNS) and numeric.shape[0] == 4
    assert np.isfinite(numeric[:, -3:]).all()
    _, _, names = _summary(y, bands="octave", features="sfm,sfm_band")
    assert not set(TF_COLUMNS) & set(names)
    _, _, names = _summary(y, bands="octave", features="level_band")
    assert names[-3:] == list(TF_COLUMNS)
    assert any(n.startswith("level_band_") for n in names)


def test_existing_columns_keep_their_order():
    y = np.random.default_rng(6).standard_normal(SR)
    f = extract(y, sr=SR, bands="octave")
    cols = f.meta.columns
    first_level = min(i for i, c in enumerate(cols) if c.startswith("level_band_"))
    assert all(c.startswith("level_band_") for c in cols[first_level:])
    assert cols[:5] == ["sfm", "sfm_db", "tonality", "crest", "rms_dbfs"]
    assert f.band_level.shape == f.band_sfm.shape


def test_bad_inputs():
    with pytest.raises(ParameterError, match="must be"):
        tf_flatness(np.ones((3, 4)), np.ones(2))
    with pytest.raises(ParameterError, match="positive"):
        tf_flatness(np.zeros((2, 4)), np.ones(2))
    assert tf_flatness(np.ones((2, 0)), np.ones(2)).frames == 0


def test_sums_over_blocks_equal_the_whole_spectrogram():
    rng = np.random.default_rng(7)
    v = rng.lognormal(sigma=2.0, size=(9, 1000))
    widths = rng.integers(1, 20, size=9)
    bias = rng.normal(size=9) * 0.1
    whole = tf_flatness(v, widths, log_bias=bias)
    sums = TfSums(widths, log_bias=bias)
    for a, b in [(0, 1), (1, 300), (300, 300), (300, 1000)]:  # uneven blocks, one empty
        sums.add(v[:, a:b])
    got = sums.result()
    assert got.frames == whole.frames == 1000
    # only the order of the sums differs: agreement to rounding
    for name in ("sfm_db", "temporal_db", "spectral_db"):
        assert getattr(got, name) == pytest.approx(getattr(whole, name), abs=1e-9)
    assert got.sfm_db == pytest.approx(got.temporal_db + got.spectral_db, abs=1e-10)
    assert np.isnan(TfSums(widths).result().sfm_db)
    with pytest.raises(ParameterError, match="positive"):
        TfSums(widths).add(np.zeros((9, 2)))
