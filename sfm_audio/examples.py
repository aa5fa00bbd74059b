"""The recordings bundled inside the package, so that an installed wheel runs the demo.

They live in ``sfm_audio/data/`` (declared as package data in ``pyproject.toml``), each beside
its licence (``NAME.COPYING``), and are found through :mod:`importlib.resources`, which works
for a source checkout, an editable install and a wheel alike.

>>> from sfm_audio.examples import example
>>> example().name
'arctic_a0007.wav'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ._errors import ParameterError

__all__ = ["EXAMPLES", "data_dir", "example"]

#: name -> file of each bundled recording
EXAMPLES = {"arctic_a0007": "arctic_a0007.wav"}


def data_dir() -> Path:
    """The folder of the bundled recordings (``sfm_audio/data/`` of the installed package)."""
    # a wheel or a checkout installs the package as plain files, so the resource is a path
    return Path(str(files("sfm_audio").joinpath("data")))


def example(name: str = "arctic_a0007") -> Path:
    """The path of a bundled recording, as ``librosa.example`` gives one of its own.

    Parameters
    ----------
    name : str
        One of :data:`EXAMPLES`: ``arctic_a0007`` (4 s of read English speech, 16 kHz, 16-bit mono,
        from the CMU ARCTIC corpus; licence in ``arctic_a0007.COPYING`` beside it).

    Returns
    -------
    Path
    """
    if name not in EXAMPLES:
        raise ParameterError(f"unknown example {name!r}; choose from {', '.join(EXAMPLES)}",
                             param="name")
    return data_dir() / EXAMPLES[name]
