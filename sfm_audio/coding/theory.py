"""Theory lines of the rate–distortion figure: what Gaussian models of the source predict.

All three lines are properties of the *source* at one block size, the same whatever transform
codes it, drawn as SNR against bits per sample:

- the stationary Gaussian R(D): reverse water-filling on the block covariance's eigenvalues,
  one Gaussian model for the whole file. It is the worst case for that covariance: audio that
  is louder here and quieter there, or heavy-tailed, can be coded below it, so measured points
  may sit to its left;
- the short-time Gaussian R(D): one water level across time and frequency over the local DCT
  spectra of groups of 8 blocks (:mod:`.shorttime`). It is an oracle, not a rate an adaptive
  coder can approach: it knows each group's spectrum for free and, the local spectra being
  estimated from the very blocks they describe, sits 0.08 bit *below* the true R(D) on white
  noise;
- the exact ECSQ curve of the stationary Gaussian: uniform scalar quantization with ideal
  entropy coding, allocated as the coder allocates (:func:`.quantize.ecsq_gaussian`). It is
  what this coder would spend on a Gaussian source with this covariance; it approaches the
  stationary line plus the ECSQ gap (0.2546 bit) only at high rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .quantize import ecsq_gaussian

if TYPE_CHECKING:
    from .records import BlockSection, CodingReport

__all__ = ["rd_curves", "STATIONARY", "SHORT_TIME", "ECSQ"]

STATIONARY = "stationary Gaussian R(D)"
SHORT_TIME = "short-time Gaussian R(D)"
ECSQ = "ECSQ on the stationary Gaussian (exact)"


def _snr_db(variance: float, distortion: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(variance / np.asarray(distortion, dtype=np.float64))


def rd_curves(report: CodingReport, block: BlockSection
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The theory lines of one block size of a coding report.

    Parameters
    ----------
    report : CodingReport
        A report of :func:`sfm_audio.coding.run_experiment` (its ``variance`` is the signal
        variance the SNR refers to).
    block : BlockSection
        One of ``report.blocks``: its ``theory`` gives the stationary and short-time
        rates on a grid of distortions, its KLT ``variances`` the eigenvalues.

    Returns
    -------
    curves : dict str -> (np.ndarray [shape=(n,)], np.ndarray [shape=(n,)])
        :data:`STATIONARY`, :data:`SHORT_TIME` and (when the KLT was run) :data:`ECSQ` ->
        (rate in bit/sample, SNR in dB), points at zero rate left out.
    """
    variance = float(report.variance)
    theory = block.theory
    distortion = np.asarray(theory.distortion, dtype=np.float64)
    snr = _snr_db(variance, distortion)
    curves = {}
    for name, rates in ((STATIONARY, theory.stationary_rate),
                        (SHORT_TIME, theory.short_time_rate)):
        rate = np.asarray(rates, dtype=np.float64)
        keep = rate > 0
        curves[name] = (rate[keep], snr[keep])
    klt = block.transforms.get("klt")
    if klt is not None:
        lam = np.asarray(klt.variances, dtype=np.float64)
        thetas = np.geomspace(lam.max(), max(lam.max() * 1e-9, lam[lam > 0].min() / 4), 40)
        points = [ecsq_gaussian(lam, float(t)) for t in thetas[1:]]
        rate = np.array([r for r, _ in points])
        d = np.array([dd for _, dd in points])
        lowest = distortion.min()
        keep = (rate > 0) & (d >= lowest)
        curves[ECSQ] = (rate[keep], _snr_db(variance, d[keep]))
    return curves
