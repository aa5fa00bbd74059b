"""``sfm-audio extract`` over corpora: --jobs, --scheduler (a real Dask cluster), --errors,
--resume after a SIGKILL, and the progress bar."""

from __future__ import annotations

import csv
import filecmp
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import io as audio_io
from sfm_audio.cli import extract as extract_cli
from sfm_audio.cli import main
from sfm_audio.corpus import executors, extract_files, staging_dir
from sfm_audio.corpus.staging import STAGING_MARK, Staging

FORMATS = ["csv", "npz", "jsonl", "parquet"]


def run(*args):
    return CliRunner().invoke(main, ["extract", *map(str, args)])


def make_corpus(folder: Path, n: int = 6, seconds: float = 1.0, sr: int = 16000) -> Path:
    """``n`` seeded mono WAVs, some in a subfolder."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    for k in range(n):
        rng = np.random.default_rng([23, k])
        x = 0.3 * np.sin(2 * np.pi * (300 + 97 * k) * t) + 0.05 * rng.standard_normal(t.size)
        where = folder / "sub" if k % 2 else folder
        sf.write(where / f"f{k:02d}.wav", x, sr, subtype="PCM_16")
    return folder


def add_bad_files(folder: Path, good: Path) -> dict[str, Path]:
    """Zero-length, truncated and text-named-.wav files next to good ones (f03.wav sorts
    between good files: the join must skip it in the middle)."""
    data = good.read_bytes()
    bad = {"empty": folder / "empty.wav", "cut": folder / "cut.wav",
           "text": folder / "text.wav", "middle": folder / "f03.wav"}
    bad["empty"].write_bytes(b"")
    bad["middle"].write_bytes(b"")
    bad["cut"].write_bytes(data[: len(data) // 2])
    bad["text"].write_text("definitely not audio\n" * 30)
    return bad


def read_errors(path: Path) -> dict[str, str]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(list(row) == ["file", "error"] for row in rows)
    return {Path(row["file"]).name: row["error"] for row in rows}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def broken(tmp_path_factory, corpus) -> Path:
    folder = tmp_path_factory.mktemp("broken")
    shutil.copytree(corpus, folder, dirs_exist_ok=True)
    add_bad_files(folder, corpus / "f00.wav")
    return folder


@pytest.fixture(scope="module")
def local(tmp_path_factory, corpus) -> dict[str, Path]:
    """Reference outputs of a one-job run, per format."""
    out = tmp_path_factory.mktemp("local")
    refs = {}
    for fmt in FORMATS:
        refs[fmt] = out / f"ref.{fmt}"
        result = run(corpus, "-o", refs[fmt], "--jobs", "1")
        assert result.exit_code == 0, result.output
    return refs


# --------------------------------------------------------------------------- --jobs


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_jobs_equal_one(corpus, local, tmp_path, fmt):
    out = tmp_path / f"x.{fmt}"
    result = run(corpus, "-o", out, "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "6 ok, 0 failed" in result.stderr
    assert filecmp.cmp(out, local[fmt], shallow=False)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no staging folder left


def test_default_jobs_is_the_core_count(corpus, tmp_path, monkeypatch):
    seen = []
    real = extract_cli.extract_files

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(extract_cli, "extract_files", spy)
    monkeypatch.setattr(extract_cli, "default_jobs", lambda: 3)
    assert run(corpus, "-o", tmp_path / "a.csv").exit_code == 0
    assert run(corpus / "f00.wav", "-o", tmp_path / "b.csv").exit_code == 0
    assert run(corpus / "f00.wav", "-o", tmp_path / "c.csv", "--jobs", "1").exit_code == 0
    assert [(k["jobs"], k["threads"], k["scheduler"]) for k in seen] == [
        (3, 2, None), (3, 2, None), (1, 1, None)]  # a lone file keeps two threads


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--jobs", "0"], "0 is not in the range x>=1"),
     (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "use either --jobs"),
     (["-o", "-", "--resume"], "resume needs an output file"),
     (["--errors", "{out}"], "must not be the output table"),
     (["--errors", "{tmp}/nope/errors.csv"], "does not exist")],
)
def test_bad_corpus_options(corpus, tmp_path, args, message):
    out = tmp_path / "x.csv"
    args = [a.format(out=out, tmp=tmp_path) for a in args]
    if "-o" not in args:
        args = ["-o", out, *args]
    result = run(corpus, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert [p.name for p in tmp_path.iterdir()] == []


# --------------------------------------------------------------------------- failures


def test_broken_files_with_a_pool(broken, local, tmp_path):
    out, errors = tmp_path / "x.csv", tmp_path / "errors.csv"
    result = run(broken, "-o", out, "--jobs", "2", "--errors", errors)
    assert result.exit_code == 1
    assert "6 ok, 4 failed" in result.stderr and "Traceback" not in result.output
    assert "Error:" not in result.stderr  # failures go to the CSV
    reasons = read_errors(errors)
    assert list(reasons) == ["cut.wav", "empty.wav", "f03.wav", "text.wav"]  # sorted
    assert reasons["f03.wav"] == "empty file (0 bytes)"
    assert reasons["cut.wav"].startswith("truncated file (header declares")
    assert reasons["empty.wav"] == "empty file (0 bytes)"
    assert reasons["text.wav"].startswith("not a readable audio file")
    # the output holds every good file and nothing else: a clean run over the good ones
    good = sorted(str(p) for p in broken.rglob("f*.wav") if p.stat().st_size)
    assert run(*good, "-o", tmp_path / "good.csv", "--jobs", "1").exit_code == 0
    assert filecmp.cmp(out, tmp_path / "good.csv", shallow=False)
    with open(out, newline="") as fh:
        assert {Path(r["file"]).name for r in csv.DictReader(fh)} == {
            f"f{k:02d}.wav" for k in range(6)}


def test_broken_files_without_errors_csv(broken, tmp_path):
    result = run(broken, "-o", tmp_path / "x.npz", "--jobs", "2")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert [e.split(": ")[1].rsplit("/", 1)[-1] for e in errors] == [
        "cut.wav", "empty.wav", "f03.wav", "text.wav"]
    assert "6 ok, 4 failed" in result.stderr
    assert "rerun with --resume to retry only the failed files" in result.stderr
    data = np.load(tmp_path / "x.npz")
    assert len(data["files"]) == 6 and data["sfm"].size > 0


def test_unreadable_file(corpus, tmp_path, monkeypatch):
    """Tests run as root, whom chmod 000 does not stop; io checks os.access before opening,
    so the denial is simulated there, in a one-job (in-process) run."""
    locked = tmp_path / "locked.wav"
    shutil.copy(corpus / "f00.wav", locked)
    real_access = os.access
    monkeypatch.setattr(audio_io.os, "access", lambda p, mode, **kw: (
        False if Path(p) == locked else real_access(p, mode, **kw)))
    errors = tmp_path / "errors.csv"
    result = run(corpus, locked, "-o", tmp_path / "x.csv", "--jobs", "1", "--errors", errors)
    assert result.exit_code == 1 and "6 ok, 1 failed" in result.stderr
    assert read_errors(errors) == {"locked.wav": "permission denied"}


def test_every_file_a_usage_error_exits_2(corpus, tmp_path):
    result = run(corpus, "-o", tmp_path / "x.csv", "--channels", "1", "--jobs", "2")
    assert result.exit_code == 2
    assert "--channels 1 is out of range" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == []


def test_errors_csv_is_written_when_nothing_failed(corpus, tmp_path):
    errors = tmp_path / "errors.csv"
    result = run(corpus, "-o", tmp_path / "x.csv", "--jobs", "2", "--errors", errors)
    assert result.exit_code == 0
    assert errors.read_text() == "file,error\n"


# --------------------------------------------------------------------------- Dask


@pytest.mark.parametrize("fmt", FORMATS)
def test_dask_cluster_output_equals_local(cluster, corpus, local, tmp_path, fmt):
    out = tmp_path / f"x.{fmt}"
    result = run(corpus, "-o", out, "--scheduler", cluster, "-q")
    assert result.exit_code == 0, result.output
    assert filecmp.cmp(out, local[fmt], shallow=False)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_dask_relative_paths_and_summary(cluster, corpus, tmp_path, monkeypatch):
    """Workers get absolute paths; the file column keeps the path as given."""
    monkeypatch.chdir(corpus.parent)
    rel = corpus.name
    ref, out = tmp_path / "ref.csv", tmp_path / "dask.csv"
    assert run(rel, "-o", ref, "--summary", "--jobs", "1").exit_code == 0
    result = run(rel, "-o", out, "--summary", "--scheduler", cluster)
    assert result.exit_code == 0, result.output
    assert filecmp.cmp(out, ref, shallow=False)
    assert f"\n{rel}/f00.wav,mix," in out.read_text()


def test_dask_broken_files(cluster, broken, tmp_path):
    ref, ref_errors = tmp_path / "ref.csv", tmp_path / "ref_errors.csv"
    out, errors = tmp_path / "dask.csv", tmp_path / "dask_errors.csv"
    assert run(broken, "-o", ref, "--jobs", "1", "--errors", ref_errors).exit_code == 1
    result = run(broken, "-o", out, "--scheduler", cluster, "--errors", errors)
    assert result.exit_code == 1 and "6 ok, 4 failed" in result.stderr
    assert filecmp.cmp(out, ref, shallow=False)
    assert errors.read_text() == ref_errors.read_text()
    assert len(read_errors(errors)) == 4


def test_dask_workers_that_cannot_see_the_staging_folder_send_bytes(
        cluster, corpus, local, tmp_path, monkeypatch):
    """Workers write parts straight into the staging folder only when its marker holds the
    run's token; here the token differs, so every part travels back as bytes."""
    real = Staging.__init__

    def elsewhere(self, *args, **kwargs):
        real(self, *args, **kwargs)
        self.token = "elsewhere-" + self.token

    monkeypatch.setattr(Staging, "__init__", elsewhere)
    out = tmp_path / "x.parquet"
    report = extract_files([corpus], out, scheduler=cluster)
    assert len(report.ok) == 6 and not report.failed
    assert filecmp.cmp(out, local["parquet"], shallow=False)


