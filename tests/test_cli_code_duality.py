"""``sfm-audio code``: prediction, per-frame duality and MDCT through click's CliRunner."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy.signal import lfilter

from sfm_audio.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    """1.5 s of AR(1) noise whose loudness changes, 16-bit at 16 kHz."""
    rng = np.random.default_rng(0)
    n = 24000
    y = lfilter([np.sqrt(1 - 0.81)], [1, -0.9], rng.standard_normal(n))
    y *= 0.05 + 0.2 * np.abs(np.sin(2 * np.pi * np.arange(n) / 9000))
    path = tmp_path_factory.mktemp("duality") / "ar1.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    return path


FAST = ("--block", "16", "--rates", "2")


def test_json_contract(wav, tmp_path):
    out = tmp_path / "r.json"
    result = run("code", wav, *FAST, "--json", out)
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert [p["order"] for p in r["prediction"]] == [1, 2, 4, 8, 16, 32]
    for p in r["prediction"]:
        assert set(p) == {"order", "gain_db", "residual_sfm"}
    gains = [p["gain_db"] for p in r["prediction"]]
    assert gains == sorted(gains)
    d = r["duality"]
    for key in ("block", "transform", "rate", "theta", "bits_per_sample", "blocks", "bits_std",
                "r2_predicted", "r2_fit", "energy_coef", "flatness_coef"):
        assert key in d
    assert (d["block"], d["rate"], d["blocks"]) == (512, 2.0, 24000 // 512)
    assert "mdct" in r["blocks"][0]["transforms"]
    assert "coding_gain_db" in r["blocks"][0]["transforms"]["mdct"]
    for row in r["blocks"][0]["rd"]:
        assert "mdct" in row["measured"]
    assert "linear prediction gain" in result.output
    assert "per-frame duality" in result.output


def test_options_and_frames_table(wav, tmp_path):
    frames = tmp_path / "frames.csv"
    out = tmp_path / "r.json"
    result = run("code", wav, *FAST, "--orders", "3,1", "--duality-block", "256",
                 "--duality-rate", "3", "--frames", frames, "--json", out)
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert [p["order"] for p in r["prediction"]] == [1, 3]
    assert (r["duality"]["block"], r["duality"]["rate"]) == (256, 3.0)
    with open(frames, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["block", "time_s", "energy", "sfm", "predicted_bits", "bits"]
    assert len(rows) == r["duality"]["blocks"] == 24000 // 256
    bits = np.array([float(x["bits"]) for x in rows])
    assert bits.std() == pytest.approx(r["duality"]["bits_std"], rel=1e-6)
    # the sfm column is what `sfm-audio extract` prints for the same frames
    table = tmp_path / "x.csv"
    ex = run("extract", wav, "--n-fft", "256", "--hop-length", "256", "--no-center",
             "--bands", "none", "-o", table)
    assert ex.exit_code == 0, ex.output
    with open(table, newline="") as handle:
        extracted = [float(x["sfm"]) for x in csv.DictReader(handle)]
    np.testing.assert_allclose([float(x["sfm"]) for x in rows], extracted, rtol=1e-6)


def test_mdct_write_wav(wav, tmp_path):
    prefix = tmp_path / "dec"
    out = tmp_path / "r.json"
    result = run("code", wav, *FAST, "--transform", "mdct", "--write-wav", prefix, "--json", out)
    assert result.exit_code == 0, result.output
    decoded, _ = sf.read(f"{prefix}-N16-mdct-2bps.wav")
    original, _ = sf.read(wav)
    m = json.loads(out.read_text())["blocks"][0]["rd"][0]["measured"]["mdct"]
    snr = 10 * np.log10(np.var(original) / np.mean((decoded - original) ** 2))
    assert snr == pytest.approx(m["snr_db"], abs=0.3)  # the WAV adds 16-bit rounding


@pytest.mark.parametrize("args, message", [
    (["--orders", "0"], "--orders 0 must be a positive integer"),
    (["--orders", "x"], "--orders"),
    (["--duality-block", "1"], "--duality-block 1 must be an integer >= 2"),
    (["--duality-rate", "0"], "--duality-rate 0 must be a number of bits per sample"),
    (["--duality-rate", "17"], "--duality-rate 17 must be"),
    (["--duality-block", "100000"], "--frames: the file is shorter than one duality block"),
    (["--block", "33", "--transform", "dct,mdct"], "33 must be even for the MDCT"),
])
def test_bad_options(wav, tmp_path, args, message):
    out = tmp_path / "r.json"
    result = run("code", wav, *FAST, *args, "--json", out, "--frames", tmp_path / "f.csv")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists() and not (tmp_path / "f.csv").exists()


def test_frames_needs_one_existing_folder_and_one_input(wav, tmp_path):
    result = run("code", wav, *FAST, "--frames", tmp_path / "missing" / "f.csv")
    assert result.exit_code == 2 and "does not exist" in result.output
    result = run("code", wav, wav.parent, *FAST, "--frames", tmp_path / "f.csv")
    assert result.exit_code == 2 and "one input" in result.output
    assert not (tmp_path / "f.csv").exists()


def test_short_file_has_no_duality(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, np.random.default_rng(1).standard_normal(300) * 0.1, 8000)
    out = tmp_path / "r.json"
    result = run("code", path, "--block", "8", "--rates", "1", "--json", out)
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["duality"] is None
    assert [p["order"] for p in r["prediction"]] == [1, 2, 4, 8, 16, 32]
    result = run("code", path, "--block", "8", "--rates", "1", "--frames", tmp_path / "f.csv")
    assert result.exit_code == 2 and "shorter than one duality block" in result.output
    assert not (tmp_path / "f.csv").exists()
