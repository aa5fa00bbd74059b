"""The whole transform-coding experiment on one audio file, streamed.

Passes over the file (each reads it block by block, so memory stays bounded by the block size,
apart from the decoded audio when it is asked for):

1. mean, variance check, lossless bound, and the 16-bit samples streamed through libFLAC;
2. block covariance for every block size and the Welch PSD;
3. for every block size, the two passes of the operational coder (statistics; then coding
   and decoding segment by segment) for every transform and rate at once.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import io
from .._errors import ParameterError, SfmError
from ..flatness import flatness
from .coder import (
    CHUNK_BLOCKS,
    BlockCoder,
    _one_blas_thread,
    validate_rate,
    validate_transform,
)
from .lossless import LosslessBound, to_int16
from .mdct import dct4_matrix, mdct_variances, run_transform_coders, validate_mdct_block
from .quantize import ECSQ_GAP_BITS, validate_reconstruction
from .spectra import WelchPSD, coding_gain_db
from .transforms import (
    TRANSFORMS,
    BlockCovariance,
    coefficient_variances,
    klt,
    transform_matrix,
    validate_block,
)
from .waterfill import reverse_waterfill

__all__ = [
    "Experiment",
    "run_experiment",
    "lossless_file",
    "prefix_curve",
    "DEFAULT_RATES",
    "DEFAULT_BLOCKS",
]

DEFAULT_BLOCKS = (32,)
DEFAULT_RATES = (0.5, 1.0, 2.0, 4.0)
_READ = 1 << 16


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _snr_db(variance: float, distortion: float) -> float | None:
    if distortion <= 0:
        return None
    return float(10.0 * np.log10(variance / distortion))


def prefix_curve(eigenvalues: np.ndarray) -> list[dict[str, float | int]]:
    """Zonal coding: distortion per sample when only the ``k`` largest KLT coefficients are kept.

    Parameters
    ----------
    eigenvalues : np.ndarray [shape=(n,)]
        Descending.

    Returns
    -------
    rows : list of dict
        For k = 1..n: ``distortion`` (sum of the dropped eigenvalues / n, coefficients kept
        exactly) and, beside it, the water-filling optimum with exactly the same ``k``
        components active (``theta = lambda_{k+1}``): ``waterfill_rate``,
        ``waterfill_distortion``.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    n = lam.size
    tail = np.concatenate([np.cumsum(lam[::-1])[::-1], [0.0]])
    rows = []
    for k in range(1, n + 1):
        row: dict[str, float | int | None] = {"k": k, "distortion": float(tail[k] / n)}
        if k < n and lam[k] > 0:
            wf = reverse_waterfill(lam, distortion=float(np.minimum(lam[k], lam).mean()))
            row["waterfill_rate"] = wf.rate
            row["waterfill_distortion"] = wf.distortion
        else:
            row["waterfill_rate"] = None
            row["waterfill_distortion"] = None
        rows.append(row)
    return rows


@dataclass
class Experiment:
    """Result of :func:`run_experiment`.

    Attributes
    ----------
    report : dict
        JSON-ready (finite floats or ``None``), shape documented in the CLI.
    decoded : dict
        ``(block, transform, rate) -> decoded signal`` (shape (n_samples,)), only when asked.
    """

    report: dict
    decoded: dict = field(default_factory=dict)


def validate_options(
    blocks: Sequence[int], rates: Sequence[float], transforms: Sequence[str],
    reconstruction: str,
) -> tuple[list[int], list[float], list[str], str]:
    """Check the experiment's options; duplicates are dropped, order kept."""
    if not blocks:
        raise ParameterError("give at least one block size")
    if not rates:
        raise ParameterError("give at least one rate")
    if not transforms:
        raise ParameterError("give at least one transform")
    blocks = list(dict.fromkeys(validate_block(b) for b in blocks))
    rates = list(dict.fromkeys(validate_rate(r) for r in rates))
    transforms = list(dict.fromkeys(validate_transform(t) for t in transforms))
    return blocks, rates, transforms, validate_reconstruction(reconstruction)


@dataclass(frozen=True)
class _FirstPass:
    mean: float
    lo: float
    hi: float
    lossless: dict


