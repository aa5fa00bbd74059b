"""sfm_audio.coding.prediction: Levinson against scipy, the AR(1) anchor, streaming, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

from sfm_audio._errors import ParameterError, SfmError
from sfm_audio.coding.prediction import (
    autocorrelation,
    fir_filter,
    levinson,
    lpc,
    predict,
    predict_stream,
    prediction_error_powers,
    prediction_residual,
    prediction_section,
    validate_orders,
)

RHO = 0.9


@pytest.fixture(scope="module")
def ar1():
    rng = np.random.default_rng(0)
    return lfilter([np.sqrt(1 - RHO**2)], [1.0, -RHO], rng.standard_normal(1 << 20))


@pytest.fixture(scope="module")
def ar1_predictions(ar1):
    return {p.order: p for p in predict(ar1, orders=[1, 8])}


def test_ar1_gain_closed_form(ar1, ar1_predictions):
    # docs/definitions.md, anchor table: LPC gain of AR(1) rho = 0.9 is -10 log10(1 - rho^2)
    # = 7.2125 dB at every order >= 1. Sampling error of the estimate on 2^20 samples: the
    # std of rho_hat is sqrt((1 - rho^2) / n) = 4.3e-4 and dG/drho = 20 rho / ((1 - rho^2)
    # ln 10) = 41 dB, so about 0.018 dB; 0.06 dB is more than 3 sigma.
    closed = -10 * np.log10(1 - RHO**2)
    assert closed == pytest.approx(7.2125, abs=1e-4)
    assert ar1_predictions[1].gain_db == pytest.approx(closed, abs=0.06)
    # exactly the closed form of the estimated correlation at order 1
    r = autocorrelation(ar1, max_lag=1)
    assert ar1_predictions[1].gain_db == pytest.approx(
        -10 * np.log10(1 - (r[1] / r[0]) ** 2), abs=1e-9)


def test_ar1_higher_orders_gain_nothing(ar1_predictions):
    assert abs(ar1_predictions[8].gain_db - ar1_predictions[1].gain_db) <= 0.01
    assert ar1_predictions[8].gain_db >= ar1_predictions[1].gain_db


def test_ar1_residual_is_white(ar1_predictions):
    for p in ar1_predictions.values():
        assert p.residual_sfm >= 0.995
        assert p.residual_psd.shape == (1024,)


def test_levinson_matches_solve_toeplitz(speech):
    y, _ = sf.read(speech)
    r = autocorrelation(y, max_lag=16)
    for order in (1, 2, 5, 16):
        a, errors, k = levinson(r, order=order)
        expected = solve_toeplitz(r[:order], r[1: order + 1])
        np.testing.assert_allclose(a[1:], -expected, rtol=1e-7, atol=1e-9)
        assert a[0] == 1.0
        # error power of the normal equations: r0 + sum_j a_j r_j
        assert errors[-1] == pytest.approx(r[0] + a[1:] @ r[1: order + 1], rel=1e-9)
        assert np.all(np.abs(k) <= 1.0)
    np.testing.assert_allclose(lpc(y, order=5), levinson(r, order=5)[0])


def test_residual_power_matches_levinson_error(speech):
    y, _ = sf.read(speech)
    a = lpc(y, order=8)
    e = prediction_residual(y, a)
    np.testing.assert_allclose(e, lfilter(a, [1.0], y - y.mean()))
    # the autocorrelation method's error is the residual power of the zero-padded signal,
    # which differs from the in-signal residual only by the p samples after the end
    assert np.mean(e**2) == pytest.approx(prediction_error_powers(y, order=8)[-1], rel=2e-3)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31), st.integers(64, 600))
def test_gain_never_decreases_with_order(seed, n):
    y = np.random.default_rng(seed).standard_normal(n).cumsum()
    errors = prediction_error_powers(y, order=12)
    assert np.all(np.diff(errors) <= 1e-12 * errors[0])
    assert np.all(errors >= 0)


def test_levinson_doc_example_and_perfect_prediction():
    a, errors, _ = levinson(np.array([1.0, 0.9, 0.81]), order=2)
    np.testing.assert_allclose(a, [1.0, -0.9, 0.0], atol=1e-12)
    np.testing.assert_allclose(errors, [1.0, 0.19, 0.19])
    # a perfectly correlated sequence: the error reaches 0 at order 1 and the recursion stops
    a, errors, _ = levinson(np.ones(4), order=3)
    np.testing.assert_allclose(errors, [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(a, [1.0, -1.0, 0.0, 0.0])


def test_stream_in_pieces_equals_whole(speech):
    y, _ = sf.read(speech)
    whole = predict(y, orders=[2, 16], nperseg=512)
    cuts = [0, 1000, 1001, 30000, y.size]
    parts = predict_stream(lambda: (y[a:b] for a, b in zip(cuts, cuts[1:])),
                           mean=float(y.mean()), orders=[16, 2, 2], nperseg=512)
    assert [p.order for p in parts] == [2, 16]
    for w, p in zip(whole, parts):
        np.testing.assert_allclose(p.coefficients, w.coefficients, rtol=1e-10)
        np.testing.assert_allclose(p.residual_psd, w.residual_psd, rtol=1e-9)
        assert p.summary() == {"order": w.order, "gain_db": pytest.approx(w.gain_db),
                               "residual_sfm": pytest.approx(w.residual_sfm)}


def test_section_leaves_out_orders_too_long(speech):
    y, _ = sf.read(speech)
    y = y[:600]
    out = prediction_section(lambda: [y], mean=float(y.mean()), orders=[1, 32, 700],
                             nperseg=256, samples=y.size)
    assert [p.order for p in out] == [1, 32]
    assert prediction_section(lambda: [y], mean=0.0, orders=[1], nperseg=1024,
                              samples=y.size) == []


@pytest.mark.parametrize("orders, match", [
    ([0], "orders=0 must be a positive integer"),
    ([2, -1], "orders=-1 must be a positive integer"),
    ([1.5], "orders=1.5 must be a positive integer"),
    ([], "at least one prediction order"),
    ("8", "must be a sequence"),
])
def test_bad_orders(orders, match):
    with pytest.raises(ParameterError, match=match):
        validate_orders(orders)


def test_bad_inputs():
    with pytest.raises(SfmError, match="silent"):
        predict(np.zeros(100), orders=[1])
    with pytest.raises(SfmError, match="r\\[0\\] = 0"):
        levinson(np.zeros(3), order=2)
    with pytest.raises(ParameterError, match="finite"):
        predict(np.array([1.0, np.nan, 2.0]), orders=[1])
    with pytest.raises(ParameterError, match="shape"):
        levinson(np.ones(2), order=3)
    with pytest.raises(ParameterError, match="order=0"):
        levinson(np.ones(2), order=0)
    with pytest.raises(ParameterError, match="longer than the signal"):
        lpc(np.ones(4), order=8)
    with pytest.raises(ParameterError, match="more than 8 samples"):
        predict_stream(lambda: [np.arange(5.0)], mean=0.0, orders=[8])


@settings(max_examples=30, deadline=None)
@given(order=st.integers(0, 40), cuts=st.lists(st.integers(0, 3000), max_size=4),
       seed=st.integers(0, 2**32 - 1))
def test_fir_filter_streamed_equals_scipy_lfilter(order, cuts, seed):
    """The prediction-error filter over a signal cut into pieces anywhere (pieces shorter
    than the order included) equals scipy.signal.lfilter over the whole signal, to 1e-12."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(3000)
    a = np.r_[1.0, 0.3 * rng.standard_normal(order)]
    edges = [0, *sorted(cuts), x.size]
    history, pieces = None, []
    for lo, hi in zip(edges[:-1], edges[1:]):
        e, history = fir_filter(a, x[lo:hi], history)
        pieces.append(e)
    assert np.allclose(np.concatenate(pieces), lfilter(a, [1.0], x), rtol=0, atol=1e-12)
    assert history.shape == (order,)
