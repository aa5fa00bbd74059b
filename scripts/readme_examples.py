#!/usr/bin/env python
"""Run every example of README.md, in order, in a scratch folder; fail on the first that fails.

    python scripts/readme_examples.py [--readme README.md] [--keep DIR]

Each line of a ```bash block (continuation lines joined) runs in ``bash`` with ``set -o
pipefail`` off (``| head`` is part of some examples); each ```python block runs as one script.
The scratch folder holds links to the repository's ``sfm_audio/`` package and ``scripts/``, so
the examples' relative paths work as they do from a clone. The whole package is linked, not only
``sfm_audio/data/``: a bare ``sfm_audio/`` folder in the working directory would be imported by a
python block as an empty namespace package, ahead of the installed one (``python -c`` puts the
working directory first on ``sys.path``). Skipped, and said so: the set-up
lines (they create a virtual environment), and the lines that need a running Dask cluster on
other hosts.
CI runs this after the tests (``.ci/run``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: lines that cannot run here: virtual environments are CI's own set-up; clusters on other hosts
SKIP = (re.compile(r"^python3 -m venv"), re.compile(r"^dask (scheduler|worker)"),
        re.compile(r"tcp://"))


def examples(readme: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each runnable example: bash lines and whole python blocks."""
    found = []
    for lang, body in re.findall(r"```(bash|python)\n(.*?)```", readme, flags=re.S):
        if lang == "python":
            found.append(("python", body))
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append(("bash", line))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--keep", default=None, help="run in this folder and keep it")
    args = parser.parse_args()
    todo = examples(Path(args.readme).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="sfm-readme-") as scratch:
        where = Path(args.keep or scratch)
        where.mkdir(parents=True, exist_ok=True)
        for name in ("sfm_audio", "scripts"):
            if not (where / name).exists():
                (where / name).parent.mkdir(parents=True, exist_ok=True)
                (where / name).symlink_to(ROOT / name)
        passed = skipped = 0
        for lang, code in todo:
            if lang == "bash" and any(p.search(code) for p in SKIP):
                print(f"skip  {code}")
                skipped += 1
                continue
            command = ["bash", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
            shown = code if lang == "bash" else "python block: " + code.splitlines()[1]
            t0 = time.perf_counter()
            done = subprocess.run(command, cwd=where, capture_output=True, text=True)
            print(f"{'ok' if done.returncode == 0 else 'FAIL':<5} {shown}  "
                  f"({time.perf_counter() - t0:.1f} s)")
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
                print(f"{passed} passed, 1 failed")
                return 1
            passed += 1
    print(f"{passed} passed, 0 failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
