"""Every default of the transform-coding experiment and its figures, in one place.

The library's signatures (:func:`sfm_audio.coding.run_experiment`, the duality, prediction),
the ``sfm-audio code`` options, the corpus runner's :class:`~sfm_audio.corpus.CodeOptions`, the
coding figures (:mod:`sfm_audio.figures`) and the demo all read their defaults from here, so a
change here changes them everywhere. This module imports nothing and sits outside
:mod:`sfm_audio.coding` (whose import pulls scipy): the CLI reads it to build its ``--help``
in a few milliseconds.
"""

from __future__ import annotations

__all__ = [
    "TRANSFORMS",
    "BLOCKS",
    "RATES",
    "ORDERS",
    "RECONSTRUCTION",
    "NPERSEG",
    "DUALITY_BLOCK",
    "DUALITY_RATE",
    "FIGURE_BLOCK",
    "GAIN_BLOCKS",
    "GROUP_BLOCKS",
    "HELDOUT_UNIT",
    "csv",
]

#: the transforms the experiment knows, in the order reports list them
TRANSFORMS = ("klt", "dct", "mdct", "pcm")
#: block sizes N of the experiment
BLOCKS = (32,)
#: target rates in bit/sample
RATES = (0.5, 1.0, 2.0, 4.0)
#: linear-prediction orders
ORDERS = (1, 2, 4, 8, 16, 32)
#: the decoder's value for each quantizer cell
RECONSTRUCTION = "midpoint"
#: Welch segment length of the PSD flatness (shortened to the signal when needed)
NPERSEG = 1024
#: samples per block of the per-frame duality (the extractor's n_fft and hop)
DUALITY_BLOCK = 512
#: target bits per sample of the per-frame duality
DUALITY_RATE = 2.0
#: block size of the one-block figures (eigen, rd) and of the demo
FIGURE_BLOCK = 32
#: block sizes of the gain and prediction figures (and of the demo's coding report)
GAIN_BLOCKS = (2, 4, 8, 16, 32, 64)
#: blocks per local spectrum of the short-time R(D)
GROUP_BLOCKS = 8
#: samples per run of the odd/even held-out split of linear prediction (the duality's block)
HELDOUT_UNIT = 512


def csv(values) -> str:
    """``values`` as the comma-separated text a CLI option takes (``0.5,1,2,4``)."""
    return ",".join(format(v, "g") if isinstance(v, float) else str(v) for v in values)
