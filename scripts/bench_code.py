"""Speed of the transform coder, measured against its floor in the same run.

1. Throughput: the whole coding pipeline as ``code`` runs it (two passes over the signal:
   transform, statistics, model fit, quantization, range encoding, range decoding and the
   check of every index, error measurement) against constriction's raw range coder encoding
   and decoding the very same symbols with the very same models. Target: the pipeline at
   least half the raw coder's speed.
2. Wall time, CPU time and peak memory of ``sfm-audio code`` on a generated 10-minute file
   with N = 32, four rates and three transforms. Target: under a minute on two cores.
3. The same for the default ``sfm-audio code`` (every transform, linear prediction, the
   per-frame duality; ``--jobs`` the cores). Targets: at most 40 s for 10 minutes, 5 s for
   one, peak memory at most 200 MB.
4. Where the time of that default run goes, section by section: the same experiment in this
   process (``run_experiment``, the same ``--jobs``), timed between its progress notes; with
   a pool, a section's time is how long the report waited for it.

Memory and CPU are those of the whole process tree (the pool's workers included), sampled
every 0.1 s; the machine's load average is printed before and after each run, since the
machine may be shared (CPU seconds are less sensitive to that than wall time).

Usage: python scripts/bench_code.py [--minutes 10] [--sr 44100] [--jobs N] [--keep DIR]
       [--no-throughput] [--no-sections]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _measure import measure_tree, positive
from scipy.signal import lfilter

from sfm_audio import io
from sfm_audio.coding import BlockCoder, block_covariance, coefficient_variances, transform_matrix
from sfm_audio.coding.coder import run_coders
from sfm_audio.coding.groups import CHUNK_BLOCKS


def make_audio(n: int, sr: int, seed: int = 0) -> np.ndarray:
    """Speech-like test audio: resonant noise with a syllabic envelope, plus a few tones."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    step = 1 << 20
    state = [np.zeros(2), np.zeros(2)]
    for start in range(0, n, step):
        m = min(step, n - start)
        t = (start + np.arange(m)) / sr
        w = rng.standard_normal(m)
        out = np.zeros(m)
        for k, (f, r) in enumerate([(500.0, 0.98), (1500.0, 0.95)]):
            a = [1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r]
            part, state[k] = lfilter([1.0], a, w, zi=state[k])
            out += part
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t) ** 2
        tones = 0.05 * np.sin(2 * np.pi * 220.0 * t) + 0.02 * np.sin(2 * np.pi * 3300.0 * t)
        y[start: start + m] = out * envelope + tones
    return 0.3 * y / np.max(np.abs(y))


