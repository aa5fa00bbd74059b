"""Spectrum measures: coding gain, PSD flatness, and flatness of learned representations.

The coding gain of a transform is the arithmetic over the geometric mean of its coefficient
variances, that is ``1 / SFM`` of those variances; the Kolmogorov–Szegő limit for a stationary
source is ``1 / SFM`` of its power spectral density. The same numbers describe learned
representations: the flatness of a covariance's eigenvalues or of a weight matrix's singular
values, the variance of their logarithms, the Gaussian entropy and the log-det coding rate.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._errors import ParameterError
from ..flatness import flatness
from ..validate import int_at_least, positive_float

__all__ = [
    "coding_gain",
    "coding_gain_db",
    "heldout_coding_gain_db",
    "WelchPSD",
    "welch_psd",
    "psd_flatness",
    "eigen_flatness",
    "singular_value_flatness",
    "log_spectrum_variance",
    "gaussian_entropy",
    "coding_rate",
    "spectrum_measures",
]


def _values(values: np.ndarray, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ParameterError(f"{name} must be a non-empty 1-D array, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ParameterError(f"{name} must be finite (found NaN or Inf)")
    if (v < 0).any():
        raise ParameterError(f"{name} must be non-negative")
    return v


def coding_gain(variances: np.ndarray) -> float:
    """Coding gain: arithmetic over geometric mean of coefficient variances (linear).

    Parameters
    ----------
    variances : np.ndarray [shape=(n,)]
        Non-negative coefficient variances.

    Returns
    -------
    gain : float
        >= 1; 1 for PCM on a white source; ``inf`` when some (not all) variances are zero.

    Raises
    ------
    ParameterError
        If every variance is zero (silence): the gain is undefined.

    Examples
    --------
    >>> coding_gain(np.array([4.0, 1.0]))
    1.25
    """
    v = _values(variances, "variances")
    if not (v > 0).any():
        raise ParameterError("coding gain is undefined: every variance is zero (silence)")
    if (v == 0).any():
        return float("inf")
    return float(v.mean() / np.exp(np.log(v).mean()))


def coding_gain_db(variances: np.ndarray) -> float:
    """:func:`coding_gain` in decibels, ``10 log10 G`` (0 dB for PCM on white noise)."""
    return float(10.0 * np.log10(coding_gain(variances)))


def heldout_coding_gain_db(
    first: np.ndarray, second: np.ndarray, transform: str = "klt"
) -> tuple[float, float, float]:
    """Two-fold held-out coding gain of a transform fitted to a block covariance.

    The transform is built from the covariance of one half of the blocks and its coefficient
    variances are measured on the other half, both ways. For the KLT this removes the
    in-sample overfitting of the basis (the in-sample gain grows without bound as the block
    size approaches the number of blocks); for the DCT and PCM, which do not depend on the
    data, it is simply their gain on each half.

    Parameters
    ----------
    first, second : np.ndarray [shape=(n, n)]
        Block covariances of the two halves.
    transform : {"klt", "dct", "pcm"}

    Returns
    -------
    mean, first_to_second, second_to_first : float
        Gains in dB (the mean of the two, then each way).

    Examples
    --------
    >>> from sfm_audio.coding import ar1_covariance
    >>> c = ar1_covariance(8, 0.9)
    >>> round(heldout_coding_gain_db(c, c)[0], 4)   # the same covariance: the KLT gain
    6.3109
    """
    from .transforms import coefficient_variances, transform_matrix

    ab = coding_gain_db(coefficient_variances(second, transform_matrix(transform, first)))
    ba = coding_gain_db(coefficient_variances(first, transform_matrix(transform, second)))
    return float((ab + ba) / 2.0), ab, ba


class WelchPSD:
    """Welch power spectral density accumulated over a signal given in pieces.

    Periodic Hann segments of ``nperseg`` samples, hop ``nperseg // 2``, the signal's mean
    (given) removed, periodograms ``|FFT(w x)|^2 / sum(w^2)`` averaged over segments. Only
    complete segments count. The result is two-sided, ``nperseg`` bins over one period.
    """

    def __init__(self, nperseg: int = 1024, *, mean: float = 0.0) -> None:
        self.nperseg = int_at_least(nperseg, "nperseg", 2)
        self.hop = max(1, self.nperseg // 2)
        self.mean = float(mean)
        n = np.arange(self.nperseg)
        self.window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / self.nperseg)
        self._norm = float((self.window**2).sum())
        self._sum = np.zeros(self.nperseg // 2 + 1)
        self.segments = 0
        self._carry = np.zeros(0)

    def update(self, y: np.ndarray) -> None:
        """Add the next piece of the signal, shape (n_samples,)."""
        y = np.asarray(y, dtype=np.float64)
        x = np.concatenate([self._carry, y - self.mean])
        if x.size < self.nperseg:
            self._carry = x
            return
        frames = np.lib.stride_tricks.sliding_window_view(x, self.nperseg)[:: self.hop]
        spectra = np.fft.rfft(frames * self.window, axis=-1)
        self._sum += (spectra.real**2 + spectra.imag**2).sum(axis=0)
        self.segments += frames.shape[0]
        self._carry = x[frames.shape[0] * self.hop:].copy()

    def psd(self) -> np.ndarray:
        """Two-sided PSD, shape (nperseg,), in signal units squared per sample."""
        if self.segments == 0:
            raise ParameterError(
                f"nperseg={self.nperseg} is longer than the signal: no complete segment"
            )
        half = self._sum / (self.segments * self._norm)
        # rfft bins 0..nperseg//2; mirror the bins strictly inside (0, Nyquist)
        inner = half[1: (self.nperseg + 1) // 2]
        return np.concatenate([half, inner[::-1]])


def welch_psd(y: np.ndarray, *, nperseg: int = 1024) -> np.ndarray:
    """Two-sided Welch PSD of ``y`` (shape (n_samples,)), mean removed; see :class:`WelchPSD`.

    Returns
    -------
    psd : np.ndarray [shape=(nperseg,)]
        ``mean(psd)`` approximates the variance of ``y``.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(f"y must have shape (n_samples,), got {y.shape}")
    if not np.isfinite(y).all():
        raise ParameterError("y must be finite (found NaN or Inf)")
    acc = WelchPSD(nperseg, mean=float(y.mean()) if y.size else 0.0)
    acc.update(y)
    return acc.psd()


