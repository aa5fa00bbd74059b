"""Corpus runs through the library (sfm_audio.corpus): pools, staging parts, resume, failures."""

from __future__ import annotations

import csv
import filecmp
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfm_audio import ParameterError
from sfm_audio import io as corpus_io
from sfm_audio.corpus import (
    Failure,
    default_jobs,
    expand_inputs,
    extract_files,
    staging_dir,
    write_errors,
)
from sfm_audio.corpus import malloc as corpus_malloc
from sfm_audio.corpus.executors import Job, ProcessPool, run_job
from sfm_audio.corpus.tables import TableTask
from sfm_audio.features import ExtractOptions


def make_corpus(folder: Path, n: int = 6, seconds: float = 1.0, sr: int = 16000) -> Path:
    """``n`` seeded mono WAVs (noise, tones, AR(1)), some in a subfolder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    for k in range(n):
        rng = np.random.default_rng([11, k])
        kind = k % 3
        if kind == 0:
            x = 0.1 * rng.standard_normal(t.size)
        elif kind == 1:
            x = 0.4 * np.sin(2 * np.pi * (200 + 150 * k) * t) + 0.01 * rng.standard_normal(t.size)
        else:
            x = np.cumsum(rng.standard_normal(t.size)) * 0.002
            x -= x.mean()
        where = folder / "sub" if k % 2 else folder
        sf.write(where / f"f{k:02d}.wav", np.clip(x, -1, 1), sr, subtype="PCM_16")
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def same_bytes(a: Path, b: Path) -> bool:
    return filecmp.cmp(a, b, shallow=False)


def test_default_jobs_counts_the_cores_this_process_may_use(monkeypatch):
    # an affinity mask of three cores on a machine of eight: three jobs, not eight
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert default_jobs() == 3

    def no_affinity(pid):
        raise OSError("not supported")

    monkeypatch.setattr(os, "sched_getaffinity", no_affinity)
    assert default_jobs() == 8
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one job
    assert default_jobs() == 1


def test_expand_inputs_sorted_unique(corpus, tmp_path):
    paths, failures = expand_inputs([corpus, str(corpus / "f00.wav"), str(corpus / "*.wav"),
                                     tmp_path / "none*.wav"])
    assert paths == sorted(paths) and len(paths) == len(set(paths)) == 6
    pattern = tmp_path / "none*.wav"
    assert [f.error for f in failures] == [f"{pattern}: no file matches this pattern"]


@pytest.mark.parametrize("fmt", ["csv", "npz", "jsonl", "parquet"])
def test_pool_output_equals_one_job(corpus, tmp_path, fmt):
    one = extract_files([corpus], tmp_path / f"one.{fmt}", jobs=1)
    two = extract_files([corpus], tmp_path / f"two.{fmt}", jobs=2)
    assert one.ok == two.ok == sorted(one.ok) and len(one.ok) == 6
    assert not one.failed and not two.failed
    assert same_bytes(tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"one.{fmt}", f"two.{fmt}"]


def test_pool_summary_equals_one_job(corpus, tmp_path):
    extract_files([corpus], tmp_path / "one.csv", summary=True, jobs=1)
    extract_files([corpus], tmp_path / "two.csv", summary=True, jobs=3)
    assert same_bytes(tmp_path / "one.csv", tmp_path / "two.csv")


def test_rows_follow_sorted_paths(corpus, tmp_path):
    out = tmp_path / "x.csv"
    extract_files([corpus], out, jobs=2, options=ExtractOptions(bands=None))
    with open(out, newline="") as fh:
        files = [row["file"] for row in csv.DictReader(fh)]
    order = list(dict.fromkeys(files))
    assert order == sorted(order) == expand_inputs([corpus])[0]


def _crash_on_boom(job: Job):
    """A job that kills its worker process for one file (picklable: module level)."""
    if "boom" in job.label:
        os._exit(7)
    return run_job(job)


def test_a_worker_that_dies_is_that_files_failure(corpus, tmp_path):
    staging = tmp_path / "parts"
    staging.mkdir()
    files = expand_inputs([corpus])[0]
    boom = tmp_path / "boom.wav"
    shutil.copy(files[0], boom)
    labels = files[:3] + [str(boom)] + files[3:]
    task = TableTask(ExtractOptions(), "csv", False, None)
    jobs = [Job(p, p, str(staging / f"{i}.csv"), task) for i, p in enumerate(labels)]
    results = {r.label: r for r in ProcessPool(2, _crash_on_boom).map(jobs)}
    assert set(results) == set(labels)
    assert results[str(boom)].failure is not None
    assert "the worker process died while processing this file" in results[str(boom)].failure.error
    assert all(results[p].failure is None for p in files)
    # workers killed with the pool may leave hidden temporaries, never a part
    assert len(list(staging.glob("[!.]*.csv"))) == len(files)


def test_a_worker_that_dies_in_a_batch_fails_only_its_file(corpus, tmp_path, monkeypatch):
    """Jobs go in batches of three: the death of a worker loses its whole batch, whose
    other files are run again one by one and succeed."""
    staging = tmp_path / "parts"
    staging.mkdir()
    files = expand_inputs([corpus])[0]
    boom = tmp_path / "boom.wav"
    shutil.copy(files[0], boom)
    labels = files[:1] + [str(boom)] + files[1:]  # boom shares its batch with two others
    task = TableTask(ExtractOptions(), "csv", False, None)
    jobs = [Job(p, p, str(staging / f"{i}.csv"), task) for i, p in enumerate(labels)]
    from sfm_audio.corpus import executors

    monkeypatch.setattr(executors, "batch_size", lambda left, workers: min(3, left))
    results = list(ProcessPool(2, _crash_on_boom).map(jobs))
    assert sorted(r.label for r in results) == sorted(labels)  # each once
    failed = [r.label for r in results if r.failure is not None]
    assert failed == [str(boom)]
    assert len(list(staging.glob("[!.]*.csv"))) == len(files)


def test_batches_shrink_toward_the_end():
    from sfm_audio.corpus import executors

    sizes, left = [], 40
    while left:
        sizes.append(executors.batch_size(left, 2))
        left -= sizes[-1]
    assert max(sizes) == executors.MAX_BATCH and sizes == sorted(sizes, reverse=True)
    assert sizes[-8:] == [1] * 8  # the last two batches of each worker: single files


class _FakeDask:
    """Just enough of a Dask client and ``as_completed`` for :meth:`DaskCluster.map`: tasks run
    here when submitted; a batch holding a "boom" job errs with KilledWorker (its worker
    died), and a worker that "wrote" a part this machine cannot see is faked by removing
    the part it wrote once."""

    class KilledWorker(Exception):
        pass

    loop = None

    def __init__(self, threads: int, hide: str | None = None):
        self.threads, self.hide, self.batches = threads, hide, []
        self.done: list = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def nthreads(self):
        return {f"w{k}": 1 for k in range(self.threads)}

    def submit(self, fn, batch, pure=False):
        from types import SimpleNamespace

        self.batches.append([job.label for job in batch])
        future = SimpleNamespace(key=len(self.batches), release=lambda: None)
        if any("boom" in job.label for job in batch):
            result = (self.KilledWorker, self.KilledWorker("boom"), None)
        else:
            result = fn(batch)
            for job, one in zip(batch, result):
                if self.hide and self.hide in job.label and one.data is None:
                    Path(job.part).unlink()  # written on a machine this one cannot see
                    self.hide = None
        self.done.append((future, result))
        return future

    def map(self, fn, batches, pure=False):
        return [self.submit(fn, batch) for batch in batches]

    def as_completed(self, futures, **kw):
        client = self

        class Finished:
            def __iter__(self):
                while client.done:
                    yield client.done.pop(0)

            def add(self, future):
                pass  # submit already queued its result

        return Finished()


@pytest.mark.parametrize("hide", [None, "f03"])
def test_dask_batches_isolate_a_killed_worker_and_fetch_unseen_parts(corpus, tmp_path,
                                                                    monkeypatch, hide):
    """On Dask, jobs go in batches; a batch whose worker died is run again job by job, so
    only the file that kills its worker fails; a part written where this machine cannot see
    it is asked for again as bytes."""
    distributed = pytest.importorskip("distributed")
    from sfm_audio.corpus import executors
    from sfm_audio.corpus.staging import STAGING_MARK

    fake = _FakeDask(threads=1, hide=hide)
    monkeypatch.setattr(executors.DaskCluster, "_client", lambda self: fake)
    monkeypatch.setattr(distributed, "as_completed", fake.as_completed)
    staging = tmp_path / "parts"
    staging.mkdir()
    (staging / STAGING_MARK).write_text("tok")
    files = expand_inputs([corpus])[0]
    boom = tmp_path / "boom.wav"
    shutil.copy(files[0], boom)
    labels = files[:1] + [str(boom)] + files[1:] + files[:4]  # 11 jobs, 11 // 4 = 2 at first
    task = TableTask(ExtractOptions(), "csv", False, None)
    jobs = [Job(p, p, str(staging / f"{i}.csv"), task, "tok") for i, p in enumerate(labels)]
    results = list(executors.DaskCluster("tcp://127.0.0.1:1").map(jobs))
    assert len(fake.batches[0]) == 2 and str(boom) in fake.batches[0]
    assert [str(boom)] in fake.batches and [files[0]] in fake.batches  # run again alone
    assert sorted(r.label for r in results) == sorted(labels)
    failed = [r for r in results if r.failure is not None]
    assert [r.label for r in failed] == [str(boom)]
    assert "the Dask workers running it died" in failed[0].failure.error
    fetched = [r for r in results if r.data is not None]
    assert [r.label for r in fetched] == ([] if hide is None else
                                          [p for p in files if "f03" in p][:1])


def _bad_corpus(folder: Path, good: Path) -> dict[str, Path]:
    folder.mkdir()
    data = (good / "f00.wav").read_bytes()
    paths = {"empty": folder / "empty.wav", "cut": folder / "cut.wav",
             "text": folder / "text.wav", "locked": folder / "locked.wav"}
    paths["empty"].write_bytes(b"")
    paths["cut"].write_bytes(data[: len(data) // 3])
    paths["text"].write_text("this is not audio\n" * 20)
    shutil.copy(good / "f00.wav", paths["locked"])
    return paths


def test_bad_files_are_listed_and_the_rest_done(corpus, tmp_path, monkeypatch):
    # Tests run as root, for whom chmod 000 does not stop reads; io checks os.access, so an
    # unreadable file is simulated there (jobs=1 runs in this process).
    bad = _bad_corpus(tmp_path / "bad", corpus)
    real_access = os.access
    monkeypatch.setattr(corpus_io.os, "access", lambda p, mode, **kw: (
        False if Path(p).name == "locked.wav" else real_access(p, mode, **kw)))
    out = tmp_path / "out.csv"
    report = extract_files([corpus, tmp_path / "bad"], out, jobs=1)
    assert len(report.ok) == 6 and report.output_written
    reasons = {Path(f.file).name: f.error for f in report.failed}
    assert sorted(reasons) == ["cut.wav", "empty.wav", "locked.wav", "text.wav"]
    assert reasons["empty.wav"] == f"{bad['empty']}: empty file (0 bytes)"
    assert reasons["locked.wav"] == f"{bad['locked']}: permission denied"
    assert reasons["cut.wav"].startswith(f"{bad['cut']}: truncated file (header declares")
    assert reasons["text.wav"].startswith(f"{bad['text']}: not a readable audio file")
    assert [f.file for f in report.failed] == sorted(f.file for f in report.failed)
    # the output is exactly a clean run over the good files
    extract_files([corpus], tmp_path / "clean.csv", jobs=1)
    assert same_bytes(out, tmp_path / "clean.csv")
    # the good files' parts are kept, so that resume retries only the failed ones
    assert report.staging == str(staging_dir(out))
    assert len(list(staging_dir(out).glob("*.csv"))) == 6


def test_write_errors(tmp_path):
    failures = [Failure("a,b.wav", "a,b.wav: empty file (0 bytes)"),
                Failure("x*.wav", "x*.wav: no file matches this pattern")]
    write_errors(tmp_path / "errors.csv", failures)
    with open(tmp_path / "errors.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"file": "a,b.wav", "error": "empty file (0 bytes)"},
                    {"file": "x*.wav", "error": "no file matches this pattern"}]
    assert [p.name for p in tmp_path.iterdir()] == ["errors.csv"]


def test_resume_after_interruption_reuses_finished_parts(corpus, tmp_path):
    out = tmp_path / "out.npz"
    done = []

    def interrupt_after_two(path, failure):
        done.append(path)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_files([corpus], out, jobs=1, on_file=interrupt_after_two)
    assert not out.exists()
    parts = sorted(staging_dir(out).glob("*.npz"))
    assert len(parts) == 2
    (staging_dir(out) / ".f03.wav.tmp123.npz").write_bytes(b"half a part")  # a killed write

    planned, computed = [], []
    report = extract_files([corpus], out, jobs=1, resume=True,
                           on_plan=lambda n, reused: planned.append((n, reused)),
                           on_file=lambda path, failure: computed.append(path))
    assert planned == [(4, 2)]
    assert sorted(report.reused) == sorted(done) and not set(computed) & set(done)
    assert not staging_dir(out).exists()
    extract_files([corpus], tmp_path / "clean.npz", jobs=2)
    assert same_bytes(out, tmp_path / "clean.npz")


def test_resume_uses_the_parts_it_finds(corpus, tmp_path):
    """A tampered part shows up in the output: resume really reuses parts, unread."""
    out = tmp_path / "out.csv"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    report = extract_files([corpus, bad], out, jobs=2)
    assert report.staging is not None and len(report.failed) == 1
    first = min(staging_dir(out).glob("*.csv"), key=lambda p: p.read_text())
    first.write_text(first.read_text().replace(",mix,0,", ",mix,0,TAMPERED", 1))
    shutil.copy(corpus / "f00.wav", bad)  # the broken file is fixed
    report = extract_files([corpus, bad], out, jobs=2, resume=True)
    assert not report.failed and len(report.reused) == 6 and len(report.ok) == 7
    assert "TAMPERED" in out.read_text()
    assert not staging_dir(out).exists()


def test_without_resume_stale_parts_are_cleared(corpus, tmp_path):
    out = tmp_path / "out.csv"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    extract_files([corpus, bad], out, jobs=1)
    for part in staging_dir(out).glob("*.csv"):
        part.write_text("stale\n")
    report = extract_files([corpus, bad], out, jobs=1)
    assert not report.reused and "stale" not in out.read_text()


def test_a_changed_input_is_computed_again(corpus, tmp_path):
    src = make_corpus(tmp_path / "c", n=3)
    out = tmp_path / "out.csv"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    extract_files([src, bad], out, jobs=1)
    sf.write(src / "f00.wav", np.zeros(8000), 16000, subtype="PCM_16")  # new content
    report = extract_files([src, bad], out, jobs=1, resume=True)
    assert len(report.reused) == 2 and str(src / "f00.wav") not in report.reused
    clean = tmp_path / "clean.csv"
    extract_files([src], clean, jobs=1)
    assert out.read_text() == clean.read_text()


def test_a_foreign_folder_is_never_removed(corpus, tmp_path):
    out = tmp_path / "out.csv"
    staging_dir(out).mkdir()
    (staging_dir(out) / "mine.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="was not made by sfm-audio"):
        extract_files([corpus], out, jobs=1)
    assert (staging_dir(out) / "mine.txt").read_text() == "keep me"


def test_a_lone_file_needs_no_parts(corpus, tmp_path):
    out = tmp_path / "one.csv"
    report = extract_files([corpus / "f00.wav"], out, jobs=2, threads=2)
    assert report.ok == [str(corpus / "f00.wav")] and report.staging is None
    assert [p.name for p in tmp_path.iterdir()] == ["one.csv"]


def test_bad_arguments(corpus, tmp_path):
    with pytest.raises(ParameterError, match="jobs=0 must be a positive integer"):
        extract_files([corpus], tmp_path / "x.csv", jobs=0)
    with pytest.raises(ParameterError, match="resume needs an output file"):
        extract_files([corpus], "-", resume=True)


def test_stdout_with_a_pool(corpus, tmp_path, capsys):
    import io as stdio

    buffer = stdio.StringIO()
    extract_files([corpus], "-", jobs=2, stdout=buffer)
    extract_files([corpus], tmp_path / "x.csv", jobs=1)
    assert buffer.getvalue() == (tmp_path / "x.csv").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a fork server needs POSIX")
def test_pool_workers_fork_from_a_frozen_server():
    """The fork server freezes what it imported (gc.freeze), so a worker's garbage
    collections leave the pages it shares with the server alone: about 8 MB of the tree of
    `code --jobs 2` (scripts/bench_code.py)."""
    import gc

    from sfm_audio.corpus.executors import process_pool

    with process_pool(1, preload=("sfm_audio.features",)) as pool:
        assert pool.submit(gc.get_freeze_count).result() > 1000


def test_malloc_tuning_on_dask_workers_is_scoped(monkeypatch):
    # Dask's nanny gives workers fixed thresholds: tuned while jobs run, then restored
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    calls = []
    monkeypatch.setattr(corpus_malloc, "_mallopt", calls.append)
    with corpus_malloc.malloc_tuned_while_running():
        with corpus_malloc.malloc_tuned_while_running():
            assert corpus_malloc._malloc_users == 2
        assert corpus_malloc._malloc_users == 1
    assert corpus_malloc._malloc_users == 0
    # tuned once on entry, the nanny's thresholds put back once on exit
    assert calls == [corpus_malloc._MALLOC_TUNED, {corpus_malloc._M_MMAP_THRESHOLD: 128 * 1024,
                                                   corpus_malloc._M_TRIM_THRESHOLD: 65536}]
    # a process with glibc's adaptive thresholds is left alone
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    with corpus_malloc.malloc_tuned_while_running():
        assert corpus_malloc._malloc_users == 0
    assert len(calls) == 2


# ------------------------------------------------------------ joins that stream (issue 21)


def _parts(corpus: Path, folder: Path, fmt: str):
    """Every corpus file's part, written as a job writes it; (paths, part_of, schema)."""
    from sfm_audio.corpus.tables import _corpus_schema

    folder.mkdir()
    paths = expand_inputs([corpus])[0]
    schema = _corpus_schema(paths, ExtractOptions(), False)
    task = TableTask(ExtractOptions(), fmt, False, schema)
    part_of = {p: folder / f"{i}.{fmt}" for i, p in enumerate(paths)}
    for p in paths:
        task(p, p, part_of[p])
    return paths, part_of, schema


