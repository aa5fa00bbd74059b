#!/usr/bin/env python
"""Peak memory of ``sfm-audio extract -`` on a live input: one minute against one hour.

    python scripts/bench_live.py [--minutes 1 60] [--summary-minutes 1 20] [--rate 48000]
                                 [--modes frames segment summary] [--latency-seconds 10]

``scripts/live_source.py`` writes 16-bit mono WAV with a placeholder size (what a recorder
writes to a pipe) as fast as it is read, and ``sfm-audio extract - -o -`` reads it from the
pipe, its rows going to /dev/null. The peak RSS is that of the extracting process alone
(``os.wait4`` on it), so the recorder's memory is not counted. Modes: ``frames`` (the frame
table), ``segment`` (``--segment 1``: a summary row per second) and ``summary`` (a whole-input
``--summary``, whose frames wait on disk). For each mode the script prints the peak RSS per
duration and the ratio of the longest to the shortest: bounded memory is a ratio of 1.0,
whatever the duration, where copying the input (as ``extract -`` did before issue 23) or
keeping its frames would grow with it. It also prints how much faster than real time the
pipe ran. ``summary`` runs for ``--summary-minutes`` (its longest run writes its frames to a
spool on disk for a minute or more): its exact percentiles hold one column of the frames in
memory at the end (8 bytes per frame), so the script prints, beside its growth in RSS, that
column's size at the longest duration, the floor that growth is measured against.

Latency: the recorder paced as a sound card (``--realtime --announce``, which prints when it
wrote sample 0) for ``--latency-seconds``; for every row after the first two seconds, the
wall-clock time it was read minus the time its frame's audio was written. The bound is one
chunk of frames (0.25 s of audio) and half a frame. With the defaults the script takes about
two minutes on two busy cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "live_source.py"
MODES = {"frames": [], "segment": ["--segment", "1"], "summary": ["--summary"]}


def run(minutes: float, rate: int, extra: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) of the extracting process and its wall time (s) for ``minutes`` of audio."""
    recorder = subprocess.Popen([sys.executable, str(SOURCE), "--seconds", str(minutes * 60),
                                 "--rate", str(rate)], stdout=subprocess.PIPE)
    t0 = time.perf_counter()
    extract = subprocess.Popen([sys.executable, "-m", "sfm_audio", "extract", "-", "-o", "-",
                                *extra], stdin=recorder.stdout, stdout=subprocess.DEVNULL)
    recorder.stdout.close()
    _, status, usage = os.wait4(extract.pid, 0)
    wall = time.perf_counter() - t0
    extract.returncode = os.waitstatus_to_exitcode(status)
    recorder.wait()
    if extract.returncode != 0 or recorder.returncode != 0:
        raise SystemExit(f"extract exited with {extract.returncode}, the recorder with "
                         f"{recorder.returncode}")
    return usage.ru_maxrss / 1024, wall


def latency(seconds: float, rate: int) -> list[float]:
    """Seconds from a frame's audio (written by a recorder paced in real time) to its row."""
    recorder = subprocess.Popen([sys.executable, str(SOURCE), "--realtime", "--announce",
                                 "--rate", str(rate)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    started = float(recorder.stderr.readline())
    extract = subprocess.Popen([sys.executable, "-m", "sfm_audio", "extract", "-", "-o", "-",
                                "--features", "sfm"], stdin=recorder.stdout,
                               stdout=subprocess.PIPE)
    recorder.stdout.close()
    extract.stdout.readline()
    lags = []
    for line in extract.stdout:
        frame_time = float(line.split(b",")[3])
        if frame_time > 2.0:
            lags.append(time.time() - started - frame_time)
        if frame_time > seconds:
            break
    extract.stdout.close()  # the run ends as under `| head`
    extract.wait()
    recorder.wait()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 60])
    parser.add_argument("--summary-minutes", type=float, nargs="+", default=[1, 20])
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES),
                        default=["frames", "segment", "summary"])
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.latency_seconds > 2:
        import numpy as np

        from sfm_audio.live import live_frames_per_chunk

        chunk = live_frames_per_chunk(args.rate, 512) * 512 / args.rate
        lags = np.asarray(latency(args.latency_seconds, args.rate))
        print(f"latency, recorder paced in real time, {lags.size} rows: median "
              f"{np.median(lags):.3f} s, max {lags.max():.3f} s (bound: a chunk "
              f"{chunk:.3f} s + half a frame {1024 / args.rate:.3f} s)", flush=True)
    print(f"sfm-audio extract - -o - on {args.rate} Hz 16-bit mono WAV with a placeholder "
          "size, piped as fast as it is read")
    for mode in args.modes:
        minutes = sorted(args.summary_minutes if mode == "summary" else args.minutes)
        peaks = []
        for m in minutes:
            peak, wall = run(m, args.rate, MODES[mode])
            peaks.append(peak)
            print(f"  {mode:8s} {m:6g} min: peak RSS {peak:6.1f} MB, {wall:6.1f} s "
                  f"({m * 60 / wall:5.0f}x real time)", flush=True)
        print(f"  {mode:8s} peak RSS {minutes[-1]:g} min / {minutes[0]:g} min: "
              f"{peaks[-1] / peaks[0]:.3f}", flush=True)
        if mode == "summary":
            column = (minutes[-1] - minutes[0]) * 60 * args.rate / 512 * 8 / 2**20
            print(f"  {mode:8s} growth {peaks[-1] - peaks[0]:.1f} MB; one float64 column of "
                  f"the {minutes[-1] - minutes[0]:g} min more (what exact percentiles hold): "
                  f"{column:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
