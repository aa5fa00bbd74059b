"""What the commands share: option decorators (so an option has one name and destination in
every command), turning library errors into one line and an exit status, notes on stderr."""

from __future__ import annotations

import contextlib
import functools
import re
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from .._errors import (
    ParameterError,
    SfmError,
    debug_enabled,
    internal_error_message,
    is_internal_error,
)

F = TypeVar("F", bound=Callable[..., Any])

#: exit status for a file that could not be processed (usage errors exit with 2, as click does)
EXIT_FAILURE = 1
EXIT_USAGE = 2


def fail(message: str, *, status: int = EXIT_FAILURE) -> None:
    """Print ``Error: message`` on standard error and exit with ``status``."""
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(status)


def _option_flags() -> dict[str, str]:
    """Library parameter name -> option as typed, for every option of the running command.

    An option answers to its destination (``n_fft`` for ``--n-fft``), to its flag spelled
    with underscores (``block`` for ``--block``, whose destination is ``blocks``) and, for a
    list option, to the singular the library checks item by item (``rate`` for ``--rates``).
    """
    ctx = click.get_current_context(silent=True)
    flags: dict[str, str] = {}
    if ctx is None:
        return flags
    # library parameters a command sets through an option of another name (plot's --block
    # is the duality's block): ``command.param_aliases = {"duality_block": "--block"}``
    flags.update(getattr(ctx.command, "param_aliases", {}))
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or not param.opts:
            continue
        flag = max(param.opts, key=len)
        for name in (param.name, flag.lstrip("-").replace("-", "_")):
            if name:
                flags.setdefault(name, flag)
                if name.endswith("s"):
                    flags.setdefault(name[:-1], flag)
    return flags


#: a value as a library message prints it after ``name=``: quoted, or up to a separator
_VALUE = r"('[^']*'|\"[^\"]*\"|\([^()]*\)|[^\s,;:()]+)"


def _typed_values() -> dict[str, str]:
    """Option as typed -> the value typed after it on the command line (the last one given).

    The group keeps the command line's words (:data:`sfm_audio.cli.ARGS_KEY`); ``--segment
    0``, ``--segment=0`` and a short option (``-j 0``) are all found, under the long flag.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return {}
    words = ctx.meta.get("sfm_audio.args") or []
    long_of = {}
    for param in ctx.command.params:
        if isinstance(param, click.Option) and param.opts and not param.is_flag:
            flag = max(param.opts, key=len)
            for name in param.opts:
                long_of[name] = flag
    typed: dict[str, str] = {}
    for i, word in enumerate(words):
        if word == "--":
            break
        name, eq, value = word.partition("=")
        if eq and name in long_of:
            typed[long_of[name]] = value
        elif word in long_of and i + 1 < len(words):
            typed[long_of[word]] = words[i + 1]
    return typed


def _same_value(shown: str, typed: str) -> bool:
    """True when a library's ``shown`` value (``0.0``) is the number ``typed`` (``0``)."""
    try:
        a, b = float(shown), float(typed)
    except ValueError:
        return False
    return a == b or (a != a and b != b)  # NaN as typed is NaN as shown


def option_text(message: str, param: str | None = None, *,
                flags: dict[str, str] | None = None,
                typed: dict[str, str] | None = None) -> str:
    """``message`` with library parameters replaced by the options of the running command.

    ``win_length=4096 must be at most n_fft=2048`` becomes ``--win-length 4096 must be at most
    --n-fft 2048``; without a ``name=``, the first word ``param`` (``unknown bands 'bark'``)
    becomes the option (``unknown --bands 'bark'``). Names that are no option of the command
    are left alone. A value is named as it was typed (``--segment 0``, not the ``0.0`` the
    library was given). ``flags`` and ``typed`` are the command's options and typed values
    when known already (a thread other than the command's own has no click context to find
    them in).
    """
    flags = _option_flags() if flags is None else flags
    if not flags:
        return message
    typed = _typed_values() if typed is None else typed
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(flags, key=len,
                                                                            reverse=True)))
                         + r")=" + _VALUE + "?")

    def rename(match: re.Match) -> str:
        flag, shown = flags[match.group(1)], match.group(2) or ""
        value = typed.get(flag)
        # a number as typed (0, not 0.0); a quoted text is shown as typed already
        if shown[:1] not in ("'", '"') and value is not None:
            items = [item.strip() for item in value.split(",")]
            if shown.startswith("("):  # a tuple of the numbers typed (--db-range 5)
                numbers = [v.strip() for v in shown.strip("()").split(",") if v.strip()]
                if len(numbers) == len(items) and all(map(_same_value, numbers, items)):
                    shown = value
            else:  # the number typed, or the item of a list (--rates 1,17) it is about
                shown = next((item for item in items if _same_value(shown, item)), shown)
        return f"{flag} {shown}"

    renamed = pattern.sub(rename, message)
    if renamed == message and param in flags:
        renamed = re.sub(rf"(?<![\w-]){re.escape(param)}(?= )", flags[param], message, count=1)
    return renamed


