"""Fetch the gains corpus: real recordings anyone can fetch, never committed.

Downloads five Debian packages with ``apt-get download`` (no root needed for the download;
run ``apt-get update`` once first), unpacks them with ``dpkg-deb -x`` into ``WORK/pkgs`` and
copies a deterministic selection of their audio into ``OUT``, plus the bundled speech:

- music: ``wesnoth-1.16-music`` (GPL-2+), ``supertux-data`` music (GPL-2+ / CC-BY-SA);
- percussion: ``hydrogen-drumkits`` (GPL-2+ and CC licences, per kit);
- effects and short voice clips: ``pingus-data`` (GPL-3+), ``oxygen-sounds`` (LGPL-3 / CC-BY-SA).

With ``--second``, a second selection disjoint from the first (the same rule over the files
the first leaves, as many where there are, without the bundled speech; 25 files): a corpus on
which nothing of the predictor was designed or checked, to judge it afresh.

Selection: in each package, the audio files (``.ogg``, ``.wav``, ``.flac``) under its folder
(below), sorted by path, at least as long as the package's shortest (1 s; 0.3 s for pingus's
clips), then ``count`` of them evenly spaced through that list (indices ``round(linspace(0,
n - 1, count))``). ``OUT/MANIFEST.csv`` lists every file with its package, version, source
path and the package's copyright file (the licences, as Debian records them, are copied
beside it as ``<package>.copyright``).

The gains predictor was designed on the bundled speech and synthetic controls only, never on
these files (``scripts/gains_numbers.py`` judges it on them).

Usage::

    python scripts/fetch_corpus.py OUT [--work WORK] [--second]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

#: package -> (folder inside the package, files to take, shortest file in seconds)
SELECTION = {
    "wesnoth-1.16-music": ("usr/share/games/wesnoth/1.16/data/core/music", 8, 1.0),
    "supertux-data": ("usr/share/games/supertux2/music", 6, 1.0),
    "hydrogen-drumkits": ("usr/share/hydrogen/data/drumkits", 6, 1.0),
    "pingus-data": ("usr/share/games/pingus/data/sounds", 3, 0.3),
    "oxygen-sounds": ("usr/share/sounds", 3, 1.0),
}
AUDIO = (".ogg", ".wav", ".flac")


def _run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"Error: {' '.join(cmd)} failed: {done.stderr.strip()}")
    return done.stdout


def _duration(path: Path) -> float:
    try:
        info = sf.info(str(path))
    except Exception:  # not readable by libsndfile: not selectable
        return 0.0
    return info.frames / info.samplerate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--work", type=Path, default=None,
                        help="download/unpack folder (default: OUT/../corpus-work)")
    parser.add_argument("--second", action="store_true",
                        help="a second, disjoint selection: from the files the first one "
                             "leaves, as many, evenly spaced the same way; no bundled speech")
    args = parser.parse_args()
    out = args.out.resolve()
    work = (args.work or out.parent / "corpus-work").resolve()
    debs, pkgs = work / "debs", work / "pkgs"
    debs.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for package, (folder, count, shortest) in SELECTION.items():
        if not list(debs.glob(f"{package}_*.deb")):
            _run(["apt-get", "download", package], debs)
        deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
        version = deb.name.split("_")[1]
        root = pkgs / package
        if not root.exists():
            root.mkdir(parents=True)
            _run(["dpkg-deb", "-x", str(deb), str(root)], work)
        copyright_file = root / "usr/share/doc" / package / "copyright"
        if copyright_file.exists():
            shutil.copyfile(copyright_file, out / f"{package}.copyright")
        files = sorted(p for p in (root / folder).rglob("*")
                       if p.suffix.lower() in AUDIO and _duration(p) >= shortest)
        if len(files) < count:
            sys.exit(f"Error: {package} has only {len(files)} audio files >= {shortest} s")
        chosen = [files[i] for i in np.round(np.linspace(0, len(files) - 1, count)).astype(int)]
        if args.second:
            rest = [f for f in files if f not in chosen]
            take = min(count, len(rest))  # pingus-data has 5 clips: 3 and 2
            chosen = [rest[i] for i in np.round(np.linspace(0, len(rest) - 1, take)
                                                ).astype(int)] if take else []
        for source in chosen:
            name = f"{package}__{source.relative_to(root / folder).as_posix().replace('/', '__')}"
            shutil.copyfile(source, out / name)
            rows.append([name, package, version, str(source.relative_to(root)),
                         f"{package}.copyright", f"{_duration(source):.2f}"])
    speech = Path(__file__).resolve().parent.parent / "sfm_audio/data/arctic_a0007.wav"
    if not args.second:
        shutil.copyfile(speech, out / "bundled__arctic_a0007.wav")
        rows.append(["bundled__arctic_a0007.wav", "sfm_audio (bundled)", "", "sfm_audio/data/"
                     "arctic_a0007.wav", "sfm_audio/data/arctic_a0007.COPYING",
                     f"{_duration(speech):.2f}"])
    with open(out / "MANIFEST.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "package", "version", "source", "licence", "seconds"])
        writer.writerows(rows)
    print(f"{len(rows)} files in {out} (MANIFEST.csv lists them with their licences)")


if __name__ == "__main__":
    main()
