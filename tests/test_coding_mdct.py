"""sfm_audio.coding.mdct: the fold against the textbook MDCT, TDAC, streaming, real coding."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from sfm_audio._errors import ParameterError
from sfm_audio.coding import (
    BlockCoder,
    ar1_covariance,
    coding_gain_db,
    dct_matrix,
    run_experiment,
    transform_matrix,
)
from sfm_audio.coding.mdct import (
    Folder,
    Unfolder,
    dct4_matrix,
    imdct,
    mdct,
    mdct_matrix,
    mdct_variances,
    run_mdct_coders,
    sine_window,
)


def textbook_mdct(y: np.ndarray, n: int) -> np.ndarray:
    """MDCT straight from its definition, frames t = -1..T-1 of the zero-padded signal."""
    w = np.sin(np.pi * (np.arange(2 * n) + 0.5) / (2 * n))
    k = np.arange(n)[:, None] + 0.5
    j = np.arange(2 * n)[None, :] + 0.5 + n / 2
    basis = np.sqrt(2.0 / n) * w * np.cos(np.pi / n * j * k)
    frames = -(-y.size // n) + 1
    padded = np.concatenate([np.zeros(n), y, np.zeros(frames * n - y.size)])
    return np.stack([basis @ padded[t * n: t * n + 2 * n] for t in range(frames)], axis=1)


@pytest.mark.parametrize("n, length", [(2, 7), (8, 53), (32, 64), (64, 1000)])
def test_fold_plus_dct4_is_the_mdct(n, length):
    y = np.random.default_rng(n).standard_normal(length)
    np.testing.assert_allclose(mdct(y, n=n), textbook_mdct(y, n), atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([2, 4, 16, 32]), st.integers(1, 300), st.integers(0, 2**31))
def test_perfect_reconstruction(n, length, seed):
    y = np.random.default_rng(seed).standard_normal(length)
    np.testing.assert_allclose(imdct(mdct(y, n=n), length=length), y, atol=1e-12)


def test_tdac_lapped_transform_is_orthogonal():
    n, length = 8, 40
    # analysis matrix of the whole signal, column by column
    A = np.stack([mdct(e, n=n).T.ravel() for e in np.eye(length)], axis=1)
    np.testing.assert_allclose(A.T @ A, np.eye(length), atol=1e-12)
    M = mdct_matrix(n)
    np.testing.assert_allclose(M @ M.T, np.eye(n), atol=1e-12)
    w = sine_window(n)
    np.testing.assert_allclose(w[:n] ** 2 + w[n:] ** 2, 1.0)


def test_dct4_matrix():
    u = np.random.default_rng(1).standard_normal(16)
    D = dct4_matrix(16)
    np.testing.assert_allclose(D @ u, scipy.fft.dct(u, type=4, norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(D @ D, np.eye(16), atol=1e-12)


def test_streaming_fold_in_any_pieces():
    n = 16
    y = np.random.default_rng(2).standard_normal(1001)
    whole = np.vstack(list(Folder(n).run([y])))
    cuts = [0, 3, 3, 17, 500, 1001]
    parts = np.vstack(list(Folder(n).run(y[a:b] for a, b in zip(cuts, cuts[1:]))))
    np.testing.assert_allclose(parts, whole, atol=1e-14)
    unfold = Unfolder(n)
    rebuilt = np.concatenate([unfold.push(parts[:5]), unfold.push(parts[5:6]),
                              unfold.push(parts[6:])])
    unfold.finish()
    np.testing.assert_allclose(rebuilt[: y.size], y, atol=1e-12)
    np.testing.assert_allclose(rebuilt[y.size:], 0.0, atol=1e-12)
    assert unfold.padding_energy == pytest.approx(0.0, abs=1e-24)


def test_variances_from_covariance_match_the_transform(speech):
    # two routes to the MDCT coefficient variances on the bundled speech: from the covariance
    # of 2N-sample windows, and from the mean square of each coefficient of the real MDCT
    y, _ = sf.read(speech)
    y = y - y.mean()
    n = 32
    windows = np.lib.stride_tricks.sliding_window_view(y, 2 * n)[::n]
    cov = windows.T @ windows / windows.shape[0]
    v = mdct_variances(cov)
    X = mdct(y, n=n)[:, 1:-1]  # frames inside the signal
    np.testing.assert_allclose(v, (X**2).mean(axis=1), rtol=1e-9)
    assert coding_gain_db(v) == pytest.approx(12.25, abs=0.01)  # issue 9's study value


def test_ar1_gain_between_dct_and_bound():
    # on AR(1) rho = 0.9 the overlap can only help: MDCT gain above the block DCT's at the
    # same N, and below the limit 1/(1-rho^2) = 7.2125 dB (docs/definitions.md, anchor table)
    for n in (4, 8, 16):
        v = mdct_variances(ar1_covariance(2 * n, 0.9))
        dct = coding_gain_db(np.diag(dct_matrix(n) @ ar1_covariance(n, 0.9) @ dct_matrix(n).T))
        assert dct < coding_gain_db(v) < 7.2125
        assert v.mean() == pytest.approx(1.0, rel=1e-12)  # orthonormal rows, unit variance


def test_coded_mdct_distortion_is_the_signals():
    rng = np.random.default_rng(3)
    y = lfilter([1.0], [1.0, -0.9], rng.standard_normal(5000))
    n, mean = 16, float(y.mean())
    windows = np.lib.stride_tricks.sliding_window_view(y - mean, 2 * n)[::n]
    v = mdct_variances(windows.T @ windows / windows.shape[0])
    coders = [BlockCoder(dct4_matrix(n), v, rate=r, transform="mdct") for r in (1.0, 3.0)]
    out: dict[int, list] = {0: [], 1: []}
    results = run_mdct_coders(lambda: [y[:1234], y[1234:]], n, mean, coders, samples=y.size,
                              chunk_blocks=64, on_decoded=lambda k, s: out[k].append(s))
    for k, res in enumerate(results):
        decoded = np.concatenate(out[k])
        assert decoded.size == y.size and res.samples == y.size
        assert res.distortion == pytest.approx(np.mean((decoded - y) ** 2), rel=1e-9)
    assert results[1].distortion < results[0].distortion
    assert results[1].bits > results[0].bits


def test_experiment_mdct_write_back(tmp_path):
    rng = np.random.default_rng(4)
    y = 0.1 * lfilter([np.sqrt(1 - 0.81)], [1.0, -0.9], rng.standard_normal(20000))
    path = tmp_path / "ar1.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    x, _ = sf.read(path)
    exp = run_experiment(path, blocks=[8], rates=[2.0], transforms=["dct", "mdct"],
                         keep_decoded=True, orders=[1], duality_block=256)
    entry = exp.report.to_dict()["blocks"][0]
    assert set(entry["transforms"]) == {"dct", "mdct"}
    measured = entry["rd"][0]["measured"]["mdct"]
    decoded = exp.decoded[(8, "mdct", 2.0)]
    assert decoded.size == x.size
    # decoded signals are kept as float32
    assert np.mean((decoded - x) ** 2) == pytest.approx(measured["distortion"], rel=1e-4)


@pytest.mark.parametrize("call, match", [
    (lambda: mdct(np.ones(10), n=3), "n=3 must be even"),
    (lambda: mdct(np.ones(10), n=1), "n=1 must be an integer >= 2"),
    (lambda: mdct(np.array([1.0, np.nan]), n=2), "finite"),
    (lambda: mdct(np.ones((2, 2)), n=2), "shape"),
    (lambda: imdct(np.ones((4, 3)), length=9), "length=9 must be in"),
    (lambda: imdct(np.ones(4), length=1), "shape"),
    (lambda: mdct_variances(np.eye(3)), "2 n"),
    (lambda: transform_matrix("mdct", np.eye(4)), "lapped transform"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_experiment_rejects_odd_or_too_long_blocks(tmp_path):
    path = tmp_path / "n.wav"
    sf.write(path, np.random.default_rng(5).standard_normal(100) * 0.1, 8000)
    with pytest.raises(ParameterError, match="block=7 must be even for the MDCT"):
        run_experiment(path, blocks=[7], rates=[1.0], transforms=["mdct"])
    with pytest.raises(ParameterError, match="MDCT of block=64 needs 128 samples"):
        run_experiment(path, blocks=[64], rates=[1.0], transforms=["mdct"])
