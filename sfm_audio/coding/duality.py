"""Per-frame duality: the bits a real adaptive coder spends on each block against its flatness.

A recording is cut into blocks of ``block`` samples (no overlap, aligned with the frames of
``sfm-audio extract --n-fft block --hop-length block --no-center``). One water level
``theta`` for the whole file is chosen so that reverse water-filling over every block's own
DCT-II spectrum averages the target rate. Each block is then coded by the forward-adaptive
coder of :mod:`.adaptive`: its DCT-II coefficients are quantized with the step
``sqrt(12 theta)`` (:mod:`.quantize`), and the indices of each of ``SUBBANDS`` sub-bands are
range-coded (:mod:`.entropy`, ``constriction``) with a Laplace or Gaussian model whose scale
is sent for that sub-band of that block, so everything the decoder needs (largest index,
family, scale) is side information of the block.
Each run of ``SEGMENT_SAMPLES`` samples is range-coded as an independent segment, decoded and
checked at once, and only a few numbers per block are kept: memory does not grow with the file.

Per block it records the bits spent, the bits predicted by per-frame reverse water-filling
``r = mean_k max(0, 1/2 log2(c_k^2 / theta))``, the energy ``E = mean_k c_k^2`` (per sample) and
the extractor's own SFM of the same frame. When every coefficient is active,
``r = 1/2 log2(E / theta) + 1/2 log2(SFM(c^2))`` exactly: at fixed energy every halving of the
flatness saves half a bit per sample. A least-squares fit
``bits = c0 + c_energy 1/2 log2(E / theta) + c_flatness 1/2 log2(SFM)`` says how much of that
survives with the extractor's (Hann-window periodogram) SFM in place of the coefficients'.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
from scipy.ndimage import uniform_filter1d

from .. import defaults
from .._errors import ParameterError, SfmError
from .._files import atomic_path
from ..agreement import agreement
from ..flatness import flatness
from ..validate import int_at_least, positive_float, positive_int
from .adaptive import SUBBANDS, AdaptiveBlockCoder
from .coder import MAX_RATE, SEGMENT_LENGTH_BITS
from .entropy import new_decoder, new_encoder
from .groups import group_blocks
from .quantize import dequantize
from .shorttime import ShortTimeRD

__all__ = [
    "DEFAULT_BLOCK",
    "DEFAULT_RATE",
    "SUBBANDS",
    "SMOOTH",
    "FRAME_COLUMNS",
    "SEGMENT_SAMPLES",
    "AdaptiveBlockCoder",
    "FrameDuality",
    "DualityFit",
    "DualityUndefined",
    "block_rates",
    "fit_bits",
    "frame_duality",
    "duality_file",
    "duality_signal",
    "duality_section",
    "write_frames",
    "validate_duality_options",
]

#: samples per block (the extractor's n_fft and hop)
DEFAULT_BLOCK = defaults.DUALITY_BLOCK
#: target bits per sample of the file
DEFAULT_RATE = defaults.DUALITY_RATE
#: neighbouring coefficients averaged for the smoothed prediction
SMOOTH = 8
#: theta (float64), mean (float64), blocks (32), block (16), sub-bands (8), blocks per
#: segment (32); each segment adds ``SEGMENT_LENGTH_BITS`` for its length in 32-bit words
HEADER_BITS = 64 + 64 + 32 + 16 + 8 + 32
#: samples per range-coded segment (rounded down to whole blocks, at least one): the memory
#: the duality holds at once
SEGMENT_SAMPLES = 1 << 17
#: most bits water-filling may put on one coefficient: the adaptive coder's indices stay below
#: 2**35 (11 modelled bits and at most 24 sent raw), and no audio sample holds more than 24 bits
MAX_COEFFICIENT_BITS = 32.0
#: columns of the per-block table (``--frames``)
FRAME_COLUMNS = ("block", "time_s", "energy", "sfm", "predicted_bits", "bits")


def validate_duality_options(block: int, rate: float) -> tuple[int, float]:
    """Check the duality's block size (an integer >= 2) and target rate (in (0, 16])."""
    block = int_at_least(block, "duality_block", 2)
    message = f"duality_rate={rate!r} must be a number of bits per sample in (0, {MAX_RATE:g}]"
    try:
        rate = positive_float(rate, "duality_rate")
    except ParameterError:
        raise ParameterError(message, param="duality_rate") from None
    if rate > MAX_RATE:
        raise ParameterError(message, param="duality_rate")
    return block, rate



