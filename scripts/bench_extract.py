#!/usr/bin/env python
"""Speed and memory of extraction against librosa and against the FFT floor, in one run.

    python scripts/bench_extract.py [--minutes 10] [--long-minutes 60] [--repeat 5]
                                    [--workdir DIR] [--quick] [--skip-cli]

**In-process, arrays** (a seeded ``--minutes`` 44.1 kHz mono float32 array; imports and first
calls excluded, ``--repeat`` rounds):

* ``librosa.feature.spectral_flatness(y=y)``;
* ``sfm_audio.flatness.spectral_flatness(y=y)`` on 2 threads and on 1;
* ``sfm_audio.features.extract(y, sr=sr, bands="mpeg7")`` (every frame feature and 24 MPEG-7
  bands) on 2 threads and on 1 (librosa's call uses one core: the one-thread ratio is the
  like-for-like one when another process keeps the second core busy);
* the floor: Hann window and float64 ``numpy.fft.rfft`` of every frame (n_fft 2048, hop 512)
  on 2 threads, chunks of 512 frames transformed 64 at a time, nothing else;
* peak extra memory (``tracemalloc``: numpy's allocations) of ``spectral_flatness(y=y)`` and
  ``extract(y, ...)`` beside librosa's call.

**Command line** (a seeded 44.1 kHz stereo 16-bit WAV; wall time and peak RSS of whole
commands, ``--repeat`` rounds):

* ``sfm-audio extract FILE -o out.npz`` (frames + MPEG-7 bands) and ``-o out.csv``;
* its physical floor: a script that stream-reads the file, mixes it to mono, windows every
  frame and takes float64 FFTs and ``|X|²`` on two threads, and writes nothing;
* the ``.npz`` command with every feature zeroed (the kernel keeps the window, FFT and
  ``|X|²``): the cost of the command line itself, apart from the features;
* librosa as a command (``load`` + ``spectral_flatness``);
* peak RSS of ``extract`` on a ``--long-minutes`` file.

The commands run after a warm-up command, with bytecode written (as an installed package has
it) and the file in the page cache, in both the command and its floor.

**Peers** (extra ``bench``; a peer that does not import is skipped with a printed line):
librosa; Essentia's documented loop ``FrameGenerator`` -> ``Windowing`` -> ``Spectrum`` ->
``Flatness`` (magnitude flatness, one frame per call); audioFlux's ``BFT`` (linear, power)
and ``Spectral.flatness``; all on the same array in the same run.

**Timing.** A call's time depends on what ran before it in the same process: librosa's
``spectral_flatness`` took 0.7 s called again and again, and 1.4-1.9 s right after an
``extract`` call (its temporaries then come from fresh huge pages the kernel zeroes, 0.5-0.8 s
of system time), which is where the rounds of an earlier, single-process version of this
script always ran it. So each call runs in a fresh process of its own (the array is loaded
from one ``.npy`` file), once untimed and then once timed; each of ``--repeat`` rounds runs
every call so, the order rotating from round to round, and a slow spell of the shared
machine hits a round's calls alike. Each call is printed as the median and range of its
rounds; each ratio as the median and range of the per-round ratios, with the ratio of the
best times beside it.

Prints every number and the ratios beside the goals of issue 10. ``--quick`` runs 2 minutes,
one repetition and a 6-minute "long" file: a check that the script works, not a measurement.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from _measure import measure, positive

SR = 44100
N_FFT, HOP, CHUNK, BATCH = 2048, 512, 512, 64
SFM = [sys.executable, "-m", "sfm_audio"]
LIBROSA_JOB = (
    "import sys, librosa; y, sr = librosa.load(sys.argv[1], sr=None); "
    "librosa.feature.spectral_flatness(y=y)"
)
# the command line's physical floor: read, mix, window, FFT, |X|^2 on two threads, no output
FLOOR_JOB = """
import sys, threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
import numpy as np, soundfile as sf
n_fft, hop, chunk, batch = 2048, 512, 512, 64
window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
local = threading.local()
def work(block):
    mono = block[:, 0].copy()  # column by column: numpy's mean over a short axis is slow
    for c in range(1, block.shape[1]):
        mono += block[:, c]
    mono /= block.shape[1]
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop]
    if not hasattr(local, "w"):  # buffers of one batch, reused: the spectra stay in cache
        local.w = np.empty((batch, n_fft))
        local.X = np.empty((batch, n_fft // 2 + 1), dtype=complex)
        local.P = np.empty(local.X.shape)
    for a in range(0, frames.shape[0], batch):
        n = min(batch, frames.shape[0] - a)
        np.multiply(frames[a : a + n], window, out=local.w[:n])
        np.fft.rfft(local.w[:n], axis=-1, out=local.X[:n])
        parts = local.X[:n].view(np.float64)  # |X|^2: square re and im in place, add pairs
        np.square(parts, out=parts)
        np.add(parts[:, 0::2], parts[:, 1::2], out=local.P[:n])
with ThreadPoolExecutor(2) as pool:
    pending = deque()
    for block in sf.blocks(sys.argv[1], blocksize=(chunk - 1) * hop + n_fft,
                           overlap=n_fft - hop, dtype="float64", always_2d=True):
        if block.shape[0] < n_fft:
            break
        pending.append(pool.submit(work, block))
        if len(pending) >= 4:
            pending.popleft().result()
    for f in pending:
        f.result()
"""


# the command itself with every feature zeroed: the kernel keeps the window, FFT and |X|^2
# floored, and the table of zeros goes through the same reading, threads and writer; what is
# left between this and FLOOR_JOB is the command line's own cost (start-up, framing, output)
PIPELINE_JOB = """
import sys, threading
import numpy as np
from sfm_audio import kernel
from sfm_audio.cli import run
local, windows = threading.local(), {}
def no_features(self, segment, *, floors):
    if id(self) not in windows:
        windows[id(self)] = self.params.fft_window()
    window = windows[id(self)]
    Pf = kernel.power_frames(segment, self.params, window, power=self.power, amin=self.amin,
                             work=local.__dict__)
    frames = Pf.shape[:-1]
    counts = kernel.FloorCounts(np.zeros(frames, dtype=np.int64),
                                np.zeros(frames[:-1] + (Pf.shape[-1],), dtype=np.int64),
                                np.zeros(frames[:-1], dtype=np.int64)) if floors else None
    return np.zeros(frames + (self.n_columns,)), np.zeros(frames), counts
# every call of the kernel (plain, or with the floor counts extract() asks for) goes here
kernel.ChunkKernel._compute = no_features
sys.argv = ["sfm-audio", *sys.argv[1:]]
run()
"""


def make_array(minutes: float, seed: int = 0) -> np.ndarray:
    """Music-like mono float32: drifting harmonic tones, a noise floor and bursts."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * SR)
    out = np.empty(n, dtype=np.float32)
    block = 1 << 20
    for start in range(0, n, block):
        m = min(block, n - start)
        t = (start + np.arange(m)) / SR
        tones = sum(0.08 / k * np.sin(2 * np.pi * 220 * k * t * (1 + 0.01 * np.sin(t / 7)))
                    for k in range(1, 6))
        bursts = (np.sin(2 * np.pi * t / 3) > 0.95) * 0.1 * rng.standard_normal(m)
        out[start : start + m] = tones + 0.02 * rng.standard_normal(m) + bursts
    return out


def make_file(path: Path, minutes: float, seed: int = 0) -> Path:
    """The same kind of signal as a stereo 16-bit WAV, written block by block."""
    if path.exists():
        return path
    block_minutes = 2.0
    with sf.SoundFile(path, "w", samplerate=SR, channels=2, subtype="PCM_16") as f:
        done = 0.0
        while done < minutes:
            m = min(block_minutes, minutes - done)
            y = make_array(m, seed=seed + int(done * 10))
            other = np.roll(y, 441)
            f.write(np.clip(np.stack([y, other], axis=-1), -1, 1))
            done += m
    return path


def spread(values: list[float]) -> str:
    """Median and range of times."""
    v = sorted(values)
    return f"{v[len(v) // 2]:7.3f} s ({v[0]:.3f}-{v[-1]:.3f})"


def ratio(times: dict[str, list[float]], a: str, b: str, goal: str = "") -> str:
    """``a / b``: the median of the per-round ratios with their range, then the ratio of the
    best times."""
    per_round = sorted(x / y for x, y in zip(times[a], times[b]))
    median = per_round[len(per_round) // 2]
    text = (f"{median:5.2f}  (rounds {per_round[0]:.2f}-{per_round[-1]:.2f}; "
            f"best/best {min(times[a]) / min(times[b]):.2f})")
    return f"{text}  {goal}" if goal else text


def essentia_flatness(y: np.ndarray) -> np.ndarray:
    """Essentia's documented frame loop: FrameGenerator -> Windowing -> Spectrum -> Flatness
    (the flatness of the magnitude spectrum, librosa's ``power=1``), centred frames."""
    import essentia.standard as es

    window = es.Windowing(type="hann", size=N_FFT, zeroPadding=0)
    spectrum = es.Spectrum(size=N_FFT)
    flatness = es.Flatness()
    return np.array([flatness(spectrum(window(frame))) for frame in
                     es.FrameGenerator(y, frameSize=N_FFT, hopSize=HOP, startFromZero=False)])


def audioflux_flatness(y: np.ndarray) -> np.ndarray:
    """audioFlux's documented way: a linear ``BFT`` power spectrogram, then
    ``Spectral.flatness`` (frames not centred)."""
    import audioflux as af
    from audioflux.type import SpectralDataType, SpectralFilterBankScaleType

    bft = af.BFT(num=N_FFT // 2 + 1, radix2_exp=int(np.log2(N_FFT)), samplate=SR,
                 slide_length=HOP, scale_type=SpectralFilterBankScaleType.LINEAR,
                 data_type=SpectralDataType.POWER)
    spec = np.abs(bft.bft(y))
    spectral = af.Spectral(num=bft.num, fre_band_arr=bft.get_fre_band_arr())
    spectral.set_time_length(spec.shape[-1])
    return spectral.flatness(spec)


def peers() -> dict:
    """The installed peers besides librosa (extra ``bench``); a line for each one missing."""
    found = {}
    for name, module, func in (("essentia", "essentia.standard", essentia_flatness),
                               ("audioflux", "audioflux", audioflux_flatness)):
        try:
            __import__(module)
        except Exception as exc:  # ImportError, or a wheel that does not load here
            print(f"{name}: not available ({type(exc).__name__}: {exc}); skipped "
                  "(pip install 'sfm-audio[bench]')")
            continue
        found[name] = func
    return found


def peak_extra_mb(func) -> float:
    """Peak memory numpy (and Python) allocate during ``func()``, beyond what was held before."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = func()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return (peak - before) / 2**20


def fft_floor(y: np.ndarray, threads: int = 2) -> None:
    """Hann window and float64 rfft of every frame, chunks of frames on ``threads`` threads.

    Each chunk is transformed ``BATCH`` frames at a time into reused buffers, as
    ``sfm_audio.kernel.power_frames`` does: one FFT call per chunk of 512 frames writes 8 MB
    of spectra out of cache and was about 1.5 times slower here. The floor is the fastest
    way found to do this work, not a convenient one.
    """
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    padded = np.pad(y, N_FFT // 2)  # librosa's centring (a view would do; not timed apart)
    count = 1 + (padded.size - N_FFT) // HOP
    local = threading.local()

    def work(f0: int) -> None:
        k = min(CHUNK, count - f0)
        seg = padded[f0 * HOP : (f0 + k - 1) * HOP + N_FFT]
        frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP]
        if not hasattr(local, "buf"):
            local.buf = np.empty((BATCH, N_FFT))
            local.spec = np.empty((BATCH, N_FFT // 2 + 1), dtype=complex)
        for a in range(0, k, BATCH):
            n = min(BATCH, k - a)
            np.multiply(frames[a : a + n], window, out=local.buf[:n])
            np.fft.rfft(local.buf[:n], axis=-1, out=local.spec[:n])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(0, count, CHUNK)))


def timed_calls(y: np.ndarray, names) -> dict:
    """The timed calls of the in-process part, on ``y``, for ``names`` only."""
    calls = {}
    for name in names:
        if name == "librosa":
            import librosa

            calls[name] = lambda: librosa.feature.spectral_flatness(y=y)
        elif name in ("sfm2", "sfm1"):
            from sfm_audio.flatness import spectral_flatness

            calls[name] = (lambda n: lambda: spectral_flatness(y=y, threads=n))(int(name[-1]))
        elif name in ("extract2", "extract1"):
            from sfm_audio.features import extract

            calls[name] = (lambda n: lambda: extract(y, sr=SR, bands="mpeg7", threads=n))(
                int(name[-1]))
        elif name == "floor":
            calls[name] = lambda: fft_floor(y)
        else:
            func = {"essentia": essentia_flatness, "audioflux": audioflux_flatness}[name]
            calls[name] = (lambda f: lambda: f(y))(func)
    return calls


def child(name: str, array: str) -> None:
    """One call in a fresh process: one untimed warm-up call, then one timed (JSON line)."""
    y = np.load(array)
    func = timed_calls(y, [name])[name]
    t = time.perf_counter()
    func()
    first = time.perf_counter() - t
    gc.collect()
    t = time.perf_counter()
    func()
    print(json.dumps({"first": first, "time": time.perf_counter() - t}))


def isolated_rounds(names: list[str], array: Path, repeat: int):
    """``repeat`` rounds; in each every call runs in a fresh process of its own (after one
    warm-up call there), the order rotating from round to round."""
    times: dict[str, list[float]] = {name: [] for name in names}
    firsts: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            done = subprocess.run([sys.executable, __file__, "--child", name, str(array)],
                                  capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                raise SystemExit(f"{name} failed:\n{done.stderr}")
            result = json.loads(lines[-1])
            times[name].append(result["time"])
            firsts[name].append(result["first"])
    return times, firsts


def in_process(minutes: float, repeat: int, tmp: Path) -> None:
    import librosa

    from sfm_audio.features import extract
    from sfm_audio.flatness import spectral_flatness

    y = make_array(minutes)
    print(f"array: {minutes:g} min, 44.1 kHz mono float32 ({y.nbytes / 2**20:.0f} MB)")
    others = peers()
    array = tmp / "y.npy"
    np.save(array, y)

    ref = librosa.feature.spectral_flatness(y=y)
    ours = spectral_flatness(y=y)
    print(f"max |ours - librosa| per-frame SFM: {np.abs(ours - ref).max():.2e} (goal <= 1e-5)")
    del ref, ours

    # Every call runs in a process of its own: a call's time depends on what ran before it
    # in the same process. Here librosa took 0.7 s called again and again, but 1.4-1.9 s
    # (0.5-0.8 s of it in the kernel, zeroing fresh huge pages for its temporaries) right
    # after an extract() call in the same process: the rounds of the earlier, single-process
    # version of this script always ran it there (1.73-2.11 s in the README before).
    names = ["librosa", "sfm2", "sfm1", "extract2", "extract1", "floor", *others]
    t, first = isolated_rounds(names, array, repeat)
    print("first calls in each process (untimed warm-up), median: " +
          ", ".join(f"{name} {np.median(v):.2f} s" for name, v in first.items()))
    print(f"{repeat} rounds, rotating order, each call in a fresh process after one warm-up "
          "call; median (range) of each call:")
    print(f"librosa spectral_flatness(y=y):              {spread(t['librosa'])}")
    labels = {"essentia": "essentia FrameGenerator..Flatness loop:",
              "audioflux": "audioflux BFT + Spectral.flatness:"}
    for name in others:
        print(f"{labels[name]:44} {spread(t[name])}")
    print(f"sfm_audio spectral_flatness(y=y), 2 threads: {spread(t['sfm2'])}")
    print(f"sfm_audio spectral_flatness(y=y), 1 thread:  {spread(t['sfm1'])}")
    print(f"sfm_audio extract(y, sr, bands='mpeg7'):     {spread(t['extract2'])}")
    print(f"  the same, 1 thread:                        {spread(t['extract1'])}")
    print(f"floor: window + float64 rfft, 2 threads:     {spread(t['floor'])}")
    print("ratios: median of the per-round ratios (range; ratio of best times)")
    print(f"speed vs librosa, 2 threads:  {ratio(t, 'librosa', 'sfm2', '(goal >= 1.6)')}")
    print(f"speed vs librosa, 1 thread:   {ratio(t, 'librosa', 'sfm1', '(goal >= 1.0)')}")
    for name in others:
        print(f"speed vs {name + ',':10} 2 threads: {ratio(t, name, 'sfm2')}")
        print(f"speed vs {name + ',':10} 1 thread:  {ratio(t, name, 'sfm1')}")
    print(f"2 threads / floor:            {ratio(t, 'sfm2', 'floor', '(goal <= 1.3)')}")
    print(f"extract+bands vs librosa:     {ratio(t, 'librosa', 'extract2', '(goal >= 1.3)')}")
    print(f"extract+bands / floor:        {ratio(t, 'extract2', 'floor')}")
    # librosa's call runs on one core: this ratio holds when the machine's other core is busy
    print(f"extract+bands vs librosa, 1 thread: {ratio(t, 'librosa', 'extract1')}")

    m_lib = peak_extra_mb(lambda: librosa.feature.spectral_flatness(y=y))
    m_ours = peak_extra_mb(lambda: spectral_flatness(y=y))
    m_ext = peak_extra_mb(lambda: extract(y, sr=SR, bands="mpeg7"))
    print(f"peak extra memory: librosa {m_lib:7.1f} MB, spectral_flatness {m_ours:6.1f} MB "
          f"({m_ours / m_lib:.3f} of librosa's; goal <= 0.25), extract {m_ext:6.1f} MB "
          f"({m_ext / m_lib:.3f}; the table itself is {y.size // HOP * 53 * 8 / 2**20:.0f} MB)")


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one command."""
    done = measure(cmd)
    if done["rc"]:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{done['stderr']}")
    return done["wall"], done["peak_mb"]


def command_rounds(cmds: dict[str, list[str]], repeat: int):
    """Wall times per command over ``repeat`` rounds (each round runs every command once)
    and each command's largest peak RSS."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    peaks = dict.fromkeys(cmds, 0.0)
    for _ in range(repeat):
        for name, cmd in cmds.items():
            wall, peak = run_child(cmd)
            times[name].append(wall)
            peaks[name] = max(peaks[name], peak)
    return times, peaks


def command_line(args, work: Path, tmp: Path) -> None:
    # an installed package has its bytecode compiled; a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would compile sfm_audio's sources at every start (~0.2 s)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    short = make_file(work / f"music_{args.minutes:g}min.wav", args.minutes)
    print(f"\nfile: {short.name} ({short.stat().st_size / 1e6:.0f} MB), 44.1 kHz stereo PCM_16")
    run_child([*SFM, "extract", str(short), "-o", str(tmp / "warm.npz"), "-q",
               "--end", "1"])  # writes the bytecode; the page cache holds the file
    cmds = {
        "npz": [*SFM, "extract", str(short), "-o", str(tmp / "o.npz"), "-q"],
        "floor": [sys.executable, "-c", FLOOR_JOB, str(short)],
        "pipeline": [sys.executable, "-c", PIPELINE_JOB, "extract", str(short), "-o",
                     str(tmp / "p.npz"), "-q"],
        "csv": [*SFM, "extract", str(short), "-o", str(tmp / "o.csv"), "-q"],
    }
    if not args.quick:
        cmds["librosa"] = [sys.executable, "-c", LIBROSA_JOB, str(short)]
    t, mem = command_rounds(cmds, args.repeat)
    best = {name: min(v) for name, v in t.items()}
    print(f"sfm-audio extract -> .npz (frames, mpeg7): {best['npz']:6.2f} s  {mem['npz']:6.0f} MB")
    print(f"  the same, every feature zeroed:          {best['pipeline']:6.2f} s  "
          f"{mem['pipeline']:6.0f} MB")
    print(f"floor (read, mix, window, FFT, |X|^2):    {best['floor']:6.2f} s  "
          f"{mem['floor']:6.0f} MB")
    print(f"sfm-audio extract -> .csv (frames, mpeg7): {best['csv']:6.2f} s  {mem['csv']:6.0f} MB")
    print(f"ratio npz / floor:             {ratio(t, 'npz', 'floor', '(goal <= 1.2)')}")
    print(f"ratio features zeroed / floor: {ratio(t, 'pipeline', 'floor', '')}")
    print(f"ratio csv / npz:               {ratio(t, 'csv', 'npz', '(goal <= 2)')}")
    if not args.quick:
        print(f"librosa load + spectral_flatness, command: {best['librosa']:6.2f} s  "
              f"{mem['librosa']:6.0f} MB")
        print(f"ratio npz / librosa command:   {ratio(t, 'npz', 'librosa', '(goal <= 0.25)')}")
    long = make_file(work / f"music_{args.long_minutes:g}min.wav", args.long_minutes, seed=1)
    long_t, long_mem = run_child([*SFM, "extract", str(long), "-o", str(tmp / "l.npz"), "-q"])
    print(f"peak RSS extract -> .npz, {args.minutes:g} min: {mem['npz']:6.0f} MB; "
          f"{args.long_minutes:g} min: {long_mem:6.0f} MB ({long_t:.1f} s)  (goal < 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=positive(float), default=10.0)
    parser.add_argument("--long-minutes", type=positive(float), default=60.0)
    parser.add_argument("--repeat", type=positive(int), default=5)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the generated audio here (default: a temporary folder)")
    parser.add_argument("--quick", action="store_true",
                        help="2 minutes, one repetition, a 6-minute long file: a smoke test")
    parser.add_argument("--skip-cli", action="store_true", help="in-process part only")
    parser.add_argument("--skip-in-process", action="store_true", help="command line only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # NAME ARRAY.npy
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.quick:
        args.minutes, args.long_minutes, args.repeat = 2.0, 6.0, 1

    tmp = Path(tempfile.mkdtemp(prefix="sfm-bench-"))
    work = args.workdir or tmp
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_in_process:
            in_process(args.minutes, args.repeat, tmp)
        if not args.skip_cli:
            command_line(args, work, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
