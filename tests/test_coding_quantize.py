"""sfm_audio.coding.quantize: the uniform quantizer and its exact behaviour on a Gaussian."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    ECSQ_GAP_BITS,
    dequantize,
    quantize,
    reverse_waterfill,
    step_for_theta,
    uniform_quantizer_entropy,
)
from sfm_audio.coding.quantize import ecsq_gaussian, uniform_quantizer_distortion


def mse_by_integration(std: float, step: float) -> float:
    k_max = int(np.ceil(12 * std / step)) + 1
    total = 0.0
    for k in range(-k_max, k_max + 1):
        total += quad(lambda x, k=k: (x - k * step) ** 2 * norm.pdf(x, scale=std),
                      (k - 0.5) * step, (k + 0.5) * step)[0]
    return total


@pytest.mark.parametrize("std, step", [(1.0, 0.3), (1.0, 1.0), (1.0, 3.0), (2.5, 0.7)])
def test_distortion_is_the_integral(std, step):
    assert uniform_quantizer_distortion(std, step) == pytest.approx(
        mse_by_integration(std, step), rel=1e-9)


def test_distortion_limits():
    assert uniform_quantizer_distortion(1.0, 0.001) == pytest.approx(0.001**2 / 12, rel=1e-9)
    assert uniform_quantizer_distortion(1.0, 100.0) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("ratio", [50.1, 200.0])
def test_entropy_high_resolution_form_is_exact(ratio):
    """Above 50 steps per std the closed form replaces the sum over cells: it must agree with
    that sum, computed here over the cells, to 1e-9 bit."""
    step = 1.0 / ratio
    k = np.arange(-int(40 * ratio) - 1, int(40 * ratio) + 2)
    p = norm.cdf((k + 0.5) * step) - norm.cdf((k - 0.5) * step)
    p = p[p > 0]
    assert uniform_quantizer_entropy(1.0, step) == pytest.approx(-(p * np.log2(p)).sum(),
                                                                 abs=1e-9)


def test_ecsq_gaussian_approaches_the_gap_at_high_rate_only():
    lam = np.array([4.0, 1.0, 0.25, 0.0625])
    rate, distortion = ecsq_gaussian(lam, 1e-6)
    shannon = reverse_waterfill(lam, distortion=distortion).rate
    assert rate - shannon == pytest.approx(ECSQ_GAP_BITS, abs=1e-3)
    rate, distortion = ecsq_gaussian(lam, 1.5)
    shannon = reverse_waterfill(lam, distortion=distortion).rate
    assert 0 < rate - shannon < ECSQ_GAP_BITS  # the gap shrinks at low rate
    assert ecsq_gaussian(lam, 10.0) == (0.0, pytest.approx(lam.mean()))


def test_quantize_round_trip():
    c = np.array([[0.49, -0.51, 2.0], [1.5, -2.5, 0.0]])
    steps = np.array([1.0, 1.0, np.inf])
    i = quantize(c, steps)
    assert i.tolist() == [[0, -1, 0], [2, -2, 0]]
    np.testing.assert_array_equal(dequantize(i, steps), [[0, -1, 0], [2, -2, 0]])
    assert step_for_theta(1 / 12) == pytest.approx(1.0)


@pytest.mark.parametrize("call, message", [
    (lambda: step_for_theta(0.0), "theta=0.0 must be a positive"),
    (lambda: uniform_quantizer_distortion(1.0, -1.0), "step=-1.0 must be a positive"),
    (lambda: uniform_quantizer_entropy(np.nan, 1.0), "std=nan must be a positive"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ParameterError, match=message):
        call()
