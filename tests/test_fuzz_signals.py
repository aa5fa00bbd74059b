"""Extreme but valid signals: every command and every figure ends with a result or one error line.

``tests/test_fuzz.py`` corrupts *files*; this module feeds valid files whose *numbers* are
extreme (issue 20): tones on and between bins, DC, squares, impulses, clipping, one silent
channel, silence with one click, files of 1 and 10 samples, denormals, 8-bit at a low level,
24-bit, 192 kHz, and float files holding NaN or inf. Each runs, in-process with the command
line's own error handling, through ``info``, ``extract`` (twice: CSV, and JSON lines with
octave bands and segments), ``code``, the eight plot kinds and, for the whole folder,
``demo --data``. A run either succeeds — a quantity undefined for the signal reported as a
note or a null — or prints exactly one ``Error: <file>: ...`` line with no output left
behind; no run may raise. The NaN/inf files must be refused with a line that says why.

The census is also a script's worth of numbers: ``python tests/test_fuzz_signals.py`` prints,
per command, how many runs were clean, one-line errors and tracebacks.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sfm_audio.cli import main

SEED = 20261204
SR = 8000
SECONDS = 0.4  # short: the whole module runs ~200 commands on 2 shared cores

PLOT_KINDS = ("flatness", "bands", "eigen", "rd", "gain", "lossless", "prediction", "duality",
              "gains", "frame-gains")


def corpus(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, int, str]]:
    """name -> (samples (n,) or (n, channels), sample rate, soundfile subtype)."""
    n = int(SECONDS * SR)
    t = np.arange(n) / SR
    bin_hz = SR / 2048  # the default n_fft
    noise = rng.standard_normal(n)
    square = np.where(np.sin(2 * np.pi * 250 * t) >= 0, 0.5, -0.5)
    impulses = np.zeros(n)
    impulses[::400] = 0.9
    click = np.zeros(2 * SR)  # the issue's two seconds: 31 empty duality blocks to one
    click[SR] = 0.8
    fs_square = np.where(np.arange(n) // 16 % 2 == 0, 1.0, -1.0)
    t192 = np.arange(int(0.1 * 192000)) / 192000
    return {
        "tone_on_bin": (0.3 * np.sin(2 * np.pi * 128 * bin_hz * t), SR, "PCM_16"),
        "tone_between_bins": (0.3 * np.sin(2 * np.pi * 128.5 * bin_hz * t), SR, "PCM_16"),
        "tone_8bit_low": (0.01 * np.sin(2 * np.pi * 440 * t) + 0.002 * noise, SR, "PCM_U8"),
        "noise_24bit": (0.1 * noise + 0.2 * np.sin(2 * np.pi * 300 * t), SR, "PCM_24"),
        "tone_192k": (0.3 * np.sin(2 * np.pi * 20000 * t192), 192000, "PCM_16"),
        "dc": (np.full(n, 0.25), SR, "PCM_16"),
        "square": (square, SR, "PCM_16"),
        "impulses": (impulses, SR, "PCM_16"),
        "clipped": (np.clip(3 * np.sin(2 * np.pi * 200 * t), -0.6, 0.6), SR, "PCM_16"),
        "full_scale_square": (fs_square, SR, "PCM_16"),
        "one_silent_channel": (np.stack([0.2 * noise, np.zeros(n)], axis=-1), SR, "PCM_16"),
        "silence_one_click": (click, SR, "PCM_16"),
        "silence": (np.zeros(n), SR, "PCM_16"),
        "one_sample": (np.array([0.5]), SR, "PCM_16"),
        "ten_samples": (0.3 * rng.standard_normal(10), SR, "PCM_16"),
        "denormals": (1e-310 * np.sign(noise), SR, "DOUBLE"),
        "nyquist": (0.5 * (-1.0) ** np.arange(n), SR, "PCM_16"),
        "nan_inf": (np.where(np.arange(n) % 1000 == 7, np.nan,
                             np.where(np.arange(n) % 1000 == 9, np.inf, 0.1 * noise)),
                    SR, "FLOAT"),
    }


#: the files that cannot be used at all, and what their one line must say
UNUSABLE = {"nan_inf": "NaN or infinite"}


def write_corpus(folder: Path, seed: int = SEED) -> list[Path]:
    """Write the corpus into ``folder``; return the paths in name order."""
    paths = []
    for name, (y, sr, subtype) in corpus(np.random.default_rng(seed)).items():
        path = folder / f"{name}.wav"
        sf.write(path, y, sr, subtype=subtype)
        paths.append(path)
    return sorted(paths)


def commands(path: Path, out: Path) -> dict[str, list[str]]:
    """Every command run on one file: name -> arguments (``out`` is the output stem)."""
    runs = {
        "info": ["info", "--json", str(path)],
        "extract": ["extract", str(path), "-o", f"{out}.csv", "-q"],
        "extract_bands": ["extract", str(path), "-o", f"{out}.jsonl", "-q", "--bands", "octave",
                          "--segment", "0.25", "--summary"],
        "code": ["code", str(path), "--json", f"{out}.json"],
        "code_gains": ["code", str(path), "--gains", f"{out}.gains.csv"],
        "extract_jsonl": ["extract", str(path), "-o", "-", "--stdout-format", "jsonl", "-q"],
    }
    for kind in PLOT_KINDS:
        runs[f"plot_{kind}"] = ["plot", str(path), "--kind", kind, "-o", f"{out}-{kind}.png"]
    return runs


def outputs(out: Path) -> list[Path]:
    return sorted(out.parent.glob(out.name + "*"))


def classify(result, path: Path, out: Path) -> str:
    """'clean', 'error' (one ``Error: <file>: `` line, nothing written) or 'traceback'."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "traceback"
    if "Traceback" in result.output:
        return "traceback"
    if result.exit_code == 0:
        return "clean"
    lines = result.stderr.splitlines()
    if (len(lines) == 1 and lines[0].startswith(f"Error: {path}: ")
            and result.stdout == "" and not outputs(out)):
        return "error"
    return "traceback"  # several lines, or partial output: not the one-line contract


