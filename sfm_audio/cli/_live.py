"""``sfm-audio extract -`` on a live input: rows written as the audio arrives.

Standard input is *live* when its length is unknown: a WAV stream whose header declares a
placeholder size (what ``arecord -t wav`` or ``ffmpeg -f wav -`` write to a pipe), or raw
PCM (``--raw-format``). Such a run never spools the input: each chunk of frames is computed
as its samples arrive and its rows are written and flushed at once (:mod:`sfm_audio.live`).

Ending: the end of the input ends the run as for a file (the last segment and a whole-input
``--summary`` are written then). Ctrl-C (SIGINT) or SIGTERM interrupts it: a chunk's rows are
written whole or not at all, so what was written is valid CSV / JSON Lines; a file output is
then removed, or kept under its name with the rows so far when ``--keep-partial`` asks for
it. A reader of standard output that goes away ends the run as for any command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
from pathlib import Path

import click

from .._errors import ParameterError
from .._files import check_output_dir, current_umask
from ..features import ExtractOptions
from ..live import SegmentSummaries, WholeSummary, open_live
from ..stdin import STDIN
from ..summaries import table_rows, table_schema
from ..writers import format_of, open_writer

__all__ = ["extract_live"]

#: formats written only once the table is complete (from spooled columns, or with a footer)
_WHOLE_TABLE_FORMATS = ("npz", "parquet")


class _Interrupts:
    """SIGINT and SIGTERM raise KeyboardInterrupt, but never while a chunk's rows are being
    written: a signal arriving then is held until the rows are out (:meth:`writing`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._writing = 0  # depth of writing(); hold() adds one for good
        self._held = False
        self._saved: dict[int, object] = {}

    def _handler(self, signum, frame) -> None:
        self.signum = signum
        if self._writing:
            self._held = True
            return
        raise KeyboardInterrupt

    def __enter__(self) -> _Interrupts:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: leave them be
                self._saved[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)

    @contextlib.contextmanager
    def writing(self):
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1
        if self._held and not self._writing:
            self._held = False
            raise KeyboardInterrupt

    def hold(self) -> None:
        """From now on hold every signal: the run is already ending."""
        self._writing += 1


class _Output:
    """The table being written: standard output, or a temporary file beside OUTPUT that is
    renamed onto it at the end (or removed)."""

    def __init__(self, output: str, schema, interrupts: _Interrupts, *,
                 stdout_format: str = "csv") -> None:
        self.output, self.schema, self.interrupts = output, schema, interrupts
        self.fmt = format_of(output, stdout=stdout_format)
        self.rows = 0
        self._writer = None
        self._fh = None
        self.tmp: Path | None = None
        if output != "-":
            target = check_output_dir(output)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                                       dir=target.parent if str(target.parent) else ".")
            os.close(fd)
            self.tmp = Path(tmp)

    def write(self, channels, numeric) -> None:
        """Write rows whole, then flush them: a reader sees them at once."""
        with self.interrupts.writing():
            if self._writer is None:  # the header with the first rows: no output on an error
                if self.tmp is None:
                    target = sys.stdout
                elif self.fmt in _WHOLE_TABLE_FORMATS:
                    target = self.tmp
                else:
                    target = self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
                self._writer = open_writer(self.fmt, target, self.schema)
            self._writer.write(STDIN, channels, numeric)
            self.rows += numeric.shape[0]
            if self.tmp is None:
                sys.stdout.flush()
            elif self._fh is not None:
                self._fh.flush()

    def keep(self) -> None:
        """Close the table and put it under its name."""
        with self.interrupts.writing():
            if self._writer is not None:
                self._writer.close()
            if self._fh is not None:
                self._fh.close()
            if self.tmp is not None:
                os.chmod(self.tmp, 0o666 & ~current_umask())
                os.replace(self.tmp, self.output)
                self.tmp = None

    def discard(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.abort()
        if self._fh is not None:
            self._fh.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


def _refuse(output: str, resume: bool) -> None:
    """Options that need the input's length or its audio kept, refused with what works."""
    if resume:
        raise click.UsageError(
            "--resume: a live input (standard input of unknown length) cannot be resumed, "
            "its audio is not kept; --keep-partial keeps the rows written before an "
            "interruption")
    fmt = format_of(output)
    if fmt in _WHOLE_TABLE_FORMATS and output != "-":
        try:
            mode = os.stat(output).st_mode
        except OSError:
            return  # a new file: written at the end of the input
        if not stat.S_ISREG(mode):
            raise ParameterError(
                f"{output} is not a regular file: .{fmt} is written only once the whole "
                "table is known, into a file, and a live input (standard input of unknown "
                "length) has no end to wait for; its rows stream as CSV or JSON Lines: use "
                "-o - or -o rows.jsonl")


def extract_live(options: ExtractOptions, output: str, *, summary: bool, keep_partial: bool,
                 resume: bool, quiet: bool, stdout_format: str = "csv") -> None:
    """Extract standard input (already opened and found live) into ``output``."""
    _refuse(output, resume)
    live = open_live(STDIN, options)
    meta = live.meta
    summaries = None
    if options.segment is not None:
        summaries = SegmentSummaries(live)
    elif summary:
        summaries = WholeSummary(live)
    with _Interrupts() as interrupts:
        out = _Output(output, table_schema(meta, summary), interrupts,
                      stdout_format=stdout_format)
        try:
            for chunk in live:
                rows = table_rows(meta, [chunk], False) if summaries is None else \
                    summaries.add(chunk)
                for channels, numeric in rows:
                    out.write(channels, numeric)
            if summaries is not None:
                for channels, numeric in summaries.finish():
                    out.write(channels, numeric)
            out.keep()
        except KeyboardInterrupt:
            interrupts.hold()
            _interrupted(out, live, keep_partial, quiet)
            raise SystemExit(128 + (interrupts.signum or signal.SIGINT)) from None
        except BaseException:
            out.discard()
            raise
        finally:
            if summaries is not None:
                summaries.close()


def _interrupted(out: _Output, live, keep_partial: bool, quiet: bool) -> None:
    seconds = live.samples / live.meta.sr
    if out.tmp is None:  # standard output: every row written is whole
        return
    if keep_partial and out.rows:
        out.keep()
        note = f"kept the {out.rows} rows written so far in {out.output}"
    else:
        out.discard()
        note = (f"{out.output} not written (--keep-partial keeps the rows written before an "
                "interruption)")
    if not quiet:
        click.echo(f"interrupted after {seconds:.1f} s of audio: {note}", err=True)
