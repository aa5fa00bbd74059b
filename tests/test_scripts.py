"""The benchmark scripts refuse bad options with one line and exit status 2, before any work."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.parametrize(("script", "args", "message"), [
    ("profile_kernel.py", ["--rounds", "0"], "argument --rounds: 0 must be above 0"),
    ("profile_kernel.py", ["--minutes", "nan"], "argument --minutes: nan must be above 0"),
    ("profile_kernel.py", ["--minutes", "ten"], "argument --minutes: 'ten' is not a number"),
    ("bench_extract.py", ["--repeat", "-1"], "argument --repeat: -1 must be above 0"),
    ("bench_extract.py", ["--long-minutes", "0"], "argument --long-minutes: 0 must be above 0"),
    ("profile_code.py", ["--minutes", "0"], "argument --minutes: 0 must be above 0"),
    ("profile_code.py", ["--top", "x"], "argument --top: 'x' is not a number"),
    ("profile_code.py", ["missing.wav"], "missing.wav: no such file"),
    ("lossless_flac.py", ["missing.wav"], "missing.wav: no such file"),
])
def test_bad_options_are_one_line_and_status_2(script, args, message, tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith(message), done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
