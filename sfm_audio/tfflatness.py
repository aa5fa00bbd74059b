"""Time–frequency flatness of a band-level spectrogram and its exact factorisation.

A forward-adaptive transform coder sees a *variance spectrogram*: one variance ``v[b, f]`` per
band ``b`` (``n_b`` coefficients wide) and frame ``f``. Its high-rate gain over PCM is the
AM/GM of all its coefficients' variances, i.e. ``1 / SFM`` of that spectrogram, with each band
counted ``n_b`` times. With band weights ``w_b = n_b / sum(n)`` and the frame energy per
coefficient ``E_f = sum_b w_b v[b, f]``::

    ln SFM_tf = mean_f sum_b w_b ln v[b, f] - ln mean_f E_f
              = (mean_f ln E_f - ln mean_f E_f)          temporal: ln SFM of the frame energies
              + mean_f (sum_b w_b ln v[b, f] - ln E_f)   spectral: mean of ln SFM per frame

exactly (add and subtract ``mean_f ln E_f``). The band variances come from a periodogram,
whose log is biased: see :func:`band_log_bias`. Pure numpy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import ParameterError

__all__ = [
    "TF_COLUMNS",
    "TfFlatness",
    "TfSums",
    "band_log_bias",
    "level_scale",
    "tf_flatness",
]

#: summary columns (dB), in order: total = temporal + spectral
TF_COLUMNS = ("tf_sfm_db", "tf_temporal_db", "tf_spectral_db")


def level_scale(window: np.ndarray) -> float:
    """``sum(w**2)``: a periodogram bin of white noise of variance ``s2`` has mean ``s2 *
    sum(w**2)``, so ``P / sum(w**2)`` is a variance per sample (per coefficient of an
    orthonormal transform)."""
    w = np.asarray(window, dtype=np.float64)
    return float(w @ w)


def band_log_bias(window: np.ndarray, n_bins: np.ndarray) -> np.ndarray:
    """Expected ``ln`` of the mean of ``K`` adjacent periodogram bins of Gaussian noise over
    the ``ln`` of their expected mean, in nats (negative).

    A single bin is exponential: ``E[ln P] = ln E[P] - gamma`` (``-0.5772``). The mean of ``K``
    bins is approximated by a Gamma variable with the same mean and variance; the variance
    counts the correlation the window puts between bins ``d`` apart,
    ``rho_d = |sum_n w[n]^2 exp(-2 pi i d n / N)|^2 / (sum w^2)^2`` (Hann: 4/9, 1/36, 0...),
    so the shape is ``K_eff = K^2 / (K + 2 sum_{d>=1} (K - d) rho_d)`` and the bias
    ``digamma(K_eff) - ln K_eff``. ``K = 1`` gives ``-gamma`` exactly, for any window.

    Parameters
    ----------
    window : np.ndarray [shape=(n_fft,)]
        The analysis window, zero-padded to ``n_fft``.
    n_bins : np.ndarray [shape=(n_bands,)]
        Bins averaged in each band.

    Returns
    -------
    bias : np.ndarray [shape=(n_bands,)]
    """
    w2 = np.asarray(window, dtype=np.float64) ** 2
    n = w2.size
    spectrum = np.abs(np.fft.fft(w2)) ** 2 / (w2.sum() ** 2)
    k = np.asarray(n_bins, dtype=np.int64)
    if (k < 1).any():
        raise ParameterError("every band needs at least one bin", param="n_bins")
    d = np.arange(1, min(int(k.max()), n))
    rho = spectrum[d]
    # sum_{d=1}^{K-1} (K - d) rho_d for every K at once
    cum_rho = np.concatenate([[0.0], np.cumsum(rho)])
    cum_drho = np.concatenate([[0.0], np.cumsum(d * rho)])
    m = np.minimum(k - 1, d.size)
    var_sum = k + 2.0 * (k * cum_rho[m] - cum_drho[m])
    k_eff = k.astype(np.float64) ** 2 / var_sum
    # scipy.special here, not at the top: it takes 0.15 s to import, and every corpus run
    # imports this module (through summaries) before its workers can start
    from scipy.special import digamma

    return digamma(k_eff) - np.log(k_eff)


@dataclass(frozen=True)
class TfFlatness:
    """Time–frequency flatness in dB: ``sfm_db = temporal_db + spectral_db`` (exactly).

    Attributes
    ----------
    sfm_db : float
        ``10 log10 SFM`` of the whole band-variance spectrogram (``<= 0``).
    temporal_db : float
        ``10 log10 (GM_f(E) / AM_f(E))`` of the frame energies.
    spectral_db : float
        ``mean_f 10 log10 SFM_f`` of the frames' band spectra.
    frames : int
        Frames used.
    """

    sfm_db: float
    temporal_db: float
    spectral_db: float
    frames: int


_DB = 10.0 / np.log(10.0)


def tf_flatness(
    variances: np.ndarray, widths: np.ndarray, *, log_bias: np.ndarray | None = None
) -> TfFlatness:
    """Flatness of a band-variance spectrogram and its temporal and spectral terms.

    Parameters
    ----------
    variances : np.ndarray [shape=(n_bands, n_frames)]
        Positive variance per coefficient of each band and frame (time last).
    widths : np.ndarray [shape=(n_bands,)]
        Coefficients (bins) in each band: the band's weight.
    log_bias : np.ndarray [shape=(n_bands,)] or None
        ``E[ln v_hat] - ln v`` of each band's estimate (:func:`band_log_bias`), subtracted
        from the band logs; None: the logs are taken as they are. The frame energies pool
        every bin of a frame and are not corrected (their bias is ``O(1 / n_bins)``).

    Returns
    -------
    TfFlatness
        NaN values (and ``frames=0``) when there is no frame.
    """
    v = np.asarray(variances, dtype=np.float64)
    w = np.asarray(widths, dtype=np.float64)
    if v.ndim != 2 or w.shape != (v.shape[0],):
        raise ParameterError(f"variances {v.shape} and widths {w.shape} must be (n_bands, "
                             "n_frames) and (n_bands,)", param="variances")
    if v.shape[1] == 0:
        nan = float("nan")
        return TfFlatness(nan, nan, nan, 0)
    if not (v > 0).all() or not (w > 0).all():
        raise ParameterError("variances and widths must be positive", param="variances")
    w = w / w.sum()
    logs = np.log(v)
    if log_bias is not None:
        logs = logs - np.asarray(log_bias, dtype=np.float64)[:, None]
    log_gm_f = w @ logs                      # (n_frames,)
    energy = w @ v                           # E_f
    log_e = np.log(energy)
    temporal = float(log_e.mean() - np.log(energy.mean()))
    spectral = float((log_gm_f - log_e).mean())
    total = float(log_gm_f.mean() - np.log(energy.mean()))
    return TfFlatness(_DB * total, _DB * temporal, _DB * spectral, int(v.shape[1]))


class TfSums:
    """:func:`tf_flatness` accumulated over blocks of frames, in memory bounded by a block.

    Every term of the factorisation is a mean over frames of a per-frame quantity (``sum_b
    w_b ln v[b, f]``, ``E_f``, ``ln E_f``), so the sums can be taken block by block and the
    logs of means taken at the end: a live input's summary never holds every frame's band
    levels at once. The result agrees with :func:`tf_flatness` of the concatenated blocks up
    to the rounding of the sums (their order differs); the same blocks always give the same
    bits.

    Parameters
    ----------
    widths : np.ndarray [shape=(n_bands,)]
        Coefficients (bins) in each band: the band's weight.
    log_bias : np.ndarray [shape=(n_bands,)] or None
        As for :func:`tf_flatness`.
    """

    def __init__(self, widths: np.ndarray, *, log_bias: np.ndarray | None = None) -> None:
        w = np.asarray(widths, dtype=np.float64)
        if w.ndim != 1 or not (w > 0).all():
            raise ParameterError("widths must be positive, shape (n_bands,)", param="widths")
        self._w = w / w.sum()
        self._bias = (np.zeros_like(w) if log_bias is None
                      else np.asarray(log_bias, dtype=np.float64))
        self.frames = 0
        self._sum_log_gm = 0.0   # sum_f sum_b w_b ln v[b, f]
        self._sum_energy = 0.0   # sum_f E_f
        self._sum_log_e = 0.0    # sum_f ln E_f

    def add(self, variances: np.ndarray) -> None:
        """Add a block of frames: ``variances`` of shape (n_bands, k), positive."""
        v = np.asarray(variances, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] != self._w.shape[0]:
            raise ParameterError(f"variances {v.shape} must be (n_bands={self._w.shape[0]}, "
                                 "n_frames)", param="variances")
        if v.shape[1] == 0:
            return
        if not (v > 0).all():
            raise ParameterError("variances must be positive", param="variances")
        energy = self._w @ v
        self._sum_log_gm += float(self._w @ np.log(v).sum(axis=1) - self._w @ self._bias
                                  * v.shape[1])
        self._sum_energy += float(energy.sum())
        self._sum_log_e += float(np.log(energy).sum())
        self.frames += v.shape[1]

    def result(self) -> TfFlatness:
        """The flatness of every frame added (NaN, ``frames=0``, when none was)."""
        n = self.frames
        if n == 0:
            nan = float("nan")
            return TfFlatness(nan, nan, nan, 0)
        log_mean_e = np.log(self._sum_energy / n)
        mean_log_gm, mean_log_e = self._sum_log_gm / n, self._sum_log_e / n
        temporal = float(mean_log_e - log_mean_e)
        spectral = float(mean_log_gm - mean_log_e)
        total = float(mean_log_gm - log_mean_e)
        return TfFlatness(_DB * total, _DB * temporal, _DB * spectral, n)