@pytest.mark.parametrize("fmt", ["csv", "npz", "parquet", "jsonl"])
def test_the_order_parts_arrive_in_never_changes_the_output(corpus, tmp_path, fmt):
    """Parts settled in path order, in reverse, and shuffled with a failure (the way a pool
    or a cluster finishes them) give the bytes of a one-job run over the same good files."""
    from sfm_audio.corpus.joiner import TableJoiner

    paths, part_of, schema = _parts(corpus, tmp_path / "parts", fmt)
    rng = np.random.default_rng(21)
    orders = {"forward": list(paths), "reverse": paths[::-1],
              "shuffled": list(rng.permutation(paths))}
    failed = paths[2]
    for name, order in orders.items():
        out = tmp_path / f"{name}.{fmt}"
        joiner = TableJoiner(fmt, paths, part_of, schema, tmp_path / "parts", out)
        for path in order:
            joiner.settle(path, not (name == "shuffled" and path == failed))
        assert joiner.finish()
    one = tmp_path / f"one.{fmt}"
    extract_files([corpus], one, jobs=1)
    assert same_bytes(one, tmp_path / f"forward.{fmt}")
    assert same_bytes(one, tmp_path / f"reverse.{fmt}")
    good = [p for p in paths if p != failed]
    extract_files(good, tmp_path / f"good.{fmt}", jobs=1)
    assert same_bytes(tmp_path / f"good.{fmt}", tmp_path / f"shuffled.{fmt}")
    # the parts are untouched (resume reuses them) and no temporary is left beside them
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == \
        sorted(p.name for p in part_of.values())