def option_message(exc: ParameterError) -> str:
    """The error's message with library parameters replaced by the options as typed.

    ``n_fft=0 must be a positive integer`` becomes ``--n-fft 0 must be a positive integer`` when
    the running command has an option whose parameter is ``n_fft`` (see :func:`option_text`).
    """
    return option_text(str(exc), getattr(exc, "param", None))


def file_error_text(message: str) -> str:
    """A file's error as the command line says it: the library's hint for a truncated file
    (``allow_truncated=True reads ...``) names the command's option (``--allow-truncated``)."""
    flag = _option_flags().get("allow_truncated")
    return message.replace("allow_truncated=True", flag) if flag else message


def _show_traceback(failure) -> None:
    if getattr(failure, "traceback", None):
        click.echo(failure.traceback.rstrip("\n"), err=True)


def failure_line(failure) -> str:
    """``Error: <file>: <problem>`` for a file a run could not process; a failure due to the
    options (``failure.usage``) names them as typed."""
    return "Error: " + (option_text(failure.error) if failure.usage
                        else file_error_text(failure.error))


def report_failures(failed: list, errors_path: str | None) -> None:
    """The files a run could not process: listed in the ``--errors`` CSV when one is given,
    else one :func:`failure_line` each on standard error."""
    if errors_path is not None:
        from ..corpus import write_errors

        write_errors(errors_path, failed)
    else:
        for failure in failed:
            _show_traceback(failure)
            click.echo(failure_line(failure), err=True)


def staging_note(staging) -> str:
    """What to do about the parts a partly failed corpus run kept."""
    return (f"parts of the good files kept in {staging}; rerun with --resume to retry only "
            "the failed files")


def exit_if_failed(n_ok: int, failed: list) -> None:
    """End a multi-file run: status 2 when every file failed because of the options, 1 when
    any file failed; return when none did."""
    if failed:
        all_usage = not n_ok and all(f.usage for f in failed)
        raise SystemExit(EXIT_USAGE if all_usage else EXIT_FAILURE)


def internal_error(exc: BaseException, file: str | None) -> str:
    """The one line's text for a bug met on ``file``; prints the traceback first when
    debugging (``--debug``, ``SFM_AUDIO_DEBUG=1``)."""
    if debug_enabled():
        click.echo("".join(traceback.format_exception(exc)).rstrip("\n"), err=True)
    return internal_error_message(exc, file)


def _one_input(arguments: dict[str, Any]) -> str | None:
    """The file a command was given, when it was given exactly one (to name it in a line)."""
    for key in ("inputs", "file", "input", "path"):
        value = arguments.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, (tuple, list)) and len(value) == 1 and isinstance(value[0], str):
            return value[0]
    return None


def handle_errors(func: F) -> F:
    """Report SfmError as one line (exit 2 for bad options, 1 for bad files), no traceback.

    Any other exception is a bug, and still one line (exit 1): ``Error: FILE: internal error
    (TypeName: message); rerun with --debug for the traceback``; with ``sfm-audio --debug``
    (or ``SFM_AUDIO_DEBUG=1``) the traceback is printed above it.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ParameterError as exc:
            fail(option_message(exc), status=EXIT_USAGE)
        except SfmError as exc:  # AudioFileError and the others: the file is at fault
            fail(file_error_text(str(exc)), status=EXIT_FAILURE)
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "), status=EXIT_FAILURE)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise  # click's own: the group turns usage errors into one line
        except BaseException as exc:
            if not is_internal_error(exc):
                raise
            fail(internal_error(exc, _one_input(kwargs)), status=EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


def split_list(value: str | None, convert: Callable[[str], Any], name: str) -> list[Any] | None:
    """Parse ``"a,b,c"`` into a list, raising click.BadParameter naming the option."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise click.BadParameter(f"{value!r} is an empty list", param_hint=name)
    try:
        return [convert(item) for item in items]
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}", param_hint=name) from None


