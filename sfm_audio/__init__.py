"""sfm_audio: spectral flatness of real audio, and why flat spectra compress.

The names a librosa user reaches for are here, imported on first use, so that ``import
sfm_audio`` stays fast (it loads only the error classes; numpy, soundfile and matplotlib come
with the first call that needs them):

========================  ====================================================================
``extract``               every feature of a file or an array, in memory
                          (:func:`sfm_audio.features.extract`)
``spectral_flatness``     librosa's ``spectral_flatness``, same numbers, streamed
                          (:func:`sfm_audio.flatness.spectral_flatness`)
``load``                  a whole file as ``(y, sr)``, 1-D for one channel
                          (:func:`sfm_audio.io.load`)
``figure``                a figure of a recording (:func:`sfm_audio.figures.figure`)
``extract_files``         many files into one table, in parallel
                          (:func:`sfm_audio.corpus.extract_files`)
``open_features``         a file's features, chunk by chunk, in bounded memory
``ExtractOptions``        every option of an extraction, validated once
``example``               the path of a bundled recording (:func:`sfm_audio.examples.example`)
========================  ====================================================================

>>> import sfm_audio
>>> f = sfm_audio.extract(sfm_audio.example(), bands="octave")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import AudioFileError, ParameterError, SfmError

#: public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "extract": "sfm_audio.features",
    "open_features": "sfm_audio.features",
    "ExtractOptions": "sfm_audio.features",
    "spectral_flatness": "sfm_audio.flatness",
    "load": "sfm_audio.io",
    "figure": "sfm_audio.figures",
    "extract_files": "sfm_audio.corpus",
    "example": "sfm_audio.examples",
}

__all__ = [
    "SfmError", "ParameterError", "AudioFileError", "__version__",
    "extract", "open_features", "ExtractOptions", "spectral_flatness", "load", "figure",
    "extract_files", "example",
]
__version__ = "0.1.0"

if TYPE_CHECKING:  # what IDEs and type checkers see; at run time __getattr__ imports
    from .corpus import extract_files
    from .examples import example
    from .features import ExtractOptions, extract, open_features
    from .figures import figure
    from .flatness import spectral_flatness
    from .io import load


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sfm_audio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
