"""Corrupt files: every command ends with a result or one error line, in bounded time (issue 11).

A seeded fuzzer corrupts small WAV (16-bit, 24-bit, float), FLAC and Ogg/Vorbis files:
truncations, bit flips in the header and in the body, garbage in size fields, and halves of two
files spliced together. ``extract``, ``info`` and ``code`` run on each (in-process, with the
command line's own error handling) and must either succeed or print exactly one
``Error: <file>: ...`` line with a non-zero status and leave no output; none may raise, print a
traceback or take longer than a few seconds. A corpus run over the same files lists exactly the
failing ones in ``--errors`` and writes every other one. A few real processes check that
nothing from the decoders reaches the terminal.
"""

from __future__ import annotations

import csv
import io as stdio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio.cli import main

#: another seed explores other corruptions: SFM_AUDIO_FUZZ_SEED=7 pytest tests/test_fuzz.py
SEED = int(os.environ.get("SFM_AUDIO_FUZZ_SEED", "20261127"))
PER_FORMAT = 44  # corrupt files per format: 5 formats x 44 = 220 files, 660 command runs
LIMIT_S = 20.0  # one command on one 0.2 s file; generous for a loaded 2-core machine
SR = 8000

FORMATS = {
    "wav16": dict(format="WAV", subtype="PCM_16", ext=".wav"),
    "wav24": dict(format="WAV", subtype="PCM_24", ext=".wav"),
    "wavf": dict(format="WAV", subtype="FLOAT", ext=".wav"),
    "flac": dict(format="FLAC", subtype="PCM_16", ext=".flac"),
    "ogg": dict(format="OGG", subtype="VORBIS", ext=".ogg"),
}

COMMANDS = {
    "info": lambda f, out: ["info", "--json", f],
    "extract": lambda f, out: ["extract", f, "-o", out, "-q"],
    "code": lambda f, out: ["code", f, "--block", "8", "--rates", "1", "--transform", "dct"],
}


def _pristine(rng) -> dict[str, bytes]:
    t = np.arange(int(0.2 * SR)) / SR
    y = 0.4 * np.sin(2 * np.pi * 330 * t) + 0.1 * rng.standard_normal(t.size)
    stereo = np.stack([y, np.roll(y, 17)], axis=-1)
    files = {}
    for name, spec in FORMATS.items():
        buffer = stdio.BytesIO()
        data = stereo if name in ("wav24", "ogg") else y
        sf.write(buffer, data, SR, format=spec["format"], subtype=spec["subtype"])
        files[name] = buffer.getvalue()
    return files


def _flip(data: bytearray, rng, lo: int, hi: int, n: int) -> None:
    for _ in range(n):
        i = int(rng.integers(lo, max(hi, lo + 1)))
        data[i] ^= 1 << int(rng.integers(0, 8))


def _corrupt(name: str, data: bytes, others: dict[str, bytes], rng) -> tuple[str, bytes]:
    """One corruption of ``data``: (what was done, the corrupt bytes)."""
    kind = ["truncate", "truncate_header", "flip_header", "flip_body", "size_field",
            "splice", "zero_run"][int(rng.integers(0, 7))]
    out = bytearray(data)
    header = min(64, len(out) - 1)
    if kind == "truncate":
        out = out[: int(rng.integers(1, len(out)))]
    elif kind == "truncate_header":
        out = out[: int(rng.integers(1, header + 1))]
    elif kind == "flip_header":
        _flip(out, rng, 0, header, int(rng.integers(1, 4)))
    elif kind == "flip_body":
        _flip(out, rng, header, len(out), int(rng.integers(1, 9)))
    elif kind == "size_field":
        # a 4-byte field in the header: RIFF/data/fmt sizes, FLAC STREAMINFO, Ogg page fields
        at = int(rng.integers(0, header - 3))
        value = [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, int(rng.integers(0, 1 << 32))][
            int(rng.integers(0, 5))]
        out[at : at + 4] = int(value).to_bytes(4, "little")
    elif kind == "splice":
        other = others[list(others)[int(rng.integers(0, len(others)))]]
        cut_a, cut_b = int(rng.integers(1, len(out))), int(rng.integers(1, len(other)))
        out = out[:cut_a] + other[cut_b:]
    else:
        start = int(rng.integers(header, len(out) - 1))
        length = int(rng.integers(1, 512))
        out[start : start + length] = bytes(len(out[start : start + length]))
    return kind, bytes(out)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> tuple[Path, dict[str, str], list[Path]]:
    """The corrupt files (and the pristine ones) in one folder, with what was done to each."""
    rng = np.random.default_rng(SEED)
    folder = tmp_path_factory.mktemp("fuzz")
    pristine = _pristine(rng)
    done: dict[str, str] = {}
    good = []
    for name, data in pristine.items():
        path = folder / f"{name}-pristine{FORMATS[name]['ext']}"
        path.write_bytes(data)
        good.append(path)
        for k in range(PER_FORMAT):
            kind, bad = _corrupt(name, data, pristine, rng)
            path = folder / f"{name}-{k:02d}-{kind}{FORMATS[name]['ext']}"
            path.write_bytes(bad)
            done[path.name] = kind
    return folder, done, good


