"""Block covariances and the transforms that diagonalise them: KLT, DCT-II, identity (PCM).

A signal is cut into blocks of ``n`` consecutive samples; the covariance of those blocks
(mean removed) decides how much a transform can gain. Everything here is pure numpy: the
streaming accumulators take the signal in pieces so that a long file never has to be held.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .. import defaults
from .._errors import ParameterError
from ..validate import int_at_least, positive_float, positive_int

__all__ = [
    "CovarianceMethod",
    "BlockCovariance",
    "ar1_covariance",
    "ar1_psd",
    "block_covariance",
    "klt",
    "dct_matrix",
    "transform_matrix",
    "coefficient_variances",
    "validate_block",
    "validate_signal",
    "TRANSFORMS",
]

CovarianceMethod = Literal["sample", "toeplitz"]
#: transform names of the coding experiment: :func:`transform_matrix` builds the block
#: transforms; the MDCT, a lapped transform, lives in :mod:`.mdct`
TRANSFORMS = defaults.TRANSFORMS


def validate_block(n: int, *, name: str = "block") -> int:
    """Check a block size: an integer >= 2."""
    return int_at_least(n, name, 2)


def validate_signal(y: np.ndarray, block: int) -> tuple[np.ndarray, int]:
    """Check a signal (finite, shape (n_samples,)) and a block size no longer than it."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(f"y must have shape (n_samples,), got {y.shape}")
    if not np.isfinite(y).all():
        raise ParameterError("y must be finite (found NaN or Inf)")
    block = validate_block(block)
    if block > y.size:
        raise ParameterError(f"block={block} is longer than the signal ({y.size} samples)")
    return y, block


def _check_rho(rho: float) -> float:
    if isinstance(rho, bool) or not np.isfinite(rho) or not -1.0 < rho < 1.0:
        raise ParameterError(f"{rho=} must be a number in (-1, 1)")
    return float(rho)


def ar1_covariance(n: int, rho: float, variance: float = 1.0) -> np.ndarray:
    """Covariance of ``n`` consecutive samples of a Gauss–Markov (AR(1)) source.

    ``C[i, j] = variance * rho**|i - j|``.

    Parameters
    ----------
    n : int >= 2
        Block size.
    rho : float in (-1, 1)
        Correlation of neighbouring samples.
    variance : float > 0
        Variance of one sample.

    Returns
    -------
    cov : np.ndarray [shape=(n, n)]

    Examples
    --------
    >>> ar1_covariance(3, 0.5)
    array([[1.  , 0.5 , 0.25],
           [0.5 , 1.  , 0.5 ],
           [0.25, 0.5 , 1.  ]])
    """
    n = validate_block(n, name="n")
    rho = _check_rho(rho)
    variance = positive_float(variance, "variance")
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return variance * rho ** lags.astype(np.float64)


def ar1_psd(n_freq: int, rho: float, variance: float = 1.0) -> np.ndarray:
    """Power spectral density of an AR(1) source on ``n_freq`` equally spaced frequencies.

    ``S(w) = variance (1 - rho^2) / (1 - 2 rho cos w + rho^2)`` at the midpoints
    ``w = 2 pi (k + 1/2) / n_freq`` of a uniform grid over one period, so that
    ``mean(S) = variance`` (to rounding) and any mean over the grid approximates the
    integral over frequency with spectral accuracy.

    Returns
    -------
    psd : np.ndarray [shape=(n_freq,)]
    """
    n_freq = positive_int(n_freq, "n_freq")
    rho = _check_rho(rho)
    variance = positive_float(variance, "variance")
    w = 2.0 * np.pi * (np.arange(n_freq) + 0.5) / n_freq
    return variance * (1.0 - rho**2) / (1.0 - 2.0 * rho * np.cos(w) + rho**2)


