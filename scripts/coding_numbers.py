#!/usr/bin/env python
"""Every number the README gives for the coding experiment, computed in one run.

1. The lossless estimate calibrated on Gaussian sources of known entropy rate
   1/2 log2(2 pi e sigma_w^2) (white and AR(1), 8/16/24-bit), beside FLAC at the same width.
2. For the bundled speech and a stationary AR(1) recording (``scripts/make_test_signals.py``,
   rho = 0.9, 4 s at 16 kHz): the lossless estimate and FLAC (also for 8- and 24-bit versions
   of the speech), in-sample and held-out coding gains against N, and the rate-distortion
   points with their stationary and short-time Gaussian rates and the KLT basis cost.
3. The lossless estimate of the bundled speech against the frame length (512 to 8192, hop
   half a frame), the numbers ``sfm_audio/coding/lossless.py`` and the README quote.

Usage: python scripts/coding_numbers.py [--blocks 8,32,64,128,256]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from sfm_audio.coding import (
    LosslessEstimate,
    lossless_estimate,
    lossless_file,
    run_experiment,
    to_pcm,
)
from sfm_audio.coding.flac import flac_bytes

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "sfm_audio" / "data" / "arctic_a0007.wav"


def calibration() -> None:
    print("## Lossless estimate on Gaussian sources of known entropy rate (2^17 samples)")
    print(f"{'source':<28} {'truth':>8} {'estimate':>9} {'error':>7} {'FLAC':>8} "
          f"{'FLAC-truth':>10}")
    for name, bits, rho, sw in [("white, 16-bit, sigma 1000", 16, 0.0, 1000.0),
                                ("AR(1) 0.95, 16-bit, 300", 16, 0.95, 300.0),
                                ("white, 8-bit, sigma 4", 8, 0.0, 4.0),
                                ("AR(1) 0.95, 24-bit, 76800", 24, 0.95, 76800.0)]:
        w = np.random.default_rng(1).normal(0.0, sw, (1 << 17) + 2000)
        q = np.rint(lfilter([1.0], [1.0, -rho], w)[2000:]).astype(np.int64)
        truth = 0.5 * np.log2(2 * np.pi * np.e * sw**2)
        est = lossless_estimate(q).estimate_bits_per_sample
        flac = 8 * flac_bytes(q, 16000, bits=bits) / q.size
        print(f"{name:<28} {truth:8.4f} {est:9.4f} {est - truth:+7.4f} {flac:8.4f} "
              f"{flac - truth:+10.4f}")
    print("\n## White Gaussian integers of sigma steps: exact entropy (the sum over the pmf)")
    print(f"{'source':<28} {'exact':>8} {'estimate':>9} {'error':>7} {'FLAC':>8} "
          f"{'FLAC-exact':>10}")
    for bits in (8, 16):
        for sigma in (1.0, 2.0, 4.0):
            q = np.rint(np.random.default_rng(5).normal(0.0, sigma, 1 << 17)).astype(np.int64)
            exact = rounded_gaussian_entropy(sigma)
            est = lossless_estimate(q).estimate_bits_per_sample
            flac = 8 * flac_bytes(q, 16000, bits=bits) / q.size
            print(f"{f'white, {bits}-bit, sigma {sigma:g} step':<28} {exact:8.4f} {est:9.4f} "
                  f"{est - exact:+7.4f} {flac:8.4f} {flac - exact:+10.4f}")


def rounded_gaussian_entropy(sigma: float) -> float:
    """Exact entropy in bits of round(sigma * Z), Z ~ N(0, 1), from its pmf."""
    from scipy.stats import norm

    edges = np.arange(-int(40 * sigma) - 5, int(40 * sigma) + 7) - 0.5
    p = np.diff(norm.cdf(edges / sigma))
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def widths(folder: Path) -> None:
    print("\n## The bundled speech at other sample widths")
    y, sr = sf.read(SPEECH)
    rng = np.random.default_rng(0)
    versions = [("8-bit", y, "PCM_U8"), ("16-bit (the file)", y, "PCM_16"),
                ("24-bit, 16-bit content", y, "PCM_24"),
                ("24-bit, dithered below 16 bits", y + rng.uniform(-0.5, 0.5, y.size) * 2.0**-15,
                 "PCM_24"),
                ("32-bit float", y, "FLOAT")]
    print(f"{'version':<32} {'estimate':>9} {'FLAC':>8} quantized")
    for name, x, subtype in versions:
        path = folder / f"{subtype}-{len(name)}.wav"
        sf.write(path, x, sr, subtype=subtype)
        ll = lossless_file(path).to_dict()
        print(f"{name:<32} {ll['estimate_bits_per_sample']:9.3f} "
              f"{ll['flac_bits_per_sample']:8.3f} {ll['quantized']}")


def frames() -> None:
    print("\n## The bundled speech's lossless estimate against the frame length (hop frame/2)")
    y, _ = sf.read(SPEECH)
    q = to_pcm(y, 16)
    for frame in (512, 2048, 4096, 8192):
        acc = LosslessEstimate(frame=frame, hop=frame // 2)
        acc.update(q)
        print(f"frame {frame:5d}: {acc.result().estimate_bits_per_sample:.2f} bit/sample")


def experiment(path: Path, blocks: list[int]) -> None:
    r = run_experiment(path, blocks=blocks, transforms=["klt", "dct", "pcm"]).report.to_dict()
    ll = r["lossless"]
    print(f"\n## {path.name}: {r['samples']} samples at {r['sr']} Hz")
    print(f"PSD flatness {r['psd_sfm']:.4f} (limit {r['gain_limit_db']:.2f} dB), mean "
          f"per-frame SFM {r['frame_sfm_mean']:.4f}")
    print(f"lossless: estimate {ll['estimate_bits_per_sample']:.3f}, FLAC "
          f"{ll['flac_bits_per_sample']:.3f} bit/sample ({ll['pcm_bits']}-bit)")
    print(f"{'N':>4} {'KLT in':>7} {'KLT held out (each half)':>26} {'DCT':>6} "
          f"{'DCT halves':>14}")
    for e in r["blocks"]:
        k, d = e["transforms"]["klt"], e["transforms"]["dct"]

        def fmt(x):
            return "   -" if x is None else f"{x:6.2f}"

        each = k.get("heldout_each_db") or [None, None]
        halves = d.get("heldout_each_db") or [None, None]
        print(f"{e['block']:4d} {fmt(k['coding_gain_db'])} {fmt(k['heldout_coding_gain_db'])} "
              f"({fmt(each[0])}, {fmt(each[1])}) {fmt(d['coding_gain_db'])} "
              f"({fmt(halves[0])}, {fmt(halves[1])})")
    for e in r["blocks"]:
        print(f"N = {e['block']}: target | bits / SNR dB / R_stat / R_short per transform "
              "| KLT basis bit/sample (angle bits)")
        for row in e["rd"]:
            cells = []
            for t in ("klt", "dct", "pcm"):
                m = row["measured"][t]
                cells.append(f"{t} {m['bits_per_sample']:.3f}/{m['snr_db']:.2f}/"
                             f"{m['stationary_rate']:.3f}/{m['short_time_rate']:.3f}")
            m = row["measured"]["klt"]
            print(f"  {row['rate']:4g} | " + "  ".join(cells)
                  + f" | {m['basis_bits_per_sample']:.3f} ({m['angle_bits']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", default="8,32,64,128,256")
    args = parser.parse_args()
    blocks = [int(b) for b in args.blocks.split(",")]
    calibration()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        widths(folder)
        frames()
        spec = importlib.util.spec_from_file_location(
            "make_test_signals", ROOT / "scripts" / "make_test_signals.py")
        make = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(make)
        (ar1,) = make.write(folder, sr=16000, seconds=4.0, seed=0, names=("ar1_rho0.9",))
        experiment(SPEECH, blocks)
        experiment(ar1, [b for b in blocks if b <= 32])


if __name__ == "__main__":
    main()
