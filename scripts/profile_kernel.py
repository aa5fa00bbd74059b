#!/usr/bin/env python
"""What each step of the extraction kernel costs, as a fraction of the window + FFT.

    python scripts/profile_kernel.py [--minutes 10] [--rounds 3]

On the seeded music-like array of ``bench_extract.py`` (44.1 kHz mono, n_fft 2048, hop 512),
cut into the kernel's chunks of frames, one thread. For every chunk, each variant below runs
once, in a shuffled order, and only its own steps are timed: the machine's slow spells then
fall on all variants alike. Variants (each includes the ones above it where said):

* ``window+fft``: window and float64 rfft of the chunk, 64 frames per call;
* ``+power``: the same through :func:`sfm_audio.kernel.power_frames` (``|X|²`` floored);
* ``+frame stats``: and the frame features (SFM, dB, tonality, crest) over all bins;
* ``+bands``: and the 24 MPEG-7 band SFMs and crests;
* ``levels``: the frame level and peak from the samples (alone).

Prints each variant's time and its ratio to ``window+fft``.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
from _measure import positive
from bench_extract import make_array

from sfm_audio.bands import mpeg7_bands
from sfm_audio.kernel import FFT_BATCH_SAMPLES, ChunkKernel, frame_levels, power_frames
from sfm_audio.stft import FRAMES_PER_CHUNK, StftParams, array_segments, scratch

SR = 44100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=positive(float), default=10.0)
    parser.add_argument("--rounds", type=positive(int), default=3)
    args = parser.parse_args()

    params = StftParams(2048, 512, 2048, "hann", True)
    window = params.fft_window()
    y = make_array(args.minutes).astype(np.float64)[np.newaxis]
    segments = list(array_segments(y, params, frames_per_chunk=FRAMES_PER_CHUNK))
    frames_only = ChunkKernel(params)
    with_bands = ChunkKernel(params, layout=mpeg7_bands(sr=SR, n_fft=params.n_fft))

    def fft_only(segment, work):
        frames = np.lib.stride_tricks.sliding_window_view(segment, 2048, axis=-1)[:, ::512]
        batch = FFT_BATCH_SAMPLES // 2048  # as power_frames batches one channel
        windowed = scratch(work, "w", (1, batch, 2048))
        spectrum = scratch(work, "X", (1, batch, 1025), np.complex128)
        for a in range(0, frames.shape[1], batch):
            n = min(batch, frames.shape[1] - a)
            np.multiply(frames[:, a : a + n], window, out=windowed[:, :n])
            np.fft.rfft(windowed[:, :n], axis=-1, out=spectrum[:, :n])

    def power(segment, work):
        return power_frames(segment, params, window, power=2.0, amin=1e-10, work=work)

    def frame_stats(segment, work):
        return frames_only.spectral_values(power(segment, work), work)

    def bands(segment, work):
        return with_bands.spectral_values(power(segment, work), work)

    def levels(segment, work):
        k = 1 + (segment.shape[-1] - params.n_fft) // params.hop_length
        return frame_levels(segment, params, k, work)

    variants = {"window+fft": fft_only, "+power": power, "+frame stats": frame_stats,
                "+bands": bands, "levels": levels}
    works = {name: {} for name in variants}
    totals = dict.fromkeys(variants, 0.0)
    order = list(variants)
    shuffle = random.Random(0).shuffle
    for _ in range(args.rounds):
        for segment in segments:
            shuffle(order)
            for name in order:
                t = time.perf_counter()
                variants[name](segment, works[name])
                totals[name] += time.perf_counter() - t
    base = totals["window+fft"]
    print(f"{len(segments)} chunks of up to {FRAMES_PER_CHUNK} frames, {args.rounds} rounds, "
          "one thread")
    for name, total in totals.items():
        print(f"{name:13s} {total / args.rounds:6.3f} s  {total / base:5.2f} x window+fft")


if __name__ == "__main__":
    main()
