"""Tests of sfm_audio.overview: streamed, pooled figures data equal direct computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfm_audio import io
from sfm_audio._errors import AudioFileError, ParameterError
from sfm_audio.features import extract
from sfm_audio.overview import (
    frame_range,
    frequency_rows,
    full_scale_db,
    log_frequency_rows,
    overview,
    pool_columns,
)
from sfm_audio.stft import StftParams, stft

SR = 8000
AMIN = 1e-10


@pytest.fixture(scope="module")
def chirp(tmp_path_factory) -> Path:
    """1.5 s at 8 kHz: a tone gliding over noise, silent for the last 0.2 s (float WAV)."""
    rng = np.random.default_rng(1)
    t = np.arange(int(1.5 * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * (300 * t + 600 * t**2)) + 0.05 * rng.standard_normal(t.size)
    y[t > 1.3] = 0.0
    path = tmp_path_factory.mktemp("ov") / "chirp.wav"
    sf.write(path, y, SR, subtype="DOUBLE")
    return path


@pytest.fixture(scope="module")
def quiet_loud_noise_stereo(tmp_path_factory) -> Path:
    """1 s of float64 stereo: white noise at 0.1 left, at 0.4 right (seeded)."""
    rng = np.random.default_rng(2)
    y = rng.standard_normal((SR, 2)) * [0.1, 0.4]
    path = tmp_path_factory.mktemp("ov") / "stereo.wav"
    sf.write(path, y, SR, subtype="DOUBLE")
    return path


def _power(path: Path, **kw) -> np.ndarray:
    """Floored power spectrogram of the mono mix of the whole file, (n_freq, n_frames)."""
    y, _ = io.load(path)
    return np.maximum(np.abs(stft(y, **kw)) ** 2, AMIN)


def _expected_pool(P: np.ndarray, n_cols: int) -> np.ndarray:
    n = P.shape[1]
    cols = (np.arange(n) * n_cols) // n
    return np.stack([P[:, cols == c].mean(axis=1) for c in range(n_cols)], axis=1)


def test_unpooled_equals_extractor(chirp):
    feats = extract(chirp, n_fft=512, hop_length=128, bands="mpeg7")
    ov = overview(chirp, n_fft=512, hop_length=128, width=10_000)
    assert not ov.pooled and ov.frames_per_column == 1.0
    assert ov.n_frames == feats.meta.n_frames and ov.frame0 == 0
    np.testing.assert_allclose(ov.times, feats.times)
    np.testing.assert_allclose(ov.sfm, feats.values["sfm"][0], rtol=1e-12)
    np.testing.assert_allclose(ov.sfm_db, feats.values["sfm_db"][0], rtol=1e-12)
    np.testing.assert_allclose(ov.tonality, feats.values["tonality"][0], rtol=1e-12)
    np.testing.assert_allclose(ov.band_sfm, feats.band_sfm[0], rtol=1e-12)
    np.testing.assert_array_equal(ov.layout.edges_hz, feats.meta.layout.edges_hz)
    P = _power(chirp, n_fft=512, hop_length=128)
    np.testing.assert_allclose(ov.spec_db, 10 * np.log10(P), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(ov.freqs, np.arange(257) * SR / 512)
    np.testing.assert_allclose(ov.freq_edges, (np.arange(258) - 0.5) * SR / 512)


@pytest.mark.parametrize("height", [1, 10, 60, 10_000])
def test_rows_pooled_on_log_frequency_grid(chirp, height):
    P = _power(chirp, n_fft=512, hop_length=128)
    ov = overview(chirp, n_fft=512, hop_length=128, width=10_000, height=height, bands=None)
    starts = log_frequency_rows(257, height)
    assert starts[0] == 0 and starts[1] == 1  # DC alone
    assert np.all(np.diff(starts) > 0) and starts.size <= min(257, height + 1)
    stops = np.append(starts[1:], 257)
    expected = np.stack([P[a:b].mean(axis=0) for a, b in zip(starts, stops)])
    np.testing.assert_allclose(ov.spec_db, 10 * np.log10(expected), rtol=1e-10, atol=1e-9)
    df = SR / 512
    np.testing.assert_allclose(ov.freq_edges, (np.append(starts, 257) - 0.5) * df)
    np.testing.assert_allclose(ov.freqs, [df * (a + b - 1) / 2 for a, b in zip(starts, stops)])
    # rows are about equally wide on a log axis once bins are narrower than a row
    if height == 60:
        widths = np.diff(np.log(ov.freq_edges[1:]))
        assert widths[-10:].max() < 3 * np.log(256) / 60
    if height >= 10_000:  # rows narrower than the top bins: nothing merged
        np.testing.assert_array_equal(starts, np.arange(257))


@pytest.mark.parametrize("width", [1, 7, 40, 93])
def test_pooled_spectrogram_is_mean_power_per_column(chirp, width):
    P = _power(chirp, n_fft=256, hop_length=64)
    ov = overview(chirp, n_fft=256, hop_length=64, width=width, bands=None)
    n = P.shape[1]
    assert ov.spec_db.shape == (129, width) and ov.pooled
    np.testing.assert_allclose(ov.spec_db, 10 * np.log10(_expected_pool(P, width)), rtol=1e-10,
                               atol=1e-9)
    assert ov.col_edges.shape == (width + 1,)
    assert ov.col_edges[0] == pytest.approx(-0.5 * 64 / SR)
    assert ov.col_edges[-1] == pytest.approx((n - 0.5) * 64 / SR)
    assert np.all(np.diff(ov.col_edges) > 0)
    assert ov.band_sfm is None and ov.layout is None
    # flatness values are the column means of the per-frame values
    feats = extract(chirp, n_fft=256, hop_length=64, bands=None)
    cols = (np.arange(n) * width) // n
    for name in ("sfm", "sfm_db", "tonality"):
        v = feats.values[name][0]
        expected = np.array([v[cols == c].mean() for c in range(width)])
        np.testing.assert_allclose(getattr(ov, name), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ov.times, 0.5 * (ov.col_edges[1:] + ov.col_edges[:-1]))


def test_pooled_band_flatness(chirp):
    feats = extract(chirp, n_fft=512, hop_length=128, bands="octave")
    ov = overview(chirp, n_fft=512, hop_length=128, width=11, bands="octave")
    B = feats.band_sfm[0]
    cols = (np.arange(B.shape[1]) * 11) // B.shape[1]
    expected = np.stack([B[:, cols == c].mean(axis=1) for c in range(11)], axis=1)
    np.testing.assert_allclose(ov.band_sfm, expected, rtol=1e-10)


@pytest.mark.parametrize("center", [True, False])
def test_range_selects_frames_in_window(chirp, center):
    hop = 100
    params = StftParams(400, hop, None, "hann", center)
    P = _power(chirp, n_fft=400, hop_length=hop, center=center)
    times = np.arange(P.shape[1]) * hop / SR
    start, end = 0.333, 1.0171
    ov = overview(chirp, n_fft=400, hop_length=hop, center=center, start=start, end=end,
                  width=10_000, bands=None, block_frames=37)
    sel = np.flatnonzero((times >= start) & (times <= end))
    assert (ov.frame0, ov.n_frames) == (sel[0], sel.size)
    assert frame_range(12000, SR, params, start=start, end=end) == (sel[0], sel[-1] + 1)
    np.testing.assert_allclose(ov.times, times[sel])
    np.testing.assert_allclose(ov.spec_db, 10 * np.log10(P[:, sel]), rtol=1e-10, atol=1e-9)
    assert ov.start == pytest.approx(times[sel[0]]) and ov.end == pytest.approx(times[sel[-1]])


def test_range_at_file_edges_pads_like_whole_file(chirp):
    """Frames near both ends need the zero padding of the whole-file STFT."""
    P = _power(chirp, n_fft=1024, hop_length=256)
    n = P.shape[1]
    head = overview(chirp, n_fft=1024, hop_length=256, end=0.1, width=1000, bands=None)
    tail = overview(chirp, n_fft=1024, hop_length=256, start=1.45, width=1000, bands=None)
    np.testing.assert_allclose(head.spec_db, 10 * np.log10(P[:, : head.n_frames]), atol=1e-9)
    assert tail.frame0 + tail.n_frames == n
    np.testing.assert_allclose(tail.spec_db, 10 * np.log10(P[:, tail.frame0 :]), atol=1e-9)
    # the silent end floors at amin: -100 dB, SFM 1
    assert tail.spec_db[:, -1].max() == pytest.approx(-100.0)
    assert tail.sfm[-1] == pytest.approx(1.0)


def test_tiny_blocks_give_identical_results(chirp):
    """Reading 7 samples at a time changes nothing: the result does not need whole-file buffers."""
    a = overview(chirp, n_fft=256, hop_length=64, width=50, start=0.2, end=1.2)
    b = overview(chirp, n_fft=256, hop_length=64, width=50, start=0.2, end=1.2, block_frames=7)
    for name in ("spec_db", "sfm", "sfm_db", "tonality", "band_sfm", "col_edges", "times"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_stereo_is_mixed(quiet_loud_noise_stereo):
    P = _power(quiet_loud_noise_stereo, n_fft=256, hop_length=64)  # io.load mixes to mono
    ov = overview(quiet_loud_noise_stereo, n_fft=256, hop_length=64, width=10_000, bands=None)
    np.testing.assert_allclose(ov.spec_db, 10 * np.log10(P), atol=1e-9)


def test_pool_columns_are_consecutive_and_balanced():
    for n, w in [(10, 3), (1000, 7), (5, 5), (123457, 1500)]:
        cols = pool_columns(0, n, n, w)
        assert cols[0] == 0 and cols[-1] == w - 1
        assert np.all(np.diff(cols) >= 0) and np.all(np.diff(cols) <= 1)
        sizes = np.bincount(cols)
        assert sizes.max() - sizes.min() <= 1
        # chunks give the same columns as the whole
        np.testing.assert_array_equal(pool_columns(3, n - 3, n, w), cols[3:])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"start": 1.0, "end": 1.0}, r"start=1 s must be before end=1 s"),
        ({"start": 1.2, "end": 0.5}, r"must be before"),
        ({"start": -0.5}, r"must not be negative"),
        ({"start": 2.0}, r"start=2 s is outside the file \(it lasts 1.5 s\)"),
        ({"end": 9.0}, r"end=9 s is outside the file"),
        ({"start": 0.5001, "end": 0.5002}, r"holds no frame"),
        ({"width": 0}, r"width=0 must be a positive"),
        ({"height": 0}, r"height=0 must be a positive"),
        ({"bands": "nope"}, r"unknown bands"),
        ({"n_fft": 0}, r"n_fft=0"),
        ({"end": float("nan")}, r"finite"),
        ({"channels": "each"}, r"draws one channel or the mix"),
        ({"channels": 1}, r"channels=1 is out of range: .* has 1 channel"),
        ({"freq_scale": "mel"}, r"freq_scale='mel' must be 'log' or 'linear'"),
        ({"fmin": 3000, "fmax": 1000}, r"fmin=3000 Hz must be below fmax=1000 Hz"),
        ({"fmin": 4000}, r"not below Nyquist"),
    ],
)
def test_bad_parameters(chirp, kw, match):
    with pytest.raises(ParameterError, match=match):
        overview(chirp, **kw)


def test_bad_files(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        overview(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        overview(empty)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 20)
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        overview(text)


def test_one_channel_equals_that_channel_as_a_mono_file(quiet_loud_noise_stereo, tmp_path):
    y, _ = sf.read(quiet_loud_noise_stereo, always_2d=True)
    mono = tmp_path / "right.wav"
    sf.write(mono, y[:, 1], SR, subtype="DOUBLE")
    kw = {"n_fft": 256, "hop_length": 64, "width": 40, "height": 50, "bands": "octave"}
    a = overview(quiet_loud_noise_stereo, channels=1, **kw)
    b = overview(mono, **kw)
    for name in ("spec_db", "sfm", "sfm_db", "tonality", "band_sfm"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)
    assert (a.channels, a.n_channels, b.channels, b.n_channels) == (1, 2, "mix", 1)
    mixed = overview(quiet_loud_noise_stereo, **kw)
    assert not np.allclose(mixed.sfm, a.sfm)


def test_frequency_range(chirp):
    """Rows and frame flatness use only the bins in [fmin, fmax]; bands are clipped to it."""
    n_fft, hop = 256, 64
    ov = overview(chirp, n_fft=n_fft, hop_length=hop, width=10_000, fmin=700, fmax=2100,
                  bands="octave")
    k = np.arange(n_fft // 2 + 1) * SR / n_fft
    inside = (k >= 700) & (k <= 2100)
    np.testing.assert_allclose(ov.freqs, k[inside])
    P = _power(chirp, n_fft=n_fft, hop_length=hop)[inside]
    np.testing.assert_allclose(ov.spec_db, 10 * np.log10(P), atol=1e-9)
    sfm = np.exp(np.log(P).mean(axis=0)) / P.mean(axis=0)
    np.testing.assert_allclose(ov.sfm, sfm, rtol=1e-9)
    edges = ov.layout.edges_hz
    assert edges.min() >= 700 and edges.max() <= 2100 and ov.layout.n_bands >= 1


def test_full_scale_db_is_the_power_of_a_full_scale_sine():
    for n_fft, win_length in ((2048, None), (512, 400)):
        params = StftParams(n_fft, 128, win_length, "hann", True)
        win = n_fft if win_length is None else win_length
        frame = np.zeros(n_fft)
        # a full-scale sine at bin 16 under a centred, zero-padded periodic Hann window
        lpad = (n_fft - win) // 2
        w = np.zeros(n_fft)
        w[lpad : lpad + win] = np.hanning(win + 1)[:-1]
        frame[:] = np.cos(2 * np.pi * 16 * np.arange(n_fft) / n_fft)
        peak_db = 20 * np.log10(np.abs(np.fft.rfft(w * frame))[16])
        assert full_scale_db(params) == pytest.approx(peak_db, abs=1e-9)
    assert full_scale_db(StftParams(2048, 512)) == pytest.approx(20 * np.log10(512), abs=1e-12)


@pytest.mark.parametrize(("lo", "hi", "n"), [(0, 1025, 300), (0, 1025, 5000), (93, 372, 40),
                                             (5, 9, 100)])
def test_frequency_rows_linear_are_an_even_grid(lo, hi, n):
    starts = frequency_rows(lo, hi, n, scale="linear")
    sizes = np.diff(np.append(starts, hi))
    assert starts[0] == lo and np.all(sizes >= 1)
    assert len(starts) == min(n, hi - lo)
    assert sizes.max() - sizes.min() <= 1


def test_frequency_rows_log():
    np.testing.assert_array_equal(frequency_rows(0, 1025, 200), log_frequency_rows(1025, 200))
    starts = frequency_rows(93, 372, 40)
    sizes = np.diff(np.append(starts, 372))
    assert starts[0] == 93 and len(starts) <= 41
    # equal steps in log frequency: the rows hold more bins as frequency rises
    assert sizes[-5:].mean() > sizes[:5].mean()
    assert np.all(np.log(starts[1:] / starts[:-1]) < np.log(372 / 93) / 40 * 2 + 1e-12)
