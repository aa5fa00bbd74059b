"""sfm_audio: spectral flatness of real audio, and why flat spectra compress.

The top-level namespace stays light: ``import sfm_audio`` loads only the error classes.
Import the modules you need (``sfm_audio.flatness``, ``sfm_audio.features``, ``sfm_audio.coding``,
``sfm_audio.plot``) directly.
"""

from ._errors import AudioFileError, ParameterError, SfmError

__all__ = ["SfmError", "ParameterError", "AudioFileError", "__version__"]
__version__ = "0.1.0"
