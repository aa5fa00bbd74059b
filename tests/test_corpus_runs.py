"""Corpus runs over real-world folders: mixed sampling rates in every format and executor,
standard input among files, folder scanning (hidden files, sidecars, unknown formats,
--include/--exclude), and ``sfm-audio code`` on the same executors (Dask, --resume)."""

from __future__ import annotations

import csv
import filecmp
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import ParameterError
from sfm_audio.cli import extract as extract_cli
from sfm_audio.cli import main
from sfm_audio.corpus import extract_files, scan_inputs, staging_dir
from sfm_audio.features import ExtractOptions

FORMATS = ["csv", "jsonl", "npz", "parquet"]
RATES = (16000, 22050, 44100, 48000)


def run(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def write_tone(path: Path, sr: int, seconds: float = 0.5, seed: int = 0, channels: int = 1):
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng([seed, sr])
    x = 0.3 * np.sin(2 * np.pi * (300 + 50 * seed) * t)[:, None] + \
        0.05 * rng.standard_normal((t.size, channels))
    sf.write(path, x, sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """One short file at each of 16, 22.05, 44.1 and 48 kHz."""
    folder = tmp_path_factory.mktemp("mixed")
    for k, sr in enumerate(RATES):
        write_tone(folder / f"f{sr}.wav", sr, seed=k)
    return folder


def read_table(path: Path, fmt: str) -> tuple[list[str], dict[str, list[dict]]]:
    """Columns and, per file, its rows as {column: value}; a missing value is None."""
    def value(v):
        if isinstance(v, (float, np.floating)):
            return None if math.isnan(v) else float(v)
        if isinstance(v, np.integer):
            return int(v)
        return v

    if fmt == "csv":
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        with open(path, newline="") as fh:
            columns = next(csv.reader(fh))
        rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in rows]
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        columns = list(rows[0])
        assert all(list(r) == columns for r in rows)  # every line names every column
    elif fmt == "npz":
        data = np.load(path)
        columns = ["file", *[n for n in data.files if n not in ("files", "file_index")]]
        files, arrays = data["files"], {c: data[c] for c in columns[1:]}  # read each once
        rows = [{"file": str(files[i]), **{c: value(a[k]) for c, a in arrays.items()}}
                for k, i in enumerate(data["file_index"])]
    else:
        table = pq.read_table(path)
        columns = table.column_names
        rows = [{c: value(v) for c, v in r.items()} for r in table.to_pylist()]
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["file"], []).append(r)
    return columns, by_file


def lone_tables(folder: Path, tmp: Path, fmt: str, **kwargs) -> dict[str, tuple]:
    """Each file's table extracted on its own (its own columns only)."""
    out = {}
    for f in sorted(folder.glob("*.wav")):
        target = tmp / f"lone-{f.stem}.{fmt}"
        report = extract_files([f], target, **kwargs)
        assert not report.failed
        columns, rows = read_table(target, fmt)
        out[str(f)] = (columns, rows[str(f)])
    return out


def band_edges(columns: list[str], group: str) -> list[tuple[int, int]]:
    pattern = re.compile(rf"^{group}_band_(\d+)_(\d+)$")
    return [(int(m[1]), int(m[2])) for c in columns if (m := pattern.match(c))]


# --------------------------------------------------------------------------- mixed rates


