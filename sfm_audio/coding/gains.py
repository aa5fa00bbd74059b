"""The gains experiment: coded gains over PCM, measured, beside the gains the extractor predicts.

For one recording (its mono mix, the first ``seconds`` of it) and each operating point given
as PCM bits per sample ``b`` (quantizer step ``Δ = 2**(1 - b)``, full scale ±1), three coders
quantize with that **same** step (mid-tread, midpoint reconstruction) and range-code the
indices for real (``constriction``, decoded and checked; every side bit counted):

- **PCM**: the samples, one model for the file (:class:`.coder.BlockCoder`, block 1);
- **stationary**: the MDCT (sine window, hop ``block``) with one model per coefficient for
  the whole file (:class:`.coder.BlockCoder` through :func:`.mdct.run_mdct_coders`);
- **adaptive**: the same MDCT coefficients with one model per frame and Bark band, its scale
  sent for each (:class:`.adaptive.AdaptiveBlockCoder` with Bark edges).

The *measured* gain of a coder over PCM, in dB, is its SNR advantage at equal rate on the
high-rate line of 6.02 dB per bit: ``10 log10(D_pcm / D) + 20 log10(2) (R_pcm - R)``, with
``R`` every bit of the code per sample and ``D`` the measured mean squared error.

The *predicted* gains, from the extractor's band levels and the step alone, are
:mod:`.predicted_gains`'s; this module measures, sets the two side by side
(:func:`gains_signal`, :func:`gains_file`, :func:`frame_gains`) and writes the rows.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import scipy.fft

from .._errors import ParameterError, SfmError
from .._files import atomic_path
from ..tfflatness import band_log_bias, tf_flatness
from ..validate import positive_float
from .adaptive import AdaptiveBlockCoder
from .coder import SEGMENT_LENGTH_BITS, BlockCoder, run_coders
from .entropy import new_decoder, new_encoder
from .mdct import Folder, dct4_matrix, imdct, run_mdct_coders, validate_mdct_block
from .predicted_gains import (
    ADAPTIVE_HEADER_BITS,
    DB_PER_BIT,
    SEGMENT_FRAMES,
    adaptive_frame_bits,
    bark_variances,
    predict_gains,
)
from .quantize import dequantize
from .records import GainsRow

__all__ = [
    "BARK_EDGES_HZ",
    "DEFAULT_BLOCK",
    "DEFAULT_PCM_BITS",
    "DEFAULT_SECONDS",
    "GAINS_COLUMNS",
    "DB_PER_BIT",
    "GainsRow",
    "bark_edges_hz",
    "coefficient_edges",
    "gains_signal",
    "FrameGains",
    "frame_gains",
    "frame_gains_file",
    "gains_file",
    "predict_gains",
    "validate_pcm_bits",
    "write_gains",
]

#: Zwicker's critical-band edges (Hz) below 15.5 kHz; Nyquist closes the last band
BARK_EDGES_HZ = (0, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000,
                 2320, 2700, 3150, 3700, 4400, 5300, 6400, 7700, 9500, 12000, 15500)
#: MDCT hop (coefficients per frame) of both transform coders
DEFAULT_BLOCK = 1024
#: operating points, PCM bits per sample
DEFAULT_PCM_BITS = (4, 8, 16)
#: seconds of each file coded (from its start); None codes the whole file
DEFAULT_SECONDS = 30.0
#: samples per range-coded segment of the PCM coder (the others: SEGMENT_FRAMES blocks)
_PCM_SEGMENT = 1 << 16

#: CSV columns, in order
GAINS_COLUMNS = (
    "file", "pcm_bits", "step", "samples",
    "measured_stationary_db", "predicted_stationary_db", "highrate_stationary_db",
    "measured_adaptive_db", "predicted_adaptive_db", "highrate_adaptive_db",
    "pcm_bits_per_sample", "stationary_bits_per_sample", "adaptive_bits_per_sample",
    "predicted_pcm_bits_per_sample", "predicted_stationary_bits_per_sample",
    "predicted_adaptive_bits_per_sample",
    "pcm_distortion", "transform_distortion", "predicted_pcm_distortion",
    "predicted_transform_distortion", "subfloor_fraction",
    "tf_temporal_db", "tf_spectral_db", "source_bits",
)


def validate_pcm_bits(bits: Sequence[int] | int) -> tuple[int, ...]:
    """Check operating points: whole numbers of PCM bits per sample in 2..24."""
    values = [bits] if isinstance(bits, (int, np.integer)) else list(bits)
    out = []
    for b in values:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 2 <= b <= 24:
            raise ParameterError(f"pcm_bits={b!r} must be a whole number of bits from 2 to 24",
                                 param="pcm_bits")
        out.append(int(b))
    if not out:
        raise ParameterError("pcm_bits is empty", param="pcm_bits")
    return tuple(sorted(set(out)))


def bark_edges_hz(sr: float) -> np.ndarray:
    """Bark band edges in Hz up to Nyquist (the last band closed at ``sr / 2``)."""
    nyquist = positive_float(sr, "sr") / 2
    inner = [f for f in BARK_EDGES_HZ if f < nyquist]
    return np.asarray(inner + [nyquist], dtype=np.float64)


def coefficient_edges(edges_hz: np.ndarray, *, sr: float, block: int) -> np.ndarray:
    """Band edges in MDCT coefficients: coefficient ``k`` (frequency ``(k + ½) sr / (2
    block)``) belongs to the band holding its frequency. Empty bands are merged away."""
    f = (np.arange(block) + 0.5) * sr / (2 * block)
    band = np.searchsorted(edges_hz[1:-1], f, side="right")
    return np.concatenate([[0], np.flatnonzero(np.diff(band)) + 1, [block]])


# --------------------------------------------------------------------------- measurement


@dataclass(frozen=True)
class Measured:
    """Bits per sample and measured mean squared error of the three coders at one step."""

    pcm_rate: float
    stationary_rate: float
    adaptive_rate: float
    pcm_distortion: float
    stationary_distortion: float
    adaptive_distortion: float


def _code_adaptive(y: np.ndarray, mean: float, block: int, step: float,
                   edges: np.ndarray, frame_bits: list | None = None) -> tuple[float, float]:
    """Code the MDCT of ``y`` with the forward-adaptive coder; (bits, squared error).
    ``frame_bits`` receives each frame's side bits plus the information content of its
    indices under the models sent, per sample."""
    coder = AdaptiveBlockCoder(block, step * step / 12.0, edges=edges)
    rows = np.vstack(list(Folder(block).run([y - mean])))
    coefficients = scipy.fft.dct(rows, type=4, norm="ortho", axis=-1)
    bits = ADAPTIVE_HEADER_BITS
    decoded = np.empty_like(coefficients)
    for a in range(0, coefficients.shape[0], SEGMENT_FRAMES):
        c = coefficients[a : a + SEGMENT_FRAMES]
        encoder = new_encoder()
        idx, side, payload, models = coder.encode(c, encoder)
        if frame_bits is not None:
            frame_bits.append((side + payload) / block)
        words = encoder.get_compressed()
        if not np.array_equal(coder.decode(new_decoder(words), models), idx):
            raise SfmError("range decoding of the adaptive coder did not reproduce the indices")
        bits += int(side.sum()) + SEGMENT_LENGTH_BITS + 32 * int(words.size)
        decoded[a : a + c.shape[0]] = dequantize(idx, coder.steps)
    rebuilt = imdct(decoded.T, length=y.size)
    error = rebuilt - (y - mean)
    return float(bits), float(error @ error)


def measure(y: np.ndarray, *, step: float, block: int, edges: np.ndarray) -> Measured:
    """Code ``y`` with PCM, the stationary and the adaptive coder at one step; decode, check
    and measure each."""
    n = y.size
    mean = float(y.mean())
    pcm = BlockCoder(np.eye(1), np.ones(1), rate=1.0, transform="pcm", step=step)
    (pcm_result,), _ = run_coders(lambda: [y], 1, mean, [pcm], samples=n,
                                  chunk_blocks=_PCM_SEGMENT)
    basis = dct4_matrix(block)
    stationary = BlockCoder(basis, np.ones(block), rate=1.0, transform="dct", step=step)
    (st_result,) = run_mdct_coders(lambda: [y], block, mean, [stationary], samples=n,
                                   chunk_blocks=SEGMENT_FRAMES)
    adaptive_bits, adaptive_error = _code_adaptive(y, mean, block, step, edges)
    return Measured(
        pcm_rate=pcm_result.bits / n, stationary_rate=st_result.bits / n,
        adaptive_rate=adaptive_bits / n, pcm_distortion=pcm_result.distortion,
        stationary_distortion=st_result.distortion, adaptive_distortion=adaptive_error / n,
    )


def _gain(pcm_rate: float, pcm_distortion: float, rate: float, distortion: float) -> float:
    if distortion <= 0 or pcm_distortion <= 0:
        return float("nan")
    return 10.0 * math.log10(pcm_distortion / distortion) + DB_PER_BIT * (pcm_rate - rate)


# --------------------------------------------------------------------------- per file


assert tuple(f.name for f in fields(GainsRow)) == GAINS_COLUMNS


def _extractor_levels(y: np.ndarray, sr: float, block: int, bands: str):
    """The extractor's band levels of the signal the transform coders frame: ``y`` less its
    mean (every coder codes that, the mean sent aside), zero-padded to whole blocks as the
    MDCT pads it, so that centred frames of ``2 block`` at hop ``block`` are the coder's
    ``ceil(n / block) + 1`` frames, one for one. (Unpadded, a clip of a few blocks loses its
    last frame, and the rates, taken per frame, miss the padding the coder pays for.)"""
    import warnings

    from ..features import extract

    coded = np.pad(y - y.mean(), (0, (-y.size) % block))
    with warnings.catch_warnings():  # the SFM's notes about amin: only band levels are used
        warnings.simplefilter("ignore", UserWarning)
        f = extract(coded, sr=sr, n_fft=2 * block, hop_length=block, window="cosine",
                    center=True, bands=bands, features="level_band", threads=1)
    return f.band_level[0], f.meta.layout


def _checked_signal(y: np.ndarray, sr: float, block: int, label: str):
    """``(y, sr, block)`` validated for the gains experiment: a finite mono signal of at
    least two blocks that is not constant (messages name ``label``)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ParameterError("y must be finite with shape (n_samples,)")
    sr = positive_float(sr, "sr")
    block = validate_mdct_block(block)
    if y.size < 2 * block:
        raise ParameterError(f"{label}: {y.size} samples are fewer than two blocks of {block}",
                             param="block")
    if not np.ptp(y) > 0:
        raise SfmError(f"{label}: the signal is constant; gains over PCM are undefined")
    return y, sr, block


