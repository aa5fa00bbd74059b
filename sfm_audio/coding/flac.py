"""What libFLAC spends: the size in bytes of integer PCM encoded as FLAC, beside the lossless
estimate of :mod:`sfm_audio.coding.lossless` that it is compared with.

The stream is encoded block by block into a sink that keeps only its size
(:func:`sfm_audio.io.encoded_size`), so a long file costs no memory. The whole stream is
counted: header, seek table and frames, everything a decoder needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from .. import io
from .._errors import ParameterError, SfmError

__all__ = ["FlacEncoderError", "flac_bytes", "flac_size"]


class FlacEncoderError(SfmError):
    """libFLAC refused to encode, e.g. at a sample rate its streamable subset cannot state
    (above 65535 Hz and not a multiple of 10 Hz)."""


#: FLAC subtype and the left shift that puts a ``bits``-wide integer where libsndfile reads it
_FLAC_WIDTHS = {8: ("PCM_S8", np.int16, 8), 16: ("PCM_16", np.int16, 0),
                24: ("PCM_24", np.int32, 8)}


def flac_size(
    blocks: Iterable[np.ndarray], sr: float, *, channels: int = 1, bits: int = 16
) -> int:
    """Size in bytes of the FLAC stream libFLAC writes for integer ``blocks``, streamed.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,) or (channels, n), integer dtype]
        Samples as integers of ``bits`` bits (in ``[-2**(bits-1), 2**(bits-1))``), channels
        first as everywhere in sfm_audio.
    sr : float
    channels : int
    bits : {8, 16, 24}
        Sample width of the FLAC stream.

    Raises
    ------
    ParameterError
        ``bits`` not 8, 16 or 24; samples not integers or not fitting in ``bits`` bits.
    FlacEncoderError
        libFLAC refused (the rate, typically).
    """
    if bits not in _FLAC_WIDTHS:
        raise ParameterError(f"{bits=} must be 8, 16 or 24", param="bits")
    subtype, dtype, shift = _FLAC_WIDTHS[bits]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def checked() -> Iterator[np.ndarray]:
        for block in blocks:  # errors of the source itself pass through unchanged
            block = np.asarray(block)
            if not np.issubdtype(block.dtype, np.integer):
                raise ParameterError(
                    f"samples must be integers (int8, int16, int32), not {block.dtype}")
            if block.size and (block.min() < lo or block.max() > hi):
                raise ParameterError(f"samples do not fit in {bits} bits")
            # libsndfile reads int16 / int32 as full scale: put the bits at the top
            yield block.astype(dtype) << dtype(shift)

    try:
        return io.encoded_size(checked(), sr, channels=channels, format="FLAC",
                               subtype=subtype)
    except io.EncoderError as exc:
        raise FlacEncoderError(f"libFLAC cannot encode {bits}-bit audio at {sr:g} Hz "
                               f"({exc})") from None


def flac_bytes(samples: np.ndarray, sr: float, *, bits: int = 16) -> int:
    """Size in bytes of ``samples`` (integers of ``bits`` bits, shape (n,) or (channels, n))
    encoded by libFLAC; see :func:`flac_size` to encode block by block."""
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[0]
    return flac_size([samples], sr, channels=channels, bits=bits)
