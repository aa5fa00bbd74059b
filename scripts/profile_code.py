#!/usr/bin/env python
"""Where the time of a default ``sfm-audio code`` run goes: by section, by pass, by function.

    python scripts/profile_code.py [FILE] [--minutes 1] [--top 25] [--no-cprofile]

Runs :func:`sfm_audio.coding.run_experiment` (what ``sfm-audio code FILE`` runs, default
options) on FILE, or on the seeded speech-like file of ``bench_code.py`` (``--minutes`` long,
44.1 kHz) written to a temporary folder, and prints

1. **sections**: wall time between the experiment's progress notes, and explicit timers
   around its named steps (first pass, covariance, local spectra, coders, prediction,
   duality) and the coder's inner steps (statistics, range coding + decoding, rebuilding);
2. **passes**: every read of the file (each call of :func:`sfm_audio.io.stream`), which step
   made it, its wall time and the part of it spent reading and decoding the file itself;
3. **functions**: cProfile's top functions by own time, and the range coder's share
   (constriction's ``encode``/``decode``). cProfile slows Python-heavy code more than the
   rest; ``--no-cprofile`` gives the timers alone.

The machine is shared: compare numbers within one run, not across runs.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _measure import positive

import sfm_audio.io as sio
from sfm_audio.coding import coder as coder_module
from sfm_audio.coding import experiment as experiment_module
from sfm_audio.coding import parts as parts_module

#: (module, attribute, label): the steps timed explicitly, wherever they exist (a name is
#: wrapped in each module that calls it: the experiment calls the first pass, and so does the
#: lossless part, in sfm_audio.coding.parts with the other tasks)
_STEPS = [
    (experiment_module, "first_pass", "first pass (mean, copy; and the lossless part's)"),
    (parts_module, "first_pass", "first pass (mean, copy; and the lossless part's)"),
    (experiment_module, "lossless_task", "lossless estimate and FLAC"),
    (parts_module, "run_transform_coders", "coders (all transforms and rates)"),
    (parts_module, "prediction_section", "linear prediction"),
    (parts_module, "duality_section", "per-frame duality"),
]
#: (class, methods, label): inner steps of the block coder, summed over its calls (the first
#: of the methods that exists is timed)
_METHODS = [
    (coder_module.BlockCoder, ("observe_scaled", "observe_active", "observe"),
     "coder: statistics (pass 1)"),
    (coder_module.BlockCoder, ("fit",), "coder: model fit"),
    (coder_module.BlockCoder, ("code_active", "code_segment"),
     "coder: range encode + decode + check"),
    (coder_module.BlockCoder, ("reconstruct_active", "reconstruct"), "coder: rebuild blocks"),
]


class Timers:
    """Wall time per label, a stack of the labels running now, and the file's passes."""

    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.order: list[str] = []
        self.stack: list[str] = []
        self.passes: list[dict] = []
        self.section = "start"

    def wrap(self, func, label: str):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            if label not in self.total:
                self.order.append(label)
            self.stack.append(label)
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.total[label] += time.perf_counter() - t0
                self.calls[label] += 1
                self.stack.pop()

        return timed

    def stream(self, original):
        """``io.stream`` that records each pass: who asked, its wall time, its reading time."""

        @functools.wraps(original)
        def counted(*args, **kwargs):
            record = {"by": self.stack[-1] if self.stack else self.section,
                      "section": self.section, "read": 0.0, "blocks": 0}
            self.passes.append(record)
            start = time.perf_counter()
            inner = original(*args, **kwargs)
            try:
                while True:
                    t0 = time.perf_counter()
                    try:
                        block = next(inner)
                    except StopIteration:
                        break
                    finally:
                        record["read"] += time.perf_counter() - t0
                    record["blocks"] += 1
                    yield block
            finally:
                record["wall"] = time.perf_counter() - start

        return counted


def make_file(minutes: float, folder: Path) -> Path:
    from bench_code import make_audio

    sr = 44100
    path = folder / f"profile_{minutes:g}min.wav"
    sio.write_wav(path, make_audio(int(minutes * 60 * sr), sr), sr)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="audio file (default: generated)")
    parser.add_argument("--minutes", type=positive(float), default=1.0,
                        help="length of the generated file (default 1)")
    parser.add_argument("--top", type=positive(int), default=25,
                        help="functions listed by own time (default 25)")
    parser.add_argument("--no-cprofile", action="store_true",
                        help="explicit timers only (cProfile slows Python-heavy steps)")
    args = parser.parse_args()
    if args.file is not None and not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    from sfm_audio.corpus.malloc import tune_malloc

    tune_malloc()  # as sfm-audio code does

    with tempfile.TemporaryDirectory(prefix="profile_code_") as tmp:
        path = args.file or make_file(args.minutes, Path(tmp))
        meta = sio.info(path)
        timers = Timers()
        for module, name, label in _STEPS:
            if hasattr(module, name):
                setattr(module, name, timers.wrap(getattr(module, name), label))
        for cls, names, label in _METHODS:
            for name in names:
                if hasattr(cls, name):
                    setattr(cls, name, timers.wrap(getattr(cls, name), label))
                    break
        sio.stream = timers.stream(sio.stream)
        notes: list[tuple[float, str]] = []

        def progress(message: str) -> None:
            notes.append((time.perf_counter(), message))
            timers.section = message

        profiler = None if args.no_cprofile else cProfile.Profile()
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        experiment_module.run_experiment(path, progress=progress)
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - start

    print(f"{path.name}: {meta.frames} samples at {meta.sr} Hz "
          f"({meta.frames / meta.sr:.1f} s of audio); default options; "
          f"{'under cProfile' if profiler else 'timers only'}")
    print(f"run_experiment: {wall:.2f} s = {wall * meta.sr / meta.frames:.3f} x "
          "real time\n")

    print("1. sections (between progress notes)")
    ends = [t for t, _ in notes[1:]] + [start + wall]
    for (t, message), end in zip(notes, ends):
        print(f"   {end - t:7.2f} s  {100 * (end - t) / wall:5.1f} %  {message}")
    print("   steps (explicit timers; the coder's inner steps summed over calls)")
    for label in timers.order:
        total = timers.total[label]
        print(f"   {total:7.2f} s  {100 * total / wall:5.1f} %  {label} "
              f"({timers.calls[label]} calls)")

    print(f"\n2. passes over the file: {len(timers.passes)}")
    for k, p in enumerate(timers.passes, 1):
        print(f"   {k:2d}. {p.get('wall', float('nan')):7.2f} s wall, {p['read']:6.2f} s reading "
              f"({p['blocks']} blocks)  by {p['by']}  [{p['section']}]")
    reading = sum(p["read"] for p in timers.passes)
    print(f"   reading the file in all: {reading:.2f} s ({100 * reading / wall:.1f} %)")

    if profiler is not None:
        stats = pstats.Stats(profiler)
        coder_time = defaultdict(float)
        for (_, _, name), row in stats.stats.items():
            if "RangeEncoder" in name or "RangeDecoder" in name:
                coder_time["encode" if "encode" in name else "decode"] += row[2]
        print("\n3. range coder (constriction), own time: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(coder_time.items()))
              + f" ({100 * sum(coder_time.values()) / wall:.1f} % of the run)")
        print(f"   top {args.top} functions by own time:")
        sys.stdout.flush()
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
