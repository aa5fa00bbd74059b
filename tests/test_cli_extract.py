import csv
import inspect
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio.cli import main
from sfm_audio.features import ExtractOptions, extract


def run(*args):
    return CliRunner().invoke(main, ["extract", *map(str, args)])


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def only_file(folder):
    return sorted(p.name for p in folder.iterdir())


def test_frame_table_columns_and_values(tmp_path, speech):
    out = tmp_path / "frames.csv"
    result = run(speech, "-o", out)
    assert result.exit_code == 0, result.output
    with open(out) as fh:
        header = fh.readline().strip().split(",")
    assert header[:9] == ["file", "channel", "frame", "time_s", "sfm", "sfm_db", "tonality",
                          "crest", "rms_dbfs"]
    assert header[9] == "sfm_band_250_297"
    assert header[9 + 19] == "crest_band_250_297" and header[9 + 38] == "level_band_250_297"
    assert len(header) == 9 + 3 * 19
    rows = read_csv(out)
    f = extract(speech)
    assert len(rows) == f.values["sfm"].shape[-1]
    np.testing.assert_allclose([float(r["sfm"]) for r in rows], f.values["sfm"][0], rtol=1e-6)
    np.testing.assert_allclose([float(r["sfm_band_1000_1189"]) for r in rows],
                               f.values["sfm_band_1000_1189"][0], rtol=1e-6)
    assert {r["channel"] for r in rows} == {"mix"}
    assert only_file(tmp_path) == ["frames.csv"]


def test_output_permissions_follow_the_umask(tmp_path, speech):
    out = tmp_path / "frames.csv"
    old = os.umask(0o022)
    try:
        assert run(speech, "-o", out).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_cli_defaults_equal_library_defaults():
    from sfm_audio.cli.extract import extract as command

    defaults = {p.name: p.default for p in command.params}
    lib = ExtractOptions()
    for name in ("n_fft", "hop_length", "win_length", "window", "center", "power", "amin", "sr",
                 "bands"):
        assert defaults[name] == getattr(lib, name), name
    assert defaults["channels"] == str(lib.channels)
    signature = inspect.signature(ExtractOptions)
    assert signature.parameters["n_fft"].default == 2048


@pytest.mark.parametrize("fmt", ["npz", "jsonl", "parquet"])
def test_other_formats(tmp_path, speech, fmt):
    out = tmp_path / f"frames.{fmt}"
    result = run(speech, "-o", out, "--bands", "octave")
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    assert only_file(tmp_path) == [out.name]


def test_stdout(speech):
    result = run(speech, "-o", "-", "--bands", "none")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "file,channel,frame,time_s,sfm,sfm_db,tonality,crest,rms_dbfs"
    assert len(lines) == 1 + 126


def test_summary(tmp_path, speech, signals):
    out = tmp_path / "summary.csv"
    result = run(speech, signals["white_noise"], "-o", out, "--summary", "--bands", "octave")
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r["file"] for r in rows] == sorted([str(speech), str(signals["white_noise"])])
    assert list(rows[0])[:16] == ["file", "channel", "sr", "channels", "bits", "duration_s",
                                  "frames", "frames_gated", "peak_dbfs", "clipped",
                                  "floor_share", "sfm_mean", "sfm_median", "sfm_std",
                                  "sfm_p10", "sfm_p90"]
    noise = next(r for r in rows if "white_noise" in r["file"])
    assert abs(float(noise["sfm_median"]) - np.exp(-np.euler_gamma)) < 0.02
    assert float(noise["duration_s"]) == 2.0


def test_each_channel_rows(tmp_path, noise_tone_stereo_22k):
    out = tmp_path / "each.csv"
    result = run(noise_tone_stereo_22k, "-o", out, "--channels", "each", "--bands", "none")
    assert result.exit_code == 0
    rows = read_csv(out)
    assert [r["channel"] for r in rows[:4]] == ["0", "1", "0", "1"]
    assert [r["frame"] for r in rows[:4]] == ["0", "0", "1", "1"]