def block_rates(c2: np.ndarray, theta: float, *, smooth: int = 0) -> np.ndarray:
    """Per-block reverse water-filling rate ``mean_k max(0, 1/2 log2(c_k^2 / theta))``.

    Parameters
    ----------
    c2 : np.ndarray [shape=(m, n)]
        Squared coefficients of ``m`` blocks.
    theta : float > 0
    smooth : int >= 0
        When > 1, each ``c_k^2`` is first replaced by its mean over ``smooth`` neighbouring
        coefficients (edges repeated).

    Returns
    -------
    rates : np.ndarray [shape=(m,)]
        Bits per sample.
    """
    theta = positive_float(theta, "theta")
    c2 = np.asarray(c2, dtype=np.float64)
    if smooth > 1:  # (a running mean can round a little below zero next to zeros)
        c2 = np.maximum(uniform_filter1d(c2, size=int(smooth), axis=-1, mode="nearest"), 0.0)
    with np.errstate(divide="ignore"):
        gap = 0.5 * (np.log2(c2) - np.log2(theta))
    return np.maximum(gap, 0.0).mean(axis=-1)



class DualityUndefined(SfmError):
    """The per-frame duality is undefined for this signal (and why).

    A silent signal (every block zero once the mean is removed) has no water level; a
    signal whose energy sits in a few coefficients of a few blocks (silence with one click)
    would need more than ``MAX_COEFFICIENT_BITS`` bits on one coefficient to reach the target
    mean rate, since every other coefficient is empty. A coding report gives null with the
    reason as a note; a figure of it is one error line.
    """

@dataclass(frozen=True)
class DualityFit:
    """``bits = intercept + energy_coef * x_energy + flatness_coef * x_flatness``.

    ``r2`` is the coefficient of determination ``1 - SS_res / SS_tot`` of the fitted values
    (for a least-squares fit with a constant it equals their squared correlation with the
    bits); ``used`` blocks had finite terms (energy and SFM > 0).
    """

    intercept: float
    energy_coef: float
    flatness_coef: float
    r2: float
    used: int


def _r2(y: np.ndarray, fitted: np.ndarray) -> float:
    """R² of ``fitted`` against ``y`` on the line y = x, ``1 - SS_res / SS_tot`` (not a squared
    correlation: a prediction off by a constant or a slope scores below 1)."""
    if y.size < 3 or np.ptp(y) == 0:
        return float("nan")
    return float(agreement(y, fitted).r2)


def fit_bits(bits: np.ndarray, energy_term: np.ndarray, flatness_term: np.ndarray) -> DualityFit:
    """Least-squares fit of per-block bits on an energy and a flatness term (plus a constant).

    Blocks whose terms are not finite are left out.
    """
    bits = np.asarray(bits, dtype=np.float64)
    X = np.column_stack([np.ones_like(bits), energy_term, flatness_term])
    ok = np.isfinite(X).all(axis=1) & np.isfinite(bits)
    if ok.sum() < 4:
        nan = float("nan")
        return DualityFit(nan, nan, nan, nan, int(ok.sum()))
    coef, *_ = np.linalg.lstsq(X[ok], bits[ok], rcond=None)
    return DualityFit(float(coef[0]), float(coef[1]), float(coef[2]),
                      _r2(bits[ok], X[ok] @ coef), int(ok.sum()))


