#!/usr/bin/env python
"""Write seeded test signals: white noise, a tone, a chirp, an AR(1) process and silence.

Anyone can rebuild them bit for bit:

    python scripts/make_test_signals.py OUTDIR [--sr 16000] [--seconds 4] [--seed 0]
    python scripts/make_test_signals.py OUTDIR --field [--sr 48000] [--seconds 180]

``--field`` writes ``field_recording.flac`` instead: a stand-in for a field recording (stereo,
24-bit FLAC) with wind below 500 Hz, bird-like trills between 2.5 and 6 kHz, and a stretch of
digital silence where the recorder paused; the README's field-recording examples use it.

Also importable: ``signals(sr, seconds, seed)`` returns the arrays, ``write(outdir, ...)`` the
files (16-bit PCM WAV, peak 0.5 so nothing clips). Long files for benchmarks are written in
blocks with ``--seconds 600 --channels 2``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

NAMES = ("white_noise", "tone_1khz", "chirp", "ar1_rho0.9", "silence")


def signal(name: str, n: int, sr: float, rng: np.random.Generator, start: int = 0) -> np.ndarray:
    """``n`` samples of one test signal from sample ``start`` on (AR(1) restarts per call)."""
    t = (start + np.arange(n)) / sr
    if name == "white_noise":
        return 0.125 * rng.standard_normal(n)
    if name == "tone_1khz":
        return 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    if name == "chirp":
        f0, f1, length = 100.0, sr / 2 * 0.9, 4.0
        phase = 2 * np.pi * (f0 * t + (f1 - f0) / (2 * length) * (t % length) ** 2)
        return 0.5 * np.sin(phase)
    if name == "ar1_rho0.9":
        # unit-variance driving noise scaled so the process variance is 0.1**2
        e = rng.standard_normal(n) * 0.1 * np.sqrt(1 - 0.9**2)
        return lfilter([1.0], [1.0, -0.9], e)
    if name == "silence":
        return np.zeros(n)
    raise ValueError(f"unknown signal {name!r}")


def write(outdir: str | Path, *, sr: int = 16000, seconds: float = 4.0, seed: int = 0,
          channels: int = 1, names: tuple[str, ...] = NAMES) -> list[Path]:
    """Write each signal to ``OUTDIR/<name>.wav`` in blocks; return the paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    n_total = int(round(sr * seconds))
    paths = []
    for k, name in enumerate(names):
        rng = np.random.default_rng([seed, k])
        path = outdir / f"{name}.wav"
        with sf.SoundFile(path, "w", samplerate=sr, channels=channels, subtype="PCM_16") as f:
            for start in range(0, n_total, 1 << 20):
                n = min(1 << 20, n_total - start)
                block = np.stack([signal(name, n, sr, rng, start) for _ in range(channels)], -1)
                f.write(np.clip(block, -1, 1))
        paths.append(path)
    return paths


def field_recording(sr: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Stereo stand-in for a field recording, shape (n_samples, 2), peak below 1."""
    rng = np.random.default_rng([seed, 99])
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    # wind: white noise through a one-pole low-pass near 300 Hz, slowly gusting
    pole = np.exp(-2 * np.pi * 300.0 / sr)
    wind = lfilter([1 - pole], [1.0, -pole], rng.standard_normal((2, n)), axis=-1)
    wind *= 0.15 * (1.0 + 0.5 * np.sin(2 * np.pi * 0.05 * t))
    # trills: 80 ms down-sweeps 6 -> 2.5 kHz, 8 per second, in 1.5 s phrases every 5 s
    song = np.zeros(n)
    note = int(0.08 * sr)
    tau = np.arange(note) / sr
    sweep = np.sin(2 * np.pi * (6000.0 * tau - (3500.0 / (2 * 0.08)) * tau**2))
    sweep *= np.hanning(note)
    for phrase in np.arange(1.0, seconds - 2.0, 5.0):
        for k in range(12):
            start = int((phrase + k / 8.0) * sr)
            song[start : start + note] += 0.3 * sweep[: n - start] * rng.uniform(0.6, 1.0)
    y = wind + np.stack([song, 0.7 * song])
    # the recorder paused: 20 s of digital silence a third of the way in
    pause = slice(int(seconds / 3 * sr), int((seconds / 3 + 20.0) * sr))
    y[:, pause] = 0.0
    return (0.9 * y / np.max(np.abs(y))).T


def write_field(outdir: str | Path, *, sr: int = 48000, seconds: float = 180.0,
                seed: int = 0) -> Path:
    """Write ``OUTDIR/field_recording.flac`` (24-bit stereo); return its path."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "field_recording.flac"
    sf.write(path, field_recording(sr, seconds, seed), sr, subtype="PCM_24")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--sr", type=int, default=None, help="16000 (48000 with --field)")
    parser.add_argument("--seconds", type=float, default=None, help="4 (180 with --field)")
    parser.add_argument("--field", action="store_true",
                        help="write the stand-in field recording instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(NAMES))
    args = parser.parse_args()
    if args.field:
        print(write_field(args.outdir, sr=args.sr or 48000, seconds=args.seconds or 180.0,
                          seed=args.seed))
        return
    args.sr, args.seconds = args.sr or 16000, args.seconds or 4.0
    names = tuple(args.only.split(",")) if args.only else NAMES
    for path in write(args.outdir, sr=args.sr, seconds=args.seconds, seed=args.seed,
                      channels=args.channels, names=names):
        print(path)


if __name__ == "__main__":
    main()