def throughput(y: np.ndarray, block: int, rate: float, transform: str, repeats: int = 3):
    cov = block_covariance(y, block)
    basis = transform_matrix(transform, cov)
    v = coefficient_variances(cov, basis)
    mean = float(y.mean())
    best_pipeline = np.inf
    for _ in range(repeats):  # as `code` runs it: nothing kept but the measurements
        coder = BlockCoder(basis, v, rate=rate, transform=transform, samples=y.size)
        t0 = time.perf_counter()
        results, _ = run_coders(lambda: [y], block, mean, [coder], samples=y.size)
        best_pipeline = min(best_pipeline, time.perf_counter() - t0)
    # the symbols it coded, from one more run outside the clock that keeps them (keeping
    # them cost the pipeline 30-50 ms here, which the earlier script timed as the coder's)
    coder = BlockCoder(basis, v, rate=rate, transform=transform, samples=y.size)
    kept, pairs = run_coders(lambda: [y], block, mean, [coder], samples=y.size,
                             keep_indices=True)
    assert kept[0].bits == results[0].bits
    indices = pairs[0][0]
    # the same segments the pipeline codes: CHUNK_BLOCKS blocks each, coded independently
    segments = [
        [np.ascontiguousarray(indices[i : i + CHUNK_BLOCKS, j]) for j in range(block)]
        for i in range(0, indices.shape[0], CHUNK_BLOCKS)
    ]
    from sfm_audio.coding.entropy import new_decoder, new_encoder

    best_raw = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        n_words = 0
        for columns in segments:
            enc = new_encoder()
            for model, col in zip(coder.models, columns):
                model.encode(enc, col)
            words = enc.get_compressed()
            n_words += words.size
            dec = new_decoder(words)
            for model, col in zip(coder.models, columns):
                model.decode(dec, col.size)
        best_raw = min(best_raw, time.perf_counter() - t0)
    assert 32 * n_words == coder.payload_bits
    return y.size / best_pipeline, y.size / best_raw, results[0]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def sections(wav: Path, jobs: int) -> None:
    """The default experiment in this process, timed between its progress notes."""
    from sfm_audio.coding import run_experiment

    notes: list[tuple[float, str]] = []
    start = time.perf_counter()
    run_experiment(wav, jobs=jobs, progress=lambda m: notes.append((time.perf_counter(), m)))
    end = time.perf_counter()
    for (t, message), after in zip(notes, [t for t, _ in notes[1:]] + [end]):
        print(f"   {after - t:7.2f} s  {message}")
    print(f"   {end - start:7.2f} s  in all ({load()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=positive(float), default=10.0)
    parser.add_argument("--sr", type=positive(int), default=44100)
    parser.add_argument("--jobs", type=positive(int), default=len(os.sched_getaffinity(0)),
                        help="sfm-audio code --jobs (default: the cores)")
    parser.add_argument("--keep", type=Path, help="folder for the generated WAV and report")
    parser.add_argument("--no-throughput", action="store_true", help="skip part 1")
    parser.add_argument("--no-sections", action="store_true", help="skip part 4")
    args = parser.parse_args()
    # as the command and the pool's workers do: arrays of a few MB served from the heap, not
    # mapped and page-faulted in again for every segment
    from sfm_audio.corpus.malloc import tune_malloc

    tune_malloc()

    if not args.no_throughput:
        print("1. throughput: pipeline vs constriction's raw range coder on the same symbols")
        y = make_audio(1 << 21, args.sr, seed=1)
        ratios = []
        for transform in ("klt", "dct", "pcm"):
            for rate in (0.5, 1.0, 2.0, 4.0):
                pipe, raw, res = throughput(y, 32, rate, transform)
                ratios.append(pipe / raw)
                print(f"   {transform} N=32 R={rate:<4g} pipeline {pipe / 1e6:6.2f} Msamples/s   "
                      f"raw coder {raw / 1e6:6.2f} Msamples/s   ratio {pipe / raw:.2f}   "
                      f"({res.bits_per_sample:.3f} bit/sample)")
        print(f"   worst ratio {min(ratios):.2f} (target >= 0.5)")

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_code_"))
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / f"bench_{args.minutes:g}min.wav"
    n = int(args.minutes * 60 * args.sr)
    if not wav.exists() or io.info(wav).frames != n:
        io.write_wav(wav, make_audio(n, args.sr), args.sr)
    jobs = ["--jobs", str(args.jobs)]
    runs = [
        ("2", ["--block", "32", "--rates", "0.5,1,2,4", "--transform", "klt,dct,pcm", *jobs],
         "target < 60 s"),
        ("3", jobs, "default options; targets <= 40 s for 10 min, <= 5 s for 1 min, "
                    "<= 200 MB"),
    ]
    for number, options, target in runs:
        report = folder / f"bench_code_{number}.json"
        command = [sys.executable, "-m", "sfm_audio", "code", str(wav), *options,
                   "--json", str(report)]
        print(f"\n{number}. sfm-audio code {' '.join(command[4:])}")
        print(f"   ({args.minutes:g} min at {args.sr} Hz = {n} samples; {target})")
        print(f"   before: {load()}")
        done = measure_tree(command)
        if done["rc"]:
            print(done["stderr"])
            return 1
        print(f"   wall time {done['wall']:.1f} s = {done['wall'] * 60 / (args.minutes * 60):.2f}"
              f" s per minute of audio; CPU {done['cpu']:.1f} s over {done['processes']} "
              f"processes; peak memory {done['peak_mb']:.0f} MB in one process, "
              f"{done['peak_sum_mb']:.0f} MB all together")
        print(f"   after: {load()}")
        print("\n" + done["stdout"])
    if not args.no_sections:
        print(f"4. sections of the default run (run_experiment in this process, jobs={args.jobs})")
        sections(wav, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