@dataclass(frozen=True)
class _BarkLevels:
    """The extractor's Bark band levels in the coder's frames, and the coder's bands."""

    db: np.ndarray        # (n_bands, n_frames)
    bins: np.ndarray      # FFT bins per band
    widths: np.ndarray    # MDCT coefficients per band
    edges: np.ndarray     # coefficient edges (n_bands + 1)
    window: np.ndarray    # the analysis window (2 block)


def _bark_levels(y: np.ndarray, sr: float, block: int) -> _BarkLevels:
    """The extractor's Bark levels of ``y`` in the coder's frames, matched band for band
    to the coder's coefficient bands (an extractor band no coefficient falls in is dropped)."""
    from ..stft import get_window

    edges_hz = bark_edges_hz(sr)
    spec = "edges:" + ",".join(f"{e:.6g}" for e in edges_hz)
    db, layout = _extractor_levels(y, sr, block, spec)
    bins = layout.bin_hi - layout.bin_lo + 1
    edges = coefficient_edges(edges_hz, sr=sr, block=block)
    # the extractor's bands and the coder's: one coefficient band per Bark band that holds one
    band_of = np.searchsorted(edges_hz[1:-1], (edges[:-1] + 0.5) * sr / (2 * block),
                              side="right")
    if band_of.size != bins.size:
        keep = np.isin(np.arange(bins.size), band_of)
        db, bins = db[keep], bins[keep]
    return _BarkLevels(db, bins, np.diff(edges), edges, get_window("cosine", 2 * block))


