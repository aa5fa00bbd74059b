import librosa
import numpy as np
import pytest
import soundfile as sf

from sfm_audio import AudioFileError, ParameterError, io


def test_info(speech):
    a = io.info(speech)
    assert (a.format, a.subtype, a.sr, a.channels, a.frames) == (
        "WAV", "PCM_16", 16000, 1, 64000)
    assert a.duration == 4.0
    assert a.samplerate == a.sr  # the deprecated alias


def test_load_is_librosa_shaped(speech, noise_tone_stereo_22k):
    """One channel (a mono file, a mix, a picked channel) is 1-D as librosa.load returns it;
    every channel of a stereo file is (2, n)."""
    y, sr = io.load(speech)
    ref, ref_sr = librosa.load(speech, sr=None)
    assert y.shape == ref.shape and sr == ref_sr
    np.testing.assert_array_equal(y.astype(np.float32), ref)
    mix, _ = io.load(noise_tone_stereo_22k)
    ref, _ = librosa.load(noise_tone_stereo_22k, sr=None, mono=True)
    assert mix.shape == ref.shape
    np.testing.assert_allclose(mix, ref, atol=1e-7)
    each, _ = io.load(noise_tone_stereo_22k, channels="each")
    ref, _ = librosa.load(noise_tone_stereo_22k, sr=None, mono=False)
    assert each.shape == ref.shape == (2, mix.size)
    assert io.load(noise_tone_stereo_22k, channels=1)[0].shape == mix.shape
    assert io.load(speech, channels="each")[0].ndim == 1  # a mono file stays 1-D


@pytest.mark.parametrize("block", [1000, 4096, 1 << 16])
def test_stream_concatenates_to_librosa_load(speech, block):
    y = np.concatenate(list(io.stream(speech, block_frames=block)), axis=-1)
    ref, _ = librosa.load(speech, sr=None)
    assert y.shape == (1, ref.size) and y.dtype == np.float64
    np.testing.assert_array_equal(y[0].astype(np.float32), ref)


def test_mix_each_and_select(noise_tone_stereo_22k):
    path = noise_tone_stereo_22k
    raw, _ = sf.read(path, dtype="float64", always_2d=True)
    mix = np.concatenate(list(io.stream(path, channels="mix", block_frames=5000)), axis=-1)
    each = np.concatenate(list(io.stream(path, channels="each", block_frames=5000)), axis=-1)
    one = np.concatenate(list(io.stream(path, channels=1, block_frames=5000)), axis=-1)
    np.testing.assert_allclose(mix[0], raw.mean(axis=1), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(each, raw.T)
    np.testing.assert_array_equal(one[0], raw[:, 1])
    ref, _ = librosa.load(noise_tone_stereo_22k, sr=None, mono=True)
    np.testing.assert_allclose(mix[0], ref, atol=1e-7)
    assert io.output_channels("each", 2) == ["0", "1"]
    assert io.output_channels("mix", 2) == ["mix"]


@pytest.mark.parametrize("target", [8000, 22050, 44100])
def test_resampling_matches_librosa(speech, target):
    y = np.concatenate(list(io.stream(speech, sr=target, block_frames=7000)), axis=-1)[0]
    ref, _ = librosa.load(speech, sr=target)
    assert y.size == ref.size == io.output_length(64000, 16000, target)
    # streamed soxr vs librosa's one-shot soxr: same filter, float32 vs float64 path
    np.testing.assert_allclose(y, ref, atol=1e-4)


def test_start_stop(speech):
    whole = np.concatenate(list(io.stream(speech)), axis=-1)
    part = np.concatenate(list(io.stream(speech, start=1000, stop=5000, block_frames=999)), -1)
    np.testing.assert_array_equal(part, whole[:, 1000:5000])


def test_prefetch_gives_the_same_blocks(speech):
    a = list(io.stream(speech, block_frames=3000))
    b = list(io.stream(speech, block_frames=3000, prefetch=True))
    assert len(a) == len(b)
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)