def census(folder: Path, scratch: Path, *, verbose: bool = False) -> dict[tuple[str, str], str]:
    """Run every command on every file of ``folder``: (file, command) -> outcome."""
    outcomes = {}
    runner = CliRunner()
    for path in sorted(folder.glob("*.wav")):
        for name, args in commands(path, scratch / "out").items():
            out = scratch / "out"
            for old in outputs(out):
                old.unlink()
            result = runner.invoke(main, args)
            outcome = classify(result, path, out)
            outcomes[path.stem, name] = outcome
            if verbose and outcome != "clean":
                detail = (repr(result.exception) if outcome == "traceback"
                          else result.stderr.strip())
                print(f"{outcome:9} {name:16} {path.stem:20} {detail[:150]}")
                if outcome == "traceback" and result.exc_info and verbose > 1:
                    traceback.print_exception(*result.exc_info)
    return outcomes


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("extreme")
    write_corpus(folder)
    return folder


def test_corpus_has_the_issue_signals(folder):
    names = {p.stem for p in folder.glob("*.wav")}
    assert len(names) >= 17
    # the files are what they claim: 1 and 10 samples, 24-bit, 192 kHz, a silent channel
    assert sf.info(folder / "one_sample.wav").frames == 1
    assert sf.info(folder / "ten_samples.wav").frames == 10
    assert sf.info(folder / "noise_24bit.wav").subtype == "PCM_24"
    assert sf.info(folder / "tone_192k.wav").samplerate == 192000
    y, _ = sf.read(folder / "one_silent_channel.wav")
    assert np.all(y[:, 1] == 0) and np.any(y[:, 0] != 0)
    d, _ = sf.read(folder / "denormals.wav")
    assert 0 < np.abs(d).max() < np.finfo(np.float64).tiny  # subnormal, not flushed to zero
    assert not np.all(np.isfinite(sf.read(folder / "nan_inf.wav")[0]))


