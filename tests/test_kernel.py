"""sfm_audio.kernel: the fused per-chunk step, its column names and its arithmetic."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sfm_audio import flatness
from sfm_audio.bands import band_layout
from sfm_audio.features import FEATURE_NAMES, FRAME_FEATURES
from sfm_audio.kernel import (
    BAND_COLUMNS,
    FRAME_COLUMNS,
    ChunkKernel,
    frame_levels,
    frame_statistics,
    kernel_columns,
    log_sum,
    power_frames,
    spectral_columns,
)
from sfm_audio.stft import StftParams


@pytest.mark.parametrize(("amin", "scale"), [(1e-10, 1.0), (1e-10, 1e30), (1e-300, 1.0),
                                           (1e-10, 1e200)])
@pytest.mark.parametrize("known_peak", [True, False])
@pytest.mark.parametrize("n", [3, 31, 64, 1025])  # runs of 16 with 0, 1 or 15 values left over
def test_log_sum_of_products_equals_the_sum_of_logs(amin, scale, known_peak, n):
    rng = np.random.default_rng(1)
    P = np.maximum(amin, scale * rng.exponential(size=(3, 7, n)) ** 4)
    P[0, 0] = amin  # a silent frame
    expected = np.log(P).sum(axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = log_sum(P, amin=amin, peak=float(P.max()) if known_peak else None, work={})
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-9)

@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("quiet", [False, True])  # True: a silent frame, floored
@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize(("n_fft", "hop", "k"), [(64, 16, 150), (4096, 1024, 40)])  # 1; 2-3 batches
def test_power_frames_is_the_floored_power_of_the_windowed_fft(channels, quiet, power, n_fft,
                                                                hop, k):
    rng = np.random.default_rng(2)
    segment = rng.standard_normal((channels, (k - 1) * hop + n_fft))
    if quiet:
        segment[:, 5 * hop : 5 * hop + n_fft] = 0.0
    params = StftParams(n_fft, hop, n_fft, "hann", False)
    frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft, axis=-1)[:, ::hop]
    spectrum = np.fft.rfft(frames * params.fft_window(), axis=-1)
    expected = np.maximum(np.abs(spectrum) ** power, 1e-10)
    assert (expected == 1e-10).any() == quiet
    Pf = power_frames(segment, params, params.fft_window(), power=power, amin=1e-10, work={})
    assert Pf.shape == (channels, k, n_fft // 2 + 2) and (Pf[..., -1] == 0).all()
    np.testing.assert_allclose(Pf[..., :-1], expected, rtol=1e-12, atol=0)

@pytest.mark.parametrize(("n_fft", "hop"), [(2048, 512), (64, 64), (1000, 300), (16, 5)])
def test_frame_levels_are_the_mean_square_and_peak_of_each_frame(n_fft, hop):
    rng = np.random.default_rng(3)
    k = 7
    segment = rng.standard_normal((2, (k - 1) * hop + n_fft)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(segment.astype(np.float64), n_fft,
                                                      axis=-1)[:, ::hop]
    mean_square, peak = frame_levels(segment, StftParams(n_fft, hop, n_fft, "hann", False), k,
                                     work={})
    np.testing.assert_allclose(mean_square, (frames**2).mean(axis=-1), rtol=1e-12)
    np.testing.assert_array_equal(peak, np.abs(frames).max(axis=-1))


@pytest.mark.parametrize("bands", [None, "octave"])
def test_the_columns_are_named_in_the_order_the_kernel_computes_them(bands):
    """kernel_columns names what ChunkKernel returns, column by column: each named column
    holds what the definitions give for it."""
    sr, params = 16000.0, StftParams(512, 128, None, "hann", False)
    layout = None if bands is None else band_layout(bands, sr=sr, n_fft=512)
    kernel = ChunkKernel(params, amin=1e-10, layout=layout)
    rng = np.random.default_rng(4)
    segment = rng.standard_normal((1, 9 * 128 + 512)) * np.linspace(0.1, 1.0, 9 * 128 + 512)
    values, _ = kernel(segment)
    columns = kernel_columns(layout)
    assert values.shape[-1] == len(columns) == kernel.n_columns
    assert len(set(columns)) == len(columns)
    Pf = power_frames(segment, params, params.fft_window(), power=2.0, amin=1e-10,
                      work={})[0, :, :-1]
    at = {name: values[0, :, i] for i, name in enumerate(columns)}
    S = np.sqrt(Pf).T  # (n_freq, k): the magnitude the flatness module takes
    np.testing.assert_allclose(at["sfm"], flatness.spectral_flatness(S)[0], rtol=1e-10)
    np.testing.assert_allclose(at["tonality"], flatness.tonality(at["sfm"]), rtol=1e-10)
    np.testing.assert_allclose(at["crest"], flatness.spectral_crest(S)[0], rtol=1e-10)
    rms = np.sqrt((np.lib.stride_tricks.sliding_window_view(segment[0], 512)[::128] ** 2)
                  .mean(axis=-1))
    np.testing.assert_allclose(at["rms_dbfs"], 20 * np.log10(rms), rtol=1e-10)
    if layout is not None:
        name = layout.names[2]
        assert [c for c in columns if c.endswith(f"_band_{name}")] == [
            f"{group}_{name}" for group in BAND_COLUMNS]
    spectral = kernel.spectral_values(
        power_frames(segment, params, params.fft_window(), power=2.0, amin=1e-10, work={}))
    assert spectral.shape[-1] == len(spectral_columns(layout)) == len(columns) - 1
    np.testing.assert_array_equal(spectral[0, :, spectral_columns(layout).index("sfm")],
                                  at["sfm"])


def test_the_feature_names_are_the_kernels():
    assert FRAME_FEATURES == FRAME_COLUMNS
    assert FEATURE_NAMES == FRAME_COLUMNS + BAND_COLUMNS


def test_frame_statistics_follow_the_definitions():
    rng = np.random.default_rng(5)
    P = np.maximum(rng.exponential(size=(4, 33)) ** 3, 1e-10)
    sfm, sfm_db, tonal, crest = frame_statistics(P.sum(-1), P.max(-1), np.log(P).sum(-1), 33)
    S = np.sqrt(P).T
    np.testing.assert_allclose(sfm, flatness.spectral_flatness(S)[0], rtol=1e-12)
    np.testing.assert_allclose(sfm_db, flatness.flatness_db(sfm), rtol=1e-12)
    np.testing.assert_allclose(tonal, flatness.tonality(sfm), rtol=1e-12)
    np.testing.assert_allclose(crest, flatness.spectral_crest(S)[0], rtol=1e-12)