def test_prefetch_reports_errors_from_the_reader(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros(50000)
    data[40000] = np.nan
    sf.write(path, data, 8000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="sample 40000"):
        list(io.stream(path, block_frames=1000, prefetch=True))


def test_missing(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        io.info(tmp_path / "absent.wav")


def test_folder(tmp_path):
    with pytest.raises(AudioFileError, match="is a folder"):
        io.info(tmp_path)


def test_empty(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioFileError, match=r"empty file \(0 bytes\)"):
        io.info(tmp_path / "empty.wav")


def test_not_audio(tmp_path):
    (tmp_path / "text.wav").write_text("this is not audio\n" * 20)
    with pytest.raises(AudioFileError, match="text.wav: not a readable audio file"):
        io.info(tmp_path / "text.wav")


def test_truncated(tmp_path, speech):
    data = speech.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match="cut.wav: truncated file"):
        io.info(tmp_path / "cut.wav")


def test_header_only(tmp_path, speech):
    (tmp_path / "head.wav").write_bytes(speech.read_bytes()[:30])
    with pytest.raises(AudioFileError, match="head.wav"):
        io.info(tmp_path / "head.wav")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_sample_reports_its_time(tmp_path, bad):
    path = tmp_path / "bad.wav"
    data = np.zeros((16000, 2))
    data[12000, 1] = bad
    sf.write(path, data, 8000, subtype="DOUBLE")
    with pytest.raises(AudioFileError, match=r"sample 12000 \(t = 1\.500000 s\) is NaN or inf"):
        list(io.stream(path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"sr": 0}, "sr=0"), ({"sr": -8000}, "sr=-8000"), ({"channels": "left"}, "channels="),
     ({"channels": -1}, "channels=-1"), ({"block_frames": 0}, "block_frames=0"),
     ({"start": 10, "stop": 5}, "start")],
)
def test_rejects_bad_options(speech, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        list(io.stream(speech, **kwargs))


def test_channel_out_of_range(speech):
    with pytest.raises(ParameterError, match="has 1 channel"):
        list(io.stream(speech, channels=3))


def test_write_wav_round_trip(tmp_path):
    y = np.sin(np.arange(1000) / 10) * 0.5
    io.write_wav(tmp_path / "out.wav", y, 8000)
    back, sr = sf.read(tmp_path / "out.wav")
    assert sr == 8000
    np.testing.assert_allclose(back, y, atol=1 / 32768)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_folder_search_extensions():
    assert io.is_audio_file("a.WAV") and io.is_audio_file("b.flac") and io.is_audio_file("c.mp3")
    assert not io.is_audio_file("notes.txt")


def _reader_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "sfm-audio-reader"]


@pytest.mark.parametrize(("left", "how"), [(63, "close"), (2, "close"), (1, "close"),
                                           (2, "throw")])
def test_stopping_a_prefetching_consumer_early_returns(speech, left, how):
    """close() returns whatever the reader thread was doing (issue 11: it could hang).

    With 2 blocks left the queue (depth 2) is full and the reader waits to hand over "done":
    the case that hung for ever before.
    """
    import threading

    gen = io.stream(speech, block_frames=1000, prefetch=True)
    for _ in range(64 - left):  # 64 blocks of 1000 samples
        next(gen)
    import time

    time.sleep(0.3)  # let the reader fill the queue and wait to hand over more (or "done")

    def stop():
        if how == "throw":
            with pytest.raises(KeyError):
                gen.throw(KeyError("consumer failed"))
        else:
            gen.close()

    closer = threading.Thread(target=stop, daemon=True)
    closer.start()
    closer.join(timeout=10)
    assert not closer.is_alive(), "close() did not return"
    deadline = time.monotonic() + 5
    while _reader_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _reader_threads()


def test_abandoned_prefetching_generator_stops_its_reader(speech):
    import gc
    import time

    gen = io.stream(speech, block_frames=500, prefetch=True)
    next(gen)
    del gen
    gc.collect()
    deadline = time.monotonic() + 5
    while _reader_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _reader_threads()


@pytest.mark.parametrize("prefetch", [False, True])
def test_decoder_error_in_the_middle_is_an_audio_file_error(tmp_path, speech, prefetch):
    """libsndfile errors after the header (a FLAC that loses sync) name the file."""
    y, sr = sf.read(speech)
    good = tmp_path / "good.flac"
    sf.write(good, y, sr)
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(0)
    start = len(data) // 2
    data[start : start + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data))
    with pytest.raises(AudioFileError, match=r"bad\.flac: (cannot decode|truncated)"):
        list(io.stream(bad, block_frames=4096, prefetch=prefetch))


def test_short_data_is_refused_not_read_short(tmp_path, speech):
    """A FLAC cut short: the samples its header promises are not all there."""
    y, sr = sf.read(speech)
    good = tmp_path / "good.flac"
    sf.write(good, y, sr)
    (tmp_path / "cut.flac").write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    with pytest.raises(AudioFileError, match=r"cut\.flac: (truncated|cannot decode)"):
        list(io.stream(tmp_path / "cut.flac"))


