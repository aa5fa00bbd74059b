"""sfm_audio.coding.experiment: the whole experiment on a file, and its report's contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
import soundfile as sf
from scipy.signal import lfilter

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    ar1_covariance,
    frame_sfm_mean,
    klt,
    lossless_file,
    prefix_curve,
    run_experiment,
)


@pytest.fixture(scope="module")
def ar1_wav(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = 0.1 * lfilter([np.sqrt(1 - 0.81)], [1, -0.9], rng.standard_normal(64000))
    path = tmp_path_factory.mktemp("ar1") / "ar1.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def ar1_report(ar1_wav):
    return run_experiment(ar1_wav, blocks=[8], rates=[0.5, 2.0],
                          transforms=["klt", "dct", "pcm"]).report.to_dict()


def test_report_contract(ar1_report):
    r = ar1_report
    assert set(r["lossless"]) >= {"pcm_bits", "step", "source_subtype", "quantized",
                                  "estimate_bits_per_sample", "flac_bits_per_sample"}
    for t in ("klt", "dct", "pcm"):
        assert {"coding_gain_db", "heldout_coding_gain_db"} <= set(r["blocks"][0]["transforms"][t])
    for row in r["blocks"][0]["rd"]:
        for m in row["measured"].values():
            assert {"bits_per_sample", "distortion", "snr_db", "stationary_rate",
                    "short_time_rate"} <= set(m)
    assert r["warnings"] == [] and r["channels"] == 1


def test_stationary_ar1_gains_agree_with_theory(ar1_report):
    """In-sample and held-out N = 8 KLT gains at theory (eigh of rho^|i-j|: 6.3109 dB)."""
    lam = scipy.linalg.eigh(scipy.linalg.toeplitz(0.9 ** np.arange(8)), eigvals_only=True)
    theory = 10 * np.log10(lam.mean() / np.exp(np.log(lam).mean()))
    klt_entry = ar1_report["blocks"][0]["transforms"]["klt"]
    assert klt_entry["coding_gain_db"] == pytest.approx(theory, abs=0.1)
    assert klt_entry["heldout_coding_gain_db"] == pytest.approx(theory, abs=0.1)


def test_theory_at_the_measured_distortion(ar1_report):
    block = ar1_report["blocks"][0]
    lam = np.array(block["transforms"]["klt"]["variances"])
    for row in block["rd"]:
        for m in row["measured"].values():
            # on a stationary Gaussian source: no coder beats R(D); the short-time rate sits
            # below the stationary one by little more than its estimation bias (0.094 bit)
            assert m["bits_per_sample"] > m["stationary_rate"]
            assert m["stationary_rate"] - 0.2 < m["short_time_rate"] < m["stationary_rate"]
        # the same function of the source for every transform: KLT and DCT at nearly the
        # same distortion get nearly the same stationary rate
        k, d = row["measured"]["klt"], row["measured"]["dct"]
        assert abs(k["stationary_rate"] - d["stationary_rate"]) < 0.03
    curves = block["theory"]
    assert len(curves["distortion"]) == len(curves["stationary_rate"]) == len(
        curves["short_time_rate"])
    assert np.all(np.diff(curves["stationary_rate"]) <= 1e-12)
    assert lam.size == 8


def test_speech_beats_the_stationary_line(speech):
    """Non-stationary audio: measured DCT points sit left of the stationary R(D) and right of
    the short-time one; the in-sample KLT gain overfits, the held-out one does not."""
    r = run_experiment(speech, blocks=[64], rates=[0.5], transforms=["klt", "dct"]).report.to_dict()
    m = r["blocks"][0]["rd"][0]["measured"]["dct"]
    assert m["short_time_rate"] < m["bits_per_sample"] < m["stationary_rate"]
    gains = r["blocks"][0]["transforms"]
    assert gains["klt"]["heldout_coding_gain_db"] < gains["dct"]["heldout_coding_gain_db"]
    assert gains["klt"]["coding_gain_db"] > gains["dct"]["coding_gain_db"]


def test_lossless_moves_with_the_sample_width(speech, tmp_path):
    """8-, 16- and 24-bit versions of one recording: the estimate follows FLAC."""
    y, sr = sf.read(speech)
    rng = np.random.default_rng(0)
    versions = {
        "8": (y, "PCM_U8"),
        "16": (y, "PCM_16"),
        "24": (y, "PCM_24"),  # the 16-bit recording in a 24-bit file: 8 wasted bits
        "24d": (y + rng.uniform(-0.5, 0.5, y.size) * 2.0**-15, "PCM_24"),  # real 24 bits
        "float": (y, "FLOAT"),
    }
    out = {}
    for name, (x, subtype) in versions.items():
        path = tmp_path / f"{name}.wav"
        sf.write(path, x, sr, subtype=subtype)
        out[name] = lossless_file(path).to_dict()
    for ll in out.values():
        assert abs(ll["estimate_bits_per_sample"] - ll["flac_bits_per_sample"]) < 0.4
    assert [out[k]["pcm_bits"] for k in ("8", "16", "24", "24d", "float")] == [8, 16, 24, 24, 16]
    assert [out[k]["quantized"] for k in ("8", "16", "24", "float")] == [False] * 3 + [True]
    assert out["24"]["estimate_bits_per_sample"] == pytest.approx(
        out["16"]["estimate_bits_per_sample"], abs=1e-9)
    assert out["24d"]["estimate_bits_per_sample"] - out["16"]["estimate_bits_per_sample"] > 7
    assert out["8"]["estimate_bits_per_sample"] < out["16"]["estimate_bits_per_sample"] - 5
    assert out["24"]["step"] == 2.0**-23 and out["8"]["source_subtype"] == "PCM_U8"


def test_notes_for_stereo_and_few_blocks(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "short_stereo.wav"
    sf.write(path, 0.1 * rng.standard_normal((800, 2)), 16000, subtype="PCM_16")
    r = run_experiment(path, blocks=[32], rates=[0.5], transforms=["dct"]).report.to_dict()
    assert r["channels"] == 2 and r["lossless"]["quantized"] is True
    text = " ".join(r["warnings"])
    assert "2 channels mixed to mono" in text
    assert "block=32: only 25 blocks" in text


def test_frame_sfm_mean_is_librosas(speech):
    librosa = pytest.importorskip("librosa")
    y, sr = sf.read(speech)
    expected = librosa.feature.spectral_flatness(y=y).mean()
    assert frame_sfm_mean(speech) == pytest.approx(expected, rel=1e-5)


def test_reported_frame_sfm_mean_is_extracts(tmp_path):
    """The report takes the mean in its covariance pass; extract's own table must agree."""
    from sfm_audio.features import extract

    rng = np.random.default_rng(5)
    y = lfilter([1.0], [1.0, -0.8], rng.standard_normal((2, 20000)), axis=-1) * 0.05
    path = tmp_path / "stereo.wav"
    sf.write(path, y.T, 16000, subtype="FLOAT")
    report = run_experiment(path, blocks=[8], rates=[1.0], transforms=["dct"],
                            orders=[1]).report.to_dict()
    expected = extract(path, bands=None).values["sfm"].mean()
    assert report["frame_sfm_mean"] == pytest.approx(expected, rel=1e-12)
    assert frame_sfm_mean(path) == pytest.approx(expected, rel=1e-12)


