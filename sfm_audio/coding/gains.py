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

The *predicted* gains use nothing but the extractor's band levels
(:func:`sfm_audio.features.extract`, ``level_band_*``, with the coder's frames: ``n_fft = 2
block``, ``hop_length = block``, the sine window, centred, on the signal less its mean and
zero-padded to whole blocks: the coder's own frames) and the step. No coefficient of a
coder, nothing fitted. Each cell (frame × band, or coefficient) of variance ``v`` is taken as
Gaussian and quantized with step ``Δ``, ``θ = Δ²/12``:

- rate ``½ log2(max(v, θ)/θ)`` plus the entropy-coded quantizer's gap ``g = ½ log2(πe/6)``
  only where ``v > θ`` (where bits are spent); distortion ``min(v, θ)``;
- PCM: one model for the file (the better of a Gaussian and a Laplace fitted to all samples,
  as the coder chooses) on frames of energy ``E_f``: its cross-entropy at high rate
  (:func:`_fixed_model_rate`), distortion ``mean_f min(E_f, θ)``;
- adaptive: cells are frames × Bark bands; each band's model scale is the mean square of its
  ``K`` coefficients in that frame, whose log is ``ln v + ψ(K/2) − ln(K/2)`` on average; the
  extractor's band level, a mean of ``K`` periodogram bins, has its own log bias
  (:func:`sfm_audio.tfflatness.band_log_bias`), removed first; side bits per band from the
  median peak index of ``K`` Gaussian coefficients;
- stationary: cells are coefficients of the long-term PSD (``linear:block`` band levels
  averaged over the frames), one model per coefficient for the file (103 side bits each),
  each coefficient following its Bark band's envelope over time.

The pure high-rate values (``AM/GM`` of the cells, ``1/SFM``) are given for contrast: they
credit cells below ``θ`` with negative rate. The derivation is in ``docs/definitions.md``.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import scipy.fft
from scipy.special import digamma, ndtri

from .._errors import ParameterError, SfmError
from .._files import atomic_path
from ..tfflatness import band_log_bias, tf_flatness
from ..validate import positive_float
from .adaptive import SCALE_BITS, AdaptiveBlockCoder
from .coder import HEADER_BITS, SEGMENT_LENGTH_BITS, BlockCoder, run_coders
from .entropy import MODEL_SIDE_BITS, new_decoder, new_encoder
from .mdct import Folder, dct4_matrix, imdct, run_mdct_coders, validate_mdct_block
from .quantize import ECSQ_GAP_BITS, dequantize
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
#: dB of SNR per bit per sample on the high-rate line
DB_PER_BIT = 20.0 * math.log10(2.0)
#: samples per range-coded segment of the PCM coder and blocks per segment of the others
_PCM_SEGMENT = 1 << 16
_SEGMENT_FRAMES = 128
#: adaptive coder header: samples (64), block (16), bands (8), step (64), mean (64)
_ADAPTIVE_HEADER_BITS = 64 + 16 + 8 + 64 + 64

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


# --------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class Prediction:
    """Predicted rates (bits per sample), distortions and gains (dB) at one step."""

    pcm_rate: float
    stationary_rate: float
    adaptive_rate: float
    pcm_distortion: float
    transform_distortion: float
    stationary_db: float
    adaptive_db: float
    highrate_stationary_db: float
    highrate_adaptive_db: float
    subfloor_fraction: float


def _cells_rate(v: np.ndarray, w: np.ndarray, theta: float) -> float:
    """``sum w (½ log2(max(v, θ)/θ) + g [v > θ])``: the rate-aware rate of Gaussian cells."""
    active = v > theta
    return float(w @ (0.5 * np.log2(np.maximum(v, theta) / theta) + ECSQ_GAP_BITS * active))


def _peak_index(std: np.ndarray, count: np.ndarray, step: float) -> np.ndarray:
    """Median of the largest |index| of ``count`` Gaussian coefficients of ``std``:
    ``P(max |z| < t) = (2 Φ(t) − 1)^K = ½``."""
    t = ndtri(0.5 * (1.0 + 0.5 ** (1.0 / count)))
    return np.floor(std * t / step + 0.5)


def _gaussian_mse(v: np.ndarray, step: float) -> np.ndarray:
    """Mean squared error of the mid-tread quantizer of step ``Δ`` (midpoint reconstruction)
    on ``N(0, v)``, exactly: ``v − Σ_k (2 k Δ E[X; cell k] − k² Δ² P(cell k))``. It is ``v``
    where ``v ≪ θ`` (all to zero) and ``θ = Δ²/12`` where ``v ≫ θ``; between, below both
    (``min(v, θ)`` is its high- and low-rate asymptote)."""
    v = np.asarray(v, dtype=np.float64)
    theta = step * step / 12.0
    out = np.minimum(v, theta)
    near = (v > 0) & (v < (6.0 * step) ** 2)  # beyond 6 steps the error is θ within 1e-12
    if not near.any():
        return out
    sigma = np.sqrt(v[near])[:, None]
    k = np.arange(1, 40)[None, :]
    upper, lower = (k + 0.5) * step / sigma, (k - 0.5) * step / sigma
    density = np.exp(-0.5 * lower**2) - np.exp(-0.5 * upper**2)
    mean_part = sigma * density / math.sqrt(2.0 * math.pi)          # E[X; cell k] / 1
    mass = _ndtr(upper) - _ndtr(lower)
    both_sides = 2.0 * (2.0 * k * step * mean_part - (k * step) ** 2 * mass).sum(axis=1)
    out[near] = np.maximum(v[near] - both_sides, 0.0)
    return out


def _pcm_rate_low(energy: np.ndarray, shares: np.ndarray, step: float) -> float | None:
    """PCM's bits per sample at low resolution, where its model's scale is a few steps:
    the index histogram predicted from the frames (samples of frame ``f`` as ``N(0, E_f)``,
    weighed by its share) coded as the coder codes it, with the better of the quantized
    Gaussian and Laplace over the scale factors it tries (:mod:`.entropy`). The high-rate
    cross-entropy (:func:`_fixed_model_rate`) drops the index grid's own entropy there (a
    file at −60 dBFS coded at 8 bits). None where the indices reach beyond the coder's
    histogram (the high-rate value is exact there)."""
    from .entropy import _HIST, _SCALE_FACTORS, _pmf

    sigma = np.sqrt(np.maximum(energy, 0.0))
    reach = int(math.ceil(7.0 * sigma.max() / step)) + 1
    if reach >= _HIST or float(shares @ energy) > (32.0 * step) ** 2:
        return None
    edges = (np.arange(-reach, reach + 2) - 0.5) * step
    z = np.divide(edges[None, :], sigma[:, None], out=np.sign(edges)[None, :] * np.inf
                  * np.ones_like(sigma)[:, None], where=sigma[:, None] > 0)
    cdf = _ndtr(z)
    p = shares @ np.diff(cdf, axis=1)
    p /= p.sum()
    gauss = math.sqrt(float(shares @ energy)) / step
    laplace = float(shares @ np.sqrt(2.0 * energy / np.pi)) / step
    best = math.inf
    for family, base in (("gaussian", gauss), ("laplace", laplace)):
        for factor in _SCALE_FACTORS:
            q = _pmf(family, -reach, reach, float(np.float32(max(base * factor, 1e-6))))
            best = min(best, float(-(p * np.log2(q)).sum()))
    return best


@functools.lru_cache(maxsize=1)
def _mse_table() -> tuple[np.ndarray, np.ndarray]:
    """``log(v/θ)`` on a fine grid and ``D(v)/θ`` there (:func:`_gaussian_mse`, step 1)."""
    x = np.linspace(-12.0, 8.0, 4001)
    return x, _gaussian_mse(np.exp(x) / 12.0, 1.0) * 12.0


def _gaussian_mse_table(v: np.ndarray, step: float) -> np.ndarray:
    """:func:`_gaussian_mse` by interpolation in ``log(v/θ)`` (within 1e-5 of it), for the
    many coefficients of every frame; ``v`` below the grid, ``θ`` above it."""
    theta = step * step / 12.0
    x, d = _mse_table()
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(divide="ignore"):
        r = np.log(np.maximum(v, 1e-300) / theta)
    return theta * np.where(r < x[0], v / theta, np.interp(r, x, d))


def _sample_weights(n_frames: int, samples: int, block: int, window: np.ndarray) -> np.ndarray:
    """Each centred frame's share of the signal's samples, shape (n_frames,), summing to 1:
    ``Σ w²`` over the frame's samples that lie in ``[0, samples)``, over ``samples``. (The
    squared sine window of ``2 block`` at hop ``block`` sums to 1 at every sample, so the
    shares count each sample once; an end frame over zero padding holds fewer.)"""
    w2 = np.asarray(window, dtype=np.float64) ** 2
    starts = np.arange(n_frames) * block - block
    t = starts[:, None] + np.arange(w2.size)[None, :]
    inside = (t >= 0) & (t < samples)
    return (inside * w2).sum(axis=1) / samples


def _fixed_model_rate(u: np.ndarray, theta: float, step: float,
                      weights: np.ndarray | None = None) -> np.ndarray:
    """Bits per coefficient of a model fixed over the frames (the better of a Gaussian and a
    Laplace fitted to the whole mixture) on coefficients whose variance in frame ``f`` is
    ``u[..., f]``: the cross-entropy of the model at high rate, averaged over the frames,
    ``½ log2(2π σ²/Δ²) + u_f/(2 σ² ln 2)`` with ``σ² = mean u`` (Gaussian) or ``log2(2b/Δ) +
    √(2 u_f/π)/(b ln 2)`` with ``b = mean √(2 u/π)`` (Laplace). A model whose variance is
    at most ``θ`` codes (almost) only zeros: rate 0; the rate is never below 0. ``weights``
    (summing to 1) weigh the frames; None: equal."""
    u = np.asarray(u, dtype=np.float64)
    if weights is None:
        weights = np.full(u.shape[-1], 1.0 / u.shape[-1])
    s2 = u @ weights
    root = np.sqrt(2.0 * u / np.pi)
    b = root @ weights
    ln2 = np.log(2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gauss = 0.5 * np.log2(2.0 * np.pi * s2 / step**2) + (u / (2.0 * s2[..., None] * ln2)
                                                             ) @ weights
        laplace = np.log2(2.0 * b / step) + (root / (b[..., None] * ln2)) @ weights
    rate = np.maximum(np.minimum(gauss, laplace), 0.0)
    return np.where(s2 > theta, rate, 0.0)


def _in_sample_saving(count: int) -> float:
    """Bits per value a model fitted to ``count`` values of its own saves on them, on
    average, against the model of the true distribution (Gaussian values): its scale is the
    values' own mean square, ``E log σ̂² = log σ² + ψ(F/2) − ln(F/2)`` (half of it in bits),
    and its index range is theirs, ``[min, max]``, which holds ``(F − 1)/(F + 1)`` of the
    probability on average (order statistics), the rest renormalised away. Both vanish as
    ``F`` grows; they matter for a clip of a few blocks, whose stationary models are fitted
    to a handful of frames."""
    f = float(count)
    if f < 2:
        return 0.0
    scale = -0.5 * (digamma(f / 2) - math.log(f / 2)) / math.log(2.0)
    return scale + math.log2((f + 1) / (f - 1))


def _adaptive_frame_bits(v: np.ndarray, v_coder: np.ndarray, k: np.ndarray, step: float,
                         block: int) -> np.ndarray:
    """Predicted bits per sample of each frame of the adaptive coder: the rate-aware payload
    of its Bark cells plus their side bits, shape (n_frames,)."""
    theta = step * step / 12.0
    w = k / k.sum()
    active = v_coder > theta
    # a cell's model spans [-peak, peak] of its own K indices: the mass beyond the largest of
    # K magnitudes, 1/(K + 1) on average, is renormalised away (log2((K + 1)/K) per index)
    truncation = np.log2((k + 1.0) / k)[:, None] * active
    payload = w @ (0.5 * np.log2(np.maximum(v_coder, theta) / theta) + ECSQ_GAP_BITS * active
                   - truncation)
    peak = _peak_index(np.sqrt(v), k[:, None], step)
    gamma = 2 * np.floor(np.log2(peak + 1)) + 1
    side = (gamma + np.where(peak > 0, 1 + SCALE_BITS, 0)).sum(axis=0) / block
    return payload + side


def _bark_variances(bark_levels_db, bark_bins, bark_coefficients, window):
    """Band variances (linear, unbiased) and the log-corrected variances the coder's scales
    see (see :func:`predict_gains`)."""
    k = np.asarray(bark_coefficients, dtype=np.float64)
    v = 10.0 ** (np.asarray(bark_levels_db, dtype=np.float64) / 10.0)
    bias = digamma(k / 2) - np.log(k / 2) - band_log_bias(window, bark_bins)
    return v, v * np.exp(bias)[:, None]


def predict_gains(
    bark_levels_db: np.ndarray, bark_bins: np.ndarray, bark_coefficients: np.ndarray,
    psd_levels_db: np.ndarray, *, window: np.ndarray, step: float, samples: int, block: int,
) -> Prediction:
    """Predicted gains of the stationary and the adaptive coder over PCM at one step.

    Parameters
    ----------
    bark_levels_db : np.ndarray [shape=(n_bands, n_frames)]
        The extractor's ``level_band_*`` of the Bark layout (dB, variance per sample).
    bark_bins : np.ndarray [shape=(n_bands,)]
        FFT bins in each band (the estimate's log bias depends on them).
    bark_coefficients : np.ndarray [shape=(n_bands,)]
        MDCT coefficients in each band (the coder's cells; the weights); they sum to
        ``block``.
    psd_levels_db : np.ndarray [shape=(block, n_frames)]
        The extractor's ``level_band_*`` of ``linear:block`` (one band per coefficient).
    window : np.ndarray [shape=(2 block,)]
        The extractor's analysis window.
    step : float
    samples : int
        The signal's length; rates are bits per sample of it. The levels' frames are the
        coder's, ``ceil(samples / block) + 1`` of ``block`` coefficients each (see
        :func:`_extractor_levels`), so rates are summed over frames, not averaged.
    block : int

    Returns
    -------
    Prediction
    """
    theta = step * step / 12.0
    k = np.asarray(bark_coefficients, dtype=np.float64)
    w = k / k.sum()
    # band variances: the band means are unbiased (linear quantities use them as they are)
    v = 10.0 ** (np.asarray(bark_levels_db, dtype=np.float64) / 10.0)
    # the log of a band mean of periodogram bins is low by bias_ext: removed; the coder's
    # model scale is the mean square of the band's K coefficients (a Gamma(K/2) variable):
    # its log is ln v + psi(K/2) - ln(K/2) on average
    bias_ext = band_log_bias(window, bark_bins)
    bias_coder = digamma(k / 2) - np.log(k / 2)
    v_coder = v * np.exp(bias_coder - bias_ext)[:, None]
    n_frames = v.shape[1]
    # PCM: one model for every sample of the file, frames of variance E_f
    # (PCM codes the samples only: frames weigh by the samples they hold, and an end frame's
    # energy, a windowed mean over zero padding too, is taken over its samples alone)
    shares = _sample_weights(n_frames, samples, block, window)
    full = np.sum(np.asarray(window, dtype=np.float64) ** 2) / samples
    energy = (w @ v) * np.divide(full, shares, out=np.zeros_like(shares), where=shares > 0)
    low = _pcm_rate_low(energy, shares, step)
    pcm_rate = float(_fixed_model_rate(energy, theta, step, weights=shares) if low is None
                     else low)
    pcm_rate += (HEADER_BITS + 1 + MODEL_SIDE_BITS) / samples
    pcm_distortion = float(shares @ _gaussian_mse(energy, step))
    # adaptive: frames x Bark bands, a model per cell; side bits per band and frame
    # rates are totals over the coder's frames (n_frames blocks of coefficients, more than
    # the samples by up to two blocks: the padding of the ends) per sample of the signal
    coefficients_per_sample = n_frames * block / samples
    per_frame = _adaptive_frame_bits(v, v_coder, k, step, block)
    adaptive_rate = float(per_frame.mean() * coefficients_per_sample
                          + (_ADAPTIVE_HEADER_BITS + SEGMENT_LENGTH_BITS
                             * math.ceil(n_frames / _SEGMENT_FRAMES)) / samples)
    # stationary: one model per coefficient for the whole file. Its long-term variance is
    # the PSD; over time it follows its Bark band's envelope v[b, f] / mean_f v[b, f]
    psd = (10.0 ** (np.asarray(psd_levels_db, dtype=np.float64) / 10.0)).mean(axis=1)
    band = np.repeat(np.arange(k.size), k.astype(int))
    # both transform coders quantize the same coefficients with the same step: the same
    # distortion. Within a band the coefficients are not alike: each is taken with its
    # band's level in the frame, shaped by the long-term PSD across the band
    # (u = v[b, f] S_k / mean_{k in b} S), because the error is concave in the variance near θ
    band_psd = np.bincount(band, weights=psd, minlength=k.size) / k
    shape = np.divide(psd, band_psd[band], out=np.ones_like(psd), where=band_psd[band] > 0)
    transform_distortion = float(np.mean([
        (_gaussian_mse_table(v[:, f][band] * shape, step)).mean() for f in range(n_frames)]))
    mean_v = v.mean(axis=1, keepdims=True)
    envelope = np.divide(v, mean_v, out=np.ones_like(v), where=mean_v > 0)
    u = psd[:, None] * envelope[band]                              # (block, n_frames)
    fixed = _fixed_model_rate(u, theta, step)
    fixed = np.where(fixed > 0, np.maximum(fixed - _in_sample_saving(n_frames), 0.0), 0.0)
    stationary_payload = float(fixed.mean() * coefficients_per_sample)
    # every coefficient is active (one step for all): each sends its model, even a constant one
    stationary_side = (HEADER_BITS + block + MODEL_SIDE_BITS * block
                       + SEGMENT_LENGTH_BITS * math.ceil(n_frames / _SEGMENT_FRAMES))
    stationary_rate = stationary_payload + stationary_side / samples

    def gain(rate: float) -> float:
        return (10.0 * math.log10(pcm_distortion / transform_distortion)
                + DB_PER_BIT * (pcm_rate - rate))

    tf = tf_flatness(np.maximum(v, 1e-300), k, log_bias=bias_ext)
    log_psd = np.log(np.maximum(psd, 1e-300))
    highrate_stationary = 10.0 * math.log10(psd.mean()) - 10.0 * log_psd.mean() / math.log(10)
    return Prediction(
        pcm_rate=pcm_rate, stationary_rate=stationary_rate, adaptive_rate=adaptive_rate,
        pcm_distortion=pcm_distortion, transform_distortion=transform_distortion,
        stationary_db=gain(stationary_rate), adaptive_db=gain(adaptive_rate),
        highrate_stationary_db=float(highrate_stationary),
        highrate_adaptive_db=-float(tf.sfm_db),
        subfloor_fraction=float((w @ (v <= theta)).mean()),
    )


def _ndtr(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


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
    bits = _ADAPTIVE_HEADER_BITS
    decoded = np.empty_like(coefficients)
    for a in range(0, coefficients.shape[0], _SEGMENT_FRAMES):
        c = coefficients[a : a + _SEGMENT_FRAMES]
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
                                   chunk_blocks=_SEGMENT_FRAMES)
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
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ParameterError("y must be finite with shape (n_samples,)")
    sr = positive_float(sr, "sr")
    block = validate_mdct_block(block)
    bits = validate_pcm_bits(pcm_bits)
    if y.size < 2 * block:
        raise ParameterError(f"{label}: {y.size} samples are fewer than two blocks of {block}",
                             param="block")
    if not np.ptp(y) > 0:
        raise SfmError(f"{label}: the signal is constant; gains over PCM are undefined")
    edges_hz = bark_edges_hz(sr)
    spec = "edges:" + ",".join(f"{e:.6g}" for e in edges_hz)
    bark_db, layout = _extractor_levels(y, sr, block, spec)
    psd_db, _ = _extractor_levels(y, sr, block, f"linear:{block}")
    from ..stft import get_window

    window = get_window("cosine", 2 * block)
    bins = layout.bin_hi - layout.bin_lo + 1
    edges = coefficient_edges(edges_hz, sr=sr, block=block)
    widths = np.diff(edges)
    # the extractor's bands and the coder's: one coefficient band per Bark band that holds one
    band_of = np.searchsorted(edges_hz[1:-1], (edges[:-1] + 0.5) * sr / (2 * block),
                              side="right")
    if band_of.size != bins.size:
        keep = np.isin(np.arange(bins.size), band_of)
        bark_db, bins = bark_db[keep], bins[keep]
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
    from .. import io

    meta = io.info(path)
    stop = meta.frames
    if seconds is not None:
        stop = min(stop, int(round(positive_float(seconds, "seconds") * meta.samplerate)))
    pieces = [chunk[0] for chunk in io.stream(path, block_frames=1 << 16, stop=stop)]
    y = np.concatenate(pieces) if pieces else np.zeros(0)
    from ..summaries import bits_of

    return gains_signal(y, sr=float(meta.samplerate), pcm_bits=pcm_bits, block=block,
                        label=str(path), source_bits=bits_of(meta.subtype))


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
                block: int = DEFAULT_BLOCK) -> FrameGains:
    """The adaptive coder's bits frame by frame, measured and predicted from the extractor.

    The prediction uses each frame's Bark band levels and the step only (as
    :func:`predict_gains`); nothing comes from the coded coefficients.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ParameterError("y must be finite with shape (n_samples,)")
    (b,) = validate_pcm_bits(pcm_bits)
    block = validate_mdct_block(block)
    if y.size < 2 * block:
        raise ParameterError(f"{y.size} samples are fewer than two blocks of {block}",
                             param="block")
    if not np.ptp(y) > 0:
        raise SfmError("the signal is constant; its frames cost nothing to code")
    step = 2.0 ** (1 - b)
    edges_hz = bark_edges_hz(sr)
    spec = "edges:" + ",".join(f"{e:.6g}" for e in edges_hz)
    bark_db, layout = _extractor_levels(y, sr, block, spec)
    from ..stft import get_window

    window = get_window("cosine", 2 * block)
    bins = layout.bin_hi - layout.bin_lo + 1
    edges = coefficient_edges(edges_hz, sr=sr, block=block)
    k = np.diff(edges).astype(np.float64)
    if k.size != bins.size:
        raise SfmError("the extractor's Bark bands and the coder's differ at this rate")
    v, v_coder = _bark_variances(bark_db, bins, k, window)
    predicted = _adaptive_frame_bits(v, v_coder, k, step, block)
    w = k / k.sum()
    flat = np.broadcast_to(w @ v, v.shape)
    flat_coder = flat * (v_coder / np.where(v > 0, v, 1.0))  # the same log correction
    energy_only = _adaptive_frame_bits(flat, flat_coder, k, step, block)
    measured: list[np.ndarray] = []
    _code_adaptive(y, float(y.mean()), block, step, edges, frame_bits=measured)
    m = np.concatenate(measured)
    n = min(m.size, predicted.size)
    return FrameGains(measured=m[:n], predicted=predicted[:n], energy_only=energy_only[:n],
                      times=np.arange(n) * block / sr, pcm_bits=b, block=block)


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
