"""The frictions a field user met in an afternoon (issue 20), each reproduced.

Every test here failed on the code before its fix: the message, the option or the column it
checks was not there.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio.cli import main


def _run(args: list[str], **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


@pytest.fixture
def noise(tmp_path):
    path = tmp_path / "noise.wav"
    sf.write(path, np.random.default_rng(0).normal(0, 0.1, 16000), 16000, subtype="PCM_16")
    return path


@pytest.mark.parametrize("args", [
    ["extract", "{f}", "-o", "{o}", "--min-dbfs", "abc"],
    ["extract", "{f}", "-o", "{o}", "--jobs", "zero"],
    ["extract", "{f}", "-o", "{o}", "--no-such-option"],
    ["extract", "{f}"],
    ["info", "{f}", "--json", "--csv"],
    ["plot", "{f}", "-o", "{o}", "--dpi", "high"],
    ["code", "{f}", "--duality-block", "x"],
    ["no-such-command"],
])
def test_bad_option_values_are_one_error_line(noise, tmp_path, args):
    """``--min-dbfs abc`` printed click's four-line usage block; now one ``Error:`` line,
    exit status 2, and no output file, as for every other bad option."""
    out = tmp_path / "out.csv"
    result = _run([a.format(f=noise, o=out) for a in args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Usage:" not in result.stderr and "--help" not in result.stderr
    assert not out.exists()


def test_min_dbfs_abc_names_the_option_and_value(noise, tmp_path):
    result = _run(["extract", noise, "-o", tmp_path / "o.csv", "--min-dbfs", "abc"])
    assert result.stderr.strip() == ("Error: Invalid value for '--min-dbfs': 'abc' is not a "
                                     "valid float.")


def test_no_arguments_still_shows_the_help():
    result = _run([])
    assert "Commands:" in result.output


@pytest.mark.parametrize(("typed", "shown"), [
    (["--segment", "0"], "--segment 0 must be"),
    (["--segment=0"], "--segment 0 must be"),
    (["--segment", "-1.50"], "--segment -1.50 must be"),
    (["--sr", "0"], "--sr 0 must be"),
    (["--min-dbfs", "nan"], "--min-dbfs nan must be"),
])
def test_values_are_named_as_typed(noise, tmp_path, typed, shown):
    """``--segment 0`` was echoed as ``--segment 0.0``, the float the library was given."""
    result = _run(["extract", noise, "-o", tmp_path / "o.csv", "--summary", *typed])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {shown}"), result.stderr


# --------------------------------------------------------------------------- truncated WAV


@pytest.fixture
def cut_wav(tmp_path):
    """A WAV whose data chunk stops after 14,978 of the 20,000 samples its header declares
    (a recorder that lost power)."""
    full = tmp_path / "full.wav"
    sf.write(full, np.random.default_rng(1).normal(0, 0.1, 20000), 16000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 2 * 14978])
    return cut


def test_truncated_wav_refusal_names_the_option(cut_wav, tmp_path):
    for args in (["info", cut_wav], ["extract", cut_wav, "-o", tmp_path / "o.csv"],
                 ["code", cut_wav, "--block", "8", "--rates", "1"]):
        result = _run(args)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {cut_wav}: truncated file"), result.stderr
        assert "--allow-truncated reads the samples that are there" in result.stderr


def test_allow_truncated_reads_what_soundfile_reads(cut_wav, tmp_path):
    """The samples that are there, as soundfile (and librosa through it) reads them, and a
    warning saying how many of the header's are missing."""
    import json

    from sfm_audio import io

    there, sr = sf.read(cut_wav)
    result = _run(["info", "--json", "--allow-truncated", cut_wav])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["frames"] == len(there)
    missing = 20000 - len(there)
    assert (f"Warning: {cut_wav}: truncated file" in result.stderr
            and f"{missing} samples ({missing / sr:.3f} s) missing" in result.stderr)
    with pytest.warns(UserWarning, match=f"{missing} samples"):
        y = np.concatenate(list(io.stream(cut_wav, allow_truncated=True)), axis=-1)
    np.testing.assert_allclose(y[0], there, atol=0)

    out = tmp_path / "summary.csv"
    result = _run(["extract", "--allow-truncated", cut_wav, "-o", out, "--summary"])
    assert result.exit_code == 0 and out.exists()
    import csv

    summary = next(csv.DictReader(out.open()))
    assert float(summary["duration_s"]) == pytest.approx(len(there) / sr)
    result = _run(["code", "--allow-truncated", cut_wav, "--block", "8", "--rates", "1"])
    assert result.exit_code == 0, result.output
    assert f"{len(there)} samples" in result.stdout


# --------------------------------------------------------------------------- .npy input


def test_spectrum_of_a_text_file_says_it_is_not_npy(tmp_path):
    """``spectrum notes.wav`` (text) talked about pickled data and allow_pickle."""
    notes = tmp_path / "notes.wav"
    notes.write_text("field notes: wind from the west\n")
    result = _run(["spectrum", notes])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {notes}: not a .npy array"), result.stderr
    assert "pickle" not in result.stderr
    archive = tmp_path / "m.npz"
    np.savez(archive, m=np.eye(2))
    assert "a .npz archive, not a .npy array" in _run(["spectrum", archive]).stderr
    objects = tmp_path / "o.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = _run(["spectrum", objects])
    assert "Python objects, not of numbers" in result.stderr
    assert "allow_pickle" not in result.stderr


