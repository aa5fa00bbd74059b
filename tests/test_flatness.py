import warnings

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sfm_audio import ParameterError
from sfm_audio.flatness import (
    flatness,
    flatness_db,
    spectral_crest,
    spectral_flatness,
    tonality,
    wiener_entropy,
)

# librosa's own test vector (frequency x time magnitudes); docs/definitions.md, anchor table:
# closed forms 4**(1/3)/2 and 36**(1/3)/(14/3) at power 2, 2**(1/3)/(4/3) and 6**(1/3)/2 at power 1
S_ANCHOR = np.array([[1.0, 3.0], [2.0, 1.0], [1.0, 2.0]])


def test_librosa_test_vector_power2():
    closed_form = [4 ** (1 / 3) / 2, 36 ** (1 / 3) / (14 / 3)]
    np.testing.assert_allclose(closed_form, [0.7937005259, 0.7075558390], atol=1e-10)
    np.testing.assert_allclose(spectral_flatness(S_ANCHOR)[0], closed_form, atol=1e-10)


def test_librosa_test_vector_power1():
    closed_form = [2 ** (1 / 3) / (4 / 3), 6 ** (1 / 3) / 2]
    np.testing.assert_allclose(closed_form, [0.9449407874, 0.9085603003], atol=1e-10)
    np.testing.assert_allclose(spectral_flatness(S_ANCHOR, power=1.0)[0], closed_form,
                               atol=1e-10)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_matches_librosa_on_given_spectrogram(power):
    rng = np.random.default_rng(1)
    S = np.abs(rng.standard_normal((257, 40))) * np.logspace(0, -6, 257)[:, None]
    S[:, 3] = 0.0  # a silent frame
    ours = spectral_flatness(S, power=power)
    ref = librosa.feature.spectral_flatness(S=S, power=power)
    assert ours.shape == ref.shape == (1, 40)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)


def test_silent_frame_is_flat_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = spectral_flatness(np.zeros((1025, 3)))
    # exp(mean(log(amin))) / amin: 1 up to rounding, exactly as librosa computes it
    np.testing.assert_allclose(out, 1.0, rtol=0, atol=1e-12)


def test_white_noise_power_periodogram_has_euler_gamma_bias():
    # exponential (chi-square, 2 dof) bins: E[ln P] = ln E[P] - gamma, so SFM -> e^-gamma
    rng = np.random.default_rng(0)
    y = rng.standard_normal(16000 * 20)
    sfm = spectral_flatness(y=y, n_fft=2048, hop_length=1024)
    assert abs(np.median(sfm) - np.exp(-np.euler_gamma)) < 0.01
    mag = spectral_flatness(y=y, n_fft=2048, hop_length=1024, power=1.0)
    # Rayleigh magnitudes: exp(E ln|X|) / E|X| = exp(-gamma/2) / (sqrt(pi)/2)
    assert abs(np.median(mag) - np.exp(-np.euler_gamma / 2) / (np.sqrt(np.pi) / 2)) < 0.01


def test_tone_is_far_from_flat():
    t = np.arange(16000) / 16000
    sfm = spectral_flatness(y=np.sin(2 * np.pi * 1000 * t), n_fft=1024, hop_length=256)
    interior = sfm[0, 4:-4]  # away from the zero-padded edges
    assert interior.max() < 1e-9


def test_companions():
    sfm = np.array([1.0, 0.1, 1e-6, 1e-9])
    np.testing.assert_allclose(flatness_db(sfm), [0, -10, -60, -90])
    np.testing.assert_allclose(tonality(sfm), [0, 1 / 6, 1, 1])
    np.testing.assert_allclose(wiener_entropy(sfm), np.log(sfm))
    crest = spectral_crest(np.array([[1.0], [2.0], [3.0]]), power=1.0)
    np.testing.assert_allclose(crest, [[1.5]])


def test_generic_flatness_conventions():
    assert flatness(np.array([2.0, 2.0, 2.0])) == pytest.approx(1.0)
    assert flatness(np.array([0.0, 1.0])) == 0.0
    assert flatness(np.zeros(4)) == 1.0
    np.testing.assert_allclose(flatness(np.array([[1.0, 4.0, 1.0], [1, 1, 1]]), axis=-1),
                               [0.7937005259, 1.0])


@pytest.mark.parametrize(
    ("values", "message"),
    [(np.array([1.0, -1.0]), "non-negative"), (np.array([1.0, np.nan]), "finite"),
     (np.array([]), "at least one")],
)
def test_generic_flatness_rejects(values, message):
    with pytest.raises(ParameterError, match=message):
        flatness(values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"amin": 0}, "amin"), ({"amin": -1.0}, "amin"), ({"power": 0}, "power"),
     ({"power": np.nan}, "power")],
)
def test_spectral_flatness_rejects_options(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        spectral_flatness(S_ANCHOR, **kwargs)


def test_needs_S_or_y():
    with pytest.raises(ParameterError, match="either S"):
        spectral_flatness()


def test_does_not_mutate_input():
    S = S_ANCHOR.copy()
    spectral_flatness(S)
    np.testing.assert_array_equal(S, S_ANCHOR)


positive = arrays(np.float64, st.integers(2, 64),
                  elements=st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None)
@given(positive, st.floats(1e-3, 1e3))
def test_flatness_is_scale_invariant_and_bounded(values, scale):
    f = flatness(values)
    assert 0.0 <= f <= 1.0
    assert flatness(values * scale) == pytest.approx(f, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(positive, st.randoms(use_true_random=False))
def test_flatness_ignores_order(values, rnd):
    shuffled = values.copy()
    rnd.shuffle(shuffled)
    assert flatness(shuffled) == pytest.approx(flatness(values), rel=1e-12)


# --------------------------------------------------------------------------- signals (y=)

#: the rate of the tone_noise_stereo_y fixture (conftest.py)
SR = 22050


@pytest.mark.parametrize(
    ("n_fft", "hop", "center", "power", "window"),
    [(2048, 512, True, 2.0, "hann"), (1024, 256, False, 1.0, "hamming"),
     (512, 160, True, 2.0, "blackman"), (4096, 1024, True, 0.5, "hann")],
)
def test_spectral_flatness_of_a_signal_matches_librosa(tone_noise_stereo_y, n_fft, hop, center,
                                                       power, window):
    y = tone_noise_stereo_y.astype(np.float32)
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


def test_spectral_flatness_bad_signals():
    with pytest.raises(ParameterError, match="NaN"):
        spectral_flatness(y=np.array([0.0, np.inf] * 2000))
    with pytest.raises(ParameterError, match="too large"):
        spectral_flatness(y=np.zeros(100), center=False)
    with pytest.raises(ParameterError, match="pad_mode"):
        spectral_flatness(y=np.zeros(4096), pad_mode="reflect")


def test_spectral_flatness_keeps_leading_axes_as_librosa():
    y = np.random.default_rng(8).standard_normal((2, 3, 6000)).astype(np.float32)
    ref = librosa.feature.spectral_flatness(y=y, n_fft=512, hop_length=128)
    ours = spectral_flatness(y=y, n_fft=512, hop_length=128)
    assert ours.shape == ref.shape == (2, 3, 1, ref.shape[-1])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
