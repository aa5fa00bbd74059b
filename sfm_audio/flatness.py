"""Spectral flatness and its companions, on arrays: pure numpy, no I/O.

Definitions (docs/definitions.md): ``P = |S|**power``, floored as ``max(amin, P)`` in both means
(librosa's rule, so a silent frame has SFM 1.0, never NaN); ``sfm_db = 10 log10 SFM``;
Johnston tonality ``min(sfm_db / -60, 1)``; Wiener entropy ``ln SFM``; crest factor
``max(P) / mean(P)``.

The public, librosa-shaped functions: :func:`spectral_flatness` of a spectrogram here, of a
signal through the streaming :mod:`sfm_audio.kernel` (which this module sits above: the kernel
imports nothing from it), and the generic :func:`flatness` of any non-negative values
(eigenvalues, singular values).
"""

from __future__ import annotations

import numpy as np

from ._errors import ParameterError
from .kernel import TONALITY_DB, signal_flatness
from .stft import StftParams
from .threads import DEFAULT_THREADS
from .validate import validate_amin, validate_power

__all__ = [
    "flatness",
    "spectral_flatness",
    "flatness_db",
    "tonality",
    "wiener_entropy",
    "spectral_crest",
    "TONALITY_DB",
]


def flatness(values: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """Geometric mean over arithmetic mean of non-negative values along ``axis``.

    Serves any spectrum: power spectra, covariance eigenvalues, singular values. No floor is
    applied: a vector with some zeros has flatness 0; an all-zero vector is taken as flat (1.0),
    the same convention as the floored spectral flatness of silence.

    Parameters
    ----------
    values : np.ndarray [shape=(..., n, ...)]
        Non-negative, finite values.
    axis : int
        Axis along which the means are taken.

    Returns
    -------
    sfm : np.ndarray [shape=values.shape without ``axis``]
        In [0, 1].

    Examples
    --------
    >>> float(flatness(np.array([1.0, 4.0, 1.0])))  # doctest: +ELLIPSIS
    0.7937005...
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or v.shape[axis] == 0:
        raise ParameterError("flatness needs at least one value along the axis")
    if not np.isfinite(v).all():
        raise ParameterError("flatness values must be finite (found NaN or Inf)")
    if (v < 0).any():
        raise ParameterError("flatness values must be non-negative")
    amean = v.mean(axis=axis)
    with np.errstate(divide="ignore"):
        gmean = np.exp(np.log(v).mean(axis=axis))
    zero = amean == 0
    out = np.divide(gmean, amean, out=np.ones_like(amean), where=~zero)
    # gmean <= amean in exact arithmetic; rounding may overshoot by an ulp.
    return np.minimum(out, 1.0)


def spectral_flatness(
    S: np.ndarray | None = None,
    *,
    y: np.ndarray | None = None,
    n_fft: int = 2048,
    hop_length: int | None = 512,
    win_length: int | None = None,
    window: str | tuple | np.ndarray = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    amin: float = 1e-10,
    power: float = 2.0,
    threads: int = DEFAULT_THREADS,
) -> np.ndarray:
    """Spectral flatness per frame, exactly as ``librosa.feature.spectral_flatness``.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames)] or None
        Magnitude spectrogram (non-negative). Computed from ``y`` when not given.
    y : np.ndarray [shape=(..., n_samples)] or None
        Audio signal.
    n_fft, hop_length, win_length, window, center, pad_mode
        STFT parameters, as in :func:`sfm_audio.stft.stft`.
    amin : float > 0
        Floor applied to the power spectrum before both means.
    power : float > 0
        Exponent applied to ``S``: 2 for power, 1 for magnitude.
    threads : int
        With ``y``: threads computing chunks of frames (numpy releases the GIL in the FFT).
        The signal is streamed through the extraction kernel a few hundred frames at a time,
        so the complex STFT is never held; the numbers do not depend on ``threads``.

    Returns
    -------
    flatness : np.ndarray [shape=(..., 1, n_frames)]

    Raises
    ------
    ParameterError
        Neither ``S`` nor ``y``; ``S`` complex or with a negative entry; ``y`` complex, empty,
        or holding NaN/Inf; ``y`` too short with ``center=False``; a bad option.

    Examples
    --------
    >>> S = np.array([[1.0, 3.0], [2.0, 1.0], [1.0, 2.0]])
    >>> spectral_flatness(S).round(10).tolist()
    [[0.793700526, 0.707555839]]
    """
    amin = validate_amin(amin)
    power = validate_power(power)
    if S is None:
        if y is None:
            raise ParameterError("give either S (a magnitude spectrogram) or y (a signal)")
        if pad_mode != "constant":
            raise ParameterError(f"{pad_mode=} is not supported; only 'constant' (zero) padding",
                                 param="pad_mode")
        params = StftParams(n_fft, hop_length, win_length, window, center)
        return signal_flatness(y, params, power=power, amin=amin, threads=threads)
    S = np.asarray(S)
    if S.ndim < 2:
        raise ParameterError(f"S must have shape (..., n_freq, n_frames), got {S.shape}")
    if np.iscomplexobj(S):
        raise ParameterError("S must be a real, non-negative magnitude spectrogram")
    if np.any(S < 0):  # librosa's rule: a negative magnitude is an error, not squared away
        raise ParameterError("spectral flatness is only defined with non-negative energies; "
                             "S has a negative entry")
    P = np.maximum(amin, S.astype(np.float64) ** power)
    gmean = np.exp(np.mean(np.log(P), axis=-2, keepdims=True))
    amean = np.mean(P, axis=-2, keepdims=True)
    return gmean / amean


def flatness_db(sfm: np.ndarray) -> np.ndarray:
    """Flatness in decibels, ``10 log10 sfm`` (0 dB for a flat spectrum)."""
    return 10.0 * np.log10(np.asarray(sfm, dtype=np.float64))


def tonality(sfm: np.ndarray) -> np.ndarray:
    """Johnston's tonality coefficient ``min(sfm_db / -60, 1)``: 0 for noise, 1 for a tone."""
    return np.minimum(flatness_db(sfm) / TONALITY_DB, 1.0)


def wiener_entropy(sfm: np.ndarray) -> np.ndarray:
    """Wiener entropy, the natural log of the flatness (0 for white, negative otherwise)."""
    return np.log(np.asarray(sfm, dtype=np.float64))


def spectral_crest(
    S: np.ndarray, *, amin: float = 1e-10, power: float = 2.0, axis: int = -2
) -> np.ndarray:
    """Crest factor ``max(P) / mean(P)`` of the floored spectrum along ``axis``.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames)]
        Magnitude spectrogram.

    Returns
    -------
    crest : np.ndarray [shape=(..., 1, n_frames)]
        At least 1; 1 for silence.
    """
    P = np.maximum(validate_amin(amin), np.asarray(S, dtype=np.float64) ** validate_power(power))
    return P.max(axis=axis, keepdims=True) / P.mean(axis=axis, keepdims=True)
