"""Theory curves of the coding experiments: what the Gaussian model predicts, to draw beside
what the coder measured."""

from __future__ import annotations

import math

import numpy as np

from .waterfill import reverse_waterfill

__all__ = ["theory_curves"]


def theory_curves(report: dict, block: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Gaussian R(D) of each transform's coefficient variances: SNR against rate, smooth.

    Parameters
    ----------
    report : dict
        A coding report of :func:`sfm_audio.coding.run_experiment` (its ``variance`` is the
        signal variance the SNR refers to).
    block : dict
        One entry of ``report["blocks"]``: its ``rd`` points set the rate range and its
        ``transforms`` give the coefficient variances.

    Returns
    -------
    curves : dict str -> (np.ndarray [shape=(60,)], np.ndarray [shape=(60,)])
        Upper-case transform name -> (rate in bit/sample, SNR in dB) by reverse water-filling
        on that transform's variances; transforms whose variances are all zero are left out.
    """
    variance = float(report["variance"])
    top = max(max(p["rate"] for p in block["rd"]) * 1.15, 0.5)
    grid = np.linspace(0.02, top, 60)
    curves = {}
    for name, entry in block["transforms"].items():
        v = np.asarray(entry["variances"], dtype=float)
        if not np.any(v > 0):
            continue
        snr = []
        for r in grid:
            d = reverse_waterfill(v, rate=float(r)).distortion
            snr.append(10.0 * math.log10(variance / d) if d > 0 else math.inf)
        curves[name.upper()] = (grid, np.asarray(snr))
    return curves
