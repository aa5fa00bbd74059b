"""Linear prediction: the second road to ``1 / SFM`` of the power spectrum.

A predictor of order ``p`` (autocorrelation method, Levinson–Durbin recursion) leaves a
residual of power ``E_p``; its gain ``10 log10(r0 / E_p)`` never decreases with ``p`` and tends
to the same Kolmogorov–Szegő limit ``1 / SFM(PSD)`` as the transform coding gain, while the
residual's spectrum becomes flat ("compress the signal and you flatten its spectrum"). The
residual is what becomes white, not a transform's coefficients: the KLT's coefficient
variances are the covariance's eigenvalues, as uneven as the spectrum (SFM 0.063 at N = 32 on
the bundled speech). The gains in the report are in-sample; :mod:`.heldout` fits each
predictor on one part of the signal and measures it on the other.
The flatness of a residual is measured with the estimator of the 1/SFM(PSD) limit
(:class:`~sfm_audio.coding.spectra.WelchPSD`, then :func:`~sfm_audio.flatness.flatness`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import defaults
from .._errors import ParameterError, SfmError
from ..flatness import flatness
from ..validate import positive_int
from .spectra import WelchPSD
from .transforms import BlockCovariance, validate_signal

__all__ = [
    "DEFAULT_ORDERS",
    "Prediction",
    "autocorrelation",
    "fir_filter",
    "levinson",
    "lpc",
    "prediction_error_powers",
    "prediction_residual",
    "predict",
    "predict_stream",
    "prediction_section",
    "predict_file",
    "validate_orders",
]

#: prediction orders reported by default
DEFAULT_ORDERS = defaults.ORDERS


def fir_filter(a: np.ndarray, x: np.ndarray, history: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The prediction-error filter ``a`` over ``x``, continuing a stream.

    ``e[n] = sum_k a[k] x[n - k]``, the samples before ``x`` taken from ``history`` (the
    previous ``a.size - 1`` inputs; zeros when None). What ``scipy.signal.lfilter(a, [1.0],
    x, zi=...)`` gives, by ``numpy.convolve`` (faster here, and importing scipy.signal cost
    every ``code`` process 41 MB and 0.2 s).

    Parameters
    ----------
    a : np.ndarray [shape=(order + 1,)]
    x : np.ndarray [shape=(n,)]
    history : np.ndarray [shape=(order,)] or None

    Returns
    -------
    e : np.ndarray [shape=(n,)]
    history : np.ndarray [shape=(order,)]
        The last ``order`` inputs, for the next piece.
    """
    order = a.size - 1
    if history is None:
        history = np.zeros(order)
    if x.size == 0:  # (numpy.convolve would swap its arguments: ``a`` is the longer one)
        return np.zeros(0), history
    extended = np.concatenate([history, x])
    e = np.convolve(extended, a, mode="valid")
    return e, extended[extended.size - order:].copy() if order else history


def validate_orders(orders: Sequence[int]) -> list[int]:
    """Check prediction orders (positive integers); sorted, duplicates dropped."""
    if isinstance(orders, (str, bytes)) or not isinstance(orders, Iterable):
        raise ParameterError(f"{orders=} must be a sequence of positive integers", param="orders")
    checked = sorted({positive_int(p, "orders") for p in orders})
    if not checked:
        raise ParameterError("give at least one prediction order", param="orders")
    return checked


def autocorrelation(y: np.ndarray, *, max_lag: int) -> np.ndarray:
    """Biased autocorrelation ``r[k] = sum_t x[t] x[t+k] / L`` of ``y`` with its mean removed.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    max_lag : int >= 1
        Largest lag; at most ``n_samples - 1``.

    Returns
    -------
    r : np.ndarray [shape=(max_lag + 1,)]
        The estimate of the autocorrelation method (positive semi-definite Toeplitz matrix).
    """
    max_lag = positive_int(max_lag, "max_lag")
    y, _ = validate_signal(y, max_lag + 1)
    acc = BlockCovariance(max_lag + 1, method="toeplitz", mean=float(y.mean()))
    acc.update(y)
    return acc.covariance()[0]


