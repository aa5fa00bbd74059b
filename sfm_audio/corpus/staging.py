"""The staging folder of a run: one part per input, named by a hash, kept for ``resume``.

See the package docstring (:mod:`sfm_audio.corpus`) for the life of a staging folder. This
module also writes the error CSV of a run.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .._errors import ParameterError
from .._files import atomic_path
from .inputs import STDIN, Failure

__all__ = ["STAGING_MARK", "Staging", "staging_dir", "write_errors"]

#: bump when the bytes of a part change for the same inputs and options
PART_VERSION = 3
#: a file in every staging folder, so that only folders made here are ever removed
STAGING_MARK = "SFM_AUDIO_PARTS"


def staging_dir(output: str | os.PathLike) -> Path:
    """The folder beside ``output`` where a run keeps its per-file parts."""
    output = Path(output)
    return output.parent / f".{output.name}.parts"


def part_name(path: str, key: str, suffix: str) -> str:
    """Name of a file's part: a hash of the file (absolute path, path as given, size and
    modification time) and ``key`` (everything else that decides the part's bytes)."""
    try:
        st = os.stat(path)
        stamp = [st.st_size, st.st_mtime_ns]
    except OSError:
        stamp = None
    if path == STDIN:  # never the same twice: standard input is never resumed
        stamp = secrets.token_hex(8)
    digest = json.dumps([PART_VERSION, os.path.abspath(path), path, stamp, key])
    return hashlib.sha1(digest.encode()).hexdigest()[:20] + suffix


class Staging:
    """A staging folder: beside an output file (kept for ``resume`` when some files failed),
    or a temporary folder (``output=None``) removed at the end of the run.

    The folder's marker file holds a random token of the run: a Dask worker that reads the
    same token there sees this very folder and may write its part into it.
    """

    def __init__(self, output: str | os.PathLike | None, *, resume: bool = False):
        self.temporary = output is None
        if self.temporary:
            self.folder = Path(tempfile.mkdtemp(prefix="sfm-audio-parts-"))
        else:
            self.folder = staging_dir(output)
            if self.folder.exists() and not (self.folder / STAGING_MARK).is_file():
                raise ParameterError(f"{str(self.folder)!r} exists and was not made by "
                                     "sfm-audio; move it out of the way")
            if self.folder.exists() and not resume:
                shutil.rmtree(self.folder)
            self.folder.mkdir(exist_ok=True)
        self.token = secrets.token_hex(16)
        (self.folder / STAGING_MARK).write_text(self.token)
        self.remove_temporaries()

    def part(self, path: str, key: str, suffix: str) -> Path:
        """Where the part of ``path`` goes (absolute)."""
        return (self.folder / part_name(path, key, suffix)).absolute()

    def remove_temporaries(self) -> None:
        """Remove half-written parts (hidden names) left by killed jobs or a killed run."""
        for leftover in self.folder.glob(".*"):
            with contextlib.suppress(OSError):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()

    def close(self, keep: bool) -> str | None:
        """End of the run: keep the folder (returned) for a rerun with ``resume``, or remove
        it; a folder without parts (a run stopped before its first file) is removed."""
        if keep and not self.temporary and any(
                not p.name.startswith(".") and p.name != STAGING_MARK
                for p in self.folder.iterdir()):
            self.remove_temporaries()
            return str(self.folder)
        if (self.folder / STAGING_MARK).is_file():
            shutil.rmtree(self.folder, ignore_errors=True)
        return None


def remove_staging(output: str | os.PathLike) -> None:
    """Remove the staging folder of ``output`` if a run made one (its parts are stale)."""
    folder = staging_dir(output)
    if (folder / STAGING_MARK).is_file():
        shutil.rmtree(folder, ignore_errors=True)


def sees_staging(part: str, token: str | None) -> bool:
    """Whether this process sees (and may write) the staging folder of ``part``'s run:
    always when ``token`` is None (same machine), never when it is ``""``, else when the
    folder's marker holds ``token``."""
    if token is None:
        return True
    folder = Path(part).parent
    try:
        return bool(token) and (folder / STAGING_MARK).read_text() == token and \
            os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False


def store_part(part: Path, label: str, data: bytes) -> Failure | None:
    """Write a part that came back as bytes (from a Dask worker)."""
    try:
        with atomic_path(part, suffix=part.suffix) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        return Failure(label, f"{label}: cannot write its part {part}: {exc.strerror or exc}")
    return None


def write_errors(path: str | os.PathLike, failures: Sequence[Failure]) -> None:
    """Write failures as CSV (columns ``file``, ``error``), completely or not at all.

    ``error`` is the reason without the leading ``"<file>: "`` that the ``file`` column
    already gives.
    """
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", encoding="utf-8",
                                                       newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "error"])
        for failure in failures:
            reason = failure.error
            if reason.startswith(failure.file + ": "):
                reason = reason[len(failure.file) + 2:]
            writer.writerow([failure.file, reason])
