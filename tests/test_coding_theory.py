"""sfm_audio.coding.theory: the rd figure's lines, from a coding report."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

from sfm_audio.coding import reverse_waterfill, run_experiment
from sfm_audio.coding.quantize import ecsq_gaussian
from sfm_audio.coding.theory import ECSQ, SHORT_TIME, STATIONARY, rd_curves


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    rng = np.random.default_rng(3)
    y = 0.1 * lfilter([1.0], [1.0, -0.9], rng.standard_normal(32000)) * np.repeat(
        np.exp(rng.normal(0, 1, 8)), 4000)  # loud and quiet stretches
    path = tmp_path_factory.mktemp("theory") / "x.wav"
    sf.write(path, y / np.abs(y).max() * 0.5, 16000, subtype="PCM_16")
    return run_experiment(path, blocks=[8], rates=[1.0, 3.0], transforms=["klt", "dct"]).report


def test_lines_are_the_reports_rates(report):
    block = report.blocks[0]
    curves = rd_curves(report, block)
    assert set(curves) == {STATIONARY, SHORT_TIME, ECSQ}
    lam = np.array(block.transforms["klt"].variances)
    rate, snr = curves[STATIONARY]
    for r, s in zip(rate[::7], snr[::7], strict=True):
        d = report.variance / 10 ** (s / 10)
        assert reverse_waterfill(lam, distortion=d).rate == pytest.approx(r, rel=1e-9)
    # on loud-and-quiet audio the short-time line lies left of the stationary one
    r_short, snr_short = curves[SHORT_TIME]
    assert np.all(np.interp(snr, snr_short[::-1], r_short[::-1]) <= rate + 1e-12)


def test_ecsq_line_is_exact_ecsq(report):
    block = report.blocks[0]
    lam = np.array(block.transforms["klt"].variances)
    rate, snr = rd_curves(report, block)[ECSQ]
    r, d = ecsq_gaussian(lam, lam.max() / 100)
    s = 10 * np.log10(report.variance / d)
    order = np.argsort(snr)
    assert np.interp(s, snr[order], rate[order]) == pytest.approx(r, abs=0.02)
