#!/usr/bin/env python
"""Speed and memory of ``sfm-audio extract`` against librosa, on the same files, in one run.

    python scripts/bench_extract.py [--minutes 10] [--long-minutes 60] [--repeat 3]
                                    [--workdir DIR] [--skip-librosa-long]

Writes a seeded 44.1 kHz stereo 16-bit WAV of ``--minutes`` (and one of ``--long-minutes``
for memory), then times, each ``--repeat`` times (best kept):

* ``sfm-audio extract FILE -o out.npz`` (per-frame features + MPEG-7 bands), and ``-o out.csv``,
  as whole commands (interpreter start-up and imports included);
* librosa as a whole command: ``import librosa; y, sr = librosa.load(FILE, sr=None);
  librosa.feature.spectral_flatness(y=y)`` (per-frame only, no bands);
* librosa in-process, warm (imports and first-call costs excluded): the strictest comparison.

Peak resident memory (max RSS of the child process) is measured for extract on the short and
the long file (CSV output) and for librosa on the long file. Prints every number and the
ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _measure import measure

SR = 44100
HERE = Path(__file__).resolve().parent
SFM = [sys.executable, "-m", "sfm_audio"]
LIBROSA_JOB = (
    "import sys, librosa; y, sr = librosa.load(sys.argv[1], sr=None); "
    "librosa.feature.spectral_flatness(y=y)"
)


def make_file(path: Path, minutes: float, seed: int = 0) -> Path:
    """Music-like stereo: a few drifting harmonic tones, a noise floor and bursts."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    n_total = int(minutes * 60 * SR)
    block = 1 << 20
    with sf.SoundFile(path, "w", samplerate=SR, channels=2, subtype="PCM_16") as f:
        for start in range(0, n_total, block):
            n = min(block, n_total - start)
            t = (start + np.arange(n)) / SR
            tones = sum(0.08 / k * np.sin(2 * np.pi * 220 * k * t * (1 + 0.01 * np.sin(t / 7)))
                        for k in range(1, 6))
            noise = 0.02 * rng.standard_normal((n, 2))
            bursts = (np.sin(2 * np.pi * t / 3) > 0.95)[:, None] * 0.1 * rng.standard_normal((n, 2))
            f.write(np.clip(tones[:, None] + noise + bursts, -1, 1))
    return path


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one command."""
    done = measure(cmd)
    if done["rc"]:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{done['stderr']}")
    return done["wall"], done["peak_mb"]


def best(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = [run_child(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def librosa_warm(path: Path, repeat: int) -> float:
    import librosa

    y, _ = librosa.load(path, sr=None)
    librosa.feature.spectral_flatness(y=y[: SR * 10])  # first-call costs out of the timing
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        y, _ = librosa.load(path, sr=None)
        librosa.feature.spectral_flatness(y=y)
        times.append(time.perf_counter() - t)
        del y
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--long-minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the generated audio here (default: a temporary folder)")
    parser.add_argument("--skip-librosa-long", action="store_true",
                        help="do not measure librosa's memory on the long file (needs ~5 GB)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sfm-bench-"))
    work = args.workdir or tmp
    work.mkdir(parents=True, exist_ok=True)
    try:
        short = make_file(work / f"music_{args.minutes:g}min.wav", args.minutes)
        long = make_file(work / f"music_{args.long_minutes:g}min.wav", args.long_minutes, seed=1)
        print(f"file: {short.name} ({short.stat().st_size / 1e6:.0f} MB), 44.1 kHz stereo PCM_16")
        npz_t, npz_mem = best([*SFM, "extract", str(short), "-o", str(tmp / "o.npz"), "-q"],
                              args.repeat)
        csv_t, csv_mem = best([*SFM, "extract", str(short), "-o", str(tmp / "o.csv"), "-q"],
                              args.repeat)
        lib_t, lib_mem = best([sys.executable, "-c", LIBROSA_JOB, str(short)], args.repeat)
        warm_t = librosa_warm(short, args.repeat)
        print(f"sfm-audio extract -> .npz (frames, mpeg7): {npz_t:6.2f} s  {npz_mem:6.0f} MB")
        print(f"sfm-audio extract -> .csv (frames, mpeg7): {csv_t:6.2f} s  {csv_mem:6.0f} MB")
        print(f"librosa load + spectral_flatness, whole command: {lib_t:6.2f} s  {lib_mem:6.0f} MB")
        print(f"librosa load + spectral_flatness, warm in-process: {warm_t:6.2f} s")
        print(f"ratio npz / librosa command:   {npz_t / lib_t:.3f}  (goal <= 0.25)")
        print(f"ratio npz / librosa warm:      {npz_t / warm_t:.3f}")
        print(f"ratio csv / npz:               {csv_t / npz_t:.3f}  (goal <= 2)")

        long_t, long_mem = best([*SFM, "extract", str(long), "-o", str(tmp / "l.csv"), "-q"], 1)
        print(f"peak RSS extract -> csv, {args.minutes:g} min: {csv_mem:6.0f} MB; "
              f"{args.long_minutes:g} min: {long_mem:6.0f} MB ({long_t:.1f} s)  (goal < 150 MB)")
        if not args.skip_librosa_long:
            lt, lm = best([sys.executable, "-c", LIBROSA_JOB, str(long)], 1)
            print(f"peak RSS librosa, {args.long_minutes:g} min: {lm:6.0f} MB ({lt:.1f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
