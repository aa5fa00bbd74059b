"""Exception hierarchy shared by the library and the command line."""

from __future__ import annotations

__all__ = ["SfmError", "ParameterError", "AudioFileError"]


class SfmError(Exception):
    """Base class of every error sfm_audio raises on purpose."""


class ParameterError(SfmError, ValueError):
    """An option or argument has a value the computation cannot use."""


class AudioFileError(SfmError):
    """An input file is missing, unreadable, not audio, or holds invalid samples."""
