"""The ``sfm-audio`` command line: the only package that imports click.

Commands are loaded on demand so that ``sfm-audio extract`` never pays for matplotlib or the
coding experiments.
"""

from __future__ import annotations

import importlib
import io
import os
import signal
import sys

import click

__all__ = ["main", "run"]

# command name -> "module:attribute", imported only when the command runs (or help is shown)
_COMMANDS = {
    "extract": "sfm_audio.cli.extract:extract",
    "info": "sfm_audio.cli.extract:info",
    "code": "sfm_audio.cli.code:code",
    "spectrum": "sfm_audio.cli.code:spectrum",
    "plot": "sfm_audio.cli.plot:plot",
    "demo": "sfm_audio.cli.plot:demo",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sfm-audio")
def main() -> None:
    """Spectral flatness of real audio, and the compression experiments that explain it."""


class _StdoutPipe(io.RawIOBase):
    """Standard output that ends the process as ``cat`` does when its reader goes away."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            _die_of_sigpipe()
            raise  # only where there is no SIGPIPE


def _die_of_sigpipe() -> None:
    """End at once, killed by SIGPIPE: the shell sees status 141, as for cat and grep."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)


def _stdout_closed_ends_the_run() -> None:
    """A closed standard output (``| head``) ends the run at once, quietly, with SIGPIPE.

    Only writes to standard output do so. SIGPIPE itself stays ignored, as Python sets it:
    restoring its default for the whole process would also kill the run when a pipe or
    socket of its own breaks (a worker process or a Dask connection going away), which the
    Python documentation warns against. Writes go through unbuffered to the descriptor's own
    buffer layers, and a write that meets a closed reader ends the process by SIGPIPE before
    any layer (a per-file failure handler, a cleanup) can turn it into an error line.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real descriptor (a test runner's capture)
    old = sys.stdout
    old.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_StdoutPipe(fd), 1 << 16), encoding=old.encoding,
        errors=old.errors, line_buffering=old.line_buffering, write_through=False,
    )


def _native_stderr_to_devnull() -> None:
    """What C libraries print on descriptor 2 goes to /dev/null; Python's stderr stays.

    Decoders inside libsndfile print their own chatter (mpg123: "Note: Illegal Audio-MPEG-
    Header ...") straight to descriptor 2; every error the run reports already goes through
    ``sys.stderr`` as one line. ``sys.stderr`` is moved to a copy of the terminal's
    descriptor, faulthandler reports a crash there, and descriptor 2 is pointed at /dev/null
    (which the run's worker processes inherit).
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return
    import faulthandler

    sys.stderr.flush()
    saved = os.dup(fd)
    sys.stderr = open(saved, "w", encoding=sys.stderr.encoding,  # noqa: SIM115
                      errors="backslashreplace", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    faulthandler.enable(file=sys.stderr)


def run() -> None:
    """The installed ``sfm-audio`` command: quiet about native chatter, cat-like on pipes."""
    _stdout_closed_ends_the_run()
    _native_stderr_to_devnull()
    main(prog_name="sfm-audio")