def _read_mono(path: str | os.PathLike, seconds: float | None):
    """The mono mix of the first ``seconds`` of a file (None: all), its rate and subtype."""
    from .. import io

    meta = io.info(path)
    stop = meta.frames
    if seconds is not None:
        stop = min(stop, int(round(positive_float(seconds, "seconds") * meta.samplerate)))
    pieces = [chunk[0] for chunk in io.stream(path, block_frames=1 << 16, stop=stop)]
    y = np.concatenate(pieces) if pieces else np.zeros(0)
    return y, float(meta.samplerate), meta.subtype


def gains_signal(
    y: np.ndarray, *, sr: float, pcm_bits: Sequence[int] = DEFAULT_PCM_BITS,
    block: int = DEFAULT_BLOCK, label: str = "<array>", source_bits: int = 0,
) -> list[GainsRow]:
    """The gains experiment on a mono signal in memory (samples in ±1).

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    sr : float
    pcm_bits : sequence of int
        Operating points: PCM step ``2**(1 - b)``.
    block : int, even
        MDCT hop of the transform coders.
    label : str
        The ``file`` column.
    source_bits : int
        Sample width of the source (0: unknown or compressed). Where it is at most an
        operating point's bits, the samples already lie on (a shifted copy of) that step's
        grid: PCM is nearly lossless there and the prediction, which assumes ``θ`` of
        noise, does not apply; the rows say so in ``source_bits``.

    Returns
    -------
    list of GainsRow
        One per operating point.
    """
    bits = validate_pcm_bits(pcm_bits)
    y, sr, block = _checked_signal(y, sr, block, label)
    bark = _bark_levels(y, sr, block)
    bark_db, bins, widths, edges, window = bark.db, bark.bins, bark.widths, bark.edges, bark.window
    psd_db, _ = _extractor_levels(y, sr, block, f"linear:{block}")
    tf = tf_flatness(10.0 ** (bark_db / 10.0), widths, log_bias=band_log_bias(window, bins))
    rows = []
    for b in bits:
        step = 2.0 ** (1 - b)
        pred = predict_gains(bark_db, bins, widths, psd_db, window=window, step=step,
                             samples=y.size, block=block)
        m = measure(y, step=step, block=block, edges=edges)
        rows.append(GainsRow(
            file=label, pcm_bits=b, step=step, samples=int(y.size),
            measured_stationary_db=_gain(m.pcm_rate, m.pcm_distortion, m.stationary_rate,
                                         m.stationary_distortion),
            predicted_stationary_db=pred.stationary_db,
            highrate_stationary_db=pred.highrate_stationary_db,
            measured_adaptive_db=_gain(m.pcm_rate, m.pcm_distortion, m.adaptive_rate,
                                       m.adaptive_distortion),
            predicted_adaptive_db=pred.adaptive_db,
            highrate_adaptive_db=pred.highrate_adaptive_db,
            pcm_bits_per_sample=m.pcm_rate, stationary_bits_per_sample=m.stationary_rate,
            adaptive_bits_per_sample=m.adaptive_rate,
            predicted_pcm_bits_per_sample=pred.pcm_rate,
            predicted_stationary_bits_per_sample=pred.stationary_rate,
            predicted_adaptive_bits_per_sample=pred.adaptive_rate,
            pcm_distortion=m.pcm_distortion, transform_distortion=m.adaptive_distortion,
            predicted_pcm_distortion=pred.pcm_distortion,
            predicted_transform_distortion=pred.transform_distortion,
            subfloor_fraction=pred.subfloor_fraction,
            tf_temporal_db=float(tf.temporal_db), tf_spectral_db=float(tf.spectral_db),
            source_bits=int(source_bits),
        ))
    return rows