def test_dask_parts_the_client_cannot_see_are_sent_again(cluster, corpus, local, tmp_path,
                                                         monkeypatch):
    """A part a worker wrote but this machine does not see (say, a stale NFS lookup) is
    asked for again as bytes."""
    hidden = set()

    class FlakyPath(type(Path())):
        def is_file(self):
            if self.suffix == ".csv" and self.parent.name.endswith(".parts") and \
                    str(self) not in hidden:
                hidden.add(str(self))
                return False
            return super().is_file()

    monkeypatch.setattr(executors, "Path", FlakyPath)
    out = tmp_path / "x.csv"
    report = extract_files([corpus], out, scheduler=cluster)
    assert len(report.ok) == 6 and not report.failed and len(hidden) == 6
    assert filecmp.cmp(out, local["csv"], shallow=False)


def test_a_job_writes_its_part_only_where_the_token_matches(corpus, tmp_path):
    import dataclasses

    from sfm_audio.corpus.tables import TableTask
    from sfm_audio.features import ExtractOptions

    (tmp_path / STAGING_MARK).write_text("abc")
    part = tmp_path / "part.csv"
    task = TableTask(ExtractOptions(), "csv", False, None)
    job = executors.Job(str(corpus / "f00.wav"), "f00.wav", str(part), task, "abc")
    written = executors.run_job(job)
    assert written.failure is None and written.data is None and part.is_file()
    sent = executors.run_job(dataclasses.replace(job, token="xyz"))
    assert sent.failure is None and sent.data == part.read_bytes()
    assert executors.run_job(dataclasses.replace(job, token="")).data == part.read_bytes()


