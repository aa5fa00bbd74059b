"""A live input (issue 23): ``extract -`` on an endless pipe writes rows as the audio arrives.

The source is ``scripts/live_source.py``, a recorder that writes 16-bit WAV with a placeholder
size (or raw PCM) without end; the same samples are written to a file with ``--wav`` and
extracted from there, and the rows must be equal. Most tests start real processes on real
pipes, as ``arecord -t wav | sfm-audio extract - ...`` does.
"""

from __future__ import annotations

import csv
import io as stdio
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sfm_audio.cli import main
from sfm_audio.features import ExtractOptions, open_features
from sfm_audio.live import SegmentSummaries, WholeSummary, live_frames_per_chunk, open_live
from sfm_audio.stdin import parse_raw_format
from sfm_audio.summaries import summary_rows

SOURCE = Path(__file__).resolve().parents[1] / "scripts" / "live_source.py"
COMMAND = [sys.executable, "-m", "sfm_audio"]
TIMEOUT = 60


def _recorder(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SOURCE), *args], stdout=subprocess.PIPE)


def _extract(source: subprocess.Popen, *args: str, **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen(COMMAND + ["extract", "-", *args], stdin=source.stdout,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    source.stdout.close()  # the recorder sees a closed pipe once the extractor is gone
    return proc


def _recorded(tmp_path: Path, seconds: float, *args: str) -> Path:
    """The recorder's first ``seconds`` written to a WAV file."""
    path = tmp_path / f"recorded_{seconds:g}.wav"
    subprocess.run([sys.executable, str(SOURCE), "--seconds", str(seconds), "--wav", str(path),
                    *args], check=True, timeout=TIMEOUT)
    return path


def _from_file(path: Path, *args: str) -> list[dict]:
    done = subprocess.run(COMMAND + ["extract", str(path), "-o", "-", *args],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(stdio.StringIO(done.stdout)))


def _without(row: dict, *keys: str) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


@pytest.mark.slow
def test_endless_pipe_gives_rows_at_once_equal_to_the_file(tmp_path):
    """The first rows arrive within seconds from an endless source; closing the pipe ends the
    run; the rows are those of the same samples read from a file."""
    recorder = _recorder()
    extract = _extract(recorder, "-o", "-", "--bands", "octave")
    t0 = time.monotonic()
    header = extract.stdout.readline().decode()
    lines = [extract.stdout.readline().decode() for _ in range(300)]
    first_rows_after = time.monotonic() - t0
    extract.stdout.close()  # the reader goes away, as `| head` does
    assert extract.wait(TIMEOUT) == -signal.SIGPIPE  # quietly, as cat does
    assert extract.stderr.read() == b""
    recorder.wait(TIMEOUT)
    assert first_rows_after < 10  # includes starting Python twice on a shared machine
    live = list(csv.DictReader(stdio.StringIO(header + "".join(lines))))
    # 300 frames of hop 512 at 48 kHz are 3.2 s: a 6-second file holds them, far from its end
    direct = _from_file(_recorded(tmp_path, 6), "--bands", "octave")[:300]
    assert [r["file"] for r in live] == ["-"] * 300
    assert [_without(r, "file") for r in live] == [_without(r, "file") for r in direct]


@pytest.mark.slow
def test_rows_leave_within_one_chunk_of_audio():
    """Paced as a sound card: each row is out at most one chunk (0.25 s) of audio, plus the
    half frame it needs, after the audio of its frame time arrived."""
    recorder = subprocess.Popen([sys.executable, str(SOURCE), "--realtime", "--announce"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = float(recorder.stderr.readline())  # when sample 0 was written
    extract = _extract(recorder, "-o", "-", "--features", "sfm")
    extract.stdout.readline()
    lags = []
    for line in extract.stdout:
        frame_time = float(line.split(b",")[3])
        if frame_time > 2.0:  # once both processes have started
            lags.append(time.time() - started - frame_time)
        if frame_time > 5.0:
            break
    extract.stdout.close()
    extract.wait(TIMEOUT)
    recorder.wait(TIMEOUT)
    # a chunk and half a 2048-sample frame, + 0.2 s for a busy machine (the recorder writes
    # each 0.1 s block at its start: audio arrives early, not late)
    bound = live_frames_per_chunk(48000, 512) * 512 / 48000 + 1024 / 48000 + 0.2
    assert len(lags) > 200
    assert max(lags) < bound


@pytest.mark.slow
def test_segment_rows_arrive_one_per_second_of_audio(tmp_path):
    recorder = _recorder("--realtime")
    extract = _extract(recorder, "-o", "-", "--segment", "1", "--bands", "octave")
    t0 = time.monotonic()
    header = extract.stdout.readline().decode()
    rows, arrived = [], []
    for _ in range(3):
        rows.append(extract.stdout.readline().decode())
        arrived.append(time.monotonic() - t0)
    extract.send_signal(signal.SIGINT)
    rest, err = extract.communicate(timeout=TIMEOUT)
    recorder.wait(TIMEOUT)
    assert extract.returncode == 128 + signal.SIGINT
    assert rest == b""  # interrupted while waiting for audio: nothing more, nothing partial
    # one row per second of audio, written as each second ends, not all at the end
    gaps = np.diff(arrived)
    assert np.all((gaps > 0.5) & (gaps < 1.5)), arrived
    live = list(csv.DictReader(stdio.StringIO(header + "".join(rows))))
    direct = _from_file(_recorded(tmp_path, 6), "--segment", "1", "--bands", "octave")[:3]
    assert [float(r["segment_start_s"]) for r in live] == [0.0, 1.0, 2.0]
    # the length is unknown when the rows are written: only duration_s differs
    assert all(r["duration_s"] == "" for r in live)
    assert [_without(r, "file", "duration_s") for r in live] == \
        [_without(r, "file", "duration_s") for r in direct]


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--summary"], ["--segment", "0.7", "--min-dbfs", "-20"],
                                  ["--features", "sfm,rms_dbfs"]])
def test_a_stream_that_ends_is_the_file(tmp_path, args):
    """A finite stream with a placeholder size (ffmpeg -f wav -): frames, segments and the
    whole-input summary equal the file's; segment rows written at the end know duration_s."""
    recorder = _recorder("--seconds", "4.3", "--channels", "2", "--size", "0")
    extract = _extract(recorder, "-o", "-", "--channels", "each", *args)
    out, err = extract.communicate(timeout=TIMEOUT)
    recorder.wait(TIMEOUT)
    assert extract.returncode == 0, err
    live = list(csv.DictReader(stdio.StringIO(out.decode())))
    direct = _from_file(_recorded(tmp_path, 4.3, "--channels", "2"), "--channels", "each",
                        *args)
    assert len(live) == len(direct) > 1
    for a, b in zip(live, direct):
        if a.get("duration_s") == "":  # a segment written before the end of the input
            assert b["duration_s"] == "4.300000"
            a = _without(a, "duration_s")
            b = _without(b, "duration_s")
        assert _without(a, "file") == _without(b, "file")


@pytest.mark.slow
def test_raw_pcm_is_read_live(tmp_path):
    recorder = _recorder("--seconds", "2", "--raw")
    extract = _extract(recorder, "-o", "-", "--raw-format", "s16le:48000:1")
    out, err = extract.communicate(timeout=TIMEOUT)
    recorder.wait(TIMEOUT)
    assert extract.returncode == 0, err
    live = list(csv.DictReader(stdio.StringIO(out.decode())))
    direct = _from_file(_recorded(tmp_path, 2))
    assert [_without(r, "file") for r in live] == [_without(r, "file") for r in direct]


def _interrupted(tmp_path: Path, output: str, *args: str):
    recorder = _recorder("--realtime")
    extract = _extract(recorder, "-o", output, *args)
    # interrupt ~1.5 s of audio after the first rows leave, not after a fixed time: on a
    # loaded machine the command's start-up alone can take seconds
    first = b""
    if output == "-":
        while not first.endswith(b"\n"):  # unbuffered: communicate() reads the fd itself
            byte = os.read(extract.stdout.fileno(), 1)
            if not byte:
                break
            first += byte
    else:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not any(
                p.stat().st_size > 0 for p in tmp_path.iterdir() if p.is_file()):
            time.sleep(0.05)
    time.sleep(1.5)
    extract.send_signal(signal.SIGINT)
    out, err = extract.communicate(timeout=TIMEOUT)
    out = first + out
    recorder.wait(TIMEOUT)
    assert extract.returncode == 128 + signal.SIGINT
    return out.decode(), err.decode()


@pytest.mark.slow
def test_ctrl_c_removes_a_file_output(tmp_path):
    out, err = _interrupted(tmp_path, str(tmp_path / "rows.csv"))
    assert "rows.csv not written" in err and "--keep-partial" in err
    assert os.listdir(tmp_path) == []  # no temporary file left either


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rows.csv", "rows.jsonl", "rows.parquet"])
def test_ctrl_c_with_keep_partial_keeps_whole_rows(tmp_path, name):
    out, err = _interrupted(tmp_path, str(tmp_path / name), "--keep-partial")
    assert os.listdir(tmp_path) == [name]
    assert "kept the" in err
    direct = _from_file(_recorded(tmp_path, 6))
    if name.endswith(".parquet"):
        import pandas as pd

        table = pd.read_parquet(tmp_path / name)
        assert 50 < len(table) < len(direct)
        assert table["frame"].tolist() == list(range(len(table)))
        return
    text = (tmp_path / name).read_text()
    assert text.endswith("\n")
    if name.endswith(".jsonl"):
        import json

        rows = [json.loads(line) for line in text.splitlines()]  # every line whole
        assert [r["frame"] for r in rows] == list(range(len(rows)))
        return
    rows = list(csv.DictReader(stdio.StringIO(text)))
    assert 50 < len(rows) < len(direct)
    assert [_without(r, "file") for r in rows] == [_without(r, "file") for r in
                                                   direct[:len(rows)]]


@pytest.mark.slow
def test_ctrl_c_on_standard_output_leaves_whole_rows():
    out, err = _interrupted(Path("."), "-")
    assert err == ""
    rows = list(csv.DictReader(stdio.StringIO(out)))
    assert out.endswith("\n") and len(rows) > 50
    assert all(None not in r.values() for r in rows)  # no short row
    assert [int(r["frame"]) for r in rows] == list(range(len(rows)))


# ------------------------------------------------------------------ refusals, in-process


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--features", "sfm,rms_dbfs"], ["--segment", "0.5"]])
def test_json_lines_on_standard_output_are_the_jsonl_file(tmp_path, args):
    """``-o - --stdout-format jsonl`` on a live input: the rows, byte for byte, of the same
    samples extracted from a file into a .jsonl file (apart from the file name and a segment
    written before the end, which cannot know duration_s)."""
    import json

    recorder = _recorder("--seconds", "2.2", "--size", "0")
    extract = _extract(recorder, "-o", "-", "--stdout-format", "jsonl", *args)
    out, err = extract.communicate(timeout=TIMEOUT)
    recorder.wait(TIMEOUT)
    assert extract.returncode == 0, err
    target = tmp_path / "direct.jsonl"
    done = subprocess.run(COMMAND + ["extract", str(_recorded(tmp_path, 2.2)), "-o",
                                     str(target), *args],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    live = [json.loads(line) for line in out.decode().splitlines()]
    direct = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(live) == len(direct) > 1
    for a, b in zip(live, direct):
        if a.get("duration_s", 0) is None:
            a, b = _without(a, "duration_s"), _without(b, "duration_s")
        assert _without(a, "file") == _without(b, "file")


def _wav_stream(seconds: float, *args: str) -> bytes:
    return subprocess.run([sys.executable, str(SOURCE), "--seconds", str(seconds), *args],
                          capture_output=True, check=True, timeout=TIMEOUT).stdout


@pytest.mark.slow
@pytest.mark.parametrize("args, words", [
    (["-o", "out.csv", "--resume"], "cannot be resumed"),
    (["-o", "-", "--start", "5"], "ended at 1 s, before --start 5 s"),
    (["-o", "out.csv", "--end", "5"], "ended at 1 s, before --end 5 s"),
    (["-o", "-", "--start", "0.5", "--end", "0.501"], "holds no frame"),
])
def test_live_refusals_are_one_line(tmp_path, args, words):
    recorder = _recorder("--seconds", "1")
    extract = _extract(recorder, *args, cwd=tmp_path)
    out, err = extract.communicate(timeout=TIMEOUT)
    recorder.wait(TIMEOUT)
    lines = err.decode().splitlines()
    assert extract.returncode == 2
    assert lines[-1].startswith("Error: ") and words in lines[-1]
    assert out == b"" and os.listdir(tmp_path) == []


@pytest.mark.slow
def test_whole_table_format_into_a_pipe_is_refused(tmp_path):
    fifo = tmp_path / "table.npz"
    os.mkfifo(fifo)
    recorder = _recorder("--seconds", "1")
    extract = _extract(recorder, "-o", str(fifo))
    out, err = extract.communicate(timeout=TIMEOUT)
    recorder.wait(TIMEOUT)
    assert extract.returncode == 2
    assert err.decode().startswith("Error: ") and "use -o - or -o rows.jsonl" in err.decode()


@pytest.mark.parametrize("text, words", [
    ("s16:48000:1", "must be ENCODING:RATE:CHANNELS"),
    ("s16le:48000", "must be ENCODING:RATE:CHANNELS"),
    ("s16le:0:1", "rate must be positive"),
    ("f32le:8000:x", "must be ENCODING:RATE:CHANNELS"),
])
def test_bad_raw_format(text, words):
    result = CliRunner().invoke(main, ["extract", "-", "-o", "-", "--raw-format", text],
                                input=b"\0" * 100)
    assert result.exit_code == 2
    assert "Error: --raw-format" in result.output and words in result.output


def test_raw_format_needs_standard_input(tmp_path):
    result = CliRunner().invoke(main, ["extract", str(tmp_path / "a.wav"), "-o", "-",
                                       "--raw-format", "s16le:8000:1"])
    assert result.exit_code == 2
    assert "--raw-format" in result.output and "give - as the input" in result.output


def test_raw_format_layouts():
    fmt = parse_raw_format("S24BE:44100:2")
    assert fmt.soundfile_args() == {"format": "RAW", "subtype": "PCM_24", "endian": "BIG",
                                    "samplerate": 44100, "channels": 2}
    assert parse_raw_format("u8:8000:1").soundfile_args()["endian"] == "FILE"


def test_raw_pcm_from_a_test_runner_matches_the_file(tmp_path):
    """An in-memory standard input (no descriptor) is copied first; the rows are the same."""
    wav = _recorded(tmp_path, 1)
    raw = _wav_stream(1, "--raw")
    result = CliRunner().invoke(main, ["extract", "-", "-o", "-", "--raw-format",
                                       "s16le:48000:1"], input=raw)
    assert result.exit_code == 0, result.output
    direct = CliRunner().invoke(main, ["extract", str(wav), "-o", "-"])
    assert [line.split(",", 1)[1] for line in result.output.splitlines()] == \
        [line.split(",", 1)[1] for line in direct.output.splitlines()]


# ------------------------------------------------------------------ the library, on a file


@pytest.mark.parametrize("options", [
    ExtractOptions(),
    ExtractOptions(channels="each", bands="third-octave", start=0.31, end=1.7, fmin=100,
                   features="sfm,sfm_band"),
    ExtractOptions(sr=16000, bands="octave"),
])
def test_live_frames_equal_the_file_frames_to_the_bit(tmp_path, options):
    """Chunks of 1, 3 or 23 frames as they arrive: every value equals the file path's (also
    resampled, although soxr is then fed blocks of another size)."""
    path = str(_recorded(tmp_path, 2, "--channels", "2"))
    meta, chunks = open_features(path, options)
    expected = np.concatenate([c.values for c in chunks], axis=1)
    for k in (1, 3, 23):
        live = open_live(path, options, frames_per_chunk=k)
        got = list(live)
        assert got[0].frame0 == meta.frame0 and live.meta.columns == meta.columns
        values = np.concatenate([c.values for c in got], axis=1)
        np.testing.assert_array_equal(values, expected)


@pytest.mark.parametrize("segment, start, end", [(1.0, None, None), (0.3, 0.4, None),
                                                  (0.5, None, 2.2), (0.005, 1.0, 1.1)])
def test_segment_summaries_as_they_close_equal_the_file_summary(tmp_path, segment, start, end):
    """open_live on a file, with a tiny chunk: the segments are those of summary_rows, to
    the bit, whatever where the chunks fall (duration_s apart, unknown before the end)."""
    path = str(_recorded(tmp_path, 2.5, "--channels", "2"))
    options = ExtractOptions(channels="each", bands="octave", segment=segment, start=start,
                             end=end, min_dbfs=-30)
    meta, chunks = open_features(path, options)
    labels, expected = summary_rows(meta, chunks)
    live = open_live(path, options, frames_per_chunk=3)
    summaries = SegmentSummaries(live)
    got_labels, got = [], []
    for chunk in live:
        for channels, numeric in summaries.add(chunk):
            got_labels += channels
            got.append(numeric)
    for channels, numeric in summaries.finish():
        got_labels += channels
        got.append(numeric)
    got = np.concatenate(got)
    assert got_labels == labels
    duration = [c.name for c in _schema(meta)].index("duration_s")
    known = ~np.isnan(got[:, duration])
    assert np.all(got[known, duration] == 2.5)
    got[:, duration] = expected[:, duration]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("gate", [None, -15.0])
def test_whole_summary_spills_to_disk_and_equals_the_file(tmp_path, monkeypatch, gate):
    from sfm_audio import live as live_module
    from sfm_audio import summaries as summaries_module

    monkeypatch.setattr(live_module._ColumnLog, "MEMORY", 4096)  # many records on disk
    # the final pass reads blocks of 3 frames: across the records' edges, and in memory
    monkeypatch.setattr(summaries_module, "_BLOCK_FRAMES", 3)
    path = str(_recorded(tmp_path, 2))
    options = ExtractOptions(bands="mpeg7", min_dbfs=gate)
    meta, chunks = open_features(path, options)
    _, expected = summary_rows(meta, chunks)
    live = open_live(path, options, frames_per_chunk=5)
    summary = WholeSummary(live)
    for chunk in live:
        assert list(summary.add(chunk)) == []
    (_, got), = list(summary.finish())
    assert math.isclose(live.duration, 2.0)
    np.testing.assert_array_equal(got, expected)
    gated = got[0, [c.name for c in _schema(meta)].index("frames_gated")]
    assert (gated > 0) == (gate is not None)  # the gate drops frames inside the blocks


def _schema(meta):
    from sfm_audio.summaries import table_schema

    return table_schema(meta, True)


def test_column_log_reads_any_block_of_frames(monkeypatch):
    from sfm_audio import live as live_module

    monkeypatch.setattr(live_module._ColumnLog, "MEMORY", 1000)  # a record every few appends
    rng = np.random.default_rng(3)
    values = rng.normal(size=(2, 60, 4))
    log = live_module._ColumnLog()
    for a, b in [(0, 7), (7, 20), (20, 21), (21, 50), (50, 60)]:  # the last ones stay in memory
        log.append(values[:, a:b])
    assert log._pending and log._records
    try:
        for a in range(0, 61, 3):
            for b in range(a, 61, 5):
                for c, j in [(0, 0), (1, 3)]:
                    np.testing.assert_array_equal(log.block(c, j, a, b), values[c, a:b, j])
    finally:
        log.close()