# --------------------------------------------------------------------------- one scan


@pytest.fixture
def folder(tmp_path, noise):
    d = tmp_path / "field"
    d.mkdir()
    (d / "a.wav").write_bytes(noise.read_bytes())
    (d / "b.wav").write_bytes(noise.read_bytes())
    (d / "notes.txt").write_text("wind from the west\n")
    return d


def _skip_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped")]


def test_info_names_skipped_files_as_extract_does(folder, tmp_path):
    """``info DIR`` skipped notes.txt without a word while ``extract DIR`` named it."""
    extracted = _run(["extract", folder, "-o", tmp_path / "o.csv", "--bands", "none"])
    listed = _run(["info", folder])
    coded = _run(["code", folder, "--block", "8", "--rates", "1", "--jobs", "1"])
    assert extracted.exit_code == listed.exit_code == coded.exit_code == 0
    note = _skip_lines(extracted.stderr)
    assert note and "notes.txt" in note[0]
    assert _skip_lines(listed.stderr) == note == _skip_lines(coded.stderr)
    for command in (["info", folder], ["extract", folder, "-o", tmp_path / "q.csv"],
                    ["code", folder, "--block", "8", "--rates", "1", "--jobs", "1"]):
        assert _skip_lines(_run([*command, "-q"]).stderr) == []


#: options that mean one thing, and are spelled one way, on every command that reads files
SHARED = {
    "--include": ("extract", "info", "code", "plot"),
    "--exclude": ("extract", "info", "code", "plot"),
    "--hidden": ("extract", "info", "code", "plot"),
    "--quiet": ("extract", "info", "code", "plot"),
    "--allow-truncated": ("extract", "info", "code", "plot"),
    "--errors": ("extract", "info", "code"),
    "--jobs": ("extract", "code"),
}


@pytest.mark.parametrize("flag", sorted(SHARED))
def test_shared_options_have_one_name_and_one_form(flag):
    """``plot --exclude`` and ``code -q`` did not exist."""
    from sfm_audio.cli import main as group

    ctx = group.make_context("sfm-audio", ["info", "x"])
    forms = set()
    for name in SHARED[flag]:
        command = group.get_command(ctx, name)
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert flag in options, (name, flag)
        param = next(p for p in command.params if flag in getattr(p, "opts", []))
        forms.add((tuple(param.opts), param.name, param.is_flag, param.multiple))
    assert len(forms) == 1, forms


def test_plot_lossless_takes_the_scan_options(folder, tmp_path):
    out = tmp_path / "l.png"
    result = _run(["plot", folder, "--kind", "lossless", "-o", out, "--exclude", "b.wav"])
    assert result.exit_code == 0, result.output
    assert _skip_lines(result.stderr) and out.exists()
    quiet = _run(["plot", folder, "--kind", "lossless", "-o", out, "-q"])
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_info_errors_csv(folder, cut_wav, tmp_path):
    errors = tmp_path / "failed.csv"
    result = _run(["info", folder, cut_wav, "--errors", errors])
    assert result.exit_code == 1
    import csv

    rows = list(csv.DictReader(errors.open()))
    assert [r["file"] for r in rows] == [str(cut_wav)]
    assert rows[0]["error"].startswith("truncated file")


# --------------------------------------------------------------------------- levels in summaries


def _summary(args, tmp_path, name="s.csv"):
    import csv

    out = tmp_path / name
    result = _run(["extract", *args, "-o", out, "--summary", "--bands", "none",
                   "--features", "sfm"])
    assert result.exit_code == 0, result.output
    if name.endswith(".jsonl"):
        import json

        return [json.loads(line) for line in out.read_text().splitlines()], result
    return list(csv.DictReader(out.open())), result


def test_silence_has_one_peak_convention(tmp_path):
    """info said -inf, the summary -200: both say -inf now, null in JSON."""
    import json

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000), 16000, subtype="PCM_16")
    listed = json.loads(_run(["info", "--json", silent]).stdout)
    rows, _ = _summary([silent], tmp_path, "s.jsonl")
    assert listed["peak_dbfs"] is None and rows[0]["peak_dbfs"] is None
    rows, _ = _summary([silent], tmp_path)
    assert float(rows[0]["peak_dbfs"]) == float(_run(["info", "--csv", silent]).stdout
                                                 .splitlines()[1].split(",")[7]) == -np.inf