def levinson(r: np.ndarray, *, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levinson–Durbin recursion on an autocorrelation sequence.

    Solves the normal equations of every order up to ``order`` at once.

    Parameters
    ----------
    r : np.ndarray [shape=(>= order + 1,)]
        Autocorrelation ``r[0], r[1], ...`` with ``r[0] > 0``.
    order : int >= 1

    Returns
    -------
    a : np.ndarray [shape=(order + 1,)]
        Prediction-error filter of the given order, ``a[0] = 1``: the residual is
        ``e[t] = sum_j a[j] x[t - j]`` (librosa's ``lpc`` convention).
    errors : np.ndarray [shape=(order + 1,)]
        Prediction-error power ``E_m`` of every order ``m = 0..order`` (``E_0 = r[0]``),
        non-increasing.
    reflection : np.ndarray [shape=(order,)]
        Reflection (PARCOR) coefficients, each in [-1, 1].

    Notes
    -----
    If the error power reaches zero (a perfectly predictable sequence) the recursion stops
    there: higher orders keep that filter and an error of zero.

    Examples
    --------
    >>> a, errors, k = levinson(np.array([1.0, 0.9, 0.81]), order=2)
    >>> a.round(6), errors.round(6)
    (array([ 1. , -0.9,  0. ]), array([1.  , 0.19, 0.19]))
    """
    order = positive_int(order, "order")
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 1 or r.size < order + 1:
        raise ParameterError(f"r must have shape (>= {order + 1},), got {r.shape}")
    if not np.isfinite(r).all():
        raise ParameterError("r must be finite (found NaN or Inf)")
    if not r[0] > 0:
        raise SfmError("prediction is undefined: r[0] = 0 (silent signal)")
    a = np.zeros(order + 1)
    a[0] = 1.0
    errors = np.empty(order + 1)
    reflection = np.zeros(order)
    errors[0] = error = float(r[0])
    for m in range(1, order + 1):
        if error <= r[0] * 1e-15:
            errors[m:] = 0.0
            break
        k = -float(a[:m] @ r[m:0:-1]) / error
        k = min(1.0, max(-1.0, k))
        a[1: m + 1] = a[1: m + 1] + k * a[m - 1:: -1][:m]
        reflection[m - 1] = k
        error = max(0.0, error * (1.0 - k * k))
        errors[m] = error
    return a, errors, reflection


def lpc(y: np.ndarray, *, order: int) -> np.ndarray:
    """Linear-prediction coefficients of ``y`` (autocorrelation method).

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    order : int >= 1

    Returns
    -------
    a : np.ndarray [shape=(order + 1,)]
        ``a[0] = 1``; ``e[t] = sum_j a[j] (x[t - j] - mean)`` is the prediction error.
    """
    return levinson(autocorrelation(y, max_lag=order), order=order)[0]


def prediction_error_powers(y: np.ndarray, *, order: int) -> np.ndarray:
    """Prediction-error power of every order ``0..order`` (``E_0`` is the variance).

    Returns
    -------
    errors : np.ndarray [shape=(order + 1,)]
        Non-increasing, so the gain ``10 log10(E_0 / E_p)`` never decreases with ``p``.
    """
    return levinson(autocorrelation(y, max_lag=order), order=order)[1]


def prediction_residual(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Residual ``e[t] = sum_j a[j] (y[t - j] - mean(y))``, samples before the start taken as 0.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    a : np.ndarray [shape=(order + 1,)]
        Prediction-error filter, ``a[0] = 1``.

    Returns
    -------
    residual : np.ndarray [shape=(n_samples,)]
    """
    y, _ = validate_signal(y, 2)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1 or a.size < 1 or not np.isfinite(a).all():
        raise ParameterError(f"a must be a finite filter of shape (order + 1,), got {a.shape}")
    return fir_filter(a, y - y.mean())[0]


@dataclass(frozen=True)
class Prediction:
    """Linear prediction of one order on one signal.

    Attributes
    ----------
    order : int
    coefficients : np.ndarray [shape=(order + 1,)]
        Prediction-error filter, ``a[0] = 1``.
    error_power : float
        ``E_p`` from the Levinson recursion (per sample).
    variance : float
        ``r[0]``, the signal's variance.
    residual_psd : np.ndarray [shape=(nperseg,)]
        Two-sided Welch PSD of the residual (same estimator as the 1/SFM(PSD) limit).
    """

    order: int
    coefficients: np.ndarray
    error_power: float
    variance: float
    residual_psd: np.ndarray

    @property
    def gain_db(self) -> float:
        """``10 log10(r0 / E_p)``; ``inf`` for a perfectly predictable signal."""
        if self.error_power <= 0:
            return float("inf")
        return float(10.0 * np.log10(self.variance / self.error_power))

    @property
    def residual_sfm(self) -> float:
        """Spectral flatness of the residual's Welch PSD."""
        return float(flatness(self.residual_psd))

    def summary(self) -> dict:
        """``{"order", "gain_db", "residual_sfm"}`` (``gain_db`` None when infinite)."""
        gain = self.gain_db
        return {"order": self.order, "gain_db": gain if np.isfinite(gain) else None,
                "residual_sfm": self.residual_sfm}


def predict_stream(
    pieces: Callable[[], Iterable[np.ndarray]],
    *,
    mean: float,
    orders: Sequence[int] = DEFAULT_ORDERS,
    nperseg: int = 1024,
) -> list[Prediction]:
    """Linear prediction of several orders on a signal given in pieces (two passes).

    Pass 1 accumulates the autocorrelation up to the largest order; pass 2 filters the signal
    with every order's prediction-error filter at once (filter states carried from piece to
    piece) and accumulates each residual's Welch PSD. Memory is bounded by the piece size.

    Parameters
    ----------
    pieces : callable
        Returns a fresh iterator over consecutive pieces (shape (k,)) of the signal.
    mean : float
        The signal's mean, removed before prediction.
    orders : sequence of int >= 1
    nperseg : int >= 2
        Welch segment length of the residual PSD.

    Returns
    -------
    list of Prediction
        One per order, in increasing order.
    """
    orders = validate_orders(orders)
    top = orders[-1]
    acc = BlockCovariance(top + 1, method="toeplitz", mean=float(mean))
    for piece in pieces():
        acc.update(piece)
    if acc.samples <= top:
        raise ParameterError(
            f"prediction order {top} needs more than {top} samples, got {acc.samples}",
            param="orders",
        )
    r = acc.covariance()[0]
    filters = []
    errors = None
    for p in orders:
        a, errors_p, _ = levinson(r, order=p)
        filters.append(a)
        errors = errors_p
    states = [np.zeros(p) for p in orders]
    welch = [WelchPSD(nperseg, mean=0.0) for _ in orders]
    for piece in pieces():
        x = np.asarray(piece, dtype=np.float64) - mean
        for i, a in enumerate(filters):
            e, states[i] = fir_filter(a, x, states[i])
            welch[i].update(e)
    return [
        Prediction(order=p, coefficients=a, error_power=float(errors[p]), variance=float(r[0]),
                   residual_psd=w.psd())
        for p, a, w in zip(orders, filters, welch)
    ]


def predict(
    y: np.ndarray, *, orders: Sequence[int] = DEFAULT_ORDERS, nperseg: int = 1024
) -> list[Prediction]:
    """Linear prediction of several orders on a signal held in memory.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    orders : sequence of int >= 1
    nperseg : int >= 2
        Welch segment length of the residual PSD (at most ``n_samples``).

    Returns
    -------
    list of Prediction

    Examples
    --------
    >>> from scipy.signal import lfilter
    >>> rng = np.random.default_rng(0)
    >>> y = lfilter([1.0], [1.0, -0.9], rng.standard_normal(1 << 16))
    >>> [round(p.gain_db, 1) for p in predict(y, orders=[1, 2])]
    [7.2, 7.2]
    """
    y, _ = validate_signal(y, 2)
    if not np.ptp(y) > 0:
        raise SfmError("prediction is undefined: the signal is constant (silent)")
    return predict_stream(lambda: [y], mean=float(y.mean()), orders=orders, nperseg=nperseg)


def prediction_section(
    pieces: Callable[[], Iterable[np.ndarray]], *, mean: float, orders: Sequence[int],
    nperseg: int, samples: int,
) -> list[Prediction]:
    """:func:`predict_stream` for a coding report: the orders the signal is long enough for.

    Orders of ``samples`` or more (and orders longer than a Welch segment of the residual
    could resolve, ``nperseg``) are left out; an empty list when none is left.
    """
    usable = [p for p in validate_orders(orders) if p < samples and p < nperseg]
    if not usable or samples < nperseg:
        return []
    return predict_stream(pieces, mean=mean, orders=usable, nperseg=nperseg)


def predict_file(
    path: str | os.PathLike, *, orders: Sequence[int] = DEFAULT_ORDERS, nperseg: int = 1024
) -> tuple[np.ndarray, list[Prediction]]:
    """Linear prediction of the mono mix of an audio file, streamed, with the signal's PSD.

    Parameters
    ----------
    path : str or os.PathLike
    orders : sequence of int >= 1
    nperseg : int
        Welch segment length of both spectra.

    Returns
    -------
    psd : np.ndarray [shape=(nperseg,)]
        Two-sided Welch PSD of the signal (the estimator of the 1/SFM(PSD) limit).
    predictions : list of Prediction
    """
    from .. import io

    def pieces():
        for chunk in io.stream(path, block_frames=1 << 16):
            yield chunk[0]

    total = count = 0
    for x in pieces():
        total += float(x.sum())
        count += x.size
    mean = total / max(count, 1)
    welch = WelchPSD(nperseg, mean=mean)
    for x in pieces():
        welch.update(x)
    return welch.psd(), predict_stream(pieces, mean=mean, orders=orders, nperseg=nperseg)