#: too short for any block analysis (a one-line error from the coding commands and figures)
TOO_SHORT = {"one_sample", "ten_samples"}
#: no variance once the mean is removed (the doubles of ``denormals`` square to zero): every
#: coding gain is undefined, a one-line error from the coding commands and figures
CONSTANT = {"dc", "silence", "denormals"}
#: the commands of the extractor, which every valid signal passes
EXTRACTOR = {"info", "extract", "extract_bands", "extract_jsonl", "plot_flatness",
             "plot_bands"}
#: the gains figures need a signal that is not constant as it is (the doubles of
#: ``denormals`` are not), two blocks of 1024 long
GAINS_FIGURES = {"plot_gains", "plot_frame-gains"}


def expected(name: str, command: str) -> str:
    """What a run must end with: 'clean' or 'error' (one line)."""
    if name in UNUSABLE:
        return "error"
    if command in EXTRACTOR:
        return "clean"
    if command == "plot_lossless":  # defined from 2 samples on, silence included
        return "error" if name == "one_sample" else "clean"
    if command in GAINS_FIGURES and name == "denormals":
        return "clean"
    if name in TOO_SHORT or name in CONSTANT:
        return "error"
    if name == "silence_one_click" and command == "plot_duality":
        return "error"  # the duality is undefined (a null in `code`, one line for its figure)
    return "clean"


@pytest.mark.slow
def test_every_command_survives_every_signal(folder, tmp_path):
    outcomes = census(folder, tmp_path)
    assert len(outcomes) == len(list(folder.glob("*.wav"))) * len(commands(folder, folder))
    assert not [key for key, outcome in outcomes.items() if outcome == "traceback"]
    assert {key: outcome for key, outcome in outcomes.items()
            if outcome != expected(*key)} == {}


