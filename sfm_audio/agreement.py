"""Agreement of a prediction with what was measured, judged against the line y = x.

Residual = measured − predicted. ``R² = 1 − SS_res / SS_tot`` with ``SS_tot`` about the mean of
the measured values: 1 when every point lies on y = x, 0 when the prediction does no better
than the measured mean, negative when it does worse. The squared correlation is given beside
it only (a prediction off by a constant or a slope can have r² = 1 and a negative R²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Agreement", "agreement"]


@dataclass(frozen=True)
class Agreement:
    """``mean_error`` and ``rms_error`` of measured − predicted, ``r2`` against y = x,
    ``r2_correlation`` (squared Pearson correlation, for contrast), ``n`` points used."""

    mean_error: float
    rms_error: float
    r2: float
    r2_correlation: float
    n: int

    def label(self, unit: str = "dB") -> str:
        """``mean −0.18, RMS 1.68 dB, R²(y=x) 0.95, n 28``."""
        return (f"mean {self.mean_error:+.2f}, RMS {self.rms_error:.2f} {unit}, "
                f"R²(y=x) {self.r2:.2f}, n {self.n}")


def agreement(measured, predicted) -> Agreement:
    """Agreement of ``predicted`` with ``measured`` (same shape); non-finite pairs left out.

    Examples
    --------
    >>> a = agreement([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    >>> round(a.mean_error, 3), round(a.r2, 3), round(a.r2_correlation, 3)
    (-0.5, 0.625, 1.0)
    """
    y = np.asarray(measured, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    nan = float("nan")
    if y.size == 0:
        return Agreement(nan, nan, nan, nan, 0)
    res = y - p
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((res**2).sum()) / ss_tot if ss_tot > 0 else nan
    corr = (float(np.corrcoef(y, p)[0, 1] ** 2)
            if y.size > 2 and np.ptp(y) > 0 and np.ptp(p) > 0 else nan)
    return Agreement(float(res.mean()), float(np.sqrt((res**2).mean())), r2, corr, int(y.size))
