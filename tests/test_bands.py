import math

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfm_audio import ParameterError
from sfm_audio.bands import (
    BandLayout,
    band_flatness,
    band_layout,
    edge_bands,
    linear_bands,
    mel_bands,
    mel_frequencies,
    mpeg7_bands,
    octave_bands,
    parse_band_spec,
)


def _mround(x):
    return math.floor(x + 0.5)


def reference_mpeg7(sr, n_fft):
    """Transcription of the ISO 15938-4 reference software (mpeg7ASF.m) band loop."""
    lo_edge = 250.0
    hi_edge = min(16000.0, sr / 2 - 1)
    hi_edge = 2 ** (math.floor(math.log2(hi_edge / 1000) * 4 + 1e-9) / 4) * 1000
    if hi_edge * 1.05 >= sr / 2:
        hi_edge /= 2**0.25
    numbands = math.floor(4 * math.log2(hi_edge / lo_edge) + 1e-9)
    firstband = round(math.log2(lo_edge / 1000) * 4)
    rows = []
    for k in range(1, numbands + 1):
        f_lo = lo_edge * 2 ** ((k - 1) / 4) * 0.95
        f_hi = lo_edge * 2 ** (k / 4) * 1.05
        i_lo = _mround(f_lo / (sr / n_fft))  # 0-based: MATLAB's "+ 1" dropped
        i_hi = _mround(f_hi / (sr / n_fft))
        group = 1
        if k + firstband - 1 >= 0:
            group = 2 ** math.ceil((k + firstband) / 4)
            i_hi = _mround((i_hi - i_lo + 1) / group) * group + i_lo - 1
        rows.append((i_lo, i_hi, group))
    return rows


@pytest.mark.parametrize("sr", [16000, 22050, 32000, 44100, 48000])
@pytest.mark.parametrize("n_fft", [1024, 2048, 4096])
def test_mpeg7_bins_follow_the_reference_software(sr, n_fft):
    layout = mpeg7_bands(sr=sr, n_fft=n_fft)
    ours = list(zip(layout.bin_lo.tolist(), layout.bin_hi.tolist(), layout.group.tolist()))
    assert ours == reference_mpeg7(sr, n_fft)


def test_mpeg7_names_and_counts():
    layout = mpeg7_bands(sr=44100, n_fft=2048)
    assert layout.n_bands == 24  # 250 Hz .. 16 kHz in quarter octaves
    assert layout.names[:3] == ["250_297", "297_354", "354_420"]
    assert layout.names[-1] == "13454_16000"
    assert mpeg7_bands(sr=16000, n_fft=2048).n_bands == 19
    # grouping starts at 1 kHz: 2^floor(log2(lo/500))
    expected = [2 ** math.floor(math.log2(lo / 500)) if lo >= 1000 else 1 for lo in layout.lo_hz]
    assert layout.group.tolist() == expected


