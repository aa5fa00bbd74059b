"""Tests of ``sfm-audio plot`` and ``sfm-audio demo`` through click's test runner."""

from __future__ import annotations

import csv
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio.cli import main

SR = 8000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def plot(*args):
    return run("plot", *args)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _one_error_line(result, status: int, match: str) -> None:
    assert result.exit_code == status, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines
    assert match in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def audio(glide_8k) -> Path:
    return glide_8k


@pytest.fixture(scope="module")
def audio2(ar1_8k) -> Path:
    return ar1_8k


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("kind", ["flatness", "bands"])
def test_feature_figures_default_size(tmp_path, audio, kind):
    out = tmp_path / f"{kind}.png"
    result = plot(audio, "-o", out, "--kind", kind, "--dpi", 40)
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    size = {"flatness": (400, 280), "bands": (400, 200)}[kind]
    assert _png_size(out) == size
    assert _files(tmp_path) == [f"{kind}.png"]


@pytest.mark.parametrize("kind", ["flatness", "bands"])
def test_feature_figures_requested_size_and_range(tmp_path, audio, kind):
    out = tmp_path / "fig.png"
    result = plot(audio, "-o", out, "--kind", kind, "--start", 0.25, "--end", 1.5,
                  "--n-fft", 512, "--hop-length", 128, "--bands", "octave",
                  "--dpi", 50, "--width", 333, "--height", 211)
    assert result.exit_code == 0, result.output
    assert _png_size(out) == (333, 211)


def test_bands_pdf_and_svg(tmp_path, audio):
    for ext, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml")):
        out = tmp_path / f"bands{ext}"
        result = plot(audio, "-o", out, "--kind", "bands", "--dpi", 30)
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[: len(magic)] == magic


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "status", "match"),
    [
        (["--kind", "histogram"], 2, "unknown --kind 'histogram'"),
        (["--start", "1.0", "--end", "1.0"], 2, "--start 1.0 s must be before --end 1.0 s"),
        (["--start", "1.5", "--end", "0.5"], 2, "must be before"),
        (["--start", "5"], 2, "--start 5 s is outside the file (it lasts 2 s)"),
        (["--end", "3.5"], 2, "--end 3.5 s is outside the file"),
        (["--start", "-1"], 2, "must not be negative"),
        (["--kind", "bands", "--bands", "none"], 2, "needs a band layout"),
        (["--kind", "bands", "--bands", "bogus"], 2, "unknown --bands"),
        (["--n-fft", "0"], 2, "--n-fft 0 must be a positive integer"),
        (["--dpi", "0"], 2, "--dpi 0 must be a positive"),
        (["--width", "10"], 2, "--width 10 must be at least 50 pixels"),
    ],
)
def test_bad_options(tmp_path, audio, args, status, match):
    out = tmp_path / "fig.png"
    result = plot(audio, "-o", out, "--dpi", 30, *args)
    _one_error_line(result, status, match)
    assert _files(tmp_path) == []


def test_output_folder_missing(tmp_path, audio):
    result = plot(audio, "-o", tmp_path / "nowhere" / "fig.png")
    _one_error_line(result, 2, "does not exist")
    assert _files(tmp_path) == []


def test_output_folder_is_a_file(tmp_path, audio):
    (tmp_path / "plain").write_text("x")
    result = plot(audio, "-o", tmp_path / "plain" / "fig.png")
    _one_error_line(result, 2, "does not exist")


