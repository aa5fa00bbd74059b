"""Figures of the project's results: they draw arrays they are given, nothing more.

The only package that imports matplotlib; :mod:`sfm_audio.plot.fit` fits the text of its
figures to their size. Figures are built with
:class:`matplotlib.figure.Figure` directly, so no pyplot state and no GUI backend is involved:
this works headless and leaves the backend of an interactive user untouched. Every function
takes arrays that are already computed (it never computes an STFT or anything costly), draws on
the caller's axes when given (``ax=`` or ``axes=``) or on a new figure, and returns the figure.
:func:`save` writes a figure completely or not at all. Modules: :mod:`~sfm_audio.plot.spectral`
(the extractor's figures), :mod:`~sfm_audio.plot.rd` (the coding experiments' curves: eigen,
rate–distortion, gain), :mod:`~sfm_audio.plot.agreement` (their measured-against-predicted
figures: lossless, prediction, duality, gains, frame gains), :mod:`~sfm_audio.plot.base`
(style, checks, saving) and :mod:`~sfm_audio.plot.fit`.

Shapes follow the project's rule: time is the last axis.
"""

from .agreement import duality, frame_gains, gains, lossless, prediction
from .base import (
    DB_RANGE,
    FREQ_SCALES,
    check_choice,
    check_cmap,
    output_format,
    save,
    stacked,
    value_range,
)
from .fit import fit_text
from .rd import eigen, gain, rd
from .spectral import bands, flatness

__all__ = [
    "flatness", "bands", "eigen", "rd", "gain", "lossless", "prediction", "duality", "gains",
    "frame_gains",
    "save", "output_format",
    "fit_text", "stacked", "check_cmap", "check_choice", "value_range", "DB_RANGE",
    "FREQ_SCALES",
]
