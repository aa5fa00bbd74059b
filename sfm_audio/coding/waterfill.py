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
from ..validate import nonnegative_float, positive_float

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


def _solution(v: np.ndarray, theta: float, w: np.ndarray) -> WaterFilling:
    with np.errstate(divide="ignore", over="ignore"):
        gap = np.log2(np.where(v > 0, v, 1.0)) - np.log2(theta) if theta > 0 else np.inf
        rates = np.where(v > theta, 0.5 * gap, 0.0)
    distortions = np.minimum(theta, v)
    total = w.sum()
    return WaterFilling(
        theta=float(theta), rate=float(rates @ w / total),
        distortion=float(distortions @ w / total), rates=rates, distortions=distortions,
    )


def _theta_for_distortion(a: np.ndarray, w: np.ndarray, distortion: float) -> float:
    """``a`` ascending with weights ``w``; ``0 < distortion < weighted mean(a)``."""
    total = w.sum()
    prefix_wa = np.concatenate([[0.0], np.cumsum(w * a)])
    prefix_w = np.concatenate([[0.0], np.cumsum(w)])
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = (total * distortion - prefix_wa[:-1]) / (total - prefix_w[:-1])
    lower = np.concatenate([[-np.inf], a[:-1]])
    valid = (lower <= theta) & (theta <= a)
    return float(theta[np.argmax(valid)]) if valid.any() else float(a[-1])


def _theta_for_rate(a: np.ndarray, w: np.ndarray, rate: float) -> float:
    """``a`` ascending with weights ``w``, at least one positive value; ``rate > 0``."""
    positive = a > 0
    logs = np.where(positive, np.log2(np.where(positive, a, 1.0)), 0.0)
    suffix_wlog = np.cumsum((w * logs)[::-1])[::-1]  # sum of w log2 a[i] for i >= k
    suffix_w = np.cumsum(w[::-1])[::-1]
    log_theta = (suffix_wlog - 2.0 * w.sum() * rate) / suffix_w
    theta = np.exp2(log_theta)
    lower = np.concatenate([[-np.inf], a[:-1]])
    valid = positive & (lower <= theta) & (theta < a)
    first_positive = int(np.argmax(positive))
    if valid.any():
        return float(theta[np.argmax(valid)])
    return float(theta[first_positive])


def reverse_waterfill(
    variances: np.ndarray, *, distortion: float | None = None, rate: float | None = None,
    weights: np.ndarray | None = None,
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
    weights : np.ndarray [shape=(n,)] or None
        Positive multiplicity of each component (default 1): ``D`` and ``R`` become weighted
        means, as if component ``i`` appeared ``weights[i]`` times. Lets a histogram of
        many variances stand for the variances themselves.

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
    if weights is None:
        w = np.ones_like(v)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != v.shape or not np.isfinite(w).all() or (w <= 0).any():
            raise ParameterError("weights must be positive and finite, one per variance")
    if (distortion is None) == (rate is None):
        raise ParameterError("give exactly one of distortion= and rate=")
    order = np.argsort(v, kind="stable")
    a, wa = v[order], w[order]
    if distortion is not None:
        distortion = positive_float(distortion, "distortion")
        # at the mean (to rounding: sums in another order differ by ulps) no bits are needed
        mean = min(a @ wa / wa.sum(), v @ w / w.sum())
        if distortion >= mean * (1.0 - 1e-12):
            return _solution(v, float(a[-1]), w)
        return _solution(v, _theta_for_distortion(a, wa, float(distortion)), w)
    rate = nonnegative_float(rate, "rate")
    if rate == 0:
        return _solution(v, float(a[-1]), w)
    if not (a > 0).any():
        raise ParameterError(f"{rate=} cannot be spent: every variance is zero")
    return _solution(v, _theta_for_rate(a, wa, float(rate)), w)
