"""``sfm-audio info``: header, peak level and clipping, as text, JSON Lines or CSV (issue 13)."""

from __future__ import annotations

import csv
import io as stdio
import json
import math

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import io
from sfm_audio.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Files whose integer samples are known, with the peak and clipping they must give."""
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("info")
    truth = {}

    # 16-bit mono, clipped: 7 samples at +full scale, 5 at -full scale
    q = rng.integers(-20000, 20000, 8000, dtype=np.int16)
    q[rng.choice(8000, 12, replace=False)[:7]] = 32767
    q[np.flatnonzero(q != 32767)[:5]] = -32768
    sf.write(folder / "clip16.wav", q, 8000, subtype="PCM_16")
    truth["clip16.wav"] = dict(format="WAV", subtype="PCM_16", sr=8000, channels=1, frames=8000,
                               peak=1.0, clipped=12)

    # 24-bit stereo, no clipping: largest magnitude 2**22 (-6.02 dBFS)
    v = rng.integers(-(1 << 21), 1 << 21, (4410, 2)).astype(np.int32)
    v[100, 1] = -(1 << 22)
    sf.write(folder / "s24.wav", v << 8, 44100, subtype="PCM_24")
    truth["s24.wav"] = dict(format="WAV", subtype="PCM_24", sr=44100, channels=2, frames=4410,
                            peak=(1 << 22) / (1 << 23), clipped=0)

    # 24-bit FLAC with one sample at the largest code in each channel
    w = rng.integers(-(1 << 20), 1 << 20, (3000, 2)).astype(np.int32)
    w[10, 0] = (1 << 23) - 1
    w[20, 1] = (1 << 23) - 1
    (folder / "sub").mkdir()
    sf.write(folder / "sub" / "b24.flac", w << 8, 16000, subtype="PCM_24")
    truth["sub/b24.flac"] = dict(format="FLAC", subtype="PCM_24", sr=16000, channels=2,
                                 frames=3000, peak=((1 << 23) - 1) / (1 << 23), clipped=2)

    # float with overs: every |x| >= 1 counts
    f = rng.uniform(-0.9, 0.9, 2000).astype(np.float32)
    f[[5, 50, 500]] = [1.0, -1.25, 1.5]
    sf.write(folder / "float.wav", f, 22050, subtype="FLOAT")
    truth["float.wav"] = dict(format="WAV", subtype="FLOAT", sr=22050, channels=1, frames=2000,
                              peak=1.5, clipped=3)

    sf.write(folder / "silent.wav", np.zeros(1000, dtype=np.int16), 8000, subtype="PCM_16")
    truth["silent.wav"] = dict(format="WAV", subtype="PCM_16", sr=8000, channels=1, frames=1000,
                               peak=0.0, clipped=0)
    return folder, truth


def _expected_dbfs(peak: float) -> float | None:
    return 20 * math.log10(peak) if peak > 0 else None


def _check(row: dict, expected: dict) -> None:
    for key in ("format", "subtype", "sr", "channels", "frames", "clipped"):
        assert row[key] == expected[key], (key, row)
    assert row["duration_s"] == pytest.approx(expected["frames"] / expected["sr"], rel=1e-12)
    want = _expected_dbfs(expected["peak"])
    if want is None:
        assert row["peak_dbfs"] in (None, -math.inf)
    else:
        assert row["peak_dbfs"] == pytest.approx(want, abs=1e-9)


def _name(folder, file: str) -> str:
    return file[len(str(folder)) + 1:].replace("\\", "/")


def test_json_lines_over_a_folder(corpus):
    folder, truth = corpus
    result = CliRunner().invoke(main, ["info", "--json", str(folder)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(_name(folder, r["file"]) for r in rows) == sorted(truth)
    for row in rows:
        _check(row, truth[_name(folder, row["file"])])
    assert [r for r in rows if r["file"].endswith("silent.wav")][0]["peak_dbfs"] is None


def test_csv_several_inputs(corpus):
    folder, truth = corpus
    result = CliRunner().invoke(main, ["info", "--csv", str(folder / "float.wav"),
                                       str(folder / "sub"), str(folder / "silent.wav")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(stdio.StringIO(result.stdout)))
    assert list(rows[0]) == list(("file", "format", "subtype", "sr", "channels", "frames",
                                  "duration_s", "peak_dbfs", "clipped"))
    assert len(rows) == 3
    for row in rows:
        parsed = {**row, "sr": int(row["sr"]), "channels": int(row["channels"]),
                  "frames": int(row["frames"]), "clipped": int(row["clipped"]),
                  "duration_s": float(row["duration_s"]), "peak_dbfs": float(row["peak_dbfs"])}
        _check(parsed, truth[_name(folder, row["file"])])


def test_levels_against_numpy_on_the_samples(corpus):
    """io.levels against numpy on the integer samples libsndfile decodes."""
    folder, truth = corpus
    for name in ("clip16.wav", "s24.wav", "sub/b24.flac"):
        bits = 16 if name == "clip16.wav" else 24
        raw, _ = sf.read(folder / name, dtype="int32", always_2d=True)
        codes = raw >> (32 - bits)
        top, bottom = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
        lv = io.levels(folder / name)
        assert lv.clipped == int(np.count_nonzero((codes == top) | (codes == bottom)))
        assert lv.peak == np.abs(codes).max() / (1 << (bits - 1))
        assert lv.frames == raw.shape[0]
    assert io.full_scale("PCM_16") == 32767 / 32768
    assert io.full_scale("FLOAT") == io.full_scale("VORBIS") == 1.0
    assert io.integer_bits("PCM_24") == 24 and io.integer_bits("FLOAT") is None


def test_text_output_names_peak_and_clipping(corpus):
    folder, _ = corpus
    result = CliRunner().invoke(main, ["info", str(folder / "clip16.wav")])
    assert result.exit_code == 0
    assert result.stdout.rstrip().endswith("peak 0.00 dBFS\t12 clipped")
    assert "8000 Hz\t1 ch\t1.000 s\t8000 samples" in result.stdout


def test_bad_file_among_good_ones(corpus, tmp_path):
    folder, truth = corpus
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really")
    result = CliRunner().invoke(main, ["info", "--json", str(folder / "float.wav"),
                                       str(tmp_path / "bad.wav"), str(tmp_path / "absent.wav")])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [_name(folder, r["file"]) for r in rows] == ["float.wav"]
    errors = sorted(result.stderr.splitlines())  # files in path order: absent, bad
    assert len(errors) == 2 and all(e.startswith("Error: ") for e in errors)
    assert errors[0].endswith("absent.wav: no such file")
    assert "bad.wav: not a readable audio file" in errors[1]


def test_json_and_csv_together_is_a_usage_error(corpus):
    folder, _ = corpus
    result = CliRunner().invoke(main, ["info", "--json", "--csv", str(folder)])
    assert result.exit_code == 2
    assert "either --json or --csv" in result.stderr


def test_standard_input(corpus):
    folder, truth = corpus
    data = (folder / "s24.wav").read_bytes()
    result = CliRunner().invoke(main, ["info", "--json", "-"], input=data)
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["file"] == "-"
    _check(row, truth["s24.wav"])
