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
