"""Speed of the transform coder, measured against its floor in the same run.

1. Throughput: the whole coding pipeline (transform, statistics, model fit, quantization,
   range encoding, range decoding, reconstruction, error measurement) against constriction's
   raw range coder encoding and decoding the very same symbols with the very same models.
   Target: the pipeline at least half the raw coder's speed.
2. Wall time and peak memory of ``sfm-audio code`` on a generated 10-minute file with N = 32,
   four rates and three transforms. Target: under a minute on two cores.
3. The same for the default ``sfm-audio code`` (every transform, linear prediction, the
   per-frame duality). Target: well under 200 MB, memory not growing with the file.

Usage: python scripts/bench_code.py [--minutes 10] [--sr 44100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _measure import measure
from scipy.signal import lfilter

from sfm_audio import io
from sfm_audio.coding import BlockCoder, block_covariance, coefficient_variances, transform_matrix
from sfm_audio.coding.coder import CHUNK_BLOCKS, run_coders


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
    for _ in range(repeats):
        coder = BlockCoder(basis, v, rate=rate, transform=transform, samples=y.size)
        t0 = time.perf_counter()
        results, pairs = run_coders(lambda: [y], block, mean, [coder], samples=y.size,
                                    keep_indices=True)
        best_pipeline = min(best_pipeline, time.perf_counter() - t0)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sr", type=int, default=44100)
    parser.add_argument("--keep", type=Path, help="folder for the generated WAV and report")
    args = parser.parse_args()

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
    runs = [
        ("2", ["--block", "32", "--rates", "0.5,1,2,4", "--transform", "klt,dct,pcm"],
         "target < 60 s"),
        ("3", [], "default options; target well under 200 MB"),
    ]
    for number, options, target in runs:
        report = folder / f"bench_code_{number}.json"
        command = [sys.executable, "-m", "sfm_audio", "code", str(wav), *options,
                   "--json", str(report)]
        print(f"\n{number}. wall time: {' '.join(command[2:])}")
        print(f"   ({args.minutes:g} min at {args.sr} Hz = {n} samples; {target})")
        done = measure(command)
        if done["rc"]:
            print(done["stderr"])
            return 1
        print(f"   wall time {done['wall']:.1f} s; peak memory {done['peak_mb']:.0f} MB")
        print("\n" + done["stdout"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
