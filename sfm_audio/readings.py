"""What a file's chunks leave behind once all are computed, and the warning read from it.

:class:`FileReadings` gathers, chunk by chunk, the sample levels and how often each bin of the
frequency range sits at the floor ``amin``; :func:`floor_note` turns an emptied top band (a
lossy codec's low-pass, an upsampled file) into one warning naming the ``fmax`` that avoids
it. Kept apart from :mod:`sfm_audio.features`, which fills these and emits the note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import io

if TYPE_CHECKING:
    from .features import FileMeta

__all__ = ["FLOOR_WARNING_SHARE", "FileReadings", "floor_note"]


#: share of a file's spectrum (over its sounding frames) at the floor ``amin`` from which
#: its flatness is said to measure an emptied band (a lossy codec's low-pass) as much as audio
FLOOR_WARNING_SHARE = 0.05


@dataclass
class FileReadings:
    """What a file's chunks leave behind once all are computed.

    ``levels``: peak and samples at full scale per source channel (and segment), from the
    samples as read (:class:`sfm_audio.io.SampleLevels`; None where the file was opened
    without them, ``open_features(..., levels=False)``). ``per_bin`` (n_channels, n_bins):
    frames in which each bin of the frequency range sits at the floor ``amin``, among the
    ``sounding`` (n_channels,) frames not wholly at it.
    """

    levels: io.SampleLevels | None
    per_bin: np.ndarray | None = None
    sounding: np.ndarray | None = None

    def add_floors(self, per_bin: np.ndarray, sounding: np.ndarray) -> None:
        if self.per_bin is None:
            self.per_bin, self.sounding = per_bin.astype(np.int64), sounding.astype(np.int64)
        else:
            self.per_bin += per_bin
            self.sounding += sounding

    def floor_share(self) -> float:
        """Largest share over the channels of the sounding frames' bins at the floor."""
        if self.per_bin is None:
            return 0.0
        total = self.sounding * self.per_bin.shape[-1]
        return float(np.max(np.where(total > 0, self.per_bin.sum(axis=-1)
                                     / np.maximum(total, 1), 0.0)))


def floor_note(meta: FileMeta) -> str | None:
    """A warning when the top of the file's spectrum sits at the floor ``amin``, else None.

    A lossy codec (Vorbis, MP3) empties everything above its low-pass, and an upsampled file
    everything above its old Nyquist frequency: those bins are floored at ``amin`` and pull
    the geometric mean, hence the SFM, toward 0. The note names the ``fmax`` below that
    emptied band (the top run of bins at the floor in most sounding frames) when the run
    holds at least :data:`FLOOR_WARNING_SHARE` of the bins and starts above 1 kHz; a tone's or
    DC's empty bins are the signal's own, not a band taken away (``floor_share`` in
    summaries still shows them).
    """
    readings = meta.readings
    if readings is None or readings.per_bin is None or not readings.sounding.any():
        return None
    lo, _ = meta.bins
    n_fft = meta.options.n_fft
    mostly = (readings.per_bin > readings.sounding[:, None] / 2).all(axis=0)
    top = len(mostly)
    while top > 0 and mostly[top - 1]:
        top -= 1
    emptied = (len(mostly) - top) / max(len(mostly), 1)
    cut = math.floor((lo + top - 1) * meta.sr / n_fft / 100.0) * 100.0  # a round number
    if top == 0 or emptied < FLOOR_WARNING_SHARE or cut < 1000.0:
        return None
    return (f"{meta.path}: the bins above {cut:.0f} Hz ({emptied:.0%} of the spectrum) sit "
            "at the floor amin in most frames, empty (a lossy codec's low-pass, or an "
            f"upsampled file), and pull the SFM toward 0; fmax={cut:.0f} measures the band "
            "that holds the signal")