def _first_pass(path: str | os.PathLike, samplerate: float, n_samples: int) -> _FirstPass:
    """Mean and range of the mono mix, its lossless bound and what libFLAC spends on it.

    One streamed read: the 16-bit samples go to the bound and to the FLAC encoder block by
    block and are not kept.
    """
    stats = {"total": 0.0, "lo": np.inf, "hi": -np.inf}
    bound = LosslessBound()

    def pcm_blocks():
        for chunk in io.stream(path, block_frames=_READ, prefetch=True):
            x = chunk[0]
            stats["total"] += float(x.sum())
            stats["lo"] = min(stats["lo"], float(x.min()))
            stats["hi"] = max(stats["hi"], float(x.max()))
            q = to_int16(x)
            bound.update(q)
            yield q

    flac_bits = 8.0 * io.flac_size(pcm_blocks(), samplerate)
    result = bound.result()
    lossless = {
        "bound_bits_per_sample": result.bound_bits_per_sample,
        "bound_ecsq_bits_per_sample": result.bound_ecsq_bits_per_sample,
        "flac_bits_per_sample": flac_bits / n_samples,
        "active_fraction": result.active_fraction,
        "frames": result.frames,
        "ecsq_gap_bits": ECSQ_GAP_BITS,
    }
    return _FirstPass(stats["total"] / n_samples, stats["lo"], stats["hi"], lossless)


def lossless_file(path: str | os.PathLike) -> dict:
    """The ``lossless`` entry of a file's coding report, without running the coders.

    Returns
    -------
    dict
        ``bound_bits_per_sample`` (spectral water-filling at one LSB),
        ``bound_ecsq_bits_per_sample`` (plus the ECSQ gap on active bins) and
        ``flac_bits_per_sample`` (what libFLAC spends on the same 16-bit samples).
    """
    meta = io.info(path)
    return _first_pass(path, meta.samplerate, meta.frames).lossless


