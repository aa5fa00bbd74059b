"""Shared fixtures: the bundled recording and seeded test signals written on the fly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "sfm_audio" / "data" / "arctic_a0007.wav"


#: test modules that run whole commands end to end (worker processes, pipes, Dask clusters,
#: every figure drawn to a file): all their tests are ``slow``, so that ``pytest -m "not slow"``
#: is the everyday edit-test loop. CI runs plain ``pytest``, every test.
END_TO_END_MODULES = {
    "test_cli_batch.py",
    "test_cli_code.py",
    "test_cli_code_duality.py",
    "test_cli_plot.py",
    "test_cli_stdin.py",
    "test_corpus_runs.py",
    "test_figures.py",
    "test_fuzz.py",
    "test_plot_roads.py",
    "test_scripts.py",
}


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test of :data:`END_TO_END_MODULES` and every test that starts a
    Dask cluster (the ``cluster`` fixture); other slow tests carry ``@pytest.mark.slow``."""
    slow = pytest.mark.slow
    for item in items:
        if item.path.name in END_TO_END_MODULES or "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(slow)


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def speech() -> Path:
    return SPEECH


@pytest.fixture(scope="session")
def signals(tmp_path_factory) -> dict[str, Path]:
    """The seeded signals of scripts/make_test_signals.py, 2 s at 16 kHz, by name."""
    make = _load_script("make_test_signals")
    outdir = tmp_path_factory.mktemp("signals")
    paths = make.write(outdir, sr=16000, seconds=2.0, seed=0)
    return {p.stem: p for p in paths}


@pytest.fixture(scope="session")
def noise_tone_stereo_22k(tmp_path_factory) -> Path:
    """3 s of stereo at 22.05 kHz: speech-like noise left, a decaying tone right."""
    rng = np.random.default_rng(7)
    sr = 22050
    t = np.arange(3 * sr) / sr
    left = 0.2 * rng.standard_normal(t.size) * np.abs(np.sin(2 * np.pi * 1.5 * t))
    right = 0.4 * np.exp(-t) * np.sin(2 * np.pi * 440 * t)
    path = tmp_path_factory.mktemp("stereo") / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=-1), sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def tone_noise_stereo_y() -> np.ndarray:
    """1.5 s of stereo at 22.05 kHz as an array (2, n): a 440 Hz tone over faint noise left,
    noise that steps up at 0.5 s right (seeded)."""
    sr = 22050
    rng = np.random.default_rng(3)
    t = np.arange(int(1.5 * sr)) / sr
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)
    right = 0.2 * rng.standard_normal(t.size) * (0.05 + (t > 0.5))
    return np.stack([left, right])


@pytest.fixture(scope="session")
def tone_noise_stereo_wav(tmp_path_factory, tone_noise_stereo_y) -> Path:
    """:func:`tone_noise_stereo_y` in a float64 WAV: exactly the array's samples."""
    path = tmp_path_factory.mktemp("arrays") / "y.wav"
    sf.write(path, tone_noise_stereo_y.T, 22050, subtype="DOUBLE")
    return path


@pytest.fixture(scope="session")
def glide_8k(tmp_path_factory) -> Path:
    """2 s at 8 kHz, 16-bit: a gliding tone over noise (seeded); the figure tests' file.

    Its folder sorts before :func:`ar1_8k`'s: the lossless figure orders inputs by path."""
    rng = np.random.default_rng(3)
    sr = 8000
    t = np.arange(2 * sr) / sr
    y = 0.3 * np.sin(2 * np.pi * (200 * t + 300 * t**2)) + 0.03 * rng.standard_normal(t.size)
    path = tmp_path_factory.mktemp("fig_a") / "glide.wav"
    sf.write(path, y, sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def ar1_8k(tmp_path_factory) -> Path:
    """1.5 s at 8 kHz, 16-bit, of AR(1) noise, ρ = 0.9 (seeded): a second lossless point."""
    rng = np.random.default_rng(4)
    e = rng.standard_normal(12000)
    y = np.empty_like(e)
    y[0] = e[0]
    for i in range(1, e.size):
        y[i] = 0.9 * y[i - 1] + e[i]
    path = tmp_path_factory.mktemp("fig_b") / "ar1.wav"
    sf.write(path, 0.05 * y, 8000, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def cluster():
    """A Dask LocalCluster of two single-threaded worker processes on 127.0.0.1 (its
    scheduler's address), shared by the corpus tests."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def ar1_signal():
    """``ar1_signal(n, rho, seed=0)``: a seeded AR(1) process of unit variance."""
    from scipy.signal import lfilter

    def make(n: int, rho: float, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], rng.standard_normal(n))

    return make