def test_folder_and_glob_inputs(tmp_path, signals):
    folder = signals["silence"].parent
    out1, out2 = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(folder, "-o", out1, "--summary").exit_code == 0
    assert run(str(folder / "*.wav"), "-o", out2, "--summary").exit_code == 0
    assert out1.read_bytes() == out2.read_bytes()
    assert len(read_csv(out1)) == 5


def test_silence_is_flat(tmp_path, signals):
    out = tmp_path / "s.csv"
    result = run(signals["silence"], "-o", out)
    assert result.exit_code == 0 and "Warning" not in result.output
    rows = read_csv(out)
    assert all(float(r["sfm"]) == 1.0 for r in rows)
    assert all(float(r["sfm_band_1000_1189"]) == 1.0 for r in rows)


def test_hundred_sample_file(tmp_path):
    path = tmp_path / "tiny.wav"
    sf.write(path, np.random.default_rng(0).standard_normal(100) * 0.1, 16000)
    out = tmp_path / "tiny.csv"
    assert run(path, "-o", out).exit_code == 0
    assert len(read_csv(out)) == 1


# --- bad input: one clear line, non-zero exit, no file left -------------------------------

def _bad_files(tmp_path, speech):
    (tmp_path / "empty.wav").write_bytes(b"")
    data = speech.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 3])
    (tmp_path / "text.wav").write_text("not audio at all\n" * 10)
    nan = np.zeros(8000)
    nan[6000] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 8000, subtype="FLOAT")
    (tmp_path / "no_audio").mkdir()
    (tmp_path / "no_audio" / "readme.txt").write_text("hi")


