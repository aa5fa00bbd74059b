"""The ``sfm-audio`` command line: the only package that imports click.

One module per command (``cli/extract.py`` for ``sfm-audio extract``, ...); what they share
(option decorators, error lines, exit statuses) is in ``cli/_common.py``. Commands are loaded
on demand so that ``sfm-audio extract`` never pays for matplotlib or the
coding experiments.
"""

from __future__ import annotations

import importlib
import io
import os
import signal
import sys

import click

__all__ = ["StdoutClosed", "main", "run"]

# command name -> "module:attribute", imported only when the command runs (or help is shown)
_COMMANDS = {
    "extract": "sfm_audio.cli.extract:extract",
    "info": "sfm_audio.cli.info:info",
    "code": "sfm_audio.cli.code:code",
    "spectrum": "sfm_audio.cli.spectrum:spectrum",
    "plot": "sfm_audio.cli.plot:plot",
    "demo": "sfm_audio.cli.demo:demo",
}


#: where the group keeps the command line's words, for errors naming values as typed
ARGS_KEY = "sfm_audio.args"


class _OneLineUsageError(click.ClickException):
    """A usage error (bad option value, unknown option, missing argument) shown as the one
    ``Error:`` line every other error is, without click's usage block and help hint."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(" ".join(error.format_message().split()))
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None)


def _one_line(error: click.UsageError) -> click.ClickException:
    # without arguments the group prints its help (a UsageError too): that stays as it is
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        return error
    return _OneLineUsageError(error)


class _LazyGroup(click.Group):
    """The command group: commands imported on demand, usage errors on one line.

    Usage errors are caught where click raises them, in the group's own parsing
    (:meth:`make_context`) and in the command's parsing and body (:meth:`invoke`), so that
    every command and every option gets the same line without a wrapper of its own.
    """

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        words = list(args)
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        ctx.meta[ARGS_KEY] = words  # shared with the command's context
        return ctx

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None

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
@click.option("--debug", is_flag=True,
              help="Print the traceback above an internal error's one line (the same as "
                   "setting SFM_AUDIO_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Spectral flatness of real audio, and the compression experiments that explain it."""
    if debug:
        from .._errors import DEBUG_ENV

        # through the environment, so that the run's worker processes see it too
        before = os.environ.get(DEBUG_ENV)
        os.environ[DEBUG_ENV] = "1"

        def restore() -> None:
            if before is None:
                os.environ.pop(DEBUG_ENV, None)
            else:
                os.environ[DEBUG_ENV] = before

        ctx.call_on_close(restore)


class StdoutClosed(BaseException):
    """The reader of standard output went away (``| head``): the run unwinds and ends.

    A BaseException, so that no per-file handler (``except Exception``) turns it into a
    failure line, while every ``finally`` still cleans up (temporary parts, threads).
    """


class _StdoutPipe(io.RawIOBase):
    """Standard output that stops the run when its reader goes away (see :func:`run`)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.reader_gone = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        if not self.reader_gone:
            try:
                return os.write(self._fd, data)
            except BrokenPipeError:
                self.reader_gone = True
                _stop_worker_processes()
        raise StdoutClosed


def _stop_worker_processes() -> None:
    """Terminate the run's worker processes now: their results can no longer be written."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return
    for child in multiprocessing.active_children():
        child.terminate()


def _die_of_sigpipe() -> None:
    """End at once, killed by SIGPIPE: the shell sees status 141, as for cat and grep."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(1)  # no SIGPIPE on this platform


def _stdout_closed_ends_the_run() -> None:
    """A closed standard output (``| head``) ends the run at once, quietly, as for ``cat``.

    Only writes to standard output do so. SIGPIPE itself stays ignored, as Python sets it:
    restoring its default for the whole process would also kill the run, with no clean-up,
    when a pipe or socket of its own breaks (a worker process or a Dask connection going
    away), which the Python documentation warns against. Instead the first write that meets
    a closed reader terminates the worker processes and raises :class:`StdoutClosed`; the
    run unwinds through its clean-up, and :func:`run` then ends the process by SIGPIPE
    (status 141 in the shell) without a word.
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
    import atexit

    reader_gone = []
    # registered first, so it runs last: after multiprocessing's own clean-up at exit
    atexit.register(lambda: reader_gone and _die_of_sigpipe())
    _stdout_closed_ends_the_run()
    _native_stderr_to_devnull()
    try:
        try:
            main(prog_name="sfm-audio")
        finally:
            # what is still buffered meets a closed reader here, not in the interpreter's
            # own flush at exit (which would print "Exception ignored ...")
            sys.stdout.flush()
    except StdoutClosed:
        reader_gone.append(True)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the final flush at exit goes nowhere
        os.close(devnull)
        sys.exit(128 + getattr(signal, "SIGPIPE", 13))
