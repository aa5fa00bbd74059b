"""The passes over a file's mono mix that the coding experiment's report is computed from.

Each reads the samples block by block, so memory stays bounded by the block size:

1. :func:`first_pass`: mean, range, the lossless estimate and the integer samples (at the
   file's own width: 8, 16 or 24 bits; anything else quantized to 16) streamed through
   libFLAC; it may also write the mono mix to a copy that the later passes read instead of
   decoding the file again (:func:`lossless_file` is this pass alone);
2. :func:`second_pass`: block covariance for every block size (of all blocks, and of each
   half and of the even and odd blocks for the held-out KLT gains), the Welch PSD, the
   extractor's per-frame SFM (:class:`FrameSfmMean`; :func:`frame_sfm_mean` on a file) and
   the local DCT spectra of the short-time R(D).

:func:`file_reader` gives the later passes (the tasks of :mod:`.parts`) a fresh iterator over the
copy at each call. :func:`~sfm_audio.coding.experiment.run_experiment` composes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import io
from .._errors import AudioFileError
from .flac import FlacEncoderError, flac_size
from .groups import CHUNK_BLOCKS, BlockGroups
from .heldout import SplitCovariance
from .lossless import LosslessEstimate, pcm_width, to_pcm
from .records import Lossless
from .shorttime import GROUP_BLOCKS, ShortTimeRD
from .spectra import WelchPSD
from .transforms import BlockCovariance

if TYPE_CHECKING:  # the experiment's module imports this one
    from .experiment import ExperimentOptions

__all__ = ["FirstPass", "first_pass", "SecondPass", "second_pass", "file_reader",
           "lossless_file", "frame_sfm_mean", "FrameSfmMean"]

_READ = 1 << 16


@dataclass(frozen=True)
class FirstPass:
    mean: float
    lo: float
    hi: float
    lossless: Lossless


def first_pass(path: str | os.PathLike, meta: io.AudioInfo, copy=None, *,
                lossless: bool = True, read: str | os.PathLike | None = None) -> FirstPass:
    """Mean and range of the mono mix, its lossless estimate and what libFLAC spends on it.

    One streamed read: the integer samples go to the estimate and to the FLAC encoder block
    by block and are not kept. ``copy`` (a writer with ``write(samples)``, or None) receives
    the mono mix itself, which the later passes read instead of decoding the file again.
    Without ``lossless`` only the mean and range are computed (``lossless`` is then None);
    ``read``: read the samples from there (a copy of ``path``'s mono mix; ``meta`` and the
    messages stay ``path``'s).
    """
    if meta.frames < 2:  # a spectrum needs two samples
        raise AudioFileError(f"{path}: {meta.frames} sample{'s' * (meta.frames != 1)}: "
                             "the lossless estimate needs at least 2")
    bits, quantized = pcm_width(meta.subtype)
    scale = float(1 << (bits - 1))
    stats = {"total": 0.0, "lo": np.inf, "hi": -np.inf, "changed": False}
    estimate = LosslessEstimate()

    def samples():
        for chunk in io.stream(path if read is None else read, block_frames=_READ,
                               prefetch=True):
            x = chunk[0]
            if copy is not None:
                copy.write(x)
            stats["total"] += float(x.sum())
            stats["lo"] = min(stats["lo"], float(x.min()))
            stats["hi"] = max(stats["hi"], float(x.max()))
            yield x

    def pcm_blocks():
        for x in samples():
            q = to_pcm(x, bits)
            # a channel mix (or out-of-range float) is not integer PCM of that width
            if not stats["changed"]:
                stats["changed"] = not np.array_equal(q, x * scale)
            estimate.update(q)
            yield q

    if not lossless:
        for _ in samples():
            pass
        return FirstPass(stats["total"] / meta.frames, stats["lo"], stats["hi"], None)
    try:
        flac_bits = 8.0 * flac_size(pcm_blocks(), meta.sr, bits=bits)
    except FlacEncoderError as exc:  # e.g. a rate libFLAC cannot state: name the file
        raise AudioFileError(f"{path}: {exc}") from None
    lossless = Lossless(
        pcm_bits=bits,
        step=1.0 / scale,
        source_subtype=meta.subtype,
        quantized=bool(quantized or stats["changed"]),
        estimate_bits_per_sample=float(estimate.result().estimate_bits_per_sample),
        flac_bits_per_sample=flac_bits / meta.frames,
    )
    return FirstPass(stats["total"] / meta.frames, stats["lo"], stats["hi"], lossless)


def lossless_file(path: str | os.PathLike) -> Lossless:
    """The ``lossless`` section of a file's coding report, without running the coders.

    Returns
    -------
    :class:`~sfm_audio.coding.records.Lossless`
        ``pcm_bits`` (8, 16 or 24: the file's own width; 16 for float, 32-bit and lossy
        input), ``step`` (one integer step in full-scale units), ``source_subtype``,
        ``quantized`` (True when the mono mix is not integer PCM of that width),
        ``estimate_bits_per_sample`` (the Gaussian entropy-rate estimate from the
        short-time spectrum, :mod:`.lossless`) and ``flac_bits_per_sample`` (what libFLAC
        spends on the same integers).
    """
    return first_pass(path, io.info(path)).lossless


class FrameSfmMean:
    """Mean per-frame spectral flatness of a mono signal given block by block, framed and
    computed as ``sfm-audio extract`` computes it (librosa's defaults: ``n_fft=2048``, hop
    512, centred, Hann, power spectrum).

    The coding experiment feeds it the samples of its covariance pass, so the flatness it
    reports costs no read of its own.
    """

    def __init__(self) -> None:
        from ..features import ExtractOptions
        from ..kernel import ChunkKernel
        from ..stft import FrameStream

        options = ExtractOptions()
        params = options.stft_params()
        self._frames = FrameStream(params, 1)
        self._kernel = ChunkKernel(params, power=options.power, amin=options.amin)
        self._total, self._count = 0.0, 0

    def _add(self, segments) -> None:
        for segment in segments:
            sfm = self._kernel.sfm(segment)
            self._total += float(sfm.sum())
            self._count += sfm.size

    def update(self, x: np.ndarray) -> None:
        """Add the next samples, shape (n,)."""
        self._add(self._frames.push(np.asarray(x, dtype=np.float64)[np.newaxis]))

    def result(self) -> float:
        """The mean over every frame (librosa's end padding included); call once, at the end."""
        self._add(self._frames.finish())
        return self._total / self._count


def frame_sfm_mean(path: str | os.PathLike) -> float:
    """Mean per-frame spectral flatness of the mono mix, as ``sfm-audio extract`` computes it.

    librosa's defaults (``n_fft=2048``, hop 512, Hann, power spectrum), streamed. The
    flatness of the long-term PSD is that of the spectra averaged first: averaging blurs
    harmonics that move (flatter) and weights loud passages most, while each frame's SFM sees
    only its own spectrum, so the two differ, either way (on the bundled speech 0.052 for the
    PSD and 0.021 per frame, ``scripts/coding_numbers.py``).
    """
    mean = FrameSfmMean()
    for chunk in io.stream(path, block_frames=_READ, prefetch=True):
        mean.update(chunk[0])
    return mean.result()


@dataclass
class SecondPass:
    """Block covariances (all blocks, each half, MDCT frames), the PSD, the frame SFM and
    the local spectra of the short-time R(D) of every block size."""

    variance: float
    welch: WelchPSD
    covariance: dict[int, BlockCovariance]
    halves: dict[int, SplitCovariance]
    lapped: dict[int, BlockCovariance]
    frame_sfm_mean: float
    short: dict[int, ShortTimeRD]


def second_pass(pieces, n_samples: int, mean: float, seg: int,
                 options: ExperimentOptions) -> SecondPass:
    welch = WelchPSD(seg, mean=mean)
    covariance = {b: BlockCovariance(b, mean=mean) for b in options.blocks}
    # the blocks of each half and the even and odd blocks, for the held-out gains (each part
    # needs at least N blocks)
    halves = {b: SplitCovariance(b, n_blocks=n_samples // b, mean=mean)
              for b in options.blocks if n_samples // b >= 2 * b}
    # MDCT frames: 2N samples at hop N
    lapped = {b: BlockCovariance(2 * b, hop=b, mean=mean) for b in options.blocks
              if "mdct" in options.transforms}
    sum_sq = 0.0
    frame_sfm = FrameSfmMean()
    # the local spectra of groups of blocks, for the short-time R(D) (no read of their own)
    short = {b: ShortTimeRD(b, group=GROUP_BLOCKS) for b in options.blocks}
    groups = {b: BlockGroups(b, mean=mean, chunk_blocks=CHUNK_BLOCKS) for b in options.blocks}
    for x in pieces():
        for b, grouper in groups.items():
            for group, _ in grouper.push(x):
                short[b].update(group)
        d = x - mean
        sum_sq += float(d @ d)
        welch.update(x)
        frame_sfm.update(x)
        for acc in [*covariance.values(), *lapped.values(), *halves.values()]:
            acc.update(x)
    for b, grouper in groups.items():
        for group, _ in grouper.finish():
            short[b].update(group)
    return SecondPass(sum_sq / n_samples, welch, covariance, halves, lapped,
                       frame_sfm.result(), short)


def file_reader(source: str | os.PathLike) -> Callable:
    """A fresh iterator over the mono mix of ``source``, piece by piece, at each call."""

    def pieces():
        for chunk in io.stream(source, block_frames=_READ, prefetch=True):
            yield chunk[0]

    return pieces
