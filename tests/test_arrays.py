"""In-memory audio: extract(y, sr=...), spectral_flatness(y=...), to_pandas."""

import csv
import warnings

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import ParameterError
from sfm_audio.cli import main
from sfm_audio.features import ExtractOptions, extract, open_features
from sfm_audio.flatness import spectral_flatness
from sfm_audio.stft import get_window, stft

SR = 22050


@pytest.fixture(scope="module")
def stereo_y():
    rng = np.random.default_rng(3)
    t = np.arange(int(1.5 * SR)) / SR
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)
    right = 0.2 * rng.standard_normal(t.size) * (0.05 + (t > 0.5))
    return np.stack([left, right])


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory, stereo_y):
    path = tmp_path_factory.mktemp("arrays") / "y.wav"
    sf.write(path, stereo_y.T, SR, subtype="DOUBLE")  # float64 samples: exactly the array
    return path


@pytest.mark.parametrize(
    "options",
    [{"channels": "mix"}, {"channels": "each", "bands": "octave"}, {"channels": 1},
     {"channels": "each", "start": 0.3, "end": 1.0, "fmin": 300.0, "fmax": 6000.0},
     {"n_fft": 1024, "hop_length": 300, "center": False, "power": 1.0, "bands": "mel:12"}],
)
def test_an_array_gives_what_the_same_samples_in_a_file_give(stereo_y, stereo_wav, options):
    a = extract(stereo_y, sr=SR, **options)
    b = extract(stereo_wav, **options)
    assert a.meta.columns == b.meta.columns and a.meta.channels == b.meta.channels
    np.testing.assert_array_equal(a.times, b.times)
    for name in b.meta.columns:
        np.testing.assert_allclose(a.values[name], b.values[name], rtol=0, atol=1e-9,
                                   err_msg=name)


def test_a_mono_1d_array_and_float32(stereo_y, tmp_path):
    y = stereo_y[0].astype(np.float32)
    path = tmp_path / "mono.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    a, b = extract(y, sr=SR), extract(path)
    assert a.meta.channels == ["mix"]
    for name in b.meta.columns:
        np.testing.assert_allclose(a.values[name], b.values[name], rtol=0, atol=1e-9)
    ref = librosa.feature.spectral_flatness(y=y)[0]
    np.testing.assert_allclose(a.values["sfm"][0], ref, atol=1e-5)


def test_threads_do_not_change_numbers(stereo_y):
    a = extract(stereo_y, sr=SR, channels="each", threads=1)
    b = extract(stereo_y, sr=SR, channels="each", threads=2)
    for name in a.meta.columns:
        np.testing.assert_array_equal(a.values[name], b.values[name])


def test_to_pandas_is_the_command_lines_frame_table(stereo_wav, tmp_path):
    out = tmp_path / "frames.csv"
    result = CliRunner().invoke(main, ["extract", str(stereo_wav), "-o", str(out),
                                       "--channels", "each", "--bands", "octave"])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    df = extract(stereo_wav, channels="each", bands="octave").to_pandas()
    assert list(df.columns) == list(rows[0])
    assert len(df) == len(rows)
    assert list(df["channel"][:4]) == [r["channel"] for r in rows[:4]] == ["0", "1", "0", "1"]
    np.testing.assert_array_equal(df["frame"], [int(r["frame"]) for r in rows])
    band = next(c for c in df.columns if c.startswith("sfm_band_"))
    for name in ("time_s", "sfm", "rms_dbfs", band):
        np.testing.assert_allclose(df[name], [float(r[name]) for r in rows], rtol=1e-6,
                                   atol=1e-6)


@pytest.mark.parametrize(
    ("n_fft", "hop", "center", "power", "window"),
    [(2048, 512, True, 2.0, "hann"), (1024, 256, False, 1.0, "hamming"),
     (512, 160, True, 2.0, "blackman"), (4096, 1024, True, 0.5, "hann")],
)
def test_spectral_flatness_of_a_signal_matches_librosa(stereo_y, n_fft, hop, center, power,
                                                       window):
    y = stereo_y.astype(np.float32)
    ref = librosa.feature.spectral_flatness(y=y, n_fft=n_fft, hop_length=hop, center=center,
                                            power=power, window=window)
    ours = spectral_flatness(y=y, n_fft=n_fft, hop_length=hop, center=center, power=power,
                             window=window)
    assert ours.shape == ref.shape == (2, 1, ref.shape[-1])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    one = spectral_flatness(y=y, n_fft=n_fft, hop_length=hop, center=center, power=power,
                            window=window, threads=1)
    np.testing.assert_array_equal(one, ours)