def test_prefix_curve():
    lam, _ = klt(ar1_covariance(8, 0.9))
    rows = prefix_curve(lam)
    assert [r["k"] for r in rows] == list(range(1, 9))
    assert rows[-1]["distortion"] == 0
    assert rows[0]["distortion"] == pytest.approx(lam[1:].sum() / 8)
    d = [r["distortion"] for r in rows]
    assert (np.diff(d) <= 0).all()
    for r in rows[:-1]:
        assert r["waterfill_distortion"] >= r["distortion"]


def test_parts_on_worker_processes_give_the_same_report(ar1_wav, noise_tone_stereo_22k,
                                                        monkeypatch):
    # the independent parts (second pass, each transform, prediction, duality) on a pool of
    # two processes: the same report, the same decoded signals, as all in this process
    from sfm_audio.coding import experiment

    monkeypatch.setattr(experiment, "PARALLEL_MIN_SAMPLES", 0)  # short files too
    options = dict(blocks=[8, 16], rates=[0.5, 2.0], keep_decoded=True)
    for path in (ar1_wav, noise_tone_stereo_22k):
        alone = run_experiment(path, jobs=1, **options)
        pooled = run_experiment(path, jobs=2, **options)
        assert json.dumps(pooled.report.to_dict()) == json.dumps(alone.report.to_dict())
        assert alone.decoded.keys() == pooled.decoded.keys()
        for key, y in alone.decoded.items():
            np.testing.assert_array_equal(pooled.decoded[key], y)


