"""What a run works on: files, folders and glob patterns expanded into one sorted list.

A folder is searched recursively for files whose extension libsndfile reads
(:data:`sfm_audio.io.AUDIO_EXTENSIONS`); hidden files and folders (names starting with ``.``,
among them macOS ``._NAME`` sidecars) are left out unless asked for, and files of other
extensions are counted as skipped instead of being opened. ``include`` / ``exclude`` glob
patterns filter what folders and patterns find. ``-`` is standard input: one input, never a
path.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import io
from .._errors import ParameterError

__all__ = ["Failure", "InputScan", "STDIN", "expand_inputs", "scan_inputs"]

#: the input that stands for standard input
STDIN = "-"
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Failure:
    """One input that could not be processed, with a readable reason."""

    file: str
    error: str
    usage: bool = False  # the options, not the file, were at fault (exit status 2)
    traceback: str | None = None  # of an internal error, kept when debugging (--debug)


@dataclass
class InputScan:
    """The inputs of a run.

    Attributes
    ----------
    paths : list of str
        Inputs to process: ``-`` (standard input) first when given, then paths in sorted
        order, each file once (``a.wav`` and ``./a.wav`` are one file: the first spelling
        given is kept).
    failures : list of Failure
        Inputs that named nothing usable (a missing folder, a folder without audio, a pattern
        matching nothing).
    skipped : list of str
        Files that folders found beside audio files but whose extension is not an audio
        format (a folder without audio files is a failure that names them).
    hidden : int
        Hidden files left out of folders (names starting with ``.``, e.g. ``._NAME.WAV``).
    """

    paths: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    hidden: int = 0


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _names(paths: Sequence[str], shown: int = 3) -> str:
    return ", ".join(Path(p).name for p in paths[:shown]) + (", ..." if len(paths) > shown else "")


def _static_prefix(pattern: str) -> str:
    """The folder a glob pattern searches: its leading parts without wildcards."""
    parts = []
    for part in Path(pattern).parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        parts.append(part)
    return str(Path(*parts)) if parts else "."


def _selected(path: str, relative: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """``include``/``exclude`` patterns match the file name, or with a ``/`` the path below
    the searched folder (for a glob pattern: below its leading parts without wildcards)."""

    def matches(pattern: str) -> bool:
        return fnmatch.fnmatchcase(relative if "/" in pattern else Path(path).name, pattern)

    if include and not any(matches(p) for p in include):
        return False
    return not any(matches(p) for p in exclude)


def scan_inputs(
    inputs: Iterable[str | os.PathLike],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    hidden: bool = False,
) -> InputScan:
    """Expand files, folders (searched recursively) and glob patterns into the run's inputs.

    Parameters
    ----------
    inputs : iterable of str or os.PathLike
        Files and the matches of glob patterns (``**`` included) are kept whatever their
        extension (the job reports what is wrong with them); folders are searched for audio
        extensions; ``-`` is standard input (at most once).
    include, exclude : sequence of str
        Glob patterns (``fnmatch``) for what folders and patterns find: a file is kept when it
        matches an ``include`` pattern (if any are given) and no ``exclude`` pattern. A pattern
        without ``/`` matches the file name, one with ``/`` the path below the searched folder.
        Files named one by one are always kept.
    hidden : bool
        Search hidden files and folders too (macOS ``._NAME`` sidecars are never audio and are
        skipped even then).

    Returns
    -------
    InputScan
    """
    scan = InputScan()
    found: dict[str, str] = {}  # resolved path -> the first spelling given
    stdin = False

    def add(text: str) -> None:
        key = os.path.realpath(text)
        found.setdefault(key, text)

    for item in inputs:
        text = os.fspath(item)
        if text == STDIN:
            if stdin:
                raise ParameterError("'-' (standard input) can be given only once")
            stdin = True
            continue
        p = Path(text)
        if p.is_dir():
            audio, other = [], []
            for f in sorted(p.rglob("*")):
                if not f.is_file():
                    continue
                if f.name.startswith("._") or (not hidden and _is_hidden(f, p)):
                    scan.hidden += 1
                    continue
                if not _selected(str(f), f.relative_to(p).as_posix(), include, exclude):
                    continue
                (audio if io.is_audio_file(f) else other).append(str(f))
            if not audio:  # the files it skipped are named in the one error line
                skipped = f" ({len(other)} of unknown format: {_names(other)})" if other else ""
                scan.failures.append(Failure(text, f"{text}: folder holds no audio files"
                                                   f"{skipped}"))
            else:
                scan.skipped += other
            for f in audio:
                add(f)
        elif p.exists() or not (_GLOB_CHARS & set(text)):
            add(text)  # missing files are reported by the job, with the usual message
        else:
            root = _static_prefix(text)
            matches = [m for m in sorted(glob.glob(text, recursive=True)) if Path(m).is_file()
                       and _selected(m, Path(os.path.relpath(m, root)).as_posix(), include,
                                     exclude)]
            if not matches:
                scan.failures.append(Failure(text, f"{text}: no file matches this pattern"))
            for m in matches:
                add(m)
    scan.paths = ([STDIN] if stdin else []) + sorted(found.values())
    scan.skipped = sorted(set(scan.skipped))
    return scan


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> tuple[list[str], list[Failure]]:
    """Files, folders (searched recursively for audio) and globs → sorted unique paths.

    Returns the paths and a failure for every input that named nothing usable (a missing
    path, a folder without audio, a glob matching nothing). See :func:`scan_inputs` for the
    filters and what was skipped.
    """
    scan = scan_inputs(inputs)
    return scan.paths, scan.failures
