"""Join the parts of a run into its output, in the order of the inputs.

A joiner is told, input by input and in any order, whether its part is ready
(:meth:`TableJoiner.settle`); it builds the output from the parts in input order and
completes it in :meth:`~TableJoiner.finish` (given the run's failures), or leaves nothing behind in
:meth:`~TableJoiner.abort`. :class:`TableJoiner` joins feature tables;
:class:`sfm_audio.corpus.code.ReportJoiner` joins coding reports.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .._files import current_umask
from ..writers import concatenate_parts
from .inputs import Failure

__all__ = ["InOrder", "TableJoiner"]


class InOrder:
    """Inputs settled in any order, handed on in path order.

    :meth:`settle` records whether a path's part is ready; :meth:`_advance` calls
    :meth:`_take` on each ready part whose earlier paths are all settled, once each.
    """

    def __init__(self, paths: list[str], part_of: dict[str, Path]):
        self.paths, self.part_of = paths, part_of
        self.ok: dict[str, bool] = {}
        self.next = 0  # paths[:next] are handed on

    def settle(self, path: str, ok: bool) -> None:
        """The part of ``path`` is ready (``ok``) or will never be (its file failed)."""
        self.ok[path] = ok
        self._advance()

    def good(self) -> list[str]:
        """The paths whose part is ready, in order."""
        return [path for path in self.paths if self.ok.get(path)]

    def _advance(self) -> None:
        while self.next < len(self.paths) and self.paths[self.next] in self.ok:
            path = self.paths[self.next]
            if self.ok[path]:
                self._take(self.part_of[path])
            self.next += 1

    def _take(self, part: Path) -> None:
        raise NotImplementedError


class TableJoiner(InOrder):
    """Join table parts into the output in path order.

    CSV and JSON Lines are appended as soon as every earlier path is settled (done or
    failed), so the join overlaps the computing; NPZ and Parquet are joined at the end by
    :func:`sfm_audio.writers.concatenate_parts`. A file output is built in a temporary file
    in the staging folder (the same filesystem) and renamed onto the output when complete;
    ``"-"`` is written to ``stdout``.
    """

    def __init__(self, fmt: str, paths: list[str], part_of: dict[str, Path], schema,
                 staging: Path, output, stdout=None):
        super().__init__(paths, part_of)
        self.fmt, self.schema = fmt, schema
        self.staging, self.output = staging, output
        self.stdout = stdout or sys.stdout if str(output) == "-" else None
        self.streaming = fmt in ("csv", "jsonl")
        self.tmp: Path | None = None
        self.out = None  # binary file (output) or text stream (stdout) being appended to

    def settle(self, path: str, ok: bool) -> None:
        """The part of ``path`` is ready (``ok``) or will never be; NPZ and Parquet parts wait
        for :meth:`finish`."""
        self.ok[path] = ok
        if self.streaming:
            self._advance()

    def _new_tmp(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=".joined-", suffix="." + self.fmt, dir=self.staging)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def _take(self, part: Path) -> None:  # append a CSV or JSON Lines part
        if self.out is None:
            tmp = self._new_tmp()
            concatenate_parts(self.fmt, [], tmp, self.schema)  # the CSV header, if any
            if self.stdout is not None:
                self.stdout.write(tmp.read_text(encoding="utf-8"))
                self.out = self.stdout
            else:
                self.out = open(tmp, "ab")
        if self.stdout is not None:
            with open(part, encoding="utf-8", newline="") as src:
                shutil.copyfileobj(src, self.out, 1 << 20)
        else:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, self.out, 1 << 20)

    def finish(self, failed: Sequence[Failure] = ()) -> bool:
        """Complete the output; False when no file succeeded (nothing is written). The
        failures of the run (``failed``) are not part of a table."""
        if self.streaming:
            self._advance()
            if self.out is None:
                return False
            if self.stdout is None:
                self.out.close()
        else:
            parts = [self.part_of[path] for path in self.good()]
            if not parts:
                return False
            concatenate_parts(self.fmt, parts, self._new_tmp(), self.schema)
            if self.stdout is not None:
                with open(self.tmp, encoding="utf-8", newline="") as src:
                    shutil.copyfileobj(src, self.stdout)
        if self.stdout is None:
            os.chmod(self.tmp, 0o666 & ~current_umask())
            os.replace(self.tmp, self.output)  # same folder as the output: an atomic rename
        else:
            self.stdout.flush()
            self.tmp.unlink()
        self.tmp = None
        return True

    def abort(self) -> None:
        """Leave no output and no temporary file behind."""
        if self.out is not None and self.stdout is None:
            self.out.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()