def test_jobs_must_be_positive(ar1_wav):
    with pytest.raises(ParameterError, match="jobs"):
        run_experiment(ar1_wav, jobs=0)


def test_the_file_is_decoded_once(ar1_wav, monkeypatch):
    # the first pass reads the file; every later pass reads the copy it wrote
    from sfm_audio import io

    opened = []
    original = io.stream

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(io, "stream", counting)
    run_experiment(ar1_wav, blocks=[8], rates=[1.0])
    assert opened.count(str(ar1_wav)) == 1
    assert len(opened) > 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_warnings_name_the_file_not_its_copy(tmp_path, monkeypatch, jobs):
    # the later passes read a temporary copy of the samples, on workers or here; what they
    # warn about (the empty top band of a full-scale square wave, which the duality's
    # extractor notes) still names the file the user gave
    import warnings

    from sfm_audio.coding import experiment

    monkeypatch.setattr(experiment, "PARALLEL_MIN_SAMPLES", 0)
    path = tmp_path / "square.wav"
    square = np.where(np.arange(16000) // 16 % 2 == 0, 1.0, -1.0)
    sf.write(path, square, 8000, subtype="PCM_16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_experiment(path, blocks=[8], rates=[1.0], jobs=jobs)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith(f"{path}: ") for m in messages), messages
    assert not any("mono.w64" in m for m in messages), messages


def test_a_coding_part_gives_the_same_digits_in_a_worker(ar1_wav):
    """The coders of a part, run in a pool's worker (forked from the fork server, BLAS on
    one thread from its start) and in this process: the same bits and errors to the last
    digit, for every transform and both reconstructions, at rates with and without inactive
    coefficients. (The pooled-report test sees this only for the parts the scheduler
    happens to send to a worker.)"""
    import soundfile as sf

    from sfm_audio.coding import block_covariance, coefficient_variances, transform_matrix
    from sfm_audio.coding.experiment import ExperimentOptions
    from sfm_audio.coding.parts import coders_task
    from sfm_audio.corpus.executors import process_pool

    y, _ = sf.read(ar1_wav)
    mean = float(y.mean())
    args = []
    for b in (8, 16):
        cov = block_covariance(y - mean, b)
        for t in ("klt", "dct", "pcm"):
            basis = transform_matrix(t, cov)
            v = coefficient_variances(cov, basis)
            for reconstruction in ("midpoint", "centroid"):
                options = ExperimentOptions([b], [0.25, 2.0, 6.0], [t], reconstruction, 256,
                                            [1], 512, 2.0, False)
                args.append((str(ar1_wav), b, t, basis, v, y.size, mean, options))

    def digits(results):
        return [(r.bits, r.distortion) for r in results]

    here = [digits(coders_task(*a)[0]) for a in args]
    with process_pool(1, preload=("sfm_audio.coding.experiment",)) as pool:
        there = [digits(f.result()[0]) for f in [pool.submit(coders_task, *a) for a in args]]
    assert there == here