def test_mpeg7_bands_of_one_coefficient_are_left_out():
    # sr 8000, n_fft 64: bins 125 Hz apart; of the reference loop's 15 bands the first
    # (250-297 Hz widened to 237.5-312 Hz) is bin round(1.9) = 2 .. round(2.496) = 2 alone,
    # whose flatness is 1 whatever the signal: it is left out, as octave bands are
    reference = reference_mpeg7(8000, 64)
    kept = [row for row in reference if (row[1] - row[0] + 1) // row[2] >= 2]
    assert len(kept) < len(reference)  # this geometry does have a one-coefficient band
    layout = mpeg7_bands(sr=8000, n_fft=64)
    ours = list(zip(layout.bin_lo.tolist(), layout.bin_hi.tolist(), layout.group.tolist()))
    assert ours == kept
    assert ((layout.bin_hi - layout.bin_lo + 1) // layout.group >= 2).all()
    with pytest.raises(ParameterError, match="no band of two or more coefficients"):
        mpeg7_bands(sr=500, n_fft=64)


def test_octave_and_third_octave_are_iec_base10():
    layout = octave_bands(sr=48000, n_fft=8192)
    mids = np.sqrt(layout.lo_hz * layout.hi_hz)
    ratio = 10 ** 0.3
    np.testing.assert_allclose(layout.hi_hz / layout.lo_hz, ratio)
    assert np.isclose(mids, 1000 * ratio ** np.round(np.log(mids / 1000) / np.log(ratio))).all()
    assert "708_1413" in layout.names
    third = octave_bands(sr=48000, n_fft=8192, fraction=3)
    np.testing.assert_allclose(third.hi_hz / third.lo_hz, 10**0.1)
    assert third.hi_hz.max() <= 24000


def test_mel_edges_match_librosa():
    np.testing.assert_allclose(mel_frequencies(41, fmax=8000.0),
                               librosa.mel_frequencies(41, fmin=0.0, fmax=8000.0), rtol=1e-12)
    layout = mel_bands(40, sr=16000, n_fft=2048)
    assert layout.n_bands == 40


@pytest.mark.parametrize("spec", ["linear:7", "mel:20", "octave", "edges:0,300,3000,8000"])
def test_contiguous_layouts_use_each_bin_at_most_once(spec):
    layout = band_layout(spec, sr=16000, n_fft=2048)
    assert (layout.bin_lo[1:] == layout.bin_hi[:-1] + 1).all()
    if spec.startswith(("linear", "mel", "edges")):
        assert layout.bin_lo[0] == 0 and layout.bin_hi[-1] == 1024


def _loop_reference(S, layout, amin=1e-10, power=2.0):
    out_sfm, out_crest = [], []
    for lo, hi, g in zip(layout.bin_lo, layout.bin_hi, layout.group):
        P = np.maximum(S[lo : hi + 1] ** power, amin)
        P = P.reshape(-1, g, S.shape[-1]).sum(axis=1)
        out_sfm.append(np.exp(np.log(P).mean(axis=0)) / P.mean(axis=0))
        out_crest.append(P.max(axis=0) / P.mean(axis=0))
    return np.array(out_sfm), np.array(out_crest)


@pytest.mark.parametrize("spec", ["mpeg7", "octave", "third-octave", "mel:32", "linear:5",
                                  "edges:100,200,4000"])
@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize(("sr", "fmin", "fmax"), [(16000, None, None), (44100, None, None),
                                                  (48000, 90.0, 12000.0)])
def test_band_flatness_equals_a_plain_loop(spec, power, sr, fmin, fmax):
    rng = np.random.default_rng(3)
    S = np.abs(rng.standard_normal((1025, 9))) * np.logspace(0, -5, 1025)[:, None]
    S[:, 2] = 0.0
    layout = band_layout(spec, sr=sr, n_fft=2048, fmin=fmin, fmax=fmax)
    sfm, crest = band_flatness(S, layout, power=power)
    ref_sfm, ref_crest = _loop_reference(S, layout, power=power)
    np.testing.assert_allclose(sfm, ref_sfm, rtol=1e-12)
    np.testing.assert_allclose(crest, ref_crest, rtol=1e-12)
    np.testing.assert_allclose(sfm[:, 2], 1.0, atol=1e-12)  # silence: flat in every band


@pytest.mark.parametrize("scale", [1.0, 1e60])  # 1e60: products of units overflow float64
def test_band_flatness_of_a_hand_made_layout_equals_a_plain_loop(scale):
    # a grouped band listed before a single-bin one, and a group of 3 bins (not a power of 2)
    layout = BandLayout("hand", np.array([1000.0, 300.0]), np.array([1200.0, 400.0]),
                        np.array([40, 10]), np.array([40 + 3 * 6 - 1, 20]), np.array([3, 1]),
                        16000.0, 2048)
    rng = np.random.default_rng(5)
    S = scale * np.abs(rng.standard_normal((1025, 7)))
    sfm, crest = band_flatness(S, layout)
    ref_sfm, ref_crest = _loop_reference(S, layout)
    np.testing.assert_allclose(sfm, ref_sfm, rtol=1e-12)
    np.testing.assert_allclose(crest, ref_crest, rtol=1e-12)


def test_band_flatness_shapes_time_last():
    layout = band_layout("octave", sr=16000, n_fft=512)
    sfm, crest = band_flatness(np.ones((2, 257, 5)), layout)
    assert sfm.shape == crest.shape == (2, layout.n_bands, 5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("edges:100,50,4000", "strictly increasing"), ("edges:0,100,9000", "above Nyquist"),
     ("edges:100", "at least two"), ("edges:a,b", "not a list of numbers"),
     ("mel:0", "positive whole number"), ("linear:x", "positive whole number"),
     ("bark", "unknown bands 'bark'"), ("edges:10,11", "holds no FFT bin"),
     ("mel:2000", "holds no FFT bin|collide")],
)
def test_rejects_bad_layouts(spec, message):
    with pytest.raises(ParameterError, match=message):
        band_layout(spec, sr=16000, n_fft=2048)


def test_parse_checks_spelling_only():
    assert parse_band_spec("mel:40") == ("mel", 40)
    assert parse_band_spec("third_octave") == ("third-octave", None)
    assert band_layout("none", sr=16000, n_fft=512) is None


def test_band_shape_mismatch():
    layout = linear_bands(4, sr=16000, n_fft=512)
    with pytest.raises(ParameterError, match="expected"):
        band_flatness(np.ones((100, 3)), layout)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(10, 7990), min_size=2, max_size=8, unique=True),
       st.floats(0.1, 1e3))  # keeps every power bin above the amin floor
def test_band_flatness_is_bounded_and_scale_invariant(edges, scale):
    edges = sorted(edges)
    if min(np.diff(edges)) < 8:  # keep every band at least one bin wide at n_fft=2048
        return
    layout = edge_bands(edges, sr=16000, n_fft=2048)
    S = np.abs(np.random.default_rng(len(edges)).standard_normal((1025, 3))) + 1e-3
    sfm, _ = band_flatness(S, layout)
    scaled, _ = band_flatness(S * scale, layout)
    assert ((sfm > 0) & (sfm <= 1 + 1e-12)).all()
    np.testing.assert_allclose(scaled, sfm, rtol=1e-9)
