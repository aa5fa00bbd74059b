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

import sys
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio.cli import main

SEED = 20261204
SR = 8000
SECONDS = 0.75  # short: the whole module runs ~200 commands on 2 shared cores

PLOT_KINDS = ("flatness", "bands", "eigen", "rd", "gain", "lossless", "prediction", "duality")


def corpus(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, int, str]]:
    """name -> (samples (n,) or (n, channels), sample rate, soundfile subtype)."""
    n = int(SECONDS * SR)
    t = np.arange(n) / SR
    bin_hz = SR / 2048  # the default n_fft
    noise = rng.standard_normal(n)
    square = np.where(np.sin(2 * np.pi * 250 * t) >= 0, 0.5, -0.5)
    impulses = np.zeros(n)
    impulses[::400] = 0.9
    click = np.zeros(2 * SR)
    click[SR] = 0.8
    fs_square = np.where(np.arange(n) // 16 % 2 == 0, 1.0, -1.0)
    t192 = np.arange(int(0.25 * 192000)) / 192000
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


@pytest.mark.slow
def test_every_command_survives_every_signal(folder, tmp_path):
    outcomes = census(folder, tmp_path)
    tracebacks = sorted(key for key, outcome in outcomes.items() if outcome == "traceback")
    assert not tracebacks
    for (name, command), outcome in outcomes.items():
        if name in UNUSABLE:
            assert outcome == "error", (name, command)
    clean = Counter(outcome for (name, _), outcome in outcomes.items() if name not in UNUSABLE)
    # every valid signal gives a result in every command, except where a file is too short
    # for a figure's analysis (a one-line error naming what is missing)
    assert clean["clean"] >= 0.85 * sum(clean.values()), clean


if __name__ == "__main__":  # the census: python tests/test_fuzz_signals.py [-v]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "corpus").mkdir()
        (base / "scratch").mkdir()
        write_corpus(base / "corpus")
        result = census(base / "corpus", base / "scratch", verbose=sys.argv.count("-v"))
        print(Counter(result.values()))
