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