def _invoke(args: list[str]):
    """Run the command in-process on a thread, so that a hang fails the test, not the run."""
    box = {}

    def work():
        box["result"] = CliRunner().invoke(main, args)

    worker = threading.Thread(target=work, daemon=True)
    t0 = time.monotonic()
    worker.start()
    worker.join(LIMIT_S)
    elapsed = time.monotonic() - t0
    assert not worker.is_alive(), f"{args} still running after {LIMIT_S} s"
    return box["result"], elapsed


def _outcomes(folder: Path, out: Path) -> dict[str, dict[str, bool]]:
    """For every file and command: True (a result) or False (one error line)."""
    outcomes: dict[str, dict[str, bool]] = {}
    for path in sorted(folder.iterdir()):
        for command, make in COMMANDS.items():
            out.unlink(missing_ok=True)
            result, elapsed = _invoke(make(str(path), str(out)))
            where = f"{command} {path.name}"
            assert elapsed < LIMIT_S, where
            # no exception escaped the command's error handling (a traceback)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                where, repr(result.exception))
            if result.exit_code == 0:
                assert result.stderr == "", (where, result.stderr)
                if command == "extract":
                    assert out.stat().st_size > 0 and len(out.read_text().splitlines()) > 1
                elif command == "info":
                    assert json.loads(result.stdout)["file"] == str(path)
                else:
                    assert result.stdout.startswith(f"{path}: ")
            else:
                lines = result.stderr.splitlines()
                assert len(lines) == 1, (where, result.stderr)
                assert lines[0].startswith(f"Error: {path}: "), (where, lines[0])
                assert "Traceback" not in result.output
                assert not out.exists(), where  # no partial output
                assert result.stdout == "", where
            outcomes.setdefault(path.name, {})[command] = result.exit_code == 0
    return outcomes


def test_every_command_ends_with_a_result_or_one_error_line(fuzzed, tmp_path):
    folder, done, good = fuzzed
    outcomes = _outcomes(folder, tmp_path / "out.csv")
    assert len(outcomes) == len(FORMATS) * (PER_FORMAT + 1)
    for path in good:
        assert all(outcomes[path.name].values()), path.name
    # extract reads every sample as info does: what info refuses, extract refuses too (not
    # the converse: extract may refuse a readable file, e.g. MPEG-7 bands at a garbage rate)
    for name, ok in outcomes.items():
        assert ok["info"] or not ok["extract"], (name, done.get(name), ok)
    failed = sorted(name for name, ok in outcomes.items() if not ok["extract"])
    # the fuzzing is not vacuous: many files fail, and some corruptions leave a readable file
    assert len(failed) > len(outcomes) // 3
    assert len(failed) < len(outcomes) - len(good)


def test_corpus_run_lists_every_corrupt_file_and_writes_every_good_one(fuzzed, tmp_path):
    folder, done, good = fuzzed
    out, errors = tmp_path / "table.csv", tmp_path / "errors.csv"
    result, _ = _invoke(["extract", str(folder), "-o", str(out), "--errors", str(errors),
                         "--jobs", "2", "--bands", "octave"])
    assert result.exit_code == 1  # some files failed
    with open(errors, newline="") as fh:
        failed = {Path(row["file"]).name for row in csv.DictReader(fh)}
    with open(out, newline="") as fh:
        written = {Path(row["file"]).name for row in csv.DictReader(fh)}
    names = {p.name for p in folder.iterdir()}
    assert failed | written == names and not failed & written
    assert {p.name for p in good} <= written
    # the same files fail in the corpus run as one by one
    for name in names:
        single, _ = _invoke(["extract", str(folder / name), "-o", str(tmp_path / "one.csv"),
                             "-q", "--bands", "octave"])
        (tmp_path / "one.csv").unlink(missing_ok=True)
        assert (single.exit_code == 0) == (name in written), name


def test_real_processes_print_only_the_error_line(fuzzed, tmp_path):
    """Decoder chatter (libsndfile's mpg123, libFLAC, libvorbis) never reaches the terminal."""
    folder, done, good = fuzzed
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(bytes([0xFF, 0xFB, 0x90, 0x64]) * 500)
    picked = [fake]
    for prefix in FORMATS:  # a body flip and a splice of each format
        for kind in ("flip_body", "splice"):
            names = sorted(n for n, k in done.items() if k == kind and n.startswith(prefix + "-"))
            if names:
                picked.append(folder / names[0])
    command = [sys.executable, "-m", "sfm_audio", "info", *map(str, picked)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = run.stderr.splitlines()
    assert lines, "the fake .mp3 at least must fail"
    assert all(line.startswith("Error: ") for line in lines), run.stderr
    assert len(lines) + len(run.stdout.splitlines()) == len(picked)
    assert f"Error: {fake}: not a readable audio file (no audio stream libsndfile can " \
           "decode)" in lines