@pytest.mark.parametrize("summary", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_mixed_rates_union_of_columns_in_every_format(mixed, tmp_path, fmt, summary):
    out = tmp_path / f"all.{fmt}"
    report = extract_files([mixed], out, summary=summary)
    assert len(report.ok) == 4 and not report.failed
    columns, rows = read_table(out, fmt)
    lone = lone_tables(mixed, tmp_path, fmt, summary=summary)
    # the union of the files' columns, each once
    assert len(columns) == len(set(columns))
    assert set(columns) == set().union(*(set(c) for c, _ in lone.values()))
    for path, (own, own_rows) in lone.items():
        got = rows[path]
        assert len(got) == len(own_rows) and len(got) >= 1
        for g, r in zip(got, own_rows):
            assert {c: g[c] for c in own} == r  # the file's own values, unchanged
            assert all(g[c] is None for c in columns if c not in own)  # the rest empty
    # files at lower rates lack the top bands: the 16 kHz file has empty band columns
    assert any(v is None for v in rows[str(mixed / "f16000.wav")][0].values())
    assert all(v is not None for v in rows[str(mixed / "f48000.wav")][0].values())


def test_mixed_rate_columns_are_in_frequency_order(mixed, tmp_path):
    out = tmp_path / "all.csv"
    extract_files([mixed], out)
    columns, _ = read_table(out, "csv")
    sfm, crest = band_edges(columns, "sfm"), band_edges(columns, "crest")
    assert len(sfm) == len(crest) >= 20
    assert sfm == sorted(sfm) == crest  # frequency order, the same bands in both groups
    last_sfm = max(i for i, c in enumerate(columns) if c.startswith("sfm_band_"))
    first_crest = min(i for i, c in enumerate(columns) if c.startswith("crest_band_"))
    assert last_sfm < first_crest
    assert columns[:4] == ["file", "channel", "frame", "time_s"]
    # the 48 kHz file has bands the 16 kHz file cannot have (above 8 kHz)
    assert sfm[-1][0] > 8000
    # text formats: an empty CSV field and a JSON null, never "nan"
    assert "nan" not in out.read_text().lower()


@pytest.mark.parametrize("fmt", FORMATS)
def test_mixed_rates_two_jobs_and_resume_equal_one_job(mixed, tmp_path, fmt):
    one = tmp_path / f"one.{fmt}"
    assert run("extract", mixed, "-o", one, "--jobs", "1", "-q").exit_code == 0
    two = tmp_path / f"two.{fmt}"
    result = run("extract", mixed, "-o", two, "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "4 ok, 0 failed" in result.stderr
    assert filecmp.cmp(one, two, shallow=False)

    # a run with a broken file keeps its parts; once the file is fixed, --resume computes it
    # alone and the output is the one-job output of the whole folder
    folder = tmp_path / "c"
    shutil.copytree(mixed, folder)
    broken = folder / "f44100.wav"
    broken.write_bytes(b"")
    resumed = tmp_path / f"resumed.{fmt}"
    assert run("extract", folder, "-o", resumed, "--jobs", "2", "-q").exit_code == 1
    assert len(list(staging_dir(resumed).glob("*." + fmt))) == 3
    shutil.copy(mixed / "f44100.wav", broken)
    result = run("extract", folder, "-o", resumed, "--jobs", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert "4 ok, 0 failed (3 reused from an earlier run)" in result.stderr
    ref = tmp_path / f"ref.{fmt}"
    assert run("extract", folder, "-o", ref, "--jobs", "1", "-q").exit_code == 0
    assert filecmp.cmp(ref, resumed, shallow=False)
    assert not staging_dir(resumed).exists()


@pytest.mark.parametrize(("fmt", "table"), [("csv", "--summary"), ("jsonl", "--no-center"),
                                            ("npz", "--summary"), ("parquet", "--no-center")])
def test_mixed_rates_on_a_dask_cluster_equal_local(cluster, mixed, tmp_path, fmt, table):
    """Summaries in two formats, frame tables in the other two (``--no-center`` is a frame
    table too, with other options than the other tests')."""
    local, dask = tmp_path / f"local.{fmt}", tmp_path / f"dask.{fmt}"
    assert run("extract", mixed, "-o", local, "--jobs", "1", table, "-q").exit_code == 0
    result = run("extract", mixed, "-o", dask, "--scheduler", cluster, table, "-q")
    assert result.exit_code == 0, result.output
    assert filecmp.cmp(local, dask, shallow=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([local.name, dask.name])


def test_rate_dependent_bands_over_mixed_rates_need_sr(mixed, tmp_path):
    out = tmp_path / "x.csv"
    with pytest.raises(ParameterError, match=r"places its bands by each file's sampling rate"
                       r".*resample them to one rate \(sr=RATE\)"):
        extract_files([mixed], out, ExtractOptions(bands="linear:4"))
    result = run("extract", mixed, "-o", out, "--bands", "mel:8")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --bands 'mel:8' places its bands")
    assert "4 rates (16000, 22050, 44100, 48000 Hz)" in result.stderr
    # the library's parameter, named as the option; said once
    assert result.stderr.count("--sr RATE") == 1 and "sr=RATE" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any work: no output, no parts
    # one rate: every file has the same eight bands, none empty
    result = run("extract", mixed, "-o", out, "--bands", "mel:8", "--sr", "16000", "-q")
    assert result.exit_code == 0, result.output
    columns, rows = read_table(out, "csv")
    assert len(band_edges(columns, "sfm")) == 8 and len(rows) == 4
    assert all(v is not None for r in rows.values() for row in r for v in row.values())


# --------------------------------------------------------------------------- inputs


def test_the_same_file_twice_is_one_input(mixed, tmp_path, monkeypatch):
    monkeypatch.chdir(mixed)
    scan = scan_inputs(["f16000.wav", "./f16000.wav", str(mixed / "f16000.wav")])
    assert scan.paths == ["f16000.wav"]
    out = tmp_path / "x.csv"
    report = extract_files(["./f16000.wav", "f16000.wav"], out)
    assert report.ok == ["./f16000.wav"] and report.staging is None


def test_progress_total_honours_sr(mixed):
    path = str(mixed / "f44100.wav")
    for sr in (None, 8000.0):
        options = ExtractOptions(sr=sr, bands=None)
        total = extract_cli._frames_of(path, options)
        expected = int(0.5 * (sr or 44100)) // 512 + 1  # centred frames: 1 + n // hop
        assert total == expected
    assert extract_cli._frames_of("-", ExtractOptions()) == 0


@pytest.fixture
def messy(tmp_path) -> Path:
    folder = tmp_path / "messy"
    (folder / "sub").mkdir(parents=True)
    (folder / ".cache").mkdir()
    write_tone(folder / "a.wav", 16000)
    write_tone(folder / "sub" / "b.flac", 16000, seed=1)
    write_tone(folder / ".hidden.wav", 16000, seed=2)
    write_tone(folder / ".cache" / "c.wav", 16000, seed=3)
    (folder / "._a.wav").write_bytes(b"\x00\x05\x16\x07 AppleDouble sidecar")
    (folder / "sub" / "notes.m4a").write_bytes(b"not for libsndfile")
    (folder / "readme.txt").write_text("about this folder\n")
    return folder


def test_folder_scanning_skips_hidden_files_and_lists_unknown_formats(messy):
    scan = scan_inputs([messy])
    assert [Path(p).relative_to(messy).as_posix() for p in scan.paths] == ["a.wav", "sub/b.flac"]
    assert [Path(p).name for p in scan.skipped] == ["readme.txt", "notes.m4a"]
    assert scan.hidden == 3 and not scan.failures
    with_hidden = scan_inputs([messy], hidden=True)
    assert [Path(p).relative_to(messy).as_posix() for p in with_hidden.paths] == [
        ".cache/c.wav", ".hidden.wav", "a.wav", "sub/b.flac"]  # never the ._ sidecar
    assert with_hidden.hidden == 1


def test_include_and_exclude_patterns(messy):
    names = lambda scan: [Path(p).name for p in scan.paths]  # noqa: E731
    assert names(scan_inputs([messy], include=["*.flac"])) == ["b.flac"]
    assert names(scan_inputs([messy], exclude=["sub/*"])) == ["a.wav"]
    assert names(scan_inputs([messy], include=["*.wav", "*.flac"], exclude=["b.*"])) == ["a.wav"]
    # a pattern input is filtered too; a file named on its own is always taken
    assert names(scan_inputs([str(messy / "**" / "*.*")], exclude=["*.m4a", "*.txt"])) == [
        "a.wav", "b.flac"]
    assert names(scan_inputs([str(messy / "**" / "*.*")], exclude=["sub/*"])) == [
        "a.wav", "readme.txt"]  # a pattern's matches are its choice: no format filter
    assert names(scan_inputs([messy / "sub" / "b.flac"], exclude=["*.flac"])) == ["b.flac"]
    nothing = scan_inputs([messy], include=["*.ogg"])
    assert nothing.paths == [] and nothing.failures[0].error.endswith("holds no audio files")
    only_other = scan_inputs([messy], include=["*.txt", "*.m4a"])
    assert only_other.failures[0].error == (
        f"{messy}: folder holds no audio files (2 of unknown format: readme.txt, notes.m4a)")
    assert only_other.skipped == []  # said once, in the error


def test_cli_names_the_skipped_files(messy, tmp_path):
    out = tmp_path / "x.csv"
    result = run("extract", messy, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "skipped 2 files: unknown format (" in result.stderr
    assert "readme.txt" in result.stderr and "notes.m4a" in result.stderr
    assert "2 ok, 0 failed" in result.stderr  # the sidecar is not a failure
    result = run("extract", messy, "-o", out, "--include", "*.flac", "--exclude", "x", "-q")
    assert result.exit_code == 0 and result.stderr == ""
    with open(out, newline="") as fh:
        assert {r["file"] for r in csv.DictReader(fh)} == {str(messy / "sub" / "b.flac")}


def test_bad_scan_and_scheduler_options(messy, tmp_path):
    out = tmp_path / "x.csv"
    nothing = run("extract", messy, "-o", out, "--include", "*.ogg")
    assert nothing.exit_code == 1
    assert nothing.stderr.splitlines() == [f"Error: {messy}: folder holds no audio files"]
    for command in (["extract", messy, "-o", out], ["code", messy, "--json", out]):
        bad = run(*command, "--scheduler", "tcp://no-port")
        assert bad.exit_code == 2
        assert "--scheduler 'tcp://no-port' is not a Dask scheduler address" in bad.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["messy"]  # no output, no staging folder


def test_standard_input_among_files(mixed, tmp_path):
    """A real pipe: '-' is one input, labelled '-', listed first, computed here."""
    out = tmp_path / "x.csv"
    source = mixed / "f22050.wav"
    command = [sys.executable, "-m", "sfm_audio", "extract", "-", str(mixed / "f16000.wav"),
               "-o", str(out), "--jobs", "2", "-q"]
    with open(source, "rb") as stdin:
        done = subprocess.run(command, stdin=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _, rows = read_table(out, "csv")
    assert list(rows) == ["-", str(mixed / "f16000.wav")]
    ref = tmp_path / "ref.csv"
    extract_files([source, mixed / "f16000.wav"], ref)
    _, ref_rows = read_table(ref, "csv")
    assert [{**r, "file": "-"} for r in ref_rows[str(source)]] == rows["-"]

    twice = run("extract", "-", "-", "-o", tmp_path / "y.csv")
    assert twice.exit_code == 2 and "'-' (standard input) can be given only once" in twice.stderr


def test_standard_input_is_never_resumed(mixed, tmp_path):
    out = tmp_path / "x.csv"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    command = [sys.executable, "-m", "sfm_audio", "extract", "-", str(bad),
               str(mixed / "f16000.wav"), "-o", str(out), "--jobs", "1"]
    for extra in ([], ["--resume"]):
        with open(mixed / "f22050.wav", "rb") as stdin:
            done = subprocess.run(command + extra, stdin=stdin, capture_output=True, text=True,
                                  timeout=120)
        assert done.returncode == 1
    # the second run reused the good file's part, never standard input's
    assert "2 ok, 1 failed (1 reused from an earlier run)" in done.stderr
    _, rows = read_table(out, "csv")
    assert list(rows) == ["-", str(mixed / "f16000.wav")]


# --------------------------------------------------------------------------- code


@pytest.fixture(scope="module")
def ar_corpus(tmp_path_factory) -> Path:
    from scipy.signal import lfilter

    folder = tmp_path_factory.mktemp("ar")
    rng = np.random.default_rng(5)
    for k, rho in enumerate((0.5, 0.9, 0.95)):
        y = 0.1 * lfilter([np.sqrt(1 - rho**2)], [1, -rho], rng.standard_normal(16000))
        sf.write(folder / f"ar{k}.wav", y, 16000, subtype="PCM_16")
    return folder


CODE_ARGS = ["--block", "8", "--rates", "1", "--transform", "dct"]


def test_code_on_a_dask_cluster_equals_one_job(cluster, ar_corpus, tmp_path):
    one, dask = tmp_path / "one.json", tmp_path / "dask.json"
    r1 = run("code", ar_corpus, *CODE_ARGS, "--json", one, "--jobs", "1")
    assert r1.exit_code == 0, r1.output
    r2 = run("code", ar_corpus, *CODE_ARGS, "--json", dask, "--scheduler", cluster)
    assert r2.exit_code == 0, r2.output
    assert one.read_bytes() == dask.read_bytes()
    assert r1.stdout == r2.stdout  # the same reports printed in the same order
    doc = json.loads(dask.read_text())
    assert [r["file"] for r in doc["files"]] == [str(ar_corpus / f"ar{k}.wav") for k in range(3)]
    assert "3 ok, 0 failed" in r2.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.json", "one.json"]
    both = run("code", ar_corpus, "--jobs", "2", "--scheduler", cluster)
    assert both.exit_code == 2 and "use either --jobs" in both.output


def test_code_resume_codes_only_the_failed_files(ar_corpus, tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(ar_corpus, folder)
    (folder / "ar9.wav").write_bytes(b"")
    out, full = tmp_path / "r.json", tmp_path / "full.json"
    first = run("code", folder, *CODE_ARGS, "--json", out, "--jobs", "2")
    assert first.exit_code == 1 and "3 ok, 1 failed" in first.stderr
    assert "rerun with --resume" in first.stderr and staging_dir(out).is_dir()
    shutil.copy(folder / "ar0.wav", folder / "ar9.wav")  # the broken file is fixed
    second = run("code", folder, *CODE_ARGS, "--json", out, "--jobs", "2", "--resume")
    assert second.exit_code == 0, second.output
    assert "4 ok, 0 failed (3 reused from an earlier run)" in second.stderr
    assert not staging_dir(out).exists()
    assert run("code", folder, *CODE_ARGS, "--json", full, "--jobs", "1").exit_code == 0
    assert out.read_bytes() == full.read_bytes()
    no_json = run("code", folder, *CODE_ARGS, "--resume")
    assert no_json.exit_code == 2 and "resume needs a JSON output" in no_json.output


def test_code_scans_folders_as_extract_does(ar_corpus, tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(ar_corpus, folder)
    (folder / "._ar0.wav").write_bytes(b"AppleDouble")
    (folder / "notes.txt").write_text("take 3 was noisy\n")
    result = run("code", folder, *CODE_ARGS, "--exclude", "ar1*", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert f"skipped 1 file: unknown format ({folder / 'notes.txt'})" in result.stderr
    assert "2 ok, 0 failed" in result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines() if ".wav:" in line] == [
        str(folder / "ar0.wav"), str(folder / "ar2.wav")]
