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
from ..writers import open_join
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
    """Join table parts into the output in path order, as they come.

    Each part is appended to the output as soon as every earlier path is settled (done or
    failed), so the join overlaps the computing and leaves :meth:`finish` almost nothing to
    do; the work per part is a copy of its bytes (:func:`sfm_audio.writers.open_join`). A
    file output is built in a temporary file in the staging folder (the same filesystem)
    and renamed onto the output when complete; ``"-"`` (CSV) is written to ``stdout``.
    """

    def __init__(self, fmt: str, paths: list[str], part_of: dict[str, Path], schema,
                 staging: Path, output, stdout=None):
        super().__init__(paths, part_of)
        self.fmt, self.schema = fmt, schema
        self.staging, self.output = staging, output
        self.stdout = stdout or sys.stdout if str(output) == "-" else None
        self.tmp: Path | None = None
        self.join = None  # the join into ``tmp`` (file output)
        self.started = False  # the CSV header is written to ``stdout``

    def _new_tmp(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=".joined-", suffix="." + self.fmt, dir=self.staging)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def _take(self, part: Path) -> None:
        if self.stdout is not None:  # text on standard output: the parts' rows, in order
            if not self.started:
                if self.fmt == "csv":  # its header first (JSON Lines rows name their keys)
                    self.stdout.write(",".join(["file", "channel"] +
                                               [c.name for c in self.schema]) + "\n")
                self.started = True
            with open(part, encoding="utf-8", newline="") as src:
                shutil.copyfileobj(src, self.stdout, 1 << 20)
            return
        if self.join is None:
            self.join = open_join(self.fmt, self._new_tmp(), self.schema, folder=self.staging)
        self.join.append(part)

    def finish(self, failed: Sequence[Failure] = ()) -> bool:
        """Complete the output; False when no file succeeded (nothing is written). The
        failures of the run (``failed``) are not part of a table."""
        self._advance()
        if self.stdout is not None:
            if self.started:
                self.stdout.flush()
            return self.started
        if self.join is None:
            return False
        join, self.join = self.join, None
        try:
            join.close()
        except BaseException:
            join.abort()
            raise
        os.chmod(self.tmp, 0o666 & ~current_umask())
        os.replace(self.tmp, self.output)  # same folder as the output: an atomic rename
        self.tmp = None
        return True

    def abort(self) -> None:
        """Leave no output and no temporary file behind."""
        if self.join is not None:
            self.join.abort()
            self.join = None
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()