def psd_flatness(y: np.ndarray, *, nperseg: int = 1024) -> float:
    """Spectral flatness of the Welch PSD of ``y``.

    For a stationary source, ``-10 log10`` of the flatness of its true PSD is the
    Kolmogorov–Szegő bound on the coding gain of any transform (the limit of the KLT gain as
    the block grows); this Welch value is an estimate of it, not itself a bound.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    nperseg : int
        Welch segment length (periodic Hann window, 50 % overlap).

    Returns
    -------
    sfm : float in [0, 1]
        1.0 for a silent signal (flatness convention); the gain is then undefined.
    """
    return float(flatness(welch_psd(y, nperseg=nperseg)))


def eigen_flatness(cov: np.ndarray) -> float:
    """Flatness of the eigenvalues of a covariance matrix (representation flatness).

    Equal to ``1 / coding_gain`` of the KLT of ``cov``.
    """
    from .transforms import klt

    return float(flatness(klt(cov)[0]))


def _matrix(W: np.ndarray, name: str) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.size == 0:
        raise ParameterError(f"{name} must be a non-empty 2-D matrix, got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ParameterError(f"{name} must be finite (found NaN or Inf)")
    return W


def singular_value_flatness(W: np.ndarray) -> float:
    """Flatness of the singular values of a (weight) matrix, shape (m, n)."""
    W = _matrix(W, "W")
    return float(flatness(np.linalg.svd(W, compute_uv=False)))


def log_spectrum_variance(values: np.ndarray) -> float:
    """Variance of the natural logarithm of positive spectrum values (``Var ln s_i``).

    Zero values are left out (their logarithm is -inf); 0.0 when fewer than one positive value
    remains.
    """
    v = _values(values, "values")
    positive = v[v > 0]
    if positive.size == 0:
        return 0.0
    return float(np.var(np.log(positive)))


def gaussian_entropy(cov: np.ndarray) -> float:
    """Differential entropy in bits of a Gaussian vector with covariance ``cov`` (n, n).

    ``h = 1/2 log2((2 pi e)^n det cov)``, from the eigenvalues of ``cov`` (checked square,
    finite and symmetric by :func:`.transforms.klt`); ``-inf`` for a singular covariance.
    """
    from .transforms import klt

    lam = klt(cov)[0]
    if not (lam > 0).all():
        return float("-inf")
    return float(0.5 * (lam.size * np.log2(2.0 * np.pi * np.e) + np.log2(lam).sum()))


def coding_rate(Z: np.ndarray, eps: float) -> float:
    """Log-det coding rate ``1/2 log2 det(I + d / (n eps^2) Z Z^T)`` in bits.

    Parameters
    ----------
    Z : np.ndarray [shape=(d, n)]
        ``n`` feature vectors of dimension ``d`` as columns.
    eps : float > 0
        Allowed distortion (precision).
    """
    Z = _matrix(Z, "Z")
    eps = positive_float(eps, "eps")
    d, n = Z.shape
    gram = Z @ Z.T * (d / (n * eps**2))
    sign, logdet = np.linalg.slogdet(np.eye(d) + gram)
    return float(0.5 * logdet / np.log(2.0))


def spectrum_measures(
    M: np.ndarray, *, kind: Literal["covariance", "matrix", "samples"] = "covariance"
) -> dict[str, float | int | list[float]]:
    """All spectrum measures of a stored matrix.

    Parameters
    ----------
    M : np.ndarray [shape=(m, n)]
        ``kind="covariance"``: a symmetric covariance (its eigenvalues are the spectrum);
        ``"matrix"``: a weight matrix (its singular values); ``"samples"``: rows are samples,
        columns variables (the eigenvalues of their covariance, mean removed).

    Returns
    -------
    measures : dict
        ``kind``, ``n``, ``spectrum`` (descending), ``sfm``, ``sfm_db``, ``coding_gain_db``
        (``None`` when undefined), ``log_spectrum_variance``, and for covariances
        ``gaussian_entropy_bits``.
    """
    from .transforms import klt

    M = _matrix(M, "M")
    if kind == "covariance":
        cov = M
        spectrum = klt(cov)[0]
    elif kind == "samples":
        if M.shape[0] < 2:
            raise ParameterError(f"samples need at least 2 rows, got shape {M.shape}")
        X = M - M.mean(axis=0)
        cov = X.T @ X / M.shape[0]
        spectrum = klt(cov)[0]
    elif kind == "matrix":
        cov = None
        spectrum = np.linalg.svd(M, compute_uv=False)
    else:
        raise ParameterError(f"{kind=} must be 'covariance', 'matrix' or 'samples'")
    sfm = float(flatness(spectrum))
    out: dict[str, float | int | list[float] | None] = {
        "kind": kind,
        "n": int(spectrum.size),
        "spectrum": [float(s) for s in spectrum],
        "sfm": sfm,
        "sfm_db": float(10.0 * np.log10(sfm)) if sfm > 0 else None,
        # the gain of a KLT is defined for covariance spectra only, and finite when none is 0
        "coding_gain_db": (
            coding_gain_db(spectrum) if cov is not None and (spectrum > 0).all() else None
        ),
        "log_spectrum_variance": log_spectrum_variance(spectrum),
    }
    if cov is not None:
        h = gaussian_entropy(cov)
        out["gaussian_entropy_bits"] = h if np.isfinite(h) else None
    return out