def test_output_folder_unwritable(tmp_path, audio, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    real_access = os.access
    if real_access(folder, os.W_OK):  # running as root: simulate the permission check
        monkeypatch.setattr(
            os, "access",
            lambda p, mode, *a, **k: False if Path(p) == folder else real_access(p, mode, *a, **k),
        )
    try:
        result = plot(audio, "-o", folder / "fig.png", "--dpi", 30)
        _one_error_line(result, 2, "is not writable")
    finally:
        folder.chmod(0o700)
    assert _files(folder) == []


@pytest.mark.parametrize("name", ["fig.xyz", "fig.docx", "figure"])
def test_output_format_matplotlib_cannot_write(tmp_path, audio, name):
    result = plot(audio, "-o", tmp_path / name, "--dpi", 30)
    _one_error_line(result, 2, "extension" if "." not in name else "matplotlib cannot write")
    assert _files(tmp_path) == []


def test_bad_audio(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("hello\n" * 100)
    out = tmp_path / "fig.png"
    for path, match in ((tmp_path / "missing.wav", "no such file"),
                        (empty, "empty file"),
                        (text, "not a readable audio file")):
        for kind in ("flatness", "bands"):
            result = plot(path, "-o", out, "--kind", kind)
            _one_error_line(result, 1, match)
            assert str(path) in result.stderr
    assert _files(tmp_path) == ["empty.wav", "notes.wav"]


def test_one_input_only_for_single_file_kinds(tmp_path, audio, audio2):
    result = plot(audio, audio2, "-o", tmp_path / "fig.png")
    _one_error_line(result, 2, "draws one file; got 2 inputs")
    assert _files(tmp_path) == []


def test_failure_leaves_existing_output_untouched(tmp_path, audio):
    out = tmp_path / "fig.png"
    out.write_bytes(b"previous")
    result = plot(audio, "-o", out, "--start", "9")
    assert result.exit_code == 2
    assert out.read_bytes() == b"previous"
    assert _files(tmp_path) == ["fig.png"]


# --------------------------------------------------------------------------- coding figures


@pytest.mark.parametrize(
    ("kind", "extra", "size"),
    [
        ("eigen", ["--block", "16", "--rates", "1,2"], (320, 240)),
        ("rd", ["--block", "8", "--rates", "0.5,1,2,3"], (280, 200)),
        ("gain", ["--block", "2,4,8,16"], (280, 200)),
        ("lossless", [], (240, 240)),
    ],
)
def test_coding_figures(tmp_path, audio, kind, extra, size):
    out = tmp_path / f"{kind}.png"
    result = plot(audio, "-o", out, "--kind", kind, "--dpi", 40, *extra)
    assert result.exit_code == 0, result.output
    assert _png_size(out) == size
    assert _files(tmp_path) == [f"{kind}.png"]


def test_lossless_takes_several_files(tmp_path, audio, audio2):
    out = tmp_path / "lossless.png"
    result = plot(audio, audio2, "-o", out, "--kind", "lossless", "--dpi", 40,
                  "--width", 300, "--height", 300)
    assert result.exit_code == 0, result.output
    assert _png_size(out) == (300, 300)


@pytest.mark.parametrize(
    ("kind", "args", "match"),
    [
        ("eigen", ["--block", "8,16"], "draws one block size"),
        ("gain", ["--block", "8"], "at least two block sizes"),
        ("rd", ["--rates", "0"], "rate"),
        ("eigen", ["--block", "1"], "block"),
        ("rd", ["--start", "0.5"], "uses the whole file"),
        ("lossless", ["--end", "1"], "uses the whole file"),
    ],
)
def test_coding_bad_options(tmp_path, audio, kind, args, match):
    result = plot(audio, "-o", tmp_path / "fig.png", "--kind", kind, *args)
    _one_error_line(result, 2, match)
    assert _files(tmp_path) == []


def test_coding_bad_audio(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("hello\n" * 100)
    for kind in ("eigen", "rd", "gain", "lossless"):
        result = plot(text, "-o", tmp_path / "fig.png", "--kind", kind)
        _one_error_line(result, 1, "not a readable audio file")
    assert _files(tmp_path) == ["notes.wav"]


# --------------------------------------------------------------------------- demo


def test_demo_writes_every_promised_file(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", out)
    assert result.exit_code == 0, result.output
    expected = {"frames.csv", "summary.csv", "coding.json", "coding.md",
                *(f"{k}.png" for k in ("flatness", "bands", "eigen", "rd", "gain", "lossless",
                                       "prediction", "duality", "frame-gains"))}
    assert set(_files(out)) == expected
    for name in expected:
        path = out / name
        assert path.stat().st_size > 0
        assert str(path) in result.output  # it says what it wrote and where
        if name.endswith(".png"):
            w, h = _png_size(path)
            assert w >= 300 and h >= 300
    with open(out / "frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"file", "frame", "time_s", "sfm", "sfm_db"} <= set(rows[0])
    with open(out / "summary.csv", newline="") as fh:
        summary = list(csv.DictReader(fh))
    assert len(summary) == 1 and "sfm_mean" in summary[0]
    report = json.loads((out / "coding.json").read_text())
    assert {"file", "sr", "blocks", "lossless", "gain_limit_db"} <= set(report)
    assert {"klt", "dct", "pcm"} <= set(report["blocks"][0]["transforms"])
    md = (out / "coding.md").read_text()
    assert md.startswith("# ") and "| N |" in md and "FLAC" in md


def test_demo_bad_data_folder(tmp_path):
    result = run("demo", tmp_path / "out", "--data", tmp_path / "nothing")
    _one_error_line(result, 2, "does not exist")
    assert _files(tmp_path) == []


def test_lossless_accepts_a_folder(tmp_path, audio, audio2):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for p in (audio, audio2):
        (folder / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "lossless.svg"
    result = plot(folder, "-o", out, "--kind", "lossless")
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "glide.wav" in text and "ar1.wav" in text
    result = plot(tmp_path / "nothing*.wav", "-o", out, "--kind", "lossless")
    _one_error_line(result, 1, "no file matches this pattern")


# --------------------------------------------------------------------------- plot controls


@pytest.fixture(scope="module")
def tone_noise_stereo_8k(tmp_path_factory) -> Path:
    """1 s at 8 kHz, 16-bit stereo: a tone left, noise right (seeded)."""
    rng = np.random.default_rng(7)
    t = np.arange(SR) / SR
    y = np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.2 * rng.standard_normal(t.size)], 1)
    path = tmp_path_factory.mktemp("audio") / "stereo.wav"
    sf.write(path, y, SR, subtype="PCM_16")
    return path


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--channels", "2"], "--channels 2 is out of range"),
        (["--channels", "left"], "--channels 'left' must be 'mix', 'each' or a channel index"),
        (["--channels", "1", "--kind", "gain"], "--channels 1 selects what the flatness"),
        (["--db-range", "0,-10"], "--db-range 0,-10 must be finite with LOW < HIGH"),
        (["--db-range", "5"], "--db-range 5 must be two numbers LOW,HIGH"),
        (["--db-range", "low,high"], "--db-range 'low,high' must be two numbers LOW,HIGH or auto"),
        (["--freq-scale", "mel"], "--freq-scale 'mel' must be one of log, linear"),
        (["--fmin", "2000", "--fmax", "500"], "--fmin 2000 Hz must be below --fmax 500 Hz"),
        (["--fmin", "-5"], "--fmin -5 must be a non-negative finite number"),
        (["--fmin", "4000"], "--fmin 4000 Hz is not below Nyquist (4000 Hz)"),
        (["--fmin", "100", "--kind", "rd"], "--fmin 100 selects what the flatness"),
        (["--cmap", "nope"], "--cmap 'nope' is not a matplotlib colour map"),
        (["--cmap", "gray", "--kind", "lossless"], "--cmap gray selects what the flatness"),
    ],
)
def test_bad_plot_controls(tmp_path, tone_noise_stereo_8k, args, match):
    result = plot(tone_noise_stereo_8k, "-o", tmp_path / "fig.png", "--dpi", 30, *args)
    _one_error_line(result, 2, match)
    assert _files(tmp_path) == []


def test_plot_controls_together(tmp_path, tone_noise_stereo_8k):
    out = tmp_path / "fig.png"
    result = plot(tone_noise_stereo_8k, "-o", out, "--channels", "each", "--freq-scale", "linear",
                  "--fmin", "100", "--fmax", "3000", "--cmap", "gray_r", "--db-range", "auto",
                  "--n-fft", "512", "--hop-length", "128", "--dpi", 50, "--width", 500,
                  "--height", 400)
    assert result.exit_code == 0, result.output
    assert _png_size(out) == (500, 400)
    out = tmp_path / "bands.png"
    result = plot(tone_noise_stereo_8k, "-o", out, "--kind", "bands", "--channels", "1",
                  "--bands", "octave", "--fmin", "200", "--cmap", "cividis", "--dpi", 50)
    assert result.exit_code == 0, result.output
    assert _files(tmp_path) == ["bands.png", "fig.png"]


def test_fmax_above_nyquist_is_said_once(tmp_path, audio):
    out = tmp_path / "fig.png"
    result = plot(audio, "-o", out, "--fmax", "20000", "--dpi", 30)
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Warning: ")
    assert "--fmax 20000 Hz is above Nyquist" in lines[0] and "using 4000 Hz" in lines[0]
    assert _files(tmp_path) == ["fig.png"]
