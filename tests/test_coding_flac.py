"""sfm_audio.coding.flac: what libFLAC spends, counted without keeping the stream."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sfm_audio import ParameterError, io
from sfm_audio.coding.flac import FlacEncoderError, flac_bytes, flac_size


def test_flac_bytes_counts_the_whole_stream(speech):
    y = (np.concatenate(list(io.stream(speech)), axis=-1)[0] * 32768).astype(np.int16)
    n = flac_bytes(y, 16000)
    assert 0 < n < y.nbytes
    with pytest.raises(ParameterError, match="int16"):
        flac_bytes(y.astype(np.float32), 16000)


def test_flac_size_streams_to_the_same_count(speech):
    import io as stdio

    y = (np.concatenate(list(io.stream(speech)), axis=-1)[0] * 32768).astype(np.int16)
    buffer = stdio.BytesIO()
    sf.write(buffer, y, 16000, format="FLAC", subtype="PCM_16")
    blocks = [y[i : i + 5000] for i in range(0, y.size, 5000)]
    assert flac_size(blocks, 16000) == flac_bytes(y, 16000) == buffer.getbuffer().nbytes


def test_stereo_is_channels_first(speech):
    """(channels, n) as everywhere in sfm_audio: the same bytes as soundfile's (n, channels)."""
    import io as stdio

    y = (np.concatenate(list(io.stream(speech)), axis=-1)[0] * 32768).astype(np.int16)
    stereo = np.stack([y, y[::-1]])
    buffer = stdio.BytesIO()
    sf.write(buffer, stereo.T, 16000, format="FLAC", subtype="PCM_16")
    assert flac_bytes(stereo, 16000) == buffer.getbuffer().nbytes


def test_a_rate_libflac_cannot_state_is_one_error():
    with pytest.raises(FlacEncoderError, match="cannot encode 16-bit audio at 100001 Hz"):
        flac_bytes(np.zeros(1000, dtype=np.int16), 100001)
