"""``-`` as an input (standard input), and the command on real pipes (issue 11).

These tests start the command as a real process (``python -m sfm_audio``, the installed entry
point's code) and feed it through real pipes, as ``sox ... | sfm-audio extract - ...`` does.
"""

from __future__ import annotations

import csv
import io as stdio
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import io
from sfm_audio.cli import main

COMMAND = [sys.executable, "-m", "sfm_audio"]
TIMEOUT = 60


def _run(args, *, stdin=None, data: bytes | None = None, **kwargs):
    return subprocess.run(COMMAND + list(args), input=data, stdin=stdin, capture_output=True,
                          timeout=TIMEOUT, **kwargs)


def _streamed_header(wav: bytes, size: int) -> bytes:
    """The WAV as a program writing to a pipe leaves it: RIFF and data sizes set to ``size``."""
    out = bytearray(wav)
    out[4:8] = struct.pack("<I", size)
    i = out.find(b"data")
    out[i + 4 : i + 8] = struct.pack("<I", size)
    return bytes(out)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    t = np.arange(24000) / 8000
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    path = tmp_path_factory.mktemp("stdin") / "clip.wav"
    sf.write(path, y, 8000, subtype="PCM_16")
    return path


def _table(text: str) -> list[dict]:
    return list(csv.DictReader(stdio.StringIO(text)))


def _same_rows_but_file(piped: list[dict], direct: list[dict]) -> None:
    assert len(piped) == len(direct) > 0
    for a, b in zip(piped, direct):
        assert a["file"] == "-"
        assert {k: v for k, v in a.items() if k != "file"} == \
            {k: v for k, v in b.items() if k != "file"}


def test_extract_from_a_real_pipe(clip, tmp_path):
    direct = _run(["extract", str(clip), "-o", "-", "--bands", "octave"])
    assert direct.returncode == 0, direct.stderr
    with open(clip, "rb") as src:
        cat = subprocess.Popen(["cat"], stdin=src, stdout=subprocess.PIPE)
        piped = _run(["extract", "-", "-o", str(tmp_path / "out.csv"), "--bands", "octave"],
                     stdin=cat.stdout)
        cat.stdout.close()
        cat.wait(TIMEOUT)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == b""
    _same_rows_but_file(_table((tmp_path / "out.csv").read_text()),
                        _table(direct.stdout.decode()))


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0, 0x7FFFF000])
def test_streamed_wav_headers(clip, size):
    """ffmpeg writes 0xFFFFFFFF as the sizes of a WAV on a pipe, sox 0x7FFFF000, others 0."""
    data = _streamed_header(clip.read_bytes(), size)
    direct = _run(["extract", str(clip), "-o", "-", "--bands", "none"])
    for command in (["extract", "-", "-o", "-", "--bands", "none"], ["info", "--json", "-"]):
        piped = _run(command, data=data)
        assert piped.returncode == 0, piped.stderr
        if command[0] == "info":
            row = json.loads(piped.stdout)
            assert (row["file"], row["frames"], row["sr"]) == ("-", 24000, 8000)
        else:
            _same_rows_but_file(_table(piped.stdout.decode()), _table(direct.stdout.decode()))