def test_spectral_flatness_of_a_long_signal_crosses_chunks():
    y = np.random.default_rng(5).standard_normal(SR * 30) * np.linspace(0, 1, SR * 30)
    ref = librosa.feature.spectral_flatness(y=y)
    np.testing.assert_allclose(spectral_flatness(y=y), ref, rtol=0, atol=1e-5)


def test_negative_magnitudes_raise_as_librosa_does():
    S = np.array([[1.0, 3.0], [-2.0, 1.0], [1.0, 2.0]])
    with pytest.raises(librosa.util.exceptions.ParameterError):
        librosa.feature.spectral_flatness(S=S)
    with pytest.raises(ParameterError, match="non-negative"):
        spectral_flatness(S)


def test_a_one_sample_window_is_scipys():
    np.testing.assert_array_equal(get_window("hann", 1),
                                  scipy.signal.get_window("hann", 1, fftbins=True))
    y = np.random.default_rng(0).standard_normal(400)
    ours = stft(y, n_fft=16, hop_length=4, win_length=1)
    ref = librosa.stft(y, n_fft=16, hop_length=4, win_length=1, dtype=np.complex128)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert np.abs(ours).max() > 0  # not silently zero


@pytest.mark.parametrize(("n_fft", "hop", "center"), [(2048, 512, True), (1000, 300, False)])
def test_rms_dbfs_is_librosas_rms(stereo_y, n_fft, hop, center):
    y = stereo_y[0]
    f = extract(y, sr=SR, n_fft=n_fft, hop_length=hop, center=center, bands=None)
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop, center=center)[0]
    # librosa returns float32 RMS values: 1e-5 dB is float32 precision
    np.testing.assert_allclose(f.values["rms_dbfs"][0], 20 * np.log10(rms), atol=1e-5)


def test_silence_has_the_floor_level_and_sfm_one():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = extract(np.zeros(SR), sr=SR)
    np.testing.assert_array_equal(f.values["rms_dbfs"], -200.0)
    np.testing.assert_allclose(f.values["sfm"], 1.0, atol=1e-12)


@pytest.mark.parametrize(
    ("y", "kwargs", "message"),
    [(np.zeros(100), {}, "needs its sampling rate"),
     (np.zeros(100), {"sr": 0}, "sr=0"),
     (np.zeros((2, 2, 100)), {"sr": SR}, "shape"),
     (np.array([0.0, np.nan, 0.0]), {"sr": SR}, "NaN"),
     (np.zeros(100, dtype=complex), {"sr": SR}, r"floating-point audio .*complex128$"),
     (np.zeros(100, dtype=np.int16), {"sr": SR}, r"floating-point.*y / 32768 for int16"),
     # soundfile's (frames, channels) layout, passed as is
     (np.zeros((4096, 2)), {"sr": SR}, r"4096 channels of 2 sample\(s\).*pass y\.T"),
     (np.zeros((4096, 1)), {"sr": SR}, "4096 channels of 1 sample"),
     (np.zeros(0), {"sr": SR}, "shape"),
     (np.zeros((2, 100)), {"sr": SR, "channels": 2}, "out of range"),
     (np.zeros(100), {"sr": SR, "center": False}, "too few"),
     (np.zeros(100), {"sr": SR, "threads": 0}, "threads=0")],
)
def test_bad_arrays(y, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        extract(y, **kwargs)


def test_an_array_is_not_resampled_and_a_file_takes_no_array_rate(stereo_wav):
    with pytest.raises(ParameterError, match="not resampled"):
        open_features(np.zeros(4096), ExtractOptions(sr=16000), sr=SR)
    with pytest.raises(ParameterError, match="rate of an array"):
        open_features(stereo_wav, sr=SR)


def test_spectral_flatness_bad_signals():
    with pytest.raises(ParameterError, match="NaN"):
        spectral_flatness(y=np.array([0.0, np.inf] * 2000))
    with pytest.raises(ParameterError, match="too large"):
        spectral_flatness(y=np.zeros(100), center=False)
    with pytest.raises(ParameterError, match="pad_mode"):
        spectral_flatness(y=np.zeros(4096), pad_mode="reflect")


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch):
    import sys

    f = extract(np.zeros(4096), sr=SR, bands=None)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ImportError, match="pip install pandas"):
        f.to_pandas()


def test_spectral_flatness_keeps_leading_axes_as_librosa():
    y = np.random.default_rng(8).standard_normal((2, 3, 6000)).astype(np.float32)
    ref = librosa.feature.spectral_flatness(y=y, n_fft=512, hop_length=128)
    ours = spectral_flatness(y=y, n_fft=512, hop_length=128)
    assert ours.shape == ref.shape == (2, 3, 1, ref.shape[-1])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
