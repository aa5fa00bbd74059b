import csv
import itertools
import warnings

import librosa
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import ParameterError
from sfm_audio.cli import main
from sfm_audio.features import ExtractOptions, extract, open_features
from sfm_audio.summaries import summarize

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


def test_stereo_mix_matches_librosa_mono(noise_tone_stereo_22k):
    y, _ = librosa.load(noise_tone_stereo_22k, sr=None, mono=True)
    f = extract(noise_tone_stereo_22k, bands=None)
    ref = librosa.feature.spectral_flatness(y=y)[0]
    np.testing.assert_allclose(f.values["sfm"][0], ref, atol=1e-5)


def test_resampled_matches_librosa(speech):
    y, _ = librosa.load(speech, sr=22050)
    f = extract(speech, target_sr=22050, bands=None)
    ref = librosa.feature.spectral_flatness(y=y)[0]
    np.testing.assert_allclose(f.values["sfm"][0], ref, atol=1e-4)


def test_each_channel_separately(noise_tone_stereo_22k):
    f = extract(noise_tone_stereo_22k, channels="each", bands="octave")
    for c in range(2):
        y, _ = librosa.load(noise_tone_stereo_22k, sr=None, mono=False)
        ref = librosa.feature.spectral_flatness(y=y[c])[0]
        np.testing.assert_allclose(f.values["sfm"][c], ref, atol=1e-5)
    assert f.band_sfm.shape == (2, f.meta.layout.n_bands, ref.size)


