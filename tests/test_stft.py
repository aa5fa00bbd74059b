import itertools
import math

import librosa
import numpy as np
import pytest
import scipy.signal

from sfm_audio import ParameterError
from sfm_audio.stft import FrameStream, StftParams, get_window, n_frames, padded_span, stft


@pytest.fixture(scope="module")
def y(speech):
    return librosa.load(speech, sr=None)[0]


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman"])
@pytest.mark.parametrize("length", [400, 512, 2048])
def test_cosine_windows_are_bit_identical_to_scipy(name, length):
    np.testing.assert_array_equal(get_window(name, length),
                                  scipy.signal.get_window(name, length, fftbins=True))


def test_other_windows_come_from_scipy():
    np.testing.assert_array_equal(get_window(("kaiser", 8.0), 256),
                                  scipy.signal.get_window(("kaiser", 8.0), 256))
    np.testing.assert_array_equal(get_window("boxcar", 10), np.ones(10))


@pytest.mark.parametrize(
    ("n_fft", "hop", "win", "center"),
    [(2048, 512, None, True), (512, 256, None, False), (1024, 256, 800, True),
     (400, 160, 400, False), (4096, 1024, None, True)],
)
def test_matches_librosa_stft(y, n_fft, hop, win, center):
    ours = stft(y, n_fft=n_fft, hop_length=hop, win_length=win, center=center)
    ref = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, center=center)
    assert ours.shape == ref.shape
    # librosa stores complex64; the FFT itself is float64 in both
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6 * np.abs(ref).max())


def test_default_hop_is_a_quarter_window():
    assert StftParams(1024).hop_length == 256
    assert StftParams(1024, win_length=800).hop_length == 200


@pytest.mark.parametrize("n", [1, 100, 511, 512, 513, 5000])
def test_frame_count_matches_librosa_for_short_signals(n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    for center in (True, False):
        params = StftParams(512, 128, center=center)
        if not center and n < 512:
            assert n_frames(n, params) == 0
            continue
        with pytest.warns(UserWarning) if center and n < 512 else _no_warning():
            ref = librosa.stft(x, n_fft=512, hop_length=128, center=center)
        assert n_frames(n, params) == ref.shape[-1]
        assert stft(x, n_fft=512, hop_length=128, center=center).shape == ref.shape


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(("block", "chunk"), [(1, 1), (37, 3), (1000, 7), (100000, 256)])
def test_streaming_gives_exactly_the_whole_array_result(y, block, chunk):
    params = StftParams(1024, 300, 900, "hamming", True)
    whole = stft(y, n_fft=1024, hop_length=300, win_length=900, window="hamming")
    x = y[np.newaxis, :20000].astype(np.float64) if block == 1 else y[np.newaxis].astype(float)
    if block == 1:
        whole = stft(y[:20000], n_fft=1024, hop_length=300, win_length=900, window="hamming")
    blocks = (x[:, i : i + block] for i in range(0, x.shape[-1], block))
    stream = FrameStream(params, 1, frames_per_chunk=chunk)
    streamed = np.concatenate(list(stream.run(blocks)), axis=1)[0].T
    np.testing.assert_array_equal(streamed, whole)


def test_parseval_per_frame(y):
    # a rectangular window and no padding: sum |x|^2 = (|X0|^2 + 2 sum |Xk|^2 + |XN/2|^2) / N
    n = 512
    D = stft(y, n_fft=n, hop_length=n, window="boxcar", center=False)
    frames = y[: D.shape[-1] * n].astype(np.float64).reshape(-1, n)
    P = np.abs(D) ** 2
    energy = (P[0] + 2 * P[1:-1].sum(axis=0) + P[-1]) / n
    np.testing.assert_allclose(energy, (frames**2).sum(axis=1), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_fft": 0}, "n_fft=0 must be a positive integer"),
     ({"n_fft": -5}, "n_fft"),
     ({"hop_length": 0}, "hop_length=0 must be a positive integer"),
     ({"win_length": 4096}, "win_length=4096 must be at most n_fft=2048"),
     ({"window": "no-such-window"}, "window='no-such-window' is not a window"),
     ({"pad_mode": "reflect"}, "pad_mode")],
)
def test_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        stft(np.zeros(4096), **kwargs)


def test_center_false_needs_one_frame():
    with pytest.raises(ParameterError, match="too large"):
        stft(np.zeros(100), n_fft=512, center=False)


def test_shapes_for_multichannel_input():
    x = np.random.default_rng(0).standard_normal((2, 3, 4000))
    D = stft(x, n_fft=256, hop_length=64)
    assert D.shape == (2, 3, 129, 1 + 4000 // 64)
    np.testing.assert_array_equal(D[1, 2], stft(x[1, 2], n_fft=256, hop_length=64))


def test_grid_is_exhaustive_over_librosa_defaults():
    # every combination of the documented options builds
    for n_fft, center in itertools.product([256, 2048], [True, False]):
        assert StftParams(n_fft, center=center).n_freq == n_fft // 2 + 1
    assert math.isclose(StftParams().fft_window().sum(), 1024.0)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize(("first", "stop"), [(0, 3), (2, 9), (5, 13)])
def test_a_ranges_padded_span_frames_as_the_whole_signal(center, first, stop):
    """Frames first … stop - 1 of the samples padded_span names (zeros beyond the ends),
    framed without centring, are those frames of the whole signal's STFT."""
    rng = np.random.default_rng(6)
    y = rng.standard_normal(3000)
    params = StftParams(512, 200, None, "hann", center)
    whole = stft(y, n_fft=512, hop_length=200, center=center)
    stop = min(stop, whole.shape[-1])
    lo, hi, uncentred = padded_span(first, stop, params)
    span = np.concatenate([np.zeros(max(-lo, 0)), y[max(lo, 0) : min(hi, y.size)],
                           np.zeros(max(hi - y.size, 0))])
    assert span.size == hi - lo and not uncentred.center
    part = stft(span, n_fft=512, hop_length=200, center=False)
    np.testing.assert_allclose(part, whole[:, first:stop], atol=1e-12)


def test_a_one_sample_window_is_scipys():
    np.testing.assert_array_equal(get_window("hann", 1),
                                  scipy.signal.get_window("hann", 1, fftbins=True))
    y = np.random.default_rng(0).standard_normal(400)
    ours = stft(y, n_fft=16, hop_length=4, win_length=1)
    ref = librosa.stft(y, n_fft=16, hop_length=4, win_length=1, dtype=np.complex128)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert np.abs(ours).max() > 0  # not silently zero