def test_info_streams_a_wav_without_a_copy(clip, tmp_path):
    """info reads a WAV stream as it arrives: it works where no temporary file can be made."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    env = {**os.environ, "TMPDIR": str(locked)}
    data = _streamed_header(clip.read_bytes(), 0xFFFFFFFF)
    piped = _run(["info", "--csv", "-"], data=data, env=env)
    locked.chmod(0o700)
    assert piped.returncode == 0, piped.stderr
    assert _table(piped.stdout.decode())[0]["frames"] == "24000"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_info_stream_memory_is_bounded():
    """200 MB of 16-bit samples through a pipe: the process stays far below that.

    The peak is the process's own high-water mark (VmHWM), read once every byte is written;
    getrusage's ru_maxrss would count the parent's memory at fork time too.
    """
    header = _streamed_header(_wav_header(48000, 2), 0xFFFFFFFF)
    proc = subprocess.Popen(COMMAND + ["info", "--json", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    block = (np.arange(1 << 19, dtype=np.int16) % 2000).tobytes()  # 1 MiB
    proc.stdin.write(header)
    for _ in range(200):
        proc.stdin.write(block)
    proc.stdin.flush()
    status = Path(f"/proc/{proc.pid}/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(TIMEOUT)
    assert proc.returncode == 0, err
    row = json.loads(out)
    assert row["frames"] == 200 * (1 << 19) // 2
    assert peak_kb < 150 * 1024  # numpy + soundfile alone take ~40 MB


def _wav_header(sr: int, channels: int) -> bytes:
    buffer = stdio.BytesIO()
    sf.write(buffer, np.zeros((0, channels), dtype=np.int16), sr, format="WAV",
             subtype="PCM_16")
    return buffer.getvalue()


def test_flac_and_ogg_from_a_pipe_are_copied_first(clip, tmp_path):
    """libsndfile cannot decode FLAC from a pipe; standard input is copied to disk first."""
    y, sr = sf.read(clip)
    for fmt in ("FLAC", "OGG"):
        buffer = stdio.BytesIO()
        sf.write(buffer, y, sr, format=fmt)
        piped = _run(["info", "--json", "-"], data=buffer.getvalue())
        assert piped.returncode == 0, piped.stderr
        row = json.loads(piped.stdout)
        assert row["format"] == fmt and row["frames"] == y.size


def test_code_from_a_pipe(clip, tmp_path):
    """code reads its input twice: standard input is copied to an anonymous file first."""
    short = tmp_path / "short.wav"
    y, sr = sf.read(clip, frames=4000)
    sf.write(short, y, sr, subtype="PCM_16")
    args = ["--block", "8", "--rates", "1", "--transform", "dct"]
    direct = CliRunner().invoke(main, ["code", str(short), *args])
    assert direct.exit_code == 0, direct.output
    piped = _run(["code", "-", *args], data=short.read_bytes())
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode() == direct.stdout.replace(str(short), "-")


@pytest.mark.parametrize("command", [["info"], ["extract", "-o", "-"],
                                     ["code", "--block", "8"]])
@pytest.mark.parametrize(("data", "words"), [
    (b"", "standard input is empty"),
    (b"this is not audio at all" * 10, "not a readable audio file"),
])
def test_bad_standard_input_is_one_error_line(command, data, words):
    args = command[:1] + ["-"] + command[1:]
    result = CliRunner().invoke(main, args, input=data)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: -: ") and words in lines[0]


def test_bad_standard_input_on_a_real_pipe():
    piped = _run(["extract", "-", "-o", "-"], data=b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    assert piped.returncode == 1
    lines = piped.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: -: not a readable audio file")


def test_truncated_stream_is_refused(clip):
    """A WAV whose header declares more data than the pipe brings is an error, not short."""
    data = clip.read_bytes()[: len(clip.read_bytes()) // 2]
    piped = _run(["info", "-"], data=data)  # streamed
    assert piped.returncode == 1
    assert piped.stderr.decode().startswith("Error: -: truncated file")
    assert len(piped.stderr.splitlines()) == 1
    copied = CliRunner().invoke(main, ["code", "-", "--block", "8"], input=data)  # copied
    assert copied.exit_code == 1
    assert copied.stderr.startswith("Error: -: truncated file")


def test_cli_runner_input(clip, tmp_path):
    """In-process (no real descriptor): standard input is copied, and the file column is -."""
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(main, ["extract", "-", "-o", str(out), "--bands", "none"],
                                input=clip.read_bytes())
    assert result.exit_code == 0, result.output
    assert {r["file"] for r in _table(out.read_text())} == {"-"}


def _long_files(folder: Path, n: int, seconds: float) -> list[Path]:
    rng = np.random.default_rng(5)
    folder.mkdir()
    paths = []
    for k in range(n):
        path = folder / f"long{k}.wav"
        sf.write(path, 0.1 * rng.standard_normal(int(16000 * seconds)), 16000, subtype="PCM_16")
        paths.append(path)
    return paths


def _processes_with(text: str) -> list[str]:
    """Processes whose environment holds ``text`` (Linux /proc)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if text.encode() in environ.read_bytes():
                found.append(environ.parent.name)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("case", ["lone, reader thread", "lone, one thread", "corpus, 2 jobs"])
def test_closed_stdout_ends_at_once_quietly(tmp_path, case):
    """``... -o - | head -1`` returns at once, killed by SIGPIPE, with no error line, and
    leaves no temporary file and no worker process behind."""
    files = _long_files(tmp_path / "in", 3 if case == "corpus, 2 jobs" else 1, 90)
    args = {"lone, reader thread": ["extract", str(files[0]), "-o", "-", "--jobs", "2"],
            "lone, one thread": ["extract", str(files[0]), "-o", "-", "--jobs", "1"],
            "corpus, 2 jobs": ["extract", str(tmp_path / "in"), "-o", "-", "--jobs", "2"]}[case]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(COMMAND + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TMPDIR": str(scratch)})
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    proc.wait(TIMEOUT)
    assert first
    assert proc.returncode == -signal.SIGPIPE
    assert proc.stderr.read() == b""
    proc.stderr.close()
    assert list(scratch.iterdir()) == []
    if Path("/proc/self/environ").exists():
        # the fork server leaves a moment after the run (it sees the run's end of its pipe)
        deadline = time.monotonic() + 10
        while _processes_with(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_with(str(scratch)) == []


def test_shell_pipeline_status(tmp_path):
    rng = np.random.default_rng(6)
    long = tmp_path / "long.wav"
    sf.write(long, 0.1 * rng.standard_normal(16000 * 90), 16000, subtype="PCM_16")
    command = " ".join(COMMAND) + f" extract {long} -o - 2>{tmp_path / 'err'} | head -1"
    done = subprocess.run(["bash", "-c", command + "; echo ${PIPESTATUS[0]}"],
                          capture_output=True, timeout=TIMEOUT, text=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("file,channel,frame")
    assert lines[-1] == "141"  # 128 + SIGPIPE, as cat and grep
    assert (tmp_path / "err").read_text() == ""


def test_stdin_is_read_once_when_streamed(clip, monkeypatch):
    """A stream can be read once; a copy as often as needed."""
    monkeypatch.setattr(sys, "stdin", stdio.TextIOWrapper(stdio.BytesIO(clip.read_bytes())))
    a = io.info("-")
    y1 = np.concatenate(list(io.stream("-")), axis=-1)
    y2 = np.concatenate(list(io.stream("-")), axis=-1)
    ref, _ = sf.read(clip, always_2d=True)
    np.testing.assert_array_equal(y1, ref.T)
    np.testing.assert_array_equal(y2, ref.T)
    assert a.frames == ref.shape[0]
