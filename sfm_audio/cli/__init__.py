"""The ``sfm-audio`` command line: the only package that imports click.

Commands are loaded on demand so that ``sfm-audio extract`` never pays for matplotlib or the
coding experiments.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["main"]

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