@dataclass(frozen=True)
class FrameDuality:
    """Result of :func:`frame_duality`: per-block arrays (shape (n_blocks,)) and the fits.

    Attributes
    ----------
    block, rate, theta : int, float, float
        Block size, target rate, the water level that reaches it.
    sr : float
    energy : np.ndarray
        ``E = mean_k c_k^2``, mean square per sample of each block (file mean removed).
    sfm : np.ndarray
        The extractor's per-frame SFM of each block (``extract --n-fft block --hop-length
        block --no-center``).
    coefficient_sfm : np.ndarray
        Flatness of each block's own squared DCT coefficients.
    predicted_bits, predicted_bits_smoothed : np.ndarray
        Per-frame reverse water-filling rate on the block's spectrum (raw, and smoothed over
        ``SMOOTH`` coefficients), bits per sample.
    bits : np.ndarray
        Bits per sample the adaptive coder spends on each block: its side information plus
        the information content of its indices under the models sent.
    total_bits : int
        What the file's code really takes: header, side information, and per segment its
        length and its range code (32-bit words), decoded and checked.
    distortion : float
        Measured mean squared error per sample over the coded blocks.
    variance : float
        Mean square per sample of the coded blocks.
    fit, fit_coefficient_sfm : DualityFit
        The fit with the extractor's SFM, and with the coefficients' own SFM.
    """

    block: int
    rate: float
    theta: float
    sr: float
    energy: np.ndarray
    sfm: np.ndarray
    coefficient_sfm: np.ndarray
    predicted_bits: np.ndarray
    predicted_bits_smoothed: np.ndarray
    bits: np.ndarray
    total_bits: int
    distortion: float
    variance: float
    fit: DualityFit
    fit_coefficient_sfm: DualityFit

    @property
    def n_blocks(self) -> int:
        return int(self.bits.size)

    @property
    def bits_per_sample(self) -> float:
        return self.total_bits / (self.n_blocks * self.block)

    @property
    def times(self) -> np.ndarray:
        """Start time of each block in seconds."""
        return np.arange(self.n_blocks) * self.block / self.sr

    def energy_term(self) -> np.ndarray:
        """``1/2 log2(E / theta)`` per block (``-inf`` for a block of zeros)."""
        with np.errstate(divide="ignore"):
            return 0.5 * np.log2(self.energy / self.theta)

    def flatness_term(self, sfm: np.ndarray | None = None) -> np.ndarray:
        """``1/2 log2(SFM)`` per block, the extractor's SFM unless ``sfm`` is given."""
        with np.errstate(divide="ignore"):
            return 0.5 * np.log2(self.sfm if sfm is None else sfm)

    def summary(self) -> dict:
        """JSON-ready summary (``None`` for undefined numbers)."""

        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        def fit(f: DualityFit) -> dict:
            return {"r2": num(f.r2), "intercept": num(f.intercept),
                    "energy_coef": num(f.energy_coef), "flatness_coef": num(f.flatness_coef),
                    "blocks_used": f.used}

        snr = (10.0 * np.log10(self.variance / self.distortion)
               if self.distortion > 0 and self.variance > 0 else float("nan"))
        return {
            "block": self.block,
            "transform": "dct",
            "rate": self.rate,
            "theta": self.theta,
            "bits_per_sample": self.bits_per_sample,
            "blocks": self.n_blocks,
            "bits_std": float(self.bits.std()),
            "r2_predicted": num(_r2(self.bits, self.predicted_bits)),
            "r2_fit": num(self.fit.r2),
            "energy_coef": num(self.fit.energy_coef),
            "flatness_coef": num(self.fit.flatness_coef),
            "intercept": num(self.fit.intercept),
            "r2_predicted_smoothed": num(_r2(self.bits, self.predicted_bits_smoothed)),
            "smooth": SMOOTH,
            "predicted_bits_per_sample": float(self.predicted_bits.mean()),
            "distortion": self.distortion,
            "snr_db": num(snr),
            "subbands": SUBBANDS,
            "fit_coefficient_sfm": fit(self.fit_coefficient_sfm),
            "sfm_median": float(np.median(self.sfm)),
            "sfm_std": float(self.sfm.std()),
        }

    def rows(self) -> list[tuple]:
        """The per-block table, one tuple per block in the order of ``FRAME_COLUMNS``."""
        return [
            (i, float(t), float(e), float(s), float(p), float(b))
            for i, (t, e, s, p, b) in enumerate(zip(
                self.times, self.energy, self.sfm, self.predicted_bits, self.bits))
        ]