class BlockCovariance:
    """Accumulate the covariance of blocks of ``n`` samples over a signal given in pieces.

    Feed consecutive pieces of one signal to :meth:`update`; :meth:`covariance` gives the
    same matrix as :func:`block_covariance` on the whole signal, with memory bounded by the
    piece size.

    Parameters
    ----------
    n : int >= 2
        Block size.
    hop : int or None
        Distance between block starts for ``method="sample"`` (default ``n``: no overlap).
    method : {"sample", "toeplitz"}
        ``"sample"``: mean of the outer products of the blocks. ``"toeplitz"``: the Toeplitz
        matrix of the biased autocorrelation estimate ``r[k] = sum x[t] x[t+k] / L``, always
        positive semi-definite.
    mean : float
        Mean removed from every sample (the signal's mean, known beforehand).
    """

    def __init__(
        self, n: int, *, hop: int | None = None, method: CovarianceMethod = "sample",
        mean: float = 0.0,
    ) -> None:
        self.n = validate_block(n)
        if hop is None:
            hop = self.n
        hop = positive_int(hop, "hop")
        if method not in ("sample", "toeplitz"):
            raise ParameterError(f"{method=} must be 'sample' or 'toeplitz'")
        if not np.isfinite(mean):
            raise ParameterError(f"{mean=} must be finite")
        self.hop = int(hop)
        self.method = method
        self.mean = float(mean)
        self.samples = 0
        self.count = 0  # blocks ("sample") or samples ("toeplitz") accumulated
        self._carry = np.zeros(0)
        if method == "sample":
            self._sum = np.zeros((self.n, self.n))
        else:
            self._lags = np.zeros(self.n)

    def update(self, y: np.ndarray) -> None:
        """Add the next piece of the signal, shape (n_samples,)."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            raise ParameterError(f"signal pieces must have shape (n_samples,), got {y.shape}")
        self.samples += y.size
        x = np.concatenate([self._carry, y - self.mean])
        n = self.n
        if self.method == "sample":
            m = (x.size - n) // self.hop + 1 if x.size >= n else 0
            if m > 0:
                if self.hop == n:
                    blocks = x[: m * n].reshape(m, n)
                else:
                    blocks = np.lib.stride_tricks.sliding_window_view(x, n)[:: self.hop][:m]
                self._sum += blocks.T @ blocks
                self.count += m
            self._carry = x[m * self.hop:].copy()
        else:
            # products x[t] x[t+k] whose first factor lies in this piece (or the carry)
            usable = x.size - (n - 1)
            if usable > 0:
                head = x[:usable]
                for k in range(n):
                    self._lags[k] += head @ x[k: k + usable]
                self.count += usable
                self._carry = x[usable:].copy()
            else:
                self._carry = x

    def covariance(self) -> np.ndarray:
        """The covariance of the blocks seen so far, shape (n, n)."""
        n = self.n
        if self.method == "sample":
            if self.count == 0:
                raise ParameterError(
                    f"block={n} is longer than the signal ({self.samples} samples)"
                )
            cov = self._sum / self.count
            return (cov + cov.T) / 2.0
        if self.samples < n:
            raise ParameterError(f"block={n} is longer than the signal ({self.samples} samples)")
        lags = self._lags.copy()
        tail = self._carry  # the last n-1 samples: their products with later samples
        for k in range(n - 1):
            lags[k] += tail[: tail.size - k] @ tail[k:]
        r = lags / self.samples
        idx = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
        return r[idx]


def block_covariance(
    y: np.ndarray, n: int, *, hop: int | None = None, method: CovarianceMethod = "sample"
) -> np.ndarray:
    """Covariance of the blocks of ``n`` consecutive samples of a signal, mean removed.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        The signal.
    n : int >= 2
        Block size; at most ``n_samples``.
    hop : int or None
        Distance between block starts (``method="sample"`` only); default ``n``.
    method : {"sample", "toeplitz"}
        ``"sample"``: ``mean_b (b - mu)(b - mu)^T`` over the blocks ``b`` (mean ``mu`` of the
        whole signal). ``"toeplitz"``: Toeplitz matrix of the biased autocorrelation.

    Returns
    -------
    cov : np.ndarray [shape=(n, n)]

    Examples
    --------
    >>> y = np.array([1.0, -1.0, 1.0, -1.0])
    >>> block_covariance(y, 2)
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    y, n = validate_signal(y, n)
    acc = BlockCovariance(n, hop=hop, method=method, mean=float(y.mean()))
    acc.update(y)
    return acc.covariance()


