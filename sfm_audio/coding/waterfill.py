"""Reverse water-filling: the Gaussian rate–distortion trade-off over independent components.

``D(theta) = mean(min(theta, lambda))`` and ``R(theta) = mean(max(0, 1/2 log2(lambda/theta)))``
in bits per sample. Both are solved exactly for ``theta`` from sorted prefix sums (no
bisection): on each interval between consecutive sorted variances ``D`` is linear in ``theta``
and ``R`` is linear in ``log2 theta``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import ParameterError

__all__ = ["WaterFilling", "reverse_waterfill"]


@dataclass(frozen=True)
class WaterFilling:
    """Solution of reverse water-filling.

    Attributes
    ----------
    theta : float
        Water level: every component with variance above it gets ``1/2 log2(lambda/theta)``
        bits and distortion ``theta``; the others get no bits and keep their variance as error.
    rate : float
        Mean bits per sample (per component).
    distortion : float
        Mean squared error per sample.
    rates : np.ndarray [shape=(n,)]
        Bits of each component.
    distortions : np.ndarray [shape=(n,)]
        Squared error of each component.
    """

    theta: float
    rate: float
    distortion: float
    rates: np.ndarray
    distortions: np.ndarray

    @property
    def active(self) -> np.ndarray:
        """Boolean mask of the components that get bits, shape (n,)."""
        return self.rates > 0

    @property
    def n_active(self) -> int:
        """How many components get bits."""
        return int(np.count_nonzero(self.rates > 0))


def _variances(variances: np.ndarray) -> np.ndarray:
    v = np.asarray(variances, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ParameterError(f"variances must be a non-empty 1-D array, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ParameterError("variances must be finite (found NaN or Inf)")
    if (v < 0).any():
        raise ParameterError("variances must be non-negative")
    return v


def _solution(v: np.ndarray, theta: float) -> WaterFilling:
    with np.errstate(divide="ignore", over="ignore"):
        gap = np.log2(np.where(v > 0, v, 1.0)) - np.log2(theta) if theta > 0 else np.inf
        rates = np.where(v > theta, 0.5 * gap, 0.0)
    distortions = np.minimum(theta, v)
    return WaterFilling(
        theta=float(theta), rate=float(rates.mean()), distortion=float(distortions.mean()),
        rates=rates, distortions=distortions,
    )


def _theta_for_distortion(a: np.ndarray, distortion: float) -> float:
    """``a`` ascending; ``0 < distortion < mean(a)``."""
    n = a.size
    prefix = np.concatenate([[0.0], np.cumsum(a)])
    k = np.arange(n)
    theta = (n * distortion - prefix[:-1]) / (n - k)
    lower = np.concatenate([[-np.inf], a[:-1]])
    valid = (lower <= theta) & (theta <= a)
    return float(theta[np.argmax(valid)]) if valid.any() else float(a[-1])


def _theta_for_rate(a: np.ndarray, rate: float) -> float:
    """``a`` ascending with at least one positive value; ``rate > 0``."""
    n = a.size
    positive = a > 0
    logs = np.where(positive, np.log2(np.where(positive, a, 1.0)), 0.0)
    suffix = np.cumsum(logs[::-1])[::-1]  # sum of log2 a[i] for i >= k
    k = np.arange(n)
    log_theta = (suffix - 2.0 * n * rate) / (n - k)
    theta = np.exp2(log_theta)
    lower = np.concatenate([[-np.inf], a[:-1]])
    valid = positive & (lower <= theta) & (theta < a)
    first_positive = int(np.argmax(positive))
    if valid.any():
        return float(theta[np.argmax(valid)])
    return float(theta[first_positive])


def reverse_waterfill(
    variances: np.ndarray, *, distortion: float | None = None, rate: float | None = None
) -> WaterFilling:
    """Allocate bits to independent Gaussian components by reverse water-filling.

    Give exactly one target: a mean ``distortion`` per sample, or a mean ``rate`` in bits per
    sample.

    Parameters
    ----------
    variances : np.ndarray [shape=(n,)]
        Non-negative component variances (e.g. KLT eigenvalues, or PSD samples on a uniform
        frequency grid for the N -> infinity limit).
    distortion : float > 0, optional
        Target mean squared error per sample. At or above ``mean(variances)`` the rate is 0
        (and the returned distortion is ``mean(variances)``).
    rate : float >= 0, optional
        Target bits per sample.

    Returns
    -------
    WaterFilling
        ``theta``, ``rate``, ``distortion`` and per-component ``rates``, ``distortions``.
        Components with zero variance never get bits.

    Raises
    ------
    ParameterError
        Both or neither target given; a target that is not a finite number in range; a
        positive rate asked of variances that are all zero.

    Examples
    --------
    >>> from sfm_audio.coding import ar1_covariance, klt
    >>> lam, _ = klt(ar1_covariance(8, 0.9))
    >>> wf = reverse_waterfill(lam, distortion=0.1)
    >>> round(wf.rate, 6), round(wf.theta, 6), wf.n_active
    (0.649243, 0.126148, 4)
    """
    v = _variances(variances)
    if (distortion is None) == (rate is None):
        raise ParameterError("give exactly one of distortion= and rate=")
    a = np.sort(v)
    if distortion is not None:
        if isinstance(distortion, bool) or not np.isfinite(distortion) or distortion <= 0:
            raise ParameterError(f"{distortion=} must be a positive finite number")
        # at the mean (to rounding: sums in another order differ by ulps) no bits are needed
        if distortion >= min(a.mean(), v.mean()) * (1.0 - 1e-12):
            return _solution(v, float(a[-1]))
        return _solution(v, _theta_for_distortion(a, float(distortion)))
    if isinstance(rate, bool) or not np.isfinite(rate) or rate < 0:
        raise ParameterError(f"{rate=} must be a finite number >= 0")
    if rate == 0:
        return _solution(v, float(a[-1]))
    if not (a > 0).any():
        raise ParameterError(f"{rate=} cannot be spent: every variance is zero")
    return _solution(v, _theta_for_rate(a, float(rate)))