@pytest.mark.slow
def test_unusable_samples_are_one_line_naming_the_file_and_the_reason(folder):
    path = folder / "nan_inf.wav"
    for args in (["info", str(path)], ["code", str(path)], ["plot", str(path), "-o", "x.png"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1
        assert result.stderr == (f"Error: {path}: sample 7 (t = 0.000875 s) is NaN or "
                                 "infinite\n")


@pytest.mark.slow
def test_undefined_duality_is_a_null_with_a_note(folder, tmp_path):
    """Silence with one click: water-filling 2 bit/sample over blocks that are all empty
    but one would put ~60 bits on a coefficient (the range coder's models overflowed)."""
    import json

    out = tmp_path / "click.json"
    result = CliRunner().invoke(main, ["code", str(folder / "silence_one_click.wav"),
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["duality"] is None
    assert any("per-frame duality at 2 bit/sample is undefined" in w
               for w in report["warnings"])
    assert report["blocks"] and report["lossless"]["flac_bits_per_sample"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("names", [
    None,  # the whole corpus: the first codable file shows, the NaN file is skipped
    ("tone_on_bin",), ("silence_one_click",), ("dc",), ("one_sample",),
])
def test_demo_survives(folder, tmp_path, names):
    data = tmp_path / "data"
    data.mkdir()
    for path in folder.glob("*.wav"):
        if names is None or path.stem in names:
            (data / path.name).write_bytes(path.read_bytes())
    result = CliRunner().invoke(main, ["demo", "--data", str(data), str(tmp_path / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 0, result.output
    # what could not be done is said, one line each, and never as an error
    for line in result.stderr.splitlines():
        assert line.startswith(("skipped: ", "not coded: ", "not in lossless.png: ", "no ")), line
    assert (tmp_path / "out" / "flatness.png").stat().st_size > 0


def test_too_short_for_the_duality_names_the_option_as_typed(folder):
    path = folder / "ten_samples.wav"
    result = CliRunner().invoke(main, ["plot", str(path), "--kind", "duality", "-o", "x.png"])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: --block 512 is longer than the signal (10 samples)\n"


# ------------------------------------------------------------------ an unexpected exception


class PanicException(BaseException):
    """Stands for pyo3's PanicException (a Rust panic in constriction), a BaseException."""


def _boom(*args, **kwargs):
    raise IndexError("index -9223372036854775808 is out of bounds")


def _panic(*args, **kwargs):
    raise PanicException("assertion failed: last_symbol <=\n   wrapping_pow2")


INTERNAL = ("internal error (IndexError: index -9223372036854775808 is out of bounds); rerun "
            "with --debug for the traceback")


@pytest.fixture
def one_file(folder, tmp_path) -> Path:
    path = tmp_path / "tone.wav"
    path.write_bytes((folder / "tone_on_bin.wav").read_bytes())
    return path


@pytest.mark.parametrize("args", [
    lambda f, out: ["code", str(f)],
    lambda f, out: ["code", str(f), "--json", f"{out}.json"],
    lambda f, out: ["plot", str(f), "--kind", "lossless", "-o", f"{out}.png"],
])
def test_internal_error_is_one_line_in_single_file_mode(monkeypatch, one_file, tmp_path, args):
    monkeypatch.setattr("sfm_audio.coding.passes.LosslessEstimate.result", _boom)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, args(one_file, out))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {one_file}: {INTERNAL}\n"
    assert result.stdout == "" and sorted(tmp_path.iterdir()) == [one_file]  # nothing left


def test_internal_error_is_one_line_in_folder_mode(monkeypatch, one_file, tmp_path):
    (tmp_path / "other.wav").write_bytes(one_file.read_bytes())
    monkeypatch.setattr("sfm_audio.coding.passes.LosslessEstimate.result", _boom)
    result = CliRunner().invoke(main, ["code", str(tmp_path), "--jobs", "1", "--block", "8",
                                       "--rates", "1"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"Error: {one_file}: {INTERNAL}" in lines
    assert f"Error: {tmp_path / 'other.wav'}: {INTERNAL}" in lines
    assert "Traceback" not in result.output


def test_info_reports_a_bug_on_one_file_and_lists_the_others(monkeypatch, one_file, tmp_path):
    other = tmp_path / "other.wav"
    other.write_bytes(one_file.read_bytes())
    real = __import__("sfm_audio.cli.info", fromlist=["_info_row"])._info_row

    def row(path, *args):
        if path == str(one_file):
            _boom()
        return real(path, *args)

    monkeypatch.setattr("sfm_audio.cli.info._info_row", row)
    result = CliRunner().invoke(main, ["info", "--json", str(one_file), str(other)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"Error: {one_file}: {INTERNAL}"]
    assert len(result.stdout.splitlines()) == 1 and str(other) in result.stdout


def test_a_rust_panic_is_one_line_too(monkeypatch, one_file):
    monkeypatch.setattr("sfm_audio.coding.passes.LosslessEstimate.result", _panic)
    result = CliRunner().invoke(main, ["code", str(one_file)])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {one_file}: internal error (PanicException: assertion "
                             "failed: last_symbol <= wrapping_pow2); rerun with --debug for the "
                             "traceback\n")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(monkeypatch, one_file, how):
    monkeypatch.setattr("sfm_audio.coding.passes.LosslessEstimate.result", _boom)
    args, env = ["code", str(one_file)], {}
    if how == "option":
        args = ["--debug", *args]
    else:
        env = {"SFM_AUDIO_DEBUG": "1"}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "in _boom" in result.stderr
    assert result.stderr.splitlines()[-1] == f"Error: {one_file}: {INTERNAL}"
    # --debug does not outlive its run
    assert "SFM_AUDIO_DEBUG" not in os.environ


def test_debug_traceback_in_folder_mode(monkeypatch, one_file, tmp_path):
    monkeypatch.setattr("sfm_audio.coding.passes.LosslessEstimate.result", _boom)
    result = CliRunner().invoke(main, ["--debug", "code", str(tmp_path), "--jobs", "1",
                                       "--block", "8", "--rates", "1"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr and "in _boom" in result.stderr
    assert f"Error: {one_file}: {INTERNAL}" in result.stderr.splitlines()


# ------------------------------------------------------------------ properties of the library


@settings(max_examples=40, deadline=None)
@given(amplitude=st.floats(1e-320, 1e38, allow_subnormal=True), freq=st.floats(0.0, 0.5),
       n=st.integers(1, 3000), phase=st.floats(0.0, 6.3))
def test_flatness_of_any_tone_is_defined(amplitude, freq, n, phase):
    """Any amplitude a file can hold as float32 (denormal to 1e38), any frequency (DC to
    Nyquist), any length >= 1: every frame's SFM is in [0, 1], never NaN (librosa's amin
    floor in both means). (Doubles beyond ~1e150 overflow the power spectrum itself.)"""
    from sfm_audio.flatness import spectral_flatness

    y = amplitude * np.cos(2 * np.pi * freq * np.arange(n) + phase)
    with np.errstate(over="ignore", under="ignore"):
        sfm = spectral_flatness(y=y, n_fft=256, hop_length=64)
    assert sfm.size >= 1 and np.all(np.isfinite(sfm))
    assert np.all((sfm >= 0) & (sfm <= 1 + 1e-12))


@settings(max_examples=40, deadline=None)
@given(amplitude=st.integers(0, 32767), freq=st.floats(0.0, 0.5), n=st.integers(2, 9000),
       noise=st.booleans())
def test_lossless_estimate_of_any_signal_is_finite_and_bounded(amplitude, freq, n, noise):
    """Integer tones (on and between bins, DC, Nyquist), with or without noise, any length
    >= 2: the estimate is finite, non-negative and below its bound for 16-bit samples."""
    from sfm_audio.coding import lossless_estimate
    from sfm_audio.coding.lossless import exponential_log_bias
    from sfm_audio.coding.quantize import ECSQ_GAP_BITS

    x = amplitude * np.cos(2 * np.pi * freq * np.arange(n))
    if noise:
        x = x + np.random.default_rng(n).normal(0, 3, n)
    q = np.clip(np.rint(x), -32768, 32767)
    bits = lossless_estimate(q).estimate_bits_per_sample
    # the bound: per frame, mean_b 1/2 log2 max(P_b/theta, 1) <= 1/2 log2(1 + mean_b P_b/theta)
    # (log2(1 + x) is concave and above log2 max(x, 1)); by Parseval the one-sided bins'
    # mean is at most 2 max|x|^2 (Hann, sum w^2 normalised); theta >= 1/12; plus the largest
    # log-bias correction (it is negative below a = 1 and increasing above, d/da [ln a -
    # E1(1/a)] = (1 - exp(-1/a))/a > 0, towards gamma / (2 ln 2)) and the gap. (16 + 1 +
    # gap was no bound: two samples of DC at 28353 gave 17.2547 through a Hann window
    # [0, 1].)
    bound = (0.5 * np.log2(1 + 2 * 32768.0**2 * 12) + exponential_log_bias(np.array([1e30]))[0]
             + ECSQ_GAP_BITS)
    assert np.isfinite(bits) and 0.0 <= bits <= bound


@settings(max_examples=15, deadline=None)
@given(amplitude=st.floats(1e-6, 1.0), position=st.integers(0, 4095),
       level=st.sampled_from([0.0, 1e-9, 1e-4]))
def test_duality_of_a_click_is_a_result_or_undefined(amplitude, position, level):
    """Silence (or faint noise) with one click anywhere: the per-frame duality is a result
    whose bits are finite, or DualityUndefined: never an overflow in the range coder."""
    from sfm_audio.coding.duality import DualityUndefined, duality_signal

    y = level * np.random.default_rng(position).standard_normal(4096)
    y[position] += amplitude
    try:
        d = duality_signal(y, sr=8000.0, block=256, rate=2.0)
    except DualityUndefined as exc:
        assert "undefined" in str(exc)
    else:
        assert np.all(np.isfinite(d.bits)) and d.total_bits > 0


if __name__ == "__main__":  # the census: python tests/test_fuzz_signals.py [-v]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "corpus").mkdir()
        (base / "scratch").mkdir()
        write_corpus(base / "corpus")
        result = census(base / "corpus", base / "scratch", verbose=sys.argv.count("-v"))
        print(Counter(result.values()))