def _check_cov(cov: np.ndarray) -> np.ndarray:
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] < 1:
        raise ParameterError(f"cov must be a square matrix, got shape {cov.shape}")
    if not np.isfinite(cov).all():
        raise ParameterError("cov must be finite (found NaN or Inf)")
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(cov).max())):
        raise ParameterError("cov must be symmetric")
    return cov


def klt(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Karhunen–Loève transform of a covariance matrix.

    Parameters
    ----------
    cov : np.ndarray [shape=(n, n)]
        Symmetric positive semi-definite.

    Returns
    -------
    eigenvalues : np.ndarray [shape=(n,)]
        Descending; tiny negative rounding is clipped to 0.
    basis : np.ndarray [shape=(n, n)]
        Orthonormal, eigenvectors as rows (coefficients are ``basis @ block``); each row's
        largest-magnitude entry is made positive so that the result is deterministic.

    Examples
    --------
    >>> lam, basis = klt(ar1_covariance(4, 0.9))
    >>> lam.round(5)
    array([3.52664, 0.30964, 0.10236, 0.06136])
    """
    cov = _check_cov(cov)
    values, vectors = np.linalg.eigh((cov + cov.T) / 2.0)
    order = np.argsort(values, kind="stable")[::-1]
    values = np.maximum(values[order], 0.0)
    basis = vectors[:, order].T.copy()
    pivot = np.argmax(np.abs(basis), axis=1)
    signs = np.sign(basis[np.arange(basis.shape[0]), pivot])
    basis *= np.where(signs == 0, 1.0, signs)[:, None]
    return values, basis


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix, basis vectors as rows.

    ``D[k, j] = c_k cos(pi (2 j + 1) k / (2 n))`` with ``c_0 = sqrt(1/n)``,
    ``c_k = sqrt(2/n)`` otherwise; ``D @ x`` equals ``scipy.fft.dct(x, norm="ortho")``.

    Returns
    -------
    D : np.ndarray [shape=(n, n)]
    """
    n = validate_block(n, name="n")
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    D = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * j + 1) * k / (2 * n))
    D[0] /= np.sqrt(2.0)
    return D


def transform_matrix(name: str, cov: np.ndarray) -> np.ndarray:
    """Basis (rows) of the block transform ``name`` ("klt", "dct" or "pcm") for ``cov``.

    The MDCT is not a block transform (each frame spans two blocks): see
    :func:`sfm_audio.coding.mdct.mdct_matrix` and :func:`sfm_audio.coding.mdct.run_mdct_coders`.
    """
    cov = _check_cov(cov)
    if name == "klt":
        return klt(cov)[1]
    if name == "dct":
        return dct_matrix(cov.shape[0])
    if name == "pcm":
        return np.eye(cov.shape[0])
    if name == "mdct":
        raise ParameterError(
            "transform='mdct' is a lapped transform, not a block transform: use "
            "sfm_audio.coding.mdct (mdct_matrix, run_mdct_coders)", param="transform")
    raise ParameterError(f"transform={name!r} must be one of {', '.join(TRANSFORMS)}")


def coefficient_variances(cov: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Variances of the transform coefficients: ``diag(basis @ cov @ basis.T)``.

    Parameters
    ----------
    cov : np.ndarray [shape=(n, n)]
    basis : np.ndarray [shape=(m, n)]
        Basis vectors as rows (``m = n`` for a block transform; ``m = n / 2`` for the MDCT,
        whose ``m`` coefficients span ``2 m`` samples).

    Returns
    -------
    variances : np.ndarray [shape=(m,)]
        Non-negative (rounding below zero is clipped).
    """
    cov = _check_cov(cov)
    basis = np.asarray(basis, dtype=np.float64)
    if basis.ndim != 2 or basis.shape[1] != cov.shape[0]:
        raise ParameterError(f"basis shape {basis.shape} does not match cov shape {cov.shape}")
    return np.maximum(np.einsum("ij,jk,ik->i", basis, cov, basis), 0.0)