def test_summary_peak_and_clipping_are_the_source_channels(tmp_path):
    """A stereo Ogg with 100 clipped samples in one channel: the mix row showed a peak of the
    mixed signal (0.19 dBFS) and no clipping; it now shows what info shows, and --channels
    each shows each channel's."""
    rng = np.random.default_rng(3)
    y = np.clip(rng.normal(0, 0.1, (32000, 2)), -0.5, 0.5)
    y[1000:1100, 1] = 1.0
    ogg = tmp_path / "clipped.ogg"
    sf.write(ogg, y, 16000, format="OGG", subtype="VORBIS")
    decoded, _ = sf.read(ogg)  # the peer: what libsndfile decodes
    peak = 20 * np.log10(np.abs(decoded).max(axis=0))
    clipped = np.count_nonzero(np.abs(decoded) >= 1.0, axis=0)
    assert clipped.sum() > 0 and peak.max() > 0
    mixed = 20 * np.log10(np.abs(decoded.mean(axis=1)).max())
    assert mixed < peak.max() - 0.1  # the old column: the peak of the mix is lower

    rows, _ = _summary([ogg], tmp_path)
    assert float(rows[0]["peak_dbfs"]) == pytest.approx(peak.max(), abs=1e-5)
    assert int(rows[0]["clipped"]) == clipped.sum()
    import json

    listed = json.loads(_run(["info", "--json", ogg]).stdout)
    assert listed["clipped"] == int(rows[0]["clipped"])
    assert listed["peak_dbfs"] == pytest.approx(float(rows[0]["peak_dbfs"]), abs=1e-5)
    each, _ = _summary([ogg, "--channels", "each"], tmp_path, "e.csv")
    for row in each:
        c = int(row["channel"])
        assert float(row["peak_dbfs"]) == pytest.approx(peak[c], abs=1e-5)
        assert int(row["clipped"]) == clipped[c]


def test_segments_count_their_own_clipping(tmp_path):
    y = np.random.default_rng(4).normal(0, 0.05, 48000)
    y[30000:30010] = 1.0  # in the second of three 1 s segments
    path = tmp_path / "clicks.wav"
    sf.write(path, y, 16000, subtype="FLOAT")
    rows, _ = _summary([path, "--segment", "1"], tmp_path)
    assert [int(r["clipped"]) for r in rows] == [0, 10, 0]
    for row, seconds in zip(rows, range(3)):
        part = y[seconds * 16000:(seconds + 1) * 16000]
        # a float32 file, CSV with 7 significant digits
        assert float(row["peak_dbfs"]) == pytest.approx(20 * np.log10(np.abs(part).max()),
                                                        abs=1e-4)


# --------------------------------------------------------------------------- emptied bands


def test_lossy_low_pass_is_warned_once_with_the_fmax_to_use(tmp_path):
    """Vorbis empties the band above its low-pass: the SFM of white noise fell to ~0.03 and
    nothing said why. A warning (once) names the --fmax that avoids it, and the summary's
    floor_share column gives the share of bins at the floor, as numpy counts it."""
    import librosa

    sr = 44100
    y = np.random.default_rng(5).normal(0, 0.1, 2 * sr)
    ogg = tmp_path / "noise.ogg"
    sf.write(ogg, y, sr, format="OGG", subtype="VORBIS")
    rows, result = _summary([ogg], tmp_path)
    warnings_ = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings_) == 1 and "at the floor amin" in warnings_[0], result.stderr
    fmax = float(warnings_[0].split("--fmax ")[1].split()[0])
    assert 15000 < fmax < sr / 2

    decoded, _ = sf.read(ogg)
    P = np.maximum(np.abs(librosa.stft(decoded, n_fft=2048, hop_length=512)) ** 2, 1e-10)
    floored = (P <= 1e-10).mean(axis=0)  # share of each frame's bins at the floor
    want = floored[floored < 1].mean()
    assert float(rows[0]["floor_share"]) == pytest.approx(want, abs=1e-3)

    cut, result = _summary([ogg, "--fmax", fmax], tmp_path, "cut.csv")
    assert "Warning" not in result.stderr
    assert float(cut[0]["sfm_mean"]) > 3 * float(rows[0]["sfm_mean"])


def test_full_band_audio_is_not_warned(noise, tmp_path):
    rows, result = _summary([noise], tmp_path)
    assert "Warning" not in result.stderr and float(rows[0]["floor_share"]) == 0.0


def test_dc_is_not_called_a_low_pass(tmp_path):
    """DC leaves every bin but the first at the floor: no codec's low-pass, so no '--fmax 0'
    advice (floor_share still shows the empty bins)."""
    sr = 16000
    y = np.full(2 * sr, 0.25)
    path = tmp_path / "dc.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    rows, result = _summary([path], tmp_path)
    assert "--fmax" not in result.stderr and "low-pass" not in result.stderr
    assert float(rows[0]["floor_share"]) > 0.5


def test_a_failing_figure_is_one_error_line_without_the_warnings_before_it(tmp_path):
    """DC warns (its spectrum sits at the floor) and then has no per-frame duality: the run
    ends with the one Error: line alone, the held-back warning is dropped."""
    path = tmp_path / "dc.wav"
    sf.write(path, np.full(32000, 0.25), 16000, subtype="PCM_16")
    result = _run(["plot", str(path), "--kind", "duality", "-o", str(tmp_path / "d.png")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"Error: {path}: ")
    assert not (tmp_path / "d.png").exists()