def _single_blas_thread(func):
    """Run ``func`` with BLAS on one thread: sums then come out in the same order whatever
    the machine's thread count, so a report is the same bytes in a pool worker (pinned to one
    thread) and in the calling process."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _one_blas_thread():
            return func(*args, **kwargs)

    return wrapper


@_single_blas_thread
def run_experiment(
    path: str | os.PathLike,
    *,
    blocks: Sequence[int] = DEFAULT_BLOCKS,
    rates: Sequence[float] = DEFAULT_RATES,
    transforms: Sequence[str] = TRANSFORMS,
    reconstruction: str = "midpoint",
    nperseg: int = 1024,
    keep_decoded: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Experiment:
    """Transform-coding experiment on the mono mix of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`sfm_audio.io.stream` reads.
    blocks : sequence of int >= 2
        Block sizes N.
    rates : sequence of float in (0, 16]
        Target bits per sample.
    transforms : sequence of {"klt", "dct", "pcm"}
    reconstruction : {"midpoint", "centroid"}
    nperseg : int
        Welch segment length for the PSD flatness (shortened to the signal if needed).
    keep_decoded : bool
        Keep the decoded signals (``Experiment.decoded``), e.g. to write them as WAV.
    progress : callable or None
        Called with a short message before each stage.

    Returns
    -------
    Experiment

    Raises
    ------
    ParameterError
        Invalid options; a block longer than the signal.
    AudioFileError
        Missing, corrupt or non-audio file.
    SfmError
        A silent file (every variance is zero: the coding gain is undefined).
    """
    blocks, rates, transforms, reconstruction = validate_options(
        blocks, rates, transforms, reconstruction
    )
    note = progress or (lambda message: None)
    meta = io.info(path)
    n_samples = meta.frames
    longest = max(blocks)
    if longest > n_samples:
        raise ParameterError(
            f"{path}: block={longest} is longer than the signal ({n_samples} samples)"
        )
    if "mdct" in transforms:
        for b in blocks:
            validate_mdct_block(b)
        if 2 * longest > n_samples:
            raise ParameterError(f"{path}: the MDCT of block={longest} needs {2 * longest} "
                                 f"samples, the signal has {n_samples}", param="blocks")

    def pieces():
        for chunk in io.stream(path, block_frames=_READ, prefetch=True):
            yield chunk[0]

    # pass 1: mean, range, lossless bound; the 16-bit samples stream into libFLAC
    note("mean and lossless bound")
    first = _first_pass(path, meta.samplerate, n_samples)
    mean = first.mean
    if first.lo == first.hi:
        raise SfmError(
            f"{path}: silent signal (every sample equals {first.lo:g}): every variance "
            "is zero, so the coding gain is undefined"
        )
    lossless = first.lossless

    # pass 2: covariances and PSD
    note("covariance and PSD")
    seg = int(min(nperseg, 1 << int(np.log2(n_samples))))
    seg = max(seg, 2)
    welch = WelchPSD(seg, mean=mean)
    accumulators = {b: BlockCovariance(b, mean=mean) for b in blocks}
    # MDCT frames: 2N samples at hop N
    lapped = {b: BlockCovariance(2 * b, hop=b, mean=mean) for b in blocks
              if "mdct" in transforms}
    sum_sq = 0.0
    for x in pieces():
        d = x - mean
        sum_sq += float(d @ d)
        welch.update(x)
        for acc in [*accumulators.values(), *lapped.values()]:
            acc.update(x)
    variance = sum_sq / n_samples
    psd_sfm = float(flatness(welch.psd()))

    report: dict = {
        "file": str(path),
        "sr": meta.samplerate,
        "samples": n_samples,
        "mean": mean,
        "variance": variance,
        "psd_sfm": psd_sfm,
        "gain_bound_db": _finite(-10.0 * np.log10(psd_sfm)) if psd_sfm > 0 else None,
        "nperseg": seg,
        "reconstruction": reconstruction,
        "blocks": [],
        "lossless": dict(lossless),
    }
    decoded: dict = {}
    for b in blocks:
        cov = accumulators[b].covariance()
        eigenvalues = klt(cov)[0]
        entry: dict = {"block": b, "transforms": {}, "rd": [], "prefix": prefix_curve(eigenvalues)}
        coders: list[BlockCoder] = []
        keys: list[tuple[str, float]] = []
        for t in transforms:
            if t == "mdct":  # coded as the DCT-IV of the folded signal (see .mdct)
                basis, v = dct4_matrix(b), mdct_variances(lapped[b].covariance())
            else:
                basis = transform_matrix(t, cov)
                v = coefficient_variances(cov, basis)
            if not (v > 0).any():
                raise SfmError(
                    f"{path}: every variance is zero, so the coding gain is undefined"
                )
            gain = coding_gain_db(v)
            entry["transforms"][t] = {
                "coding_gain_db": _finite(gain),
                "eigen_sfm": float(flatness(v)),
                "variances": [float(x) for x in v],
            }
            for r in rates:
                coders.append(BlockCoder(basis, v, rate=r, transform=t,
                                         reconstruction=reconstruction))
                keys.append((t, r))
        note(f"coding with block {b}")
        chunks: dict[int, list[np.ndarray]] = {}
        on_decoded = None
        if keep_decoded:
            def on_decoded(k: int, s: np.ndarray, chunks=chunks) -> None:
                chunks.setdefault(k, []).append(s.astype(np.float32))
        results = run_transform_coders(pieces, b, mean, coders, samples=n_samples,
                                       chunk_blocks=CHUNK_BLOCKS, on_decoded=on_decoded)
        for r in rates:
            wf = reverse_waterfill(eigenvalues, rate=r)
            row: dict = {
                "rate": r, "theta": wf.theta, "distortion": wf.distortion,
                "snr_db": _snr_db(variance, wf.distortion), "active": wf.n_active,
                "measured": {},
            }
            for k, (t, rr) in enumerate(keys):
                if rr != r:
                    continue
                res = results[k]
                row["measured"][t] = {
                    "bits_per_sample": res.bits_per_sample,
                    "side_bits_per_sample": res.side_bits_per_sample,
                    "distortion": res.distortion,
                    "snr_db": _snr_db(variance, res.distortion),
                    "theta": res.theta,
                    "predicted_distortion": res.predicted_distortion,
                    "predicted_snr_db": _snr_db(variance, res.predicted_distortion),
                    "shannon_bits_per_sample": (
                        reverse_waterfill(eigenvalues, distortion=res.distortion).rate
                        if res.distortion > 0 else None
                    ),
                    "active": res.active,
                    "indices_match": res.indices_match,
                }
                if keep_decoded:
                    decoded[(b, t, r)] = np.concatenate(chunks.pop(k))
            entry["rd"].append(row)
        report["blocks"].append(entry)
    return Experiment(report=report, decoded=decoded)