def test_fake_mp3_message_is_right(tmp_path):
    """libsndfile says 'does not exist' of an .mp3 it cannot decode; the file does exist."""
    (tmp_path / "fake.mp3").write_bytes(bytes([0xFF, 0xFB, 0x90, 0x64]) * 500)
    with pytest.raises(AudioFileError) as caught:
        io.info(tmp_path / "fake.mp3")
    assert "fake.mp3: not a readable audio file (no audio stream libsndfile can decode)" in \
        str(caught.value)
    assert "exist" not in str(caught.value)


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0x7FFFF000])
def test_placeholder_sizes_of_streamed_wav_files(tmp_path, speech, size):
    """A WAV saved from ffmpeg's or sox's pipe output reads to the end of its data."""
    import struct

    data = bytearray(speech.read_bytes())
    data[4:8] = struct.pack("<I", size)
    i = data.find(b"data")
    data[i + 4 : i + 8] = struct.pack("<I", size)
    (tmp_path / "piped.wav").write_bytes(bytes(data))
    a = np.concatenate(list(io.stream(tmp_path / "piped.wav")), axis=-1)
    b = np.concatenate(list(io.stream(speech)), axis=-1)
    np.testing.assert_array_equal(a, b)


def test_option_errors_name_their_parameter(speech):
    for kwargs, param in (({"sr": 0}, "sr"), ({"channels": "left"}, "channels"),
                          ({"block_frames": 0}, "block_frames"), ({"start": -1}, "start")):
        with pytest.raises(ParameterError) as caught:
            list(io.stream(speech, **kwargs))
        assert caught.value.param == param


def test_absurd_float_samples_are_refused(tmp_path):
    """A float file whose samples are garbage (1e38) is not audio; 2**31 (a 32-bit count) is."""
    data = np.zeros(8000, dtype=np.float32)
    data[100] = 2.0**31
    sf.write(tmp_path / "counts.wav", data, 8000, subtype="FLOAT")
    assert np.concatenate(list(io.stream(tmp_path / "counts.wav")), -1).max() == 2.0**31
    data[6000] = -1.7e38
    sf.write(tmp_path / "garbage.wav", data, 8000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"sample 6000 \(t = 0\.750000 s\) is -1\.7e\+38"):
        list(io.stream(tmp_path / "garbage.wav"))


def test_many_channels_are_read_in_bounded_blocks(tmp_path, monkeypatch):
    """A header claiming many channels does not make one read of gigabytes."""
    monkeypatch.setattr(io, "MAX_BLOCK_SAMPLES", 4000)  # 20 frames of 200 channels
    rng = np.random.default_rng(1)
    data = rng.uniform(-0.5, 0.5, (3000, 200)).astype(np.float32)
    sf.write(tmp_path / "wide.wav", data, 8000, subtype="FLOAT")
    blocks = list(io.stream(tmp_path / "wide.wav", channels="each", block_frames=1 << 16))
    assert len(blocks) == 150 and max(b.size for b in blocks) == 4000
    np.testing.assert_array_equal(np.concatenate(blocks, axis=-1), data.T.astype(np.float64))


def test_one_table_of_sample_widths():
    """summaries.bits_of (the summary's ``bits`` column) reads io's table: a 24-bit ALAC file
    says 24, not 0 (issue 22)."""
    from sfm_audio.summaries import bits_of

    for subtype, bits in io._SUBTYPE_BITS.items():
        assert io.integer_bits(subtype) == io.sample_bits(subtype) == bits_of(subtype) == bits
    assert [bits_of(s) for s in ("ALAC_24", "DPCM_16", "DWVW_16")] == [24, 16, 16]
    assert [io.sample_bits(s) for s in ("FLOAT", "DOUBLE", "ULAW", "float32", "float64",
                                        "int16")] == [32, 64, 8, 32, 64, 16]
    assert io.sample_bits("VORBIS") == io.sample_bits("MPEG_LAYER_III") == 0
    assert io.integer_bits("FLOAT") is None


@pytest.mark.parametrize("channels", [1, 2, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_levels_are_the_per_column_reductions(channels, dtype):
    """The levels a table reports (peak, clipped samples) as numpy's reductions over the
    channel axis give them, computed column by column for speed; NaN reaches the peak."""
    rng = np.random.default_rng(channels)
    limit = io.full_scale("PCM_16")
    for clip in (False, True):
        block = np.clip(rng.standard_normal((5000, channels)) * 0.3, -0.9, 0.9).astype(dtype)
        if clip:
            block[rng.integers(0, 5000, 40), rng.integers(0, channels, 40)] = -1.0
            block[rng.integers(0, 5000, 40), rng.integers(0, channels, 40)] = limit
        peak, clipped = io._channel_levels(block, limit)
        np.testing.assert_array_equal(peak, np.abs(block).max(axis=0))
        np.testing.assert_array_equal(clipped, np.count_nonzero(np.abs(block) >= limit, axis=0))
        assert peak.dtype == block.dtype and (clipped.any() == clip)
    block[3, 0] = np.nan
    peak, clipped = io._channel_levels(block, limit)
    assert np.isnan(peak[0]) and not np.isnan(peak[1:]).any()
    np.testing.assert_array_equal(clipped, np.count_nonzero(np.abs(block) >= limit, axis=0))