def frame_duality(
    pieces: Callable[[], Iterable[np.ndarray]],
    *,
    mean: float,
    sfm: np.ndarray,
    sr: float,
    block: int = DEFAULT_BLOCK,
    rate: float = DEFAULT_RATE,
    chunk_blocks: int | None = None,
) -> FrameDuality:
    """Per-frame duality of a signal given in pieces (two passes, memory bounded).

    Parameters
    ----------
    pieces : callable
        Returns a fresh iterator over consecutive pieces (shape (k,)) of the signal.
    mean : float
        The signal's mean, removed before the transform.
    sfm : np.ndarray [shape=(n_blocks,)]
        The extractor's SFM of each complete block (frames ``i * block ..``).
    sr : float
        Sample rate (for the block times).
    block : int >= 2
    rate : float in (0, 16]
        Target mean of the per-block water-filling rate, bits per sample.
    chunk_blocks : int or None
        Blocks per range-coded segment (default ``SEGMENT_SAMPLES // block``). Each segment
        is coded, decoded and checked on its own, so memory does not grow with the signal;
        its length (``SEGMENT_LENGTH_BITS``) and its last partly filled 32-bit word are in
        ``total_bits``, not in the per-block ``bits``.

    Returns
    -------
    FrameDuality
        Only complete blocks are coded; the samples after the last one are left out.
    """
    block, rate = validate_duality_options(block, rate)
    if chunk_blocks is None:
        chunk_blocks = max(1, SEGMENT_SAMPLES // block)
    chunk_blocks = positive_int(chunk_blocks, "chunk_blocks")

    def complete_blocks():
        for blocks, n_valid in group_blocks(pieces(), block, mean=mean,
                                            chunk_blocks=chunk_blocks):
            yield blocks[: n_valid // block]

    # pass 1: one water level over every block's own spectrum
    spectra = ShortTimeRD(block, group=1)
    n_blocks = 0
    for blocks in complete_blocks():
        spectra.update(blocks)
        n_blocks += blocks.shape[0]
    if n_blocks == 0:
        raise ParameterError(f"duality_block={block} is longer than the signal",
                             param="duality_block")
    sfm = np.asarray(sfm, dtype=np.float64)
    if sfm.shape != (n_blocks,):
        raise ParameterError(f"sfm must have shape ({n_blocks},), got {sfm.shape}")
    if not spectra.variance > 0:
        raise DualityUndefined("the per-frame duality is undefined for a silent signal "
                               "(every block's energy is 0 once the mean is removed)")
    theta = spectra.water_level(rate)
    # the loudest coefficient's rate: beyond MAX_COEFFICIENT_BITS the water level sits below
    # what any sample resolves and the indices outgrow the range coder's models
    loudest = 0.5 * np.log2(spectra.largest / theta) if theta > 0 else np.inf
    if not loudest <= MAX_COEFFICIENT_BITS:
        raise DualityUndefined(
            f"the per-frame duality at {rate:g} bit/sample is undefined for this signal: its "
            f"energy sits in so few coefficients that one would need {loudest:.0f} bits "
            f"(more than {MAX_COEFFICIENT_BITS:.0f}); try a lower rate")

    # pass 2: code each group of blocks as a segment of its own, decode and check it at
    # once, keep only a few numbers per block
    coder = AdaptiveBlockCoder(block, theta)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("e", "csfm", "r", "rs", "bits")}
    total_bits = HEADER_BITS
    sq_error = sum_sq = 0.0
    for blocks in complete_blocks():
        c = scipy.fft.dct(blocks, norm="ortho", axis=-1)  # = blocks @ dct_matrix(block).T
        c2 = c * c
        parts["e"].append(c2.mean(axis=1))
        parts["csfm"].append(flatness(c2, axis=1))
        parts["r"].append(block_rates(c2, theta))
        parts["rs"].append(block_rates(c2, theta, smooth=SMOOTH))
        encoder = new_encoder()
        idx, side, payload, models = coder.encode(c, encoder)
        words = encoder.get_compressed()
        if not np.array_equal(coder.decode(new_decoder(words), models), idx):
            raise SfmError("range decoding of the adaptive coder did not reproduce the indices")
        parts["bits"].append((side + payload) / block)
        total_bits += int(side.sum()) + SEGMENT_LENGTH_BITS + 32 * int(words.size)
        rebuilt = scipy.fft.idct(dequantize(idx, coder.steps), norm="ortho", axis=-1)
        sq_error += float(((rebuilt - blocks) ** 2).sum())
        sum_sq += float((blocks * blocks).sum())

    energy, csfm = np.concatenate(parts["e"]), np.concatenate(parts["csfm"])
    bits = np.concatenate(parts["bits"])
    with np.errstate(divide="ignore"):
        energy_term = 0.5 * np.log2(energy / theta)
        fit = fit_bits(bits, energy_term, 0.5 * np.log2(sfm))
        fit_coef = fit_bits(bits, energy_term, 0.5 * np.log2(csfm))
    return FrameDuality(
        block=block, rate=rate, theta=theta, sr=float(sr), energy=energy, sfm=sfm,
        coefficient_sfm=csfm, predicted_bits=np.concatenate(parts["r"]),
        predicted_bits_smoothed=np.concatenate(parts["rs"]), bits=bits, total_bits=total_bits,
        distortion=sq_error / (n_blocks * block), variance=sum_sq / (n_blocks * block),
        fit=fit, fit_coefficient_sfm=fit_coef,
    )


def duality_file(
    path: str | os.PathLike, *, block: int = DEFAULT_BLOCK, rate: float = DEFAULT_RATE,
    mean: float | None = None,
) -> FrameDuality:
    """:func:`frame_duality` of the mono mix of an audio file.

    The per-frame SFM is the extractor's (:func:`sfm_audio.features.extract` with
    ``n_fft=hop_length=block``, ``center=False``): the very numbers ``sfm-audio extract
    --n-fft B --hop-length B --no-center`` prints for these frames.

    Parameters
    ----------
    path : str or os.PathLike
    block, rate
        See :func:`frame_duality`.
    mean : float or None
        The mono mix's mean, if known (otherwise one more pass computes it).
    """
    from .. import io
    from ..features import extract

    block, rate = validate_duality_options(block, rate)
    meta = io.info(path)
    if block > meta.frames:
        raise ParameterError(f"{path}: duality_block={block} is longer than the signal "
                             f"({meta.frames} samples)", param="duality_block")

    def pieces():
        for chunk in io.stream(path, block_frames=1 << 16):
            yield chunk[0]

    if mean is None:
        mean = float(sum(float(x.sum()) for x in pieces()) / meta.frames)
    # the SFM column alone, on one thread: a coding part runs beside others, and two chunks
    # in flight doubled this part's memory (33 -> 17 MB at 10 minutes) for 0.1 s
    features = extract(path, n_fft=block, hop_length=block, center=False, bands=None,
                       features="sfm", threads=1)
    try:
        return frame_duality(pieces, mean=mean, sfm=features.values["sfm"][0],
                             sr=meta.samplerate, block=block, rate=rate)
    except DualityUndefined as exc:
        raise DualityUndefined(f"{path}: {exc}") from None


def duality_signal(
    y: np.ndarray, *, sr: float, block: int = DEFAULT_BLOCK, rate: float = DEFAULT_RATE
) -> FrameDuality:
    """:func:`frame_duality` of a signal held in memory (shape (n_samples,)).

    The per-frame SFM comes from :func:`sfm_audio.flatness.spectral_flatness` with
    ``n_fft=hop_length=block``, ``center=False`` (the extractor's numbers, librosa's rule).
    """
    from ..flatness import spectral_flatness

    block, rate = validate_duality_options(block, rate)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ParameterError("y must be finite with shape (n_samples,)")
    if block > y.size:
        raise ParameterError(f"duality_block={block} is longer than the signal ({y.size} "
                             "samples)", param="duality_block")
    sfm = spectral_flatness(y=y, n_fft=block, hop_length=block, center=False)[0]
    return frame_duality(lambda: [y], mean=float(y.mean()), sfm=sfm, sr=sr, block=block,
                         rate=rate)


def duality_section(
    path: str | os.PathLike, *, block: int, rate: float, mean: float,
    notes: list[str] | None = None,
) -> FrameDuality | None:
    """:func:`duality_file` for a coding report; None when the file is shorter than a block
    or the duality is undefined for it (:class:`DualityUndefined`, whose reason is appended
    to ``notes``)."""
    from .. import io

    if io.info(path).frames < block:
        return None
    try:
        return duality_file(path, block=block, rate=rate, mean=mean)
    except DualityUndefined as exc:
        if notes is not None:
            notes.append(str(exc).removeprefix(f"{path}: "))
        return None


def write_frames(path: str | os.PathLike, duality: FrameDuality | None) -> Path:
    """Write the per-block table (``FRAME_COLUMNS``) as CSV, completely or not at all.

    Returns the path written. Raises ParameterError when there is no table (the file was
    shorter than one duality block).
    """
    if duality is None:
        raise ParameterError("--frames: the file is shorter than one duality block, so there "
                             "is no per-frame table", param="frames")
    with atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(FRAME_COLUMNS)
            for row in duality.rows():
                writer.writerow([row[0], *(format(x, ".10g") for x in row[1:])])
    return Path(path)
