"""sfm_audio.coding.waterfill: exact reverse water-filling (anchors: docs/definitions.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sfm_audio._errors import ParameterError
from sfm_audio.coding import ar1_covariance, ar1_psd, klt, reverse_waterfill


def test_waterfill_anchor_r8():
    lam, _ = klt(ar1_covariance(8, 0.9))
    wf = reverse_waterfill(lam, distortion=0.1)
    assert wf.rate == pytest.approx(0.649243, abs=1e-6)
    assert wf.theta == pytest.approx(0.126148, abs=1e-6)
    assert wf.n_active == 4
    back = reverse_waterfill(lam, rate=wf.rate)
    assert back.theta == pytest.approx(wf.theta, rel=1e-12)
    assert back.distortion == pytest.approx(0.1, rel=1e-12)


def test_waterfill_limit_ar1():
    psd = ar1_psd(1 << 16, 0.9)
    wf = reverse_waterfill(psd, distortion=0.01)
    assert wf.rate == pytest.approx(2.123964, abs=1e-6)
    # below (1-rho)/(1+rho) every frequency is active and R = 1/2 log2((1-rho^2)/D)
    assert wf.n_active == psd.size
    assert wf.rate == pytest.approx(0.5 * np.log2((1 - 0.81) / 0.01), abs=1e-9)


variances_st = arrays(np.float64, st.integers(1, 16),
                      elements=st.floats(1e-6, 100.0) | st.just(0.0)).filter(lambda v: v.max() > 0)


@settings(max_examples=60, deadline=None)
@given(variances_st, st.floats(0.001, 0.999))
def test_waterfill_hits_distortion_target(v, fraction):
    target = fraction * v.mean()
    wf = reverse_waterfill(v, distortion=target)
    assert wf.distortions.mean() == pytest.approx(target, rel=1e-9)
    assert wf.distortion == pytest.approx(target, rel=1e-9)
    assert (wf.rates >= 0).all() and wf.rate >= 0
    assert (wf.rates[v == 0] == 0).all()
    np.testing.assert_allclose(wf.distortions, np.minimum(wf.theta, v))


@settings(max_examples=60, deadline=None)
@given(variances_st, st.floats(0.01, 12.0))
def test_waterfill_hits_rate_target(v, rate):
    wf = reverse_waterfill(v, rate=rate)
    assert wf.rates.mean() == pytest.approx(rate, rel=1e-9)
    assert (wf.rates >= 0).all()
    assert (wf.rates[v == 0] == 0).all()


@settings(max_examples=40, deadline=None)
@given(variances_st)
def test_rd_non_increasing_and_convex(v):
    d = np.linspace(0.02, 0.98, 25) * v.mean()
    r = np.array([reverse_waterfill(v, distortion=x).rate for x in d])
    assert (np.diff(r) <= 1e-12).all()
    assert (np.diff(r, 2) >= -1e-9 * max(1.0, r.max())).all()
    assert reverse_waterfill(v, distortion=v.mean()).rate == 0
    assert reverse_waterfill(v, distortion=2 * v.mean()).rate == 0


@settings(max_examples=40, deadline=None)
@given(variances_st, arrays(np.int64, 16, elements=st.integers(1, 5)), st.floats(0.05, 0.95),
       st.floats(0.1, 6.0))
def test_weights_equal_repetition(v, counts, fraction, rate):
    """A weight k gives exactly what k copies of the variance give."""
    w = counts[: v.size].astype(float)
    repeated = np.repeat(v, counts[: v.size])
    target = fraction * float(v @ w / w.sum())
    a = reverse_waterfill(v, distortion=target, weights=w)
    b = reverse_waterfill(repeated, distortion=target)
    assert a.rate == pytest.approx(b.rate, rel=1e-9, abs=1e-12)
    assert a.theta == pytest.approx(b.theta, rel=1e-9)
    a = reverse_waterfill(v, rate=rate, weights=w)
    b = reverse_waterfill(repeated, rate=rate)
    assert a.distortion == pytest.approx(b.distortion, rel=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one"),
    ({"distortion": 0.1, "rate": 1.0}, "exactly one"),
    ({"distortion": 0.0}, "distortion=0.0 must be"),
    ({"rate": -1.0}, "rate=-1.0 must be"),
    ({"rate": 1.0, "weights": np.array([1.0, 0.0, 1.0])}, "weights must be positive"),
    ({"rate": 1.0, "weights": np.ones(2)}, "one per variance"),
])
def test_bad_inputs(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        reverse_waterfill(np.ones(3), **kwargs)


def test_zero_variances():
    with pytest.raises(ParameterError, match="every variance is zero"):
        reverse_waterfill(np.zeros(3), rate=1.0)
    wf = reverse_waterfill(np.zeros(3), distortion=1.0)
    assert wf.rate == 0 and wf.distortion == 0