@pytest.mark.parametrize(
    ("name", "message"),
    [("absent.wav", "absent.wav: no such file"),
     ("empty.wav", "empty.wav: empty file (0 bytes)"),
     ("cut.wav", "cut.wav: truncated file"),
     ("text.wav", "text.wav: not a readable audio file"),
     ("nan.wav", "nan.wav: sample 6000 (t = 0.750000 s) is NaN or infinite"),
     ("no_audio", "no_audio: folder holds no audio files")],
)
def test_bad_files(tmp_path, speech, name, message):
    _bad_files(tmp_path, speech)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run(tmp_path / name, "-o", out_dir / "x.csv")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in result.output
    assert only_file(out_dir) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--n-fft", "0"], "--n-fft 0 must be a positive integer"),
     (["--n-fft", "-2"], "--n-fft -2"),
     (["--hop-length", "0"], "--hop-length 0 must be a positive integer"),
     (["--win-length", "4096"], "--win-length 4096 must be at most --n-fft 2048"),
     (["--window", "wobbly"], "--window 'wobbly' is not a window"),
     (["--bands", "edges:500,100"], "strictly increasing"),
     (["--bands", "edges:100,9000"], "above Nyquist"),
     (["--bands", "bark"], "unknown --bands 'bark'"),
     (["--sr", "0"], "--sr 0 must be a positive"),
     (["--sr", "-16000"], "--sr -16000 must"),
     (["--power", "0"], "--power 0 must"),
     (["--channels", "left"], "'left' is not 'mix', 'each' or a channel index"),
     (["--channels", "3"], "--channels 3 is out of range"),
     (["--fmin", "-1"], "--fmin -1 must be a non-negative"),
     (["--fmin", "500", "--fmax", "400"], "must be below --fmax"),
     (["--fmin", "9000"], "is not below Nyquist"),
     (["--start", "2", "--end", "1"], "must be before --end"),
     (["--start", "60"], "outside the file"),
     (["--features", "sfm,nope"], "unknown nope"),
     (["--min-dbfs", "nan"], "--min-dbfs nan must be a finite number"),
     (["--segment", "0"], "--segment 0 must be a positive")],
)
def test_bad_options_are_usage_errors(tmp_path, speech, args, message):
    out = tmp_path / "x.csv"
    result = run(speech, "-o", out, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert only_file(tmp_path) == []


def test_unknown_output_extension(tmp_path, speech):
    result = run(speech, "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 2
    assert "unknown output extension '.xlsx'" in result.output
    assert only_file(tmp_path) == []


def test_missing_output_folder(tmp_path, speech):
    result = run(speech, "-o", tmp_path / "nope" / "x.csv")
    assert result.exit_code == 2
    assert "output folder" in result.output and "does not exist" in result.output


def test_parquet_without_pyarrow(tmp_path, speech, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    result = run(speech, "-o", tmp_path / "x.parquet")
    assert result.exit_code == 2
    assert "pip install 'sfm-audio[parquet]'" in result.output


def test_one_bad_file_among_good_ones(tmp_path, speech, signals):
    _bad_files(tmp_path, speech)
    out = tmp_path / "out.csv"
    result = run(signals["white_noise"], tmp_path / "cut.wav", signals["tone_1khz"], "-o", out)
    assert result.exit_code == 1
    assert "cut.wav: truncated file" in result.output
    assert "2 ok, 1 failed" in result.output
    files = {r["file"] for r in read_csv(out)}
    assert files == {str(signals["white_noise"]), str(signals["tone_1khz"])}


def test_info(speech, tmp_path):
    result = CliRunner().invoke(main, ["info", str(speech)])
    assert result.exit_code == 0
    for part in ("16000 Hz", "1 ch", "4.000 s", "64000 samples"):
        assert part in result.output
    bad = CliRunner().invoke(main, ["info", str(tmp_path / "absent.wav")])
    assert bad.exit_code == 1 and "no such file" in bad.output


def test_extraction_controls_match_the_library(tmp_path, speech):
    out = tmp_path / "x.csv"
    result = run(speech, "-o", out, "--fmin", "300", "--fmax", "20000", "--start", "1",
                 "--end", "2", "--features", "sfm,rms_dbfs,sfm_band", "--bands", "octave")
    assert result.exit_code == 0, result.output
    assert result.output.count("above Nyquist") == 1  # said once, not an error
    # the option as typed; the file's rate is no --sr
    assert "Warning: --fmax 20000 Hz is above Nyquist at a rate of 16000 Hz" in result.output
    rows = read_csv(out)
    with pytest.warns(UserWarning):
        f = extract(speech, fmin=300, fmax=20000, start=1, end=2,
                    features="sfm,rms_dbfs,sfm_band", bands="octave")
    assert list(rows[0]) == ["file", "channel", "frame", "time_s"] + f.meta.columns
    assert [int(r["frame"]) for r in rows] == list(range(32, 63))
    for name in f.meta.columns:
        np.testing.assert_allclose([float(r[name]) for r in rows], f.values[name][0],
                                   rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fmax_warning_of_a_corpus_names_the_option(tmp_path, speech, signals, jobs):
    # several files: the files are described on threads, where click has no context
    out = tmp_path / "x.csv"
    result = run(speech, signals["white_noise"], "-o", out, "--fmax", "20000", "--jobs", jobs,
                 "--summary")
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("Warning:")]
    assert warnings == ["Warning: --fmax 20000 Hz is above Nyquist at a rate of 16000 Hz; "
                        "using 8000 Hz there"]


def test_segment_summaries_and_gating_on_the_command_line(tmp_path, speech):
    out = tmp_path / "seg.csv"
    result = run(speech, "-o", out, "--segment", "1", "--min-dbfs", "-40", "--bands", "none",
                 "--features", "sfm")
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    f = extract(speech, bands=None)
    keep = f.values["rms_dbfs"][0] >= -40
    info = sf.info(str(speech))
    # segments start inside the audio: a centred frame at the very end joins the last one
    n_segments = int(np.ceil(info.duration))
    segment = np.minimum(np.floor(f.times + 1e-9).astype(int), n_segments - 1)
    assert [float(r["segment_start_s"]) for r in rows] == list(range(n_segments))
    for s, row in enumerate(rows):
        inside = segment == s
        assert int(row["frames"]) == inside.sum()
        assert int(row["frames_gated"]) == (inside & ~keep).sum()
        assert int(row["sr"]) == info.samplerate and int(row["channels"]) == info.channels
        assert info.subtype == "PCM_16" and int(row["bits"]) == 16
        assert float(row["duration_s"]) == pytest.approx(info.duration, abs=1e-6)
        kept = f.values["sfm"][0][inside & keep]
        if kept.size:
            assert float(row["sfm_mean"]) == pytest.approx(kept.mean(), rel=1e-6)
        else:
            assert row["sfm_mean"] == ""


def test_segment_summaries_of_a_corpus_in_a_pool(tmp_path, speech, signals):
    out1, out2 = tmp_path / "pool.csv", tmp_path / "one.csv"
    files = [speech, signals["white_noise"]]
    args = ["--segment", "1", "--bands", "octave", "--features", "sfm,sfm_band", "-q"]
    assert run(*files, "-o", out1, "--jobs", "2", *args).exit_code == 0
    assert run(*files, "-o", out2, "--jobs", "1", *args).exit_code == 0
    assert out1.read_bytes() == out2.read_bytes()
    rows = read_csv(out1)
    per_file = {}
    for r in rows:
        per_file.setdefault(r["file"], []).append(float(r["segment_start_s"]))
    for path in files:  # one segment per started second of audio
        info = sf.info(str(path))
        assert per_file[str(path)] == [float(s) for s in range(int(np.ceil(info.duration)))]


def test_stdout_format_jsonl_is_the_jsonl_file(tmp_path):
    """``-o - --stdout-format jsonl``: the bytes of a .jsonl output, for one file (streamed)
    and for several on two workers (joined in order); CSV stays the default."""
    from sfm_audio.examples import example

    wav = str(example())
    one = tmp_path / "one.jsonl"
    assert CliRunner().invoke(main, ["extract", wav, "-o", str(one)]).exit_code == 0
    result = CliRunner().invoke(main, ["extract", wav, "-o", "-", "--stdout-format", "jsonl"])
    assert result.exit_code == 0 and result.output == one.read_text()
    folder = tmp_path / "two"
    folder.mkdir()
    for name in ("a.wav", "b.wav"):
        (folder / name).write_bytes(Path(wav).read_bytes())
    both = tmp_path / "both.jsonl"
    args = [str(folder), "--summary", "-q", "--jobs", "2"]
    assert CliRunner().invoke(main, ["extract", *args, "-o", str(both)]).exit_code == 0
    result = CliRunner().invoke(main, ["extract", *args, "-o", "-", "--stdout-format",
                                       "jsonl"])
    assert result.exit_code == 0 and result.output == both.read_text()
    assert not result.output.startswith("file,")
    default = CliRunner().invoke(main, ["extract", wav, "-o", "-", "--features", "sfm"])
    assert default.output.startswith("file,channel,frame,time_s,sfm\n")


def test_stdout_format_needs_standard_output(tmp_path):
    from sfm_audio.examples import example

    result = CliRunner().invoke(main, ["extract", str(example()), "-o",
                                       str(tmp_path / "t.csv"), "--stdout-format", "jsonl"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--stdout-format" in lines[0] and "applies to -o - only" in \
        lines[0]
    assert not (tmp_path / "t.csv").exists()


def test_stdout_format_bad_values(tmp_path):
    from sfm_audio import ParameterError
    from sfm_audio.corpus import extract_files
    from sfm_audio.examples import example

    result = CliRunner().invoke(main, ["extract", str(example()), "-o", "-",
                                       "--stdout-format", "xml"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1
    assert "--stdout-format" in lines[0] and "xml" in lines[0]
    with pytest.raises(ParameterError, match="standard output takes csv or jsonl, not 'npz'"):
        extract_files([example()], "-", stdout_format="npz")