@pytest.mark.parametrize("block", ["whole parts", "a few columns", "within a column"])
@pytest.mark.parametrize("batch", ["none", "some parts", "all parts"])
def test_npz_join_batched_or_block_by_block_gives_the_same_bytes(corpus, tmp_path,
                                                                 monkeypatch, batch, block):
    """Columns written to the spools at once (no batch), a batch of a few parts at a time,
    or all at the end; parts read whole, a few columns at a time, or each column in several
    blocks: the NPZ of one job, byte for byte."""
    from sfm_audio import writers

    one = tmp_path / "one.npz"
    extract_files([corpus], one, jobs=1)
    with np.load(one) as table:
        size = sum(table[k].nbytes for k in table.files if k not in ("files", "file_index"))
        parts = len(table["files"])
        column = min(table[k].nbytes for k in table.files
                     if k not in ("files", "file_index")) // parts  # a part's column, about
    limit = {"none": 0, "some parts": int(1.5 * size / parts), "all parts": 4 * size}[batch]
    monkeypatch.setattr(writers.NpzJoin, "BATCH", limit)
    read = {"whole parts": 4 * size, "a few columns": 3 * column,
            "within a column": max(column // 3, 1)}[block]
    monkeypatch.setattr(writers.NpzJoin, "BLOCK", read)
    monkeypatch.setattr(writers.NpzJoin, "MEMORY", 0)  # spools on disk as well
    flushes = []
    flush = writers.NpzJoin._flush

    def counted(self):
        flushes.append(self._waiting_bytes)
        flush(self)

    monkeypatch.setattr(writers.NpzJoin, "_flush", counted)
    two = tmp_path / "two.npz"
    extract_files([corpus], two, jobs=2)
    assert same_bytes(one, two)
    if batch == "some parts":  # a batch was written before the end
        assert sum(1 for b in flushes[:-1] if b > 0) >= 1


def test_parquet_join_gathers_parts_into_row_groups(corpus, tmp_path, monkeypatch):
    """The join writes a row group once the parts' rows reach ROW_GROUP (the rule of a table
    written directly), not one per part; the same bytes whatever ``jobs``, the same rows as
    each file's own table."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow.compute as pc

    from sfm_audio import writers

    monkeypatch.setattr(writers._ParquetWriter, "ROW_GROUP", 50)  # 32 rows per 1-s file
    outs = {jobs: tmp_path / f"j{jobs}.parquet" for jobs in (1, 2)}
    for jobs, out in outs.items():
        assert not extract_files([corpus], out, jobs=jobs).failed
    assert same_bytes(outs[1], outs[2])
    meta = pq.ParquetFile(outs[1]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [64, 64, 64]  # two parts of 32 rows each, three times
    joined = pq.read_table(outs[1])
    for k, path in enumerate(expand_inputs([corpus])[0]):
        own = tmp_path / f"own{k}.parquet"
        extract_files([path], own)
        mine = joined.filter(pc.equal(joined["file"], path))
        assert mine.equals(pq.read_table(own))


@pytest.mark.parametrize("block", [16, 4 << 20])
@pytest.mark.parametrize("batch", [0, 4 << 20])
def test_a_truncated_npz_part_is_refused(tmp_path, monkeypatch, batch, block):
    import json

    from sfm_audio import writers
    from sfm_audio.writers import NpzJoin, frame_schema

    monkeypatch.setattr(writers.NpzJoin, "BATCH", batch)
    monkeypatch.setattr(writers.NpzJoin, "BLOCK", block)
    meta = json.dumps({"rows": 10, "files": ["a.wav"]}).encode()
    part = tmp_path / "p.part"
    # 10 rows of frame (int64), time_s (float64) and sfm (float32) need 200 bytes; 100 given
    part.write_bytes(writers._NPZ_PART_MAGIC + len(meta).to_bytes(8, "little") + meta
                     + bytes(100))
    join = NpzJoin(tmp_path / "out.npz", frame_schema(["sfm"]))
    with pytest.raises(OSError, match="truncated part"):
        join.append(part)
    join.abort()


@pytest.mark.parametrize("fmt", ["csv", "npz", "parquet"])
def test_three_jobs_with_a_bad_file_equal_one_job(corpus, tmp_path, fmt, monkeypatch):
    """Byte-identical whatever ``jobs``, with NPZ columns spilled to disk (no memory budget)
    and a bad file among the good ones: one error row, the same table."""
    from sfm_audio import writers

    monkeypatch.setattr(writers.NpzJoin, "MEMORY", 0)
    folder = tmp_path / "c"
    shutil.copytree(corpus, folder)
    (folder / "sub" / "f02_bad.wav").write_text("not audio\n")
    outs, errors = {}, {}
    for jobs in (1, 2, 3):
        outs[jobs] = tmp_path / f"j{jobs}.{fmt}"
        report = extract_files([folder], outs[jobs], jobs=jobs)
        assert len(report.ok) == 6 and report.output_written
        errors[jobs] = [(f.file, f.error) for f in report.failed]
    assert errors[1] == errors[2] == errors[3] and len(errors[1]) == 1
    assert same_bytes(outs[1], outs[2]) and same_bytes(outs[1], outs[3])


def test_an_npz_join_refuses_a_part_of_another_layout(tmp_path):
    from sfm_audio.writers import NpzJoin, frame_schema

    stale = tmp_path / "old.npz"
    np.savez(stale, x=np.zeros(3))  # a part as an earlier version wrote it: a real NPZ
    join = NpzJoin(tmp_path / "out.npz", frame_schema(["sfm"]))
    with pytest.raises(OSError, match="not an NPZ part of this version"):
        join.append(stale)
    join.abort()
