#!/usr/bin/env python
"""Corpus benchmark: how ``sfm-audio extract DIR`` scales with ``--jobs``, against its floor.

Writes a seeded corpus (default 96 files of 10 s, 44.1 kHz stereo 16-bit WAV, five kinds of
signal from ``scripts/make_test_signals.py``) into a temporary folder, then runs, as a user
runs them (a fresh process each time), in ``--repeat`` rounds whose order rotates:

* ``sfm-audio extract DIR -q -o out.FMT --jobs N`` for every format of ``--formats`` and
  every N of ``--jobs`` (default: 1 and every power of two up to the cores);
* the floor at N workers: a plain ``ProcessPoolExecutor(N)`` mapping
  ``sfm_audio.features.extract(path, threads=1)`` over the same files and writing nothing,
  also a fresh process (interpreter start-up and imports are in both);
* ``--scheduler`` against a local Dask cluster of N one-thread workers, N the largest
  ``--jobs`` (started before the clock runs, as a user's cluster would already be running),
  and its cost per file beyond the command's start-up (the 96-file run less the 24-file
  one), against the pool's;
* the same commands on the corpus's first 24 files.

Each command runs the CLI in a small wrapper that also reports the CPU time of the command's
own process (``resource.getrusage(RUSAGE_SELF)``: every thread of the parent, none of its
workers). Its cost per file beyond start-up is the difference between the 96-file and the
24-file runs divided by 72.

It prints each run's median time (and range), its speed-up over ``--jobs 1``, its ratio to
the floor at the same number of workers, the parent's CPU per file, and checks that every
output of a format is byte for byte the same whatever ``--jobs`` or scheduler. Goals (issue
21, 2-core machine): at ``--jobs 2`` the command within 1.15x of the floor, the parent's CPU
at most 2 ms per file, Dask within 1.2x of the pool at equal workers.

    python scripts/bench_batch.py [--files 96] [--small 24] [--seconds 10] [--sr 44100]
        [--channels 2] [--formats npz,csv,parquet] [--jobs 1,2] [--repeat 3] [--no-dask]
        [--keep DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent

# the command as the CLI runs it, plus the CPU time of this (the parent) process
COMMAND = """
import json, resource, sys
from sfm_audio.cli import main
try:
    main(sys.argv[1:], prog_name="sfm-audio")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
r = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": r.ru_utime + r.ru_stime, "rc": code}), file=sys.stderr)
sys.exit(code)
"""

# the floor: the library call on every file in a plain process pool, nothing written
FLOOR = """
import glob, sys
from concurrent.futures import ProcessPoolExecutor
def one(path):
    from sfm_audio import features
    features.extract(path, threads=1)
if __name__ == "__main__":
    files = sorted(glob.glob(sys.argv[1] + "/*.wav"))
    with ProcessPoolExecutor(int(sys.argv[2])) as pool:
        list(pool.map(one, files))
"""


def _signals_module():
    spec = importlib.util.spec_from_file_location("make_test_signals",
                                                  HERE / "make_test_signals.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_corpus(folder: Path, *, files: int, seconds: float, sr: int, channels: int) -> None:
    """``files`` seeded WAVs cycling through the test signals (silence replaced by noise)."""
    make = _signals_module()
    names = [n for n in make.NAMES if n != "silence"]
    n = int(round(sr * seconds))
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(files):
        name = names[k % len(names)]
        rng = np.random.default_rng([2024, k])
        block = np.stack([make.signal(name, n, sr, rng) for _ in range(channels)], axis=-1)
        block += 0.01 * rng.standard_normal(block.shape)  # every file different
        sf.write(folder / f"{k:03d}_{name}.wav", np.clip(block, -1, 1), sr, subtype="PCM_16")


def default_jobs() -> list[int]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1
    jobs, n = [1], 2
    while n <= cores:
        jobs.append(n)
        n *= 2
    return jobs


#: the environment every command runs in: this process's as it was before a Dask cluster
#: started here, which sets MALLOC_TRIM_THRESHOLD_=65536 and one BLAS thread in this
#: process's environment for its workers; inherited, that slowed the floor's workers (which
#: tune nothing, unlike the command's) by a fifth, and flattered the command's ratio to it
ENVIRONMENT = dict(os.environ)


def run(cmd: list[str]) -> tuple[float, float | None]:
    """Wall time of a command and, for the CLI wrapper, its parent process's CPU time."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=ENVIRONMENT)
    wall = time.perf_counter() - t0
    cpu = None
    for line in done.stderr.splitlines()[::-1]:
        if line.startswith("{"):
            cpu = json.loads(line)["cpu"]
            break
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return wall, cpu


def median(values: list[float]) -> float:
    return float(np.median(values))


