"""The top-level API (issue 22): the names a librosa user guesses, imported lazily, and one
meaning per parameter name."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest

import sfm_audio
from sfm_audio import ParameterError
from sfm_audio.features import ExtractOptions
from sfm_audio.threads import DEFAULT_THREADS

TOP_LEVEL = {
    "extract": "sfm_audio.features",
    "open_features": "sfm_audio.features",
    "ExtractOptions": "sfm_audio.features",
    "spectral_flatness": "sfm_audio.flatness",
    "load": "sfm_audio.io",
    "figure": "sfm_audio.figures",
    "extract_files": "sfm_audio.corpus",
    "example": "sfm_audio.examples",
}


def test_import_is_light():
    code = ("import sys, sfm_audio\n"
            "heavy = sorted(m for m in ('numpy', 'matplotlib', 'soundfile', 'scipy', 'click') "
            "if m in sys.modules)\n"
            "assert not heavy, heavy\n"
            "sfm_audio.extract\n"
            "assert 'numpy' in sys.modules and 'matplotlib' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_top_level_names_are_the_modules_own(name):
    assert name in sfm_audio.__all__ and name in dir(sfm_audio)
    assert getattr(sfm_audio, name) is getattr(importlib.import_module(TOP_LEVEL[name]), name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'melspectrogram'"):
        sfm_audio.melspectrogram  # noqa: B018


def test_extract_on_a_path_and_an_array(speech):
    y, sr = sfm_audio.load(speech)
    assert y.ndim == 1
    a, b = sfm_audio.extract(speech), sfm_audio.extract(y, sr=sr)
    for name in a.meta.columns:
        np.testing.assert_allclose(a.values[name], b.values[name], rtol=0, atol=1e-9)


def test_target_sr_resamples_a_path_and_sr_is_an_arrays_rate(speech):
    f = sfm_audio.extract(speech, target_sr=8000, bands=None)
    assert f.meta.sr == 8000
    with pytest.warns(DeprecationWarning, match="target_sr="):
        old = sfm_audio.extract(speech, sr=8000, bands=None)
    np.testing.assert_array_equal(old.values["sfm"], f.values["sfm"])
    with pytest.raises(ParameterError, match="target_sr= is for a path"):
        sfm_audio.extract(np.zeros(4096), sr=8000, target_sr=16000)
    with pytest.raises(ParameterError, match="target_sr= alone"):
        sfm_audio.extract(speech, sr=8000, target_sr=8000)


def test_extract_shows_its_options():
    """Every option of a frame table is an explicit keyword with ExtractOptions' default."""
    params = inspect.signature(sfm_audio.extract).parameters
    defaults = ExtractOptions()
    for field in fields(ExtractOptions):
        if field.name == "sr":  # spelled target_sr: sr= is an array's own rate
            continue
        assert params[field.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[field.name].default == getattr(defaults, field.name), field.name


@pytest.mark.parametrize("name", ["extract", "open_features", "spectral_flatness",
                                  "extract_files"])
def test_threads_default_is_one_number(name):
    threads = inspect.signature(getattr(sfm_audio, name)).parameters["threads"]
    assert threads.default == DEFAULT_THREADS


def test_code_never_imports_scipy_signal(tmp_path):
    """A whole ``code`` run (every section) leaves scipy.signal unimported: the package
    costs every process of the run 41 MB and 0.2 s for what numpy.convolve does."""
    code = ("import sys\n"
            "from sfm_audio.coding import run_experiment\n"
            "from sfm_audio.examples import example\n"
            "run_experiment(example(), jobs=1)\n"
            "assert 'scipy.signal' not in sys.modules, 'scipy.signal imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, cwd=tmp_path)
