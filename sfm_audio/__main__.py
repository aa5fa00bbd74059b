"""``python -m sfm_audio``: the ``sfm-audio`` command line."""

from sfm_audio.cli import run

run()