def gains_file(
    path: str | os.PathLike, *, pcm_bits: Sequence[int] = DEFAULT_PCM_BITS,
    block: int = DEFAULT_BLOCK, seconds: float | None = DEFAULT_SECONDS,
) -> list[GainsRow]:
    """:func:`gains_signal` of the mono mix of the first ``seconds`` of a file (None: all)."""
    from ..summaries import bits_of

    y, sr, subtype = _read_mono(path, seconds)
    return gains_signal(y, sr=sr, pcm_bits=pcm_bits, block=block, label=str(path),
                        source_bits=bits_of(subtype))


@dataclass(frozen=True)
class FrameGains:
    """Per-frame duality at one step (:func:`frame_gains`), bits per sample, shape
    (n_frames,) each: ``measured`` by the adaptive coder (side bits plus the information
    content of its indices), ``predicted`` from the extractor's Bark band levels of the same
    frame, ``energy_only`` the same prediction with the frame's spectrum made flat at its
    energy (what the frame would cost without its spectral shape)."""

    measured: np.ndarray
    predicted: np.ndarray
    energy_only: np.ndarray
    times: np.ndarray
    pcm_bits: int
    block: int


def frame_gains(y: np.ndarray, *, sr: float, pcm_bits: int = 8,
                block: int = DEFAULT_BLOCK, label: str = "<array>") -> FrameGains:
    """The adaptive coder's bits frame by frame, measured and predicted from the extractor.

    The prediction uses each frame's Bark band levels and the step only (as
    :func:`predict_gains`); nothing comes from the coded coefficients. ``label`` names the
    signal in errors (as :func:`gains_signal`).
    """
    (b,) = validate_pcm_bits(pcm_bits)
    y, sr, block = _checked_signal(y, sr, block, label)
    step = 2.0 ** (1 - b)
    bark = _bark_levels(y, sr, block)
    bark_db, bins, edges, window = bark.db, bark.bins, bark.edges, bark.window
    k = bark.widths.astype(np.float64)
    v, v_coder = bark_variances(bark_db, bins, k, window)
    predicted = adaptive_frame_bits(v, v_coder, k, step, block)
    w = k / k.sum()
    flat = np.broadcast_to(w @ v, v.shape)
    flat_coder = flat * (v_coder / np.where(v > 0, v, 1.0))  # the same log correction
    energy_only = adaptive_frame_bits(flat, flat_coder, k, step, block)
    measured: list[np.ndarray] = []
    _code_adaptive(y, float(y.mean()), block, step, edges, frame_bits=measured)
    m = np.concatenate(measured)
    n = min(m.size, predicted.size)
    return FrameGains(measured=m[:n], predicted=predicted[:n], energy_only=energy_only[:n],
                      times=np.arange(n) * block / sr, pcm_bits=b, block=block)


def frame_gains_file(path: str | os.PathLike, *, pcm_bits: int = 8,
                     block: int = DEFAULT_BLOCK,
                     seconds: float | None = DEFAULT_SECONDS) -> FrameGains:
    """:func:`frame_gains` of the mono mix of the first ``seconds`` of a file (None: all)."""
    y, sr, _ = _read_mono(path, seconds)
    return frame_gains(y, sr=sr, pcm_bits=pcm_bits, block=block, label=str(path))


def write_gains(path: str | os.PathLike, rows: Sequence[GainsRow | dict]) -> Path:
    """Write rows (records or their JSON dicts) as CSV (:data:`GAINS_COLUMNS`; an undefined
    number is an empty field), completely or not at all."""

    def cell(x) -> str:
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return ""
        return str(x) if isinstance(x, (str, int)) else format(float(x), ".10g")

    with atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(GAINS_COLUMNS)
            for row in rows:
                data = row if isinstance(row, dict) else row.to_dict()
                writer.writerow([cell(data.get(c)) for c in GAINS_COLUMNS])
    return Path(path)