def spread(values: list[float]) -> str:
    return f"{median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=96)
    parser.add_argument("--small", type=int, default=24,
                        help="files of the second corpus, for the parent's CPU per file")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sr", type=int, default=44100)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--formats", default="npz,csv,parquet")
    parser.add_argument("--jobs", default=None,
                        help="comma-separated (default: 1 and every power of two up to the "
                             "cores)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--keep", type=Path, default=None,
                        help="Write the corpus and outputs here and keep them.")
    opts = parser.parse_args()
    formats = opts.formats.split(",")
    jobs = [int(j) for j in opts.jobs.split(",")] if opts.jobs else default_jobs()
    top = max(jobs)

    work = opts.keep or Path(tempfile.mkdtemp(prefix="sfm-audio-bench-"))
    try:
        corpus, small = work / "corpus", work / "small"
        if not corpus.is_dir() or len(list(corpus.glob("*.wav"))) != opts.files:
            shutil.rmtree(corpus, ignore_errors=True)
            make_corpus(corpus, files=opts.files, seconds=opts.seconds, sr=opts.sr,
                        channels=opts.channels)
        shutil.rmtree(small, ignore_errors=True)
        small.mkdir()
        for path in sorted(corpus.glob("*.wav"))[:opts.small]:
            os.link(path, small / path.name)
        print(f"corpus: {opts.files} files x {opts.seconds:g} s, {opts.sr} Hz, "
              f"{opts.channels} ch; cores: {len(os.sched_getaffinity(0))}; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {opts.repeat} rounds")
        # an installed package has its bytecode compiled: write it once, outside the clock
        ENVIRONMENT.pop("PYTHONDONTWRITEBYTECODE", None)
        cli = [sys.executable, "-c", COMMAND, "extract", "-q"]
        run(cli + [str(small / next(iter(sorted(os.listdir(small))))), "-o",
                   str(work / "warm.npz")])

        runs: dict[tuple, list[str]] = {}
        for fmt in formats:
            for n in jobs:
                runs[("cmd", fmt, n)] = cli + [str(corpus), "-o", str(work / f"j{n}.{fmt}"),
                                              "--jobs", str(n)]
            runs[("small", fmt, top)] = cli + [str(small), "-o", str(work / f"s.{fmt}"),
                                               "--jobs", str(top)]
        for n in jobs:
            runs[("floor", "", n)] = [sys.executable, "-c", FLOOR, str(corpus), str(n)]

        cluster = None
        if not opts.no_dask:
            from distributed import LocalCluster

            cluster = LocalCluster(processes=True, n_workers=top, threads_per_worker=1,
                                   host="127.0.0.1", dashboard_address=None)
            for fmt in formats:
                runs[("dask", fmt, top)] = cli + [str(corpus), "-o",
                                                  str(work / f"dask.{fmt}"), "--scheduler",
                                                  cluster.scheduler_address]
                runs[("dask-small", fmt, top)] = cli + [str(small), "-o",
                                                        str(work / f"dask-s.{fmt}"),
                                                        "--scheduler", cluster.scheduler_address]
        walls = {key: [] for key in runs}
        cpus = {key: [] for key in runs}
        try:
            keys = list(runs)
            for r in range(opts.repeat):
                shift = r * len(keys) // max(1, opts.repeat)
                for key in keys[shift:] + keys[:shift]:
                    wall, cpu = run(runs[key])
                    walls[key].append(wall)
                    if cpu is not None:
                        cpus[key].append(cpu)
        finally:
            if cluster is not None:
                cluster.close()

        ok = True
        floor = {n: median(walls[("floor", "", n)]) for n in jobs}
        for n in jobs:
            print(f"floor, ProcessPoolExecutor({n}):       {spread(walls[('floor', '', n)])}")
        for fmt in formats:
            print(f"\n{fmt}:")
            base = median(walls[("cmd", fmt, 1)]) if 1 in jobs else None
            for n in jobs:
                t = median(walls[("cmd", fmt, n)])
                up = f"{base / t:5.2f}x" if base else "     "
                print(f"  --jobs {n:<3}  {spread(walls[('cmd', fmt, n)])}  speed-up {up}  "
                      f"/ floor {t / floor[n]:.2f}")
            if cluster is not None:
                td = median(walls[("dask", fmt, top)])
                tp = median(walls[("cmd", fmt, top)])
                print(f"  --scheduler ({top} Dask workers) {spread(walls[('dask', fmt, top)])}"
                      f"  / pool {td / tp:.2f} (goal <= 1.2)  / floor {td / floor[top]:.2f}")
                # what a file costs beyond the command's fixed start-up (importing distributed
                # and connecting are paid once per command): the 96-file run less the 24-file
                ts, tps = median(walls[("dask-small", fmt, top)]), \
                    median(walls[("small", fmt, top)])
                extra = opts.files - opts.small
                print(f"    per file beyond start-up: Dask {(td - ts) / extra * 1e3:.1f} ms, "
                      f"pool {(tp - tps) / extra * 1e3:.1f} ms: {(td - ts) / (tp - tps):.2f}; "
                      f"start-up {ts - tps:+.2f} s over the pool's (the {opts.small}-file runs)")
            big, little = median(cpus[("cmd", fmt, top)]), median(cpus[("small", fmt, top)])
            per_file = (big - little) / (opts.files - opts.small) * 1e3
            # each round's own difference too: the spread says how far to trust the median
            rounds = [(b - s) / (opts.files - opts.small) * 1e3
                      for b, s in zip(cpus[("cmd", fmt, top)], cpus[("small", fmt, top)])]
            print(f"  parent CPU at --jobs {top}: {opts.files} files {big:.2f} s, "
                  f"{opts.small} files {little:.2f} s: {per_file:.2f} ms per file "
                  f"(rounds {min(rounds):.2f}-{max(rounds):.2f}; goal <= 2)")
            if base and per_file > 0:
                # an estimate, not a measurement: the parent joins files one after another,
                # so it keeps up with at most (a worker's time per file / its own) workers
                worker_ms = base / opts.files * 1e3
                print(f"  a file takes one job {worker_ms:.0f} ms (--jobs 1); the parent "
                      f"keeps up with at most {worker_ms / per_file:.0f} workers")
            outputs = [work / f"j{n}.{fmt}" for n in jobs]
            if cluster is not None:
                outputs.append(work / f"dask.{fmt}")
            same = all(filecmp.cmp(outputs[0], o, shallow=False) for o in outputs[1:])
            print(f"  outputs byte-identical across --jobs{' and Dask' if cluster else ''}: "
                  f"{same}")
            ok &= same
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0 if ok else 1
    finally:
        if opts.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
