"""``sfm-audio code`` and ``sfm-audio spectrum`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy.signal import lfilter

from sfm_audio.cli import main

ARCTIC = Path(__file__).resolve().parent.parent / "sfm_audio" / "data" / "arctic_a0007.wav"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def ar1_wav(tmp_path):
    rng = np.random.default_rng(0)
    y = 0.1 * lfilter([np.sqrt(1 - 0.81)], [1, -0.9], rng.standard_normal(48000))
    path = tmp_path / "ar1.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    return path


def test_code_json_shape(ar1_wav, tmp_path):
    out = tmp_path / "report.json"
    result = run("code", ar1_wav, "--block", "4,8,16", "--rates", "1,3", "--transform",
                 "klt,dct,pcm", "--json", out)
    assert result.exit_code == 0, result.output
    assert "coding gain" in result.output and "FLAC" in result.output
    r = json.loads(out.read_text())
    for key in ("file", "sr", "samples", "variance", "psd_sfm", "gain_limit_db", "blocks",
                "lossless", "frame_sfm_mean", "channels", "warnings"):
        assert key in r
    assert r["sr"] == 16000 and r["samples"] == 48000
    assert [b["block"] for b in r["blocks"]] == [4, 8, 16]
    gains = [b["transforms"]["klt"]["coding_gain_db"] for b in r["blocks"]]
    assert gains == sorted(gains) and gains[-1] < r["gain_limit_db"] + 0.3
    for b in r["blocks"]:
        assert set(b["transforms"]) == {"klt", "dct", "pcm"}
        t = b["transforms"]["pcm"]
        assert abs(t["coding_gain_db"]) < 0.05 and len(t["variances"]) == b["block"]
        assert 0 < b["transforms"]["klt"]["eigen_sfm"] < 1
        held = b["transforms"]["klt"]["heldout_coding_gain_db"]
        assert abs(held - b["transforms"]["klt"]["coding_gain_db"]) < 0.3  # stationary
        assert [row["rate"] for row in b["rd"]] == [1.0, 3.0]
        for row in b["rd"]:
            assert {"rate", "theta", "distortion", "snr_db", "measured"} <= set(row)
            for m in row["measured"].values():
                assert set(m) >= {"bits_per_sample", "distortion", "snr_db",
                                  "stationary_rate", "short_time_rate"}
                assert m["bits_per_sample"] > m["stationary_rate"]
        assert [p["k"] for p in b["prefix"]] == list(range(1, b["block"] + 1))
    ll = r["lossless"]
    assert set(ll) == {"pcm_bits", "step", "source_subtype", "quantized",
                      "estimate_bits_per_sample", "flac_bits_per_sample"}
    assert ll["pcm_bits"] == 16 and ll["quantized"] is False and ll["source_subtype"] == "PCM_16"
    assert 0.05 < ll["flac_bits_per_sample"] - ll["estimate_bits_per_sample"] < 0.5


def test_code_output_is_readable(ar1_wav):
    """The printed report: both flatness numbers, held-out gain, no column reprinting the
    target, the R(D) columns explained, the lossless estimate named as an estimate."""
    result = run("code", ar1_wav, "--block", "8", "--rates", "1", "--transform", "klt,dct")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "PSD 0." in out and "mean per-frame SFM 0." in out
    assert "held out" in out and "R_stat" in out and "R_short" in out
    header = next(line for line in out.splitlines() if "target |" in line)
    assert "R(D)" not in header and "theta" not in header  # no column reprints the target
    assert "lossless (16-bit): estimate" in out and "bound" not in out
    assert "Givens angles" in out


def test_code_help_has_a_glossary():
    result = run("code", "--help")
    assert result.exit_code == 0
    for term in ("Glossary", "coding gain", "held-out gain", "PSD flatness",
                 "mean per-frame SFM", "theta (water level)", "R(D)", "ECSQ gap",
                 "lossless estimate"):
        assert term in result.output
    # the prose is wrapped as paragraphs: no run of spaces inside a line (the glossary's
    # indentation once stopped click from seeing the docstring's paragraphs)
    prose = result.output.split("Examples:")[0]
    assert not [line for line in prose.splitlines() if "   " in line.strip()]
    assert "  Prints the file's two flatness numbers; per block size, the coding gain of\n" in prose


@pytest.mark.parametrize("command", ["extract", "code", "plot", "info", "spectrum", "demo"])
def test_help_fits_80_columns(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert [line for line in result.output.splitlines() if len(line) > 80] == []


def test_code_notes_stereo_and_few_blocks(tmp_path):
    path = tmp_path / "st.wav"
    sf.write(path, np.random.default_rng(0).normal(0, 0.1, (800, 2)), 16000, subtype="PCM_16")
    result = run("code", path, "--rates", "0.5")
    assert result.exit_code == 0, result.output
    assert "note: 2 channels mixed to mono" in result.output
    assert "note: block=32: only 25 blocks" in result.output


def test_code_defaults_on_speech_and_deterministic(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("code", ARCTIC, "--json", a).exit_code == 0
    assert run("code", ARCTIC, "--json", b).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    r = json.loads(a.read_text())
    assert [x["block"] for x in r["blocks"]] == [32]
    assert [x["rate"] for x in r["blocks"][0]["rd"]] == [0.5, 1.0, 2.0, 4.0]


def test_code_write_wav_and_centroid(ar1_wav, tmp_path):
    prefix = tmp_path / "dec"
    result = run("code", ar1_wav, "--block", "8", "--rates", "2", "--transform", "dct,pcm",
                 "--reconstruction", "centroid", "--write-wav", prefix)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.glob("dec*"))
    assert names == ["dec-N8-dct-2bps.wav", "dec-N8-pcm-2bps.wav"]
    y, sr = sf.read(tmp_path / "dec-N8-dct-2bps.wav")
    x, _ = sf.read(ar1_wav)
    assert sr == 16000 and y.shape == x.shape
    snr = 10 * np.log10(np.var(x) / np.mean((x - y) ** 2))
    assert snr > 10


@pytest.mark.parametrize("args, message", [
    (["--block", "1"], "--block 1 must be an integer >= 2"),
    (["--block", "x"], "--block"),
    (["--rates", "0"], "--rates 0 must be"),
    (["--rates", "-1,2"], "--rates -1 must be"),
    (["--rates", "17"], "--rates 17 must be"),
    (["--transform", "fft"], "--transform 'fft' must be one of"),
    (["--block", "100000"], "--block 100000 is longer than the signal"),
    (["--reconstruction", "mean"], "reconstruction"),
])
def test_code_bad_options(ar1_wav, tmp_path, args, message):
    out = tmp_path / "r.json"
    result = run("code", ar1_wav, *args, "--json", out, "--write-wav", tmp_path / "w")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob("w*")) and not list(
        tmp_path.glob(".r.json*"))


def _bad_files(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000), 16000, subtype="PCM_16")
    short = tmp_path / "short.wav"
    sf.write(short, np.random.default_rng(0).normal(0, 0.1, 10), 16000, subtype="PCM_16")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    truncated = tmp_path / "cut.wav"
    sf.write(truncated, np.random.default_rng(1).normal(0, 0.1, 8000), 16000, subtype="PCM_16")
    truncated.write_bytes(truncated.read_bytes()[:2000])
    return [
        (silent, 1, "coding gain is undefined"),
        (short, 2, "--block 32 is longer than the signal (10 samples)"),
        (text, 1, "not a readable audio file"),
        (truncated, 1, "truncated"),
        (tmp_path / "missing.wav", 1, "no such file"),
        (tmp_path, 1, "0 ok, 4 failed"),  # a folder: each of its files tried and reported
    ]


def test_code_bad_files(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for path, status, message in _bad_files(tmp_path):
        out = out_dir / "r.json"
        result = run("code", path, "--json", out, "--write-wav", out_dir / "w")
        assert result.exit_code == status, (path, result.output)
        assert message in result.output, (path, result.output)
        assert "Traceback" not in result.output and "nan" not in result.output.lower()
        assert list(out_dir.iterdir()) == []


def test_code_missing_output_folder(ar1_wav, tmp_path):
    result = run("code", ar1_wav, "--json", tmp_path / "nope" / "r.json")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_spectrum(tmp_path):
    from sfm_audio.coding import ar1_covariance

    cov = tmp_path / "cov.npy"
    np.save(cov, ar1_covariance(8, 0.9))
    result = run("spectrum", cov)
    assert result.exit_code == 0, result.output
    assert "6.31" in result.output and "sfm" in result.output
    result = run("spectrum", cov, "--json")
    m = json.loads(result.output)
    assert m["coding_gain_db"] == pytest.approx(6.3109, abs=1e-4)
    W = tmp_path / "w.npy"
    np.save(W, np.random.default_rng(0).standard_normal((20, 5)))
    m = json.loads(run("spectrum", W, "--kind", "matrix", "--json").output)
    assert m["kind"] == "matrix" and m["n"] == 5 and 0 < m["sfm"] < 1
    m = json.loads(run("spectrum", W, "--kind", "samples", "--json").output)
    assert m["n"] == 5 and m["gaussian_entropy_bits"] is not None


def test_spectrum_bad_input(tmp_path):
    text = tmp_path / "x.npy"
    text.write_text("nope")
    vec = tmp_path / "v.npy"
    np.save(vec, np.ones(3))
    nan = tmp_path / "n.npy"
    np.save(nan, np.array([[1.0, np.nan], [np.nan, 1.0]]))
    asym = tmp_path / "a.npy"
    np.save(asym, np.array([[1.0, 2.0], [0.0, 1.0]]))
    cases = [
        (["spectrum", tmp_path / "missing.npy"], 1, "no such file"),
        (["spectrum", text], 1, "not a .npy array"),
        (["spectrum", vec], 2, "expected a 2-D matrix"),
        (["spectrum", nan], 2, "finite"),
        (["spectrum", asym], 2, "symmetric"),
        (["spectrum", vec, "--kind", "other"], 2, "other"),
    ]
    for args, status, message in cases:
        result = run(*args)
        assert result.exit_code == status, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for k, rho in enumerate((0.5, 0.9, 0.95)):
        y = 0.1 * lfilter([np.sqrt(1 - rho**2)], [1, -rho], rng.standard_normal(20000))
        sf.write(folder / f"ar{k}.wav", y, 16000, subtype="PCM_16")
    return folder


def test_code_several_inputs_in_parallel_equal_one_by_one(corpus, tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    args = ["--block", "4,8", "--rates", "1,2", "--transform", "klt,dct"]
    r1 = run("code", corpus, *args, "--json", one, "--jobs", "1")
    r2 = run("code", str(corpus / "*.wav"), *args, "--json", two, "--jobs", "2")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert one.read_bytes() == two.read_bytes()
    doc = json.loads(one.read_text())
    assert [Path(r["file"]).name for r in doc["files"]] == ["ar0.wav", "ar1.wav", "ar2.wav"]
    assert doc["failed"] == []
    # stronger correlation, higher gain: the reports belong to their files
    gains = [r["blocks"][1]["transforms"]["klt"]["coding_gain_db"] for r in doc["files"]]
    assert gains == sorted(gains)
    assert "3 ok, 0 failed" in r1.output


def test_code_several_inputs_with_a_bad_one(corpus, tmp_path):
    (corpus / "broken.wav").write_text("not audio")
    out = tmp_path / "r.json"
    result = run("code", corpus, "--block", "8", "--rates", "1", "--transform", "klt,dct,pcm",
                 "--json", out, "--jobs", "2",
                 "--write-wav", tmp_path / "dec")
    assert result.exit_code == 1
    assert "broken.wav: not a readable audio file" in result.output
    assert "3 ok, 1 failed" in result.output
    doc = json.loads(out.read_text())
    assert len(doc["files"]) == 3 and [Path(f["file"]).name for f in doc["failed"]] == [
        "broken.wav"]
    assert len(list(tmp_path.glob("dec-ar1-N8-*-1bps.wav"))) == 3
    assert not list(tmp_path.glob("dec-broken*"))


def test_code_several_inputs_bad_options(corpus, tmp_path):
    result = run("code", corpus / "ar0.wav", corpus / "ar1.wav", "--jobs", "0")
    assert result.exit_code == 2 and "'-j' / '--jobs': 0 is not in the range x>=1" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "ar0.wav").write_bytes((corpus / "ar0.wav").read_bytes())
    clash = run("code", corpus / "ar0.wav", other / "ar0.wav", "--write-wav", tmp_path / "d")
    assert clash.exit_code == 2 and "several inputs are named 'ar0'" in clash.output


def test_code_errors_csv(corpus, tmp_path):
    (corpus / "empty.wav").write_bytes(b"")
    errors = tmp_path / "failed.csv"
    result = run("code", corpus, "--block", "4", "--rates", "1", "--transform", "dct",
                 "--errors", errors, "--jobs", "1")
    assert result.exit_code == 1
    assert "3 ok, 1 failed" in result.output and "Error:" not in result.output
    lines = errors.read_text().splitlines()
    assert lines[0] == "file,error"
    assert lines[1] == f"{corpus / 'empty.wav'},empty file (0 bytes)"
    missing = run("code", corpus, "--errors", tmp_path / "nope" / "e.csv")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_code_one_file_on_several_processes_is_the_same_report(ar1_wav, tmp_path,
                                                              monkeypatch):
    from sfm_audio.coding import experiment

    monkeypatch.setattr(experiment, "PARALLEL_MIN_SAMPLES", 0)  # short files too
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    args = ["--block", "8,16", "--rates", "1,2"]
    r1 = run("code", ar1_wav, *args, "--json", one, "--jobs", "1")
    r2 = run("code", ar1_wav, *args, "--json", two, "--jobs", "2")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert one.read_bytes() == two.read_bytes()
    assert r1.output == r2.output