def test_dask_missing_gives_a_clear_message(corpus, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("distributed") or name.startswith("dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    result = run(corpus, "-o", tmp_path / "x.csv", "--scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert "pip install 'sfm-audio[dask]'" in result.output


# --------------------------------------------------------------------------- resume


def test_resume_after_sigkill(tmp_path):
    """Kill a --jobs 2 run (the whole process group) once some parts exist, resume it, and
    compare with one uninterrupted run. A broken file makes both runs end with one failure,
    so the staging folder survives the resumed run and its parts can be inspected."""
    corpus = make_corpus(tmp_path / "corpus", n=24, seconds=8)
    (corpus / "zz_empty.wav").write_bytes(b"")
    out = tmp_path / "out" / "frames.csv"
    out.parent.mkdir()
    args = ["-o", str(out), "--hop-length", "32", "--bands", "octave", "-q"]
    command = [sys.executable, "-m", "sfm_audio", "extract", str(corpus), *args]
    proc = subprocess.Popen(command + ["--jobs", "2"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    staging = staging_dir(out)
    deadline = time.monotonic() + 60
    try:
        while len(list(staging.glob("[!.]*.csv"))) < 4:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.002)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    done = {p.name: p.stat().st_mtime_ns for p in staging.glob("[!.]*.csv")}
    assert 4 <= len(done) < 24

    resumed = subprocess.run(command[:-1] + ["--jobs", "2", "--resume"], capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 1, resumed.stderr
    assert f"24 ok, 1 failed ({len(done)} reused from an earlier run)" in resumed.stderr
    after = {p.name: p.stat().st_mtime_ns for p in staging.glob("[!.]*.csv")}
    assert len(after) == 24 and {k: after[k] for k in done} == done  # not recomputed
    assert not list(staging.glob(".*"))  # no half-written leftovers

    clean = tmp_path / "clean"
    clean.mkdir()
    full = subprocess.run([sys.executable, "-m", "sfm_audio", "extract", str(corpus), *args[2:],
                           "-o", str(clean / "frames.csv"), "--jobs", "1"],
                          capture_output=True, text=True, timeout=120)
    assert full.returncode == 1, full.stderr
    assert filecmp.cmp(out, clean / "frames.csv", shallow=False)


def test_resume_after_a_complete_run_recomputes(corpus, local, tmp_path):
    out = tmp_path / "x.csv"
    assert run(corpus, "-o", out, "--jobs", "2").exit_code == 0
    result = run(corpus, "-o", out, "--jobs", "2", "--resume")
    assert result.exit_code == 0 and "reused" not in result.stderr
    assert filecmp.cmp(out, local["csv"], shallow=False)


# --------------------------------------------------------------------------- progress


def test_progress_bar_reports_files(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(extract_cli, "_progress_wanted", lambda quiet: not quiet)
    result = run(corpus, "-o", tmp_path / "x.csv", "--jobs", "2")
    assert result.exit_code == 0
    assert "files" in result.stderr


def test_file_progress_rate():
    progress = extract_cli._FileProgress()
    progress.plan(4, 2)
    assert progress.bar.label == "files (2 done before)"
    assert progress._rate(None) is None
    progress.file("a.wav", None)
    assert progress._rate(None).endswith(" files/s")
    progress.close()
