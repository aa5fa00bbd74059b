"""Exception hierarchy shared by the library and the command line."""

from __future__ import annotations

__all__ = ["SfmError", "ParameterError", "AudioFileError"]


class SfmError(Exception):
    """Base class of every error sfm_audio raises on purpose."""


class ParameterError(SfmError, ValueError):
    """An option or argument has a value the computation cannot use.

    ``param`` names the offending library parameter (``"n_fft"``) when one is to blame, so the
    command line can name the option as the user typed it (``--n-fft``) instead.
    """

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class AudioFileError(SfmError):
    """An input file is missing, unreadable, not audio, or holds invalid samples."""


#: environment variable that makes the command line show the traceback of an internal error
#: (``sfm-audio --debug`` sets it, so that worker processes see it too)
DEBUG_ENV = "SFM_AUDIO_DEBUG"


def debug_enabled() -> bool:
    """True when ``SFM_AUDIO_DEBUG`` is set to anything but empty or ``0``."""
    import os

    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def is_internal_error(exc: BaseException) -> bool:
    """An exception no handler expects: any ``Exception``, and a panic of a Rust extension
    (pyo3's ``PanicException`` derives from BaseException, so ``except Exception`` misses
    it). SystemExit, KeyboardInterrupt and the like are not."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def internal_error_message(exc: BaseException, file: str | None = None) -> str:
    """``FILE: internal error (TypeName: message); rerun with --debug for the traceback``,
    on one line (the message's whitespace collapsed, at most 300 characters)."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    prefix = f"{file}: " if file else ""
    return f"{prefix}internal error ({what}); rerun with --debug for the traceback"