def run_options(*, jobs: str, scheduler: str, resume: str, errors: str) -> Callable[[F], F]:
    """``-j/--jobs``, ``--scheduler``, ``--resume`` and ``--errors FILE.csv`` of a multi-file
    run, each with the command's own help text; the parameters arrive as ``jobs``,
    ``scheduler``, ``resume`` and ``errors_path``."""

    def decorate(func: F) -> F:
        func = errors_option(errors)(func)
        func = click.option("--resume", is_flag=True, help=resume)(func)
        func = click.option("--scheduler", metavar="ADDRESS", default=None, help=scheduler)(func)
        func = click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                            help=jobs)(func)
        return func

    return decorate


def errors_option(help: str) -> Callable[[F], F]:
    """``--errors FILE.csv``, arriving as ``errors_path`` (see :func:`report_failures`)."""
    return click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
                        default=None, metavar="FILE.csv", help=help)


def quiet_option(help: str) -> Callable[[F], F]:
    """``-q/--quiet``, arriving as ``quiet``."""
    return click.option("-q", "--quiet", is_flag=True, help=help)


def number_or_undefined(x: float | None, spec: str = ".2f") -> str:
    """``x`` formatted by ``spec``, or ``undefined`` for None (a measure with no value)."""
    return "undefined" if x is None else format(x, spec)


def allow_truncated_option(func: F) -> F:
    """``--allow-truncated``: read a file whose data ends before its header says."""
    return click.option(
        "--allow-truncated", is_flag=True,
        help="Read a file whose data ends before its header says (a recorder that lost "
             "power) up to where it ends, with a warning saying how much is missing, "
             "instead of refusing it.")(func)


def scan_options(func: F) -> F:
    """``--include``, ``--exclude`` and ``--hidden``: what folders and patterns find."""
    func = click.option("--hidden", is_flag=True,
                        help="Also search hidden files and folders (names starting with '.'; "
                             "macOS ._NAME sidecars are skipped even then).")(func)
    func = click.option("--exclude", multiple=True, metavar="PATTERN",
                        help="Leave out files matching this glob pattern (repeatable; "
                             "matched against the file name, or with a '/' the path below "
                             "the folder).")(func)
    func = click.option("--include", multiple=True, metavar="PATTERN",
                        help="Take from folders and patterns only files matching this glob "
                             "pattern (repeatable), e.g. --include '*.flac'.")(func)
    return func


def skipped_note(skipped: list[str], shown: int = 5) -> str:
    """``skipped 3 files: unknown format (a.m4a, b.txt, notes.pdf)``."""
    names = ", ".join(skipped[:shown]) + (", ..." if len(skipped) > shown else "")
    plural = "file" if len(skipped) == 1 else "files"
    return f"skipped {len(skipped)} {plural}: unknown format ({names})"


#: warnings held back by :func:`warnings_after_success` (None: printed as they come)
_held: list[str] | None = None


@contextlib.contextmanager
def warnings_after_success() -> Iterator[None]:
    """Hold the library's warnings back until the block succeeds, then print them.

    A one-file command that fails ends with one ``Error:`` line, not with the warnings its
    input gave on the way to the error (a constant signal warns that its spectrum sits at the
    floor, then its coding gain is undefined): the error is what the user must act on.
    """
    global _held
    _held = []
    try:
        yield
        held, _held = _held, None
        for text in held:
            click.echo(text, err=True)
    finally:
        _held = None


def show_warnings_once() -> None:
    """Print the library's warnings as ``Warning: <message>`` lines on standard error, each
    distinct message once (e.g. an ``--fmax`` above a file's Nyquist frequency), naming the
    options as typed (:func:`option_text`)."""
    import warnings

    # here, in the command's thread: warnings may come from others
    flags, typed = _option_flags(), _typed_values()

    def show(message, category, filename, lineno, file=None, line=None):
        text = f"Warning: {option_text(str(message), flags=flags, typed=typed)}"
        if _held is not None:
            _held.append(text)
        else:
            click.echo(text, err=True)

    warnings.showwarning = show
    warnings.filterwarnings("once", category=UserWarning, module=r"sfm_audio\..*")
