"""Errors about command-line options name the option as typed (issue 11).

The library keeps its parameter names (``n_fft=0 must be ...``); the command line says
``--n-fft 0 must be ...``. Each command is checked on a few of its options.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from sfm_audio import ParameterError
from sfm_audio.cli import main
from sfm_audio.cli._common import option_text

#: Python names that must not reach the user when an option is at fault
PYTHON_NAMES = re.compile(r"\b(n_fft|hop_length|win_length|sr|channels|power|amin|window|"
                          r"bands|block|blocks|rate|rates|transform|transforms|jobs)=")


def _error(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (args, result.output)
    # one error line (click adds its usage hint above its own option errors)
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, (args, result.stderr)
    assert not PYTHON_NAMES.search(lines[0]), lines[0]
    return lines[0]


@pytest.mark.parametrize(("options", "words"), [
    (["--n-fft", "0"], "--n-fft 0 must be a positive integer"),
    (["--hop-length", "0"], "--hop-length 0 must be a positive integer"),
    (["--win-length", "4096"], "--win-length 4096 must be at most --n-fft 2048"),
    (["--sr", "0"], "--sr 0 must be a positive"),
    (["--sr", "nan"], "--sr nan must be a positive"),
    (["--power", "-1"], "--power -1 must be"),
    (["--amin", "0"], "--amin 0 must be"),
    (["--channels", "-1"], "--channels -1 must be 'mix', 'each' or a channel index"),
    (["--window", "nope"], "--window 'nope' is not a window"),
    (["--bands", "mel:0"], "--bands 'mel:0': '0' must be a positive whole number"),
    (["--bands", "bark"], "unknown --bands 'bark'"),
    (["--jobs", "0"], "'-j' / '--jobs': 0 is not in the range x>=1"),
])
def test_extract(speech, tmp_path, options, words):
    line = _error(["extract", str(speech), "-o", str(tmp_path / "o.csv"), *options])
    assert words in line
    assert not (tmp_path / "o.csv").exists()


def test_extract_per_file_option_error_names_the_option_and_the_file(speech, tmp_path):
    """--channels 3 suits some files and not this one: the line names both."""
    line = _error(["extract", str(speech), "-o", str(tmp_path / "o.csv"), "--channels", "3"])
    assert f"{speech}: --channels 3 is out of range" in line


@pytest.mark.parametrize(("options", "words"), [
    (["--block", "1"], "--block 1 must be an integer >= 2"),
    (["--rates", "0"], "--rates 0 must be a number of bits per sample"),
    (["--rates", "1,17"], "--rates 17 must be"),
    (["--transform", "foo"], "--transform 'foo' must be one of"),
    (["--jobs", "0"], "'-j' / '--jobs': 0 is not in the range x>=1"),
])
def test_code(speech, options, words):
    assert words in _error(["code", str(speech), *options])


@pytest.mark.parametrize(("options", "words"), [
    (["--n-fft", "0"], "--n-fft 0 must be a positive integer"),
    (["--hop-length", "-3"], "--hop-length -3 must be a positive integer"),
])
def test_plot(speech, tmp_path, options, words):
    line = _error(["plot", str(speech), "-o", str(tmp_path / "f.png"), *options])
    assert words in line
    assert not (tmp_path / "f.png").exists()


def test_info(speech):
    assert "either --json or --csv" in _error(["info", str(speech), "--json", "--csv"])


def test_option_text_outside_a_command_keeps_the_library_names():
    """The library's own messages are unchanged; only a running command renames."""
    assert option_text("n_fft=0 must be a positive integer") == \
        "n_fft=0 must be a positive integer"
    with pytest.raises(ParameterError, match=r"^n_fft=0 must be a positive integer$"):
        from sfm_audio.features import ExtractOptions

        ExtractOptions(n_fft=0)
