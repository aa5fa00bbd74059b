#!/usr/bin/env python
"""An endless recorder: 16-bit WAV on standard output, as ``arecord -t wav`` writes it.

    python scripts/live_source.py [--seconds S] [--rate 48000] [--channels 1]
                                  [--realtime] [--size 0xFFFFFFFF] [--raw] [--wav FILE]
                                  [--announce]

The header declares ``--size`` (a placeholder: 0, 0xFFFFFFFF or 0x7FFFF000) as the data and
RIFF sizes, because the length is not known when it is written; ``--raw`` writes no header
(``s16le:RATE:CHANNELS``). The audio is deterministic, block by block (0.1 s each): a tone
whose pitch and level change every block over seeded noise, so the same samples can be
written to a file with ``--wav FILE --seconds S`` and compared. Without ``--seconds`` it never
ends; ``--realtime`` paces the output as a sound card would, else it runs as fast as the
reader takes it. A reader that goes away ends it quietly.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time

import numpy as np

BLOCK_SECONDS = 0.1


def block(index: int, rate: int, channels: int) -> np.ndarray:
    """Block ``index`` of the audio as int16, shape (n, channels)."""
    n = int(round(BLOCK_SECONDS * rate))
    rng = np.random.default_rng(index)
    t = (index * n + np.arange(n)) / rate
    tone = 0.2 * (1 + index % 3) * np.sin(2 * np.pi * (220 + 55 * (index % 7)) * t)
    y = tone[:, None] + 0.02 * (1 + index % 5) * rng.standard_normal((n, channels))
    return np.round(np.clip(y, -1, 1) * 32767).astype("<i2")


def header(rate: int, channels: int, size: int) -> bytes:
    """A 44-byte PCM_16 WAV header declaring ``size`` as both the RIFF and data sizes."""
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return (b"RIFF" + struct.pack("<I", size) + b"WAVE" + b"fmt " + struct.pack("<I", 16) +
            fmt + b"data" + struct.pack("<I", size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--size", type=lambda s: int(s, 0), default=0xFFFFFFFF)
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("--wav", default=None, help="write the samples to this file instead")
    parser.add_argument("--announce", action="store_true",
                        help="print the wall-clock time (time.time()) of sample 0 on stderr, "
                             "to measure how long rows take to come out")
    args = parser.parse_args()
    blocks = None if args.seconds is None else int(round(args.seconds / BLOCK_SECONDS))
    if args.wav is not None:
        import soundfile as sf

        if blocks is None:
            parser.error("--wav needs --seconds")
        with sf.SoundFile(args.wav, "w", args.rate, args.channels, "PCM_16") as out:
            for i in range(blocks):
                out.write(block(i, args.rate, args.channels))
        return
    fd = sys.stdout.fileno()
    t0 = time.monotonic()
    if args.announce:
        print(time.time(), file=sys.stderr, flush=True)
    try:
        if not args.raw:
            os.write(fd, header(args.rate, args.channels, args.size))
        i = 0
        while blocks is None or i < blocks:
            data = memoryview(block(i, args.rate, args.channels).tobytes())
            while data:
                data = data[os.write(fd, data):]
            i += 1
            if args.realtime:
                time.sleep(max(0.0, t0 + i * BLOCK_SECONDS - time.monotonic()))
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        # nothing left to flush at exit into a closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)


if __name__ == "__main__":
    main()
