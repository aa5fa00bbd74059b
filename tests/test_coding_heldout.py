"""sfm_audio.coding.heldout: one held-out protocol (halves and odd/even) for KLT, LPC and the
adaptive coder's fit, checked against the AR(1) anchors and on a source whose halves differ."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

from sfm_audio.coding import coding_gain_db, klt, run_experiment
from sfm_audio.coding.heldout import (
    SPLITS,
    SplitCovariance,
    heldout_fit,
    heldout_klt,
    heldout_prediction,
    r2_identity,
)
from sfm_audio.coding.markdown import markdown_report

#: DESIGN anchor table: AR(1) rho = 0.9, KLT gain at N = 8, and the LPC gain of any order >= 1
KLT8_DB = 6.3109
LPC_DB = -10 * np.log10(1 - 0.9**2)  # 7.2125
#: a held-out gain of 2**18 samples of a stationary AR(1) sits this close to the true one
TOL_DB = 0.05


def _ar1(rho: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lfilter([np.sqrt(1 - rho**2)], [1, -rho], rng.standard_normal(n))


def _pieces(y: np.ndarray, size: int = 9973):
    return lambda: (y[i:i + size] for i in range(0, y.size, size))


@pytest.fixture(scope="module")
def stationary() -> np.ndarray:
    return _ar1(0.9, 1 << 18, 0)


@pytest.fixture(scope="module")
def two_halves() -> np.ndarray:
    """AR(1) rho = 0.9 for the first half, white noise for the second (same variance)."""
    n = 1 << 17
    return np.concatenate([_ar1(0.9, n, 1), _ar1(0.0, n, 2)])


def _split_klt(y: np.ndarray, n: int) -> dict:
    acc = SplitCovariance(n, n_blocks=y.size // n, mean=0.0)
    for piece in _pieces(y)():
        acc.update(piece)
    return acc, heldout_klt(acc)


def test_split_covariances_are_those_of_the_parts(two_halves):
    n = 8
    acc, _ = _split_klt(two_halves, n)
    blocks = two_halves[: two_halves.size // n * n].reshape(-1, n)
    m = blocks.shape[0] // 2
    peers = {"halves": (blocks[:m], blocks[m:]), "odd_even": (blocks[0::2], blocks[1::2])}
    for split in SPLITS:
        for got, part in zip(acc.covariances(split), peers[split], strict=True):
            # the mean of the blocks' outer products (the mean, 0, is given)
            np.testing.assert_allclose(got, part.T @ part / part.shape[0], rtol=1e-10)


def test_stationary_klt_held_out_matches_in_sample_and_anchor(stationary):
    _, held = _split_klt(stationary, 8)
    blocks = stationary.reshape(-1, 8)
    in_sample = coding_gain_db(klt(blocks.T @ blocks / blocks.shape[0])[0])
    for split in SPLITS:  # both present; on a stationary source both agree with in-sample
        assert held[split].mean == pytest.approx(KLT8_DB, abs=TOL_DB)
        assert held[split].mean == pytest.approx(in_sample, abs=TOL_DB)


def test_stationary_lpc_held_out_matches_the_closed_form(stationary):
    held = heldout_prediction(_pieces(stationary), mean=0.0, orders=[1, 2, 8],
                              samples=stationary.size)
    for order in (1, 2, 8):
        for split in SPLITS:
            assert held[order][split].mean == pytest.approx(LPC_DB, abs=TOL_DB)
            ways = (held[order][split].first_to_second, held[order][split].second_to_first)
            assert ways == pytest.approx((LPC_DB, LPC_DB), abs=2 * TOL_DB)


def test_contiguous_split_is_lower_when_the_halves_differ(two_halves):
    """Fitted on rho = 0.9 and measured on white noise (and back), a model misfits; the
    interleaved split sees both halves in both parts and does not. (With rho = 0.5 as the
    second half the KLT's contiguous split is *higher*: each half is then measured on its own
    statistics, the interleaved split on the pooled, flatter ones.)"""
    _, klt_held = _split_klt(two_halves, 8)
    assert klt_held["halves"].mean < klt_held["odd_even"].mean - 0.5  # 0.36 against 1.15
    lpc = heldout_prediction(_pieces(two_halves), mean=0.0, orders=[2], samples=two_halves.size)
    assert lpc[2]["halves"].mean < lpc[2]["odd_even"].mean - 1.0  # -1.24 against 1.25


def test_halves_measure_each_half_on_its_own_statistics():
    """When one half is only more predictable than the other (rho = 0.9, then 0.5), the
    contiguous split's mean of dB exceeds the interleaved split's pooled value."""
    n = 1 << 17
    y = np.concatenate([_ar1(0.9, n, 1), _ar1(0.5, n, 2)])
    _, held = _split_klt(y, 8)
    assert held["halves"].mean > held["odd_even"].mean + 0.5  # 3.48 against 2.57


def test_r2_identity_is_against_y_equals_x():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_identity(y, y) == 1.0
    assert r2_identity(y, np.full(4, y.mean())) == 0.0
    # perfectly correlated but off the line: the squared correlation would say 1
    assert r2_identity(y, y + 1.0) == pytest.approx(1 - 4 / 5.0)


def test_heldout_fit_of_a_linear_law():
    rng = np.random.default_rng(3)
    xe, xf = rng.normal(size=400), rng.normal(size=400)
    bits = 1.0 + 0.9 * xe + 0.5 * xf + 0.1 * rng.normal(size=400)
    held = heldout_fit(bits, xe, xf)
    expected = 1 - 0.01 / bits.var()  # noise variance over total variance
    for split in SPLITS:
        assert held[split].mean == pytest.approx(expected, abs=0.01)


@pytest.fixture(scope="module")
def report(tmp_path_factory, two_halves):
    path = tmp_path_factory.mktemp("heldout") / "two.wav"
    sf.write(path, 0.1 * two_halves[: 1 << 16] / np.abs(two_halves).max(), 16000,
             subtype="PCM_16")
    return run_experiment(path, blocks=[4, 8], rates=[2.0], transforms=["klt", "dct"],
                          orders=[1, 4], duality_block=256).report


def test_report_holds_every_model_under_both_splits(report):
    held = report.heldout
    assert [(r.model, r.size) for r in held.rows] == [
        ("klt", 4), ("klt", 8), ("lpc", 1), ("lpc", 4), ("adaptive_fit", 256)]
    for row in held.rows:
        assert row.halves is not None and row.odd_even is not None
        assert len(row.halves.each) == len(row.odd_even.each) == 2
    # the KLT row's in-sample and halves are the transform section's numbers
    for n in (4, 8):
        gain = report.block(n).transforms["klt"]
        row = held.row("klt", n)
        assert row.in_sample == gain.coding_gain_db
        assert row.halves.mean == pytest.approx(gain.heldout_coding_gain_db, abs=1e-9)
    assert held.row("lpc", 4).in_sample == pytest.approx(report.prediction[1].gain_db)
    data = report.to_dict()["heldout"]
    assert set(data["rows"][0]) == {"model", "size", "measure", "in_sample", "halves",
                                    "odd_even"}


def test_text_and_markdown_show_the_protocol(report, capsys):
    from sfm_audio.cli.code import _print_report

    _print_report(report)
    text = capsys.readouterr().out
    assert "in-sample" in text and "odd/even" in text
    (line,) = [ln for ln in text.splitlines() if "LPC gain" in ln and "p=4" in ln]
    row = report.heldout.row("lpc", 4)
    assert [float(v) for v in line.split()[-3:]] == pytest.approx(
        [row.in_sample, row.halves.mean, row.odd_even.mean], abs=0.005)
    md = markdown_report(report)
    assert "## Held out: one protocol for every fitted model" in md
    assert "| model | size | in-sample | halves | odd/even |" in md
