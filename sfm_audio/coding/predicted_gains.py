"""The gains the extractor predicts: coded gains over PCM from band levels and the step alone.

The companion of :mod:`.gains`, which measures the coders these predictions are judged
against. The predictions use nothing but the extractor's band levels
(:func:`sfm_audio.features.extract`, ``level_band_*``, with the coder's frames: ``n_fft = 2
block``, ``hop_length = block``, the sine window, centred, on the signal less its mean and
zero-padded to whole blocks: the coder's own frames) and the step. No coefficient of a
coder, nothing fitted. Each cell (frame × band, or coefficient) of variance ``v`` is taken as
Gaussian and quantized with step ``Δ``, ``θ = Δ²/12``:

- rate ``½ log2(max(v, θ)/θ)`` plus the entropy-coded quantizer's gap ``g = ½ log2(πe/6)``
  only where ``v > θ`` (where bits are spent); distortion the quantizer's exact mean squared
  error on ``N(0, v)`` (:func:`_gaussian_mse`, between ``min(v, θ)``'s two asymptotes);
- rates are bits per sample of the signal: the transform coders' are summed over their
  ``ceil(n / block) + 1`` frames, PCM's over the samples, each frame weighed by its share of
  them (:func:`_sample_weights`);
- PCM: one model for the file (the better of a Gaussian and a Laplace fitted to all samples,
  as the coder chooses) on frames of energy ``E_f``: its cross-entropy at high rate
  (:func:`_fixed_model_rate`), or, where its scale is a few steps, the predicted index
  histogram coded as the coder codes it (:func:`_pcm_rate_low`);
- adaptive: cells are frames × Bark bands; each band's model scale is the mean square of its
  ``K`` coefficients in that frame, whose log is ``ln v + ψ(K/2) − ln(K/2)`` on average; the
  extractor's band level, a mean of ``K`` periodogram bins, has its own log bias
  (:func:`sfm_audio.tfflatness.band_log_bias`), removed first; side bits per band from the
  median peak index of ``K`` Gaussian coefficients, and the mass its range cuts off;
- stationary: cells are coefficients of the long-term PSD (``linear:block`` band levels
  averaged over the frames), one model per coefficient for the file (103 side bits each),
  each coefficient following its Bark band's envelope over time, less what a model fitted
  to its own few values saves on them (:func:`_in_sample_saving`);
- the two transform coders' distortion, coefficient by coefficient: each band's level shaped
  by the long-term PSD across the band.

The pure high-rate values (``AM/GM`` of the cells, ``1/SFM``) are given for contrast: they
credit cells below ``θ`` with negative rate. The derivation is in ``docs/definitions.md``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, ndtr, ndtri

from ..tfflatness import band_log_bias, tf_flatness
from .adaptive import SCALE_BITS
from .coder import HEADER_BITS, SEGMENT_LENGTH_BITS
from .entropy import HIST, MODEL_SIDE_BITS, best_table_model
from .quantize import ECSQ_GAP_BITS

__all__ = ["DB_PER_BIT", "Prediction", "predict_gains", "adaptive_frame_bits",
           "bark_variances"]

#: dB of SNR per bit per sample on the high-rate line
DB_PER_BIT = 20.0 * math.log10(2.0)
#: blocks per range-coded segment of the transform coders
SEGMENT_FRAMES = 128
#: adaptive coder header: samples (64), block (16), bands (8), step (64), mean (64)
ADAPTIVE_HEADER_BITS = 64 + 16 + 8 + 64 + 64


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
    mass = ndtr(upper) - ndtr(lower)
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
    sigma = np.sqrt(np.maximum(energy, 0.0))
    reach = int(math.ceil(7.0 * sigma.max() / step)) + 1
    if reach >= HIST or float(shares @ energy) > (32.0 * step) ** 2:
        return None
    edges = (np.arange(-reach, reach + 2) - 0.5) * step
    z = np.divide(edges[None, :], sigma[:, None], out=np.sign(edges)[None, :] * np.inf
                  * np.ones_like(sigma)[:, None], where=sigma[:, None] > 0)
    p = shares @ np.diff(ndtr(z), axis=1)
    p /= p.sum()
    bits, _, _ = best_table_model(
        p, -reach, reach, sigma=max(math.sqrt(float(shares @ energy)) / step, 1e-6),
        b=max(float(shares @ np.sqrt(2.0 * energy / np.pi)) / step, 1e-6))
    return bits


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


def adaptive_frame_bits(v: np.ndarray, v_coder: np.ndarray, k: np.ndarray, step: float,
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


def bark_variances(bark_levels_db, bark_bins, bark_coefficients, window):
    """Band variances (linear: the band means are unbiased) and the variances the coder's
    scales see in the log domain: the log of a band mean of periodogram bins is low by
    ``band_log_bias``, removed; the coder's scale is the mean square of the band's ``K``
    coefficients (a Gamma(K/2) variable), whose log is ``ln v + ψ(K/2) − ln(K/2)`` on
    average."""
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
    v, v_coder = bark_variances(bark_levels_db, bark_bins, k, window)
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
    per_frame = adaptive_frame_bits(v, v_coder, k, step, block)
    adaptive_rate = float(per_frame.mean() * coefficients_per_sample
                          + (ADAPTIVE_HEADER_BITS + SEGMENT_LENGTH_BITS
                             * math.ceil(n_frames / SEGMENT_FRAMES)) / samples)
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
    transform_distortion = float(_gaussian_mse_table(v[band] * shape[:, None], step).mean())
    mean_v = v.mean(axis=1, keepdims=True)
    envelope = np.divide(v, mean_v, out=np.ones_like(v), where=mean_v > 0)
    u = psd[:, None] * envelope[band]                              # (block, n_frames)
    fixed = _fixed_model_rate(u, theta, step)
    fixed = np.where(fixed > 0, np.maximum(fixed - _in_sample_saving(n_frames), 0.0), 0.0)
    stationary_payload = float(fixed.mean() * coefficients_per_sample)
    # every coefficient is active (one step for all): each sends its model, even a constant one
    stationary_side = (HEADER_BITS + block + MODEL_SIDE_BITS * block
                       + SEGMENT_LENGTH_BITS * math.ceil(n_frames / SEGMENT_FRAMES))
    stationary_rate = stationary_payload + stationary_side / samples

    def gain(rate: float) -> float:
        return (10.0 * math.log10(pcm_distortion / transform_distortion)
                + DB_PER_BIT * (pcm_rate - rate))

    tf = tf_flatness(np.maximum(v, 1e-300), k, log_bias=band_log_bias(window, bark_bins))
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