def test_threads_do_not_change_numbers(noise_tone_stereo_22k):
    opts = ExtractOptions(channels="each")
    path = noise_tone_stereo_22k
    a = np.concatenate([c.values for c in open_features(path, opts, threads=1)[1]], axis=1)
    b = np.concatenate([c.values for c in open_features(path, opts, threads=2)[1]], axis=1)
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
     ({"win_length": 4096}, "win_length=4096"), ({"window": "nope"}, "window='nope' is not"),
     ({"power": 0}, "power"), ({"amin": 0}, "amin"), ({"sr": -1}, "sr=-1"),
     ({"channels": "left"}, "channels"), ({"bands": "edges:3,2"}, "strictly increasing")],
)
def test_options_are_validated_before_any_file(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        ExtractOptions(**kwargs)


def test_band_edges_above_the_files_nyquist(speech):
    with pytest.raises(ParameterError, match="above Nyquist"):
        open_features(speech, ExtractOptions(bands="edges:100,9000"))


# ---- extraction controls (issue 13): each with a bad value and a good one checked
# ---- against an independent computation (librosa / numpy)

def _librosa_bins(sr, n_fft, fmin, fmax):
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    return (freqs >= fmin) & (freqs <= fmax)


@pytest.mark.parametrize(("fmin", "fmax"), [(300.0, 3400.0), (0.0, 1000.0), (4000.0, 8000.0)])
def test_frequency_range_sfm_is_librosas_on_the_same_bins(speech, speech_y, fmin, fmax):
    f = extract(speech, fmin=fmin, fmax=fmax, bands=None)
    S = np.abs(librosa.stft(speech_y, n_fft=2048, hop_length=512))
    keep = _librosa_bins(16000, 2048, fmin, fmax)
    ref = librosa.feature.spectral_flatness(S=S[keep])[0]
    np.testing.assert_allclose(f.values["sfm"][0], ref, rtol=0, atol=1e-5)
    crest = (S[keep] ** 2).max(axis=0) / np.maximum(S[keep] ** 2, 1e-10).mean(axis=0)
    np.testing.assert_allclose(f.values["crest"][0], crest, rtol=1e-4)


def test_fmax_above_nyquist_is_clipped_with_one_warning(speech):
    clipped = "above Nyquist at a rate of 16000 Hz; using 8000 Hz"
    with pytest.warns(UserWarning, match=clipped) as caught:
        f = extract(speech, fmin=100.0, fmax=20000.0, bands="octave")
    assert len([w for w in caught if "Nyquist" in str(w.message)]) == 1
    g = extract(speech, fmin=100.0, fmax=8000.0, bands="octave")
    np.testing.assert_array_equal(f.values["sfm"], g.values["sfm"])
    assert f.meta.columns == g.meta.columns


def test_band_layouts_are_clipped_to_the_range(speech):
    f = extract(speech, fmin=500.0, fmax=4000.0, bands="third-octave")
    assert f.meta.layout.lo_hz.min() >= 500 and f.meta.layout.hi_hz.max() <= 4000
    full = extract(speech, bands="third-octave")
    for name in f.meta.layout.names:  # the kept bands are the full layout's bands, unchanged
        np.testing.assert_array_equal(f.values[f"sfm_band_{name}"],
                                      full.values[f"sfm_band_{name}"])
    mel = extract(speech, fmin=200.0, fmax=6000.0, bands="mel:10").meta.layout
    edges = librosa.mel_frequencies(n_mels=11, fmin=200.0, fmax=6000.0, htk=False)
    np.testing.assert_allclose(np.append(mel.lo_hz, mel.hi_hz[-1]), edges, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"fmin": -1.0}, "fmin=-1.0"), ({"fmax": 0.0}, "fmax=0.0"),
     ({"fmin": 500.0, "fmax": 400.0}, "must be below fmax"),
     ({"fmin": float("nan")}, "fmin=nan"),
     ({"start": -1.0}, "start=-1.0"), ({"start": 2.0, "end": 1.0}, "before end"),
     ({"end": 0.0}, "end=0.0")],
)
def test_bad_frequency_and_time_ranges(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        ExtractOptions(**kwargs)


def test_frequency_range_outside_the_file(speech):
    with pytest.raises(ParameterError, match="not below Nyquist"):
        open_features(speech, ExtractOptions(fmin=9000.0))
    with pytest.raises(ParameterError, match="at least two"):
        open_features(speech, ExtractOptions(fmin=1000.0, fmax=1005.0))
    with pytest.raises(ParameterError, match="no band lies inside"):
        open_features(speech, ExtractOptions(fmin=1000.0, fmax=1100.0, bands="octave"))


def test_time_range_keeps_whole_file_frames(speech, speech_y):
    f = extract(speech, start=1.0, end=2.0, bands="octave")
    full = extract(speech, bands="octave")
    hop_s = 512 / 16000
    frames = np.flatnonzero((np.arange(full.times.size) * hop_s >= 1.0 - 1e-9)
                            & (np.arange(full.times.size) * hop_s <= 2.0 + 1e-9))
    np.testing.assert_allclose(f.times, frames * hop_s)
    ref = librosa.feature.spectral_flatness(y=speech_y)[0][frames]
    np.testing.assert_allclose(f.values["sfm"][0], ref, atol=1e-5)
    for name in f.meta.columns:
        np.testing.assert_allclose(f.values[name][0], full.values[name][0][frames], atol=1e-9)
    # the range at the start and the end of the file (padding on both sides)
    edge = extract(speech, start=0.0, end=0.05, bands=None)
    np.testing.assert_allclose(edge.values["sfm"][0], full.values["sfm"][0][:2], atol=1e-9)
    tail = extract(speech, start=3.9, bands=None)
    n = tail.times.size
    np.testing.assert_allclose(tail.values["sfm"][0], full.values["sfm"][0][-n:], atol=1e-9)


def test_time_range_with_resampling_matches_the_whole_resampled_file(speech):
    part = extract(speech, target_sr=22050, start=1.0, end=1.5, bands=None)
    whole = extract(speech, target_sr=22050, bands=None)
    first = round(part.times[0] * 22050 / 512)
    np.testing.assert_allclose(part.values["sfm"][0],
                               whole.values["sfm"][0][first : first + part.times.size],
                               atol=1e-9)


def test_time_range_outside_the_file(speech):
    with pytest.raises(ParameterError, match="outside the file"):
        open_features(speech, ExtractOptions(start=10.0))
    with pytest.raises(ParameterError, match="outside the file"):
        open_features(speech, ExtractOptions(end=10.0))


def test_chosen_columns(speech):
    f = extract(speech, features="sfm_db,sfm_band,sfm", bands="octave")
    full = extract(speech, bands="octave")
    names = full.meta.layout.names
    assert f.meta.columns == ["sfm", "sfm_db"] + [f"sfm_band_{n}" for n in names]
    for name in f.meta.columns:
        np.testing.assert_array_equal(f.values[name], full.values[name])
    assert f.band_crest is None and f.band_sfm.shape == full.band_sfm.shape
    assert extract(speech, features=["rms_dbfs"]).meta.layout is None
    with pytest.raises(ParameterError, match="unknown bogus; choose from sfm"):
        ExtractOptions(features="sfm,bogus")
    with pytest.raises(ParameterError, match="empty"):
        ExtractOptions(features="")
    with pytest.raises(ParameterError, match="band columns, but bands is none"):
        ExtractOptions(features="sfm_band", bands=None)


def test_level_gating_of_summaries(tmp_path):
    import soundfile as sf

    # a pulse train: 0.1 s bursts of noise every 0.5 s, digital silence between
    sr = 16000
    rng = np.random.default_rng(2)
    y = np.zeros(3 * sr)
    for k in range(6):
        a = k * sr // 2
        y[a : a + sr // 10] = 0.3 * rng.standard_normal(sr // 10)
    path = tmp_path / "pulses.wav"
    sf.write(path, y, sr, subtype="DOUBLE")
    opts = ExtractOptions(bands=None, min_dbfs=-60.0)
    meta, chunks = open_features(path, opts)
    from sfm_audio.summaries import summary_rows, table_schema

    labels, rows = summary_rows(meta, chunks)
    row = dict(zip([c.name for c in table_schema(meta, True)], rows[0]))
    sfm = librosa.feature.spectral_flatness(y=y)[0]
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0]
    loud = 20 * np.log10(np.maximum(rms.astype(np.float64), 1e-100)) >= -60.0
    assert 0 < loud.sum() < loud.size
    assert row["frames"] == sfm.size and row["frames_gated"] == (~loud).sum()
    np.testing.assert_allclose(row["sfm_mean"], sfm[loud].mean(), atol=1e-6)
    np.testing.assert_allclose(row["sfm_median"], np.median(sfm[loud]), atol=1e-6)
    np.testing.assert_allclose(row["sfm_p90"], np.percentile(sfm[loud], 90), atol=1e-6)
    np.testing.assert_allclose(row["peak_dbfs"], 20 * np.log10(np.abs(y).max()), atol=1e-9)
    assert row["sr"] == sr and row["channels"] == 1 and row["duration_s"] == 3.0
    assert row["bits"] == 64  # written as DOUBLE
    # the frame table keeps every frame; silence keeps SFM 1
    f = extract(path, bands=None, min_dbfs=-60.0)
    assert f.values["sfm"].shape[-1] == sfm.size
    assert np.isclose(f.values["sfm"][0][~loud], 1.0, atol=1e-5).mean() > 0.9
    with pytest.raises(ParameterError, match="min_dbfs=nan"):
        ExtractOptions(min_dbfs=float("nan"))


def test_levels_are_measured_only_for_a_summary(tmp_path):
    """The source's peak and clipped samples are a pass over every sample that only a
    summary reads: a frame table (and extract()) skips it, to the same numbers; a summary of
    a file opened without them is refused, not written with zeros."""
    from sfm_audio.summaries import summary_rows

    path = tmp_path / "clipped.wav"
    y = np.clip(np.random.default_rng(4).standard_normal((8000, 2)), -1, 1)
    sf.write(path, y, 8000, subtype="PCM_16")
    with_levels, chunks = open_features(path, ExtractOptions(bands="octave"))
    frames = [c.values for c in chunks]
    assert with_levels.readings.levels.clipped[0].sum() > 0
    without, chunks = open_features(path, ExtractOptions(bands="octave"), levels=False)
    assert without.readings.levels is None
    for a, b in zip(frames, [c.values for c in chunks], strict=True):
        np.testing.assert_array_equal(a, b)
    meta, chunks = open_features(path, ExtractOptions(bands="octave"), levels=False)
    with pytest.raises(ParameterError, match="open_features\\(..., levels=True\\)"):
        summary_rows(meta, chunks)


def test_every_frame_gated_gives_empty_statistics(signals):
    meta, chunks = open_features(signals["silence"], ExtractOptions(bands=None, min_dbfs=-100.0))
    stats = summarize(meta, chunks)
    assert np.isnan(stats).all()


def test_segment_summaries(speech, speech_y):
    from sfm_audio.summaries import summary_rows, table_schema

    meta, chunks = open_features(speech, ExtractOptions(bands=None, segment=1.5))
    labels, rows = summary_rows(meta, chunks)
    names = [c.name for c in table_schema(meta, True)]
    assert names[:5] == ["segment_start_s", "sr", "channels", "bits", "duration_s"]
    sfm = librosa.feature.spectral_flatness(y=speech_y)[0]
    times = np.arange(sfm.size) * 512 / 16000
    starts = np.arange(0, times[-1] + 1e-9, 1.5)
    assert labels == ["mix"] * starts.size
    np.testing.assert_allclose(rows[:, 0], starts)
    for i, s in enumerate(starts):
        inside = (times >= s) & (times < s + 1.5)
        row = dict(zip(names, rows[i]))
        assert row["frames"] == inside.sum()
        np.testing.assert_allclose(row["sfm_mean"], sfm[inside].mean(), atol=1e-6)
        np.testing.assert_allclose(row["sfm_std"], sfm[inside].std(), atol=1e-6)
    with pytest.raises(ParameterError, match="segment=0"):
        ExtractOptions(segment=0)


# --------------------------------------------------------------------------- arrays

#: the rate of the tone_noise_stereo_y fixture (conftest.py)
SR = 22050


@pytest.mark.parametrize(
    "options",
    [{"channels": "mix"}, {"channels": "each", "bands": "octave"}, {"channels": 1},
     {"channels": "each", "start": 0.3, "end": 1.0, "fmin": 300.0, "fmax": 6000.0},
     {"n_fft": 1024, "hop_length": 300, "center": False, "power": 1.0, "bands": "mel:12"}],
)
def test_an_array_gives_what_the_same_samples_in_a_file_give(tone_noise_stereo_y,
                                                             tone_noise_stereo_wav, options):
    a = extract(tone_noise_stereo_y, sr=SR, **options)
    b = extract(tone_noise_stereo_wav, **options)
    assert a.meta.columns == b.meta.columns and a.meta.channels == b.meta.channels
    np.testing.assert_array_equal(a.times, b.times)
    for name in b.meta.columns:
        np.testing.assert_allclose(a.values[name], b.values[name], rtol=0, atol=1e-9,
                                   err_msg=name)


def test_a_mono_1d_array_and_float32(tone_noise_stereo_y, tmp_path):
    y = tone_noise_stereo_y[0].astype(np.float32)
    path = tmp_path / "mono.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    a, b = extract(y, sr=SR), extract(path)
    assert a.meta.channels == ["mix"]
    for name in b.meta.columns:
        np.testing.assert_allclose(a.values[name], b.values[name], rtol=0, atol=1e-9)
    ref = librosa.feature.spectral_flatness(y=y)[0]
    np.testing.assert_allclose(a.values["sfm"][0], ref, atol=1e-5)


def test_threads_do_not_change_the_numbers_of_an_array(tone_noise_stereo_y):
    a = extract(tone_noise_stereo_y, sr=SR, channels="each", threads=1)
    b = extract(tone_noise_stereo_y, sr=SR, channels="each", threads=2)
    for name in a.meta.columns:
        np.testing.assert_array_equal(a.values[name], b.values[name])


def test_to_pandas_is_the_command_lines_frame_table(tone_noise_stereo_wav, tmp_path):
    out = tmp_path / "frames.csv"
    result = CliRunner().invoke(main, ["extract", str(tone_noise_stereo_wav), "-o", str(out),
                                       "--channels", "each", "--bands", "octave"])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    df = extract(tone_noise_stereo_wav, channels="each", bands="octave").to_pandas()
    assert list(df.columns) == list(rows[0])
    assert len(df) == len(rows)
    assert list(df["channel"][:4]) == [r["channel"] for r in rows[:4]] == ["0", "1", "0", "1"]
    np.testing.assert_array_equal(df["frame"], [int(r["frame"]) for r in rows])
    band = next(c for c in df.columns if c.startswith("sfm_band_"))
    for name in ("time_s", "sfm", "rms_dbfs", band):
        np.testing.assert_allclose(df[name], [float(r[name]) for r in rows], rtol=1e-6,
                                   atol=1e-6)


@pytest.mark.parametrize(("n_fft", "hop", "center"), [(2048, 512, True), (1000, 300, False)])
def test_rms_dbfs_is_librosas_rms(tone_noise_stereo_y, n_fft, hop, center):
    y = tone_noise_stereo_y[0]
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


def test_an_array_is_not_resampled_and_a_file_takes_no_array_rate(tone_noise_stereo_wav):
    with pytest.raises(ParameterError, match="not resampled"):
        open_features(np.zeros(4096), ExtractOptions(sr=16000), sr=SR)
    with pytest.raises(ParameterError, match="rate of an array"):
        open_features(tone_noise_stereo_wav, sr=SR)


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch):
    import sys

    f = extract(np.zeros(4096), sr=SR, bands=None)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ImportError, match="pip install pandas"):
        f.to_pandas()


def test_layout_built_once_per_rate_and_an_array_window_still_works():
    """Files at one rate share one band layout (read-only, so no caller can change it for
    the others); a window given as an array (options that cannot be hashed) is not cached
    and gives the numbers of the same window by name."""
    from sfm_audio.features import ExtractOptions, _geometry

    options = ExtractOptions()
    first, second = _geometry(options, 22050.0, None), _geometry(options, 22050.0, None)
    assert first[0] is second[0] and first[1] == second[1]
    with pytest.raises(ValueError):
        first[0].bin_lo[0] = 99
    y = np.random.default_rng(3).standard_normal(16000)
    by_name = extract(y, sr=16000, n_fft=512, window="hann")
    periodic_hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(512) / 512)
    by_array = extract(y, sr=16000, n_fft=512, window=periodic_hann)
    np.testing.assert_allclose(by_array.values["sfm"], by_name.values["sfm"], rtol=1e-9)
