import itertools
import warnings

import librosa
import numpy as np
import pytest

from sfm_audio import ParameterError
from sfm_audio.features import ExtractOptions, extract, open_features, summarize

GRID = list(itertools.product([512, 1024, 2048, 4096], [4, 2], [True, False],
                              ["hann", "hamming"], [1.0, 2.0]))


@pytest.fixture(scope="module")
def speech_y(speech):
    return librosa.load(speech, sr=None)[0]


@pytest.mark.parametrize(("n_fft", "div", "center", "window", "power"), GRID)
def test_sfm_matches_librosa_on_the_recording(speech, speech_y, n_fft, div, center, window,
                                              power):
    hop = n_fft // div
    f = extract(speech, n_fft=n_fft, hop_length=hop, center=center, window=window, power=power,
                bands=None)
    ref = librosa.feature.spectral_flatness(y=speech_y, n_fft=n_fft, hop_length=hop,
                                            center=center, window=window, power=power)[0]
    assert f.values["sfm"].shape == (1, ref.size)
    np.testing.assert_allclose(f.values["sfm"][0], ref, rtol=0, atol=1e-5)


def test_stereo_mix_matches_librosa_mono(stereo):
    y, _ = librosa.load(stereo, sr=None, mono=True)
    f = extract(stereo, bands=None)
    ref = librosa.feature.spectral_flatness(y=y)[0]
    np.testing.assert_allclose(f.values["sfm"][0], ref, atol=1e-5)


def test_resampled_matches_librosa(speech):
    y, _ = librosa.load(speech, sr=22050)
    f = extract(speech, sr=22050, bands=None)
    ref = librosa.feature.spectral_flatness(y=y)[0]
    np.testing.assert_allclose(f.values["sfm"][0], ref, atol=1e-4)


def test_each_channel_separately(stereo):
    f = extract(stereo, channels="each", bands="octave")
    for c in range(2):
        y, _ = librosa.load(stereo, sr=None, mono=False)
        ref = librosa.feature.spectral_flatness(y=y[c])[0]
        np.testing.assert_allclose(f.values["sfm"][c], ref, atol=1e-5)
    assert f.band_sfm.shape == (2, f.meta.layout.n_bands, ref.size)


def test_threads_do_not_change_numbers(stereo):
    opts = ExtractOptions(channels="each")
    a = np.concatenate([c.values for c in open_features(stereo, opts, threads=1)[1]], axis=1)
    b = np.concatenate([c.values for c in open_features(stereo, opts, threads=2)[1]], axis=1)
    np.testing.assert_array_equal(a, b)


def test_frame_companions_are_consistent(speech):
    f = extract(speech)
    sfm = f.values["sfm"]
    np.testing.assert_allclose(f.values["sfm_db"], 10 * np.log10(sfm), atol=1e-9)
    np.testing.assert_allclose(f.values["tonality"], np.minimum(10 * np.log10(sfm) / -60, 1))
    assert (f.values["crest"] >= 1).all()
    np.testing.assert_allclose(f.times, np.arange(sfm.shape[-1]) * 512 / 16000)


def test_silence_is_flat_everywhere_without_warnings(signals):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = extract(signals["silence"])
    for name, values in f.values.items():
        assert np.isfinite(values).all(), name
    np.testing.assert_allclose(f.values["sfm"], 1.0, atol=1e-12)
    np.testing.assert_allclose(f.band_sfm, 1.0, atol=1e-12)
    np.testing.assert_allclose(f.values["crest"], 1.0, atol=1e-12)


def test_white_noise_and_tone(signals):
    noise = extract(signals["white_noise"])
    assert abs(np.median(noise.values["sfm"]) - np.exp(-np.euler_gamma)) < 0.02
    tone = extract(signals["tone_1khz"])
    assert np.median(tone.values["sfm"]) < 1e-3
    assert np.median(tone.values["tonality"]) > 0.5


def test_a_hundred_samples_give_librosas_frames(tmp_path):
    import soundfile as sf

    y = np.random.default_rng(0).standard_normal(100) * 0.1
    path = tmp_path / "short.wav"
    sf.write(path, y, 16000, subtype="FLOAT")
    f = extract(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = librosa.feature.spectral_flatness(y=y.astype(np.float32))[0]
    assert f.values["sfm"].shape == (1, ref.size) == (1, 1)
    np.testing.assert_allclose(f.values["sfm"][0], ref, atol=1e-5)


def test_too_short_without_centering(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "short.wav", np.zeros(100), 16000)
    with pytest.raises(ParameterError, match="too few for n_fft=2048"):
        open_features(tmp_path / "short.wav", ExtractOptions(center=False))


def test_summary_statistics(speech):
    meta, chunks = open_features(speech, ExtractOptions(bands="octave"))
    stats = summarize(meta, chunks).reshape(1, len(meta.columns), 5)
    f = extract(speech, bands="octave")
    for j, name in enumerate(meta.columns):
        v = f.values[name][0]
        expected = [v.mean(), np.median(v), v.std(), *np.percentile(v, [10, 90])]
        np.testing.assert_allclose(stats[0, j], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_fft": 0}, "n_fft=0"), ({"hop_length": -1}, "hop_length=-1"),
     ({"win_length": 4096}, "win_length=4096"), ({"window": "nope"}, "unknown window"),
     ({"power": 0}, "power"), ({"amin": 0}, "amin"), ({"sr": -1}, "sr=-1"),
     ({"channels": "left"}, "channels"), ({"bands": "edges:3,2"}, "strictly increasing")],
)
def test_options_are_validated_before_any_file(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        ExtractOptions(**kwargs)


def test_band_edges_above_the_files_nyquist(speech):
    with pytest.raises(ParameterError, match="above Nyquist"):
        open_features(speech, ExtractOptions(bands="edges:100,9000"))
